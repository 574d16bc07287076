package play_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/play"
)

func TestRanges(t *testing.T) {
	var r play.Ranges
	for _, x := range []uint64{5, 6, 7, 10, 3, 9, 1, 2, 4, 20} {
		r.Add(x)
	}
	if got := fmt.Sprint(r); got != "[[1 7] [9 10] [20 20]]" {
		t.Errorf("ranges %s", got)
	}
	r.Add(8)
	r.Add(8)
	if got := fmt.Sprint(r); got != "[[1 10] [20 20]]" {
		t.Errorf("ranges %s", got)
	}
	for x, want := range map[uint64]bool{0: false, 1: true, 10: true, 11: false, 19: false, 20: true, 21: false} {
		if r.Contains(x) != want {
			t.Errorf("Contains(%d) = %v", x, !want)
		}
	}
	r.DropUpTo(4)
	if got := fmt.Sprint(r); got != "[[5 10] [20 20]]" {
		t.Errorf("after DropUpTo(4): %s", got)
	}
	r.DropUpTo(20)
	if len(r) != 0 {
		t.Errorf("after DropUpTo(20): %v", r)
	}
}

func synchroBody(t *testing.T, owner uint32, lsn uint64) []byte {
	b, err := msgpack.Marshal(map[uint64]uint64{box.KeySynchroReplicaID: uint64(owner), box.KeySynchroLSN: lsn})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dryRun plays files without a server and returns the LSNs printed.
func dryRun(t *testing.T, opts play.Options, files ...string) ([]uint64, play.Summary) {
	t.Helper()
	var lsns []uint64
	opts.DryRun = true
	opts.Print = func(file string, r *format.Row) error {
		lsns = append(lsns, r.LSN)
		return nil
	}
	p, err := play.New(nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	var refs []format.FileRef
	for _, f := range files {
		refs = append(refs, format.FileRef{Path: f})
	}
	sum, err := p.Play(context.Background(), refs)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	return lsns, sum
}

// TestSyncSpaceOption: logs of 2.6.0 and older do not flag synchronous
// transactions; without the _space rows, --sync-space tells.
func TestSyncSpaceOption(t *testing.T) {
	path, _ := writeLog(t, []logTx{
		{ins(600, 1)}, // a synchronous space: rolled back by the ROLLBACK after it
		{ins(601, 2)}, // an asynchronous one, after the queue has emptied
	}, map[int][]format.Header{0: {{Type: box.TypeRollback}}}, map[int][][]byte{0: {synchroBody(t, 1, 1)}})

	lsns, _ := dryRun(t, play.Options{}, path)
	if fmt.Sprint(lsns) != "[1 3]" {
		t.Errorf("without --sync-space: rows %v, want [1 3]", lsns)
	}
	lsns, sum := dryRun(t, play.Options{SyncSpaces: []uint32{600}}, path)
	if fmt.Sprint(lsns) != "[3]" || sum.TxRolledBack != 1 || sum.NotSent[box.TypeRollback] != 1 {
		t.Errorf("with --sync-space 600: rows %v, summary %+v", lsns, sum)
	}
}

// TestSyncSpaceLearnt: the is_sync option of a _space row in the files.
func TestSyncSpaceLearnt(t *testing.T) {
	space := func(id uint32, opts map[string]any) logRow {
		return rep(280, id, 1, "s", "memtx", 0, opts, []any{})
	}
	path, _ := writeLog(t, []logTx{
		{space(600, map[string]any{"is_sync": true})},
		{ins(600, 1)}, // rolled back
		{space(600, map[string]any{})},
		{ins(600, 2)}, // asynchronous now: committed at once, and the ROLLBACK after it ignored
	}, map[int][]format.Header{1: {{Type: box.TypeRollback}}, 3: {{Type: box.TypeRollback}}},
		map[int][][]byte{1: {synchroBody(t, 1, 2)}, 3: {synchroBody(t, 1, 5)}})
	lsns, sum := dryRun(t, play.Options{}, path)
	if fmt.Sprint(lsns) != "[5]" || sum.TxRolledBack != 1 || sum.RowsFiltered != 2 {
		t.Errorf("rows %v, summary %+v; want [5], 1 rolled back, 2 system rows filtered", lsns, sum)
	}
	flt := format.NewFilter()
	lsns, _ = dryRun(t, play.Options{Filter: &flt}, path)
	if fmt.Sprint(lsns) != "[1 4 5]" {
		t.Errorf("with system spaces: rows %v, want [1 4 5]", lsns)
	}

	// 2.6 has no space:alter: is_sync is set with an UPDATE of _space.
	update := func(id uint32, base int, field int, opts map[string]any) logRow {
		return logRow{typ: box.TypeUpdate, body: map[uint64]any{
			box.KeySpaceID: uint32(280), box.KeyIndexBase: uint32(base), box.KeyKey: []any{id},
			box.KeyTuple: []any{[]any{"=", field, opts}},
		}}
	}
	path, _ = writeLog(t, []logTx{
		{space(600, map[string]any{})},
		{update(600, 1, 6, map[string]any{"is_sync": true})},
		{ins(600, 1)}, // rolled back
		{update(600, 0, 5, map[string]any{"is_sync": false})},
		{ins(600, 2)},
	}, map[int][]format.Header{2: {{Type: box.TypeRollback}}}, map[int][][]byte{2: {synchroBody(t, 1, 3)}})
	lsns, sum = dryRun(t, play.Options{}, path)
	if fmt.Sprint(lsns) != "[6]" || sum.TxRolledBack != 1 {
		t.Errorf("after UPDATEs of _space: rows %v, summary %+v; want [6], 1 rolled back", lsns, sum)
	}
}

// TestPendingAndIncomplete: transactions without a fate, or without their
// last row, are not played.
func TestPendingAndIncomplete(t *testing.T) {
	path, _ := writeLog(t, []logTx{{ins(600, 1)}, {ins(512, 2)}}, nil, nil)
	lsns, sum := dryRun(t, play.Options{SyncSpaces: []uint32{600}}, path)
	if len(lsns) != 0 || sum.TxPending != 2 {
		t.Errorf("rows %v, %d pending; want none, 2", lsns, sum.TxPending)
	}

	// A transaction cut short: its last row is missing.
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, HasVClock: true}
	dir := t.TempDir()
	w, err := format.Create(dir, m, format.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := msgpack.Marshal(map[uint64]any{box.KeySpaceID: uint32(512), box.KeyTuple: []any{1}})
	w.Write(&format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: 1, TSN: 1, Commit: true}, body)
	w.Write(&format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: 2, TSN: 2}, body)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lsns, sum = dryRun(t, play.Options{}, w.Path())
	if fmt.Sprint(lsns) != "[1]" || sum.TxIncomplete != 1 {
		t.Errorf("rows %v, %d incomplete; want [1], 1", lsns, sum.TxIncomplete)
	}
}

