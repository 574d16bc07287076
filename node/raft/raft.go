package raft

import (
	"fmt"
	"time"

	"github.com/xlogtool/xlogtool/format"
)

// State is a node's Raft role, with Tarantool's wire values.
type State uint32

// Roles.
const (
	Follower  State = 1
	Candidate State = 2
	Leader    State = 3
)

func (s State) String() string {
	switch s {
	case Follower:
		return "follower"
	case Candidate:
		return "candidate"
	case Leader:
		return "leader"
	}
	return fmt.Sprintf("invalid (%d)", uint32(s))
}

// Rand is the source of the randomised election round shift. Inject a
// seeded generator (math/rand/v2's *rand.Rand fits) to get reproducible runs.
type Rand interface {
	IntN(n int) int
}

// Default parameters, as in Tarantool.
const (
	DefaultElectionTimeout = 5 * time.Second
	DefaultDeathTimeout    = 5 * time.Second
	DefaultMaxShift        = 0.1
)

// MsgError is a RAFT message that breaks the protocol; the applier that
// received it ends the link with it (Tarantool's RaftError).
type MsgError struct {
	From   uint32
	Reason string
}

func (e *MsgError) Error() string {
	return fmt.Sprintf("RAFT message from instance %d: %s", e.From, e.Reason)
}

type voteCount struct {
	did   bool // the source already voted in this term
	count int  // votes received by this id in this term
}

type timer struct {
	active   bool
	deadline time.Duration
	repeat   time.Duration
	kind     timerKind
}

// timerKind is what the timer waits for.
type timerKind int

const (
	// timerLeader waits for a known leader's death, or for a leader to
	// show up after a start.
	timerLeader timerKind = iota
	// timerRound waits for the end of an election round.
	timerRound
	// timerStart holds back the first round after the leader is gone by
	// a random shift (startAfterLeaderLoss).
	timerStart
)

// Raft is Tarantool's election state machine (src/lib/raft/raft.c): one
// instance's term, vote, role and timers. It does no I/O and reads no
// clock: the caller advances its time with Tick, feeds it messages,
// heartbeats and write completions, and collects what it must persist and
// broadcast with Ready.
//
// Times are monotonic durations since an arbitrary origin chosen by the
// caller; every input method works at the time of the latest Tick.
type Raft struct {
	self   uint32
	leader uint32
	state  State

	enabled            bool
	candidate          bool // effective: may start elections now
	cfgCandidate       bool // configured
	writeInProgress    bool // volatile state differs from disk, or a write runs
	broadcastScheduled bool
	inFlight           *format.Raft // the row the caller is writing
	shown              bool         // inFlight was handed out by Ready

	term, volatileTerm uint64
	vote, volatileVote uint32
	candidateVClock    format.VClock

	votes      [format.VClockMax]voteCount
	votedCount int
	maxVote    int
	witness    uint32 // leader witness map: peers (and self) that see the leader

	quorum          int
	clusterSize     int
	electionTimeout time.Duration
	deathTimeout    time.Duration
	maxShift        float64
	shiftFirstRound bool
	startPrevote    bool // the held-back round checks the witness map

	leaderLastSeen time.Duration
	vclock         format.VClock
	timer          timer
	now            time.Duration
	rnd            Rand
	changed        bool
}

// Persistent is the part of the Raft state that survives restarts.
type Persistent struct {
	Term uint64
	Vote uint32
}

// NewRaft returns a disabled follower in term 1 with Tarantool's defaults
// (quorum 1, timeouts 5 s, cluster size 32). Recover it from the RAFT rows
// of the snapshot and WAL, then configure it (SetID, SetVClock, Cfg*) and
// enable it.
func NewRaft(rnd Rand) *Raft {
	return &Raft{
		state:           Follower,
		term:            1,
		volatileTerm:    1,
		quorum:          1,
		electionTimeout: DefaultElectionTimeout,
		deathTimeout:    DefaultDeathTimeout,
		maxShift:        DefaultMaxShift,
		clusterSize:     format.VClockMax,
		rnd:             rnd,
	}
}

// Recover applies one recovered RAFT row (snapshot or WAL, in log order).
// Tarantool overwrites the term with a non-zero TERM and the vote with a
// non-zero VOTE, so a term-only row keeps the vote of an older term; this
// machine instead forgets the vote when a row raises the term without
// voting, because that vote belongs to an older term (docs/raft.md).
func (r *Raft) Recover(row format.Raft) {
	if row.Term > r.term {
		r.term, r.volatileTerm = row.Term, row.Term
		r.vote, r.volatileVote = 0, 0
	}
	if row.Vote != 0 && row.Term >= r.term {
		r.vote, r.volatileVote = row.Vote, row.Vote
	}
}

