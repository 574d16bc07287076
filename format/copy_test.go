package format_test

import (
	"path/filepath"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// writeLog writes rows (nil body for NOP) as an .xlog in dir; a row with
// HasTSN set opens or continues a transaction.
func writeLog(t *testing.T, dir string, rows []format.Header) string {
	t.Helper()
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, HasVClock: true,
		Instance: "8244848b-532e-4988-b27a-e4326c6ccb1c"}
	w, err := format.Create(dir, m, format.WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		h := &rows[i]
		var body []byte
		if h.Type != box.TypeNop {
			sid := uint64(512)
			if h.GroupID == box.GroupLocal {
				sid = 513
			}
			// {space_id: sid, tuple: [lsn]}
			body = []byte{0x82, box.KeySpaceID, 0xcd, byte(sid >> 8), byte(sid), box.KeyTuple, 0x91}
			body = format.AppendUint(body, h.LSN)
		}
		if err := w.Write(h, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Path()
}

func readHeaders(t *testing.T, path string) []format.Header {
	t.Helper()
	_, rows, err := format.ReadAll(path, format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []format.Header
	for _, r := range rows {
		out = append(out, r.Header)
	}
	return out
}

func TestCopyRederive(t *testing.T) {
	const ts = 1.7e9
	// The headers as read back: the COMMIT flag is among the flags.
	g := func(lsn, tsn uint64, commit bool, flags uint64) format.Header {
		if commit && tsn != lsn {
			flags |= box.FlagCommit
		}
		return format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn, Timestamp: ts, TSN: tsn,
			HasTSN: tsn != lsn || !commit, Commit: commit, Flags: flags}
	}
	local := func(lsn, tsn uint64, commit bool) format.Header {
		h := g(lsn, tsn, commit, 0)
		h.ReplicaID, h.GroupID = 0, box.GroupLocal
		return h
	}
	late := func(h format.Header) format.Header { h.Timestamp = ts + 1; return h }
	sync := uint64(box.FlagWaitSync | box.FlagWaitAck)
	in := writeLog(t, t.TempDir(), []format.Header{
		g(1, 1, false, 0), g(2, 1, false, 0), g(3, 1, true, sync), // synchronous
		local(1, 4, false), late(g(4, 4, false, 0)), g(5, 4, true, 0), // starts with a local row
		g(6, 6, false, 0), g(7, 6, false, 0), // the file ends inside it
	})
	for _, tc := range []struct {
		name                    string
		filter                  func(f *format.Filter)
		want                    []format.Header
		txs, rederived, pending int64
	}{
		{
			// The synchronous transaction loses its last row: COMMIT and
			// the WAIT flags move to LSN 2; the second keeps its local row
			// only, a transaction of its own.
			name:   "to 3",
			filter: func(f *format.Filter) { f.To = 3 },
			want:   []format.Header{g(1, 1, false, 0), g(2, 1, true, sync), local(1, 1, true)},
			txs:    2, rederived: 2,
		},
		{
			// The first transaction starts at LSN 2 now; the incomplete one
			// is copied as it was.
			name:   "from 2",
			filter: func(f *format.Filter) { f.From = 2 },
			want:   []format.Header{g(2, 2, false, 0), g(3, 2, true, sync), late(g(4, 4, false, 0)), g(5, 4, true, 0), g(6, 6, false, 0), g(7, 6, false, 0)},
			txs:    3, rederived: 2, pending: 1,
		},
		{
			// Without LSN 4 the second transaction's TSN is LSN 5, the first
			// global row kept, also for the local row before it.
			name:   "before ts+0.5",
			filter: func(f *format.Filter) { f.Before = ts + 0.5; f.To = 6 },
			want:   []format.Header{g(1, 1, false, 0), g(2, 1, false, 0), g(3, 1, true, sync), local(1, 5, false), g(5, 5, true, 0)},
			txs:    2, rederived: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flt := format.NewFilter()
			tc.filter(&flt)
			res, err := format.CopyFile(in, t.TempDir(), format.CopyOptions{Filter: &flt, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.RowsRead != 8 || res.RowsKept != int64(len(tc.want)) || res.Transactions != tc.txs ||
				res.Rederived != tc.rederived || res.Incomplete != tc.pending {
				t.Errorf("%+v", res)
			}
			if filepath.Base(res.Output) != "00000000000000000000.xlog" {
				t.Errorf("output %s", res.Output)
			}
			got := readHeaders(t, res.Output)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v", got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("row %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
