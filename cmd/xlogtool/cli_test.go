package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/stats"
)

// cliMu serialises runCLI: it swaps os.Stdout and os.Stderr.
var cliMu sync.Mutex

// runCLI runs the command line in process and returns what it printed and
// its exit status.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cliMu.Lock()
	defer cliMu.Unlock()
	oldOut, oldErr := os.Stdout, os.Stderr
	rOut, wOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rErr, wErr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var bo, be bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { io.Copy(&bo, rOut); wg.Done() }()
	go func() { io.Copy(&be, rErr); wg.Done() }()
	os.Stdout, os.Stderr = wOut, wErr
	code = run(args)
	os.Stdout, os.Stderr = oldOut, oldErr
	wOut.Close()
	wErr.Close()
	wg.Wait()
	rOut.Close()
	rErr.Close()
	// Output to a pipe never carries the progress line.
	if strings.Contains(be.String(), "\r") {
		t.Errorf("xlogtool %s: progress drawn on a pipe: %q", strings.Join(args, " "), be.String())
	}
	return bo.String(), be.String(), code
}

// mustRun runs the command line and fails unless it exits with want.
func mustRun(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, args...)
	if code != want {
		t.Fatalf("xlogtool %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), code, want, head(stdout), stderr)
	}
	return stdout, stderr
}

func head(s string) string {
	if len(s) > 4000 {
		return s[:4000] + "..."
	}
	return s
}

const sampleDir = "../../testdata/sample"

func sample(name string) string { return filepath.Join(sampleDir, name) }

func readerFixture(t *testing.T, rel string) string {
	return filepath.Join(testfix.Dir(t), "tarantool/test/xlog/reader", rel)
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, head(s))
	}
	return v
}

// metaFile is the part of meta --json the tests look at.
type metaFile struct {
	File       string            `json:"file"`
	Type       string            `json:"type"`
	Version    string            `json:"version"`
	Instance   string            `json:"instance"`
	VClock     map[string]uint64 `json:"vclock"`
	PrevVClock map[string]uint64 `json:"prev_vclock"`
	EndVClock  map[string]uint64 `json:"end_vclock"`
	Blocks     int               `json:"blocks"`
	Plain      int               `json:"plain_blocks"`
	Zstd       int               `json:"zstd_blocks"`
	Rows       int64             `json:"rows"`
	Replicas   []struct {
		ReplicaID uint32 `json:"replica_id"`
		Rows      int64  `json:"rows"`
		FirstLSN  uint64 `json:"first_lsn"`
		LastLSN   uint64 `json:"last_lsn"`
	} `json:"replicas"`
	End          string `json:"end"`
	GoodEnd      int64  `json:"good_end"`
	Size         int64  `json:"size"`
	NameMismatch string `json:"name_mismatch"`
	Warnings     []struct {
		Kind string `json:"kind"`
	} `json:"warnings"`
	Damage []struct {
		Offset  int64  `json:"offset"`
		Kind    string `json:"kind"`
		Skipped int64  `json:"skipped"`
	} `json:"damage"`
}

// oracleRanges sums up the oracle's rows: count and first/last LSN per
// replica id.
func oracleRanges(rows []map[string]any) map[uint32][3]uint64 {
	out := map[uint32][3]uint64{}
	for _, r := range rows {
		h := r["HEADER"].(map[string]any)
		var id, lsn uint64
		if v, ok := h["replica_id"].(json.Number); ok {
			fmt.Sscan(v.String(), &id)
		}
		if v, ok := h["lsn"].(json.Number); ok {
			fmt.Sscan(v.String(), &lsn)
		}
		c, seen := out[uint32(id)]
		if !seen {
			c[1] = lsn
		}
		c[0]++
		c[2] = lsn
		out[uint32(id)] = c
	}
	return out
}

