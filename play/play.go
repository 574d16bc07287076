// Package play applies the rows of Tarantool write-ahead logs and snapshots
// to a live server over IPROTO, like `tt play`, but transaction-aware:
//
//   - every row goes through a synchro.Resolver, and only transactions that
//     were committed are applied, in the order they took effect; those
//     rolled back by the synchronous queue, and those still waiting for a
//     quorum when the logs end, are not;
//   - synchronous-replication, RAFT and NOP rows are never sent;
//   - a multi-row transaction is applied atomically (BEGIN, its rows,
//     COMMIT in one IPROTO stream) where the server has streams (2.10+);
//     on older servers it is applied row by row;
//   - requests are pipelined: up to Window requests are on the wire;
//   - the position reached is kept in a state file, so that a second run
//     after a failure applies nothing twice.
//
// DML bodies are sent exactly as they were read from the file.
package play

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/synchro"
)

// Defaults.
const (
	// DefaultWindow is how many requests may await their answer at once.
	DefaultWindow = 256
	// DefaultSaveEvery is how often the state file is rewritten while
	// playing (it is always written at the end).
	DefaultSaveEvery = time.Second
	// DefaultTimeout bounds the wait for an answer.
	DefaultTimeout = time.Minute
	// lostGrace is how long answers are still awaited once the connection
	// is known to be lost or the server to be stuck (at most Timeout).
	lostGrace = 2 * time.Second
)

// Options configure a Player.
type Options struct {
	// Filter selects the rows to apply; nil selects the rows of every
	// space from 512 up (system spaces are not played). Transactions are
	// played with the rows the filter keeps.
	Filter *format.Filter
	// Force skips damaged blocks (as force_recovery); without it play
	// stops at the first damage.
	Force bool
	// SyncSpaces names synchronous spaces, for logs written before
	// Tarantool 2.6.3 (they do not flag synchronous transactions) whose
	// _space rows are not among the files played.
	SyncSpaces []uint32
	// Window bounds the requests awaiting an answer; default DefaultWindow.
	// 1 sends one request at a time.
	Window int
	// NoStreams applies multi-row transactions row by row even when the
	// server has streams.
	NoStreams bool
	// DryRun sends nothing: Print gets every row that would be sent.
	DryRun bool
	Print  func(file string, row *format.Row) error
	// StatePath is the state file: read at the start (a missing file means
	// nothing was played yet) and rewritten atomically while playing and
	// at the end. Empty: no state is kept.
	StatePath string
	// SaveEvery is how often the state file is rewritten; default
	// DefaultSaveEvery.
	SaveEvery time.Duration
	// Timeout bounds the wait for each answer; default DefaultTimeout.
	Timeout time.Duration
	// OnIssue gets the warnings about the files (torn tails, missing EOF
	// markers) and, with Force, the damage skipped.
	OnIssue func(*format.Error)
	// OnNotice gets one-line notes worth telling the user.
	OnNotice func(msg string)
	// OnProgress gets the number of file bytes read so far, now and then.
	OnProgress func(bytes int64)
}

