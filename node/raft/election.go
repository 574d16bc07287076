package raft

import (
	"fmt"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// Mode is election_mode.
type Mode int

// Election modes.
const (
	ModeOff Mode = iota
	ModeVoter
	ModeManual
	ModeCandidate
)

func (m Mode) String() string {
	return [...]string{"off", "voter", "manual", "candidate"}[m]
}

// ParseMode parses an election_mode value.
func ParseMode(s string) (Mode, error) {
	for m := ModeOff; m <= ModeCandidate; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("election_mode %q: want off, voter, manual or candidate", s)
}

// Fencing is election_fencing_mode.
type Fencing int

// Fencing modes.
const (
	FencingOff Fencing = iota
	FencingSoft
	FencingStrict
)

func (f Fencing) String() string { return [...]string{"off", "soft", "strict"}[f] }

// ParseFencing parses an election_fencing_mode value.
func ParseFencing(s string) (Fencing, error) {
	for f := FencingOff; f <= FencingStrict; f++ {
		if f.String() == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("election_fencing_mode %q: want off, soft or strict", s)
}

// Config configures an Election.
type Config struct {
	ID                 uint32 // own replica id
	Mode               Mode
	ElectionTimeout    time.Duration // default 5 s
	ReplicationTimeout time.Duration // default 1 s; leader death = 4 × it
	Fencing            Fencing
	// SynchroQuorum is replication_synchro_quorum (already evaluated).
	SynchroQuorum int
	// Registered is the number of registered (non-anonymous) instances,
	// self included.
	Registered int
	Rand       Rand
	// ShiftFirstRound makes the first round after the leader is lost
	// wait a random shift (Raft.CfgShiftFirstRound).
	ShiftFirstRound bool
}

// Election is the Raft machine with Tarantool's box glue around it (src/box/raft.c,
// box.cc): election modes, quorum, peer health, fencing, promote/demote and
// the queue hand-over. Like Raft it does no I/O: the caller feeds it and
// acts on Ready.
type Election struct {
	Raft *Raft
	cfg  Config

	peers         map[uint32]*peer
	healthy       int // self included
	fencingPaused bool

	queueOwner uint32
	queueTerm  uint64
	frozen     bool // fenced: no CONFIRM/ROLLBACK until a new PROMOTE/DEMOTE
	promoted   uint64
	offPromote uint64 // mode off: promote waits for this term to be persisted
	offDemote  bool
}

type peer struct {
	healthy   bool
	lastHeard time.Duration
}

// NewElection creates an election for an instance that recovered the given
// persistent state, at time now. The machine broadcasts its state first.
func NewElection(cfg Config, st Persistent, vclock format.VClock, now time.Duration) *Election {
	if cfg.ElectionTimeout <= 0 {
		cfg.ElectionTimeout = DefaultElectionTimeout
	}
	if cfg.ReplicationTimeout <= 0 {
		cfg.ReplicationTimeout = time.Second
	}
	r := NewRaft(cfg.Rand)
	r.Tick(now)
	r.Recover(format.Raft{Term: st.Term, Vote: st.Vote})
	r.SetID(cfg.ID)
	r.SetVClock(vclock)
	r.CfgElectionTimeout(cfg.ElectionTimeout)
	r.CfgDeathTimeout(4 * cfg.ReplicationTimeout)
	r.CfgShiftFirstRound(cfg.ShiftFirstRound)
	e := &Election{Raft: r, cfg: cfg, peers: map[uint32]*peer{}, healthy: 1}
	e.fencingPaused = e.healthy < e.healthyQuorum()
	e.updateQuorum()
	e.applyMode()
	return e
}

// healthyQuorum is replicaset_healthy_quorum: the synchro quorum, lowered
// to the registered count while the replica set is being built.
func (e *Election) healthyQuorum() int {
	q := e.cfg.SynchroQuorum
	if q < 1 {
		q = 1
	}
	n := e.cfg.Registered
	if n < 1 {
		n = 1
	}
	return min(q, n)
}

func (e *Election) hasHealthyQuorum() bool { return e.healthy >= e.healthyQuorum() }

func (e *Election) updateQuorum() {
	if e.cfg.Mode == ModeOff {
		e.Raft.CfgElectionQuorum(1)
	} else {
		e.Raft.CfgElectionQuorum(e.healthyQuorum())
	}
	e.Raft.CfgClusterSize(max(e.cfg.Registered, 1))
}

func (e *Election) applyMode() {
	r := e.Raft
	switch e.cfg.Mode {
	case ModeOff, ModeVoter:
		r.CfgIsCandidate(false)
	case ModeManual:
		r.CfgIsCandidateLater(false)
	case ModeCandidate:
		if e.hasHealthyQuorum() {
			r.CfgIsCandidate(true)
		}
	}
	e.updateQuorum()
	r.CfgEnabled(e.cfg.Mode != ModeOff)
}

// SetMode changes election_mode.
func (e *Election) SetMode(m Mode) {
	if m == e.cfg.Mode {
		return
	}
	e.cfg.Mode = m
	e.applyMode()
}

// SetElectionTimeout changes election_timeout.
func (e *Election) SetElectionTimeout(d time.Duration) {
	e.cfg.ElectionTimeout = d
	e.Raft.CfgElectionTimeout(d)
}

// SetReplicationTimeout changes replication_timeout (and so the leader
// death timeout).
func (e *Election) SetReplicationTimeout(d time.Duration) {
	e.cfg.ReplicationTimeout = d
	e.Raft.CfgDeathTimeout(4 * d)
}

// SetFencing changes election_fencing_mode.
func (e *Election) SetFencing(f Fencing) { e.cfg.Fencing = f }

// SetQuorum changes replication_synchro_quorum and the registered count.
func (e *Election) SetQuorum(synchroQuorum, registered int) {
	e.cfg.SynchroQuorum, e.cfg.Registered = synchroQuorum, registered
	e.updateQuorum()
	e.notifyHaveQuorum()
}

// Config returns the current configuration.
func (e *Election) Config() Config { return e.cfg }

// disconnectTimeout is replication_disconnect_timeout: how long a silent
// peer stays healthy.
func (e *Election) disconnectTimeout() time.Duration {
	if e.Raft.state == Leader && e.cfg.Fencing == FencingStrict {
		return 2 * e.cfg.ReplicationTimeout
	}
	return 4 * e.cfg.ReplicationTimeout
}

// Tick advances the clock: peers silent for the disconnect timeout become
// unhealthy, then the Raft timer fires if due.
func (e *Election) Tick(now time.Duration) {
	e.Raft.Tick(now)
	now = e.Raft.now
	dt := e.disconnectTimeout()
	for _, id := range e.peerIDs() {
		if p := e.peers[id]; p.healthy && now-p.lastHeard >= dt {
			e.SetPeerHealthy(id, false)
		}
	}
	e.Raft.Tick(now)
}

func (e *Election) peerIDs() []uint32 {
	var ids []uint32
	for id := uint32(1); id < format.VClockMax; id++ {
		if e.peers[id] != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// Deadline returns the next time Tick has something to do.
func (e *Election) Deadline() (time.Duration, bool) {
	d, ok := e.Raft.Deadline()
	dt := e.disconnectTimeout()
	for _, p := range e.peers {
		if p.healthy && (!ok || p.lastHeard+dt < d) {
			d, ok = p.lastHeard+dt, true
		}
	}
	return d, ok
}

func (e *Election) heard(id uint32) {
	if id == 0 || id == e.cfg.ID || id >= format.VClockMax {
		return
	}
	p := e.peers[id]
	if p == nil {
		p = &peer{}
		e.peers[id] = p
	}
	p.lastHeard = e.Raft.now
	if !p.healthy {
		e.SetPeerHealthy(id, true)
	}
}

// SetPeerHealthy reports that the link with peer id is up (applier and
// relay both following) or down. Links that carry traffic are marked
// healthy by Step and Heartbeat; silent ones time out in Tick.
func (e *Election) SetPeerHealthy(id uint32, healthy bool) {
	p := e.peers[id]
	if p == nil {
		p = &peer{lastHeard: e.Raft.now}
		e.peers[id] = p
	}
	if p.healthy == healthy {
		return
	}
	p.healthy = healthy
	if healthy {
		e.healthy++
		p.lastHeard = e.Raft.now
	} else {
		e.healthy--
	}
	// Candidacy first, then the witness bit: a lost peer must not start
	// an election the node has no quorum for.
	e.notifyHaveQuorum()
	if !healthy {
		e.Raft.NotifyIsLeaderSeen(false, id)
	}
}

// Healthy returns the number of healthy instances, self included.
func (e *Election) Healthy() int { return e.healthy }

func (e *Election) notifyHaveQuorum() {
	has := e.hasHealthyQuorum()
	if e.fencingPaused && has {
		e.fencingPaused = false
	}
	r := e.Raft
	switch e.cfg.Mode {
	case ModeManual:
		if !has {
			e.fence()
		}
	case ModeCandidate:
		switch {
		case has:
			r.CfgIsCandidate(true)
		case r.state == Candidate || r.state == Leader:
			e.fence()
			r.CfgIsCandidateLater(false)
		default:
			r.CfgIsCandidate(false)
		}
	}
}

func (e *Election) fence() {
	if e.Raft.state != Leader || e.cfg.Fencing == FencingOff || e.fencingPaused {
		return
	}
	e.Raft.Resign()
	e.frozen = true
}

// Step handles a RAFT message from peer src.
func (e *Election) Step(m format.Raft, src uint32) error {
	e.heard(src)
	return e.Raft.ProcessMsg(m, src)
}

// Heartbeat handles any other packet from peer src.
func (e *Election) Heartbeat(src uint32) {
	e.heard(src)
	e.Raft.ProcessHeartbeat(src)
}

// AckTerm handles the TERM of a replica's ACK (2.11+).
func (e *Election) AckTerm(term uint64) { e.Raft.ProcessTerm(term) }

// SetVClock updates the own vclock.
func (e *Election) SetVClock(v format.VClock) { e.Raft.SetVClock(v) }

// WriteDone reports that the RAFT row of the last Ready is durable.
func (e *Election) WriteDone() {
	e.Raft.WriteDone()
}

// QueueClaimed reports a PROMOTE or DEMOTE applied by the synchronous
// queue: owner (0 after DEMOTE) and term. It ends a fencing freeze.
func (e *Election) QueueClaimed(owner uint32, term uint64) {
	e.queueOwner, e.queueTerm = owner, term
	e.frozen = false
}

// Frozen reports whether the queue is frozen by fencing: the node must not
// write CONFIRM or ROLLBACK.
func (e *Election) Frozen() bool { return e.frozen }

// Writable reports whether Raft lets the node accept writes: with
// elections on, only a leader whose PROMOTE of the current term is applied.
func (e *Election) Writable() bool {
	r := e.Raft
	if !r.enabled {
		return true
	}
	return r.state == Leader && e.queueOwner == e.cfg.ID && e.queueTerm == r.term && !e.frozen
}

// Promote is box.ctl.promote(). With elections on it starts a new term
// with this node as candidate; the outcome arrives through Ready. With
// elections off it bumps the term and asks for a PROMOTE once persisted.
// The error is Tarantool's (*box.Error) ER_UNSUPPORTED in mode voter. As
// in 2.11 the term starts even without a healthy quorum: peers that
// connect during the round may still vote, and PromoteOutcome reports
// ER_NO_ELECTION_QUORUM if the round ends without them.
func (e *Election) Promote() error {
	r := e.Raft
	switch e.cfg.Mode {
	case ModeVoter:
		return box.NewError(box.ErrUnsupported, "election_mode='voter'", "manual elections")
	case ModeOff:
		r.NewTerm()
		e.offPromote = r.volatileTerm
		return nil
	}
	if r.state == Leader {
		return nil
	}
	r.Promote()
	return nil
}

// PromoteOutcome tells how a box.ctl.promote() that started term (the
// volatile term right after Promote) stands, as 2.11's
// box_raft_try_promote sees it: done once the term ended, the node is no
// longer a candidate or a leader is known. A nil error when done means
// this node leads. Otherwise the error is Tarantool's, in its order:
// ER_INTERFERING_PROMOTE when another node won, ER_NO_ELECTION_QUORUM,
// ER_OLD_TERM when the term moved on without a leader, a timeout in mode
// manual (the one round ended) and ER_ELECTION_DISABLED when the node
// stopped being a candidate for another reason (reconfigured); the
// promotion is then withdrawn.
func (e *Election) PromoteOutcome(term uint64) (done bool, err error) {
	r := e.Raft
	if r.volatileTerm <= term && r.candidate && r.leader == 0 {
		return false, nil
	}
	if r.state == Leader && r.volatileTerm == term {
		return true, nil
	}
	switch {
	case r.leader != 0:
		err = box.NewError(box.ErrInterferingPromote, r.leader)
	case e.healthy < e.healthyQuorum():
		err = box.NewError(box.ErrNoElectionQuorum, e.healthy, e.healthyQuorum())
	case term < r.volatileTerm:
		err = box.NewError(box.ErrOldTerm, term, r.volatileTerm)
	case e.cfg.Mode == ModeManual:
		err = box.NewError(box.ErrTimeout)
	default:
		err = box.NewError(box.ErrElectionDisabled)
	}
	r.Restore()
	return true, err
}

// NewTerm bumps the term (box.ctl.promote() and demote() with elections
// off) and returns it; it is persisted once Status().Term reaches it. The
// caller writes the PROMOTE or DEMOTE itself.
func (e *Election) NewTerm() uint64 {
	e.Raft.NewTerm()
	return e.Raft.volatileTerm
}

// Demote is box.ctl.demote(): a leader resigns (no term bump); with
// elections off the term is bumped and a DEMOTE asked for.
func (e *Election) Demote() {
	r := e.Raft
	if e.cfg.Mode == ModeOff {
		if e.queueOwner == e.cfg.ID {
			r.NewTerm()
			e.offDemote = true
		}
		return
	}
	if r.state == Leader {
		r.Resign()
		r.Restore()
	}
}

// ElectionReady is Ready plus the box-level requests.
type ElectionReady struct {
	Ready
	// Promote is a term in which this node must now write PROMOTE (after
	// waiting for the old owner's entries to gather their quorum) and
	// report it with QueueClaimed; 0 when none.
	Promote uint64
	// Demote asks for a DEMOTE in term DemoteTerm (elections off).
	Demote     bool
	DemoteTerm uint64
}

// Ready collects the outputs.
func (e *Election) Ready() ElectionReady {
	r := e.Raft
	rd := ElectionReady{Ready: r.Ready()}
	if r.state == Leader && r.fullyOnDisk() && e.queueTerm != r.term && e.promoted != r.term {
		e.promoted = r.term
		rd.Promote = r.term
	}
	if e.offPromote != 0 && r.term >= e.offPromote && r.fullyOnDisk() {
		rd.Promote = r.term
		e.offPromote = 0
	}
	if e.offDemote && r.fullyOnDisk() {
		rd.Demote, rd.DemoteTerm = true, r.term
		e.offDemote = false
	}
	return rd
}

// Status returns the Raft status.
func (e *Election) Status() Status { return e.Raft.Status() }