// meta on real files agrees with what Tarantool's reader decodes from them:
// rows, and first/last LSN per replica id; blocks and the end state as the
// files were written.
func TestMetaFixtures(t *testing.T) {
	for _, tc := range []struct {
		rel                 string
		version             string
		blocks, plain, zstd int
	}{
		{"tarantool/test/xlog/reader/v13/00000000000000000000.ok.xlog", "0.13", 9, 9, 0},
		{"tarantool/test/xlog/reader/v12/00000000000000000000.ok.xlog", "0.12", 9, 9, 0},
		{"tarantool/test/xlog/reader/v13/00000000000000000000.ok.snap", "0.13", 1, 0, 1},
		{"tarantool/test/replication-luatest/gh_7932_data/good_xlog/00000000000000000000.xlog", "0.13", 10, 10, 0},
	} {
		t.Run(tc.rel, func(t *testing.T) {
			path := filepath.Join(testfix.Dir(t), tc.rel)
			out, _ := mustRun(t, 0, "meta", "--json", path)
			list := decodeJSON[[]metaFile](t, out)
			if len(list) != 1 {
				t.Fatalf("%d files", len(list))
			}
			m := list[0]
			oracle, _ := testfix.Oracle(t, tc.rel)
			if m.Rows != int64(len(oracle)) {
				t.Errorf("rows %d, oracle %d", m.Rows, len(oracle))
			}
			if m.Version != tc.version || m.Blocks != tc.blocks || m.Plain != tc.plain || m.Zstd != tc.zstd {
				t.Errorf("version %s blocks %d (%d plain, %d zstd), want %s %d (%d, %d)",
					m.Version, m.Blocks, m.Plain, m.Zstd, tc.version, tc.blocks, tc.plain, tc.zstd)
			}
			if m.End != "clean" || len(m.Damage) != 0 || m.GoodEnd != m.Size {
				t.Errorf("end %s at %d of %d, damage %v", m.End, m.GoodEnd, m.Size, m.Damage)
			}
			want := oracleRanges(oracle)
			if len(m.Replicas) != len(want) {
				t.Fatalf("replicas %+v, oracle %v", m.Replicas, want)
			}
			for _, r := range m.Replicas {
				w := want[r.ReplicaID]
				if uint64(r.Rows) != w[0] || r.FirstLSN != w[1] || r.LastLSN != w[2] {
					t.Errorf("replica %d: %d rows LSN %d..%d, oracle %d rows %d..%d",
						r.ReplicaID, r.Rows, r.FirstLSN, r.LastLSN, w[0], w[1], w[2])
				}
			}
		})
	}
}

