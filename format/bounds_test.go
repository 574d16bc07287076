package format_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testfix"
)

// unpadded rewrites the fixed header of the block at off so that its three
// numbers fill the 19 bytes with no padding: the length as a uint64, the
// previous checksum as a uint32 and the checksum as a positive fixint when
// it fits, else the other way round.
func unpadded(t *testing.T, data []byte, off int64) []byte {
	t.Helper()
	info, _, err := format.DecodeFixHeader(data[off:])
	if err != nil {
		t.Fatal(err)
	}
	h := append([]byte{}, data[off:off+4]...)
	h = append(h, 0xcf, 0, 0, 0, 0, byte(info.Len>>24), byte(info.Len>>16), byte(info.Len>>8), byte(info.Len))
	c := info.CRC
	h = append(h, 0xce, byte(c>>24), byte(c>>16), byte(c>>8), byte(c)) // the previous checksum, ignored
	if c > 0x7f {
		// 4 + 9 + 5 leaves one byte: give the previous checksum one byte and
		// the checksum five.
		h = append(h[:13], 0x00, 0xce, byte(c>>24), byte(c>>16), byte(c>>8), byte(c))
	} else {
		h = append(h, byte(c))
	}
	if len(h) != format.FixHeaderSize {
		t.Fatalf("header of %d bytes", len(h))
	}
	out := append([]byte{}, data...)
	copy(out[off:], h)
	return out
}

// A fixed header whose numbers fill its 19 bytes needs no padding: Tarantool
// reads it (its decoder checks padding only when room is left), so do we.
func TestFixHeaderWithoutPadding(t *testing.T) {
	for _, z := range []bool{false, true} {
		data, offs := sampleLog(t, 300, 100, z)
		for _, off := range offs {
			data = unpadded(t, data, off)
		}
		if info, _, err := format.DecodeFixHeader(data[offs[1]:]); err != nil || info.Compressed != z {
			t.Fatalf("zstd=%v: %+v %v", z, info, err)
		}
		res := readBytes(t, data, false)
		if res.err != nil || res.end != format.EndClean || fmt.Sprint(res.lsns) != fmt.Sprint(lsnRange(1, 300)) {
			t.Fatalf("zstd=%v: %+v", z, res)
		}
		if !z {
			continue
		}
		// Tarantool's reader agrees.
		if _, ok := tarantooltest.Binary(); !ok && os.Getenv(tarantooltest.EnvRequire) != "1" {
			continue
		}
		p := filepath.Join(t.TempDir(), "00000000000000000000.xlog")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		lines := tarantooltest.OracleRaw(t, p)
		if len(lines) != 300 {
			t.Fatalf("tarantool read %d rows: %v", len(lines), lines)
		}
		for i, l := range lines {
			var row struct{ HEADER struct{ LSN uint64 } }
			if err := json.Unmarshal([]byte(l), &row); err != nil || row.HEADER.LSN != uint64(i+1) {
				t.Fatalf("tarantool row %d: %s (%v)", i, l, err)
			}
		}
	}
	// Room left is still padding, and must be one item ending at byte 19.
	data, offs := sampleLog(t, 3, 10, false)
	p := offs[0] + 4
	for range 3 { // the three numbers
		p += map[byte]int64{0xcc: 2, 0xcd: 3, 0xce: 5, 0xcf: 9}[data[p]] + map[bool]int64{true: 1}[data[p] < 0x80]
	}
	if p >= offs[0]+format.FixHeaderSize-1 {
		t.Fatal("no room for padding")
	}
	data[p] = 0xa0 // a string of 0 bytes where more were
	if res := readBytes(t, data, false); res.err == nil || res.err.Kind != format.KindBadFixHeader || res.err.Offset != offs[0] {
		t.Fatalf("%+v", res.err)
	}
}

// readBound reads data with a bound on the size of a block.
func readBound(t *testing.T, src io.Reader, bound int, force bool) (rows int, err *format.Error, issues []*format.Error) {
	t.Helper()
	r, e := format.NewReader(src, format.Options{Name: "bomb.xlog", Force: force, MaxBlockSize: bound})
	if e != nil {
		t.Fatal(e)
	}
	defer r.Close()
	for {
		_, e := r.Next()
		if e == io.EOF {
			return rows, nil, r.Issues()
		}
		if e != nil {
			fe, ok := format.AsError(e)
			if !ok {
				t.Fatal(e)
			}
			return rows, fe, r.Issues()
		}
		rows++
	}
}

