package render_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/render"
)

// FuzzRender prints every row the reader accepts in all three formats: a
// row whose body is well-formed MessagePack must print, and as valid JSON.
func FuzzRender(f *testing.F) {
	dir := testfix.Dir(f)
	for _, rel := range testfix.Files(f) {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 64<<10 {
			b = b[:64<<10]
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := format.NewReader(bytes.NewReader(data), format.Options{Force: true})
		if err != nil {
			return
		}
		defer r.Close()
		var out bytes.Buffer
		printers := []*render.Printer{
			render.NewPrinter(&out, render.Options{Format: render.JSON, ShowPos: true}),
			render.NewPrinter(&bytes.Buffer{}, render.Options{Format: render.YAML, ShowPos: true}),
			render.NewPrinter(&bytes.Buffer{}, render.Options{Format: render.Lua}),
		}
		for n := 0; n < 1<<16; n++ {
			row, err := r.Next()
			if err != nil {
				return
			}
			for i, p := range printers {
				out.Reset()
				if err := p.Row("fuzz", row); err != nil && !strings.Contains(err.Error(), "nested too deep") {
					t.Fatalf("format %d: %v (body %x)", i, err, row.Body)
				}
				if i == 0 && !json.Valid(out.Bytes()) {
					t.Fatalf("invalid JSON: %s", out.Bytes())
				}
			}
		}
	})
}
