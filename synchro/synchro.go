// Package synchro is the one interpreter of Tarantool's synchronous
// replication as logs and replication streams show it: which
// transactions wait in the synchronous queue (the limbo), who owns the
// queue in which term, and what becomes of each transaction — committed
// at once, confirmed by a CONFIRM (or a PROMOTE/DEMOTE), rolled back by a
// ROLLBACK together with everything queued after it, or still pending.
//
// Queue is the state machine: fed committed transactions and synchro
// requests in log order, it returns decisions and the state it met, with
// the rules of the writer's version (Rules, RulesFor: implicit ownership
// in 2.5–2.8.1 including the clear_synchro_queue takeover, PROMOTE/DEMOTE
// and terms from 2.6.3, the split-brain filters of 2.10.1+ in Filter*).
// It keeps what a log does not tell apart (unknown owner, term, confirmed
// LSNs) and bounds its memory. verify uses it directly (CommitTx with the
// transactions format.TxAssembler returns, Apply with the synchro rows),
// stats asks it which transactions are synchronous, and the node's limbo
// adds the writer's side (acks, quorum, timeouts) on top of it; a
// follower or tail feeds it one transaction or synchro row at a time, as
// they arrive.
//
// Resolver builds on it for readers that want whole transactions with
// their rows: it assembles rows into transactions (format.TxAssembler) and
// emits each with its fate as soon as the fate is known, in the order
// Tarantool makes them take effect (replay, play).
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
	// Committed: took effect without waiting in the queue.
	Committed Fate = iota
	// Confirmed: waited in the queue and was confirmed (CONFIRM,
	// PROMOTE, DEMOTE).
	Confirmed
	// RolledBack: waited and was rolled back.
	RolledBack
	// Pending: still waiting in the queue when the log ended.
	Pending
	// Incomplete: the log ended before the transaction's last row.
	Incomplete
)

func (f Fate) String() string {
	return [...]string{"committed", "confirmed", "rolled back", "pending", "incomplete"}[f]
}

// Applied reports whether the transaction takes effect.
func (f Fate) Applied() bool { return f == Committed || f == Confirmed }

// Tx is one transaction read from a log, with its rows (copies; each
// names its file in Pos).
type Tx struct {
	format.Tx
	// EntryLSN is the LSN of the last global row: the LSN that CONFIRM
	// and ROLLBACK refer to.
	EntryLSN uint64
	// Sync: the transaction needed a quorum (WAIT_ACK, or it wrote a
	// synchronous space).
	Sync bool
	// Queued: the transaction went through the queue (a synchronous one,
	// or an asynchronous one committed behind synchronous ones).
	Queued bool
}

// Event reports the fate of a transaction.
type Event struct {
	Tx   *Tx
	Fate Fate
	// By is the CONFIRM, ROLLBACK, PROMOTE or DEMOTE row that decided the
	// fate (nil for transactions committed without waiting).
	By *format.Row
}

// Resolver assembles transactions from rows (format.TxAssembler) and
// decides their fate with a Queue.
type Resolver struct {
	opts   Options
	q      *Queue
	asm    *format.TxAssembler
	queued map[uint64]*Tx
	nextID uint64
	out    []Event
}

// New returns a resolver with an empty, unclaimed queue and the rules for
// rows of an unknown writer until SetVersion names one.
func New(opts Options) *Resolver {
	q := NewQueue(Options{Limit: opts.Limit})
	q.SetRules(LenientRules())
	return &Resolver{opts: opts, q: q, queued: make(map[uint64]*Tx),
		asm: format.NewTxAssembler(format.TxOptions{Interleave: true, Retain: format.RetainOwn})}
}

// SetVersion selects the rules of the writer of the rows that follow (a
// file header's Version line; "" for an unknown writer).
func (r *Resolver) SetVersion(v string) {
	if v == "" {
		r.q.SetRules(LenientRules())
		return
	}
	r.q.SetRules(RulesFor(v))
}

