package tail

import (
	"fmt"

	"github.com/xlogtool/xlogtool/format"
)

// assembler turns the stream's rows into whole transactions with the
// transaction assembler of package format, applying the rules of
// Tarantool's applier: a relay sends a transaction's rows one after
// another (2.6-2.11.1 row by row, later servers whole), so a transaction
// interrupted by another one, or one that does not start with its first
// row, is a protocol error. Rows of open transactions are kept in reused
// buffers: receiving allocates nothing once they have grown.
type assembler struct {
	a  *format.TxAssembler
	tx Tx
}

func (x *assembler) reset() {
	if x.a == nil {
		x.a = format.NewTxAssembler(format.TxOptions{Retain: format.RetainBorrow})
	}
	x.a.Reset()
}

// add takes one row and returns the transaction it completes, or nil. The
// returned transaction is valid until the next add.
func (x *assembler) add(r *format.Row) (*Tx, error) {
	for _, t := range x.a.Add(r) {
		switch {
		case t.End == format.TxInterrupted:
			return nil, fmt.Errorf("row lsn %d of replica %d (tsn %d) interrupts the transaction tsn %d of replica %d",
				t.By.LSN, t.By.ReplicaID, t.By.TSN, t.TSN, t.Origin)
		case t.Headless:
			return nil, fmt.Errorf("transaction of replica %d starts with lsn %d, not with its tsn %d",
				t.Origin, t.FirstGlobal, t.TSN)
		}
		x.tx = Tx{Kind: KindStream, Rows: t.Rows}
		return &x.tx, nil
	}
	return nil, nil
}
