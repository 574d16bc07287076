package format_test

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/xlogtool/xlogtool/bench"
	"github.com/xlogtool/xlogtool/format"
)

// benchRows is the size of the synthetic WAL the benchmarks read.
const benchRows = 200_000

var (
	benchOnce sync.Once
	benchData []byte
)

// benchLog returns the file the read benchmarks use (bench.Log).
func benchLog(b *testing.B) []byte {
	b.Helper()
	benchOnce.Do(func() {
		data, err := bench.Log(benchRows)
		if err != nil {
			panic(err)
		}
		benchData = data
	})
	return benchData
}

// readRows runs fn on b.N rows (bench.Rows), so that ns/op, B/op and
// allocs/op are per row.
func readRows(b *testing.B, fn func(*format.Row)) {
	data := benchLog(b)
	b.SetBytes(0)
	bench.Rows(b, data, fn)
}

// BenchmarkRead is the full decode: every block's CRC32C checked and zstd
// payload decompressed, every row header decoded.
func BenchmarkRead(b *testing.B) {
	readRows(b, func(*format.Row) {})
}

// BenchmarkReadDML also decodes every body (space id, tuple, key ...).
func BenchmarkReadDML(b *testing.B) {
	var spaces uint64
	readRows(b, func(r *format.Row) {
		if d, err := r.DML(); err == nil {
			spaces += uint64(d.SpaceID)
		}
	})
}

// BenchmarkReadSpaceID finds each row's space id, as cat's default filter does.
func BenchmarkReadSpaceID(b *testing.B) {
	var spaces uint64
	readRows(b, func(r *format.Row) {
		id, _ := r.SpaceID()
		spaces += uint64(id)
	})
}

// BenchmarkReadFile measures whole files from disk through Open, as the
// commands read them; ns/op is per file.
func BenchmarkReadFile(b *testing.B) {
	path := os.Getenv("XLOGTOOL_BENCH_XLOG")
	if path == "" {
		path = b.TempDir() + "/00000000000000000000.xlog"
		if err := os.WriteFile(path, benchLog(b), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	var rows int64
	cpu := bench.CPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := format.Open(path, format.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
		r.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(bench.CPUTime()-cpu)/float64(rows), "cpu-ns/row")
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// benchFile returns the path of the file the file benchmarks read.
func benchFile(b *testing.B) string {
	if path := os.Getenv("XLOGTOOL_BENCH_XLOG"); path != "" {
		return path
	}
	path := b.TempDir() + "/00000000000000000000.xlog"
	if err := os.WriteFile(path, benchLog(b), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkCopyFile is filter keeping every row: the blocks copied as
// they are after their rows are looked at; ns/op is per file, ns/row and
// allocs/row per row.
func BenchmarkCopyFile(b *testing.B) { benchCopy(b, false) }

// BenchmarkCopyVerbatim is filter --verbatim: blocks copied as they are
// stored, rows not read.
func BenchmarkCopyVerbatim(b *testing.B) { benchCopy(b, true) }

func benchCopy(b *testing.B, verbatim bool) {
	in := benchFile(b)
	flt := format.NewFilter()
	out := b.TempDir()
	// The rows of the file, counted once.
	c, err := format.CopyFile(in, b.TempDir(), format.CopyOptions{Filter: &flt, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	rows := c.RowsKept
	b.ReportAllocs()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	cpu := bench.CPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := format.CopyFile(in, out, format.CopyOptions{Filter: &flt, NoSync: true, Verbatim: verbatim})
		if err != nil || res.Err != nil {
			b.Fatal(err, res.Err)
		}
		b.StopTimer()
		os.Remove(res.Output)
		b.StartTimer()
	}
	b.StopTimer()
	total := rows * int64(b.N)
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(bench.CPUTime()-cpu)/float64(total), "cpu-ns/row")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/row")
	b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(total), "allocs/row")
}

// BenchmarkChecksum is the CRC32C alone, per byte.
func BenchmarkChecksum(b *testing.B) {
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		format.Checksum(buf)
	}
}

// BenchmarkSmallFile reads a small file (300 rows, three zstd blocks)
// whole: the fixed cost of a reader; ns/op and B/op are per file.
func BenchmarkSmallFile(b *testing.B) {
	data, _ := sampleLog(b, 300, 100, true)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r, err := format.NewReader(bytes.NewReader(data), format.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
	}
}
