package sim

import (
	"fmt"
	"io"
	"time"

	"github.com/xlogtool/xlogtool/node/raft"
)

// Scenario is one randomised run: a replica set, a period of faults, then
// healing and a bounded wait for a leader.
type Scenario struct {
	Seed    uint64
	Options Options
	Faults  time.Duration // length of the fault period
	// Bound is how long after healing a leader must be found (every
	// running node follows it and it is writable).
	Bound time.Duration
}

// Result is the outcome of a run.
type Result struct {
	Scenario
	Violations []string
	// Elected is how long after healing the leader was found (-1: never).
	Elected time.Duration
	Leader  int
	Terms   uint64
	Steps   int
	Trace   uint64
}

// Failed reports whether the run broke an invariant or found no leader.
func (r *Result) Failed() bool { return len(r.Violations) > 0 || r.Elected < 0 }

func (r *Result) String() string {
	s := fmt.Sprintf("seed %d: %d nodes, election timeout %v, replication timeout %v, quorum %d, fencing %v, modes %v: ",
		r.Seed, r.Options.Nodes, r.Options.ElectionTimeout, r.Options.ReplicationTimeout,
		r.Options.Quorum, r.Options.Fencing, r.Options.Modes)
	if r.Elected < 0 {
		s += fmt.Sprintf("no leader within %v of healing", r.Bound)
	} else {
		s += fmt.Sprintf("leader %d %v after healing, %d terms, %d steps", r.Leader, r.Elected, r.Terms, r.Steps)
	}
	for _, v := range r.Violations {
		s += "\n  " + v
	}
	return s
}

// NewScenario derives a scenario from a seed: 3 or 5 nodes, timeouts,
// fencing and election modes.
func NewScenario(seed uint64) Scenario {
	w := NewWorld(seed)
	n := 3
	if seed%2 == 1 {
		n = 5
	}
	o := Options{
		Nodes:              n,
		ElectionTimeout:    w.Between(500*time.Millisecond, 3*time.Second).Truncate(time.Millisecond),
		ReplicationTimeout: w.Between(100*time.Millisecond, 500*time.Millisecond).Truncate(time.Millisecond),
		Quorum:             n/2 + 1,
		Fencing:            raft.Fencing(w.Rand.IntN(3)),
		Modes:              make([]raft.Mode, n),
	}
	for i := range o.Modes {
		o.Modes[i] = raft.ModeCandidate
	}
	switch w.Rand.IntN(8) {
	case 0, 1:
		o.Modes[w.Rand.IntN(n)] = raft.ModeVoter
	case 2:
		o.Modes[w.Rand.IntN(n)] = raft.ModeManual
	}
	death := 4 * o.ReplicationTimeout
	return Scenario{Seed: seed, Options: o,
		Faults: w.Between(10*time.Second, 40*time.Second),
		Bound:  2*death + 30*o.ElectionTimeout + 5*time.Second}
}

// Run runs the scenario; trace, when not nil, receives its log.
func (s Scenario) Run(trace io.Writer) Result {
	w := NewWorld(s.Seed)
	s.Options.Trace = trace
	c := NewCluster(w, s.Options)
	c.Net.Faults = NetFaults{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond,
		Reconnect: s.Options.ReplicationTimeout}
	for id := 1; id <= s.Options.Nodes; id++ {
		c.Disks[id].Faults = DiskFaults{MinLatency: time.Millisecond, MaxLatency: 3 * time.Millisecond}
	}
	f := &faulter{c: c, w: w, s: &s}
	for w.Now() < s.Faults {
		w.RunUntil(w.Now()+w.Between(200*time.Millisecond, 3*time.Second), nil)
		f.inject()
	}
	c.tracef("heal")
	f.heal()
	healed := w.Now()
	res := Result{Scenario: s, Elected: -1}
	if w.RunUntil(healed+s.Bound, func() bool { return c.Leader() != 0 }) {
		res.Elected = w.Now() - healed
		res.Leader = c.Leader()
		c.tracef("leader %d", res.Leader)
	}
	// Let the run go on a little: nothing may break after the election.
	w.RunUntil(w.Now()+2*s.Options.ElectionTimeout, nil)
	res.Violations = c.Check.Violations
	res.Terms = c.Check.Terms
	res.Steps = w.Steps()
	res.Trace = w.Trace()
	return res
}

// faultTarget is what the faulter acts on: a Cluster or a ReplicaSet.
type faultTarget interface {
	tracef(format string, args ...any)
	network() *Network
	disk(id int) *Disk
	Crash(id int, notify bool)
	Restart(id int)
	// election returns node id's machine, nil when it is down.
	election(id int) *raft.Election
	// stepNode runs fn on node id and carries out the machine's output.
	stepNode(id int, fn func())
}

