package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/bench"
)

// cat prints the same bytes, the same messages in the same order and
// exits the same way whether whole blocks are printed on the read-ahead
// goroutines (two CPUs) or every row by the command (one CPU, where
// nothing is read ahead): on a multi-block WAL with a bad checksum in the
// middle and a torn tail, with and without --force.
func TestCatAheadSame(t *testing.T) {
	data := bench.Synthetic(6000, 20)
	blocks, err := bench.BlockOffsets(data)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(data[:blocks[len(blocks)-5]+40])
	bad[blocks[len(blocks)/3]+30] ^= 0x11
	bad[blocks[2*len(blocks)/3]+50] ^= 0x22
	dir := t.TempDir()
	path := filepath.Join(dir, "00000000000000000000.xlog")
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(procs int, args ...string) (string, string, int) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		return runCLI(t, args...)
	}
	for _, f := range []string{"json", "yaml", "lua"} {
		for _, extra := range [][]string{nil, {"--force"}, {"--force", "--show-pos", "--show-system"}} {
			args := append([]string{"cat", "--format", f}, extra...)
			args = append(args, path, path)
			out1, err1, code1 := run(1, args...)
			out2, err2, code2 := run(2, args...)
			if out1 != out2 || err1 != err2 || code1 != code2 {
				t.Errorf("%s: one CPU and two differ: exit %d/%d, stdout %d/%d bytes, stderr\n%s\n---\n%s",
					strings.Join(args[:len(args)-2], " "), code1, code2, len(out1), len(out2), err1, err2)
			}
			if code1 != 1 || !strings.Contains(err1, "checksum mismatch") || len(out1) < 1000 {
				t.Errorf("%s: exit %d, stderr %s", strings.Join(args, " "), code1, err1)
			}
		}
	}
}
