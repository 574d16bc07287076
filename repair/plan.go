package repair

import (
	"fmt"
	"sort"

	"github.com/xlogtool/xlogtool/format"
)

// outWAL is one WAL file of the output.
type outWAL struct {
	src     *walFile // nil for a bridge file
	vclock  format.VClock
	prev    format.VClock
	hasPrev bool
	name    string
	dropped bool
	// keepHeader: the input header is copied byte for byte.
	keepHeader bool
	// how the VClock was chosen: "kept", "adjusted" or "rebuilt".
	how string
}

// bounds of the VClock a WAL file may have: L <= V <= U componentwise where
// U is bounded.
type bounds struct {
	L       format.VClock
	U       format.VClock
	bounded [format.VClockMax]bool
}

func (b *bounds) admits(v format.VClock) bool {
	if !b.L.LessEq(v) {
		return false
	}
	for id := uint32(0); id < format.VClockMax; id++ {
		if b.bounded[id] && v.Get(id) > b.U.Get(id) {
			return false
		}
	}
	return true
}

// clamp moves v into the bounds, component by component.
func (b *bounds) clamp(v format.VClock) format.VClock {
	out := b.L
	v.Each(func(id uint32, lsn uint64) {
		if b.bounded[id] && lsn > b.U.Get(id) {
			lsn = b.U.Get(id)
		}
		out.Follow(id, lsn)
	})
	return out
}

// upper returns, for each component, the greatest value the VClock of file
// k can have: just below its first row of that component, else what the
// next files tell (a valid header, or a first row).
func upper(files []*walFile, k int) bounds {
	var b bounds
	set := func(id uint32, v uint64) {
		if !b.bounded[id] || v < b.U.Get(id) {
			b.U.Set(id, v)
		}
		b.bounded[id] = true
	}
	files[k].keptFirst.Each(func(id uint32, lsn uint64) { set(id, lsn-1) })
	for j := k + 1; j < len(files); j++ {
		f := files[j]
		open := make([]uint32, 0, format.VClockMax)
		for id := uint32(0); id < format.VClockMax; id++ {
			if !b.bounded[id] {
				open = append(open, id)
			}
		}
		if len(open) == 0 {
			break
		}
		if f.hdr.ok {
			for _, id := range open {
				set(id, f.hdr.meta.VClock.Get(id))
			}
			break
		}
		f.keptFirst.Each(func(id uint32, lsn uint64) {
			if !b.bounded[id] {
				set(id, lsn-1)
			}
		})
	}
	return b
}

// chooseVClock picks the VClock of an output WAL file: the input header's
// when it is valid and fits the rows (the file keeps its name), else one
// rebuilt from the neighbours that matches the file name's signature when
// that is possible.
func chooseVClock(w *walFile, b bounds) (format.VClock, string) {
	if w.hdr.ok {
		v := w.hdr.meta.VClock
		if b.admits(v) {
			return v, "kept"
		}
		return b.clamp(v), "adjusted"
	}
	if m := w.hdr.meta; m != nil && m.HasVClock && m.VClock.Signature() == w.sig && b.admits(m.VClock) {
		return m.VClock, "rebuilt"
	}
	L := b.L
	if L.Signature() == w.sig {
		return L, "rebuilt"
	}
	hi := L
	for id := uint32(0); id < format.VClockMax; id++ {
		if b.bounded[id] && b.U.Get(id) > hi.Get(id) {
			hi.Set(id, b.U.Get(id))
		}
	}
	if hi.Signature() == w.sig {
		return hi, "rebuilt"
	}
	if L.Signature() < w.sig && w.sig < hi.Signature() {
		v, need := L, w.sig-L.Signature()
		for id := uint32(0); id < format.VClockMax && need > 0; id++ {
			if slack := hi.Get(id) - v.Get(id); slack > 0 {
				add := min(slack, need)
				v.Set(id, v.Get(id)+add)
				need -= add
			}
		}
		return v, "rebuilt"
	}
	if m := w.hdr.meta; m != nil && m.HasVClock && b.admits(m.VClock) {
		return m.VClock, "rebuilt"
	}
	return L, "rebuilt"
}