// Summary tells what a play did. Rows are counted as found in the files.
type Summary struct {
	DryRun bool
	// Atomic: multi-row transactions were applied in streams.
	Atomic bool
	Files  int
	// RowsRead counts every row read.
	RowsRead int64
	// RowsSent counts the DML requests sent (in a dry run, printed).
	RowsSent int64
	// RowsApplied counts the rows the server applied.
	RowsApplied int64
	// RowsFiltered counts DML rows of committed transactions that the
	// filter left out (system spaces by default).
	RowsFiltered int64
	// RowsDuplicate counts log rows read before in this run (a file given
	// twice under two names, overlapping copies): they are not played
	// again.
	RowsDuplicate int64
	// RowsResumed counts rows the previous run sent and the target
	// executed without its answer reaching play (its vclock tells): they
	// are recorded as applied and not sent again.
	RowsResumed int64
	// RowsAlreadyApplied counts rows skipped because the state file says
	// they were applied by an earlier run.
	RowsAlreadyApplied int64
	// NotSent counts the rows of types that are never sent, by type: NOP,
	// RAFT, PROMOTE, DEMOTE, CONFIRM, ROLLBACK and any non-DML row.
	NotSent map[box.RowType]int64

	// TxApplied counts the transactions applied (whole).
	TxApplied int64
	// TxMultiRow counts those of more than one row.
	TxMultiRow int64
	// TxRolledBack counts the transactions skipped because the
	// synchronous queue rolled them back.
	TxRolledBack int64
	// TxFiltered counts committed transactions with nothing left to send
	// after the filter.
	TxFiltered int64
	// TxAlreadyApplied counts transactions the state file says an earlier
	// run applied.
	TxAlreadyApplied int64
	// TxCovered counts transactions skipped because a file read before
	// them in this run holds them already: the rows of a snapshot whose
	// vclock the logs played reach, the log rows a snapshot played holds.
	TxCovered int64
	// RowsCovered counts their rows.
	RowsCovered int64
	// TxPending counts synchronous transactions still waiting for a quorum
	// when the logs end, and the transactions queued behind them; they are
	// not applied (a later run with more logs may apply them).
	TxPending int64
	// TxIncomplete counts transactions whose last row is missing (a torn
	// log); they are not applied.
	TxIncomplete int64
	// TxHeadless counts transactions whose first rows are missing from the
	// logs (their first row read has LSN != TSN); they are not applied, as
	// Tarantool 2.10+ refuses to recover or replicate them.
	TxHeadless int64
	// TxPartial counts transactions left half-applied (only when applied
	// row by row and one of their rows was rejected).
	TxPartial int64
	// TxAfterFailure counts transactions applied after the rejected
	// request: they were on the wire already. The state file records them.
	TxAfterFailure int64
	// Unanswered counts requests that got no answer: their effect is
	// unknown.
	Unanswered int64

	// Resume is the state vclock at the end: every transaction of replica
	// R up to Resume[R] has been applied.
	Resume  format.VClock
	Elapsed time.Duration
}

// Player applies log files to a server.
type Player struct {
	conn   *client.Conn
	opts   Options
	filter *format.Filter
	window int
	sync   *synchro.SyncSpaces
	res    *synchro.Resolver
	st     *State
	// skip: transactions at or below it are applied already: the state's
	// vclock when the run started, raised by every snapshot read.
	skip format.VClock
	// prior: the state's vclock when the run started (what earlier runs
	// applied).
	prior format.VClock
	// seen follows the rows of the logs read in this run.
	seen format.VClock

	atomic   bool
	stream   *client.Stream
	inflight ring
	fifo     []*item
	head     int

	// err is the first request that failed; fatal any other reason to
	// stop.
	err        *RequestError
	errItem    *item
	fatal      error
	unanswered bool      // a request got no answer
	lostUntil  time.Time // then answers are awaited until this time only

	// The snapshot being read.
	inSnap      bool
	snapOrd     uint64
	snapSkipAll bool
	// snapCovered: the snapshot is skipped because the logs read before
	// it in this run hold what it holds (not because of an earlier run).
	snapCovered bool
	snapResume  *SnapshotProgress
	snapVClock  format.VClock
	bytesDone   int64

	// Exactly-once resume (target.go): tracking: the target's vclock is
	// known; tgtBase: its signature when the run started; written: the
	// rows it wrote for the requests answered since; resumeSkip: rows of
	// the previous run it executed without an answer, still to pass.
	tracking   bool
	tgtUUID    string
	tgtBase    uint64
	written    uint64
	resumeSkip uint64

	notedRowByRow bool
	lastSave      time.Time
	timer         *time.Timer // bounds the wait for an answer
	sum           Summary
}

