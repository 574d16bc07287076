package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/verify"
)

// BenchmarkVerify verifies a replica set of three instances whose logs
// were generated with format's writer: replica 1 writes asynchronous
// single- and multi-row transactions and synchronous ones confirmed in
// batches; the other two hold the same rows. XLOGTOOL_BENCH_MB sets the
// size of each instance's WAL (default 32); docs/verify.md has the
// numbers for 1024.
func BenchmarkVerify(b *testing.B) {
	mb := 32
	if s := os.Getenv("XLOGTOOL_BENCH_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("XLOGTOOL_BENCH_MB=%q", s)
		}
		mb = n
	}
	root := os.Getenv("XLOGTOOL_BENCH_DIR")
	if root == "" {
		root = b.TempDir()
	}
	srcs, total := benchReplicaSet(b, root, int64(mb)<<20)
	b.SetBytes(total)
	b.ResetTimer()
	var peak int64
	for i := 0; i < b.N; i++ {
		resetPeakRSS()
		runtime.GC()
		rep, err := verify.Run(context.Background(), srcs, verify.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if rep.HasErrors() || len(rep.Instances) != 3 || rep.Instances[0].Sync.Confirmed == 0 {
			var buf bytes.Buffer
			rep.WriteText(&buf)
			b.Fatalf("unexpected report:\n%s", buf.String())
		}
		peak = max(peak, peakRSS())
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
}

// benchReplicaSet writes (or reuses, under a directory kept between runs)
// three instance directories of about size bytes each.
func benchReplicaSet(b *testing.B, root string, size int64) ([]verify.Source, int64) {
	b.Helper()
	dir := filepath.Join(root, fmt.Sprintf("rs-%dMB", size>>20))
	var srcs []verify.Source
	for i := 1; i <= 3; i++ {
		srcs = append(srcs, verify.Source{Name: fmt.Sprintf("i%d", i), Dir: filepath.Join(dir, fmt.Sprintf("i%d", i))})
	}
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		os.RemoveAll(dir)
		start := time.Now()
		genInstance(b, srcs[0].Dir, size)
		for i := 2; i <= 3; i++ {
			copyWithUUID(b, srcs[0].Dir, srcs[i-1].Dir, uuidOf(1), uuidOf(i))
		}
		os.WriteFile(filepath.Join(dir, "done"), nil, 0o644)
		b.Logf("generated 3 x %d MB in %v", size>>20, time.Since(start).Round(time.Millisecond))
	}
	var total int64
	for _, s := range srcs {
		ents, _ := os.ReadDir(s.Dir)
		for _, e := range ents {
			if info, err := e.Info(); err == nil {
				total += info.Size()
			}
		}
	}
	return srcs, total
}

// genInstance writes replica 1's directory: a snapshot and xlogs rotated
// every 64 MB.
func genInstance(b *testing.B, dir string, size int64) {
	w := newWAL(b, dir, uuidOf(1), v2111)
	w.snapshot(map[uint32]string{1: uuidOf(1), 2: uuidOf(2), 3: uuidOf(3)}, &format.Raft{Term: 1}, &format.Synchro{})
	w.xlog()
	w.raft(2, 1)
	w.promote(1, 0, 0, 2)
	pad := strings.Repeat("x", 80)
	var written int64
	fileStart := int64(0)
	var pendingSync, confirmed uint64
	// Asynchronous transactions wait behind unconfirmed synchronous ones.
	queued := func() uint64 {
		if pendingSync > confirmed {
			return box.FlagWaitSync
		}
		return 0
	}
	confirm := func() {
		if pendingSync > confirmed {
			w.flush()
			w.confirm(1, 1, pendingSync)
			confirmed = pendingSync
			written += 40
		}
	}
	for n := 0; written < size; n++ {
		lsn := w.next(1)
		switch {
		case n%10 == 9: // synchronous, confirmed every few
			body := dmlBody(syncSpace, lsn, pad)
			w.row(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true,
				Flags: box.FlagWaitSync | box.FlagWaitAck}, body)
			pendingSync = lsn
			written += int64(len(body)) + 27
			if n%30 == 29 {
				confirm()
			}
		case n%10 == 5: // a three-row transaction
			for i := uint64(0); i < 3; i++ {
				body := dmlBody(asyncSpace, lsn+i, pad)
				h := format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn + i, TSN: lsn, Commit: i == 2}
				if i == 2 {
					h.Flags = queued()
				}
				w.row(h, body)
				written += int64(len(body)) + 27
			}
		default:
			body := dmlBody(asyncSpace, lsn, pad)
			w.row(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true, Flags: queued()}, body)
			written += int64(len(body)) + 27
		}
		if n%8 == 7 {
			w.flush()
		}
		if written-fileStart > 64<<20 {
			confirm()
			w.flush()
			w.xlog()
			fileStart = written
		}
	}
	confirm()
	w.flush()
	w.done()
}

// copyWithUUID copies a directory, replacing the instance UUID in the file
// headers (same length, so nothing else moves).
func copyWithUUID(b *testing.B, from, to, oldUUID, newUUID string) {
	if err := os.MkdirAll(to, 0o755); err != nil {
		b.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		hdr := min(len(data), 512)
		copy(data[:hdr], bytes.Replace(data[:hdr], []byte(oldUUID), []byte(newUUID), 1))
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// resetPeakRSS resets the kernel's peak resident set size of the process.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns the process's peak resident set size in bytes (Linux).
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
