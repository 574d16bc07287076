package verify_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/verify"
)

// One test per finding kind, on logs written with format's writer.

const (
	v260  = "2.6.0-0-g47aa4e01e"
	v2111 = "2.11.1-0-g96877bd"
	v350  = "3.5.0-0-g1a2b3c4"
	v363  = "3.6.3-0-g1a2b3c4"
)

// fresh starts an instance with replica id id (of n) at an empty vclock:
// bootstrap snapshot with _cluster and the spaces, then an xlog.
func fresh(t *testing.T, name string, id, n int, version string) *walBuilder {
	b := newWAL(t, filepath.Join(t.TempDir(), name), uuidOf(id), version)
	cluster := map[uint32]string{}
	for i := 1; i <= n; i++ {
		cluster[uint32(i)] = uuidOf(i)
	}
	var promote *format.Synchro
	if version != v260 {
		promote = &format.Synchro{}
	}
	b.snapshot(cluster, &format.Raft{Term: 1}, promote)
	b.xlog()
	return b
}

// TestCleanLog: a healthy log of every row kind has no findings at all.
func TestCleanLog(t *testing.T) {
	b := fresh(t, "i1", 1, 1, v2111)
	b.raft(2, 1)
	b.promote(1, 0, 0, 2)
	for i := 0; i < 5; i++ {
		s := b.sync(1)
		b.async(1)
		b.confirm(1, 1, s)
	}
	b.tx(1, asyncSpace, 3, 0)
	b.xlog()
	s1 := b.sync(1)
	b.tx(1, syncSpace, 2, box.FlagWaitSync|box.FlagWaitAck|box.FlagCommit)
	b.rollback(1, 1, s1)
	b.raft(3, 0)
	b.raft(3, 1)
	rep := verifyDirs(t, b.done())
	wantClean(t, rep)
	s := rep.Instances[0].Sync
	if s.Confirmed != 5 || s.RolledBack != 2 || s.Pending != 0 || s.Async != 6 {
		t.Fatalf("sync counts %+v", s)
	}
	if q := rep.Instances[0].Queue; q.Owner != 1 || q.Term != 2 || rep.Instances[0].Raft.Term != 3 || rep.Instances[0].Raft.Vote != 1 {
		t.Fatalf("queue %+v raft %+v", q, rep.Instances[0].Raft)
	}
	if rep.Instances[0].ReplicaID != 1 {
		t.Fatalf("replica id %d", rep.Instances[0].ReplicaID)
	}
}

func threeBlocks(t *testing.T) (*walBuilder, string) {
	b := fresh(t, "i1", 1, 1, v2111)
	for i := 0; i < 4; i++ {
		b.async(1)
	}
	path := b.files[len(b.files)-1]
	b.xlog()
	b.async(1)
	return b, path
}

func TestCRCMismatch(t *testing.T) {
	b, path := threeBlocks(t)
	dir := b.done()
	offs := blockOffsets(t, path)
	patchFile(t, path, func(d []byte) []byte { d[offs[1]+format.FixHeaderSize+2] ^= 0xff; return d })
	rep := verifyDirs(t, dir)
	f := want1(t, rep, verify.KindCRCMismatch, verify.Error)
	if f.Offset != offs[1] || f.File != path {
		t.Fatalf("at %s@%d, want %s@%d", f.File, f.Offset, path, offs[1])
	}
	g := want1(t, rep, verify.KindLSNGap, verify.Error)
	if g.ReplicaID != 1 || g.LSNFrom != 2 || g.LSNTo != 2 {
		t.Fatalf("lost rows %d:%d-%d, want 1:2-2:\n%s", g.ReplicaID, g.LSNFrom, g.LSNTo, reportText(rep))
	}
	if !rep.HasErrors() {
		t.Fatal("no errors")
	}
}

func TestTornTailNewest(t *testing.T) {
	b, _ := threeBlocks(t)
	b.async(1)
	dir := b.done()
	last := b.files[len(b.files)-1]
	offs := blockOffsets(t, last)
	patchFile(t, last, func(d []byte) []byte { return d[:offs[len(offs)-1]+25] })
	rep := verifyDirs(t, dir)
	want1(t, rep, verify.KindTornTail, verify.Warning)
	if rep.HasErrors() {
		t.Fatalf("a torn newest file is not an error:\n%s", reportText(rep))
	}
}

func TestTornTailOlder(t *testing.T) {
	b, path := threeBlocks(t)
	dir := b.done()
	offs := blockOffsets(t, path)
	patchFile(t, path, func(d []byte) []byte { return d[:offs[3]+25] })
	rep := verifyDirs(t, dir)
	f := want1(t, rep, verify.KindTornTail, verify.Error)
	if !strings.Contains(f.Message, "lost") {
		t.Fatalf("message %q", f.Message)
	}
	g := want1(t, rep, verify.KindLSNGap, verify.Error)
	if g.LSNFrom != 4 || g.LSNTo != 4 {
		t.Fatalf("lost rows %d-%d, want 4-4", g.LSNFrom, g.LSNTo)
	}
}