func (c *Cluster) network() *Network          { return c.Net }
func (c *Cluster) disk(id int) *Disk          { return c.Disks[id] }
func (c *Cluster) stepNode(id int, fn func()) { c.Nodes[id].step(fn) }
func (c *Cluster) election(id int) *raft.Election {
	if n := c.Nodes[id]; n.up {
		return n.E
	}
	return nil
}

type faulter struct {
	c faultTarget
	w *World
	s *Scenario
}

func (f *faulter) pick() int { return 1 + f.w.Rand.IntN(f.s.Options.Nodes) }

func (f *faulter) inject() {
	c, w, o := f.c, f.w, f.s.Options
	switch w.Rand.IntN(10) {
	case 0, 1: // partition: a random minority cut off
		var a, b []int
		for id := 1; id <= o.Nodes; id++ {
			if w.Chance(0.4) {
				a = append(a, id)
			} else {
				b = append(b, id)
			}
		}
		c.tracef("partition %v | %v", a, b)
		c.network().Partition(a, b)
	case 2:
		c.tracef("heal partition")
		c.network().Heal()
	case 3: // crash and restart later
		id := f.pick()
		c.Crash(id, w.Chance(0.5))
		w.After(w.Between(100*time.Millisecond, 3*o.ElectionTimeout), func() { c.Restart(id) })
	case 4:
		nf := NetFaults{MinDelay: time.Millisecond, MaxDelay: w.Between(time.Millisecond, 50*time.Millisecond),
			Reconnect: o.ReplicationTimeout}
		if w.Chance(0.2) {
			nf.MaxDelay = w.Between(o.ReplicationTimeout, 3*o.ReplicationTimeout)
		}
		if w.Chance(0.5) {
			nf.Break = w.Rand.Float64() * 0.03
			nf.Drop = w.Rand.Float64() * 0.05
			nf.Dup = w.Rand.Float64() * 0.1
			nf.Reorder = w.Rand.Float64() * 0.2
		}
		c.tracef("network faults %+v", nf)
		c.network().Faults = nf
	case 5:
		id := f.pick()
		df := DiskFaults{MinLatency: time.Millisecond, MaxLatency: w.Between(time.Millisecond, 30*time.Millisecond)}
		if w.Chance(0.5) {
			df.Stall = w.Rand.Float64() * 0.3
			df.StallTime = w.Between(0, 2*o.ElectionTimeout)
			df.Fail = w.Rand.Float64() * 0.02
		}
		c.tracef("disk faults on node %d: %+v", id, df)
		c.disk(id).Faults = df
	case 6: // box.ctl.promote()
		id := f.pick()
		if e := c.election(id); e != nil {
			c.stepNode(id, func() {
				err := e.Promote()
				c.tracef("node %d: promote: %v", id, err)
			})
		}
	case 7: // box.ctl.demote() on whoever leads
		for id := 1; id <= o.Nodes; id++ {
			if e := c.election(id); e != nil && e.Status().State == raft.Leader {
				c.tracef("node %d: demote", id)
				c.stepNode(id, e.Demote)
			}
		}
	case 8: // kill the leader
		for id := 1; id <= o.Nodes; id++ {
			if e := c.election(id); e != nil && e.Status().State == raft.Leader {
				c.Crash(id, w.Chance(0.5))
				w.After(w.Between(100*time.Millisecond, 3*o.ElectionTimeout), func() { c.Restart(id) })
			}
		}
	case 9: // reconfigure one node's election timeout
		id := f.pick()
		if e := c.election(id); e != nil {
			d := w.Between(o.ElectionTimeout/2, 2*o.ElectionTimeout).Truncate(time.Millisecond)
			c.tracef("node %d: election timeout %v", id, d)
			c.stepNode(id, func() { e.SetElectionTimeout(d) })
		}
	}
}

// heal ends every fault: partitions, crashed nodes, lossy links and slow
// disks. Every link is re-established, as after a restart of the relays.
func (f *faulter) heal() {
	c, o := f.c, f.s.Options
	c.network().Heal()
	c.network().Faults = NetFaults{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Reconnect: o.ReplicationTimeout}
	for id := 1; id <= o.Nodes; id++ {
		c.disk(id).Faults = DiskFaults{MinLatency: time.Millisecond, MaxLatency: 3 * time.Millisecond}
		c.Restart(id)
	}
	nw := c.network()
	for _, k := range nw.sortedLinks() {
		nw.breakLink(k[0], k[1], true)
	}
}
