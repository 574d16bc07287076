package node

import (
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// The replication benchmark (docs/node-replication.md), opt-in with
// XLOGTOOL_BENCH_REPL=1: synchronous writes with quorum 2 on a master with
// two replicas, the node against Tarantool 2.6.0 on the same machine, and
// the replication lag under that load. Timings are printed, never checked.

type loadResult struct {
	ops      int
	elapsed  time.Duration
	lat      []time.Duration
	lagP50   time.Duration
	lagMax   time.Duration
	failures int
}

func (r loadResult) String() string {
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	pct := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[int(p*float64(len(r.lat)-1))]
	}
	return fmt.Sprintf("%8.0f writes/s  p50 %7.2f ms  p99 %7.2f ms  failed %d  replica lag p50 %6.2f ms max %6.2f ms",
		float64(r.ops)/r.elapsed.Seconds(), ms(pct(0.5)), ms(pct(0.99)), r.failures, ms(r.lagP50), ms(r.lagMax))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// syncLoad runs clients concurrent writers on c for d and samples, every
// 20 ms, how far behind the replica (lsnOf) is in time: the age of the
// oldest write the replica does not have yet.
func syncLoad(t *testing.T, c *client.Conn, space uint32, clients int, d time.Duration, masterLSN, replicaLSN func() uint64) loadResult {
	var mu sync.Mutex
	var res loadResult
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < clients; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var lat []time.Duration
			fails := 0
			for i := 0; ; i++ {
				select {
				case <-stop:
					mu.Lock()
					res.lat = append(res.lat, lat...)
					res.failures += fails
					mu.Unlock()
					return
				default:
				}
				t0 := time.Now()
				if _, err := c.Replace(ctx(t), space, []any{g*10_000_000 + i, "payload-0123456789"}); err != nil {
					if fails == 0 && g == 0 {
						t.Logf("write: %v", err)
					}
					fails++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
		}(g)
	}
	// Lag: the time from a master LSN being reached to the replica reaching it.
	var lags []time.Duration
	type mark struct {
		lsn uint64
		at  time.Time
	}
	var marks []mark
	tick := time.NewTicker(5 * time.Millisecond)
	deadline := time.After(d)
loop:
	for {
		select {
		case <-deadline:
			break loop
		case now := <-tick.C:
			marks = append(marks, mark{masterLSN(), now})
			r := replicaLSN()
			for len(marks) > 0 && marks[0].lsn <= r {
				lags = append(lags, now.Sub(marks[0].at))
				marks = marks[1:]
			}
		}
	}
	tick.Stop()
	close(stop)
	wg.Wait()
	res.elapsed = time.Since(start)
	res.ops = len(res.lat)
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	if len(lags) > 0 {
		res.lagP50, res.lagMax = lags[len(lags)/2], lags[len(lags)-1]
	}
	return res
}

func TestBenchSyncReplication(t *testing.T) {
	if os.Getenv("XLOGTOOL_BENCH_REPL") == "" {
		t.Skip("set XLOGTOOL_BENCH_REPL=1 to run the replication benchmark")
	}
	tarantooltest.Require(t)
	d := 3 * time.Second
	for _, clients := range []int{1, 10, 100} {
		// Three nodes: a master with quorum 2 and two replicas.
		t.Run(fmt.Sprintf("node/%d", clients), func(t *testing.T) {
			mcfg := replConfig(t.TempDir())
			mcfg.ReplicationSynchroQuorum = 2
			m := startNode(t, mcfg)
			r1 := startNode(t, followerConfig(t.TempDir(), m.Addr()))
			startNode(t, followerConfig(t.TempDir(), m.Addr()))
			c := dialAdmin(t, m.Addr())
			call(t, c, "box.schema.space.create", "b", map[string]any{"is_sync": true})
			call(t, c, "box.space.b:create_index", "pk")
			sp := spaceID(t, c, "b")
			res := syncLoad(t, c, sp, clients, d, func() uint64 { return m.VClock().Get(1) },
				func() uint64 { return r1.writtenVClock().Get(1) })
			fmt.Printf("node      quorum 2, %3d clients: %s\n", clients, res)
		})
		t.Run(fmt.Sprintf("tarantool/%d", clients), func(t *testing.T) {
			m := tarantooltest.Start(t, tarantooltest.InstanceOptions{Cfg: "replication_synchro_quorum = 2"})
			r1 := tarantooltest.Start(t, tarantooltest.InstanceOptions{Replication: []string{m.Addr()}})
			tarantooltest.Start(t, tarantooltest.InstanceOptions{Replication: []string{m.Addr()}})
			m.Eval(t, "box.schema.space.create('b', {is_sync = true}):create_index('pk')")
			c := m.Conn(t)
			sp := uint32(tarantooltest.Int(t, m.Eval(t, "return box.space.b.id")[0]))
			rc := r1.Conn(t)
			lsnOf := func(c *client.Conn) uint64 {
				out, err := c.Eval(ctx(t), "return box.info.vclock[1] or 0")
				if err != nil || len(out) == 0 {
					return 0
				}
				return uint64(tarantooltest.Int(t, out[0]))
			}
			mc := m.Conn(t)
			res := syncLoad(t, c, sp, clients, d, func() uint64 { return lsnOf(mc) }, func() uint64 { return lsnOf(rc) })
			fmt.Printf("tarantool quorum 2, %3d clients: %s\n", clients, res)
			if os.Getenv("XLOGTOOL_BENCH_DEBUG") != "" && res.failures > 0 {
				t.Fatal("failures")
			}
		})
	}
}