// New returns a player sending to conn (which may be nil for a dry run).
func New(conn *client.Conn, opts Options) (*Player, error) {
	if conn == nil && !opts.DryRun {
		return nil, errors.New("play: no connection")
	}
	if opts.DryRun && opts.Print == nil {
		opts.Print = func(string, *format.Row) error { return nil }
	}
	p := &Player{conn: conn, opts: opts, window: opts.Window, sync: synchro.NewSyncSpaces(opts.SyncSpaces)}
	if p.window <= 0 {
		p.window = DefaultWindow
	}
	if p.opts.SaveEvery <= 0 {
		p.opts.SaveEvery = DefaultSaveEvery
	}
	if p.opts.Timeout <= 0 {
		p.opts.Timeout = DefaultTimeout
	}
	p.timer = time.NewTimer(time.Hour)
	p.timer.Stop()
	p.filter = opts.Filter
	if p.filter == nil {
		f := format.NewFilter()
		f.ShowSystem = false
		p.filter = &f
	}
	p.res = synchro.New(synchro.Options{IsSync: p.sync.IsSync})
	p.sum.DryRun = opts.DryRun
	p.sum.NotSent = map[box.RowType]int64{}
	if conn != nil && !opts.DryRun && !opts.NoStreams && conn.SupportsStreams() {
		st, err := conn.NewStream()
		if err != nil {
			return nil, err
		}
		p.atomic, p.stream = true, st
	}
	return p, nil
}

// errSnapTorn: a snapshot without its EOF marker was torn while being
// written; Tarantool does not start from it, and play does not apply it.
var errSnapTorn = errors.New("the snapshot has no EOF marker: it is not complete (Tarantool refuses it), its rows are not played")

// errStop ends the reading of the files once a request has failed.
var errStop = errors.New("play: stopped")

// Play applies the files in the order given (format.Collect gives recovery
// order). It stops at the first request the server rejects, after waiting
// for the answers to every request already sent, and returns a
// *RequestError; damage in a file stops it with a *ReadError. The summary
// is valid whatever the error. A Player plays once.
func (p *Player) Play(ctx context.Context, files []format.FileRef) (Summary, error) {
	start := time.Now()
	p.lastSave = start
	st := newState()
	if p.opts.StatePath != "" {
		var err error
		if st, err = ReadState(p.opts.StatePath); err != nil {
			return p.sum, err
		}
		if !p.opts.DryRun && p.conn != nil {
			if err := p.startTarget(ctx, st); err != nil {
				return p.sum, fmt.Errorf("state file %s: %w", p.opts.StatePath, err)
			}
		}
		if !p.opts.DryRun {
			// Find out now whether it can be written.
			p.markTarget(st, 0)
			if err := WriteState(p.opts.StatePath, st.export()); err != nil {
				return p.sum, err
			}
		}
	}
	p.st, p.skip, p.prior = st, st.VClock, st.VClock
	p.sum.Atomic = p.atomic

	var readErr error
	for _, ref := range files {
		if err := p.playFile(ctx, ref); err != nil {
			if !errors.Is(err, errStop) {
				readErr = err
			}
			break
		}
	}
	if readErr == nil && p.err == nil && p.fatal == nil {
		for _, ev := range p.res.End() {
			switch ev.Fate {
			case synchro.Pending:
				p.sum.TxPending++
			case synchro.Incomplete:
				p.sum.TxIncomplete++
			}
		}
	}
	p.drain()
	p.finish()
	if p.opts.StatePath != "" && !p.opts.DryRun {
		p.markTarget(p.st, p.sum.Unanswered)
		if err := WriteState(p.opts.StatePath, p.st.export()); err != nil && p.fatal == nil {
			p.fatal = err
		}
	}
	p.sum.Resume = p.st.VClock
	p.sum.Elapsed = time.Since(start)
	switch {
	case p.err != nil:
		return p.sum, p.err
	case p.fatal != nil:
		return p.sum, p.fatal
	}
	return p.sum, readErr
}