// planHeaders chooses the VClock, PrevVClock and name of every output WAL.
// The VClocks grow strictly along the chain, each is at least the end of
// everything before it and below the first row of its file, and each
// PrevVClock is the VClock of the output file before it, so recovery finds
// no gap even where rows or files were lost.
func (rp *run) planHeaders(files []*walFile) error {
	var outs []*outWAL
	var cur format.VClock
	last := func() *outWAL {
		for i := len(outs) - 1; i >= 0; i-- {
			if !outs[i].dropped {
				return outs[i]
			}
		}
		return nil
	}
	for k, w := range files {
		b := upper(files, k)
		b.L = cur
		v, how := chooseVClock(w, b)
		o := &outWAL{src: w, vclock: v, how: how}
		if p := last(); p != nil && p.vclock.Equal(v) {
			switch {
			case p.src != nil && p.src.kept == 0:
				p.dropped = true
			case w.kept == 0:
				o.dropped = true
			default:
				return fmt.Errorf("%s and %s would get the same VClock %s", p.src.name, w.name, v)
			}
		}
		outs = append(outs, o)
		if o.dropped {
			continue
		}
		cur = v.Max(w.keptLast)
	}
	var prev *outWAL
	for _, o := range outs {
		if o.dropped {
			continue
		}
		w := o.src
		if prev != nil {
			o.prev, o.hasPrev = prev.vclock, true
		} else if w.hdr.ok && o.how == "kept" && w.hdr.meta.HasPrevVClock {
			o.prev, o.hasPrev = w.hdr.meta.PrevVClock, true
		}
		o.name = format.FileName(format.TypeXLOG, o.vclock)
		m := w.hdr.meta
		o.keepHeader = w.hdr.ok && o.how == "kept" && m.Instance == rp.uuid &&
			o.hasPrev == m.HasPrevVClock && (!o.hasPrev || o.prev.Equal(m.PrevVClock))
		prev = o
	}
	rp.outs = outs
	return rp.bridge()
}

// bridge makes sure recovery from the snapshot finds a WAL file to start
// with: the greatest WAL VClock must be <= the snapshot's. When every WAL
// is newer (the files in between are lost), an empty WAL with the
// snapshot's VClock is put first and the next file's PrevVClock names it.
func (rp *run) bridge() error {
	S := rp.snap.vclock
	var first *outWAL
	for _, o := range rp.outs {
		if o.dropped {
			continue
		}
		if o.vclock.LessEq(S) {
			return nil
		}
		if first == nil {
			first = o
		}
	}
	if first == nil {
		return nil
	}
	if first.vclock.Compare(S) != format.After {
		return fmt.Errorf("WAL %s (VClock %s) cannot follow snapshot %s (VClock %s)", first.src.name, first.vclock, rp.snap.name, S)
	}
	b := &outWAL{vclock: S, name: format.FileName(format.TypeXLOG, S), how: "bridge"}
	first.prev, first.hasPrev, first.keepHeader = S, true, false
	rp.outs = append([]*outWAL{b}, rp.outs...)
	rp.bridged = first
	return nil
}

// cause names where lost rows were and why.
type cause struct {
	file, reason string
}

