package node

import (
	"testing"

	"github.com/xlogtool/xlogtool/node/raft"
	"github.com/xlogtool/xlogtool/replay"
)

// The election starts from the recovered vote only when it was given in
// the recovered term: after {term 5, vote 2}, {term 6} it has none.
func TestRecoveredRaft(t *testing.T) {
	for _, c := range []struct {
		in   replay.RaftState
		want raft.Persistent
	}{
		{replay.RaftState{Term: 6, Vote: 2, VoteTerm: 5}, raft.Persistent{Term: 6}},
		{replay.RaftState{Term: 6, Vote: 2, VoteTerm: 6}, raft.Persistent{Term: 6, Vote: 2}},
		{replay.RaftState{Term: 1}, raft.Persistent{Term: 1}},
	} {
		if got := RecoveredRaft(c.in); got != c.want {
			t.Errorf("RecoveredRaft(%+v) = %+v, want %+v", c.in, got, c.want)
		}
	}
}