// playFile feeds the rows of one file.
func (p *Player) playFile(ctx context.Context, ref format.FileRef) error {
	rd, err := format.Open(ref.Path, format.Options{Name: ref.Path, Force: p.opts.Force, OnIssue: func(e *format.Error) {
		if p.opts.OnIssue != nil && (e.IsWarning() || p.opts.Force) {
			p.opts.OnIssue(e)
		}
	}})
	if err != nil {
		if rd != nil {
			rd.Close()
		}
		return &ReadError{File: ref.Path, Err: err}
	}
	defer rd.Close()
	p.sum.Files++
	m := rd.Meta()
	p.res.SetVersion(m.Tarantool)
	switch m.FileType {
	case format.TypeXLOG:
		p.inSnap = false
	case format.TypeSNAP:
		if eof, ok, _ := format.EndsWithEOF(ref.Path); ok && !eof {
			if reached := p.skip.Max(p.seen); !reached.IsEmpty() && m.VClock.LessEq(reached) {
				p.notice(fmt.Sprintf("%s: snapshot without its EOF marker (not complete), at %s: the logs already played hold its rows, skipped",
					ref.Path, m.VClock))
				return nil
			}
			return &ReadError{File: ref.Path, Err: errSnapTorn}
		}
		p.openSnapshot(ref.Path, m)
	default:
		p.notice(fmt.Sprintf("%s: %s files hold no data to play, skipped", ref.Path, m.FileType))
		return nil
	}
	var n int
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &ReadError{File: ref.Path, Err: err}
		}
		if err := p.feed(row); err != nil {
			return err
		}
		if n++; n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if p.opts.OnProgress != nil {
				p.opts.OnProgress(p.bytesDone + row.Pos.Block)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.bytesDone += rd.Offset()
	if p.opts.OnProgress != nil {
		p.opts.OnProgress(p.bytesDone)
	}
	if p.inSnap {
		p.inSnap = false
		if rd.End() != format.EndClean {
			// A pipe: its rows were played before its end was seen.
			return &ReadError{File: ref.Path, Err: errSnapTorn}
		}
		if !p.snapSkipAll {
			p.push(&item{snapEnd: true, sealed: true, snapV: p.snapVClock})
		}
		p.skip = p.skip.Max(p.snapVClock)
	}
	return nil
}

// openSnapshot decides where the rows of a snapshot start being played.
func (p *Player) openSnapshot(path string, m *format.Meta) {
	p.inSnap, p.snapOrd, p.snapSkipAll, p.snapResume, p.snapVClock = true, 0, false, nil, m.VClock
	p.snapCovered = false
	reached := p.skip.Max(p.seen)
	switch s := p.st.Snapshot; {
	case s != nil && s.VClock.Equal(m.VClock) && s.Done:
		p.snapSkipAll = true
	case s != nil && s.VClock.Equal(m.VClock):
		c := *s
		c.Applied = append(Ranges(nil), s.Applied...)
		p.snapResume = &c
	case !reached.IsEmpty() && m.VClock.LessEq(reached):
		// The logs played already hold what it holds.
		p.snapSkipAll = true
		p.snapCovered = p.prior.IsEmpty() || !m.VClock.LessEq(p.prior)
		p.notice(fmt.Sprintf("%s: snapshot at %s is not past the logs already played (%s): its rows are not played",
			path, m.VClock, reached))
	default:
		p.st.Snapshot = &SnapshotProgress{VClock: m.VClock}
	}
}

