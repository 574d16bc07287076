package raft

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/format"
)

// tnode drives one Raft the way Tarantool's unit tests drive theirs
// (test/unit/raft_test_utils.c): id 1, election quorum 3, timeouts 5 s,
// max shift 0.1, cluster size 32, candidate, enabled. Its journal is the
// list of RAFT rows written; its vclock's component 0 counts them.
type tnode struct {
	t       *testing.T
	r       *Raft
	journal []format.Raft
	sent    []format.Raft
	changes int // Ready.Changed seen (Tarantool's update trigger count)
	blocked bool
	vclock  format.VClock
	now     time.Duration
	rnd     *rand.Rand

	electionTimeout, deathTimeout time.Duration
	quorum, clusterSize           int
	candidate, enabled            bool
}

const sec = time.Second

func newTNode(t *testing.T) *tnode {
	t.Helper()
	n := &tnode{t: t, rnd: rand.New(rand.NewPCG(1, 2)),
		electionTimeout: 5 * sec, deathTimeout: 5 * sec, quorum: 3, clusterSize: 32,
		candidate: true, enabled: true}
	n.r = NewRaft(n.rnd)
	n.cfg()
	return n
}

// cfg applies the node's configuration (raft_node_cfg).
func (n *tnode) cfg() {
	r := n.r
	r.Tick(n.now)
	if r.self == 0 {
		r.SetID(1)
	}
	r.SetVClock(n.vclock)
	r.CfgElectionTimeout(n.electionTimeout)
	r.CfgDeathTimeout(n.deathTimeout)
	r.CfgElectionQuorum(n.quorum)
	r.CfgClusterSize(n.clusterSize)
	r.CfgIsCandidate(n.candidate)
	r.CfgEnabled(n.enabled)
	n.flush()
}

// recover creates a fresh machine from the journal without configuring it
// (raft_node_stop + raft_node_recover).
func (n *tnode) recover() {
	n.r = NewRaft(n.rnd)
	n.r.Tick(n.now)
	for _, row := range n.journal {
		n.r.Recover(row)
	}
	n.sent = nil
}

func (n *tnode) restart() {
	n.recover()
	n.cfg()
}

// flush does the machine's deferred work: writes and broadcasts. A
// blocked journal stops it all, as a blocked Raft worker does.
func (n *tnode) flush() {
	if n.blocked {
		return
	}
	for i := 0; i < 100; i++ {
		rd := n.r.Ready()
		if rd.Message != nil {
			n.sent = append(n.sent, *rd.Message)
		}
		if rd.Changed {
			n.changes++
		}
		if n.r.PendingWrite() == nil {
			return
		}
		n.complete()
	}
	n.t.Fatal("the machine does not settle")
}

func (n *tnode) complete() {
	w := n.r.PendingWrite()
	n.journal = append(n.journal, *w)
	n.vclock.Set(0, uint64(len(n.journal)))
	n.r.SetVClock(n.vclock)
	n.r.WriteDone()
}

func (n *tnode) block() { n.blocked = true }

func (n *tnode) unblock() {
	n.blocked = false
	n.flush()
}

// follow adds lsns rows of replica id to the vclock (raft_node_journal_follow).
func (n *tnode) follow(id uint32, lsns uint64) {
	n.vclock.Set(id, n.vclock.Get(id)+lsns)
	n.r.SetVClock(n.vclock)
}

func (n *tnode) runFor(d time.Duration) { runFor(n.r, &n.now, d, n.flush) }

// clocked is a machine driven by Tick.
type clocked interface {
	Deadline() (time.Duration, bool)
	Tick(now time.Duration)
}

// runFor advances *now by d, stopping at every deadline on the way to
// fire it and flush the outputs.
func runFor(m clocked, now *time.Duration, d time.Duration, flush func()) {
	end := *now + d
	for {
		dl, ok := m.Deadline()
		if !ok || dl > end {
			break
		}
		*now = max(dl, *now)
		m.Tick(*now)
		flush()
	}
	*now = end
	m.Tick(*now)
	flush()
}

// runNextEvent advances to the timer's deadline and fires it.
func (n *tnode) runNextEvent() {
	n.t.Helper()
	dl, ok := n.r.Deadline()
	if !ok {
		n.t.Fatal("no event to run")
	}
	n.now = max(dl, n.now)
	n.r.Tick(n.now)
	n.flush()
}

func (n *tnode) msg(m format.Raft, src uint32) error {
	err := n.r.ProcessMsg(m, src)
	n.flush()
	return err
}

func (n *tnode) voteRequest(term uint64, vclock string, src uint32) {
	n.t.Helper()
	v, err := format.ParseVClock(vclock)
	if err != nil {
		n.t.Fatal(err)
	}
	n.mustMsg(format.Raft{Term: term, Vote: src, State: uint32(Candidate), VClock: v, HasVClock: true}, src)
}

func (n *tnode) voteResponse(term uint64, vote, src uint32) {
	n.t.Helper()
	n.mustMsg(format.Raft{Term: term, Vote: vote, State: uint32(Follower)}, src)
}

func (n *tnode) follower(term uint64, src uint32) {
	n.t.Helper()
	n.mustMsg(format.Raft{Term: term, State: uint32(Follower)}, src)
}

func (n *tnode) leader(term uint64, src uint32) {
	n.t.Helper()
	n.mustMsg(format.Raft{Term: term, State: uint32(Leader), LeaderID: src}, src)
}

func (n *tnode) leaderSeen(term uint64, seen bool, src uint32) {
	n.t.Helper()
	n.mustMsg(format.Raft{Term: term, State: uint32(Follower), IsLeaderSeen: seen}, src)
}

func (n *tnode) heartbeat(src uint32) {
	n.r.ProcessHeartbeat(src)
	n.flush()
}

func (n *tnode) mustMsg(m format.Raft, src uint32) {
	n.t.Helper()
	if err := n.msg(m, src); err != nil {
		n.t.Fatalf("message %+v from %d: %v", m, src, err)
	}
}

// check compares the full state as raft_node_check_full_state does.
func (n *tnode) check(what string, state State, leader uint32, term uint64, vote uint32,
	vterm uint64, vvote uint32, vclock string) {
	n.t.Helper()
	r := n.r
	got := []any{r.state, r.leader, r.term, r.vote, r.volatileTerm, r.volatileVote}
	want := []any{state, leader, term, vote, vterm, vvote}
	for i := range got {
		if got[i] != want[i] {
			n.t.Fatalf("%s: state/leader/term/vote/vterm/vvote = %v, want %v", what, got, want)
		}
	}
	if vclock != "" && n.vclock.String() != vclock {
		n.t.Fatalf("%s: vclock %s, want %s", what, n.vclock, vclock)
	}
}

func (n *tnode) checkMsg(what string, m format.Raft, state State, term uint64, vote uint32, vclock string) {
	n.t.Helper()
	if State(m.State) != state || m.Term != term || m.Vote != vote {
		n.t.Fatalf("%s: message %+v, want state %v term %d vote %d", what, m, state, term, vote)
	}
	if vclock == "" {
		if m.HasVClock {
			n.t.Fatalf("%s: message has a vclock %s", what, m.VClock)
		}
	} else if !m.HasVClock || m.VClock.String() != vclock {
		n.t.Fatalf("%s: message vclock %v (%v), want %s", what, m.VClock, m.HasVClock, vclock)
	}
}

func (n *tnode) is(what string, got, want any) {
	n.t.Helper()
	if got != want {
		n.t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}
