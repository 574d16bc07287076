package verify

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Replicaset is a group of the instances given that belong to one replica
// set; instances are compared only with the others of their group.
type Replicaset struct {
	// UUID is the replica set UUID from _schema; "" when no instance of
	// the group has it in the rows read.
	UUID      string   `json:"uuid"`
	Instances []string `json:"instances"`
	// Assumed says how instances without a replica set UUID in their logs
	// were placed; empty when every member's UUID was read.
	Assumed string `json:"assumed,omitempty"`
}

// rsGroup is a replica set being assembled from instances.
type rsGroup struct {
	uuid    string
	members []*instance
	cluster map[uint32]string // every member's _cluster entries (the first one of an id wins)
	uuids   map[string]bool   // instance UUIDs: the members' own and their _cluster entries
	notes   []string
}

func newGroup(in *instance) *rsGroup {
	g := &rsGroup{uuid: in.rsUUID, members: []*instance{in}, cluster: map[uint32]string{}, uuids: map[string]bool{}}
	g.absorb(in)
	return g
}

func (g *rsGroup) absorb(in *instance) {
	if in.sum.UUID != "" {
		g.uuids[in.sum.UUID] = true
	}
	for id, u := range in.cluster {
		g.uuids[u] = true
		if _, ok := g.cluster[id]; !ok {
			g.cluster[id] = u
		}
	}
}

func (g *rsGroup) merge(o *rsGroup) {
	if g.uuid == "" {
		g.uuid = o.uuid
	}
	g.members = append(g.members, o.members...)
	for _, in := range o.members {
		g.absorb(in)
	}
	g.notes = append(g.notes, o.notes...)
}

func (g *rsGroup) names() string { return strings.Join(memberNames(g.members), ", ") }

func memberNames(insts []*instance) []string {
	out := make([]string, len(insts))
	for i, in := range insts {
		out[i] = in.sum.Name
	}
	return out
}

// unknownNames lists the members whose logs hold no replica set UUID.
func (g *rsGroup) unknownNames() string {
	var out []string
	for _, in := range g.members {
		if in.rsUUID == "" {
			out = append(out, in.sum.Name)
		}
	}
	return strings.Join(out, ", ")
}

// sharedUUID returns an instance UUID both groups know.
func (g *rsGroup) sharedUUID(o *rsGroup) (string, bool) {
	var list []string
	for u := range g.uuids {
		if o.uuids[u] {
			list = append(list, u)
		}
	}
	if len(list) == 0 {
		return "", false
	}
	sort.Strings(list)
	return list[0], true
}

// conflict returns a replica id the two groups give to different
// instances.
func (g *rsGroup) conflict(o *rsGroup) (id uint32, mine, theirs string, ok bool) {
	for id := uint32(1); id < 32; id++ {
		a, okA := g.cluster[id]
		b, okB := o.cluster[id]
		if okA && okB && a != b {
			return id, a, b, true
		}
	}
	return 0, "", "", false
}

// groupInstances splits the instances into replica sets: by the replica
// set UUID of their _schema rows; an instance whose logs do not hold it
// joins a group that shares an instance UUID with it (its own or one of its
// _cluster entries), else the only group whose UUID is known, else the
// first other such instance whose _cluster entries do not contradict its
// own. Groups come in the order of their first instance.
func groupInstances(insts []*instance) []*rsGroup {
	var groups []*rsGroup
	byUUID := map[string]*rsGroup{}
	for _, in := range insts {
		if in.rsUUID != "" {
			if g := byUUID[in.rsUUID]; g != nil {
				g.members = append(g.members, in)
				g.absorb(in)
				continue
			}
		}
		g := newGroup(in)
		if in.rsUUID != "" {
			byUUID[in.rsUUID] = g
		}
		groups = append(groups, g)
	}
	// Instances without a replica set UUID join the group they share an
	// instance UUID with.
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(groups) && !changed; i++ {
			for j := 0; j < len(groups) && !changed; j++ {
				a, b := groups[i], groups[j]
				if i == j || b.uuid != "" {
					continue
				}
				u, ok := a.sharedUUID(b)
				if !ok {
					continue
				}
				if i > j && a.uuid == "" {
					continue // two unknown groups merge once, into the earlier one
				}
				a.notes = append(a.notes, fmt.Sprintf("%s: no replica set UUID in the logs read; taken with %s, which share instance %s",
					b.unknownNames(), a.names(), u))
				a.merge(b)
				groups = append(groups[:j], groups[j+1:]...)
				changed = true
			}
		}
	}
	var known []*rsGroup
	for _, g := range groups {
		if g.uuid != "" {
			known = append(known, g)
		}
	}
	out := make([]*rsGroup, 0, len(groups))
	var pool []*rsGroup // groups of unknown replica set formed so far
	for _, g := range groups {
		if g.uuid != "" {
			out = append(out, g)
			continue
		}
		var cands []*rsGroup
		if len(known) == 1 {
			cands = append(cands, known[0])
		}
		cands = append(cands, pool...)
		placed := false
		var refused []string
		for _, c := range cands {
			if id, mine, theirs, bad := g.conflict(c); bad {
				refused = append(refused, fmt.Sprintf("not with %s, where replica id %d is instance %s, not %s", c.names(), id, theirs, mine))
				continue
			}
			if c.uuid != "" {
				c.notes = append(c.notes, fmt.Sprintf("%s: no replica set UUID in the logs read; assumed to be in the only replica set whose UUID was read, as no _cluster row contradicts it",
					g.unknownNames()))
			} else {
				c.notes = append(c.notes, fmt.Sprintf("%s: no replica set UUID in the logs read; assumed to be in one replica set with %s, as no _cluster row contradicts it",
					g.unknownNames(), c.names()))
			}
			c.notes = append(c.notes, refused...)
			c.merge(g)
			placed = true
			break
		}
		if placed {
			continue
		}
		note := fmt.Sprintf("%s: no replica set UUID in the logs read", g.unknownNames())
		switch {
		case len(refused) > 0:
			note += "; assumed to be another replica set: " + strings.Join(refused, "; ")
		case len(known) > 1:
			note += fmt.Sprintf("; not compared with the %d replica sets whose UUID was read, as nothing tells which one it belongs to", len(known))
		default:
			note = ""
		}
		if note != "" {
			g.notes = append([]string{note}, g.notes...)
		}
		pool = append(pool, g)
		out = append(out, g)
	}
	// Keep the order of the first instance of each group.
	pos := map[*instance]int{}
	for i, in := range insts {
		pos[in] = i
	}
	for _, g := range out {
		sort.SliceStable(g.members, func(i, j int) bool { return pos[g.members[i]] < pos[g.members[j]] })
	}
	sort.SliceStable(out, func(i, j int) bool { return pos[out[i].members[0]] < pos[out[j].members[0]] })
	return out
}

