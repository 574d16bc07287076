package node

import (
	"sort"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/synchro"
)

// Limbo is the synchronous transaction queue of an instance, as 2.6.0 runs
// it (NODE.md §4): a pure state machine. Transactions, acknowledgements,
// the writes of CONFIRM and ROLLBACK rows and the passing of time come in;
// the CONFIRM or ROLLBACK to write next and the fate of each transaction
// come out. Which transactions wait and what a CONFIRM or ROLLBACK
// decides is the one queue interpreter's (synchro.Queue); the limbo adds
// the writer's side: acks counted against the quorum and the timeouts.
type Limbo struct {
	q      *synchro.Queue
	self   uint32
	quorum int

	acks    [format.VClockMax]uint64 // per replica: highest owner LSN acknowledged
	counts  map[uint64]int           // per synchronous entry LSN: acks counted
	written map[uint64]float64       // per entry LSN: when its WAL write ended

	// pendingConfirm is the newest LSN that has its quorum; writing is
	// the CONFIRM or ROLLBACK row being written (0: none).
	pendingConfirm uint64
	confirmed      uint64
	writing        bool
	rollingBack    bool
}

// NewLimbo returns the empty queue of instance self.
func NewLimbo(self uint32, quorum int) *Limbo {
	q := synchro.NewQueue(synchro.Options{})
	q.SetRules(synchro.RulesFor("2.6.0"))
	return &Limbo{q: q, self: self, quorum: quorum, counts: map[uint64]int{}, written: map[uint64]float64{}}
}

// Empty reports whether no transaction waits.
func (l *Limbo) Empty() bool { return l.q.Empty() }

// Len returns the number of waiting transactions.
func (l *Limbo) Len() int64 { return l.q.Len() }

// Owner returns the queue owner (0: none yet).
func (l *Limbo) Owner() uint32 {
	o, _ := l.q.Owner()
	return o
}

// Queued tells whether a new local transaction waits in the queue: a
// synchronous one always, an asynchronous one behind waiting ones.
func (l *Limbo) Queued(sync bool) bool {
	// The flags the transaction's rows get (rules that classify by
	// flags, 2.11 with elections on, read them; 2.6.0's by the space).
	var flags uint64
	if sync {
		flags = box.FlagWaitAck | box.FlagWaitSync
	} else if !l.q.Empty() {
		flags = box.FlagWaitSync
	}
	_, queued := l.q.Classify(flags, sync)
	return queued
}

// Append queues a local transaction with its LSN range (its rows are being
// written). It returns the error a client gets when it cannot enter the
// queue (2.6.0: the queue holds another instance's transactions).
func (l *Limbo) Append(id uint64, first, lsn uint64, sync bool) *box.Error {
	if !l.q.Empty() {
		if es := l.q.Entries(); es[0].Origin != l.self {
			return box.NewError(box.ErrUncommittedForeignSyncTxns, es[0].Origin)
		}
	}
	if l.rollingBack {
		return box.NewError(box.ErrSyncRollback)
	}
	st := l.q.Commit(synchro.Entry{Origin: l.self, First: first, LSN: lsn, Sync: sync, ID: id}, true)
	if st.Conflict != synchro.NoConflict {
		return box.NewError(box.ErrUncommittedForeignSyncTxns, st.Owner)
	}
	return nil
}

// Restore queues a transaction found pending by recovery (its rows are in
// the WAL without a CONFIRM or ROLLBACK). Like 2.6.0 it never times out: a
// CONFIRM or ROLLBACK covering it decides it.
func (l *Limbo) Restore(id uint64, origin uint32, first, lsn uint64, sync bool) {
	l.q.Commit(synchro.Entry{Origin: origin, First: first, LSN: lsn, Sync: sync, ID: id}, true)
	if origin == l.self {
		l.Ack(l.self, lsn) // it is in this instance's WAL
	}
}

// Written records that the WAL write of the transaction ending at lsn is
// done at time now: the instance's own acknowledgement.
func (l *Limbo) Written(lsn uint64, now float64) {
	l.written[lsn] = now
	l.Ack(l.self, lsn)
}

// Ack records that replica wrote the owner's rows up to lsn and counts it
// for every synchronous entry it newly covers.
func (l *Limbo) Ack(replica uint32, lsn uint64) {
	if replica >= format.VClockMax || lsn <= l.acks[replica] {
		return
	}
	prev := l.acks[replica]
	l.acks[replica] = lsn
	for _, e := range l.q.Entries() {
		if e.LSN > lsn {
			break
		}
		if !e.Sync || e.LSN <= prev {
			continue
		}
		l.counts[e.LSN]++
		if l.counts[e.LSN] >= l.quorum && e.LSN > l.pendingConfirm {
			l.pendingConfirm = e.LSN
		}
	}
}

