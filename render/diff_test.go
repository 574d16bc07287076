package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/render"
)

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// printFile prints every row of a file in format f, failing on any error.
func printFile(t *testing.T, path string, f render.Format) []byte {
	t.Helper()
	var out bytes.Buffer
	p := render.NewPrinter(&out, render.Options{Format: f})
	r, err := format.Open(path, format.Options{})
	if err != nil {
		t.Fatal(err)
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
	if err := p.EndFile(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// collapseFFFD replaces every run of U+FFFD in the strings of v by one:
// the oracle's JSON carries bytes that are not UTF-8 as they are, and
// reading it turns each run of them into one U+FFFD, while we print one
// U+FFFD per byte.
func collapseFFFD(v any) any {
	switch x := v.(type) {
	case string:
		for strings.Contains(x, "\uFFFD\uFFFD") {
			x = strings.ReplaceAll(x, "\uFFFD\uFFFD", "\uFFFD")
		}
		return x
	case []any:
		for i := range x {
			x[i] = collapseFFFD(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[collapseFFFD(k).(string)] = collapseFFFD(e)
		}
		return out
	}
	return v
}

// collapseRows applies collapseFFFD to every row.
func collapseRows(rows []map[string]any) []map[string]any {
	for i := range rows {
		rows[i] = collapseFFFD(rows[i]).(map[string]any)
	}
	return rows
}

// diffSeeds are the fixed seeds of the differential tests: each gives a
// few files of random rows.
var diffSeeds = []int64{1, 2, 3, 20260101}

func genFiles(t *testing.T, seed int64, dir string) []genFile {
	g := newRowGen(seed)
	var files []genFile
	for i := 0; i < 4; i++ {
		files = append(files, g.file(t, dir, int(seed)*10+i, 60+g.n(200)))
	}
	return files
}

// Random rows of every kind, written by our writer, decode to exactly what
// Tarantool 2.6.0's reader decodes from the same files.
func TestDiffRandomRowsJSON(t *testing.T) {
	tarantooltest.Require(t)
	start := time.Now()
	dir := t.TempDir()
	var files []genFile
	for _, seed := range diffSeeds {
		files = append(files, genFiles(t, seed, dir)...)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.path
	}
	oracle := tarantooltest.Oracle(t, paths...)
	nrows := 0
	for i, f := range files {
		want, errLine := testfix.ParseRows(t, f.path, []byte(strings.Join(oracle[i], "\n")))
		if errLine != "" {
			t.Errorf("%s: Tarantool's reader failed: %s", f.path, errLine)
		}
		got, _ := testfix.ParseRows(t, f.path, printFile(t, f.path, render.JSON))
		want, got = collapseRows(want), collapseRows(got)
		for k := 0; k < len(want) && k < len(got); k++ {
			reconcileBody(want[k], got[k])
			reconcile(want[k], got[k], 0)
		}
		if d := testfix.CompareRows(want, got); d != "" {
			t.Errorf("%s: %.500s", f.path, d)
			reportRow(t, f, want, got, d)
		}
		nrows += len(f.rows)
	}
	t.Logf("%d files, %d rows compared in %v", len(files), nrows, time.Since(start))
}

// reportRow logs the first differing row of a file in both forms.
func reportRow(t *testing.T, f genFile, want, got []map[string]any, d string) {
	var n int
	if _, err := fmtSscanf(d, &n); err != nil || n < 1 || n > len(want) || n > len(got) {
		return
	}
	w, _ := json.Marshal(want[n-1])
	g, _ := json.Marshal(got[n-1])
	t.Logf("oracle: %.2000s\nours:   %.2000s\nbody:   %.4000x", w, g, f.rows[n-1].body)
}

func fmtSscanf(d string, n *int) (int, error) { return fmt.Sscanf(d, "row %d:", n) }

// reconcileBody undoes the oracle's one guess about a body: the body of a
// row of a type without key names whose keys are exactly 1..n is a Lua
// sequence, printed as an array.
func reconcileBody(want, got map[string]any) {
	arr, ok := want["BODY"].([]any)
	m, isMap := got["BODY"].(map[string]any)
	if !ok || !isMap || len(arr) != len(m) {
		return
	}
	conv := map[string]any{}
	for i, v := range arr {
		conv[strconv.Itoa(i+1)] = v
	}
	want["BODY"] = conv
}

// reconcile walks the oracle's value and ours in parallel and, where both
// hold integral numbers of 2^53 and above that are the same double (the
// oracle prints floats with %.17g, we print the shortest form that reads
// back as the same double) or differ by at most the relative tolerance
// tol, puts the oracle's text into ours.
func reconcile(want, got any, tol float64) any {
	switch w := want.(type) {
	case map[string]any:
		if g, ok := got.(map[string]any); ok {
			for k, v := range w {
				if gv, ok := g[k]; ok {
					g[k] = reconcile(v, gv, tol)
				}
			}
		}
	case []any:
		if g, ok := got.([]any); ok && len(g) == len(w) {
			for i := range w {
				g[i] = reconcile(w[i], g[i], tol)
			}
		}
	case json.Number:
		if g, ok := got.(json.Number); ok && g != w {
			fw, err1 := strconv.ParseFloat(string(w), 64)
			fg, err2 := strconv.ParseFloat(string(g), 64)
			near := fw == fg || math.Abs(fw-fg) <= tol*math.Abs(fw)
			if err1 == nil && err2 == nil && near && (tol > 0 || math.Abs(fw) >= 1<<53) {
				return w
			}
		}
	}
	return got
}
