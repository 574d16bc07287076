package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
)

// Block framing constants.
const (
	FixHeaderSize = 19
	// MaxBlockLen is the largest payload length Tarantool accepts in a
	// block's fixed header (IPROTO_BODY_LEN_MAX).
	MaxBlockLen = 1 << 31
	// DefaultMaxBlockSize bounds the rows of one block the reader holds:
	// the stored payload of a plain block and the decompressed payload of a
	// zstd block. Tarantool's writer cuts a block after 128 KiB of rows
	// (XLOG_TX_AUTOCOMMIT_THRESHOLD) unless a single transaction is larger,
	// and stores at most MaxBlockLen bytes; nothing it reads bounds a
	// decompressed block, so a few bytes of zstd could otherwise stand for
	// gigabytes. A block beyond the bound is reported as damage at its
	// offset; Options.MaxBlockSize raises the bound.
	DefaultMaxBlockSize = 256 << 20
	// CompressThreshold: a block is compressed when its rows plus the fixed
	// header reach this many bytes.
	CompressThreshold = 2048
	// AutocommitThreshold: snapshot writers cut a block at this size.
	AutocommitThreshold = 128 * 1024
)

// Block markers, compared as raw bytes.
var (
	MagicPlain = [4]byte{0xd5, 0xba, 0x0b, 0xab}
	MagicZstd  = [4]byte{0xd5, 0xba, 0x0b, 0xba}
	MagicEOF   = [4]byte{0xd5, 0x10, 0xad, 0xed}
)

// End tells how the data of a file ended.
type End int

// End states.
const (
	EndNone    End = iota // not reached yet
	EndClean              // the EOF marker was found
	EndNoEOF              // data ended at a block boundary without the EOF marker
	EndTorn               // data ended inside a block (a torn tail)
	EndCorrupt            // reading stopped at damage
)

func (e End) String() string {
	return [...]string{"", "clean", "no-eof", "torn", "corrupt"}[e]
}

// Options configure a Reader.
type Options struct {
	// Name is the file name used in messages.
	Name string
	// Force skips damaged blocks: the reader records the problem, looks for
	// the next block marker and goes on, as Tarantool's force_recovery does.
	// Without it, reading stops at the first damage.
	Force bool
	// OnIssue, if set, is called for every problem as it is found.
	OnIssue func(*Error)
	// MaxBlockSize bounds the rows of one block, stored or decompressed
	// (DefaultMaxBlockSize when 0, at most MaxBlockLen); memory use follows
	// it.
	MaxBlockSize int
	// Ahead, if set, is called with every block that is checked and
	// decompressed ahead of the reader (see Reader), on the goroutine that
	// did it: at the same time as the reader's user and other calls of
	// Ahead, in no particular order. It must not keep the block's payload.
	// What it returns, unless nil, TakeAhead hands over when the reader
	// reaches the block, in file order; nil (or a block the reader reached
	// first or did not work on ahead) leaves the block's rows to Next.
	Ahead func(b *Block) (res any, rows int)
	// Stored makes a reader of blocks as they are stored (NextBlock): their
	// checksums are checked, their rows not read, zstd blocks not
	// decompressed.
	Stored bool
}

// Block is a block's rows, decompressed, as Options.Ahead gets them.
type Block struct {
	File    string // Options.Name
	Info    BlockInfo
	Payload []byte
}

// Rows decodes the rows of the block in turn into row, as Next would, and
// calls fn with those the filter (nil: every row) selects, until fn
// returns false. It returns the number of rows decoded, and false when a
// row did not decode or fn returned false.
func (b *Block) Rows(row *Row, flt *Filter, fn func(*Row) bool) (int, bool) {
	n := 0
	for p := 0; p < len(b.Payload); n++ {
		m, err := decodeRow(b.Payload[p:], row)
		if err != nil {
			return n, false
		}
		row.Pos = Position{File: b.File, Block: b.Info.Offset, Index: n, Offset: p, Compressed: b.Info.Compressed}
		p += m
		if (flt == nil || flt.Match(row)) && !fn(row) {
			return n + 1, false
		}
	}
	return n, true
}

// BlockInfo describes the current block.
type BlockInfo struct {
	Offset     int64 // file offset of the fixed header
	Len        int   // payload length as stored
	RawLen     int   // payload length after decompression
	Compressed bool
	CRC        uint32
}

// Stats counts what a reader has seen so far.
type Stats struct {
	Blocks     int
	ZBlocks    int
	Rows       int64
	BlockBytes int64 // stored bytes of all blocks, fixed headers included
	RawBytes   int64 // row bytes after decompression
}

