package sim

import (
	"fmt"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/node/raft"
)

// Checker holds the invariants of a run and the violations found.
//
//   - at most one leader per term;
//   - a node persists at most one vote per term, across crashes;
//   - a node's persisted term never goes back, on disk or in its state;
//   - a message carries only a term and vote already durable on the
//     sender's disk (persist before broadcast);
//   - data is written only by the one leader of a term.
type Checker struct {
	leaders     map[uint64]int       // term → leader
	writers     map[uint64]int       // term → node that wrote data
	votes       map[[2]uint64]uint32 // (node, term) → durable vote
	durableTerm []uint64
	seenTerm    []uint64
	Violations  []string
	Terms       uint64 // highest term seen
}

func newChecker(n int) *Checker {
	return &Checker{leaders: map[uint64]int{}, writers: map[uint64]int{}, votes: map[[2]uint64]uint32{},
		durableTerm: make([]uint64, n+1), seenTerm: make([]uint64, n+1)}
}

func (c *Checker) failf(f string, args ...any) {
	if len(c.Violations) < 20 {
		c.Violations = append(c.Violations, fmt.Sprintf(f, args...))
	}
}

// OK reports whether no invariant was violated.
func (c *Checker) OK() bool { return len(c.Violations) == 0 }

func (c *Checker) durable(id int, row format.Raft) {
	if row.Term < c.durableTerm[id] {
		c.failf("node %d persisted term %d after term %d", id, row.Term, c.durableTerm[id])
	}
	c.durableTerm[id] = max(c.durableTerm[id], row.Term)
	if row.Vote == 0 {
		return
	}
	k := [2]uint64{uint64(id), row.Term}
	if v, ok := c.votes[k]; ok && v != row.Vote {
		c.failf("node %d voted twice in term %d: for %d and for %d", id, row.Term, v, row.Vote)
	}
	c.votes[k] = row.Vote
}

func (c *Checker) sent(id int, m format.Raft) {
	if m.Term > c.durableTerm[id] && m.Term > 1 {
		c.failf("node %d sent term %d before persisting it (durable %d)", id, m.Term, c.durableTerm[id])
	}
	if m.Vote != 0 {
		if v := c.votes[[2]uint64{uint64(id), m.Term}]; v != m.Vote {
			c.failf("node %d sent vote %d in term %d, durable vote %d", id, m.Vote, m.Term, v)
		}
	}
}

func (c *Checker) observe(id int, st raft.Status) {
	if st.Term < c.seenTerm[id] {
		c.failf("node %d: term went back from %d to %d", id, c.seenTerm[id], st.Term)
	}
	c.seenTerm[id] = max(c.seenTerm[id], st.Term)
	c.Terms = max(c.Terms, st.Term)
	if st.State != raft.Leader {
		return
	}
	if l, ok := c.leaders[st.Term]; ok && l != id {
		c.failf("two leaders in term %d: %d and %d", st.Term, l, id)
	}
	c.leaders[st.Term] = id
}

func (c *Checker) wrote(id int, term uint64) {
	if w, ok := c.writers[term]; ok && w != id {
		c.failf("two writers in term %d: %d and %d", term, w, id)
	}
	c.writers[term] = id
}
