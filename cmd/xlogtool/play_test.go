package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
)

// runPlay runs "xlogtool play ARGS..." in process and returns what it
// printed and its exit status.
func runPlay(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, code = runCLI(t, append([]string{"play"}, args...)...)
	if strings.Contains(stderr, "\r") {
		t.Errorf("xlogtool play %s: progress drawn into a pipe", strings.Join(args, " "))
	}
	return stdout, stderr, code
}

func mustPlay(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := runPlay(t, args...)
	if code != want {
		t.Fatalf("xlogtool play %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout, stderr
}

// playSource is what ../../play/testdata/source.lua wrote and printed.
type playSource struct {
	dir    string
	lsn    map[string]uint64
	spaces map[string]any
}

func writePlaySource(t *testing.T) playSource {
	t.Helper()
	lua, err := os.ReadFile("../../play/testdata/source.lua")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := tarantooltest.RunScript(t, dir, string(lua))
	var v struct {
		LSN map[string]uint64 `json:"lsn"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("source.lua printed %q: %v", out, err)
	}
	return playSource{dir: dir, lsn: v.LSN, spaces: playSpaces(t, out)}
}

func playSpaces(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("%q: %v", js, err)
	}
	return map[string]any{"a": m["a"], "s": m["s"], "c": m["c"]}
}

const playTargetInit = `
for i, name in ipairs({'a', 's', 'c'}) do
    local sp = box.schema.space.create(name, {id = 511 + i, if_not_exists = true})
    sp:create_index('pk', {if_not_exists = true})
end
`

func playTargetSpaces(t *testing.T, inst *tarantooltest.Instance) map[string]any {
	t.Helper()
	res := inst.Eval(t, `return require('json').encode({a = box.space.a:select(), s = box.space.s:select(), c = box.space.c:select()})`)
	return playSpaces(t, res[0].(string))
}

func adminURI(inst *tarantooltest.Instance) string {
	return tarantooltest.AdminUser + ":" + tarantooltest.AdminPassword + "@" + inst.Addr()
}

// TestPlayResume: the target rejects a row; the run stops with status 1
// naming it, and a second run with the same --state applies the rest
// without applying anything twice (the UPSERT counters would grow).
func TestPlayResume(t *testing.T) {
	src := writePlaySource(t)
	target := tarantooltest.Start(t, tarantooltest.InstanceOptions{
		Init: playTargetInit + "box.space.a:insert{50, 'already here'}",
	})
	state := filepath.Join(t.TempDir(), "play.state")
	args := []string{"--state", state, adminURI(target), src.dir}
	stdout, stderr := mustPlay(t, 1, args...)
	for _, want := range []string{
		fmt.Sprintf("INSERT into space 512 (replica 1, LSN %d, ", src.lsn["conflict"]),
		"00000000000000000000.xlog offset ",
		"was rejected: ER_TUPLE_FOUND (code 3): Duplicate key exists",
		"applied before stopping: ",
		"position {1: ",
		"were already sent when the server rejected the request",
		"the position is saved in " + state,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "skipped: 2 transactions rolled back by the synchronous queue") {
		t.Errorf("stdout:\n%s", stdout)
	}

	target.Eval(t, "box.space.a:delete{50}")
	stdout, _ = mustPlay(t, 0, args...)
	if got := playTargetSpaces(t, target); !reflect.DeepEqual(got, src.spaces) {
		t.Errorf("target after resuming:\n%v\nsource:\n%v", got, src.spaces)
	}
	for _, want := range []string{"applied: 1 transaction, 1 row", "29 transactions applied by an earlier run",
		fmt.Sprintf("position: {1: %d} (saved in %s)", src.lsn["last"], state)} {
		if !strings.Contains(stdout, want) {
			t.Errorf("second run: stdout does not say %q:\n%s", want, stdout)
		}
	}
	// And once more: nothing left.
	stdout, _ = mustPlay(t, 0, args...)
	if !strings.Contains(stdout, "applied: 0 transactions, 0 rows") {
		t.Errorf("third run:\n%s", stdout)
	}
	if got := playTargetSpaces(t, target); !reflect.DeepEqual(got, src.spaces) {
		t.Errorf("target after the third run:\n%v\nsource:\n%v", got, src.spaces)
	}
}

// TestPlayDryRun: rows are printed, nothing is sent.
func TestPlayDryRun(t *testing.T) {
	src := writePlaySource(t)
	target := tarantooltest.Start(t, tarantooltest.InstanceOptions{Init: playTargetInit})
	state := filepath.Join(t.TempDir(), "state")
	stdout, stderr := mustPlay(t, 0, "--dry-run", "--format", "json", "--state", state, adminURI(target), src.dir)
	if n := strings.Count(stdout, "\n"); n != 37 {
		t.Errorf("dry run printed %d rows, want 37:\n%s", n, stdout)
	}
	if !strings.Contains(stdout, `"POS":{"file":`) || strings.Contains(stdout, `"rolled back`) {
		t.Errorf("dry run output:\n%s", stdout)
	}
	if !strings.Contains(stderr, "dry run, nothing sent") || !strings.Contains(stderr, "would apply: 30 transactions, 37 rows") {
		t.Errorf("stderr:\n%s", stderr)
	}
	empty := map[string]any{"a": []any{}, "s": []any{}, "c": []any{}}
	if got := playTargetSpaces(t, target); !reflect.DeepEqual(got, empty) {
		t.Errorf("target changed by a dry run: %v", got)
	}
	if _, err := os.Stat(state); err == nil {
		t.Errorf("a dry run wrote the state file")
	}
	// Without a server at all.
	mustPlay(t, 0, "--dry-run", "127.0.0.1:1", src.dir)
}

// TestPlayAuth: credentials from the URI and from the environment, over a
// Unix socket.
func TestPlayAuth(t *testing.T) {
	src := writePlaySource(t)
	sock := filepath.Join(t.TempDir(), "t.sock")
	target := tarantooltest.Start(t, tarantooltest.InstanceOptions{Listen: "unix/:" + sock, Init: playTargetInit})

	// guest may not write.
	_, stderr := mustPlay(t, 1, sock, src.dir)
	if !strings.Contains(stderr, "ER_ACCESS_DENIED (code 42)") {
		t.Errorf("as guest:\n%s", stderr)
	}
	_, stderr = mustPlay(t, 2, tarantooltest.AdminUser+":wrong@"+sock, src.dir)
	if !strings.Contains(stderr, "cannot connect to "+tarantooltest.AdminUser+"@unix/:"+sock) ||
		strings.Contains(stderr, "wrong") {
		t.Errorf("wrong password:\n%s", stderr)
	}
	_, stderr = mustPlay(t, 2, "--user", "x", tarantooltest.AdminUser+"@"+sock, src.dir)
	if !strings.Contains(stderr, "both in the URI and with --user") {
		t.Errorf("two users:\n%s", stderr)
	}

	t.Setenv(envUser, tarantooltest.AdminUser)
	t.Setenv(envPassword, tarantooltest.AdminPassword)
	mustPlay(t, 0, "--space", "514", "unix/:"+sock, src.dir)
	t.Setenv(envUser, "")
	t.Setenv(envPassword, "")
	mustPlay(t, 0, "--space", "512", "--space", "513", adminURI(target), src.dir)
	if got := playTargetSpaces(t, target); !reflect.DeepEqual(got, src.spaces) {
		t.Errorf("target after play:\n%v\nsource:\n%v", got, src.spaces)
	}
}

func TestPlayUsage(t *testing.T) {
	for _, args := range [][]string{
		{"localhost:3301"},
		{"no-port", "."},
		{"--window", "0", "localhost:3301", "."},
		{"localhost:3301", "/no/such/dir"},
		{"--format", "xml", "localhost:3301", "."},
	} {
		if _, stderr, code := runPlay(t, args...); code != exitUsage {
			t.Errorf("xlogtool play %s: exit %d, want %d\n%s", strings.Join(args, " "), code, exitUsage, stderr)
		}
	}
	_, stderr, code := runPlay(t, "127.0.0.1:1", sampleDir)
	if code != exitUsage || !strings.Contains(stderr, "cannot connect to 127.0.0.1:1") {
		t.Errorf("no server: exit %d\n%s", code, stderr)
	}
	bad := filepath.Join(t.TempDir(), "state")
	os.WriteFile(bad, []byte("not json"), 0o644)
	stdout, stderr, code := runPlay(t, "--dry-run", "--state", bad, "127.0.0.1:1", sampleDir)
	if code != exitUsage || !strings.Contains(stderr, "state file "+bad) || stdout != "" {
		t.Errorf("damaged state file: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
