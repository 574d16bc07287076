package sim

import (
	"fmt"
	"io"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/node/raft"
)

// Options describe a simulated replica set of Raft elections.
type Options struct {
	Nodes              int
	ElectionTimeout    time.Duration
	ReplicationTimeout time.Duration
	// Quorum is replication_synchro_quorum (a majority unless a test
	// wants a misconfiguration).
	Quorum  int
	Fencing raft.Fencing
	Modes   []raft.Mode // per node (index 0 = node 1); candidate if missing
	// Trace, when set, receives a line per fault and state change.
	Trace io.Writer
}

// Cluster is a replica set of raft.Election machines on a World, a Network
// and one Disk per node, with the invariant checks run after every step.
type Cluster struct {
	W     *World
	Net   *Network
	Disks []*Disk // index = node id
	Nodes []*Node // index = node id
	Check *Checker
	opts  Options
}

// wire messages.
type raftPacket struct{ body []byte }
type heartbeat struct{ lsn uint64 } // the sender's own component

// Node is one simulated instance.
type Node struct {
	c      *Cluster
	id     int
	E      *raft.Election
	up     bool
	epoch  int // bumped on crash: callbacks of an older life are ignored
	vclock format.VClock
	wake   time.Duration
	woken  bool // a wake-up at wake is scheduled
	st     raft.Status
}

// NewCluster creates and starts a replica set.
func NewCluster(w *World, o Options) *Cluster {
	c := &Cluster{W: w, Net: NewNetwork(w, o.Nodes), opts: o,
		Disks: make([]*Disk, o.Nodes+1), Nodes: make([]*Node, o.Nodes+1), Check: newChecker(o.Nodes)}
	for id := 1; id <= o.Nodes; id++ {
		c.Disks[id] = NewDisk(w)
		n := &Node{c: c, id: id}
		c.Nodes[id] = n
		c.Net.Attach(id, n)
	}
	for id := 1; id <= o.Nodes; id++ {
		c.Nodes[id].start()
	}
	return c
}

func (c *Cluster) tracef(format string, args ...any) {
	if c.opts.Trace != nil {
		fmt.Fprintf(c.opts.Trace, "%10.3fs %s\n", c.W.Now().Seconds(), fmt.Sprintf(format, args...))
	}
}

func (c *Cluster) mode(id int) raft.Mode {
	if id-1 < len(c.opts.Modes) {
		return c.opts.Modes[id-1]
	}
	return raft.ModeCandidate
}

// start boots node n from its disk (a fresh node or a restart).
func (n *Node) start() {
	c := n.c
	rec := raft.NewRaft(nil)
	for i, b := range c.Disks[n.id].Records() {
		if box.RowType(b[0]) != box.TypeRaft {
			continue
		}
		row, err := (&format.Row{Header: format.Header{Type: box.TypeRaft}, Body: b[1:]}).Raft()
		if err != nil {
			c.Check.failf("node %d: disk record %d: %v", n.id, i, err)
			continue
		}
		rec.Recover(row)
	}
	cfg := raft.Config{
		ID: uint32(n.id), Mode: c.mode(n.id),
		ElectionTimeout: c.opts.ElectionTimeout, ReplicationTimeout: c.opts.ReplicationTimeout,
		Fencing: c.opts.Fencing, SynchroQuorum: c.opts.Quorum, Registered: c.opts.Nodes,
		Rand: c.W.Rand, ShiftFirstRound: true,
	}
	p := rec.CheckpointLocal()
	n.E = raft.NewElection(cfg, raft.Persistent{Term: p.Term, Vote: p.Vote}, n.vclock, c.W.Now())
	n.up = true
	n.woken = false
	c.Net.NodeUp(n.id)
	c.tracef("node %d starts: term %d vote %d", n.id, p.Term, p.Vote)
	n.drain()
	n.heartbeats(n.epoch)
	n.clientWrites(n.epoch)
}

// Crash stops node id; its unsynced disk writes are lost. Peers notice at
// once when notify (process killed), else by silence.
func (c *Cluster) Crash(id int, notify bool) {
	n := c.Nodes[id]
	if !n.up {
		return
	}
	c.tracef("node %d crashes (peers told: %v)", id, notify)
	n.up = false
	n.epoch++
	c.Disks[id].Crash()
	c.Net.NodeDown(id, notify)
}

// Restart starts a crashed node again.
func (c *Cluster) Restart(id int) {
	if n := c.Nodes[id]; !n.up {
		n.start()
	}
}

// step runs fn on the node at the current time, then collects its output.
func (n *Node) step(fn func()) {
	if !n.up {
		return
	}
	n.E.Tick(n.c.W.Now())
	fn()
	n.drain()
}

func (n *Node) drain() {
	c := n.c
	for i := 0; i < 32; i++ {
		rd := n.E.Ready()
		if rd.Write != nil {
			n.persist(*rd.Write)
		}
		if rd.Message != nil {
			c.Check.sent(n.id, *rd.Message)
			body := format.AppendRaftMessage(nil, rd.Message)
			for peer := 1; peer <= c.opts.Nodes; peer++ {
				if peer != n.id {
					c.Net.Send(n.id, peer, raftPacket{body})
				}
			}
		}
		if rd.Promote != 0 {
			n.promote(rd.Promote)
		}
		if rd.Empty() && rd.Promote == 0 && !rd.Demote {
			break
		}
	}
	st := n.E.Status()
	if st.State != n.st.State || st.Term != n.st.Term || st.Leader != n.st.Leader {
		c.tracef("node %d: %v term %d vote %d leader %d", n.id, st.State, st.Term, st.Vote, st.Leader)
	}
	n.st = st
	c.Check.observe(n.id, st)
	n.schedule()
}

