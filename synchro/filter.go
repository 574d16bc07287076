package synchro

import (
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// The split-brain filters of 2.10.1+ (FORMAT.md §6.6): what an instance
// refuses, or writes as NOPs, among the rows it receives through
// replication. They never run on an instance's own log during recovery,
// so a log reader does not apply them; a follower, tail or a node does,
// before it writes a received row and feeds it to its queue.

func unsupported(what string) *box.Error {
	return box.NewError(box.ErrUnsupported, "Replication", what)
}

func splitBrain(what string) *box.Error { return box.NewError(box.ErrSplitBrain, what) }

// FilterSynchro checks a CONFIRM, ROLLBACK, PROMOTE or DEMOTE from origin
// as a receiver with the queue's rules does before writing it: nil when
// it is accepted (or the rules have no filters), otherwise the error the
// receiver raises (ER_SPLIT_BRAIN or ER_UNSUPPORTED).
func (q *Queue) FilterSynchro(typ box.RowType, origin uint32, s format.Synchro) *box.Error {
	switch {
	case !q.rules.Filters:
		return nil
	case q.rules.FiltersB:
		return q.filterB(typ, origin, s)
	}
	return q.filterA(typ, s)
}

// filterB is generation B (3.5.2, 3.6.3+, 3.7.0+; FORMAT.md §6.6.1).
func (q *Queue) filterB(typ box.RowType, X uint32, s format.Synchro) *box.Error {
	O, L, T := s.ReplicaID, s.LSN, s.Term
	switch typ {
	case box.TypeConfirm, box.TypeRollback:
		if O == 0 {
			return unsupported("synchronous requests with zero replica_id")
		}
		if L == 0 {
			return unsupported("zero LSN for CONFIRM/ROLLBACK")
		}
		conf, _ := q.Confirmed(O)
		foreign := O != q.owner
		switch {
		case typ == box.TypeConfirm:
			if L > conf && foreign {
				return splitBrain("got a request from a foreign synchro queue owner")
			}
		case L <= conf, q.TermOf(X) == q.term:
			if foreign {
				return splitBrain("got a request from a foreign synchro queue owner")
			}
		}
		return nil
	}
	if typ == box.TypeDemote && O == 0 {
		return unsupported("synchronous requests with zero replica_id")
	}
	if T == 0 {
		return unsupported("PROMOTE/DEMOTE with a zero term")
	}
	if q.term >= T {
		return splitBrain("got a PROMOTE/DEMOTE with an obsolete term")
	}
	return q.boundary(L, true)
}

// filterA is generation A (2.10.1 – 2.11.x, 3.0.0 – 3.5.1, 3.6.0 – 3.6.2;
// FORMAT.md §6.6.2).
func (q *Queue) filterA(typ box.RowType, s format.Synchro) *box.Error {
	O, L, T := s.ReplicaID, s.LSN, s.Term
	promote := typ == box.TypePromote || typ == box.TypeDemote
	if O == 0 && typ != box.TypePromote {
		return unsupported("synchronous requests with zero replica_id")
	}
	if O != q.owner {
		return splitBrain("got a request from a foreign synchro queue owner")
	}
	if !promote {
		if L == 0 {
			return unsupported("zero LSN for CONFIRM/ROLLBACK")
		}
		if q.rules.OutdatedConfirmOK {
			return nil
		}
		return q.boundary(L, false)
	}
	if T == 0 {
		return unsupported("PROMOTE/DEMOTE with a zero term")
	}
	if q.term >= T {
		return splitBrain("got a PROMOTE/DEMOTE with an obsolete term")
	}
	return q.boundary(L, true)
}

// boundary is the queue-boundary check of a request naming LSN L against
// confirmed_lsn and the pending entries.
func (q *Queue) boundary(L uint64, promote bool) *box.Error {
	conf := q.ConfirmedLSN()
	switch {
	case conf == L:
		if promote {
			return nil
		}
		return unsupported("Duplicate CONFIRM/ROLLBACK request")
	case conf > L:
		return splitBrain("got a request with lsn from an already processed range")
	case len(q.entries) == 0:
		return splitBrain("got a request mentioning future lsn")
	}
	first := q.entries[0].LSN
	var last uint64
	for i := len(q.entries) - 1; i >= 0; i-- {
		if q.entries[i].Sync {
			last = q.entries[i].LSN
			break
		}
	}
	if L < first || L > last {
		return splitBrain("got a request lsn out of queue range")
	}
	return nil
}

// Verdict is what a receiver does with a received row or transaction.
type Verdict int

// Verdicts.
const (
	// Accept: written and applied as it is.
	Accept Verdict = iota
	// Nop: written with every row turned into a NOP (same replica id,
	// LSN, TSN and flags; no body).
	Nop
	// Refuse: not written; the applier stops with the error.
	Refuse
)

func (v Verdict) String() string { return [...]string{"accept", "nop", "refuse"}[v] }

// Received describes a transaction received through replication, for
// FilterTx.
type Received struct {
	// FirstOrigin and LastOrigin are the replica ids of its first and
	// last rows.
	FirstOrigin, LastOrigin uint32
	// LastWaitSync: the last row has the WAIT_SYNC flag.
	LastWaitSync bool
	// LastDML: the last row is a data row (not a NOP).
	LastDML bool
	// AllNop: every row is a NOP.
	AllNop bool
}

// ReceivedOf describes the rows of a received transaction for FilterTx;
// ok is false when it has no global row of a replica (nothing to
// filter).
func ReceivedOf(rows []*format.Row) (tx Received, ok bool) {
	tx.AllNop = true
	for _, r := range rows {
		if r.ReplicaID == 0 || r.GroupID == box.GroupLocal {
			continue
		}
		if tx.FirstOrigin == 0 {
			tx.FirstOrigin = r.ReplicaID
		}
		tx.LastOrigin = r.ReplicaID
		tx.LastDML = r.Type.IsDML()
		tx.LastWaitSync = r.Flags&box.FlagWaitSync != 0
		if r.Type != box.TypeNop {
			tx.AllNop = false
		}
	}
	return tx, tx.FirstOrigin != 0
}

// MakeNop turns the data rows of a transaction FilterTx judged Nop into
// NOPs (same replica id, LSN, TSN and flags; no body).
func MakeNop(rows []*format.Row) {
	for _, r := range rows {
		if r.Type.IsDML() {
			r.Type, r.Body = box.TypeNop, nil
		}
	}
}

// FilterTx is the applier's pre-filter for a received data transaction
// (FORMAT.md §6.6.1, §6.6.2; not gated by the split-brain switch): a
// transaction from an origin outdated by a newer PROMOTE is turned into
// NOPs when it was queued and refused (ER_SPLIT_BRAIN) when it was an
// asynchronous one while the queue has an owner.
func (q *Queue) FilterTx(tx Received) (Verdict, *box.Error) {
	if !q.rules.Filters {
		return Accept, nil
	}
	old := splitBrain("got an async transaction from an old term")
	if !q.rules.LastRowFilter {
		// 2.10.1 – 2.11.1: by the first row's origin.
		switch {
		case !q.Outdated(tx.FirstOrigin):
			return Accept, nil
		case tx.LastWaitSync:
			return Nop, nil
		case tx.LastDML && q.owner != 0:
			return Refuse, old
		}
		return Accept, nil
	}
	switch {
	case q.TermOf(tx.LastOrigin) == q.term:
		return Accept, nil
	case tx.LastWaitSync:
		return Nop, nil
	case q.owner == 0, tx.AllNop:
		return Accept, nil
	}
	return Refuse, old
}

// FilterSynchroRow is the applier's pre-filter for a received CONFIRM,
// ROLLBACK, PROMOTE or DEMOTE in generation A from 2.11.2 (3.0.0) on
// (FORMAT.md §6.6.2): Nop when it is written as a NOP, Accept when it
// goes on to FilterSynchro. Other rule sets accept every synchro row here.
func (q *Queue) FilterSynchroRow(typ box.RowType, origin uint32, s format.Synchro) Verdict {
	r := q.rules
	if !r.Filters || r.FiltersB || !r.LastRowFilter {
		return Accept
	}
	current := !q.Outdated(origin)
	if current && !r.SynchroAlwaysFiltered {
		return Accept
	}
	conf, _ := q.Confirmed(s.ReplicaID)
	switch typ {
	case box.TypeConfirm:
		if s.LSN > conf {
			return Accept
		}
		return Nop
	case box.TypeRollback:
		if s.LSN <= conf || (r.SynchroAlwaysFiltered && current) {
			return Accept
		}
		return Nop
	}
	return Accept
}