func TestMissingEOF(t *testing.T) {
	b, _ := threeBlocks(t)
	dir := b.done()
	last := b.files[len(b.files)-1]
	patchFile(t, last, func(d []byte) []byte { return d[:len(d)-4] })
	rep := verifyDirs(t, dir)
	want1(t, rep, verify.KindMissingEOF, verify.Warning)
	if rep.HasErrors() {
		t.Fatalf("errors:\n%s", reportText(rep))
	}
	// A snapshot without its EOF marker is an error: Tarantool refuses it.
	patchFile(t, b.files[0], func(d []byte) []byte { return d[:len(d)-4] })
	rep = verifyDirs(t, dir)
	var snapErr bool
	for _, f := range findings(rep, verify.KindMissingEOF) {
		snapErr = snapErr || (f.Severity == verify.Error && f.File == b.files[0])
	}
	if !snapErr {
		t.Fatalf("snapshot without EOF marker not an error:\n%s", reportText(rep))
	}
}

func TestBadHeader(t *testing.T) {
	b, path := threeBlocks(t)
	dir := b.done()
	offs := blockOffsets(t, path)
	patchFile(t, path, func(d []byte) []byte { d[offs[2]] = 0x00; return d })
	rep := verifyDirs(t, dir)
	f := want1(t, rep, verify.KindBadHeader, verify.Error)
	if f.Offset != offs[2] {
		t.Fatalf("offset %d, want %d", f.Offset, offs[2])
	}
	// A broken text header makes the file unreadable.
	b2, _ := threeBlocks(t)
	dir2 := b2.done()
	patchFile(t, b2.files[1], func(d []byte) []byte { return bytes.Replace(d, []byte("0.13"), []byte("0.07"), 1) })
	rep = verifyDirs(t, dir2)
	f = want1(t, rep, verify.KindBadHeader, verify.Error)
	if f.File != b2.files[1] {
		t.Fatalf("file %s", f.File)
	}
}

func TestTrailingGarbage(t *testing.T) {
	b, _ := threeBlocks(t)
	dir := b.done()
	last := b.files[len(b.files)-1]
	patchFile(t, last, func(d []byte) []byte { return append(d, "garbage after the end"...) })
	rep := verifyDirs(t, dir)
	want1(t, rep, verify.KindTrailingGarbage, verify.Error)
	// Zeroes after the last block, no EOF marker.
	patchFile(t, last, func(d []byte) []byte {
		d = d[:len(d)-len("garbage after the end")-4]
		return append(d, make([]byte, 40)...)
	})
	rep = verifyDirs(t, dir)
	want1(t, rep, verify.KindTrailingGarbage, verify.Error)
}

func TestLSNGapMissingFile(t *testing.T) {
	b := fresh(t, "i1", 1, 1, v2111)
	b.async(1)
	b.xlog()
	b.async(1)
	b.async(1)
	middle := b.files[len(b.files)-1]
	b.xlog()
	b.async(1)
	dir := b.done()
	if err := os.Remove(middle); err != nil {
		t.Fatal(err)
	}
	rep := verifyDirs(t, dir)
	f := want1(t, rep, verify.KindLSNGap, verify.Error)
	if f.ReplicaID != 1 || f.LSNFrom != 2 || f.LSNTo != 3 || !strings.Contains(f.Message, "PrevVClock") {
		t.Fatalf("gap %d:%d-%d %q", f.ReplicaID, f.LSNFrom, f.LSNTo, f.Message)
	}
}

func TestLSNGapInsideFileIsWarning(t *testing.T) {
	b := fresh(t, "i1", 1, 2, v2111)
	b.async(1)
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 7, TSN: 7, Commit: true}, dmlBody(asyncSpace, 7, "x"))
	rep := verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindLSNGap, verify.Warning)
	if f.LSNFrom != 1 || f.LSNTo != 6 {
		t.Fatalf("range %d-%d", f.LSNFrom, f.LSNTo)
	}
}

func TestLSNOrder(t *testing.T) {
	b := fresh(t, "i1", 1, 1, v2111)
	b.async(1)
	b.async(1)
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: 2, TSN: 2, Commit: true}, dmlBody(asyncSpace, 2, "again"))
	b.async(1)
	rep := verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindLSNOrder, verify.Error)
	if f.LSNFrom != 2 || len(f.Evidence) != 1 || !strings.Contains(string(f.Evidence[0].Row), `"again"`) {
		t.Fatalf("%+v", f)
	}
}

func TestBrokenTx(t *testing.T) {
	b := fresh(t, "i1", 1, 1, v2111)
	b.async(1)
	// Rows 3 and 4 of a transaction whose first row (lsn 2) is absent.
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: 3, TSN: 2}, dmlBody(asyncSpace, 3, "x"))
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: 4, TSN: 2, Commit: true}, dmlBody(asyncSpace, 4, "x"))
	rep := verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindBrokenTx, verify.Error)
	if f.LSNFrom != 2 || f.LSNTo != 3 {
		t.Fatalf("range %d-%d", f.LSNFrom, f.LSNTo)
	}
	wantNone(t, rep, verify.KindIncompleteTx)
}

