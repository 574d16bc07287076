package raft

import (
	"errors"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/format"
)

// The tests below are the scenarios of Tarantool's test/unit/raft.c
// (NODE.md §5.9), one test per scenario, with the same steps and checks.
// Candidate vclocks travel without component 0 (as on the wire), so the
// messages show "{}" where Tarantool's in-memory messages show "{0: N}".

func TestLeaderElection(t *testing.T) {
	n := newTNode(t)
	n.is("messages at start", len(n.sent), 1)
	n.checkMsg("broadcast at start", n.sent[0], Follower, 1, 0, "")
	n.sent = nil

	n.runNextEvent()
	if n.now < n.deathTimeout {
		t.Fatalf("first event at %v, before the leader death timeout", n.now)
	}
	n.check("elections with a new term", Candidate, 0, 2, 1, 2, 1, "{0: 1}")
	n.is("single vote for self", n.r.voteCount(), 1)
	n.is("rows in the journal", len(n.journal), 1)
	n.is("term and vote in one row", n.journal[0], format.Raft{Term: 2, Vote: 1})
	n.is("pending messages", len(n.sent), 1)
	n.checkMsg("term bump and vote are sent", n.sent[0], Candidate, 2, 1, "{}")
	n.sent = nil

	n.voteResponse(2, 1, 2)
	n.is("one foreign vote", n.r.voteCount(), 2)
	n.is("nothing to send", len(n.sent), 0)
	changes := n.changes
	n.runFor(n.electionTimeout / 2)
	n.is("still candidate", n.r.state, Candidate)
	n.is("no change", n.changes, changes)

	n.voteResponse(2, 1, 3)
	n.is("two foreign votes", n.r.voteCount(), 3)
	n.is("became leader", n.r.state, Leader)
	n.is("no new row for the role", len(n.journal), 1)
	n.is("pending messages", len(n.sent), 1)
	n.checkMsg("new-leader notification", n.sent[0], Leader, 2, 1, "")
	n.is("leader id", n.sent[0].LeaderID, uint32(1))
}

func TestRecovery(t *testing.T) {
	n := newTNode(t)
	n.runNextEvent()
	n.is("became candidate", n.r.state, Candidate)
	n.checkMsg("remote checkpoint of a candidate", n.r.CheckpointRemote(), Candidate, 2, 1, "{}")
	n.is("local checkpoint of a candidate", n.r.CheckpointLocal(), format.Raft{Term: 2, Vote: 1})

	n.voteResponse(2, 1, 2)
	n.voteResponse(2, 1, 3)
	n.check("election is finished", Leader, 1, 2, 1, 2, 1, "{0: 1}")
	n.checkMsg("remote checkpoint of a leader", n.r.CheckpointRemote(), Leader, 2, 1, "")
	n.is("local checkpoint of a leader", n.r.CheckpointLocal(), format.Raft{Term: 2, Vote: 1})

	n.restart()
	n.check("restart always as a follower", Follower, 0, 2, 1, 2, 1, "{0: 1}")
	n.is("vote count is restored", n.r.voteCount(), 1)
	n.checkMsg("remote checkpoint after restart", n.r.CheckpointRemote(), Follower, 2, 1, "")
	n.is("local checkpoint after restart", n.r.CheckpointLocal(), format.Raft{Term: 2, Vote: 1})
}

func TestBadMsg(t *testing.T) {
	n := newTNode(t)
	var v format.VClock
	v.Set(2, 1)
	for _, c := range []struct {
		what string
		m    format.Raft
	}{
		{"state can't be 0", format.Raft{Term: 10}},
		{"a candidate can't vote for another node", format.Raft{Term: 10, State: 2, Vote: 3, VClock: v, HasVClock: true}},
		{"a candidate can't come without a vclock", format.Raft{Term: 10, State: 2, Vote: 2}},
		{"term can't be 0", format.Raft{Term: 0, State: 1}},
		{"bad state", format.Raft{Term: 10, State: 10000, Vote: 2}},
		{"bad negative state", format.Raft{Term: 10, State: ^uint32(0), Vote: 2}},
	} {
		err := n.msg(c.m, 2)
		var me *MsgError
		if !errors.As(err, &me) {
			t.Fatalf("%s: %v", c.what, err)
		}
		n.is(c.what+": term from the bad message is not used", n.r.term, uint64(1))
		n.is(c.what+": volatile term", n.r.volatileTerm, uint64(1))
	}
	if err := n.msg(format.Raft{Term: 10, State: 2, Vote: 2}, 2); err == nil ||
		err.Error() != "RAFT message from instance 2: Candidate should always vote for self and provide its vclock" {
		t.Fatalf("message: %v", err)
	}
}

