package sim

import (
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/node/raft"
)

// TestFencingIsolatedLeader cuts the leader of a 3-node set off silently
// and watches who leads when. Strict fencing: the old leader steps down
// (after 2 × replication timeout) before the others can elect a new one
// (after 4 ×). Off: the old leader keeps leading next to the new one, in
// an older term. Soft: it steps down after 4 × replication timeout, with no
// guarantee to be first.
func TestFencingIsolatedLeader(t *testing.T) {
	for _, c := range []struct {
		fencing      raft.Fencing
		resignsFirst bool
		resigns      bool
	}{
		{raft.FencingStrict, true, true},
		{raft.FencingSoft, false, true},
		{raft.FencingOff, false, false},
	} {
		w := NewWorld(11)
		cl := NewCluster(w, Options{Nodes: 3, ElectionTimeout: time.Second,
			ReplicationTimeout: 250 * time.Millisecond, Quorum: 2, Fencing: c.fencing})
		cl.Net.Faults = NetFaults{MinDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, Reconnect: 250 * time.Millisecond}
		if !w.RunUntil(30*time.Second, func() bool { return cl.Leader() != 0 }) {
			t.Fatalf("%v: no leader", c.fencing)
		}
		old := cl.Leader()
		oldTerm := cl.Nodes[old].E.Status().Term
		var others []int
		for id := 1; id <= 3; id++ {
			if id != old {
				others = append(others, id)
			}
		}
		cut := w.Now()
		cl.Net.Cut(false, []int{old}, others)
		var resigned, elected time.Duration
		w.RunUntil(cut+20*time.Second, func() bool {
			if resigned == 0 && cl.Nodes[old].E.Status().State != raft.Leader {
				resigned = w.Now() - cut
			}
			for _, id := range others {
				if elected == 0 && cl.Nodes[id].E.Status().State == raft.Leader {
					elected = w.Now() - cut
				}
			}
			return elected != 0 && (resigned != 0 || !c.resigns) && w.Now() > cut+10*time.Second
		})
		t.Logf("fencing %v: old leader %d (term %d) resigned after %v, new leader after %v", c.fencing, old, oldTerm, resigned, elected)
		if elected == 0 {
			t.Fatalf("%v: the majority elected nobody", c.fencing)
		}
		if c.resigns != (resigned != 0) {
			t.Fatalf("%v: resigned %v", c.fencing, resigned)
		}
		if c.resignsFirst && resigned >= elected {
			t.Fatalf("%v: the old leader resigned after %v, the new one was elected after %v", c.fencing, resigned, elected)
		}
		if c.resigns {
			if !cl.Nodes[old].E.Frozen() || cl.Nodes[old].E.Writable() {
				t.Fatalf("%v: the fenced leader's queue is not frozen", c.fencing)
			}
		}
		if !cl.Check.OK() {
			t.Fatalf("%v: %v", c.fencing, cl.Check.Violations)
		}
	}
}
