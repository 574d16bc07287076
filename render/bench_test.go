package render_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/xlogtool/xlogtool/bench"
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/render"
)

var (
	benchOnce sync.Once
	benchData []byte
)

// benchLog returns the WAL the benchmarks read (bench.Log).
func benchLog(b *testing.B) []byte {
	benchOnce.Do(func() {
		data, err := bench.Log(100_000)
		if err != nil {
			panic(err)
		}
		benchData = data
	})
	return benchData
}

// benchPrint reads the log and prints b.N rows (reading it again when it
// ends), so ns/op and allocs/op are per row, the read included.
func benchPrint(b *testing.B, f render.Format) {
	var out countWriter
	p := render.NewPrinter(&out, render.Options{Format: f})
	bench.Rows(b, benchLog(b), func(row *format.Row) {
		if err := p.Row("bench.xlog", row); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(float64(out.n)/float64(b.N), "out-bytes/row")
}

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// benchAhead is benchPrint the way cat prints: whole blocks printed on
// the goroutines that decompress them (Printer.Ahead), the others row by
// row; ns/op and allocs/op are per row.
func benchAhead(b *testing.B, f render.Format) {
	data := benchLog(b)
	var out countWriter
	p := render.NewPrinter(&out, render.Options{Format: f})
	opts := format.Options{Ahead: func(blk *format.Block) (any, int) { return p.Ahead("bench.xlog", blk, nil) }}
	b.ReportAllocs()
	cpu := bench.CPUTime()
	b.ResetTimer()
	var r *format.Reader
	for n := 0; n < b.N; {
		if r == nil {
			var err error
			if r, err = format.NewReader(bytes.NewReader(data), opts); err != nil {
				b.Fatal(err)
			}
		}
		row, err := r.Next()
		if err == io.EOF {
			r.Close()
			r = nil
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		if res, rows := r.TakeAhead(); res != nil {
			err, n = p.WriteAhead(res), n+rows
		} else {
			err, n = p.Row("bench.xlog", row), n+1
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if r != nil {
		r.Close()
	}
	b.ReportMetric(float64(bench.CPUTime()-cpu)/float64(b.N), "cpu-ns/row")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkJSONAhead(b *testing.B) { benchAhead(b, render.JSON) }
func BenchmarkYAMLAhead(b *testing.B) { benchAhead(b, render.YAML) }
func BenchmarkLuaAhead(b *testing.B)  { benchAhead(b, render.Lua) }

func BenchmarkJSON(b *testing.B) { benchPrint(b, render.JSON) }
func BenchmarkYAML(b *testing.B) { benchPrint(b, render.YAML) }
func BenchmarkLua(b *testing.B)  { benchPrint(b, render.Lua) }

// BenchmarkJSONOnly prints rows already read, to see the transcoder alone.
func BenchmarkJSONOnly(b *testing.B) {
	data := benchLog(b)
	r, err := format.NewReader(bytes.NewReader(data), format.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var kept []*format.Row
	for len(kept) < 10000 {
		row, err := r.Next()
		if err != nil {
			b.Fatal(err)
		}
		kept = append(kept, row.Clone())
	}
	r.Close()
	p := render.NewPrinter(io.Discard, render.Options{Format: render.JSON})
	b.ReportAllocs()
	cpu := bench.CPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.Row("bench.xlog", kept[i%len(kept)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bench.CPUTime()-cpu)/float64(b.N), "cpu-ns/row")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// refJSONString is the byte-at-a-time JSON string writer the printer's
// faster one must match: escapes for '"', '\\' and control characters,
// U+FFFD for each byte that is not UTF-8.
func refJSONString(s []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				fmt.Fprintf(&b, `\u%04x`, c)
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(`\ufffd`)
		} else {
			b.Write(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// Strings print as the byte-at-a-time writer prints them, whatever bytes
// they hold and wherever those fall in the eight-byte steps.
func TestJSONStrings(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 3))
	alphabet := []byte("ab\"\\\n\r\t\x00\x1f\x7f\xc3\xa9\xe2\x82\xac\xff\x80 ~")
	var out bytes.Buffer
	p := render.NewPrinter(&out, render.Options{Format: render.JSON})
	for i := 0; i < 20000; i++ {
		s := make([]byte, rnd.IntN(40))
		for j := range s {
			if rnd.IntN(3) == 0 {
				s[j] = alphabet[rnd.IntN(len(alphabet))]
			} else {
				s[j] = 'a' + byte(rnd.IntN(26))
			}
		}
		body := append([]byte{0x81, box.KeyTuple, 0x91, 0xdb}, byte(len(s)>>24), byte(len(s)>>16), byte(len(s)>>8), byte(len(s)))
		body = append(body, s...)
		out.Reset()
		if err := p.Row("x", &format.Row{Header: format.Header{Type: box.TypeReplace, Commit: true}, Body: body}); err != nil {
			t.Fatal(err)
		}
		js := refJSONString(s)
		if !utf8.Valid(s) {
			js = `{"$string":"` + base64.StdEncoding.EncodeToString(s) + `"}`
		}
		want := `{"HEADER":{"type":"REPLACE"},"BODY":{"tuple":[` + js + "]}}\n"
		if out.String() != want {
			t.Fatalf("%q:\n got %s\nwant %s", s, out.String(), want)
		}
	}
}
