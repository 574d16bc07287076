package format

import "github.com/xlogtool/xlogtool/box"

// TxEnd tells how a transaction ended.
type TxEnd int

// How transactions end.
const (
	// TxCommitted: its last row (with the COMMIT flag; a row decoded
	// without a TSN has it) was read.
	TxCommitted TxEnd = iota
	// TxInterrupted: a row of another transaction of the same stream came
	// before its last row (Tarantool: "Found a new transaction with
	// previous one not yet committed", "replication does not support
	// interleaving transactions").
	TxInterrupted
	// TxUnfinished: the data ended before its last row (End).
	TxUnfinished
)

func (e TxEnd) String() string {
	return [...]string{"committed", "interrupted", "unfinished"}[e]
}

// Tx is a transaction assembled from rows (FORMAT.md §3.4, §3.5).
type Tx struct {
	// TSN is the transaction id: the LSN of its first row.
	TSN uint64
	// Origin is the replica id of its first global row; 0 when it has only
	// local rows.
	Origin uint32
	// FirstLSN is the LSN of its first row read (in that row's component);
	// FirstGlobal and LastGlobal those of its first and last global rows
	// (the last one is the LSN CONFIRM and ROLLBACK name).
	FirstLSN                uint64
	FirstGlobal, LastGlobal uint64
	// Count is the number of rows; DataRows of global rows that are not
	// NOPs (a transaction without any never enters the synchronous queue).
	Count, DataRows int
	// Flags are the flags of its last row read (WAIT_SYNC, WAIT_ACK).
	Flags uint64
	// Time is the timestamp of its first row.
	Time float64
	// Headless: its first global row (else its first row) has an LSN other
	// than the TSN: the rows before it are missing from the data
	// (Tarantool 2.10+ refuses such a log).
	Headless bool
	// End tells how it ended; By is the row that interrupted it (valid
	// until the next Add).
	End TxEnd
	By  *Row
	// Rows are its rows in order, as TxOptions.Retain says.
	Rows []*Row

	// rows and arena hold retained rows: headers and bodies are offsets
	// into arena until the transaction ends.
	rows  []Row
	spans []span
	arena []byte
	open  bool
}

type span struct{ hdr, body, end int }

// Retain says what a TxAssembler keeps of the rows.
type Retain int

// Retention modes.
const (
	// RetainNone: Tx.Rows stays empty; the Tx is valid until the next
	// Add, End or Reset.
	RetainNone Retain = iota
	// RetainBorrow: Tx.Rows are valid until the next Add, End or Reset; a
	// transaction of one row is the row given to Add itself.
	RetainBorrow
	// RetainOwn: every Tx and its rows belong to the caller.
	RetainOwn
)

// TxOptions configure a TxAssembler.
type TxOptions struct {
	// Interleave lets transactions of different replica ids interleave,
	// as relayed rows do and Tarantool's recovery accepts (gh-7932);
	// rows of one replica id still may not. Without it a row of another
	// transaction interrupts the open one (the order a WAL writer and
	// 2.6's recovery keep).
	Interleave bool
	// Retain says what is kept of the rows.
	Retain Retain
	// LocalID is, with Interleave, the replica id under which local rows
	// that belong to no open transaction are gathered (the instance's
	// own id: a transaction may start with local rows).
	LocalID uint32
}

// TxAssembler groups rows into transactions: the one place that knows
// TSN and COMMIT (FORMAT.md §3.4), local rows inside global transactions
// (§3.5), interleaved replica ids, a missing first row and data that ends
// in the middle of a transaction. It is fed rows one at a time, from a
// file or from the network, and returns whole transactions; what to do
// with a broken one is the caller's policy.
//
// Memory is bounded by the open transactions: with RetainNone nothing is
// copied, with RetainBorrow the rows of open multi-row transactions are
// copied into buffers that are reused.
type TxAssembler struct {
	opts TxOptions
	// open holds the open transaction of each replica id (index 0 for the
	// stream without Interleave).
	open [VClockMax]*Tx
	free []*Tx // transactions to reuse (RetainNone, RetainBorrow)
	done []*Tx // returned by the last call, recycled by the next one
	out  []*Tx
	one  Tx
	cur  *Tx
}

// NewTxAssembler returns an assembler with no open transaction.
func NewTxAssembler(opts TxOptions) *TxAssembler {
	if opts.LocalID >= VClockMax {
		opts.LocalID = 0
	}
	return &TxAssembler{opts: opts}
}

// SetLocalID changes TxOptions.LocalID.
func (a *TxAssembler) SetLocalID(id uint32) {
	if id < VClockMax {
		a.opts.LocalID = id
	}
}

func isGlobal(r *Row) bool { return r.ReplicaID != 0 && r.GroupID != box.GroupLocal }

// bucket picks the open transaction a row joins: with Interleave its
// replica id's, or for a local row the one with its TSN.
func (a *TxAssembler) bucket(r *Row) int {
	if !a.opts.Interleave {
		return 0
	}
	if isGlobal(r) {
		if r.ReplicaID >= VClockMax {
			return 0
		}
		return int(r.ReplicaID)
	}
	for i, t := range a.open {
		if t != nil && t.TSN == r.TSN {
			return i
		}
	}
	return int(a.opts.LocalID)
}

// recycle makes the transactions returned by the previous call reusable.
func (a *TxAssembler) recycle() {
	if a.opts.Retain != RetainOwn {
		for _, t := range a.done {
			if t != &a.one {
				a.free = append(a.free, t)
			}
		}
	}
	a.done = a.done[:0]
	a.out = a.out[:0]
}

