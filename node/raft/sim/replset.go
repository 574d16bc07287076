package sim

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/memtx"
	"github.com/xlogtool/xlogtool/node"
	"github.com/xlogtool/xlogtool/node/raft"
	recovery "github.com/xlogtool/xlogtool/replay"
	"github.com/xlogtool/xlogtool/synchro"
)

// The replica-set model: each node is the node's own machines —
// raft.Election, node.Limbo over synchro.Queue, the split-brain filters —
// with a key-value state, a WAL of real rows on a Disk, relays that ship
// the WAL to the peers and appliers that take it in, all on one World.

// Spaces of the workload: a synchronous one and an asynchronous one; a
// row inserts the tuple [key, value].
const (
	SyncSpace  = 512
	AsyncSpace = 513
)

// SetOptions describe a simulated replica set with data.
type SetOptions struct {
	Options
	// SynchroTimeout is replication_synchro_timeout.
	SynchroTimeout time.Duration
}

// ReplicaSet is a replica set of full nodes on a World.
type ReplicaSet struct {
	W     *World
	Net   *Network
	Disks []*Disk         // index = node id
	Nodes []*Replica      // index = node id
	Logs  [][]*format.Row // per node: the durable rows, in disk order
	// Starts lists per node the number of durable rows at each start (a
	// restart begins a new xlog file).
	Starts [][]int
	Check  *Checker
	opts   SetOptions
	subs   int // subscriptions made, to number them
}

// wire messages of the replica set.
type (
	// rowMsg is one row of a relay's stream; sub numbers the
	// subscription and seq the row within it (a TCP stream: a gap or a
	// reordering breaks the connection).
	rowMsg struct {
		sub, seq int
		rec      []byte
	}
	ackMsg struct {
		vclock format.VClock
		term   uint64
	}
	beat struct{}
)

// relay is a node's stream to one peer.
type relay struct {
	sub  int
	seq  int
	pos  int           // next index of the sender's log to look at
	sent format.VClock // what the peer has or was sent
	on   bool
}

// applierState is what a node knows of the stream from one peer.
type applierState struct {
	sub, next int
}

// pendingTx is a transaction waiting in a node's queue.
type pendingTx struct {
	changes []node.Change
	op      *Op // the client's operation on its origin, nil elsewhere
}

// Replica is one simulated node.
type Replica struct {
	rs      *ReplicaSet
	id      uint32
	up      bool
	epoch   int
	E       *raft.Election
	Limbo   *node.Limbo
	State   *memtx.State  // the data, with waiting transactions applied
	vclock  format.VClock // rows applied (written or being written)
	written format.VClock // rows durable
	nextTx  uint64
	pending map[uint64]*pendingTx
	relays  []*relay        // index = peer
	streams []applierState  // index = peer
	acks    []format.VClock // index = peer: its latest ACK
	wake    time.Duration
	woken   bool
	st      raft.Status
	claim   uint64 // term of the PROMOTE/DEMOTE being claimed or written
	// refusing: the applier of the peer's stream stopped at a row it
	// refuses (ER_SPLIT_BRAIN and the like); cleared by a row taken.
	refusing []bool
	// asyncRefused: the last row refused from each peer was an
	// asynchronous transaction of an old term.
	asyncRefused []bool
}

// refuses reports whether the node's applier of some peer's stream
// stopped at a row it refuses.
func (r *Replica) refuses() bool {
	for _, x := range r.refusing {
		if x {
			return true
		}
	}
	return false
}

// cutOffByAsync reports whether every stream node id refuses stopped at
// an asynchronous transaction of an old term.
func (rs *ReplicaSet) cutOffByAsync(id int) bool {
	r := rs.Nodes[id]
	for peer, x := range r.refusing {
		if x && !r.asyncRefused[peer] {
			return false
		}
	}
	return true
}

// CutOff reports whether node id is cut off from the leader's history:
// it lacks rows the leader has and refuses the leader's own stream (it holds a
// history the others contradict; Tarantool's answer is a rebootstrap).
func (rs *ReplicaSet) CutOff(id int) bool {
	r := rs.Nodes[id]
	l := rs.Leader()
	if !r.up || l == 0 || l == id || !r.refusing[l] {
		return false
	}
	return !rs.Nodes[l].vclock.WithoutLocal().LessEq(r.vclock.WithoutLocal())
}

