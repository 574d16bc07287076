package replay_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/replay"
	"github.com/xlogtool/xlogtool/verify"
)

// Differential tests on live Tarantool 2.6.0 replica sets after a manual
// failover: the state replay rebuilds from each instance's data directory
// must equal what select() returned on that instance before it stopped.

const failoverCfg = `replication_timeout = 0.3, replication_synchro_quorum = 2,
replication_synchro_timeout = 30, checkpoint_count = 10`

const failoverInit = `box.schema.space.create('s', {id = 600, is_sync = true}):create_index('pk')
box.schema.space.create('a', {id = 601}):create_index('pk')`

// failoverSet is a three-instance replica set; index i has replica id i+1.
type failoverSet struct {
	t     *testing.T
	insts []*tarantooltest.Instance
	// live holds each instance's keys of spaces 600 and 601, taken by
	// select() right before the instance stopped.
	live [][2][]int64
	// owners are the queue owners the instances end with.
	owners []uint32
	// pending is the master's LSN of the last pendingOnMaster.
	pending int64
}

func startFailoverSet(t *testing.T) *failoverSet {
	tarantooltest.Require(t)
	rs := tarantooltest.StartReplicaSet(t, 3, tarantooltest.InstanceOptions{Cfg: failoverCfg, Init: failoverInit})
	fs := &failoverSet{t: t, insts: make([]*tarantooltest.Instance, 3), live: make([][2][]int64, 3)}
	for _, in := range rs {
		id := int(num(t, in.Eval(t, "return box.info.id")[0]))
		if id < 1 || id > 3 || fs.insts[id-1] != nil {
			t.Fatalf("unexpected replica id %d", id)
		}
		fs.insts[id-1] = in
	}
	// Only the master writes; the others are read-only until they take over.
	fs.insts[1].Eval(t, "box.cfg{read_only = true}")
	fs.insts[2].Eval(t, "box.cfg{read_only = true}")
	return fs
}

func num(t *testing.T, v any) int64 { return tarantooltest.Int(t, v) }

func (fs *failoverSet) lsn(i int) int64 { return fs.insts[i].LSN(fs.t) }

// connect makes instance i replicate from the instances listed.
func (fs *failoverSet) connect(i int, from ...int) {
	var peers []*tarantooltest.Instance
	for _, j := range from {
		peers = append(peers, fs.insts[j])
	}
	fs.insts[i].ReplicateFrom(fs.t, peers...)
}

// snapshotLive records what select() returns on instance i.
func (fs *failoverSet) snapshotLive(i int) {
	for k, space := range []string{"s", "a"} {
		res := fs.insts[i].Eval(fs.t, fmt.Sprintf(
			"local r = {} for _, t in box.space.%s:pairs() do table.insert(r, t[1]) end return r", space))
		var keys []int64
		if len(res) > 0 {
			if list, ok := res[0].([]any); ok {
				for _, v := range list {
					keys = append(keys, num(fs.t, v))
				}
			}
		}
		slices.Sort(keys)
		fs.live[i][k] = keys
	}
}

// stop records the live state of every running instance and stops it.
func (fs *failoverSet) stop(i int) {
	fs.snapshotLive(i)
	fs.insts[i].Stop(fs.t)
}

