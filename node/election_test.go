package node

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/memtx"
)

// electionConfigs are n nodes in a full mesh, quorum 2, in mode.
func electionConfigs(t testing.TB, n int, mode string) []Config {
	cfgs := meshConfigs(t, n)
	for i := range cfgs {
		cfgs[i] = quorumConfig(cfgs[i])
		cfgs[i].ElectionMode = mode
		cfgs[i].ElectionTimeout = 500 * time.Millisecond
		cfgs[i].ReplicationTimeout = 200 * time.Millisecond
	}
	return cfgs
}

// infoField returns box.info[section][key] of a node.
func infoField(n *Node, section, key string) any {
	for _, e := range n.Info() {
		if e.Key != section {
			continue
		}
		if m, ok := e.Value.(memtx.Map); ok {
			for _, f := range m {
				if f.Key == key {
					return f.Value
				}
			}
		}
	}
	return nil
}

// leaderOf returns the running node that is a writable leader, if one.
func leaderOf(nodes []*Node) *Node {
	for _, n := range nodes {
		if n == nil {
			continue
		}
		select {
		case <-n.stop:
			continue
		default:
		}
		if infoField(n, "election", "state") == "leader" && n.electionWritable() && n.ownsQueue() {
			return n
		}
	}
	return nil
}

// stableLeader waits for a writable leader that every node of nodes
// follows (the first elections of a fresh set may hand over once).
func stableLeader(t testing.TB, nodes []*Node) *Node {
	t.Helper()
	var l *Node
	waitFor(t, "a leader every node follows", 20*time.Second, func() bool {
		l = leaderOf(nodes)
		if l == nil {
			return false
		}
		for _, n := range nodes {
			if infoField(n, "election", "leader") != uint64(l.id) {
				return false
			}
		}
		return true
	})
	return l
}

// syncSpaceOnLeader creates the synchronous space "s" on the leader every
// node follows and returns the leader, a connection to it and the space id.
// Leadership that moves before the space is in place (ER_READONLY from a
// leader that just stepped down) is setup noise, not what the tests check:
// the space is made again on the next stable leader.
func syncSpaceOnLeader(t testing.TB, nodes []*Node) (*Node, *client.Conn, uint32) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		l := stableLeader(t, nodes)
		c := dialAdmin(t, l.Addr())
		_, err := c.Call(ctx(t), "box.schema.space.create", "s", map[string]any{"is_sync": true, "if_not_exists": true})
		if err == nil {
			_, err = c.Call(ctx(t), "box.space.s:create_index", "pk", map[string]any{"if_not_exists": true})
		}
		if err == nil {
			return l, c, spaceID(t, c, "s")
		}
		var ie *iproto.Error
		if !errors.As(err, &ie) || ie.Code != box.ErrReadonly || time.Now().After(deadline) {
			t.Fatalf("create the synchronous space on leader %d: %v", l.id, err)
		}
	}
}

func waitLeader(t testing.TB, nodes []*Node, timeout time.Duration) *Node {
	t.Helper()
	var l *Node
	waitFor(t, "a writable leader", timeout, func() bool {
		l = leaderOf(nodes)
		return l != nil
	})
	return l
}

// Three candidates in a full mesh with quorum 2 elect a leader, which
// writes a PROMOTE of its term before anything else and then takes
// synchronous writes; the followers are read-only and show the leader and
// the queue owner; closing the leader elects another one in a higher term,
// whose PROMOTE takes the queue; every acknowledged write is on every
// node and verify finds the logs clean.
func TestElectionMesh(t *testing.T) {
	cfgs := electionConfigs(t, 3, "candidate")
	nodes := startMesh(t, cfgs)
	l, c, s := syncSpaceOnLeader(t, nodes)
	var acked []int
	for i := 0; i < 10; i++ {
		if _, err := c.Replace(ctx(t), s, []any{i, "x"}); err != nil {
			t.Fatalf("sync write %d on the leader: %v", i, err)
		}
		acked = append(acked, i)
	}
	term1 := infoField(l, "election", "term").(uint64)
	if got := infoField(l, "synchro", "queue"); got == nil {
		t.Fatal("no box.info.synchro.queue")
	}
	for _, n := range nodes {
		if n == l {
			continue
		}
		if got := infoField(n, "election", "leader"); got != uint64(l.id) {
			t.Errorf("node %d: leader %v, want %d", n.id, got, l.id)
		}
		if n.electionWritable() {
			t.Errorf("node %d is writable as a follower", n.id)
		}
		fc := dialAdmin(t, n.Addr())
		if _, err := fc.Replace(ctx(t), s, []any{1000, "follower"}); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("write on follower %d: %v, want read-only", n.id, err)
		}
	}
	// The leader goes away: another one is elected in a higher term.
	start := time.Now()
	l.Close()
	l2 := waitLeader(t, nodes, 20*time.Second)
	t.Logf("failover: %v", time.Since(start))
	if term2 := infoField(l2, "election", "term").(uint64); term2 <= term1 {
		t.Errorf("new leader in term %d, old one in %d", term2, term1)
	}
	c2 := dialAdmin(t, l2.Addr())
	for i := 100; i < 110; i++ {
		if _, err := c2.Replace(ctx(t), s, []any{i, "y"}); err != nil {
			t.Fatalf("sync write %d on the new leader: %v", i, err)
		}
		acked = append(acked, i)
	}
	var rest []*Node
	for _, n := range nodes {
		if n != l {
			rest = append(rest, n)
		}
	}
	waitSynced(t, rest...)
	for _, n := range rest {
		checkKeys(t, dialAdmin(t, n.Addr()), s, acked)
	}
	var dirs []string
	for _, n := range nodes {
		n.Close()
		dirs = append(dirs, n.cfg.Dir)
	}
	verifyDirs(t, dirs...)
	checkPromotes(t, dirs)
}

