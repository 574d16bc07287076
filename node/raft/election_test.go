package raft

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// enode drives an Election with an always-fast journal.
type enode struct {
	t        *testing.T
	e        *Election
	now      time.Duration
	journal  []format.Raft
	sent     []format.Raft
	promotes []uint64
	demotes  []uint64
}

func newENode(t *testing.T, cfg Config) *enode {
	if cfg.ID == 0 {
		cfg.ID = 1
	}
	cfg.Rand = rand.New(rand.NewPCG(3, 4))
	n := &enode{t: t, e: NewElection(cfg, Persistent{Term: 1}, format.VClock{}, 0)}
	n.flush()
	return n
}

func (n *enode) flush() {
	for i := 0; i < 100; i++ {
		rd := n.e.Ready()
		if rd.Message != nil {
			n.sent = append(n.sent, *rd.Message)
		}
		if rd.Promote != 0 {
			n.promotes = append(n.promotes, rd.Promote)
		}
		if rd.Demote {
			n.demotes = append(n.demotes, rd.DemoteTerm)
		}
		if rd.Write == nil && rd.Message == nil && rd.Promote == 0 && !rd.Demote {
			return
		}
		if rd.Write != nil {
			n.journal = append(n.journal, *rd.Write)
			n.e.WriteDone()
		}
	}
	n.t.Fatal("the election does not settle")
}

// runFor advances time, firing timers and peer timeouts on the way.
func (n *enode) runFor(d time.Duration) { runFor(n.e, &n.now, d, n.flush) }

func (n *enode) step(m format.Raft, src uint32) {
	n.t.Helper()
	if err := n.e.Step(m, src); err != nil {
		n.t.Fatal(err)
	}
	n.flush()
}

// heartbeats makes peers heard for d, with a heartbeat every 100 ms.
func (n *enode) heartbeats(d time.Duration, peers ...uint32) {
	for end := n.now + d; n.now < end; {
		n.runFor(100 * time.Millisecond)
		for _, p := range peers {
			n.e.Heartbeat(p)
		}
		n.flush()
	}
}

// elect makes the node leader of a fresh term with votes from peers.
func (n *enode) elect(peers ...uint32) uint64 {
	n.t.Helper()
	term := n.e.Raft.volatileTerm
	for i := 0; i < 200 && n.e.Raft.state != Candidate; i++ {
		n.heartbeats(100*time.Millisecond, peers...)
	}
	if n.e.Raft.state != Candidate {
		n.t.Fatalf("no candidacy: %+v", n.e.Status())
	}
	term = n.e.Raft.term
	for _, p := range peers {
		n.step(format.Raft{Term: term, Vote: 1, State: uint32(Follower)}, p)
	}
	if n.e.Raft.state != Leader {
		n.t.Fatalf("not elected: %+v", n.e.Status())
	}
	return term
}

func TestElectionQuorumFormula(t *testing.T) {
	for _, c := range []struct {
		mode               Mode
		quorum, registered int
		want               int
	}{
		{ModeCandidate, 2, 3, 2},
		{ModeCandidate, 3, 1, 1}, // bootstrap: fewer registered than the quorum
		{ModeCandidate, 0, 0, 1},
		{ModeVoter, 3, 5, 3},
		{ModeOff, 3, 5, 1},
	} {
		n := newENode(t, Config{Mode: c.mode, SynchroQuorum: c.quorum, Registered: c.registered})
		if got := n.e.Raft.ElectionQuorum(); got != c.want {
			t.Errorf("%+v: election quorum %d", c, got)
		}
		if got := n.e.Raft.clusterSize; got != max(c.registered, 1) {
			t.Errorf("%+v: cluster size %d", c, got)
		}
	}
}

func TestCandidateNeedsHealthyQuorum(t *testing.T) {
	n := newENode(t, Config{Mode: ModeCandidate, SynchroQuorum: 2, Registered: 3,
		ElectionTimeout: time.Second, ReplicationTimeout: 100 * time.Millisecond})
	n.runFor(10 * time.Second)
	if st := n.e.Status(); st.Candidate || st.Term != 1 {
		t.Fatalf("alone, the node runs for leader: %+v", st)
	}
	// A peer is heard: the node becomes a candidate and, after the death
	// timeout, starts an election.
	n.heartbeats(100*time.Millisecond, 2)
	if !n.e.Status().Candidate {
		t.Fatal("a healthy quorum does not make a candidate")
	}
	n.heartbeats(time.Second, 2)
	if st := n.e.Status(); st.State != Candidate || st.Term != 2 || st.Vote != 1 {
		t.Fatalf("no election: %+v", st)
	}
	// The peer falls silent: after 4 × replication timeout it is
	// unhealthy and the node stops being a candidate.
	n.runFor(500 * time.Millisecond)
	if st := n.e.Status(); st.Candidate || st.State != Follower || n.e.Healthy() != 1 {
		t.Fatalf("still a candidate without a quorum: %+v, healthy %d", st, n.e.Healthy())
	}
}

