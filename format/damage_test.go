package format_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// sampleLog writes a WAL of n single-row transactions, blockRows rows a
// block, and returns its bytes and the offsets of its blocks.
func sampleLog(t testing.TB, n, blockRows int, compress bool) ([]byte, []int64) {
	t.Helper()
	var buf bytes.Buffer
	vc, _ := format.ParseVClock("{1: 0}")
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, Tarantool: "2.6.0-0-g47aa4e01e",
		Instance: "8244848b-532e-4988-b27a-e4326c6ccb1c", VClock: vc, HasVClock: true}
	w, err := format.NewWriter(&buf, m, format.WriterOptions{NoCompress: !compress, BlockSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for i := 1; i <= n; i++ {
		if (i-1)%blockRows == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			offs = append(offs, int64(buf.Len()))
		}
		h := format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: uint64(i), TSN: uint64(i), Commit: true, Timestamp: 1.7e9 + float64(i)}
		body := []byte{0x82, 0x10, 0xcd, 0x02, 0x00, 0x21, 0x92, byte(i & 0x7f), 0xa1, 'x'}
		if err := w.Write(&h, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), offs
}

type readResult struct {
	lsns   []uint64
	err    *format.Error
	issues []*format.Error
	end    format.End
}

func readBytes(t testing.TB, data []byte, force bool) readResult {
	t.Helper()
	var res readResult
	r, err := format.NewReader(bytes.NewReader(data), format.Options{Name: "test.xlog", Force: force})
	if err != nil {
		e, ok := format.AsError(err)
		if !ok {
			t.Fatalf("not a format error: %v", err)
		}
		res.err = e
		return res
	}
	defer r.Close()
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			e, ok := format.AsError(err)
			if !ok {
				t.Fatalf("not a format error: %v", err)
			}
			res.err = e
			break
		}
		res.lsns = append(res.lsns, row.LSN)
	}
	res.issues = r.Issues()
	res.end = r.End()
	return res
}

func lsnRange(from, to int) []uint64 {
	var out []uint64
	for i := from; i <= to; i++ {
		out = append(out, uint64(i))
	}
	return out
}

func TestCleanFile(t *testing.T) {
	for _, z := range []bool{false, true} {
		data, _ := sampleLog(t, 300, 100, z)
		res := readBytes(t, data, false)
		if res.err != nil || res.end != format.EndClean || len(res.issues) != 0 {
			t.Fatalf("zstd=%v: %+v", z, res)
		}
		if fmt.Sprint(res.lsns) != fmt.Sprint(lsnRange(1, 300)) {
			t.Fatalf("zstd=%v: lsns %v", z, res.lsns)
		}
	}
}

func TestTornTail(t *testing.T) {
	data, offs := sampleLog(t, 30, 10, false)
	noEOF := data[:len(data)-4]
	// Cut inside the last block, inside its fixed header, and at a block boundary.
	for _, tc := range []struct {
		name string
		cut  int
		want []uint64
		end  format.End
		kind format.Kind
	}{
		{"inside payload", int(offs[2]) + 25, lsnRange(1, 20), format.EndTorn, format.KindTornTail},
		{"inside fixheader", int(offs[2]) + 10, lsnRange(1, 20), format.EndTorn, format.KindTornTail},
		{"two bytes", int(offs[2]) + 2, lsnRange(1, 20), format.EndTorn, format.KindTornTail},
		{"block boundary", len(noEOF), lsnRange(1, 30), format.EndNoEOF, format.KindMissingEOF},
	} {
		res := readBytes(t, noEOF[:tc.cut], false)
		if res.err != nil {
			t.Fatalf("%s: torn tail must be a warning, got %v", tc.name, res.err)
		}
		if fmt.Sprint(res.lsns) != fmt.Sprint(tc.want) || res.end != tc.end {
			t.Fatalf("%s: lsns %v end %v", tc.name, res.lsns, res.end)
		}
		if len(res.issues) != 1 || res.issues[0].Kind != tc.kind || !res.issues[0].IsWarning() {
			t.Fatalf("%s: issues %v", tc.name, res.issues)
		}
		if tc.kind == format.KindTornTail && res.issues[0].Offset != offs[2] {
			t.Fatalf("%s: offset %d, want %d", tc.name, res.issues[0].Offset, offs[2])
		}
	}
}

