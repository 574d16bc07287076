package memtx

import (
	"github.com/xlogtool/xlogtool/box"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/format"
)

// Engine behaviour a server relies on: secondary indexes of every kind
// kept on every change, selects, transactions, read views and memory.

func hashIndexRow(space, iid uint64, name string, unique bool, parts ...Map) []any {
	r := indexRow(space, iid, name, unique, parts...)
	r[3] = "hash"
	return r
}

// newIndexedState returns space 700 'x': {id unsigned, a string, b
// unsigned nullable, c unsigned}, primary key id, 'ua' unique tree on a,
// 'nb' non-unique tree on b (nullable), 'hc' unique hash on c, 'uab'
// unique tree on (b nullable, a), 'hai' unique hash on (a, id).
// (Tarantool's HASH indexes are unique and have no nullable parts.)
func newIndexedState(t *testing.T) *State {
	t.Helper()
	st := NewState()
	nullable := MapEntry{"is_nullable", true}
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(700, "x", field("id", "unsigned", false), field("a", "string", false),
			field("b", "unsigned", true), field("c", "unsigned", false))...),
		insert(box.SpaceIndex, indexRow(700, 0, "primary", true, part(0, "unsigned"))...),
		insert(box.SpaceIndex, indexRow(700, 1, "ua", true, part(1, "string"))...),
		insert(box.SpaceIndex, indexRow(700, 2, "nb", false, part(2, "unsigned", nullable))...),
		insert(box.SpaceIndex, hashIndexRow(700, 3, "hc", true, part(3, "unsigned"))...),
		insert(box.SpaceIndex, indexRow(700, 4, "uab", true, part(2, "unsigned", nullable), part(1, "string"))...),
		insert(box.SpaceIndex, hashIndexRow(700, 5, "hai", true, part(1, "string"), part(0, "unsigned"))...),
	)
	return st
}

func selectValues(t *testing.T, st *State, index uint32, it box.Iterator, key []any, offset, limit uint32) [][]any {
	t.Helper()
	ts, err := st.Select(700, index, it, key, offset, limit)
	if err != nil {
		t.Fatalf("select index %d iterator %d %v: %v", index, it, key, err)
	}
	out := [][]any{}
	for _, tu := range ts {
		out = append(out, tu.Decode())
	}
	return out
}

func ids(rows [][]any) []uint64 {
	out := []uint64{}
	for _, r := range rows {
		out = append(out, r[0].(uint64))
	}
	return out
}

// checkIndexes verifies that every maintained index of space 700 holds
// exactly the tuples of the primary key, in its order.
func checkIndexes(t *testing.T, st *State) {
	t.Helper()
	sp := st.Space(700)
	n := sp.Len()
	for _, ix := range sp.Indexes() {
		if !ix.maintained() {
			t.Fatalf("index %s is not maintained", ix.Name)
		}
		var prev tref
		count := 0
		ix.tree.ascend(func(r tref) bool {
			tu := ix.ar.bytes(r)
			if prev != 0 && ix.tree.cmp(prev, r) >= 0 {
				t.Fatalf("index %s out of order: %v, %v", ix.Name, ix.ar.bytes(prev).Decode(), tu.Decode())
			}
			if sp.GetTuple([]any{tu.Decode()[0]}) == nil {
				t.Fatalf("index %s holds %v, not in the primary key", ix.Name, tu.Decode())
			}
			prev = r
			count++
			return true
		})
		if count != n {
			t.Fatalf("index %s holds %d tuples, the primary key %d", ix.Name, count, n)
		}
	}
}

