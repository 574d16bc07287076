package sim

import (
	"errors"
	"time"
)

// DiskFaults are the disk's misbehaviours, changeable at any time.
type DiskFaults struct {
	MinLatency, MaxLatency time.Duration // time to make one write durable
	// Stall is the probability that a write takes StallTime more.
	Stall     float64
	StallTime time.Duration
	// Fail is the probability that a write fails.
	Fail float64
}

// ErrWrite is the error of a failed simulated write.
var ErrWrite = errors.New("simulated disk write error")

// Disk is one node's write-ahead log: records become durable in the order
// they were written, each after a latency; a crash loses every write not
// yet durable.
type Disk struct {
	w       *World
	Faults  DiskFaults
	durable [][]byte
	epoch   int
	last    time.Duration // completion time of the latest write
	pending int
}

// NewDisk returns an empty disk.
func NewDisk(w *World) *Disk { return &Disk{w: w} }

// Write starts writing rec; done runs when it is durable (err nil) or has
// failed. A crash before that cancels done and loses rec.
func (d *Disk) Write(rec []byte, done func(err error)) {
	f := &d.Faults
	at := d.w.now + d.w.Between(f.MinLatency, f.MaxLatency)
	if d.w.Chance(f.Stall) {
		at += f.StallTime
	}
	if at < d.last {
		at = d.last
	}
	d.last = at
	fail := d.w.Chance(f.Fail)
	epoch := d.epoch
	rec = append([]byte(nil), rec...)
	d.pending++
	d.w.At(at, func() {
		if d.epoch != epoch {
			return
		}
		d.pending--
		if fail {
			done(ErrWrite)
			return
		}
		d.durable = append(d.durable, rec)
		done(nil)
	})
}

// Crash loses every write in progress.
func (d *Disk) Crash() {
	d.epoch++
	d.pending = 0
	d.last = d.w.now
}

// Records returns the durable records in write order.
func (d *Disk) Records() [][]byte { return d.durable }

// Pending returns the number of writes in progress.
func (d *Disk) Pending() int { return d.pending }
