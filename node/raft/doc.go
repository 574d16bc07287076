// Package raft is Tarantool's Raft leader election as pure state machines:
// no goroutines, clock, sockets or files inside. Messages, heartbeats,
// timer ticks and write completions go in; RAFT rows to persist, RAFT
// messages to broadcast and state changes come out (Ready), in the style
// of etcd-io/raft.
//
// Raft is the election machine of Tarantool's src/lib/raft/raft.c: terms,
// votes (once per term, only for a candidate whose vclock is not behind),
// randomised rounds, split-vote detection, the leader witness map
// (pre-vote), manual promotion and resignation. Election adds what
// Tarantool's box glue (src/box/raft.c) does around it: election modes,
// the election quorum derived from the synchronous quorum and the number of
// registered instances, peer health, fencing, and the hand-over from "Raft
// leader" to "queue owner" (PROMOTE) to "writable".
//
// The term and vote are persisted as local RAFT rows (format.Raft) before
// anything that depends on them is sent; messages carry persisted state
// only. Encoding uses format.AppendRaftMessage and Row.Raft.
//
// Subpackage sim runs replica sets of these machines over a simulated
// network, clock and disk, driven by a seed. docs/raft.md describes the
// mapping to Tarantool and how to replay a seed.
package raft