// replicasets turns the groups into the report's list.
func replicasets(groups []*rsGroup) []Replicaset {
	out := make([]Replicaset, 0, len(groups))
	for _, g := range groups {
		out = append(out, Replicaset{UUID: g.uuid, Instances: memberNames(g.members), Assumed: strings.Join(g.notes, "; ")})
	}
	return out
}

// foreignReplicasets reports that the instances given belong to several
// replica sets.
func foreignReplicasets(groups []*rsGroup) *Finding {
	var parts []string
	var all []string
	for _, g := range groups {
		u := g.uuid
		if u == "" {
			u = "of unknown UUID"
		}
		parts = append(parts, fmt.Sprintf("replica set %s: %s", u, g.names()))
		all = append(all, memberNames(g.members)...)
	}
	f := newFinding(KindForeignReplicaset, Warning,
		"the instances belong to %d replica sets and are compared only within each: %s", len(groups), strings.Join(parts, "; "))
	var notes []string
	for _, g := range groups {
		notes = append(notes, g.notes...)
	}
	if len(notes) > 0 {
		f.Message += " (" + strings.Join(notes, "; ") + ")"
	}
	sort.Strings(all)
	f.Instances = all
	return f
}

// clusterConflicts reports replica ids that the members of one replica set
// give to different instances. An entry is left out when another member
// has a newer one for the same id, set by a row this member has not
// received yet (the id was freed and given again while it lagged).
func clusterConflicts(members []*instance) []*Finding {
	var out []*Finding
	for id := uint32(1); id < 32; id++ {
		type entry struct {
			in  *instance
			u   string
			row rowKey
		}
		var es []entry
		for _, in := range members {
			if u, ok := in.cluster[id]; ok {
				es = append(es, entry{in, u, in.clusterAt[id]})
			}
		}
		if len(es) < 2 {
			continue
		}
		seen := func(in *instance, k rowKey) bool { return k.lsn == 0 || in.vclock.Get(k.id) >= k.lsn }
		byUUID := map[string][]string{}
		var order []string
		for _, e := range es {
			stale := false
			for _, o := range es {
				if o.u != e.u && !seen(e.in, o.row) && seen(o.in, e.row) {
					stale = true
					break
				}
			}
			if stale {
				continue
			}
			if byUUID[e.u] == nil {
				order = append(order, e.u)
			}
			byUUID[e.u] = append(byUUID[e.u], e.in.sum.Name)
		}
		if len(order) < 2 {
			continue
		}
		var parts []string
		var sides []Side
		var insts []string
		for _, u := range order {
			parts = append(parts, fmt.Sprintf("instance %s on %s", u, strings.Join(byUUID[u], ", ")))
			sides = append(sides, Side{Instances: byUUID[u], ReplicaID: id, What: "replica id " + strconv.Itoa(int(id)) + " is instance " + u})
			insts = append(insts, byUUID[u]...)
		}
		f := newFinding(KindReplicaIDConflict, Error,
			"replica id %d is given to different instances in the _cluster rows of one replica set: %s; rows of replica %d on them may come from different writers",
			id, strings.Join(parts, "; "), id)
		f.ReplicaID = int(id)
		sort.Strings(insts)
		f.Instances = insts
		f.Sides = sides
		out = append(out, f)
	}
	return out
}

// clusterJSON writes a _cluster table with decimal string keys.
func clusterJSON(m map[uint32]string) map[string]string {
	out := make(map[string]string, len(m))
	for id, u := range m {
		out[strconv.Itoa(int(id))] = u
	}
	return out
}
