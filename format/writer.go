package format

import (
	"bufio"
	"io"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
	"github.com/xlogtool/xlogtool/box"
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	// NoCompress writes every block plain.
	NoCompress bool
	// BlockSize is the payload size at which a block is written when no
	// transaction is open (default AutocommitThreshold, as Tarantool's
	// snapshot writer).
	BlockSize int
	// NoSync skips fsync on Close (tests, scratch files).
	NoSync bool
	// Workers, above 1, compresses blocks on that many goroutines while
	// the rows of the next ones are written (a snapshot); Flush then
	// writes its block later, FlushFile and Close wait for all.
	Workers int
}

// Writer writes a log file in Tarantool's format: the text header, rows
// packed into blocks (zstd-compressed from Tarantool's threshold on) with
// their CRC32C, and the EOF marker on Close. A transaction (Begin..Commit)
// is never split across blocks.
type Writer struct {
	opts WriterOptions
	w    io.Writer
	file *OutFile
	buf  *bufio.Writer // in front of file
	path string

	rows  []byte
	enc   BlockEncoder
	par   *parEncoder // with Workers
	inTx  bool
	err   error
	off   int64
	nrows int64
}

// NewWriter writes the header m to w and returns a writer for its rows.
func NewWriter(w io.Writer, m *Meta, opts WriterOptions) (*Writer, error) {
	if opts.BlockSize <= 0 {
		opts.BlockSize = AutocommitThreshold
	}
	wr := &Writer{opts: opts, w: w, enc: BlockEncoder{NoCompress: opts.NoCompress}}
	if opts.Workers > 1 {
		wr.par = newParEncoder(opts.Workers, opts.NoCompress)
	}
	hdr := m.Encode()
	if _, err := w.Write(hdr); err != nil {
		return nil, err
	}
	wr.off = int64(len(hdr))
	return wr, nil
}

// Create creates dir/NAME.inprogress, where NAME is the file name Tarantool
// derives from the header's file type and vclock, and writes the header.
// Close renames it to NAME. An existing file of that name is an error.
func Create(dir string, m *Meta, opts WriterOptions) (*Writer, error) {
	name := FileName(m.FileType, m.VClock)
	path := filepath.Join(dir, name)
	f, err := CreateOutFile(path)
	if err != nil {
		return nil, err
	}
	// Blocks are written a megabyte at a time, not each with a system call
	// or two.
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := NewWriter(bw, m, opts)
	if err != nil {
		f.Abort()
		return nil, err
	}
	w.file, w.buf, w.path = f, bw, path
	return w, nil
}

// Path returns the final path of a file made by Create.
func (w *Writer) Path() string { return w.path }

// Rows returns the number of rows written.
func (w *Writer) Rows() int64 { return w.nrows }

// Write appends one row. Outside a transaction the pending rows are written
// as a block once they reach the block size.
//
// A row without a body (nil or empty) of any type but NOP ends its block, even
// inside a transaction: readers take whatever follows a row header in the
// block for its body, so another row after it would be read as its body.
func (w *Writer) Write(h *Header, body []byte) error {
	if w.err != nil {
		return w.err
	}
	w.rows = AppendHeader(w.rows, h)
	w.rows = append(w.rows, body...)
	w.nrows++
	if len(body) == 0 && h.Type != box.TypeNop {
		return w.Flush()
	}
	if !w.inTx && len(w.rows) >= w.opts.BlockSize {
		return w.Flush()
	}
	return nil
}

// WriteRow appends a row read from another file (its header fields and body).
func (w *Writer) WriteRow(r *Row) error { return w.Write(&r.Header, r.Body) }

// writeBlock writes a block read from another file as it is (its fixed
// header and stored payload), after the pending rows; it holds rows rows.
func (w *Writer) writeBlock(raw []byte, rows int) error {
	if err := w.Flush(); err != nil {
		return err
	}
	if err := w.drainPar(); err != nil {
		return err
	}
	w.nrows += int64(rows)
	return w.write(raw)
}

// Begin starts a transaction: its rows go into one block.
func (w *Writer) Begin() { w.inTx = true }

