package repair

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/format"
)

// A repair whose output cannot be written in full leaves nothing behind:
// a half-written directory (the snapshot without the WAL files after it)
// would start as if nothing had been lost.
func TestWriteFailureLeavesNoOutput(t *testing.T) {
	in := buildDir(t, buildOpts{})
	path := filepath.Join(in, fC)
	bs := blocksOf(t, path)
	edit(t, path, func(b []byte) []byte { b[bs[4].off+format.FixHeaderSize+10] ^= 0x55; return b })
	before := dirHash(t, in)
	out := filepath.Join(t.TempDir(), "out")
	// The snapshots go into a directory named like the first WAL file:
	// they are written, then the WAL file cannot be created.
	rep, err := Run(Options{WALDir: in, OutDir: out, OutSnapDir: filepath.Join(out, fA), NoSync: true})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err %v, want the WAL file's creation to fail", err)
	}
	if rep == nil || rep.Consistent || !strings.Contains(rep.Error, "could not be written") || len(rep.Files) != 0 {
		t.Errorf("report %+v", rep)
	}
	if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
		ents, _ := os.ReadDir(out)
		t.Errorf("output left behind: %v %v", err, ents)
	}
	if dirHash(t, in) != before {
		t.Errorf("the input directory changed")
	}

	// An output directory that existed (empty) stays, empty.
	out = t.TempDir()
	if _, err := Run(Options{WALDir: in, OutDir: out, OutSnapDir: filepath.Join(out, fA), NoSync: true}); err == nil {
		t.Fatal("no error")
	}
	if ents, err := os.ReadDir(out); err != nil || len(ents) != 0 {
		t.Errorf("output %v, %v; want it empty", ents, err)
	}
}

// An output given as a symbolic link into the input is refused even when
// the link's target does not exist yet.
func TestOutputLinkIntoInput(t *testing.T) {
	in := buildDir(t, buildOpts{})
	link := filepath.Join(t.TempDir(), "out")
	if err := os.Symlink(filepath.Join(in, "sub"), link); err != nil {
		t.Fatal(err)
	}
	before := dirHash(t, in)
	_, err := Run(Options{WALDir: in, OutDir: link, NoSync: true})
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "inside input directory") {
		t.Errorf("err %v, want a usage error", err)
	}
	if dirHash(t, in) != before {
		t.Errorf("the input directory changed")
	}
}
