package sim

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// replaySet is the command that reruns one seed of the replica-set
// simulation with its trace.
func replaySet(seed uint64) string {
	return fmt.Sprintf("XLOGTOOL_SIM_SEED=%d go test ./node/raft/sim -run TestReplicaSet -v", seed)
}

// TestReplicaSet runs replica sets of 3 and 5 nodes with data under
// faults, a seed each, and checks every run: one leader per term, no
// acknowledged write lost, a linearizable history, and verify on the
// files the nodes wrote. It runs 200 seeds by default, XLOGTOOL_SIM_SEEDS=N
// runs N, and XLOGTOOL_SIM_SEED=S runs seed S alone with its trace.
func TestReplicaSet(t *testing.T) {
	if s := os.Getenv("XLOGTOOL_SIM_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("XLOGTOOL_SIM_SEED=%q: %v", s, err)
		}
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
	seeds := 200
	if s := os.Getenv("XLOGTOOL_SIM_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("XLOGTOOL_SIM_SEEDS=%q: want a positive number", s)
		}
		seeds = n
	}
	failed := 0
	total := map[Outcome]int{}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		res := NewSetScenario(seed).Run(nil, t.TempDir())
		for o, n := range res.Outcomes {
			total[o] += n
		}
		if res.Failed() {
			failed++
			t.Errorf("%s\nreplay: %s", res.String(), replaySet(seed))
			if failed >= 5 {
				t.Fatal("too many failures")
			}
		}
	}
	t.Logf("%d seeds: %d acked, %d failed, %d unknown operations", seeds, total[Acked], total[Failed], total[Unknown])
}
