package render_test

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/render"
)

// renderFile prints every row of a file as JSON, skipping damage like
// Tarantool's reader does.
func renderFile(t *testing.T, path string) []byte {
	t.Helper()
	var out bytes.Buffer
	p := render.NewPrinter(&out, render.Options{Format: render.JSON})
	r, err := format.Open(path, format.Options{Force: true})
	if err != nil {
		return nil
	}
	defer r.Close()
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := p.Row(path, row); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

// Every real fixture decodes to exactly what Tarantool's own reader
// decodes from it, row for row and field for field.
func TestFixturesMatchOracle(t *testing.T) {
	dir := testfix.Dir(t)
	n := 0
	for _, rel := range testfix.Files(t) {
		if strings.HasSuffix(rel, "format.bad.xlog") {
			continue // a file type Tarantool refuses; we read it and say so
		}
		t.Run(rel, func(t *testing.T) {
			oracle, _ := testfix.Oracle(t, rel)
			ours, _ := testfix.ParseRows(t, rel, renderFile(t, filepath.Join(dir, rel)))
			if d := testfix.CompareRows(oracle, ours); d != "" {
				t.Fatal(d)
			}
		})
		n++
	}
	if n < 70 {
		t.Fatalf("only %d fixtures compared", n)
	}
}
