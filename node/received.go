package node

import (
	"fmt"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/memtx"
	"github.com/xlogtool/xlogtool/replay"
	"github.com/xlogtool/xlogtool/synchro"
)

// The applier's order of steps for one received transaction (NODE.md §3,
// §4; FORMAT.md §6.6) and the last step of recovery, the transactions
// left waiting for a CONFIRM put back into the queue, pure: no locks, no
// WAL, no network. The node and the replica-set simulation
// (node/raft/sim) both run them (Receiver.Take, PendingRows) and carry
// out what they return with their own I/O.

// Change is one change of a transaction to a replicated space, kept while
// the transaction waits in the queue so that a ROLLBACK can undo it.
type Change struct {
	Space uint32
	Ch    memtx.Change
}

// UndoChanges reverts the changes of a rolled-back transaction in st,
// newest first.
func UndoChanges(st *memtx.State, changes []Change) error {
	var first error
	for i := len(changes) - 1; i >= 0; i-- {
		if err := Undo(st, changes[i].Space, changes[i].Ch); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Receiver is the part of a node that takes in received transactions:
// its queue, its data and its vclock.
type Receiver struct {
	Limbo *Limbo
	State *memtx.State
	// VClock is what the node applied (written or being written); Take
	// follows it with the rows it takes.
	VClock *format.VClock
	// NextTx is the last queue entry id given out; Take gives the next.
	NextTx *uint64
}

// Taken is what a received transaction asks of the node once Take has
// applied it to the queue and the data.
type Taken struct {
	// Rows are the rows to write to the WAL, in order, with their
	// origin's replica id and LSN (the rows the node lacked; an outdated
	// owner's waiting transaction as NOPs). None: nothing new.
	Rows []*format.Row
	// Queued is the queue entry of the transaction (0: it does not wait);
	// Changes are its changes to replicated spaces, to undo should a
	// ROLLBACK come.
	Queued  uint64
	Changes []Change
	// SchemaChanges counts the changes of spaces that bump the schema
	// version; Privileges tells whether users or privileges changed.
	SchemaChanges int
	Privileges    bool
	// Synchro is, for each CONFIRM, ROLLBACK, PROMOTE or DEMOTE row in
	// order, what the queue decided on it.
	Synchro []TakenSynchro
	// Refused, set with Take's error, tells that a split-brain filter or
	// the queue refused the transaction (not a row that cannot be
	// applied). Either way the node ends the link with the error.
	Refused bool
}

// TakenSynchro is the outcome of one received CONFIRM, ROLLBACK, PROMOTE
// or DEMOTE: the transactions it decided and, for PROMOTE and DEMOTE, the
// queue's new owner (0 for DEMOTE) and term, which the election learns.
type TakenSynchro struct {
	Decisions []synchro.Decision
	Claim     bool
	Owner     uint32
	Term      uint64
}

// Take applies a transaction received from a master, in the applier's
// order: rows the node has are skipped; the split-brain filters refuse
// the transaction or turn it into NOPs; its data rows are applied to the
// state as one transaction and its CONFIRM/ROLLBACK/PROMOTE/DEMOTE rows
// filtered; a transaction with data is queued when it has to wait; the
// vclock follows the rows; the synchro rows are applied to the queue.
// On an error nothing is changed. The caller writes Taken.Rows, carries
// out the decisions and acknowledges once the rows are durable.
func (rc Receiver) Take(rows []*format.Row) (Taken, error) {
	var t Taken
	keep := make([]*format.Row, 0, len(rows))
	for _, r := range rows {
		if r.ReplicaID != 0 && r.LSN <= rc.VClock.Get(r.ReplicaID) {
			continue
		}
		keep = append(keep, r)
	}
	if len(keep) == 0 {
		return t, nil
	}
	if rt, ok := synchro.ReceivedOf(keep); ok {
		v, e := rc.Limbo.q.FilterTx(rt)
		if e != nil {
			t.Refused = true
			return t, e
		}
		if v == synchro.Nop {
			// An outdated owner's waiting transaction: written as NOPs, as
			// the new owner's PROMOTE has already decided it.
			synchro.MakeNop(keep)
		}
	}
	st := rc.State
	if err := st.Begin(); err != nil {
		return t, err
	}
	var synchros []*format.Row
	var bodies []format.Synchro
	syncSpace := false
	for _, r := range keep {
		switch {
		case r.Type == box.TypeNop:
		case r.Type.IsDML():
			req, err := RowRequest(r)
			var ch memtx.Change
			if err == nil {
				ch, err = st.Execute(req)
			}
			if err != nil {
				st.Rollback()
				return Taken{}, err
			}
			if sp := st.Space(req.SpaceID); sp != nil {
				syncSpace = syncSpace || sp.IsSync
				if !sp.IsLocal && !sp.Temporary {
					t.Changes = append(t.Changes, Change{Space: req.SpaceID, Ch: ch})
				}
			}
			if schemaSpaces[req.SpaceID] {
				t.SchemaChanges++
			}
			if req.SpaceID == box.SpaceUser || req.SpaceID == box.SpacePriv {
				t.Privileges = true
			}
		case r.Type.IsSynchro():
			s, err := r.Synchro()
			if err != nil {
				st.Rollback()
				return Taken{}, err
			}
			if e := rc.Limbo.FilterReceived(r.Type, r.ReplicaID, s); e != nil {
				st.Rollback()
				return Taken{Refused: true}, e
			}
			synchros = append(synchros, r)
			bodies = append(bodies, s)
		default:
			st.Rollback()
			return Taken{}, box.NewError(box.ErrUnknownRequestType, r.Type)
		}
	}
	if len(t.Changes) > 0 {
		id, err := rc.queue(keep, syncSpace)
		if err != nil {
			st.Rollback()
			return Taken{Refused: true}, err
		}
		t.Queued = id
	}
	st.Commit()
	if t.Queued == 0 {
		t.Changes = nil
	}
	for _, r := range keep {
		if r.ReplicaID != 0 {
			rc.VClock.Follow(r.ReplicaID, r.LSN)
		}
	}
	for i, r := range synchros {
		ts := TakenSynchro{Decisions: rc.Limbo.ApplyReceived(r.Type, r.ReplicaID, bodies[i])}
		if r.Type == box.TypePromote || r.Type == box.TypeDemote {
			ts.Claim, ts.Owner, ts.Term = true, r.ReplicaID, bodies[i].Term
			if r.Type == box.TypeDemote {
				ts.Owner = 0
			}
		}
		t.Synchro = append(t.Synchro, ts)
	}
	t.Rows = keep
	return t, nil
}

// queue puts a received transaction with data into the queue when it has
// to wait there and returns its entry id (0: it does not wait).
func (rc Receiver) queue(rows []*format.Row, syncSpace bool) (uint64, error) {
	last := rows[len(rows)-1]
	sync, queued := rc.Limbo.ClassifyReceived(last.Flags, syncSpace)
	if !queued {
		return 0, nil
	}
	var origin uint32
	var first, lsn uint64
	for _, r := range rows {
		if r.ReplicaID == 0 || r.GroupID == box.GroupLocal {
			continue
		}
		if origin == 0 {
			origin, first = r.ReplicaID, r.LSN
		}
		lsn = r.LSN
	}
	if origin == 0 {
		return 0, nil
	}
	id := *rc.NextTx + 1
	if err := rc.Limbo.AppendReceived(id, origin, first, lsn, sync); err != nil {
		return 0, err
	}
	*rc.NextTx = id
	return id, nil
}

// Restore puts back a transaction recovery found waiting for a CONFIRM
// (its rows are in the WAL, origin's LSNs first to lsn): its data rows are
// applied to the state, as 2.6.0 shows their data, and it is queued again
// with the changes that undo it should a ROLLBACK come. It returns the
// queue entry id and the changes.
func (rc Receiver) Restore(origin uint32, first, lsn uint64, sync bool, rows []*format.Row) (uint64, []Change, error) {
	var changes []Change
	for _, r := range rows {
		if !r.Type.IsDML() {
			continue
		}
		req, err := RowRequest(r)
		var ch memtx.Change
		if err == nil {
			ch, err = rc.State.Execute(req)
		}
		if err != nil {
			return 0, nil, fmt.Errorf("pending transaction at LSN %d: %w", r.LSN, err)
		}
		changes = append(changes, Change{Space: req.SpaceID, Ch: ch})
	}
	*rc.NextTx++
	id := *rc.NextTx
	rc.Limbo.Restore(id, origin, first, lsn, sync)
	return id, changes, nil
}

// PendingRows gathers the rows of the transactions recovery found waiting
// for a CONFIRM (replay.Result.Pending) from the WAL read again, and puts
// them back into the queue (Receiver.Restore), oldest first.
type PendingRows struct {
	spans []pendingSpan
}

type pendingSpan struct {
	info replay.TxInfo
	rows []*format.Row
	file string // where its first row is
}

// NewPendingRows returns the gatherer of the rows of pending.
func NewPendingRows(pending []replay.TxInfo) *PendingRows {
	p := &PendingRows{spans: make([]pendingSpan, len(pending))}
	for i, tx := range pending {
		p.spans[i].info = tx
	}
	return p
}

// Add keeps a copy of row when it belongs to a pending transaction.
func (p *PendingRows) Add(row *format.Row) {
	if !row.Type.IsDML() {
		return
	}
	for i := range p.spans {
		s := &p.spans[i]
		if row.ReplicaID != s.info.ReplicaID || row.LSN < s.info.TSN || row.LSN > s.info.EntryLSN {
			continue
		}
		if s.file == "" {
			s.file = row.Pos.File
		}
		s.rows = append(s.rows, row.Clone())
	}
}

// Restore applies the pending transactions and queues them again, oldest
// first; restored is told each one's queue entry id and the changes that
// undo it.
func (p *PendingRows) Restore(rc Receiver, restored func(id uint64, changes []Change)) error {
	for _, s := range p.spans {
		id, changes, err := rc.Restore(s.info.ReplicaID, s.info.TSN, s.info.EntryLSN, s.info.Sync, s.rows)
		if err != nil {
			if s.file != "" {
				return fmt.Errorf("%s: %w", s.file, err)
			}
			return err
		}
		restored(id, changes)
	}
	return nil
}
