package sim

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/node/raft"
)

// replay is the command that reruns one seed of a test with its trace.
func replay(test string, seed uint64) string {
	return fmt.Sprintf("XLOGTOOL_SIM_SEED=%d go test ./node/raft/sim -run '%s$' -v", seed, test)
}

// TestSimulation runs randomised replica sets of 3 and 5 nodes under
// faults and checks the invariants and liveness of every run. It runs 300
// seeds by default, XLOGTOOL_SIM_SEEDS=N runs N, and XLOGTOOL_SIM_SEED=S
// runs seed S alone and prints its trace.
func TestSimulation(t *testing.T) {
	seed, one, first, last := seedsFromEnv(t, 300)
	if one {
		res := NewScenario(seed).Run(traceWriter{t})
		t.Log(res.String())
		if res.Failed() {
			t.Fatal("failed")
		}
		return
	}
	var worst time.Duration
	failed := 0
	for seed := first; seed <= last; seed++ {
		res := NewScenario(seed).Run(nil)
		if res.Failed() {
			failed++
			t.Errorf("%s\nreplay: %s", res.String(), replay("TestSimulation", seed))
			if failed >= 5 {
				t.Fatal("too many failures")
			}
		}
		worst = max(worst, res.Elected)
	}
	t.Logf("seeds %d-%d, slowest election after healing %v", first, last, worst)
}

// seedsFromEnv reads XLOGTOOL_SIM_SEED, one seed to replay (one), and
// XLOGTOOL_SIM_SEEDS, how many seeds to run (def by default), from
// XLOGTOOL_SIM_FIRST on (1 by default): seeds first..last.
func seedsFromEnv(t *testing.T, def int) (seed uint64, one bool, first, last uint64) {
	if s := os.Getenv("XLOGTOOL_SIM_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("XLOGTOOL_SIM_SEED=%q: %v", s, err)
		}
		return seed, true, seed, seed
	}
	n := def
	if s := os.Getenv("XLOGTOOL_SIM_SEEDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("XLOGTOOL_SIM_SEEDS=%q: want a positive number", s)
		}
		n = v
	}
	first = 1
	if s := os.Getenv("XLOGTOOL_SIM_FIRST"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil || v < 1 {
			t.Fatalf("XLOGTOOL_SIM_FIRST=%q: want a positive number", s)
		}
		first = v
	}
	return 0, false, first, first + uint64(n) - 1
}

type traceWriter struct{ t *testing.T }

func (w traceWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// TestSameSeedSameRun: a seed replays exactly.
func TestSameSeedSameRun(t *testing.T) {
	for _, seed := range []uint64{7, 8} {
		a, b := NewScenario(seed).Run(nil), NewScenario(seed).Run(nil)
		if a.Trace != b.Trace || a.Steps != b.Steps || a.Elected != b.Elected || a.Terms != b.Terms {
			t.Fatalf("seed %d: two runs differ: %s / %s", seed, a.String(), b.String())
		}
	}
	if NewScenario(7).Run(nil).Trace == NewScenario(9).Run(nil).Trace {
		t.Fatal("different seeds, same run")
	}
}

// TestCheckerFindsSplitBrain: with the quorum misconfigured to 1 and
// fencing off, partitions elect two leaders in one term, and the checker
// must say so.
func TestCheckerFindsSplitBrain(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		s := NewScenario(seed)
		s.Options.Quorum = 1
		s.Options.Fencing = raft.FencingOff
		res := s.Run(nil)
		for _, v := range res.Violations {
			if len(v) > 11 && v[:11] == "two leaders" {
				t.Logf("seed %d: %s", seed, v)
				return
			}
		}
	}
	t.Fatal("no split brain found with quorum 1")
}

// TestScenarioSpread: the default seeds cover both sizes, every fencing
// mode and real fault activity (several terms per run).
func TestScenarioSpread(t *testing.T) {
	sizes, fencing := map[int]int{}, map[raft.Fencing]int{}
	var terms uint64
	for seed := uint64(1); seed <= 20; seed++ {
		res := NewScenario(seed).Run(nil)
		sizes[res.Options.Nodes]++
		fencing[res.Options.Fencing]++
		terms += res.Terms
	}
	if sizes[3] == 0 || sizes[5] == 0 || len(fencing) != 3 || terms < 20*3 {
		t.Fatalf("sizes %v, fencing %v, %d terms in 20 runs", sizes, fencing, terms)
	}
}
