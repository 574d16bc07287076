package format

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/xlogtool/xlogtool/box"
)

// A file that appears at the output path while the output is written is
// not replaced: closing fails, the file stays as it was, and no
// .inprogress file is left.
func TestCreateDoesNotReplaceAFileThatAppears(t *testing.T) {
	dir := t.TempDir()
	m := &Meta{FileType: TypeXLOG, Version: Version13, VClock: VClock{}, HasVClock: true}
	w, err := Create(dir, m, WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&Header{Type: box.TypeNop, ReplicaID: 1, LSN: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.Path(), []byte("theirs"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = w.Close()
	if !errors.Is(err, ErrExists) {
		t.Fatalf("Close: %v, want an error for the file that appeared", err)
	}
	if b, _ := os.ReadFile(w.Path()); string(b) != "theirs" {
		t.Errorf("the file that appeared was replaced: %q", b)
	}
	if _, err := os.Stat(w.Path() + ".inprogress"); !os.IsNotExist(err) {
		t.Errorf(".inprogress left behind: %v", err)
	}
}

// Both ways of linking without replacing refuse an existing name.
func TestLinkNoReplace(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("a"), 0o644)
	os.WriteFile(b, []byte("b"), 0o644)
	if err := LinkNoReplace(a, b); !errors.Is(err, ErrExists) {
		t.Errorf("LinkNoReplace onto an existing file: %v", err)
	}
	if got, _ := os.ReadFile(b); string(got) != "b" {
		t.Errorf("replaced: %q", got)
	}
	c := filepath.Join(dir, "c")
	if err := LinkNoReplace(a, c); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a); !os.IsNotExist(err) {
		t.Errorf("source still there: %v", err)
	}
	// The link-and-unlink path, as on systems without renameat2.
	if err := os.Link(c, b); err == nil || !errors.Is(wrapExists(err, b), ErrExists) {
		t.Errorf("link onto an existing file: %v", err)
	}
}
