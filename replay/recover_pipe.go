package replay

import (
	"context"
	"io"
	"runtime"
	"sync"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/memtx"

	"github.com/xlogtool/xlogtool/format"
)

// The rows of a file go through a pipeline: one goroutine reads them
// (the reader itself decompresses blocks ahead on others) and copies
// them into batches, workers decode the requests of the DML rows of
// whole batches, and the caller's goroutine takes the batches in file
// order. Decoding, the larger part of the work, runs on every CPU there
// is while the state is changed on one.

// pipeRow is a row read ahead: its header and position, its body in the
// batch buffer and, for a DML row, its decoded request.
type pipeRow struct {
	hdr        format.Header
	pos        format.Position
	start, end int // body in the batch buffer
	hasBody    bool
	dec        decoded
}

// decoded is the request of a DML row, or why it does not decode.
type decoded struct {
	req memtx.Request
	err error
	ok  bool // req or err is set
	// owned: the tuple is not the batch's (see recoverer.keepOpenTx).
	owned bool
}

// row returns the row; its body lives as long as the batch.
func (p *pipeRow) row(b *pipeBatch) format.Row {
	r := format.Row{Header: p.hdr, Pos: p.pos}
	if p.hasBody {
		r.Body = b.buf[p.start:p.end:p.end]
	}
	return r
}

// pipeBatch is a run of rows of one file.
type pipeBatch struct {
	buf  []byte
	rows []pipeRow
	done chan struct{}
}

const pipeBatchRows = 512

// decodeRequest decodes the request of a DML row, its tuple made in the
// arena (nil: allocated by itself), or left in the row's body when
// shared.
func decodeRequest(row *format.Row, arena *memtx.TupleArena, shared bool) decoded {
	d, err := row.DML()
	if err != nil {
		return decoded{err: &memtx.ApplyError{Code: box.ErrInvalidMsgpack, Message: "Invalid MsgPack - " + err.Error(),
			Type: box.RowType(row.Type)}, ok: true}
	}
	raw := memtx.RawRequest{Type: box.RowType(row.Type), SpaceID: d.SpaceID, IndexID: d.IndexID,
		IndexBase: d.IndexBase, Key: d.Key, Tuple: d.Tuple, Ops: d.Ops}
	var req memtx.Request
	if shared {
		req, err = raw.DecodeShared()
	} else {
		req, err = raw.DecodeIn(arena)
	}
	if err != nil {
		req.SpaceID = d.SpaceID
	}
	return decoded{req: req, err: err, ok: true}
}

// pipeline reads r and calls fn for every batch of rows, in order, on
// the calling goroutine; fn returns false to stop. It returns the
// reader's error (nil at the end of the file) or the context's. With
// shared, the tuples of the decoded requests are the bytes of the batch,
// valid only until fn returns (a state stores copies of them).
func pipeline(ctx context.Context, r *format.Reader, shared bool, fn func(b *pipeBatch) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := min(max(runtime.GOMAXPROCS(0), 1), 4)
	ordered := make(chan *pipeBatch, 2*workers+2)
	work := make(chan *pipeBatch, 2*workers+2)
	free := make(chan *pipeBatch, 2*workers+4)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Tuples kept beyond their batch (transactions waiting)
			// are made in chunks (one arena per worker).
			var arena memtx.TupleArena
			for b := range work {
				for i := range b.rows {
					p := &b.rows[i]
					if p.hdr.Type.IsDML() {
						row := p.row(b)
						p.dec = decodeRequest(&row, &arena, shared)
					}
				}
				close(b.done)
			}
		}()
	}
	var readErr error
	go func() {
		defer close(ordered)
		defer close(work)
		readErr = readBatches(ctx, r, ordered, work, free)
	}()
	defer wg.Wait()
	stopped := false
	for b := range ordered {
		select {
		case <-b.done:
		case <-ctx.Done():
			// A batch the workers will not decode any more.
		}
		if stopped || ctx.Err() != nil {
			continue
		}
		if !fn(b) {
			stopped = true
			cancel()
			continue
		}
		for i := range b.rows {
			b.rows[i] = pipeRow{}
		}
		b.rows, b.buf = b.rows[:0], b.buf[:0]
		select {
		case free <- b:
		default:
		}
	}
	if stopped {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return readErr
}

// readBatches reads rows into batches, each handed to the workers and,
// in order, to the consumer.
func readBatches(ctx context.Context, r *format.Reader, ordered, work chan<- *pipeBatch, free <-chan *pipeBatch) error {
	newBatch := func() *pipeBatch {
		var b *pipeBatch
		select {
		case b = <-free:
		default:
			b = &pipeBatch{rows: make([]pipeRow, 0, pipeBatchRows)}
		}
		b.done = make(chan struct{})
		return b
	}
	send := func(b *pipeBatch) bool {
		select {
		case ordered <- b:
		case <-ctx.Done():
			return false
		}
		select {
		case work <- b:
		case <-ctx.Done():
			return false
		}
		return true
	}
	b := newBatch()
	for {
		row, err := r.Next()
		if err != nil {
			if len(b.rows) > 0 {
				send(b)
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		p := pipeRow{hdr: row.Header, pos: row.Pos, hasBody: row.Body != nil}
		if p.hasBody {
			p.start = len(b.buf)
			b.buf = append(b.buf, row.Body...)
			p.end = len(b.buf)
		}
		b.rows = append(b.rows, p)
		if len(b.rows) == pipeBatchRows {
			if !send(b) {
				return ctx.Err()
			}
			b = newBatch()
		}
	}
}
