// Package synchro assembles transactions from log rows and decides their
// fate under Tarantool's synchronous-replication rules: a transaction that
// went through the synchronous queue (the limbo) counts only once a CONFIRM
// (or a PROMOTE/DEMOTE) covers it, and a ROLLBACK discards it together with
// everything queued after it.
//
// The Resolver is a pure state machine fed rows in log order; it emits
// every transaction with its fate as soon as the fate is known, in the
// order Tarantool makes them take effect. replay uses it to rebuild state
// and play to skip rolled-back transactions.
package synchro

import (
	"fmt"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// Fate is what became of a transaction.
type Fate int

// Fates.
const (
	Committed Fate = iota
	RolledBack
	// Pending: still waiting in the queue when the log ended.
	Pending
	// Incomplete: the log ended before the transaction's last row.
	Incomplete
)

func (f Fate) String() string {
	return [...]string{"committed", "rolled back", "pending", "incomplete"}[f]
}

// Tx is one transaction read from a log.
type Tx struct {
	// Rows are copies of the transaction's rows in log order.
	Rows []*format.Row
	// Files names the file of each row.
	Files []string
	// Origin is the replica id of the first global row (0 for a
	// transaction of local rows only).
	Origin uint32
	TSN    uint64
	// EntryLSN is the LSN of the last global row: the LSN that CONFIRM
	// and ROLLBACK refer to.
	EntryLSN uint64
	// Sync: the transaction needed a quorum (WAIT_ACK, or it wrote a
	// synchronous space).
	Sync bool
	// Queued: the transaction went through the queue (a synchronous one,
	// or an asynchronous one committed behind synchronous ones).
	Queued bool
	// Headless: the first global row read is not the transaction's first
	// (its LSN differs from the TSN): the rows before it are missing from
	// the log. Tarantool 2.10+ refuses such a log.
	Headless bool
}

// Event reports the fate of a transaction, or a synchronous-replication
// row that changed the queue (Tx nil, Row set).
type Event struct {
	Tx   *Tx
	Fate Fate
	// By is the CONFIRM, ROLLBACK, PROMOTE or DEMOTE row that decided the
	// fate (nil for transactions committed without waiting).
	By *format.Row
	// ByFile is the file of By.
	ByFile string
}

// Options configure a Resolver.
type Options struct {
	// IsSync tells whether a space is synchronous. Files written before
	// Tarantool 2.6.3 do not mark synchronous transactions, so the
	// resolver asks about the spaces a transaction writes.
	IsSync func(spaceID uint32) bool
}

type txKey struct {
	origin uint32
	tsn    uint64
}

// State is the queue state visible to callers.
type State struct {
	// Owner is the queue owner (0 when unclaimed).
	Owner uint32
	// Term is the greatest PROMOTE/DEMOTE term seen.
	Term uint64
	// ConfirmedLSN is the owner's highest confirmed LSN.
	ConfirmedLSN uint64
	// Queued is the number of transactions waiting.
	Queued int
}

// Resolver decides the fate of transactions.
type Resolver struct {
	opts  Options
	open  map[txKey]*Tx
	order []*Tx // open transactions in order of their first row
	queue []*Tx
	state State
	out   []Event
}

// New returns a resolver with an empty, unclaimed queue.
func New(opts Options) *Resolver {
	return &Resolver{opts: opts, open: make(map[txKey]*Tx)}
}

// State returns the current queue state.
func (r *Resolver) State() State {
	s := r.state
	s.Queued = len(r.queue)
	return s
}

// Restore sets the queue state recorded in a snapshot (its PROMOTE row).
func (r *Resolver) Restore(owner uint32, confirmed, term uint64) {
	r.state.Owner, r.state.ConfirmedLSN = owner, confirmed
	if term > r.state.Term {
		r.state.Term = term
	}
}

// Add feeds one row and returns the events it caused, in the order their
// effects take place. The row is copied where it is kept.
func (r *Resolver) Add(file string, row *format.Row) ([]Event, error) {
	r.out = r.out[:0]
	switch {
	case row.Type.IsSynchro():
		if err := r.synchro(file, row); err != nil {
			return nil, err
		}
		return r.out, nil
	case row.Type == box.TypeRaft:
		return nil, nil
	}
	key := txKey{origin: row.ReplicaID, tsn: row.TSN}
	if row.ReplicaID == 0 {
		// A local row belongs to the open transaction with its tsn, if
		// any (its tsn comes from the transaction's first global row).
		for _, tx := range r.order {
			if tx.TSN == row.TSN {
				key = txKey{origin: tx.Origin, tsn: tx.TSN}
				break
			}
		}
	}
	tx := r.open[key]
	if tx == nil && row.ReplicaID != 0 {
		// A transaction may start with local rows: they wait under
		// origin 0 for its first global row.
		local := txKey{tsn: row.TSN}
		if tx = r.open[local]; tx != nil {
			delete(r.open, local)
			r.open[key] = tx
		}
	}
	if tx == nil {
		tx = &Tx{Origin: row.ReplicaID, TSN: row.TSN}
		r.open[key] = tx
		r.order = append(r.order, tx)
	}
	tx.Rows = append(tx.Rows, row.Clone())
	tx.Files = append(tx.Files, file)
	if row.ReplicaID != 0 {
		if tx.EntryLSN == 0 {
			tx.Origin = row.ReplicaID
			tx.Headless = row.LSN != tx.TSN
		}
		tx.EntryLSN = row.LSN
	}
	if row.WaitAck() {
		tx.Sync = true
	}
	if row.WaitSync() {
		tx.Queued = true
	}
	if !tx.Sync && r.opts.IsSync != nil && row.Type.IsDML() {
		if sid, ok := row.SpaceID(); ok && r.opts.IsSync(sid) {
			tx.Sync = true
		}
	}
	if !row.Commit {
		return r.out, nil
	}
	delete(r.open, key)
	for i, o := range r.order {
		if o == tx {
			r.order = append(r.order[:i], r.order[i+1:]...)
			break
		}
	}
	r.commit(tx)
	return r.out, nil
}

// commit handles a transaction whose last row was written.
func (r *Resolver) commit(tx *Tx) {
	global := tx.Origin != 0 && !allNop(tx)
	if tx.Sync && global {
		tx.Queued = true
	}
	if global && len(r.queue) > 0 {
		tx.Queued = true
	}
	if !tx.Queued || !global {
		tx.Queued = false
		r.out = append(r.out, Event{Tx: tx, Fate: Committed})
		return
	}
	if len(r.queue) == 0 && r.state.Owner == 0 && tx.Sync {
		// Before explicit ownership (PROMOTE), the origin of the first
		// synchronous transaction entering an empty queue owns it.
		r.state.Owner = tx.Origin
	}
	r.queue = append(r.queue, tx)
}

func allNop(tx *Tx) bool {
	for _, row := range tx.Rows {
		if row.Type != box.TypeNop {
			return false
		}
	}
	return true
}

func (r *Resolver) synchro(file string, row *format.Row) error {
	s, err := row.Synchro()
	if err != nil {
		return fmt.Errorf("%s: offset %d: %s body: %w", file, row.Pos.FileOffset(), row.Type, err)
	}
	by := row.Clone()
	switch row.Type {
	case box.TypeConfirm:
		if r.owns(s.ReplicaID) {
			r.confirm(s.LSN, by, file)
		}
	case box.TypeRollback:
		if r.owns(s.ReplicaID) {
			r.rollback(s.LSN, by, file)
		}
	case box.TypePromote, box.TypeDemote:
		if s.Term > r.state.Term {
			r.state.Term = s.Term
		}
		r.confirm(s.LSN, by, file)
		r.rollbackAll(by, file)
		if row.Type == box.TypePromote {
			origin := row.ReplicaID
			if origin == 0 { // snapshot form: the body names the owner
				origin = s.ReplicaID
			}
			r.state.Owner = origin
		} else {
			r.state.Owner = 0
		}
		r.state.ConfirmedLSN = s.LSN
		if row.ReplicaID != 0 && row.ReplicaID != s.ReplicaID {
			r.state.ConfirmedLSN = 0
		}
	}
	return nil
}

// owns reports whether CONFIRM/ROLLBACK naming this owner apply: requests
// for another instance's queue are ignored.
func (r *Resolver) owns(owner uint32) bool {
	if r.state.Owner != 0 {
		return owner == r.state.Owner
	}
	return len(r.queue) == 0 || r.queue[0].Origin == owner
}

// confirm commits every queued transaction before the first synchronous
// one whose entry LSN is above lsn.
func (r *Resolver) confirm(lsn uint64, by *format.Row, file string) {
	n := 0
	for _, tx := range r.queue {
		if tx.Sync && tx.EntryLSN > lsn {
			break
		}
		r.out = append(r.out, Event{Tx: tx, Fate: Committed, By: by, ByFile: file})
		n++
	}
	r.queue = r.queue[n:]
	if lsn > r.state.ConfirmedLSN {
		r.state.ConfirmedLSN = lsn
	}
}

// rollback discards the oldest synchronous transaction with entry LSN >=
// lsn and everything queued after it, newest first.
func (r *Resolver) rollback(lsn uint64, by *format.Row, file string) {
	first := -1
	for i, tx := range r.queue {
		if tx.Sync && tx.EntryLSN >= lsn {
			first = i
			break
		}
	}
	if first < 0 {
		return
	}
	for i := len(r.queue) - 1; i >= first; i-- {
		r.out = append(r.out, Event{Tx: r.queue[i], Fate: RolledBack, By: by, ByFile: file})
	}
	r.queue = r.queue[:first]
}

func (r *Resolver) rollbackAll(by *format.Row, file string) {
	for i := len(r.queue) - 1; i >= 0; i-- {
		r.out = append(r.out, Event{Tx: r.queue[i], Fate: RolledBack, By: by, ByFile: file})
	}
	r.queue = r.queue[:0]
}

// End reports the transactions left: queued ones as Pending, and those
// whose last row never came as Incomplete.
func (r *Resolver) End() []Event {
	var out []Event
	for _, tx := range r.queue {
		out = append(out, Event{Tx: tx, Fate: Pending})
	}
	for _, tx := range r.order {
		out = append(out, Event{Tx: tx, Fate: Incomplete})
	}
	r.queue, r.order = nil, nil
	r.open = make(map[txKey]*Tx)
	return out
}