// SetID sets the instance's own replica id, once it is known for good. A
// recovered vote is counted again.
func (r *Raft) SetID(id uint32) {
	r.self = id
	if r.volatileVote != 0 {
		r.addVote(id, r.volatileVote)
	}
}

// SetVClock updates the instance's own vclock (component 0 is ignored).
func (r *Raft) SetVClock(v format.VClock) { r.vclock = v }

// Tick advances the machine's clock to now and fires the timer if due.
// Time never goes back: an earlier now is ignored.
func (r *Raft) Tick(now time.Duration) {
	for i := 0; r.timer.active && r.timer.deadline <= now && i < 64; i++ {
		if r.timer.deadline > r.now {
			r.now = r.timer.deadline
		}
		r.onTimer()
	}
	if now > r.now {
		r.now = now
	}
}

// Now returns the machine's time.
func (r *Raft) Now() time.Duration { return r.now }

// Deadline returns when the timer fires next, if it runs.
func (r *Raft) Deadline() (time.Duration, bool) { return r.timer.deadline, r.timer.active }

// Status is what box.info.election shows, plus the internals tests look at.
type Status struct {
	ID           uint32
	State        State
	Term         uint64 // persisted
	Vote         uint32 // persisted
	VolatileTerm uint64
	VolatileVote uint32
	Leader       uint32
	LeaderIdle   time.Duration
	Enabled      bool
	Candidate    bool // effective candidacy
	LeaderSeen   bool
	Writing      bool // a term/vote write is pending or running
	Votes        int  // votes for self in this term
}

// Status returns the current state.
func (r *Raft) Status() Status {
	s := Status{
		ID: r.self, State: r.state, Term: r.term, Vote: r.vote,
		VolatileTerm: r.volatileTerm, VolatileVote: r.volatileVote,
		Leader: r.leader, Enabled: r.enabled, Candidate: r.candidate,
		LeaderSeen: r.leaderSeen(), Writing: r.writeInProgress,
	}
	if r.self != 0 {
		s.Votes = r.votes[r.self].count
	}
	if r.state != Leader {
		s.LeaderIdle = r.now - r.leaderLastSeen
	}
	return s
}

// Ready is what the machine asks the caller to do.
type Ready struct {
	// Write is a RAFT row (term and maybe vote) to make durable in the WAL
	// before WriteDone is called. At most one write runs at a time.
	Write *format.Raft
	// Message is the state to send to every peer (Tarantool keeps only the
	// latest one per relay). It carries persisted term and vote only.
	Message *format.Raft
	// Changed tells that the status changed since the previous Ready.
	Changed bool
}

// Empty reports whether there is nothing to do.
func (rd Ready) Empty() bool { return rd.Write == nil && rd.Message == nil && !rd.Changed }

// Ready runs the deferred work (Tarantool's Raft worker: start the pending
// write, or finish the dump when nothing is left to write) and returns the
// outputs collected since the previous call.
func (r *Raft) Ready() Ready {
	var rd Ready
	for i := 0; r.writeInProgress && r.inFlight == nil && i < 4; i++ {
		r.handleIO()
	}
	if r.inFlight != nil && !r.shown {
		w := *r.inFlight
		rd.Write = &w
		r.shown = true
	}
	// A broadcast waits for the write, as in Tarantool's worker, which
	// sends after the write it is blocked in.
	if r.broadcastScheduled && r.inFlight == nil {
		m := r.checkpointRemote()
		rd.Message = &m
		r.broadcastScheduled = false
	}
	rd.Changed, r.changed = r.changed, false
	return rd
}

// WriteDone reports that the row returned by Ready is durable.
func (r *Raft) WriteDone() {
	if r.inFlight == nil {
		panic("raft: WriteDone without a write")
	}
	req := r.inFlight
	r.inFlight, r.shown = nil, false
	r.term = req.Term
	r.vote = req.Vote
	r.scheduleBroadcast()
	if r.fullyOnDisk() {
		r.endDump()
	}
}

// PendingWrite returns the row being written, if any.
func (r *Raft) PendingWrite() *format.Raft { return r.inFlight }

// CheckpointLocal returns the persistent state as a snapshot's RAFT row.
func (r *Raft) CheckpointLocal() format.Raft { return format.Raft{Term: r.term, Vote: r.vote} }

