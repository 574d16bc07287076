// Package progress draws a one-line progress indicator on a terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// Bar reports progress over a known number of bytes. A nil *Bar, or one
// made for a writer that is not a terminal, does nothing.
type Bar struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	total int64
	done  int64
	start time.Time
	last  time.Time
	shown bool
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// New returns a bar drawing on w when enabled, otherwise nil.
func New(w io.Writer, enabled bool, label string, total int64) *Bar {
	if !enabled {
		return nil
	}
	now := time.Now()
	return &Bar{w: w, label: label, total: total, start: now, last: now}
}

// Set records that n bytes in all are done and redraws at most five times a second.
func (b *Bar) Set(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = n
	b.tick()
}

// tick redraws at most five times a second; b.mu is held.
func (b *Bar) tick() {
	now := time.Now()
	if now.Sub(b.last) < 200*time.Millisecond {
		return
	}
	b.last = now
	b.draw(now)
}

func (b *Bar) draw(now time.Time) {
	el := now.Sub(b.start).Seconds()
	rate := float64(b.done) / 1e6 / el
	pct := 100.0
	if b.total > 0 {
		pct = 100 * float64(b.done) / float64(b.total)
	}
	fmt.Fprintf(b.w, "\r%s %5.1f%%  %d/%d MB  %.0f MB/s ", b.label, pct, b.done>>20, b.total>>20, rate)
	b.shown = true
}

// Done clears the line.
func (b *Bar) Done() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shown {
		fmt.Fprint(b.w, "\r\033[K")
	}
}

// Add records n more bytes done (safe to call from several goroutines).
func (b *Bar) Add(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	b.tick()
}

// Lazy is a bar made on its first Set, for work that learns its total
// only once it has started (func(done, total int64) callbacks).
type Lazy struct {
	W     io.Writer
	Label string
	bar   *Bar
}

// Set records done bytes of total, making the bar the first time.
func (l *Lazy) Set(done, total int64) {
	if l.bar == nil {
		l.bar = New(l.W, true, l.Label, total)
	}
	l.bar.Set(done)
}

// Done clears the line, if one was drawn.
func (l *Lazy) Done() { l.bar.Done() }
