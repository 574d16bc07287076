package repair

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/xlogtool/xlogtool/format"
)

// A stand-in text header put in front of byte ranges of a file so that the
// format reader can decode their blocks.
const (
	fakeXlogHeader = "XLOG\n0.13\n\n"
	fakeSnapHeader = "SNAP\n0.13\n\n"
)

// walFile is one input WAL file and what the analysis found in it.
type walFile struct {
	path, name string
	sig        uint64
	size       int64
	hdr        headerInfo
	foreign    bool // written by another instance: left out

	pieces []piece
	hasEOF bool
	events []event

	kept      int64
	synchro   bool          // rows of synchronous replication are written
	keptFirst format.VClock // first LSN written, per component
	keptLast  format.VClock // last LSN written, per component

	lostRows  []*format.Row // rows of intact blocks that are not written
	looseRows []*format.Row // rows decoded from damaged bytes (unverified)
	// Side files (relative to the output WAL directory) for lostRows and
	// looseRows.
	sideName, looseName string

	actions []Action
}

type evKind int

const (
	evKept    evKind = iota // rows written: LSNs from..to of a component (not necessarily all of them)
	evDropped               // one row not written
	evDamage                // bytes that could not be read: rows may have been there
)

// event is one step of a file's row stream, in file order; the lost-row
// accounting replays them.
type event struct {
	kind     evKind
	id       uint32
	from, to uint64
	reason   string
	// notLost marks a dropped row whose LSN was used by a row written
	// earlier (an out-of-order row): its LSN is not missing from the result.
	notLost bool
	// Damage: untrusted rows decoded from the damaged bytes.
	hints []*format.Row
	// block: the damage is a block whose header decodes, so it held at
	// least one row.
	block bool
}

// txItem is a row of an open transaction, or damage met while it was open.
type txItem struct {
	row        *format.Row
	piece, idx int
	damage     *event
}

type openTx struct {
	tsn    uint64
	items  []txItem
	broken bool
}

// analyzer runs the row pass over one file.
type analyzer struct {
	w     *walFile
	f     *os.File
	floor format.VClock // rows at or below it are out of order
	// written holds the LSNs of the rows kept: a dropped row at or below it
	// shares its LSN with a row that is written, so its LSN is not lost.
	written format.VClock
	asm     *format.TxAssembler // where transactions begin and end
	tx      *openTx
	seg     []event // kept ranges not flushed yet
}

// Reasons rows are dropped.
const (
	reasonNoCommit   = "transaction without its last row"
	reasonBroken     = "transaction cut by damaged data"
	reasonHeadLost   = "transaction whose first rows were lost"
	reasonOutOfOrder = "row LSN not above the LSN of an earlier row"
)

// analyzeWAL reads the blocks of a WAL file (its header has been read) and
// decides which rows are written. written is the vclock of the rows kept
// from the files before it; the returned vclock adds this file's rows.
func analyzeWAL(w *walFile, written format.VClock) (format.VClock, error) {
	floor := written
	f, err := os.Open(w.path)
	if err != nil {
		return floor, err
	}
	defer f.Close()
	s := newScanner(f, w.size)
	w.pieces = s.frame(w.hdr.start)
	if s.err != nil {
		return floor, fmt.Errorf("%s: %w", w.path, s.err)
	}
	if w.hdr.ok {
		floor = floor.Max(w.hdr.meta.VClock)
	}
	a := &analyzer{w: w, f: f, floor: floor, written: written, asm: format.NewTxAssembler(format.TxOptions{})}
	for i := 0; i < len(w.pieces); {
		p := &w.pieces[i]
		switch p.kind {
		case pBlock:
			j := i
			for j < len(w.pieces) && w.pieces[j].kind == pBlock {
				j++
			}
			if err := a.readBlocks(i, j); err != nil {
				return floor, err
			}
			i = j
			continue
		case pBad:
			action := "drop-garbage"
			if p.fixOK {
				action = "drop-damaged-block"
			}
			w.act(action, p.off, p.size, p.msg)
			a.damage(&event{kind: evDamage, reason: "damaged block: " + p.why.String(), hints: a.loose(p),
				block: p.fixOK && p.plen > 0})
		case pTorn:
			w.act("cut-torn-tail", p.off, p.size, "incomplete block at the end of the data: "+p.msg)
			a.damage(&event{kind: evDamage, reason: "torn tail", hints: a.loose(p), block: p.fixOK && p.plen > 0})
		case pEOF:
			w.hasEOF = true
		case pAfterEOF:
			w.act("drop-after-eof", p.off, p.size, "bytes after the EOF marker")
		}
		i++
	}
	if !w.hasEOF {
		w.act("write-eof-marker", -1, 0, "the file had no EOF marker")
		a.damage(&event{kind: evDamage, reason: "file without EOF marker"})
	}
	for _, t := range a.asm.End() {
		a.endTx(t, reasonNoCommit)
	}
	a.flush()
	return a.written, nil
}