// CheckpointRemote returns the message describing this node to peers.
func (r *Raft) CheckpointRemote() format.Raft { return r.checkpointRemote() }

func (r *Raft) checkpointRemote() format.Raft {
	m := format.Raft{Term: r.term, Vote: r.vote, State: uint32(r.state), LeaderID: r.leader}
	m.IsLeaderSeen = r.enabled && r.leaderSeen()
	if r.state == Candidate {
		m.VClock = r.vclock.WithoutLocal()
		m.HasVClock = true
	}
	return m
}

func (r *Raft) fullyOnDisk() bool {
	return r.volatileTerm == r.term && r.volatileVote == r.vote
}

// randomShift is a random part of a round: 0..electionTimeout×maxShift,
// with millisecond granularity.
func (r *Raft) randomShift() time.Duration {
	part := int(float64(r.electionTimeout.Milliseconds()) * r.maxShift)
	if part <= 0 || r.rnd == nil {
		return 0
	}
	return time.Duration(r.rnd.IntN(part+1)) * time.Millisecond
}

// canVoteFor: the candidate's vclock is >= ours, component 0 ignored.
func (r *Raft) canVoteFor(v format.VClock) bool {
	c := v.WithoutLocal().Compare(r.vclock.WithoutLocal())
	return c == format.Equal || c == format.After
}

func (r *Raft) addVote(src, dst uint32) bool {
	if src >= format.VClockMax || dst >= format.VClockMax {
		return false
	}
	v := &r.votes[src]
	if v.did {
		return false
	}
	v.did = true
	r.votedCount++
	r.votes[dst].count++
	if c := r.votes[dst].count; c > r.maxVote {
		r.maxVote = c
	}
	return true
}

func (r *Raft) revokeVote() {
	r.votes[r.self].did = false
	r.votedCount--
	v := &r.votes[r.volatileVote]
	wasMax := v.count == r.maxVote
	v.count--
	if wasMax {
		r.maxVote--
		for i := range r.votes {
			if r.votes[i].count > r.maxVote {
				r.maxVote = r.votes[i].count
			}
		}
	}
	r.volatileVote = 0
	r.candidateVClock = format.VClock{}
}

func (r *Raft) hasSplitVote() bool {
	vac := r.clusterSize
	if vac < r.quorum {
		return false
	}
	vac -= r.votedCount
	if vac < 0 {
		return false
	}
	return r.maxVote+vac < r.quorum
}

func (r *Raft) voteCount() int {
	if r.self == 0 {
		return 0
	}
	return r.votes[r.self].count
}

func (r *Raft) leaderSeen() bool {
	return r.self != 0 && r.witness&(1<<r.self) != 0
}

func (r *Raft) setWitness(id uint32) bool {
	was := r.witness&(1<<id) != 0
	r.witness |= 1 << id
	return was
}

func (r *Raft) clearWitness(id uint32) bool {
	was := r.witness&(1<<id) != 0
	r.witness &^= 1 << id
	return was
}

// Timer primitives.

func (r *Raft) timerStop() { r.timer.active = false }

func (r *Raft) timerStart(after, repeat time.Duration) {
	r.timer = timer{active: true, deadline: r.now + after, repeat: repeat}
}

func (r *Raft) timerRemaining() time.Duration {
	if d := r.timer.deadline - r.now; d > 0 {
		return d
	}
	return 0
}

// ProcessMsg handles a RAFT message from peer src (raft_process_msg).
func (r *Raft) ProcessMsg(m format.Raft, src uint32) error {
	if src == 0 || src >= format.VClockMax || src == r.self {
		return &MsgError{From: src, Reason: "message from an invalid source"}
	}
	if m.Term == 0 || m.State == 0 || m.State > uint32(Leader) {
		return &MsgError{From: src, Reason: "Invalid term or state"}
	}
	if State(m.State) == Candidate && (m.Vote != src || !m.HasVClock) {
		return &MsgError{From: src, Reason: "Candidate should always vote for self and provide its vclock"}
	}
	if m.Term < r.volatileTerm {
		return nil
	}
	r.ProcessTerm(m.Term)
	r.NotifyIsLeaderSeen(m.IsLeaderSeen, src)
	if m.Term < r.volatileTerm {
		// The last witness of the leader is gone and a new election
		// began: the rest of the message (its vote above all) belongs
		// to the old term.
		return nil
	}

	if m.Vote != 0 {
		if r.addVote(src, m.Vote) {
			r.checkSplitVote()
		}
		switch r.state {
		case Follower, Leader:
			switch {
			case !r.enabled, r.leader != 0, m.Vote == r.self,
				State(m.State) != Candidate, r.volatileVote != 0:
			default:
				if r.canVoteFor(m.VClock) {
					r.scheduleNewVote(m.Vote, m.VClock)
				}
			}
		case Candidate:
			if m.Vote == r.self && r.voteCount() >= r.quorum {
				r.becomeLeader()
			}
		}
	}
	if State(m.State) != Leader {
		if src == r.leader {
			// The leader resigned.
			r.leader = 0
			r.clearWitness(r.self)
			r.timerStop()
			r.scheduleBroadcast()
			if r.shiftFirstRound {
				r.startAfterLeaderLoss(false)
			} else if r.cfgCandidate {
				r.scheduleNewElection()
			}
		}
		return nil
	}
	if src == r.leader {
		return nil
	}
	if r.leader != 0 {
		// A second leader in one term: Tarantool only warns and keeps
		// the known one.
		return nil
	}
	r.leaderSee()
	r.followLeader(src)
	return nil
}

