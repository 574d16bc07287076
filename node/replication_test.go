package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/verify"
)

// verifyDirs runs the offline verifier over the data directories of a
// replica set and fails on any error finding.
func verifyDirs(t testing.TB, dirs ...string) {
	t.Helper()
	var srcs []verify.Source
	for i, d := range dirs {
		srcs = append(srcs, verify.Source{Name: fmt.Sprintf("i%d", i+1), Dir: d})
	}
	rep, err := verify.Run(context.Background(), srcs, verify.Options{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, f := range rep.Findings {
		if f.Severity == verify.Error {
			t.Errorf("verify: %s %s: %s", f.Kind, f.Instance, f.Message)
		}
	}
}

// meshConfigs returns configurations of n nodes on fixed loopback
// addresses, each listing all of them (itself included) as peers.
func meshConfigs(t testing.TB, n int) []Config {
	t.Helper()
	addrs, err := tarantooltest.FreeAddrs(n)
	if err != nil {
		t.Fatal(err)
	}
	cfgs := make([]Config, n)
	for i := range cfgs {
		cfgs[i] = replConfig(t.TempDir())
		cfgs[i].Listen = addrs[i]
		cfgs[i].ReplicationTimeout = 200 * time.Millisecond
		cfgs[i].ReplicationConnectTimeout = 10 * time.Second
		for _, a := range addrs {
			cfgs[i].Replication = append(cfgs[i].Replication, tarantooltest.AdminUser+":"+tarantooltest.AdminPassword+"@"+a)
		}
	}
	return cfgs
}

// openAt opens a node and serves it on cfg.Listen; it is closed when the
// test ends.
func openAt(t testing.TB, cfg Config) (*Node, error) {
	var logw io.Writer
	if os.Getenv("XLOGTOOL_NODE_LOG") != "" {
		logw = os.Stderr
	}
	n, err := Open(cfg, NewLogger(logw))
	if err != nil {
		return nil, err
	}
	if err := n.Listen(cfg.Listen); err != nil {
		n.Close()
		return nil, err
	}
	t.Cleanup(func() { n.Close() })
	return n, nil
}

// startMesh starts the nodes all at once: the ballot decides which one
// bootstraps the replica set, the others join it.
func startMesh(t testing.TB, cfgs []Config) []*Node {
	t.Helper()
	nodes := make([]*Node, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = openAt(t, cfgs[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
	}
	return nodes
}

// waitSynced waits until every node has every other node's rows.
func waitSynced(t testing.TB, nodes ...*Node) {
	t.Helper()
	waitFor(t, "the replica set to converge", 20*time.Second, func() bool {
		want := nodes[0].writtenVClock()
		for _, n := range nodes[1:] {
			want = want.Max(n.writtenVClock())
		}
		for _, n := range nodes {
			if !want.LessEq(n.writtenVClock()) {
				return false
			}
		}
		return true
	})
}

// Three nodes started at once in a full mesh agree on one of them to
// bootstrap the replica set (the ballot), the others join it; writes on
// any of them reach all, and verify finds nothing wrong in their files.
func TestNodeMeshBootstrap(t *testing.T) {
	cfgs := meshConfigs(t, 3)
	nodes := startMesh(t, cfgs)
	ids := map[uint32]bool{}
	rs := nodes[0].rsUUID
	for i, n := range nodes {
		ids[n.id] = true
		if n.rsUUID != rs {
			t.Errorf("node %d is in replica set %s, node 1 in %s", i+1, n.rsUUID, rs)
		}
	}
	if len(ids) != 3 {
		t.Fatalf("replica ids %v", ids)
	}
	c := dialAdmin(t, nodes[0].Addr())
	call(t, c, "box.schema.space.create", "m", map[string]any{})
	call(t, c, "box.space.m:create_index", "pk", map[string]any{})
	waitSynced(t, nodes...)
	for i, n := range nodes {
		nc := dialAdmin(t, n.Addr())
		sp := spaceID(t, nc, "m")
		for j := 0; j < 10; j++ {
			if _, err := nc.Replace(ctx(t), sp, []any{i*100 + j, fmt.Sprintf("from node %d", i+1)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitSynced(t, nodes...)
	want := ""
	for i, n := range nodes {
		nc := dialAdmin(t, n.Addr())
		got := spaceJSON(t, nc, spaceID(t, nc, "m"))
		if i == 0 {
			want = got
			continue
		}
		if got != want {
			t.Errorf("node %d:\n%s\nnode 1:\n%s", i+1, got, want)
		}
	}
	var dirs []string
	for _, n := range nodes {
		n.Close()
		dirs = append(dirs, n.cfg.Dir)
	}
	verifyDirs(t, dirs...)
}

// startFailoverMesh starts a full mesh of three with quorum 2: the first
// node (its WAL in write mode) runs in its own process, to be killed; the
// other two in this one.
func startFailoverMesh(t *testing.T) ([]Config, *child, []*Node) {
	cfgs := meshConfigs(t, 3)
	for i := range cfgs {
		cfgs[i] = quorumConfig(cfgs[i])
	}
	cfgs[0].WALMode = "write"
	var a *child
	done := make(chan struct{})
	go func() {
		defer close(done)
		a = startReplChild(t, cfgs[0])
	}()
	nodes := startMesh(t, cfgs[1:])
	<-done
	return cfgs, a, nodes
}

// quorumConfig is a node with replication_synchro_quorum 2.
func quorumConfig(cfg Config) Config {
	cfg.ReplicationSynchroQuorum = 2
	cfg.ReplicationSynchroTimeout = 3 * time.Second
	cfg.ReplicationTimeout = 200 * time.Millisecond
	return cfg
}

// queueLen returns box.info.synchro.queue.len of a node.
func queueLen(n *Node) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.limbo.Len()
}

// A master with two replicas and quorum 2: synchronous writes are
// confirmed through a replica's ACK; with every replica stopped a write
// fails with ER_SYNC_QUORUM_TIMEOUT and the asynchronous write queued
// behind it with ER_SYNC_ROLLBACK, both rolled back on the master; a
// restarted replica catches up with the confirmed writes and not with the
// rolled-back ones; verify agrees with what the clients were told.
func TestNodeQuorumWithReplicas(t *testing.T) {
	mcfg := quorumConfig(replConfig(t.TempDir()))
	m := startNode(t, mcfg)
	c := dialAdmin(t, m.Addr())
	call(t, c, "box.schema.space.create", "s", map[string]any{"is_sync": true})
	call(t, c, "box.space.s:create_index", "pk")
	call(t, c, "box.schema.space.create", "a")
	call(t, c, "box.space.a:create_index", "pk")
	s, a := spaceID(t, c, "s"), spaceID(t, c, "a")
	rcfgs := []Config{followerConfig(t.TempDir(), m.Addr()), followerConfig(t.TempDir(), m.Addr())}
	replicas := []*Node{startNode(t, rcfgs[0]), startNode(t, rcfgs[1])}
	for i := 0; i < 20; i++ {
		if _, err := c.Replace(ctx(t), s, []any{i, "confirmed"}); err != nil {
			t.Fatalf("sync write %d: %v", i, err)
		}
	}
	waitSynced(t, m, replicas[0], replicas[1])
	for i, r := range replicas {
		waitFor(t, "the replica's queue to empty", 5*time.Second, func() bool { return queueLen(r) == 0 })
		rc := dialAdmin(t, r.Addr())
		if got, want := spaceJSON(t, rc, s), spaceJSON(t, c, s); got != want {
			t.Errorf("replica %d:\n%s\nmaster:\n%s", i+1, got, want)
		}
	}
	// One replica is enough for quorum 2.
	replicas[1].Close()
	if _, err := c.Replace(ctx(t), s, []any{100, "one replica"}); err != nil {
		t.Fatalf("sync write with one replica: %v", err)
	}
	// None: the write times out, the async one behind it is rolled back.
	replicas[0].Close()
	call(t, c, "box.cfg", map[string]any{"replication_synchro_timeout": 0.5})
	errs := make(chan error, 2)
	go func() {
		_, err := c.Replace(ctx(t), s, []any{200, "no quorum"})
		errs <- err
	}()
	waitFor(t, "the sync write to enter the queue", 5*time.Second, func() bool { return queueLen(m) > 0 })
	_, aerr := c.Replace(ctx(t), a, []any{1, "behind"})
	serr := <-errs
	if serr == nil || !strings.Contains(serr.Error(), "code 216") {
		t.Errorf("sync write without replicas: %v, want ER_SYNC_QUORUM_TIMEOUT", serr)
	}
	if aerr == nil || !strings.Contains(aerr.Error(), "code 217") {
		t.Errorf("async write behind it: %v, want ER_SYNC_ROLLBACK", aerr)
	}
	if got := spaceJSON(t, c, s) + spaceJSON(t, c, a); strings.Contains(got, "no quorum") || strings.Contains(got, "behind") {
		t.Errorf("rolled-back writes visible on the master: %s", got)
	}
	// A restarted replica gets the confirmed rows, and the rolled-back
	// ones followed by the ROLLBACK: it ends with the master's data.
	r := startNode(t, rcfgs[0])
	waitSynced(t, m, r)
	waitFor(t, "the replica's queue to empty", 5*time.Second, func() bool { return queueLen(r) == 0 })
	rc := dialAdmin(t, r.Addr())
	for _, sp := range []uint32{s, a} {
		if got, want := spaceJSON(t, rc, sp), spaceJSON(t, c, sp); got != want {
			t.Errorf("restarted replica, space %d:\n%s\nmaster:\n%s", sp, got, want)
		}
	}
	r.Close()
	m.Close()
	verifyDirs(t, mcfg.Dir, rcfgs[0].Dir, rcfgs[1].Dir)
}

// following reports whether n's applier to addr has subscribed.
func following(n *Node, addr string) bool {
	n.repl.mu.Lock()
	defer n.repl.mu.Unlock()
	for _, a := range n.repl.appliers {
		a.mu.Lock()
		ok := a.peer.addr == addr && a.status == "follow"
		a.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// Manual failover as in 2.6.0: in a full mesh with quorum 2 the master
// is killed (SIGKILL) with a synchronous transaction no quorum confirmed;
// a replica clears the dead master's queue (ROLLBACK signed by itself,
// since no quorum has the transaction), takes over by writing synchronous
// transactions that the third node confirms, and the old master rejoins
// after its restart with the same data as the others.
func TestNodeManualFailover(t *testing.T) {
	cfgs, a, nodes := startFailoverMesh(t)
	b := nodes[0]
	ca := dialAdmin(t, a.addr)
	call(t, ca, "box.schema.space.create", "s", map[string]any{"is_sync": true})
	call(t, ca, "box.space.s:create_index", "pk")
	s := spaceID(t, ca, "s")
	for i := 0; i < 10; i++ {
		if _, err := ca.Replace(ctx(t), s, []any{i, "from a"}); err != nil {
			t.Fatalf("sync write %d on a: %v", i, err)
		}
	}
	waitFor(t, "b and c to have a's writes", 10*time.Second, func() bool {
		for _, n := range nodes {
			if !strings.Contains(trySpaceJSON(t, dialAdmin(t, n.Addr()), s), "[9,") || queueLen(n) != 0 {
				return false
			}
		}
		return true
	})
	// The third node goes away and a needs all three: its next write
	// stays in the queues of a and b.
	nodes[1].Close()
	call(t, ca, "box.cfg", map[string]any{"replication_synchro_quorum": 3})
	lost := make(chan error, 1)
	go func() {
		_, err := ca.Replace(ctx(t), s, []any{100, "never confirmed"})
		lost <- err
	}()
	waitFor(t, "b to queue a's transaction", 5*time.Second, func() bool { return queueLen(b) > 0 })
	a.kill(t)
	if err := <-lost; err == nil {
		t.Fatal("the unconfirmed write was acknowledged")
	}
	// b clears the queue: only b has the transaction, quorum 2 -> ROLLBACK.
	cb := dialAdmin(t, b.Addr())
	call(t, cb, "box.cfg", map[string]any{"replication_synchro_timeout": 0.2})
	call(t, cb, "box.ctl.clear_synchro_queue")
	if l := queueLen(b); l != 0 {
		t.Fatalf("b's queue holds %d transactions after clear_synchro_queue", l)
	}
	// The third node comes back and follows b, whose writes it confirms.
	c3, err := openAt(t, cfgs[2])
	if err != nil {
		t.Fatal(err)
	}
	// Its ACKs count once it has subscribed to b; before, b's synchronous
	// writes would wait for it against the clock.
	waitFor(t, "the third node to follow b", 30*time.Second, func() bool { return following(c3, b.Addr()) })
	call(t, cb, "box.cfg", map[string]any{"replication_synchro_timeout": 3})
	for i := 0; i < 10; i++ {
		if _, err := cb.Replace(ctx(t), s, []any{200 + i, "from b"}); err != nil {
			t.Fatalf("sync write %d on b: %v", i, err)
		}
	}
	// The old master rejoins.
	a = startReplChild(t, cfgs[0])
	ca = dialAdmin(t, a.addr)
	want := spaceJSON(t, cb, s)
	if strings.Contains(want, "never confirmed") || !strings.Contains(want, "from b") {
		t.Fatalf("b's data: %s", want)
	}
	waitFor(t, "every node to hold b's data", 30*time.Second, func() bool {
		return trySpaceJSON(t, ca, s) == want && trySpaceJSON(t, dialAdmin(t, c3.Addr()), s) == want &&
			queueLen(b) == 0 && queueLen(c3) == 0
	})
	a.stop(t)
	b.Close()
	c3.Close()
	verifyDirs(t, cfgs[0].Dir, cfgs[1].Dir, cfgs[2].Dir)
}

// The master keeps the xlogs a disconnected replica still needs, whatever
// checkpoint_count says, and removes them once the replica has the rows.
func TestRelayKeepsFilesForReplica(t *testing.T) {
	mcfg := replConfig(t.TempDir())
	mcfg.CheckpointCount = 1
	m := startNode(t, mcfg)
	c := dialAdmin(t, m.Addr())
	call(t, c, "box.schema.space.create", "g")
	call(t, c, "box.space.g:create_index", "pk")
	sp := spaceID(t, c, "g")
	write := func(from int) {
		for i := from; i < from+10; i++ {
			if _, err := c.Replace(ctx(t), sp, []any{i}); err != nil {
				t.Fatal(err)
			}
		}
	}
	rcfg := followerConfig(t.TempDir(), m.Addr())
	r := startNode(t, rcfg)
	write(0)
	waitSynced(t, m, r)
	waitFor(t, "the replica's ACK", 5*time.Second, func() bool {
		held, _ := m.repl.gcBound()
		return held >= m.VClock().Signature()
	})
	r.Close()
	write(10)
	call(t, c, "box.snapshot")
	write(20)
	call(t, c, "box.snapshot")
	_, xlogs, err := dirFiles(mcfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(xlogs) < 2 {
		t.Fatalf("the master kept %d xlogs for its disconnected replica", len(xlogs))
	}
	r = startNode(t, rcfg)
	waitSynced(t, m, r)
	rc := dialAdmin(t, r.Addr())
	if got, want := spaceJSON(t, rc, sp), spaceJSON(t, c, sp); got != want {
		t.Fatalf("replica:\n%s\nmaster:\n%s", got, want)
	}
	waitFor(t, "the replica's ACK", 5*time.Second, func() bool {
		held, _ := m.repl.gcBound()
		return held >= m.VClock().Signature()
	})
	write(30)
	call(t, c, "box.snapshot")
	_, xlogs, _ = dirFiles(mcfg.Dir)
	if len(xlogs) > 2 {
		t.Errorf("%d xlogs left after the replica caught up and a checkpoint", len(xlogs))
	}
	r.Close()
	m.Close()
	verifyDirs(t, mcfg.Dir, rcfg.Dir)
}

// clear_synchro_queue confirms what a quorum has: the master is killed
// with a transaction both replicas wrote (its quorum was set above the
// replica set's size); clear_synchro_queue on one replica, counting the
// other's ACK, writes a CONFIRM, and the old master, restarted with the
// transaction pending in its limbo, applies that CONFIRM like the others.
func TestNodeFailoverConfirms(t *testing.T) {
	cfgs, a, nodes := startFailoverMesh(t)
	b, c := nodes[0], nodes[1]
	ca := dialAdmin(t, a.addr)
	call(t, ca, "box.schema.space.create", "s", map[string]any{"is_sync": true})
	call(t, ca, "box.space.s:create_index", "pk")
	s := spaceID(t, ca, "s")
	call(t, ca, "box.cfg", map[string]any{"replication_synchro_quorum": 4})
	lost := make(chan error, 1)
	go func() {
		_, err := ca.Replace(ctx(t), s, []any{1, "written by a quorum"})
		lost <- err
	}()
	waitFor(t, "b and c to queue a's transaction", 5*time.Second, func() bool { return queueLen(b) > 0 && queueLen(c) > 0 })
	// c's ACK of the row reaches b's relay to c (a's own ACK to b does
	// not count once a is dead): b's clear_synchro_queue finds the row
	// on a quorum.
	waitFor(t, "c's ACK of a's row to reach b", 10*time.Second, func() bool {
		b.mu.Lock()
		es, owner, last := b.limbo.Entries(), b.limbo.Owner(), uint64(0)
		if len(es) > 0 {
			last = es[len(es)-1].LSN
		}
		b.mu.Unlock()
		b.repl.mu.Lock()
		r := b.repl.relays[c.uuid]
		b.repl.mu.Unlock()
		if last == 0 || r == nil {
			return false
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.status == "follow" && r.ack.Get(owner) >= last
	})
	a.kill(t)
	if err := <-lost; err == nil {
		t.Fatal("the write was acknowledged")
	}
	cb := dialAdmin(t, b.Addr())
	call(t, cb, "box.cfg", map[string]any{"replication_synchro_timeout": 0.2})
	call(t, cb, "box.ctl.clear_synchro_queue")
	want := spaceJSON(t, cb, s)
	if !strings.Contains(want, "written by a quorum") {
		t.Fatalf("b's data after clear_synchro_queue: %s", want)
	}
	a = startReplChild(t, cfgs[0])
	ca = dialAdmin(t, a.addr)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := ca.Call(ctx(t), "box.info")
			t.Logf("a: %s\nc queue %d, b queue %d\n%s", jsonOf(t, out), queueLen(c), queueLen(b), a.stderr.String())
		}
	})
	waitFor(t, "every queue to empty", 10*time.Second, func() bool {
		return remoteQueueLen(t, ca) == 0 && queueLen(c) == 0
	})
	for _, cl := range []*client.Conn{ca, dialAdmin(t, c.Addr())} {
		if got := spaceJSON(t, cl, s); got != want {
			t.Errorf("%s\nb:\n%s", got, want)
		}
	}
	a.stop(t)
	b.Close()
	c.Close()
	verifyDirs(t, cfgs[0].Dir, cfgs[1].Dir, cfgs[2].Dir)
}

// remoteQueueLen returns box.info.synchro.queue.len of a node over the
// network (-1 when it cannot be read).
func remoteQueueLen(t testing.TB, c *client.Conn) int {
	out, err := c.Call(ctx(t), "box.info")
	if err != nil || len(out) == 0 {
		return -1
	}
	var info struct {
		Synchro struct {
			Queue struct {
				Len *int `json:"len"`
			} `json:"queue"`
		} `json:"synchro"`
	}
	if json.Unmarshal([]byte(jsonOf(t, out[0])), &info) != nil || info.Synchro.Queue.Len == nil {
		return -1
	}
	return *info.Synchro.Queue.Len
}
