package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/memtx"

	"github.com/xlogtool/xlogtool/format"
)

// Logs built by hand, for the cases a real instance does not write on
// demand: findings, gaps, torn transactions, several replicas.

const testUUID = "8244848b-532e-4988-b27a-e4326c6ccb1c"

// synthState returns a state with a space 600 (unsigned primary key, a
// unique secondary key on field 2) and a synchronous space 601.
func synthState(t *testing.T) *memtx.State {
	t.Helper()
	st := memtx.NewState()
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(600, "a")...),
		insert(box.SpaceIndex, indexRow(600, 0, "pk", true, part(0, "unsigned"))...),
		insert(box.SpaceIndex, indexRow(600, 1, "sk", true, part(1, "string"))...),
		insert(box.SpaceSpace, uint64(601), uint64(1), "s", "memtx", uint64(0), memtx.Map{{Key: "is_sync", Value: true}}, []any{}),
		insert(box.SpaceIndex, indexRow(601, 0, "pk", true, part(0, "unsigned"))...),
	)
	return st
}

// writeSnap writes a state as a snapshot with vclock v into dir.
func writeSnap(t *testing.T, dir string, st *memtx.State, v format.VClock) string {
	t.Helper()
	path := filepath.Join(dir, format.FileName(format.TypeSNAP, v))
	if _, err := st.WriteSnapshot(path, v, memtx.SnapshotOptions{Instance: testUUID, NoSync: true, Timestamp: 0.5}); err != nil {
		t.Fatal(err)
	}
	return path
}

// xrow is a row of a synthetic xlog.
type xrow struct {
	h    format.Header
	body []byte
}