// ProcessHeartbeat handles any packet from peer src other than a RAFT
// message (raft_process_heartbeat): it keeps a known leader alive.
func (r *Raft) ProcessHeartbeat(src uint32) {
	if src == 0 || !r.enabled || r.state == Leader || r.leader != src {
		return
	}
	r.leaderLastSeen = r.now
	if r.writeInProgress {
		return
	}
	r.timerStop()
	r.leaderSee()
	r.waitLeaderDead()
}

// ProcessTerm adopts a newer term learned from src (a message, or the
// TERM of an ACK).
func (r *Raft) ProcessTerm(term uint64) {
	if term <= r.volatileTerm {
		return
	}
	r.scheduleNewTerm(term)
}

// NotifyIsLeaderSeen records whether peer src sees the leader; a peer that
// disconnects is reported as not seeing it. When the last witness is gone
// a configured candidate starts an election.
func (r *Raft) NotifyIsLeaderSeen(seen bool, src uint32) {
	if src == 0 || src >= format.VClockMax || src == r.self || r.state == Leader {
		return
	}
	if seen {
		r.setWitness(src)
	} else if r.clearWitness(src) {
		r.startAfterLeaderLoss(true)
	}
}

func (r *Raft) leaderSee() bool {
	was := r.setWitness(r.self)
	r.leaderLastSeen = r.now
	if !was {
		r.scheduleBroadcast()
		return true
	}
	return false
}

func (r *Raft) leaderResign() {
	r.leaderLastSeen = r.now
	r.leader = 0
	r.scheduleBroadcast()
}

func (r *Raft) electionUpdate() {
	if !r.cfgCandidate || r.witness != 0 {
		return
	}
	r.scheduleNewElection()
}

// startAfterLeaderLoss is electionUpdate once the leader is gone (its
// death timeout passed, or the last peer that saw it stopped seeing it).
// Tarantool starts the round at once; the survivors of a dead leader
// notice its death within a few milliseconds of each other (the leader
// fed them the same rows), each hears that the other no longer sees the
// leader before the other's vote request arrives, and both stand: a split
// vote that costs a whole election timeout. Here the first round waits a
// random shift (0 to max shift × election timeout, as a round's end
// does); the node whose wait ends first stands and the others, still
// waiting, vote for it. A vote request or a leader heard meanwhile cancels
// the wait. A leader that resigns is lost to all its followers at once
// too; its round skips the pre-vote check (prevote false), as
// Tarantool's does.
func (r *Raft) startAfterLeaderLoss(prevote bool) {
	if !r.shiftFirstRound {
		r.electionUpdate()
		return
	}
	if !r.cfgCandidate || (prevote && r.witness != 0) {
		return
	}
	if r.timer.active && r.timer.kind == timerStart {
		return
	}
	if d := r.randomShift(); d > 0 && !r.writeInProgress {
		r.timerStart(d, d)
		r.timer.kind = timerStart
		r.startPrevote = prevote
		return
	}
	r.scheduleNewElection()
}

func (r *Raft) onTimer() {
	kind := r.timer.kind
	r.timerStop()
	if kind == timerStart {
		if r.cfgCandidate && (!r.startPrevote || r.witness == 0) {
			r.scheduleNewElection()
		}
		return
	}
	r.clearWitness(r.self)
	r.Restore()
	r.scheduleBroadcast()
	if kind == timerLeader {
		r.startAfterLeaderLoss(true)
	} else {
		r.electionUpdate()
	}
}