// check replays every instance's directory and compares with select().
func (fs *failoverSet) check() {
	t := fs.t
	for i, in := range fs.insts {
		res, err := replay.Recover(context.Background(), replay.RecoverOptions{Paths: []string{in.Dir()}})
		if err != nil {
			t.Fatalf("i%d: replay: %v", i+1, err)
		}
		for k, id := range []uint32{600, 601} {
			var got []int64
			if sp := res.State.Space(id); sp != nil {
				for _, tu := range sp.Tuples() {
					got = append(got, num(t, tu[0]))
				}
			}
			slices.Sort(got)
			if want := fs.live[i][k]; !slices.Equal(got, want) {
				t.Errorf("i%d space %d: replay has %v\nselect() had %v\n(queue owner %d, %d pending, %d rolled back)",
					i+1, id, got, want, res.Queue.Owner, res.Counts.Pending, res.Counts.RolledBack)
			}
		}
		if res.Queue.Owner != fs.wantOwner(i) || res.Counts.Pending != 0 {
			t.Errorf("i%d: replay reports queue owner %d and %d pending, want owner %d and none pending",
				i+1, res.Queue.Owner, res.Counts.Pending, fs.wantOwner(i))
		}
	}
	// verify reads the same queue from the same files.
	var srcs []verify.Source
	for i, in := range fs.insts {
		srcs = append(srcs, verify.Source{Name: fmt.Sprintf("i%d", i+1), Dir: in.Dir()})
	}
	rep, err := verify.Run(context.Background(), srcs, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Instances) != len(fs.insts) {
		t.Fatalf("verify reports %d instances", len(rep.Instances))
	}
	for _, in := range rep.Instances {
		var i int
		if _, err := fmt.Sscanf(in.Name, "i%d", &i); err != nil || i < 1 || i > len(fs.insts) {
			t.Fatalf("verify instance %q", in.Name)
		}
		i--
		if in.Queue.Owner != fs.wantOwner(i) || in.Sync.Pending != 0 || in.Sync.QueuedPending != 0 {
			t.Errorf("%s: verify reports queue owner %d, %d+%d pending; want owner %d, none pending",
				in.Name, in.Queue.Owner, in.Sync.Pending, in.Sync.QueuedPending, fs.wantOwner(i))
		}
	}
}

// wantOwner is the queue owner instance i ends with: the instance whose
// synchronous transactions it applied last.
func (fs *failoverSet) wantOwner(i int) uint32 { return fs.owners[i] }

// pendingOnMaster starts a synchronous insert of key k on the master
// that cannot gather its quorum, followed by an asynchronous one queued
// behind it, and waits until both reached the replicas.
func (fs *failoverSet) pendingOnMaster(k int) {
	m := fs.insts[0]
	x := fs.lsn(0) + 2
	m.Eval(fs.t, fmt.Sprintf(`box.cfg{replication_synchro_quorum = 4, replication_synchro_timeout = 1000}
		local fiber = require('fiber')
		fiber.create(function() pcall(box.space.s.insert, box.space.s, {%d}) end)
		fiber.create(function() pcall(box.space.a.insert, box.space.a, {%d}) end)`, k, k))
	m.WaitFor(fs.t, fmt.Sprintf("box.info.lsn >= %d", x), 10*time.Second)
	tarantooltest.WaitReplicated(fs.t, m, fs.insts[1], fs.insts[2])
	fs.pending = x
}

// writes has the master at index i write n synchronous and n
// asynchronous rows starting at key from.
func (fs *failoverSet) writes(i, from, n int) {
	for k := from; k < from+n; k++ {
		fs.insts[i].Eval(fs.t, fmt.Sprintf("box.space.s:insert{%d} box.space.a:insert{%d}", k, k))
	}
	fs.insts[i].Eval(fs.t, fmt.Sprintf("box.begin() box.space.s:insert{%d} box.space.a:insert{%d} box.commit()", from+n, from+n))
}

// TestLiveFailoverConfirm: the master dies with a synchronous
// transaction that the replicas have; a replica clears the queue
// (CONFIRM for the old master's queue, signed by itself) and writes on;
// the old master comes back and follows it.
func TestLiveFailoverConfirm(t *testing.T) { failover(t, 2) }

// TestLiveFailoverRollback: as above, but the new master's quorum cannot
// be met when it clears the queue: it rolls the old master's transaction
// (and the one queued behind it) back.
func TestLiveFailoverRollback(t *testing.T) { failover(t, 3) }