const (
	minBuf = 1 << 20
	// maxKeptBuf: a read buffer grown beyond this for a large block is
	// given up once the data in it is used.
	maxKeptBuf = 4 * minBuf
	// zOutMin is the smallest buffer a block is decompressed into: with
	// less than a zstd block (128 KiB) and its 16 bytes of slack free in
	// the output, klauspost's decoder takes its slow sequence-copying path.
	zOutMin = 256 << 10
	// aheadMaxRaw bounds the decompressed bytes of a block worked on
	// ahead; a larger block is done again by the reader itself, so that
	// the blocks ahead never hold more than maxAhead times this.
	aheadMaxRaw = 1 << 20
	// spareMax: decompression buffers larger than this are not kept.
	spareMax = aheadMaxRaw + zOutMin
	// maxAhead bounds the blocks checked and decompressed ahead, and
	// maxAheadBytes their stored bytes (so that a few huge transactions do
	// not multiply the memory used); they are handed to a goroutine
	// aheadBatch at a time.
	maxAhead      = 16
	maxAheadBytes = 2 << 20
	aheadBatch    = 4
)

// Reader reads the rows of one log file from an io.Reader, streaming: memory
// is bounded by the largest block (times the blocks read ahead), and no
// allocation is driven by a length field that the data does not back.
//
// While the rows of a block are used, goroutines check and decompress the
// zstd blocks that follow it in the buffer (up to maxAhead of them, when
// GOMAXPROCS > 1), so that reading a file keeps more than one CPU busy; the
// reader does a block's work itself when it gets there first. What they find
// is used only when the reader reaches those blocks, in order, and the
// buffer is not changed while they run.
type Reader struct {
	opts     Options
	src      io.Reader
	file     *os.File
	maxBlock int // bound of a block's rows, stored or decompressed

	buf    []byte
	r, w   int
	base   int64 // file offset of buf[0]
	srcEOF bool
	srcErr error

	meta *Meta

	zdec *decoders
	zbuf []byte

	depth   int           // blocks to work on ahead
	ahead   []*aheadBlock // in file order
	waiting int           // blocks at the end of ahead not handed to a goroutine yet
	spare   [][]byte      // decompression buffers not in use
	scanned int64         // file offset up to which blocks were looked at ahead
	// aheadUsed counts the blocks whose work was done ahead (or found so).
	aheadUsed int
	// aheadRes and aheadRows are what Options.Ahead returned for the
	// current block.
	aheadRes  any
	aheadRows int

	payload  []byte
	ppos     int
	block    BlockInfo
	blockLen int // bytes of the current block in buf (fixed header + payload)
	rowIdx   int
	row      Row

	done    bool
	err     error
	end     End
	goodEnd int64
	issues  []*Error
	stats   Stats
}

// Open opens a file for reading.
func Open(path string, opts Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = path
	}
	r, err := NewReader(f, opts)
	if r != nil {
		r.file = f
	} else {
		f.Close()
	}
	return r, err
}

// NewReader reads the text header from src and returns a reader positioned
// at the first block. When the header is damaged it returns an *Error and,
// where the file type and version could be read, a reader whose Meta is set
// and whose Next returns that error.
func NewReader(src io.Reader, opts Options) (*Reader, error) {
	r := &Reader{opts: opts, src: src, buf: make([]byte, readBufSize(src)), depth: aheadDepth(), maxBlock: opts.MaxBlockSize}
	if opts.Stored {
		r.depth = 0
	}
	if r.maxBlock <= 0 {
		r.maxBlock = DefaultMaxBlockSize
	}
	r.maxBlock = min(r.maxBlock, MaxBlockLen)
	n := 0
	for {
		r.fill(n + 1)
		m, err := ParseMeta(r.buf[r.r:r.w])
		if err == errMetaIncomplete {
			if r.srcEOF || r.w-r.r >= MetaMaxLen {
				if r.srcErr != nil {
					return nil, r.errorf(KindIO, 0, r.srcErr, "read: %v", r.srcErr)
				}
				return nil, r.errorf(KindBadMeta, 0, nil, "unexpected end of file in the text header")
			}
			n = r.w - r.r
			continue
		}
		if err != nil {
			e := r.errorf(KindBadMeta, 0, err, "bad text header: %v", err)
			if m != nil {
				r.meta = m
				r.err, r.end, r.done = e, EndCorrupt, true
				return r, e
			}
			return nil, e
		}
		r.meta = m
		r.r += int(m.Size)
		r.goodEnd = m.Size
		if !m.KnownFileType() {
			r.note(r.errorf(KindUnknownType, 0, nil, "unknown file type %q", m.FileType))
		}
		return r, nil
	}
}

// readBufSize is the size of the first read buffer: minBuf, or less for a
// source known to be smaller (it grows when a block needs it).
func readBufSize(src io.Reader) int {
	var n int64 = -1
	switch s := src.(type) {
	case interface{ Len() int }:
		n = int64(s.Len())
	case *os.File:
		if st, err := s.Stat(); err == nil && st.Mode().IsRegular() {
			n = st.Size()
		}
	}
	if n < 0 || n >= minBuf {
		return minBuf
	}
	return max(4<<10, int(n)+1)
}

// Meta returns the file's text header.
func (r *Reader) Meta() *Meta { return r.meta }

// End tells how the data ended; EndNone until Next has returned io.EOF or an error.
func (r *Reader) End() End { return r.end }