func TestIncompleteTx(t *testing.T) {
	b := fresh(t, "i1", 1, 1, v2111)
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: 1, TSN: 1}, dmlBody(asyncSpace, 1, "x"))
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: 2, TSN: 1}, dmlBody(asyncSpace, 2, "x"))
	// A new transaction of the same replica before the commit row.
	b.async(1)
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: 4, TSN: 4}, dmlBody(asyncSpace, 4, "x"))
	rep := verifyDirs(t, b.done())
	fs := findings(rep, verify.KindIncompleteTx)
	if len(fs) != 2 {
		t.Fatalf("%d incomplete-tx, want 2:\n%s", len(fs), reportText(rep))
	}
	if fs[0].LSNFrom != 1 || fs[0].LSNTo != 2 || fs[1].LSNFrom != 4 {
		t.Fatalf("ranges %d-%d, %d", fs[0].LSNFrom, fs[0].LSNTo, fs[1].LSNFrom)
	}
}

// TestInterleavedTransactions: rows of transactions of different replica
// ids may interleave (gh-7932), including local rows of a transaction.
func TestInterleavedTransactions(t *testing.T) {
	b := fresh(t, "i1", 1, 2, v2111)
	b.copyRow(format.Header{Type: box.TypeReplace, GroupID: 1, LSN: 1, TSN: 1}, dmlBody(600, 1, "local first"))
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 1, TSN: 1}, dmlBody(asyncSpace, 1, "x"))
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: 1, TSN: 1}, dmlBody(asyncSpace, 1, "x"))
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 2, TSN: 1, Commit: true}, dmlBody(asyncSpace, 2, "x"))
	b.copyRow(format.Header{Type: box.TypeReplace, GroupID: 1, LSN: 2, TSN: 1}, dmlBody(600, 2, "local"))
	b.copyRow(format.Header{Type: box.TypeNop, ReplicaID: 1, LSN: 2, TSN: 1, Commit: true}, nil)
	rep := verifyDirs(t, b.done())
	wantClean(t, rep)
}

func TestFileName(t *testing.T) {
	b, path := threeBlocks(t)
	dir := b.done()
	bad := filepath.Join(dir, "00000000000000000099.xlog")
	if err := os.Rename(path, bad); err != nil {
		t.Fatal(err)
	}
	rep := verifyDirs(t, dir)
	fs := findings(rep, verify.KindFileName)
	if len(fs) != 1 || fs[0].File != bad {
		t.Fatalf("file-name findings:\n%s", reportText(rep))
	}
}

func TestForeignFile(t *testing.T) {
	b, _ := threeBlocks(t)
	dir := b.done()
	other := newWAL(t, t.TempDir(), uuidOf(9), v2111)
	other.vc = b.vc
	other.vc.Set(1, 100)
	other.xlog()
	other.async(1)
	src := other.done()
	data, err := os.ReadFile(other.files[0])
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(other.files[0]))
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_ = src
	rep := verifyDirs(t, dir)
	f := want1(t, rep, verify.KindForeignFile, verify.Error)
	if f.File != dst {
		t.Fatalf("file %s", f.File)
	}
}

func TestSnapshotMismatch(t *testing.T) {
	b := fresh(t, "i1", 1, 1, v2111)
	b.async(1)
	b.async(1)
	b.async(1)
	dir := b.done()
	// A snapshot at {1: 2, 0: 5}: concurrent with the WAL read before it
	// ({1: 3}), and its signature puts it after the xlog.
	s := newWAL(t, dir, uuidOf(1), v2111)
	s.vc.Set(1, 2)
	s.vc.Set(0, 5)
	s.snapshot(map[uint32]string{1: uuidOf(1)}, nil, nil)
	rep := verifyDirs(t, dir)
	want1(t, rep, verify.KindSnapshot, verify.Error)
}

func TestSnapshotAheadOfWAL(t *testing.T) {
	b := fresh(t, "i1", 1, 1, v2111)
	b.async(1)
	dir := b.done()
	// The WAL between {1: 1} and the snapshot at {1: 5} is gone: the rows
	// survive only in the snapshot (a warning, nothing is lost).
	s := newWAL(t, dir, uuidOf(1), v2111)
	s.vc.Set(1, 5)
	s.snapshot(map[uint32]string{1: uuidOf(1)}, nil, &format.Synchro{})
	rep := verifyDirs(t, dir)
	f := want1(t, rep, verify.KindLSNGap, verify.Warning)
	if !strings.Contains(f.Message, "1:2-5") {
		t.Fatalf("message %q", f.Message)
	}
}

// ---- synchronous replication

// owned returns a log where replica 1 owns the queue in term 2 and has
// confirmed 1:1..1:3.
func owned(t *testing.T, version string, n int) *walBuilder {
	b := fresh(t, "i1", 1, n, version)
	b.promote(1, 0, 0, 2)
	s := b.sync(1)
	b.confirm(1, 1, s)
	return b
}

