package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/render"
	"github.com/xlogtool/xlogtool/synchro"
)

// queueLimit bounds the queue entries kept; beyond it the oldest are
// given up as pending.
const queueLimit = 1 << 20

// fileInfo describes one file of an instance's directory.
type fileInfo struct {
	Path      string
	Ext       string
	Version   string
	VClock    format.VClock // header vclock
	HasVClock bool
	// End is the instance's vclock after the file's rows (xlogs only).
	End      format.VClock
	Size     int64
	Rows     int64
	EndState format.End
}

// instance is what one pass over an instance's directory leaves for the
// comparison with other instances. Everything in it is bounded: ranges,
// runs and digests, never per-row state.
type instance struct {
	sum      InstanceSummary
	dir      string
	ownID    uint32 // 0 when unknown
	files    []fileInfo
	vclock   format.VClock
	findings []*Finding
	fates    fateSet
	know     knowledge
	promotes []promoteEvent
	digests  *digests
	timeline timeline
	// What the logs say of the replica set: its UUID ("" when no _schema
	// row was read) and the _cluster members with the rows that set them.
	rsUUID    string
	cluster   map[uint32]string
	clusterAt map[uint32]rowKey
}

// promoteEvent is a PROMOTE or DEMOTE row seen in a WAL.
type promoteEvent struct {
	origin    uint32
	lsn       uint64 // row LSN in the origin's component
	term      uint64
	prevOwner uint32
	border    uint64
	demote    bool
	ts        float64
	file      string
	off       int64
	row       json.RawMessage
}

// scanLimits bound what one instance pass keeps.
type scanLimits struct {
	perKind  int               // findings kept per (kind, severity)
	progress func(delta int64) // see Options.Progress
}

// scanner reads the files of one instance in order and replays them.
type scanner struct {
	ctx    context.Context
	name   string
	inst   *instance
	limits scanLimits
	seed   maphash.Seed

	pr   *render.Printer
	rbuf bytes.Buffer

	file     string
	fileIdx  int
	fileSize int64
	reported int64 // bytes of the current file told to limits.progress
	rules    synchro.Rules
	damaged  bool // damage was skipped since the previous row
	started  bool
	vclock   format.VClock
	uuid     string
	ownKnown bool
	schema   schema
	txns     *format.TxAssembler
	side     map[*format.Tx]*txSide // of the open transactions
	spare    []*txSide
	queue    *synchro.Queue
	raft     struct {
		term, vote uint64
		known      bool
	}
	kinds    map[[2]string]int
	versions map[string]bool
	lastXlog *fileInfo
	// onFate, when set, hears every fate the queue decides (Live).
	onFate    func(e synchro.Entry, f fate)
	rowCount  int64
	txSeen    int64
	firstSeen bool
}

func newScanner(ctx context.Context, src Source, seed maphash.Seed, lim scanLimits) *scanner {
	s := &scanner{
		ctx:      ctx,
		name:     src.Name,
		limits:   lim,
		seed:     seed,
		schema:   newSchema(),
		kinds:    map[[2]string]int{},
		versions: map[string]bool{},
	}
	s.inst = &instance{dir: src.Dir, digests: newDigests(seed)}
	s.inst.sum.Name = src.Name
	s.inst.sum.Dir = src.Dir
	s.pr = render.NewPrinter(&s.rbuf, render.Options{Format: render.JSON, ShowPos: true})
	s.queue = synchro.NewQueue(synchro.Options{Limit: queueLimit, MergeAsync: true})
	s.txns = format.NewTxAssembler(format.TxOptions{Interleave: true})
	s.side = map[*format.Tx]*txSide{}
	return s
}

// scanInstance makes the single pass over one instance's directory.
func scanInstance(ctx context.Context, src Source, seed maphash.Seed, lim scanLimits) (*instance, error) {
	var skipped []*Finding
	refs, err := format.ScanDirSkip(src.Dir, func(path, why string) {
		f := newFinding(KindUnreadable, Warning, "%s: not read", why)
		f.File = path
		skipped = append(skipped, f)
	})
	if err != nil {
		return nil, err
	}
	var files []format.FileRef
	for _, r := range refs {
		if r.Ext == ".xlog" || r.Ext == ".snap" {
			files = append(files, r)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .xlog or .snap files", src.Dir)
	}
	newest := -1
	for i, f := range files {
		if f.Ext == ".xlog" {
			newest = i
		}
	}
	s := newScanner(ctx, src, seed, lim)
	for _, f := range skipped {
		s.add(f)
	}
	for i, ref := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.scanFile(i, ref, i == newest)
		s.advance(s.fileSize) // the file is done, whatever was read of it
		s.reported = 0
	}
	s.finish()
	return s.inst, nil
}

// add records a finding, unless too many of its kind were recorded.
func (s *scanner) add(f *Finding) *Finding {
	key := [2]string{string(f.Kind), string(f.Severity)}
	s.kinds[key]++
	if s.kinds[key] > s.limits.perKind {
		if s.inst.sum.Suppressed == nil {
			s.inst.sum.Suppressed = map[string]int{}
		}
		s.inst.sum.Suppressed[string(f.Kind)]++
		if f.Severity == Error {
			s.inst.sum.SuppressedErrors++
		}
		return f
	}
	f.Instance = s.name
	f.UUID = s.uuid
	s.inst.findings = append(s.inst.findings, f)
	return f
}