func (n *Node) persist(row format.Raft) {
	c := n.c
	epoch := n.epoch
	c.Disks[n.id].Write(format.AppendRaftBody([]byte{byte(box.TypeRaft)}, &row), func(err error) {
		if n.epoch != epoch {
			return
		}
		if err != nil {
			// A WAL write error stops the instance; it restarts later.
			c.tracef("node %d: %v", n.id, err)
			c.Crash(n.id, true)
			c.W.After(c.opts.ElectionTimeout, func() { c.Restart(n.id) })
			return
		}
		c.Check.durable(n.id, row)
		n.step(n.E.WriteDone)
	})
}

// promote stands for the queue's PROMOTE: written after the RAFT rows
// before it (the disk is FIFO), then applied. Disk records are a row type
// byte followed by the body.
func (n *Node) promote(term uint64) {
	c := n.c
	epoch := n.epoch
	rec := format.AppendSynchroBody([]byte{byte(box.TypePromote)}, &format.Synchro{ReplicaID: uint32(n.id), Term: term, HasTerm: true})
	c.Disks[n.id].Write(rec, func(err error) {
		if n.epoch != epoch || err != nil {
			return
		}
		c.tracef("node %d: PROMOTE term %d applied", n.id, term)
		n.step(func() { n.E.QueueClaimed(uint32(n.id), term) })
	})
}

func (n *Node) schedule() {
	dl, ok := n.E.Deadline()
	if !ok || (n.woken && n.wake == dl) {
		return
	}
	n.wake, n.woken = dl, true
	epoch := n.epoch
	n.c.W.At(dl, func() {
		if n.epoch != epoch {
			return
		}
		if n.wake == dl {
			n.woken = false
		}
		n.step(func() {})
	})
}

// heartbeats: every replication timeout each relay sends a heartbeat.
func (n *Node) heartbeats(epoch int) {
	c := n.c
	c.W.After(c.W.Between(c.opts.ReplicationTimeout*9/10, c.opts.ReplicationTimeout), func() {
		if n.epoch != epoch || !n.up {
			return
		}
		for peer := 1; peer <= c.opts.Nodes; peer++ {
			if peer != n.id {
				c.Net.Send(n.id, peer, heartbeat{n.vclock.Get(uint32(n.id))})
			}
		}
		n.heartbeats(epoch)
	})
}

// clientWrites: a writable node commits data now and then, so vclocks
// differ and the vote's vclock rule matters.
func (n *Node) clientWrites(epoch int) {
	c := n.c
	c.W.After(c.W.Between(c.opts.ReplicationTimeout/4, c.opts.ReplicationTimeout), func() {
		if n.epoch != epoch || !n.up {
			return
		}
		if n.E.Writable() && n.E.Status().State == raft.Leader {
			c.Check.wrote(n.id, n.E.Status().Term)
			n.vclock.Set(uint32(n.id), n.vclock.Get(uint32(n.id))+1)
			n.step(func() { n.E.SetVClock(n.vclock) })
		}
		n.clientWrites(epoch)
	})
}

// Deliver implements Endpoint.
func (n *Node) Deliver(from int, msg any) {
	switch m := msg.(type) {
	case raftPacket:
		row, err := (&format.Row{Header: format.Header{Type: box.TypeRaft}, Body: m.body}).Raft()
		if err != nil {
			n.c.Check.failf("node %d: RAFT message from %d does not decode: %v", n.id, from, err)
			return
		}
		n.step(func() {
			if err := n.E.Step(row, uint32(from)); err != nil {
				n.c.Check.failf("node %d: %v", n.id, err)
			}
		})
	case heartbeat:
		n.step(func() {
			if n.vclock.Follow(uint32(from), m.lsn) {
				n.E.SetVClock(n.vclock)
			}
			n.E.Heartbeat(uint32(from))
		})
	}
}

// LinkDown implements Endpoint.
func (n *Node) LinkDown(peer int) {
	n.step(func() { n.E.SetPeerHealthy(uint32(peer), false) })
}

// LinkUp implements Endpoint: a new subscriber gets the RAFT state first.
func (n *Node) LinkUp(peer int) {
	if !n.up {
		return
	}
	m := n.E.Raft.CheckpointRemote()
	n.c.Check.sent(n.id, m)
	n.c.Net.Send(n.id, peer, raftPacket{format.AppendRaftMessage(nil, &m)})
}

// Up reports whether the node runs.
func (n *Node) Up() bool { return n.up }

// Leader returns the node that every running node follows in one term
// and that is writable, or 0.
func (c *Cluster) Leader() int { return commonLeader(c.opts.Nodes, c.election) }

// commonLeader returns the leader that every running node of 1..n
// follows in one term, when it is writable; election(id) is nil for a
// node that is down.
func commonLeader(n int, election func(id int) *raft.Election) int {
	var leader uint32
	var term uint64
	for id := 1; id <= n; id++ {
		e := election(id)
		if e == nil {
			continue
		}
		st := e.Status()
		if st.Leader == 0 || (leader != 0 && (st.Leader != leader || st.Term != term)) {
			return 0
		}
		leader, term = st.Leader, st.Term
	}
	if leader == 0 {
		return 0
	}
	if e := election(int(leader)); e == nil || !e.Writable() {
		return 0
	}
	return int(leader)
}