func TestSecondaryIndexes(t *testing.T) {
	st := newIndexedState(t)
	mustApply(t, st,
		insert(700, uint64(1), "a", uint64(10), uint64(100)),
		insert(700, uint64(2), "b", uint64(10), uint64(200)),
		insert(700, uint64(3), "c", nil, uint64(300)),
		insert(700, uint64(4), "d", nil, uint64(400)), // nil keys never collide in unique indexes
		insert(700, uint64(5), "e", uint64(5), uint64(500)),
	)
	checkIndexes(t, st)
	for _, c := range []struct {
		req  Request
		code box.ErrorCode
		msg  string
	}{
		{insert(700, uint64(1), "z", nil, uint64(999)), box.ErrTupleFound, "Duplicate key exists in unique index 'primary' in space 'x'"},
		{insert(700, uint64(9), "a", nil, uint64(999)), box.ErrTupleFound, "Duplicate key exists in unique index 'ua' in space 'x'"},
		{insert(700, uint64(9), "z", nil, uint64(200)), box.ErrTupleFound, "Duplicate key exists in unique index 'hc' in space 'x'"},
		{replace(700, uint64(3), "b", nil, uint64(300)), box.ErrTupleFound, "Duplicate key exists in unique index 'ua' in space 'x'"},
		{update(700, []any{uint64(5)}, op("=", uint64(2), "a")), box.ErrTupleFound, "Duplicate key exists in unique index 'ua' in space 'x'"},
		{upsert(700, []any{uint64(9), "b", nil, uint64(900)}, op("=", uint64(2), "q")), box.ErrTupleFound, "Duplicate key exists in unique index 'ua' in space 'x'"},
		{Request{Type: box.TypeDelete, SpaceID: 700, IndexID: 2, Key: []any{uint64(10)}}, box.ErrMoreThanOneTuple, "Get() doesn't support partial keys and non-unique indexes"},
		{Request{Type: box.TypeDelete, SpaceID: 700, IndexID: 1, Key: []any{}}, box.ErrExactMatch, "Invalid key part count in an exact match (expected 1, got 0)"},
		{insert(799, uint64(1)), box.ErrNoSuchSpace, "Space '799' does not exist"},
		{Request{Type: box.TypeDelete, SpaceID: 700, IndexID: 4, Key: []any{nil, "d"}}, box.ErrKeyPartType,
			"Supplied key type of part 0 does not match index part type: expected unsigned"},
		{insert(box.SpaceIndex, hashIndexRow(700, 6, "hn", false, part(2, "unsigned"))...), box.ErrModifyIndex,
			"Can't create or modify index 'hn' in space 'x': HASH index must be unique"},
		{insert(box.SpaceIndex, hashIndexRow(700, 6, "hn", true, part(2, "unsigned", MapEntry{"is_nullable", true}))...), box.ErrUnsupported,
			"HASH does not support nullable parts"},
	} {
		err := st.Apply(c.req)
		var ae *ApplyError
		if !asApplyError(err, &ae) || ae.Code != c.code || ae.Message != c.msg {
			t.Errorf("%s: got %v, want %s %q", describe(c.req), err, c.code, c.msg)
		}
	}
	checkIndexes(t, st)
	// Changes through secondary keys move the tuple in every index.
	mustApply(t, st,
		Request{Type: box.TypeUpdate, SpaceID: 700, IndexID: 1, IndexBase: 1, Key: []any{"c"}, Ops: []any{op("=", uint64(3), uint64(10))}},
		Request{Type: box.TypeDelete, SpaceID: 700, IndexID: 3, Key: []any{uint64(100)}},
		replace(700, uint64(2), "bb", uint64(7), uint64(200)),
	)
	checkIndexes(t, st)
	if got := ids(selectValues(t, st, 2, box.IterEq, []any{uint64(10)}, 0, 100)); !reflect.DeepEqual(got, []uint64{3}) {
		t.Errorf("nb = 10: %v", got)
	}
	if got := ids(selectValues(t, st, 1, box.IterAll, nil, 0, 100)); !reflect.DeepEqual(got, []uint64{2, 3, 4, 5}) {
		t.Errorf("ua all: %v", got)
	}
	if got := ids(selectValues(t, st, 3, box.IterEq, []any{uint64(200)}, 0, 100)); !reflect.DeepEqual(got, []uint64{2}) {
		t.Errorf("hc = 200: %v", got)
	}
	// Hash over (a, id): EQ takes the full key.
	if got := ids(selectValues(t, st, 5, box.IterEq, []any{"d", uint64(4)}, 0, 100)); !reflect.DeepEqual(got, []uint64{4}) {
		t.Errorf("hai = d,4: %v", got)
	}
	// Nullable parts: nil sorts first.
	if got := ids(selectValues(t, st, 2, box.IterAll, nil, 0, 100)); !reflect.DeepEqual(got, []uint64{4, 5, 2, 3}) {
		t.Errorf("nb all: %v", got)
	}
	if got := ids(selectValues(t, st, 4, box.IterEq, []any{nil}, 0, 100)); !reflect.DeepEqual(got, []uint64{4}) {
		t.Errorf("uab = nil: %v", got)
	}
}