// evidence renders a row as `xlogtool cat --format json --show-pos` does.
func (s *scanner) evidence(r *format.Row, note string) Evidence {
	return Evidence{Instance: s.name, Note: note, Row: s.render(r)}
}

func (s *scanner) render(r *format.Row) json.RawMessage {
	file := r.Pos.File
	s.rbuf.Reset()
	if err := s.pr.Row(file, r); err != nil {
		b, _ := json.Marshal(map[string]any{"error": err.Error(), "file": file, "lsn": r.LSN, "replica_id": r.ReplicaID})
		return b
	}
	return json.RawMessage(bytes.TrimRight(append([]byte(nil), s.rbuf.Bytes()...), "\n"))
}

func (s *scanner) event(e Event) {
	e.Signature = s.vclock.Signature()
	e.Owner = s.queue.State().Owner
	s.inst.timeline.add(e)
}

// damageKind maps a reader problem to a finding kind.
func damageKind(e *format.Error, size int64) Kind {
	switch e.Kind {
	case format.KindChecksum:
		return KindCRCMismatch
	case format.KindDecompress, format.KindBadRow:
		return KindBadRow
	case format.KindAfterEOF:
		return KindTrailingGarbage
	case format.KindBadMagic, format.KindBadFixHeader:
		if e.Skipped > 0 && e.Offset+e.Skipped >= size {
			return KindTrailingGarbage
		}
		return KindBadHeader
	case format.KindBadMeta:
		return KindBadHeader
	case format.KindUnknownType:
		return KindFileName
	case format.KindTornTail:
		return KindTornTail
	case format.KindMissingEOF:
		return KindMissingEOF
	}
	return KindUnreadable
}

func (s *scanner) scanFile(idx int, ref format.FileRef, newest bool) {
	s.file, s.fileIdx = ref.Path, idx
	var size int64
	if st, err := os.Stat(ref.Path); err == nil {
		size = st.Size()
	}
	s.fileSize = size
	s.inst.sum.Files++
	s.inst.sum.Bytes += size
	var issues []*format.Error
	rd, err := format.Open(ref.Path, format.Options{Name: ref.Path, Force: true, OnIssue: func(e *format.Error) {
		issues = append(issues, e)
		if !e.IsWarning() {
			s.damaged = true
		}
	}})
	if err != nil {
		if rd != nil {
			rd.Close()
		}
		kind := KindUnreadable
		var off int64
		if fe, ok := format.AsError(err); ok {
			kind, off = damageKind(fe, size), fe.Offset
		}
		s.add(newFinding(kind, Error, "%v", err).at(ref.Path, off))
		s.damaged = true
		return
	}
	defer rd.Close()
	m := rd.Meta()
	s.rules = synchro.RulesFor(m.Tarantool)
	s.queue.SetRules(s.rules)
	if m.Tarantool != "" {
		s.versions[m.Tarantool] = true
	}
	info := fileInfo{Path: ref.Path, Ext: ref.Ext, Version: m.Tarantool, VClock: m.VClock, HasVClock: m.HasVClock, Size: size}
	if !s.checkMeta(ref, m) {
		return
	}
	if ref.Ext == ".snap" {
		s.inst.sum.Snapshots++
		s.scanSnapshot(rd, &info)
	} else {
		s.inst.sum.Xlogs++
		s.scanXlog(rd, &info)
		info.End = s.vclock
	}
	info.EndState = rd.End()
	info.Rows = rd.Stats().Rows
	s.inst.files = append(s.inst.files, info)
	if ref.Ext == ".xlog" {
		s.lastXlog = &s.inst.files[len(s.inst.files)-1]
	}
	s.fileEnd(rd, &info, issues, newest)
}

// checkMeta checks the header of a file against its name and the other
// files; it returns false when the file's rows must be skipped.
func (s *scanner) checkMeta(ref format.FileRef, m *format.Meta) bool {
	want := format.TypeXLOG
	if ref.Ext == ".snap" {
		want = format.TypeSNAP
	}
	if m.FileType != want {
		s.add(newFinding(KindFileName, Error, "file type %s in a %s file", m.FileType, ref.Ext).at(ref.Path, 0))
		return false
	}
	if err := format.CheckName(ref.Path, m); err != nil {
		s.add(newFinding(KindFileName, Error, "%v", err).at(ref.Path, 0))
	}
	if !m.HasVClock {
		s.add(newFinding(KindBadHeader, Error, "the header has no VClock").at(ref.Path, 0))
		return false
	}
	if m.Instance != "" {
		if s.uuid == "" {
			s.uuid = m.Instance
			s.inst.sum.UUID = m.Instance
		} else if m.Instance != s.uuid {
			s.add(newFinding(KindForeignFile, Error,
				"file of instance %s among files of instance %s; its rows are not checked", m.Instance, s.uuid).at(ref.Path, 0))
			return false
		}
	}
	return true
}

