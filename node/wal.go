package node

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/xlogtool/xlogtool/format"
)

// walRow is one row of a transaction bound for the WAL.
type walRow struct {
	header format.Header
	body   []byte
}

// walEntry is one transaction, or several in a row (the requests of a
// connection executed together): their rows, with LSNs assigned, and the
// channel that receives the outcome of the write, once for the entry.
type walEntry struct {
	rows []walRow
	// ends holds, for an entry of several transactions, the index after
	// each transaction's last row; nil for one transaction.
	ends []int
	done chan error
	// shared is set by the writer when the rows went to a relay: their
	// bytes must then not be reused.
	shared bool
}

// eachTx calls fn with the rows of each transaction of the entry.
func (e *walEntry) eachTx(fn func(rows []walRow) error) error {
	if e.ends == nil {
		return fn(e.rows)
	}
	start := 0
	for _, end := range e.ends {
		if err := fn(e.rows[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// walOptions configure a WAL writer.
type walOptions struct {
	dir      string
	instance string
	version  string
	fsync    bool
	maxSize  int64
	log      *Logger
}

// wal writes transactions to xlog files in batches: every entry queued
// while the previous batch was being written goes into the next one, with
// one write(2) and, with fsync, one fsync for all of them (group commit).
// A rotation first writes what is queued, so a new file starts exactly at
// the vclock of the rows handed over before it.
// Files rotate between transactions once they exceed maxSize; each new
// file is named by the vclock before its first row and records the
// previous file's vclock as PrevVClock.
//
// The writer goroutine writes what is queued when woken; a submitter
// that finds no write going on may write the queue itself (flush), as a
// group commit's leader, which spares the two goroutine wake-ups of a
// hand-over when the WAL is idle.
type wal struct {
	opts walOptions
	// Entries wait in pending; notify wakes the writer (one wake-up for
	// however many entries arrived meanwhile).
	qmu     sync.Mutex
	pending []*walEntry
	notify  chan struct{}
	rotate  chan chan error
	closed  chan struct{}
	done    chan struct{}
	qclosed bool // the writer's last look at the queue was taken

	// wmu is held by whoever writes: the writer goroutine or a flush.
	wmu     sync.Mutex
	spare   []*walEntry   // the other queue buffer
	vclock  format.VClock // vclock after the last row written
	prev    format.VClock // vclock of the current file's start
	hasPrev bool
	file    *os.File
	bw      *bufio.Writer
	cw      *countingWriter
	w       *format.Writer
	err     error // a failed write stops the WAL for good

	// feed passes written transactions on to the relays.
	feed walFeed
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// openWAL starts a WAL writer whose next rows follow vclock. prev is the
// vclock of the newest existing xlog (the PrevVClock of the first file),
// if any.
func openWAL(opts walOptions, vclock format.VClock, prev *format.VClock) *wal {
	w := &wal{opts: opts, notify: make(chan struct{}, 1), rotate: make(chan chan error),
		closed: make(chan struct{}), done: make(chan struct{}), vclock: vclock}
	w.feed.written = vclock
	if prev != nil {
		w.prev, w.hasPrev = *prev, true
	}
	go w.loop()
	return w
}

// submit queues a transaction; the returned channel gets the result of
// its write.
func (w *wal) submit(rows []walRow) <-chan error {
	e := &walEntry{rows: rows, done: make(chan error, 1)}
	w.submitEntry(e)
	return e.done
}

// submitEntry queues an entry; its done channel (buffered) gets the
// result of the write.
func (w *wal) submitEntry(e *walEntry) {
	if w.queue(e) {
		w.wake()
	}
}

// queue adds an entry to the queue, or fails it when the WAL is closed.
func (w *wal) queue(e *walEntry) bool {
	w.qmu.Lock()
	if w.qclosed {
		w.qmu.Unlock()
		e.done <- errWALClosed
		return false
	}
	w.pending = append(w.pending, e)
	w.qmu.Unlock()
	return true
}

// wake makes the writer goroutine look at the queue.
func (w *wal) wake() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// flush writes the queue on the calling goroutine when no write is going
// on, else leaves it to the writer goroutine. Entries queued with queue
// must be followed by a flush (or a wake).
func (w *wal) flush() {
	if !w.wmu.TryLock() {
		w.wake()
		return
	}
	w.writeQueued(false)
	w.wmu.Unlock()
	w.qmu.Lock()
	more := len(w.pending) > 0
	w.qmu.Unlock()
	if more {
		w.wake()
	}
}

// writeQueued writes the entries queued so far as one batch (w.wmu
// held); last closes the queue: later entries fail.
func (w *wal) writeQueued(last bool) {
	w.qmu.Lock()
	b := w.pending
	w.pending, w.spare = w.spare[:0], nil
	w.qclosed = w.qclosed || last
	w.qmu.Unlock()
	if len(b) > 0 {
		w.writeBatch(b)
		clear(b)
	}
	w.spare = b[:0]
}

var errWALClosed = errors.New("the WAL is closed")

// rotateNow closes the current file so the next transaction starts a new
// one named by the current vclock (a checkpoint needs an xlog that starts
// at its signature).
func (w *wal) rotateNow() error {
	ch := make(chan error, 1)
	select {
	case w.rotate <- ch:
		return <-ch
	case <-w.closed:
		return errWALClosed
	}
}

// sync returns once every entry queued before it is written.
func (w *wal) sync() error {
	return <-w.submit(nil)
}

// close writes the pending entries, finishes the file with the EOF marker
// and stops the writer.
func (w *wal) close() error {
	close(w.closed)
	<-w.done
	return w.err
}

func (w *wal) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.notify:
			w.wmu.Lock()
			w.writeQueued(false)
			w.wmu.Unlock()
		case ch := <-w.rotate:
			w.wmu.Lock()
			w.writeQueued(false)
			ch <- w.closeFile()
			w.wmu.Unlock()
		case <-w.closed:
			w.wmu.Lock()
			w.writeQueued(true)
			if err := w.closeFile(); err != nil && w.err == nil {
				w.err = err
			}
			w.wmu.Unlock()
			return
		}
	}
}

func (w *wal) writeBatch(batch []*walEntry) {
	err := w.err
	if err == nil {
		err = w.write(batch)
		if err != nil {
			w.err = fmt.Errorf("WAL write failed: %w", err)
			w.opts.log.Errorf("%v", w.err)
		}
	}
	for _, e := range batch {
		e.done <- err
	}
}

func (w *wal) write(batch []*walEntry) error {
	rows := 0
	for _, e := range batch {
		rows += len(e.rows)
	}
	if rows == 0 {
		return nil
	}
	if w.file != nil && w.cw.n >= w.opts.maxSize {
		if err := w.closeFile(); err != nil {
			return err
		}
	}
	if w.file == nil {
		if err := w.openFile(); err != nil {
			return err
		}
	}
	for _, e := range batch {
		if err := e.eachTx(w.writeTx); err != nil {
			return err
		}
	}
	if err := w.w.Flush(); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if w.opts.fsync {
		if err := w.file.Sync(); err != nil {
			return err
		}
	}
	for _, e := range batch {
		for i := range e.rows {
			h := &e.rows[i].header
			w.vclock.Follow(h.ReplicaID, h.LSN)
		}
	}
	w.feed.publish(batch, w.vclock)
	return nil
}

func (w *wal) writeTx(rows []walRow) error {
	w.w.Begin()
	for i := range rows {
		r := &rows[i]
		if err := w.w.Write(&r.header, r.body); err != nil {
			return err
		}
	}
	return w.w.Commit()
}

// openFile creates the xlog named by the current vclock: written as
// NAME.inprogress with its header, synced and renamed, as Tarantool does.
func (w *wal) openFile() error {
	meta := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, Tarantool: w.opts.version,
		Instance: w.opts.instance, VClock: w.vclock, HasVClock: true, PrevVClock: w.prev, HasPrevVClock: w.hasPrev}
	name := filepath.Join(w.opts.dir, format.FileName(format.TypeXLOG, w.vclock))
	tmp := name + ".inprogress"
	// A crash while a file was being created leaves NAME.inprogress
	// behind: it never held rows (the rename comes before any), and
	// Tarantool removes it too.
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	cw := &countingWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	fw, err := format.NewWriter(bw, meta, format.WriterOptions{BlockSize: 1 << 30})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = format.LinkNoReplace(tmp, name) // never over an existing file
	}
	if err == nil {
		err = syncDir(w.opts.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	w.file, w.cw, w.bw, w.w = f, cw, bw, fw
	w.prev, w.hasPrev = w.vclock, true
	w.opts.log.fiberf("wal/101/main", "xlog: opened `%s'", name)
	return nil
}

// closeFile ends the current file with the EOF marker.
func (w *wal) closeFile() error {
	if w.file == nil {
		return nil
	}
	err := w.w.Close()
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil {
		err = w.file.Sync()
	}
	if cerr := w.file.Close(); err == nil {
		err = cerr
	}
	w.file, w.w, w.bw, w.cw = nil, nil, nil, nil
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	d.Close()
	return err
}
