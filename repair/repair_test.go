package repair

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

const testUUID = "11111111-2222-4333-8444-555555555555"

// A synthetic data directory of one instance (replica id 1), written with
// our writer, every transaction in a block of its own:
//
//	00000000000000000000.snap  {}
//	00000000000000000000.xlog  {}           rows 1..10, transaction 5-7 (no. 6 in the file)
//	00000000000000000010.xlog  {1: 10}      rows 11..20, transaction 15-17
//	00000000000000000020.snap  {1: 20}
//	00000000000000000020.xlog  {1: 20}      rows 21..30, transaction 25-27
//	00000000000000000030.xlog  {1: 30}      empty, as Tarantool leaves at shutdown
const (
	fA    = "00000000000000000000.xlog"
	fB    = "00000000000000000010.xlog"
	fC    = "00000000000000000020.xlog"
	fD    = "00000000000000000030.xlog"
	snap0 = "00000000000000000000.snap"
	snap1 = "00000000000000000020.snap"
)

type buildOpts struct {
	// splitTx writes the transaction of file C (25-27) row by row, one block
	// per row, as a writer other than Tarantool could.
	splitTx bool
	// bigRow makes row 28 large enough for a zstd block.
	bigRow bool
}

func vc(lsn uint64) format.VClock {
	var v format.VClock
	v.Set(1, lsn)
	return v
}

// dmlBody encodes {space_id: 512, tuple: [key, val]}.
func dmlBody(key uint64, val string) []byte {
	b := []byte{0x82, 0x10, 0xcd, 0x02, 0x00, 0x21, 0x92}
	b = format.AppendUint(b, key)
	switch n := len(val); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 256:
		b = append(b, 0xd9, byte(n))
	default:
		b = append(b, 0xda, byte(n>>8), byte(n))
	}
	return append(b, val...)
}