// fileEnd reports how the file ended and the damage the reader skipped.
func (s *scanner) fileEnd(rd *format.Reader, info *fileInfo, issues []*format.Error, newest bool) {
	for _, e := range issues {
		kind := damageKind(e, info.Size)
		sev := Error
		switch kind {
		case KindMissingEOF:
			msg := "the file was not closed cleanly (no EOF marker)"
			if info.Ext == ".xlog" {
				sev = Warning
			} else {
				msg += "; Tarantool refuses such a snapshot without force_recovery"
			}
			s.add(newFinding(kind, sev, "%s", msg).at(info.Path, e.Offset))
			continue
		case KindTornTail:
			msg := "the last block is incomplete: the writer stopped in the middle of it"
			if newest {
				sev = Warning
				msg += " (the newest file: a crash while writing)"
			} else {
				msg += "; the file is not the newest one, so the rows of that block were lost"
			}
			s.add(newFinding(kind, sev, "%s", msg).at(info.Path, e.Offset))
			continue
		}
		msg := e.Msg
		if e.Skipped > 0 {
			msg += fmt.Sprintf(" (%d bytes skipped)", e.Skipped)
		}
		s.add(newFinding(kind, Error, "%s", msg).at(info.Path, e.Offset))
	}
}

// scanSnapshot reads a snapshot: its rows are not replayed, but the
// schema and queue/Raft state it carries start (or restart) the replay.
func (s *scanner) scanSnapshot(rd *format.Reader, info *fileInfo) {
	snapSchema := newSchema()
	var promote *format.Synchro
	var raft *format.Raft
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.add(newFinding(KindUnreadable, Error, "%v", err).at(info.Path, rd.Offset()))
			break
		}
		s.rowCount++
		if s.rowCount&0xfff == 0 {
			s.advance(r.Pos.Block)
		}
		switch r.Type {
		case box.TypePromote:
			if syn, err := r.Synchro(); err == nil {
				promote = &syn
			}
		case box.TypeRaft:
			if f, err := r.Raft(); err == nil {
				raft = &f
			}
		default:
			snapSchema.apply(r)
		}
	}
	s.inst.sum.Rows += rd.Stats().Rows
	vs := info.VClock
	s.inst.sum.SnapshotVClock = &vs
	adopt := !s.started
	if s.started {
		switch s.vclock.Compare(vs) {
		case format.Equal:
		case format.Before:
			s.add(newFinding(KindLSNGap, Warning,
				"the WAL before this snapshot ends at %s but the snapshot is at %s: rows %s are only in the snapshot",
				s.vclock, vs, rangesText(s.vclock, vs)).at(info.Path, 0))
			adopt = true
		default:
			s.add(newFinding(KindSnapshot, Error,
				"snapshot vclock %s is not reachable from the WAL read before it (%s): rows %s were already read beyond it",
				vs, s.vclock, rangesText(vs, s.vclock)).at(info.Path, 0))
		}
	}
	if !adopt {
		return
	}
	fresh := !s.started && vs.Signature() == 0
	s.started = true
	s.vclock = vs
	if snapSchema.replicaset == "" {
		snapSchema.replicaset = s.schema.replicaset
	}
	s.schema = snapSchema
	s.schema.known = true
	s.learnOwnID()
	s.queue.Reset(fresh)
	s.queue.Restore(promote)
	if raft != nil {
		s.raft.term, s.raft.vote, s.raft.known = raft.Term, uint64(raft.Vote), true
	}
	s.inst.sum.FirstVClock = firstOr(s.inst.sum.FirstVClock, vs, !s.firstSeen)
	s.firstSeen = true
	qs := s.queue.State()
	s.event(Event{Kind: EventStart, Term: qs.Term, Text: fmt.Sprintf("snapshot %s: queue owner %d, queue term %d, raft term %d",
		vs, qs.Owner, qs.Term, s.raft.term)})
}

func firstOr(cur, v format.VClock, take bool) format.VClock {
	if take {
		return v
	}
	return cur
}

// rangesText lists, per component, the LSNs in b above a: "1:5-9, 2:3".
func rangesText(a, b format.VClock) string {
	var buf bytes.Buffer
	for id := uint32(0); id < format.VClockMax; id++ {
		if b.Get(id) > a.Get(id) {
			if buf.Len() > 0 {
				buf.WriteString(", ")
			}
			from, to := a.Get(id)+1, b.Get(id)
			if from == to {
				fmt.Fprintf(&buf, "%d:%d", id, from)
			} else {
				fmt.Fprintf(&buf, "%d:%d-%d", id, from, to)
			}
		}
	}
	if buf.Len() == 0 {
		return "none"
	}
	return buf.String()
}

// learnOwnID finds the instance's replica id in _cluster.
func (s *scanner) learnOwnID() {
	if s.ownKnown || s.uuid == "" {
		return
	}
	if id, ok := s.schema.idOf(s.uuid); ok {
		s.ownKnown = true
		s.inst.ownID = id
		s.inst.sum.ReplicaID = id
		s.txns.SetLocalID(id)
		s.inst.know.own = id
	}
}

// scanXlog checks where the file starts and replays its rows.
func (s *scanner) scanXlog(rd *format.Reader, info *fileInfo) {
	h := info.VClock
	if !s.started {
		s.started = true
		s.vclock = h
		s.schema.known = h.Signature() == 0
		s.queue.Reset(h.Signature() == 0)
		s.inst.sum.FirstVClock = firstOr(s.inst.sum.FirstVClock, h, !s.firstSeen)
		s.firstSeen = true
		s.event(Event{Kind: EventStart, Text: "first file " + filepath.Base(info.Path) + " at " + h.String()})
	} else {
		s.checkChain(rd.Meta(), info)
	}
	for {
		if s.rowCount&0xffff == 0 && s.ctx.Err() != nil {
			return
		}
		if s.rowCount&0xfff == 0 {
			s.advance(rd.Offset())
		}
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.add(newFinding(KindUnreadable, Error, "%v", err).at(info.Path, rd.Offset()))
			break
		}
		s.rowCount++
		s.xlogRow(r)
		s.damaged = false
	}
	s.inst.sum.Rows += rd.Stats().Rows
}

