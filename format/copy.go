package format

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/xlogtool/xlogtool/box"
)

// CopyOptions configure CopyFile.
type CopyOptions struct {
	// Filter selects the rows copied; nil copies every row.
	Filter *Filter
	// Force skips damaged blocks of the input and goes on.
	Force bool
	// OnIssue is called for every problem found in the input.
	OnIssue func(*Error)
	// NoSync skips the fsync of the output file.
	NoSync bool
	// Progress, if set, is called now and then with the input offset reached.
	Progress func(offset int64)
	// Verbatim copies every block as it is stored, its checksum checked,
	// without reading its rows (no zstd): every row is kept, Filter is not
	// used, and the result counts blocks and bytes, not rows.
	Verbatim bool
}

// CopyResult tells what CopyFile did.
type CopyResult struct {
	Input    string
	Output   string // path of the file written; empty when none was
	FileType string // of the input (and output): XLOG, SNAP, ...
	// RowsRead counts the input rows, RowsKept those written.
	RowsRead, RowsKept int64
	// SystemDropped counts rows left out only because they belong to system
	// spaces (the filter hides them unless ShowSystem).
	SystemDropped int64
	// Transactions counts the transactions written; Rederived those of them
	// whose rows got a new TSN or COMMIT flag because some of their rows
	// were left out.
	Transactions, Rederived int64
	// Incomplete counts the transactions written without their last row:
	// the input ended (or stopped at damage) inside them, or another
	// transaction began first. They are written as they were, uncommitted.
	Incomplete int64
	// VerbatimBlocks and VerbatimBytes count the blocks copied as they
	// are and their bytes (fixed headers included).
	VerbatimBlocks, VerbatimBytes int64
	// RowsUncounted: the rows were not read (CopyOptions.Verbatim), so
	// RowsRead, RowsKept and Transactions are 0.
	RowsUncounted bool
	// End tells how the input ended; Damaged whether damage was found in it.
	End     End
	Damaged bool
	// Err is the damage that stopped reading the input, or kept it from
	// being read at all.
	Err error
}

// verbatim copies the block of row (its first) as it is when the filter
// keeps every row of it and the block holds whole transactions, none open
// before it: nothing in its rows would change. It reports whether it did.
// The rows of a block worked on ahead were looked at there (wholeBlock).
func (c *copier) verbatim(r *Reader, first *Row, flt *Filter) (bool, error) {
	if c.asm.Open() || first.Pos.Index != 0 {
		return false, nil
	}
	var w *blockWhole
	if res, _ := r.peekAhead(); res != nil {
		w = res.(*blockWhole)
		defer c.wholes.Put(w)
		if !w.ok {
			return false, nil
		}
		r.skipBlock(w.rows)
	} else {
		ck := wholeCheck{asm: c.scanAsm, flt: flt}
		ck.start(&c.whole)
		ck.end(r.blockRows(&c.scan, ck.row))
		if !c.whole.ok {
			return false, nil
		}
		w = &c.whole
		r.skipBlock(w.rows)
	}
	c.res.RowsRead += int64(w.rows) - 1 // the first was counted
	c.res.RowsKept += int64(w.rows)
	c.res.Transactions += w.txs
	c.res.VerbatimBlocks++
	c.res.VerbatimBytes += int64(r.blockLen)
	return true, c.w.writeBlock(r.buf[r.r:r.r+r.blockLen], w.rows)
}

// blockWhole tells whether a filter keeps every row of a block and the
// block holds whole transactions (none open at its end or cut short in
// it), with its rows and transactions.
type blockWhole struct {
	ok   bool
	rows int
	txs  int64
}

// wholeCheck fills in a blockWhole from the rows of a block.
type wholeCheck struct {
	w   *blockWhole
	asm *TxAssembler
	flt *Filter
}

// start begins a block.
func (c *wholeCheck) start(w *blockWhole) {
	*w = blockWhole{}
	c.w = w
	c.asm.Reset()
}

// row takes the next row of the block; false when the block cannot be
// copied as it is.
func (c *wholeCheck) row(row *Row) bool {
	if c.flt != nil && !c.flt.Match(row) {
		return false
	}
	c.w.rows++
	for _, t := range c.asm.Add(row) {
		if t.End != TxCommitted {
			return false // the open transaction never got its last row
		}
		c.w.txs++
	}
	return true
}

// end finishes the block: all tells whether every row decoded and row
// took it.
func (c *wholeCheck) end(all bool) {
	c.w.ok = all && !c.asm.Open()
}