// feed passes one row to the resolver and plays what it decides.
func (p *Player) feed(row *format.Row) error {
	p.sum.RowsRead++
	if p.inSnap {
		p.snapOrd++
	}
	if !p.inSnap && row.LSN <= p.seen.Get(row.ReplicaID) && p.seen.Has(row.ReplicaID) {
		// Read before in this run (a directory given twice, a renamed
		// copy, overlapping dumps): a position means that nothing at or
		// below it is sent again.
		p.sum.RowsDuplicate++
		return nil
	}
	// Rows are learned whatever their fate: the schema of a rolled-back
	// transaction is a corner case not worth a second pass.
	p.sync.Learn(row)
	if !playable(row.Type) {
		p.sum.NotSent[row.Type]++
	}
	evs, err := p.res.Add(row)
	if err != nil {
		return &ReadError{File: row.Pos.File, Err: err}
	}
	for _, ev := range evs {
		if ev.Tx == nil {
			continue
		}
		switch {
		case ev.Fate.Applied() && ev.Tx.Headless:
			p.sum.TxHeadless++
		case ev.Fate.Applied():
			p.commit(ev.Tx)
		case ev.Fate == synchro.RolledBack:
			p.sum.TxRolledBack++
		case ev.Fate == synchro.Incomplete:
			p.sum.TxIncomplete++
		}
		if p.stopped() {
			return errStop
		}
	}
	if !p.inSnap {
		p.seen.Follow(row.ReplicaID, row.LSN)
	}
	if row.Type.IsSynchro() && row.ReplicaID != 0 && !p.inSnap && p.res.Queue().Empty() {
		// Every transaction before this row has its fate now: the
		// position may move past it (and past those rolled back).
		p.push(&item{origin: row.ReplicaID, key: row.LSN, sealed: true})
		if p.stopped() {
			return errStop
		}
	}
	return nil
}

func (p *Player) stopped() bool { return p.err != nil || p.fatal != nil }

// playable reports whether rows of the type are sent.
func playable(t box.RowType) bool {
	switch t {
	case box.TypeInsert, box.TypeReplace, box.TypeUpdate, box.TypeDelete, box.TypeUpsert:
		return true
	}
	return false
}

// item is one committed transaction on its way to the server, or the end
// of a snapshot. Items complete in the order they were made.
type item struct {
	snap    bool          // a snapshot row
	ord     uint64        // its row number in the snapshot, from 1
	snapEnd bool          // the end of a snapshot
	snapV   format.VClock // the snapshot's vclock
	// origin and key identify a log transaction: the replica id of its
	// first global row (0 for local-only transactions) and the LSN of its
	// last row in that component.
	origin uint32
	key    uint64

	rows []*format.Row // rows to send; each names its file in Pos

	waiting   int  // requests without an answer yet
	sealed    bool // every request has been sent
	failed    bool
	atomic    bool   // sent in a stream transaction
	committed bool   // its COMMIT succeeded
	okRows    []int  // rows applied (row by row)
	writes    uint64 // rows accepted in its stream transaction that the target writes
}

// done reports whether the item has been applied whole.
func (it *item) done() bool {
	return it.sealed && it.waiting == 0 && !it.failed && (!it.atomic || it.committed)
}