func TestVote(t *testing.T) {
	n := newTNode(t)
	n.voteRequest(2, "{}", 2)
	n.check("voted for 2", Follower, 0, 2, 2, 2, 2, "{0: 2}")
	n.is("term and vote in two rows", len(n.journal), 2)
	n.voteRequest(2, "{}", 3)
	n.check("still kept vote for 2", Follower, 0, 2, 2, 2, 2, "{0: 2}")

	ts := n.now
	n.runNextEvent()
	if n.now-ts < n.electionTimeout {
		t.Fatalf("own election after %v", n.now-ts)
	}
	n.check("became candidate", Candidate, 0, 3, 1, 3, 1, "{0: 3}")
}

func TestVoteSkip(t *testing.T) {
	n := newTNode(t)
	n.runNextEvent()
	n.is("became candidate", n.r.state, Candidate)
	n.is("term is bumped", n.r.term, uint64(2))

	n.voteResponse(1, 1, 2)
	n.is("too old term: ignored", n.r.voteCount(), 1)
	n.voteResponse(2, 3, 2)
	n.is("vote not for this node: ignored", n.r.voteCount(), 1)
	n.is("the node does not give up", n.r.state, Candidate)

	n.enabled = false
	n.r.CfgEnabled(false)
	n.flush()
	n.follower(3, 2)
	n.check("term bump to be able to vote again", Follower, 0, 3, 0, 3, 0, "{0: 2}")
	n.voteRequest(3, "{}", 2)
	n.is("disabled: request ignored", n.r.vote, uint32(0))
	n.voteRequest(4, "{}", 2)
	n.check("term is bumped, vote request ignored", Follower, 0, 4, 0, 4, 0, "{0: 3}")

	n.enabled = true
	n.r.CfgEnabled(true)
	n.flush()
	n.voteResponse(4, 1, 2)
	n.is("a vote for self counts only on a candidate", n.r.vote, uint32(0))
	n.voteResponse(4, 3, 2)
	n.is("sender != vote: not a request", n.r.vote, uint32(0))
	n.leader(4, 2)
	n.is("leader is accepted", n.r.leader, uint32(2))
	n.voteRequest(4, "{}", 3)
	n.is("leader known: request ignored", n.r.vote, uint32(0))
	n.is("leader not changed", n.r.leader, uint32(2))

	// Not a candidate, so that the term bump does not start an election.
	n.r.CfgIsCandidate(false)
	n.flush()
	n.follow(1, 5)
	n.follow(2, 5)
	n.check("vclock is bumped", Follower, 2, 4, 0, 4, 0, "{0: 3, 1: 5, 2: 5}")
	n.voteRequest(5, "{1: 4}", 3)
	n.is("vclock too small: not voted", n.r.vote, uint32(0))
	n.is("new term", n.r.term, uint64(5))
	n.is("leader dropped in the new term", n.r.leader, uint32(0))
	n.voteRequest(5, "{1: 4, 2: 6}", 3)
	n.is("vclock incomparable: not voted", n.r.vote, uint32(0))
	n.voteRequest(6, "{1: 5, 2: 5}", 2)
	n.is("voted", n.r.vote, uint32(2))
	n.voteRequest(6, "{1: 5, 2: 5}", 3)
	n.is("already voted in the term", n.r.vote, uint32(2))
	n.candidate = false
	n.restart()
	n.voteRequest(6, "{1: 5, 2: 5}", 3)
	n.is("already voted in the term, also after restart", n.r.vote, uint32(2))

	// A vote response with a bigger term is not counted but bumps the term.
	n = newTNode(t)
	n.quorum = 2
	n.r.CfgElectionQuorum(2)
	n.runNextEvent()
	n.is("became candidate", n.r.state, Candidate)
	n.is("term is bumped", n.r.term, uint64(2))
	n.voteResponse(3, 1, 2)
	n.check("term is bumped and became candidate", Candidate, 0, 3, 1, 3, 1, "{0: 3}")
}

func TestVoteDuringWALWrite(t *testing.T) {
	n := newTNode(t)
	n.runNextEvent()
	n.is("became candidate", n.r.state, Candidate)
	n.voteResponse(2, 1, 2)
	n.voteResponse(2, 1, 3)
	n.follow(1, 3)
	n.follow(2, 5)
	n.check("became leader", Leader, 1, 2, 1, 2, 1, "{0: 1, 1: 3, 2: 5}")

	// The WAL is blocked; a vote request with a matching vclock arrives.
	n.block()
	n.voteRequest(3, "{1: 3, 2: 5}", 2)
	// A write started before the request ends: the own vclock grows past
	// the candidate's, so the vote is cancelled and the node runs itself.
	n.follow(1, 1)
	n.unblock()
	n.check("cancelled the vote for the other node and voted for self", Candidate, 0, 3, 1, 3, 1, "{0: 3, 1: 4, 2: 5}")

	// A vote for self works even with rows queued in the WAL.
	n = newTNode(t)
	n.runNextEvent()
	n.is("became candidate", n.r.state, Candidate)
	n.is("term", n.r.term, uint64(2))
	n.block()
	n.runNextEvent()
	n.is("term", n.r.term, uint64(2))
	n.is("volatile term", n.r.volatileTerm, uint64(3))
	n.follow(1, 10)
	n.unblock()
	n.check("vote for self despite the queue", Candidate, 0, 3, 1, 3, 1, "{0: 2, 1: 10}")
}

