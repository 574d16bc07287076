package verify

import (
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// keptRow is a copy of one row (header fields and bytes) kept to show it
// as evidence later. Its buffer is reused.
type keptRow struct {
	file string
	row  format.Row
	buf  []byte
}

func (k *keptRow) keep(file string, r *format.Row) {
	k.file = file
	k.buf = append(k.buf[:0], r.RawHeader...)
	k.buf = append(k.buf, r.Body...)
	k.row = *r
	n := len(r.RawHeader)
	k.row.RawHeader = k.buf[:n:n]
	if r.Body != nil {
		k.row.Body = k.buf[n:]
	}
}

func (k *keptRow) valid() bool { return k.file != "" }

// tx is a transaction being assembled from its rows.
type tx struct {
	active   bool
	tsn      uint64
	firstLSN uint64 // LSN of the first row, in its own component
	// origin is the replica id of the global rows (0 for a fully local
	// transaction).
	origin      uint32
	firstGlobal uint64
	lastGlobal  uint64
	rows        int
	dataRows    int  // global rows that are not NOPs
	broken      bool // the first row is absent
	sync        bool // touches a synchronous space (inferred)
	flags       uint64
	ts          float64
	// know is the instance vclock when the transaction started.
	know  format.VClock
	first keptRow
	file  string
	off   int64
}

// txnAssembler groups rows into transactions. Rows of transactions of
// different replica ids may interleave (Tarantool's recovery accepts that
// since gh-7932); rows of one replica id may not.
type txnAssembler struct {
	open [format.VClockMax]tx
	// ownID is the bucket of local rows that match no open transaction.
	ownID uint32
}

// bucketOf picks the open transaction a row belongs to: its replica id, or
// for a local row the transaction with the same tsn.
func (a *txnAssembler) bucketOf(r *format.Row) uint32 {
	if r.ReplicaID != 0 {
		if r.ReplicaID >= format.VClockMax {
			return 0
		}
		return r.ReplicaID
	}
	for i := range a.open {
		if a.open[i].active && a.open[i].tsn == r.TSN {
			return uint32(i)
		}
	}
	return a.ownID
}

func isGlobal(r *format.Row) bool { return r.ReplicaID != 0 && r.GroupID != box.GroupLocal }