// account replays the events of every file and lists the LSNs lost: rows
// dropped on purpose, and the LSNs between the last row known before a
// damage and the first evidence after it (a row, or a file header's
// VClock, which tells which LSNs existed before that file). Gaps that no
// damage explains are not counted: Tarantool leaves gaps itself after a
// failed write.
func (rp *run) account(files []*walFile) {
	var (
		acc       format.VClock
		dirty     [format.VClockMax]bool
		why       cause
		lastDmg   *event
		tailHints []*format.Row // rows decoded from the damage since the last evidence
		tailBlock bool          // a damaged block (so at least one row) since the last evidence
		lastID    uint32        // replica id of the last row known
		lastFile  *walFile
		prevV     format.VClock
		havePrevV bool
		lost      []Lost
	)
	dirtyAll := func(c cause) {
		for i := range dirty {
			dirty[i] = true
		}
		why = c
	}
	gap := func(id uint32, upto uint64) {
		if dirty[id] && upto > acc.Get(id) && upto != ^uint64(0) {
			lost = append(lost, Lost{ReplicaID: id, LSNFrom: acc.Get(id) + 1, LSNTo: upto, File: why.file, Reason: why.reason})
		}
	}
	if rp.bridged != nil {
		acc = rp.snap.vclock
		dirtyAll(cause{file: rp.bridged.src.name,
			reason: "WAL files between snapshot " + rp.snap.name + " and this file are missing"})
	}
	outOf := map[*walFile]*outWAL{}
	for _, o := range rp.outs {
		if o.src != nil {
			outOf[o.src] = o
		}
	}
	for _, w := range files {
		if w.hdr.ok {
			m := w.hdr.meta
			if havePrevV && m.HasPrevVClock && !m.PrevVClock.Equal(prevV) {
				dirtyAll(cause{file: format.FileName(format.TypeXLOG, m.PrevVClock),
					reason: "WAL file missing (named by the PrevVClock of " + w.name + ")"})
			}
			for id := uint32(0); id < format.VClockMax; id++ {
				gap(id, m.VClock.Get(id))
			}
			acc = acc.Max(m.VClock)
			dirty = [format.VClockMax]bool{}
			lastDmg, tailHints, tailBlock = nil, nil, false
		} else {
			// Without the header nothing tells whether files are missing
			// before this one (or rows at its start): a gap up to its first
			// row is lost. Unless damage just before explains it, the file
			// that should have followed the previous one is probably
			// missing when this file's name shows such a gap.
			c := why
			if lastDmg == nil {
				c = cause{file: w.name, reason: "damaged file header; rows before its first block are lost"}
				if w.sig > acc.Signature() && w != files[0] {
					c = cause{file: format.FileName(format.TypeXLOG, acc),
						reason: "WAL file missing (probably: the file after it, " + w.name + ", has a damaged header)"}
				}
			}
			dirtyAll(c)
		}
		if o := outOf[w]; o != nil {
			prevV, havePrevV = o.vclock, true
			if w.hdr.ok {
				prevV = w.hdr.meta.VClock
			}
		}
		for i := range w.events {
			ev := &w.events[i]
			switch ev.kind {
			case evKept:
				gap(ev.id, ev.from-1)
				acc.Follow(ev.id, ev.to)
				dirty[ev.id] = false
				lastDmg, tailHints, tailBlock, lastID = nil, nil, false, ev.id
			case evDropped:
				if ev.notLost {
					continue
				}
				gap(ev.id, ev.from-1)
				lost = append(lost, Lost{ReplicaID: ev.id, LSNFrom: ev.from, LSNTo: ev.to, File: w.name,
					Reason: ev.reason, SavedTo: w.sideName})
				acc.Follow(ev.id, ev.to)
				dirty[ev.id] = false
				lastDmg, tailHints, tailBlock, lastID = nil, nil, false, ev.id
			case evDamage:
				dirtyAll(cause{file: w.name, reason: ev.reason})
				if len(ev.hints) > 0 || lastDmg == nil {
					lastDmg, lastFile = ev, w
				}
				tailHints = append(tailHints, ev.hints...)
				tailBlock = tailBlock || ev.block
			}
		}
	}
	// The log ends in damage: rows decoded from it that continue the LSNs
	// known so far are lost, and maybe more after them. When nothing
	// decodes but a block was there, at least the next LSN of the replica
	// that wrote the last row known is lost.
	if lastDmg != nil {
		found := false
		for id := uint32(0); id < format.VClockMax; id++ {
			if !dirty[id] {
				continue
			}
			next := acc.Get(id) + 1
			for _, r := range tailHints {
				if r.ReplicaID == id && r.LSN == next {
					next++
				}
			}
			if next > acc.Get(id)+1 {
				lost = append(lost, Lost{ReplicaID: id, LSNFrom: acc.Get(id) + 1, LSNTo: next - 1,
					File: lastFile.name, Reason: lastDmg.reason, OpenEnded: true, SavedTo: lastFile.looseName})
				found = true
			}
		}
		if !found && tailBlock && dirty[lastID] {
			n := acc.Get(lastID) + 1
			lost = append(lost, Lost{ReplicaID: lastID, LSNFrom: n, LSNTo: n, File: lastFile.name,
				Reason: lastDmg.reason + " (its rows do not decode)", OpenEnded: true})
			found = true
		}
		if !found {
			rp.rep.Warnings = append(rp.rep.Warnings, fmt.Sprintf(
				"the log ends in damage (%s in %s): rows that may have been written there cannot be identified",
				lastDmg.reason, lastFile.name))
		}
	}
	rp.splitLost(lost)
}

