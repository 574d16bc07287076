package verify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/verify"
)

// Live replica sets of the installed Tarantool (2.6.0: synchronous spaces
// and a quorum, an implicit queue owner, box.ctl.clear_synchro_queue; no
// Raft and no PROMOTE).

const liveCfg = `replication_timeout = 0.3, replication_synchro_quorum = 2,
replication_synchro_timeout = 30, checkpoint_count = 10`

const liveInit = `box.schema.space.create('s', {id = 600, is_sync = true, if_not_exists = true}):create_index('pk', {if_not_exists = true})
box.schema.space.create('a', {id = 601, if_not_exists = true}):create_index('pk', {if_not_exists = true})`

// liveSet is a three-instance replica set ordered by replica id.
type liveSet struct {
	t     *testing.T
	insts []*tarantooltest.Instance // index i has replica id i+1
}

func startLiveSet(t *testing.T) *liveSet {
	tarantooltest.Require(t)
	rs := tarantooltest.StartReplicaSet(t, 3, tarantooltest.InstanceOptions{Cfg: liveCfg, Init: liveInit})
	ls := &liveSet{t: t, insts: make([]*tarantooltest.Instance, 3)}
	for _, in := range rs {
		res := in.Eval(t, "return box.info.id")
		id := int(tarantooltest.Int(t, res[0]))
		if id < 1 || id > 3 || ls.insts[id-1] != nil {
			t.Fatalf("unexpected replica id %v", res[0])
		}
		ls.insts[id-1] = in
	}
	return ls
}

// evalSync runs Lua statements that write to a synchronous space on in,
// again when they fail with ER_SYNC_QUORUM_TIMEOUT. Tarantool 2.6.0 now and
// then loses a replica's ACK that arrives before the master has finished
// its own WAL write, and the relay does not send an unchanged vclock again,
// so the transaction waits out its timeout although every replica has it.
// A timed-out transaction is rolled back everywhere (a ROLLBACK row), so
// the statements can run again.
func evalSync(t *testing.T, in *tarantooltest.Instance, stmts string) {
	t.Helper()
	in.Eval(t, `local f = assert(loadstring(...))
		local timeout = box.cfg.replication_synchro_timeout
		box.cfg{replication_synchro_timeout = 3}
		local ok, err
		for _ = 1, 5 do
			ok, err = pcall(f)
			if ok or type(err) ~= 'cdata' or err.code ~= 216 then break end
		end
		box.cfg{replication_synchro_timeout = timeout}
		if not ok then error(err) end`, stmts)
}

func (ls *liveSet) lsn(i int) int64 {
	return ls.insts[i].LSN(ls.t)
}

// connect configures instance i to replicate from the instances listed
// (by index) and waits until it follows them.
func (ls *liveSet) connect(i int, from ...int) {
	var peers []*tarantooltest.Instance
	for _, j := range from {
		peers = append(peers, ls.insts[j])
	}
	ls.insts[i].ReplicateFrom(ls.t, peers...)
}

// stopAll stops every instance gracefully, so the last xlogs are closed.
func (ls *liveSet) stopAll() {
	for _, in := range ls.insts {
		in.Stop(ls.t)
	}
}

func (ls *liveSet) sources() []verify.Source {
	var srcs []verify.Source
	for i, in := range ls.insts {
		srcs = append(srcs, verify.Source{Name: fmt.Sprintf("i%d", i+1), Dir: in.Dir()})
	}
	return srcs
}