func TestPromoteMakesWritable(t *testing.T) {
	n := newENode(t, Config{Mode: ModeCandidate, SynchroQuorum: 2, Registered: 3,
		ElectionTimeout: time.Second, ReplicationTimeout: 100 * time.Millisecond})
	term := n.elect(2, 3)
	if len(n.promotes) != 1 || n.promotes[0] != term {
		t.Fatalf("PROMOTE requests %v, want [%d]", n.promotes, term)
	}
	if n.e.Writable() {
		t.Fatal("writable before the PROMOTE is applied")
	}
	n.flush()
	if len(n.promotes) != 1 {
		t.Fatal("PROMOTE asked twice in one term")
	}
	n.e.QueueClaimed(1, term)
	if !n.e.Writable() {
		t.Fatal("not writable after the PROMOTE")
	}
	// A newer term from a peer: a follower again, not writable.
	n.step(format.Raft{Term: term + 1, State: uint32(Follower)}, 2)
	// (A candidate that learns a newer term runs in it at once.)
	if n.e.Writable() || n.e.Status().State == Leader {
		t.Fatalf("writable after a newer term: %+v", n.e.Status())
	}
	// A queue claimed in an older term does not make a new leader writable.
	n.e.QueueClaimed(1, term)
	term2 := n.elect(2, 3)
	if n.e.Writable() || len(n.promotes) != 2 || n.promotes[1] != term2 {
		t.Fatalf("term %d: writable %v, PROMOTE requests %v", term2, n.e.Writable(), n.promotes)
	}
}

func TestFencing(t *testing.T) {
	for _, c := range []struct {
		fencing Fencing
		resign  time.Duration // when the silent leader resigns (0: never)
	}{
		{FencingOff, 0},
		{FencingSoft, 400 * time.Millisecond},
		{FencingStrict, 200 * time.Millisecond},
	} {
		n := newENode(t, Config{Mode: ModeCandidate, SynchroQuorum: 2, Registered: 3, Fencing: c.fencing,
			ElectionTimeout: time.Second, ReplicationTimeout: 100 * time.Millisecond})
		term := n.elect(2, 3)
		n.e.QueueClaimed(1, term)
		// Peers fall silent.
		start := n.now
		for n.now-start < 2*time.Second && n.e.Status().State == Leader {
			n.runFor(10 * time.Millisecond)
		}
		st := n.e.Status()
		if c.resign == 0 {
			if st.State != Leader || n.e.Frozen() {
				t.Fatalf("fencing off: %+v frozen %v", st, n.e.Frozen())
			}
			continue
		}
		if d := n.now - start; st.State != Follower || d < c.resign-100*time.Millisecond || d > c.resign+10*time.Millisecond {
			t.Fatalf("fencing %v: %v after %v", c.fencing, st.State, d)
		}
		if st.Term != term || !n.e.Frozen() || n.e.Writable() {
			t.Fatalf("fencing %v: term %d (was %d), frozen %v, writable %v", c.fencing, st.Term, term, n.e.Frozen(), n.e.Writable())
		}
		// A PROMOTE (of anyone) ends the freeze.
		n.e.QueueClaimed(2, term+1)
		if n.e.Frozen() {
			t.Fatal("still frozen after a PROMOTE")
		}
	}
}

