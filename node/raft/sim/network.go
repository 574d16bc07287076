package sim

import "time"

// NetFaults are the network's misbehaviours, changeable at any time.
type NetFaults struct {
	MinDelay, MaxDelay time.Duration // one-way latency
	// Break is the probability that sending a message breaks its link
	// (the message and everything in flight on the link are lost).
	Break float64
	// Drop is the probability that a single message is lost while the
	// link stays up (not what TCP does; Raft state messages must survive
	// it anyway).
	Drop float64
	// Dup is the probability that a message is delivered twice.
	Dup float64
	// Reorder is the probability that a message ignores FIFO order and
	// may overtake the ones sent before it.
	Reorder float64
	// Reconnect is how long a broken link stays down before it may come
	// back (when neither end is down nor partitioned away).
	Reconnect time.Duration
}

// Endpoint is what the network calls on a node.
type Endpoint interface {
	// Deliver hands over a message sent by from.
	Deliver(from int, msg any)
	// LinkDown tells that the link between this node and peer broke
	// (either direction).
	LinkDown(peer int)
	// LinkUp tells that the link from this node to peer is up again; the
	// node sends what a fresh subscriber gets.
	LinkUp(peer int)
}

type link struct {
	up          bool
	epoch       int // bumped on every break: older deliveries are lost
	lastDeliver time.Duration
	retrying    bool
}

// Network connects nodes 1..n with directed links (a relay from each node
// to each other node, as in a full mesh). Links are FIFO unless Reorder
// says otherwise.
type Network struct {
	w      *World
	Faults NetFaults
	nodes  []Endpoint // index = node id; 0 unused
	down   []bool     // node is down: its links stay broken
	group  []int      // partition group of each node
	links  map[[2]int]*link
}

// NewNetwork creates a network of n nodes, all links up.
func NewNetwork(w *World, n int) *Network {
	nw := &Network{w: w, nodes: make([]Endpoint, n+1), down: make([]bool, n+1),
		group: make([]int, n+1), links: map[[2]int]*link{}}
	for a := 1; a <= n; a++ {
		for b := 1; b <= n; b++ {
			if a != b {
				nw.links[[2]int{a, b}] = &link{up: true}
			}
		}
	}
	return nw
}

// Attach registers node id's endpoint.
func (nw *Network) Attach(id int, e Endpoint) { nw.nodes[id] = e }

// Size returns the number of nodes.
func (nw *Network) Size() int { return len(nw.nodes) - 1 }

func (nw *Network) connected(a, b int) bool {
	return !nw.down[a] && !nw.down[b] && nw.group[a] == nw.group[b]
}

// Send sends msg over the link from → to. It is lost if the link is down.
func (nw *Network) Send(from, to int, msg any) {
	l := nw.links[[2]int{from, to}]
	if l == nil || !l.up {
		return
	}
	f := &nw.Faults
	if nw.w.Chance(f.Break) {
		nw.breakLink(from, to, true)
		return
	}
	if nw.w.Chance(f.Drop) {
		return
	}
	nw.schedule(from, to, l, msg)
	if nw.w.Chance(f.Dup) {
		nw.schedule(from, to, l, msg)
	}
}

func (nw *Network) schedule(from, to int, l *link, msg any) {
	f := &nw.Faults
	at := nw.w.now + nw.w.Between(f.MinDelay, f.MaxDelay)
	if !nw.w.Chance(f.Reorder) && at < l.lastDeliver {
		at = l.lastDeliver
	}
	if at > l.lastDeliver {
		l.lastDeliver = at
	}
	epoch := l.epoch
	nw.w.At(at, func() {
		if l.epoch != epoch || !l.up || nw.down[to] {
			return
		}
		nw.nodes[to].Deliver(from, msg)
	})
}

// breakLink breaks the directed link and tells both ends (when notify),
// then schedules its reconnection.
func (nw *Network) breakLink(from, to int, notify bool) {
	l := nw.links[[2]int{from, to}]
	if !l.up {
		return
	}
	l.up = false
	l.epoch++
	if notify {
		if !nw.down[from] {
			nw.nodes[from].LinkDown(to)
		}
		if !nw.down[to] {
			nw.nodes[to].LinkDown(from)
		}
	}
	nw.retry(from, to)
}

func (nw *Network) retry(from, to int) {
	l := nw.links[[2]int{from, to}]
	if l.retrying {
		return
	}
	l.retrying = true
	d := nw.Faults.Reconnect
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	nw.w.After(d, func() {
		l.retrying = false
		if l.up {
			return
		}
		if !nw.connected(from, to) {
			nw.retry(from, to)
			return
		}
		l.up = true
		l.lastDeliver = nw.w.now
		nw.nodes[from].LinkUp(to)
	})
}

// Partition splits the nodes into the given groups (nodes not listed form
// one more group); links between groups break at once and both ends are
// told, as when connections are reset.
func (nw *Network) Partition(groups ...[]int) { nw.Cut(true, groups...) }

// Cut is Partition where notify says whether the ends learn about it; a
// silent cut (a pulled cable) is noticed only by the silence.
func (nw *Network) Cut(notify bool, groups ...[]int) {
	for i := range nw.group {
		nw.group[i] = 0
	}
	for g, ids := range groups {
		for _, id := range ids {
			nw.group[id] = g + 1
		}
	}
	for _, k := range nw.sortedLinks() {
		if nw.group[k[0]] != nw.group[k[1]] {
			nw.breakLink(k[0], k[1], notify)
		}
	}
}

// Heal removes the partition; broken links come back after Reconnect.
func (nw *Network) Heal() {
	for i := range nw.group {
		nw.group[i] = 0
	}
}

// sortedLinks lists the links in a fixed order (map order is random).
func (nw *Network) sortedLinks() [][2]int {
	n := nw.Size()
	out := make([][2]int, 0, n*(n-1))
	for a := 1; a <= n; a++ {
		for b := 1; b <= n; b++ {
			if a != b {
				out = append(out, [2]int{a, b})
			}
		}
	}
	return out
}

// NodeDown takes node id off the network: its links break; peers are told
// only when notify (a killed process's sockets are closed by the kernel; a
// stopped or cut-off one just falls silent).
func (nw *Network) NodeDown(id int, notify bool) {
	nw.down[id] = true
	for _, k := range nw.sortedLinks() {
		if k[0] == id || k[1] == id {
			l := nw.links[k]
			if !l.up {
				continue
			}
			l.up = false
			l.epoch++
			peer := k[0] + k[1] - id
			if notify && !nw.down[peer] {
				nw.nodes[peer].LinkDown(id)
			}
			nw.retry(k[0], k[1])
		}
	}
}

// NodeUp puts node id back; its links reconnect after Reconnect.
func (nw *Network) NodeUp(id int) { nw.down[id] = false }

// IsUp reports whether the link from → to is up.
func (nw *Network) IsUp(from, to int) bool {
	l := nw.links[[2]int{from, to}]
	return l != nil && l.up
}
