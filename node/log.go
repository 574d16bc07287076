package node

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Logger writes lines in Tarantool's log format:
//
//	2026-12-06 20:38:53.955 [9867] main/103/interactive I> message
type Logger struct {
	mu  sync.Mutex
	w   io.Writer
	pid int
}

// NewLogger returns a logger writing to w.
func NewLogger(w io.Writer) *Logger { return &Logger{w: w, pid: os.Getpid()} }

func (l *Logger) logf(level byte, fiber, f string, args ...any) {
	if l == nil || l.w == nil {
		return
	}
	msg := fmt.Sprintf(f, args...)
	now := time.Now().Format("2006-01-02 15:04:05.000")
	l.mu.Lock()
	fmt.Fprintf(l.w, "%s [%d] %s %c> %s\n", now, l.pid, fiber, level, msg)
	l.mu.Unlock()
}

// Infof logs an informational line of the main fiber.
func (l *Logger) Infof(f string, args ...any) { l.logf('I', "main/103/node", f, args...) }

// Warnf logs a warning.
func (l *Logger) Warnf(f string, args ...any) { l.logf('W', "main/103/node", f, args...) }

// Errorf logs an error.
func (l *Logger) Errorf(f string, args ...any) { l.logf('E', "main/103/node", f, args...) }

// Critf logs a critical line (start-up banner, fatal errors).
func (l *Logger) Critf(f string, args ...any) { l.logf('C', "main/103/node", f, args...) }

// fiberf logs an informational line attributed to a named fiber.
func (l *Logger) fiberf(fiber string, f string, args ...any) { l.logf('I', fiber, f, args...) }
