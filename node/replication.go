package node

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/memtx"
)

// Replication in the node (NODE.md §2, §3): the relay serves other
// instances (relay.go), the applier follows them (applier.go). This file
// holds what both share: the options, the list of relays and appliers,
// the WAL files kept for replicas and box.info.replication.

// ReplicationOptions are the box.cfg replication options.
type ReplicationOptions struct {
	// Replication lists the peers to follow (box.cfg.replication), each
	// "[user:password@]host:port".
	Replication []string
	// ReplicationTimeout is replication_timeout: the heartbeat period of a
	// relay; a peer silent for 4 times as long is disconnected. 0: 1 s.
	ReplicationTimeout time.Duration
	// ReplicationConnectTimeout bounds the wait for the peers' ballots
	// when an empty node bootstraps. 0: 30 s.
	ReplicationConnectTimeout time.Duration
}

func (n *Node) replTimeout() time.Duration {
	if n.cfg.ReplicationTimeout > 0 {
		return n.cfg.ReplicationTimeout
	}
	return time.Second
}

// replication is the node's replication state.
type replication struct {
	mu sync.Mutex
	// relays are the subscribed replicas by instance UUID.
	relays map[string]*relay
	// held are the vclocks up to which registered replicas have the rows
	// (their last ACK, or where they joined): the WAL files they still
	// need are kept.
	held     map[string]format.VClock
	appliers []*applier
	// received are the changes of received transactions waiting in the
	// limbo, by queue entry id (guarded by Node.mu).
	received map[uint64][]Change
}

func (r *replication) hold(uuid string, v format.VClock) {
	r.mu.Lock()
	if r.held == nil {
		r.held = map[string]format.VClock{}
	}
	r.held[uuid] = v
	r.mu.Unlock()
}

// gcBound returns the signature below which xlogs hold no row a replica
// still needs (ok false: no replica holds anything).
func (r *replication) gcBound() (sig uint64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.held {
		s := v.WithoutLocal().Signature()
		if !ok || s < sig {
			sig, ok = s, true
		}
	}
	return sig, ok
}

// clusterMembers returns _cluster as replica id → instance UUID (n.mu held).
func (n *Node) clusterMembers() map[uint32]string {
	out := map[uint32]string{}
	sp := n.st.Space(box.SpaceCluster)
	if sp == nil {
		return out
	}
	sp.Ascend(func(t []any) bool {
		if len(t) > 1 {
			id, _ := t[0].(uint64)
			uuid, _ := t[1].(string)
			out[uint32(id)] = strings.ToLower(uuid)
		}
		return true
	})
	return out
}

// replicaID returns the replica id of an instance UUID, 0 if it is not
// registered (n.mu held).
func (n *Node) replicaID(uuid string) uint32 {
	uuid = strings.ToLower(uuid)
	for id, u := range n.clusterMembers() {
		if u == uuid {
			return id
		}
	}
	return 0
}

// replicationInfo is box.info.replication: one entry per registered
// replica with its upstream (our applier from it) and downstream (our
// relay to it) when there are (n.mu held).
func (n *Node) replicationInfo() memtx.Map {
	members := n.clusterMembers()
	ids := make([]uint32, 0, len(members))
	for id := range members {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	n.repl.mu.Lock()
	relays := make(map[string]*relay, len(n.repl.relays))
	for u, r := range n.repl.relays {
		relays[u] = r
	}
	appliers := append([]*applier(nil), n.repl.appliers...)
	n.repl.mu.Unlock()
	out := memtx.Map{}
	for _, id := range ids {
		uuid := members[id]
		e := memtx.Map{{Key: "id", Value: uint64(id)}, {Key: "uuid", Value: uuid}, {Key: "lsn", Value: n.vclock.Get(id)}}
		for _, a := range appliers {
			if info, ok := a.info(uuid); ok {
				e = append(e, memtx.MapEntry{Key: "upstream", Value: info})
			}
		}
		if r := relays[uuid]; r != nil && id != n.id {
			e = append(e, memtx.MapEntry{Key: "downstream", Value: r.info()})
		}
		out = append(out, memtx.MapEntry{Key: uint64(id), Value: e})
	}
	return out
}

func vclockMap(v format.VClock) memtx.Map {
	m := memtx.Map{}
	v.WithoutLocal().Each(func(id uint32, lsn uint64) {
		m = append(m, memtx.MapEntry{Key: uint64(id), Value: lsn})
	})
	return m
}

func sinceSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return time.Since(t).Seconds()
}