// In a WAL directory written by Tarantool, the vclock after each file is
// the VClock of the next one; the header fields come through.
func TestMetaSample(t *testing.T) {
	out, stderr := mustRun(t, 0, "meta", "--json", sampleDir)
	if stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	list := decodeJSON[[]metaFile](t, out)
	var wals []metaFile
	for _, m := range list {
		if m.Instance != "8244848b-532e-4988-b27a-e4326c6ccb1c" || m.End != "clean" || m.NameMismatch != "" {
			t.Errorf("%s: %+v", m.File, m)
		}
		if m.Type == "XLOG" {
			wals = append(wals, m)
		}
	}
	if len(list) != 5 || len(wals) != 3 {
		t.Fatalf("%d files, %d WALs", len(list), len(wals))
	}
	first := wals[0]
	if first.Rows != 33 || first.PrevVClock != nil || len(first.Replicas) != 2 ||
		first.Replicas[0].ReplicaID != 0 || first.Replicas[0].LastLSN != 1 ||
		first.Replicas[1].FirstLSN != 1 || first.Replicas[1].LastLSN != 32 {
		t.Errorf("first WAL: %+v", first)
	}
	for i := 1; i < len(wals); i++ {
		if fmt.Sprint(wals[i-1].EndVClock) != fmt.Sprint(wals[i].VClock) ||
			fmt.Sprint(wals[i].PrevVClock) != fmt.Sprint(wals[i-1].VClock) {
			t.Errorf("%s ends at %v, %s starts at %v after %v",
				wals[i-1].File, wals[i-1].EndVClock, wals[i].File, wals[i].VClock, wals[i].PrevVClock)
		}
	}

	table, _ := mustRun(t, 0, "meta", sample("00000000000000000000.xlog"))
	for _, want := range []string{"XLOG 0.13", "2.6.0-0-g47aa4e01e", "{0: 1, 1: 32}", "LSN 1..32", "clean (EOF marker present)", "damage"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

// Damaged files: exit 1 and the damage named; --force reads on and finds
// the rows Tarantool's reader finds.
func TestMetaDamage(t *testing.T) {
	crc := readerFixture(t, "crc.bad.xlog")
	out, _ := mustRun(t, 1, "meta", "--json", crc)
	m := decodeJSON[[]metaFile](t, out)[0]
	if m.End != "corrupt" || len(m.Damage) != 1 || m.Damage[0].Kind != "crc-mismatch" || m.Rows != 4 {
		t.Errorf("crc.bad.xlog: %+v", m)
	}
	out, _ = mustRun(t, 1, "meta", "--json", "--force", crc)
	m = decodeJSON[[]metaFile](t, out)[0]
	oracle, _ := testfix.Oracle(t, "tarantool/test/xlog/reader/crc.bad.xlog")
	if m.End != "clean" || len(m.Damage) != 1 || m.Damage[0].Skipped == 0 || m.Rows != int64(len(oracle)) {
		t.Errorf("crc.bad.xlog --force: %+v (oracle %d rows)", m, len(oracle))
	}

	out, _ = mustRun(t, 1, "meta", "--json", readerFixture(t, "eof.bad.xlog"))
	m = decodeJSON[[]metaFile](t, out)[0]
	if m.Type != "VYLOG" || m.NameMismatch == "" || len(m.Damage) != 1 || m.Damage[0].Kind != "trailing-garbage" {
		t.Errorf("eof.bad.xlog: %+v", m)
	}
	out, _ = mustRun(t, 1, "meta", "--json", readerFixture(t, "version.bad.xlog"))
	m = decodeJSON[[]metaFile](t, out)[0]
	if m.Version != "0.07" || len(m.Damage) != 1 || m.Damage[0].Kind != "bad-header" {
		t.Errorf("version.bad.xlog: %+v", m)
	}

	// A torn tail is a warning, not damage.
	data, err := os.ReadFile(sample("00000000000000000000.xlog"))
	if err != nil {
		t.Fatal(err)
	}
	torn := filepath.Join(t.TempDir(), "00000000000000000000.xlog")
	if err := os.WriteFile(torn, data[:len(data)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = mustRun(t, 0, "meta", "--json", torn)
	m = decodeJSON[[]metaFile](t, out)[0]
	if m.End != "torn" || len(m.Warnings) != 1 || len(m.Damage) != 0 || m.Rows >= 33 {
		t.Errorf("torn: %+v", m)
	}

	// A name that is not the signature of the VClock.
	wrong := filepath.Join(t.TempDir(), "00000000000000000007.xlog")
	if err := os.WriteFile(wrong, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = mustRun(t, 1, "meta", "--json", wrong)
	if m = decodeJSON[[]metaFile](t, out)[0]; !strings.Contains(m.NameMismatch, "signature 7") {
		t.Errorf("name mismatch: %q", m.NameMismatch)
	}

	mustRun(t, 2, "meta", filepath.Join(t.TempDir(), "missing.xlog"))
	mustRun(t, 2, "meta", "--no-such-flag", crc)
}

// stats on the sample WAL written by Tarantool 2.6.0: the CONFIRM and
// ROLLBACK rows, transactions, spaces named from the snapshot.
func TestStatsSample(t *testing.T) {
	out, _ := mustRun(t, 0, "stats", "--json", "--show-system", sampleDir)
	r := decodeJSON[stats.Report](t, out)
	if r.Files != 5 || r.RowsRead != 1077 || r.Rows != 1077 || r.Blocks != 34 || r.ZstdBlocks != 3 {
		t.Errorf("files %d rows %d/%d blocks %d/%d", r.Files, r.Rows, r.RowsRead, r.Blocks, r.ZstdBlocks)
	}
	if r.Synchro != (stats.Synchro{Confirm: 8, Rollback: 1}) {
		t.Errorf("synchro %+v", r.Synchro)
	}
	// 36 WAL rows: two 3-row transactions (LSN 20..22, and 24 + a local row
	// + the NOP 25), the rest single rows. 2.6.0 writes no WAIT_ACK flags:
	// the synchronous ones are those writing space 512 (is_sync in the
	// snapshot's _space): LSN 10, 12, 14, 16, 18, 20..22, 29, 31, 34.
	tx := r.Transactions
	if tx.Count != 32 || tx.Rows != 36 || tx.MultiRow != 2 || tx.MinRows != 1 || tx.MaxRows != 3 || tx.Incomplete != 0 {
		t.Errorf("transactions %+v", tx)
	}
	if st := r.SyncTransactions; st.Count != 9 || st.Rows != 11 || st.MultiRow != 1 {
		t.Errorf("sync transactions %+v", r.SyncTransactions)
	}
	names := map[uint32]string{}
	var total stats.Counter
	for _, s := range r.Spaces {
		names[s.SpaceID] = s.Name
		total.Rows += s.Rows
	}
	if names[512] != "accounts" || names[513] != "events" || names[514] != "local_state" || names[280] != "_space" {
		t.Errorf("space names %v", names)
	}
	// Every row but the 8 CONFIRMs, the ROLLBACK and the NOP has a space.
	if total.Rows != r.Rows-10 {
		t.Errorf("rows with a space %d of %d", total.Rows, r.Rows)
	}
	for _, rc := range r.Replicas {
		if rc.ReplicaID == 1 && (rc.Rows != 35 || rc.FirstLSN != 1 || rc.LastLSN != 35) {
			t.Errorf("replica 1: %+v", rc)
		}
	}

	// Filters select as in cat: CONFIRM/ROLLBACK only, and the default hides
	// system spaces.
	out, _ = mustRun(t, 0, "stats", "--json", "--type", "CONFIRM,ROLLBACK", sampleDir)
	r = decodeJSON[stats.Report](t, out)
	if r.Rows != 9 || len(r.Types) != 2 || r.Transactions.Count != 9 {
		t.Errorf("CONFIRM,ROLLBACK: %d rows, %+v, %d transactions", r.Rows, r.Types, r.Transactions.Count)
	}
	catOut, _ := mustRun(t, 0, "cat", "--format", "json", sampleDir)
	out, _ = mustRun(t, 0, "stats", "--json", sampleDir)
	r = decodeJSON[stats.Report](t, out)
	if n := strings.Count(catOut, "\n"); r.Rows != int64(n) || r.RowsRead != 1077 {
		t.Errorf("stats selects %d rows of %d, cat prints %d", r.Rows, r.RowsRead, n)
	}
	// --space 512: the transaction 20..22 keeps two rows.
	out, _ = mustRun(t, 0, "stats", "--json", "--space", "512", sample("00000000000000000000.xlog"))
	r = decodeJSON[stats.Report](t, out)
	if r.Rows != 9 || r.Transactions.Count != 8 || r.Transactions.MaxRows != 2 || len(r.Spaces) != 1 {
		t.Errorf("--space 512: %d rows, transactions %+v, spaces %+v", r.Rows, r.Transactions, r.Spaces)
	}

	table, _ := mustRun(t, 0, "stats", sampleDir)
	for _, want := range []string{"Rows by type", "Rows by space", "accounts", "CONFIRM / ROLLBACK", "8 / 1", "Transactions"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

// stats counts the rows by type exactly as Tarantool's reader decodes them.
func TestStatsFixtures(t *testing.T) {
	for _, rel := range []string{
		"tarantool/test/xlog/reader/v13/00000000000000000000.ok.snap",
		"tarantool/test/replication-luatest/gh_7932_data/good_xlog/00000000000000000000.xlog",
		"tarantool/test/vinyl-luatest/gh_9965_data/00000000000000000012.vylog",
	} {
		out, _ := mustRun(t, 0, "stats", "--json", "--show-system", filepath.Join(testfix.Dir(t), rel))
		r := decodeJSON[stats.Report](t, out)
		oracle, _ := testfix.Oracle(t, rel)
		want := map[string]int64{}
		for _, row := range oracle {
			h := testfix.Normalize(row)["HEADER"].(map[string]any)
			want[fmt.Sprint(h["type"])]++
		}
		got := map[string]int64{}
		for _, tc := range r.Types {
			got[tc.Type] = tc.Rows
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || r.Rows != int64(len(oracle)) {
			t.Errorf("%s: types %v, oracle %v", rel, got, want)
		}
	}
	// The anomaly of gh-7932: two transactions interleaved; each piece
	// before the other's row counts as incomplete.
	out, _ := mustRun(t, 0, "stats", "--json", "--show-system",
		filepath.Join(testfix.Dir(t), "tarantool/test/replication-luatest/gh_7932_data/good_xlog/00000000000000000000.xlog"))
	if r := decodeJSON[stats.Report](t, out); r.Transactions.Incomplete != 4 || r.Transactions.Count != 10 {
		t.Errorf("gh-7932: %+v", r.Transactions)
	}

	mustRun(t, 1, "stats", readerFixture(t, "crc.bad.xlog"))
	out, _ = mustRun(t, 1, "stats", "--json", "--force", "--show-system", readerFixture(t, "crc.bad.xlog"))
	if r := decodeJSON[stats.Report](t, out); r.Rows != 8 || r.DamagedFiles != 1 {
		t.Errorf("crc.bad.xlog --force: %d rows, %d damaged", r.Rows, r.DamagedFiles)
	}
	mustRun(t, 2, "stats", "--type", "NO_SUCH_TYPE", sampleDir)
}

func TestCat(t *testing.T) {
	out, _ := mustRun(t, 0, "cat", "--format", "json", "--type", "CONFIRM,ROLLBACK", sample("00000000000000000000.xlog"))
	if n := strings.Count(out, "\n"); n != 8 || !strings.Contains(out, `"type":"ROLLBACK"`) {
		t.Errorf("%d rows:\n%s", n, out)
	}
	out, _ = mustRun(t, 0, "cat", sample("00000000000000000033.xlog"))
	if !strings.HasPrefix(out, "---\nHEADER:\n  lsn: 33\n") || !strings.HasSuffix(out, "...\n\n") {
		t.Errorf("yaml:\n%s", head(out))
	}
	_, stderr := mustRun(t, 1, "cat", readerFixture(t, "crc.bad.xlog"))
	if !strings.Contains(stderr, "checksum mismatch") {
		t.Errorf("stderr: %s", stderr)
	}
	mustRun(t, 2, "cat", "--format", "xml", sampleDir)
	mustRun(t, 2, "cat", filepath.Join(t.TempDir(), "missing"))
}

// fileHashes returns the SHA-256 of every file in dir.
func fileHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(b))
	}
	return out
}

// filter writes files named as the inputs, never overwrites, never touches
// the inputs, and copies all rows unchanged without a filter.
func TestFilterFiles(t *testing.T) {
	before := fileHashes(t, sampleDir)
	out := t.TempDir()
	stdout, _ := mustRun(t, 0, "filter", "--show-system", "--out", out, sampleDir)
	if strings.Count(stdout, "\n") != 5 {
		t.Errorf("stdout:\n%s", stdout)
	}
	for name := range before {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("no output for %s: %v", name, err)
		}
	}
	// Every row comes through as it was.
	orig, _ := mustRun(t, 0, "cat", "--format", "json", "--show-system", sampleDir)
	copied, _ := mustRun(t, 0, "cat", "--format", "json", "--show-system", out)
	if orig != copied {
		t.Errorf("copy differs:\n%s\n---\n%s", head(orig), head(copied))
	}
	metaOrig, _ := mustRun(t, 0, "meta", "--json", sampleDir)
	metaCopy, _ := mustRun(t, 0, "meta", "--json", out)
	a, b := decodeJSON[[]metaFile](t, metaOrig), decodeJSON[[]metaFile](t, metaCopy)
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Instance != b[i].Instance || fmt.Sprint(a[i].VClock) != fmt.Sprint(b[i].VClock) ||
			fmt.Sprint(a[i].PrevVClock) != fmt.Sprint(b[i].PrevVClock) || b[i].End != "clean" {
			t.Errorf("header of %s: %+v, copy %+v", a[i].File, a[i], b[i])
		}
	}

	// Again into the same directory: nothing is overwritten.
	copiedHashes := fileHashes(t, out)
	_, stderr := mustRun(t, 2, "filter", "--show-system", "--out", out, sampleDir)
	if !strings.Contains(stderr, "already exists") {
		t.Errorf("stderr: %s", stderr)
	}
	if after := fileHashes(t, out); fmt.Sprint(after) != fmt.Sprint(copiedHashes) {
		t.Errorf("outputs changed")
	}
	// Into the input directory: the inputs exist, so nothing is written.
	mustRun(t, 2, "filter", "--show-system", "--out", sampleDir, sample("00000000000000000000.xlog"))
	if after := fileHashes(t, sampleDir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("inputs changed: %v", after)
	}

	// Format 0.12 stays one row per block; damage is reported with exit 1.
	v12 := t.TempDir()
	mustRun(t, 0, "filter", "--show-system", "--space", "512", "--out", v12, readerFixture(t, "v12/00000000000000000000.ok.xlog"))
	meta, _ := mustRun(t, 0, "meta", "--json", filepath.Join(v12, "00000000000000000000.xlog"))
	if m := decodeJSON[[]metaFile](t, meta)[0]; m.Version != "0.12" || m.Rows != 6 || m.Blocks != 6 {
		t.Errorf("v12 copy: %+v", m)
	}
	_, stderr = mustRun(t, 1, "filter", "--out", t.TempDir(), readerFixture(t, "crc.bad.xlog"))
	if !strings.Contains(stderr, "checksum mismatch") {
		t.Errorf("stderr: %s", stderr)
	}
	mustRun(t, 2, "filter", sampleDir)

	// --verbatim: the same files, counted in blocks and bytes.
	plain, stored := t.TempDir(), t.TempDir()
	mustRun(t, 0, "filter", "--show-system", "--out", plain, sampleDir)
	stdout, _ = mustRun(t, 0, "filter", "--verbatim", "--out", stored, sampleDir)
	if fmt.Sprint(fileHashes(t, plain)) != fmt.Sprint(fileHashes(t, stored)) ||
		strings.Count(stdout, "copied as they are (rows not read)\n") != 5 {
		t.Errorf("--verbatim: %v, %v\n%s", fileHashes(t, plain), fileHashes(t, stored), stdout)
	}
	_, stderr = mustRun(t, 1, "filter", "--verbatim", "--out", t.TempDir(), readerFixture(t, "crc.bad.xlog"))
	if !strings.Contains(stderr, "checksum mismatch") {
		t.Errorf("stderr: %s", stderr)
	}
	_, stderr = mustRun(t, 2, "filter", "--verbatim", "--space", "512", "--out", t.TempDir(), sampleDir)
	if !strings.Contains(stderr, "--space cannot select rows") {
		t.Errorf("stderr: %s", stderr)
	}
}

// rowKey identifies a row of a WAL in JSON.
func rowKey(row map[string]any) string {
	h := row["HEADER"].(map[string]any)
	return fmt.Sprint(h["replica_id"], "/", h["group_id"], "/", h["lsn"])
}

// expectFiltered computes, from every row of a WAL (as cat prints them),
// what the filter must write: the selected rows, with the TSN and COMMIT of
// transactions that lost rows derived again. It is an implementation of the
// rule independent of the one under test.
func expectFiltered(t *testing.T, all []map[string]any, selected map[string]bool) []map[string]any {
	t.Helper()
	var out []map[string]any
	var tx []map[string]any
	flush := func() {
		var kept []map[string]any
		for _, r := range tx {
			if selected[rowKey(r)] {
				kept = append(kept, r)
			}
		}
		whole := len(kept) == len(tx)
		var tsn any
		for _, r := range kept {
			if h := r["HEADER"].(map[string]any); h["group_id"] == nil {
				tsn = h["lsn"]
				break
			}
		}
		if tsn == nil && len(kept) > 0 {
			tsn = kept[0]["HEADER"].(map[string]any)["lsn"]
		}
		for i, r := range kept {
			h := map[string]any{}
			for k, v := range r["HEADER"].(map[string]any) {
				h[k] = v
			}
			if !whole {
				delete(h, "tsn")
				delete(h, "commit")
				if len(kept) > 1 {
					h["tsn"] = tsn
					if i == len(kept)-1 {
						h["commit"] = true
					}
				}
			}
			nr := map[string]any{"HEADER": h}
			if b, ok := r["BODY"]; ok {
				nr["BODY"] = b
			}
			out = append(out, nr)
		}
		tx = tx[:0]
	}
	for _, r := range all {
		tx = append(tx, r)
		h := r["HEADER"].(map[string]any)
		if _, inTx := h["tsn"]; !inTx || h["commit"] == true {
			flush()
		}
	}
	if len(tx) > 0 {
		t.Fatalf("input ends inside a transaction")
	}
	return out
}

func catRows(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	out, _ := mustRun(t, 0, append([]string{"cat", "--format", "json"}, args...)...)
	rows, _ := testfix.ParseRows(t, "cat", []byte(out))
	return rows
}

// Tarantool's own reader reads a filtered WAL back as exactly the selected
// rows, with transactions that lost rows made whole again.
func TestFilterTarantoolReads(t *testing.T) {
	tarantooltest.Require(t)
	input := sample("00000000000000000000.xlog")
	all := catRows(t, "--show-system", input)
	for _, flags := range [][]string{
		{"--show-system", "--to", "21"},                     // transaction 20..22 keeps LSN 20 only
		{"--space", "512"},                                  // 20..22 keeps 20, 21; CONFIRMs dropped
		{"--show-system", "--replica", "1"},                 // the local row of 24..25 dropped
		{"--space", "514"},                                  // only that local row: a local transaction of its own
		{"--show-system", "--type", "UPDATE,INSERT,UPSERT"}, // 20..22 keeps all three
	} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			out := t.TempDir()
			mustRun(t, 0, append(append([]string{"filter", "--out", out}, flags...), input)...)
			selected := map[string]bool{}
			for _, r := range catRows(t, append(flags, input)...) {
				selected[rowKey(r)] = true
			}
			want := expectFiltered(t, all, selected)
			if len(want) == 0 {
				t.Fatal("the filter selects nothing")
			}
			got := tarantooltest.OracleRows(t, filepath.Join(out, "00000000000000000000.xlog"))[0]
			if d := testfix.CompareRows(want, got); d != "" {
				t.Fatalf("Tarantool reads %s", d)
			}
			// And so do we.
			if d := testfix.CompareRows(want, catRows(t, "--show-system", out)); d != "" {
				t.Fatalf("xlogtool reads %s", d)
			}
		})
	}
}