// NewReplicaSet creates and starts a replica set.
func NewReplicaSet(w *World, o SetOptions) *ReplicaSet {
	n := o.Nodes
	rs := &ReplicaSet{W: w, Net: NewNetwork(w, n), opts: o, Disks: make([]*Disk, n+1),
		Nodes: make([]*Replica, n+1), Logs: make([][]*format.Row, n+1), Starts: make([][]int, n+1),
		Check: newChecker(n)}
	for id := 1; id <= n; id++ {
		rs.Disks[id] = NewDisk(w)
		r := &Replica{rs: rs, id: uint32(id)}
		rs.Nodes[id] = r
		rs.Net.Attach(id, r)
	}
	for id := 1; id <= n; id++ {
		rs.Nodes[id].start()
	}
	return rs
}

func (rs *ReplicaSet) tracef(f string, args ...any) {
	if rs.opts.Trace != nil {
		fmt.Fprintf(rs.opts.Trace, "%10.3fs %s\n", rs.W.Now().Seconds(), fmt.Sprintf(f, args...))
	}
}

func (rs *ReplicaSet) mode(id int) raft.Mode {
	if id-1 < len(rs.opts.Modes) {
		return rs.opts.Modes[id-1]
	}
	return raft.ModeCandidate
}

// timestamp is the row timestamp of simulated time.
func (rs *ReplicaSet) timestamp() float64 { return 1.7e9 + rs.W.Now().Seconds() }

// start boots the node from its disk: Raft state, queue and data are
// recovered from the durable rows in order, as the node's recovery does.
func (r *Replica) start() {
	rs := r.rs
	n := rs.opts.Nodes
	r.Limbo = node.NewLimbo(r.id, rs.opts.Quorum)
	r.Limbo.Queue().SetRules(synchro.RulesFor("2.11.0"))
	r.State = newState()
	r.vclock, r.written = format.VClock{}, format.VClock{}
	r.pending = map[uint64]*pendingTx{}
	r.relays = make([]*relay, n+1)
	r.streams = make([]applierState, n+1)
	r.acks = make([]format.VClock, n+1)
	r.refusing = make([]bool, n+1)
	r.asyncRefused = make([]bool, n+1)
	r.claim = 0
	// The node's recovery: the durable rows replayed as an xlog
	// (replay.RecoverRows), the queue's owner and term restored, the
	// transactions left waiting for a CONFIRM put back into the queue.
	res := recovery.RecoverRows(r.State, format.VClock{}, fileVersion, rs.Logs[r.id])
	for _, f := range res.Findings {
		rs.Check.failf("node %d: recovery: %s", r.id, f.String())
	}
	r.vclock = res.VClock
	r.Limbo.Recovered(res.Queue)
	pending := node.NewPendingRows(res.Pending)
	for _, row := range rs.Logs[r.id] {
		pending.Add(row)
	}
	err := pending.Restore(r.receiver(), func(id uint64, changes []node.Change) {
		r.pending[id] = &pendingTx{changes: changes}
	})
	if err != nil {
		rs.Check.failf("node %d: recovery: %v", r.id, err)
	}
	r.written = r.vclock
	rs.Starts[r.id] = append(rs.Starts[r.id], len(rs.Logs[r.id]))
	cfg := raft.Config{
		ID: r.id, Mode: rs.mode(int(r.id)),
		ElectionTimeout: rs.opts.ElectionTimeout, ReplicationTimeout: rs.opts.ReplicationTimeout,
		Fencing: rs.opts.Fencing, SynchroQuorum: rs.opts.Quorum, Registered: n,
		Rand: rs.W.Rand, ShiftFirstRound: true, // as the node
	}
	p := node.RecoveredRaft(res.Raft)
	if p.Term == 0 {
		p.Term = 1
	}
	r.E = raft.NewElection(cfg, raft.Persistent{Term: p.Term, Vote: p.Vote}, r.vclock.WithoutLocal(), rs.W.Now())
	if qs := res.Queue; qs.Owner != 0 || qs.Term > 1 {
		r.E.QueueClaimed(qs.Owner, qs.Term)
	}
	r.up = true
	r.woken = false
	rs.Net.NodeUp(int(r.id))
	for peer := 1; peer <= n; peer++ {
		if peer != int(r.id) && rs.Net.IsUp(int(r.id), peer) {
			rs.subs++
			r.relays[peer] = &relay{on: true, sub: rs.subs, sent: rs.Nodes[peer].vclock}
		}
	}
	rs.tracef("node %d starts: term %d vote %d vclock %v queue %+v", r.id, p.Term, p.Vote, r.vclock, r.Limbo.Queue().State())
	r.drain()
	r.heartbeats(r.epoch)
	r.limboTimer(r.epoch)
}