func TestSelectIterators(t *testing.T) {
	st := newIndexedState(t)
	for i := uint64(1); i <= 9; i++ {
		mustApply(t, st, insert(700, i, string(rune('a'+i)), i%3, 100+i))
	}
	for _, c := range []struct {
		index         uint32
		it            box.Iterator
		key           []any
		offset, limit uint32
		want          []uint64
	}{
		{0, box.IterEq, []any{uint64(4)}, 0, 10, []uint64{4}},
		{0, box.IterEq, nil, 0, 10, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{0, box.IterReq, nil, 0, 3, []uint64{9, 8, 7}},
		{0, box.IterGe, []any{uint64(7)}, 0, 10, []uint64{7, 8, 9}},
		{0, box.IterGt, []any{uint64(7)}, 0, 10, []uint64{8, 9}},
		{0, box.IterLe, []any{uint64(3)}, 0, 10, []uint64{3, 2, 1}},
		{0, box.IterLt, []any{uint64(3)}, 0, 10, []uint64{2, 1}},
		{0, box.IterLt, []any{uint64(100)}, 2, 2, []uint64{7, 6}},
		{0, box.IterAll, nil, 7, 10, []uint64{8, 9}},
		{0, box.IterGt, []any{uint64(9)}, 0, 10, []uint64{}},
		{0, box.IterEq, []any{uint64(4)}, 0, 0, []uint64{}},
		{2, box.IterEq, []any{uint64(1)}, 0, 10, []uint64{1, 4, 7}},
		{2, box.IterReq, []any{uint64(1)}, 0, 10, []uint64{7, 4, 1}},
		{2, box.IterGt, []any{uint64(1)}, 0, 10, []uint64{2, 5, 8}},
		{2, box.IterLt, []any{uint64(1)}, 0, 10, []uint64{9, 6, 3}},
		{2, box.IterLe, []any{uint64(1)}, 1, 2, []uint64{4, 1}},
		{4, box.IterEq, []any{uint64(2)}, 0, 10, []uint64{2, 5, 8}},
		{4, box.IterGe, []any{uint64(2), "f"}, 0, 10, []uint64{5, 8}},
		{4, box.IterReq, []any{uint64(0)}, 0, 10, []uint64{9, 6, 3}},
	} {
		got := ids(selectValues(t, st, c.index, c.it, c.key, c.offset, c.limit))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("index %d iterator %d %v offset %d limit %d: %v, want %v", c.index, c.it, c.key, c.offset, c.limit, got, c.want)
		}
	}
	for _, c := range []struct {
		space, index uint32
		it           box.Iterator
		key          []any
		code         box.ErrorCode
		msg          string
	}{
		{700, 0, box.IterEq, []any{uint64(1), uint64(2)}, box.ErrKeyPartCount, "Invalid key part count (expected [0..1], got 2)"},
		{700, 0, box.IterEq, []any{"x"}, box.ErrKeyPartType, "Supplied key type of part 0 does not match index part type: expected unsigned"},
		{700, 9, box.IterEq, nil, box.ErrNoSuchIndexID, "No index #9 is defined in space 'x'"},
		{799, 0, box.IterEq, nil, box.ErrNoSuchSpace, "Space '799' does not exist"},
		{700, 3, box.IterEq, nil, box.ErrPartialKey, "HASH index  does not support selects via a partial key (expected 1 parts, got 0). Please Consider changing index type to TREE."},
		{700, 3, box.IterLe, []any{uint64(1)}, box.ErrUnsupportedIndexFeature, "Index 'hc' (HASH) of space 'x' (memtx) does not support requested iterator type"},
	} {
		_, err := st.Select(c.space, c.index, c.it, c.key, 0, 10)
		var ae *ApplyError
		if !asApplyError(err, &ae) || ae.Code != c.code || ae.Message != c.msg {
			t.Errorf("select %d/%d iterator %d %v: got %v, want %s %q", c.space, c.index, c.it, c.key, err, c.code, c.msg)
		}
	}
}

