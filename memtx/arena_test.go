package memtx

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
)

func TestSizeClasses(t *testing.T) {
	for i, s := range classSizes {
		if s%8 != 0 || (i > 0 && s <= classSizes[i-1]) {
			t.Fatalf("class %d: %d after %d", i, s, classSizes[max(i-1, 0)])
		}
		if i > 0 && s > 256 && float64(s) > float64(classSizes[i-1])*1.07+8 {
			t.Errorf("class %d: %d after %d wastes too much", i, s, classSizes[i-1])
		}
	}
	if classSizes[len(classSizes)-1] != maxClassSize {
		t.Errorf("last class %d", classSizes[len(classSizes)-1])
	}
	for n := 1; n <= maxClassSize; n++ {
		c := sizeClass(n)
		if int(classSizes[c]) < n || (c > 0 && int(classSizes[c-1]) >= n) {
			t.Fatalf("size %d: class %d of %d", n, c, classSizes[c])
		}
	}
}

func TestArenaReuse(t *testing.T) {
	a := newArena()
	var refs []tref
	for i := range 20000 {
		n := 1 + i%300
		if i%1000 == 0 {
			n = maxClassSize + i // its own slab
		}
		r, b := a.alloc(n)
		for j := range b {
			b[j] = byte(i)
		}
		refs = append(refs, r)
	}
	check := func(i int, r tref) {
		t.Helper()
		b := a.bytes(r)
		want := 1 + i%300
		if i%1000 == 0 {
			want = maxClassSize + i
		}
		if len(b) != want || b[0] != byte(i) || b[len(b)-1] != byte(i) {
			t.Fatalf("tuple %d: %d bytes, first %d", i, len(b), b[0])
		}
	}
	for i, r := range refs {
		check(i, r)
	}
	used, slabs := a.used, a.slabBytes
	// Free every other block and take as many again: the slabs do not
	// grow, the blocks left are intact.
	for i := 0; i < len(refs); i += 2 {
		a.retire(refs[i])
	}
	for i := 0; i < len(refs); i += 2 {
		n := 1 + i%300
		if i%1000 == 0 {
			n = maxClassSize + i
		}
		r, b := a.alloc(n)
		for j := range b {
			b[j] = byte(i)
		}
		refs[i] = r
	}
	for i, r := range refs {
		check(i, r)
	}
	if a.used != used || a.slabBytes != slabs {
		t.Errorf("after reuse: used %d, slabs %d; before %d, %d", a.used, a.slabBytes, used, slabs)
	}
	for _, r := range refs {
		a.retire(r)
	}
	if a.used != 0 {
		t.Errorf("all freed: used %d", a.used)
	}
}

// A block retired while a read view is open is reused only once every
// view that may see it is closed.
func TestArenaViews(t *testing.T) {
	a := newArena()
	r1 := a.store(Tuple("first tuple"))
	e1 := a.openView()
	a.retire(r1)
	r2 := a.store(Tuple("second tuple"))
	if r2 == r1 || string(a.bytes(r1)) != "first tuple" {
		t.Fatalf("a retired block seen by a view was reused")
	}
	e2 := a.openView()
	a.retire(r2)
	a.views.close(e1)
	a.reclaim()
	// r1 is free now (only the first view saw it), r2 is not.
	r3 := a.store(Tuple("third tuple!"))
	if r3.slab() != r1.slab() || r3.off() != r1.off() {
		t.Errorf("the first block was not reused: %x, %x", r3, r1)
	}
	if string(a.bytes(r2)) != "second tuple" {
		t.Errorf("a block the second view sees changed")
	}
	a.views.close(e2)
	a.retire(r3)
	a.reclaim()
	if a.used != 0 || len(a.pending) != 0 {
		t.Errorf("used %d, pending %d", a.used, len(a.pending))
	}
}

// storageModel is the expected content of space 800: id → tuple bytes.
type storageModel map[uint64][]byte