func TestForeignSynchro(t *testing.T) {
	b := owned(t, v2111, 2)
	b.sync(1)
	// Replica 2 confirms its own queue, which it does not own here.
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 1, TSN: 1, Commit: true,
		Flags: box.FlagWaitSync | box.FlagWaitAck}, dmlBody(syncSpace, 1, "x"))
	rep := verifyDirs(t, b.done())
	// Replica 2 has no PROMOTE in the queue's term: a stale transaction,
	// reported once (not also as a queue conflict).
	f := want1(t, rep, verify.KindStaleTerm, verify.Error)
	if !strings.Contains(f.Message, "NOPs") {
		t.Fatalf("message %q", f.Message)
	}
	wantNone(t, rep, verify.KindQueueConflict)

	b = owned(t, v2111, 2)
	b.confirm(2, 2, 7)
	rep = verifyDirs(t, b.done())
	f = want1(t, rep, verify.KindForeignSynchro, verify.Error)
	if f.ReplicaID != 2 || f.LSNFrom != 7 {
		t.Fatalf("%d:%d", f.ReplicaID, f.LSNFrom)
	}
}

// TestOldTermSynchroIsNotAnError reproduces Tarantool's relaxed checks
// (gh-9138): after a new owner's PROMOTE, the old owner's CONFIRM of what
// the PROMOTE confirmed, and its ROLLBACK of what the PROMOTE did not
// include, contradict nothing.
func TestOldTermSynchroIsNotAnError(t *testing.T) {
	b := owned(t, v363, 2)
	s := b.sync(1)
	b.promote(2, 1, s, 3) // replica 2 takes over, confirming 1:s
	b.confirm(1, 1, s)    // the old owner's late CONFIRM of the same txn
	rep := verifyDirs(t, b.done())
	wantClean(t, rep)

	b = owned(t, v363, 2)
	s = b.sync(1)
	b.promote(2, 1, s-1, 3) // replica 2 takes over without 1:s: rolled back
	b.rollback(1, 1, s)     // the old owner rolls it back too
	rep = verifyDirs(t, b.done())
	wantClean(t, rep)

	// But rolling back what the new owner confirmed is a split-brain.
	b = owned(t, v363, 2)
	s = b.sync(1)
	b.promote(2, 1, s, 3)
	b.rollback(1, 1, s)
	rep = verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindForeignSynchro, verify.Error)
	if !strings.Contains(f.Message, "already confirmed") {
		t.Fatalf("message %q", f.Message)
	}
}

func TestOutdatedSynchro(t *testing.T) {
	b := owned(t, v2111, 1)
	b.confirm(1, 1, 2) // 1:2 (the sync txn) is confirmed already
	rep := verifyDirs(t, b.done())
	want1(t, rep, verify.KindOutdatedSynchro, verify.Warning)
	if rep.HasErrors() {
		t.Fatalf("errors:\n%s", reportText(rep))
	}
	// Since 3.5.0/2.11.8 an outdated CONFIRM is not reported at all.
	b = owned(t, v350, 1)
	b.confirm(1, 1, 2)
	wantClean(t, verifyDirs(t, b.done()))
}

func TestQueueConflict(t *testing.T) {
	// The queue is not claimed by anyone (explicit owners, 2.7.3+).
	b := fresh(t, "i1", 1, 1, v2111)
	b.sync(1)
	rep := verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindQueueConflict, verify.Error)
	if !strings.Contains(f.Message, "ER_SYNC_QUEUE_UNCLAIMED") {
		t.Fatalf("message %q", f.Message)
	}
	// 2.6.0: a transaction of replica 2 while replica 1's are pending.
	b = fresh(t, "i1", 1, 2, v260)
	b.tx(1, syncSpace, 1, 0)
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 1, TSN: 1, Commit: true}, dmlBody(syncSpace, 1, "x"))
	rep = verifyDirs(t, b.done())
	f = want1(t, rep, verify.KindQueueConflict, verify.Error)
	if !strings.Contains(f.Message, "ER_UNCOMMITTED_FOREIGN_SYNC_TXNS") {
		t.Fatalf("message %q", f.Message)
	}
}

func TestPromoteTerm(t *testing.T) {
	b := owned(t, v363, 2)
	b.copyRow(format.Header{Type: box.TypePromote, ReplicaID: 2, LSN: 1, TSN: 1, Commit: true},
		format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: 2, Term: 2, HasTerm: true}))
	rep := verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindPromoteTerm, verify.Error)
	if f.Term != 2 {
		t.Fatalf("term %d", f.Term)
	}
}

func TestPromoteLSN(t *testing.T) {
	b := owned(t, v363, 2)
	// Replica 2 promotes in a new term but confirms replica 1's queue
	// only up to 1, below the confirmed 1:2.
	b.promote(2, 1, 1, 3)
	rep := verifyDirs(t, b.done())
	want1(t, rep, verify.KindPromoteLSN, verify.Error)
}

func TestStaleTerm(t *testing.T) {
	b := owned(t, v2111, 2)
	b.promote(2, 1, 2, 3)
	a := b.async(1) // the old owner writes on after the queue moved on
	rep := verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindStaleTerm, verify.Error)
	if f.ReplicaID != 1 || f.LSNFrom != a || f.Term != 3 {
		t.Fatalf("%d:%d term %d", f.ReplicaID, f.LSNFrom, f.Term)
	}
	// A sync transaction of the old term written as NOPs is fine.
	b = owned(t, v2111, 2)
	b.promote(2, 1, 2, 3)
	lsn := b.next(1)
	b.copyRow(format.Header{Type: box.TypeNop, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true, Flags: box.FlagWaitSync | box.FlagWaitAck}, nil)
	wantClean(t, verifyDirs(t, b.done()))
}

