package raft_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/node/raft"
)

// A single-instance replica set (quorum 1) in mode candidate: the driver
// loop a node runs around an Election.
func Example() {
	e := raft.NewElection(raft.Config{
		ID: 1, Mode: raft.ModeCandidate, SynchroQuorum: 1, Registered: 1,
		ElectionTimeout: 5 * time.Second, ReplicationTimeout: time.Second,
		Rand: rand.New(rand.NewPCG(1, 1)),
	}, raft.Persistent{Term: 1}, format.VClock{}, 0)

	var wal []format.Raft // stands for the WAL
	drain := func() {
		for {
			rd := e.Ready()
			if rd.Write != nil {
				// Write the RAFT row (format.AppendRaftBody) and wait
				// until it is durable; then report it.
				wal = append(wal, *rd.Write)
				e.WriteDone()
			}
			if rd.Message != nil {
				// Encode with format.AppendRaftMessage and push to
				// every relay.
				fmt.Printf("broadcast %s term %d vote %d\n", raft.State(rd.Message.State), rd.Message.Term, rd.Message.Vote)
			}
			if rd.Promote != 0 {
				// Write PROMOTE of this term once the old owner's
				// entries have their quorum; report it applied.
				fmt.Printf("PROMOTE in term %d\n", rd.Promote)
				e.QueueClaimed(1, rd.Promote)
			}
			if rd.Empty() && rd.Promote == 0 && !rd.Demote {
				return
			}
		}
	}
	drain()
	// The clock: wake up at the machine's deadline.
	for i := 0; i < 3 && !e.Writable(); i++ {
		if d, ok := e.Deadline(); ok {
			e.Tick(d)
		}
		drain()
	}
	for _, row := range wal {
		fmt.Printf("RAFT row: term %d vote %d\n", row.Term, row.Vote)
	}
	fmt.Println("writable:", e.Writable())
	// Output:
	// broadcast follower term 1 vote 0
	// broadcast leader term 2 vote 1
	// PROMOTE in term 2
	// RAFT row: term 2 vote 1
	// writable: true
}