func writeWALFile(t *testing.T, dir string, start uint64, prev *format.VClock, last uint64, o buildOpts) {
	t.Helper()
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, Tarantool: "2.6.0-0-g47aa4e01e",
		Instance: testUUID, VClock: vc(start), HasVClock: true}
	if prev != nil {
		m.PrevVClock, m.HasPrevVClock = *prev, true
	}
	w, err := format.Create(dir, m, format.WriterOptions{BlockSize: 1, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	txStart := start + 5
	for lsn := start + 1; lsn <= last; lsn++ {
		h := format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true, Timestamp: 1.5e9 + float64(lsn)}
		val := fmt.Sprintf("v%d", lsn)
		if o.bigRow && lsn == 28 {
			val = strings.Repeat("z", 3000)
		}
		inTx := lsn >= txStart && lsn < txStart+3
		if inTx {
			h.TSN, h.HasTSN, h.Commit = txStart, true, lsn == txStart+2
			if lsn == txStart && !(o.splitTx && start == 20) {
				w.Begin()
			}
		}
		if err := w.Write(&h, dmlBody(lsn, val)); err != nil {
			t.Fatal(err)
		}
		if inTx && h.Commit && !(o.splitTx && start == 20) {
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeSnapFile(t *testing.T, dir string, lsn uint64) {
	t.Helper()
	m := &format.Meta{FileType: format.TypeSNAP, Version: format.Version13, Tarantool: "2.6.0-0-g47aa4e01e",
		Instance: testUUID, VClock: vc(lsn), HasVClock: true}
	if lsn == 0 {
		m.VClock = format.VClock{}
	}
	w, err := format.Create(dir, m, format.WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(0); i < 5; i++ {
		if err := w.Write(&format.Header{Type: box.TypeInsert, LSN: i, TSN: i, Commit: true}, dmlBody(i, "snap")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func buildDir(t *testing.T, o buildOpts) string {
	t.Helper()
	dir := t.TempDir()
	writeSnapFile(t, dir, 0)
	writeSnapFile(t, dir, 20)
	empty := format.VClock{}
	v10, v20 := vc(10), vc(20)
	writeWALFile(t, dir, 0, nil, 10, o)
	writeWALFile(t, dir, 10, &empty, 20, o)
	writeWALFile(t, dir, 20, &v10, 30, o)
	writeWALFile(t, dir, 30, &v20, 30, o)
	return dir
}

// blockInfo is a block of a file and the LSNs of its rows.
type blockInfo struct {
	off  int64
	lsns []uint64
}

func blocksOf(t *testing.T, path string) []blockInfo {
	t.Helper()
	r, err := format.Open(path, format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var bs []blockInfo
	for {
		row, err := r.Next()
		if err != nil {
			break
		}
		if len(bs) == 0 || bs[len(bs)-1].off != row.Pos.Block {
			bs = append(bs, blockInfo{off: row.Pos.Block})
		}
		bs[len(bs)-1].lsns = append(bs[len(bs)-1].lsns, row.LSN)
	}
	return bs
}

func edit(t *testing.T, path string, fn func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// dirHash fingerprints every file of a directory tree.
func dirHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		st, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v %d\n", rel, st.Mode(), st.Size())
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// repairDir runs a repair into a new directory and checks what every
// repair must satisfy: the input unchanged, a consistent result, and every
// LSN of the input (1..30) either in the output WAL files, or reported lost
// or covered, exactly once.
func repairDir(t *testing.T, in string) (*Report, string) {
	t.Helper()
	return repairDirFrom(t, in, 1)
}

// repairDirFrom is repairDir for an input whose log starts at LSN first.
func repairDirFrom(t *testing.T, in string, first uint64) (*Report, string) {
	t.Helper()
	before := dirHash(t, in)
	out := filepath.Join(t.TempDir(), "out")
	rep, err := Run(Options{WALDir: in, OutDir: out, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if after := dirHash(t, in); after != before {
		t.Errorf("the input directory changed")
	}
	if !rep.Consistent {
		t.Fatalf("not consistent: %s", rep.Error)
	}
	seen := map[uint64]string{}
	for _, lsn := range outLSNs(t, out) {
		if seen[lsn] != "" {
			t.Errorf("LSN %d twice in the output", lsn)
		}
		seen[lsn] = "output"
	}
	for _, list := range [][]Lost{rep.Lost, rep.Covered} {
		for _, l := range list {
			for lsn := l.LSNFrom; lsn <= l.LSNTo; lsn++ {
				if seen[lsn] != "" {
					t.Errorf("LSN %d reported lost but also %s", lsn, seen[lsn])
				}
				seen[lsn] = "lost"
			}
		}
	}
	for lsn := first; lsn <= 30; lsn++ {
		if seen[lsn] == "" && !openEnded(rep) {
			t.Errorf("LSN %d is neither in the output nor reported lost", lsn)
		}
	}
	return rep, out
}

func openEnded(rep *Report) bool {
	for _, l := range rep.Lost {
		if l.OpenEnded {
			return true
		}
	}
	return false
}

func outLSNs(t *testing.T, dir string) []uint64 {
	t.Helper()
	refs, err := format.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lsns []uint64
	for _, ref := range refs {
		if ref.Ext != ".xlog" {
			continue
		}
		_, rows, err := format.ReadAll(ref.Path, format.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			lsns = append(lsns, r.LSN)
		}
	}
	return lsns
}

func lostLSNs(ls []Lost) []uint64 {
	var out []uint64
	for _, l := range ls {
		for lsn := l.LSNFrom; lsn <= l.LSNTo; lsn++ {
			out = append(out, lsn)
		}
	}
	return out
}

func hasAction(rep *Report, file, action string) *Action {
	for i, a := range rep.Repaired {
		if a.File == file && a.Action == action {
			return &rep.Repaired[i]
		}
	}
	return nil
}

func wantAction(t *testing.T, rep *Report, file, action string) *Action {
	t.Helper()
	a := hasAction(rep, file, action)
	if a == nil {
		t.Errorf("no %s action for %s in %+v", action, file, rep.Repaired)
	}
	return a
}

func wantLost(t *testing.T, rep *Report, want ...uint64) {
	t.Helper()
	got := lostLSNs(rep.Lost)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lost LSNs %v, want %v (%+v)", got, want, rep.Lost)
	}
}

func outNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestCleanInputIsCopied(t *testing.T) {
	in := buildDir(t, buildOpts{bigRow: true})
	rep, out := repairDir(t, in)
	wantLost(t, rep)
	if len(rep.Repaired) != 0 {
		t.Errorf("repairs on a clean input: %+v", rep.Repaired)
	}
	for _, name := range []string{fA, fB, fC, fD, snap0, snap1} {
		a, _ := os.ReadFile(filepath.Join(in, name))
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s not copied byte for byte (%v)", name, err)
		}
	}
	if rep.Snapshot != snap1 || !rep.VClock.Equal(vc(30)) {
		t.Errorf("snapshot %s vclock %s", rep.Snapshot, rep.VClock)
	}
}

func TestTornTail(t *testing.T) {
	in := buildDir(t, buildOpts{})
	os.Remove(filepath.Join(in, fD))
	path := filepath.Join(in, fC)
	bs := blocksOf(t, path)
	last := bs[len(bs)-1] // row 30
	edit(t, path, func(b []byte) []byte { return b[:last.off+format.FixHeaderSize+5] })
	rep, out := repairDir(t, in)
	if len(rep.Lost) != 1 || rep.Lost[0].LSNFrom != 30 || !rep.Lost[0].OpenEnded {
		t.Errorf("lost %+v, want 30 and possibly more", rep.Lost)
	}
	wantAction(t, rep, fC, "cut-torn-tail")
	wantAction(t, rep, fC, "write-eof-marker")
	// Row 30 does not decode from 5 bytes, but a block was there: at least
	// the next LSN of the writer is lost, and an empty WAL keeps the
	// instance from using it again.
	wantAction(t, rep, fD, "create-tail-wal")
	if !rep.VClock.Equal(vc(30)) {
		t.Errorf("vclock %s", rep.VClock)
	}
	if names := outNames(t, out); strings.Join(names, " ") != strings.Join([]string{snap0, fA, fB, snap1, fC, fD}, " ") {
		t.Errorf("output files %v", names)
	}
}

func TestTornTailDecodedRowsAdvanceVClock(t *testing.T) {
	in := buildDir(t, buildOpts{})
	os.Remove(filepath.Join(in, fD))
	path := filepath.Join(in, fC)
	bs := blocksOf(t, path)
	tx := bs[4] // rows 25-27 in one block
	if fmt.Sprint(tx.lsns) != "[25 26 27]" {
		t.Fatalf("block layout %v", bs)
	}
	// Keep the first two rows of the transaction's block and two bytes of
	// the third.
	cut := tx.off + format.FixHeaderSize + int64(len(rowBytes(t, path, 25))+len(rowBytes(t, path, 26))) + 2
	edit(t, path, func(b []byte) []byte { return b[:cut] })
	rep, out := repairDir(t, in)
	if len(rep.Lost) != 1 || rep.Lost[0].LSNFrom != 25 || rep.Lost[0].LSNTo != 26 || !rep.Lost[0].OpenEnded {
		t.Fatalf("lost %+v, want 25..26 open-ended", rep.Lost)
	}
	// Rows 27..30 went with the cut: the range is open-ended.
	wantAction(t, rep, "00000000000000000026.xlog", "create-tail-wal")
	if !rep.VClock.Equal(vc(26)) {
		t.Errorf("vclock %s, want {1: 26}", rep.VClock)
	}
	side := filepath.Join(out, rep.Lost[0].SavedTo)
	m, rows, err := format.ReadAll(side, format.Options{})
	if err != nil || len(rows) != 2 || rows[0].LSN != 25 || rows[1].LSN != 26 {
		t.Errorf("side file %s: %v %v", side, rows, err)
	}
	if v, _ := m.Get("Verified"); !strings.HasPrefix(v, "no") {
		t.Errorf("side file Verified: %q", v)
	}
}

// rowBytes returns the encoded bytes of a row (header and body).
func rowBytes(t *testing.T, path string, lsn uint64) []byte {
	t.Helper()
	_, rows, err := format.ReadAll(path, format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.LSN == lsn {
			return append(append([]byte(nil), r.RawHeader...), r.Body...)
		}
	}
	t.Fatalf("no row %d", lsn)
	return nil
}

func TestMissingEOF(t *testing.T) {
	in := buildDir(t, buildOpts{})
	edit(t, filepath.Join(in, fB), func(b []byte) []byte { return b[:len(b)-4] })
	rep, out := repairDir(t, in)
	wantLost(t, rep)
	wantAction(t, rep, fB, "write-eof-marker")
	a, _ := os.ReadFile(filepath.Join(in, fB))
	b, _ := os.ReadFile(filepath.Join(out, fB))
	if !bytes.Equal(append(a, format.MagicEOF[:]...), b) {
		t.Errorf("output is not the input plus the EOF marker")
	}
}

func TestAfterEOF(t *testing.T) {
	in := buildDir(t, buildOpts{})
	edit(t, filepath.Join(in, fB), func(b []byte) []byte { return append(b, []byte("trailing junk after the marker")...) })
	rep, out := repairDir(t, in)
	wantLost(t, rep)
	if a := wantAction(t, rep, fB, "drop-after-eof"); a != nil && a.Bytes != 30 {
		t.Errorf("dropped %d bytes", a.Bytes)
	}
	a, _ := os.ReadFile(filepath.Join(in, fB))
	b, _ := os.ReadFile(filepath.Join(out, fB))
	if !bytes.Equal(a[:len(a)-30], b) {
		t.Errorf("output is not the input without the trailing bytes")
	}
}

func TestChecksumBlockDropped(t *testing.T) {
	in := buildDir(t, buildOpts{})
	path := filepath.Join(in, fC)
	bs := blocksOf(t, path)
	tx := bs[4] // 25-27
	if fmt.Sprint(tx.lsns) != "[25 26 27]" {
		t.Fatalf("block layout %v", bs)
	}
	edit(t, path, func(b []byte) []byte { b[tx.off+format.FixHeaderSize+10] ^= 0x55; return b })
	rep, out := repairDir(t, in)
	wantLost(t, rep, 25, 26, 27)
	if len(rep.Lost) != 1 || rep.Lost[0].File != fC || !strings.Contains(rep.Lost[0].Reason, "crc") {
		t.Errorf("lost %+v", rep.Lost)
	}
	if a := wantAction(t, rep, fC, "drop-damaged-block"); a != nil && (a.Offset == nil || *a.Offset != tx.off) {
		t.Errorf("action %+v", a)
	}
	// Rows around the block are kept, names and chain unchanged.
	if names := outNames(t, out); len(names) != 7 || names[6] != "lost" {
		t.Errorf("output %v", names)
	}
}

func TestDecompressFailure(t *testing.T) {
	in := buildDir(t, buildOpts{bigRow: true})
	path := filepath.Join(in, fC)
	var zoff int64 = -1
	for _, b := range blocksOf(t, path) {
		if len(b.lsns) == 1 && b.lsns[0] == 28 {
			zoff = b.off
		}
	}
	edit(t, path, func(b []byte) []byte {
		if [4]byte(b[zoff:zoff+4]) != format.MagicZstd {
			t.Fatalf("row 28 is not in a zstd block")
		}
		fx, _, err := decodeFix(b[zoff : zoff+format.FixHeaderSize])
		if err != nil {
			t.Fatal(err)
		}
		start := zoff + format.FixHeaderSize
		payload := append([]byte(nil), b[start:start+fx.plen]...)
		for i := 8; i < len(payload); i++ {
			payload[i] = 0xee // broken frame, valid checksum
		}
		nb := append([]byte(nil), b[:zoff]...)
		nb = format.AppendFixHeader(nb, format.MagicZstd, payload)
		nb = append(nb, payload...)
		return append(nb, b[start+fx.plen:]...)
	})
	rep, _ := repairDir(t, in)
	wantLost(t, rep, 28)
	if a := wantAction(t, rep, fC, "drop-damaged-block"); a != nil && !strings.Contains(a.Detail, "decompress") {
		t.Errorf("action %+v", a)
	}
}

func TestGarbageBetweenBlocks(t *testing.T) {
	in := buildDir(t, buildOpts{})
	path := filepath.Join(in, fB)
	bs := blocksOf(t, path)
	at := bs[3].off
	junk := bytes.Repeat([]byte{0x00, 0x42}, 40)
	edit(t, path, func(b []byte) []byte {
		return append(append(append([]byte(nil), b[:at]...), junk...), b[at:]...)
	})
	rep, _ := repairDir(t, in)
	wantLost(t, rep)
	if a := wantAction(t, rep, fB, "drop-garbage"); a != nil && (a.Bytes != int64(len(junk)) || *a.Offset != at) {
		t.Errorf("action %+v", a)
	}
}

func TestGarbageHeaderRebuilt(t *testing.T) {
	in := buildDir(t, buildOpts{})
	path := filepath.Join(in, fB)
	var size int
	edit(t, path, func(b []byte) []byte {
		m, err := format.ParseMeta(b)
		if err != nil {
			t.Fatal(err)
		}
		size = int(m.Size)
		for i := 0; i < size; i++ {
			b[i] = byte('a' + i%7)
		}
		return b
	})
	rep, out := repairDir(t, in)
	wantLost(t, rep)
	wantAction(t, rep, fB, "rebuild-header")
	m, _, err := format.ReadAll(filepath.Join(out, fB), format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.VClock.Equal(vc(10)) || !m.HasPrevVClock || !m.PrevVClock.Equal(format.VClock{}) || m.Instance != testUUID {
		t.Errorf("rebuilt header %+v", m)
	}
}

func TestMissingFileBridged(t *testing.T) {
	in := buildDir(t, buildOpts{})
	os.Remove(filepath.Join(in, fC))
	// The snapshot covers up to 20: without file C the log loses 21..30.
	rep, out := repairDir(t, in)
	wantLost(t, rep, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30)
	if rep.Lost[0].File != fC || !strings.Contains(rep.Lost[0].Reason, "missing") {
		t.Errorf("lost %+v", rep.Lost)
	}
	wantAction(t, rep, fD, "set-prev-vclock")
	m, _, err := format.ReadAll(filepath.Join(out, fD), format.Options{})
	if err != nil || !m.PrevVClock.Equal(vc(10)) {
		t.Errorf("PrevVClock of %s: %v %v", fD, m.PrevVClock, err)
	}
}

func TestMissingFileBeforeSnapshotIsCovered(t *testing.T) {
	in := buildDir(t, buildOpts{})
	os.Remove(filepath.Join(in, fB))
	rep, _ := repairDir(t, in)
	wantLost(t, rep)
	if got := lostLSNs(rep.Covered); len(got) != 10 || got[0] != 11 || rep.Covered[0].Snapshot != snap1 {
		t.Errorf("covered %+v", rep.Covered)
	}
}

func TestBridgeFromSnapshot(t *testing.T) {
	in := buildDir(t, buildOpts{})
	for _, f := range []string{fA, fB, fC} {
		os.Remove(filepath.Join(in, f))
	}
	// Nothing tells which WAL files came before the snapshot (Tarantool
	// deletes old ones itself): only what the snapshot lacks is lost.
	rep, out := repairDirFrom(t, in, 21)
	wantLost(t, rep, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30)
	wantAction(t, rep, fC, "create-bridge-wal")
	if names := outNames(t, out); strings.Join(names, " ") != strings.Join([]string{snap0, snap1, fC, fD}, " ") {
		t.Errorf("output %v", names)
	}
}

func TestHeadOfTransactionLost(t *testing.T) {
	in := buildDir(t, buildOpts{splitTx: true})
	path := filepath.Join(in, fC)
	bs := blocksOf(t, path)
	if fmt.Sprint(bs[4].lsns, bs[5].lsns, bs[6].lsns) != "[25] [26] [27]" {
		t.Fatalf("block layout %v", bs)
	}
	edit(t, path, func(b []byte) []byte { b[bs[4].off+format.FixHeaderSize+3] ^= 0xff; return b })
	rep, out := repairDir(t, in)
	wantLost(t, rep, 25, 26, 27)
	var saved string
	for _, l := range rep.Lost {
		if l.LSNFrom == 26 && l.LSNTo == 27 && l.Reason == reasonHeadLost {
			saved = l.SavedTo
		}
	}
	if saved == "" {
		t.Fatalf("rows 26-27 not reported as a transaction without its head: %+v", rep.Lost)
	}
	wantAction(t, rep, fC, "drop-incomplete-transaction")
	_, rows, err := format.ReadAll(filepath.Join(out, saved), format.Options{})
	if err != nil || len(rows) != 2 || rows[0].LSN != 26 || rows[1].LSN != 27 || !rows[1].Commit {
		t.Errorf("side file rows %v %v", rows, err)
	}
}

func TestTailOfTransactionLost(t *testing.T) {
	in := buildDir(t, buildOpts{splitTx: true})
	path := filepath.Join(in, fC)
	bs := blocksOf(t, path)
	edit(t, path, func(b []byte) []byte { b[bs[6].off+format.FixHeaderSize+3] ^= 0xff; return b })
	rep, _ := repairDir(t, in)
	wantLost(t, rep, 25, 26, 27)
	found := false
	for _, l := range rep.Lost {
		if l.LSNFrom == 25 && l.LSNTo == 26 && l.Reason == reasonBroken && l.SavedTo != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("rows 25-26 not reported as a cut transaction: %+v", rep.Lost)
	}
}

func TestHeaderVClockAdjustedAndRenamed(t *testing.T) {
	in := buildDir(t, buildOpts{})
	// File C says it starts at {1: 15} (and is named so), before the end of
	// file B: relays would start in it and miss B's rows 16..20.
	old := filepath.Join(in, fC)
	renamed := filepath.Join(in, "00000000000000000015.xlog")
	edit(t, old, func(b []byte) []byte {
		return bytes.Replace(b, []byte("VClock: {1: 20}\nPrev"), []byte("VClock: {1: 15}\nPrev"), 1)
	})
	if err := os.Rename(old, renamed); err != nil {
		t.Fatal(err)
	}
	rep, out := repairDir(t, in)
	wantLost(t, rep)
	wantAction(t, rep, "00000000000000000015.xlog", "adjust-vclock")
	if a := wantAction(t, rep, "00000000000000000015.xlog", "rename"); a != nil && a.Output != fC {
		t.Errorf("renamed to %s", a.Output)
	}
	m, _, err := format.ReadAll(filepath.Join(out, fC), format.Options{})
	if err != nil || !m.VClock.Equal(vc(20)) {
		t.Errorf("%s: %v %v", fC, m, err)
	}
}

func TestSnapshotWithoutEOFFallsBack(t *testing.T) {
	in := buildDir(t, buildOpts{})
	edit(t, filepath.Join(in, snap1), func(b []byte) []byte { return b[:len(b)-4] })
	rep, out := repairDir(t, in)
	wantLost(t, rep)
	wantAction(t, rep, snap1, "drop-snapshot")
	wantAction(t, rep, snap0, "use-older-snapshot")
	if rep.Snapshot != snap0 {
		t.Errorf("snapshot %s", rep.Snapshot)
	}
	if _, err := os.Stat(filepath.Join(out, snap1)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("damaged snapshot copied: %v", err)
	}
}

func TestSnapshotHeaderRebuilt(t *testing.T) {
	in := buildDir(t, buildOpts{})
	edit(t, filepath.Join(in, snap1), func(b []byte) []byte {
		copy(b, "SNAP\n0.13\nVersion: garbage garbage\nInstance: broken")
		return b
	})
	rep, out := repairDir(t, in)
	wantAction(t, rep, snap1, "rebuild-header")
	m, rows, err := format.ReadAll(filepath.Join(out, snap1), format.Options{})
	if err != nil || len(rows) != 5 || !m.VClock.Equal(vc(20)) || m.Instance != testUUID {
		t.Errorf("rebuilt snapshot: %+v %d rows %v", m, len(rows), err)
	}
	if rep.Snapshot != snap1 {
		t.Errorf("snapshot %s", rep.Snapshot)
	}
}

func TestNothingToRepair(t *testing.T) {
	in := buildDir(t, buildOpts{})
	for _, s := range []string{snap0, snap1} {
		edit(t, filepath.Join(in, s), func(b []byte) []byte { return b[:len(b)-10] })
	}
	out := filepath.Join(t.TempDir(), "out")
	rep, err := Run(Options{WALDir: in, OutDir: out, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Consistent || !strings.Contains(rep.Error, "snapshot") {
		t.Errorf("consistent %v error %q", rep.Consistent, rep.Error)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output written: %v", err)
	}
}

func TestOutputDirRules(t *testing.T) {
	in := buildDir(t, buildOpts{})
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	for name, out := range map[string]string{
		"not empty":   full,
		"inside":      filepath.Join(in, "repaired"),
		"same as in":  in,
		"no such in":  "",
		"input file ": filepath.Join(t.TempDir(), "o"),
	} {
		opts := Options{WALDir: in, OutDir: out}
		switch name {
		case "no such in":
			opts = Options{WALDir: filepath.Join(in, "nope"), OutDir: filepath.Join(t.TempDir(), "o")}
		case "input file ":
			opts.WALDir = filepath.Join(in, fA)
		}
		_, err := Run(opts)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%s: error %v, want a usage error", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(in, "repaired")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a directory was created inside the input")
	}
	// An existing empty directory is fine.
	rep, err := Run(Options{WALDir: in, OutDir: t.TempDir(), NoSync: true})
	if err != nil || !rep.Consistent {
		t.Errorf("empty output directory: %v %+v", err, rep)
	}
}

func TestSeparateSnapshotDir(t *testing.T) {
	in := buildDir(t, buildOpts{})
	snaps := t.TempDir()
	for _, s := range []string{snap0, snap1} {
		if err := os.Rename(filepath.Join(in, s), filepath.Join(snaps, s)); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	out, outSnap := filepath.Join(root, "wal"), filepath.Join(root, "memtx")
	rep, err := Run(Options{WALDir: in, SnapDir: snaps, OutDir: out, OutSnapDir: outSnap, NoSync: true})
	if err != nil || !rep.Consistent {
		t.Fatalf("%v %+v", err, rep)
	}
	if got := strings.Join(outNames(t, outSnap), " "); got != snap0+" "+snap1 {
		t.Errorf("snapshot dir: %s", got)
	}
	if got := len(outNames(t, out)); got != 4 {
		t.Errorf("wal dir has %d files", got)
	}
}

func TestReportJSONShape(t *testing.T) {
	in := buildDir(t, buildOpts{splitTx: true})
	path := filepath.Join(in, fC)
	bs := blocksOf(t, path)
	edit(t, path, func(b []byte) []byte { b[bs[4].off+format.FixHeaderSize+3] ^= 0xff; return b })
	os.Remove(filepath.Join(in, fB))
	rep, _ := repairDir(t, in)
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"lost", "covered", "repaired", "files", "warnings"} {
		if _, ok := doc[key].([]any); !ok {
			t.Errorf("%s is not an array: %v", key, doc[key])
		}
	}
	if doc["consistent"] != true {
		t.Errorf("consistent: %v", doc["consistent"])
	}
	lost := doc["lost"].([]any)
	if len(lost) == 0 {
		t.Fatal("nothing lost")
	}
	for _, l := range lost {
		e := l.(map[string]any)
		for _, key := range []string{"replica_id", "lsn_from", "lsn_to"} {
			if _, ok := e[key].(float64); !ok {
				t.Errorf("lost entry %v: %s not a number", e, key)
			}
		}
		for _, key := range []string{"file", "reason"} {
			if s, ok := e[key].(string); !ok || s == "" {
				t.Errorf("lost entry %v: %s not a string", e, key)
			}
		}
	}
	for _, a := range doc["repaired"].([]any) {
		e := a.(map[string]any)
		if e["file"] == "" || e["action"] == "" {
			t.Errorf("repaired entry %v", e)
		}
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"result: consistent", "lost:   3 LSNs", "drop-damaged-block", "set-prev-vclock",
		"drop-incomplete-transaction", "log history lost"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
}

func TestSnapshotAfterEOFCut(t *testing.T) {
	in := buildDir(t, buildOpts{})
	edit(t, filepath.Join(in, snap1), func(b []byte) []byte { return append(b, 1, 2, 3, 4, 5, 6, 7) })
	rep, out := repairDir(t, in)
	if a := wantAction(t, rep, snap1, "drop-after-eof"); a != nil && a.Bytes != 7 {
		t.Errorf("action %+v", a)
	}
	a, _ := os.ReadFile(filepath.Join(in, snap1))
	b, _ := os.ReadFile(filepath.Join(out, snap1))
	if !bytes.Equal(a[:len(a)-7], b) || rep.Snapshot != snap1 {
		t.Errorf("snapshot not cut after its EOF marker (snapshot %s)", rep.Snapshot)
	}
}

func TestGarbageTailWarns(t *testing.T) {
	in := buildDir(t, buildOpts{})
	os.Remove(filepath.Join(in, fD))
	edit(t, filepath.Join(in, fC), func(b []byte) []byte {
		return append(b[:len(b)-4], make([]byte, 64)...) // zeros where the EOF marker was
	})
	rep, _ := repairDir(t, in)
	wantLost(t, rep)
	wantAction(t, rep, fC, "drop-garbage")
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "the log ends in damage") {
		t.Errorf("warnings %q", rep.Warnings)
	}
}

// A transaction that starts with a replica-local row (component 0, TSN
// from the first global row) is whole and kept.
func TestLocalRowsInTransaction(t *testing.T) {
	dir := t.TempDir()
	writeSnapFile(t, dir, 20)
	m := &format.Meta{FileType: format.TypeXLOG, Instance: testUUID, VClock: vc(20), HasVClock: true}
	w, err := format.Create(dir, m, format.WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rows := []format.Header{
		{Type: box.TypeReplace, GroupID: box.GroupLocal, LSN: 1, TSN: 21, HasTSN: true},
		{Type: box.TypeReplace, ReplicaID: 1, LSN: 21, TSN: 21, HasTSN: true},
		{Type: box.TypeReplace, GroupID: box.GroupLocal, LSN: 2, TSN: 21, HasTSN: true},
		{Type: box.TypeNop, ReplicaID: 1, LSN: 22, TSN: 21, HasTSN: true, Commit: true},
		{Type: box.TypeReplace, ReplicaID: 1, LSN: 23, TSN: 23, Commit: true},
	}
	w.Begin()
	for i := range rows {
		var body []byte
		if rows[i].Type != box.TypeNop {
			body = dmlBody(uint64(i), "x")
		}
		if err := w.Write(&rows[i], body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(Options{WALDir: dir, OutDir: filepath.Join(t.TempDir(), "o"), NoSync: true})
	if err != nil || !rep.Consistent {
		t.Fatalf("%v %+v", err, rep)
	}
	var want format.VClock
	want.Set(0, 2)
	want.Set(1, 23)
	if len(rep.Lost) != 0 || len(rep.Repaired) != 0 || !rep.VClock.Equal(want) {
		t.Errorf("lost %+v repaired %+v vclock %s", rep.Lost, rep.Repaired, rep.VClock)
	}
}

func TestUndecodableRowInIntactBlock(t *testing.T) {
	in := buildDir(t, buildOpts{})
	path := filepath.Join(in, fC)
	tx := blocksOf(t, path)[4] // 25-27
	row25 := rowBytes(t, path, 25)
	edit(t, path, func(b []byte) []byte {
		fx, _, err := decodeFix(b[tx.off:])
		if err != nil {
			t.Fatal(err)
		}
		start := tx.off + format.FixHeaderSize
		payload := append([]byte(nil), b[start:start+fx.plen]...)
		payload[len(row25)] = 0xc1 // row 26 no longer starts with a map; the checksum still matches
		nb := format.AppendFixHeader(append([]byte(nil), b[:tx.off]...), format.MagicPlain, payload)
		return append(append(nb, payload...), b[start+fx.plen:]...)
	})
	rep, out := repairDir(t, in)
	wantLost(t, rep, 25, 26, 27)
	wantAction(t, rep, fC, "drop-undecodable-rows")
	// Row 25 decoded from a block whose checksum matches: it is saved as
	// verified, but its transaction is incomplete, so it is not written.
	var saved string
	for _, l := range rep.Lost {
		if l.LSNFrom == 25 {
			saved = l.SavedTo
		}
	}
	m, rows, err := format.ReadAll(filepath.Join(out, saved), format.Options{})
	if err != nil || len(rows) != 1 || rows[0].LSN != 25 {
		t.Fatalf("side file %q: %v %v", saved, rows, err)
	}
	if v, _ := m.Get("Verified"); v != "yes" {
		t.Errorf("Verified: %q", v)
	}
}

func TestOutOfOrderRowDropped(t *testing.T) {
	dir := t.TempDir()
	writeSnapFile(t, dir, 20)
	m := &format.Meta{FileType: format.TypeXLOG, Instance: testUUID, VClock: vc(20), HasVClock: true}
	w, err := format.Create(dir, m, format.WriterOptions{BlockSize: 1, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, lsn := range []uint64{21, 22, 21, 23} {
		h := format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true}
		if err := w.Write(&h, dmlBody(lsn, "x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "o")
	rep, err := Run(Options{WALDir: dir, OutDir: out, NoSync: true})
	if err != nil || !rep.Consistent {
		t.Fatalf("%v %+v", err, rep)
	}
	if len(rep.Lost) != 0 {
		t.Errorf("lost %+v: LSN 21 is in the output", rep.Lost)
	}
	if a := wantAction(t, rep, fC, "drop-out-of-order-row"); a != nil && a.Detail != "row 1:21" {
		t.Errorf("action %+v", a)
	}
	if got := fmt.Sprint(outLSNs(t, out)); got != "[21 22 23]" {
		t.Errorf("output rows %s", got)
	}
	_, rows, err := format.ReadAll(filepath.Join(out, "lost/0001.xlog"), format.Options{})
	if err != nil || len(rows) != 1 || rows[0].LSN != 21 {
		t.Errorf("side file: %v %v", rows, err)
	}
}

func TestForeignFileLeftOut(t *testing.T) {
	in := buildDir(t, buildOpts{})
	edit(t, filepath.Join(in, fC), func(b []byte) []byte {
		return bytes.Replace(b, []byte(testUUID), []byte("99999999-2222-4333-8444-555555555555"), 1)
	})
	rep, out := repairDir(t, in)
	wantLost(t, rep, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30)
	wantAction(t, rep, fC, "drop-foreign-file")
	if _, err := os.Stat(filepath.Join(out, fC)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("foreign file copied: %v", err)
	}
}

func TestEmptyWALWithSameVClockDropped(t *testing.T) {
	in := buildDir(t, buildOpts{})
	// Every block of C is broken and D's header is garbage: C keeps no
	// rows, D cannot get the VClock its name says, both would start at
	// {1: 20}.
	path := filepath.Join(in, fC)
	bs := blocksOf(t, path)
	edit(t, path, func(b []byte) []byte {
		for _, blk := range bs {
			b[blk.off+format.FixHeaderSize+1] ^= 0xff
		}
		return b
	})
	edit(t, filepath.Join(in, fD), func(b []byte) []byte {
		m, _ := format.ParseMeta(b)
		for i := int64(0); i < m.Size-2; i++ {
			b[i] = 'x'
		}
		return b
	})
	rep, out := repairDir(t, in)
	wantAction(t, rep, fC, "drop-empty-wal")
	if a := wantAction(t, rep, fD, "rename"); a != nil && a.Output != fC {
		t.Errorf("rename %+v", a)
	}
	if len(rep.Lost) != 1 || rep.Lost[0].LSNFrom != 21 || !rep.Lost[0].OpenEnded {
		t.Errorf("lost %+v", rep.Lost)
	}
	m, rows, err := format.ReadAll(filepath.Join(out, fC), format.Options{})
	if err != nil || len(rows) != 0 || !m.PrevVClock.Equal(vc(10)) {
		t.Errorf("%s: %+v %d rows %v", fC, m, len(rows), err)
	}
}
