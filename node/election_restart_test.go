package node

import (
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/format"
)

// A replica set that elected a leader and took synchronous writes is
// stopped and started again: every node recovers its term and vote from
// its RAFT rows and the queue owner and term from the PROMOTE, nothing
// waits in the queue, and a leader is elected again in a term at least as
// high, with the data intact.
func TestElectionRestart(t *testing.T) {
	cfgs := electionConfigs(t, 3, "candidate")
	nodes := startMesh(t, cfgs)
	l, c, s := syncSpaceOnLeader(t, nodes)
	var acked []int
	for i := 0; i < 50; i++ {
		if _, err := c.Replace(ctx(t), s, []any{i, "x"}); err != nil {
			t.Fatalf("sync write %d: %v", i, err)
		}
		acked = append(acked, i)
	}
	waitSynced(t, nodes...)
	// A snapshot carries the term and vote and the queue's PROMOTE.
	for _, n := range nodes {
		call(t, dialAdmin(t, n.Addr()), "box.snapshot")
		rows := map[string]int{}
		forEachRow(t, newestFile(t, n.cfg.Dir, ".snap"), func(r *format.Row) { rows[r.Type.String()]++ })
		if rows["RAFT"] != 1 || rows["PROMOTE"] != 1 {
			t.Errorf("node %d: snapshot with %d RAFT and %d PROMOTE rows, want 1 and 1", n.id, rows["RAFT"], rows["PROMOTE"])
		}
	}
	terms := map[uint32]uint64{}
	for _, n := range nodes {
		terms[n.id] = infoField(n, "election", "term").(uint64)
		n.Close()
	}
	nodes = startMesh(t, cfgs)
	for _, n := range nodes {
		if got := infoField(n, "election", "term").(uint64); got < terms[n.id] {
			t.Errorf("node %d recovered term %d, had %d", n.id, got, terms[n.id])
		}
		if q := queueLen(n); q != 0 {
			t.Errorf("node %d: %d transactions wait in the queue after the restart", n.id, q)
		}
	}
	l = waitLeader(t, nodes, 20*time.Second)
	for _, n := range nodes {
		checkKeys(t, dialAdmin(t, n.Addr()), s, acked)
	}
	c = dialAdmin(t, l.Addr())
	if _, err := c.Replace(ctx(t), s, []any{1000, "after restart"}); err != nil {
		t.Fatalf("write after the restart: %v", err)
	}
}

// A node that joins a replica set after its leader's PROMOTE follows the
// leader's synchronous writes, acknowledges them, and can be elected when
// the leader goes: its queue knows the owner and the term.
func TestElectionLateJoiner(t *testing.T) {
	cfgs := electionConfigs(t, 3, "candidate")
	first := []Config{cfgs[0], cfgs[1]}
	for i := range first {
		// The third peer is not there yet: bootstrap without its ballot.
		first[i].ReplicationConnectTimeout = time.Second
	}
	nodes := startMesh(t, first)
	l, c, s := syncSpaceOnLeader(t, nodes)
	for i := 0; i < 5; i++ {
		if _, err := c.Replace(ctx(t), s, []any{i, "before"}); err != nil {
			t.Fatal(err)
		}
	}
	late := startMesh(t, cfgs[2:])[0]
	all := append(nodes, late)
	var acked []int
	for i := 10; i < 15; i++ {
		if _, err := c.Replace(ctx(t), s, []any{i, "after"}); err != nil {
			t.Fatalf("sync write with the late joiner: %v", err)
		}
		acked = append(acked, i)
	}
	waitSynced(t, all...)
	if q := queueLen(late); q != 0 {
		t.Errorf("%d transactions wait in the late joiner's queue", q)
	}
	checkKeys(t, dialAdmin(t, late.Addr()), s, acked)
	l.Close()
	var rest []*Node
	for _, n := range all {
		if n != l {
			rest = append(rest, n)
		}
	}
	l2 := waitLeader(t, rest, 20*time.Second)
	if _, err := dialAdmin(t, l2.Addr()).Replace(ctx(t), s, []any{100, "new leader"}); err != nil {
		t.Fatalf("write on the new leader: %v", err)
	}
}
