package node

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/memtx"
	"github.com/xlogtool/xlogtool/node/raft"
	"github.com/xlogtool/xlogtool/synchro"
)

// Raft leader election in the node (NODE.md §5): the pure machine
// raft.Election driven by one goroutine. Time comes from the clock,
// messages and heartbeats from the appliers, peer health from the
// appliers' links; RAFT rows go to the WAL as local rows and only once
// they are written does the state go out, as RAFT messages on every relay
// whose replica understands them. A leader takes the synchronous queue
// with a PROMOTE and becomes writable once it is applied.

// ElectionOptions are the box.cfg election options.
type ElectionOptions struct {
	// ElectionMode is election_mode: off (default), voter, candidate or
	// manual.
	ElectionMode string
	// ElectionTimeout is election_timeout (0: 5 s).
	ElectionTimeout time.Duration
	// ElectionFencingMode is election_fencing_mode: off, soft (default) or
	// strict.
	ElectionFencingMode string
}

// checkElection validates the election options.
func (c *Config) checkElection() error {
	if c.ElectionMode == "" {
		c.ElectionMode = "off"
	}
	if c.ElectionFencingMode == "" {
		c.ElectionFencingMode = "soft"
	}
	if _, err := raft.ParseMode(c.ElectionMode); err != nil {
		return err
	}
	if _, err := raft.ParseFencing(c.ElectionFencingMode); err != nil {
		return err
	}
	if c.ElectionTimeout < 0 {
		return fmt.Errorf("incorrect value for option 'election_timeout': the value must be a positive number")
	}
	return nil
}

// electionOn reports whether the node runs with Raft (profile B): the
// queue then has explicit owners, claimed by PROMOTE.
func (c *Config) electionOn() bool { return c.ElectionMode != "" && c.ElectionMode != "off" }

// raftVersion is the first version whose replicas understand RAFT
// messages and PROMOTE rows (2.6.3/2.7.2/2.8.1 PROMOTE; 2.10 split-brain
// filters). Replicas of an older version (2.6.0) get neither: a PROMOTE
// stops a 2.6.0 applier for good (NODE.md §2.8).
const raftVersion = 0x020A00

// announcedVersion is the SERVER_VERSION the node's appliers send (n.mu
// held): with elections on it speaks 2.11's replication (RAFT messages,
// PROMOTE), and so does a node whose elections were turned off at run
// time — its queue keeps 2.11's rules and must still get the PROMOTE rows
// of the others, which a master refuses to send to a 2.6.0 replica.
func (n *Node) announcedVersion() uint32 {
	if n.cfg.electionOn() || (n.limbo != nil && n.limbo.q.Rules().Filters) {
		return 0x020B00
	}
	return 0x020600
}

// electionDriver runs the Raft machine of the node.
type electionDriver struct {
	n      *Node
	origin time.Time

	mu   sync.Mutex // guards e and subs; taken after n.mu, never before
	e    *raft.Election
	subs map[*raftSub]struct{}
	last *format.Raft // the latest broadcast state
	wake chan struct{}

	// promoting guards box.ctl.promote()/demote() against a second call
	// while one waits (2.11's is_in_box_promote).
	promoting atomic.Bool
}

// raftSub is a relay's mailbox of RAFT messages: only the latest state
// matters, so a pending one is overwritten.
type raftSub struct {
	ch chan format.Raft
}

func (s *raftSub) put(m format.Raft) {
	for {
		select {
		case s.ch <- m:
			return
		default:
		}
		select {
		case <-s.ch:
		default:
		}
	}
}