func (w *walFile) act(action string, off, n int64, detail string) {
	a := Action{File: w.name, Action: action, Detail: detail, Bytes: n}
	if off >= 0 {
		o := off
		a.Offset = &o
	}
	w.actions = append(w.actions, a)
}

// readBlocks reads the rows of the valid blocks w.pieces[i:j], which follow
// each other in the file.
func (a *analyzer) readBlocks(i, j int) error {
	ps := a.w.pieces
	end := ps[j-1].off + ps[j-1].size
	for k := i; k < j; {
		start := ps[k].off
		base := start - int64(len(fakeXlogHeader))
		src := io.MultiReader(strings.NewReader(fakeXlogHeader), io.NewSectionReader(a.f, start, end-start))
		rd, err := format.NewReader(src, format.Options{Name: a.w.path})
		if err != nil {
			return err
		}
		next := j
		for {
			row, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				e, ok := format.AsError(err)
				if !ok || (e.Kind != format.KindDecompress && e.Kind != format.KindBadRow) {
					rd.Close()
					return err
				}
				for k < j && ps[k].off != e.Offset+base {
					k++
				}
				if k == j {
					rd.Close()
					return fmt.Errorf("%s: block at offset %d not found", a.w.path, e.Offset+base)
				}
				p := &ps[k]
				if e.Kind == format.KindDecompress {
					p.kind, p.why, p.msg = pBad, format.KindDecompress, e.Msg
					a.w.act("drop-damaged-block", p.off, p.size, e.Msg)
					a.damage(&event{kind: evDamage, reason: "block does not decompress", hints: a.loose(p), block: true})
				} else {
					p.partial = true
					a.w.act("drop-undecodable-rows", p.off, p.size,
						fmt.Sprintf("rows from index %d of the block do not decode: %s", p.nrows, e.Msg))
					a.damage(&event{kind: evDamage, reason: "rows that do not decode"})
				}
				next = k + 1
				break
			}
			off := row.Pos.Block + base
			for k < j && ps[k].off != off {
				k++
			}
			if k == j {
				rd.Close()
				return fmt.Errorf("%s: block at offset %d not found", a.w.path, off)
			}
			ps[k].nrows = row.Pos.Index + 1
			a.row(row, k, row.Pos.Index)
		}
		rd.Close()
		k = next
	}
	return nil
}

// loose decodes what it can of a damaged or torn block, for the side file
// and as a hint of the LSNs lost. Nothing of it is trusted.
func (a *analyzer) loose(p *piece) []*format.Row {
	if !p.fixOK {
		return nil
	}
	n := p.plen
	if avail := p.size - format.FixHeaderSize; avail < n {
		n = avail
	}
	if n <= 0 {
		return nil
	}
	payload := make([]byte, n)
	m, _ := a.f.ReadAt(payload, p.off+format.FixHeaderSize)
	rows := looseRows(payload[:m], p.compressed)
	a.w.looseRows = append(a.w.looseRows, rows...)
	return rows
}

// looseRows decodes rows from a payload that failed its checks, as far as
// they decode.
func looseRows(payload []byte, compressed bool) []*format.Row {
	raw := payload
	if compressed {
		dec, err := zstd.NewReader(bytes.NewReader(payload), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(format.MaxBlockLen))
		if err != nil {
			return nil
		}
		raw, _ = io.ReadAll(io.LimitReader(dec, format.DefaultMaxBlockSize)) // a bomb is cut at the reader's bound
		dec.Close()
	}
	if len(raw) == 0 {
		return nil
	}
	var stream bytes.Buffer
	stream.WriteString(fakeXlogHeader)
	stream.Write(format.AppendFixHeader(nil, format.MagicPlain, raw))
	stream.Write(raw)
	rd, err := format.NewReader(&stream, format.Options{})
	if err != nil {
		return nil
	}
	defer rd.Close()
	var rows []*format.Row
	for {
		row, err := rd.Next()
		if err != nil {
			return rows
		}
		rows = append(rows, row.Clone())
	}
}

