package memtx

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// benchTuples fills space 700 of a new state with n tuples
// [k, "payload-0123456789abcdef"], the load of bench/node.sh.
func benchTuples(b *testing.B, n int) *State {
	st := NewState()
	mustApplyB(b, st, insert(box.SpaceSpace, spaceRow(700, "b")...))
	mustApplyB(b, st, insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "unsigned"))...))
	for k := range n {
		raw, err := EncodeMsgpack([]any{uint64(k), "payload-0123456789abcdef"})
		if err != nil {
			b.Fatal(err)
		}
		req, err := RawRequest{Type: box.TypeReplace, SpaceID: 700, Tuple: raw}.DecodeShared()
		if err != nil {
			b.Fatal(err)
		}
		mustApplyB(b, st, req)
	}
	return st
}

func mustApplyB(b *testing.B, st *State, r Request) {
	if err := st.Apply(r); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWriteSnapshot measures writing a snapshot of 1M tuples from
// a read view.
func BenchmarkWriteSnapshot(b *testing.B) {
	st := benchTuples(b, 1_000_000)
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		path := filepath.Join(dir, fmt.Sprint(i)+".snap")
		if _, err := st.WriteSnapshot(path, format.VClock{}, SnapshotOptions{NoSync: true}); err != nil {
			b.Fatal(err)
		}
		os.Remove(path)
	}
}

// BenchmarkLoadTuples measures storing 1M tuples and reports the memory
// they take per tuple (Go heap and mapped slabs).
func BenchmarkLoadTuples(b *testing.B) {
	var before, after runtime.MemStats
	for range b.N {
		runtime.GC()
		runtime.ReadMemStats(&before)
		st := benchTuples(b, 1_000_000)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc+st.MemoryStats().Mapped)/1e6, "B/tuple")
		runtime.KeepAlive(st)
	}
}