func dmlBody(t *testing.T, space uint32, key string, tuple []any) []byte {
	t.Helper()
	k := uint64(box.KeyTuple)
	if key == "key" {
		k = box.KeyKey
	}
	b, err := memtx.EncodeMsgpack(memtx.Map{{Key: uint64(box.KeySpaceID), Value: uint64(space)}, {Key: k, Value: tuple}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ins is a single-row INSERT transaction of replica r.
func ins(t *testing.T, r uint32, lsn uint64, space uint32, tuple ...any) xrow {
	return xrow{h: format.Header{Type: box.TypeInsert, ReplicaID: r, LSN: lsn, TSN: lsn, Commit: true, Timestamp: float64(lsn)},
		body: dmlBody(t, space, "tuple", tuple)}
}

// txn turns rows into one transaction: the TSN of the first, COMMIT on
// the last.
func txn(rows ...xrow) []xrow {
	for i := range rows {
		rows[i].h.TSN = rows[0].h.LSN
		rows[i].h.Commit = i == len(rows)-1
	}
	return rows
}

func synchroRow(typ box.RowType, r uint32, lsn uint64, owner uint32, confirmed uint64) xrow {
	body := format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: owner, LSN: confirmed})
	return xrow{h: format.Header{Type: typ, ReplicaID: r, LSN: lsn, TSN: lsn, Commit: true, Timestamp: float64(lsn)}, body: body}
}

// writeXlog writes rows into dir as an xlog starting at vclock v and
// returns its path.
func writeXlog(t *testing.T, dir string, v format.VClock, rows ...xrow) string {
	t.Helper()
	w, err := format.Create(dir, &format.Meta{FileType: format.TypeXLOG, Instance: testUUID, VClock: v, HasVClock: true},
		format.WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(&r.h, r.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Path()
}

func vc(pairs ...uint64) format.VClock {
	var v format.VClock
	for i := 0; i+1 < len(pairs); i += 2 {
		v.Set(uint32(pairs[i]), pairs[i+1])
	}
	return v
}

func keysOf(st *memtx.State, space uint32) []uint64 {
	var out []uint64
	if sp := st.Space(space); sp != nil {
		sp.Ascend(func(t []any) bool {
			out = append(out, t[0].(uint64))
			return true
		})
	}
	return out
}

func wantKeys(t *testing.T, st *memtx.State, space uint32, want ...uint64) {
	t.Helper()
	got := keysOf(st, space)
	if len(got) != len(want) {
		t.Fatalf("space %d: keys %v, want %v", space, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("space %d: keys %v, want %v", space, got, want)
		}
	}
}

func findingKinds(res *Result) string {
	var k []string
	for _, f := range res.Findings {
		k = append(k, f.Kind)
	}
	return strings.Join(k, ",")
}

func TestRecoverFindings(t *testing.T) {
	dir := t.TempDir()
	st := synthState(t)
	mustApply(t, st, insert(600, uint64(1), "one"))
	writeSnap(t, dir, st, vc(1, 10))
	x1 := writeXlog(t, dir, vc(1, 10),
		ins(t, 1, 9, 600, uint64(9), "covered"), // in the snapshot
		ins(t, 1, 11, 600, uint64(2), "two"),
		ins(t, 1, 12, 600, uint64(1), "dup"),  // duplicate primary key
		ins(t, 1, 13, 600, uint64(3), "two"),  // duplicate secondary key
		ins(t, 1, 13, 600, uint64(4), "four"), // LSN used twice
	)
	// The next xlog starts after a gap (LSN 14-19 missing).
	writeXlog(t, dir, vc(1, 20),
		ins(t, 1, 21, 600, uint64(5), "five"),
	)
	res := mustRecover(t, RecoverOptions{Paths: []string{dir}})
	wantKeys(t, res.State, 600, 1, 2, 5)
	if got := findingKinds(res); got != "apply,apply,lsn-order,gap" {
		t.Fatalf("findings %s", got)
	}
	f := res.Findings[0]
	if f.File != x1 || f.LSN != 12 || f.ReplicaID != 1 || f.Code != box.ErrTupleFound || f.SpaceID != 600 || f.Offset <= 0 {
		t.Errorf("finding %+v", f)
	}
	if res.Findings[1].Code != box.ErrTupleFound || !strings.Contains(res.Findings[1].Message, "'sk'") {
		t.Errorf("finding %+v", res.Findings[1])
	}
	if res.Counts.CoveredRows != 1 {
		t.Errorf("covered %d", res.Counts.CoveredRows)
	}
	if res.VClock.String() != "{1: 21}" {
		t.Errorf("vclock %s", res.VClock)
	}
}

func TestRecoverTransactions(t *testing.T) {
	dir := t.TempDir()
	st := synthState(t)
	writeSnap(t, dir, st, vc(1, 0))
	rows := []xrow{ins(t, 1, 1, 600, uint64(1), "a")}
	// A transaction of three rows, complete.
	rows = append(rows, txn(ins(t, 1, 2, 600, uint64(2), "b"), ins(t, 1, 3, 600, uint64(3), "c"), ins(t, 1, 4, 600, uint64(4), "d"))...)
	// A transaction whose last row is missing: another one follows.
	rows = append(rows, txn(ins(t, 1, 5, 600, uint64(5), "e"), ins(t, 1, 6, 600, uint64(6), "f"))[:1]...)
	rows = append(rows, ins(t, 1, 7, 600, uint64(7), "g"))
	// A transaction cut by the end of the logs.
	rows = append(rows, txn(ins(t, 1, 8, 600, uint64(8), "h"), ins(t, 1, 9, 600, uint64(9), "i"))[:1]...)
	writeXlog(t, dir, vc(1, 0), rows...)

	res := mustRecover(t, RecoverOptions{Paths: []string{dir}})
	wantKeys(t, res.State, 600, 1, 2, 3, 4, 7)
	if got := findingKinds(res); got != "torn-tx" {
		t.Fatalf("findings %s", got)
	}
	if res.Counts.Torn != 1 || res.Counts.Cut != 1 || len(res.Warnings) == 0 || res.Warnings[len(res.Warnings)-1].Kind != FindingUnfinished {
		t.Errorf("torn %d cut %d warnings %+v", res.Counts.Torn, res.Counts.Cut, res.Warnings)
	}
	// The vclock stops before the unfinished transaction.
	if res.VClock.String() != "{1: 7}" {
		t.Errorf("vclock %s", res.VClock)
	}

	// Stop points inside the complete transaction: it is not applied.
	for _, target := range []Target{
		{HasLSN: true, Replica: 1, LSN: 3},
		{HasVClock: true, VClock: vc(1, 3)},
		{HasTimestamp: true, Timestamp: 3.5},
	} {
		res := mustRecover(t, RecoverOptions{Paths: []string{dir}, Target: target})
		wantKeys(t, res.State, 600, 1)
		if res.Counts.Cut != 1 || len(res.Unapplied) != 1 || res.Unapplied[0].Rows != 2 {
			t.Errorf("%s: cut %d %+v", target.String(), res.Counts.Cut, res.Unapplied)
		}
		if res.VClock.String() != "{1: 1}" {
			t.Errorf("%s: vclock %s", target.String(), res.VClock)
		}
		if target.HasVClock != (res.Stop == nil) {
			t.Errorf("%s: stop %+v", target.String(), res.Stop)
		}
	}
	res = mustRecover(t, RecoverOptions{Paths: []string{dir}, Target: Target{HasLSN: true, Replica: 1, LSN: 4}})
	wantKeys(t, res.State, 600, 1, 2, 3, 4)
	if res.Stop == nil || res.Stop.LSN != 5 || res.Stop.Reason != "lsn" {
		t.Errorf("stop %+v", res.Stop)
	}
}

// TestRecoverReplicas: a vclock target bounds each replica's rows on its
// own; an LSN target stops everything.
func TestRecoverReplicas(t *testing.T) {
	dir := t.TempDir()
	st := synthState(t)
	writeSnap(t, dir, st, vc(1, 0, 2, 0))
	local := ins(t, 0, 1, 600, uint64(100), "local")
	local.h.GroupID = box.GroupLocal
	writeXlog(t, dir, vc(1, 0, 2, 0),
		ins(t, 1, 1, 600, uint64(1), "r1-1"),
		ins(t, 2, 1, 600, uint64(2), "r2-1"),
		ins(t, 2, 2, 600, uint64(3), "r2-2"),
		local,
		ins(t, 1, 2, 600, uint64(4), "r1-2"),
		ins(t, 2, 3, 600, uint64(5), "r2-3"),
	)
	res := mustRecover(t, RecoverOptions{Paths: []string{dir}, Target: Target{HasVClock: true, VClock: vc(1, 2, 2, 1)}})
	// The local row follows r2-2, beyond the target: left out too.
	wantKeys(t, res.State, 600, 1, 2, 4)
	if res.VClock.String() != "{1: 2, 2: 1}" || res.Stop != nil {
		t.Errorf("vclock %s stop %+v", res.VClock, res.Stop)
	}
	res = mustRecover(t, RecoverOptions{Paths: []string{dir}, Target: Target{HasVClock: true, VClock: vc(0, 1, 1, 2, 2, 1)}})
	wantKeys(t, res.State, 600, 1, 2, 4, 100)
	res = mustRecover(t, RecoverOptions{Paths: []string{dir}, Target: Target{HasLSN: true, Replica: 2, LSN: 1}})
	wantKeys(t, res.State, 600, 1, 2)
	res = mustRecover(t, RecoverOptions{Paths: []string{dir}})
	wantKeys(t, res.State, 600, 1, 2, 3, 4, 5, 100)
	if res.VClock.String() != "{0: 1, 1: 2, 2: 3}" {
		t.Errorf("vclock %s", res.VClock)
	}
}

// TestRecoverSynchro: the queue state restored from a snapshot PROMOTE,
// CONFIRM, ROLLBACK and PROMOTE in the xlog.
func TestRecoverSynchro(t *testing.T) {
	dir := t.TempDir()
	st := synthState(t)
	snap := writeSnap(t, dir, st, vc(1, 10, 2, 5))
	// Add the snapshot PROMOTE (2.10+ form): owner 1, confirmed 10, term 3.
	appendRows(t, snap, xrow{h: format.Header{Type: box.TypePromote},
		body: format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: 10, Term: 3, HasTerm: true})})
	sync := func(r uint32, lsn uint64, key uint64) xrow {
		x := ins(t, r, lsn, 601, key)
		x.h.Flags = box.FlagWaitSync | box.FlagWaitAck
		return x
	}
	writeXlog(t, dir, vc(1, 10, 2, 5),
		sync(1, 11, 1),
		ins(t, 1, 12, 600, uint64(1), "queued behind 11"),
		synchroRow(box.TypeConfirm, 2, 6, 2, 11), // not the owner: ignored
		synchroRow(box.TypeConfirm, 1, 13, 1, 11),
		sync(1, 14, 2),
		ins(t, 1, 15, 600, uint64(2), "queued behind 14"),
		synchroRow(box.TypeRollback, 1, 16, 1, 14),
		sync(1, 17, 3),
		// Replica 2 takes the queue over: 17 is above its LSN, rolled back.
		synchroRow(box.TypePromote, 2, 7, 1, 16),
		sync(2, 8, 4),
	)
	res := mustRecover(t, RecoverOptions{Paths: []string{dir}})
	wantKeys(t, res.State, 601, 1)
	wantKeys(t, res.State, 600, 1)
	c := res.Counts
	if c.RolledBack != 3 || c.Pending != 1 || res.Queue.Owner != 2 || res.Queue.Term != 3 {
		t.Errorf("rolled back %d pending %d queue %+v", c.RolledBack, c.Pending, res.Queue)
	}
	res = mustRecover(t, RecoverOptions{Paths: []string{dir}, IncludePending: true})
	wantKeys(t, res.State, 601, 1, 4)
	if res.Counts.PendingApplied != 1 {
		t.Errorf("pending applied %d", res.Counts.PendingApplied)
	}
	// A stop point between a transaction and its CONFIRM leaves it
	// pending.
	res = mustRecover(t, RecoverOptions{Paths: []string{dir}, Target: Target{HasLSN: true, Replica: 1, LSN: 12}})
	wantKeys(t, res.State, 601)
	wantKeys(t, res.State, 600)
	if res.Counts.Pending != 2 {
		t.Errorf("pending %d", res.Counts.Pending)
	}
}

// appendRows rewrites a snapshot with extra rows at its end.
func appendRows(t *testing.T, path string, extra ...xrow) {
	t.Helper()
	r, err := format.Open(path, format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var rows []xrow
	for {
		row, err := r.Next()
		if err != nil {
			break
		}
		c := row.Clone()
		rows = append(rows, xrow{h: c.Header, body: c.Body})
	}
	meta := *r.Meta()
	r.Close()
	rows = append(rows, extra...)
	os.Remove(path)
	w, err := format.Create(filepath.Dir(path), &meta, format.WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range rows {
		if err := w.Write(&x.h, x.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRecoverDamage: without Force, replay stops at damage; with it,
// it goes on past the damaged block.
func TestRecoverDamage(t *testing.T) {
	dir := t.TempDir()
	st := synthState(t)
	writeSnap(t, dir, st, vc(1, 0))
	path := writeXlog(t, dir, vc(1, 0), ins(t, 1, 1, 600, uint64(1), "a"))
	// Two more blocks, the first of them damaged.
	b := blockOf(t, ins(t, 1, 2, 600, uint64(2), "b"))
	b[len(b)-1] ^= 0xff
	c := blockOf(t, ins(t, 1, 3, 600, uint64(3), "c"))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = append(append(append(data[:len(data)-4], b...), c...), format.MagicEOF[:]...)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := mustRecover(t, RecoverOptions{Paths: []string{dir}})
	wantKeys(t, res.State, 600, 1)
	if got := findingKinds(res); got != "damage" || res.Stop == nil || res.Stop.Reason != "damage" {
		t.Fatalf("findings %s stop %+v", got, res.Stop)
	}
	res = mustRecover(t, RecoverOptions{Paths: []string{dir}, Force: true})
	wantKeys(t, res.State, 600, 1, 3)
	if got := findingKinds(res); got != "damage" || res.Stop != nil {
		t.Fatalf("findings %s stop %+v", got, res.Stop)
	}
}

// blockOf encodes rows as one plain block.
func blockOf(t *testing.T, rows ...xrow) []byte {
	t.Helper()
	var buf strings.Builder
	w, err := format.NewWriter(&buf, &format.Meta{FileType: format.TypeXLOG}, format.WriterOptions{NoCompress: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(&r.h, r.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	return []byte(s[strings.Index(s, "\n\n")+2:])
}

// TestRecoverSnapshotChoice: the newest snapshot at or before the
// target, an explicit one, or none.
func TestRecoverSnapshotChoice(t *testing.T) {
	dir := t.TempDir()
	st := synthState(t)
	first := writeSnap(t, dir, st, vc(1, 0))
	writeXlog(t, dir, vc(1, 0), ins(t, 1, 1, 600, uint64(1), "a"), ins(t, 1, 2, 600, uint64(2), "b"))
	mustApply(t, st, insert(600, uint64(1), "a"), insert(600, uint64(2), "b"))
	second := writeSnap(t, dir, st, vc(1, 2))
	writeXlog(t, dir, vc(1, 2), ins(t, 1, 3, 600, uint64(3), "c"))

	res := mustRecover(t, RecoverOptions{Paths: []string{dir}})
	if res.Snapshot != second || res.Counts.XlogRows != 1 {
		t.Errorf("started from %s, %d xlog rows", res.Snapshot, res.Counts.XlogRows)
	}
	wantKeys(t, res.State, 600, 1, 2, 3)
	res = mustRecover(t, RecoverOptions{Paths: []string{dir}, Target: Target{HasLSN: true, Replica: 1, LSN: 1}})
	if res.Snapshot != first {
		t.Errorf("started from %s", res.Snapshot)
	}
	wantKeys(t, res.State, 600, 1)
	res = mustRecover(t, RecoverOptions{Paths: []string{dir}, FromSnap: first})
	wantKeys(t, res.State, 600, 1, 2, 3)
	// The same directory named twice, and the xlogs in another one.
	other := t.TempDir()
	for _, name := range []string{"00000000000000000000.xlog", "00000000000000000002.xlog"} {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(other, name)); err != nil {
			t.Fatal(err)
		}
	}
	res = mustRecover(t, RecoverOptions{Paths: []string{dir, other, dir}, FromSnap: first})
	wantKeys(t, res.State, 600, 1, 2, 3)
	noFindings(t, res)

	_, err := Recover(context.Background(), RecoverOptions{Paths: []string{other}})
	if err == nil || !strings.Contains(err.Error(), "no .snap") {
		t.Errorf("no snapshot: %v", err)
	}
	_, err = Recover(context.Background(), RecoverOptions{Paths: []string{second}, Target: Target{HasLSN: true, Replica: 1, LSN: 1}})
	if err == nil || !strings.Contains(err.Error(), "beyond the target") {
		t.Errorf("all beyond: %v", err)
	}
}

// TestDeferredSecondaryKeys: tuples inserted while secondary keys wait
// end up in the same indexes as without waiting; conflicts are found
// when the keys are built.
func TestDeferredSecondaryKeys(t *testing.T) {
	build := func(deferKeys bool) (*memtx.State, []*memtx.ApplyError) {
		st := synthState(t)
		if deferKeys {
			st.DeferSecondaryKeys()
		}
		for i := 0; i < 100000; i++ {
			_ = st.Apply(insert(600, uint64((i*7919)%100000), "k"+itoa(uint32(i))))
		}
		if !deferKeys {
			return st, nil
		}
		return st, st.BuildSecondaryKeys()
	}
	a, errs := build(true)
	b, _ := build(false)
	if len(errs) != 0 {
		t.Fatal(errs[0])
	}
	var x, y []memtx.Tuple
	a.Space(600).Index(1).Ascend(func(t memtx.Tuple) bool { x = append(x, t.Clone()); return true })
	b.Space(600).Index(1).Ascend(func(t memtx.Tuple) bool { y = append(y, t.Clone()); return true })
	if len(x) != len(y) || len(x) != 100000 {
		t.Fatalf("%d and %d tuples in the secondary index", len(x), len(y))
	}
	for i := range x {
		if !bytes.Equal(x[i], y[i]) {
			t.Fatalf("tuple %d: %s and %s", i, show(x[i]), show(y[i]))
		}
	}
	// An UPDATE by the secondary key while keys wait builds them first.
	st := synthState(t)
	st.DeferSecondaryKeys()
	mustApply(t, st, insert(600, uint64(1), "x"), insert(600, uint64(2), "y"))
	mustApply(t, st, memtx.Request{Type: box.TypeUpdate, SpaceID: 600, IndexID: 1, IndexBase: 1, Key: []any{"y"}, Ops: []any{[]any{"=", uint64(2), "z"}}})
	mustApply(t, st, insert(600, uint64(3), "y"))
	if errs := st.BuildSecondaryKeys(); len(errs) != 0 {
		t.Fatal(errs[0])
	}
	wantKeys(t, st, 600, 1, 2, 3)
	// A conflict.
	st = synthState(t)
	st.DeferSecondaryKeys()
	mustApply(t, st, insert(600, uint64(1), "x"), insert(600, uint64(2), "x"))
	errs = st.BuildSecondaryKeys()
	if len(errs) != 1 || errs[0].Code != box.ErrTupleFound || errs[0].SpaceID != 600 {
		t.Fatalf("errors %v", errs)
	}
	if err := st.Apply(memtx.Request{Type: box.TypeDelete, SpaceID: 600, IndexID: 1, Key: []any{"x"}}); err != nil {
		t.Fatal(err)
	}
}

// TestRecoverCancel: a canceled context ends the replay with its error
// and leaves no goroutine behind.
func TestRecoverCancel(t *testing.T) {
	dir := t.TempDir()
	st := synthState(t)
	for i := 0; i < 20000; i++ {
		mustApply(t, st, insert(600, uint64(i), "k"+itoa(uint32(i))))
	}
	writeSnap(t, dir, st, vc(1, 0))
	var rows []xrow
	for i := 1; i <= 20000; i++ {
		rows = append(rows, ins(t, 1, uint64(i), 600, uint64(100000+i), "x"+itoa(uint32(i))))
	}
	writeXlog(t, dir, vc(1, 0), rows...)
	before := runtime.NumGoroutine()
	for _, after := range []int{0, 100, 25000} {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		_, err := Recover(ctx, RecoverOptions{Paths: []string{dir}, Progress: func(done, total int64) {
			if n++; n > after/16384 {
				cancel()
			}
		}})
		if after == 0 {
			cancel()
		}
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel after %d: %v", after, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Recover(ctx, RecoverOptions{Paths: []string{dir}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	for i := 0; i < 100 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left (%d before)", n, before)
	}
}

// TestDeferredKeyKinds: secondary keys of mixed types, of two parts and
// with nil parts are built as the state maintains them row by row.
func TestDeferredKeyKinds(t *testing.T) {
	schema := func() *memtx.State {
		st := memtx.NewState()
		mustApply(t, st,
			insert(box.SpaceSpace, spaceRow(700, "mixed")...),
			insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "unsigned"))...),
			insert(box.SpaceIndex, indexRow(700, 1, "sk", true, part(1, "scalar"))...),
			insert(box.SpaceSpace, spaceRow(701, "two")...),
			insert(box.SpaceIndex, indexRow(701, 0, "pk", true, part(0, "unsigned"))...),
			insert(box.SpaceIndex, indexRow(701, 1, "sk", true, part(1, "string"), part(2, "unsigned"))...),
			insert(box.SpaceSpace, spaceRow(702, "nulls")...),
			insert(box.SpaceIndex, indexRow(702, 0, "pk", true, part(0, "unsigned"))...),
			insert(box.SpaceIndex, indexRow(702, 1, "sk", true, part(1, "unsigned", memtx.MapEntry{Key: "is_nullable", Value: true}))...),
			insert(box.SpaceSpace, spaceRow(703, "uints")...),
			insert(box.SpaceIndex, indexRow(703, 0, "pk", true, part(0, "unsigned"))...),
			insert(box.SpaceIndex, indexRow(703, 1, "sk", true, part(1, "unsigned"))...),
		)
		return st
	}
	var reqs []memtx.Request
	for i := 0; i < 3000; i++ {
		var v any = uint64(i * 3 % 1000)
		if i%2 == 0 {
			v = "s" + itoa(uint32(i%1500))
		}
		reqs = append(reqs, insert(700, uint64(i), v))
		reqs = append(reqs, insert(701, uint64(i), "k"+itoa(uint32(i%4)), uint64(i%500)))
		var n any
		if i%3 != 0 {
			n = uint64(i % 1200)
		}
		reqs = append(reqs, insert(702, uint64(i), n))
		reqs = append(reqs, insert(703, uint64(i), uint64(i*7%2000)))
	}
	rowByRow, deferred := schema(), schema()
	want := map[uint32]int{}
	for _, r := range reqs {
		if codeOf(rowByRow.Apply(r)) == box.ErrTupleFound {
			want[r.SpaceID]++
		}
	}
	deferred.DeferSecondaryKeys()
	for _, r := range reqs {
		if err := deferred.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	got := map[uint32]int{}
	for _, e := range deferred.BuildSecondaryKeys() {
		got[e.SpaceID]++
	}
	for _, id := range []uint32{700, 701, 702, 703} {
		if got[id] != want[id] {
			t.Errorf("space %d: %d conflicts, row by row %d", id, got[id], want[id])
		}
		if want[id] == 0 && id != 702 {
			t.Errorf("space %d: the test wants conflicts", id)
		}
		var a, b []memtx.Tuple
		rowByRow.Space(id).Index(1).Ascend(func(t memtx.Tuple) bool { a = append(a, t.Clone()); return true })
		deferred.Space(id).Index(1).Ascend(func(t memtx.Tuple) bool { b = append(b, t.Clone()); return true })
		// The tuples differ (the first one in the log wins row by row,
		// the first in primary-key order when keys are built); the keys
		// held are the same.
		if len(a) != len(b) {
			t.Errorf("space %d: %d tuples in the secondary index, row by row %d", id, len(b), len(a))
			continue
		}
		ix := rowByRow.Space(id).Index(1)
		for i := range a {
			if ix.CompareTuples(a[i], b[i]) != 0 {
				t.Errorf("space %d: key %d: %s, row by row %s", id, i, show(b[i]), show(a[i]))
				break
			}
		}
	}
}

// TestRecoverOtherInstance: an xlog of another instance is left out.
func TestRecoverOtherInstance(t *testing.T) {
	dir := t.TempDir()
	writeSnap(t, dir, synthState(t), vc(1, 0))
	writeXlog(t, dir, vc(1, 0), ins(t, 1, 1, 600, uint64(1), "a"))
	w, err := format.Create(dir, &format.Meta{FileType: format.TypeXLOG, Instance: "11111111-2222-4333-8444-555555555555",
		VClock: vc(1, 1), HasVClock: true}, format.WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	x := ins(t, 1, 2, 600, uint64(2), "b")
	if err := w.Write(&x.h, x.body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res := mustRecover(t, RecoverOptions{Paths: []string{dir}})
	wantKeys(t, res.State, 600, 1)
	if got := findingKinds(res); got != "file" || len(res.Xlogs) != 1 {
		t.Errorf("findings %s, xlogs %v", got, res.Xlogs)
	}
}

// TestRecoverTransactionsAcrossBatches: transactions of many rows, most
// of them spanning the batches rows are read in (the longest many more
// than the pipeline holds), keep the tuples of their rows until their
// last row is read, while the batches are reused.
func TestRecoverTransactionsAcrossBatches(t *testing.T) {
	dir := t.TempDir()
	writeSnap(t, dir, synthState(t), vc(1, 0))
	var rows []xrow
	lsn := uint64(0)
	want := map[uint64]string{}
	for tx := range 12 {
		var rs []xrow
		for i := range 97 + tx*tx*tx*3 {
			lsn++
			name := fmt.Sprintf("tuple %d of transaction %d, row %d", lsn, tx, i)
			rs = append(rs, ins(t, 1, lsn, 600, lsn, name))
			want[lsn] = name
		}
		rows = append(rows, txn(rs...)...)
	}
	writeXlog(t, dir, vc(1, 0), rows...)
	res := mustRecover(t, RecoverOptions{Paths: []string{dir}})
	if res.HasErrors() {
		t.Fatal(findingKinds(res))
	}
	n := 0
	res.State.Space(600).Ascend(func(tu []any) bool {
		if k := tu[0].(uint64); tu[1] != want[k] {
			t.Fatalf("key %d: %v, want %q", k, tu[1], want[k])
		}
		n++
		return true
	})
	if n != len(want) {
		t.Errorf("%d tuples, want %d", n, len(want))
	}
}