// snapshotOf returns every space's tuples, decoded, by id.
func snapshotOf(st *State) map[uint32][][]any {
	out := map[uint32][][]any{}
	for _, sp := range st.Spaces() {
		out[sp.ID] = sp.Tuples()
	}
	return out
}

func TestTransactionRollback(t *testing.T) {
	st := newIndexedState(t)
	mustApply(t, st,
		insert(700, uint64(1), "a", uint64(1), uint64(1)),
		insert(700, uint64(2), "b", uint64(2), uint64(2)),
	)
	before := snapshotOf(st)
	version := st.SchemaVersion()
	used := st.MemoryUsed()
	if err := st.Begin(); err != nil {
		t.Fatal(err)
	}
	if err := st.Begin(); codeOf(err) != box.ErrActiveTransaction {
		t.Errorf("second Begin: %v", err)
	}
	mustApply(t, st,
		insert(700, uint64(3), "c", uint64(3), uint64(3)),
		replace(700, uint64(1), "aa", uint64(9), uint64(9)),
		del(700, uint64(2)),
		update(700, []any{uint64(3)}, op("=", uint64(2), "b")),
		upsert(700, []any{uint64(4), "d", nil, uint64(4)}, op("=", uint64(3), uint64(4))),
	)
	sp := st.Savepoint()
	// Schema changes roll back too: a new space with an index, a new
	// index on an old space, a truncation.
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(701, "y")...),
		insert(box.SpaceIndex, indexRow(701, 0, "pk", true, part(0, "unsigned"))...),
		insert(701, uint64(1)),
		insert(box.SpaceIndex, indexRow(700, 6, "extra", false, part(3, "unsigned", MapEntry{"is_nullable", true}))...),
		Request{Type: box.TypeReplace, SpaceID: box.SpaceTruncate, Tuple: []any{uint64(700), uint64(1)}},
	)
	if st.Space(700).Len() != 0 || st.Space(701) == nil || st.SchemaVersion() == version {
		t.Fatalf("inside the transaction: %d tuples, space 701 %v, schema version %d", st.Space(700).Len(), st.Space(701), st.SchemaVersion())
	}
	// A failing request inside changes nothing and keeps the transaction.
	if err := st.Apply(insert(701, uint64(1))); codeOf(err) != box.ErrTupleFound {
		t.Errorf("duplicate: %v", err)
	}
	st.RollbackTo(sp)
	if st.Space(701) != nil || st.Space(700).Index(6) != nil || st.Space(700).Len() != 3 {
		t.Fatalf("after RollbackTo: space 701 %v, index 6 %v, %d tuples", st.Space(701), st.Space(700).Index(6), st.Space(700).Len())
	}
	checkIndexes(t, st)
	st.Rollback()
	if st.InTransaction() {
		t.Error("still in a transaction")
	}
	after := snapshotOf(st)
	// (The built-in system spaces a request touched exist now, empty.)
	for id := range after {
		if !reflect.DeepEqual(before[id], after[id]) && len(before[id])+len(after[id]) > 0 {
			t.Errorf("space %d after rollback:\n%v\nwant\n%v", id, after[id], before[id])
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			t.Errorf("space %d gone after rollback", id)
		}
	}
	checkIndexes(t, st)
	if st.MemoryUsed() != used {
		t.Errorf("memory %d after rollback, %d before", st.MemoryUsed(), used)
	}
	// Every index answers as before.
	if got := ids(selectValues(t, st, 1, box.IterEq, []any{"b"}, 0, 10)); !reflect.DeepEqual(got, []uint64{2}) {
		t.Errorf("ua = b: %v", got)
	}
	// A committed transaction keeps its changes.
	if err := st.Begin(); err != nil {
		t.Fatal(err)
	}
	mustApply(t, st, insert(700, uint64(3), "c", nil, uint64(3)))
	st.Commit()
	st.Rollback() // no transaction: nothing to undo
	if st.Space(700).Len() != 3 {
		t.Errorf("%d tuples after commit", st.Space(700).Len())
	}
}