func TestPromoteByMode(t *testing.T) {
	n := newENode(t, Config{Mode: ModeVoter, SynchroQuorum: 2, Registered: 3})
	var be *box.Error
	if err := n.e.Promote(); !errors.As(err, &be) || be.Code != box.ErrUnsupported ||
		be.Message != "election_mode='voter' does not support manual elections" {
		t.Fatalf("voter: %v", err)
	}

	n = newENode(t, Config{Mode: ModeManual, SynchroQuorum: 2, Registered: 3,
		ElectionTimeout: time.Second, ReplicationTimeout: 100 * time.Millisecond})
	// Alone, a manual node still starts the term (2.11's raft_promote):
	// nobody votes, and the round ends with ER_NO_ELECTION_QUORUM.
	if err := n.e.Promote(); err != nil {
		t.Fatalf("manual, alone: %v", err)
	}
	n.flush()
	alone := n.e.Status().VolatileTerm
	if done, err := n.e.PromoteOutcome(alone); done || err != nil {
		t.Fatalf("manual, alone: over at once: %v", err)
	}
	n.runFor(1200 * time.Millisecond)
	done, err := n.e.PromoteOutcome(alone)
	if !done || !errors.As(err, &be) || be.Code != box.ErrNoElectionQuorum ||
		be.Message != "Not enough peers connected to start elections: 1 out of minimal required 2" {
		t.Fatalf("manual, alone: done %v, %v", done, err)
	}
	if st := n.e.Status(); st.State == Leader || st.Candidate || st.Term != 2 {
		t.Fatalf("manual, alone, after the round: %+v", st)
	}
	// Manual mode never starts elections by itself.
	n.heartbeats(5*time.Second, 2, 3)
	if st := n.e.Status(); st.Term != 2 || st.Candidate {
		t.Fatalf("manual node ran for leader: %+v", st)
	}
	if err := n.e.Promote(); err != nil {
		t.Fatal(err)
	}
	n.flush()
	if st := n.e.Status(); st.State != Candidate || st.Term != 3 {
		t.Fatalf("promote: %+v", st)
	}
	n.step(format.Raft{Term: 3, Vote: 1, State: uint32(Follower)}, 2)
	if n.e.Status().State != Leader || len(n.promotes) != 1 {
		t.Fatalf("promote: %+v, PROMOTE requests %v", n.e.Status(), n.promotes)
	}
	// Demote resigns without a term bump.
	n.e.Demote()
	n.flush()
	if st := n.e.Status(); st.State != Follower || st.Term != 3 {
		t.Fatalf("demote: %+v", st)
	}
	// The promotion lasted one term.
	n.heartbeats(5*time.Second, 2, 3)
	if st := n.e.Status(); st.Candidate || st.Term != 3 {
		t.Fatalf("manual node stays a candidate: %+v", st)
	}

	// Elections off: promote bumps the term and asks for a PROMOTE once it
	// is persisted; demote by the owner asks for a DEMOTE.
	n = newENode(t, Config{Mode: ModeOff})
	if err := n.e.Promote(); err != nil {
		t.Fatal(err)
	}
	n.flush()
	if len(n.journal) != 1 || n.journal[0] != (format.Raft{Term: 2}) || len(n.promotes) != 1 || n.promotes[0] != 2 {
		t.Fatalf("off: journal %v, PROMOTE requests %v", n.journal, n.promotes)
	}
	if !n.e.Writable() {
		t.Fatal("with elections off Raft does not make the node read-only")
	}
	n.e.QueueClaimed(1, 2)
	n.e.Demote()
	n.flush()
	if len(n.demotes) != 1 || n.demotes[0] != 3 {
		t.Fatalf("off: DEMOTE requests %v", n.demotes)
	}
}

func TestPeerLossClearsWitness(t *testing.T) {
	n := newENode(t, Config{Mode: ModeCandidate, SynchroQuorum: 2, Registered: 4,
		ElectionTimeout: time.Second, ReplicationTimeout: 100 * time.Millisecond})
	n.heartbeats(100*time.Millisecond, 2, 3, 4)
	n.step(format.Raft{Term: 2, State: uint32(Leader), LeaderID: 2}, 2)
	n.step(format.Raft{Term: 2, State: uint32(Follower), LeaderID: 2, IsLeaderSeen: true}, 3)
	// The leader falls silent; peer 3 still reports seeing it.
	n.heartbeats(time.Second, 3, 4)
	if st := n.e.Status(); st.Term != 2 || st.State != Follower {
		t.Fatalf("election while a peer sees the leader: %+v", st)
	}
	// Peer 3's link breaks: its witness bit goes and, with the quorum
	// still healthy (self and 4), the election starts at once.
	n.e.SetPeerHealthy(3, false)
	n.e.SetPeerHealthy(3, true) // reconnected at once, no "seen" report yet
	n.flush()
	if st := n.e.Status(); st.Term != 3 || st.State != Candidate {
		t.Fatalf("no election once nobody sees the leader: %+v", st)
	}
}

