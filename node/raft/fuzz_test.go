package raft

import (
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/format"
)

// FuzzRaft feeds a machine arbitrary sequences of messages, heartbeats,
// configuration changes, time and write completions, and checks the
// invariants that must hold whatever peers send: no panic, the persisted
// term never goes back, at most one vote is persisted per term, and every
// message carries persisted state only.
func FuzzRaft(f *testing.F) {
	f.Add([]byte{0, 2, 2, 2, 1, 3, 2, 1, 0, 4, 8, 9, 5, 1})
	f.Add([]byte{1, 3, 3, 0, 0, 0, 2, 2, 7, 7, 7, 7, 9, 0, 3, 3, 1, 1})
	f.Add([]byte{6, 1, 5, 0, 8, 2, 3, 3, 2, 2, 1, 1, 4, 4, 9, 9, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		n := newTNode(t)
		votes := map[uint64]uint32{}
		var term uint64 = 1
		rows, msgs := 0, 0
		check := func() {
			for _, row := range n.journal[rows:] {
				if row.Term < term {
					t.Fatalf("persisted term %d after %d", row.Term, term)
				}
				term = row.Term
				if row.Vote != 0 {
					if v, ok := votes[row.Term]; ok && v != row.Vote {
						t.Fatalf("two votes in term %d: %d and %d", row.Term, v, row.Vote)
					}
					votes[row.Term] = row.Vote
				}
			}
			rows = len(n.journal)
			for _, m := range n.sent[msgs:] {
				if m.Term > term && m.Term > 1 || m.Vote != 0 && votes[m.Term] != m.Vote {
					t.Fatalf("message %+v before persisting (term %d, votes %v)", m, term, votes)
				}
			}
			msgs = len(n.sent)
		}
		for len(data) >= 3 {
			op, a, b := data[0]%11, data[1], data[2]
			data = data[3:]
			src := uint32(a%4) + 2
			mterm := n.r.volatileTerm + uint64(b%3)
			var v format.VClock
			v.Set(uint32(b%3)+1, uint64(a%5))
			switch op {
			case 0:
				_ = n.msg(format.Raft{Term: mterm, Vote: src, State: uint32(Candidate), VClock: v, HasVClock: true}, src)
			case 1:
				_ = n.msg(format.Raft{Term: mterm, Vote: uint32(b % 6), State: uint32(Follower), IsLeaderSeen: a&1 == 1}, src)
			case 2:
				_ = n.msg(format.Raft{Term: mterm, State: uint32(Leader), LeaderID: src}, src)
			case 3:
				_ = n.msg(format.Raft{Term: uint64(b % 4), State: uint32(a % 5), Vote: uint32(b % 5)}, src)
			case 4:
				n.heartbeat(src)
			case 5:
				n.runFor(time.Duration(a) * 50 * time.Millisecond)
			case 6:
				n.blocked = a&1 == 1
				n.flush()
			case 7:
				n.r.CfgIsCandidate(a&1 == 1)
				n.r.CfgEnabled(b%4 != 0)
				n.flush()
			case 8:
				n.r.CfgElectionQuorum(int(a%4) + 1)
				n.r.CfgClusterSize(int(b%5) + 1)
				n.flush()
			case 9:
				switch a % 4 {
				case 0:
					n.r.Promote()
				case 1:
					n.r.Resign()
				case 2:
					n.r.NewTerm()
				case 3:
					n.follow(uint32(b%3)+1, 1)
				}
				n.flush()
			case 10:
				if !n.blocked {
					n.restart()
					msgs = 0 // a restarted node's messages start anew
				}
			}
			check()
		}
	})
}