func TestLeaderResign(t *testing.T) {
	// A leader that resigns makes a candidate start the next election.
	n := newTNode(t)
	n.leader(1, 2)
	n.is("leader is elected", n.r.leader, uint32(2))
	n.follower(1, 2)
	n.is("leader has resigned", n.r.leader, uint32(0))
	n.check("became candidate", Candidate, 0, 2, 1, 2, 1, "{0: 1}")

	// A voter notices the resignation and stays a follower.
	n = newTNode(t)
	n.leader(1, 2)
	n.r.CfgIsCandidate(false)
	n.r.CfgIsCandidate(false)
	n.flush()
	sent := len(n.sent)
	n.follower(1, 2)
	n.is("leader has resigned", n.r.leader, uint32(0))
	n.is("resign makes a broadcast", len(n.sent), sent+1)
	n.runFor(2 * n.deathTimeout)
	n.check("still follower", Follower, 0, 1, 0, 1, 0, "{}")

	// The node's own resignation.
	n = newTNode(t)
	n.runNextEvent()
	n.voteResponse(2, 1, 2)
	n.voteResponse(2, 1, 3)
	n.check("became leader", Leader, 1, 2, 1, 2, 1, "{0: 1}")
	n.sent = nil
	n.r.CfgIsCandidate(false)
	n.flush()
	n.check("the leader has resigned", Follower, 0, 2, 1, 2, 1, "{0: 1}")
	n.is("one message", len(n.sent), 1)
	n.checkMsg("resign notification is sent", n.sent[0], Follower, 2, 1, "")

	n.block()
	n.r.CfgIsCandidate(true)
	n.flush()
	n.runNextEvent()
	n.check("new election is waiting for the WAL", Follower, 0, 2, 1, 3, 1, "{0: 1}")
	n.leader(3, 2)
	n.check("the leader is accepted", Follower, 2, 2, 1, 3, 1, "{0: 1}")
	n.follower(3, 2)
	n.check("the leader has resigned, new election is scheduled", Follower, 0, 2, 1, 4, 1, "{0: 1}")
	n.unblock()
	n.voteResponse(4, 1, 2)
	n.voteResponse(4, 1, 3)
	n.check("the leader is elected", Leader, 1, 4, 1, 4, 1, "{0: 2}")
}

func TestSplitBrain(t *testing.T) {
	n := newTNode(t)
	n.leader(2, 2)
	n.is("leader is found", n.r.leader, uint32(2))
	n.leader(2, 3)
	n.is("split brain: the first leader is kept", n.r.leader, uint32(2))
}

func TestHeartbeat(t *testing.T) {
	n := newTNode(t)
	n.leader(2, 2)
	n.check("follow the leader after notification", Follower, 2, 2, 0, 2, 0, "{0: 1}")
	n.leader(2, 2)
	n.r.CfgIsCandidate(false)
	n.flush()
	n.runFor(2 * n.deathTimeout)
	n.check("follow the leader because no candidate", Follower, 2, 2, 0, 2, 0, "{0: 1}")

	n.r.CfgIsCandidate(true)
	n.flush()
	for i := 0; i < 5; i++ {
		n.runFor(n.deathTimeout / 2)
		n.heartbeat(2)
	}
	n.check("follow the leader because of heartbeats", Follower, 2, 2, 0, 2, 0, "{0: 1}")

	// Heartbeats from others do not count.
	start := n.now
	n.runFor(n.deathTimeout / 3)
	n.heartbeat(3)
	n.runFor(n.deathTimeout / 3)
	n.heartbeat(0)
	n.runNextEvent()
	if d := n.now - (start + n.deathTimeout); d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Fatalf("death detected %v after the deadline", d)
	}
	n.check("candidate when no heartbeats from the leader", Candidate, 0, 3, 1, 3, 1, "{0: 2}")

	// Heartbeats on a candidate (from nobody's leader) change nothing.
	n.r.CfgIsCandidate(false)
	n.heartbeat(2)
	n.r.CfgIsCandidate(true)
	n.r.NewTerm()
	n.flush()
	n.voteResponse(4, 1, 2)
	n.voteResponse(4, 1, 3)
	n.is("became leader", n.r.state, Leader)
	// Heartbeats on a leader change nothing.
	n.heartbeat(1)
	n.heartbeat(2)

	n.block()
	n.leader(5, 2)
	n.heartbeat(2)
	n.check("nothing changes while waiting for the WAL", Follower, 2, 4, 1, 5, 0, "{0: 4}")
	if n.r.timer.active {
		t.Fatal("the timer runs during a WAL write")
	}
	n.unblock()
}

