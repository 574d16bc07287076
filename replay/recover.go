package replay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/memtx"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/synchro"
)

// Target is the point in the log history a recovery stops at. The zero
// value replays everything. Several criteria may be combined; a row is
// beyond the target when any of them says so.
type Target struct {
	// HasLSN: the replay stops at the first row of replica Replica whose
	// LSN is above LSN. Nothing from that row on is applied, whatever
	// its replica.
	HasLSN  bool
	Replica uint32
	LSN     uint64

	// HasVClock: only rows with lsn <= VClock[replica id] are applied
	// (components absent from VClock count as 0); rows of other
	// replicas go on. Component 0 (replica-local rows) is bounded only
	// when VClock names it; otherwise a local row counts as beyond the
	// target when the last global row before it was.
	HasVClock bool
	VClock    format.VClock

	// HasTimestamp: the replay stops at the first row whose timestamp is
	// above Timestamp (Unix seconds).
	HasTimestamp bool
	Timestamp    float64
}

// IsZero reports whether the target sets no bound.
func (t *Target) IsZero() bool { return !t.HasLSN && !t.HasVClock && !t.HasTimestamp }

func (t *Target) String() string {
	var parts []string
	if t.HasLSN {
		parts = append(parts, fmt.Sprintf("lsn %d:%d", t.Replica, t.LSN))
	}
	if t.HasVClock {
		parts = append(parts, "vclock "+t.VClock.String())
	}
	if t.HasTimestamp {
		parts = append(parts, "timestamp "+strconv.FormatFloat(t.Timestamp, 'f', -1, 64))
	}
	if len(parts) == 0 {
		return "end of the logs"
	}
	return strings.Join(parts, ", ")
}

// ParseLSNTarget parses "R:N" (replica id R, LSN N).
func ParseLSNTarget(s string) (replica uint32, lsn uint64, err error) {
	r, n, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return 0, 0, fmt.Errorf("bad LSN target %q: want REPLICA_ID:LSN, e.g. 1:626", s)
	}
	id, err := strconv.ParseUint(strings.TrimSpace(r), 10, 32)
	if err != nil || id >= format.VClockMax {
		return 0, 0, fmt.Errorf("bad replica id in LSN target %q: want 0..%d", s, format.VClockMax-1)
	}
	lsn, err = strconv.ParseUint(strings.TrimSpace(n), 10, 63)
	if err != nil {
		return 0, 0, fmt.Errorf("bad LSN in LSN target %q", s)
	}
	return uint32(id), lsn, nil
}

// RecoverOptions configure Recover.
type RecoverOptions struct {
	// Paths are data directories (wal_dir and memtx_dir, the same or
	// not, any number of them) or single .snap and .xlog files.
	Paths []string
	// FromSnap is the snapshot to start from; by default the newest one
	// among the inputs at or before the target.
	FromSnap string
	// Target bounds the replay.
	Target Target
	// IncludePending applies the synchronous transactions (and those
	// queued behind them) still waiting for a CONFIRM at the end.
	IncludePending bool
	// Force reads past damaged blocks (format.Options.Force), as
	// Tarantool's force_recovery does.
	Force bool
	// State configures the state engine.
	State memtx.Options
	// Progress, if set, is called now and then with the bytes read so far
	// and the bytes to read in all.
	Progress func(done, total int64)
	// MaxFindings bounds the findings kept in the result (default 1000);
	// all are counted.
	MaxFindings int
}

// Finding is a problem a real recovery would hit: a row the state
// rejects, damage, a gap in the log chain, LSNs out of order, a
// transaction without its last row.
type Finding struct {
	Kind      string        `json:"kind"`
	File      string        `json:"file,omitempty"`
	Offset    int64         `json:"offset"`
	ReplicaID uint32        `json:"replica_id,omitempty"`
	LSN       uint64        `json:"lsn,omitempty"`
	Type      string        `json:"type,omitempty"`
	SpaceID   uint32        `json:"space_id,omitempty"`
	Code      box.ErrorCode `json:"code,omitempty"`
	Message   string        `json:"message"`
}