// commit plays a committed transaction.
func (p *Player) commit(tx *synchro.Tx) {
	it := &item{}
	// covered: applied already; inRun: by a file read before in this run
	// rather than by an earlier run.
	var covered, inRun bool
	if p.inSnap {
		it.snap, it.ord, it.snapV = true, p.snapOrd, p.snapVClock
		covered = p.snapSkipAll ||
			(p.snapResume != nil && (it.ord <= p.snapResume.Rows || p.snapResume.Applied.Contains(it.ord)))
		inRun = p.snapSkipAll && p.snapCovered
	} else {
		it.origin, it.key = txKey(tx)
		covered = p.skip.Has(it.origin) && it.key <= p.skip.Get(it.origin)
		inRun = covered && !(p.prior.Has(it.origin) && it.key <= p.prior.Get(it.origin))
	}
	var already int64
	for _, r := range tx.Rows {
		if !playable(r.Type) {
			continue
		}
		if !p.filter.Match(r) {
			p.sum.RowsFiltered++
			continue
		}
		if covered || (!it.snap && p.st.AppliedRow(r.ReplicaID, r.LSN)) {
			already++
			continue
		}
		it.rows = append(it.rows, r)
	}
	if inRun {
		p.sum.RowsCovered += already
	} else {
		p.sum.RowsAlreadyApplied += already
	}
	if len(it.rows) > 0 && !p.opts.DryRun {
		resumed := len(it.rows)
		if err := p.resumeRows(it); err != nil && p.fatal == nil {
			p.fatal = err
		}
		if resumed > len(it.rows) && !inRun {
			already++
		}
	}
	if len(it.rows) == 0 {
		switch {
		case already > 0 && inRun:
			p.sum.TxCovered++
		case already > 0:
			p.sum.TxAlreadyApplied++
		default:
			p.sum.TxFiltered++
		}
		it.sealed = true
		p.push(it)
		return
	}
	p.push(it)
	if p.stopped() {
		return
	}
	switch {
	case p.opts.DryRun:
		for _, r := range it.rows {
			if err := p.opts.Print(r.Pos.File, r); err != nil {
				p.fatal = err
				return
			}
		}
		p.sum.RowsSent += int64(len(it.rows))
		it.sealed = true
		p.advance()
	case len(it.rows) == 1:
		p.sendRow(it, 0, nil)
		it.sealed = true
	case p.atomic:
		p.sendAtomic(it)
	default:
		p.sendRows(it)
	}
}

// txKey returns the component and LSN that identify a log transaction.
func txKey(tx *synchro.Tx) (uint32, uint64) {
	if tx.Origin != 0 {
		return tx.Origin, tx.EntryLSN
	}
	return 0, tx.Rows[len(tx.Rows)-1].LSN
}

// sendRows sends a multi-row transaction row by row.
func (p *Player) sendRows(it *item) {
	if !p.notedRowByRow {
		p.notedRowByRow = true
		why := "--no-streams"
		if !p.opts.NoStreams {
			why = fmt.Sprintf("Tarantool %s has no IPROTO streams (2.10+)", p.conn.Version())
		}
		p.notice(why + ": multi-row transactions are applied row by row, " +
			"and one is left half-applied if one of its rows is rejected")
	}
	for i := range it.rows {
		p.sendRow(it, i, nil)
	}
	it.sealed = true
}

// sendAtomic sends a multi-row transaction in the stream: BEGIN, its rows,
// then COMMIT once every row has been accepted. A rejected statement does
// not end a stream transaction, so COMMIT must wait for the answers; the
// transaction is rolled back if any row fails.
func (p *Player) sendAtomic(it *item) {
	it.atomic = true
	p.send(it, kindBegin, -1, iproto.BeginRequest{}, p.stream)
	for i := range it.rows {
		p.sendRow(it, i, p.stream)
	}
	p.drain()
	if !p.stopped() {
		p.send(it, kindCommit, -1, iproto.CommitRequest{}, p.stream)
		it.sealed = true
		return
	}
	p.rollbackStream()
	if p.errItem != it || !iproto.IsCode(p.err.Err, box.ErrTransactionYield) || p.fatal != nil {
		return
	}
	// memtx without memtx_use_mvcc_engine aborts a transaction that spans
	// requests: nothing of it was applied; go on row by row.
	p.err, p.errItem = nil, nil
	it.atomic, it.failed, it.okRows = false, false, nil
	p.sum.RowsSent -= int64(len(it.rows)) // rolled back: sent again below
	p.atomic = false
	p.sum.Atomic = false
	p.notedRowByRow = true
	p.notice("the server aborts transactions that span requests (memtx without memtx_use_mvcc_engine = true): " +
		"multi-row transactions are applied row by row from now on, " +
		"and one is left half-applied if one of its rows is rejected")
	for i := range it.rows {
		p.sendRow(it, i, nil)
	}
	it.sealed = true
}