func (r *Raft) handleIO() {
	if r.fullyOnDisk() {
		r.endDump()
		return
	}
	req := format.Raft{Term: r.volatileTerm}
	switch {
	case r.volatileVote == 0:
	case r.volatileVote == r.self:
		req.Vote = r.volatileVote
	case r.volatileTerm > r.term:
		// A term and a vote for another node are two writes, so that
		// the vclock is compared after the WAL queue is flushed.
	case !r.canVoteFor(r.candidateVClock):
		r.revokeVote()
		r.endDump()
		return
	default:
		req.Vote = r.volatileVote
	}
	r.inFlight = &req
}

func (r *Raft) endDump() {
	r.writeInProgress = false
	r.changed = true
	switch {
	case r.leaderSeen() && r.enabled:
		r.waitLeaderDead()
	case r.candidate:
		switch {
		case r.vote == r.self:
			if r.quorum <= 1 {
				r.becomeLeader()
			} else {
				r.becomeCandidate()
			}
		case r.vote != 0:
			r.waitElectionEnd()
		default:
			r.scheduleNewVote(r.self, r.vclock)
		}
	}
}

func (r *Raft) pauseAndDump() {
	if r.writeInProgress {
		return
	}
	r.timerStop()
	r.writeInProgress = true
	r.changed = true
}

func (r *Raft) becomeLeader() {
	r.state = Leader
	r.leader = r.self
	r.timerStop()
	r.scheduleBroadcast()
}

func (r *Raft) followLeader(id uint32) {
	r.state = Follower
	r.leader = id
	if !r.writeInProgress && r.enabled {
		r.timerStop()
		r.waitLeaderDead()
	}
	r.scheduleBroadcast()
}

func (r *Raft) becomeCandidate() {
	r.state = Candidate
	r.waitElectionEnd()
	r.scheduleBroadcast()
}

func (r *Raft) scheduleNewTerm(term uint64) {
	r.volatileTerm = term
	r.volatileVote = 0
	r.candidateVClock = format.VClock{}
	if r.leader == r.self && r.self != 0 {
		r.leaderLastSeen = r.now
	}
	r.leader = 0
	r.state = Follower
	r.votes = [format.VClockMax]voteCount{}
	r.votedCount, r.maxVote = 0, 0
	r.witness = 0
	r.Restore()
	r.pauseAndDump()
	r.scheduleBroadcast()
}

func (r *Raft) scheduleNewVote(id uint32, v format.VClock) {
	r.volatileVote = id
	r.candidateVClock = v
	r.addVote(r.self, id)
	r.pauseAndDump()
}

func (r *Raft) scheduleNewElection() {
	r.scheduleNewTerm(r.volatileTerm + 1)
	r.scheduleNewVote(r.self, r.vclock)
}

func (r *Raft) waitLeaderDead() { r.timerStart(r.deathTimeout, r.deathTimeout) }

func (r *Raft) waitLeaderFound() { r.timerStart(r.deathTimeout, r.deathTimeout) }

func (r *Raft) waitElectionEnd() {
	t := r.electionTimeout + r.randomShift()
	r.timerStart(t, t)
	r.timer.kind = timerRound
	r.checkSplitVote()
}

func (r *Raft) checkSplitVote() {
	if r.leader != 0 || !r.candidate || r.writeInProgress || !r.hasSplitVote() || !r.timer.active {
		return
	}
	if r.timer.repeat < r.electionTimeout {
		return // already shortened in this round
	}
	delay := r.randomShift()
	if rem := r.timerRemaining(); delay >= rem {
		delay = rem
	}
	r.timerStart(delay, delay)
	r.timer.kind = timerRound
}

func (r *Raft) scheduleBroadcast() {
	r.broadcastScheduled = true
	r.changed = true
}

func (r *Raft) start() {
	r.enabled = true
	r.candidate = r.cfgCandidate
	switch {
	case r.writeInProgress:
	case r.leaderSeen():
		r.waitLeaderDead()
	case r.candidate && r.witness == 0:
		// Do not start an election right after a restart: give a live
		// leader time to announce itself.
		r.waitLeaderFound()
	}
	r.scheduleBroadcast()
}

func (r *Raft) stop() {
	r.enabled = false
	r.candidate = false
	if r.state == Leader {
		r.leaderResign()
	}
	r.state = Follower
	r.timerStop()
	r.scheduleBroadcast()
}