// SetQuorum changes replication_synchro_quorum: entries that already have
// the new quorum become confirmable.
func (l *Limbo) SetQuorum(q int) {
	l.quorum = q
	for _, e := range l.q.Entries() {
		if e.Sync && l.counts[e.LSN] >= q && e.LSN > l.pendingConfirm {
			l.pendingConfirm = e.LSN
		}
	}
}

// NextWrite returns the synchro row to write now, if any: a CONFIRM for
// the newest entry with its quorum (one write at a time; acks that arrive
// meanwhile collapse into the next one).
func (l *Limbo) NextWrite() (typ box.RowType, body format.Synchro, ok bool) {
	if l.writing || l.rollingBack || l.pendingConfirm <= l.confirmed {
		return 0, format.Synchro{}, false
	}
	l.writing = true
	return box.TypeConfirm, format.Synchro{ReplicaID: l.self, LSN: l.pendingConfirm}, true
}

// Timeout returns the ROLLBACK to write when the oldest entry has waited
// longer than timeout seconds since its WAL write (NODE.md §4.5).
func (l *Limbo) Timeout(now, timeout float64) (body format.Synchro, ok bool) {
	if l.writing || l.rollingBack || l.q.Empty() {
		return format.Synchro{}, false
	}
	head := l.q.Entries()[0]
	if !head.Sync {
		return format.Synchro{}, false
	}
	w, done := l.written[head.LSN]
	if !done || now-w < timeout {
		return format.Synchro{}, false
	}
	l.writing, l.rollingBack = true, true
	return format.Synchro{ReplicaID: l.self, LSN: head.LSN}, true
}

// Applied records that a CONFIRM or ROLLBACK row is written and returns
// the decisions it makes: confirmed entries in queue order, rolled-back
// ones newest first.
func (l *Limbo) Applied(typ box.RowType, s format.Synchro) []synchro.Decision {
	l.writing = false
	if typ == box.TypeRollback {
		l.rollingBack = false
	}
	st := l.q.Apply(typ, l.self, s)
	if typ == box.TypeConfirm && s.LSN > l.confirmed {
		l.confirmed = s.LSN
	}
	l.settle(typ, s)
	return l.decided(st.Decisions)
}

// settle follows a ROLLBACK, PROMOTE or DEMOTE: it forgets a CONFIRM
// still to write for entries it decided (a former owner that takes the
// queue again must not confirm what a PROMOTE rolled back) and starts
// the confirmed LSN of a new ownership.
func (l *Limbo) settle(typ box.RowType, s format.Synchro) {
	if typ == box.TypePromote || typ == box.TypeDemote {
		// A new ownership: its confirmed LSN is the queue's (before
		// 2.11.2 it restarts when the queue changes hands), the one
		// the next PROMOTE names and receivers check it against.
		l.confirmed = l.q.ConfirmedLSN()
	}
	if l.pendingConfirm <= l.confirmed {
		return
	}
	for _, e := range l.q.Entries() {
		if e.Origin == l.self && e.LSN == l.pendingConfirm {
			return
		}
	}
	l.pendingConfirm = l.confirmed
}

// Recovered restores the queue's owner, term, confirmed LSN and every
// owner's confirmed LSN that recovery (replay.Result.Queue) or a join
// found, when a PROMOTE or DEMOTE told them. The other owners' confirmed
// LSNs decide whether a former owner's late CONFIRM is accepted
// (FilterReceived): without them a restarted node refused what it
// accepted before the restart.
func (l *Limbo) Recovered(qs synchro.State) {
	if qs.TermKnown && qs.Term != 0 {
		l.q.Restore(&format.Synchro{ReplicaID: qs.Owner, LSN: qs.ConfirmedLSN, Term: qs.Term, HasTerm: true})
		l.q.RestoreConfirmed(qs.Confirmed)
	}
}

// ClassifyReceived tells whether a transaction received from another
// instance is synchronous and whether it waits in the queue (2.6.0: by the
// spaces it wrote, as its rows carry no flags).
func (l *Limbo) ClassifyReceived(flags uint64, syncSpace bool) (sync, queued bool) {
	return l.q.Classify(flags, syncSpace)
}

