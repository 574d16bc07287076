package verify

import "sort"

// fate is what became of a transaction in one instance's log.
type fate uint8

// Fates. Committed: an asynchronous transaction that did not wait in the
// queue; confirmed / rolled back / pending: one that went through the
// queue.
const (
	fateCommitted fate = iota + 1
	fateConfirmed
	fateRolledBack
	fatePending
)

func (f fate) String() string {
	switch f {
	case fateCommitted:
		return "committed"
	case fateConfirmed:
		return "confirmed"
	case fateRolledBack:
		return "rolled back"
	case fatePending:
		return "pending"
	}
	return "?"
}

// applied reports whether the transaction's changes stayed.
func (f fate) applied() bool { return f == fateCommitted || f == fateConfirmed }

// fateRange is a run of LSNs of one component whose transactions share a
// fate. Runs are merged while they touch, so the list stays short: it
// grows only where the fate changes.
type fateRange struct {
	from, to uint64
	fate     fate
	sync     bool // at least one synchronous transaction in the run
	ts       float64
}

// rowKey names a row by its replica id and LSN.
type rowKey struct {
	id  uint32
	lsn uint64
}

// fateLimit bounds the runs kept per component.
const fateLimit = 1 << 16

// fateSet keeps the fate runs of every replica component of one instance.
type fateSet struct {
	runs      [32][]fateRange
	truncated bool
	// cut: a transaction of NOPs came after the last run of the
	// component, which the next run may not swallow (the same LSNs are a
	// real transaction, with a fate of its own, on an instance that did
	// not turn it into NOPs).
	cut [32]bool
}

// cutAt notes a transaction without a fate (only NOPs) after the runs of
// component id so far.
func (s *fateSet) cutAt(id uint32) {
	if id < 32 {
		s.cut[id] = true
	}
}

// class groups fates for runs: committed and confirmed transactions both
// stayed, so they share runs.
func (f fate) class() fate {
	if f == fateConfirmed {
		return fateCommitted
	}
	return f
}

// join returns the fate of a run holding transactions of fates a and b of
// one class: confirmed wins over committed.
func join(a, b fate) fate {
	if a == fateConfirmed || b == fateConfirmed {
		return fateConfirmed
	}
	return a
}

// add records the fate of the transaction occupying from..to of
// component id. Transactions are resolved in LSN order almost always; an
// out-of-order one is inserted (splitting a run that spans it).
func (s *fateSet) add(id uint32, from, to uint64, f fate, sync bool, ts float64) {
	if id >= 32 || from == 0 {
		return
	}
	runs := s.runs[id]
	n := len(runs)
	nr := fateRange{from: from, to: to, fate: f, sync: sync, ts: ts}
	if n == 0 || runs[n-1].to < from {
		cut := s.cut[id]
		s.cut[id] = false
		if n > 0 && runs[n-1].fate.class() == f.class() && !cut {
			last := &runs[n-1]
			last.to = to
			last.fate = join(last.fate, f)
			last.sync = last.sync || sync
			return
		}
		if n >= fateLimit {
			s.truncated = true
			return
		}
		s.runs[id] = append(runs, nr)
		return
	}
	i := sort.Search(n, func(i int) bool { return runs[i].to >= from })
	if i < n && runs[i].from <= from && runs[i].fate.class() == f.class() {
		runs[i].fate = join(runs[i].fate, f)
		runs[i].to = max(runs[i].to, to)
		runs[i].sync = runs[i].sync || sync
		return
	}
	if n+2 > fateLimit {
		s.truncated = true
		return
	}
	if i < n && runs[i].from < from {
		// Split the run that spans the new transaction.
		head, tail := runs[i], runs[i]
		head.to = from - 1
		tail.from = to + 1
		parts := []fateRange{head, nr}
		if tail.from <= tail.to {
			parts = append(parts, tail)
		}
		runs = append(runs[:i], append(parts, runs[i+1:]...)...)
	} else {
		runs = append(runs, fateRange{})
		copy(runs[i+1:], runs[i:])
		runs[i] = nr
	}
	s.runs[id] = runs
}

// at returns the fate run holding lsn of component id.
func (s *fateSet) at(id uint32, lsn uint64) (fateRange, bool) {
	runs := s.runs[id]
	i := sort.Search(len(runs), func(i int) bool { return runs[i].to >= lsn })
	if i < len(runs) && runs[i].from <= lsn {
		return runs[i], true
	}
	return fateRange{}, false
}

// overlapping calls fn for every run of component id that intersects
// from..to, clipped to it.
func (s *fateSet) overlapping(id uint32, from, to uint64, fn func(fateRange)) {
	runs := s.runs[id]
	i := sort.Search(len(runs), func(i int) bool { return runs[i].to >= from })
	for ; i < len(runs) && runs[i].from <= to; i++ {
		r := runs[i]
		r.from = max(r.from, from)
		r.to = min(r.to, to)
		fn(r)
	}
}