// rollbackStream ends the stream transaction, if one is open.
func (p *Player) rollbackStream() {
	ctx, cancel := context.WithTimeout(context.Background(), p.opts.Timeout)
	defer cancel()
	if _, err := p.stream.Do(ctx, iproto.RollbackRequest{}); err != nil && !isServerError(err) && !p.unanswered {
		p.unanswered, p.lostUntil = true, time.Now().Add(min(lostGrace, p.opts.Timeout))
	}
}

func (p *Player) sendRow(it *item, i int, st *client.Stream) {
	r := it.rows[i]
	p.send(it, kindRow, i, iproto.RawRequest{Code: r.Type, Body: r.Body}, st)
}

type reqKind uint8

const (
	kindRow reqKind = iota
	kindBegin
	kindCommit
)

// pending is a request awaiting its answer.
type pending struct {
	fut  *client.Future
	item *item
	kind reqKind
	idx  int // the row, for kindRow
}

// send writes a request once fewer than Window await their answer. Once a
// request has failed nothing more is sent, and the item will not count as
// applied.
func (p *Player) send(it *item, kind reqKind, idx int, req iproto.Request, st *client.Stream) {
	for p.inflight.len() >= p.window {
		p.retire()
	}
	if p.stopped() {
		it.failed = true
		return
	}
	var f *client.Future
	if st != nil {
		f = st.Send(req)
	} else {
		f = p.conn.Send(req)
	}
	p.inflight.push(pending{fut: f, item: it, kind: kind, idx: idx})
	it.waiting++
	if kind == kindRow {
		p.sum.RowsSent++
	}
}

// retire waits for the answer to the oldest request.
func (p *Player) retire() {
	pd := p.inflight.pop()
	resp, err := p.await(pd)
	it := pd.item
	it.waiting--
	if err != nil {
		it.failed = true
		if !isServerError(err) {
			if !p.unanswered {
				p.unanswered, p.lostUntil = true, time.Now().Add(min(lostGrace, p.opts.Timeout))
			}
			p.sum.Unanswered++
		}
		if p.err == nil {
			p.err = p.requestError(pd, err)
			p.errItem = it
		}
	} else {
		switch pd.kind {
		case kindRow:
			w := wrote(it.rows[pd.idx], resp)
			switch {
			case !it.atomic:
				it.okRows = append(it.okRows, pd.idx)
				if w {
					p.noteWritten(1)
				}
			case w:
				it.writes++
			}
		case kindCommit:
			it.committed = true
			p.noteWritten(it.writes)
		}
	}
	p.advance()
}

// await waits for the answer to a request, at most Timeout (once the
// connection is lost or the server stuck, only a short while: take the
// answers that came).
func (p *Player) await(pd pending) (*iproto.Response, error) {
	select {
	case <-pd.fut.Done():
	default:
		d := p.opts.Timeout
		if p.unanswered {
			d = time.Until(p.lostUntil)
		}
		if d <= 0 {
			return nil, p.noAnswer(pd)
		}
		p.timer.Reset(d)
		select {
		case <-pd.fut.Done():
			p.timer.Stop()
		case <-p.timer.C:
			return nil, p.noAnswer(pd)
		}
	}
	return pd.fut.Wait(context.Background())
}

func (p *Player) noAnswer(pd pending) error {
	typ := box.TypeBegin
	switch pd.kind {
	case kindRow:
		typ = pd.item.rows[pd.idx].Type
	case kindCommit:
		typ = box.TypeCommit
	}
	return &client.WaitError{Type: typ, Sync: pd.fut.Sync(), Err: context.DeadlineExceeded}
}

// drain waits for every answer.
func (p *Player) drain() {
	for p.inflight.len() > 0 {
		p.retire()
	}
}

func isServerError(err error) bool {
	var e *iproto.Error
	return errors.As(err, &e)
}

// maxQueued bounds the items kept behind an unanswered request.
func (p *Player) maxQueued() int { return 4*p.window + 1024 }

// push queues an item behind those not done yet.
func (p *Player) push(it *item) {
	p.fifo = append(p.fifo, it)
	p.advance()
	for len(p.fifo)-p.head > p.maxQueued() && p.inflight.len() > 0 {
		p.retire()
	}
}