// Crash stops node id; its unsynced disk writes are lost, and so are the
// answers its clients wait for.
func (rs *ReplicaSet) Crash(id int, notify bool) {
	r := rs.Nodes[id]
	if !r.up {
		return
	}
	rs.tracef("node %d crashes (peers told: %v)", id, notify)
	r.up = false
	r.epoch++
	rs.Disks[id].Crash()
	rs.Net.NodeDown(id, notify)
	// In queue order: each lost answer lets its client draw its next
	// operation from the seed's random source.
	for _, id := range slices.Sorted(maps.Keys(r.pending)) {
		if p := r.pending[id]; p.op != nil {
			p.op.lost()
		}
	}
	r.pending = nil
}

// Restart starts a crashed node again.
func (rs *ReplicaSet) Restart(id int) {
	if r := rs.Nodes[id]; !r.up {
		r.start()
	}
}

// Up reports whether the node runs.
func (r *Replica) Up() bool { return r.up }

// VClock returns the node's vclock (rows applied).
func (r *Replica) VClock() format.VClock { return r.vclock }

// step runs fn on the node at the current time, then carries out what
// the election machine asks for.
func (r *Replica) step(fn func()) {
	if !r.up {
		return
	}
	r.E.Tick(r.rs.W.Now())
	r.E.SetVClock(r.vclock.WithoutLocal())
	fn()
	r.drain()
}

func (r *Replica) drain() {
	rs := r.rs
	for i := 0; i < 32 && r.up; i++ {
		rd := r.E.Ready()
		if rd.Write != nil {
			r.persistRaft(*rd.Write)
		}
		if rd.Message != nil {
			rs.Check.sent(int(r.id), *rd.Message)
			body := format.AppendRaftMessage(nil, rd.Message)
			for peer := 1; peer <= rs.opts.Nodes; peer++ {
				if peer != int(r.id) {
					rs.Net.Send(int(r.id), peer, raftPacket{body})
				}
			}
		}
		if rd.Promote != 0 {
			r.claimQueue(box.TypePromote, rd.Promote, r.Limbo.Queue().State().Term, r.epoch)
		}
		if rd.Demote {
			r.claimQueue(box.TypeDemote, rd.DemoteTerm, r.Limbo.Queue().State().Term, r.epoch)
		}
		if rd.Empty() && rd.Promote == 0 && !rd.Demote {
			break
		}
	}
	if !r.up {
		return
	}
	st := r.E.Status()
	if st.State != r.st.State || st.Term != r.st.Term || st.Leader != r.st.Leader {
		rs.tracef("node %d: %v term %d vote %d leader %d (votes %d)", r.id, st.State, st.Term, st.Vote, st.Leader, st.Votes)
	}
	r.st = st
	rs.Check.observe(int(r.id), st)
	r.schedule()
	r.driveLimbo()
}

func (r *Replica) schedule() {
	dl, ok := r.E.Deadline()
	if !ok || (r.woken && r.wake == dl) {
		return
	}
	r.wake, r.woken = dl, true
	epoch := r.epoch
	r.rs.W.At(dl, func() {
		if r.epoch != epoch {
			return
		}
		if r.wake == dl {
			r.woken = false
		}
		r.step(func() {})
	})
}