func (m storageModel) clone() storageModel {
	c := make(storageModel, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (m storageModel) sorted() [][]byte {
	ids := make([]uint64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out
}

// viewContent reads space 800 of a view.
func viewContent(v *ReadView) [][]byte {
	var out [][]byte
	for _, vs := range v.Spaces() {
		if vs.ID == 800 {
			vs.Ascend(func(t Tuple) bool {
				out = append(out, bytes.Clone(t))
				return true
			})
		}
	}
	return out
}

// TestStorageProperty runs random requests, transactions, truncations and
// read views against a map model: every read view (read on its own
// goroutine while the writes go on) holds what the model held when it
// was taken, the space and its secondary index hold what the model holds,
// and the arena accounts for exactly the blocks of the stored tuples.
// XLOGTOOL_STORAGE_OPS sets the number of operations per seed,
// XLOGTOOL_STORAGE_SEEDS the number of seeds.
func TestStorageProperty(t *testing.T) {
	ops, seeds := 4000, 3
	if v, err := strconv.Atoi(os.Getenv("XLOGTOOL_STORAGE_OPS")); err == nil {
		ops = v
	}
	if v, err := strconv.Atoi(os.Getenv("XLOGTOOL_STORAGE_SEEDS")); err == nil {
		seeds = v
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			storageProperty(t, rand.New(rand.NewPCG(seed, 77)).IntN, ops)
		})
	}
}

// FuzzStorage is TestStorageProperty with the choices taken from the
// fuzzer's bytes.
func FuzzStorage(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 90, 91, 92, 80, 10, 60, 70, 95, 85, 40})
	f.Add(bytes.Repeat([]byte{86, 3, 7, 41, 9, 61, 5, 76, 2, 91}, 30))
	f.Fuzz(func(t *testing.T, data []byte) {
		pos := 0
		next := func(n int) int {
			if pos >= len(data) {
				return 0
			}
			pos++
			return int(data[pos-1]) % n
		}
		storageProperty(t, next, len(data)/2)
	})
}

type openView struct {
	v    *ReadView
	want [][]byte
	done chan string
}

// storageProperty runs ops operations, each chosen by next(n), which
// returns a number in [0, n).
func storageProperty(t *testing.T, next func(n int) int, ops int) {
	st := NewState()
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(800, "p")...),
		insert(box.SpaceIndex, indexRow(800, 0, "pk", true, part(0, "unsigned"))...),
		insert(box.SpaceIndex, indexRow(800, 1, "k", false, part(2, "unsigned"))...),
	)
	model := storageModel{}
	var saved storageModel // the model at Begin
	var views []*openView
	payload := func() string {
		switch next(20) {
		case 0:
			return string(bytes.Repeat([]byte{'b'}, maxClassSize+next(3000))) // a slab of its own
		case 1:
			return string(bytes.Repeat([]byte{'m'}, 300+next(3000)))
		}
		return string(bytes.Repeat([]byte{'s'}, next(60)))
	}
	encode := func(v []any) []byte {
		b, err := EncodeMsgpack(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	closeView := func(i int) {
		ov := views[i]
		if msg := <-ov.done; msg != "" {
			t.Fatalf("read view %d: %s", i, msg)
		}
		ov.v.Close()
		views = slices.Delete(views, i, i+1)
	}
	for step := range ops {
		id := uint64(next(300))
		switch r := next(100); {
		case r < 40:
			tu := []any{id, payload(), uint64(next(20))}
			mustApply(t, st, replace(800, tu...))
			model[id] = encode(tu)
		case r < 50:
			tu := []any{id, payload(), uint64(next(20))}
			err := st.Apply(insert(800, tu...))
			if _, exists := model[id]; exists != (codeOf(err) == box.ErrTupleFound) {
				t.Fatalf("step %d: insert of %d: %v, exists %v", step, id, err, exists)
			}
			if err == nil {
				model[id] = encode(tu)
			}
		case r < 65:
			ch, err := st.Execute(del(800, id))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ch.Old, model[id]) {
				t.Fatalf("step %d: delete of %d returned %v, want %v", step, id, ch.Old, model[id])
			}
			delete(model, id)
		case r < 75:
			k := uint64(next(20))
			mustApply(t, st, update(800, []any{id}, op("=", uint64(3), k)))
			if old, ok := model[id]; ok {
				v, _ := DecodeMsgpack(old)
				tu := v.([]any)
				tu[2] = k
				model[id] = encode(tu)
			}
		case r < 77:
			mustApply(t, st, Request{Type: box.TypeReplace, SpaceID: box.SpaceTruncate, Tuple: []any{uint64(800), uint64(step)}})
			model = storageModel{}
		case r < 83:
			if st.InTransaction() {
				if next(2) == 0 {
					st.Commit()
				} else {
					st.Rollback()
					model = saved
				}
			} else {
				if err := st.Begin(); err != nil {
					t.Fatal(err)
				}
				saved = model.clone()
			}
		case r < 88:
			if len(views) < 4 {
				ov := &openView{v: st.ReadView(), want: model.sorted(), done: make(chan string, 1)}
				views = append(views, ov)
				go func() {
					got := viewContent(ov.v)
					if len(got) != len(ov.want) {
						ov.done <- fmt.Sprintf("%d tuples, want %d", len(got), len(ov.want))
						return
					}
					for i := range got {
						if !bytes.Equal(got[i], ov.want[i]) {
							ov.done <- fmt.Sprintf("tuple %d: %x, want %x", i, got[i], ov.want[i])
							return
						}
					}
					ov.done <- ""
				}()
			}
		case r < 93:
			if len(views) > 0 {
				closeView(next(len(views)))
			}
		default:
			checkStorage(t, st, model)
		}
	}
	for len(views) > 0 {
		closeView(0)
	}
	if st.InTransaction() {
		st.Commit()
	}
	checkStorage(t, st, model)
	// Every block in use holds a stored tuple.
	var want int64
	for _, sp := range st.Spaces() {
		sp.AscendTuples(func(tu Tuple) bool {
			want += blockSize(len(tu))
			return true
		})
	}
	if st.env.arena.reclaim(); st.MemoryUsed() != uint64(want) || len(st.env.arena.pending) != 0 {
		t.Errorf("arena: %d bytes used, %d retired tuples pending; the stored tuples take %d",
			st.MemoryUsed(), len(st.env.arena.pending), want)
	}
}