// checkChain compares where an xlog starts with where the WAL read so far
// ends and with the previous file it names.
func (s *scanner) checkChain(m *format.Meta, info *fileInfo) {
	h := info.VClock
	var lost, over bool
	for id := uint32(0); id < format.VClockMax; id++ {
		if h.Get(id) > s.vclock.Get(id) {
			lost = true
		} else if h.Get(id) < s.vclock.Get(id) {
			over = true
		}
	}
	prevNote := ""
	if m.HasPrevVClock && s.lastXlog != nil && !m.PrevVClock.Equal(s.lastXlog.VClock) {
		prevNote = fmt.Sprintf(" (its PrevVClock %s names a file that is not here: the previous xlog here starts at %s)",
			m.PrevVClock, s.lastXlog.VClock)
	}
	if lost {
		// One finding per component that lost rows.
		for id := uint32(0); id < format.VClockMax; id++ {
			if h.Get(id) > s.vclock.Get(id) {
				s.add(newFinding(KindLSNGap, Error, "rows %d:%d-%d are missing: the WAL read so far ends at %s but %s starts at %s%s",
					id, s.vclock.Get(id)+1, h.Get(id), s.vclock, filepath.Base(info.Path), h, prevNote).
					at(info.Path, 0).lsns(id, s.vclock.Get(id)+1, h.Get(id)))
			}
		}
		s.event(Event{Kind: EventGap, Text: "rows missing: " + rangesText(s.vclock, h)})
		// Whatever happened in the missing rows is unknown now.
		s.vclock = s.vclock.Max(h)
		s.queue.Reset(false)
		s.txns.Reset()
		for t, sd := range s.side {
			delete(s.side, t)
			s.spare = append(s.spare, sd)
		}
	} else if prevNote != "" {
		s.add(newFinding(KindLSNGap, Warning, "%s%s; no rows are missing", filepath.Base(info.Path), prevNote).at(info.Path, 0))
	}
	if over {
		s.add(newFinding(KindLSNOrder, Error, "%s starts at %s, below rows already read (%s): files overlap",
			filepath.Base(info.Path), h, s.vclock).at(info.Path, 0))
	}
}

// xlogRow checks one WAL row's place in the order of its component and
// replays it.
func (s *scanner) xlogRow(r *format.Row) {
	id := r.ReplicaID
	if id >= format.VClockMax {
		s.add(newFinding(KindBadRow, Error, "replica id %d out of range", id).
			at(s.file, r.Pos.FileOffset()).withEvidence(s.evidence(r, "")))
		return
	}
	before := s.vclock
	cur := s.vclock.Get(id)
	if r.LSN == 0 || (s.vclock.Has(id) && r.LSN <= cur) {
		s.add(newFinding(KindLSNOrder, Error, "LSN %d of replica %d is not above %d, the last one of that component: used twice or out of order",
			r.LSN, id, cur).at(s.file, r.Pos.FileOffset()).lsns(id, r.LSN, r.LSN).withEvidence(s.evidence(r, "")))
		return
	}
	if r.LSN > cur+1 {
		if s.damaged {
			s.add(newFinding(KindLSNGap, Error, "rows %d:%d-%d were lost in the damaged bytes before this row",
				id, cur+1, r.LSN-1).at(s.file, r.Pos.FileOffset()).lsns(id, cur+1, r.LSN-1).
				withEvidence(s.evidence(r, "first row after the gap")))
		} else {
			s.add(newFinding(KindLSNGap, Warning, "LSNs of replica %d jump from %d to %d inside the file (Tarantool only requires them to grow)",
				id, cur, r.LSN).at(s.file, r.Pos.FileOffset()).lsns(id, cur+1, r.LSN-1).
				withEvidence(s.evidence(r, "first row after the jump")))
		}
	}
	s.vclock.Set(id, r.LSN)
	if r.Timestamp != 0 {
		if s.inst.sum.FirstTime == 0 {
			s.inst.sum.FirstTime = r.Timestamp
		}
		s.inst.sum.LastTime = r.Timestamp
	}
	if id != 0 {
		s.inst.digests.add(id, r.LSN, rowHash(s.seed, r))
	}
	switch {
	case r.Type == box.TypeRaft:
		s.raftRow(r)
	case r.Type.IsSynchro():
		s.synchroRow(r, before)
	default:
		s.txRow(r, before)
	}
}

func (f *Finding) withEvidence(e ...Evidence) *Finding {
	f.Evidence = append(f.Evidence, e...)
	return f
}

// txSide is what verify keeps of an open transaction beside the
// assembler's summary.
type txSide struct {
	know  format.VClock // the instance vclock when it started
	first keptRow
	sync  bool // touches a synchronous space (inferred)
}