func TestElectionTimeout(t *testing.T) {
	n := newTNode(t)
	ts := n.now
	n.runNextEvent()
	n.is("election starts after the death timeout", n.now, ts+n.deathTimeout)
	n.check("candidate", Candidate, 0, 2, 1, 2, 1, "{0: 1}")

	ts = n.now
	n.runNextEvent()
	if d := n.now - ts; d < n.electionTimeout || d > n.electionTimeout*11/10 {
		t.Fatalf("round lasted %v", d)
	}
	n.check("candidate again", Candidate, 0, 3, 1, 3, 1, "{0: 2}")

	// A longer timeout takes effect at once, keeping the elapsed time.
	ts = n.now
	n.runFor(n.electionTimeout / 2)
	n.electionTimeout *= 2
	n.r.CfgElectionTimeout(n.electionTimeout)
	n.runFor(n.electionTimeout / 2)
	n.check("same term, the new timeout did not expire", Candidate, 0, 3, 1, 3, 1, "{0: 2}")
	n.runNextEvent()
	if d := n.now - ts; d < n.electionTimeout-100*time.Millisecond || d > n.electionTimeout*11/10+100*time.Millisecond {
		t.Fatalf("round lasted %v with timeout %v", d, n.electionTimeout)
	}
	n.check("candidate again", Candidate, 0, 4, 1, 4, 1, "{0: 3}")

	// A shorter timeout that has already passed fires at once.
	n.runFor(n.electionTimeout / 2)
	n.electionTimeout /= 4
	n.r.CfgElectionTimeout(n.electionTimeout)
	ts = n.now
	n.runNextEvent()
	n.is("the new timeout acts immediately", n.now, ts)
	n.check("candidate again", Candidate, 0, 5, 1, 5, 1, "{0: 4}")

	// Round lengths are random: not all equal over many rounds.
	n.electionTimeout = 100 * time.Millisecond
	n.r.CfgElectionTimeout(n.electionTimeout)
	n.runNextEvent()
	seen := map[time.Duration]bool{}
	for i := 0; i < 20; i++ {
		ts = n.now
		n.runNextEvent()
		d := n.now - ts
		if d < n.electionTimeout || d > n.electionTimeout*11/10 {
			t.Fatalf("round lasted %v", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Fatal("round lengths are not random")
	}
	n.is("still candidate", n.r.state, Candidate)
}

func TestElectionQuorum(t *testing.T) {
	n := newTNode(t)
	n.r.CfgElectionQuorum(5)
	n.runNextEvent()
	n.check("candidate", Candidate, 0, 2, 1, 2, 1, "{0: 1}")
	n.r.CfgElectionQuorum(3)
	n.flush()
	n.is("still candidate", n.r.state, Candidate)
	n.voteResponse(2, 1, 2)
	n.is("vote is accepted", n.r.voteCount(), 2)
	n.is("but still candidate", n.r.state, Candidate)
	n.r.CfgElectionQuorum(2)
	n.flush()
	n.check("leader after the quorum is lowered", Leader, 1, 2, 1, 2, 1, "{0: 1}")

	n.r.CfgElectionQuorum(1)
	n.r.NewTerm()
	n.flush()
	n.check("leader again at once with the self vote", Leader, 1, 3, 1, 3, 1, "{0: 3}")
}

func TestDeathTimeout(t *testing.T) {
	n := newTNode(t)
	n.leader(2, 2)
	n.check("follow the leader", Follower, 2, 2, 0, 2, 0, "{0: 1}")
	timeout := n.deathTimeout
	n.runFor(timeout / 2)
	n.deathTimeout = 2 * timeout
	n.r.CfgDeathTimeout(n.deathTimeout)
	n.runFor(timeout)
	n.check("the leader is still alive", Follower, 2, 2, 0, 2, 0, "{0: 1}")
	n.runFor(timeout / 2)
	n.check("candidate when the new death timeout expires", Candidate, 0, 3, 1, 3, 1, "{0: 2}")

	n.leader(3, 2)
	n.is("leader is accepted", n.r.leader, uint32(2))
	n.is("follower", n.r.state, Follower)
	n.runFor(n.deathTimeout / 2)
	n.deathTimeout /= 4
	n.r.CfgDeathTimeout(n.deathTimeout)
	ts := n.now
	n.runNextEvent()
	n.is("death is detected immediately", n.now, ts)
	n.check("candidate", Candidate, 0, 4, 1, 4, 1, "{0: 3}")
}

func TestEnableDisable(t *testing.T) {
	n := newTNode(t)
	n.r.CfgEnabled(false)
	n.flush()
	n.leader(2, 2)
	n.check("leader is seen", Follower, 2, 2, 0, 2, 0, "{0: 1}")
	if n.r.CheckpointRemote().IsLeaderSeen {
		t.Fatal("a disabled node reports is_leader_seen")
	}
	n.is("leader is still tracked", n.r.leader, uint32(2))

	n.r.CfgEnabled(true)
	n.flush()
	ts := n.now
	n.runNextEvent()
	n.is("death timeout passed", n.now-ts, n.deathTimeout)
	n.check("became candidate", Candidate, 0, 3, 1, 3, 1, "{0: 2}")
	n.r.CfgEnabled(true)
	n.r.CfgEnabled(true)
	n.flush()
	n.check("nothing changed", Candidate, 0, 3, 1, 3, 1, "{0: 2}")

	n.voteResponse(3, 1, 2)
	n.voteResponse(3, 1, 3)
	n.is("became leader", n.r.state, Leader)
	n.r.CfgEnabled(false)
	n.flush()
	n.check("resigned from leader state", Follower, 0, 3, 1, 3, 1, "{0: 2}")
	n.r.CfgEnabled(false)
	n.r.CfgEnabled(false)
	n.flush()
	n.check("nothing changed", Follower, 0, 3, 1, 3, 1, "{0: 2}")
	n.r.NewTerm()
	n.flush()
	n.check("term bump when disabled", Follower, 0, 4, 0, 4, 0, "{0: 3}")
}

func TestTooLongWALWrite(t *testing.T) {
	n := newTNode(t)
	n.block()
	n.voteRequest(2, "{2: 1}", 2)
	n.check("vote is volatile", Follower, 0, 1, 0, 2, 2, "{}")
	n.leader(2, 2)
	n.check("leader is known", Follower, 2, 1, 0, 2, 2, "{}")
	n.runFor(2 * n.deathTimeout)
	n.check("nothing changed", Follower, 2, 1, 0, 2, 2, "{}")
	n.unblock()
	n.check("WAL write is finished", Follower, 2, 2, 2, 2, 2, "{0: 2}")
	ts := n.now
	n.runNextEvent()
	n.is("the timer works again", n.now-ts, n.deathTimeout)
	n.is("became candidate", n.r.state, Candidate)

	// Votes for others in a newer term are handled after the write.
	n = newTNode(t)
	n.electionTimeout = 100 * sec
	n.r.CfgElectionTimeout(n.electionTimeout)
	n.runNextEvent()
	n.is("term is bumped", n.r.term, uint64(2))
	n.block()
	n.voteResponse(3, 3, 2)
	if _, ok := n.r.Deadline(); ok {
		t.Fatal("the timer runs during a WAL write")
	}
	n.is("term is old", n.r.term, uint64(2))
	n.is("vote is for self", n.r.vote, uint32(1))
	n.is("volatile term is new", n.r.volatileTerm, uint64(3))
	n.is("volatile vote is unused", n.r.volatileVote, uint32(0))
	n.shortenAndUnblock(50 * sec)
	n.check("new term with a vote for self", Candidate, 0, 4, 1, 4, 1, "{0: 4}")

	// The election timer fires during a blocked write.
	n = newTNode(t)
	n.electionTimeout = 100 * sec
	n.r.CfgElectionTimeout(n.electionTimeout)
	n.block()
	n.runNextEvent()
	n.is("term is old", n.r.term, uint64(1))
	n.is("vote is unused", n.r.vote, uint32(0))
	n.is("volatile term is new", n.r.volatileTerm, uint64(2))
	n.is("volatile vote is self", n.r.volatileVote, uint32(1))
	n.shortenAndUnblock(50 * sec)
	n.check("new term with a vote for self", Candidate, 0, 3, 1, 3, 1, "{0: 2}")
}

// shortenAndUnblock sets a new election timeout during a blocked write,
// unblocks and checks that the next round uses the new timeout.
func (n *tnode) shortenAndUnblock(d time.Duration) {
	n.t.Helper()
	n.electionTimeout = d
	n.r.CfgElectionTimeout(d)
	n.unblock()
	ts := n.now
	n.runNextEvent()
	if r := n.now - ts; r < d || r > d*11/10 {
		n.t.Fatalf("round of %v with timeout %v", r, d)
	}
}

func TestPromoteRestore(t *testing.T) {
	n := newTNode(t)
	n.r.CfgIsCandidate(false)
	n.r.CfgElectionQuorum(1)
	n.r.Promote()
	n.flush()
	n.is("leader after promotion", n.r.state, Leader)
	n.r.Restore()
	n.flush()
	n.is("restore drops a non-candidate leader", n.r.state, Follower)

	n.r.Promote()
	n.flush()
	n.is("leader after promotion", n.r.state, Leader)
	n.is("a candidate", n.r.candidate, true)
	n.voteRequest(4, "{}", 2)
	n.is("a new term demotes", n.r.state, Follower)
	n.is("not a candidate after the term bump", n.r.candidate, false)
	n.runFor(2 * n.electionTimeout)
	n.is("still follower", n.r.state, Follower)
	n.is("same term", n.r.term, uint64(4))

	n.r.CfgIsCandidate(true)
	n.r.CfgEnabled(false)
	n.r.Promote()
	n.flush()
	n.is("disabled: still the old term", n.r.term, uint64(4))
	n.is("not a candidate", n.r.candidate, false)
	n.r.Restore()
	n.is("not a candidate", n.r.candidate, false)

	// With quorum 2 the promoted node stays a candidate for one round.
	n.r.CfgIsCandidate(false)
	n.r.CfgEnabled(true)
	n.r.CfgElectionQuorum(2)
	n.r.Promote()
	n.flush()
	n.is("candidate", n.r.state, Candidate)
	n.is("new term", n.r.term, uint64(5))
	ts := n.now
	n.runNextEvent()
	if n.now-ts < n.electionTimeout {
		t.Fatalf("round of %v", n.now-ts)
	}
	n.is("no longer a candidate", n.r.state, Follower)
	n.is("no term bump", n.r.term, uint64(5))
	n.leader(5, 2)
	n.follower(5, 2)
	n.is("stays follower", n.r.state, Follower)
	n.is("no term bump", n.r.term, uint64(5))
}

func TestBumpTermBeforeCfg(t *testing.T) {
	n := newTNode(t)
	n.runNextEvent()
	n.check("new term with a vote for self", Candidate, 0, 2, 1, 2, 1, "{0: 1}")
	n.recover()
	n.check("recovered", Follower, 0, 2, 1, 2, 1, "")
	n.is("instance id unknown", n.r.self, uint32(0))
	n.block()
	n.follower(3, 2)
	n.check("term write in progress", Follower, 0, 2, 1, 3, 0, "")
	n.cfg()
	n.unblock()
	n.check("started a new term", Candidate, 0, 3, 1, 3, 1, "{0: 3}")
}

// newSplitNode is a test node with the given cluster size and quorum.
func newSplitNode(t *testing.T, cluster, quorum int) *tnode {
	n := newTNode(t)
	n.r.CfgClusterSize(cluster)
	n.r.CfgElectionQuorum(quorum)
	return n
}

func TestSplitVote(t *testing.T) {
	shortened := func(n *tnode) bool { return n.r.timer.repeat < n.r.electionTimeout }

	n := newTNode(t)
	n.r.CfgClusterSize(4)
	n.runNextEvent()
	n.check("elections", Candidate, 0, 2, 1, 2, 1, "{0: 1}")
	n.voteResponse(2, 1, 2)
	n.voteResponse(2, 3, 3)
	n.is("normal round", shortened(n), false)
	n.voteResponse(2, 3, 4)
	n.is("split vote shortens the round", shortened(n), true)
	n.runNextEvent()
	n.check("a new term", Candidate, 0, 3, 1, 3, 1, "{0: 2}")
	n.is("normal round again", shortened(n), false)

	// A cluster size change makes a split vote.
	n = newSplitNode(t, 3, 2)
	n.runNextEvent()
	n.is("candidate", n.r.state, Candidate)
	n.voteResponse(2, 2, 2)
	n.is("not split yet", shortened(n), false)
	n.r.CfgClusterSize(2)
	n.is("cluster size change makes a split vote", shortened(n), true)
	n.runNextEvent()
	n.check("a new term", Candidate, 0, 3, 1, 3, 1, "{0: 2}")

	// A known leader is not affected.
	n = newSplitNode(t, 3, 2)
	n.voteResponse(2, 2, 2)
	n.leader(2, 2)
	n.is("leadership accepted", n.r.leader, uint32(2))
	n.is("the only own vote is from self", n.r.voteCount(), 1)
	n.r.CfgClusterSize(2)
	if n.r.timer.repeat < n.deathTimeout {
		t.Fatal("cluster change shortened the leader death wait")
	}

	// Voters never schedule new terms.
	n = newSplitNode(t, 3, 3)
	n.r.CfgIsCandidate(false)
	n.voteResponse(2, 2, 2)
	n.voteResponse(2, 3, 3)
	if n.r.timer.active {
		t.Fatal("a voter scheduled a new term")
	}

	// Once shortened, a round is not shortened again.
	n = newSplitNode(t, 3, 3)
	n.runNextEvent()
	n.voteResponse(2, 2, 2)
	delay := n.r.timer.repeat
	n.is("split vote is inevitable", shortened(n), true)
	n.voteResponse(2, 3, 3)
	n.is("delay unchanged", n.r.timer.repeat, delay)

	// A split vote found during a WAL write is handled after it.
	n = newSplitNode(t, 2, 2)
	n.block()
	n.runNextEvent()
	n.is("old term", n.r.term, uint64(1))
	n.is("volatile vote", n.r.volatileVote, uint32(1))
	n.voteResponse(2, 2, 2)
	n.unblock()
	n.check("voted for self", Candidate, 0, 2, 1, 2, 1, "")
	n.is("split vote found after the write", shortened(n), true)
	n.runNextEvent()
	n.is("term", n.r.term, uint64(3))
	n.is("vote", n.r.vote, uint32(1))

	// Not checked when the cluster is smaller than the quorum.
	n = newSplitNode(t, 1, 2)
	n.runNextEvent()
	n.voteResponse(2, 2, 2)
	n.is("cluster < quorum", shortened(n), false)

	// Not checked when more nodes voted than the cluster has.
	n = newSplitNode(t, 3, 2)
	n.runNextEvent()
	n.voteResponse(2, 2, 2)
	n.voteResponse(2, 2, 3)
	n.voteResponse(2, 3, 4)
	n.voteResponse(2, 4, 5)
	n.is("votes > cluster size", shortened(n), false)

	// A quorum increase can make a split vote.
	n = newSplitNode(t, 3, 2)
	n.runNextEvent()
	n.voteResponse(2, 2, 2)
	n.is("not split yet", shortened(n), false)
	n.r.CfgElectionQuorum(3)
	n.is("split after the quorum increase", shortened(n), true)
	n.runNextEvent()
	n.is("term", n.r.term, uint64(3))

	// Without a random shift the next term starts at once.
	n = newSplitNode(t, 3, 3)
	n.r.CfgMaxShift(0)
	n.runNextEvent()
	n.voteResponse(2, 2, 2)
	n.is("new election right away", n.r.timer.repeat, time.Duration(0))
	n.voteResponse(2, 3, 3)
	n.is("still right away", n.r.timer.repeat, time.Duration(0))

	// A vote for another node is no split vote.
	n = newSplitNode(t, 2, 2)
	n.voteRequest(2, "{}", 2)
	n.check("term and vote are persisted", Follower, 0, 2, 2, 2, 2, "{0: 2}")
	n.is("no split vote", shortened(n), false)
}

func TestPreVote(t *testing.T) {
	n := newTNode(t)
	idle := func() time.Duration { return n.r.Status().LeaderIdle }
	n.block()
	n.leader(2, 2)
	n.check("WAL write in progress", Follower, 2, 1, 0, 2, 0, "{}")
	n.is("leader just appeared", idle(), time.Duration(0))
	n.runFor(n.deathTimeout / 2)
	n.is("idle grows", idle(), n.deathTimeout/2)
	n.heartbeat(2)
	n.is("a heartbeat resets idle during a WAL write", idle(), time.Duration(0))
	n.unblock()
	n.check("WAL write finished", Follower, 2, 2, 0, 2, 0, "{0: 1}")
	n.runFor(n.deathTimeout / 2)
	n.is("idle grows", idle(), n.deathTimeout/2)
	n.heartbeat(2)
	n.is("a heartbeat resets idle", idle(), time.Duration(0))

	n.r.CfgIsCandidate(false)
	n.flush()
	n.is("a voter tracks leader death", n.r.timer.active, true)
	n.runFor(2 * n.deathTimeout)
	n.check("leader still remembered", Follower, 2, 2, 0, 2, 0, "{0: 1}")
	n.is("idle", idle(), 2*n.deathTimeout)
	n.is("timed out", n.r.timer.active, false)
	n.heartbeat(2)
	n.is("heartbeat resets idle", idle(), time.Duration(0))
	n.is("heartbeat restarts the timer", n.r.timer.active, true)

	n.r.CfgIsCandidate(true)
	n.flush()
	n.leaderSeen(2, true, 3)
	n.runFor(2 * n.deathTimeout)
	n.is("leader not seen", idle(), 2*n.deathTimeout)
	n.is("timed out", n.r.timer.active, false)
	n.check("no elections while the leader is seen by a peer", Follower, 2, 2, 0, 2, 0, "{0: 1}")
	n.leaderSeen(2, false, 3)
	n.check("elections once nobody sees the leader", Candidate, 0, 3, 1, 3, 1, "{0: 2}")

	n.r.CfgElectionQuorum(1)
	n.flush()
	n.check("leader on quorum change", Leader, 1, 3, 1, 3, 1, "{0: 2}")
	n.r.CfgIsCandidateLater(false)
	n.flush()
	n.check("candidate-later does not disrupt the leader", Leader, 1, 3, 1, 3, 1, "{0: 2}")
	n.follower(4, 2)
	n.runFor(2 * n.deathTimeout)
	n.check("after the term bump the node is a voter", Follower, 0, 4, 0, 4, 0, "{0: 3}")
	n.r.CfgIsCandidateLater(true)
	n.flush()
	n.check("candidate-later does not make a voter a candidate", Follower, 0, 4, 0, 4, 0, "{0: 3}")
	n.follower(5, 2)
	n.runFor(n.deathTimeout)
	n.check("the next term does", Leader, 1, 5, 1, 5, 1, "{0: 5}")
	n.is("leader_idle is 0 on the leader", idle(), time.Duration(0))
	n.r.CfgIsCandidate(false)
	n.flush()
	n.runFor(n.deathTimeout / 2)
	n.is("leader_idle counts from the resignation", idle(), n.deathTimeout/2)

	n.r.CfgEnabled(false)
	n.flush()
	n.leaderSeen(6, true, 2)
	if n.r.witness == 0 {
		t.Fatal("witnesses are not tracked on a disabled node")
	}
	n.is("a disabled node waits for nothing", n.r.timer.active, false)
	n.r.CfgIsCandidate(true)
	n.r.CfgEnabled(true)
	n.flush()
	n.check("no elections on start while someone sees the leader", Follower, 0, 6, 0, 6, 0, "{0: 6}")
	n.is("nothing to wait for", n.r.timer.active, false)
	n.r.CfgIsCandidate(false)
	n.r.CfgIsCandidate(true)
	n.flush()
	n.check("no elections on becoming candidate while someone sees the leader", Follower, 0, 6, 0, 6, 0, "{0: 6}")
	n.is("nothing to wait for", n.r.timer.active, false)

	n.leader(6, 3)
	n.runFor(2 * n.deathTimeout)
	n.is("timed out", n.r.timer.active, false)
	n.deathTimeout /= 2
	n.r.CfgDeathTimeout(n.deathTimeout)
	n.is("no restart on death timeout change after the timeout", n.r.timer.active, false)

	n.voteRequest(7, "{2: 1}", 2)
	n.leader(7, 2)
	n.leaderSeen(7, true, 3)
	n.runFor(2 * n.deathTimeout)
	n.electionTimeout /= 2
	n.r.CfgElectionTimeout(n.electionTimeout)
	n.is("no restart on election timeout change while the leader is seen", n.r.timer.active, false)
}

func TestResign(t *testing.T) {
	n := newTNode(t)
	n.r.CfgIsCandidate(true)
	n.r.CfgElectionQuorum(1)
	n.r.Promote()
	n.flush()
	n.check("became leader", Leader, 1, 2, 1, 2, 1, "{0: 1}")
	n.r.Resign()
	n.flush()
	n.check("resigned without a term bump", Follower, 0, 2, 1, 2, 1, "{0: 1}")
}

func TestCandidateDisableDuringWALWrite(t *testing.T) {
	n := newTNode(t)
	n.r.CfgIsCandidate(true)
	n.block()
	n.leader(2, 2)
	n.check("leader seen, write in progress", Follower, 2, 1, 0, 2, 0, "{}")
	n.r.CfgIsCandidate(false)
	n.unblock()
	n.check("state is persisted", Follower, 2, 2, 0, 2, 0, "{0: 1}")
}

// TestRecoverTermOnlyRow: rows {term 5, vote 2}, {term 6} recover as term
// 6 without a vote (Tarantool would keep vote 2 and announce it in term 6,
// a vote never given in that term; docs/raft.md).
func TestRecoverTermOnlyRow(t *testing.T) {
	r := NewRaft(nil)
	for _, row := range []format.Raft{{Term: 1}, {Term: 5, Vote: 2}, {Term: 6}, {Term: 4, Vote: 3}} {
		r.Recover(row)
	}
	if got := r.CheckpointLocal(); got != (format.Raft{Term: 6}) {
		t.Fatalf("recovered %+v", got)
	}
	r.Recover(format.Raft{Term: 6, Vote: 3})
	if got := r.CheckpointLocal(); got != (format.Raft{Term: 6, Vote: 3}) {
		t.Fatalf("recovered %+v", got)
	}
}

// TestStaleVoteAfterPreVote: a message whose IS_LEADER_SEEN=false ends
// the leader's last witness starts an election; the vote it carries is
// of the old term and must not count in the new one. Found by the
// replica-set simulation: a candidate became leader with a term-5 vote
// counted in term 6, next to the real leader of term 6.
func TestStaleVoteAfterPreVote(t *testing.T) {
	n := newTNode(t)
	n.leader(2, 2)
	n.leaderSeen(2, true, 3)
	n.runFor(n.deathTimeout)
	n.check("the leader is still seen by 3", Follower, 2, 2, 0, 2, 0, "")
	n.mustMsg(format.Raft{Term: 2, Vote: 1, State: uint32(Follower)}, 3)
	n.check("election once nobody sees the leader", Candidate, 0, 3, 1, 3, 1, "")
	n.is("votes in term 3", n.r.Status().Votes, 1)
	n.voteResponse(3, 1, 4)
	n.check("two real votes of three", Candidate, 0, 3, 1, 3, 1, "")
}
