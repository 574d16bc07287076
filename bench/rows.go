package bench

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/xlogtool/xlogtool/format"
)

// Log returns the WAL the read benchmarks use: the file named by
// $XLOGTOOL_BENCH_XLOG (e.g. the one genxlog.lua makes Tarantool write), or
// else a synthetic WAL of the same shape with the given number of rows.
func Log(rows int) ([]byte, error) {
	if p := os.Getenv("XLOGTOOL_BENCH_XLOG"); p != "" {
		return os.ReadFile(p)
	}
	return Synthetic(rows, 100), nil
}

// Rows runs fn on b.N rows of data, reading it again from the start
// whenever it ends, so that ns/op, B/op and allocs/op are per row; it
// reports the CPU time per row and rows/s.
func Rows(b *testing.B, data []byte, fn func(*format.Row)) {
	b.Helper()
	b.ReportAllocs()
	var r *format.Reader
	open := func() {
		var err error
		if r, err = format.NewReader(bytes.NewReader(data), format.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	open()
	cpu := CPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			r.Close()
			open()
			row, err = r.Next()
		}
		if err != nil {
			b.Fatal(err)
		}
		fn(row)
	}
	b.StopTimer()
	b.ReportMetric(float64(CPUTime()-cpu)/float64(b.N), "cpu-ns/row")
	r.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