// splitLost separates the ranges whose effect is in the snapshot recovery
// starts from, merges neighbours and sorts them.
func (rp *run) splitLost(lost []Lost) {
	S := rp.snap.vclock
	var gone, covered []Lost
	for _, l := range lost {
		s := S.Get(l.ReplicaID)
		if l.LSNFrom <= s {
			c := l
			c.LSNTo = min(l.LSNTo, s)
			c.OpenEnded = c.OpenEnded && c.LSNTo == l.LSNTo
			c.Snapshot = rp.snap.outName
			covered = append(covered, c)
		}
		if l.LSNTo > s {
			g := l
			g.LSNFrom = max(l.LSNFrom, s+1)
			gone = append(gone, g)
		}
	}
	rp.rep.Lost = mergeLost(gone)
	rp.rep.Covered = mergeLost(covered)
}

func mergeLost(ls []Lost) []Lost {
	sort.SliceStable(ls, func(i, j int) bool {
		if ls[i].ReplicaID != ls[j].ReplicaID {
			return ls[i].ReplicaID < ls[j].ReplicaID
		}
		return ls[i].LSNFrom < ls[j].LSNFrom
	})
	var out []Lost
	for _, l := range ls {
		if n := len(out); n > 0 {
			p := &out[n-1]
			if p.ReplicaID == l.ReplicaID && p.LSNTo+1 == l.LSNFrom && p.File == l.File &&
				p.Reason == l.Reason && p.SavedTo == l.SavedTo && !p.OpenEnded && p.Snapshot == l.Snapshot {
				p.LSNTo, p.OpenEnded = l.LSNTo, l.OpenEnded
				continue
			}
		}
		out = append(out, l)
	}
	return out
}

// addTail keeps the instance from reusing the LSNs of lost rows at the end
// of the log: when recovery would end below them (the log ends in damage,
// so no later file header records them), an empty WAL whose VClock covers
// them is put last. Replicas may have received those rows; new rows with
// the same LSNs would conflict with them.
func (rp *run) addTail() {
	var last *outWAL
	var end format.VClock
	for _, o := range rp.outs {
		if o.dropped {
			continue
		}
		last = o
		end = end.Max(o.vclock)
		if o.src != nil {
			end = end.Max(o.src.keptLast)
		}
	}
	if last == nil {
		return
	}
	want := end
	for _, l := range rp.rep.Lost {
		want.Follow(l.ReplicaID, l.LSNTo)
	}
	if want.Equal(end) {
		return
	}
	rp.outs = append(rp.outs, &outWAL{vclock: want, prev: last.vclock, hasPrev: true,
		name: format.FileName(format.TypeXLOG, want), how: "tail"})
}