// takeSide removes and returns the side state of a transaction that ended.
func (s *scanner) takeSide(t *format.Tx) *txSide {
	sd := s.side[t]
	delete(s.side, t)
	if sd != nil {
		s.spare = append(s.spare, sd)
	}
	return sd
}

// txRow adds a data row to its transaction.
func (s *scanner) txRow(r *format.Row, before format.VClock) {
	ended := s.txns.Add(r)
	t := s.txns.Current()
	for _, e := range ended {
		if e != t {
			s.incompleteTx(e, fmt.Sprintf("a new transaction (tsn %d) of the same replica began before it committed", r.TSN), r)
		}
	}
	sd := s.side[t]
	if sd == nil {
		if n := len(s.spare); n > 0 {
			sd = s.spare[n-1]
			s.spare = s.spare[:n-1]
		} else {
			sd = &txSide{}
		}
		sd.know, sd.sync = before, false
		sd.first.keep(r)
		s.side[t] = sd
	}
	global := r.ReplicaID != 0 && r.GroupID != box.GroupLocal
	if global {
		if t.FirstGlobal == r.LSN && r.TSN != r.LSN {
			s.add(newFinding(KindBrokenTx, Error,
				"transaction %d:%d: its first row (lsn %d) is absent; this row (lsn %d) is the first one in the log",
				r.ReplicaID, r.TSN, r.TSN, r.LSN).at(s.file, r.Pos.FileOffset()).lsns(r.ReplicaID, r.TSN, r.LSN).
				withEvidence(s.evidence(r, "")))
		}
		if r.Type != box.TypeNop && !s.rules.Flags && r.Type.IsDML() {
			if sid, ok := r.SpaceID(); ok && s.schema.syncSpaces.IsSync(sid) {
				sd.sync = true
			}
		}
	}
	broken := t.Origin != 0 && t.Headless
	if r.Type.IsDML() && !broken {
		if sid, ok := r.SpaceID(); ok && (sid == box.SpaceSchema || sid == box.SpaceSpace || sid == box.SpaceCluster) {
			s.schema.apply(r)
			s.learnOwnID()
		}
	}
	if len(ended) == 0 || ended[len(ended)-1] != t {
		return // still open
	}
	s.takeSide(t)
	if t.Origin == 0 && t.Headless {
		s.add(newFinding(KindBrokenTx, Error,
			"local transaction with tsn %d starts at lsn %d: its first row is absent", t.TSN, t.FirstLSN).
			at(sd.first.row.Pos.File, sd.first.row.Pos.FileOffset()).lsns(0, t.TSN, t.FirstLSN).
			withEvidence(s.evidence(&sd.first.row, "first row here")))
		return
	}
	s.commitTx(t, sd)
}

func (s *scanner) incompleteTx(t *format.Tx, why string, next *format.Row) {
	sd := s.takeSide(t)
	first := &sd.first.row
	f := newFinding(KindIncompleteTx, Error, "transaction with tsn %d (%d rows from lsn %d) never commits: %s",
		t.TSN, t.Count, t.FirstLSN, why).at(first.Pos.File, first.Pos.FileOffset())
	id := t.Origin
	if id == 0 {
		id = first.ReplicaID
	}
	f.lsns(id, t.TSN, max(t.LastGlobal, t.TSN))
	f.withEvidence(s.evidence(first, "first row"))
	if next != nil {
		f.withEvidence(s.evidence(next, "next row of the same replica"))
	}
	s.add(f)
}