func runVerify(t *testing.T, srcs []verify.Source) *verify.Report {
	t.Helper()
	rep, err := verify.Run(context.Background(), srcs, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func dumpReport(t *testing.T, rep *verify.Report) string {
	var b strings.Builder
	rep.WriteText(&b)
	return b.String()
}

// TestLiveCleanFailover: the master stops writing and becomes read-only,
// a replica clears the queue, becomes writable and writes on: no errors.
func TestLiveCleanFailover(t *testing.T) {
	ls := startLiveSet(t)
	m, n := ls.insts[0], ls.insts[1]
	ls.insts[1].Eval(t, "box.cfg{read_only = true}")
	ls.insts[2].Eval(t, "box.cfg{read_only = true}")
	for i := 1; i <= 5; i++ {
		m.Eval(t, fmt.Sprintf("box.space.s:insert{%d} box.space.a:insert{%d}", i, i))
	}
	m.Eval(t, "box.begin() box.space.s:insert{6} box.space.a:insert{6} box.commit()")
	tarantooltest.WaitReplicated(t, m, n, ls.insts[2])

	m.Eval(t, "box.cfg{read_only = true}")
	tarantooltest.WaitReplicated(t, m, n, ls.insts[2])
	n.Eval(t, "box.ctl.clear_synchro_queue() box.cfg{read_only = false}")
	for i := 10; i <= 14; i++ {
		n.Eval(t, fmt.Sprintf("box.space.s:insert{%d} box.space.a:insert{%d}", i, i))
	}
	n.Eval(t, "box.snapshot()")
	n.Eval(t, "box.space.s:insert{20}")
	tarantooltest.WaitReplicated(t, n, m, ls.insts[2])
	ls.stopAll()

	rep := runVerify(t, ls.sources())
	text := dumpReport(t, rep)
	if rep.HasErrors() {
		t.Fatalf("clean failover has errors:\n%s", text)
	}
	for _, in := range rep.Instances {
		if in.ReplicaID == 0 {
			t.Errorf("%s: replica id not found:\n%s", in.Name, text)
		}
		if in.Sync.Confirmed < 12 || in.Sync.RolledBack != 0 || in.Sync.Pending != 0 {
			t.Errorf("%s: sync counts %+v:\n%s", in.Name, in.Sync, text)
		}
	}
	if !rep.SameVClocks() {
		t.Errorf("vclocks differ after a clean failover:\n%s", text)
	}
	if len(rep.Replicasets) != 1 || rep.Replicasets[0].UUID == "" || len(rep.Replicasets[0].Instances) != 3 {
		t.Errorf("replica sets %+v:\n%s", rep.Replicasets, text)
	}
}

// TestLiveSplitBrainAsync: the old master is cut off and goes on writing
// (asynchronous rows, and a synchronous one that times out and is rolled
// back) while a replica takes over and writes synchronous transactions;
// then they are connected again and exchange everything.
func TestLiveSplitBrainAsync(t *testing.T) {
	ls := startLiveSet(t)
	m, n, r := ls.insts[0], ls.insts[1], ls.insts[2]
	n.Eval(t, "box.cfg{read_only = true}")
	r.Eval(t, "box.cfg{read_only = true}")
	for i := 1; i <= 3; i++ {
		m.Eval(t, fmt.Sprintf("box.space.s:insert{%d} box.space.a:insert{%d}", i, i))
	}
	tarantooltest.WaitReplicated(t, m, n, r)
	known := ls.lsn(0)

	// Isolate the old master in both directions.
	m.CutReplication(t)
	ls.connect(1, 2)
	ls.connect(2, 1)

	m.Eval(t, "box.space.a:insert{100} box.space.a:insert{101} box.space.a:insert{102}")
	m.Eval(t, "box.cfg{replication_synchro_timeout = 0.2}")
	if _, err := m.EvalErr("box.space.s:insert{103}"); err == nil {
		t.Fatal("a synchronous insert on the isolated master succeeded")
	}
	oldEnd := ls.lsn(0)

	claimAt := ls.lsn(1) + 1
	n.Eval(t, "box.ctl.clear_synchro_queue() box.cfg{read_only = false}")
	for i := 200; i < 203; i++ {
		evalSync(t, n, fmt.Sprintf("box.space.s:insert{%d}", i))
	}
	tarantooltest.WaitReplicated(t, n, r)

	// Reconnect everything.
	ls.connect(0, 1, 2)
	ls.connect(1, 0, 2)
	ls.connect(2, 0, 1)
	tarantooltest.WaitReplicated(t, n, m)
	time.Sleep(300 * time.Millisecond)
	ls.stopAll()

	rep := runVerify(t, ls.sources())
	text := dumpReport(t, rep)
	var sb *verify.Finding
	for _, f := range rep.Findings {
		if f.Kind == verify.KindSplitBrain && len(f.Sides) == 2 && f.Sides[0].ReplicaID == 1 && f.Sides[1].ReplicaID == 2 {
			sb = f
		}
	}
	if sb == nil {
		t.Fatalf("no split-brain between replica 1 and 2 found:\n%s", text)
	}
	if sb.LSNFrom != uint64(known+1) || sb.LSNTo != uint64(known+3) {
		t.Errorf("old master's range %d-%d, want %d-%d (old master ended at %d):\n%s", sb.LSNFrom, sb.LSNTo, known+1, known+3, oldEnd, text)
	}
	if sb.Sides[1].LSNFrom != uint64(claimAt) || sb.Sides[1].LSNTo < uint64(claimAt+2) {
		t.Errorf("new master's range %d-%d, want %d-%d or more:\n%s", sb.Sides[1].LSNFrom, sb.Sides[1].LSNTo, claimAt, claimAt+2, text)
	}
	if !strings.Contains(sb.Followed, "i3") || !strings.Contains(sb.Followed, "replica 2") {
		t.Errorf("followed = %q, want i3 following replica 2:\n%s", sb.Followed, text)
	}
	var page strings.Builder
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf("split point 1:%d", known+1), fmt.Sprintf("split point 2:%d", claimAt)} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("the timeline page does not mark %q", want)
		}
	}
}