// failover kills the master with a transaction pending and has replica 2
// clear the queue with the quorum given (2: CONFIRM, 3: ROLLBACK).
func failover(t *testing.T, quorum int) {
	fs := startFailoverSet(t)
	m, n, r := fs.insts[0], fs.insts[1], fs.insts[2]
	fs.writes(0, 1, 5)
	fs.pendingOnMaster(50)
	m.Kill(t)

	fs.connect(1, 2)
	fs.connect(2, 1)
	// clear_synchro_queue counts the acks of the relays it still has: wait
	// until the new master's relay to the dead one has stopped.
	n.WaitFor(t, `(function() local r = box.info.replication[1]
		local d = r and r.downstream
		return d == nil or d.status ~= 'follow' end)()`, 30*time.Second)
	// ... and until r's ACK of the pending transaction has reached it.
	n.WaitAcked(t, r, 1, fs.pending)
	n.Eval(t, fmt.Sprintf("box.cfg{replication_synchro_timeout = 0.1, replication_synchro_quorum = %d} box.ctl.clear_synchro_queue()", quorum))
	n.Eval(t, "box.cfg{read_only = false, replication_synchro_timeout = 30, replication_synchro_quorum = 2}")
	want := "return box.space.s:get{50} ~= nil and box.space.a:get{50} ~= nil"
	if quorum > 2 {
		want = "return box.space.s:get{50} == nil and box.space.a:get{50} == nil"
	}
	if n.Eval(t, want)[0] != true {
		t.Fatalf("clear_synchro_queue with quorum %d: not the expected outcome (%s)", quorum, want)
	}
	fs.writes(1, 100, 10)
	tarantooltest.WaitReplicated(t, n, r)

	m.Start(t)
	m.Eval(t, "box.cfg{read_only = true}")
	tarantooltest.WaitReplicated(t, n, m)
	fs.writes(1, 200, 3)
	tarantooltest.WaitReplicated(t, n, m, r)
	fs.owners = []uint32{2, 2, 2}
	for i := range fs.insts {
		fs.stop(i)
	}
	fs.check()
}

// TestLiveFailoverIsolatedMaster: the old master is cut off and keeps
// writing (asynchronous rows, and a synchronous one it rolls back by
// timeout) while a replica takes over; they are never reconnected.
func TestLiveFailoverIsolatedMaster(t *testing.T) {
	fs := startFailoverSet(t)
	m, n, r := fs.insts[0], fs.insts[1], fs.insts[2]
	fs.writes(0, 1, 3)
	tarantooltest.WaitReplicated(t, m, n, r)

	m.CutReplication(t)
	fs.connect(1, 2)
	fs.connect(2, 1)
	m.Eval(t, "box.space.a:insert{100} box.space.a:insert{101}")
	m.Eval(t, "box.cfg{replication_synchro_timeout = 0.2}")
	if _, err := m.EvalErr("box.space.s:insert{102}"); err == nil {
		t.Fatal("a synchronous insert on the isolated master succeeded")
	}
	m.Eval(t, "box.cfg{replication_synchro_quorum = 1} box.space.s:insert{103} box.space.a:insert{104}")

	n.Eval(t, "box.ctl.clear_synchro_queue() box.cfg{read_only = false}")
	fs.writes(1, 200, 5)
	tarantooltest.WaitReplicated(t, n, r)
	fs.owners = []uint32{1, 2, 2}
	for i := range fs.insts {
		fs.stop(i)
	}
	fs.check()
}

// TestLiveFailoverSplitFates: a synchronous transaction of the old master
// reaches the replicas but not its quorum; the master is cut off, a
// replica confirms it by clearing the queue and writes on, while the old
// master rolls it back by timeout and writes on too.
func TestLiveFailoverSplitFates(t *testing.T) {
	fs := startFailoverSet(t)
	m, n, r := fs.insts[0], fs.insts[1], fs.insts[2]
	fs.writes(0, 1, 3)
	tarantooltest.WaitReplicated(t, m, n, r)
	fs.pendingOnMaster(50)

	m.CutReplication(t)
	fs.connect(1, 2)
	fs.connect(2, 1)
	n.WaitAcked(t, r, 1, fs.pending) // clear_synchro_queue counts r's ACK
	n.Eval(t, "box.cfg{replication_synchro_timeout = 0.1} box.ctl.clear_synchro_queue()")
	n.Eval(t, "box.cfg{read_only = false, replication_synchro_timeout = 30}")
	fs.writes(1, 200, 5)
	tarantooltest.WaitReplicated(t, n, r)

	m.Eval(t, "box.cfg{replication_synchro_timeout = 0.01}")
	m.WaitFor(t, "box.space.s:get{50} == nil", 10*time.Second)
	m.Eval(t, "box.cfg{replication_synchro_quorum = 1, replication_synchro_timeout = 30}")
	fs.writes(0, 300, 3)
	if m.Eval(t, "return box.space.s:get{50} == nil")[0] != true || n.Eval(t, "return box.space.s:get{50} ~= nil")[0] != true {
		t.Fatal("the fates of key 50 do not differ")
	}
	fs.owners = []uint32{1, 2, 2}
	for i := range fs.insts {
		fs.stop(i)
	}
	fs.check()
}
