package replay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/memtx"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
)

// benchRows is the number of tuples of the benchmark snapshot
// (XLOGTOOL_BENCH_ROWS overrides it).
func benchRows() int {
	if s := os.Getenv("XLOGTOOL_BENCH_ROWS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 1_000_000
}

var (
	benchSnapOnce sync.Once
	benchSnapBase string // removed by TestMain
	benchSnapDir  string
	benchXlogDir  string
	benchSnapErr  error
	benchSnapRows int64
)

// benchSnapshot returns a directory holding one snapshot: Tarantool's
// bootstrap schema, a space 'bench' (unsigned primary key, a unique
// string index) and benchRows tuples {id, 'name-<id>', id*7, <40-byte
// string>}. Tarantool creates the schema; the tuples are added to the
// replayed state and written with WriteSnapshot.
func benchSnapshot(b *testing.B) (string, int64) {
	tarantooltest.Require(b)
	benchSnapOnce.Do(func() {
		// XLOGTOOL_BENCH_DIR keeps the files (to time the command line
		// and Tarantool on them by hand).
		base := os.Getenv("XLOGTOOL_BENCH_DIR")
		if base == "" {
			var err error
			if base, err = os.MkdirTemp("", "xlogtool-bench-"); err != nil {
				benchSnapErr = err
				return
			}
			benchSnapBase = base
		}
		schema := filepath.Join(base, "schema")
		benchSnapDir = filepath.Join(base, "snap")
		benchXlogDir = filepath.Join(base, "xlog")
		if n, ok := kept(benchSnapDir, benchXlogDir); ok {
			benchSnapRows = n
			return
		}
		for _, d := range []string{schema, benchSnapDir, benchXlogDir} {
			os.RemoveAll(d)
		}
		os.MkdirAll(schema, 0o755)
		os.MkdirAll(benchSnapDir, 0o755)
		tarantooltest.RunScript(b, schema, `
box.cfg{log = 'tarantool.log'}
local s = box.schema.space.create('bench', {format = {
    {name = 'id', type = 'unsigned'}, {name = 'name', type = 'string'},
    {name = 'n', type = 'unsigned'}, {name = 'text', type = 'string'}}})
s:create_index('pk')
s:create_index('name', {parts = {'name'}})
box.snapshot()
`)
		res, err := Recover(context.Background(), RecoverOptions{Paths: []string{schema}})
		if err != nil {
			benchSnapErr = err
			return
		}
		sp := res.State.SpaceByName("bench")
		text := strings.Repeat("x", 40)
		for i := 1; i <= benchRows(); i++ {
			t := []any{uint64(i), fmt.Sprintf("name-%d", i), uint64(i * 7), text}
			if err := res.State.Apply(memtx.Request{Type: box.TypeInsert, SpaceID: sp.ID, Tuple: t}); err != nil {
				benchSnapErr = err
				return
			}
		}
		_, benchSnapRows, benchSnapErr = res.WriteSnapshot(benchSnapDir)
		if benchSnapErr != nil {
			return
		}
		benchSnapErr = writeBenchXlog(schema, benchXlogDir)
	})
	if benchSnapErr != nil {
		b.Fatal(benchSnapErr)
	}
	return benchSnapDir, benchSnapRows
}

// BenchmarkRecoverSnapshot measures loading a large snapshot: rows/s,
// and the memory the state takes per tuple.
// kept reports whether the benchmark files of an earlier run are there,
// with the number of rows of the snapshot.
func kept(snapDir, xlogDir string) (int64, bool) {
	snaps, _, _, err := collectLogs([]string{snapDir}, func(Finding) {}, func(Finding) {})
	if err != nil || len(snaps) != 1 {
		return 0, false
	}
	_, xlogs, _, err := collectLogs([]string{xlogDir}, func(Finding) {}, func(Finding) {})
	if err != nil || len(xlogs) != 1 {
		return 0, false
	}
	r, err := format.Open(snaps[0].path, format.Options{})
	if err != nil {
		return 0, false
	}
	defer r.Close()
	var n int64
	for {
		if _, err := r.Next(); err != nil {
			return n, r.End() == format.EndClean && n > int64(benchRows())
		}
		n++
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchSnapBase != "" {
		os.RemoveAll(benchSnapBase)
	}
	os.Exit(code)
}

func BenchmarkRecoverSnapshot(b *testing.B) {
	dir, rows := benchSnapshot(b)
	st, _ := os.Stat(filepath.Join(dir, mustOnlyFile(b, dir)))
	b.SetBytes(st.Size())
	b.ResetTimer()
	var res *Result
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		res = nil
		var err error
		res, err = Recover(context.Background(), RecoverOptions{Paths: []string{dir}})
		if err != nil {
			b.Fatal(err)
		}
		if res.HasErrors() {
			b.Fatal(res.Findings[0].String())
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/recovery")
	// Memory held by the state, per tuple of the bench space.
	var before, after runtime.MemStats
	res = nil
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, _ = Recover(context.Background(), RecoverOptions{Paths: []string{dir}})
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := res.State.SpaceByName("bench").Len()
	// The tuple arena's mapped slabs are outside the Go heap.
	mapped := res.State.MemoryStats().Mapped
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc+mapped)/float64(n), "B/tuple")
	runtime.KeepAlive(res)
}

func mustOnlyFile(b *testing.B, dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		b.Fatalf("%s: %v %v", dir, ents, err)
	}
	return ents[0].Name()
}