// commitTx feeds a committed transaction to the queue replay; sd is its
// side state (valid until the next row).
func (s *scanner) commitTx(t *format.Tx, sd *txSide) {
	if t.Headless || t.Origin == 0 {
		return // a broken one is skipped by recovery; local ones never queue
	}
	s.txSeen++
	q := s.queue
	X := t.Origin
	var count int64
	var head uint32
	if es := q.Entries(); len(es) > 0 {
		count, head = q.Len(), es[0].Origin
	}
	st := q.CommitTx(t, sd.sync, 0)
	if st.Skipped {
		// NOP transactions never enter the queue, and have no fate.
		s.inst.fates.cutAt(X)
		return
	}
	queued := st.WantsQueue
	e := synchro.Entry{Origin: X, First: t.FirstGlobal, LSN: t.LastGlobal}
	if st.Stale {
		why := "an asynchronous transaction"
		note := "Tarantool 2.10.1+ refuses it (split-brain: async transaction from an old term)"
		if queued {
			why = "a synchronous (or queued) transaction"
			note = "Tarantool 2.10.1+ writes such a transaction as NOPs"
		}
		if !s.rules.Filters {
			note = fmt.Sprintf("Tarantool %s applies it without a check", s.rules.Version)
		}
		f := newFinding(KindStaleTerm, Error,
			"%s of replica %d (%d:%d-%d) after the queue moved on: replica %d's last PROMOTE is in term %d, the queue is in term %d owned by replica %d; %s",
			why, X, X, t.FirstGlobal, t.LastGlobal, X, st.OriginTerm, st.Term, st.Owner, note).
			at(sd.first.row.Pos.File, sd.first.row.Pos.FileOffset()).lsns(X, t.FirstGlobal, t.LastGlobal)
		f.Term = st.Term
		s.add(f.withEvidence(s.evidence(&sd.first.row, "first row")))
	}
	if st.Takeover {
		prev := st.PrevOwner
		s.event(Event{Time: t.Time, Kind: EventOwner, ReplicaID: X, LSN: e.LSN,
			Text: fmt.Sprintf("replica %d takes the queue over from %d with its synchronous transaction %d:%d", X, prev, X, e.LSN)})
		if s.ownKnown && X == s.inst.ownID {
			how := fmt.Sprintf("its first synchronous transaction after replica %d's", prev)
			if prev == 0 {
				how = "its first synchronous transaction into an unowned queue"
			}
			s.inst.know.addClaim(claim{lsn: e.First, prevOwner: prev, how: how,
				know: sd.know, ts: t.Time, file: sd.first.row.Pos.File, off: sd.first.row.Pos.FileOffset(), row: s.render(&sd.first.row)})
		}
	}
	if st.Conflict != synchro.NoConflict && !st.Stale {
		var conflict string
		switch st.Conflict {
		case synchro.ForeignTxns:
			conflict = fmt.Sprintf("the queue holds %d transactions of replica %d (%s)", count, head, box.ErrUncommittedForeignSyncTxns)
		case synchro.Unclaimed:
			conflict = fmt.Sprintf("the queue is not claimed by anyone (%s)", box.ErrSyncQueueUnclaimed)
		case synchro.ForeignQueue:
			conflict = fmt.Sprintf("the queue belongs to replica %d (%s)", st.Owner, box.ErrSyncQueueForeign)
		}
		f := newFinding(KindQueueConflict, Error, "queued transaction %d:%d-%d of replica %d, but %s",
			X, e.First, e.LSN, X, conflict).at(sd.first.row.Pos.File, sd.first.row.Pos.FileOffset()).lsns(X, e.First, e.LSN)
		s.add(f.withEvidence(s.evidence(&sd.first.row, "first row")))
	}
	s.resolve(st.Decisions)
	if s.ownKnown && X == s.inst.ownID {
		qs := q.State()
		term := qs.Term
		if !qs.TermKnown {
			term = 0
		}
		s.inst.know.add(t.FirstGlobal, t.LastGlobal, sd.know, qs.Owner == X, term, t.Time)
	}
}

// resolve records the fates the queue decided.
func (s *scanner) resolve(ds []synchro.Decision) {
	for _, d := range ds {
		s.resolved(d.Entry, fateOf(d.Fate))
	}
}

func fateOf(f synchro.Fate) fate {
	switch f {
	case synchro.Confirmed:
		return fateConfirmed
	case synchro.RolledBack:
		return fateRolledBack
	case synchro.Pending:
		return fatePending
	}
	return fateCommitted
}

// resolved records the fate of a transaction.
func (s *scanner) resolved(e synchro.Entry, f fate) {
	s.inst.fates.add(e.Origin, e.First, e.LSN, f, e.Sync, e.Time)
	if s.onFate != nil {
		s.onFate(e, f)
	}
	c := &s.inst.sum.Sync
	n := e.Count()
	switch {
	case f == fateCommitted:
		c.Async += n
	case f == fateConfirmed && e.Sync:
		c.Confirmed += n
	case f == fateConfirmed:
		c.QueuedConfirmed += n
	case f == fateRolledBack && e.Sync:
		c.RolledBack += n
	case f == fateRolledBack:
		c.QueuedRolledBack += n
	case f == fatePending && e.Sync:
		c.Pending += n
	case f == fatePending:
		c.QueuedPending += n
	}
}

// synchroRow replays CONFIRM, ROLLBACK, PROMOTE and DEMOTE.
func (s *scanner) synchroRow(r *format.Row, before format.VClock) {
	syn, err := r.Synchro()
	if err != nil {
		s.add(newFinding(KindBadRow, Error, "%s body does not decode: %v", r.Type, err).
			at(s.file, r.Pos.FileOffset()).withEvidence(s.evidence(r, "")))
		return
	}
	switch r.Type {
	case box.TypeConfirm, box.TypeRollback:
		s.confirmRollback(r, syn, before)
	default:
		s.promoteDemote(r, syn, before)
	}
}

