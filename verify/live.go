package verify

import (
	"context"
	"fmt"
	"hash/maphash"
	"sort"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/synchro"
)

// liveRowsKept bounds the rows Live remembers to compare sources: a row is
// compared with the same row of the other sources when they deliver it
// within this many rows of one another.
const liveRowsKept = 1 << 16

// Live runs verify's checks on rows as they arrive from live sources, one
// row at a time (xlogtool tail --watch). Each source's rows go through the
// same per-instance checks as an instance's WAL files (LSN order,
// transactions, the synchronous queue and its owner, PROMOTE/DEMOTE and
// Raft terms); across sources it compares the content of each (replica id,
// LSN) and the fate of each transaction as soon as two sources have it,
// with the findings the offline comparison reports. A Live is not safe for
// concurrent use.
type Live struct {
	ctx  context.Context
	seed maphash.Seed
	srcs map[string]*liveSource
	// rows remembers the hash of recent rows by (replica id, LSN) and the
	// sources that delivered each version.
	rows  map[rowKey]*liveRow
	order []rowKey
	// reported keeps conflicts already reported, so each is said once.
	reported map[string]bool
	out      []*Finding
}

type liveSource struct {
	name  string
	sc    *scanner
	found int // findings of sc already handed out
}

type liveRow struct {
	versions []liveVersion
}

type liveVersion struct {
	hash    uint64
	sources []string
}

// NewLive returns a Live without sources.
func NewLive() *Live {
	return &Live{
		ctx:      context.Background(),
		seed:     maphash.MakeSeed(),
		srcs:     map[string]*liveSource{},
		rows:     map[rowKey]*liveRow{},
		reported: map[string]bool{},
	}
}

// Start (re)starts source name at vclock: the rows that follow continue
// from there. version is the server's Tarantool version ("2.6.0"), which
// selects the synchronous-queue rules; fresh tells that vclock is the
// very beginning of the server's history (the queue state is then known).
func (l *Live) Start(name, version string, vclock format.VClock, fresh bool) {
	src := l.srcs[name]
	if src != nil && src.sc.vclock.Equal(vclock) {
		return // a reconnect where the stream left off
	}
	sc := newScanner(l.ctx, Source{Name: name}, l.seed, scanLimits{perKind: 1 << 30})
	sc.file = name
	sc.rules = synchro.RulesFor(version)
	sc.queue.SetRules(sc.rules)
	sc.started = true
	sc.vclock = vclock
	sc.schema.known = fresh
	sc.queue.Reset(fresh)
	src = &liveSource{name: name, sc: sc}
	sc.onFate = func(e synchro.Entry, f fate) { l.fate(src, e, f) }
	l.srcs[name] = src
}

// Schema teaches source name the server's _space tuples (MessagePack, as
// a SELECT returns them), so that its synchronous spaces are known when
// the stream starts in the middle of history.
func (l *Live) Schema(name string, spaceTuples [][]byte) {
	src := l.srcs[name]
	if src == nil {
		return
	}
	var body []byte
	for _, t := range spaceTuples {
		body = format.AppendMapLen(body[:0], 2)
		body = append(format.AppendUint(append(body, box.KeySpaceID), uint64(box.SpaceSpace)), box.KeyTuple)
		body = append(body, t...)
		r := format.Row{Header: format.Header{Type: box.TypeReplace, Commit: true}, Body: body}
		src.sc.schema.apply(&r)
	}
	src.sc.schema.known = true
}

// Row checks one row of source name (started with Start) and returns the
// findings it raises, valid until the next call.
func (l *Live) Row(name string, r *format.Row) []*Finding {
	l.out = l.out[:0]
	src := l.srcs[name]
	if src == nil {
		l.Start(name, "", format.VClock{}, false)
		src = l.srcs[name]
	}
	src.sc.xlogRow(r)
	if fs := src.sc.inst.findings; len(fs) > src.found {
		l.out = append(l.out, fs[src.found:]...)
		src.found = len(fs)
		if len(fs) > 1024 {
			src.sc.inst.findings, src.found = nil, 0
		}
	}
	if r.ReplicaID != 0 && r.LSN != 0 {
		l.compareRow(name, r)
	}
	return l.out
}

// SourceState is what Live knows of one source's synchronous queue.
type SourceState struct {
	synchro.State
	// PendingSync is the number of synchronous transactions waiting in
	// the queue.
	PendingSync int
	// RaftTerm is the last persisted Raft term seen (0: none).
	RaftTerm uint64
}

// State returns the queue state of source name.
func (l *Live) State(name string) SourceState {
	src := l.srcs[name]
	if src == nil {
		return SourceState{}
	}
	return SourceState{State: src.sc.queue.State(), PendingSync: src.sc.queue.PendingSync(), RaftTerm: src.sc.raft.term}
}

// compareRow compares a row with the same (replica id, LSN) delivered by
// the other sources.
func (l *Live) compareRow(name string, r *format.Row) {
	key := rowKey{r.ReplicaID, r.LSN}
	h := rowHash(l.seed, r)
	lr := l.rows[key]
	if lr == nil {
		lr = &liveRow{}
		l.rows[key] = lr
		l.order = append(l.order, key)
		if len(l.order) > liveRowsKept {
			delete(l.rows, l.order[0])
			l.order = l.order[1:]
		}
	}
	for i := range lr.versions {
		if lr.versions[i].hash == h {
			lr.versions[i].sources = append(lr.versions[i].sources, name)
			return
		}
	}
	lr.versions = append(lr.versions, liveVersion{hash: h, sources: []string{name}})
	if len(lr.versions) < 2 {
		return
	}
	var descr, all []string
	var sides []Side
	for i, v := range lr.versions {
		srcs := append([]string(nil), v.sources...)
		sort.Strings(srcs)
		all = append(all, srcs...)
		descr = append(descr, fmt.Sprintf("%c: %s", 'A'+i, joinNames(srcs)))
		sides = append(sides, Side{Instances: srcs, ReplicaID: r.ReplicaID, LSNFrom: r.LSN, LSNTo: r.LSN,
			What: fmt.Sprintf("version %c", 'A'+i)})
	}
	sort.Strings(all)
	f := divergentRows(r.ReplicaID, r.LSN, r.LSN, descr, all, sides)
	f.Evidence = append(f.Evidence, l.srcs[name].sc.evidence(r, "this version on "+name))
	l.out = append(l.out, f)
}

// fate compares a fate decided on src with the fates the other sources
// decided for the same transactions.
func (l *Live) fate(src *liveSource, e synchro.Entry, f fate) {
	if f != fateRolledBack && !f.applied() {
		return
	}
	for _, o := range l.srcs {
		if o == src {
			continue
		}
		o.sc.inst.fates.overlapping(e.Origin, e.First, e.LSN, func(r fateRange) {
			if r.fate != fateRolledBack && !r.fate.applied() || r.fate.applied() == f.applied() {
				return
			}
			applied, rolled, how := []string{src.name}, []string{o.name}, f.String()
			if !f.applied() {
				applied, rolled, how = rolled, applied, r.fate.String()
			}
			key := fmt.Sprintf("fate %d:%d-%d %s|%s", e.Origin, r.from, r.to, applied[0], rolled[0])
			if l.reported[key] {
				return
			}
			l.reported[key] = true
			l.out = append(l.out, fateConflict(e.Origin, r.from, r.to, how, applied, rolled))
		})
	}
}

func joinNames(s []string) string {
	out := ""
	for i, n := range s {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}