// GoodEnd is the file offset just after the last block read successfully
// (or after the header when there is none).
func (r *Reader) GoodEnd() int64 { return r.goodEnd }

// Issues lists the warnings found so far, and with Force the damage that was
// skipped.
func (r *Reader) Issues() []*Error { return r.issues }

// Stats returns counters of what was read so far.
func (r *Reader) Stats() Stats { return r.stats }

// Block describes the block of the row returned last.
func (r *Reader) Block() BlockInfo { return r.block }

// Offset returns the current file offset of the reader.
func (r *Reader) Offset() int64 { return r.base + int64(r.r) }

// Close releases the reader and closes the file it opened.
func (r *Reader) Close() error {
	r.waitAhead()
	if r.zdec != nil {
		r.zdec.close()
		r.zdec = nil
	}
	if r.file != nil {
		err := r.file.Close()
		r.file = nil
		return err
	}
	return nil
}

// Next returns the next row. The row and its byte slices are valid until
// the next call. At the end it returns io.EOF; at damage (without Force) an
// *Error, after every row before the damage has been returned.
func (r *Reader) Next() (*Row, error) {
	for {
		if r.ppos < len(r.payload) {
			n, err := decodeRow(r.payload[r.ppos:], &r.row)
			if err != nil {
				e := r.errorf(KindBadRow, r.block.Offset, err,
					"can't parse row %d of the block: %v", r.rowIdx, err)
				e.Skipped = int64(len(r.payload) - r.ppos)
				r.payload = nil
				if !r.opts.Force {
					r.stop(e)
					return nil, e
				}
				r.note(e)
				continue
			}
			r.row.Pos = Position{File: r.opts.Name, Block: r.block.Offset, Index: r.rowIdx, Offset: r.ppos, Compressed: r.block.Compressed}
			r.ppos += n
			r.rowIdx++
			r.stats.Rows++
			return &r.row, nil
		}
		if r.done {
			if r.err != nil {
				return nil, r.err
			}
			return nil, io.EOF
		}
		r.nextBlock()
	}
}

// NextBlock returns the next block of a reader made with Options.Stored,
// as it is stored (fixed header and payload), valid until the next call;
// Block describes it. Its checksum is checked, its rows are not read. At
// the end it returns io.EOF; at damage (without Force) an *Error, as Next.
func (r *Reader) NextBlock() ([]byte, error) {
	if !r.opts.Stored {
		return nil, errors.New("NextBlock: the reader reads rows")
	}
	if !r.done {
		r.nextBlock()
	}
	if r.blockLen == 0 {
		if r.err != nil {
			return nil, r.err
		}
		return nil, io.EOF
	}
	return r.buf[r.r : r.r+r.blockLen], nil
}

// blockRows calls fn on every row of the current block, from its first,
// with a row of its own (the reader's state does not change), until fn
// returns false. It reports whether every row decoded and fn took them all.
func (r *Reader) blockRows(row *Row, fn func(*Row) bool) bool {
	for p, i := 0, 0; p < len(r.payload); i++ {
		n, err := decodeRow(r.payload[p:], row)
		if err != nil {
			return false
		}
		row.Pos = Position{File: r.opts.Name, Block: r.block.Offset, Index: i, Offset: p, Compressed: r.block.Compressed}
		p += n
		if !fn(row) {
			return false
		}
	}
	return true
}

// TakeAhead returns what Options.Ahead returned for the current block when
// the row Next returned last is the block's first, and passes over the
// block's rows, counting them as read: the next call of Next returns the
// first row of the next block. Otherwise it returns nil and changes
// nothing. rows is the number of rows Ahead gave with its result.
func (r *Reader) TakeAhead() (res any, rows int) {
	if res, rows = r.peekAhead(); res != nil {
		r.aheadRes = nil
		r.skipBlock(rows)
	}
	return res, rows
}

// peekAhead is TakeAhead without passing over the block.
func (r *Reader) peekAhead() (any, int) {
	if r.aheadRes == nil || r.rowIdx != 1 {
		return nil, 0
	}
	return r.aheadRes, r.aheadRows
}

// skipBlock passes over the rows of the current block not returned yet,
// counting them as read, and returns the block's stored bytes (fixed
// header and payload), valid until the next call of Next.
func (r *Reader) skipBlock(rows int) []byte {
	r.stats.Rows += int64(rows - r.rowIdx)
	r.ppos, r.rowIdx = len(r.payload), rows
	return r.buf[r.r : r.r+r.blockLen]
}

func (r *Reader) stop(e *Error) {
	r.err, r.done, r.end = e, true, EndCorrupt
	if r.opts.OnIssue != nil {
		r.opts.OnIssue(e)
	}
}

func (r *Reader) note(e *Error) {
	r.issues = append(r.issues, e)
	if r.opts.OnIssue != nil {
		r.opts.OnIssue(e)
	}
}

func (r *Reader) finish(end End) {
	r.done, r.end = true, end
}