// submit writes one row to the WAL; done runs once it is durable. A
// failed write stops the node (it restarts later), as the node refuses
// everything after a WAL error until a restart.
func (r *Replica) submit(h format.Header, body []byte, done func()) {
	rs := r.rs
	epoch := r.epoch
	rec := append(format.AppendHeader(nil, &h), body...)
	rs.Disks[r.id].Write(rec, func(err error) {
		if r.epoch != epoch {
			return
		}
		if err != nil {
			rs.tracef("node %d: %v", r.id, err)
			// The record is not on disk; forget it.
			rs.Crash(int(r.id), true)
			rs.W.After(rs.opts.ElectionTimeout, func() { rs.Restart(int(r.id)) })
			return
		}
		row := &format.Row{}
		if _, err := format.DecodeRow(rec, row); err != nil {
			rs.Check.failf("node %d: own row does not decode: %v", r.id, err)
			return
		}
		rs.Logs[r.id] = append(rs.Logs[r.id], row)
		r.written.Follow(h.ReplicaID, h.LSN)
		if done != nil {
			done()
		}
		r.pump()
	})
}

// logRow assigns the next LSN to a one-row transaction (a local one in
// component 0) and writes it.
func (r *Replica) logRow(typ box.RowType, body []byte, local bool, flags uint64, done func()) format.Header {
	h := node.NextRow(&r.vclock, r.id, typ, local, flags, r.rs.timestamp())
	r.submit(h, body, done)
	return h
}

func (r *Replica) persistRaft(row format.Raft) {
	rs := r.rs
	r.logRow(box.TypeRaft, format.AppendRaftBody(nil, &row), true, 0, func() {
		rs.Check.durable(int(r.id), row)
		r.step(r.E.WriteDone)
	})
}

// frozen: no CONFIRM or ROLLBACK may be written here (fencing, or not
// the writable leader).
func (r *Replica) frozen() bool { return r.E.Frozen() || !r.E.Writable() }

// driveLimbo writes the CONFIRM the limbo asks for, if any.
func (r *Replica) driveLimbo() {
	if !r.up || r.frozen() {
		return
	}
	if typ, body, ok := r.Limbo.NextWrite(); ok {
		r.writeSynchro(typ, body)
	}
}

func (r *Replica) writeSynchro(typ box.RowType, body format.Synchro) {
	r.rs.tracef("node %d: writes %v %d:%d", r.id, typ, body.ReplicaID, body.LSN)
	r.logRow(typ, format.AppendSynchroBody(nil, &body), false, 0, func() {
		r.resolve(r.Limbo.Applied(typ, body))
		r.driveLimbo()
	})
}

// limboTimer rolls back the oldest entry once it waited longer than
// replication_synchro_timeout.
func (r *Replica) limboTimer(epoch int) {
	rs := r.rs
	rs.W.After(rs.opts.SynchroTimeout/4, func() {
		if r.epoch != epoch || !r.up {
			return
		}
		if !r.frozen() {
			if body, ok := r.Limbo.Timeout(rs.W.Now().Seconds(), rs.opts.SynchroTimeout.Seconds()); ok {
				r.writeSynchro(box.TypeRollback, body)
			}
		}
		r.limboTimer(epoch)
	})
}

// resolve carries out the queue's decisions: rolled-back transactions
// are undone, newest first as the queue lists them, and clients told.
func (r *Replica) resolve(ds []synchro.Decision) {
	for _, d := range ds {
		p := r.pending[d.Entry.ID]
		if p == nil {
			continue
		}
		delete(r.pending, d.Entry.ID)
		if d.Fate == synchro.RolledBack {
			if err := node.UndoChanges(r.State, p.changes); err != nil {
				r.rs.Check.failf("node %d: rollback: %v", r.id, err)
			}
		}
		if p.op != nil {
			if d.Fate == synchro.RolledBack {
				p.op.fail("rolled back")
			} else {
				p.op.ack()
			}
		}
	}
}

// quorumLSN is the node's quorumLSN: its own vclock and the ACKs of the
// peers its relays reach.
func (r *Replica) quorumLSN(owner uint32) uint64 {
	lsns := []uint64{r.vclock.Get(owner)}
	for peer := 1; peer <= r.rs.opts.Nodes; peer++ {
		if peer != int(r.id) && r.rs.Net.IsUp(int(r.id), peer) {
			lsns = append(lsns, r.acks[peer].Get(owner))
		}
	}
	return node.QuorumLSN(lsns, r.rs.opts.Quorum)
}

