package tarantooltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// recordingTB captures Fatal and Skip calls of the functions under test
// and ends the calling goroutine as testing.T would.
type recordingTB struct {
	testing.TB
	mu      sync.Mutex
	fatal   string
	skipped string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// runRecorded runs fn with a recordingTB in its own goroutine.
func runRecorded(t *testing.T, fn func(tb testing.TB)) *recordingTB {
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

func TestBinaryOverride(t *testing.T) {
	t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "no-such-tarantool"))
	if p, ok := Binary(); ok {
		t.Fatalf("Binary() = %q, true for a missing override", p)
	}

	t.Setenv(EnvRequire, "")
	r := runRecorded(t, func(tb testing.TB) { Require(tb) })
	if !strings.HasPrefix(r.skipped, "tarantool not found: ") || r.fatal != "" {
		t.Errorf("without %s: skipped %q, fatal %q", EnvRequire, r.skipped, r.fatal)
	}

	t.Setenv(EnvRequire, "1")
	r = runRecorded(t, func(tb testing.TB) { Require(tb) })
	if !strings.HasPrefix(r.fatal, "tarantool not found: ") || r.skipped != "" {
		t.Errorf("with %s=1: skipped %q, fatal %q", EnvRequire, r.skipped, r.fatal)
	}
}

func TestBinaryOverrideUsed(t *testing.T) {
	bin := Require(t)
	t.Setenv(EnvBinary, bin)
	if p, ok := Binary(); !ok || p != bin {
		t.Fatalf("Binary() = %q, %v, want %q", p, ok, bin)
	}
	if v := Version(t); v == "" || v[0] < '1' || v[0] > '9' {
		t.Fatalf("Version() = %q", v)
	}
}

func TestLuaString(t *testing.T) {
	Require(t)
	in := "a\"b\\c\nd\te\x00f\x7f/é'"
	out := RunScript(t, "", "io.write("+LuaString(in)+")")
	if out != in {
		t.Fatalf("Lua read %q, want %q", out, in)
	}
}

func TestRunScriptErrors(t *testing.T) {
	Require(t)
	r := runRecorded(t, func(tb testing.TB) { RunScript(tb, "", "error('boom from script')") })
	if !strings.Contains(r.fatal, "boom from script") {
		t.Errorf("Lua error: fatal = %q", r.fatal)
	}
	r = runRecorded(t, func(tb testing.TB) { RunScript(tb, "", "os.exit(7)") })
	if !strings.Contains(r.fatal, "exit status 7") {
		t.Errorf("exit 7: fatal = %q", r.fatal)
	}
	r = runRecorded(t, func(tb testing.TB) { RunScript(tb, "", "this is not lua") })
	if !strings.Contains(r.fatal, "exit status 3") {
		t.Errorf("syntax error: fatal = %q", r.fatal)
	}
	start := time.Now()
	r = runRecorded(t, func(tb testing.TB) {
		RunScriptTimeout(tb, "", "require('fiber').sleep(60)", 300*time.Millisecond)
	})
	if !strings.Contains(r.fatal, "timed out") || time.Since(start) > 10*time.Second {
		t.Errorf("timeout: fatal = %q after %v", r.fatal, time.Since(start))
	}
}

// writeScript makes an xlog with known user rows; the working directory is
// the data directory.
const writeScript = `
box.cfg{wal_dir = '.', memtx_dir = '.', log = 'tarantool.log'}
local s = box.schema.space.create('t', {id = 600})
s:create_index('pk')
s:insert{1, 'one'}
s:replace{2, 2.5, {k = 'v'}, {}, setmetatable({}, {__serialize = 'map'})}
s:update({1}, {{'=', 2, 'uno'}})
s:upsert({3, 18446744073709551615ULL, -9007199254740993LL}, {{'+', 2, 1}})
s:delete{2}
print('done')
os.exit(0)
`

// userRows returns "BODY type" of the oracle rows of space 600.
func userRows(t *testing.T, lines []string) []string {
	t.Helper()
	var rows []string
	for _, l := range lines {
		var row struct {
			BODY   json.RawMessage
			HEADER struct {
				Type string `json:"type"`
			}
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("oracle line %q: %v", l, err)
		}
		if bytes.Contains(row.BODY, []byte(`"space_id":600`)) {
			rows = append(rows, string(row.BODY)+" "+row.HEADER.Type)
		}
	}
	return rows
}