func (s *scanner) confirmRollback(r *format.Row, syn format.Synchro, before format.VClock) {
	X, O, L := r.ReplicaID, syn.ReplicaID, syn.LSN
	confirm := r.Type == box.TypeConfirm
	at := func(f *Finding) *Finding {
		return f.at(s.file, r.Pos.FileOffset()).lsns(O, L, L).withEvidence(s.evidence(r, ""))
	}
	st := s.queue.Apply(r.Type, X, syn)
	s.resolve(st.Decisions)
	switch {
	case st.Invalid:
		s.add(at(newFinding(KindForeignSynchro, Error, "%s with zero or invalid queue owner %d / LSN %d", r.Type, O, L)))
		return
	case st.Unknown:
		// Nothing is known about the queue here (the log starts after a
		// restart of a version that does not persist its owner).
		return
	case st.Foreign:
		owner := st.Owner
		outdated := st.ConfirmedKnown && L <= st.Confirmed
		switch {
		case s.rules.MasterMismatch:
			s.add(at(newFinding(KindForeignSynchro, Error,
				"%s from replica %d for replica %d's queue, but the queue belongs to replica %d: Tarantool %s fails on it with %s",
				r.Type, X, O, owner, s.rules.Version, box.ErrSyncMasterMismatch)))
		case outdated && confirm:
			// Confirms what is already confirmed: ignored (gh-9138).
		case outdated:
			s.add(at(newFinding(KindForeignSynchro, Error,
				"ROLLBACK from replica %d of %d:%d, which was already confirmed here; the queue belongs to replica %d (split-brain: the old owner rolled back what the new one confirmed)",
				X, O, L, owner)))
		case !confirm && st.OriginOutdated:
			// An old term's rollback of what the new owner already
			// cancelled: ignored (gh-9138).
		default:
			what := fmt.Sprintf("would confirm %d:%d-%d", O, st.Confirmed+1, L)
			if !confirm {
				what = fmt.Sprintf("would roll back %d:%d and later", O, L)
			}
			s.add(at(newFinding(KindForeignSynchro, Error,
				"%s from replica %d for replica %d's queue, but the queue belongs to replica %d here; it %s (split-brain: a request from a foreign synchro queue owner)",
				r.Type, X, O, owner, what)))
		}
		return
	}
	if st.Clear && s.ownKnown && X == s.inst.ownID {
		// clear_synchro_queue on a new master (2.6.1–2.8.0).
		s.inst.know.addClaim(claim{lsn: r.LSN, prevOwner: O, how: fmt.Sprintf("%s for replica %d's queue (box.ctl.clear_synchro_queue)", r.Type, O),
			know: before, ts: r.Timestamp, file: s.file, off: r.Pos.FileOffset(), row: s.render(r)})
		s.event(Event{Time: r.Timestamp, Kind: EventClear, ReplicaID: X, LSN: r.LSN,
			Text: fmt.Sprintf("replica %d clears replica %d's queue: %s %d", X, O, r.Type, L)})
	}
	if confirm {
		if rb := st.RolledBack; rb.From != 0 && L >= rb.From && L <= rb.To && (!st.ConfirmedKnown || st.Confirmed < L) {
			f := at(newFinding(KindSplitBrain, Error,
				"CONFIRM from replica %d confirms %d:%d, which this instance rolled back before (%d:%d-%d)",
				X, O, L, O, rb.From, rb.To))
			s.add(f)
			s.event(Event{Time: r.Timestamp, Kind: EventSplit, ReplicaID: X, LSN: r.LSN, Text: f.Message})
		}
		if st.ConfirmedKnown && L <= st.Confirmed && s.rules.Filters && !s.rules.OutdatedConfirmOK {
			s.add(at(newFinding(KindOutdatedSynchro, Warning,
				"CONFIRM of %d:%d, already confirmed up to %d here: Tarantool %s rejects it when split-brain checks are on (3.5.0/2.11.8 and later ignore it)",
				O, L, st.Confirmed, s.rules.Version)))
		}
		return
	}
	if st.ConfirmedKnown && L <= st.Confirmed {
		s.add(at(newFinding(KindSplitBrain, Error, "ROLLBACK from replica %d of %d:%d, which was already confirmed here (up to %d)",
			X, O, L, st.Confirmed)))
	}
	s.event(Event{Time: r.Timestamp, Kind: EventRollback, ReplicaID: X, LSN: r.LSN,
		Text: fmt.Sprintf("replica %d rolls back %d:%d and later", X, O, L)})
}

func (s *scanner) promoteDemote(r *format.Row, syn format.Synchro, before format.VClock) {
	X, T, L := r.ReplicaID, syn.Term, syn.LSN
	demote := r.Type == box.TypeDemote
	at := func(f *Finding) *Finding {
		f.Term = T
		return f.at(s.file, r.Pos.FileOffset()).lsns(X, r.LSN, r.LSN).withEvidence(s.evidence(r, ""))
	}
	// Before 2.11.2 confirmed_lsn is the current owner's since it took
	// the queue (reset on every change of owner): what the writer names
	// in its PROMOTE, and what its receivers check it against.
	ownerConfirmed := s.queue.ConfirmedLSN()
	st := s.queue.Apply(r.Type, X, syn)
	s.resolve(st.Decisions)
	if !s.rules.ConfirmedVClock {
		st.Confirmed = ownerConfirmed
	}
	if T == 0 {
		s.add(at(newFinding(KindPromoteTerm, Error, "%s from replica %d with a zero term", r.Type, X)))
	} else if st.TermKnown && T <= st.Term {
		if T == st.Term && X == st.TermOrigin {
			s.add(at(newFinding(KindPromoteTerm, Warning, "%s from replica %d repeats term %d", r.Type, X, T)))
		} else {
			s.add(at(newFinding(KindPromoteTerm, Error,
				"%s from replica %d in term %d, but the queue is already in term %d (set by replica %d): the term does not grow (split-brain: PROMOTE/DEMOTE with an obsolete term)",
				r.Type, X, T, st.Term, st.TermOrigin)))
		}
	}
	if cur := st.Owner; st.ConfirmedKnown && st.Confirmed > L {
		s.add(at(newFinding(KindPromoteLSN, Error,
			"%s from replica %d confirms replica %d's queue only up to %d, but %d:%d-%d were already confirmed here (split-brain: lsn from an already processed range)",
			r.Type, X, cur, L, cur, L+1, st.Confirmed)))
	}
	prev := st.PrevOwner
	kind := EventPromote
	if demote {
		kind = EventDemote
	}
	ev := promoteEvent{origin: X, lsn: r.LSN, term: T, prevOwner: syn.ReplicaID, border: L, demote: demote,
		ts: r.Timestamp, file: s.file, off: r.Pos.FileOffset(), row: s.render(r)}
	if len(s.inst.promotes) < claimLimit {
		s.inst.promotes = append(s.inst.promotes, ev)
	}
	s.event(Event{Time: r.Timestamp, Kind: kind, ReplicaID: X, LSN: r.LSN, Term: T,
		Text: fmt.Sprintf("%s by replica %d in term %d (queue of replica %d confirmed up to %d)", r.Type, X, T, syn.ReplicaID, L)})
	if !demote && s.ownKnown && X == s.inst.ownID && prev != X {
		s.inst.know.addClaim(claim{lsn: r.LSN, prevOwner: prev, how: fmt.Sprintf("PROMOTE in term %d", T), term: T,
			know: before, ts: r.Timestamp, file: s.file, off: r.Pos.FileOffset(), row: ev.row})
	}
}