// CfgEnabled starts or stops the machine. A stopped machine still adopts
// and persists newer terms but neither votes nor runs for leader.
func (r *Raft) CfgEnabled(on bool) {
	if on == r.enabled {
		return
	}
	if on {
		r.start()
	} else {
		r.stop()
	}
}

func (r *Raft) startCandidate() {
	if r.candidate {
		return
	}
	r.candidate = true
	switch {
	case r.writeInProgress, r.leaderSeen():
	case r.witness == 0:
		r.waitLeaderFound()
	}
	r.changed = true
}

func (r *Raft) stopCandidate() {
	if !r.candidate {
		return
	}
	r.candidate = false
	if r.state == Leader {
		r.leaderResign()
	} else if !r.leaderSeen() {
		r.timerStop()
	}
	r.state = Follower
	r.scheduleBroadcast()
}

// CfgIsCandidate sets the configured candidacy and applies it now: a
// leader that stops being a candidate resigns.
func (r *Raft) CfgIsCandidate(on bool) {
	r.cfgCandidate = on
	r.Restore()
}

// CfgIsCandidateLater sets the configured candidacy without disturbing a
// current leadership; it applies from the next term.
func (r *Raft) CfgIsCandidateLater(on bool) { r.cfgCandidate = on }

// Promote makes the node a candidate of a new term regardless of its
// configuration (box.ctl.promote in manual mode). The promotion lasts one
// term. Nothing happens while the machine is disabled.
func (r *Raft) Promote() {
	if !r.enabled {
		return
	}
	r.scheduleNewTerm(r.volatileTerm + 1)
	r.startCandidate()
	r.scheduleNewVote(r.self, r.vclock)
}

// Resign makes a leader a follower without a term bump.
func (r *Raft) Resign() {
	if r.state == Leader {
		r.stopCandidate()
	}
}

// Restore returns the effective candidacy to the configured one (ends a
// manual promotion).
func (r *Raft) Restore() {
	if r.cfgCandidate && r.enabled {
		r.startCandidate()
	} else {
		r.stopCandidate()
	}
}

// NewTerm starts a new term without voting (box.ctl.promote with
// elections off).
func (r *Raft) NewTerm() { r.scheduleNewTerm(r.volatileTerm + 1) }

// CfgElectionTimeout changes the round length; a running round keeps its
// elapsed time.
func (r *Raft) CfgElectionTimeout(d time.Duration) {
	old := r.electionTimeout
	if d == old {
		return
	}
	r.electionTimeout = d
	if r.vote == 0 || r.leader != 0 || !r.candidate || r.writeInProgress || !r.timer.active || r.timer.kind != timerRound {
		return
	}
	after := d + r.timerRemaining() - old
	if after < 0 {
		after = 0
	}
	r.timerStart(after, d)
	r.timer.kind = timerRound
}

// CfgDeathTimeout changes the leader death timeout; a running wait keeps
// its elapsed time.
func (r *Raft) CfgDeathTimeout(d time.Duration) {
	old := r.deathTimeout
	if d == old {
		return
	}
	r.deathTimeout = d
	if r.state != Follower || !r.leaderSeen() || !r.timer.active || r.timer.kind != timerLeader {
		return
	}
	after := d + r.timerRemaining() - old
	if after < 0 {
		after = 0
	}
	r.timerStart(after, d)
}

// CfgShiftFirstRound makes the first round after the leader is lost wait
// a random shift, as later rounds do (startAfterLeaderLoss); off by
// default, as in Tarantool.
func (r *Raft) CfgShiftFirstRound(on bool) { r.shiftFirstRound = on }

// CfgMaxShift sets the random part of a round as a fraction of the timeout.
func (r *Raft) CfgMaxShift(f float64) { r.maxShift = f }

// CfgElectionQuorum sets the number of votes that elects a leader; a
// candidate that already has them becomes leader at once.
func (r *Raft) CfgElectionQuorum(q int) {
	if q < 1 {
		q = 1
	}
	r.quorum = q
	if r.state == Candidate && r.voteCount() >= r.quorum {
		r.becomeLeader()
	} else {
		r.checkSplitVote()
	}
}

// CfgClusterSize sets the number of registered instances (split-vote
// detection only).
func (r *Raft) CfgClusterSize(n int) {
	r.clusterSize = n
	r.checkSplitVote()
}

// ElectionQuorum returns the configured election quorum.
func (r *Raft) ElectionQuorum() int { return r.quorum }

// ElectionTimeout returns the configured round length.
func (r *Raft) ElectionTimeout() time.Duration { return r.electionTimeout }