// AppendReceived queues a transaction received from origin: on a follower
// it waits for the origin's CONFIRM or ROLLBACK and never times out.
func (l *Limbo) AppendReceived(id uint64, origin uint32, first, lsn uint64, sync bool) *box.Error {
	st := l.q.Commit(synchro.Entry{Origin: origin, First: first, LSN: lsn, Sync: sync, ID: id}, true)
	if st.Conflict != synchro.NoConflict {
		return box.NewError(box.ErrUncommittedForeignSyncTxns, st.Owner)
	}
	return nil
}

// ApplyReceived applies a CONFIRM or ROLLBACK written by origin and
// received from the stream; it returns the decisions it makes.
func (l *Limbo) ApplyReceived(typ box.RowType, origin uint32, s format.Synchro) []synchro.Decision {
	st := l.q.Apply(typ, origin, s)
	l.settle(typ, s)
	return l.decided(st.Decisions)
}

// decided drops the bookkeeping of the entries decisions settle and
// returns a copy of the decisions.
func (l *Limbo) decided(ds []synchro.Decision) []synchro.Decision {
	out := append([]synchro.Decision(nil), ds...)
	for _, d := range out {
		delete(l.counts, d.Entry.LSN)
		delete(l.written, d.Entry.LSN)
	}
	return out
}

// Entries returns the waiting transactions, oldest first.
func (l *Limbo) Entries() []synchro.Entry { return l.q.Entries() }

// Queue returns the queue interpreter the limbo runs on (to read it, and
// to choose its rules).
func (l *Limbo) Queue() *synchro.Queue { return l.q }

// Claim returns the body of the PROMOTE (or DEMOTE) of term with which
// this instance takes the queue (NODE.md §5.7, §4.9): the old owner and
// the LSN up to which its entries are confirmed; the entries after it are
// rolled back when the row is applied. quorumLSN(owner) is the newest LSN
// of owner that a quorum has. ready is false while a synchronous entry of
// another old owner has no quorum yet: the claim waits for it.
func (l *Limbo) Claim(term uint64, quorumLSN func(owner uint32) uint64) (body format.Synchro, ready bool) {
	owner := l.Owner()
	lsn := l.q.ConfirmedLSN()
	switch owner {
	case 0:
	case l.self:
		// Its own entries are confirmed once they all have their
		// quorum (box_wait_limbo_acked): one without an ACK known here
		// may have its quorum all the same (ACKs lost in a restart), and
		// a leader that confirmed it may follow.
		done := max(l.confirmed, l.pendingConfirm)
		for _, e := range l.q.Entries() {
			if !e.Sync {
				continue
			}
			if e.LSN > done {
				return format.Synchro{}, false
			}
			lsn = max(lsn, e.LSN)
		}
		lsn = max(lsn, done)
	default:
		q := quorumLSN(owner)
		for _, e := range l.q.Entries() {
			if e.Origin != owner || !e.Sync {
				continue
			}
			if e.LSN > q {
				return format.Synchro{}, false
			}
			lsn = max(lsn, e.LSN)
		}
	}
	return format.Synchro{ReplicaID: owner, LSN: lsn, Term: term, HasTerm: true}, true
}

// FilterReceived is the split-brain filter for a CONFIRM, ROLLBACK,
// PROMOTE or DEMOTE received from origin (FORMAT.md §6.6): nil when it is
// accepted, else the error that ends the link.
func (l *Limbo) FilterReceived(typ box.RowType, origin uint32, s format.Synchro) *box.Error {
	if typ == box.TypeConfirm {
		// An old owner's CONFIRM of what a newer PROMOTE already
		// confirmed (a killed leader's last row, relayed after its
		// restart) contradicts nothing: accepted as 2.11.8 does, not a
		// split-brain that would cut the old owner off for good.
		if conf, ok := l.q.Confirmed(s.ReplicaID); ok && s.LSN <= conf {
			return nil
		}
	}
	return l.q.FilterSynchro(typ, origin, s)
}

// QuorumLSN returns the newest LSN that quorum of the given LSNs (one per
// instance: this one's and its connected replicas' acknowledgements) have
// reached; 0 when fewer than quorum are given. lsns is reordered.
func QuorumLSN(lsns []uint64, quorum int) uint64 {
	if quorum < 1 || len(lsns) < quorum {
		return 0
	}
	sort.Slice(lsns, func(i, j int) bool { return lsns[i] > lsns[j] })
	return lsns[quorum-1]
}