// wholeAhead is the reader's Options.Ahead for CopyFile: it finds out on
// the goroutines that decompress blocks ahead whether they can be copied
// as they are. It always gives a result (a *blockWhole from pool, which
// the copier puts back), which only CopyFile uses.
func wholeAhead(flt *Filter, pool *sync.Pool) func(*Block) (any, int) {
	var scratch sync.Pool
	return func(b *Block) (any, int) {
		s, _ := scratch.Get().(*wholeScratch)
		if s == nil {
			s = &wholeScratch{asm: NewTxAssembler(TxOptions{})}
		}
		defer scratch.Put(s)
		w, _ := pool.Get().(*blockWhole)
		if w == nil {
			w = &blockWhole{}
		}
		ck := wholeCheck{asm: s.asm, flt: flt}
		ck.start(w)
		_, all := b.Rows(&s.row, nil, ck.row)
		ck.end(all)
		return w, w.rows
	}
}

// wholeScratch is what wholeAhead needs for a block.
type wholeScratch struct {
	row Row
	asm *TxAssembler
}

// copier copies the rows of one file.
type copier struct {
	w    *Writer
	res  *CopyResult
	asm  *TxAssembler
	keep []bool // which rows of the open transaction are kept
	kept []*Row
	// scan and scanAsm look at the rows of a block before it is copied
	// verbatim.
	scan    Row
	scanAsm *TxAssembler
	whole   blockWhole
	wholes  sync.Pool // of *blockWhole, for wholeAhead
}

// CopyFile copies the rows of the file at path that opts.Filter selects
// into a new file in outDir with the same header (file type, format version,
// instance, VClock, PrevVClock and any other header line), so with the same
// name when the input is named after its signature. An existing file is
// never overwritten.
//
// Transactions stay whole: the kept rows of a transaction go into one
// block. When the filter drops some rows of a multi-row transaction, the
// kept rows get a new TSN (the LSN of the first kept global row, else of the
// first kept row) and the COMMIT flag (with the transaction's WAIT_SYNC and
// WAIT_ACK flags) moves to the last kept row; a single kept row becomes a
// plain single-row transaction.
//
// A block whose rows the filter keeps all, holding whole transactions, is
// copied as it is, stored bytes and all: nothing in it would change.
//
// With opts.Verbatim every block is copied as it is stored without a look
// at its rows: only its checksum is checked (as Tarantool's files hold
// whole transactions in a block, the same file as keeping every row gives
// them; a block holding part of a transaction, or rows that do not
// decode, is copied as it is too).
//
// Problems in the input are reported in the result; the returned error is
// about opening the input or writing the output. When the input stops at
// damage the output holds the rows before it and is closed normally.
func CopyFile(path, outDir string, opts CopyOptions) (*CopyResult, error) {
	res := &CopyResult{Input: path}
	ropts := Options{Name: path, Force: opts.Force, Stored: opts.Verbatim}
	c := &copier{res: res, asm: NewTxAssembler(TxOptions{Retain: RetainBorrow}), scanAsm: NewTxAssembler(TxOptions{})}
	if !opts.Verbatim {
		ropts.Ahead = wholeAhead(opts.Filter, &c.wholes)
	}
	ropts.OnIssue = func(e *Error) {
		if !e.IsWarning() {
			res.Damaged = true
		}
		if opts.OnIssue != nil {
			opts.OnIssue(e)
		}
	}
	r, err := Open(path, ropts)
	if r == nil {
		if e, ok := AsError(err); ok && e.Kind != KindIO {
			res.Damaged, res.Err, res.End = true, err, EndCorrupt
			return res, nil
		}
		return res, err
	}
	defer r.Close()
	if err != nil {
		res.Damaged, res.Err, res.End = true, err, EndCorrupt
		return res, nil
	}
	m := *r.Meta()
	res.FileType = m.FileType
	wopts := WriterOptions{NoSync: opts.NoSync}
	if m.Version == Version12 {
		// Readers of format 0.12 expect one row per block, uncompressed.
		wopts.NoCompress, wopts.BlockSize = true, 1
	}
	w, err := Create(outDir, &m, wopts)
	if err != nil {
		return res, err
	}
	if opts.Verbatim {
		return res, copyStored(r, w, res, opts)
	}
	c.w = w
	flt := opts.Filter
	var sysOnly *Filter
	if flt != nil && !flt.ShowSystem && len(flt.Spaces) == 0 {
		f := *flt
		f.ShowSystem = true
		sysOnly = &f
	}
	var nextProgress int64
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if e, ok := AsError(err); !ok || e.Kind == KindIO {
				w.Abort()
				return res, err
			}
			res.Err = err
			break
		}
		res.RowsRead++
		done, err := c.verbatim(r, row, flt)
		if err != nil {
			w.Abort()
			return res, err
		}
		if opts.Progress != nil && res.RowsRead >= nextProgress {
			nextProgress = res.RowsRead + 4096
			opts.Progress(r.Offset())
		}
		if done {
			continue
		}
		keep := flt == nil || flt.Match(row)
		if !keep && sysOnly != nil && sysOnly.Match(row) {
			res.SystemDropped++
		}
		if err := c.row(row, keep); err != nil {
			w.Abort()
			return res, err
		}
	}
	for _, t := range c.asm.End() {
		if err := c.flushTx(t); err != nil {
			w.Abort()
			return res, err
		}
	}
	res.End = r.End()
	if err := w.Close(); err != nil {
		return res, fmt.Errorf("%s: %w", w.Path(), err)
	}
	res.Output = w.Path()
	return res, nil
}