// box.ctl.promote() in modes manual and candidate ends as 2.11's
// box_raft_try_promote says: leader, another node won the term
// (ER_INTERFERING_PROMOTE), the term moved on (ER_OLD_TERM), the round of
// a manual node ran out (timeout), the node stopped being a candidate
// (ER_ELECTION_DISABLED) or lost its quorum (ER_NO_ELECTION_QUORUM).
func TestPromoteOutcome(t *testing.T) {
	manual := Config{Mode: ModeManual, SynchroQuorum: 2, Registered: 3,
		ElectionTimeout: time.Second, ReplicationTimeout: 100 * time.Millisecond}
	start := func(cfg Config) (*enode, uint64) {
		n := newENode(t, cfg)
		n.heartbeats(100*time.Millisecond, 2, 3)
		if err := n.e.Promote(); err != nil {
			t.Fatal(err)
		}
		n.flush()
		term := n.e.Status().VolatileTerm
		if done, err := n.e.PromoteOutcome(term); done || err != nil {
			t.Fatalf("promotion over at once: %v", err)
		}
		return n, term
	}
	code := func(err error) box.ErrorCode {
		var be *box.Error
		if !errors.As(err, &be) {
			t.Fatalf("%v is not a box error", err)
		}
		return be.Code
	}
	msg := func(err error) string {
		var be *box.Error
		errors.As(err, &be)
		return be.Message
	}

	n, term := start(manual)
	n.step(format.Raft{Term: term, Vote: 1, State: uint32(Follower)}, 2)
	if done, err := n.e.PromoteOutcome(term); !done || err != nil {
		t.Fatalf("elected: done %v, %v", done, err)
	}

	n, term = start(manual)
	n.step(format.Raft{Term: term, Vote: 3, State: uint32(Leader), LeaderID: 3}, 3)
	done, err := n.e.PromoteOutcome(term)
	if !done || code(err) != box.ErrInterferingPromote || msg(err) != "Instance with replica id 3 was promoted first" {
		t.Fatalf("another leader: done %v, %v", done, err)
	}

	n, term = start(manual)
	n.step(format.Raft{Term: term + 1, State: uint32(Follower)}, 2)
	done, err = n.e.PromoteOutcome(term)
	if !done || code(err) != box.ErrOldTerm || msg(err) != fmt.Sprintf("The term is outdated: old - %d, new - %d", term, term+1) {
		t.Fatalf("newer term: done %v, %v", done, err)
	}

	n, term = start(manual)
	n.heartbeats(1200*time.Millisecond, 2, 3) // the round ends without votes
	done, err = n.e.PromoteOutcome(term)
	if !done || code(err) != box.ErrTimeout {
		t.Fatalf("round over: done %v, %v", done, err)
	}
	if n.e.Status().Candidate {
		t.Fatal("still a candidate after a failed promotion")
	}

	// Promoted before any peer is connected: one that connects during
	// the round and votes makes it leader, as in 2.11.
	n = newENode(t, manual)
	if err := n.e.Promote(); err != nil {
		t.Fatalf("promote with no peer connected: %v", err)
	}
	n.flush()
	term = n.e.Status().VolatileTerm
	n.runFor(300 * time.Millisecond)
	n.e.Heartbeat(2)
	n.step(format.Raft{Term: term, Vote: 1, State: uint32(Follower)}, 2)
	if done, err := n.e.PromoteOutcome(term); !done || err != nil || n.e.Status().State != Leader {
		t.Fatalf("peer connected during the round: done %v, %v, %+v", done, err, n.e.Status())
	}

	n, term = start(manual)
	n.e.SetMode(ModeVoter)
	done, err = n.e.PromoteOutcome(term)
	if !done || code(err) != box.ErrElectionDisabled {
		t.Fatalf("reconfigured: done %v, %v", done, err)
	}

	n, term = start(manual)
	n.e.SetPeerHealthy(2, false)
	n.e.SetPeerHealthy(3, false)
	n.runFor(1200 * time.Millisecond)
	done, err = n.e.PromoteOutcome(term)
	if !done || code(err) != box.ErrNoElectionQuorum {
		t.Fatalf("quorum lost: done %v, %v", done, err)
	}
}
