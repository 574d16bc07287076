package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/internal/testfix"
)

// truncOffsets lists the offsets a file is cut at: every offset of its
// first 4 KiB with XLOGTOOL_HOSTILE_FULL=1, else a spread of them (every
// offset of the first bytes, where the text header ends and the first
// block starts, then a stride).
func truncOffsets(size int) []int {
	limit := min(size, 4096)
	var out []int
	for off := 0; off < limit; {
		out = append(out, off)
		switch {
		case os.Getenv(envHostileFull) == "1":
			off++
		case off < 8:
			off++
		default:
			off += 151
		}
	}
	return out
}

// catJSONRows returns the JSON rows cat prints for path (stdout lines).
func catJSONRows(t *testing.T, path string) map[string]bool {
	rows := map[string]bool{}
	out, _, _ := runCLI(t, "cat", "--format", "json", "--show-system", path)
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		rows[sc.Text()] = true
	}
	return rows
}

// Every command on real files cut at many offsets: no panic, an exit status
// the README allows (never 2: a cut file is damage, not a usage error), a
// message naming the file when the status is not 0, no row that the whole
// file does not hold, and the inputs left as they were.
func TestTruncatedEverywhere(t *testing.T) {
	// replay raises the GC target for the process it runs in (GOGC unset):
	// here that process runs thousands of commands.
	t.Setenv("GOGC", "100")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	files := []string{sample("00000000000000000000.xlog"), sample("00000000000000000000.snap")}
	t.Run("fixtures", func(t *testing.T) {
		files = append(files, filepath.Join(testfix.Dir(t), "tarantool/test/xlog/reader/v12/00000000000000000000.ok.xlog"))
	})
	for _, src := range files {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		full := catJSONRows(t, src)
		base := filepath.Base(src)
		root := t.TempDir()
		for _, off := range truncOffsets(len(data)) {
			// One directory per offset, removed after it: thousands of
			// t.TempDir calls would pile up until the test ends.
			work := filepath.Join(root, strconv.Itoa(off))
			dir := filepath.Join(work, "data")
			copyDir(t, sampleDir, dir)
			path := filepath.Join(dir, base)
			if err := os.WriteFile(path, data[:off], 0o644); err != nil {
				t.Fatal(err)
			}
			before := hashTree(t, dir)
			name := fmt.Sprintf("%s@%d", base, off)
			for _, args := range [][]string{
				{"cat", "--format", "json", "--show-system", path},
				{"cat", "--format", "lua", path},
				{"meta", path},
				{"stats", path},
				{"filter", "-o", filepath.Join(work, "out"), path},
				{"verify", dir},
				{"diff", dir},
				{"replay", dir},
				{"play", "--dry-run", "--format", "json", "localhost:1", dir},
				{"repair", "-o", filepath.Join(work, "fixed"), dir},
			} {
				stdout, stderr, code := runCLI(t, args...)
				switch {
				case code == 2 || code < 0 || code > 2:
					t.Errorf("%s: xlogtool %s: exit %d\n%s", name, args[0], code, head(stderr))
				case code == 1 && !strings.Contains(stdout+stderr, base):
					t.Errorf("%s: xlogtool %s: exit 1 without naming the file\nstdout %s\nstderr %s", name, args[0], head(stdout), head(stderr))
				case strings.Contains(stderr, "panic"):
					t.Errorf("%s: xlogtool %s panicked: %s", name, args[0], head(stderr))
				}
				if args[0] == "cat" && args[2] == "json" {
					for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
						if line != "" && !full[line] {
							t.Errorf("%s: cat printed a row the whole file does not hold: %s", name, line)
							break
						}
					}
				}
			}
			if d := diffHashes(before, hashTree(t, dir)); d != "" {
				t.Errorf("%s: inputs changed: %s", name, d)
			}
			os.RemoveAll(work)
			if t.Failed() {
				return
			}
		}
	}
}