func (r *Reader) errorf(kind Kind, off int64, err error, f string, a ...any) *Error {
	return &Error{File: r.opts.Name, Offset: off, Kind: kind, Msg: fmt.Sprintf(f, a...), Err: err}
}

// fill makes at least n bytes available in buf[r:w] unless the source ends.
// The buffer grows only when it is full of data read, at most doubling and
// never beyond what n needs, so a length field alone never makes it grow.
func (r *Reader) fill(n int) bool {
	for r.w-r.r < n && !r.srcEOF {
		r.waitAhead() // the buffer may move
		if r.w == len(r.buf) {
			used := r.w - r.r
			switch {
			case len(r.buf) > maxKeptBuf && max(used, n) <= minBuf:
				// A large block has been used: give its buffer up.
				nb := make([]byte, minBuf)
				copy(nb, r.buf[r.r:r.w])
				r.buf = nb
			case r.r > 0:
				copy(r.buf, r.buf[r.r:r.w])
			default:
				size := (n + minBuf - 1) / minBuf * minBuf
				if size > 3*len(r.buf) {
					size = 2 * len(r.buf)
				}
				nb := make([]byte, size)
				copy(nb, r.buf[:r.w])
				r.buf = nb
				if size > returnAbove {
					debug.FreeOSMemory() // the old buffer
				}
			}
			r.w = used
			r.base += int64(r.r)
			r.r = 0
		}
		m, err := r.src.Read(r.buf[r.w:])
		r.w += m
		if err != nil {
			r.srcEOF = true
			if err != io.EOF {
				r.srcErr = err
			}
		}
	}
	return r.w-r.r >= n
}

// nextBlock consumes the current block and loads the next one, or records
// how the data ended.
func (r *Reader) nextBlock() {
	r.r += r.blockLen
	r.blockLen = 0
	r.payload, r.ppos, r.rowIdx = nil, 0, 0
	r.aheadRes = nil
	for !r.done {
		if r.loadBlock() {
			return
		}
	}
}

// loadBlock tries to load the block at r.r. It returns true when a block was
// loaded, false when the reader finished or resynchronised (call again).
func (r *Reader) loadBlock() bool {
	off := r.Offset()
	r.fill(FixHeaderSize)
	avail := r.w - r.r
	if r.srcErr != nil && avail < FixHeaderSize {
		r.stop(r.errorf(KindIO, off, r.srcErr, "read: %v", r.srcErr))
		return false
	}
	if avail < 4 {
		if avail == 0 {
			r.note(r.errorf(KindMissingEOF, off, nil, "no EOF marker: the file was not closed cleanly"))
			r.finish(EndNoEOF)
		} else {
			r.note(r.errorf(KindTornTail, off, nil, "torn tail: %d bytes of an incomplete block", avail))
			r.finish(EndTorn)
		}
		return false
	}
	head := r.buf[r.r:r.w]
	if [4]byte(head[:4]) == MagicEOF {
		r.fill(5)
		if r.w-r.r > 4 {
			e := r.errorf(KindAfterEOF, off+4, nil, "data after the EOF marker")
			if !r.opts.Force {
				r.stop(e)
				return false
			}
			// Go on with whatever blocks follow, as Tarantool's log reader
			// does (a file reopened for appending may keep its old marker).
			r.r += 4
			found := r.resync()
			e.Skipped = r.Offset() - (off + 4)
			r.note(e)
			if !found {
				r.finish(EndCorrupt)
			}
			return false
		}
		r.r += 4
		r.goodEnd = off + 4
		r.finish(EndClean)
		return false
	}
	if avail < FixHeaderSize {
		r.note(r.errorf(KindTornTail, off, nil, "torn tail: %d bytes of an incomplete block header", avail))
		r.finish(EndTorn)
		return false
	}
	info, plen, kind, err := decodeFixHeader(head[:FixHeaderSize])
	if err != nil {
		return r.damaged(r.errorf(kind, off, err, "%v", err))
	}
	info.Offset = off
	// Of a block longer than the bound, read no more than the bound and a
	// byte: ending before that, it is still a torn tail.
	if !r.fill(FixHeaderSize + min(plen, r.maxBlock+1)) {
		if r.srcErr != nil {
			r.stop(r.errorf(KindIO, off, r.srcErr, "read: %v", r.srcErr))
			return false
		}
		if r.blockFollows(r.r + FixHeaderSize) {
			// Not the last block cut short: its length is damaged.
			return r.damaged(r.errorf(KindBadFixHeader, off, nil,
				"block length %d runs past the end of the file, and blocks follow", plen))
		}
		r.note(r.errorf(KindTornTail, off, nil,
			"torn tail: block of %d bytes has only %d", plen, r.w-r.r-FixHeaderSize))
		r.finish(EndTorn)
		return false
	}
	if plen > r.maxBlock {
		return r.damaged(r.errorf(KindBadFixHeader, off, nil,
			"block of %d bytes is larger than the %d bytes a block may hold", plen, r.maxBlock))
	}
	data := r.buf[r.r+FixHeaderSize : r.r+FixHeaderSize+plen]
	pre := r.takeAhead(off, plen)
	var got uint32
	if pre != nil {
		got = pre.crc
	} else {
		got = Checksum(data)
	}
	if got != info.CRC {
		r.recycle(pre)
		return r.damaged(r.errorf(KindChecksum, off, nil,
			"block checksum mismatch: stored 0x%08x, computed 0x%08x", info.CRC, got))
	}
	if r.opts.Stored {
		data = nil
		if info.Compressed {
			r.stats.ZBlocks++
		}
	} else if info.Compressed {
		var out []byte
		var err error
		if cap(r.zbuf) > spareMax {
			r.zbuf = nil // the previous block was a large one
		}
		if pre != nil && pre.err != errRedo {
			// Decompressed ahead: its buffer becomes the current one, and
			// the current one a spare.
			out, err = pre.out, pre.err
			pre.out = r.zbuf
			r.aheadRes, r.aheadRows = pre.res, pre.rows
			pre.res = nil
			r.recycle(pre)
		} else {
			r.recycle(pre)
			if err = r.initDecoder(); err != nil {
				r.stop(r.errorf(KindDecompress, off, err, "zstd: %v", err))
				return false
			}
			out, err = r.zdec.decompress(data, r.zbuf, r.maxBlock)
		}
		r.zbuf = out
		if err == errInflate {
			return r.damaged(r.errorf(KindDecompress, off, err,
				"zstd block of %d bytes inflates past the %d bytes a block may hold", plen, r.maxBlock))
		}
		if err != nil {
			return r.damaged(r.errorf(KindDecompress, off, err, "can't decompress block: %v", err))
		}
		data = out
		r.stats.ZBlocks++
	}
	info.RawLen = len(data)
	r.block = info
	r.blockLen = FixHeaderSize + plen
	r.payload = data
	r.goodEnd = off + int64(r.blockLen)
	r.stats.Blocks++
	r.stats.BlockBytes += int64(r.blockLen)
	r.stats.RawBytes += int64(len(data))
	r.startAhead()
	return true
}