// TestAsyncAfterDemote reproduces gh-7286: after PROMOTE and DEMOTE the
// queue is unclaimed and anyone's asynchronous rows are fine.
func TestAsyncAfterDemote(t *testing.T) {
	b := fresh(t, "i1", 1, 2, v2111)
	b.promote(1, 0, 0, 2)
	b.demote(1, 1, 0, 3)
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 1, TSN: 1, Commit: true}, dmlBody(272, 1, "smth"))
	wantClean(t, verifyDirs(t, b.done()))
}

func TestSyncPending(t *testing.T) {
	b := owned(t, v2111, 1)
	s := b.sync(1)
	b.tx(1, asyncSpace, 1, box.FlagWaitSync) // queued behind it
	rep := verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindSyncPending, verify.Warning)
	if f.LSNFrom != s || f.LSNTo != s+1 {
		t.Fatalf("range %d-%d", f.LSNFrom, f.LSNTo)
	}
	if c := rep.Instances[0].Sync; c.Pending != 1 || c.QueuedPending != 1 || c.Confirmed != 1 {
		t.Fatalf("counts %+v", c)
	}
}

// TestImplicitOwner: 2.6.0 logs have no flags (synchronous transactions
// are found by their space) and no PROMOTE; box.ctl.clear_synchro_queue on
// a replica confirms the old master's queue.
func TestImplicitOwner(t *testing.T) {
	b := fresh(t, "i2", 2, 2, v260)
	s1 := b.copyTx(1, syncSpace)
	b.copyTx(1, asyncSpace) // queued behind the synchronous one
	b.confirm(1, 1, s1+1)
	s2 := b.copyTx(1, syncSpace)
	b.confirm(2, 1, s2) // clear_synchro_queue on replica 2
	s3 := b.copyTx(2, syncSpace)
	b.confirm(2, 2, s3)
	rep := verifyDirs(t, b.done())
	wantClean(t, rep)
	c := rep.Instances[0].Sync
	if c.Confirmed != 3 || c.QueuedConfirmed != 1 {
		t.Fatalf("counts %+v", c)
	}
	// A CONFIRM for a queue the instance does not see owned fails on 2.6.0.
	b = fresh(t, "i2", 2, 2, v260)
	b.copyTx(1, syncSpace)
	b.confirm(2, 2, 1)
	rep = verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindForeignSynchro, verify.Error)
	if !strings.Contains(f.Message, "ER_SYNC_MASTER_MISMATCH") {
		t.Fatalf("message %q", f.Message)
	}
}

// copyTx writes a one-row transaction of replica id without flags (as
// 2.6.0 writes) into space.
func (b *walBuilder) copyTx(id uint32, space uint32) uint64 {
	_, l := b.tx(id, space, 1, 0)
	return l
}

func TestRaftTerm(t *testing.T) {
	b := fresh(t, "i1", 1, 1, v2111)
	b.raft(5, 0)
	b.raft(4, 0)
	rep := verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindRaftTerm, verify.Error)
	if f.Term != 4 {
		t.Fatalf("term %d", f.Term)
	}
}

func TestVoteConflict(t *testing.T) {
	b := fresh(t, "i1", 1, 3, v2111)
	b.raft(2, 0)
	b.raft(2, 2)
	b.raft(3, 0)
	b.raft(3, 3) // a new term: a new vote is fine
	b.raft(3, 2) // a second vote in term 3
	rep := verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindVoteConflict, verify.Error)
	if f.Term != 3 {
		t.Fatalf("term %d", f.Term)
	}
}

// ---- several instances

func TestUnknownReplicaID(t *testing.T) {
	var dirs []string
	for i := 1; i <= 2; i++ {
		b := newWAL(t, filepath.Join(t.TempDir(), "n"), uuidOf(i), v2111)
		b.xlog()
		dirs = append(dirs, "i"+string(rune('0'+i))+"="+b.done())
	}
	rep := verifyDirs(t, dirs...)
	if fs := findings(rep, verify.KindUnknownID); len(fs) != 2 || fs[0].Severity != verify.Warning {
		t.Fatalf("unknown-replica-id findings:\n%s", reportText(rep))
	}
}

func TestDivergentRow(t *testing.T) {
	a := fresh(t, "a", 1, 2, v2111)
	b := fresh(t, "b", 2, 2, v2111)
	for i := 0; i < 3; i++ {
		a.async(1)
		b.async(1)
	}
	a.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: 4, TSN: 4, Commit: true}, dmlBody(asyncSpace, 4, "mine"))
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: 4, TSN: 4, Commit: true}, dmlBody(asyncSpace, 4, "theirs"))
	a.async(1)
	// A NOP where the origin has data is legal.
	b.copyRow(format.Header{Type: box.TypeNop, ReplicaID: 1, LSN: 5, TSN: 5, Commit: true}, nil)
	rep := verifyDirs(t, "a="+a.done(), "b="+b.done())
	f := want1(t, rep, verify.KindDivergentRow, verify.Error)
	if f.ReplicaID != 1 || f.LSNFrom != 4 || f.LSNTo != 4 || len(f.Sides) != 2 || len(f.Evidence) != 2 {
		t.Fatalf("%+v\n%s", f, reportText(rep))
	}
	if !strings.Contains(f.Message, "a (a is replica 1, the origin)") {
		t.Fatalf("message %q", f.Message)
	}
}