// copyStored copies the blocks of r as they are stored into w.
func copyStored(r *Reader, w *Writer, res *CopyResult, opts CopyOptions) error {
	res.RowsUncounted = true
	var nextProgress int64
	for {
		raw, err := r.NextBlock()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if e, ok := AsError(err); !ok || e.Kind == KindIO {
				w.Abort()
				return err
			}
			res.Err = err
			break
		}
		if err := w.writeBlock(raw, 0); err != nil {
			w.Abort()
			return err
		}
		res.VerbatimBlocks++
		res.VerbatimBytes += int64(len(raw))
		if opts.Progress != nil && res.VerbatimBytes >= nextProgress {
			nextProgress = res.VerbatimBytes + 4<<20
			opts.Progress(r.Offset())
		}
	}
	res.End = r.End()
	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: %w", w.Path(), err)
	}
	res.Output = w.Path()
	return nil
}

// row takes the next input row.
func (c *copier) row(r *Row, keep bool) error {
	interrupted, done := c.asm.AddSplit(r)
	for _, t := range interrupted {
		// It never got its last row.
		if err := c.flushTx(t); err != nil {
			return err
		}
	}
	c.keep = append(c.keep, keep)
	if done != nil {
		return c.flushTx(done)
	}
	return nil
}

// flushTx writes the kept rows of a transaction that ended.
func (c *copier) flushTx(t *Tx) error {
	keep := c.keep
	c.keep = c.keep[:0]
	kept := c.kept[:0]
	for i, r := range t.Rows {
		if keep[i] {
			kept = append(kept, r)
		}
	}
	c.kept = kept
	if len(kept) == 0 {
		return nil
	}
	c.res.Transactions++
	complete := t.End == TxCommitted
	if !complete {
		c.res.Incomplete++
	}
	if len(kept) != len(t.Rows) {
		c.res.Rederived++
		rederive(kept, complete, t.Flags)
	}
	if len(kept) > 1 {
		c.w.Begin()
	}
	for _, r := range kept {
		if err := c.write(&r.Header, r.Body); err != nil {
			return err
		}
	}
	if len(kept) > 1 {
		return c.w.Commit()
	}
	return nil
}

// rederive makes the kept rows of a transaction a transaction of their own:
// TSN = LSN of the first kept global row (else of the first kept row), the
// COMMIT flag and the synchronous-replication flags of the original last
// row (lastFlags) on the last kept row when the transaction is complete.
func rederive(kept []*Row, complete bool, lastFlags uint64) {
	tsn := kept[0].LSN
	for _, r := range kept {
		if r.GroupID != box.GroupLocal {
			tsn = r.LSN
			break
		}
	}
	if len(kept) == 1 {
		tsn = kept[0].LSN
	}
	for i, r := range kept {
		h := &r.Header
		h.Flags &^= box.FlagCommit | box.FlagWaitSync | box.FlagWaitAck
		h.TSN, h.HasTSN, h.Commit = tsn, true, false
		if complete && i == len(kept)-1 {
			h.Commit = true
			h.Flags |= lastFlags & (box.FlagWaitSync | box.FlagWaitAck)
		}
	}
}

// write appends one row to the output. A row other than NOP without a body
// ends its block, as it did in the input: a row after it in the same block
// would be read as its body.
func (c *copier) write(h *Header, body []byte) error {
	c.res.RowsKept++
	if err := c.w.Write(h, body); err != nil {
		return err
	}
	if body == nil && h.Type != box.TypeNop {
		return c.w.Flush()
	}
	return nil
}