// Commit ends the transaction begun last.
func (w *Writer) Commit() error {
	w.inTx = false
	if len(w.rows) >= w.opts.BlockSize {
		return w.Flush()
	}
	return nil
}

// Flush writes the pending rows as one block (with Workers: hands them to
// a worker; the block is written in its turn).
func (w *Writer) Flush() error {
	if w.err != nil || len(w.rows) == 0 {
		return w.err
	}
	if w.par != nil {
		return w.flushPar()
	}
	fix, payload, err := w.enc.Encode(w.rows)
	if err != nil {
		w.err = err
		return err
	}
	if err := w.write(fix); err != nil {
		return err
	}
	if err := w.write(payload); err != nil {
		return err
	}
	w.rows = w.rows[:0]
	return nil
}

func (w *Writer) write(b []byte) error {
	n, err := w.w.Write(b)
	w.off += int64(n)
	if err != nil {
		w.err = err
	}
	return err
}

// BlockEncoder frames rows as one block the way Tarantool does: the fixed
// header with the payload's length and CRC32C, the payload compressed with
// zstd from CompressThreshold on. It keeps its compressor and buffers from
// one block to the next. Writer uses one; so does a writer that copies
// blocks and headers byte for byte (repair).
type BlockEncoder struct {
	// NoCompress writes every block plain.
	NoCompress bool

	fix  []byte
	zbuf []byte
	zenc *zstd.Encoder
}

// Encode returns the block of rows (raw row headers and bodies back to
// back): its fixed header and its stored payload, rows itself or the
// compressed data, valid until the next call.
func (e *BlockEncoder) Encode(rows []byte) (fix, payload []byte, err error) {
	payload = rows
	magic := MagicPlain
	if !e.NoCompress && len(payload)+FixHeaderSize >= CompressThreshold {
		if e.zenc == nil {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault),
				zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(1))
			if err != nil {
				return nil, nil, err
			}
			e.zenc = enc
		}
		e.zbuf = e.zenc.EncodeAll(payload, e.zbuf[:0])
		payload, magic = e.zbuf, MagicZstd
	}
	e.fix = AppendFixHeader(e.fix[:0], magic, payload)
	return e.fix, payload, nil
}

// Close releases the compressor; the encoder can be used again.
func (e *BlockEncoder) Close() {
	if e.zenc != nil {
		e.zenc.Close()
		e.zenc = nil
	}
}

// AppendFixHeader encodes the 19-byte block header of payload as Tarantool
// does: marker, payload length, a zero previous-crc, the crc and a string
// filling the rest.
func AppendFixHeader(b []byte, magic [4]byte, payload []byte) []byte {
	start := len(b)
	b = append(b, magic[:]...)
	b = appendUint(b, uint64(len(payload)))
	b = append(b, 0)
	b = appendUint(b, uint64(Checksum(payload)))
	pad := FixHeaderSize - (len(b) - start)
	b = append(b, 0xa0|byte(pad-1))
	for i := 1; i < pad; i++ {
		b = append(b, 0)
	}
	return b
}

// Close flushes the rows, writes the EOF marker and, for a file made by
// Create, syncs it and renames it to its final name.
func (w *Writer) Close() error {
	err := w.Flush()
	if err == nil {
		err = w.drainPar()
	}
	w.stopPar()
	if err == nil {
		err = w.write(MagicEOF[:])
	}
	w.enc.Close()
	if w.file == nil {
		return err
	}
	f := w.file
	w.file = nil
	if err == nil {
		err = w.buf.Flush()
	}
	if err != nil {
		f.Abort()
		return err
	}
	return f.Commit(w.opts.NoSync)
}

// FlushFile writes the pending rows as a block and, for a file made by
// Create, hands every buffered block to the operating system (no fsync):
// what was written survives the process being killed.
func (w *Writer) FlushFile() error {
	if err := w.Flush(); err != nil {
		return err
	}
	if err := w.drainPar(); err != nil {
		return err
	}
	if w.buf == nil {
		return nil
	}
	if err := w.buf.Flush(); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Abort discards a file made by Create.
func (w *Writer) Abort() error {
	w.stopPar()
	w.enc.Close()
	if w.file == nil {
		return nil
	}
	f := w.file
	w.file = nil
	return f.Abort()
}
