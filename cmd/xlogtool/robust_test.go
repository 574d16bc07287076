package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/internal/testfix"
)

// hashTree returns the SHA-256 of every file under root, by path.
func hashTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		st, _ := f.Stat()
		out[p] = fmt.Sprintf("%x %v", h.Sum(nil), st.Mode())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// copyDir copies the regular files of a directory (not recursive).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// damagedSample is a copy of the sample with one byte of the first xlog
// flipped (a checksum mismatch at offset 863).
func damagedSample(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "damaged")
	copyDir(t, sampleDir, dir)
	p := filepath.Join(dir, "00000000000000000000.xlog")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[870] ^= 0xff
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Every command over healthy, damaged and odd inputs: no panic, an exit
// status the docs allow, and the inputs byte for byte as they were.
func TestCommandsLeaveInputsAlone(t *testing.T) {
	t.Run("generated", func(t *testing.T) {
		tmp := t.TempDir()
		empty := filepath.Join(tmp, "empty")
		inprog := filepath.Join(tmp, "inprogress")
		junk := filepath.Join(tmp, "junk")
		for _, d := range []string{empty, inprog, junk} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		data, _ := os.ReadFile(sample("00000000000000000000.xlog"))
		os.WriteFile(filepath.Join(inprog, "00000000000000000000.xlog.inprogress"), data, 0o644)
		os.WriteFile(filepath.Join(junk, "00000000000000000000.xlog"), []byte("not a log\n"), 0o644)
		torn := filepath.Join(tmp, "torn")
		copyDir(t, sampleDir, torn)
		last := filepath.Join(torn, "00000000000000000036.xlog")
		st, _ := os.Stat(last)
		os.Truncate(last, st.Size()-7)
		checkInputsUntouched(t, sampleDir, damagedSample(t), torn, empty, inprog, junk,
			sample("00000000000000000033.xlog"))
	})
	t.Run("fixtures", func(t *testing.T) {
		dir := testfix.Dir(t)
		var inputs []string
		for _, rel := range []string{
			"tarantool/test/xlog/reader",
			"tarantool/test/xlog/reader/crc.bad.xlog",
			"tarantool/test/replication-luatest/gh_7932_data/bad_xlog",
			"tarantool/test/box-luatest/upgrade/3.0.0-cluster/server1",
		} {
			inputs = append(inputs, filepath.Join(dir, rel))
		}
		checkInputsUntouched(t, inputs...)
	})
}

func checkInputsUntouched(t *testing.T, inputs ...string) {
	tmp := t.TempDir()
	before := map[string]map[string]string{}
	for _, in := range inputs {
		before[in] = hashTree(t, in)
	}
	n := 0
	out := func() string { n++; return filepath.Join(tmp, fmt.Sprintf("out%d", n)) }
	for _, in := range inputs {
		for _, args := range [][]string{
			{"meta", in}, {"meta", "--force", "--json", in},
			{"stats", in}, {"stats", "--force", "--json", in},
			{"filter", "--show-system", "--out", out(), in}, {"filter", "--force", "--out", out(), in},
			{"verify", in}, {"verify", "--json", in}, {"diff", in},
			{"replay", in}, {"replay", "--force", "--format", "json", in},
			{"repair", "--out", out(), in}, {"repair", "--json", "--out", out(), in},
			{"play", "--dry-run", "127.0.0.1:1", in},
		} {
			stdout, stderr, code := runCLI(t, args...)
			if code < 0 || code > 2 || strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("xlogtool %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, head(stdout), stderr)
			}
		}
	}
	for _, in := range inputs {
		if d := diffHashes(before[in], hashTree(t, in)); d != "" {
			t.Errorf("%s changed: %s", in, d)
		}
	}
}

func diffHashes(a, b map[string]string) string {
	var out []string
	for p, h := range a {
		if b[p] != h {
			out = append(out, "changed or removed "+p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, "created "+p)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// A directory without log files is a usage error for the commands that
// read files, not an empty success.
func TestNoLogFiles(t *testing.T) {
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "00000000000000000000.xlog.inprogress"), []byte("x"), 0o644)
	outDir := filepath.Join(t.TempDir(), "out")
	for _, args := range [][]string{
		{"cat", empty}, {"meta", empty}, {"stats", empty}, {"filter", "--out", outDir, empty},
		{"play", "--dry-run", "127.0.0.1:1", empty},
	} {
		_, stderr, code := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "no .xlog, .snap or .vylog files in "+empty) {
			t.Errorf("xlogtool %s: exit %d, want %d\n%s", strings.Join(args, " "), code, exitUsage, stderr)
		}
	}
	if _, err := os.Stat(outDir); err == nil {
		t.Errorf("filter created %s with nothing to copy", outDir)
	}
}

// filter reports the damage that stops an input once, not twice.
func TestFilterDamageReportedOnce(t *testing.T) {
	damaged := damagedSample(t)
	_, stderr := mustRun(t, exitDamage, "filter", "--show-system", "--out", t.TempDir(),
		filepath.Join(damaged, "00000000000000000000.xlog"))
	if n := strings.Count(stderr, "block checksum mismatch"); n != 1 {
		t.Errorf("damage reported %d times, want once:\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "offset 863") {
		t.Errorf("no offset in\n%s", stderr)
	}
}

// A dry run that stops at damage says it sent nothing instead of talking
// about rows applied and a state to resume from.
func TestPlayDryRunStopsAtDamage(t *testing.T) {
	damaged := damagedSample(t)
	_, stderr := mustPlay(t, exitDamage, "--dry-run", "127.0.0.1:1", damaged)
	if !strings.Contains(stderr, "dry run stopped: ") || !strings.Contains(stderr, "offset 863") ||
		!strings.Contains(stderr, "would have applied before stopping") {
		t.Errorf("dry run stop message:\n%s", stderr)
	}
	for _, bad := range []string{"no --state file", "\n  applied before stopping", "play stopped"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("dry run says %q:\n%s", bad, stderr)
		}
	}
}

// verify names an instance given as "." after its directory.
func TestVerifyDotName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "i1")
	copyDir(t, sampleDir, dir)
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	out, _ := mustRun(t, 0, "verify", "--json", ".")
	if !strings.Contains(out, `"name": "i1"`) {
		t.Errorf("instance not named i1:\n%s", head(out))
	}
}