func TestReadViewIsolation(t *testing.T) {
	st := newIndexedState(t)
	for i := uint64(1); i <= 1000; i++ {
		mustApply(t, st, insert(700, i, "k"+itoa(uint32(i)), nil, i))
	}
	view := st.ReadView()
	want := snapshotOf(st)
	// The view is written as a snapshot on another goroutine while
	// writes go on: every tuple replaced, some deleted, more inserted, the
	// space truncated at the end.
	dir := t.TempDir()
	path := filepath.Join(dir, "v.snap")
	written := make(chan error, 1)
	go func() {
		_, err := view.WriteSnapshot(path, format.VClock{}, SnapshotOptions{NoSync: true})
		written <- err
	}()
	for i := uint64(1); i <= 1000; i++ {
		mustApply(t, st, replace(700, i, "v"+itoa(uint32(i)), i, i))
		if i%3 == 0 {
			mustApply(t, st, del(700, i))
		}
		mustApply(t, st, insert(700, 5000+i, "n"+itoa(uint32(i)), nil, 5000+i))
	}
	mustApply(t, st, Request{Type: box.TypeReplace, SpaceID: box.SpaceTruncate, Tuple: []any{uint64(700), uint64(1)}})
	found := false
	for _, vs := range view.Spaces() {
		var got [][]any
		vs.Ascend(func(tu Tuple) bool {
			got = append(got, tu.Decode())
			return true
		})
		if !reflect.DeepEqual(got, want[vs.ID]) && !(len(got) == 0 && len(want[vs.ID]) == 0) {
			t.Errorf("space %d in the view changed: %d tuples, want %d", vs.ID, len(got), len(want[vs.ID]))
		}
		found = found || vs.ID == 700
	}
	if !found {
		t.Fatal("space 700 missing from the view")
	}
	// The snapshot written meanwhile loads into the state of the view.
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := format.NewReader(f, format.Options{Name: path})
	if err != nil {
		t.Fatal(err)
	}
	loaded := NewState()
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		d, err := row.DML()
		if err != nil {
			t.Fatal(err)
		}
		req, err := RawRequest{Type: box.RowType(row.Type), SpaceID: d.SpaceID, Tuple: d.Tuple}.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if err := loaded.Apply(req); err != nil {
			t.Fatal(err)
		}
	}
	if got := loaded.Space(700).Tuples(); !reflect.DeepEqual(got, want[700]) {
		t.Errorf("snapshot of the view: %d tuples, want %d", len(got), len(want[700]))
	}
}

func TestMemoryLimit(t *testing.T) {
	st := NewStateWithOptions(Options{MemoryLimit: 64 << 10})
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(700, "x")...),
		insert(box.SpaceIndex, indexRow(700, 0, "primary", true, part(0, "unsigned"))...),
	)
	pad := string(make([]byte, 1000))
	var err error
	n := 0
	for i := uint64(0); i < 1000; i++ {
		if err = st.Apply(insert(700, i, pad)); err != nil {
			break
		}
		n++
	}
	var ae *ApplyError
	if !asApplyError(err, &ae) || ae.Code != box.ErrMemoryIssue || !strings.HasPrefix(ae.Message, "Failed to allocate 10") ||
		!strings.HasSuffix(ae.Message, " bytes in slab allocator for memtx_tuple") {
		t.Fatalf("after %d tuples: %v", n, err)
	}
	if used := st.MemoryUsed(); used > 64<<10 || used+1024 <= 64<<10 {
		t.Errorf("memory used %d at the limit", used)
	}
	var bsize int64
	st.Space(700).AscendTuples(func(tu Tuple) bool { bsize += int64(len(tu)); return true })
	if got := st.Space(700).BSize(); got != bsize || bsize == 0 {
		t.Errorf("bsize %d, the tuples hold %d bytes", got, bsize)
	}
	// Deleting frees memory for new tuples.
	mustApply(t, st, del(700, uint64(0)))
	mustApply(t, st, insert(700, uint64(5000), pad))
}