func TestSplitBrainFates(t *testing.T) {
	var bs []*walBuilder
	for i, name := range []string{"a", "b", "c"} {
		b := fresh(t, name, i+1, 3, v2111)
		b.copyRow(format.Header{Type: box.TypePromote, ReplicaID: 1, LSN: 1, TSN: 1, Commit: true},
			format.AppendSynchroBody(nil, &format.Synchro{LSN: 0, Term: 2, HasTerm: true}))
		bs = append(bs, b)
	}
	for _, b := range bs {
		b.sync(1)
		b.sync(1)
	}
	bs[0].rollback(1, 1, 2) // the old owner rolls 1:2-3 back
	bs[1].promote(2, 1, 3, 3)
	bs[2].copyRow(format.Header{Type: box.TypePromote, ReplicaID: 2, LSN: 1, TSN: 1, Commit: true},
		format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: 3, Term: 3, HasTerm: true}))
	rep := verifyDirs(t, "a="+bs[0].done(), "b="+bs[1].done(), "c="+bs[2].done())
	var got *verify.Finding
	for _, f := range findings(rep, verify.KindSplitBrain) {
		if len(f.Sides) == 2 && f.Sides[1].What == "rolled back" {
			got = f
		}
	}
	if got == nil {
		t.Fatalf("no fate conflict:\n%s", reportText(rep))
	}
	if got.LSNFrom != 2 || got.LSNTo != 3 || strings.Join(got.Sides[0].Instances, ",") != "b,c" ||
		strings.Join(got.Sides[1].Instances, ",") != "a" || !strings.Contains(got.Followed, "b, c") {
		t.Fatalf("%+v\n%s", got, reportText(rep))
	}
}

func TestSplitBrainSameTerm(t *testing.T) {
	a := fresh(t, "a", 1, 3, v363)
	b := fresh(t, "b", 2, 3, v363)
	c := fresh(t, "c", 3, 3, v363)
	a.promote(1, 0, 0, 2)
	b.promote(2, 0, 0, 2)
	c.copyRow(format.Header{Type: box.TypePromote, ReplicaID: 1, LSN: 1, TSN: 1, Commit: true},
		format.AppendSynchroBody(nil, &format.Synchro{Term: 2, HasTerm: true}))
	rep := verifyDirs(t, "a="+a.done(), "b="+b.done(), "c="+c.done())
	f := want1(t, rep, verify.KindSplitBrain, verify.Error)
	if f.Term != 2 || len(f.Sides) != 2 || f.Followed != "replica 1: a, c" {
		t.Fatalf("%+v", f)
	}
}

// TestSplitBrainOldOwnerWritesOn: replica 2 promotes in term 3 knowing
// replica 1's rows up to 1:3; replica 1, not knowing, commits 1:4-5. The
// third instance follows replica 2 and later receives replica 1's rows
// (an old version without the filters).
func TestSplitBrainOldOwnerWritesOn(t *testing.T) {
	var bs []*walBuilder
	for i, name := range []string{"a", "b", "c"} {
		b := fresh(t, name, i+1, 3, "2.8.4-0-g1")
		bs = append(bs, b)
	}
	a, b, c := bs[0], bs[1], bs[2]
	for _, x := range bs {
		x.copyRow(format.Header{Type: box.TypePromote, ReplicaID: 1, LSN: 1, TSN: 1, Commit: true},
			format.AppendSynchroBody(nil, &format.Synchro{LSN: 0, Term: 2, HasTerm: true}))
		s := x.next(1)
		x.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: s, TSN: s, Commit: true,
			Flags: box.FlagWaitSync | box.FlagWaitAck}, dmlBody(syncSpace, s, "v"))
		x.copyRow(format.Header{Type: box.TypeConfirm, ReplicaID: 1, LSN: s + 1, TSN: s + 1, Commit: true},
			format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: s}))
	}
	a.async(1) // 1:4
	a.async(1) // 1:5
	p := b.promote(2, 1, 2, 3)
	b.async(2)
	c.copyRow(format.Header{Type: box.TypePromote, ReplicaID: 2, LSN: p, TSN: p, Commit: true},
		format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: 2, Term: 3, HasTerm: true}))
	c.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: p + 1, TSN: p + 1, Commit: true}, dmlBody(asyncSpace, 9, "v"))
	for l := uint64(4); l <= 5; l++ {
		c.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: l, TSN: l, Commit: true}, dmlBody(asyncSpace, l, "v"))
	}
	rep := verifyDirs(t, "a="+a.done(), "b="+b.done(), "c="+c.done())
	var sb *verify.Finding
	for _, f := range findings(rep, verify.KindSplitBrain) {
		if len(f.Sides) == 2 && f.Sides[0].ReplicaID == 1 && f.Sides[1].ReplicaID == 2 {
			sb = f
		}
	}
	if sb == nil {
		t.Fatalf("no split-brain:\n%s", reportText(rep))
	}
	if sb.LSNFrom != 4 || sb.LSNTo != 5 || sb.Sides[1].LSNFrom != p || sb.Term != 3 {
		t.Fatalf("%+v\n%s", sb, reportText(rep))
	}
	if !strings.Contains(sb.Followed, "replica 2") || !strings.Contains(sb.Followed, "c") {
		t.Fatalf("followed %q", sb.Followed)
	}
	// The third instance applied the old owner's rows after the PROMOTE.
	st := findings(rep, verify.KindStaleTerm)
	if len(st) != 2 || st[0].Instance != "c" {
		t.Fatalf("stale-term findings:\n%s", reportText(rep))
	}
}

