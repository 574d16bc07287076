package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testfix"
)

// damaged is a corrupted copy of a generated file and what a reader must
// make of it.
type damaged struct {
	path string
	what string
	// at is the file offset of the first damaged byte; blocks that start
	// before it and end at or before it are intact.
	at int64
	// before: the keys of the rows of the blocks before the damage, in
	// order; intact: the keys of the rows of every intact block.
	before []string
	intact map[string]bool
	// torn: the damage is a cut, which reads as an unclean end.
	torn bool
	// maybeHarmless: the damage may leave a file that reads cleanly (a
	// flipped bit in a field no reader checks).
	maybeHarmless bool
}

// blockSpan is one block of a generated file and the keys of its rows.
type blockSpan struct {
	off, end int64
	keys     []string
}

// rowKey identifies a row by replica id, LSN and type code. The LSN is
// compared as a double: Tarantool's reader prints LSNs of 2^53 and above
// through one.
func rowKey(replica uint64, lsn float64, typ uint64) string {
	return fmt.Sprintf("%d/%s/%d", replica, strconv.FormatFloat(lsn, 'g', 17, 64), typ)
}

// oracleKey is rowKey of a row Tarantool's reader printed.
func oracleKey(t *testing.T, row map[string]any) string {
	h := testfix.Normalize(row)["HEADER"].(map[string]any)
	num := func(k string) float64 {
		n, _ := h[k].(json.Number)
		f, _ := n.Float64()
		return f
	}
	typ, err := box.ParseRowType(fmt.Sprint(h["type"]))
	if err != nil {
		t.Fatalf("oracle row type: %v", err)
	}
	return rowKey(uint64(num("replica_id")), num("lsn"), uint64(typ))
}

// readKeys reads a file with our reader and returns the keys of the rows
// delivered, the blocks they came from, the final error and the issues. A
// panic fails the test.
func readKeys(t *testing.T, path string, force bool) (keys []string, blocks []blockSpan, final error, issues []*format.Error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s (force %v): panic: %v", path, force, p)
		}
	}()
	r, err := format.Open(path, format.Options{Force: force})
	if err != nil {
		if r == nil {
			return nil, nil, err, nil
		}
		defer r.Close()
		return nil, nil, err, r.Issues()
	}
	defer r.Close()
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			final = err
			break
		}
		k := rowKey(uint64(row.ReplicaID), float64(row.LSN), uint64(row.Type))
		keys = append(keys, k)
		if n := len(blocks); n == 0 || blocks[n-1].off != row.Pos.Block {
			blocks = append(blocks, blockSpan{off: row.Pos.Block})
		}
		blocks[len(blocks)-1].keys = append(blocks[len(blocks)-1].keys, k)
	}
	// Block ends: the next block's start, the last one's the good end
	// (before the EOF marker).
	for i := range blocks {
		if i+1 < len(blocks) {
			blocks[i].end = blocks[i+1].off
		} else {
			blocks[i].end = r.GoodEnd()
			if r.End() == format.EndClean {
				blocks[i].end -= 4
			}
		}
	}
	return keys, blocks, final, r.Issues()
}

