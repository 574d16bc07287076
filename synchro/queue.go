package synchro

import (
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// Entry is a transaction (or, with Options.MergeAsync, a run of
// asynchronous transactions of one origin) in the queue.
type Entry struct {
	// Origin is the replica id of the transaction's first global row.
	Origin uint32
	// First and LSN are the LSNs of its first and last global rows in
	// the origin's component; LSN is the one CONFIRM and ROLLBACK name.
	First, LSN uint64
	// Sync: the transaction needs a quorum; otherwise it waits only
	// behind synchronous ones.
	Sync bool
	// N is the number of transactions the entry stands for (0 counts as 1).
	N int64
	// Time is the transaction's timestamp (the first one's, for a merged
	// run).
	Time float64
	// ID is the caller's handle for the transaction.
	ID uint64
}

// Count returns the number of transactions of the entry.
func (e Entry) Count() int64 { return max(e.N, 1) }

// Decision is the fate of a queue entry.
type Decision struct {
	Entry Entry
	Fate  Fate
}

// Conflict tells why a queued transaction cannot enter the queue
// (FORMAT.md §6.2).
type Conflict int

// Conflicts.
const (
	NoConflict Conflict = iota
	// ForeignTxns: the queue holds another origin's transactions
	// (ER_UNCOMMITTED_FOREIGN_SYNC_TXNS, 214).
	ForeignTxns
	// Unclaimed: explicit ownership and nobody owns the queue
	// (ER_SYNC_QUEUE_UNCLAIMED, 227).
	Unclaimed
	// ForeignQueue: explicit ownership and another instance owns the
	// queue (ER_SYNC_QUEUE_FOREIGN, 228).
	ForeignQueue
)

// TxStep is what Commit did with a transaction.
type TxStep struct {
	Decisions []Decision
	// Skipped: local or NOP-only, so no queue business (CommitTx).
	Skipped bool
	// Sync and WantsQueue are CommitTx's classification: synchronous,
	// and meant to wait in the queue.
	Sync, WantsQueue bool
	// Queued: the transaction entered the queue.
	Queued bool
	// Conflict: it could not enter the queue (and took effect at once,
	// as the queue is not changed by it).
	Conflict Conflict
	// Takeover: an implicit owner change (ImplicitOwner rules) from
	// PrevOwner to the transaction's origin.
	Takeover  bool
	PrevOwner uint32
	// Stale: the origin's last PROMOTE is older than the queue's term
	// and the transaction is queued, or asynchronous while the queue has
	// an owner (FORMAT.md §6.6: what 2.10.1+ refuses or turns into NOPs).
	Stale bool
	// Owner, Term and OriginTerm are the recorded owner, the queue term
	// and the origin's last PROMOTE term before the transaction.
	Owner            uint32
	Term, OriginTerm uint64
}

// SynchroStep is what a CONFIRM, ROLLBACK, PROMOTE or DEMOTE did, with
// the state it met.
type SynchroStep struct {
	Decisions []Decision
	// Invalid: a CONFIRM/ROLLBACK with a zero or out-of-range owner or a
	// zero LSN; nothing changed.
	Invalid bool
	// Unknown: the queue owner is not known (the log starts in the middle
	// of history); a CONFIRM/ROLLBACK only taught the owner's confirmed LSN.
	Unknown bool
	// Foreign: a CONFIRM/ROLLBACK for a queue other than Owner's; ignored.
	Foreign bool
	// Owner is the queue owner the request met (the origin of the oldest
	// entry when the queue is not empty).
	Owner uint32
	// Clear: a CONFIRM/ROLLBACK written by an instance for another
	// owner's queue and applied (box.ctl.clear_synchro_queue, 2.6.0–2.8.0).
	Clear bool
	// Confirmed is the named owner's confirmed LSN before the request
	// (for PROMOTE/DEMOTE: the owner's whose queue it resolves), when
	// ConfirmedKnown.
	Confirmed      uint64
	ConfirmedKnown bool
	// RolledBack is the last range of the owner's LSNs rolled back here.
	RolledBack LSNRange
	// OriginOutdated: the writer's last PROMOTE is older than the queue
	// term (before the request).
	OriginOutdated bool
	// Term, TermKnown, TermOrigin: the queue term before a PROMOTE or
	// DEMOTE and the origin that set it.
	Term       uint64
	TermKnown  bool
	TermOrigin uint32
	// PrevOwner is the owner before a PROMOTE or DEMOTE.
	PrevOwner uint32
}

// LSNRange is an inclusive LSN range; From == 0 means empty.
type LSNRange struct{ From, To uint64 }

// Options configure a Queue or a Resolver.
type Options struct {
	// Limit bounds the entries kept (default 1<<20); beyond it the oldest
	// are given up as Pending and Overflow reports it.
	Limit int
	// MergeAsync keeps consecutive asynchronous entries of one origin as
	// one entry (their fates are always the same; Queue only).
	MergeAsync bool
	// IsSync tells whether a space is synchronous, for writers that do
	// not flag synchronous transactions (Resolver only: a Queue is told
	// by its caller).
	IsSync func(spaceID uint32) bool
}

const defaultLimit = 1 << 20

// Queue is the synchronous queue (limbo) of one instance as its log shows
// it: a pure state machine fed committed transactions and synchro
// requests in log order, deciding each transaction's fate under the
// rules of the writer's version (FORMAT.md §6.4, §6.5). It keeps what it
// does not know apart from what it knows: a log that starts in the middle
// of history leaves the owner, the term and the confirmed LSNs unknown
// until a row tells them.
//
// Slices in the steps it returns are valid until the next call.
type Queue struct {
	opts  Options
	rules Rules

	owner      uint32
	ownerKnown bool
	term       uint64 // greatest PROMOTE/DEMOTE term applied
	termKnown  bool
	termOrigin uint32 // origin of the PROMOTE/DEMOTE that set term
	termMap    [format.VClockMax]uint64
	confirmed  [format.VClockMax]uint64
	confKnown  uint32 // bit i: confirmed[i] is known
	// ownerConfirmed is confirmed_lsn of versions that keep one for the
	// current owner only (reset on owner change).
	ownerConfirmed uint64

	entries    []Entry
	base       []Entry // the array entries live in, reused as they leave
	rolledBack [format.VClockMax]LSNRange
	overflow   bool
	out        []Decision
}

// NewQueue returns a queue in the initial state of a fresh instance
// (empty, unclaimed, everything known).
func NewQueue(opts Options) *Queue {
	if opts.Limit <= 0 {
		opts.Limit = defaultLimit
	}
	q := &Queue{opts: opts}
	q.Reset(true)
	return q
}

// SetRules selects the rules of the writer of the rows that follow.
func (q *Queue) SetRules(r Rules) { q.rules = r }

// Rules returns the rules in force.
func (q *Queue) Rules() Rules { return q.rules }

// Reset forgets everything: fresh tells that the rows that follow start
// at the beginning of history (initial state known); otherwise the owner,
// term and confirmed LSNs are unknown. The pending entries are dropped
// without a decision.
func (q *Queue) Reset(fresh bool) {
	opts, rules, over, out := q.opts, q.rules, q.overflow, q.out
	*q = Queue{opts: opts, rules: rules, overflow: over, out: out[:0]}
	if fresh {
		q.ownerKnown, q.termKnown = true, true
		q.term = rules.TermStart
		q.confKnown = ^uint32(0)
	} else if !rules.Flags {
		// Before PROMOTE existed there were no terms.
		q.termKnown = true
	}
}

// Restore applies the queue state a snapshot carries: its PROMOTE row, or
// nil when it has none (under SnapshotLimbo rules: an unclaimed queue in
// the initial term).
func (q *Queue) Restore(s *format.Synchro) {
	if s == nil {
		if q.rules.SnapshotLimbo {
			q.owner, q.ownerKnown, q.termKnown = 0, true, true
			q.term = q.rules.TermStart
		}
		return
	}
	q.owner, q.ownerKnown = s.ReplicaID, true
	q.term, q.termKnown, q.termOrigin = s.Term, true, s.ReplicaID
	if s.ReplicaID < format.VClockMax {
		q.termMap[s.ReplicaID] = s.Term
	}
	if s.HasVClock {
		q.confKnown = ^uint32(0)
		q.confirmed = [format.VClockMax]uint64{}
		s.VClock.Each(func(id uint32, lsn uint64) { q.confirmed[id] = lsn })
	}
	q.setConfirmed(s.ReplicaID, s.LSN)
	q.ownerConfirmed = s.LSN
}

// RestoreConfirmed puts back the confirmed LSNs of the owners in v, as a
// replay of the log found them (State.Confirmed); the others stay unknown.
func (q *Queue) RestoreConfirmed(v format.VClock) {
	v.Each(func(id uint32, lsn uint64) { q.setConfirmed(id, lsn) })
}

// State is a summary of the queue.
type State struct {
	// Owner is the queue owner (0 when unclaimed), OwnerKnown whether
	// the log told it.
	Owner      uint32
	OwnerKnown bool
	// Term is the greatest PROMOTE/DEMOTE term applied.
	Term      uint64
	TermKnown bool
	// ConfirmedLSN is the owner's confirmed LSN (confirmed_lsn).
	ConfirmedLSN uint64
	// Confirmed holds the confirmed LSN of every owner whose one is known.
	Confirmed format.VClock
	// Queued is the number of transactions waiting.
	Queued int64
}

// State returns the current state.
func (q *Queue) State() State {
	s := State{Owner: q.owner, OwnerKnown: q.ownerKnown, Term: q.term, TermKnown: q.termKnown,
		ConfirmedLSN: q.ConfirmedLSN(), Queued: q.Len()}
	for id := uint32(1); id < format.VClockMax; id++ {
		if q.knowConfirmed(id) && q.confirmed[id] > 0 {
			s.Confirmed.Set(id, q.confirmed[id])
		}
	}
	return s
}

// Owner returns the owner whose requests apply: the origin of the oldest
// entry if any, else the recorded owner; known is false when the log has
// not told it yet.
func (q *Queue) Owner() (id uint32, known bool) {
	if q.rules.Lenient && q.owner != 0 {
		return q.owner, true
	}
	if len(q.entries) > 0 {
		return q.entries[0].Origin, true
	}
	return q.owner, q.ownerKnown
}

// Term returns the queue term, whether it is known, and its origin.
func (q *Queue) Term() (term uint64, known bool, origin uint32) {
	return q.term, q.termKnown, q.termOrigin
}

// TermOf returns the term of origin's last PROMOTE/DEMOTE.
func (q *Queue) TermOf(origin uint32) uint64 {
	if origin >= format.VClockMax {
		return 0
	}
	return q.termMap[origin]
}

// Confirmed returns owner's confirmed LSN and whether it is known.
func (q *Queue) Confirmed(owner uint32) (uint64, bool) {
	if owner >= format.VClockMax {
		return 0, false
	}
	return q.confirmed[owner], q.knowConfirmed(owner)
}

// ConfirmedLSN is confirmed_lsn: the current owner's confirmed LSN (in
// versions without a confirmed vclock, reset when the owner changes).
func (q *Queue) ConfirmedLSN() uint64 {
	if q.rules.ConfirmedVClock {
		return q.confirmed[q.owner]
	}
	return q.ownerConfirmed
}

// Outdated reports whether origin has not issued a PROMOTE in the newest
// known term (FORMAT.md §6.5).
func (q *Queue) Outdated(origin uint32) bool {
	return q.termKnown && origin < format.VClockMax && q.termMap[origin] < q.term
}

// Len returns the number of transactions waiting.
func (q *Queue) Len() int64 {
	var n int64
	for _, e := range q.entries {
		n += e.Count()
	}
	return n
}

// Empty reports whether nothing waits.
func (q *Queue) Empty() bool { return len(q.entries) == 0 }

// Entries returns the waiting entries, oldest first (valid until the next
// call).
func (q *Queue) Entries() []Entry { return q.entries }

// PendingSync counts the synchronous entries waiting.
func (q *Queue) PendingSync() int {
	n := 0
	for _, e := range q.entries {
		if e.Sync {
			n++
		}
	}
	return n
}

// Overflow reports whether entries were given up at Options.Limit.
func (q *Queue) Overflow() bool { return q.overflow }

func (q *Queue) knowConfirmed(id uint32) bool { return id < 32 && q.confKnown&(1<<id) != 0 }

func (q *Queue) setConfirmed(id uint32, lsn uint64) {
	if id >= 32 {
		return
	}
	if !q.knowConfirmed(id) || lsn > q.confirmed[id] {
		q.confirmed[id] = lsn
	}
	q.confKnown |= 1 << id
}

// Classify tells whether a committed transaction is synchronous and
// whether it goes through the queue (FORMAT.md §6.2): by its last row's
// WAIT_ACK/WAIT_SYNC flags under Flags rules, otherwise by whether it
// wrote a synchronous space (syncSpace) and whether the queue is busy.
// A transaction of NOPs only never enters the queue: do not Commit it.
func (q *Queue) Classify(flags uint64, syncSpace bool) (sync, queued bool) {
	if q.rules.Flags {
		sync = flags&box.FlagWaitAck != 0
		return sync, sync || flags&box.FlagWaitSync != 0
	}
	// Older writers set no flags; rows of an unknown writer may have them.
	sync = syncSpace || flags&box.FlagWaitAck != 0
	return sync, sync || flags&box.FlagWaitSync != 0 || len(q.entries) > 0
}

// CommitTx handles a transaction the assembler completed, with
// syncSpace telling whether it writes a synchronous space and id the
// caller's handle: a transaction of local rows or NOPs only never enters
// the queue (the step is Skipped and decides nothing); any other is
// classified (Classify) and committed (Commit).
func (q *Queue) CommitTx(t *format.Tx, syncSpace bool, id uint64) TxStep {
	if t.Origin == 0 || t.DataRows == 0 {
		q.out = q.out[:0]
		return TxStep{Skipped: true}
	}
	sync, queued := q.Classify(t.Flags, syncSpace)
	st := q.Commit(Entry{Origin: t.Origin, First: t.FirstGlobal, LSN: t.LastGlobal, Sync: sync, Time: t.Time, ID: id}, queued)
	st.Sync, st.WantsQueue = sync, queued
	return st
}

// Commit handles a committed transaction with global data rows (not only
// NOPs) whose last row has just been read: queued ones wait in the queue
// unless their origin may not queue (the step's Conflict; they take
// effect at once), the others take effect at once.
func (q *Queue) Commit(e Entry, queued bool) TxStep {
	q.out = q.out[:0]
	X := e.Origin
	st := TxStep{Owner: q.owner, Term: q.term, OriginTerm: q.TermOf(X)}
	if q.ownerKnown && q.Outdated(X) && (queued || q.owner != 0) {
		st.Stale = true
	}
	if !queued {
		q.decide(e, Committed)
		st.Decisions = q.out
		return st
	}
	switch {
	case q.rules.Lenient:
		if len(q.entries) == 0 && q.owner == 0 && e.Sync {
			q.setOwner(X)
		}
	case !q.ownerKnown && len(q.entries) == 0:
		q.setOwner(X)
		q.ownerKnown = true
	case q.rules.ImplicitOwner && len(q.entries) == 0 && e.Sync:
		if q.owner != X {
			st.Takeover, st.PrevOwner = true, q.owner
			q.setOwner(X)
		}
	case len(q.entries) > 0 && q.entries[0].Origin != X:
		st.Conflict = ForeignTxns
	case !q.rules.ImplicitOwner && q.owner == 0:
		st.Conflict = Unclaimed
	case !q.rules.ImplicitOwner && q.owner != X:
		st.Conflict = ForeignQueue
	case len(q.entries) == 0 && q.owner != X && e.Sync:
		q.setOwner(X)
	}
	if st.Conflict != NoConflict {
		q.decide(e, Committed)
		st.Decisions = q.out
		return st
	}
	st.Queued = q.append(e)
	st.Decisions = q.out
	return st
}

func (q *Queue) setOwner(id uint32) {
	if id != q.owner {
		q.ownerConfirmed = 0
	}
	q.owner = id
}

func (q *Queue) decide(e Entry, f Fate) { q.out = append(q.out, Decision{Entry: e, Fate: f}) }

// append queues an entry; an asynchronous one on an empty queue takes
// effect at once (false).
func (q *Queue) append(e Entry) bool {
	if len(q.entries) == 0 && !e.Sync {
		q.decide(e, Committed)
		return false
	}
	if n := len(q.entries); q.opts.MergeAsync && n > 0 && !e.Sync && !q.entries[n-1].Sync && q.entries[n-1].Origin == e.Origin {
		q.entries[n-1].LSN = e.LSN
		q.entries[n-1].N = q.entries[n-1].Count() + e.Count()
		return true
	}
	if len(q.entries) >= q.opts.Limit {
		q.decide(q.entries[0], Pending)
		q.pop(1)
		q.overflow = true
	}
	if len(q.entries) == cap(q.entries) {
		if len(q.entries) < cap(q.base)/2 {
			n := copy(q.base[:cap(q.base)], q.entries)
			q.entries = q.base[:n]
		} else {
			nb := make([]Entry, len(q.entries), 2*len(q.entries)+16)
			copy(nb, q.entries)
			q.entries, q.base = nb, nb[:0]
		}
	}
	q.entries = append(q.entries, e)
	return true
}

func (q *Queue) pop(n int) {
	if n == 0 {
		return
	}
	q.entries = q.entries[n:]
	if len(q.entries) == 0 {
		q.entries = q.base[:0]
	}
}

// Apply applies a CONFIRM, ROLLBACK, PROMOTE or DEMOTE written by origin
// (the row's replica id; 0 for a snapshot's PROMOTE, which Restore
// handles).
func (q *Queue) Apply(typ box.RowType, origin uint32, s format.Synchro) SynchroStep {
	q.out = q.out[:0]
	var st SynchroStep
	switch typ {
	case box.TypeConfirm, box.TypeRollback:
		st = q.confirmRollback(typ == box.TypeConfirm, origin, s)
	case box.TypePromote, box.TypeDemote:
		st = q.promote(typ == box.TypeDemote, origin, s)
	}
	st.Decisions = q.out
	return st
}

func (q *Queue) confirmRollback(confirm bool, X uint32, s format.Synchro) SynchroStep {
	O, L := s.ReplicaID, s.LSN
	var st SynchroStep
	if O == 0 || L == 0 || O >= format.VClockMax {
		st.Invalid = true
		return st
	}
	st.Confirmed, st.ConfirmedKnown = q.Confirmed(O)
	st.RolledBack = q.rolledBack[O]
	st.OriginOutdated = q.Outdated(X)
	owner, known := q.Owner()
	st.Owner = owner
	if !known {
		st.Unknown = true
		q.setConfirmed(O, L)
		return st
	}
	if O != owner {
		st.Foreign = true
		return st
	}
	st.Clear = X != O
	if confirm {
		q.confirm(O, L)
	} else {
		q.rollback(O, L)
	}
	return st
}

// confirm commits the entries up to lsn (CONFIRM {owner, lsn}).
func (q *Queue) confirm(owner uint32, lsn uint64) {
	i := 0
	for ; i < len(q.entries); i++ {
		e := q.entries[i]
		if e.Sync && e.LSN > lsn {
			break
		}
		q.decide(e, Confirmed)
	}
	q.pop(i)
	q.setConfirmed(owner, lsn)
	if owner == q.owner && lsn > q.ownerConfirmed {
		q.ownerConfirmed = lsn
	}
}

// rollback rolls back the oldest synchronous entry with an LSN >= lsn and
// everything queued after it, newest first (ROLLBACK {owner, lsn}).
func (q *Queue) rollback(owner uint32, lsn uint64) {
	idx := -1
	for i, e := range q.entries {
		if e.Sync && e.LSN >= lsn {
			idx = i
			break
		}
	}
	if idx < 0 {
		return
	}
	rb := LSNRange{}
	for i := len(q.entries) - 1; i >= idx; i-- {
		e := q.entries[i]
		q.decide(e, RolledBack)
		if rb.From == 0 || e.First < rb.From {
			rb.From = e.First
		}
		rb.To = max(rb.To, e.LSN)
	}
	q.entries = q.entries[:idx]
	if owner < format.VClockMax {
		q.rolledBack[owner] = rb
	}
}

// promote applies PROMOTE/DEMOTE from origin X: pending entries up to the
// border LSN are confirmed, the rest rolled back, and the queue passes to
// X (PROMOTE) or to nobody (DEMOTE).
func (q *Queue) promote(demote bool, X uint32, s format.Synchro) SynchroStep {
	L, T := s.LSN, s.Term
	st := SynchroStep{Term: q.term, TermKnown: q.termKnown, TermOrigin: q.termOrigin, PrevOwner: q.owner,
		OriginOutdated: q.Outdated(X)}
	cur, known := q.Owner()
	st.Owner = cur
	if known {
		st.Confirmed, st.ConfirmedKnown = q.Confirmed(cur)
	}
	if X < format.VClockMax && q.termMap[X] < T {
		q.termMap[X] = T
		if T > q.term || !q.termKnown {
			q.term, q.termOrigin = T, X
		}
	}
	if c, ok := q.Confirmed(cur); !ok || c < L {
		q.confirm(cur, L)
	}
	q.rollback(cur, L+1)
	for len(q.entries) > 0 { // entries without a synchronous one before them
		q.decide(q.entries[0], RolledBack)
		q.pop(1)
	}
	newOwner := X
	if demote {
		newOwner = 0
	}
	q.setOwner(newOwner)
	q.ownerKnown = true
	if q.rules.ConfirmedVClock {
		q.ownerConfirmed = q.confirmed[newOwner]
	} else if newOwner == cur {
		q.ownerConfirmed = max(q.ownerConfirmed, L)
	}
	return st
}

// End gives up the waiting entries as Pending, oldest first, and empties
// the queue.
func (q *Queue) End() []Decision {
	q.out = q.out[:0]
	for _, e := range q.entries {
		q.decide(e, Pending)
	}
	q.entries = q.base[:0]
	return q.out
}