// Queue returns the resolver's queue (to read, not to feed).
func (r *Resolver) Queue() *Queue { return r.q }

// State returns the current queue state.
func (r *Resolver) State() State { return r.q.State() }

// Restore sets the queue state recorded in a snapshot (its PROMOTE row).
func (r *Resolver) Restore(s *format.Synchro) { r.q.Restore(s) }

// Add feeds one row and returns the events it caused, in the order their
// effects take place (valid until the next call): a transaction whose
// last row never came is Incomplete as soon as a row of another
// transaction of its replica id shows it. The row is copied where it is
// kept.
func (r *Resolver) Add(row *format.Row) ([]Event, error) {
	r.out = r.out[:0]
	switch {
	case row.Type.IsSynchro():
		if err := r.synchro(row); err != nil {
			return nil, err
		}
		return r.out, nil
	case row.Type == box.TypeRaft:
		return nil, nil
	}
	for _, t := range r.asm.Add(row) {
		tx := &Tx{Tx: *t, EntryLSN: t.LastGlobal}
		if t.End != format.TxCommitted {
			r.out = append(r.out, Event{Tx: tx, Fate: Incomplete})
			continue
		}
		r.commit(tx)
	}
	return r.out, nil
}

// commit handles a transaction whose last row was read.
func (r *Resolver) commit(tx *Tx) {
	syncSpace := false
	if r.opts.IsSync != nil {
		for _, row := range tx.Rows {
			if !row.Type.IsDML() {
				continue
			}
			if sid, ok := row.SpaceID(); ok && r.opts.IsSync(sid) {
				syncSpace = true
				break
			}
		}
	}
	r.nextID++
	id := r.nextID
	st := r.q.CommitTx(&tx.Tx, syncSpace, id)
	if st.Skipped {
		r.out = append(r.out, Event{Tx: tx, Fate: Committed})
		return
	}
	tx.Sync, tx.Queued = st.Sync, st.Queued
	if st.Queued {
		r.queued[id] = tx
	}
	r.decisions(st.Decisions, nil, tx, id)
}

// decisions turns the queue's decisions into events; tx is the
// transaction just committed (with its id), not yet in the table.
func (r *Resolver) decisions(ds []Decision, by *format.Row, cur *Tx, curID uint64) {
	for _, d := range ds {
		tx := r.queued[d.Entry.ID]
		if tx != nil {
			delete(r.queued, d.Entry.ID)
		} else if d.Entry.ID == curID {
			tx = cur
		}
		if tx == nil {
			continue
		}
		ev := Event{Tx: tx, Fate: d.Fate}
		if d.Fate != Committed {
			ev.By = by
		}
		r.out = append(r.out, ev)
	}
}

func (r *Resolver) synchro(row *format.Row) error {
	s, err := row.Synchro()
	if err != nil {
		return fmt.Errorf("%s: offset %d: %s body: %w", row.Pos.File, row.Pos.FileOffset(), row.Type, err)
	}
	if row.Type == box.TypePromote && row.ReplicaID == 0 {
		// The snapshot form: the queue state at the snapshot.
		r.q.Restore(&s)
		return nil
	}
	st := r.q.Apply(row.Type, row.ReplicaID, s)
	if len(st.Decisions) > 0 {
		r.decisions(st.Decisions, row.Clone(), nil, 0)
	}
	return nil
}

// End reports the transactions left: queued ones as Pending, and those
// whose last row never came as Incomplete.
func (r *Resolver) End() []Event {
	var out []Event
	for _, d := range r.q.End() {
		if tx := r.queued[d.Entry.ID]; tx != nil {
			out = append(out, Event{Tx: tx, Fate: Pending})
		}
	}
	for _, t := range r.asm.End() {
		out = append(out, Event{Tx: &Tx{Tx: *t, EntryLSN: t.LastGlobal}, Fate: Incomplete})
	}
	r.queued = make(map[uint64]*Tx)
	return out
}