// TestLiveSplitBrainConfirmedRolledBack: a synchronous transaction of the
// old master reaches the replicas but not its quorum; the master is cut
// off, a replica clears the queue (confirming it: the other replica has
// it too) and takes over; then the old master rolls it back by timeout
// and goes on writing. Reconnected, the replicas refuse the old master's
// ROLLBACK (2.6.0: ER_SYNC_MASTER_MISMATCH), so its later rows stay on it.
func TestLiveSplitBrainConfirmedRolledBack(t *testing.T) {
	ls := startLiveSet(t)
	m, n, r := ls.insts[0], ls.insts[1], ls.insts[2]
	n.Eval(t, "box.cfg{read_only = true}")
	r.Eval(t, "box.cfg{read_only = true}")
	for i := 1; i <= 3; i++ {
		evalSync(t, m, fmt.Sprintf("box.space.s:insert{%d}", i))
	}
	tarantooltest.WaitReplicated(t, m, n, r)

	// A quorum that cannot be met: the transaction waits on the master.
	x := ls.lsn(0) + 1
	m.Eval(t, `box.cfg{replication_synchro_quorum = 4, replication_synchro_timeout = 1000}
		require('fiber').create(function() pcall(box.space.s.insert, box.space.s, {50}) end)`)
	m.WaitFor(t, fmt.Sprintf("box.info.lsn >= %d", x), 10*time.Second)
	tarantooltest.WaitReplicated(t, m, n, r)

	m.CutReplication(t)
	ls.connect(1, 2)
	ls.connect(2, 1)
	// clear_synchro_queue confirms what a quorum acknowledged: r's ACK of
	// the transaction must have reached n.
	n.WaitAcked(t, r, 1, x)
	n.Eval(t, "box.cfg{replication_synchro_timeout = 0.1}")
	n.Eval(t, "box.ctl.clear_synchro_queue() box.cfg{read_only = false, replication_synchro_timeout = 30}")
	n.WaitFor(t, "box.space.s:get{50} ~= nil", 10*time.Second)
	for i := 200; i < 203; i++ {
		evalSync(t, n, fmt.Sprintf("box.space.s:insert{%d}", i))
	}
	tarantooltest.WaitReplicated(t, n, r)

	// Now let the old master's transaction time out: ROLLBACK.
	m.Eval(t, "box.cfg{replication_synchro_timeout = 0.01}")
	m.WaitFor(t, "box.space.s:get{50} == nil", 10*time.Second)
	m.Eval(t, "box.cfg{replication_synchro_quorum = 2} box.space.a:insert{300} box.space.a:insert{301}")
	oldEnd := ls.lsn(0)

	ls.connect(0, 1, 2)
	ls.insts[1].Eval(t, "box.cfg{replication = ...}", []any{n.URI(), m.URI(), r.URI()})
	ls.insts[2].Eval(t, "box.cfg{replication = ...}", []any{r.URI(), m.URI(), n.URI()})
	tarantooltest.WaitReplicated(t, n, m)
	time.Sleep(500 * time.Millisecond)
	ls.stopAll()

	rep := runVerify(t, ls.sources())
	text := dumpReport(t, rep)
	var fate, conc *verify.Finding
	for _, f := range rep.Findings {
		if f.Kind != verify.KindSplitBrain || len(f.Sides) != 2 {
			continue
		}
		if f.Sides[1].What == "rolled back" {
			fate = f
		} else if f.Sides[0].ReplicaID == 1 && f.Sides[1].ReplicaID == 2 {
			conc = f
		}
	}
	if fate == nil {
		t.Fatalf("no confirmed-vs-rolled-back split-brain:\n%s", text)
	}
	if fate.ReplicaID != 1 || fate.LSNFrom != uint64(x) || fate.LSNTo != uint64(x) {
		t.Errorf("fate conflict at %d:%d-%d, want 1:%d:\n%s", fate.ReplicaID, fate.LSNFrom, fate.LSNTo, x, text)
	}
	if strings.Join(fate.Sides[0].Instances, ",") != "i2,i3" || strings.Join(fate.Sides[1].Instances, ",") != "i1" {
		t.Errorf("sides %+v, want confirmed on i2,i3 and rolled back on i1:\n%s", fate.Sides, text)
	}
	if conc == nil {
		t.Fatalf("no split-brain for the old master's later rows:\n%s", text)
	}
	if conc.LSNFrom != uint64(x+2) || conc.LSNTo != uint64(oldEnd) {
		t.Errorf("old master's rows %d-%d, want %d-%d:\n%s", conc.LSNFrom, conc.LSNTo, x+2, oldEnd, text)
	}
	if got := strings.Join(conc.Sides[0].Instances, ","); got != "i1" {
		t.Errorf("old master's rows are on %s, want only i1:\n%s", got, text)
	}
	t.Logf("%s", text)
}
