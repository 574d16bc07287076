package stats_test

import (
	"testing"

	"github.com/xlogtool/xlogtool/bench"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/stats"
)

// BenchmarkStats is what `xlogtool stats` does per row: the full read
// (CRC, zstd, headers) and the counting; ns/op is per row.
func BenchmarkStats(b *testing.B) {
	data, err := bench.Log(200_000)
	if err != nil {
		b.Fatal(err)
	}
	c := stats.New(nil)
	c.BeginFile(&format.Meta{FileType: format.TypeXLOG, Version: format.Version13})
	bench.Rows(b, data, func(r *format.Row) { c.Row(r) })
}