// claimQueue writes the PROMOTE (or DEMOTE) of term once Limbo.Claim
// says the old owner's entries are settled, retrying as the node does;
// it gives up, as the node's writeClaim, when the term moves on, the
// node stops leading or another PROMOTE changed the queue term from
// promoteTerm.
func (r *Replica) claimQueue(typ box.RowType, term, promoteTerm uint64, epoch int) {
	rs := r.rs
	if r.epoch != epoch || !r.up {
		return
	}
	st := r.E.Status()
	if st.Term != term || st.VolatileTerm != term || (st.Enabled && st.State != raft.Leader && typ == box.TypePromote) ||
		r.Limbo.Queue().State().Term != promoteTerm {
		rs.tracef("node %d: no %v in term %d: now term %d, %v", r.id, typ, term, st.Term, st.State)
		return
	}
	body, ready := r.Limbo.Claim(term, r.quorumLSN)
	if !ready {
		rs.W.After(10*time.Millisecond, func() { r.claimQueue(typ, term, promoteTerm, epoch) })
		return
	}
	rs.tracef("node %d: writes %v owner %d lsn %d term %d", r.id, typ, body.ReplicaID, body.LSN, term)
	// The queue takes the row at once (node.claimQueue); clients learn
	// the fates once it is durable.
	ds := r.Limbo.Applied(typ, body)
	r.logRow(typ, format.AppendSynchroBody(nil, &body), false, 0, func() {
		r.resolve(ds)
		owner := r.id
		if typ == box.TypeDemote {
			owner = 0
		}
		r.step(func() { r.E.QueueClaimed(owner, term) })
	})
}

// heartbeats: every replication timeout each relay sends a heartbeat.
func (r *Replica) heartbeats(epoch int) {
	rs := r.rs
	rs.W.After(rs.W.Between(rs.opts.ReplicationTimeout*9/10, rs.opts.ReplicationTimeout), func() {
		if r.epoch != epoch || !r.up {
			return
		}
		for peer := 1; peer <= rs.opts.Nodes; peer++ {
			if peer != int(r.id) {
				rs.Net.Send(int(r.id), peer, beat{})
			}
		}
		r.heartbeats(epoch)
	})
}

// pump sends every peer the durable rows it does not have yet.
func (r *Replica) pump() {
	rs := r.rs
	log := rs.Logs[r.id]
	for peer := 1; peer <= rs.opts.Nodes; peer++ {
		rl := r.relays[peer]
		if rl == nil || !rl.on || !rs.Net.IsUp(int(r.id), peer) {
			continue
		}
		for ; rl.pos < len(log); rl.pos++ {
			row := log[rl.pos]
			if row.ReplicaID == 0 || row.GroupID == box.GroupLocal || row.ReplicaID == uint32(peer) ||
				row.LSN <= rl.sent.Get(row.ReplicaID) {
				continue
			}
			rl.sent.Set(row.ReplicaID, row.LSN)
			rec := append(format.AppendHeader(nil, &row.Header), row.Body...)
			rs.Net.Send(int(r.id), peer, rowMsg{sub: rl.sub, seq: rl.seq, rec: rec})
			rl.seq++
		}
	}
}

// Deliver implements Endpoint.
func (r *Replica) Deliver(from int, msg any) {
	if !r.up {
		return
	}
	switch m := msg.(type) {
	case raftPacket:
		row, err := (&format.Row{Header: format.Header{Type: box.TypeRaft}, Body: m.body}).Raft()
		if err != nil {
			r.rs.Check.failf("node %d: RAFT message from %d does not decode: %v", r.id, from, err)
			return
		}
		r.step(func() {
			if err := r.E.Step(row, uint32(from)); err != nil {
				r.rs.Check.failf("node %d: %v", r.id, err)
			}
		})
	case beat:
		r.step(func() { r.E.Heartbeat(uint32(from)) })
		r.sendAck(from)
	case ackMsg:
		r.step(func() {
			r.E.AckTerm(m.term)
			r.acks[from] = m.vclock
			if r.Limbo.Owner() == r.id {
				r.Limbo.Ack(uint32(from), m.vclock.Get(r.id))
			}
		})
	case rowMsg:
		st := &r.streams[from]
		switch {
		case m.sub < st.sub, m.sub == st.sub && m.seq < st.next:
			return // a duplicate or a stale subscription's row
		case m.sub > st.sub && m.seq == 0:
			st.sub, st.next = m.sub, 0
		case m.sub > st.sub, m.seq > st.next:
			// A row went missing: the stream is broken.
			r.rs.Net.breakLink(from, int(r.id), true)
			return
		}
		st.next++
		r.step(func() { r.apply(from, m.rec) })
	}
}