// startElection creates the machine from the recovered term and vote and
// queue owner, and starts its goroutine (n.mu not held).
func (n *Node) startElection(st raft.Persistent, owner uint32, term uint64) error {
	mode, err := raft.ParseMode(n.cfg.ElectionMode)
	if err != nil {
		return err
	}
	fencing, err := raft.ParseFencing(n.cfg.ElectionFencingMode)
	if err != nil {
		return err
	}
	if st.Term == 0 {
		st.Term = 1
	}
	n.mu.Lock()
	registered := len(n.clusterMembers())
	vclock := n.vclock
	id := n.id
	n.mu.Unlock()
	d := &electionDriver{n: n, origin: time.Now(), subs: map[*raftSub]struct{}{}, wake: make(chan struct{}, 1)}
	seed := uint64(time.Now().UnixNano())
	d.e = raft.NewElection(raft.Config{
		ID: id, Mode: mode, ElectionTimeout: n.cfg.ElectionTimeout, ReplicationTimeout: n.replTimeout(),
		Fencing: fencing, SynchroQuorum: n.cfg.ReplicationSynchroQuorum, Registered: max(registered, 1),
		Rand: rand.New(rand.NewPCG(seed, uint64(id))), ShiftFirstRound: true,
	}, st, vclock.WithoutLocal(), 0)
	if owner != 0 || term > 1 {
		d.e.QueueClaimed(owner, term)
	}
	n.election = d
	n.log.Infof("RAFT: election_mode %s, term %d, vote %d", mode, st.Term, st.Vote)
	n.wg.Add(1)
	go d.run()
	return nil
}

func (d *electionDriver) now() time.Duration { return time.Since(d.origin) }

func (d *electionDriver) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// with runs f on the machine at the current time and wakes the driver.
func (d *electionDriver) with(f func(e *raft.Election)) {
	d.mu.Lock()
	d.e.Tick(d.now())
	f(d.e)
	d.mu.Unlock()
	d.poke()
}

// run is the driver loop: it feeds the clock, the vclock and the quorum,
// carries out Ready (write, then broadcast, then PROMOTE/DEMOTE) and
// sleeps until the machine's deadline or an input.
func (d *electionDriver) run() {
	n := d.n
	defer n.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		n.mu.Lock()
		vclock := n.vclock.WithoutLocal()
		registered := len(n.clusterMembers())
		quorum := n.cfg.ReplicationSynchroQuorum
		broken := n.broken
		n.mu.Unlock()
		if broken != nil {
			return
		}
		d.mu.Lock()
		d.e.Tick(d.now())
		d.e.SetVClock(vclock)
		if c := d.e.Config(); c.Registered != max(registered, 1) || c.SynchroQuorum != quorum {
			d.e.SetQuorum(quorum, max(registered, 1))
		}
		rd := d.e.Ready()
		d.mu.Unlock()
		if rd.Write != nil {
			if err := d.persist(*rd.Write); err != nil {
				n.log.Errorf("RAFT: write failed: %v", err)
				return
			}
			d.with(func(e *raft.Election) { e.WriteDone() })
		}
		if rd.Message != nil {
			d.broadcast(*rd.Message)
		}
		if rd.Changed {
			st := d.status()
			n.log.Infof("RAFT: %s, term %d, vote %d, leader %d", st.State, st.Term, st.Vote, st.Leader)
		}
		if rd.Promote != 0 {
			go d.n.claimQueue(box.TypePromote, rd.Promote)
		}
		if rd.Demote {
			go d.n.claimQueue(box.TypeDemote, rd.DemoteTerm)
		}
		if !rd.Empty() || rd.Promote != 0 || rd.Demote {
			continue
		}
		wait := 100 * time.Millisecond
		d.mu.Lock()
		if dl, ok := d.e.Deadline(); ok {
			wait = min(wait, max(dl-d.now(), 0))
		}
		d.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-n.stop:
			return
		case <-d.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// persist writes a RAFT row (term and vote) to the WAL as a local row and
// waits until it is written.
func (d *electionDriver) persist(r format.Raft) error {
	n := d.n
	n.mu.Lock()
	if n.broken != nil {
		n.mu.Unlock()
		return n.broken
	}
	done := n.logRow(box.TypeRaft, format.AppendRaftBody(nil, &r), true)
	n.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-n.stop:
		return errStopped
	}
}

// broadcast hands the state to every relay that sends RAFT messages.
func (d *electionDriver) broadcast(m format.Raft) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = &m
	for s := range d.subs {
		s.put(m)
	}
}