// zstdMaxRatio bounds how many bytes a zstd frame can stand for per stored
// byte: a 3-byte RLE block header stands for at most 128 KiB.
const zstdMaxRatio = 128 << 10 / 3

// errInflate: a zstd frame decompresses to more than the bound allows.
var errInflate = errors.New("zstd frame inflates past the bound")

// decoders are the reader's zstd decoders: fast stops at the capacity of
// the buffer it is given (WithDecodeAllCapLimit), whole decodes without
// that limit, stream inflates in pieces; all stop at the bound of a block.
type decoders struct {
	fast, whole, stream *zstd.Decoder // whole and stream made when first needed
	bound               uint64
}

// slow makes the decoders used when the fast one fails.
func (z *decoders) slow() error {
	if z.stream != nil {
		return nil
	}
	max := zstd.WithDecoderMaxMemory(z.bound)
	w, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), max)
	if err != nil {
		return err
	}
	st, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), max, zstd.WithDecoderLowmem(true))
	if err != nil {
		w.Close()
		return err
	}
	z.whole, z.stream = w, st
	return nil
}

func (z *decoders) close() {
	for _, d := range []*zstd.Decoder{z.fast, z.whole, z.stream} {
		if d != nil {
			d.Close()
		}
	}
}

// decompress decodes one zstd frame, producing at most limit bytes, else
// errInflate. It decodes into dst's memory (or a buffer of at least
// zOutMin) without letting the output grow; a frame that does not fit, or
// fails so, is inflated again in pieces, the buffer growing only as the
// frame goes on, so that memory follows what the data really holds. A
// content size the frame declares is checked first: one the stored bytes
// cannot produce is damage, found before anything is allocated.
func (z *decoders) decompress(data, dst []byte, limit int) ([]byte, error) {
	size := max(zOutMin, 8*len(data))
	if fcs, ok, err := frameSize(data); err != nil {
		return dst[:0], err
	} else if ok && fcs > uint64(limit) {
		return dst[:0], errInflate
	} else if ok {
		size = max(zOutMin, int(fcs)+zstdSlack)
	}
	size = min(size, limit+zstdBlockMax+zstdSlack)
	if cap(dst) < size {
		dst = make([]byte, 0, size)
	}
	if out, err := z.fast.DecodeAll(data, dst[:0]); err == nil {
		if len(out) > limit {
			return nil, errInflate
		}
		return out, nil
	}
	// Too large for the buffer, or damaged (the capped decoder tells the
	// two apart badly).
	if err := z.slow(); err != nil {
		return nil, err
	}
	out, err := z.inflate(data, limit)
	if err == nil || err == errInflate {
		return out, err
	}
	// Damaged: the error the whole decode gives, as it always was (it
	// stops at the damage, within the bound).
	_, err = z.whole.DecodeAll(data, nil)
	if err == nil || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		err = errInflate
	}
	return nil, err
}