func TestDamage(t *testing.T) {
	data, offs := sampleLog(t, 30, 10, false)
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), data...)) }
	cases := []struct {
		name      string
		data      []byte
		kind      format.Kind
		offset    int64
		before    []uint64 // rows delivered before the error
		forced    []uint64 // rows delivered with Force
		msgSubstr string
	}{
		{"flipped payload byte", mut(func(b []byte) []byte { b[offs[1]+30] ^= 0x40; return b }),
			format.KindChecksum, offs[1], lsnRange(1, 10), append(lsnRange(1, 10), lsnRange(21, 30)...), "checksum mismatch"},
		{"garbage instead of a block", mut(func(b []byte) []byte { copy(b[offs[1]:], bytes.Repeat([]byte{0}, 19)); return b }),
			format.KindBadMagic, offs[1], lsnRange(1, 10), append(lsnRange(1, 10), lsnRange(21, 30)...), "invalid block magic 0x00000000"},
		{"bad fixheader length", mut(func(b []byte) []byte { b[offs[1]+4] = 0xd0; return b }),
			format.KindBadFixHeader, offs[1], lsnRange(1, 10), append(lsnRange(1, 10), lsnRange(21, 30)...), "length"},
		{"bytes after EOF", append(append([]byte(nil), data...), 1, 2, 3),
			format.KindAfterEOF, int64(len(data)), lsnRange(1, 30), lsnRange(1, 30), "after the EOF marker"},
	}
	for _, tc := range cases {
		res := readBytes(t, tc.data, false)
		if res.err == nil || res.err.Kind != tc.kind || res.err.Offset != tc.offset || res.err.File != "test.xlog" {
			t.Fatalf("%s: error %+v, want kind %v at %d", tc.name, res.err, tc.kind, tc.offset)
		}
		if !strings.Contains(res.err.Error(), tc.msgSubstr) || !strings.Contains(res.err.Error(), fmt.Sprintf("test.xlog: offset %d:", tc.offset)) {
			t.Fatalf("%s: message %q", tc.name, res.err.Error())
		}
		if fmt.Sprint(res.lsns) != fmt.Sprint(tc.before) {
			t.Fatalf("%s: rows before damage %v", tc.name, res.lsns)
		}
		forced := readBytes(t, tc.data, true)
		if forced.err != nil {
			t.Fatalf("%s: force: %v", tc.name, forced.err)
		}
		if fmt.Sprint(forced.lsns) != fmt.Sprint(tc.forced) {
			t.Fatalf("%s: force rows %v", tc.name, forced.lsns)
		}
		if len(forced.issues) == 0 || forced.issues[0].Kind != tc.kind || forced.issues[0].Skipped <= 0 {
			t.Fatalf("%s: force issues %+v", tc.name, forced.issues)
		}
	}
}

// A row that does not decode stops reading at its block; the rows before it
// in the same block are delivered.
func TestBadRow(t *testing.T) {
	var buf bytes.Buffer
	m := &format.Meta{FileType: format.TypeXLOG, Instance: "8244848b-532e-4988-b27a-e4326c6ccb1c", HasVClock: true}
	w, _ := format.NewWriter(&buf, m, format.WriterOptions{NoCompress: true})
	h := format.Header{Type: box.TypeNop, ReplicaID: 1, LSN: 1, TSN: 1, Commit: true}
	w.Write(&h, nil)
	w.Flush()
	bad := bytes.Repeat([]byte{0xc1}, 3) // 0xc1 is never valid MessagePack
	w.Write(&format.Header{Type: box.TypeNop, ReplicaID: 1, LSN: 2, TSN: 2, Commit: true}, nil)
	w.Flush()
	w.Close()
	data := buf.Bytes()
	// Re-frame the second block with a broken row and a correct checksum.
	i := bytes.LastIndex(data, format.MagicPlain[:])
	var fixed bytes.Buffer
	fixed.Write(data[:i])
	payload := append([]byte{0x81, 0x00, 0x0c}, bad...)
	fixed.Write(frame(payload))
	fixed.Write(format.MagicEOF[:])
	res := readBytes(t, fixed.Bytes(), false)
	if res.err == nil || res.err.Kind != format.KindBadRow || res.err.Offset != int64(i) || fmt.Sprint(res.lsns) != "[1 0]" {
		t.Fatalf("%+v", res)
	}
}

func frame(payload []byte) []byte {
	return append(format.AppendFixHeader(nil, format.MagicPlain, payload), payload...)
}

// The CRC is Tarantool's variant, checked against a block of a file
// Tarantool 2.6.0 wrote (FORMAT.md §2.1).
func TestChecksumVariant(t *testing.T) {
	data := readFixture(t, "tarantool/test/xlog/reader/v13/00000000000000000000.ok.xlog")
	r, err := format.NewReader(bytes.NewReader(data), format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	b := r.Block()
	payload := data[b.Offset+19 : b.Offset+19+int64(b.Len)]
	if format.Checksum(payload) != b.CRC {
		t.Fatal("checksum differs from the stored one")
	}
	if format.Checksum([]byte("123456789")) == 0xe3069283 {
		t.Fatal("standard CRC-32C must not match Tarantool's variant")
	}
}

// A zstd frame whose header declares far more content than its bytes can
// hold is damage, found before anything is allocated for it.
func TestForgedZstdContentSize(t *testing.T) {
	// Frame magic, a descriptor with an 8-byte content size and the single
	// segment flag, 1 TiB of declared content, then one empty raw block.
	frameData := []byte{0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0, 0x01, 0x00, 0x00}
	payload := frameData
	h := format.AppendFixHeader(nil, format.MagicZstd, payload)
	data := append(append([]byte("XLOG\n0.13\n\n"), h...), payload...)
	data = append(data, format.MagicEOF[:]...)
	res := readBytes(t, data, false)
	if res.err == nil || res.err.Kind != format.KindDecompress || !strings.Contains(res.err.Msg, "declares") {
		t.Fatalf("%+v", res.err)
	}
}

func TestFixHeaderRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 65535, 65536, 1 << 20} {
		payload := bytes.Repeat([]byte{7}, n)
		h := format.AppendFixHeader(nil, format.MagicZstd, payload)
		if len(h) != format.FixHeaderSize {
			t.Fatalf("%d: header of %d bytes", n, len(h))
		}
		info, _, err := format.DecodeFixHeader(h)
		if err != nil || info.Len != n || !info.Compressed || info.CRC != format.Checksum(payload) {
			t.Fatalf("%d: %+v %v", n, info, err)
		}
	}
	if _, kind, _ := format.DecodeFixHeader(make([]byte, 10)); kind != format.KindTornTail {
		t.Fatal(kind)
	}
	if _, kind, _ := format.DecodeFixHeader(make([]byte, 19)); kind != format.KindBadMagic {
		t.Fatal(kind)
	}
}
