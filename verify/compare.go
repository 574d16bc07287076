package verify

import (
	"context"
	"fmt"
	"hash/maphash"
	"sort"
	"strings"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// Limits of the cross-instance comparison.
const (
	detailChunksPerComponent = 64 // chunks compared row by row per component
	findingsPerComponent     = 20 // divergent-row findings per component
)

// comparer compares the instances after their single passes.
type comparer struct {
	ctx     context.Context
	insts   []*instance
	seed    maphash.Seed
	rep     *Report
	readers map[*instance]*rowReader
}

func (c *comparer) run() {
	c.readers = map[*instance]*rowReader{}
	c.unknownIDs()
	c.divergentRows()
	c.fateConflicts()
	c.concurrentOwners()
	c.sameTermOwners()
}

func (c *comparer) reader(in *instance) *rowReader {
	rr := c.readers[in]
	if rr == nil {
		rr = newRowReader(in)
		c.readers[in] = rr
	}
	return rr
}

func (c *comparer) add(f *Finding) {
	sort.Strings(f.Instances)
	c.rep.Findings = append(c.rep.Findings, f)
}

func (c *comparer) split(in *instance, ts float64, id uint32, lsn uint64, text string) {
	c.rep.Splits = append(c.rep.Splits, SplitPoint{Instance: in.sum.Name, Time: ts, ReplicaID: id, LSN: lsn, Text: text})
}

func names(insts []*instance) []string {
	out := make([]string, 0, len(insts))
	for _, in := range insts {
		out = append(out, in.sum.Name)
	}
	sort.Strings(out)
	return out
}

func (c *comparer) byID(id uint32) *instance {
	for _, in := range c.insts {
		if in.ownID == id && id != 0 {
			return in
		}
	}
	return nil
}

// label names an instance with its replica id.
func label(in *instance) string {
	if in.ownID != 0 {
		return fmt.Sprintf("%s (replica %d)", in.sum.Name, in.ownID)
	}
	return in.sum.Name
}

func (c *comparer) unknownIDs() {
	for _, in := range c.insts {
		if in.ownID == 0 {
			f := newFinding(KindUnknownID, Warning,
				"the replica id of instance %s is not in the _cluster rows read; checks of write order across instances leave it out",
				in.sum.UUID)
			f.Instance, f.UUID = in.sum.Name, in.sum.UUID
			c.add(f)
		}
	}
}

// divergentRows compares the chunk digests of every component and reads
// again, row by row, only the chunks that differ.
func (c *comparer) divergentRows() {
	for id := uint32(1); id < format.VClockMax; id++ {
		var holders []*instance
		for _, in := range c.insts {
			if in.digests.comps[id] != nil {
				holders = append(holders, in)
			}
		}
		if len(holders) < 2 {
			continue
		}
		suspect := c.suspectChunks(id, holders)
		if len(suspect) == 0 {
			continue
		}
		skipped := 0
		if len(suspect) > detailChunksPerComponent {
			skipped = len(suspect) - detailChunksPerComponent
			suspect = suspect[:detailChunksPerComponent]
		}
		set := map[uint64]bool{}
		for _, k := range suspect {
			set[k] = true
		}
		rows := make([]map[uint64]rowDigest, len(holders))
		lsnSet := map[uint64]bool{}
		for i, in := range holders {
			if c.ctx.Err() != nil {
				return
			}
			rows[i] = c.reader(in).chunkRows(c.seed, id, set)
			for lsn := range rows[i] {
				lsnSet[lsn] = true
			}
		}
		c.compareRows(id, holders, rows, lsnSet, skipped)
	}
}

// suspectChunks lists the chunks of component id whose digests are not the
// same on every instance holding them.
func (c *comparer) suspectChunks(id uint32, holders []*instance) []uint64 {
	count := map[uint64]int{}
	for _, in := range holders {
		for k := range in.digests.comps[id] {
			count[k]++
		}
	}
	var out []uint64
	for k, n := range count {
		if n < 2 {
			continue
		}
		var ref *chunk
		for _, in := range holders {
			ch := in.digests.comps[id][k]
			if ch == nil {
				continue
			}
			if ref == nil {
				ref = ch
			} else if *ch != *ref {
				out = append(out, k)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// divRun is a run of LSNs where the instances split into the same groups.
type divRun struct {
	from, to uint64
	sig      string
	groups   [][]*instance
}

func (c *comparer) compareRows(id uint32, holders []*instance, rows []map[uint64]rowDigest, lsnSet map[uint64]bool, skipped int) {
	lsns := make([]uint64, 0, len(lsnSet))
	for l := range lsnSet {
		lsns = append(lsns, l)
	}
	sort.Slice(lsns, func(i, j int) bool { return lsns[i] < lsns[j] })
	var runs []*divRun
	var cur *divRun
	for _, lsn := range lsns {
		groups := map[uint64][]*instance{}
		var order []uint64
		for i, in := range holders {
			d, ok := rows[i][lsn]
			if !ok || d.typ == box.TypeNop {
				// A receiver may hold a NOP where the origin has data.
				continue
			}
			if _, seen := groups[d.hash]; !seen {
				order = append(order, d.hash)
			}
			groups[d.hash] = append(groups[d.hash], in)
		}
		if len(groups) < 2 {
			cur = nil
			continue
		}
		var parts []string
		var gs [][]*instance
		for _, h := range order {
			gs = append(gs, groups[h])
			parts = append(parts, strings.Join(names(groups[h]), ","))
		}
		sort.Strings(parts)
		sig := strings.Join(parts, "|")
		if cur != nil && cur.sig == sig && cur.to+1 == lsn {
			cur.to = lsn
			continue
		}
		cur = &divRun{from: lsn, to: lsn, sig: sig, groups: gs}
		runs = append(runs, cur)
	}
	for i, r := range runs {
		if i >= findingsPerComponent {
			f := newFinding(KindDivergentRow, Error, "%d more runs of differing rows of replica %d are not listed", len(runs)-i, id)
			f.ReplicaID = int(id)
			f.Instances = names(holders)
			c.add(f)
			break
		}
		c.divergentFinding(id, r)
	}
	if skipped > 0 {
		f := newFinding(KindDivergentRow, Error,
			"%d more chunks of %d rows of replica %d differ between instances and were not compared row by row", skipped, chunkSize, id)
		f.ReplicaID = int(id)
		f.Instances = names(holders)
		c.add(f)
	}
}

func (c *comparer) divergentFinding(id uint32, r *divRun) {
	origin := c.byID(id)
	var all []*instance
	var descr []string
	var sides []Side
	biggest := 0
	for gi, g := range r.groups {
		all = append(all, g...)
		d := strings.Join(names(g), ", ")
		what := fmt.Sprintf("version %c", 'A'+gi)
		for _, in := range g {
			if in == origin {
				d += fmt.Sprintf(" (%s is replica %d, the origin)", in.sum.Name, id)
				what += ", the origin's"
			}
		}
		descr = append(descr, fmt.Sprintf("%s: %s", string(rune('A'+gi)), d))
		sides = append(sides, Side{Instances: names(g), ReplicaID: id, LSNFrom: r.from, LSNTo: r.to, What: what})
		if len(g) > len(r.groups[biggest]) {
			biggest = gi
		}
	}
	f := divergentRows(id, r.from, r.to, descr, names(all), sides)
	if len(r.groups[biggest]) > 1 {
		f.Followed = strings.Join(names(r.groups[biggest]), ", ")
	}
	for _, g := range r.groups {
		in := g[0]
		if loc, ok := c.reader(in).locate(rowKey{id, r.from})[rowKey{id, r.from}]; ok {
			f.Evidence = append(f.Evidence, Evidence{Instance: in.sum.Name, Row: loc.row})
		}
	}
	c.add(f)
}

// divergentRows is the finding for rows id:from-to with different
// content: descr describes each version and who holds it.
func divergentRows(id uint32, from, to uint64, descr, insts []string, sides []Side) *Finding {
	f := newFinding(KindDivergentRow, Error, "rows %d:%d-%d have different content on different instances (%d versions): %s",
		id, from, to, len(descr), strings.Join(descr, "; ")).lsns(id, from, to)
	f.Instances = insts
	f.Sides = sides
	return f
}

// fateConflicts finds transactions applied on some instances and rolled
// back on others.
func (c *comparer) fateConflicts() {
	for id := uint32(1); id < format.VClockMax; id++ {
		var pts []uint64
		for _, in := range c.insts {
			for _, r := range in.fates.runs[id] {
				pts = append(pts, r.from, r.to+1)
			}
		}
		if len(pts) == 0 {
			continue
		}
		sort.Slice(pts, func(i, j int) bool { return pts[i] < pts[j] })
		type conflict struct {
			from, to        uint64
			sig             string
			applied, rolled []*instance
			aRuns, rRuns    []fateRange
		}
		var out []*conflict
		var cur *conflict
		for i := 0; i+1 < len(pts); i++ {
			lo, hi := pts[i], pts[i+1]-1
			if lo > hi {
				continue
			}
			var applied, rolled []*instance
			var aRuns, rRuns []fateRange
			for _, in := range c.insts {
				r, ok := in.fates.at(id, lo)
				if !ok {
					continue
				}
				if r.fate.applied() {
					applied = append(applied, in)
					aRuns = append(aRuns, r)
				} else if r.fate == fateRolledBack {
					rolled = append(rolled, in)
					rRuns = append(rRuns, r)
				}
			}
			if len(applied) == 0 || len(rolled) == 0 {
				cur = nil
				continue
			}
			sig := strings.Join(names(applied), ",") + "|" + strings.Join(names(rolled), ",")
			if cur != nil && cur.sig == sig && cur.to+1 == lo {
				cur.to = hi
				continue
			}
			cur = &conflict{from: lo, to: hi, sig: sig, applied: applied, rolled: rolled, aRuns: aRuns, rRuns: rRuns}
			out = append(out, cur)
		}
		for _, cf := range out {
			c.fateFinding(id, cf.from, cf.to, cf.applied, cf.rolled, cf.aRuns, cf.rRuns)
		}
	}
}

func (c *comparer) fateFinding(id uint32, from, to uint64, applied, rolled []*instance, aRuns, rRuns []fateRange) {
	how := aRuns[0].fate.String()
	f := fateConflict(id, from, to, how, names(applied), names(rolled))
	side := func(insts []*instance, runs []fateRange, text string) {
		for i, in := range insts {
			rr := c.reader(in)
			ts := runs[i].ts
			if loc, ok := rr.locate(rowKey{id, from})[rowKey{id, from}]; ok {
				ts = loc.ts
				if i == 0 {
					f.Evidence = append(f.Evidence, Evidence{Instance: in.sum.Name, Note: "first transaction row", Row: loc.row})
				}
			}
			if i == 0 && runs[i].fate != fateCommitted {
				if loc, ok := rr.decider(id, from, runs[i].fate); ok {
					f.Evidence = append(f.Evidence, Evidence{Instance: in.sum.Name, Note: "the row that decided it on " + in.sum.Name, Row: loc.row})
				}
			}
			c.split(in, ts, id, from, text)
		}
	}
	side(applied, aRuns, fmt.Sprintf("%d:%d-%d %s here, rolled back elsewhere", id, from, to, how))
	side(rolled, rRuns, fmt.Sprintf("%d:%d-%d rolled back here, %s elsewhere", id, from, to, how))
	c.add(f)
}

// fateConflict is the finding for transactions id:from-to applied (how:
// committed or confirmed) on some instances and rolled back on others.
func fateConflict(id uint32, from, to uint64, how string, applied, rolled []string) *Finding {
	f := newFinding(KindSplitBrain, Error,
		"transactions %d:%d-%d were %s on %s but rolled back on %s",
		id, from, to, how, strings.Join(applied, ", "), strings.Join(rolled, ", ")).lsns(id, from, to)
	f.Instances = append(append([]string(nil), applied...), rolled...)
	f.Sides = []Side{
		{Instances: applied, ReplicaID: id, LSNFrom: from, LSNTo: to, What: how},
		{Instances: rolled, ReplicaID: id, LSNFrom: from, LSNTo: to, What: "rolled back"},
	}
	switch {
	case len(applied) > len(rolled):
		f.Followed = strings.Join(applied, ", ") + " (" + how + ")"
	case len(rolled) > len(applied):
		f.Followed = strings.Join(rolled, ", ") + " (rolled back)"
	}
	if f.Followed != "" {
		f.Message += "; the majority, " + f.Followed + ", followed that outcome"
	}
	return f
}

// concurrentOwners finds rows an old queue owner committed without knowing
// that another instance had taken the queue over, while the new owner had
// not seen them either: two histories written at the same time.
func (c *comparer) concurrentOwners() {
	type key struct {
		x, y uint32
		a1   uint64
	}
	seen := map[key]bool{}
	for _, iy := range c.insts {
		Y := iy.ownID
		if Y == 0 {
			continue
		}
		for _, cl := range iy.know.claims {
			for _, ix := range c.insts {
				X := ix.ownID
				if X == 0 || X == Y {
					continue
				}
				a1, a2, ts, ok := c.concurrentRows(ix, Y, cl)
				if !ok || seen[key{X, Y, a1}] {
					continue
				}
				seen[key{X, Y, a1}] = true
				c.concurrentFinding(ix, iy, cl, a1, a2, ts)
			}
		}
	}
}

// concurrentRows returns the rows instance ix committed as the queue owner
// without knowing claim cl of replica Y, which was made without them.
func (c *comparer) concurrentRows(ix *instance, Y uint32, cl claim) (a1, a2 uint64, ts float64, ok bool) {
	X := ix.ownID
	known := cl.know.Get(X)
	for _, s := range ix.know.segs {
		if !s.asOwner || s.know.Get(Y) >= cl.lsn || s.to <= known {
			continue
		}
		if cl.term != 0 && s.term > cl.term {
			// X owned the queue in a newer term than Y's claim: its
			// rows supersede the claim, they do not ignore it.
			continue
		}
		lo := max(s.from, known+1)
		ix.fates.overlapping(X, lo, s.to, func(r fateRange) {
			if !r.fate.applied() {
				return
			}
			if !ok || r.from < a1 {
				a1, ts = r.from, r.ts
			}
			a2 = max(a2, r.to)
			ok = true
		})
	}
	return a1, a2, ts, ok
}

func (c *comparer) concurrentFinding(ix, iy *instance, cl claim, a1, a2 uint64, ts float64) {
	X, Y := ix.ownID, iy.ownID
	// The new owner's rows written before it saw a1.
	b2 := cl.lsn
	for _, s := range iy.know.segs {
		if s.to < cl.lsn {
			continue
		}
		if s.know.Get(X) >= a1 {
			break
		}
		b2 = max(b2, s.to)
	}
	var withX, withY []*instance
	followed := map[string][]string{}
	for _, z := range c.insts {
		hasX := z.vclock.Get(X) >= a1 && z.sum.FirstVClock.Get(X) < a1
		hasY := z.vclock.Get(Y) >= cl.lsn && z.sum.FirstVClock.Get(Y) < cl.lsn
		if hasX {
			withX = append(withX, z)
		}
		if hasY {
			withY = append(withY, z)
		}
		if z == ix || z == iy {
			continue
		}
		side := ""
		switch {
		case hasX && hasY:
			got := c.reader(z).locate(rowKey{X, a1}, rowKey{Y, cl.lsn})
			lx, okx := got[rowKey{X, a1}]
			ly, oky := got[rowKey{Y, cl.lsn}]
			if okx && oky {
				if lx.before(ly) {
					side = "x"
				} else {
					side = "y"
				}
			}
		case hasX:
			side = "x"
		case hasY:
			side = "y"
		}
		if side != "" {
			followed[side] = append(followed[side], z.sum.Name)
		}
	}
	msg := fmt.Sprintf("%s committed %d:%d-%d as the synchronous queue owner without knowing that %s had taken the queue over at %d:%d (%s) having only %d:%d of replica %d's rows; %s then wrote %d:%d-%d without them. Both histories were written at the same time",
		label(ix), X, a1, a2, label(iy), Y, cl.lsn, cl.how, X, cl.know.Get(X), X, iy.sum.Name, Y, cl.lsn, b2)
	f := newFinding(KindSplitBrain, Error, "%s", msg).lsns(X, a1, a2)
	f.Term = cl.term
	f.Instances = []string{ix.sum.Name, iy.sum.Name}
	f.Sides = []Side{
		{Instances: names(withX), ReplicaID: X, LSNFrom: a1, LSNTo: a2, What: fmt.Sprintf("rows of the old owner, replica %d, written after the queue moved on", X)},
		{Instances: names(withY), ReplicaID: Y, LSNFrom: cl.lsn, LSNTo: b2, What: fmt.Sprintf("rows of the new owner, replica %d, written without them", Y)},
	}
	nx, ny := len(followed["x"]), len(followed["y"])
	switch {
	case nx == 0 && ny == 0:
		f.Message += "; no other instance is here to tell which side the replica set followed"
	case ny >= nx:
		f.Followed = fmt.Sprintf("replica %d (%s): %s", Y, iy.sum.Name, strings.Join(followed["y"], ", "))
		f.Message += fmt.Sprintf("; the rest of the replica set (%s) followed replica %d", strings.Join(followed["y"], ", "), Y)
	default:
		f.Followed = fmt.Sprintf("replica %d (%s): %s", X, ix.sum.Name, strings.Join(followed["x"], ", "))
		f.Message += fmt.Sprintf("; the rest of the replica set (%s) followed replica %d", strings.Join(followed["x"], ", "), X)
	}
	if only := names(withX); len(only) == 1 {
		f.Message += fmt.Sprintf("; %d:%d-%d exist only on %s", X, a1, a2, only[0])
	}
	f.Evidence = append(f.Evidence, Evidence{Instance: iy.sum.Name, Note: "the new owner takes the queue over", Row: cl.row})
	if loc, ok := c.reader(ix).locate(rowKey{X, a1})[rowKey{X, a1}]; ok {
		f.Evidence = append(f.Evidence, Evidence{Instance: ix.sum.Name, Note: "first row the old owner committed after that", Row: loc.row})
		ts = loc.ts
	}
	c.split(ix, ts, X, a1, fmt.Sprintf("old owner keeps writing: %d:%d-%d", X, a1, a2))
	c.split(iy, cl.ts, Y, cl.lsn, fmt.Sprintf("queue taken over at %d:%d without %d:%d-%d", Y, cl.lsn, X, a1, a2))
	c.add(f)
}

// sameTermOwners finds two instances that took the queue in one term.
func (c *comparer) sameTermOwners() {
	type key struct {
		origin uint32
		lsn    uint64
	}
	type seenEv struct {
		ev    promoteEvent
		insts []*instance
	}
	all := map[key]*seenEv{}
	var order []key
	for _, in := range c.insts {
		for _, ev := range in.promotes {
			k := key{ev.origin, ev.lsn}
			s := all[k]
			if s == nil {
				s = &seenEv{ev: ev}
				all[k] = s
				order = append(order, k)
			}
			s.insts = append(s.insts, in)
		}
	}
	byTerm := map[uint64][]*seenEv{}
	var terms []uint64
	for _, k := range order {
		s := all[k]
		if s.ev.term == 0 {
			continue
		}
		if byTerm[s.ev.term] == nil {
			terms = append(terms, s.ev.term)
		}
		byTerm[s.ev.term] = append(byTerm[s.ev.term], s)
	}
	sort.Slice(terms, func(i, j int) bool { return terms[i] < terms[j] })
	for _, t := range terms {
		evs := byTerm[t]
		origins := map[uint32]bool{}
		for _, s := range evs {
			origins[s.ev.origin] = true
		}
		if len(origins) < 2 {
			continue
		}
		var parts []string
		var sides []Side
		var insts []*instance
		f := newFinding(KindSplitBrain, Error, "")
		for _, s := range evs {
			kind := box.TypePromote
			if s.ev.demote {
				kind = box.TypeDemote
			}
			parts = append(parts, fmt.Sprintf("%s %d:%d (seen on %s)", kind, s.ev.origin, s.ev.lsn, strings.Join(names(s.insts), ", ")))
			sides = append(sides, Side{Instances: names(s.insts), ReplicaID: s.ev.origin, LSNFrom: s.ev.lsn, LSNTo: s.ev.lsn,
				What: fmt.Sprintf("%s by replica %d in term %d", kind, s.ev.origin, t)})
			insts = append(insts, s.insts...)
			f.Evidence = append(f.Evidence, Evidence{Instance: s.insts[0].sum.Name, Row: s.ev.row})
			for _, in := range s.insts {
				c.split(in, s.ev.ts, s.ev.origin, s.ev.lsn, fmt.Sprintf("%s by replica %d in term %d", kind, s.ev.origin, t))
			}
		}
		f.Message = fmt.Sprintf("%d replicas took the synchronous queue in the same term %d: %s", len(origins), t, strings.Join(parts, "; "))
		best, tie := 0, false
		for i, s := range evs {
			switch {
			case len(s.insts) > len(evs[best].insts):
				best, tie = i, false
			case i != best && len(s.insts) == len(evs[best].insts):
				tie = true
			}
		}
		if !tie {
			f.Followed = fmt.Sprintf("replica %d: %s", evs[best].ev.origin, strings.Join(names(evs[best].insts), ", "))
			f.Message += fmt.Sprintf("; most instances (%s) followed replica %d", strings.Join(names(evs[best].insts), ", "), evs[best].ev.origin)
		}
		f.Term = t
		f.Sides = sides
		uniq := map[string]bool{}
		for _, n := range names(insts) {
			if !uniq[n] {
				uniq[n] = true
				f.Instances = append(f.Instances, n)
			}
		}
		c.add(f)
	}
}
