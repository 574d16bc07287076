package tarantooltest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

//go:embed oracle.lua
var oracleScript string

// OracleScript returns the Lua source of the oracle, for running it outside
// tests: tarantool oracle.lua INPUT OUTPUT [INPUT OUTPUT ...].
func OracleScript() string { return oracleScript }

// Oracle reads each file with Tarantool's own reader (require('xlog').pairs)
// and returns, per file, one JSON line per row:
// {"BODY":{...},"HEADER":{...}}. When the reader fails, the file's lines end
// with {"ERROR":"..."}; that is output, not a test failure.
func Oracle(t testing.TB, files ...string) [][]string {
	t.Helper()
	bin := Require(t)
	work := t.TempDir()
	script := filepath.Join(work, "oracle.lua")
	if err := os.WriteFile(script, []byte(oracleScript), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{script}
	outs := make([]string, len(files))
	for i, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = filepath.Join(work, fmt.Sprintf("%d.jsonl", i))
		args = append(args, abs, outs[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultScriptTimeout)
	defer cancel()
	if _, stderr, err := run(ctx, bin, work, args...); err != nil {
		t.Fatalf("oracle: %v\nstderr:\n%s", err, tail(stderr, 4096))
	}
	result := make([][]string, len(files))
	for i, out := range outs {
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("oracle: no output for %s: %v", files[i], err)
		}
		result[i] = splitLines(b)
	}
	return result
}

// OracleRaw returns the oracle's JSON lines for one file.
func OracleRaw(t testing.TB, file string) []string {
	t.Helper()
	return Oracle(t, file)[0]
}

// OracleRows returns the oracle's rows decoded from JSON, per file. Numbers
// are json.Number, so 64-bit integers stay exact.
func OracleRows(t testing.TB, files ...string) [][]map[string]any {
	t.Helper()
	lines := Oracle(t, files...)
	rows := make([][]map[string]any, len(lines))
	for i, file := range lines {
		rows[i] = make([]map[string]any, 0, len(file))
		for _, line := range file {
			dec := json.NewDecoder(strings.NewReader(line))
			dec.UseNumber()
			var row map[string]any
			if err := dec.Decode(&row); err != nil {
				t.Fatalf("oracle: %s: bad JSON line %q: %v", files[i], line, err)
			}
			rows[i] = append(rows[i], row)
		}
	}
	return rows
}

func splitLines(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte("\n"))
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\n")
}
