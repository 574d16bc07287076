package tail

import (
	"fmt"

	"github.com/xlogtool/xlogtool/format"
)

// assembler collects the rows of the transaction being received until its
// last row (COMMIT) arrives. A relay sends a transaction's rows one after
// another (2.6-2.11.1 row by row, later servers whole), so at most one
// transaction is open. It keeps the rows' bytes in one buffer reused from
// transaction to transaction: receiving allocates nothing once the buffers
// have grown to the largest transaction.
type assembler struct {
	data []byte
	rows []format.Row
	offs []rowOffs
	tx   Tx
}

type rowOffs struct{ hdr, body, end int }

func (a *assembler) reset() {
	a.data, a.rows, a.offs = a.data[:0], a.rows[:0], a.offs[:0]
}

// add takes one row (its bytes are copied) and returns the transaction it
// completes, or nil. The returned transaction is valid until the next add.
func (a *assembler) add(r *format.Row) (*Tx, error) {
	if len(a.rows) > 0 {
		first := &a.rows[0]
		if r.TSN != first.TSN || (r.ReplicaID != 0 && r.ReplicaID != first.ReplicaID) {
			return nil, fmt.Errorf("row lsn %d of replica %d (tsn %d) interleaves with the open transaction tsn %d of replica %d",
				r.LSN, r.ReplicaID, r.TSN, first.TSN, first.ReplicaID)
		}
	} else if r.LSN != r.TSN {
		return nil, fmt.Errorf("transaction of replica %d starts with lsn %d, not with its tsn %d", r.ReplicaID, r.LSN, r.TSN)
	}
	o := rowOffs{hdr: len(a.data)}
	a.data = append(a.data, r.RawHeader...)
	o.body = len(a.data)
	a.data = append(a.data, r.Body...)
	o.end = len(a.data)
	if r.Body == nil {
		o.end = -1
	}
	row := *r
	row.RawHeader, row.Body = nil, nil
	a.rows = append(a.rows, row)
	a.offs = append(a.offs, o)
	if !r.Commit {
		return nil, nil
	}
	for i := range a.rows {
		o := a.offs[i]
		a.rows[i].RawHeader = a.data[o.hdr:o.body:o.body]
		if o.end >= 0 {
			a.rows[i].Body = a.data[o.body:o.end:o.end]
		}
	}
	a.tx = Tx{Kind: KindStream, Rows: a.rows}
	a.rows, a.offs = a.rows[:0], a.offs[:0]
	a.data = a.data[:0]
	return &a.tx, nil
}