// inflate decodes a frame in pieces into a buffer that grows only as the
// output goes on, giving the memory of the ones it leaves back at once.
func (z *decoders) inflate(data []byte, limit int) ([]byte, error) {
	if err := z.stream.Reset(bytes.NewReader(data)); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, zOutMin)
	for {
		if len(buf) == cap(buf) {
			if len(buf) > limit {
				buf = nil
				debug.FreeOSMemory()
				return nil, errInflate
			}
			nb := make([]byte, len(buf), min(2*cap(buf), limit+1))
			copy(nb, buf)
			buf = nb
			if cap(buf) > returnAbove {
				debug.FreeOSMemory() // the buffer before
			}
		}
		n, err := z.stream.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// decompressAhead decodes a frame for read-ahead, with a decoder that
// stops at the capacity of the buffer it is given
// (WithDecodeAllCapLimit), so that blocks worked on ahead never hold more
// than aheadMaxRaw and a zstd block each. Any error means "not done": the
// reader does the block again with decompress, which tells what is wrong.
func decompressAhead(d *zstd.Decoder, data, dst []byte) ([]byte, error) {
	size := max(zOutMin, 8*len(data))
	if fcs, ok, err := frameSize(data); err != nil {
		return dst[:0], errRedo
	} else if ok {
		size = max(zOutMin, int(fcs)+zstdSlack)
	}
	// Never less than zOutMin: with less room than a zstd block the
	// decoder takes its slow path (and a cap-limited decode fails with
	// errors other than ErrDecoderSizeExceeded).
	const most = aheadMaxRaw + zstdBlockMax + zstdSlack
	for size = min(size, most); ; size = most {
		if cap(dst) < size {
			dst = make([]byte, 0, size)
		}
		out, err := d.DecodeAll(data, dst[:0])
		if err == nil {
			return out, nil
		}
		if cap(dst) >= most {
			return dst[:0], errRedo
		}
	}
}

// errRedo: a block worked on ahead was not done; the reader does it.
var errRedo = errors.New("not decompressed ahead")

// frameSize returns the content size a zstd frame declares, if it does,
// and an error when the stored bytes cannot produce it.
func frameSize(data []byte) (uint64, bool, error) {
	var h zstd.Header
	if h.Decode(data) != nil || !h.HasFCS {
		return 0, false, nil
	}
	if h.FrameContentSize > uint64(len(data))*zstdMaxRatio {
		return 0, false, fmt.Errorf("zstd frame declares %d bytes of content in %d stored bytes", h.FrameContentSize, len(data))
	}
	return h.FrameContentSize, true, nil
}

// zstdBlockMax is the most a zstd block decompresses to.
const zstdBlockMax = 128 << 10

// returnAbove: when a buffer beyond this size is given up for a larger one
// (a large block, or a hostile one), its memory goes back to the system at
// once, so that the next one does not add to it.
const returnAbove = 16 << 20

// zstdSlack: the decoder wants a little room past the end of its output.
const zstdSlack = 16

// aheadDepth is the number of blocks to work on ahead: none with a single
// CPU, where it would only cost.
func aheadDepth() int {
	if runtime.GOMAXPROCS(0) < 2 {
		return 0
	}
	return maxAhead
}

// initDecoder makes the reader's decoders; the blocks ahead share the
// capped one.
func (r *Reader) initDecoder() error {
	if r.zdec != nil {
		return nil
	}
	z := &decoders{bound: uint64(r.maxBlock)}
	var err error
	z.fast, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(min(runtime.GOMAXPROCS(0), maxAhead)+1),
		zstd.WithDecoderMaxMemory(z.bound), zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		return err
	}
	r.zdec = z
	return nil
}

// aheadBlock is a zstd block to check and decompress ahead. Whoever moves
// its state from aheadPending to aheadTaken does the work: a goroutine
// started for it, or the reader itself when it reaches the block first.
type aheadBlock struct {
	off   int64  // file offset of the fixed header
	plen  int    // payload length
	data  []byte // the payload, in the reader's buffer
	want  uint32 // the stored checksum
	state atomic.Int32
	done  sync.WaitGroup // done when a goroutine has done the work
	crc   uint32
	out   []byte // decompressed payload, when crc is the stored checksum
	err   error  // decompression error
	// What Options.Ahead returned for the block, given blk.
	res  any
	rows int
	blk  Block
}

const (
	aheadPending   = iota
	aheadTaken     // a goroutine or the reader works on it
	aheadDone      // the work is done
	aheadCancelled // nobody will work on it
)

// work checks and decompresses the block, up to aheadMaxRaw bytes of it
// (errRedo beyond, or on any error: the reader does it again).
func (a *aheadBlock) work(d *zstd.Decoder, fn func(*Block) (any, int), file string) {
	a.crc = Checksum(a.data)
	if a.crc != a.want {
		return
	}
	a.out, a.err = decompressAhead(d, a.data, a.out)
	if a.err == nil && fn != nil {
		a.blk = Block{File: file, Payload: a.out,
			Info: BlockInfo{Offset: a.off, Len: a.plen, RawLen: len(a.out), Compressed: true, CRC: a.want}}
		a.res, a.rows = fn(&a.blk)
		a.blk = Block{}
	}
}