// advance completes the items at the head of the queue that are done.
func (p *Player) advance() {
	for p.head < len(p.fifo) {
		it := p.fifo[p.head]
		if !it.done() {
			break
		}
		p.fifo[p.head] = nil
		p.head++
		p.complete(it)
	}
	if p.head == len(p.fifo) {
		p.fifo, p.head = p.fifo[:0], 0
	} else if p.head > 1024 && p.head > len(p.fifo)/2 {
		n := copy(p.fifo, p.fifo[p.head:])
		clear(p.fifo[n:])
		p.fifo, p.head = p.fifo[:n], 0
	}
}

// complete records an item applied with everything before it.
func (p *Player) complete(it *item) {
	switch {
	case it.snapEnd:
		p.st.finishSnapshot(it.snapV)
	case it.snap:
		p.st.snapshotRows(it.snapV, it.ord)
	default:
		p.st.advance(it.origin, it.key)
	}
	if len(it.rows) > 0 {
		p.sum.TxApplied++
		p.sum.RowsApplied += int64(len(it.rows))
		if len(it.rows) > 1 {
			p.sum.TxMultiRow++
		}
	}
	if p.opts.StatePath != "" && !p.opts.DryRun && time.Since(p.lastSave) >= p.opts.SaveEvery {
		p.lastSave = time.Now()
		if err := WriteState(p.opts.StatePath, p.pendingState()); err != nil && p.fatal == nil {
			p.fatal = err
		}
	}
}

// pendingState is the state with what the queued items applied so far.
func (p *Player) pendingState() *State {
	st := p.st.clone()
	for _, it := range p.fifo[p.head:] {
		addApplied(st, it)
	}
	unanswered := int64(0)
	if p.inflight.len() > 0 {
		unanswered = -1
	}
	p.markTarget(st, unanswered)
	return st.export()
}

// finish records, after the last answer, what the items left in the queue
// applied: they come after a failed one.
func (p *Player) finish() {
	for _, it := range p.fifo[p.head:] {
		switch {
		case len(it.rows) == 0:
		case it.done():
			p.sum.TxApplied++
			p.sum.TxAfterFailure++
			p.sum.RowsApplied += int64(len(it.rows))
			if len(it.rows) > 1 {
				p.sum.TxMultiRow++
			}
		case len(it.okRows) > 0:
			p.sum.TxPartial++
			p.sum.RowsApplied += int64(len(it.okRows))
		}
		addApplied(p.st, it)
	}
	p.fifo, p.head = nil, 0
}

// addApplied lists in st the rows of it that were applied.
func addApplied(st *State, it *item) {
	var idx []int
	switch {
	case len(it.rows) == 0:
		return
	case it.done():
		idx = make([]int, len(it.rows))
		for i := range idx {
			idx[i] = i
		}
	default:
		idx = it.okRows
	}
	for _, i := range idx {
		if it.snap {
			if s := st.Snapshot; s != nil && s.VClock.Equal(it.snapV) && it.ord > s.Rows {
				s.Applied.Add(it.ord)
			}
			continue
		}
		r := it.rows[i]
		st.addApplied(r.ReplicaID, r.LSN)
	}
}

func (p *Player) notice(msg string) {
	if p.opts.OnNotice != nil {
		p.opts.OnNotice(msg)
	}
}

// ring is a FIFO of pending requests.
type ring struct {
	buf        []pending
	head, size int
}

func (q *ring) len() int { return q.size }

func (q *ring) push(x pending) {
	if q.size == len(q.buf) {
		n := make([]pending, max(16, 2*len(q.buf)))
		for i := 0; i < q.size; i++ {
			n[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = n, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = x
	q.size++
}

func (q *ring) pop() pending {
	x := q.buf[q.head]
	q.buf[q.head] = pending{}
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return x
}