func TestVClockTable(t *testing.T) {
	a := fresh(t, "a", 1, 2, v2111)
	b := fresh(t, "b", 2, 2, v2111)
	for i := 0; i < 5; i++ {
		a.async(1)
		if i < 3 {
			b.async(1)
		}
	}
	rep := verifyDirs(t, "a="+a.done(), "b="+b.done())
	if len(rep.Table) != 1 {
		t.Fatalf("table %+v", rep.Table)
	}
	row := rep.Table[0]
	if row.ReplicaID != 1 || row.Max != 5 || strings.Join(row.Ahead, ",") != "a" || row.Behind["b"] != 2 || row.Origin != "a" {
		t.Fatalf("row %+v", row)
	}
	if rep.HasErrors() {
		t.Fatalf("a lagging replica is not an error:\n%s", reportText(rep))
	}
}

func TestBadRow(t *testing.T) {
	b := owned(t, v2111, 1)
	lsn := b.next(1)
	b.copyRow(format.Header{Type: box.TypeConfirm, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true}, mpArr(mpUint(1), mpUint(2)))
	rep := verifyDirs(t, b.done())
	f := want1(t, rep, verify.KindBadRow, verify.Error)
	if len(f.Evidence) != 1 || !strings.Contains(f.Message, "CONFIRM") {
		t.Fatalf("%+v", f)
	}
}

// TestTruncated: an instance whose own writes interleave with received
// rows more often than verify keeps write-order runs says so.
func TestTruncated(t *testing.T) {
	b := fresh(t, "i1", 1, 2, v2111)
	for i := 0; i < 33000; i++ {
		b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: b.next(2), TSN: b.next(2), Commit: true}, dmlBody(asyncSpace, 1, "r"))
		b.async(1)
	}
	rep := verifyDirs(t, b.done())
	want1(t, rep, verify.KindTruncated, verify.Warning)
	if rep.HasErrors() || rep.Instances[0].Sync.Async != 66000 {
		t.Fatalf("%+v\n%s", rep.Instances[0].Sync, reportText(rep))
	}
}

// TestLSNGapPerComponent: a missing file that held rows of two replicas
// gives one finding per replica with its range.
func TestLSNGapPerComponent(t *testing.T) {
	b := fresh(t, "i1", 1, 2, v2111)
	b.async(1)
	b.xlog()
	b.async(1)
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 1, TSN: 1, Commit: true}, dmlBody(asyncSpace, 1, "x"))
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 2, TSN: 2, Commit: true}, dmlBody(asyncSpace, 2, "x"))
	middle := b.files[len(b.files)-1]
	b.xlog()
	b.async(1)
	dir := b.done()
	if err := os.Remove(middle); err != nil {
		t.Fatal(err)
	}
	rep := verifyDirs(t, dir)
	fs := findings(rep, verify.KindLSNGap)
	if len(fs) != 2 || fs[0].ReplicaID != 1 || fs[0].LSNFrom != 2 || fs[0].LSNTo != 2 ||
		fs[1].ReplicaID != 2 || fs[1].LSNFrom != 1 || fs[1].LSNTo != 2 {
		t.Fatalf("lsn-gap findings:\n%s", reportText(rep))
	}
}