func TestRunScriptAndOracle(t *testing.T) {
	Require(t)
	dir := t.TempDir()
	if out := RunScript(t, dir, writeScript); out != "done\n" {
		t.Fatalf("script output %q", out)
	}
	xlogs, _ := filepath.Glob(filepath.Join(dir, "*.xlog"))
	if len(xlogs) == 0 {
		t.Fatal("the script wrote no xlog")
	}
	sort.Strings(xlogs)
	var lines []string
	for _, f := range Oracle(t, xlogs...) {
		lines = append(lines, f...)
	}
	got := userRows(t, lines)
	want := []string{
		`{"space_id":600,"tuple":[1,"one"]} INSERT`,
		`{"space_id":600,"tuple":[2,2.5,{"k":"v"},[],{}]} REPLACE`,
		`{"index_base":1,"key":[1],"space_id":600,"tuple":[["=",2,"uno"]]} UPDATE`,
		`{"index_base":1,"operations":[["+",2,1]],"space_id":600,"tuple":[3,18446744073709551615,-9007199254740993]} UPSERT`,
		`{"key":[2],"space_id":600} DELETE`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("oracle rows of space 600:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var decoded []map[string]any
	for _, f := range OracleRows(t, xlogs...) {
		decoded = append(decoded, f...)
	}
	if len(decoded) != len(lines) {
		t.Fatalf("OracleRows: %d rows, Oracle: %d lines", len(decoded), len(lines))
	}
	last := decoded[len(decoded)-1]
	h, _ := last["HEADER"].(map[string]any)
	if h["type"] != "DELETE" || h["lsn"] != json.Number(fmt.Sprint(len(lines))) {
		t.Fatalf("last row %v, want the DELETE with LSN %d", last, len(lines))
	}
}

func TestOracleErrors(t *testing.T) {
	Require(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "00000000000000000000.xlog")
	if err := os.WriteFile(garbage, []byte("not an xlog\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.xlog")
	out := Oracle(t, garbage, missing)
	for i, f := range []string{garbage, missing} {
		if len(out[i]) != 1 || !strings.HasPrefix(out[i][0], `{"ERROR":`) {
			t.Errorf("%s: %q, want one ERROR line", filepath.Base(f), out[i])
		}
	}
}

// fixturesDir holds real Tarantool files with the reference oracle's output
// (see ../shared/fixtures/README.md next to the repository).
func fixturesDir(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "fixtures"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "oracle")); err != nil {
		t.Skipf("no fixtures at %s", dir)
	}
	return dir
}

// TestOracleMatchesReference checks that the embedded oracle prints, for
// every fixture, exactly the lines of the reference oracle output.
func TestOracleMatchesReference(t *testing.T) {
	Require(t)
	dir := fixturesDir(t)
	var files []string
	for _, top := range []string{"tarantool", "tt"} {
		err := filepath.WalkDir(filepath.Join(dir, top), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) == 0 {
		t.Skip("no fixture files")
	}
	out := Oracle(t, files...)
	compared := 0
	for i, f := range files {
		rel, _ := filepath.Rel(dir, f)
		want, err := os.ReadFile(filepath.Join(dir, "oracle", rel+".jsonl"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		compared++
		got := strings.Join(out[i], "\n")
		if len(out[i]) > 0 {
			got += "\n"
		}
		if !bytes.Equal([]byte(got), want) {
			t.Errorf("%s: embedded oracle differs from the reference:\n%s", rel, firstDiff(got, string(want)))
		}
	}
	if compared == 0 {
		t.Skip("no reference outputs")
	}
	t.Logf("%d fixtures identical", compared)
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, gl, wl)
		}
	}
	return "(same lines)"
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func lastXlog(t *testing.T, dir string) string {
	t.Helper()
	xlogs, _ := filepath.Glob(filepath.Join(dir, "*.xlog"))
	if len(xlogs) == 0 {
		t.Fatalf("no xlog in %s", dir)
	}
	sort.Strings(xlogs)
	return xlogs[len(xlogs)-1]
}

func endsWithEOFMarker(t *testing.T, file string) bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.HasSuffix(b, []byte{0xd5, 0x10, 0xad, 0xed})
}

func TestInstanceLifecycle(t *testing.T) {
	Require(t)
	inst := Start(t, InstanceOptions{
		Init: `box.schema.space.create('t', {id = 600, if_not_exists = true})
box.space.t:create_index('pk', {if_not_exists = true})`,
	})
	pid := inst.PID()
	if pid == 0 || processGone(pid) {
		t.Fatalf("PID %d is not a live process", pid)
	}
	if res := inst.Eval(t, "return 1 + 1, ..., box.info.status", "arg"); fmt.Sprint(res) != "[2 arg running]" {
		t.Fatalf("Eval = %#v", res)
	}
	inst.Eval(t, "box.space.t:insert{1, 'before restart'}")

	inst.Stop(t)
	if inst.PID() != 0 || !processGone(pid) {
		t.Fatalf("pid %d still there after Stop", pid)
	}
	if f := lastXlog(t, inst.Dir()); !endsWithEOFMarker(t, f) {
		t.Errorf("%s has no EOF marker after Stop", f)
	}

	inst.Start(t)
	if inst.PID() == pid {
		t.Fatal("Start did not start a new process")
	}
	if res := inst.Eval(t, "return box.space.t:get{1}[2]"); fmt.Sprint(res) != "[before restart]" {
		t.Fatalf("after restart: %v", res)
	}
	inst.Eval(t, "box.space.t:insert{2, 'before kill'}")
	pid = inst.PID()
	inst.Kill(t)
	if !processGone(pid) {
		t.Fatalf("pid %d still there after Kill", pid)
	}
	if f := lastXlog(t, inst.Dir()); endsWithEOFMarker(t, f) {
		t.Errorf("%s has an EOF marker after Kill", f)
	}
	inst.Restart(t)
	if res := inst.Eval(t, "return box.space.t:count()"); fmt.Sprint(res) != "[2]" {
		t.Fatalf("after kill and restart: %v", res)
	}
	if _, err := inst.EvalErr("error('expected failure')"); err == nil || !strings.Contains(err.Error(), "expected failure") {
		t.Fatalf("EvalErr: %v", err)
	}
}

func TestInstanceStartFailure(t *testing.T) {
	Require(t)
	var dir string
	r := runRecorded(t, func(tb testing.TB) {
		dir = tb.TempDir()
		Start(tb, InstanceOptions{Dir: dir, Init: "error('init exploded')", StartTimeout: 20 * time.Second})
	})
	if !strings.Contains(r.fatal, "exited during start") {
		t.Fatalf("fatal = %q", r.fatal)
	}
	b, _ := os.ReadFile(filepath.Join(dir, LogFile))
	if !bytes.Contains(b, []byte("init exploded")) {
		t.Errorf("log does not show the init error:\n%s", b)
	}
}

func TestReplicaSet(t *testing.T) {
	Require(t)
	rs := StartReplicaSet(t, 2, InstanceOptions{
		Cfg: "replication_timeout = 0.25",
		Init: `box.schema.space.create('t', {id = 600, if_not_exists = true})
box.space.t:create_index('pk', {if_not_exists = true})`,
	})
	a, b := rs[0], rs[1]
	ids := fmt.Sprint(a.Eval(t, "return box.info.id")[0], b.Eval(t, "return box.info.id")[0])
	if ids != "1 2" && ids != "2 1" {
		t.Fatalf("replica ids %s", ids)
	}
	if res := b.Eval(t, "return box.space.t ~= nil and box.space.t.id"); fmt.Sprint(res) != "[600]" {
		t.Fatalf("Init not replicated: %v", res)
	}
	a.Eval(t, "box.space.t:insert{1}")
	b.WaitFor(t, "box.space.t:get{1} ~= nil", 10*time.Second)
	b.Eval(t, "box.space.t:insert{10}")
	WaitReplicated(t, b, a)
	if res := a.Eval(t, "return box.space.t:get{10} ~= nil"); res[0] != true {
		t.Fatal("WaitReplicated returned before the row arrived")
	}

	b.CutReplication(t)
	a.Eval(t, "box.space.t:insert{2}")
	time.Sleep(300 * time.Millisecond)
	if res := b.Eval(t, "return box.space.t:get{2} == nil"); res[0] != true {
		t.Fatal("row replicated although replication was cut")
	}
	b.RestoreReplication(t)
	b.WaitFor(t, "box.space.t:get{2} ~= nil", 10*time.Second)
}

// TestReplicaSetSynchro checks what split-brain tests build on: a
// synchronous space, a quorum that cannot be met once replication is cut,
// and the limbo cleared by hand.
func TestReplicaSetSynchro(t *testing.T) {
	Require(t)
	rs := StartReplicaSet(t, 2, InstanceOptions{
		Cfg:  "replication_timeout = 0.25, replication_synchro_quorum = 2, replication_synchro_timeout = 0.3",
		Init: `box.schema.space.create('s', {id = 601, is_sync = true}):create_index('pk')`,
	})
	a, b := rs[0], rs[1]
	a.Eval(t, "box.space.s:insert{1}")
	WaitReplicated(t, a, b)

	b.CutReplication(t)
	_, err := a.EvalErr("box.space.s:insert{2}")
	if err == nil || !strings.Contains(err.Error(), "ER_SYNC_QUORUM_TIMEOUT") {
		t.Fatalf("insert without quorum: %v", err)
	}
	a.Eval(t, "box.ctl.clear_synchro_queue()")
	b.RestoreReplication(t)
	a.Eval(t, "box.space.s:insert{3}")
	WaitReplicated(t, a, b)
	if res := b.Eval(t, "return box.space.s:select()"); fmt.Sprint(res) != "[[[1] [3]]]" {
		t.Fatalf("replica has %v", res)
	}
}

// FreeAddrs gives distinct loopback addresses a server can bind, outside
// the kernel's ephemeral range when there is room below it.
func TestFreeAddrs(t *testing.T) {
	addrs, err := FreeAddrs(5)
	if err != nil {
		t.Fatal(err)
	}
	lo := ephemeralLow()
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			t.Errorf("%s returned twice", a)
		}
		seen[a] = true
		host, port, err := net.SplitHostPort(a)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("address %q", a)
		}
		if p, _ := strconv.Atoi(port); lo-minPort >= 1000 && (p < minPort || p >= lo) {
			t.Errorf("port %d is outside %d-%d", p, minPort, lo-1)
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("bind %s: %v", a, err)
		}
		defer l.Close()
	}
}