// damageCopies writes corrupted copies of a clean file: a flipped byte in
// a block payload and in a fixed header, cuts at many offsets, garbage
// between blocks, bytes after the EOF marker.
func damageCopies(t *testing.T, rnd *rand.Rand, dir, path string, blocks []blockSpan) []damaged {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(path)
	ext := filepath.Ext(base)
	var out []damaged
	add := func(what string, b []byte, at int64, intactAfter bool, torn, harmless bool) {
		d := damaged{path: filepath.Join(dir, fmt.Sprintf("%s.%d%s", strings.TrimSuffix(base, ext), len(out), ext)),
			what: what, at: at, intact: map[string]bool{}, torn: torn, maybeHarmless: harmless}
		for _, bl := range blocks {
			if bl.end <= at {
				d.before = append(d.before, bl.keys...)
			}
			if bl.end <= at || bl.off > at && intactAfter {
				for _, k := range bl.keys {
					d.intact[k] = true
				}
			}
		}
		writeFile(t, d.path, b)
		out = append(out, d)
	}
	if len(blocks) == 0 {
		return nil
	}
	for i := 0; i < 3; i++ {
		bl := blocks[rnd.Intn(len(blocks))]
		// A byte of the payload.
		b := bytes.Clone(data)
		p := bl.off + format.FixHeaderSize + rnd.Int63n(bl.end-bl.off-format.FixHeaderSize)
		b[p] ^= byte(1 + rnd.Intn(255))
		add(fmt.Sprintf("payload byte %d of the block at %d flipped", p, bl.off), b, bl.off, true, false, false)
		// A byte of the fixed header: the marker, the length (the first
		// time), the checksums, the padding. The previous-block checksum
		// is read by no one: flipping it may harm nothing.
		b = bytes.Clone(data)
		k := int64(rnd.Intn(format.FixHeaderSize))
		prev, pad := fixHeaderFields(data[bl.off : bl.off+format.FixHeaderSize])
		if i == 0 {
			k = 4 + int64(rnd.Intn(int(prev-4))) // the length
		}
		b[bl.off+k] ^= byte(1 + rnd.Intn(255))
		harmless := k >= prev && k < prev+5 || k > pad
		add(fmt.Sprintf("fixed header byte %d of the block at %d flipped", k, bl.off), b, bl.off, true, false, harmless)
	}
	// Cuts: at block boundaries, one byte either side, and anywhere.
	cuts := map[int64]bool{}
	for i := 0; i < 3; i++ {
		bl := blocks[rnd.Intn(len(blocks))]
		cuts[bl.off], cuts[bl.off+1], cuts[bl.end-1] = true, true, true
	}
	for i := 0; i < 5; i++ {
		cuts[blocks[0].off+rnd.Int63n(int64(len(data))-blocks[0].off)] = true
	}
	cuts[int64(len(data))-1] = true
	cuts[int64(len(data))-4] = true
	cuts[blocks[0].off/2] = true // inside the text header
	for c := range cuts {
		if c > 0 && c < int64(len(data)) {
			add(fmt.Sprintf("cut at %d", c), data[:c], c, false, true, false)
		}
	}
	// Garbage between two blocks (sometimes looking like a block marker).
	for i := 0; i < 2; i++ {
		at := blocks[rnd.Intn(len(blocks))].off
		g := make([]byte, 1+rnd.Intn(40))
		rnd.Read(g)
		if rnd.Intn(2) == 0 {
			copy(g, format.MagicPlain[:min(len(g), 4)])
		}
		b := append(append(bytes.Clone(data[:at]), g...), data[at:]...)
		add(fmt.Sprintf("%d bytes of garbage inserted at %d", len(g), at), b, at, true, false, false)
	}
	// Bytes after the EOF marker.
	g := make([]byte, 1+rnd.Intn(30))
	rnd.Read(g)
	add(fmt.Sprintf("%d bytes appended after the EOF marker", len(g)), append(bytes.Clone(data), g...),
		int64(len(data)), true, false, false)
	return out
}

