package format_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/xlogtool/xlogtool/bench"
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

// verbatimInput writes a WAL of four zstd blocks: two transactions and a
// single-row one; a transaction and a single-row one; the first half of a
// transaction; its second half. It returns the path and the offsets of the
// blocks and of the end of their data.
func verbatimInput(t *testing.T) (string, []int64) {
	t.Helper()
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, HasVClock: true,
		Instance: "8244848b-532e-4988-b27a-e4326c6ccb1c"}
	w, err := format.Create(t.TempDir(), m, format.WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	lsn := uint64(0)
	row := func(tsn uint64, commit bool) {
		lsn++
		h := format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn, Timestamp: 1.7e9, TSN: tsn, HasTSN: tsn != 0, Commit: commit}
		if tsn == 0 {
			h.TSN = lsn
		}
		// {space_id: 512, tuple: [lsn, 'x' * 500]}: blocks big enough for zstd.
		body := []byte{0x82, box.KeySpaceID, 0xcd, 2, 0, box.KeyTuple, 0x92}
		body = format.AppendUint(body, lsn)
		body = append(body, 0xda, 0x01, 0xf4)
		body = append(body, bytes.Repeat([]byte{'x'}, 500)...)
		if err := w.Write(&h, body); err != nil {
			t.Fatal(err)
		}
	}
	tx := func(n int, commit bool) {
		tsn := lsn + 1
		for i := 0; i < n; i++ {
			row(tsn, commit && i == n-1)
		}
	}
	flush := func() {
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	tx(5, true)
	tx(4, true)
	row(0, true)
	flush()
	tx(6, true)
	row(0, true)
	flush()
	tsn := lsn + 1
	for i := 0; i < 5; i++ {
		row(tsn, false)
	}
	flush()
	for i := 0; i < 5; i++ {
		row(tsn, i == 4)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := format.Open(w.Path(), format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var offs []int64
	for {
		row, err := r.Next()
		if err != nil {
			break
		}
		if row.Pos.Index == 0 {
			if !row.Pos.Compressed {
				t.Fatal("a plain block")
			}
			offs = append(offs, row.Pos.Block)
		}
	}
	return w.Path(), append(offs, r.GoodEnd()-4)
}

// Blocks whose rows are all kept and that hold whole transactions are
// copied as they are; the others row by row, as before.
func TestCopyVerbatim(t *testing.T) {
	in, offs := verbatimInput(t)
	if len(offs) != 5 {
		t.Fatalf("blocks at %v", offs)
	}
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	block := func(i int) []byte { return data[offs[i]:offs[i+1]] }
	for _, tc := range []struct {
		name     string
		filter   func(f *format.Filter)
		kept     int64
		txs      int64
		verbatim []int // blocks copied as they are
		rowByRow []int // blocks whose bytes are not in the output
	}{
		{"all", func(f *format.Filter) {}, 27, 6, []int{0, 1}, []int{2, 3}},
		// LSN 1 goes: the first transaction is re-derived, block 0 copied
		// row by row.
		{"from 2", func(f *format.Filter) { f.From = 2 }, 26, 6, []int{1}, []int{0, 2, 3}},
		{"to 17", func(f *format.Filter) { f.To = 18 }, 17, 5, []int{0, 1}, []int{2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flt := format.NewFilter()
			tc.filter(&flt)
			res, err := format.CopyFile(in, t.TempDir(), format.CopyOptions{Filter: &flt, NoSync: true})
			if err != nil || res.Err != nil {
				t.Fatal(err, res.Err)
			}
			if res.RowsRead != 27 || res.RowsKept != tc.kept || res.Transactions != tc.txs || res.Incomplete != 0 {
				t.Errorf("%+v", res)
			}
			out, err := os.ReadFile(res.Output)
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range tc.verbatim {
				if !bytes.Contains(out, block(i)) {
					t.Errorf("block %d not copied as it is", i)
				}
			}
			for _, i := range tc.rowByRow {
				if bytes.Contains(out, block(i)) {
					t.Errorf("block %d copied as it is", i)
				}
			}
			// The rows are the same as the filter selects them from the input.
			_, rows, err := format.ReadAll(in, format.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var want []format.Header
			for _, r := range rows {
				if flt.Match(r) {
					want = append(want, r.Header)
				}
			}
			got := readHeaders(t, res.Output)
			if tc.name != "from 2" && fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("rows\n%+v\nwant\n%+v", got, want)
			}
			if len(got) != len(want) {
				t.Errorf("%d rows, want %d", len(got), len(want))
			}
		})
	}
}

// Copying allocates nothing per row kept, verbatim or row by row.
func TestCopyAllocs(t *testing.T) {
	data := bench.Synthetic(20_000, 100)
	dir := t.TempDir()
	in := filepath.Join(dir, "00000000000000000000.xlog")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, to := range []uint64{0, 20_000 - 50} {
		flt := format.NewFilter()
		flt.To = to // the last block row by row
		out := t.TempDir()
		allocs := testing.AllocsPerRun(3, func() {
			res, err := format.CopyFile(in, out, format.CopyOptions{Filter: &flt, NoSync: true})
			if err != nil || res.Err != nil || res.RowsKept < 19_000 {
				t.Fatal(err, res)
			}
			os.Remove(res.Output)
		})
		// Per file: the reader's and writer's buffers, a record per zstd
		// block read ahead; nothing per row.
		if allocs > 20_000/20 {
			t.Errorf("to %d: %.0f allocations for 20000 rows", to, allocs)
		}
		t.Logf("to %d: %.0f allocations for 20000 rows", to, allocs)
	}
}

// With Force, the blocks around a damaged one are still copied as they
// are, and the damage is reported.
func TestCopyVerbatimAroundDamage(t *testing.T) {
	in, offs := verbatimInput(t)
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	data[offs[1]+30] ^= 0xff // a checksum mismatch in block 1
	bad := filepath.Join(t.TempDir(), filepath.Base(in))
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var issues []*format.Error
	res, err := format.CopyFile(bad, t.TempDir(), format.CopyOptions{Force: true, NoSync: true,
		OnIssue: func(e *format.Error) { issues = append(issues, e) }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Damaged || len(issues) != 1 || issues[0].Kind != format.KindChecksum || issues[0].Offset != offs[1] {
		t.Fatalf("%+v %v", res, issues)
	}
	if res.RowsRead != 20 || res.RowsKept != 20 {
		t.Errorf("%+v", res)
	}
	out, err := os.ReadFile(res.Output)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, data[offs[0]:offs[1]]) {
		t.Error("block 0 not copied as it is")
	}
	if bytes.Contains(out, data[offs[1]:offs[2]]) {
		t.Error("the damaged block copied")
	}
}

// Deciding on the goroutines that read ahead which blocks are copied as
// they are gives the files and results deciding row by row gives (as with
// one CPU, where nothing is read ahead): on a multi-block file holding
// blocks that are not whole among whole ones, with damage, with and
// without Force, for filters keeping all rows or some.
func TestCopyAheadSame(t *testing.T) {
	in, offs := verbatimInput(t)
	odd, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	data := bench.Synthetic(6000, 20)
	blocks := blockOffsets(t, data)
	// The blocks of verbatimInput (LSNs from 1) in the middle of the
	// synthetic ones (LSNs from 1 too: only the copy's rows matter).
	at := blocks[len(blocks)/2]
	mixed := append(append(bytes.Clone(data[:at]), odd[offs[0]:offs[len(offs)-1]]...), data[at:]...)
	badCRC := bytes.Clone(mixed)
	badCRC[blocks[len(blocks)/4]+format.FixHeaderSize+3] ^= 0x40
	dir := t.TempDir()
	var files []string
	for i, b := range [][]byte{mixed, badCRC, mixed[:blocks[len(blocks)-2]+7]} {
		d := filepath.Join(dir, fmt.Sprint(i))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, "00000000000000000000.xlog")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	copyWith := func(procs int, path string, flt *format.Filter, force bool) string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		var issues []string
		res, err := format.CopyFile(path, t.TempDir(), format.CopyOptions{Filter: flt, Force: force, NoSync: true,
			OnIssue: func(e *format.Error) { issues = append(issues, e.Error()) }})
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		if res.Output != "" {
			if out, err = os.ReadFile(res.Output); err != nil {
				t.Fatal(err)
			}
		}
		res.Output = ""
		return fmt.Sprintf("%+v %q %x", *res, issues, sha256.Sum256(out))
	}
	for _, path := range files {
		for _, force := range []bool{false, true} {
			for _, set := range []func(*format.Filter){
				func(*format.Filter) {},
				func(f *format.Filter) { f.From = 3000 },
				func(f *format.Filter) { f.ShowSystem = false },
			} {
				flt := format.NewFilter()
				set(&flt)
				one := copyWith(1, path, &flt, force)
				two := copyWith(2, path, &flt, force)
				if one != two {
					t.Errorf("%s force %v filter %+v:\n one CPU %s\ntwo CPUs %s", path, force, flt, one, two)
				}
			}
		}
	}
}

// CopyOptions.Verbatim copies every block as it is stored: on a file of
// whole transactions the file keeping every row gives, damage reported and
// skipped the same way; blocks holding part of a transaction as they are.
func TestCopyStored(t *testing.T) {
	data := bench.Synthetic(3000, 20)
	blocks := blockOffsets(t, data)
	badCRC := bytes.Clone(data)
	badCRC[blocks[len(blocks)/3]+format.FixHeaderSize+3] ^= 0x40
	garbage := append(append(bytes.Clone(data[:blocks[9]]), "garbage"...), data[blocks[9]:]...)
	dir := t.TempDir()
	copyOne := func(path string, verbatim, force bool) (*format.CopyResult, []byte, []string) {
		var issues []string
		res, err := format.CopyFile(path, t.TempDir(), format.CopyOptions{Verbatim: verbatim, Force: force, NoSync: true,
			OnIssue: func(e *format.Error) { issues = append(issues, e.Error()) }})
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.ReadFile(res.Output)
		if err != nil {
			t.Fatal(err)
		}
		return res, out, issues
	}
	for i, b := range [][]byte{data, badCRC, garbage, data[:blocks[len(blocks)-1]+5]} {
		d := filepath.Join(dir, fmt.Sprint(i))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(d, "00000000000000000000.xlog")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, force := range []bool{false, true} {
			rows, want, wantIssues := copyOne(path, false, force)
			res, got, issues := copyOne(path, true, force)
			if !bytes.Equal(got, want) || fmt.Sprint(issues) != fmt.Sprint(wantIssues) ||
				fmt.Sprint(res.Err) != fmt.Sprint(rows.Err) || res.End != rows.End || res.Damaged != rows.Damaged {
				t.Errorf("file %d force %v: verbatim %d bytes %v %v %v, rows %d bytes %v %v %v", i, force,
					len(got), issues, res.Err, res.End, len(want), wantIssues, rows.Err, rows.End)
			}
			if !res.RowsUncounted || res.RowsRead != 0 || res.VerbatimBlocks != rows.VerbatimBlocks ||
				res.VerbatimBytes != rows.VerbatimBytes || rows.VerbatimBlocks == 0 {
				t.Errorf("file %d force %v: verbatim %+v, rows %+v", i, force, res, rows)
			}
		}
	}
	// Blocks that are not whole are copied as they are too.
	in, offs := verbatimInput(t)
	res, got, _ := copyOne(in, true, false)
	src, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, src) || res.VerbatimBlocks != int64(len(offs)-1) {
		t.Errorf("%d bytes of %d, %+v", len(got), len(src), res)
	}
}

// blockOffsets lists the offsets of the blocks of a file.
func blockOffsets(t *testing.T, data []byte) []int64 {
	t.Helper()
	blocks, err := bench.BlockOffsets(data)
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}
