package format_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/testfix"
)

// A directory contributes every log file, whatever its name, in the order
// of the vclocks in the headers; FIFOs are reported and left out; a file
// reached twice is read once.
func TestCollectFilesByHeader(t *testing.T) {
	src := filepath.Join("..", "testdata", "sample")
	dir := t.TempDir()
	for from, to := range map[string]string{
		"00000000000000000000.snap": "zz.snap",
		"00000000000000000000.xlog": "z.xlog",
		"00000000000000000033.snap": "b.snap",
		"00000000000000000033.xlog": "a.xlog",
		"00000000000000000036.xlog": "00000000000000000036.xlog",
	} {
		testfix.CopyFile(t, filepath.Join(src, from), filepath.Join(dir, to))
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.xlog"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "x.xlog.inprogress"), []byte("junk"), 0o644)
	var skipped []string
	refs, err := format.CollectFiles([]string{dir, dir, filepath.Join(dir, "a.xlog")}, format.CollectOptions{
		OnSkip: func(p, why string) { skipped = append(skipped, filepath.Base(p)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range refs {
		got = append(got, filepath.Base(r.Path))
	}
	want := "zz.snap z.xlog b.snap a.xlog 00000000000000000036.xlog"
	if strings.Join(got, " ") != want {
		t.Errorf("files: got %v, want %s", got, want)
	}
	if len(skipped) != 1 || skipped[0] != "fifo.xlog" {
		t.Errorf("skipped: %v, want the FIFO", skipped)
	}
}

// An explicit argument is taken whatever its name.
func TestCollectExplicitFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "backup.xlog.bak")
	testfix.CopyFile(t, filepath.Join("..", "testdata", "sample", "00000000000000000000.xlog"), p)
	refs, err := format.Collect([]string{p, p}, false)
	if err != nil || len(refs) != 1 || refs[0].Path != p {
		t.Fatalf("got %v, %v", refs, err)
	}
}
