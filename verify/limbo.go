package verify

import "github.com/xlogtool/xlogtool/format"

// qentry is a transaction waiting in the synchronous queue.
type qentry struct {
	origin      uint32
	first, last uint64 // LSNs of its global rows in the origin's component
	sync        bool   // needs a quorum (WAIT_ACK); otherwise queued behind one
	ts          float64
	// n counts the transactions of the entry: consecutive asynchronous
	// ones share their fate and are kept as one entry.
	n int64
}

// queueLimit bounds the entries kept; beyond it the oldest are given up
// as pending.
const queueLimit = 1 << 20

// lsnRange is an inclusive LSN range; from == 0 means empty.
type lsnRange struct{ from, to uint64 }

// limbo replays the synchronous queue of one instance with the semantics
// of FORMAT.md 6.4 (Tarantool's HEAD rules, no filters), remembering what
// is not known because the log starts in the middle of history.
type limbo struct {
	owner      uint32
	ownerKnown bool
	term       uint64 // greatest PROMOTE/DEMOTE term applied
	termKnown  bool
	termOrigin uint32 // origin of the PROMOTE/DEMOTE that set term
	termMap    [format.VClockMax]uint64
	confirmed  [format.VClockMax]uint64
	confKnown  uint32 // bit i: confirmed[i] is known
	queue      []qentry
	base       []qentry // the array queue lives in, reused as entries leave
	// rolledBack is, per owner, the last range of LSNs rolled back.
	rolledBack [format.VClockMax]lsnRange
	// resolved receives the fate of every queued transaction.
	resolved func(e qentry, f fate)
	// overflow is set when entries were given up at queueLimit.
	overflow bool
}

func (l *limbo) knowConfirmed(id uint32) bool { return id < 32 && l.confKnown&(1<<id) != 0 }

func (l *limbo) setConfirmed(id uint32, lsn uint64) {
	if id >= 32 {
		return
	}
	if !l.knowConfirmed(id) || lsn > l.confirmed[id] {
		l.confirmed[id] = lsn
	}
	l.confKnown |= 1 << id
}

// reset forgets everything: the log continues after a gap.
func (l *limbo) reset(r rules, fresh bool) {
	res, over := l.resolved, l.overflow
	*l = limbo{resolved: res, overflow: over}
	if fresh {
		l.ownerKnown, l.termKnown = true, true
		l.term = r.termStart
		l.confKnown = ^uint32(0)
	} else if !r.flags {
		// Before PROMOTE existed there were no terms.
		l.termKnown = true
	}
}

// restore applies the queue state kept in a snapshot PROMOTE row.
func (l *limbo) restore(s format.Synchro) {
	l.owner, l.ownerKnown = s.ReplicaID, true
	l.term, l.termKnown, l.termOrigin = s.Term, true, s.ReplicaID
	if s.ReplicaID < 32 {
		l.termMap[s.ReplicaID] = s.Term
	}
	if s.HasVClock {
		l.confKnown = ^uint32(0)
		l.confirmed = [format.VClockMax]uint64{}
		s.VClock.Each(func(id uint32, lsn uint64) { l.confirmed[id] = lsn })
	}
	l.setConfirmed(s.ReplicaID, s.LSN)
}

func (l *limbo) empty() bool { return len(l.queue) == 0 }

// pendingSync counts the synchronous entries in the queue.
func (l *limbo) pendingSync() int {
	n := 0
	for _, e := range l.queue {
		if e.sync {
			n++
		}
	}
	return n
}

// count returns the number of transactions waiting.
func (l *limbo) count() int64 {
	var n int64
	for _, e := range l.queue {
		n += max(e.n, 1)
	}
	return n
}

func (l *limbo) append(e qentry) {
	if e.n == 0 {
		e.n = 1
	}
	if len(l.queue) == 0 && !e.sync {
		l.resolved(e, fateCommitted)
		return
	}
	if n := len(l.queue); n > 0 && !e.sync && !l.queue[n-1].sync && l.queue[n-1].origin == e.origin {
		l.queue[n-1].last = e.last
		l.queue[n-1].n += e.n
		return
	}
	if len(l.queue) >= queueLimit {
		l.resolved(l.queue[0], fatePending)
		l.pop(1)
		l.overflow = true
	}
	if len(l.queue) == cap(l.queue) {
		if len(l.queue) < cap(l.base)/2 {
			n := copy(l.base[:cap(l.base)], l.queue)
			l.queue = l.base[:n]
		} else {
			nb := make([]qentry, len(l.queue), 2*len(l.queue)+16)
			copy(nb, l.queue)
			l.queue, l.base = nb, nb[:0]
		}
	}
	l.queue = append(l.queue, e)
}

// confirm commits the entries up to lsn (CONFIRM {owner, lsn}).
func (l *limbo) confirm(owner uint32, lsn uint64) {
	i := 0
	for ; i < len(l.queue); i++ {
		e := l.queue[i]
		if e.sync && e.last > lsn {
			break
		}
		l.resolved(e, fateConfirmed)
	}
	l.pop(i)
	// Asynchronous entries left at the head no longer wait for anything.
	for len(l.queue) > 0 && !l.queue[0].sync {
		l.resolved(l.queue[0], fateConfirmed)
		l.pop(1)
	}
	l.setConfirmed(owner, lsn)
}

// rollback rolls back the oldest synchronous entry with an LSN >= lsn and
// everything queued after it (ROLLBACK {owner, lsn}).
func (l *limbo) rollback(owner uint32, lsn uint64) {
	idx := -1
	for i, e := range l.queue {
		if e.sync && e.last >= lsn {
			idx = i
			break
		}
	}
	if idx < 0 {
		return
	}
	rb := lsnRange{}
	for i := len(l.queue) - 1; i >= idx; i-- {
		e := l.queue[i]
		l.resolved(e, fateRolledBack)
		if rb.from == 0 || e.first < rb.from {
			rb.from = e.first
		}
		rb.to = max(rb.to, e.last)
	}
	l.queue = l.queue[:idx]
	if owner < 32 {
		l.rolledBack[owner] = rb
	}
}

// transfer applies PROMOTE/DEMOTE from origin with the given border LSN
// and term: pending entries up to lsn are confirmed, the rest rolled back,
// and the queue passes to newOwner.
func (l *limbo) transfer(origin, newOwner uint32, lsn, term uint64) {
	if origin < 32 && l.termMap[origin] < term {
		l.termMap[origin] = term
		if term > l.term || !l.termKnown {
			l.term, l.termOrigin = term, origin
		}
	}
	old := l.owner
	if len(l.queue) > 0 {
		old = l.queue[0].origin
	}
	if !l.knowConfirmed(old) || l.confirmed[old] < lsn {
		l.confirm(old, lsn)
	}
	l.rollback(old, lsn+1)
	for len(l.queue) > 0 { // entries without a synchronous one before them
		l.resolved(l.queue[0], fateRolledBack)
		l.pop(1)
	}
	l.owner, l.ownerKnown = newOwner, true
}

func (l *limbo) pop(n int) {
	if n == 0 {
		return
	}
	l.queue = l.queue[n:]
	if len(l.queue) == 0 {
		l.queue = l.base[:0]
	}
}

// outdated reports whether origin has not issued a PROMOTE in the newest
// known term (FORMAT.md 6.5).
func (l *limbo) outdated(origin uint32) bool {
	return l.termKnown && origin < 32 && l.termMap[origin] < l.term
}
