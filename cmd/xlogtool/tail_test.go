package main

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testproc"
)

const tailServerInit = `
box.schema.user.create('repl', {password = 'secret', if_not_exists = true})
box.schema.user.grant('repl', 'replication', nil, nil, {if_not_exists = true})
box.schema.user.create('nopriv', {password = 'secret', if_not_exists = true})
box.schema.space.create('sync', {id = 600, is_sync = true, if_not_exists = true}):create_index('pk', {if_not_exists = true})
box.schema.space.create('a', {id = 601, if_not_exists = true}):create_index('pk', {if_not_exists = true})
box.schema.space.create('loc', {id = 602, is_local = true, if_not_exists = true}):create_index('pk', {if_not_exists = true})`

const tailWorkload = `
local a, s, loc = box.space.a, box.space.sync, box.space.loc
a:insert{1, 'one'}
box.begin() a:insert{3} a:insert{4, 4.5} a:delete{1} box.commit()
a:update({4}, {{'=', 3, 'x'}})
a:upsert({5, 0}, {{'+', 2, 1}})
box.begin() a:insert{6} loc:insert{1} box.commit()
s:insert{1, 'sync'}
a:insert{9, string.rep('zstd', 2000)}
`

func startTailServer(t *testing.T) *tarantooltest.Instance {
	tarantooltest.Require(t)
	inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{Cfg: "replication_timeout = 0.2", Init: tailServerInit})
	inst.Eval(t, tailWorkload)
	return inst
}

// tail --format json prints every row exactly as cat --format json prints
// it from the server's xlogs (the replica-local rows, never sent, aside).
func TestTailPrintsAsCat(t *testing.T) {
	inst := startTailServer(t)
	uri := "repl:secret@" + inst.Addr()
	for _, format := range []string{"json", "yaml", "lua"} {
		got, stderr := mustRun(t, 0, "tail", "--format", format, "--show-system", "--from-vclock", "{}", uri)
		if stderr != "" {
			t.Errorf("stderr: %s", stderr)
		}
		xlogs, _ := filepath.Glob(filepath.Join(inst.Dir(), "*.xlog"))
		args := append([]string{"cat", "--format", format, "--show-system"}, xlogs...)
		want, _, _ := runCLI(t, args...) // the open xlog has no EOF marker: exit 1
		if format == "json" {
			var keep []string
			for _, line := range strings.SplitAfter(want, "\n") {
				if !strings.Contains(line, `"group_id":1,"type"`) {
					keep = append(keep, line)
				}
			}
			want = strings.Join(keep, "")
			if got != want {
				t.Fatalf("tail and cat differ:\n%s\n---\n%s", head(got), head(want))
			}
			continue
		}
		// YAML and Lua: every row tail prints appears in cat's output.
		for _, chunk := range strings.SplitAfter(got, "\n") {
			if !strings.Contains(want, chunk) {
				t.Fatalf("%s: tail printed %q, cat did not", format, chunk)
			}
		}
	}
}

// Several sources: every row names its source; the filters apply.
func TestTailSources(t *testing.T) {
	inst := startTailServer(t)
	uri := "repl:secret@" + inst.Addr()
	out, _ := mustRun(t, 0, "tail", "--format", "json", "--space", "601", "--from-vclock", "{}", "i1="+uri, "i2="+uri)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	n1, n2 := 0, 0
	for _, l := range lines {
		if !strings.Contains(l, `"space_id":601`) {
			t.Errorf("filtered row %s", l)
		}
		switch {
		case strings.HasSuffix(l, `,"SOURCE":"i1"}`):
			n1++
		case strings.HasSuffix(l, `,"SOURCE":"i2"}`):
			n2++
		default:
			t.Errorf("row without source: %s", l)
		}
	}
	if n1 != n2 || n1 < 6 {
		t.Errorf("%d rows from i1, %d from i2", n1, n2)
	}
	// Credentials from the environment, as for play.
	t.Setenv("XLOGTOOL_USERNAME", "repl")
	t.Setenv("XLOGTOOL_PASSWORD", "secret")
	env, _ := mustRun(t, 0, "tail", "--format", "json", "--space", "601", "--from-vclock", "{}", inst.Addr())
	if strings.Count(env, "\n") != n1 {
		t.Errorf("with credentials from the environment: %d rows, want %d", strings.Count(env, "\n"), n1)
	}
}

// Bad input: a clear message and exit 2.
func TestTailBadInput(t *testing.T) {
	inst := startTailServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	free, err := tarantooltest.FreeAddrs(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		uri  string
		want string
	}{
		{"repl:wrong@" + inst.Addr(), "Incorrect password supplied for user 'repl'"},
		{"nopriv:secret@" + inst.Addr(), "box.schema.user.grant('nopriv', 'replication')"},
		{"repl:secret@" + free[0], "connection refused"},
		{"repl:secret@" + ln.Addr().String(), "not a Tarantool server"},
		{"repl:secret@localhost:notaport", "bad port"},
	} {
		_, stderr := mustRun(t, 2, "tail", "--from-vclock", "{}", tc.uri)
		if !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "wrong") && !strings.Contains(tc.uri, "wrong") {
			t.Errorf("%s: stderr %q, want %q", tc.uri, stderr, tc.want)
		}
		if strings.Contains(stderr, ":secret@") || strings.Contains(stderr, "wrong@") {
			t.Errorf("%s: the password is printed: %q", tc.uri, stderr)
		}
	}
}