// subscribe registers a relay; it gets the latest state at once.
func (d *electionDriver) subscribe() *raftSub {
	s := &raftSub{ch: make(chan format.Raft, 1)}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.subs[s] = struct{}{}
	if d.last != nil {
		s.put(*d.last)
	}
	return s
}

func (d *electionDriver) unsubscribe(s *raftSub) {
	if s == nil {
		return
	}
	d.mu.Lock()
	delete(d.subs, s)
	d.mu.Unlock()
}

func (d *electionDriver) status() raft.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.e.Tick(d.now())
	return d.e.Status()
}

// step hands a RAFT message from peer src to the machine; a malformed
// one ends the link.
func (d *electionDriver) step(m format.Raft, src uint32) error {
	var err error
	d.with(func(e *raft.Election) { err = e.Step(m, src) })
	return err
}

func (d *electionDriver) heartbeat(src uint32) {
	d.mu.Lock()
	d.e.Tick(d.now())
	d.e.Heartbeat(src)
	d.mu.Unlock()
}

func (d *electionDriver) peerHealthy(src uint32, ok bool) {
	d.with(func(e *raft.Election) { e.SetPeerHealthy(src, ok) })
}

func (d *electionDriver) queueClaimed(owner uint32, term uint64) {
	d.with(func(e *raft.Election) { e.QueueClaimed(owner, term) })
}

