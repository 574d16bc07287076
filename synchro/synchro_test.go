package synchro_test

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/synchro"
)

type feeder struct {
	t   *testing.T
	r   *synchro.Resolver
	log []string
}

func (f *feeder) add(h format.Header, body ...[]byte) {
	f.t.Helper()
	if h.TSN == 0 {
		h.TSN = h.LSN
	}
	row := &format.Row{Header: h}
	if len(body) > 0 {
		row.Body = body[0]
	}
	evs, err := f.r.Add(row)
	if err != nil {
		f.t.Fatal(err)
	}
	f.record(evs)
}

func (f *feeder) record(evs []synchro.Event) {
	for _, e := range evs {
		f.log = append(f.log, fmt.Sprintf("%d:%s", e.Tx.EntryLSN, fateText(e.Fate)))
	}
}

// fateText names confirmed transactions committed, as they take effect.
func fateText(f synchro.Fate) string {
	if f.Applied() {
		return "committed"
	}
	return f.String()
}

func dml(lsn uint64, flags uint64) format.Header {
	return format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true, Flags: flags}
}

func synchroRow(t box.RowType, lsn uint64, owner uint32, target uint64, term uint64) (format.Header, []byte) {
	s := &format.Synchro{ReplicaID: owner, LSN: target, Term: term, HasTerm: term != 0}
	return format.Header{Type: t, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true}, format.AppendSynchroBody(nil, s)
}

const syncFlags = box.FlagWaitSync | box.FlagWaitAck

func TestRollbackTakesEverythingQueuedAfter(t *testing.T) {
	// FORMAT.md §6.4, verified on 2.6.0: sync (7), async behind it (8),
	// sync (9); ROLLBACK 7 discards all three, newest first.
	f := &feeder{t: t, r: synchro.New(synchro.Options{})}
	f.add(dml(6, 0))
	f.add(dml(7, syncFlags))
	f.add(dml(8, box.FlagWaitSync))
	f.add(dml(9, syncFlags))
	f.add(synchroRow(box.TypeRollback, 10, 1, 7, 0))
	f.add(dml(11, syncFlags))
	f.add(synchroRow(box.TypeConfirm, 12, 1, 11, 0))
	want := "6:committed 9:rolled back 8:rolled back 7:rolled back 11:committed"
	if got := strings.Join(f.log, " "); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestConfirmCoversOlderAndQueuedAsync(t *testing.T) {
	f := &feeder{t: t, r: synchro.New(synchro.Options{})}
	f.add(dml(1, syncFlags))
	f.add(dml(2, box.FlagWaitSync))
	f.add(dml(3, syncFlags))
	f.add(dml(4, box.FlagWaitSync))
	f.add(synchroRow(box.TypeConfirm, 5, 1, 1, 0))  // confirms 1 and the async 2 behind it
	f.add(synchroRow(box.TypeConfirm, 6, 2, 3, 0))  // foreign owner: ignored
	f.add(synchroRow(box.TypeRollback, 7, 1, 4, 0)) // no sync entry >= 4: nothing
	f.add(synchroRow(box.TypeConfirm, 8, 1, 3, 0))
	want := "1:committed 2:committed 3:committed 4:committed"
	if got := strings.Join(f.log, " "); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// An async transaction on an empty queue commits at once.
	f.log = nil
	f.add(dml(9, 0))
	if got := strings.Join(f.log, " "); got != "9:committed" {
		t.Fatal(got)
	}
}

func TestPromoteResolvesThePreviousQueue(t *testing.T) {
	f := &feeder{t: t, r: synchro.New(synchro.Options{})}
	f.add(dml(1, syncFlags))
	f.add(dml(2, syncFlags))
	f.add(dml(3, box.FlagWaitSync))
	h, b := synchroRow(box.TypePromote, 1, 1, 1, 5)
	h.ReplicaID = 2
	f.add(h, b)
	want := "1:committed 3:rolled back 2:rolled back"
	if got := strings.Join(f.log, " "); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if st := f.r.State(); st.Owner != 2 || st.Term != 5 || st.Queued != 0 {
		t.Fatalf("state %+v", st)
	}
	// The old owner's CONFIRM is now foreign.
	f.log = nil
	f.add(dml(4, syncFlags))
	f.add(synchroRow(box.TypeConfirm, 5, 1, 4, 0))
	if len(f.log) != 0 {
		t.Fatalf("foreign confirm applied: %v", f.log)
	}
	if ev := f.r.End(); len(ev) != 1 || ev[0].Fate != synchro.Pending {
		t.Fatalf("end %+v", ev)
	}
}

func TestMultiRowAndInterleaved(t *testing.T) {
	f := &feeder{t: t, r: synchro.New(synchro.Options{})}
	// Transactions of replicas 2 and 3 interleave (legal for relayed rows).
	f.add(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 10, TSN: 10})
	f.add(format.Header{Type: box.TypeReplace, ReplicaID: 3, LSN: 1, TSN: 1})
	f.add(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 11, TSN: 10})
	f.add(format.Header{Type: box.TypeReplace, ReplicaID: 3, LSN: 2, TSN: 1, Commit: true})
	// A local row (component 0) inside replica 2's transaction.
	f.add(format.Header{Type: box.TypeReplace, GroupID: 1, LSN: 1, TSN: 10})
	f.add(format.Header{Type: box.TypeNop, ReplicaID: 2, LSN: 12, TSN: 10, Commit: true})
	f.add(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 13, TSN: 13})
	if got := strings.Join(f.log, " "); got != "2:committed 12:committed" {
		t.Fatal(got)
	}
	ev := f.r.End()
	if len(ev) != 1 || ev[0].Fate != synchro.Incomplete || len(ev[0].Tx.Rows) != 1 {
		t.Fatalf("end %+v", ev)
	}
}