// TestMain lets a test run the command in a child process (to kill it or
// signal it): XLOGTOOL_TEST_MAIN=1 runs main with the arguments after "--".
func TestMain(m *testing.M) {
	if os.Getenv("XLOGTOOL_TEST_MAIN") == "1" {
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		os.Exit(run(args))
	}
	os.Exit(m.Run())
}

func startChild(t *testing.T, stdout io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "XLOGTOOL_TEST_MAIN=1")
	cmd.SysProcAttr = testproc.SysProcAttr()
	cmd.Stdout = stdout
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("child stderr: %s", stderr.String())
		}
	})
	return cmd
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 30 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// walJSON is cat --format json of the server's xlogs without the
// replica-local rows: what a stream carries.
func walJSON(t *testing.T, dir string) string {
	t.Helper()
	xlogs, _ := filepath.Glob(filepath.Join(dir, "*.xlog"))
	out, _, _ := runCLI(t, append([]string{"cat", "--format", "json", "--show-system"}, xlogs...)...)
	var keep []string
	for _, line := range strings.SplitAfter(out, "\n") {
		if !strings.Contains(line, `"group_id":1,"type"`) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

// tail -f --archive killed with SIGKILL while the server writes; a second
// run resumes the archive, which then holds every row of the server's WAL
// exactly once and passes verify.
func TestTailArchiveKilled(t *testing.T) {
	inst := startTailServer(t)
	uri := "repl:secret@" + inst.Addr()
	arch := filepath.Join(t.TempDir(), "archive")
	child := startChild(t, io.Discard, "tail", "-f", "-q", "--archive", arch, "--archive-max-rows", "50",
		"--from-vclock", "{}", uri)
	go inst.EvalErr(`for i = 1000, 6000 do
		if i % 3 == 0 then box.begin() box.space.a:insert{i} box.space.sync:insert{i} box.commit()
		else box.space.a:insert{i, 'row'} end
	end`)
	waitUntil(t, "archive files", func() bool {
		files, _ := filepath.Glob(filepath.Join(arch, "*.xlog"))
		return len(files) >= 5
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	inst.WaitFor(t, "box.space.a:get{6000} ~= nil", 60*time.Second)
	_, stderr := mustRun(t, 0, "tail", "-q", "--archive", arch, "--archive-max-rows", "50", uri)
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(arch, "*.inprogress*")); len(left) > 0 {
		t.Errorf("left in progress: %v", left)
	}
	got, _ := mustRun(t, 0, "cat", "--format", "json", "--show-system", arch)
	if want := walJSON(t, inst.Dir()); got != want {
		t.Fatalf("archive and server WAL differ:\n%s\n---\n%s", head(got), head(want))
	}
	mustRun(t, 0, "verify", arch)
	// A wrong password leaves the archive as it is, resumable.
	_, stderr = mustRun(t, 2, "tail", "-q", "--archive", arch, "repl:wrong@"+inst.Addr())
	if !strings.Contains(stderr, "Incorrect password") {
		t.Errorf("stderr %q", stderr)
	}
	mustRun(t, 0, "verify", arch)
	mustRun(t, 0, "tail", "-q", "--archive", arch, uri)
}

// tail -f stops cleanly on SIGTERM: exit 0, every row received printed.
func TestTailFollowSIGTERM(t *testing.T) {
	inst := startTailServer(t)
	var out syncBuf
	vc := inst.Eval(t, "return require('json').encode(box.info.vclock)")[0].(string)
	arch := filepath.Join(t.TempDir(), "archive")
	child := startChild(t, &out, "tail", "-f", "--format", "json", "--space", "601", "--from-vclock", vc,
		"--archive", arch, "repl:secret@"+inst.Addr())
	inst.Eval(t, `for i = 100, 199 do box.space.a:insert{i} end`)
	waitUntil(t, "the last row", func() bool { return strings.Contains(out.String(), `"tuple":[199]`) })
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("tail -f after SIGTERM: %v", err)
	}
	if n := strings.Count(out.String(), "\n"); n != 100 {
		t.Errorf("%d rows printed, want 100", n)
	}
	// The archive was closed: nothing in progress, every row there.
	if left, _ := filepath.Glob(filepath.Join(arch, "*.inprogress")); len(left) > 0 {
		t.Errorf("left in progress after SIGTERM: %v", left)
	}
	got, _ := mustRun(t, 0, "cat", "--format", "json", "--space", "601", arch)
	if got != out.String() {
		t.Errorf("the archive holds other rows than were printed:\n%s\n---\n%s", head(got), head(out.String()))
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A start the server no longer has the WAL for: a plain message that
// suggests --snapshot, exit 2, no retrying (also with -f); --snapshot works.
func TestTailWALGone(t *testing.T) {
	tarantooltest.Require(t)
	inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{Cfg: "checkpoint_count = 1", Init: tailServerInit})
	inst.Eval(t, tailWorkload+" box.snapshot() box.space.a:insert{1000} box.snapshot()")
	uri := "repl:secret@" + inst.Addr()
	for _, args := range [][]string{{"tail", "--from-vclock", "{}", uri}, {"tail", "-f", "--from-vclock", "{}", uri}} {
		_, stderr := mustRun(t, 2, args...)
		if !strings.Contains(stderr, "no longer has the WAL files from vclock {}") || !strings.Contains(stderr, "--snapshot") {
			t.Errorf("%v: stderr %q", args, stderr)
		}
	}
	out, _ := mustRun(t, 0, "tail", "--snapshot", "--format", "json", "--space", "601", uri)
	if !strings.Contains(out, `"tuple":[1000]`) {
		t.Errorf("--snapshot output:\n%s", head(out))
	}
}