// checkPromotes fails unless the logs hold a PROMOTE per leader term and
// RAFT rows as local rows.
func checkPromotes(t *testing.T, dirs []string) {
	t.Helper()
	promotes, rafts := 0, 0
	for _, d := range dirs {
		files, err := format.ScanDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.Ext != ".xlog" {
				continue
			}
			forEachRow(t, f.Path, func(r *format.Row) {
				switch r.Type.String() {
				case "PROMOTE":
					promotes++
				case "RAFT":
					rafts++
					if r.GroupID != 1 || r.ReplicaID != 0 {
						t.Errorf("%s: RAFT row with group %d replica %d, want a local row", f.Path, r.GroupID, r.ReplicaID)
					}
				}
			})
		}
	}
	if promotes < 2 || rafts == 0 {
		t.Errorf("%d PROMOTE and %d RAFT rows in the logs, want at least 2 and 1", promotes, rafts)
	}
}

// forEachRow calls f for every row of a log file.
func forEachRow(t *testing.T, path string, f func(*format.Row)) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := format.NewReader(fh, format.Options{Name: path})
	if err != nil {
		t.Fatal(err)
	}
	for {
		row, err := r.Next()
		if err != nil {
			return
		}
		f(row)
	}
}

// Mode manual: nobody is elected on their own; box.ctl.promote() makes
// the node it runs on the leader (a new term, its PROMOTE applied before
// the call returns); box.ctl.demote() makes it resign; a voter refuses
// to promote itself with Tarantool's error.
func TestElectionManualPromote(t *testing.T) {
	cfgs := electionConfigs(t, 3, "manual")
	cfgs[2].ElectionMode = "voter"
	nodes := startMesh(t, cfgs)
	waitSynced(t, nodes...)
	time.Sleep(time.Second) // two election timeouts: nobody stands
	if l := leaderOf(nodes); l != nil {
		t.Fatalf("node %d became leader in mode manual", l.id)
	}
	waitHealthy(t, nodes...)
	c := dialAdmin(t, nodes[1].Addr())
	call(t, c, "box.ctl.promote")
	if leaderOf(nodes) != nodes[1] {
		t.Fatalf("box.ctl.promote() returned before the node was a writable leader")
	}
	call(t, c, "box.schema.space.create", "s", map[string]any{"is_sync": true})
	call(t, c, "box.space.s:create_index", "pk")
	s := spaceID(t, c, "s")
	if _, err := c.Replace(ctx(t), s, []any{1, "x"}); err != nil {
		t.Fatalf("write on the promoted node: %v", err)
	}
	waitFor(t, "box.info.synchro to name the owner everywhere", 10*time.Second, func() bool {
		for _, n := range nodes {
			q, _ := infoField(n, "synchro", "queue").(memtx.Map)
			owner := any(nil)
			for _, e := range q {
				if e.Key == "owner" {
					owner = e.Value
				}
			}
			if owner != uint64(nodes[1].id) {
				return false
			}
		}
		return true
	})
	vc := dialAdmin(t, nodes[2].Addr())
	if _, err := vc.Call(ctx(t), "box.ctl.promote"); err == nil || !strings.Contains(err.Error(), "voter") {
		t.Errorf("box.ctl.promote() on a voter: %v, want ER_UNSUPPORTED", err)
	}
	call(t, c, "box.ctl.demote")
	waitFor(t, "the leader to resign", 5*time.Second, func() bool {
		return infoField(nodes[1], "election", "state") != "leader"
	})
	if _, err := c.Replace(ctx(t), s, []any{2, "y"}); err == nil {
		t.Errorf("write accepted after box.ctl.demote()")
	}
	waitHealthy(t, nodes...)
	c0 := dialAdmin(t, nodes[0].Addr())
	call(t, c0, "box.ctl.promote")
	if _, err := c0.Replace(ctx(t), s, []any{3, "z"}); err != nil {
		t.Fatalf("write after promoting another node: %v", err)
	}
	waitSynced(t, nodes...)
	var dirs []string
	for _, n := range nodes {
		n.Close()
		dirs = append(dirs, n.cfg.Dir)
	}
	verifyDirs(t, dirs...)
}