// writable reports whether Raft lets the node accept writes.
func (n *Node) electionWritable() bool {
	d := n.election
	if d == nil {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.e.Writable()
}

// electionFrozen reports whether the queue may not be decided here: no
// CONFIRM or ROLLBACK may be written while fencing froze it or, with
// elections on, while the node is not the writable leader (a new leader's
// PROMOTE decides what waits). Every caller holds n.mu, which guards the
// election mode box.cfg changes.
func (n *Node) electionFrozen() bool {
	d := n.election
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.e.Frozen() || (n.cfg.electionOn() && !d.e.Writable())
}

// quorumLSN is the newest LSN of owner that a quorum of this node and its
// connected replicas (their last ACKs) has (n.mu held); 0 when fewer than
// a quorum are connected.
func (n *Node) quorumLSN(owner uint32) uint64 {
	lsns := []uint64{n.vclock.Get(owner)}
	n.repl.mu.Lock()
	for _, r := range n.repl.relays {
		if r.id != 0 && r.active() {
			r.mu.Lock()
			lsns = append(lsns, r.ack.Get(owner))
			r.mu.Unlock()
		}
	}
	n.repl.mu.Unlock()
	return QuorumLSN(lsns, n.cfg.ReplicationSynchroQuorum)
}

// claimQueue writes the PROMOTE (or DEMOTE) of term once the old owner's
// newest synchronous entry has its quorum (NODE.md §5.7, 4.9): the body
// names the old owner and the LSN up to which its entries are confirmed;
// entries after it are rolled back when the row is applied. It is the
// Raft worker's promotion of a new leader: it gives up when the term
// moves on or the node stops being leader.
func (n *Node) claimQueue(typ box.RowType, term uint64) {
	n.mu.Lock()
	promoteTerm := n.limbo.q.State().Term
	n.mu.Unlock()
	if err := n.writeClaim(typ, term, promoteTerm, time.Time{}); err != nil {
		n.log.Infof("RAFT: no %s in term %d: %v", typ, term, err)
	}
}

// writeClaim waits until the queue can be claimed in term and writes the
// PROMOTE or DEMOTE, with 2.11's checks (box_wait_limbo_acked,
// box_issue_promote): ER_INTERFERING_ELECTIONS when the Raft term moved
// on, ER_NOT_LEADER when an elected node stopped leading,
// ER_INTERFERING_PROMOTE when another PROMOTE (queue term promoteTerm
// before) was applied meanwhile, ER_TIMEOUT when the old owner's entries
// have no quorum by the deadline (zero: no deadline).
func (n *Node) writeClaim(typ box.RowType, term, promoteTerm uint64, deadline time.Time) error {
	d := n.election
	for {
		select {
		case <-n.stop:
			return errStopped
		default:
		}
		st := d.status()
		if st.Term != term || st.VolatileTerm != term {
			return box.NewError(box.ErrInterferingElections)
		}
		if st.Enabled && st.State != raft.Leader && typ == box.TypePromote {
			return box.NewError(box.ErrNotLeader, st.Leader)
		}
		n.mu.Lock()
		if n.broken != nil {
			n.mu.Unlock()
			return n.broken
		}
		if qs := n.limbo.q.State(); qs.Term != promoteTerm {
			n.mu.Unlock()
			return box.NewError(box.ErrInterferingPromote, qs.Owner)
		}
		body, ready := n.limbo.Claim(term, n.quorumLSN)
		if !ready {
			n.mu.Unlock()
			if !deadline.IsZero() && time.Now().After(deadline) {
				return box.NewError(box.ErrTimeout)
			}
			select {
			case <-n.stop:
				return errStopped
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		n.log.Infof("RAFT: writing %s: owner %d, lsn %d, term %d", typ, body.ReplicaID, body.LSN, term)
		done := n.logRow(typ, format.AppendSynchroBody(nil, &body), false)
		// The queue takes the row at once, as Tarantool's limbo latch
		// does: a transaction received while it is written follows it in
		// the WAL and is filtered against the new term (written as NOPs),
		// not queued behind the old owner. Its clients learn the fates
		// once it is durable.
		ds := n.limbo.Applied(typ, body)
		n.mu.Unlock()
		err := <-done
		n.mu.Lock()
		if err != nil {
			n.broken = err
			n.mu.Unlock()
			n.log.Errorf("%s write failed: %v", typ, err)
			return err
		}
		n.resolve(ds, 0)
		newOwner := n.id
		if typ == box.TypeDemote {
			newOwner = 0
		}
		d.queueClaimed(newOwner, term)
		n.mu.Unlock()
		return nil
	}
}

// raftRecovered is the election state recovery found.
type raftRecovered struct {
	st    raft.Persistent
	queue synchro.State
}

// electionInfo is box.info.election.
func (n *Node) electionInfo() memtx.Map {
	d := n.election
	if d == nil {
		return memtx.Map{{Key: "state", Value: "follower"}, {Key: "term", Value: uint64(1)},
			{Key: "vote", Value: uint64(0)}, {Key: "leader", Value: uint64(0)}}
	}
	st := d.status()
	m := memtx.Map{{Key: "state", Value: st.State.String()}, {Key: "term", Value: st.Term},
		{Key: "vote", Value: uint64(st.Vote)}, {Key: "leader", Value: uint64(st.Leader)}}
	if st.Leader != 0 {
		m = append(m, memtx.MapEntry{Key: "leader_idle", Value: st.LeaderIdle.Seconds()})
	}
	return m
}

// synchroInfo is box.info.synchro (n.mu held).
func (n *Node) synchroInfo() memtx.Map {
	qs := n.limbo.q.State()
	return memtx.Map{{Key: "queue", Value: memtx.Map{{Key: "owner", Value: uint64(qs.Owner)},
		{Key: "term", Value: qs.Term}, {Key: "len", Value: uint64(n.limbo.Len())},
		{Key: "busy", Value: n.limbo.writing}}},
		{Key: "quorum", Value: uint64(n.cfg.ReplicationSynchroQuorum)}}
}

// snapshotRaft is the RAFT row of a snapshot: none while the node has
// never left term 1 without a vote (a 2.6.0 rejects snapshots with RAFT
// rows, NODE.md §6.2).
func (n *Node) snapshotRaft() *format.Raft {
	d := n.election
	if d == nil || !n.electionOnNow() {
		return nil
	}
	st := d.status()
	return &format.Raft{Term: st.Term, Vote: st.Vote}
}

// snapshotPromote is the PROMOTE row of a snapshot: the queue owner, its
// confirmed LSN and the queue term, when a PROMOTE was ever applied.
func (n *Node) snapshotPromote() *format.Synchro {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.cfg.electionOn() || n.limbo == nil {
		return nil
	}
	qs := n.limbo.q.State()
	if !qs.TermKnown || qs.Term == 0 {
		return nil
	}
	return &format.Synchro{ReplicaID: qs.Owner, LSN: qs.ConfirmedLSN, Term: qs.Term, HasTerm: true}
}

// promote is box.ctl.promote() as 2.11's box_promote: nothing for the
// node that already leads and owns the queue; with elections off the
// queue is drained (up to 2 × synchro timeout), the term bumped and a
// PROMOTE written once the old owner's entries have their quorum (up to
// the synchro timeout); in mode voter ER_UNSUPPORTED; in modes manual and
// candidate a new term with this node as candidate (PromoteOutcome gives
// the errors), then, beyond 2.11, it waits until the new leader's PROMOTE
// is applied so that the caller can write at once.
func (n *Node) promote() error {
	d := n.election
	mode, synchroTimeout, qs, st, err := n.enterPromote()
	if err != nil {
		return err
	}
	busy := true
	defer func() {
		if busy {
			d.promoting.Store(false)
		}
	}()
	var frozen bool
	d.with(func(e *raft.Election) { frozen = e.Frozen() })
	if qs.Owner == n.id && qs.Term == st.Term && !frozen && (mode == "off" || st.State == raft.Leader) {
		return nil
	}
	switch mode {
	case "off":
		n.drainQueue(2*synchroTimeout, qs.Term)
		term, err := n.bumpTerm(qs.Term)
		if err != nil {
			return err
		}
		return n.writeClaim(box.TypePromote, term, qs.Term, time.Now().Add(synchroTimeout))
	case "voter":
		return box.NewError(box.ErrUnsupported, "election_mode='voter'", "manual elections")
	}
	if st.State == raft.Leader {
		return n.waitWritable(st.Term)
	}
	// 2.11 lets another promote() in while the election runs.
	busy = false
	d.promoting.Store(false)
	var term uint64
	d.with(func(e *raft.Election) {
		if err = e.Promote(); err == nil {
			term = e.Status().VolatileTerm
		}
	})
	if err != nil {
		return err
	}
	for {
		var done bool
		d.with(func(e *raft.Election) { done, err = e.PromoteOutcome(term) })
		if done {
			break
		}
		select {
		case <-n.stop:
			return errStopped
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err != nil {
		return err
	}
	return n.waitWritable(term)
}

// enterPromote takes the promote/demote guard (released by the caller)
// and returns the election mode, the synchro timeout, the queue state and
// the Raft status the call starts from.
func (n *Node) enterPromote() (string, time.Duration, synchro.State, raft.Status, error) {
	d := n.election
	if !d.promoting.CompareAndSwap(false, true) {
		return "", 0, synchro.State{}, raft.Status{}, box.NewError(box.ErrUnsupported, "box.ctl.promote/demote", "simultaneous invocations")
	}
	n.mu.Lock()
	mode, synchroTimeout, qs := n.cfg.ElectionMode, n.cfg.ReplicationSynchroTimeout, n.limbo.q.State()
	n.mu.Unlock()
	return mode, synchroTimeout, qs, d.status(), nil
}

// waitWritable waits until the leader of term has its PROMOTE applied:
// ER_INTERFERING_ELECTIONS when the term moves on, ER_NOT_LEADER when the
// node stops leading; after election_timeout + 2 × synchro timeout it
// returns as 2.11 does once elected, still read-only.
func (n *Node) waitWritable(term uint64) error {
	d := n.election
	n.mu.Lock()
	timeout, synchroTimeout := n.cfg.ElectionTimeout, n.cfg.ReplicationSynchroTimeout
	n.mu.Unlock()
	if timeout <= 0 {
		timeout = raft.DefaultElectionTimeout
	}
	deadline := time.Now().Add(timeout + 2*synchroTimeout)
	for time.Now().Before(deadline) {
		if n.electionWritable() && n.ownsQueue() {
			return nil
		}
		st := d.status()
		if st.VolatileTerm != term {
			return box.NewError(box.ErrInterferingElections)
		}
		if st.State != raft.Leader {
			return box.NewError(box.ErrNotLeader, st.Leader)
		}
		select {
		case <-n.stop:
			return errStopped
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// drainQueue waits up to wait for the queue to empty
// (box_try_wait_confirm); the caller checks the promote term after.
func (n *Node) drainQueue(wait time.Duration, promoteTerm uint64) {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		n.mu.Lock()
		empty := n.limbo.Empty() || n.limbo.q.State().Term != promoteTerm
		n.mu.Unlock()
		if empty {
			return
		}
		select {
		case <-n.stop:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// bumpTerm starts a new Raft term and waits until it is persisted
// (box_trigger_elections): ER_INTERFERING_PROMOTE when another PROMOTE
// than that of promoteTerm is applied meanwhile.
func (n *Node) bumpTerm(promoteTerm uint64) (uint64, error) {
	d := n.election
	var term uint64
	d.with(func(e *raft.Election) { term = e.NewTerm() })
	for {
		st := d.status()
		if st.Term >= term {
			term = st.Term
			break
		}
		select {
		case <-n.stop:
			return 0, errStopped
		case <-time.After(2 * time.Millisecond):
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if qs := n.limbo.q.State(); qs.Term != promoteTerm {
		return 0, box.NewError(box.ErrInterferingPromote, qs.Owner)
	}
	return term, nil
}

func (n *Node) ownsQueue() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.limbo.Owner() == n.id
}

// demote is box.ctl.demote() as 2.11's box_demote: with elections on the
// owner of the queue in the current term resigns (anyone else: nothing
// happens); with elections off ER_NOT_LEADER while a Raft leader is
// known, nothing while nobody owns the queue or its owner was promoted in
// the current term by another node, else a new term and a DEMOTE of the
// owner's queue.
func (n *Node) demote() error {
	d := n.election
	mode, synchroTimeout, qs, st, err := n.enterPromote()
	if err != nil {
		return err
	}
	defer d.promoting.Store(false)
	if mode != "off" {
		if qs.Owner == n.id && qs.Term == st.Term {
			d.with(func(e *raft.Election) { e.Demote() })
		}
		return nil
	}
	if st.Leader != 0 {
		return box.NewError(box.ErrNotLeader, st.Leader)
	}
	if qs.Owner == 0 || (qs.Term == st.Term && qs.Owner != n.id) {
		return nil
	}
	term, err := n.bumpTerm(qs.Term)
	if err != nil {
		return err
	}
	n.drainQueue(2*synchroTimeout, qs.Term)
	return n.writeClaim(box.TypeDemote, term, qs.Term, time.Now().Add(synchroTimeout))
}

// reconfigureElection applies election_mode, election_timeout,
// election_fencing_mode and replication_timeout from box.cfg{}.
func (n *Node) reconfigureElection(key string, v any) error {
	d := n.election
	secs := func() (time.Duration, error) {
		switch x := v.(type) {
		case float64:
			if x > 0 {
				return time.Duration(x * float64(time.Second)), nil
			}
		case uint64:
			if x > 0 {
				return time.Duration(x) * time.Second, nil
			}
		}
		return 0, box.NewError(box.ErrCfg, key, "the value must be a positive number")
	}
	switch key {
	case "election_mode":
		s, _ := v.(string)
		m, err := raft.ParseMode(s)
		if err != nil {
			return box.NewError(box.ErrCfg, "election_mode", "the value must be one of the following strings: 'off', 'voter', 'candidate', 'manual'")
		}
		n.mu.Lock()
		was := n.cfg.electionOn()
		n.cfg.ElectionMode = s
		if !was && n.cfg.electionOn() && n.limbo.Empty() {
			n.limbo.q.SetRules(synchro.RulesFor("2.11.0"))
		}
		n.mu.Unlock()
		d.with(func(e *raft.Election) { e.SetMode(m) })
	case "election_fencing_mode":
		s, _ := v.(string)
		f, err := raft.ParseFencing(s)
		if err != nil {
			return box.NewError(box.ErrCfg, "election_fencing_mode", "the value must be one of the following strings: 'off', 'soft', 'strict'")
		}
		n.mu.Lock()
		n.cfg.ElectionFencingMode = s
		n.mu.Unlock()
		d.with(func(e *raft.Election) { e.SetFencing(f) })
	case "election_timeout":
		t, err := secs()
		if err != nil {
			return err
		}
		n.mu.Lock()
		n.cfg.ElectionTimeout = t
		n.mu.Unlock()
		d.with(func(e *raft.Election) { e.SetElectionTimeout(t) })
	case "replication_timeout":
		t, err := secs()
		if err != nil {
			return err
		}
		n.mu.Lock()
		n.cfg.ReplicationTimeout = t
		n.mu.Unlock()
		d.with(func(e *raft.Election) { e.SetReplicationTimeout(t) })
	}
	return nil
}

// limboForElection gives the queue 2.11's rules when elections are on:
// explicit owners claimed by PROMOTE, split-brain filters (n.mu held or
// not yet shared).
func (n *Node) limboForElection() {
	if n.cfg.electionOn() {
		n.limbo.q.SetRules(synchro.RulesFor("2.11.0"))
	}
	n.limbo.Recovered(n.recovered.queue)
}

// electionCheckWrite refuses a client's write while Raft does not let the
// node write: not the leader, or a leader whose PROMOTE is not applied yet
// (n.mu held). Temporary and local spaces stay writable.
func (n *Node) electionCheckWrite(spaceID uint32) error {
	if n.electionWritable() {
		return nil
	}
	if sp := n.st.Space(spaceID); sp != nil && (sp.Temporary || sp.IsLocal) {
		return nil
	}
	return box.NewError(box.ErrReadonly)
}

// syncFlags are the header flags of a transaction row with elections on,
// as 2.11 writes them: WAIT_SYNC when it waits in the queue, WAIT_ACK
// when it is synchronous. The split-brain filters of a follower turn an
// outdated owner's waiting transactions into NOPs by them. 2.6.0 writes
// no flags, and neither does the node with elections off.
func (n *Node) syncFlags(queued, sync bool) uint64 {
	if !n.cfg.electionOn() {
		return 0
	}
	return SyncFlags(queued, sync)
}

// SyncFlags are 2.11's header flags of a transaction row: WAIT_SYNC when
// it waits in the queue, with WAIT_ACK when it is synchronous.
func SyncFlags(queued, sync bool) uint64 {
	if !queued {
		return 0
	}
	f := uint64(box.FlagWaitSync)
	if sync {
		f |= box.FlagWaitAck
	}
	return f
}

// fileVersion is the Version line of the files the node writes: with
// elections on the rows follow 2.11's rules (PROMOTE, explicit queue
// owner, WAIT_SYNC flags), and readers pick their queue rules by it.
func (n *Node) fileVersion() string {
	if n.cfg.electionOn() && box.VersionOf(n.cfg.Version).Less(box.VersionOf("2.11.0")) {
		return "2.11.0"
	}
	return n.cfg.Version
}

// ackTerm is the TERM of the node's ACKs (2.11, F§7.8): its persisted Raft
// term with elections on, none otherwise (2.6.0 masters skip the key).
func (n *Node) ackTerm() uint64 {
	if n.election == nil || !n.electionOnNow() {
		return 0
	}
	return n.election.status().Term
}

// ackedTerm feeds the TERM of a replica's ACK to Raft before the ACK
// itself counts (raft_process_term).
func (n *Node) ackedTerm(term uint64) {
	if term == 0 || n.election == nil {
		return
	}
	n.election.with(func(e *raft.Election) { e.AckTerm(term) })
}

// electionOnNow is Config.electionOn under n.mu (box.cfg changes it).
func (n *Node) electionOnNow() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg.electionOn()
}

// electionFollower reports whether another instance leads: the node then
// registers no joining replica (its _cluster row would be a write from a
// queue owner of an old term, which the leader refuses as split-brain)
// and says it is read-only in its ballot, so joiners go to the leader.
// Before any leader is known a fresh replica set registers as 2.6.0 does.
func (n *Node) electionFollower() bool {
	d := n.election
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.e.Status()
	return st.Enabled && st.Leader != 0 && st.Leader != st.ID
}

// peerIDOf returns the replica id of a peer's UUID (0: not registered).
func (n *Node) peerIDOf(uuid string) uint32 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.replicaID(uuid)
}