// Damaged copies of generated files: our reader never panics, names the
// file and a sane offset in every problem; with Force it delivers every row
// Tarantool's reader delivers and every row of the intact blocks; without
// it exactly the rows of the blocks before the damage, then an error (a
// warning for a cut).
func TestDiffDamage(t *testing.T) {
	tarantooltest.Require(t)
	start := time.Now()
	dir := t.TempDir()
	var copies []damaged
	for _, seed := range []int64{5, 6} {
		rnd := rand.New(rand.NewSource(seed))
		g := newRowGen(seed)
		for i := 0; i < 4; i++ {
			f := g.file(t, dir, int(seed)*10+i, 30+g.n(50))
			keys, blocks, err, _ := readKeys(t, f.path, false)
			if err != nil || len(keys) != len(f.rows) {
				t.Fatalf("%s: clean file: %d rows of %d, %v", f.path, len(keys), len(f.rows), err)
			}
			copies = append(copies, damageCopies(t, rnd, dir, f.path, blocks)...)
		}
	}
	paths := make([]string, len(copies))
	for i, d := range copies {
		paths[i] = d.path
	}
	oracle := tarantooltest.Oracle(t, paths...)
	fails := 0
	fail := func(d damaged, f string, a ...any) {
		if fails++; fails <= 20 {
			t.Errorf("%s (%s): %s", filepath.Base(d.path), d.what, fmt.Sprintf(f, a...))
		}
	}
	for i, d := range copies {
		size := int64(len(mustReadFile(t, d.path)))
		checkIssue := func(e *format.Error) {
			if e.File != d.path || e.Offset < 0 || e.Offset > size || !strings.HasPrefix(e.Error(), d.path+": offset ") {
				fail(d, "problem without file or with a bad offset: %v (file %q, offset %d, size %d)", e, e.File, e.Offset, size)
			}
		}

		// With Force.
		keys, _, final, issues := readKeys(t, d.path, true)
		for _, e := range issues {
			checkIssue(e)
		}
		got := map[string]bool{}
		for _, k := range keys {
			got[k] = true
		}
		if final != nil {
			e, ok := format.AsError(final)
			if !ok {
				fail(d, "force: error that is not a *format.Error: %v", final)
			} else {
				checkIssue(e)
			}
		}
		want, _ := testfix.ParseRows(t, d.path, []byte(strings.Join(oracle[i], "\n")))
		var missing []string
		for _, row := range want {
			if k := oracleKey(t, row); !got[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			fail(d, "force: %d rows Tarantool's reader delivers are missing, first %s", len(missing), missing[0])
		}
		missing = missing[:0]
		for k := range d.intact {
			if !got[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			fail(d, "force: %d rows of intact blocks are missing, e.g. %s", len(missing), missing[0])
		}

		// Without Force.
		keys, _, final, issues = readKeys(t, d.path, false)
		var e *format.Error
		if final != nil {
			var ok bool
			if e, ok = format.AsError(final); !ok {
				fail(d, "error that is not a *format.Error: %v", final)
				continue
			}
			checkIssue(e)
		}
		for _, w := range issues {
			checkIssue(w)
		}
		switch {
		case d.maybeHarmless && final == nil && len(issues) == 0:
			// Nothing read the flipped byte.
		case d.torn:
			if final != nil && e.Kind != format.KindBadMeta {
				fail(d, "a cut ended in an error, not a warning: %v", final)
			}
			if final == nil && len(issues) == 0 {
				fail(d, "a cut file read without a warning")
			}
		default:
			if final == nil {
				fail(d, "no error (issues %v)", issues)
			} else if e.Offset != d.at {
				fail(d, "error at offset %d, damage at %d: %v", e.Offset, d.at, e)
			}
		}
		if !(d.maybeHarmless && final == nil && len(issues) == 0) && !equalKeys(keys, d.before) {
			fail(d, "without force: %d rows delivered, want the %d rows before the damage (error %v)", len(keys), len(d.before), final)
		}
	}
	if fails > 20 {
		t.Errorf("... %d failures in all", fails)
	}
	t.Logf("%d damaged copies checked in %v", len(copies), time.Since(start))
}

// fixHeaderFields returns where the previous-block checksum and the
// padding (its type byte) start in a fixed header: no reader looks at the
// first or at the padding's content.
func fixHeaderFields(h []byte) (prev, pad int64) {
	c := format.NewMPCursor(h[4:])
	c.Uint()
	prev = 4 + int64(c.Pos())
	c.Uint()
	c.Uint()
	return prev, 4 + int64(c.Pos())
}

func equalKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
