package render_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/xlogtool/xlogtool/bench"
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/render"
)

// scanPrint prints files the way cat does, with whole blocks printed ahead
// (Printer.Ahead) or every row by Printer.Row. It returns the output with
// every problem reported and every error that stopped a file marked where
// it came, and the number of blocks printed ahead.
func scanPrint(t *testing.T, files []string, opts render.Options, flt *format.Filter, force, ahead bool) (string, int) {
	t.Helper()
	var out bytes.Buffer
	pr := render.NewPrinter(&out, opts)
	refs := make([]format.FileRef, len(files))
	for i, f := range files {
		refs[i] = format.FileRef{Path: f}
	}
	blocks := 0
	sopts := format.ScanOptions{
		Force:     force,
		Filter:    flt,
		OnIssue:   func(e *format.Error) { fmt.Fprintf(&out, "<issue %v (skipped %d)>\n", e, e.Skipped) },
		OnFileEnd: func(format.FileRef, *format.Reader) error { return pr.EndFile() },
	}
	if ahead {
		sopts.Ahead = func(ref format.FileRef, b *format.Block, flt *format.Filter) (any, int) {
			return pr.Ahead(ref.Path, b, flt)
		}
		sopts.OnAhead = func(ref format.FileRef, res any) error {
			blocks++
			return pr.WriteAhead(res)
		}
	}
	res, err := format.ScanFiles(refs, sopts, func(ref format.FileRef, r *format.Row) error {
		if err := pr.Row(ref.Path, r); err != nil {
			fmt.Fprintf(&out, "<row error %v>\n", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&out, "<%d files, %d rows, %d damaged, %d warnings>\n", res.Files, res.Rows, res.Damaged, res.Warnings)
	for _, e := range res.Errors {
		fmt.Fprintf(&out, "<error %v>\n", e)
	}
	return out.String(), blocks
}

// blockOf frames rows (raw headers and bodies) as one block.
func blockOf(t *testing.T, rows []byte) []byte {
	var enc format.BlockEncoder
	defer enc.Close()
	fix, payload, err := enc.Encode(rows)
	if err != nil {
		t.Fatal(err)
	}
	return append(bytes.Clone(fix), payload...)
}

// aheadFiles writes multi-block files for TestAheadSame: the synthetic
// WAL of the benchmarks, and copies of it with a zstd block whose
// checksum is good but whose last row is broken, a block with a bad
// checksum, a torn tail, rows of system spaces and a row nested deeper
// than Lua's default limit.
func aheadFiles(t *testing.T, dir string) []string {
	data := bench.Synthetic(6000, 20)
	offs, err := bench.BlockOffsets(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(offs) < 100 {
		t.Fatalf("%d blocks", len(offs))
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, b)
		return p
	}
	row := func(h format.Header, body []byte) []byte {
		return append(format.AppendHeader(nil, &h), body...)
	}
	replace := func(lsn uint64, space uint64, tuple []byte) []byte {
		body := format.AppendUint([]byte{0x82, box.KeySpaceID}, space)
		body = append(append(body, box.KeyTuple), tuple...)
		return row(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true, Timestamp: 1.7e9}, body)
	}
	pad := func(lsn uint64, space uint64) []byte {
		var rows []byte
		for i := uint64(0); i < 40; i++ {
			rows = append(rows, replace(lsn+i, space, []byte("\x92\xcd\x01\x00\xd9\x40"+string(bytes.Repeat([]byte{'x'}, 64))))...)
		}
		return rows
	}
	files := []string{write("clean.xlog", data)}
	// A good checksum over a broken row, in a zstd block.
	bad := append(pad(1<<40, 512), 0x82, 0x00, 0xc1)
	at := offs[len(offs)/3]
	files = append(files, write("badrow.xlog", append(append(bytes.Clone(data[:at]), blockOf(t, bad)...), data[at:]...)))
	// A bad checksum.
	b := bytes.Clone(data)
	b[offs[len(offs)/2]+format.FixHeaderSize+5] ^= 0x55
	files = append(files, write("badcrc.xlog", b))
	// A torn tail.
	files = append(files, write("torn.xlog", data[:offs[len(offs)-3]+100]))
	// System rows and a deep tuple among the blocks.
	deep := bytes.Repeat([]byte{0x91}, 200)
	deep = append(deep, 0x01)
	var mixed []byte
	for i, at := range []int64{offs[len(offs)/2], offs[2*len(offs)/3], offs[3*len(offs)/4]} {
		lsn := uint64(1<<41 + 1000*i)
		block := blockOf(t, append(pad(lsn, 280), replace(lsn+100, 512, append([]byte{0x91}, deep...))...))
		if i == 0 {
			mixed = append(mixed, data[:at]...)
		}
		next := int64(len(data))
		if i < 2 {
			next = []int64{offs[2*len(offs)/3], offs[3*len(offs)/4]}[i]
		}
		mixed = append(append(mixed, block...), data[at:next]...)
	}
	files = append(files, write("mixed.xlog", mixed))
	return files
}

// Printing whole blocks ahead prints what printing row by row prints,
// byte for byte, problems and errors in the same places: on the fixtures,
// on generated files with damage of every kind, and on multi-block files,
// in every format, with and without --force, --show-pos and the default
// filter.
func TestAheadSame(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // read-ahead needs two
	dir := t.TempDir()
	multi := aheadFiles(t, dir)
	var gen []string
	rnd := rand.New(rand.NewSource(7))
	g := newRowGen(7)
	for i := 0; i < 2; i++ {
		f := g.file(t, dir, 100+i, 40+g.n(40))
		gen = append(gen, f.path)
		_, blocks, _, _ := readKeys(t, f.path, false)
		for _, d := range damageCopies(t, rnd, dir, f.path, blocks) {
			gen = append(gen, d.path)
		}
	}
	var fixtures []string
	if os.Getenv("XLOGTOOL_FIXTURES") != "" || os.Getenv("XLOGTOOL_REQUIRE_FIXTURES") == "1" || fixturesFound() {
		fd := testfix.Dir(t)
		for _, rel := range testfix.Files(t) {
			fixtures = append(fixtures, filepath.Join(fd, rel))
		}
	}
	all := format.NewFilter()
	hidden := format.Filter{Before: math.NaN()}
	upper := format.Filter{Before: math.NaN(), ShowSystem: true, From: 3000}
	aheadBlocks := 0
	for _, set := range []struct {
		name  string
		files []string
	}{{"multi-block", multi}, {"generated", gen}, {"fixtures", fixtures}} {
		for _, f := range []render.Format{render.JSON, render.YAML, render.Lua} {
			for _, force := range []bool{false, true} {
				for _, fl := range []*format.Filter{&all, &hidden, &upper} {
					for _, pos := range []bool{false, true} {
						if pos && (fl != &all || set.name == "multi-block" && f != render.JSON) || fl == &upper && set.name != "multi-block" {
							continue
						}
						opts := render.Options{Format: f, ShowPos: pos}
						// Each file alone (a file's damage ends it), then all
						// as one command line.
						lists := [][]string{set.files}
						if set.name == "multi-block" && f == render.JSON && !pos {
							for _, p := range set.files {
								lists = append(lists, []string{p})
							}
						}
						for _, files := range lists {
							want, _ := scanPrint(t, files, opts, fl, force, false)
							got, n := scanPrint(t, files, opts, fl, force, true)
							aheadBlocks += n
							if got != want {
								t.Fatalf("%s %v format %d force %v filter %+v pos %v: printed ahead differs:\n%s",
									set.name, files, f, force, *fl, pos, firstDiff(got, want))
							}
						}
					}
				}
			}
		}
	}
	if aheadBlocks == 0 {
		t.Fatal("no block was printed ahead: the test compared row printing with itself")
	}
	t.Logf("%d blocks printed ahead", aheadBlocks)
}

// fixturesFound reports whether the shared fixtures are beside the
// repository.
func fixturesFound() bool {
	_, err := os.Stat("../../shared/fixtures/oracle")
	return err == nil
}

// firstDiff shows where two outputs part.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("at byte %d:\n got ...%q\nwant ...%q", i, got[from:min(len(got), i+200)], want[from:min(len(want), i+200)])
}