// runAhead does the work of the blocks the reader has not taken.
func runAhead(d *zstd.Decoder, fn func(*Block) (any, int), file string, blocks []*aheadBlock) {
	for _, a := range blocks {
		if a.state.CompareAndSwap(aheadPending, aheadTaken) {
			a.work(d, fn, file)
			a.state.Store(aheadDone)
			a.done.Done()
		}
	}
}

// startAhead queues the zstd blocks that follow the current block and are
// whole in the buffer, and starts a goroutine on them when enough have
// gathered (or nothing else is under way).
func (r *Reader) startAhead() {
	if r.depth <= 0 || r.zdec == nil && r.initDecoder() != nil {
		return
	}
	p := r.r + r.blockLen
	if s := int(r.scanned - r.base); s > p {
		p = s
	}
	queued := 0 // stored bytes of the blocks ahead
	for _, a := range r.ahead {
		queued += a.plen
	}
	for len(r.ahead) < r.depth && r.w-p >= FixHeaderSize {
		h := r.buf[p : p+FixHeaderSize]
		if m := [4]byte(h[:4]); m != MagicPlain && m != MagicZstd {
			break
		}
		info, plen, _, err := decodeFixHeader(h)
		if err != nil || r.w-p-FixHeaderSize < plen || info.Compressed && queued+plen > maxAheadBytes {
			break
		}
		if info.Compressed {
			queued += plen
			a := &aheadBlock{off: r.base + int64(p), plen: plen, want: info.CRC,
				data: r.buf[p+FixHeaderSize : p+FixHeaderSize+plen]}
			if n := len(r.spare); n > 0 {
				a.out, r.spare = r.spare[n-1], r.spare[:n-1]
			}
			a.done.Add(1)
			r.ahead = append(r.ahead, a)
			r.waiting++
		}
		p += FixHeaderSize + plen
		r.scanned = r.base + int64(p)
	}
	if r.waiting >= aheadBatch || r.waiting > 0 && r.waiting == len(r.ahead) {
		go runAhead(r.zdec.fast, r.opts.Ahead, r.opts.Name, slices.Clone(r.ahead[len(r.ahead)-r.waiting:]))
		r.waiting = 0
	}
}

// finishAhead makes sure the work of block a, the first of r.ahead, is done:
// by doing it when no goroutine has taken it, else by waiting for the
// goroutine, meanwhile doing the work of blocks further ahead that no
// goroutine has taken yet (as a goroutine would, Options.Ahead included).
func (r *Reader) finishAhead(a *aheadBlock) {
	d := r.zdec.fast
	if a.state.CompareAndSwap(aheadPending, aheadTaken) {
		a.work(d, nil, "")
		a.state.Store(aheadDone)
		return
	}
	next := 0
	for i := 0; a.state.Load() != aheadDone; i++ {
		for ; next < len(r.ahead); next++ {
			if b := r.ahead[next]; b != a && b.state.CompareAndSwap(aheadPending, aheadTaken) {
				b.work(d, r.opts.Ahead, r.opts.Name)
				b.state.Store(aheadDone)
				b.done.Done()
				break
			}
		}
		if next < len(r.ahead) {
			continue
		}
		if i >= 100 {
			a.done.Wait()
			return
		}
		runtime.Gosched()
	}
}

// takeAhead returns the block at off, worked on, or nil when it is not
// among the blocks ahead; blocks before off (passed over after damage) are
// dropped.
func (r *Reader) takeAhead(off int64, plen int) *aheadBlock {
	for len(r.ahead) > 0 {
		a := r.ahead[0]
		if a.off > off {
			return nil
		}
		copy(r.ahead, r.ahead[1:])
		r.ahead = r.ahead[:len(r.ahead)-1]
		r.waiting = min(r.waiting, len(r.ahead))
		if a.off == off && a.plen == plen {
			r.finishAhead(a)
			r.aheadUsed++
			return a
		}
		r.cancel(a)
		r.recycle(a)
	}
	return nil
}

// cancel makes sure no goroutine works on the block: it cancels it, or
// waits for the goroutine that took it. It reports whether it cancelled it.
func (r *Reader) cancel(a *aheadBlock) bool {
	if a.state.CompareAndSwap(aheadPending, aheadCancelled) {
		return true
	}
	a.done.Wait()
	return false
}

// recycle keeps a block's buffer for reuse, unless it is a large one.
func (r *Reader) recycle(a *aheadBlock) {
	if a != nil && a.out != nil && cap(a.out) <= spareMax && len(r.spare) <= r.depth {
		r.spare = append(r.spare, a.out[:0])
	}
}

// waitAhead stops the work ahead, so that no goroutine reads the buffer:
// it waits for the blocks under way and keeps them, and gives up the rest
// (to be looked at again once the buffer has moved).
func (r *Reader) waitAhead() {
	for i, a := range r.ahead {
		if r.cancel(a) {
			r.recycle(a)
			for _, b := range r.ahead[i+1:] {
				r.cancel(b)
				r.recycle(b)
			}
			r.ahead, r.scanned = r.ahead[:i], a.off
			r.waiting = min(r.waiting, len(r.ahead))
			return
		}
	}
}