// raftRow checks the persisted Raft term and vote.
func (s *scanner) raftRow(r *format.Row) {
	f, err := r.Raft()
	if err != nil {
		s.add(newFinding(KindBadRow, Error, "RAFT body does not decode: %v", err).
			at(s.file, r.Pos.FileOffset()).withEvidence(s.evidence(r, "")))
		return
	}
	at := func(fd *Finding) *Finding {
		fd.Term = f.Term
		return fd.at(s.file, r.Pos.FileOffset()).withEvidence(s.evidence(r, ""))
	}
	rs := &s.raft
	vote := uint64(f.Vote)
	switch {
	case !rs.known || f.Term > rs.term:
		if rs.known || f.Term != 0 {
			s.event(Event{Time: r.Timestamp, Kind: EventRaftTerm, Term: f.Term, Text: fmt.Sprintf("raft term %d", f.Term)})
		}
		rs.term, rs.vote, rs.known = f.Term, vote, true
	case f.Term < rs.term:
		s.add(at(newFinding(KindRaftTerm, Error, "persisted Raft term goes down from %d to %d", rs.term, f.Term)))
		return
	case vote != 0 && rs.vote != 0 && vote != rs.vote:
		s.add(at(newFinding(KindVoteConflict, Error, "vote for replica %d in term %d, after a vote for replica %d in the same term",
			vote, f.Term, rs.vote)))
		return
	case vote != 0:
		rs.vote = vote
	}
	if vote != 0 {
		s.event(Event{Time: r.Timestamp, Kind: EventVote, Term: f.Term, ReplicaID: uint32(vote),
			Text: fmt.Sprintf("votes for replica %d in term %d", vote, f.Term)})
	}
}

// finish reports what is left open at the end of the log and fills in the
// summary.
func (s *scanner) finish() {
	for _, t := range s.txns.End() {
		s.incompleteTx(t, "the log ends before its commit row", nil)
	}
	q := s.queue
	if es := q.Entries(); len(es) > 0 {
		first, last := es[0], es[len(es)-1]
		nsync, count := q.PendingSync(), q.Len()
		s.resolve(q.End())
		f := newFinding(KindSyncPending, Warning,
			"%d synchronous transactions (%d queued in all) of replica %d are neither confirmed nor rolled back at the end of the log: %d:%d-%d",
			nsync, count, first.Origin, first.Origin, first.First, last.LSN).lsns(first.Origin, first.First, last.LSN)
		f.at(s.file, -1)
		s.add(f)
	}
	sum := &s.inst.sum
	sum.ReplicaID = s.inst.ownID
	s.inst.rsUUID, s.inst.cluster, s.inst.clusterAt = s.schema.replicaset, s.schema.cluster, s.schema.clusterAt
	sum.ReplicasetUUID = s.schema.replicaset
	sum.Cluster = clusterJSON(s.schema.cluster)
	sum.VClock = s.vclock
	sum.Transactions = s.txSeen
	for v := range s.versions {
		sum.Versions = append(sum.Versions, v)
	}
	sort.Strings(sum.Versions)
	qs := q.State()
	sum.Queue = QueueState{Owner: qs.Owner, OwnerKnown: qs.OwnerKnown, Term: qs.Term, TermKnown: qs.TermKnown, Confirmed: qs.Confirmed}
	sum.Raft = RaftState{Term: s.raft.term, Vote: uint32(s.raft.vote), Known: s.raft.known}
	s.inst.vclock = s.vclock
	s.event(Event{Kind: EventEnd, Time: sum.LastTime, Term: qs.Term, Text: "end of the log at " + s.vclock.String()})
	sum.Timeline = s.inst.timeline.list()
	sum.TimelineDropped = s.inst.timeline.dropped
	if s.inst.fates.truncated || s.inst.know.truncated || q.Overflow() {
		s.add(newFinding(KindTruncated, Warning,
			"the log has more fate changes, write-order changes or queued transactions than verify keeps (%d / %d / %d); later checks are coarser",
			fateLimit, segmentLimit, queueLimit))
	}
}

// advance tells the progress callback that the current file has been read
// up to offset off.
func (s *scanner) advance(off int64) {
	if s.limits.progress != nil && off > s.reported {
		s.limits.progress(off - s.reported)
		s.reported = off
	}
}