// TestNopTransactionHasNoFate: an instance that wrote an old owner's
// waiting transaction as NOPs (1:4 on b, which a rolled back) holds no
// fate for it, even between confirmed transactions of that owner: no
// split-brain. Found by the replica-set simulation.
func TestNopTransactionHasNoFate(t *testing.T) {
	a := fresh(t, "a", 1, 2, v2111)
	b := fresh(t, "b", 2, 2, v2111)
	promote := func(origin uint32, lsn uint64, s format.Synchro) (format.Header, []byte) {
		s.HasTerm = true
		return format.Header{Type: box.TypePromote, ReplicaID: origin, LSN: lsn, TSN: lsn, Commit: true},
			format.AppendSynchroBody(nil, &s)
	}
	a.promote(1, 0, 0, 2)
	b.copyRow(promote(1, 1, format.Synchro{Term: 2}))
	a.sync(1)          // 1:2
	a.confirm(1, 1, 2) // 1:3
	a.sync(1)          // 1:4, never confirmed
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: 2, TSN: 2, Commit: true,
		Flags: box.FlagWaitSync | box.FlagWaitAck}, dmlBody(syncSpace, 2, "v"))
	b.promote(2, 1, 2, 3) // 2:1 confirms 1:2, rolls back whatever follows
	b.copyRow(format.Header{Type: box.TypeConfirm, ReplicaID: 1, LSN: 3, TSN: 3, Commit: true},
		format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: 2}))
	b.copyRow(format.Header{Type: box.TypeNop, ReplicaID: 1, LSN: 4, TSN: 4, Commit: true,
		Flags: box.FlagWaitSync | box.FlagWaitAck}, nil)
	a.copyRow(promote(2, 1, format.Synchro{ReplicaID: 1, LSN: 2, Term: 3})) // a rolls 1:4 back
	a.promote(1, 2, 0, 4)                                                   // 1:5
	a.sync(1)                                                               // 1:6
	a.confirm(1, 1, 6)                                                      // 1:7
	for lsn := uint64(5); lsn <= 7; lsn++ {
		switch lsn {
		case 5:
			b.copyRow(promote(1, 5, format.Synchro{ReplicaID: 2, Term: 4}))
		case 6:
			b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: 6, TSN: 6, Commit: true,
				Flags: box.FlagWaitSync | box.FlagWaitAck}, dmlBody(syncSpace, 6, "v"))
		case 7:
			b.copyRow(format.Header{Type: box.TypeConfirm, ReplicaID: 1, LSN: 7, TSN: 7, Commit: true},
				format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: 6}))
		}
	}
	rep := verifyDirs(t, "a="+a.done(), "b="+b.done())
	wantNone(t, rep, verify.KindSplitBrain)
	if rep.Instances[0].Sync.RolledBack != 1 || rep.Instances[1].Sync.Confirmed != 2 {
		t.Fatalf("fates: a %+v, b %+v\n%s", rep.Instances[0].Sync, rep.Instances[1].Sync, reportText(rep))
	}
}

// TestPromoteLSNSinceOwnerChange: before 2.11.2 confirmed_lsn restarts
// from 0 when the queue changes hands, so a PROMOTE after one that gave
// the queue to replica 1, with no CONFIRM of replica 1 since, names LSN
// 0 although 1:2 was confirmed in an earlier ownership: what Tarantool
// writes and accepts, not a split-brain. Found by the replica-set
// simulation.
func TestPromoteLSNSinceOwnerChange(t *testing.T) {
	a := fresh(t, "a", 1, 2, "2.11.0-0-g247a9a4")
	a.promote(1, 0, 0, 2) // 1:1
	a.sync(1)             // 1:2
	a.confirm(1, 1, 2)    // 1:3
	a.copyRow(format.Header{Type: box.TypePromote, ReplicaID: 2, LSN: 1, TSN: 1, Commit: true},
		format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: 2, Term: 3, HasTerm: true}))
	a.promote(1, 2, 0, 4) // 1:4, the queue back to replica 1
	a.copyRow(format.Header{Type: box.TypePromote, ReplicaID: 2, LSN: 2, TSN: 2, Commit: true},
		format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: 0, Term: 5, HasTerm: true}))
	rep := verifyDirs(t, "a="+a.done())
	wantNone(t, rep, verify.KindPromoteLSN, verify.KindSplitBrain)

	// 2.11.2 keeps the confirmed LSN per owner: the same PROMOTE would
	// undo 1:2.
	b := fresh(t, "b", 1, 2, "2.11.2-0-g1a2b3c4")
	b.promote(1, 0, 0, 2)
	b.sync(1)
	b.confirm(1, 1, 2)
	b.copyRow(format.Header{Type: box.TypePromote, ReplicaID: 2, LSN: 1, TSN: 1, Commit: true},
		format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: 2, Term: 3, HasTerm: true}))
	b.promote(1, 2, 0, 4)
	b.copyRow(format.Header{Type: box.TypePromote, ReplicaID: 2, LSN: 2, TSN: 2, Commit: true},
		format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: 0, Term: 5, HasTerm: true}))
	want1(t, verifyDirs(t, "b="+b.done()), verify.KindPromoteLSN, verify.Error)
}

// TestSplitBrainNewerTermOwnerIsNotBlamed: replica 2 took the queue in
// term 2 and wrote 2:2; replica 1, not knowing, took it in term 3. 2:2 is
// an old owner's row after the queue moved on; replica 1's rows, written
// as the owner of a newer term, supersede replica 2's claim and are not
// a second split-brain. Found by the replica-set simulation.
func TestSplitBrainNewerTermOwnerIsNotBlamed(t *testing.T) {
	a := fresh(t, "a", 1, 2, v2111)
	b := fresh(t, "b", 2, 2, v2111)
	b.promote(2, 0, 0, 2)
	b.async(2)
	a.promote(1, 0, 0, 3)
	a.sync(1)
	a.confirm(1, 1, 2)
	rep := verifyDirs(t, "a="+a.done(), "b="+b.done())
	fs := findings(rep, verify.KindSplitBrain)
	if len(fs) != 1 || fs[0].ReplicaID != 2 || fs[0].LSNFrom != 2 {
		t.Fatalf("want one split-brain, on replica 2's rows:\n%s", reportText(rep))
	}
}