// BenchmarkTarantoolRecoverSnapshot measures Tarantool's own recovery of
// the same snapshot: the time box.cfg takes (until box.info.status is
// 'running'), as rows/s.
func BenchmarkTarantoolRecoverSnapshot(b *testing.B) {
	dir, rows := benchSnapshot(b)
	benchTarantool(b, dir, rows)
}

// benchTarantool starts Tarantool on copies of the files of dir (hard
// links) and reports rows/s and the wall and CPU time box.cfg takes.
func benchTarantool(b *testing.B, dir string, rows int64) {
	var total time.Duration
	var cpuTotal float64
	for i := 0; i < b.N; i++ {
		work := b.TempDir()
		ents, err := os.ReadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range ents {
			if err := os.Link(filepath.Join(dir, e.Name()), filepath.Join(work, e.Name())); err != nil {
				b.Fatal(err)
			}
		}
		out := tarantooltest.RunScript(b, work, `
local clock = require('clock')
local t0, c0 = clock.monotonic(), clock.proc()
box.cfg{log = 'tarantool.log', memtx_memory = 2 * 1024 * 1024 * 1024, checkpoint_interval = 0}
while box.info.status ~= 'running' do require('fiber').sleep(0.001) end
print(string.format('%.6f %.6f %d', clock.monotonic() - t0, clock.proc() - c0, box.space.bench:len()))
`)
		var sec, cpu float64
		var n int64
		if _, err := fmt.Sscan(out, &sec, &cpu, &n); err != nil || n != int64(benchRows()) {
			b.Fatalf("tarantool printed %q (%v)", out, err)
		}
		total += time.Duration(sec * float64(time.Second))
		cpuTotal += cpu
	}
	b.ReportMetric(float64(rows)*float64(b.N)/total.Seconds(), "rows/s")
	b.ReportMetric(total.Seconds()/float64(b.N), "s/recovery")
	b.ReportMetric(cpuTotal/float64(b.N), "cpu-s/recovery")
}

// cpuTime returns the CPU time (user and system) the process used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeBenchXlog makes dir hold the newest snapshot of the schema
// directory and one xlog after it with benchRows single-row INSERT
// transactions into the space 'bench'.
func writeBenchXlog(schema, dir string) error {
	snaps, _, _, err := collectLogs([]string{schema}, func(Finding) {}, func(Finding) {})
	if err != nil {
		return err
	}
	snap := snaps[len(snaps)-1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Link(snap.path, filepath.Join(dir, filepath.Base(snap.path))); err != nil {
		return err
	}
	res, err := Recover(context.Background(), RecoverOptions{Paths: []string{schema}})
	if err != nil {
		return err
	}
	space := res.State.SpaceByName("bench").ID
	v := snap.meta.VClock
	w, err := format.Create(dir, &format.Meta{FileType: format.TypeXLOG, Tarantool: snap.meta.Tarantool,
		Instance: snap.meta.Instance, VClock: v, HasVClock: true}, format.WriterOptions{NoSync: true})
	if err != nil {
		return err
	}
	text := strings.Repeat("x", 40)
	lsn := v.Get(1)
	ts := float64(time.Now().Unix())
	for i := 1; i <= benchRows(); i++ {
		lsn++
		body, err := memtx.EncodeMsgpack(memtx.Map{{Key: uint64(box.KeySpaceID), Value: uint64(space)},
			{Key: uint64(box.KeyTuple), Value: []any{uint64(i), fmt.Sprintf("name-%d", i), uint64(i * 7), text}}})
		if err != nil {
			return err
		}
		h := format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true, Timestamp: ts}
		if err := w.Write(&h, body); err != nil {
			return err
		}
	}
	return w.Close()
}

// BenchmarkRecoverXlog measures replaying a large xlog: benchRows
// single-row transactions after a snapshot holding only the schema.
func BenchmarkRecoverXlog(b *testing.B) {
	benchSnapshot(b)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		res, err := Recover(context.Background(), RecoverOptions{Paths: []string{benchXlogDir}})
		if err != nil {
			b.Fatal(err)
		}
		if res.HasErrors() || res.Counts.AppliedRows != int64(benchRows()) {
			b.Fatalf("%d rows applied, findings %d", res.Counts.AppliedRows, res.FindingCount)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(benchRows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/recovery")
}

// BenchmarkTarantoolRecoverXlog measures Tarantool's recovery of the same
// files.
func BenchmarkTarantoolRecoverXlog(b *testing.B) {
	benchSnapshot(b)
	benchTarantool(b, benchXlogDir, int64(benchRows()))
}