// The sample WAL was written by Tarantool 2.6.0, which does not flag
// synchronous transactions: the resolver learns them from the space.
func TestTarantool260Sample(t *testing.T) {
	r := synchro.New(synchro.Options{IsSync: func(id uint32) bool { return id == 512 }})
	path := filepath.Join("..", "testdata", "sample", "00000000000000000000.xlog")
	rd, err := format.Open(path, format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var fates []string
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs, err := r.Add(row)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Tx.Sync || e.Fate != synchro.Committed {
				fates = append(fates, fmt.Sprintf("%d:%s", e.Tx.EntryLSN, fateText(e.Fate)))
			}
		}
	}
	want := "10:committed 12:committed 14:committed 16:committed 18:committed 22:committed 29:rolled back 31:committed"
	if got := strings.Join(fates, " "); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if len(r.End()) != 0 {
		t.Fatal("transactions left pending")
	}
}

// A transaction whose first rows are missing (gh_7932's bad_xlog: its
// first global row has LSN != TSN) is marked headless; one that starts
// with a local row is not.
func TestHeadless(t *testing.T) {
	f := &feeder{t: t, r: synchro.New(synchro.Options{})}
	var fates []string
	record := func(evs []synchro.Event) {
		for _, e := range evs {
			fates = append(fates, fmt.Sprintf("%d:%v", e.Tx.EntryLSN, e.Tx.Headless))
		}
	}
	for _, h := range []format.Header{
		{Type: box.TypeReplace, ReplicaID: 2, LSN: 11, TSN: 10},
		{Type: box.TypeReplace, ReplicaID: 2, LSN: 12, TSN: 10, Commit: true},
		{Type: box.TypeReplace, GroupID: 1, LSN: 5, TSN: 13},
		{Type: box.TypeReplace, ReplicaID: 2, LSN: 13, TSN: 13, Commit: true},
	} {
		evs, err := f.r.Add(&format.Row{Header: h})
		if err != nil {
			t.Fatal(err)
		}
		record(evs)
	}
	if got := strings.Join(fates, " "); got != "12:true 13:false" {
		t.Fatal(got)
	}
	if ev := f.r.End(); len(ev) != 0 {
		t.Fatalf("the local row did not join its transaction: %+v", ev[0].Tx.Rows[0].Header)
	}
}
