package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/internal/testproc"
)

// envRunMain makes the test binary run the command line given as its
// arguments instead of the tests: the memory tests measure a process of
// their own.
const envRunMain = "XLOGTOOL_TEST_RUN_MAIN"

// envHostileFull turns on the slower variants of the memory tests: every
// command on a bomb, eight bombs read through with --force.
const envHostileFull = "XLOGTOOL_HOSTILE_FULL"

func init() {
	if os.Getenv(envRunMain) == "1" {
		os.Exit(run(os.Args[1:]))
	}
}

// memCeiling is the peak RSS allowed when reading hostile files: the bound
// of a block (format.DefaultMaxBlockSize, decompressed once) plus room for
// the buffers grown on the way to it and the runtime. Without the bounds
// these files took 4 to 12 GB.
const memCeiling = 3 * format.DefaultMaxBlockSize

// runMeasured runs xlogtool in a process of its own and returns its exit
// status, output and peak RSS in bytes.
func runMeasured(t *testing.T, args ...string) (code int, stderr string, rss int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	cmd.SysProcAttr = testproc.SysProcAttr()
	var eb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &eb, &eb // meta reports damage on stdout
	err := cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("xlogtool %s: %v", strings.Join(args, " "), err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no rusage on this system")
	}
	return cmd.ProcessState.ExitCode(), eb.String(), ru.Maxrss * 1024
}

// checkBounded runs xlogtool on a hostile file and checks that it exits 1,
// saying want (the offset and the message), within memCeiling.
func checkBounded(t *testing.T, want [2]string, args ...string) {
	t.Helper()
	code, out, rss := runMeasured(t, args...)
	t.Logf("xlogtool %s: exit %d, peak RSS %d MB", strings.Join(args, " "), code, rss>>20)
	if code != exitDamage || !strings.Contains(out, want[0]) || !strings.Contains(out, want[1]) {
		t.Errorf("xlogtool %s: exit %d, output:\n%s\nwant exit 1 and %q", strings.Join(args, " "), code, out, want)
	}
	if rss > memCeiling {
		t.Errorf("xlogtool %s: peak RSS %d MB, over %d MB", strings.Join(args, " "), rss>>20, memCeiling>>20)
	}
}

// A 66 KB xlog whose one zstd block (checksum correct) inflates to 2 GB:
// refused at the block's offset after inflating no more than the bound.
func TestZstdBombMemory(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "00000000000000000000.xlog")
	if err := os.WriteFile(one, testfix.BombLog(1, 2<<30), 0o644); err != nil {
		t.Fatal(err)
	}
	hdr := bytes.Index(testfix.BombLog(1, 1), format.MagicZstd[:])
	want := [2]string{fmt.Sprint(hdr), fmt.Sprintf("zstd block of %d bytes inflates past the %d bytes a block may hold",
		len(testfix.ZstdBomb(2<<30, 0)), format.DefaultMaxBlockSize)}
	checkBounded(t, want, "cat", one)
	// Eight of them: the blocks read ahead are inflated no further than a
	// small bound each, and their buffers are not kept.
	eight := filepath.Join(dir, "eight.xlog")
	if err := os.WriteFile(eight, testfix.BombLog(8, 2<<30), 0o644); err != nil {
		t.Fatal(err)
	}
	checkBounded(t, want, "stats", eight)
	if os.Getenv(envHostileFull) != "1" {
		return // each bomb costs a second or two of CPU
	}
	checkBounded(t, want, "cat", "--force", eight)
	for _, args := range [][]string{{"meta"}, {"stats"}, {"filter", "--out", filepath.Join(dir, "out")}} {
		checkBounded(t, want, append(args, one)...)
	}
	vdir := filepath.Join(dir, "verify")
	if err := os.Mkdir(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(one, filepath.Join(vdir, filepath.Base(one))); err != nil {
		t.Fatal(err)
	}
	checkBounded(t, want, "verify", vdir)
	snap := filepath.Join(dir, "00000000000000000000.snap")
	// With its EOF marker: a snapshot without one is refused unread.
	snapData := append(append([]byte("SNAP"), testfix.BombLog(1, 2<<30)[4:]...), format.MagicEOF[:]...)
	if err := os.WriteFile(snap, snapData, 0o644); err != nil {
		t.Fatal(err)
	}
	checkBounded(t, want, "replay", snap)
}

// A 2 GiB sparse file whose first block claims ~2 GiB and holds 8 KB: the
// reader reads no more than the bound, in pieces, and stops there; so it
// does from a FIFO.
func TestHugeLengthMemory(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "00000000000000000000.xlog")
	data := []byte("XLOG\n0.13\nVersion: 2.6.0-0-g47aa4e01e\nInstance: 8244848b-532e-4988-b27a-e4326c6ccb1c\nVClock: {1: 0}\n\n")
	off := len(data)
	// A plain block of 2 GiB - 1 zero bytes (whose checksum is 0), then 8 KB.
	data = append(data, format.MagicPlain[:]...)
	data = append(data, 0xce, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0xa7, 0, 0, 0, 0, 0, 0, 0)
	data = append(data, bytes.Repeat([]byte{0x81, 0x00, 0x02}, 8<<10/3)...)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(2 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := [2]string{fmt.Sprintf("offset %d:", off), fmt.Sprintf("block of 2147483647 bytes is larger than the %d bytes a block may hold", format.DefaultMaxBlockSize)}
	checkBounded(t, want, "cat", p)

	fifo := filepath.Join(dir, "fifo.xlog")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		src, err := os.Open(p)
		if err == nil {
			_, err = io.Copy(w, src) // ends with EPIPE when the reader stops
			src.Close()
		}
		w.Close()
		done <- nil
	}()
	checkBounded(t, want, "cat", fifo)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
