// Package sim is a deterministic simulation of a replica set: a manual
// clock with an event queue (World), a network of directed links that
// drops, delays, duplicates and reorders messages and can be partitioned
// and healed (Network), and a write-ahead disk per node that is slow,
// fails and loses unsynced writes on a crash (Disk). Everything random
// comes from one seeded generator, so a seed replays a run exactly.
//
// World, Network and Disk know nothing about Raft: payloads are opaque
// values and disk records are byte slices. Cluster is the Raft election
// model built on them, with the invariant checks. ReplicaSet is the whole
// replica set with data on the same pieces: the node's Raft machines,
// limbo and split-brain filters, a WAL of real rows, relays, appliers and
// clients, checked by porcupine and by verify on the files it writes.
package sim

import (
	"container/heap"
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// World is the simulated time and the queue of events to run. It is not
// safe for concurrent use: a simulation is single-threaded by design.
type World struct {
	now    time.Duration
	seq    uint64
	events eventHeap
	Rand   *rand.Rand
	trace  uint64 // running hash of the executed events
	steps  int
}

// NewWorld returns a world at time 0 whose randomness comes from seed.
func NewWorld(seed uint64) *World {
	return &World{Rand: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), trace: fnv.New64a().Sum64()}
}

// Now returns the simulated time.
func (w *World) Now() time.Duration { return w.now }

// Steps returns the number of events run so far.
func (w *World) Steps() int { return w.steps }

// Trace returns a hash of every event run so far (time and order): two
// runs of one seed have the same trace.
func (w *World) Trace() uint64 { return w.trace }

// Mix adds v to the trace hash.
func (w *World) Mix(v uint64) {
	w.trace ^= v
	w.trace *= 1099511628211
}

// At schedules fn at time t (not before now). Events at the same time
// run in the order they were scheduled.
func (w *World) At(t time.Duration, fn func()) {
	if t < w.now {
		t = w.now
	}
	w.seq++
	heap.Push(&w.events, event{at: t, seq: w.seq, fn: fn})
}

// After schedules fn d from now.
func (w *World) After(d time.Duration, fn func()) { w.At(w.now+d, fn) }

// RunUntil runs events up to and including time t, then sets the clock to
// t. stop, when not nil, is checked after every event and ends the run
// early when it returns true.
func (w *World) RunUntil(t time.Duration, stop func() bool) bool {
	for len(w.events) > 0 && w.events[0].at <= t {
		e := heap.Pop(&w.events).(event)
		w.now = e.at
		w.steps++
		w.Mix(uint64(e.at) ^ e.seq<<40)
		e.fn()
		if stop != nil && stop() {
			return true
		}
	}
	if t > w.now {
		w.now = t
	}
	return false
}

// Between returns a uniform duration in [lo, hi].
func (w *World) Between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(w.Rand.Int64N(int64(hi-lo)+1))
}

// Chance returns true with probability p.
func (w *World) Chance(p float64) bool { return p > 0 && w.Rand.Float64() < p }

type event struct {
	at  time.Duration
	seq uint64
	fn  func()
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
