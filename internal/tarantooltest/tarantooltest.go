// Package tarantooltest runs a real Tarantool for tests: Lua scripts that
// write .xlog/.snap files (RunScript), Tarantool's own reader as the oracle
// for decoding them (Oracle), and live servers and replica sets to talk to
// (Start, StartReplicaSet).
//
// The binary is $XLOGTOOL_TARANTOOL, else tarantool from PATH. Tests that
// need it call Require, which skips them when it is missing, unless
// XLOGTOOL_REQUIRE_TARANTOOL=1 makes a missing binary a failure.
package tarantooltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/testproc"
)

// Environment variables read by the package.
const (
	EnvBinary  = "XLOGTOOL_TARANTOOL"         // path of the tarantool binary
	EnvRequire = "XLOGTOOL_REQUIRE_TARANTOOL" // "1": missing tarantool fails tests
)

// DefaultScriptTimeout bounds RunScript and the oracle.
const DefaultScriptTimeout = 60 * time.Second

// Binary returns the path of the tarantool binary and whether it was found.
func Binary() (string, bool) {
	path, err := findBinary()
	return path, err == nil
}

func findBinary() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, p, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s=%s is not an executable file", EnvBinary, p)
		}
		return p, nil
	}
	p, err := exec.LookPath("tarantool")
	if err != nil {
		return "", fmt.Errorf("no tarantool in PATH (set %s to its path)", EnvBinary)
	}
	return p, nil
}

// Require returns the tarantool binary. Without one it skips the test, or
// fails it when XLOGTOOL_REQUIRE_TARANTOOL=1.
func Require(t testing.TB) string {
	t.Helper()
	p, err := findBinary()
	if err == nil {
		return p
	}
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("tarantool not found: %v (%s=1 requires it)", err, EnvRequire)
	}
	t.Skipf("tarantool not found: %v", err)
	return ""
}

// Version returns the version the binary reports, e.g. "2.6.0-0-g47aa4e01e".
func Version(t testing.TB) string {
	t.Helper()
	bin := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), DefaultScriptTimeout)
	defer cancel()
	out, stderr, err := run(ctx, bin, "", "--version")
	if err != nil {
		t.Fatalf("tarantool --version: %v\n%s", err, stderr)
	}
	first, _, _ := strings.Cut(out, "\n")
	v, ok := strings.CutPrefix(strings.TrimSpace(first), "Tarantool ")
	if !ok || v == "" {
		t.Fatalf("tarantool --version: unexpected output %q", first)
	}
	return v
}

// RunScript runs a Lua script with tarantool in the working directory dir
// (a new temporary directory when dir is empty) and returns its standard
// output. The test fails, showing standard error, when the script raises an
// error, exits with a non-zero status or runs longer than
// DefaultScriptTimeout. A script that returns normally exits with status 0,
// so scripts calling box.cfg need no os.exit of their own.
func RunScript(t testing.TB, dir, lua string) string {
	t.Helper()
	return RunScriptTimeout(t, dir, lua, DefaultScriptTimeout)
}

// RunScriptTimeout is RunScript with an explicit time limit.
func RunScriptTimeout(t testing.TB, dir, lua string, timeout time.Duration) string {
	t.Helper()
	bin := Require(t)
	if dir == "" {
		dir = t.TempDir()
	}
	scripts := t.TempDir()
	script := filepath.Join(scripts, "script.lua")
	wrapper := filepath.Join(scripts, "main.lua")
	if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrapper, []byte(scriptWrapper(script)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, stderr, err := run(ctx, bin, dir, wrapper)
	if ctx.Err() != nil {
		t.Fatalf("tarantool script timed out after %v\nstderr:\n%s", timeout, tail(stderr, 4096))
	}
	if err != nil {
		t.Fatalf("tarantool script failed: %v\nstderr:\n%s", err, tail(stderr, 4096))
	}
	return out
}

// scriptWrapper loads the user script, reports its error with a traceback
// and exits with a status that tells how it ended.
func scriptWrapper(script string) string {
	return `local path = ` + LuaString(script) + `
local chunk, err = loadfile(path)
if chunk == nil then
    io.stderr:write(tostring(err), '\n')
    os.exit(3)
end
local ok, res = xpcall(chunk, debug.traceback)
io.stdout:flush()
if not ok then
    io.stderr:write(tostring(res), '\n')
    io.stderr:flush()
    os.exit(1)
end
os.exit(0)
`
}

// run executes bin with args in dir and returns its output. The process
// gets its own process group and is killed by its pid when ctx ends.
func run(ctx context.Context, bin, dir string, args ...string) (string, string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = testproc.SysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// LuaString quotes s as a Lua string literal.
func LuaString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// tail returns at most the last n bytes of s, cut at a line start.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "...\n" + s
}

// fileTail returns the last n bytes of a file, or a note why it cannot.
func fileTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "(no " + filepath.Base(path) + ")"
	}
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return tail(string(b), n)
}
