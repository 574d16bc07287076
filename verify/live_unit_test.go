package verify_test

import (
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/verify"
)

func liveRow(id uint32, lsn uint64, typ box.RowType, body []byte) *format.Row {
	return &format.Row{Header: format.Header{Type: typ, ReplicaID: id, LSN: lsn, TSN: lsn, Commit: true, Timestamp: 1}, Body: body}
}

// Live compares the rows of live sources as they come: the same (replica
// id, LSN) with other content is reported once the second source has it,
// and the per-instance checks run on each source's rows.
func TestLiveRows(t *testing.T) {
	l := verify.NewLive()
	l.Start("a", "2.6.0", format.VClock{}, true)
	l.Start("b", "2.6.0", format.VClock{}, true)
	one := []byte{0x82, 0x10, 0xcd, 0x02, 0x00, 0x21, 0x91, 0x01}
	two := []byte{0x82, 0x10, 0xcd, 0x02, 0x00, 0x21, 0x91, 0x02}
	if fs := l.Row("a", liveRow(1, 1, box.TypeInsert, one)); len(fs) != 0 {
		t.Fatalf("first row: %v", fs[0].Message)
	}
	if fs := l.Row("b", liveRow(1, 1, box.TypeInsert, one)); len(fs) != 0 {
		t.Fatalf("same row: %v", fs[0].Message)
	}
	l.Row("a", liveRow(1, 2, box.TypeInsert, one))
	fs := l.Row("b", liveRow(1, 2, box.TypeInsert, two))
	if len(fs) != 1 || fs[0].Kind != verify.KindDivergentRow || !strings.Contains(fs[0].Message, "rows 1:2-2") ||
		!strings.Contains(fs[0].Message, "A: a; B: b") {
		t.Fatalf("divergent row: %+v", fs)
	}
	// Per-instance checks: an LSN used twice on one source.
	fs = l.Row("a", liveRow(1, 2, box.TypeInsert, one))
	if len(fs) != 1 || fs[0].Kind != verify.KindLSNOrder || fs[0].Instance != "a" {
		t.Fatalf("LSN order: %+v", fs)
	}
	// A PROMOTE whose term goes down.
	promote := func(term uint64) []byte {
		return format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: 2, Term: term, HasTerm: true})
	}
	l.Row("a", liveRow(1, 3, box.TypePromote, promote(5)))
	fs = l.Row("a", liveRow(1, 4, box.TypePromote, promote(3)))
	if len(fs) != 1 || fs[0].Kind != verify.KindPromoteTerm {
		t.Fatalf("regressing term: %+v", fs)
	}
	if st := l.State("a"); st.Owner != 1 || st.Term != 5 {
		t.Errorf("state %+v", st)
	}
}