func (r *Replica) sendAck(to int) {
	r.rs.Net.Send(int(r.id), to, ackMsg{vclock: r.written.WithoutLocal(), term: r.E.Status().Term})
}

// refuse ends the stream from peer with the applier's error.
func (r *Replica) refuse(from int, row *format.Row, err error) {
	r.rs.tracef("node %d: refuses %v %d:%d from %d: %v", r.id, row.Type, row.ReplicaID, row.LSN, from, err)
	r.refusing[from] = true
	var be *box.Error
	r.asyncRefused[from] = errors.As(err, &be) && be.Code == box.ErrSplitBrain && row.Type.IsDML() &&
		row.Flags&box.FlagWaitSync == 0
	r.rs.Net.breakLink(from, int(r.id), true)
}

// apply is the applier: a received row (a one-row transaction) goes
// through the node's order of steps (node.Receiver.Take: split-brain
// filters, data, queue, decisions), then to the WAL; the master gets an
// ACK once it is durable.
func (r *Replica) apply(from int, rec []byte) {
	row := &format.Row{}
	if _, err := format.DecodeRow(rec, row); err != nil {
		r.rs.Check.failf("node %d: row from %d does not decode: %v", r.id, from, err)
		return
	}
	if row.ReplicaID == r.id || row.LSN <= r.vclock.Get(row.ReplicaID) {
		return
	}
	if row.LSN != r.vclock.Get(row.ReplicaID)+1 {
		r.rs.Check.failf("node %d: row %d:%d from %d after LSN %d", r.id, row.ReplicaID, row.LSN, from, r.vclock.Get(row.ReplicaID))
	}
	t, err := r.receiver().Take([]*format.Row{row})
	if err != nil {
		if t.Refused {
			r.refuse(from, row, err)
		} else {
			r.rs.Check.failf("node %d: row %d:%d from %d: %v", r.id, row.ReplicaID, row.LSN, from, err)
		}
		return
	}
	if t.Queued != 0 {
		r.pending[t.Queued] = &pendingTx{changes: t.Changes}
	}
	for _, s := range t.Synchro {
		r.resolve(s.Decisions)
		if s.Claim {
			r.E.QueueClaimed(s.Owner, s.Term)
		}
	}
	r.refusing[from] = false
	epoch := r.epoch
	for _, row := range t.Rows {
		r.submit(row.Header, row.Body, func() {
			if r.epoch == epoch {
				r.sendAck(from)
			}
		})
	}
}

// receiver is the node's part that takes in received transactions.
func (r *Replica) receiver() node.Receiver {
	return node.Receiver{Limbo: r.Limbo, State: r.State, VClock: &r.vclock, NextTx: &r.nextTx}
}

// LinkDown implements Endpoint.
func (r *Replica) LinkDown(peer int) {
	if !r.up {
		return
	}
	if rl := r.relays[peer]; rl != nil && !r.rs.Net.IsUp(int(r.id), peer) {
		rl.on = false
	}
	r.step(func() { r.E.SetPeerHealthy(uint32(peer), false) })
}

// LinkUp implements Endpoint: the peer subscribes again with its vclock;
// it gets the RAFT state first, then the rows it lacks.
func (r *Replica) LinkUp(peer int) {
	if !r.up {
		return
	}
	rs := r.rs
	m := r.E.Raft.CheckpointRemote()
	rs.Check.sent(int(r.id), m)
	rs.Net.Send(int(r.id), peer, raftPacket{format.AppendRaftMessage(nil, &m)})
	rs.subs++
	rl := &relay{on: true, sub: rs.subs}
	if p := rs.Nodes[peer]; p.up {
		rl.sent = p.vclock
	}
	r.relays[peer] = rl
	r.pump()
}

