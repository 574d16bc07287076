package sim

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/node/raft"
	"github.com/xlogtool/xlogtool/verify"
)

// TestReplicaSet runs replica sets of 3 and 5 nodes with data under
// faults, a seed each, and checks every run: one leader per term, no
// acknowledged write lost, a linearizable history, and verify on the
// files the nodes wrote. It runs 200 seeds by default, XLOGTOOL_SIM_SEEDS=N
// runs N, and XLOGTOOL_SIM_SEED=S runs seed S alone with its trace.
func TestReplicaSet(t *testing.T) {
	seed, one, first, last := seedsFromEnv(t, 200)
	if one {
		dir := os.Getenv("XLOGTOOL_SIM_DIR") // keeps the nodes' files
		if dir == "" {
			dir = t.TempDir()
		}
		res := NewSetScenario(seed).Run(traceWriter{t}, dir)
		for _, op := range res.Ops {
			t.Log(op)
		}
		t.Log(res.String())
		if res.Failed() {
			t.Fatal("failed")
		}
		return
	}
	failed, cut, asyncSplits, stuck := 0, 0, 0, 0
	total := map[Outcome]int{}
	for seed := first; seed <= last; seed++ {
		res := NewSetScenario(seed).Run(nil, t.TempDir())
		for o, n := range res.Outcomes {
			total[o] += n
		}
		if len(res.CutOff) > 0 {
			cut++
		}
		if res.AsyncSplits > 0 {
			asyncSplits++
		}
		if res.Stuck {
			stuck++
		}
		if res.Failed() {
			failed++
			t.Errorf("%s\nreplay: %s", res.String(), replay("TestReplicaSet", seed))
			if failed >= 5 {
				t.Fatal("too many failures")
			}
		}
	}
	t.Logf("seeds %d-%d: %d acked, %d failed, %d unknown operations; runs with a node cut off %d, with lost asynchronous rows %d, stuck %d",
		first, last, total[Acked], total[Failed], total[Unknown], cut, asyncSplits, stuck)
}

// TestReplicaSetSameSeedSameRun: a seed replays exactly, data and all.
func TestReplicaSetSameSeedSameRun(t *testing.T) {
	for _, seed := range []uint64{7, 8} {
		a, b := NewSetScenario(seed).Run(nil, ""), NewSetScenario(seed).Run(nil, "")
		if a.Trace != b.Trace || a.Steps != b.Steps || len(a.Ops) != len(b.Ops) || a.Outcomes[Acked] != b.Outcomes[Acked] {
			t.Fatalf("seed %d: two runs differ:\n%s\n%s", seed, a.String(), b.String())
		}
	}
	if NewSetScenario(7).Run(nil, "").Trace == NewSetScenario(9).Run(nil, "").Trace {
		t.Fatal("different seeds, same run")
	}
}

// TestReplicaSetCheckerFindsSplitBrain: with the quorum misconfigured to
// 1 and fencing off, partitions let two sides acknowledge writes; verify
// must find the split-brain in the files and the run must fail.
func TestReplicaSetCheckerFindsSplitBrain(t *testing.T) {
	found := 0
	for seed := uint64(1); seed <= 12; seed++ {
		s := NewSetScenario(seed)
		s.Options.Quorum = 1
		s.Options.Fencing = raft.FencingOff
		s.Async = 0
		res := s.Run(nil, t.TempDir())
		var split *verify.Finding
		for _, f := range res.Findings {
			if f.Kind == verify.KindSplitBrain {
				split = f
				break
			}
		}
		if split == nil {
			continue
		}
		if !res.Failed() {
			t.Fatalf("seed %d: verify found a split-brain but the run passed: %s", seed, res.String())
		}
		found++
		if found == 1 {
			t.Logf("seed %d: %s\n  history %s, %d violations, e.g. %s", seed, split.Message,
				res.Linearizable, len(res.Violations), res.Violations[0])
		}
	}
	if found < 3 {
		t.Fatalf("split-brain found in %d of 12 runs with quorum 1 and no fencing", found)
	}
}

