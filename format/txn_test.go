package format_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

func txRow(id uint32, lsn, tsn uint64, commit bool) *format.Row {
	h := format.Header{Type: box.TypeReplace, ReplicaID: id, LSN: lsn, TSN: tsn, Commit: commit}
	return &format.Row{Header: h, RawHeader: []byte{0x80}, Body: []byte{0x81, 0x10, byte(lsn)}}
}

func localRow(lsn, tsn uint64, commit bool) *format.Row {
	r := txRow(0, lsn, tsn, commit)
	r.GroupID = box.GroupLocal
	return r
}

func txText(t *format.Tx) string {
	s := fmt.Sprintf("%d:%d-%d tsn %d rows %d %s", t.Origin, t.FirstGlobal, t.LastGlobal, t.TSN, t.Count, t.End)
	if t.Headless {
		s += " headless"
	}
	if len(t.Rows) > 0 {
		var lsns []string
		for _, r := range t.Rows {
			lsns = append(lsns, fmt.Sprintf("%d:%d/%x", r.ReplicaID, r.LSN, r.Body))
		}
		s += " [" + strings.Join(lsns, " ") + "]"
	}
	return s
}

func assemble(opts format.TxOptions, rows ...*format.Row) string {
	a := format.NewTxAssembler(opts)
	var out []string
	for _, r := range rows {
		for _, t := range a.Add(r) {
			out = append(out, txText(t))
		}
	}
	for _, t := range a.End() {
		out = append(out, txText(t))
	}
	return strings.Join(out, "\n")
}

func TestTxAssemblerStream(t *testing.T) {
	got := assemble(format.TxOptions{Retain: format.RetainBorrow},
		txRow(1, 1, 1, true),
		txRow(1, 2, 2, false), localRow(7, 2, false), txRow(1, 3, 2, true),
		txRow(1, 4, 4, false),
		txRow(1, 6, 6, true), // interrupts 4
		txRow(1, 8, 7, true), // first row missing
		txRow(1, 9, 9, false),
	)
	want := `1:1-1 tsn 1 rows 1 committed [1:1/811001]
1:2-3 tsn 2 rows 3 committed [1:2/811002 0:7/811007 1:3/811003]
1:4-4 tsn 4 rows 1 interrupted [1:4/811004]
1:6-6 tsn 6 rows 1 committed [1:6/811006]
1:8-8 tsn 7 rows 1 committed headless [1:8/811008]
1:9-9 tsn 9 rows 1 unfinished [1:9/811009]`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestTxAssemblerInterleave(t *testing.T) {
	got := assemble(format.TxOptions{Interleave: true, Retain: format.RetainOwn, LocalID: 3},
		txRow(2, 10, 10, false),
		txRow(3, 1, 1, false),
		txRow(2, 11, 10, false),
		txRow(3, 2, 1, true),
		localRow(5, 10, false), // joins 2's transaction by its tsn
		txRow(2, 12, 10, true),
		localRow(6, 4, false), // starts 3's next transaction
		txRow(3, 4, 4, true),
		localRow(8, 20, true), // a local transaction whose first row is missing
		txRow(2, 13, 13, false),
	)
	want := `3:1-2 tsn 1 rows 2 committed [3:1/811001 3:2/811002]
2:10-12 tsn 10 rows 4 committed [2:10/81100a 2:11/81100b 0:5/811005 2:12/81100c]
3:4-4 tsn 4 rows 2 committed [0:6/811006 3:4/811004]
0:0-0 tsn 20 rows 1 committed headless [0:8/811008]
2:13-13 tsn 13 rows 1 unfinished [2:13/81100d]`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Rows of one replica id may not interleave.
	got = assemble(format.TxOptions{Interleave: true},
		txRow(2, 10, 10, false), txRow(3, 1, 1, true), txRow(2, 12, 12, true))
	want = `3:1-1 tsn 1 rows 1 committed
2:10-10 tsn 10 rows 1 interrupted
2:12-12 tsn 12 rows 1 committed`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// Borrowed rows stay valid until the next call; owned ones for good.
func TestTxAssemblerRetain(t *testing.T) {
	a := format.NewTxAssembler(format.TxOptions{Retain: format.RetainOwn})
	var kept []*format.Tx
	for _, r := range []*format.Row{txRow(1, 1, 1, false), txRow(1, 2, 1, true), txRow(1, 3, 3, false), txRow(1, 4, 3, true)} {
		kept = append(kept, a.Add(r)...)
	}
	if len(kept) != 2 || txText(kept[0]) != "1:1-2 tsn 1 rows 2 committed [1:1/811001 1:2/811002]" {
		t.Fatalf("%d %s", len(kept), txText(kept[0]))
	}
	b := format.NewTxAssembler(format.TxOptions{})
	in := txRow(1, 1, 1, false)
	if out := b.Add(in); len(out) != 0 || b.Current() == nil || b.Current().Count != 1 {
		t.Fatalf("open transaction: %v %v", out, b.Current())
	}
	b.Reset()
	if b.Open() || len(b.End()) != 0 {
		t.Fatal("reset kept a transaction")
	}
}

func BenchmarkTxAssembler(b *testing.B) {
	rows := []*format.Row{txRow(1, 1, 1, false), localRow(1, 1, false), txRow(1, 2, 1, true), txRow(1, 3, 3, true)}
	a := format.NewTxAssembler(format.TxOptions{Retain: format.RetainBorrow})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, r := range rows {
			a.Add(r)
		}
	}
}
