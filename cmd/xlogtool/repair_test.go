package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// runRepairCLI runs the command line in process and returns its output
// and exit status.
func runRepairCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	stdout, stderr, code := runCLI(t, args...)
	if code == exitUsage {
		stdout += stderr
	}
	return stdout, code
}

// repairInput writes a snapshot at {1: 2} and one WAL (rows 3..8, one
// block each) with our writer, and returns the directory.
func repairInput(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var v format.VClock
	v.Set(1, 2)
	const uuid = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	body := []byte{0x82, 0x10, 0xcd, 0x02, 0x00, 0x21, 0x91, 0x01}
	for _, typ := range []string{format.TypeSNAP, format.TypeXLOG} {
		m := &format.Meta{FileType: typ, Instance: uuid, VClock: v, HasVClock: true}
		w, err := format.Create(dir, m, format.WriterOptions{BlockSize: 1, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		for lsn := uint64(3); lsn <= 8; lsn++ {
			h := format.Header{Type: box.TypeInsert, LSN: lsn, TSN: lsn, Commit: true}
			if typ == format.TypeXLOG {
				h.ReplicaID = 1
			}
			if err := w.Write(&h, body); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRepairCommandJSON(t *testing.T) {
	in := repairInput(t)
	wal := filepath.Join(in, "00000000000000000002.xlog")
	b, err := os.ReadFile(wal)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the payload of the last block (row 8).
	b[len(b)-4-3] ^= 0xff
	if err := os.WriteFile(wal, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	stdout, code := runRepairCLI(t, "repair", "--json", "--out", out, in)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stdout)
	}
	var rep struct {
		Consistent bool `json:"consistent"`
		Lost       []struct {
			ReplicaID uint32 `json:"replica_id"`
			LSNFrom   uint64 `json:"lsn_from"`
			LSNTo     uint64 `json:"lsn_to"`
			File      string `json:"file"`
			Reason    string `json:"reason"`
		} `json:"lost"`
		Repaired []struct {
			File   string `json:"file"`
			Action string `json:"action"`
		} `json:"repaired"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if !rep.Consistent || len(rep.Lost) != 1 || rep.Lost[0].ReplicaID != 1 || rep.Lost[0].LSNFrom != 8 ||
		rep.Lost[0].File != "00000000000000000002.xlog" || rep.Lost[0].Reason == "" {
		t.Errorf("report: %s", stdout)
	}
	found := false
	for _, a := range rep.Repaired {
		found = found || (a.File == "00000000000000000002.xlog" && a.Action == "drop-damaged-block")
	}
	if !found {
		t.Errorf("no drop-damaged-block action: %s", stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "00000000000000000002.xlog")); err != nil {
		t.Error(err)
	}

	// The text report, into another directory.
	stdout, code = runRepairCLI(t, "repair", "--out", filepath.Join(t.TempDir(), "o"), in)
	if code != exitOK || !strings.Contains(stdout, "replica 1 LSN 8") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

func TestRepairCommandExitCodes(t *testing.T) {
	in := repairInput(t)
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"no --out", []string{"repair", in}},
		{"no input", []string{"repair", "--out", filepath.Join(t.TempDir(), "o")}},
		{"missing input", []string{"repair", "--out", filepath.Join(t.TempDir(), "o"), filepath.Join(in, "nope")}},
		{"output not empty", []string{"repair", "--out", full, in}},
		{"output inside input", []string{"repair", "--out", filepath.Join(in, "o"), in}},
		{"bad flag", []string{"repair", "--bogus", in}},
	} {
		if out, code := runRepairCLI(t, c.args...); code != exitUsage {
			t.Errorf("%s: exit %d, want %d\n%s", c.name, code, exitUsage, out)
		}
	}

	// Without a snapshot to start from nothing can be repaired.
	snap := filepath.Join(in, "00000000000000000002.snap")
	b, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(snap, b[:len(b)-4], 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "o")
	stdout, code := runRepairCLI(t, "repair", "--out", out, in)
	if code != exitDamage || !strings.Contains(stdout, "NOT repaired") {
		t.Errorf("exit %d, want %d:\n%s", code, exitDamage, stdout)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output written although nothing could be repaired: %v", err)
	}
}