// row takes the next row read from an intact block.
func (a *analyzer) row(r *format.Row, piece, idx int) {
	interrupted, done := a.asm.AddSplit(r)
	for _, t := range interrupted {
		a.endTx(t, reasonNoCommit)
	}
	if !r.HasTSN {
		if r.LSN <= a.floor.Get(r.ReplicaID) {
			a.drop(r, piece, idx, reasonOutOfOrder, r.LSN <= a.written.Get(r.ReplicaID))
			return
		}
		a.keep(r)
		return
	}
	if a.tx == nil {
		a.tx = &openTx{tsn: r.TSN}
	}
	a.tx.items = append(a.tx.items, txItem{row: r.Clone(), piece: piece, idx: idx})
	if done != nil {
		a.endTx(done, "")
	}
}

// damage records bytes that could not be read. A transaction open at that
// point may have lost rows in them: it is not written.
func (a *analyzer) damage(ev *event) {
	if a.tx != nil {
		a.tx.broken = true
		a.tx.items = append(a.tx.items, txItem{damage: ev})
		return
	}
	a.flush()
	a.w.events = append(a.w.events, *ev)
}

// endTx decides about the open transaction, which tx ended: written when
// it is complete (reason ""), not headless (its first global row, or with
// no global row its first row, has LSN == TSN), no damage was met inside
// it and its LSNs grow; else all its rows are dropped.
func (a *analyzer) endTx(tx *format.Tx, reason string) {
	t := a.tx
	a.tx = nil
	if t == nil {
		return
	}
	if t.broken {
		reason = reasonBroken
	}
	if reason == "" && tx.Headless {
		reason = reasonHeadLost
	}
	if reason == "" {
		fl := a.floor
		for _, it := range t.items {
			if it.row != nil {
				if it.row.LSN <= fl.Get(it.row.ReplicaID) {
					reason = reasonOutOfOrder
					break
				}
				fl.Set(it.row.ReplicaID, it.row.LSN)
			}
		}
	}
	var lsns []string
	for _, it := range t.items {
		switch {
		case it.damage != nil:
			a.flush()
			a.w.events = append(a.w.events, *it.damage)
		case reason == "":
			a.keep(it.row)
		default:
			lsns = append(lsns, fmt.Sprintf("%d:%d", it.row.ReplicaID, it.row.LSN))
			a.drop(it.row, it.piece, it.idx, reason, it.row.LSN <= a.written.Get(it.row.ReplicaID))
		}
	}
	if reason != "" && len(lsns) > 0 {
		a.w.act("drop-incomplete-transaction", -1, 0,
			fmt.Sprintf("tsn %d: %s; rows (replica:lsn) %s", t.tsn, reason, strings.Join(lsns, " ")))
	}
}

func (a *analyzer) keep(r *format.Row) {
	id := r.ReplicaID
	a.floor.Follow(id, r.LSN)
	a.written.Follow(id, r.LSN)
	w := a.w
	w.kept++
	if r.Type.IsSynchro() || r.WaitAck() || r.WaitSync() {
		w.synchro = true
	}
	if !w.keptFirst.Has(id) {
		w.keptFirst.Set(id, r.LSN)
	}
	w.keptLast.Follow(id, r.LSN)
	for i := range a.seg {
		if a.seg[i].id == id {
			a.seg[i].to = r.LSN
			return
		}
	}
	a.seg = append(a.seg, event{kind: evKept, id: id, from: r.LSN, to: r.LSN})
}

func (a *analyzer) drop(r *format.Row, piece, idx int, reason string, notLost bool) {
	a.flush()
	p := &a.w.pieces[piece]
	p.drop = append(p.drop, idx)
	a.w.lostRows = append(a.w.lostRows, r.Clone())
	a.w.events = append(a.w.events, event{kind: evDropped, id: r.ReplicaID, from: r.LSN, to: r.LSN,
		reason: reason, notLost: notLost})
	if reason == reasonOutOfOrder {
		a.w.act("drop-out-of-order-row", p.off, 0, fmt.Sprintf("row %d:%d", r.ReplicaID, r.LSN))
	}
}

// flush ends the current run of kept rows.
func (a *analyzer) flush() {
	a.w.events = append(a.w.events, a.seg...)
	a.seg = a.seg[:0]
}