// damaged handles a broken block at r.r: stop, or with Force look for the
// next block marker.
func (r *Reader) damaged(e *Error) bool {
	if !r.opts.Force {
		r.stop(e)
		return false
	}
	start := r.Offset()
	r.r++
	found := r.resync()
	e.Skipped = r.Offset() - start
	r.note(e)
	if !found {
		r.finish(EndCorrupt)
	}
	return false
}

// blockFollows reports whether the data in the buffer from buf[p] to its
// end (the end of the file) holds a whole block with a good checksum, or
// ends with the EOF marker: then what comes before is not a torn tail.
func (r *Reader) blockFollows(p int) bool {
	win := r.buf[p:r.w]
	if len(win) >= 4 && [4]byte(win[len(win)-4:]) == MagicEOF {
		return true
	}
	for i := 0; ; i++ {
		j := bytes.Index(win[i:], MagicPlain[:3])
		if j < 0 {
			return false
		}
		i += j
		if len(win)-i < FixHeaderSize {
			return false
		}
		info, plen, _, err := decodeFixHeader(win[i : i+FixHeaderSize])
		if err == nil && len(win)-i-FixHeaderSize >= plen && Checksum(win[i+FixHeaderSize:i+FixHeaderSize+plen]) == info.CRC {
			return true
		}
	}
}

// resync advances r.r to the next plain or zstd block marker.
func (r *Reader) resync() bool {
	prefix := MagicPlain[:3]
	for {
		win := r.buf[r.r:r.w]
		for i := 0; ; {
			j := bytes.Index(win[i:], prefix)
			if j < 0 {
				break
			}
			i += j
			if i+4 > len(win) {
				break
			}
			if b := win[i+3]; b == MagicPlain[3] || b == MagicZstd[3] {
				r.r += i
				return true
			}
			i++
		}
		if r.srcEOF {
			r.r = r.w
			return false
		}
		keep := 3
		if len(win) < keep {
			keep = len(win)
		}
		r.r = r.w - keep
		r.fill(keep + minBuf)
	}
}

// DecodeFixHeader parses a block's 19-byte fixed header (Len, CRC and
// Compressed are set). On failure the kind tells what is wrong: fewer than
// 19 bytes is a torn tail, a wrong marker bad magic, anything else a bad
// fixed header.
func DecodeFixHeader(h []byte) (BlockInfo, Kind, error) {
	if len(h) < FixHeaderSize {
		return BlockInfo{}, KindTornTail, fmt.Errorf("block header of %d bytes", len(h))
	}
	info, _, kind, err := decodeFixHeader(h[:FixHeaderSize])
	return info, kind, err
}

// decodeFixHeader parses the 19-byte block header.
func decodeFixHeader(h []byte) (BlockInfo, int, Kind, error) {
	var info BlockInfo
	switch [4]byte(h[:4]) {
	case MagicPlain:
	case MagicZstd:
		info.Compressed = true
	default:
		return info, 0, KindBadMagic, fmt.Errorf("invalid block magic 0x%08x", uint32(h[0])<<24|uint32(h[1])<<16|uint32(h[2])<<8|uint32(h[3]))
	}
	c := MPCursor{b: h, p: 4}
	plen, err := c.Uint()
	if err != nil {
		return info, 0, KindBadFixHeader, fmt.Errorf("broken block header length: %v", err)
	}
	if plen > MaxBlockLen {
		return info, 0, KindBadFixHeader, fmt.Errorf("block length %d is too large", plen)
	}
	if _, err := c.Uint(); err != nil {
		return info, 0, KindBadFixHeader, fmt.Errorf("broken block header previous crc: %v", err)
	}
	crc, err := c.Uint()
	if err != nil || crc > math.MaxUint32 {
		return info, 0, KindBadFixHeader, fmt.Errorf("broken block header crc32c")
	}
	// Padding, when the three numbers leave room for it: one MessagePack
	// item ending exactly at the end of the fixed header.
	if c.p < FixHeaderSize {
		if err := c.Skip(); err != nil || c.p != FixHeaderSize {
			return info, 0, KindBadFixHeader, fmt.Errorf("broken block header padding")
		}
	}
	info.Len = int(plen)
	info.CRC = uint32(crc)
	return info, int(plen), 0, nil
}

// ReadAll reads every row of a file and returns clones of them; meant for
// tests and small files.
func ReadAll(path string, opts Options) (*Meta, []*Row, error) {
	r, err := Open(path, opts)
	if err != nil {
		if r == nil {
			return nil, nil, err
		}
		return r.Meta(), nil, err
	}
	defer r.Close()
	var rows []*Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Meta(), rows, nil
		}
		if err != nil {
			return r.Meta(), rows, err
		}
		rows = append(rows, row.Clone())
	}
}