// Leader returns the node every running node follows in one term, which
// is writable, or 0.
func (rs *ReplicaSet) Leader() int { return commonLeader(rs.opts.Nodes, rs.election) }

// Quiet reports whether the replica set is at rest: a writable leader
// every node follows, every node up with at least the leader's rows,
// nothing waiting in any queue and nothing being written. (A node whose
// rows its peers refuse as a split-brain keeps rows they never get; a
// node cut off, refusing its peers' rows, is left out.)
func (rs *ReplicaSet) Quiet() bool {
	l := rs.Leader()
	if l == 0 {
		return false
	}
	lv := rs.Nodes[l].vclock.WithoutLocal()
	for id := 1; id <= rs.opts.Nodes; id++ {
		r := rs.Nodes[id]
		if rs.CutOff(id) {
			continue
		}
		if !r.up || !r.Limbo.Empty() || rs.Disks[id].Pending() > 0 || !lv.LessEq(r.vclock.WithoutLocal()) {
			return false
		}
	}
	return true
}

// newState returns the data of a fresh node: the synchronous and the
// asynchronous space, each with a primary key on its first field.
func newState() *memtx.State {
	st := memtx.NewState()
	for _, sp := range []uint32{SyncSpace, AsyncSpace} {
		opts := memtx.Map{}
		if sp == SyncSpace {
			opts = memtx.Map{{Key: "is_sync", Value: true}}
		}
		for _, req := range []memtx.Request{
			{Type: box.TypeInsert, SpaceID: box.SpaceSpace,
				Tuple: []any{uint64(sp), uint64(1), fmt.Sprint("s", sp), "memtx", uint64(0), opts, []any{}}},
			{Type: box.TypeInsert, SpaceID: box.SpaceIndex,
				Tuple: []any{uint64(sp), uint64(0), "pk", "tree", memtx.Map{{Key: "unique", Value: true}},
					[]any{memtx.Map{{Key: "field", Value: uint64(0)}, {Key: "type", Value: "string"}}}}},
		} {
			if err := st.Apply(req); err != nil {
				panic(fmt.Sprintf("creating space %d: %v", sp, err))
			}
		}
	}
	return st
}

// execute1 applies a data row to the state, as the node applies a
// received or recovered one.
func (r *Replica) execute1(row *format.Row) (node.Change, bool) {
	req, err := node.RowRequest(row)
	var ch memtx.Change
	if err == nil {
		ch, err = r.State.Execute(req)
	}
	if err != nil {
		r.rs.Check.failf("node %d: row %d:%d: %v", r.id, row.ReplicaID, row.LSN, err)
		return node.Change{}, false
	}
	return node.Change{Space: req.SpaceID, Ch: ch}, true
}

// Get returns the value of key in the node's data.
func (r *Replica) Get(key string) (string, bool) {
	for _, sp := range []uint32{SyncSpace, AsyncSpace} {
		if t := r.State.Space(sp).Get([]any{key}); t != nil {
			v, _ := t[1].(string)
			return v, true
		}
	}
	return "", false
}

// insertBody is the body of an INSERT of [key, value] into space.
func insertBody(space uint32, key, val string) []byte {
	b := format.AppendMapLen(nil, 2)
	b = format.AppendUint(b, box.KeySpaceID)
	b = format.AppendUint(b, uint64(space))
	b = format.AppendUint(b, box.KeyTuple)
	b = format.AppendArrayLen(b, 2)
	b = format.AppendString(b, key)
	return format.AppendString(b, val)
}

// decodeInsert reads an INSERT of [key, value].
func decodeInsert(row *format.Row) (key, val string, space uint32, ok bool) {
	d, err := row.DML()
	if err != nil || !d.HasSpace {
		return "", "", 0, false
	}
	c := format.NewMPCursor(d.Tuple)
	if n, err := c.ArrayLen(); err != nil || n != 2 {
		return "", "", 0, false
	}
	k, err1 := c.Bytes()
	v, err2 := c.Bytes()
	if err1 != nil || err2 != nil {
		return "", "", 0, false
	}
	return string(k), string(v), d.SpaceID, true
}
