package format

import "sync"

// Blocks compressed on several goroutines (WriterOptions.Workers): Flush
// hands the pending rows to a worker and returns; the blocks are written
// in their order as they are done, at the latest by FlushFile, Close or
// the next block copied as it is.

// parBlock is one block on its way through the workers.
type parBlock struct {
	rows []byte
	out  []byte // fixed header and payload
	err  error
	done chan struct{}
}

type parEncoder struct {
	work    chan *parBlock
	queue   []*parBlock // handed to the workers, not written yet, in order
	free    []*parBlock
	wg      sync.WaitGroup
	workers int
}

func newParEncoder(workers int, noCompress bool) *parEncoder {
	p := &parEncoder{work: make(chan *parBlock, workers), workers: workers}
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			enc := BlockEncoder{NoCompress: noCompress}
			defer enc.Close()
			for b := range p.work {
				fix, payload, err := enc.Encode(b.rows)
				b.out = append(append(b.out[:0], fix...), payload...)
				b.err = err
				close(b.done)
			}
		}()
	}
	return p
}

// flushPar hands the pending rows to the workers and writes the blocks
// that are done, waiting for the oldest when too many are on their way.
func (w *Writer) flushPar() error {
	p := w.par
	var b *parBlock
	if k := len(p.free); k > 0 {
		b, p.free = p.free[k-1], p.free[:k-1]
	} else {
		b = &parBlock{}
	}
	b.rows, w.rows = w.rows, b.rows[:0]
	b.done = make(chan struct{})
	p.queue = append(p.queue, b)
	p.work <- b
	for len(p.queue) > 0 {
		if len(p.queue) <= 2*p.workers {
			select {
			case <-p.queue[0].done:
			default:
				return w.err
			}
		}
		if err := w.writeDone(); err != nil {
			return err
		}
	}
	return w.err
}

// writeDone waits for the oldest block on its way and writes it.
func (w *Writer) writeDone() error {
	p := w.par
	b := p.queue[0]
	<-b.done
	p.queue = p.queue[1:]
	if b.err != nil && w.err == nil {
		w.err = b.err
	}
	if w.err == nil {
		w.write(b.out)
	}
	p.free = append(p.free, b)
	return w.err
}

// drainPar writes every block on its way.
func (w *Writer) drainPar() error {
	if w.par == nil {
		return w.err
	}
	for len(w.par.queue) > 0 {
		w.writeDone()
	}
	return w.err
}

// stopPar drains the workers and stops them.
func (w *Writer) stopPar() {
	if w.par == nil {
		return
	}
	w.drainPar()
	close(w.par.work)
	w.par.wg.Wait()
	w.par = nil
}