// A zstd block that inflates past the bound is damage at its offset,
// found after decompressing no more than the bound; with --force the
// blocks after it are read.
func TestZstdBombBounded(t *testing.T) {
	const bound = 4 << 20 // above the 2 MiB zstd window of the frames
	good, _ := sampleLog(t, 5, 5, true)
	goodBlocks := good[bytes.Index(good, []byte("\n\n"))+2:]
	bomb := testfix.BombLog(3, 50<<20)
	hdr := bytes.Index(bomb, format.MagicZstd[:])
	frame := testfix.ZstdBomb(50<<20, 0)
	second := int64(hdr + format.FixHeaderSize + len(frame))

	_, err, _ := readBound(t, bytes.NewReader(bomb), bound, false)
	if err == nil || err.Kind != format.KindDecompress || err.Offset != int64(hdr) || !strings.Contains(err.Msg, "inflates past the 4194304 bytes") {
		t.Fatalf("%+v", err)
	}
	if !strings.HasPrefix(err.Error(), fmt.Sprintf("bomb.xlog: offset %d: ", hdr)) {
		t.Fatal(err.Error())
	}
	// With Force: the three bombs skipped, the rows after them read.
	data := append(append([]byte{}, bomb...), goodBlocks...)
	rows, err, issues := readBound(t, bytes.NewReader(data), bound, true)
	if err != nil || rows != 5 {
		t.Fatalf("rows %d, %v", rows, err)
	}
	var bombs []int64
	for _, e := range issues {
		if e.Kind == format.KindDecompress {
			bombs = append(bombs, e.Offset)
		}
	}
	if len(bombs) != 3 || bombs[1] != second {
		t.Fatalf("issues %v", issues)
	}
	// The same frame within the bound decompresses (and its zero bytes
	// are no rows).
	_, err, _ = readBound(t, bytes.NewReader(testfix.BombLog(1, 3<<20)), bound, false)
	if err == nil || err.Kind != format.KindBadRow {
		t.Fatalf("%+v", err)
	}
}

// A frame that declares a content size beyond the bound is refused before
// it is decompressed.
func TestZstdDeclaredSizeBeyondBound(t *testing.T) {
	payload := bytes.Repeat([]byte("abcdefgh"), 64<<10) // 512 KiB
	var w bytes.Buffer
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, HasVClock: true}
	wr, err := format.NewWriter(&w, m, format.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte{0x81, 0x21, 0xc6, 0, 8, 0, 0}, payload...) // {TUPLE: bin32}
	if err := wr.Write(&format.Header{Type: box.TypeInsert, LSN: 1}, body); err != nil {
		t.Fatal(err)
	}
	if err := wr.Close(); err != nil {
		t.Fatal(err)
	}
	if rows, err, _ := readBound(t, bytes.NewReader(w.Bytes()), 1<<20, false); err != nil || rows != 1 {
		t.Fatalf("%d %v", rows, err)
	}
	if _, err, _ := readBound(t, bytes.NewReader(w.Bytes()), 256<<10, false); err == nil || err.Kind != format.KindDecompress {
		t.Fatalf("%v", err)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A length field of ~2 GiB makes the reader read no more than the bound
// (and a byte), in pieces as the data comes; fewer bytes than it claims are
// still a torn tail.
func TestHugeLengthBounded(t *testing.T) {
	const bound = 4 << 20
	hdr := []byte("XLOG\n0.13\n\n")
	// Claim 2 GiB - 1 bytes of zeros (whose checksum is 0).
	claimed := append(append([]byte{}, format.MagicPlain[:]...), 0xce, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0xa7)
	claimed = append(claimed, make([]byte, 7)...)
	if len(claimed) != format.FixHeaderSize {
		t.Fatal(len(claimed))
	}
	// 8 KiB of data after it: a torn tail.
	data := append(append(append([]byte{}, hdr...), claimed...), make([]byte, 8<<10)...)
	if _, err, issues := readBound(t, bytes.NewReader(data), bound, false); err != nil || len(issues) != 1 || issues[0].Kind != format.KindTornTail {
		t.Fatalf("%v %v", err, issues)
	}
	// An endless stream after it: refused after bound+1 bytes of payload.
	src := &countingReader{r: io.MultiReader(bytes.NewReader(append(append([]byte{}, hdr...), claimed...)), zeros{})}
	_, err, _ := readBound(t, src, bound, false)
	if err == nil || err.Kind != format.KindBadFixHeader || err.Offset != int64(len(hdr)) || !strings.Contains(err.Msg, "larger than the 4194304 bytes") {
		t.Fatalf("%+v", err)
	}
	if src.n > 2*bound {
		t.Fatalf("read %d bytes for a bound of %d", src.n, bound)
	}
}
