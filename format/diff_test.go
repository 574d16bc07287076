package format_test

import (
	"bytes"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// A row without a body (here an INSERT, which Tarantool never writes so,
// but another tool may) must end its block: a reader takes whatever
// follows a row header in the block for its body. Written in the middle of
// a transaction or of an autocommit run, it used to swallow the next row.
func TestDiffWriterBodilessRow(t *testing.T) {
	for _, inTx := range []bool{false, true} {
		var buf bytes.Buffer
		m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, HasVClock: true}
		w, err := format.NewWriter(&buf, m, format.WriterOptions{NoCompress: true})
		if err != nil {
			t.Fatal(err)
		}
		body := []byte{0x82, box.KeySpaceID, 0xcd, 0x02, 0x00, box.KeyTuple, 0x91, 0x07}
		rows := []struct {
			h    format.Header
			body []byte
		}{
			{format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: 1}, body},
			{format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: 2}, nil},
			{format.Header{Type: box.TypeNop, ReplicaID: 1, LSN: 3}, nil},
			{format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: 4}, []byte{}},
			{format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: 5}, body},
		}
		if inTx {
			w.Begin()
		}
		for i := range rows {
			r := &rows[i]
			if inTx {
				r.h.TSN, r.h.Commit = 1, i == len(rows)-1
			} else {
				r.h.TSN, r.h.Commit = r.h.LSN, true
			}
			if err := w.Write(&r.h, r.body); err != nil {
				t.Fatal(err)
			}
		}
		if inTx {
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := format.NewReader(bytes.NewReader(buf.Bytes()), format.Options{Name: "tx.xlog"})
		if err != nil {
			t.Fatal(err)
		}
		var got []*format.Row
		for {
			row, err := r.Next()
			if err != nil {
				break
			}
			got = append(got, row.Clone())
		}
		if len(got) != len(rows) {
			t.Fatalf("inTx=%v: read %d rows, wrote %d (issues %v)", inTx, len(got), len(rows), r.Issues())
		}
		for i, g := range got {
			if g.LSN != rows[i].h.LSN || !bytes.Equal(g.Body, rows[i].body) || g.Commit != rows[i].h.Commit {
				t.Errorf("inTx=%v: row %d: lsn %d body %x commit %v, wrote lsn %d body %x commit %v",
					inTx, i, g.LSN, g.Body, g.Commit, rows[i].h.LSN, rows[i].body, rows[i].h.Commit)
			}
		}
	}
}