// TestReplicaSetTimeoutRollback: a leader whose replicas' ACKs are cut
// off rolls a transaction back when replication_synchro_timeout expires
// (its client is told so) before fencing stops it, while the replicas,
// which have the transaction, elect a new leader whose PROMOTE confirms
// it. Tarantool 2.x's rollback on timeout is not a definite failure; the
// checks see the contradiction (the write is applied, verify reports the
// split-brain, and the old leader refuses the new PROMOTE).
func TestReplicaSetTimeoutRollback(t *testing.T) {
	w := NewWorld(1)
	rs := NewReplicaSet(w, SetOptions{Options: Options{Nodes: 3, ElectionTimeout: time.Second,
		ReplicationTimeout: 250 * time.Millisecond, Quorum: 2, Fencing: raft.FencingSoft},
		SynchroTimeout: 300 * time.Millisecond})
	rs.Net.Faults = NetFaults{MinDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond, Reconnect: 250 * time.Millisecond}
	for id := 1; id <= 3; id++ {
		rs.Disks[id].Faults = DiskFaults{MinLatency: time.Millisecond, MaxLatency: time.Millisecond}
	}
	if !w.RunUntil(30*time.Second, func() bool { return rs.Leader() != 0 }) {
		t.Fatal("no leader")
	}
	w.RunUntil(w.Now()+time.Second, nil)
	l := rs.Leader()
	var others []int
	for id := 1; id <= 3; id++ {
		if id != l {
			others = append(others, id)
		}
	}
	wl := newWorkload(rs, 1, 0, 0)
	wl.stopped = true
	op := &Op{wl: wl, Kind: OpSync, Key: "x", Val: "1", Call: w.Now()}
	wl.ops = append(wl.ops, op)
	if err := rs.Nodes[l].execute(op); err != nil {
		t.Fatal(err)
	}
	// The row reaches the replicas' disks; their ACKs do not come back.
	w.RunUntil(w.Now()+15*time.Millisecond, nil)
	rs.Net.Cut(false, []int{l}, others)
	w.RunUntil(w.Now()+5*time.Second, nil)
	if op.Outcome != Failed || op.Err != "rolled back" {
		t.Fatalf("the client was told %v (%s)", op.Outcome, op.Err)
	}
	rs.Net.Heal()
	w.RunUntil(w.Now()+5*time.Second, nil)
	rs.checkData(wl)
	applied := false
	for _, v := range rs.Check.Violations {
		applied = applied || strings.HasPrefix(v, "failed write applied")
	}
	bad, _, _ := rs.verifyFiles(t.TempDir(), wl)
	var split *verify.Finding
	for _, f := range bad {
		if f.Kind == verify.KindSplitBrain {
			split = f
		}
	}
	if !applied || split == nil || !rs.Nodes[l].refuses() {
		t.Fatalf("applied %v, split-brain %v, old leader refusing %v: %v", applied, split, rs.Nodes[l].refuses(), rs.Check.Violations)
	}
	t.Logf("%s", split.Message)
}

// TestReplicaSetSpread: the default seeds cover both sizes, every
// outcome of every kind of operation, crashes and several terms.
func TestReplicaSetSpread(t *testing.T) {
	sizes := map[int]int{}
	kinds := map[OpKind]map[Outcome]int{OpSync: {}, OpAsync: {}, OpRead: {}}
	var terms uint64
	for seed := uint64(1); seed <= 20; seed++ {
		res := NewSetScenario(seed).Run(nil, "")
		sizes[res.Options.Nodes]++
		terms += res.Terms
		for _, op := range res.Ops {
			kinds[op.Kind][op.Outcome]++
		}
	}
	if sizes[3] == 0 || sizes[5] == 0 || terms < 20*3 {
		t.Fatalf("sizes %v, %d terms in 20 runs", sizes, terms)
	}
	for k, o := range kinds {
		if o[Acked] == 0 || o[Failed] == 0 {
			t.Fatalf("%v: outcomes %v", k, o)
		}
	}
	if kinds[OpSync][Unknown] == 0 {
		t.Fatalf("no unknown outcome: %v", kinds)
	}
	t.Logf("outcomes over 20 runs: %v", kinds)
}

// TestReplicaSetRestartedOwnerTakesLateConfirm replays seed 9696: the old
// leader's CONFIRM of entries the new leader's PROMOTE had confirmed
// reaches the new leader only after it restarted. It must take it as the
// node that did not restart does (node.Limbo.Recovered keeps the former
// owner's confirmed LSN); refused, the two nodes left were cut off for
// good and the set had no quorum.
func TestReplicaSetRestartedOwnerTakesLateConfirm(t *testing.T) {
	res := NewSetScenario(9696).Run(nil, t.TempDir())
	if res.Failed() || len(res.CutOff) > 0 {
		t.Fatalf("%s\nreplay: %s", res.String(), replay("TestReplicaSet", 9696))
	}
}