func (a *TxAssembler) newTx() *Tx {
	if n := len(a.free); n > 0 {
		t := a.free[n-1]
		a.free = a.free[:n-1]
		rows, spans, arena, ptrs := t.rows[:0], t.spans[:0], t.arena[:0], t.Rows[:0]
		*t = Tx{rows: rows, spans: spans, arena: arena, Rows: ptrs}
		return t
	}
	return &Tx{}
}

// Current returns the transaction the last row given to Add belongs to
// (open or just ended), or nil.
func (a *TxAssembler) Current() *Tx { return a.cur }

// AddSplit is Add with the transactions r ends split in two: those it
// interrupts, and the one it completes (then Current), or nil. Both are
// valid until the next call.
func (a *TxAssembler) AddSplit(r *Row) (interrupted []*Tx, done *Tx) {
	ended := a.Add(r)
	if n := len(ended); n > 0 && ended[n-1] == a.cur {
		return ended[:n-1], ended[n-1]
	}
	return ended, nil
}

// Add feeds one row and returns the transactions it ends: those it
// interrupts, then the one it completes, if any. The returned slice is
// valid until the next call.
func (a *TxAssembler) Add(r *Row) []*Tx {
	a.recycle()
	b := a.bucket(r)
	t := a.open[b]
	if t != nil && r.TSN != t.TSN {
		a.finish(b, TxInterrupted, r)
		t = nil
	}
	if t == nil && a.opts.Interleave && isGlobal(r) {
		// A transaction may start with local rows: they wait under
		// LocalID for its first global row.
		if l := int(a.opts.LocalID); l != b {
			if lt := a.open[l]; lt != nil && lt.Origin == 0 && lt.TSN == r.TSN {
				a.open[l], a.open[b] = nil, lt
				t = lt
			}
		}
	}
	commit := r.Commit
	if t == nil && commit {
		// A transaction of one row: nothing to keep.
		t = &a.one
		rows, ptrs := t.rows[:0], t.Rows[:0]
		*t = Tx{rows: rows, Rows: ptrs}
		if a.opts.Retain == RetainOwn {
			t = &Tx{}
		}
		a.start(t, r)
		a.note(t, r)
		seal(t)
		switch a.opts.Retain {
		case RetainBorrow:
			t.Rows = append(t.Rows, r)
		case RetainOwn:
			t.Rows = []*Row{r.Clone()}
		}
		a.cur = t
		a.out = append(a.out, t)
		a.done = append(a.done, t)
		return a.out
	}
	if t == nil {
		t = a.newTx()
		t.open = true
		a.start(t, r)
		a.open[b] = t
	}
	a.note(t, r)
	if a.opts.Retain != RetainNone {
		a.keep(t, r)
	}
	a.cur = t
	if commit {
		a.finish(b, TxCommitted, nil)
	}
	return a.out
}

func (a *TxAssembler) start(t *Tx, r *Row) {
	t.TSN, t.FirstLSN, t.Time = r.TSN, r.LSN, r.Timestamp
}

// note takes a row's header into the transaction's summary.
func (a *TxAssembler) note(t *Tx, r *Row) {
	t.Count++
	t.Flags = r.Flags
	if isGlobal(r) {
		if t.Origin == 0 {
			t.Origin, t.FirstGlobal = r.ReplicaID, r.LSN
			t.Headless = r.LSN != r.TSN
		}
		t.LastGlobal = r.LSN
		if r.Type != box.TypeNop {
			t.DataRows++
		}
	}
}

// keep copies a row of a multi-row transaction into its arena.
func (a *TxAssembler) keep(t *Tx, r *Row) {
	s := span{hdr: len(t.arena)}
	t.arena = append(t.arena, r.RawHeader...)
	s.body = len(t.arena)
	t.arena = append(t.arena, r.Body...)
	s.end = len(t.arena)
	if r.Body == nil {
		s.end = -1
	}
	c := *r
	c.RawHeader, c.Body = nil, nil
	t.rows = append(t.rows, c)
	t.spans = append(t.spans, s)
}

// finish ends the open transaction of bucket b.
func (a *TxAssembler) finish(b int, how TxEnd, by *Row) {
	t := a.open[b]
	a.open[b] = nil
	t.open = false
	t.End, t.By = how, by
	seal(t)
	if a.opts.Retain != RetainNone {
		arena := t.arena
		t.Rows = t.Rows[:0]
		for i := range t.rows {
			s := t.spans[i]
			row := &t.rows[i]
			row.RawHeader = arena[s.hdr:s.body:s.body]
			if s.end >= 0 {
				row.Body = arena[s.body:s.end:s.end]
			}
			t.Rows = append(t.Rows, row)
		}
	}
	a.out = append(a.out, t)
	a.done = append(a.done, t)
}

// seal completes the summary of an ended transaction.
func seal(t *Tx) {
	if t.Origin == 0 && t.FirstLSN != t.TSN {
		// Only local rows: the first one must start the transaction.
		t.Headless = true
	}
}

// End ends the open transactions as unfinished, in the order of their
// replica ids, and returns them (valid until the next call).
func (a *TxAssembler) End() []*Tx {
	a.recycle()
	a.cur = nil
	for b := range a.open {
		if a.open[b] != nil {
			a.finish(b, TxUnfinished, nil)
		}
	}
	return a.out
}

// Reset forgets the open transactions without returning them (the data
// continues after a gap).
func (a *TxAssembler) Reset() {
	a.recycle()
	a.cur = nil
	for b, t := range a.open {
		if t != nil {
			a.open[b] = nil
			if a.opts.Retain != RetainOwn {
				a.free = append(a.free, t)
			}
		}
	}
}

// Open reports whether a transaction is open.
func (a *TxAssembler) Open() bool {
	for _, t := range a.open {
		if t != nil {
			return true
		}
	}
	return false
}
