package replay

import (
	"reflect"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// RecoverRows on rows in memory gives what Recover gives on the same
// rows in an xlog: data, fates, queue, pending transactions, Raft state
// and vclock.
func TestRecoverRowsAsRecover(t *testing.T) {
	dir := t.TempDir()
	start := vc(1, 10, 2, 5)
	writeSnap(t, dir, synthState(t), start)
	sync := func(r uint32, lsn uint64, key uint64) xrow {
		x := ins(t, r, lsn, 601, key)
		x.h.Flags = box.FlagWaitSync | box.FlagWaitAck
		return x
	}
	raftRow := func(lsn, term uint64, vote uint32) xrow {
		return xrow{h: format.Header{Type: box.TypeRaft, GroupID: box.GroupLocal, LSN: lsn, Commit: true},
			body: format.AppendRaftBody(nil, &format.Raft{Term: term, Vote: vote})}
	}
	var rows []xrow
	rows = append(rows, sync(1, 11, 1), ins(t, 1, 12, 600, uint64(1), "queued behind 11"),
		synchroRow(box.TypeConfirm, 1, 13, 1, 11), raftRow(1, 2, 1))
	rows = append(rows, txn(ins(t, 2, 6, 600, uint64(2), "two"), ins(t, 2, 7, 600, uint64(3), "rows"))...)
	rows = append(rows, sync(1, 14, 2), ins(t, 1, 15, 600, uint64(4), "queued behind 14"),
		synchroRow(box.TypeRollback, 1, 16, 1, 14),
		ins(t, 1, 17, 600, uint64(2), "duplicate key"), // a finding
		sync(1, 18, 3), raftRow(2, 3, 0))
	writeXlog(t, dir, start, rows...)
	want := mustRecover(t, RecoverOptions{Paths: []string{dir}})

	mem := make([]*format.Row, len(rows))
	for i, r := range rows {
		mem[i] = &format.Row{Header: r.h, Body: r.body}
	}
	got := RecoverRows(synthState(t), start, "", mem)
	for _, space := range []uint32{600, 601} {
		if g, w := keysOf(got.State, space), keysOf(want.State, space); !reflect.DeepEqual(g, w) {
			t.Errorf("space %d: keys %v, Recover has %v", space, g, w)
		}
	}
	if got.FindingCount != want.FindingCount || got.FindingCount != 1 {
		t.Errorf("%d findings, Recover %d, want 1", got.FindingCount, want.FindingCount)
	}
	wc := want.Counts
	wc.SnapshotRows = 0 // no snapshot read
	if got.Counts != wc {
		t.Errorf("counts %+v, Recover %+v", got.Counts, want.Counts)
	}
	if !reflect.DeepEqual(got.Queue, want.Queue) || got.Raft != want.Raft || !got.VClock.Equal(want.VClock) {
		t.Errorf("queue %+v raft %+v vclock %v; Recover: %+v %+v %v", got.Queue, got.Raft, got.VClock, want.Queue, want.Raft, want.VClock)
	}
	// The term-only row of term 3 keeps the vote of term 2 (FORMAT.md
	// §6.7); VoteTerm tells.
	if got.Raft != (RaftState{Term: 3, Vote: 1, VoteTerm: 2}) {
		t.Errorf("raft %+v", got.Raft)
	}
	if len(got.Pending) != 1 || len(want.Pending) != 1 {
		t.Fatalf("pending %+v, Recover %+v", got.Pending, want.Pending)
	}
	g, w := got.Pending[0], want.Pending[0]
	if g.ReplicaID != w.ReplicaID || g.TSN != w.TSN || g.EntryLSN != w.EntryLSN || g.Sync != w.Sync || g.EntryLSN != 18 {
		t.Errorf("pending %+v, Recover %+v", g, w)
	}
}