// checkStorage compares space 800 and its secondary index with the model.
func checkStorage(t *testing.T, st *State, model storageModel) {
	t.Helper()
	sp := st.Space(800)
	var got [][]byte
	sp.AscendTuples(func(tu Tuple) bool {
		got = append(got, bytes.Clone(tu))
		return true
	})
	want := model.sorted()
	if len(got) != len(want) {
		t.Fatalf("%d tuples, the model has %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("tuple %d: %x, want %x", i, got[i], want[i])
		}
	}
	if n := sp.Index(1).Len(); n != len(want) {
		t.Fatalf("the secondary index holds %d tuples, the model %d", n, len(want))
	}
	var bsize int64
	for _, tu := range want {
		bsize += int64(len(tu))
	}
	if sp.BSize() != bsize {
		t.Fatalf("bsize %d, want %d", sp.BSize(), bsize)
	}
	for k := range uint64(20) {
		ts, err := sp.Select(1, box.IterEq, []any{k}, 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, tu := range want {
			if v := tu; len(v) > 0 {
				dv, _ := DecodeMsgpack(v)
				if dv.([]any)[2] == k {
					n++
				}
			}
		}
		if len(ts) != n {
			t.Fatalf("k = %d: %d tuples, the model has %d", k, len(ts), n)
		}
	}
}

// While secondary keys are deferred, the tuples replaced stay in the
// arena (the stale secondary trees still refer to them) until the keys
// are built; then they are freed.
func TestDeferredKeysKeepReplaced(t *testing.T) {
	st := NewState()
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(700, "d")...),
		insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "unsigned"))...),
		insert(box.SpaceIndex, indexRow(700, 1, "name", false, part(1, "string"))...),
	)
	for k := range uint64(500) {
		mustApply(t, st, insert(700, k, fmt.Sprintf("first %d", k)))
	}
	st.DeferSecondaryKeys()
	for k := range uint64(1000) {
		mustApply(t, st, replace(700, k, fmt.Sprintf("second %d", k)))
	}
	// The stale secondary index still reads the first tuples, intact.
	n := 0
	st.Space(700).Index(1).Ascend(func(tu Tuple) bool {
		if v := tu.Decode(); len(v) != 2 || !strings.HasPrefix(v[1].(string), "first ") {
			t.Fatalf("stale index holds %v", v)
		}
		n++
		return true
	})
	if n != 500 {
		t.Fatalf("stale index holds %d tuples", n)
	}
	if errs := st.BuildSecondaryKeys(); len(errs) != 0 {
		t.Fatal(errs[0])
	}
	if got := st.Space(700).Index(1).Len(); got != 1000 {
		t.Errorf("secondary index: %d tuples", got)
	}
	var want int64
	for _, sp := range st.Spaces() {
		sp.AscendTuples(func(tu Tuple) bool {
			want += blockSize(len(tu))
			return true
		})
	}
	if st.MemoryUsed() != uint64(want) {
		t.Errorf("%d bytes used, the tuples take %d", st.MemoryUsed(), want)
	}
}
