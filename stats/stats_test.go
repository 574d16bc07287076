package stats

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// Synchronous transactions are those whose last row has WAIT_ACK, also
// when that row is not selected; a file ending inside a transaction leaves
// it incomplete.
func TestTransactions(t *testing.T) {
	var buf bytes.Buffer
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, HasVClock: true}
	w, err := format.NewWriter(&buf, m, format.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := func(space byte) []byte { return []byte{0x82, 0x10, 0xcd, 0x02, space, 0x21, 0x91, 0x01} }
	write := func(lsn, tsn uint64, commit bool, flags uint64, space byte) {
		h := format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn, TSN: tsn, Commit: commit, Flags: flags}
		if err := w.Write(&h, body(space)); err != nil {
			t.Fatal(err)
		}
	}
	sync := uint64(box.FlagWaitSync | box.FlagWaitAck)
	write(1, 1, false, 0, 0)
	write(2, 1, false, 0, 0)
	write(3, 1, true, sync, 1) // space 513
	write(4, 4, true, sync, 0)
	write(5, 5, true, box.FlagWaitSync, 0)
	write(6, 6, false, 0, 0)
	if err := w.Flush(); err != nil { // no EOF marker: the file ends in a transaction
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "00000000000000000000.xlog")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []format.FileRef{{Path: path}}

	rep, res, err := Scan(files, Options{})
	if err != nil || res.Warnings != 1 || res.Damaged != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	tx := rep.Transactions
	if tx.Count != 4 || tx.Rows != 6 || tx.MinRows != 1 || tx.MaxRows != 3 || tx.MultiRow != 1 || tx.Incomplete != 1 {
		t.Errorf("transactions %+v", tx)
	}
	if s := rep.SyncTransactions; s.Count != 2 || s.Rows != 4 || rep.WaitSync != 3 {
		t.Errorf("sync %+v, wait_sync %d", s, rep.WaitSync)
	}
	if len(rep.Replicas) != 1 || rep.Replicas[0].FirstLSN != 1 || rep.Replicas[0].LastLSN != 6 {
		t.Errorf("replicas %+v", rep.Replicas)
	}

	flt := format.NewFilter()
	flt.Spaces = []uint32{512}
	rep, _, _ = Scan(files, Options{Filter: &flt})
	if tx := rep.Transactions; tx.Count != 4 || tx.Rows != 5 || tx.MaxRows != 2 {
		t.Errorf("space 512: transactions %+v", tx)
	}
	if s := rep.SyncTransactions; s.Count != 2 || s.Rows != 3 {
		t.Errorf("space 512: sync %+v", s)
	}
	if len(rep.Spaces) != 1 || rep.Spaces[0].Rows != 5 || rep.Rows != 5 || rep.RowsRead != 6 {
		t.Errorf("space 512: %+v", rep)
	}
}