// Tarantool 2.6.0 recovers from a WAL directory whose WAL was filtered: a
// transaction cut in two, one cut to a replica-local row.
func TestFilterRecovery(t *testing.T) {
	tarantooltest.Require(t)
	src := t.TempDir()
	tarantooltest.RunScript(t, src, `
box.cfg{log = 'tarantool.log'}
local a = box.schema.space.create('a') a:create_index('pk')
local loc = box.schema.space.create('loc', {is_local = true}) loc:create_index('pk')
local b = box.schema.space.create('b') b:create_index('pk')
box.begin() a:replace{1} b:replace{1} a:replace{2} box.commit()
box.begin() b:replace{2} loc:replace{1} a:replace{3} box.commit()
box.begin() a:replace{4} loc:replace{2} box.commit()
a:replace{5}
`)
	files, err := format.ScanDir(src)
	if err != nil {
		t.Fatal(err)
	}
	var snap, wal string
	for _, f := range files {
		if f.Ext == ".snap" && snap == "" {
			snap = f.Path
		}
		if f.Ext == ".xlog" && wal == "" {
			wal = f.Path
		}
	}
	// Keep the rows below LSN 14 of replica 1 and the local rows: the
	// second transaction loses its last row, the third keeps only its local
	// row. (Later WAL files are left out: their VClock is past the cut.)
	dst := t.TempDir()
	mustRun(t, 0, "filter", "--show-system", "--to", "14", "--out", dst, wal)
	data, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, filepath.Base(snap)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := tarantooltest.RunScript(t, dst, `
box.cfg{log = 'tarantool.log'}
for _, name in ipairs({'a', 'loc', 'b'}) do
    local keys = {}
    for _, tuple in box.space[name]:pairs() do table.insert(keys, tuple[1]) end
    print(name .. '=' .. table.concat(keys, ','))
end
print('vclock=' .. require('json').encode(box.info.vclock))
`)
	lines := strings.Fields(out)
	sort.Strings(lines)
	if got := strings.Join(lines, " "); got != `a=1,2 b=1,2 loc=1,2 vclock={"0":2,"1":13}` {
		t.Errorf("recovered %s", got)
	}
}