func (f *Finding) String() string {
	var b strings.Builder
	if f.File != "" {
		fmt.Fprintf(&b, "%s: offset %d: ", f.File, f.Offset)
	}
	if f.LSN != 0 || f.ReplicaID != 0 {
		fmt.Fprintf(&b, "lsn %d:%d: ", f.ReplicaID, f.LSN)
	}
	if f.Type != "" {
		b.WriteString(f.Type)
		if f.SpaceID != 0 {
			fmt.Fprintf(&b, " space %d", f.SpaceID)
		}
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	if f.Code != 0 {
		fmt.Fprintf(&b, " (%s)", f.Code)
	}
	return b.String()
}

// Finding kinds.
const (
	FindingApply      = "apply"       // the state rejects a row
	FindingDamage     = "damage"      // a file is damaged
	FindingGap        = "gap"         // xlogs are missing between two files
	FindingLSNOrder   = "lsn-order"   // an LSN does not grow within a file
	FindingTornTx     = "torn-tx"     // a transaction without its last row
	FindingSynchro    = "synchro"     // a synchronous-replication row does not decode
	FindingBadRow     = "bad-row"     // a row of a type that has no business there
	FindingSnapshot   = "snapshot"    // the snapshot holds no schema
	FindingFile       = "file"        // a file left out (another instance), or, as a warning, ended uncleanly
	FindingUnfinished = "unfinished"  // warning: a transaction cut by the end of the log
	FindingRevived    = "tarantool26" // note: what Tarantool 2.6.0 would do differently
	FindingTarget     = "target"      // warning: a replica id the --to-vclock target does not name
)

// TxInfo describes a transaction that was not applied, or applied only
// on request.
type TxInfo struct {
	File      string `json:"file"`
	Offset    int64  `json:"offset"`
	ReplicaID uint32 `json:"replica_id"`
	TSN       uint64 `json:"tsn"`
	EntryLSN  uint64 `json:"entry_lsn"`
	Rows      int    `json:"rows"`
	// Statements is the number of DML rows.
	Statements int  `json:"statements"`
	Sync       bool `json:"sync"`
	// By names the row that decided the fate, e.g. "ROLLBACK 1:12".
	By string `json:"by,omitempty"`
}

// StopPoint tells where a bounded replay stopped.
type StopPoint struct {
	Reason    string  `json:"reason"`
	File      string  `json:"file"`
	Offset    int64   `json:"offset"`
	ReplicaID uint32  `json:"replica_id"`
	LSN       uint64  `json:"lsn"`
	Timestamp float64 `json:"timestamp"`
}

// Counts are the totals of a recovery.
type Counts struct {
	SnapshotRows int64 `json:"snapshot_rows"`
	// XlogRows is the number of rows read from the xlogs.
	XlogRows int64 `json:"xlog_rows"`
	// CoveredRows were skipped as already in the snapshot.
	CoveredRows int64 `json:"covered_rows"`
	// DuplicateRows were skipped as already replayed from an earlier
	// xlog (their LSN is not above the one reached).
	DuplicateRows int64 `json:"duplicate_rows"`
	// BeyondRows were skipped as beyond the target.
	BeyondRows int64 `json:"beyond_rows"`
	// AppliedRows is the number of DML rows applied from the xlogs.
	AppliedRows int64 `json:"applied_rows"`

	Applied         int `json:"applied"`
	RolledBack      int `json:"rolled_back"`
	RolledBackMulti int `json:"rolled_back_multi"`
	Pending         int `json:"pending"`
	PendingApplied  int `json:"pending_applied"`
	Cut             int `json:"cut"`
	Torn            int `json:"torn"`
}

// RaftState is the persistent Raft state recovered from the logs.
type RaftState struct {
	Term uint64 `json:"term"`
	Vote uint32 `json:"vote"`
	// VoteTerm is the term of the row that carried Vote: below Term when
	// a term-only row followed, which Tarantool's rule (FORMAT.md §6.7)
	// does not let clear the vote.
	VoteTerm uint64 `json:"-"`
}

// SnapshotRows tells which rows besides the data the snapshot the replay
// started from had (Tarantool 2.6.1+ writes a RAFT row, 2.7.3+ a PROMOTE
// row), so that a snapshot written from the result has them too.
type SnapshotRows struct {
	Raft    bool
	Promote bool
}

// Result is the outcome of Recover.
type Result struct {
	State *memtx.State
	// Snapshot is the snapshot the replay started from, with its header.
	Snapshot     string
	SnapshotMeta *format.Meta
	// Xlogs are the xlogs read, in order.
	Xlogs []string
	// VClock is the vclock reached: the snapshot's, followed by every
	// row consumed (applied, rolled back or left pending), excluding the
	// rows of transactions cut by the stop point or by damage.
	VClock format.VClock
	// Stop is set when the replay stopped before the end of the logs.
	Stop   *StopPoint
	Counts Counts
	// Pending are the transactions still waiting for a CONFIRM at the
	// end, in queue order (applied only with IncludePending).
	Pending []TxInfo
	// RolledBack are the first rolled-back transactions (Counts has all).
	RolledBack []TxInfo
	// Unapplied are transactions cut by the stop point or by the end of
	// the logs.
	Unapplied []TxInfo
	// Findings are the problems a real recovery would hit, Warnings the
	// unclean ends and notes; both are bounded by MaxFindings.
	Findings     []Finding
	FindingCount int
	Warnings     []Finding
	Queue        synchro.State
	Raft         RaftState
	// SnapshotHad tells which non-data rows the snapshot had.
	SnapshotHad SnapshotRows
}

// HasErrors reports whether there are findings.
func (r *Result) HasErrors() bool { return r.FindingCount > 0 }

// maxTxList bounds the transactions listed in a result.
const maxTxList = 100

// Recover rebuilds the database state the way Tarantool's local recovery
// does: it loads a snapshot (the newest one at or before the target, or
// FromSnap) and replays the xlog rows after it, up to the target.
//
// Rows whose LSN is not above the snapshot's vclock component for their
// replica id are already in the snapshot and skipped; so are rows not
// above the LSN already reached for their replica. Transactions take
// effect when they commit, synchronous ones (and those queued behind
// them) only when a CONFIRM or PROMOTE covers them; a ROLLBACK discards
// them. A transaction cut by the target is not applied.
//
// Errors are returned for inputs Recover cannot start from (no snapshot,
// unreadable headers); problems found in the logs are findings.
func Recover(ctx context.Context, opts RecoverOptions) (*Result, error) {
	if opts.MaxFindings <= 0 {
		opts.MaxFindings = 1000
	}
	rc := &recoverer{opts: opts, res: &Result{}, asm: format.NewTxAssembler(format.TxOptions{Retain: format.RetainBorrow})}
	defer rc.removeSpool()
	if err := rc.plan(); err != nil {
		return nil, err
	}
	if err := rc.run(ctx); err != nil {
		return rc.res, err
	}
	return rc.res, nil
}

// recoverer holds the state of one recovery.
type recoverer struct {
	opts     RecoverOptions
	res      *Result
	state    *memtx.State
	resolver *synchro.Resolver

	snap    *logFile
	xlogs   []*logFile
	spool   []string   // temporary copies of inputs that are not regular files
	spooled []*logFile // the inputs copied
	total   int64
	done    int64 // bytes of the files finished

	snapVClock format.VClock
	// seen follows every xlog row read; reached follows the rows
	// consumed (see Result.VClock).
	seen    format.VClock
	reached format.VClock

	// asm finds the transactions (it keeps the rows of the open one);
	// txDecs are the decoded requests of the open transaction's rows.
	// txCut: a row of it was beyond the target, so it is dropped whole;
	// txKept rows came before that one.
	asm    *format.TxAssembler
	txDecs []decoded
	// txArena holds the tuples of txDecs kept beyond their batch.
	txArena memtx.TupleArena
	txCut   bool
	txKept  int
	// cur is the row being handled.
	cur format.Row

	// current is the transaction handed to the resolver last, with
	// its decoded requests (see handle).
	current     []*format.Row
	currentDecs []decoded

	// pastGlobal: the last global row was beyond a vclock target.
	pastGlobal bool
	// unnamed: replica ids a vclock target does not name, warned about.
	unnamed map[uint32]bool
	stopped bool

	// lastLSN checks the LSN order within a file.
	lastLSN [format.VClockMax]uint64
}

// plan finds the files and the snapshot to start from.
func (rc *recoverer) plan() error {
	if len(rc.opts.Paths) == 0 && rc.opts.FromSnap == "" {
		return errors.New("no input: name the data directories")
	}
	snaps, xlogs, spool, err := collectLogs(rc.opts.Paths, rc.warn, rc.finding)
	rc.spool = spool
	if err != nil {
		return err
	}
	for _, lf := range append(append([]*logFile(nil), snaps...), xlogs...) {
		if lf.path != lf.name {
			rc.spooled = append(rc.spooled, lf)
		}
	}
	xlogs, dropped := dedupXlogs(xlogs)
	for _, d := range dropped {
		rc.warn(Finding{Kind: FindingFile, File: d.path,
			Message: fmt.Sprintf("left out: another xlog starts at the same vclock %s", d.meta.VClock)})
	}
	if rc.opts.FromSnap != "" {
		m, size, err := readMeta(rc.opts.FromSnap)
		if err != nil {
			return err
		}
		if m.FileType != format.TypeSNAP {
			return fmt.Errorf("%s is a %s file, not a snapshot", rc.opts.FromSnap, m.FileType)
		}
		rc.snap = &logFile{path: rc.opts.FromSnap, name: rc.opts.FromSnap, sig: m.VClock.Signature(), size: size, meta: m}
		if !snapshotComplete(rc.opts.FromSnap) {
			return fmt.Errorf("%w: %s has no EOF marker: the snapshot is not complete (Tarantool refuses it)",
				ErrNoSnapshot, rc.opts.FromSnap)
		}
		t := &rc.opts.Target
		if !t.snapshotQualifies(m.VClock, func() float64 { return snapshotTime(rc.snap, xlogs) }) {
			return fmt.Errorf("%w: --from-snap %s (vclock %s) is beyond the target %s", ErrTargetBeforeSnap,
				rc.opts.FromSnap, m.VClock, t)
		}
	} else {
		rc.snap, err = chooseSnapshot(snaps, xlogs, &rc.opts.Target, rc.warn)
		if err != nil {
			return err
		}
	}
	rc.snapVClock = rc.snap.meta.VClock
	// Tarantool refuses the files of another instance.
	kept := xlogs[:0]
	for _, x := range xlogs {
		if a, b := x.meta.Instance, rc.snap.meta.Instance; a != "" && b != "" && a != b {
			rc.finding(Finding{Kind: FindingFile, File: x.path, Message: fmt.Sprintf(
				"left out: written by instance %s, the snapshot by %s", a, b)})
			continue
		}
		kept = append(kept, x)
	}
	xlogs = kept
	if len(xlogs) > 0 {
		rc.xlogs = xlogs[firstXlog(xlogs, rc.snapVClock):]
	}
	rc.total = rc.snap.size
	for _, x := range rc.xlogs {
		rc.total += x.size
	}
	rc.res.Snapshot = rc.snap.path
	rc.res.SnapshotMeta = rc.snap.meta
	return nil
}

// removeSpool removes the temporary copies of the inputs that are not
// regular files, and names those inputs as the user did in the result.
func (rc *recoverer) removeSpool() {
	if len(rc.spool) == 0 {
		return
	}
	names := map[string]string{}
	for _, lf := range rc.spooled {
		names[lf.path] = lf.name
	}
	rename := func(p *string) {
		if n, ok := names[*p]; ok {
			*p = n
		}
	}
	for i := range rc.res.Findings {
		rename(&rc.res.Findings[i].File)
	}
	for i := range rc.res.Warnings {
		rename(&rc.res.Warnings[i].File)
	}
	for i := range rc.res.Xlogs {
		rename(&rc.res.Xlogs[i])
	}
	rename(&rc.res.Snapshot)
	if rc.res.Stop != nil {
		rename(&rc.res.Stop.File)
	}
	for _, p := range rc.spool {
		os.Remove(p)
	}
}

func (rc *recoverer) finding(f Finding) {
	rc.res.FindingCount++
	if len(rc.res.Findings) < rc.opts.MaxFindings {
		rc.res.Findings = append(rc.res.Findings, f)
	}
}

func (rc *recoverer) warn(f Finding) {
	if len(rc.res.Warnings) < rc.opts.MaxFindings {
		rc.res.Warnings = append(rc.res.Warnings, f)
	}
}

// fileIssue records a problem a reader found.
func (rc *recoverer) fileIssue(e *format.Error) {
	f := Finding{Kind: FindingDamage, File: e.File, Offset: e.Offset, Message: e.Msg}
	if e.IsWarning() {
		f.Kind = FindingFile
		rc.warn(f)
		return
	}
	rc.finding(f)
}

func (rc *recoverer) run(ctx context.Context) error {
	rc.state = memtx.NewStateWithOptions(rc.opts.State)
	rc.res.State = rc.state
	rc.resolver = synchro.New(synchro.Options{IsSync: func(id uint32) bool {
		sp := rc.state.Space(id)
		return sp != nil && sp.IsSync
	}})
	rc.seen, rc.reached = rc.snapVClock, rc.snapVClock
	// As Tarantool does, fill the primary keys while the snapshot loads
	// and build the secondary indexes once it is in.
	rc.state.DeferSecondaryKeys()
	ok, err := rc.loadSnapshot(ctx)
	for _, e := range rc.state.BuildSecondaryKeys() {
		rc.finding(Finding{Kind: FindingApply, File: rc.snap.path, SpaceID: e.SpaceID, Code: e.Code, Message: e.Message})
	}
	if err != nil {
		return err
	}
	if ok && rc.state.Space(box.SpaceSpace) == nil {
		rc.finding(Finding{Kind: FindingSnapshot, File: rc.snap.path, Message: "Snapshot has no system spaces"})
	}
	rc.done += rc.snap.size
	if ok {
		for _, x := range rc.xlogs {
			if rc.stopped {
				break
			}
			if err := rc.replayXlog(ctx, x); err != nil {
				return err
			}
			rc.done += x.size
		}
	}
	rc.finish()
	return nil
}

// loadSnapshot applies the snapshot's rows. It reports false when the
// snapshot could not be read to its end (without Force), in which case
// the xlogs are not replayed.
func (rc *recoverer) loadSnapshot(ctx context.Context) (bool, error) {
	r, err := format.Open(rc.snap.path, format.Options{Force: rc.opts.Force})
	if err != nil {
		if fe, ok := format.AsError(err); ok {
			rc.fileIssue(fe)
			return false, nil
		}
		return false, err
	}
	defer r.Close()
	rc.resolver.SetVersion(r.Meta().Tarantool)
	if err := format.CheckName(rc.snap.path, r.Meta()); err != nil {
		rc.warn(Finding{Kind: FindingFile, File: rc.snap.path, Message: err.Error()})
	}
	ok, err := rc.loadSnapshotRows(ctx, r)
	for _, e := range r.Issues() {
		rc.fileIssue(e)
	}
	if ok && err == nil && r.End() != format.EndClean {
		// Tarantool refuses a snapshot without its EOF marker.
		rc.finding(Finding{Kind: FindingSnapshot, File: rc.snap.path, Offset: r.Offset(),
			Message: "the snapshot has no EOF marker: it is not complete (Tarantool refuses it)"})
		return false, nil
	}
	return ok, err
}

// replayXlog replays the rows of one xlog.
func (rc *recoverer) replayXlog(ctx context.Context, x *logFile) error {
	if !x.meta.VClock.LessEq(rc.seen) {
		rc.finding(Finding{Kind: FindingGap, File: x.path, Message: fmt.Sprintf(
			"missing xlog: rows between vclock %s and %s are not in the logs", rc.seen, x.meta.VClock)})
	}
	r, err := format.Open(x.path, format.Options{Force: rc.opts.Force})
	if err != nil {
		if fe, ok := format.AsError(err); ok {
			rc.fileIssue(fe)
			if !rc.opts.Force {
				rc.stopAt("damage", x.path, fe.Offset, nil)
			}
			return nil
		}
		return err
	}
	defer r.Close()
	rc.resolver.SetVersion(r.Meta().Tarantool)
	rc.res.Xlogs = append(rc.res.Xlogs, x.path)
	rc.lastLSN = [format.VClockMax]uint64{}
	var n int64
	// The tuples of decoded rows stay in their batch: those of a
	// transaction still open when the batch is done are copied out.
	err = pipeline(ctx, r, true, func(b *pipeBatch) bool {
		for i := range b.rows {
			p := &b.rows[i]
			rc.cur = p.row(b)
			rc.xlogRow(&rc.cur, &p.dec)
			if rc.stopped {
				return false
			}
		}
		rc.keepOpenTx()
		n += int64(len(b.rows))
		if len(b.rows) > 0 && n&(1<<14-1) < pipeBatchRows && rc.opts.Progress != nil {
			rc.opts.Progress(rc.done+b.rows[len(b.rows)-1].pos.Block, rc.total)
		}
		return true
	})
	if err != nil {
		fe, ok := format.AsError(err)
		if !ok {
			return err
		}
		rc.fileIssue(fe)
		rc.stopAt("damage", x.path, fe.Offset, nil)
	}
	for _, e := range r.Issues() {
		rc.fileIssue(e)
	}
	return nil
}

func (rc *recoverer) stopAt(reason, file string, off int64, row *format.Row) {
	rc.stopped = true
	sp := &StopPoint{Reason: reason, File: file, Offset: off}
	if row != nil {
		sp.ReplicaID, sp.LSN, sp.Timestamp = row.ReplicaID, row.LSN, row.Timestamp
	}
	rc.res.Stop = sp
}

// beyond reports whether an xlog row is past the target, and whether the
// replay stops there (LSN and timestamp targets) or only skips it
// (vclock target).
func (rc *recoverer) beyond(row *format.Row) (skip, stop bool) {
	t := &rc.opts.Target
	if t.HasLSN && row.ReplicaID == t.Replica && row.LSN > t.LSN {
		return true, true
	}
	if t.HasTimestamp && row.Timestamp > t.Timestamp {
		return true, true
	}
	if t.HasVClock {
		if row.ReplicaID == 0 && !t.VClock.Has(0) {
			return rc.pastGlobal, false
		}
		out := row.LSN > t.VClock.Get(row.ReplicaID)
		if row.ReplicaID != 0 && !t.VClock.Has(row.ReplicaID) && !rc.unnamed[row.ReplicaID] {
			if rc.unnamed == nil {
				rc.unnamed = map[uint32]bool{}
			}
			rc.unnamed[row.ReplicaID] = true
			rc.warn(Finding{Kind: FindingTarget, ReplicaID: row.ReplicaID, Message: fmt.Sprintf(
				"the target vclock %s does not name replica %d: it counts as 0, so none of its rows past the snapshot are applied",
				t.VClock, row.ReplicaID)})
		}
		if row.ReplicaID != 0 {
			rc.pastGlobal = out
		}
		return out, false
	}
	return false, false
}

// xlogRow handles one xlog row: skip it when it is covered, stop or
// skip at the target, gather transactions and hand them to the
// resolver.
func (rc *recoverer) xlogRow(row *format.Row, dec *decoded) {
	file := row.Pos.File
	rc.res.Counts.XlogRows++
	id := row.ReplicaID
	if id >= format.VClockMax {
		rc.finding(Finding{Kind: FindingBadRow, File: file, Offset: row.Pos.FileOffset(), ReplicaID: id, LSN: row.LSN,
			Type: row.Type.String(), Message: "replica id out of range"})
		return
	}
	if last := rc.lastLSN[id]; last != 0 && row.LSN <= last {
		rc.finding(Finding{Kind: FindingLSNOrder, File: file, Offset: row.Pos.FileOffset(), ReplicaID: id, LSN: row.LSN,
			Type: row.Type.String(), Message: fmt.Sprintf("LSN %d of replica %d follows LSN %d in the same file", row.LSN, id, last)})
	} else {
		rc.lastLSN[id] = row.LSN
	}
	if row.LSN <= rc.seen.Get(id) && rc.seen.Has(id) {
		if row.LSN <= rc.snapVClock.Get(id) {
			rc.res.Counts.CoveredRows++
		} else {
			rc.res.Counts.DuplicateRows++
		}
		if cur := rc.asm.Current(); rc.asm.Open() && row.Commit && row.TSN == cur.TSN {
			// Keep the transaction boundary, as Tarantool does by
			// turning the row into a NOP.
			nop := *row
			nop.Type, nop.Body = box.TypeNop, nil
			rc.txRow(&nop, &decoded{}, true)
		}
		return
	}
	rc.seen.Follow(id, row.LSN)
	skip, stop := rc.beyond(row)
	if stop {
		rc.res.Counts.BeyondRows++
		for _, t := range rc.asm.End() {
			rc.cutTx(t, "cut by the stop point")
		}
		reason := "timestamp"
		if rc.opts.Target.HasLSN && row.ReplicaID == rc.opts.Target.Replica && row.LSN > rc.opts.Target.LSN {
			reason = "lsn"
		}
		rc.stopAt(reason, file, row.Pos.FileOffset(), row)
		return
	}
	if skip {
		// Beyond the target: its transaction is dropped whole.
		rc.res.Counts.BeyondRows++
		rc.txRow(row, dec, false)
		return
	}
	switch {
	case row.Type.IsSynchro():
		rc.interrupt(row)
		evs, err := rc.resolver.Add(row)
		if err != nil {
			rc.finding(Finding{Kind: FindingSynchro, File: file, Offset: row.Pos.FileOffset(), ReplicaID: id, LSN: row.LSN,
				Type: row.Type.String(), Message: err.Error()})
		}
		rc.reached.Follow(id, row.LSN)
		rc.handle(evs)
	case row.Type == box.TypeRaft:
		rc.interrupt(row)
		rc.raft(row)
		rc.reached.Follow(id, row.LSN)
	default:
		rc.txRow(row, dec, true)
	}
}

// interrupt ends the open transaction, if any, at a row that is no part
// of one (synchro, RAFT): its last row is missing.
func (rc *recoverer) interrupt(row *format.Row) {
	if !rc.asm.Open() {
		return
	}
	interrupted, _ := rc.asm.AddSplit(row)
	for _, t := range interrupted {
		rc.torn(t, row)
	}
}

// torn handles a transaction that a row of another one followed before
// its last row.
func (rc *recoverer) torn(t *format.Tx, next *format.Row) {
	switch {
	case rc.txCut:
		rc.cutTx(t, "")
		return
	case len(t.Rows) > 0:
		first := t.Rows[0]
		origin := t.Origin
		if origin == 0 {
			origin = first.ReplicaID
		}
		rc.finding(Finding{Kind: FindingTornTx, File: first.Pos.File, Offset: first.Pos.FileOffset(), ReplicaID: origin,
			LSN: first.LSN, Message: fmt.Sprintf("transaction %d has no last row (%d rows, then lsn %d:%d starts another one); not applied",
				t.TSN, len(t.Rows), next.ReplicaID, next.LSN)})
		rc.res.Counts.Torn++
	}
	rc.resetTx()
}

// keepOpenTx copies the tuples of the open transaction's decoded rows
// out of the batch they were read into, which is about to be reused.
func (rc *recoverer) keepOpenTx() {
	for i := range rc.txDecs {
		d := &rc.txDecs[i]
		if d.ok && d.err == nil && !d.owned {
			d.req, d.owned = d.req.Owned(&rc.txArena), true
		}
	}
}

func (rc *recoverer) resetTx() {
	clear(rc.txDecs)
	rc.txDecs = rc.txDecs[:0]
	rc.txCut, rc.txKept = false, 0
}

// cutTx drops a transaction the target falls inside: the rows before the
// target are listed as unapplied (why "" counts it only).
func (rc *recoverer) cutTx(t *format.Tx, why string) {
	kept := t.Rows
	if rc.txCut {
		kept = kept[:rc.txKept]
	}
	if len(kept) > 0 {
		rc.res.Counts.Cut++
		if why != "" && len(rc.res.Unapplied) < maxTxList {
			info := rc.txInfo(kept)
			info.By = why
			rc.res.Unapplied = append(rc.res.Unapplied, info)
		}
	}
	rc.resetTx()
}

// txRow gathers a row of a transaction (keep false: a row beyond the
// target, which drops its transaction); at its last row the transaction
// goes to the resolver.
func (rc *recoverer) txRow(row *format.Row, dec *decoded, keep bool) {
	interrupted, done := rc.asm.AddSplit(row)
	for _, t := range interrupted {
		rc.torn(t, row)
	}
	if !keep {
		rc.txCut = true
	}
	if !rc.txCut {
		rc.txKept++
	}
	rc.txDecs = append(rc.txDecs, *dec)
	if done == nil {
		return // still open
	}
	if rc.txCut {
		rc.cutTx(done, "cut by the target vclock")
		return
	}
	rc.commit(done.Rows, rc.txDecs)
	rc.resetTx()
}

// commit carries out a complete transaction. When the resolver would
// commit it at once and change nothing else (its queue is empty and the
// transaction neither is synchronous nor asks to wait: no WAIT_SYNC or
// WAIT_ACK flag, no synchronous space), it is applied directly;
// otherwise its rows go to the resolver, which copies what it keeps.
func (rc *recoverer) commit(rows []*format.Row, decs []decoded) {
	for _, row := range rows {
		rc.reached.Follow(row.ReplicaID, row.LSN)
	}
	if rc.plainAsync(rows, decs) {
		for i, row := range rows {
			rc.applyDecoded(row, &decs[i])
		}
		rc.res.Counts.Applied++
		return
	}
	rc.current, rc.currentDecs = rows, decs
	for _, row := range rows {
		evs, err := rc.resolver.Add(row)
		if err != nil {
			rc.finding(Finding{Kind: FindingSynchro, File: row.Pos.File, Offset: row.Pos.FileOffset(), ReplicaID: row.ReplicaID,
				LSN: row.LSN, Type: row.Type.String(), Message: err.Error()})
			continue
		}
		rc.handle(evs)
	}
	rc.current, rc.currentDecs = nil, nil
}

// plainAsync reports whether a transaction commits without the queue.
func (rc *recoverer) plainAsync(rows []*format.Row, decs []decoded) bool {
	if !rc.resolver.Queue().Empty() {
		return false
	}
	for i, row := range rows {
		if row.WaitSync() || row.WaitAck() {
			return false
		}
		if !row.Type.IsDML() {
			continue
		}
		id, ok := decs[i].req.SpaceID, decs[i].ok
		if !ok {
			id, ok = row.SpaceID()
		}
		if !ok {
			return false
		}
		if sp := rc.state.Space(id); sp != nil && sp.IsSync {
			return false
		}
	}
	return true
}

// handle carries out the fates the resolver decided.
func (rc *recoverer) handle(evs []synchro.Event) {
	for _, ev := range evs {
		if ev.Tx == nil {
			continue
		}
		switch ev.Fate {
		case synchro.Committed, synchro.Confirmed:
			if rc.isCurrent(ev.Tx) {
				for i, row := range rc.current {
					rc.applyDecoded(row, &rc.currentDecs[i])
				}
			} else {
				rc.applyTx(ev.Tx)
			}
			rc.res.Counts.Applied++
		case synchro.RolledBack:
			rc.res.Counts.RolledBack++
			info := rc.txInfo(ev.Tx.Rows)
			info.Sync = ev.Tx.Sync
			if ev.By != nil {
				info.By = fmt.Sprintf("%s %d:%d", ev.By.Type, ev.By.ReplicaID, ev.By.LSN)
			}
			if info.Statements > 1 {
				rc.res.Counts.RolledBackMulti++
			}
			if len(rc.res.RolledBack) < maxTxList {
				rc.res.RolledBack = append(rc.res.RolledBack, info)
			}
		}
	}
}

// isCurrent reports whether tx is the transaction handed to the resolver
// last, whose requests are decoded already.
func (rc *recoverer) isCurrent(tx *synchro.Tx) bool {
	n := len(rc.current)
	if n == 0 || len(tx.Rows) != n {
		return false
	}
	a, b := tx.Rows[n-1], rc.current[n-1]
	return a.ReplicaID == b.ReplicaID && a.LSN == b.LSN && a.TSN == b.TSN
}

func (rc *recoverer) txInfo(rows []*format.Row) TxInfo {
	var info TxInfo
	if len(rows) == 0 {
		return info
	}
	first := rows[0]
	info.File, info.Offset, info.TSN, info.Rows = first.Pos.File, first.Pos.FileOffset(), first.TSN, len(rows)
	for _, r := range rows {
		if r.ReplicaID != 0 {
			if info.ReplicaID == 0 {
				info.ReplicaID = r.ReplicaID
			}
			info.EntryLSN = r.LSN
		}
		if r.Type.IsDML() {
			info.Statements++
		}
		if r.WaitAck() {
			info.Sync = true
		}
	}
	return info
}

// applyTx applies the rows of a committed transaction.
func (rc *recoverer) applyTx(tx *synchro.Tx) {
	for _, row := range tx.Rows {
		rc.applyDecoded(row, &decoded{})
	}
}

// applyDecoded applies a row of a committed transaction, with its request
// when it is decoded already.
func (rc *recoverer) applyDecoded(row *format.Row, dec *decoded) {
	file := row.Pos.File
	switch {
	case row.Type == box.TypeNop:
		return
	case !row.Type.IsDML():
		rc.finding(Finding{Kind: FindingBadRow, File: file, Offset: row.Pos.FileOffset(), ReplicaID: row.ReplicaID,
			LSN: row.LSN, Type: row.Type.String(), Message: "row type not expected in a transaction; ignored"})
		return
	}
	rc.res.Counts.AppliedRows++
	if !dec.ok {
		*dec = decodeRequest(row, nil, false)
	}
	err := dec.err
	if err == nil {
		err = rc.state.Apply(dec.req)
	}
	if err != nil {
		rc.applyFinding(row, err)
	}
}

func (rc *recoverer) applyFinding(row *format.Row, err error) {
	file := row.Pos.File
	f := Finding{Kind: FindingApply, File: file, Offset: row.Pos.FileOffset(), ReplicaID: row.ReplicaID, LSN: row.LSN,
		Type: row.Type.String(), Message: err.Error()}
	var ae *memtx.ApplyError
	if errors.As(err, &ae) {
		f.Code, f.Message, f.SpaceID = ae.Code, ae.Message, ae.SpaceID
	}
	if f.SpaceID == 0 {
		if id, ok := row.SpaceID(); ok {
			f.SpaceID = id
		}
	}
	rc.finding(f)
}

// raft follows the persistent Raft state: a non-zero term or vote
// overwrites the one recovered so far.
func (rc *recoverer) raft(row *format.Row) {
	file := row.Pos.File
	r, err := row.Raft()
	if err != nil {
		rc.finding(Finding{Kind: FindingBadRow, File: file, Offset: row.Pos.FileOffset(), LSN: row.LSN,
			Type: row.Type.String(), Message: err.Error()})
		return
	}
	if r.Term != 0 {
		rc.res.Raft.Term = r.Term
	}
	if r.Vote != 0 {
		rc.res.Raft.Vote, rc.res.Raft.VoteTerm = r.Vote, rc.res.Raft.Term
	}
}

// finish resolves what is left at the end of the replay.
func (rc *recoverer) finish() {
	for _, t := range rc.asm.End() {
		if rc.txCut {
			rc.cutTx(t, "cut by the target vclock")
			continue
		}
		info := rc.txInfo(t.Rows)
		info.By = "the log ends before its last row"
		rc.res.Counts.Cut++
		if len(rc.res.Unapplied) < maxTxList {
			rc.res.Unapplied = append(rc.res.Unapplied, info)
		}
		rc.warn(Finding{Kind: FindingUnfinished, File: info.File, Offset: info.Offset, ReplicaID: info.ReplicaID,
			LSN: info.TSN, Message: fmt.Sprintf("transaction of %d rows without its last row at the end of the logs; not applied", info.Rows)})
		rc.resetTx()
	}
	rc.res.Queue = rc.resolver.State()
	for _, ev := range rc.resolver.End() {
		if ev.Tx == nil || ev.Fate != synchro.Pending {
			continue
		}
		rc.res.Counts.Pending++
		info := rc.txInfo(ev.Tx.Rows)
		info.Sync = ev.Tx.Sync
		rc.res.Pending = append(rc.res.Pending, info)
		if rc.opts.IncludePending {
			rc.applyTx(ev.Tx)
			rc.res.Counts.PendingApplied++
		}
	}
	if n := rc.res.Counts.RolledBackMulti; n > 0 {
		rc.warn(Finding{Kind: FindingRevived, Message: fmt.Sprintf(
			"%d rolled-back multi-statement transaction(s) skipped; Tarantool 2.6.0's own recovery would apply them again", n)})
	}
	rc.res.VClock = rc.reached
	for _, e := range rc.state.DeferredErrors() {
		rc.finding(Finding{Kind: FindingApply, Type: e.Type.String(), SpaceID: e.SpaceID, Code: e.Code, Message: e.Message})
	}
}