// TestDamageStops: without Force, play stops at damage; the rows before it
// are played.
func TestDamageStops(t *testing.T) {
	path, _ := writeLog(t, []logTx{{ins(512, 1)}, {ins(512, 2)}, {ins(512, 3)}}, nil, nil)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Break the CRC of the last block: its payload ends 4 bytes (EOF
	// marker) from the end.
	b[len(b)-5] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var lsns []uint64
	p, _ := play.New(nil, play.Options{DryRun: true, Print: func(_ string, r *format.Row) error {
		lsns = append(lsns, r.LSN)
		return nil
	}})
	_, err = p.Play(context.Background(), []format.FileRef{{Path: path}})
	var re *play.ReadError
	if !asReadError(err, &re) || fmt.Sprint(lsns) != "[1 2]" {
		t.Errorf("play: %v, rows %v; want a ReadError after [1 2]", err, lsns)
	}
	var issues int
	p, _ = play.New(nil, play.Options{DryRun: true, Force: true, OnIssue: func(*format.Error) { issues++ }})
	if _, err := p.Play(context.Background(), []format.FileRef{{Path: path}}); err != nil || issues == 0 {
		t.Errorf("with Force: %v, %d issues", err, issues)
	}
}

func asReadError(err error, re **play.ReadError) bool {
	e, ok := err.(*play.ReadError)
	*re = e
	return ok
}

// TestStateFile: the state is written atomically and read back; a damaged
// file is an error.
func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	st, err := play.ReadState(path)
	if err != nil || !st.VClock.IsEmpty() {
		t.Fatalf("missing state file: %+v, %v", st, err)
	}
	st.VClock.Set(1, 41)
	st.Applied = map[string]play.Ranges{"1": {{43, 50}}}
	if err := play.WriteState(path, st); err != nil {
		t.Fatal(err)
	}
	back, err := play.ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.VClock.String() != "{1: 41}" || !back.AppliedRow(1, 45) || back.AppliedRow(1, 42) ||
		!back.Covered(1, 41) || back.Covered(1, 42) {
		t.Errorf("read back %+v", back)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d files, want only the state", len(ents))
	}
	os.WriteFile(path, []byte("{"), 0o644)
	if _, err := play.ReadState(path); err == nil {
		t.Error("a damaged state file was accepted")
	}
	os.WriteFile(path, []byte(`{"version": 99}`), 0o644)
	if _, err := play.ReadState(path); err == nil {
		t.Error("a state file of another version was accepted")
	}
}

// TestHeadlessSkipped: gh_7932's bad_xlog holds a transaction whose first
// row is missing; it is not applied (Tarantool 2.10+ refuses such logs),
// while the intact transaction interleaved with it is.
func TestHeadlessSkipped(t *testing.T) {
	path := filepath.Join(testfix.Dir(t), "tarantool/test/replication-luatest/gh_7932_data/bad_xlog/00000000000000000000.xlog")
	lsns, sum := dryRun(t, play.Options{}, path)
	if sum.TxHeadless != 1 || fmt.Sprint(lsns) != "[1 2 3]" {
		t.Fatalf("headless %d, played %v", sum.TxHeadless, lsns)
	}
}
