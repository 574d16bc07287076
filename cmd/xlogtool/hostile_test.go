package main

// Hostile inputs: torn, renamed, duplicated and non-regular files, and the
// point-in-time corner cases, exit codes, messages and help.

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/play"
)

// sampleCopy copies the sample data dir into a new temporary directory.
func sampleCopy(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	copyDir(t, sampleDir, dir)
	return dir
}

func truncateHalf(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// A snapshot without its EOF marker is no snapshot: replay falls back to
// the older one plus the xlogs, and says so.
func TestReplayTornSnapshotFallsBack(t *testing.T) {
	want := decodeReplay(t, replayMust(t, 0, "replay", "--format", "json", sampleDir))
	dir := sampleCopy(t)
	truncateHalf(t, filepath.Join(dir, "00000000000000000033.snap"))
	stdout, stderr, code := runCLI(t, "replay", "--format", "json", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got := decodeReplay(t, stdout)
	if !vclockOf(got.VClock).Equal(vclockOf(want.VClock)) || got.tuples("accounts") != want.tuples("accounts") {
		t.Errorf("torn newest snapshot: vclock %v tuples %s, want %v %s", got.VClock, got.tuples("accounts"), want.VClock, want.tuples("accounts"))
	}
	out := replayMust(t, 0, "replay", dir)
	if !strings.Contains(out, "00000000000000000000.snap") || !strings.Contains(out, "no EOF marker") {
		t.Errorf("summary does not name the snapshot used and the torn one:\n%s", out)
	}
	// Naming the torn snapshot, or having no other, fails.
	_, stderr = mustRun(t, 2, "replay", "--from-snap", filepath.Join(dir, "00000000000000000033.snap"), dir)
	if !strings.Contains(stderr, "no EOF marker") {
		t.Errorf("--from-snap of a torn snapshot: %s", stderr)
	}
	os.Remove(filepath.Join(dir, "00000000000000000000.snap"))
	_, stderr = mustRun(t, 2, "replay", dir)
	if !strings.Contains(stderr, "no complete snapshot") {
		t.Errorf("only a torn snapshot: %s", stderr)
	}
}

// play does not apply a torn snapshot.
func TestPlayTornSnapshot(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "00000000000000000033.snap")
	copyFile(t, sample("00000000000000000033.snap"), snap)
	truncateHalf(t, snap)
	stdout, stderr := mustRun(t, 1, "play", "--dry-run", "--show-system", "--format", "json", "localhost:1", snap)
	if stdout != "" || !strings.Contains(stderr, "no EOF marker") {
		t.Errorf("torn snapshot played:\nstdout %s\nstderr %s", head(stdout), stderr)
	}
	// In a directory whose logs hold its rows, a torn newest snapshot is
	// passed over with a note.
	dir = sampleCopy(t)
	truncateHalf(t, filepath.Join(dir, "00000000000000000033.snap"))
	want, _ := mustRun(t, 0, "play", "--dry-run", "--format", "json", "localhost:1", sampleDir)
	got, stderr := mustRun(t, 0, "play", "--dry-run", "--format", "json", "localhost:1", dir)
	if strings.ReplaceAll(got, dir, sampleDir) != strings.ReplaceAll(want, "../../testdata/sample", sampleDir) || !strings.Contains(stderr, "without its EOF marker") {
		t.Errorf("torn newest snapshot in a directory:\n%s", stderr)
	}
}

// --from-snap with a target before the snapshot is an error, not the
// state at the snapshot.
func TestReplayFromSnapPastTarget(t *testing.T) {
	_, stderr := mustRun(t, 2, "replay", "--from-snap", sample("00000000000000000033.snap"), "--to-lsn", "1:10", sampleDir)
	if !strings.Contains(stderr, "beyond the target") {
		t.Errorf("stderr: %s", stderr)
	}
}

func copyFile(t *testing.T, from, to string) { testfix.CopyFile(t, from, to) }

// replay reads explicit files whatever their names, pipes included, once.
func TestReplayExplicitFiles(t *testing.T) {
	want := decodeReplay(t, replayMust(t, 0, "replay", "--format", "json", sampleDir))
	dir := t.TempDir()
	copyFile(t, sample("00000000000000000033.snap"), filepath.Join(dir, "backup.snap.old"))
	copyFile(t, sample("00000000000000000033.xlog"), filepath.Join(dir, "renamed"))
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(sample("00000000000000000036.xlog"))
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			f.Write(data)
			f.Close()
		}
	}()
	got := decodeReplay(t, replayMust(t, 0, "replay", "--format", "json",
		filepath.Join(dir, "backup.snap.old"), filepath.Join(dir, "renamed"), fifo))
	if !vclockOf(got.VClock).Equal(vclockOf(want.VClock)) || got.tuples("events") != want.tuples("events") {
		t.Errorf("explicit files: vclock %v, want %v", got.VClock, want.VClock)
	}
	if _, err := os.Stat(fifo); err != nil {
		t.Error(err)
	}
}

// Directories: every log file, whatever its name, in header order; FIFOs
// are skipped with a warning instead of blocking.
func TestDirectoryOddNames(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, sample("00000000000000000000.snap"), filepath.Join(dir, "test.snap"))
	copyFile(t, sample("00000000000000000000.xlog"), filepath.Join(dir, "test.xlog"))
	copyFile(t, sample("00000000000000000033.xlog"), filepath.Join(dir, "timestamp.xlog"))
	copyFile(t, sample("00000000000000000036.xlog"), filepath.Join(dir, "00000000000000000036.xlog"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.xlog"), 0o600); err != nil {
		t.Fatal(err)
	}
	want, _ := mustRun(t, 0, "cat", "--format", "json", sample("00000000000000000000.snap"),
		sample("00000000000000000000.xlog"), sample("00000000000000000033.xlog"), sample("00000000000000000036.xlog"))
	for _, args := range [][]string{{dir}, {dir, dir}, {dir, filepath.Join(dir, "test.xlog")}} {
		got, stderr := mustRun(t, 0, append([]string{"cat", "--format", "json"}, args...)...)
		if got != want {
			t.Errorf("cat %v: rows differ from the files named one by one", args)
		}
		if !strings.Contains(stderr, "fifo.xlog: not a regular file") {
			t.Errorf("cat %v: no warning about the FIFO: %s", args, stderr)
		}
	}
	r := decodeReplay(t, replayMust(t, 0, "replay", "--format", "json", dir))
	full := decodeReplay(t, replayMust(t, 0, "replay", "--format", "json", sampleDir))
	if !vclockOf(r.VClock).Equal(vclockOf(full.VClock)) {
		t.Errorf("replay of odd names: vclock %v, want %v", r.VClock, full.VClock)
	}
}

// play sends nothing twice within a run: the same rows in two files (a
// renamed copy, a directory given twice under two names) are played once.
func TestPlayDuplicateInputs(t *testing.T) {
	copyDirPath := filepath.Join(t.TempDir(), "copy")
	copyDir(t, sampleDir, copyDirPath)
	os.Rename(filepath.Join(copyDirPath, "00000000000000000000.xlog"), filepath.Join(copyDirPath, "old.xlog"))
	once, sum1 := mustRun(t, 0, "play", "--dry-run", "--format", "json", "localhost:1", sampleDir)
	for _, args := range [][]string{
		{sampleDir, copyDirPath},
		{sample("00000000000000000000.xlog"), filepath.Join(copyDirPath, "old.xlog")},
	} {
		twice, sum2 := mustRun(t, 0, append([]string{"play", "--dry-run", "--format", "json", "localhost:1"}, args...)...)
		if len(args) == 2 && args[0] == sampleDir {
			if twice != once {
				t.Errorf("play %v: rows sent differ from one copy\nonce:\n%s\ntwice:\n%s", args, head(once), head(twice))
			}
			if !strings.Contains(sum2, "read a second time") {
				t.Errorf("summary does not count the duplicates:\n%s", sum2)
			}
		}
		if strings.Count(twice, "\n") > strings.Count(once, "\n") {
			t.Errorf("play %v sends %d rows, more than the %d of one copy (%s)", args, strings.Count(twice, "\n"), strings.Count(once, "\n"), sum1)
		}
	}
}

// An output file that appears while filter writes is not replaced: the
// input comes through a FIFO that stalls until the output's .inprogress
// file exists, then the test creates the final name.
func TestFilterOutputAppears(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "in.xlog")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	final := filepath.Join(out, "00000000000000000000.xlog")
	data, _ := os.ReadFile(sample("00000000000000000000.xlog"))
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		f.Write(data[:200])
		for i := 0; i < 500; i++ {
			if _, err := os.Stat(final + ".inprogress"); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		os.WriteFile(final, []byte("appeared"), 0o644)
		f.Write(data[200:])
	}()
	_, stderr := mustRun(t, 2, "filter", "--out", out, fifo)
	if b, _ := os.ReadFile(final); string(b) != "appeared" {
		t.Errorf("the file that appeared was replaced (%d bytes)", len(b))
	}
	if !strings.Contains(stderr, "not replaced") {
		t.Errorf("stderr: %s", stderr)
	}
}

// Exit codes agree with the README: 2 for a file that cannot be read (an
// I/O error; /proc/self/mem fails every read with EIO, even for root), 1
// for damage, 2 without a command.
func TestExitCodesIO(t *testing.T) {
	if _, err := os.ReadFile("/proc/self/mem"); err == nil {
		t.Skip("no /proc/self/mem that fails to read")
	}
	for _, args := range [][]string{
		{"cat", "/proc/self/mem"}, {"stats", "/proc/self/mem"}, {"meta", "/proc/self/mem"},
		{"play", "--dry-run", "localhost:1", "/proc/self/mem"}, {"filter", "-o", t.TempDir(), "/proc/self/mem"},
	} {
		mustRun(t, 2, args...)
	}
	mustRun(t, 1, "cat", damagedSample(t))
	_, stderr := mustRun(t, 2)
	if !strings.Contains(stderr, "Usage") {
		t.Errorf("xlogtool without a command: %s", stderr)
	}
}

// diff does not show a vclock it could not read as if it were sound.
func TestDiffDamagedNewestXlog(t *testing.T) {
	dir := sampleCopy(t)
	os.Remove(filepath.Join(dir, "00000000000000000036.xlog"))
	p := filepath.Join(dir, "00000000000000000033.xlog")
	b, _ := os.ReadFile(p)
	i := strings.Index(string(b), "\n\n") + 2
	b[i+8] ^= 0xff
	os.WriteFile(p, b, 0o644)
	_, stderr := mustRun(t, 1, "diff", dir)
	if !strings.Contains(stderr, "checksum mismatch") || !strings.Contains(stderr, "only as far as the file could be read") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}
	if v := versionOf(bi); v != "v1.2.3" {
		t.Errorf("module version: %s", v)
	}
	bi = &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-06T20:00:00Z"},
		{Key: "vcs.modified", Value: "true"}}}
	if v := versionOf(bi); v != "devel-0123456789ab+dirty (2026-12-06T20:00:00Z)" {
		t.Errorf("checkout: %s", v)
	}
}

// meta does not place the end of the good data after the damage.
func TestMetaEndBeforeDamage(t *testing.T) {
	out, _ := mustRun(t, 1, "meta", "--force", filepath.Join(damagedSample(t), "00000000000000000000.xlog"))
	if !strings.Contains(out, "good data ends at offset 863, where the damage starts") {
		t.Errorf("meta:\n%s", out)
	}
}

// Empty point-in-time values are usage errors, not "no target".
func TestEmptyPointInTime(t *testing.T) {
	for _, args := range [][]string{
		{"replay", "--to-lsn", "", sampleDir}, {"replay", "--to-vclock", " ", sampleDir},
		{"replay", "--to-timestamp", "", sampleDir}, {"replay", "--from-snap", "", sampleDir},
		{"cat", "--timestamp", "", sampleDir}, {"play", "--dry-run", "--timestamp", "", "localhost:1", sampleDir},
	} {
		_, stderr := mustRun(t, 2, args...)
		if !strings.Contains(stderr, "empty value") {
			t.Errorf("%v: %s", args, stderr)
		}
	}
	// A vclock target that does not name the replica says so.
	out, _ := mustRun(t, 0, "replay", "--to-vclock", "{2: 5}", sampleDir)
	if !strings.Contains(out, "does not name replica 1") {
		t.Errorf("replay --to-vclock '{2: 5}':\n%s", out)
	}
	_, stderr := mustRun(t, 0, "cat", "--from", "30", "--to", "10", sampleDir)
	if !strings.Contains(stderr, "no row can be selected") {
		t.Errorf("cat --from 30 --to 10: %s", stderr)
	}
}

// Without --state, play's messages do not speak of a state file.
func TestPlayExitWithoutState(t *testing.T) {
	err := playExit(&play.ReadError{File: "x", Err: errors.New("boom")}, &play.Summary{TxPartial: 1, Unanswered: 2}, "")
	if msg := err.Error(); strings.Contains(msg, "the state file") || !strings.Contains(msg, "no --state file") {
		t.Errorf("without --state:\n%s", msg)
	}
	err = playExit(&play.ReadError{File: "x", Err: errors.New("boom")}, &play.Summary{TxPartial: 1, Unanswered: 2}, "/tmp/s")
	if msg := err.Error(); !strings.Contains(msg, "the state file lists") || !strings.Contains(msg, "target's vclock") {
		t.Errorf("with --state:\n%s", msg)
	}
}

// tt's TT_CLI_USERNAME/TT_CLI_PASSWORD come after ours.
func TestPlayTTCredentials(t *testing.T) {
	t.Setenv(envUser, "")
	t.Setenv(envPassword, "")
	t.Setenv(envTTUser, "ttuser")
	t.Setenv(envTTPassword, "ttpass")
	tg, _ := client.ParseURI("localhost:3301")
	u, p, err := playCredentials(tg, "", "", false, false)
	if err != nil || u != "ttuser" || p != "ttpass" {
		t.Errorf("tt's variables: %q %q %v", u, p, err)
	}
	if who := identity(tg, u, false); who != "ttuser ($TT_CLI_USERNAME)" {
		t.Errorf("identity: %s", who)
	}
	t.Setenv(envUser, "ours")
	t.Setenv(envPassword, "ourpass")
	if u, p, _ := playCredentials(tg, "", "", false, false); u != "ours" || p != "ourpass" {
		t.Errorf("ours first: %q %q", u, p)
	}
	if who := identity(tg, "", false); who != "guest" {
		t.Errorf("identity without a user: %s", who)
	}
}

// Help agrees with behaviour; flag values complete.
func TestHelpAndCompletion(t *testing.T) {
	help, _ := mustRun(t, 0, "play", "--help")
	for _, bad := range []string{"(default [])", "18446744073709551615", "PROMOTE,CONFIRM", "show rows"} {
		if strings.Contains(help, bad) {
			t.Errorf("play --help says %q", bad)
		}
	}
	if help, _ := mustRun(t, 0, "filter", "--help"); strings.Contains(help, "show rows") || !strings.Contains(help, "copy rows") {
		t.Errorf("filter --help:\n%s", help)
	}
	if help, _ := mustRun(t, 0, "repair", "--help"); !strings.Contains(help, "-o, --out") {
		t.Errorf("repair has no -o:\n%s", help)
	}
	if out, _ := mustRun(t, 0, "__complete", "cat", "--format", ""); !strings.Contains(out, "yaml\njson\nlua\n") {
		t.Errorf("--format completion: %q", out)
	}
	if out, _ := mustRun(t, 0, "__complete", "play", "--type", ""); !strings.Contains(out, "\nUPSERT\n") || !strings.Contains(out, "\nCONFIRM\n") {
		t.Errorf("--type completion: %q", out)
	}
	if plural(1, "row") != "1 row" || plural(2, "row") != "2 rows" {
		t.Error("plural")
	}
}

// verify notices one instance given twice (same instance UUID).
func TestVerifyDuplicateInstance(t *testing.T) {
	for _, second := range []string{sampleDir, sampleCopy(t)} {
		out, _ := mustRun(t, 1, "verify", "a="+sampleDir, "b="+second)
		if !strings.Contains(out, "[duplicate-instance]") || !strings.Contains(out, "8244848b-532e-4988-b27a-e4326c6ccb1c") {
			t.Errorf("verify a=%s b=%s:\n%s", sampleDir, second, out)
		}
	}
}

// No command blocks on a FIFO named like a log file inside a directory:
// each skips it and says so.
func TestFIFOInDirectory(t *testing.T) {
	dir := sampleCopy(t)
	for _, name := range []string{"00000000000000000099.xlog", "x.snap"} {
		if err := syscall.Mkfifo(filepath.Join(dir, name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"cat", dir}, {"meta", dir}, {"stats", dir}, {"verify", dir}, {"diff", dir}, {"replay", dir},
		{"filter", "-o", filepath.Join(t.TempDir(), "f"), dir}, {"play", "--dry-run", "localhost:1", dir},
		{"repair", "-o", filepath.Join(t.TempDir(), "r"), dir},
	} {
		done := make(chan struct{})
		var stdout, stderr string
		var code int
		go func() { stdout, stderr, code = runCLI(t, args...); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("xlogtool %s blocks on a FIFO", args[0])
		}
		if code > 1 {
			t.Errorf("xlogtool %s: exit %d: %s", args[0], code, stderr)
		}
		if args[0] != "diff" && !strings.Contains(stdout+stderr, "not a regular file") {
			t.Errorf("xlogtool %s does not say it skipped the FIFOs:\n%s\n%s", args[0], head(stdout), stderr)
		}
	}
}

// A file without read permission is an I/O error (status 2) for every
// command that reads it, naming the file (not testable as root).
func TestUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files without permission")
	}
	dir := sampleCopy(t)
	p := filepath.Join(dir, "00000000000000000033.xlog")
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"cat", p}, {"meta", p}, {"stats", p}, {"filter", "-o", t.TempDir(), p},
		{"play", "--dry-run", "localhost:1", p}, {"replay", dir},
	} {
		_, stderr := mustRun(t, 2, args...)
		if !strings.Contains(stderr, "permission denied") || !strings.Contains(stderr, "00000000000000000033.xlog") {
			t.Errorf("xlogtool %s: %s", args[0], stderr)
		}
	}
}

// Explicit arguments are read once: a pipe works for cat and play as a
// file does.
func TestExplicitPipeReadOnce(t *testing.T) {
	want, _ := mustRun(t, 0, "cat", "--format", "json", sample("00000000000000000000.xlog"))
	data, _ := os.ReadFile(sample("00000000000000000000.xlog"))
	for _, args := range [][]string{{"cat", "--format", "json"}, {"play", "--dry-run", "--format", "json", "--show-system", "localhost:1"}} {
		fifo := filepath.Join(t.TempDir(), "pipe")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		go func() {
			if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
				f.Write(data)
				f.Close()
			}
		}()
		got, stderr := mustRun(t, 0, append(args, fifo)...)
		if args[0] == "cat" && got != want {
			t.Errorf("cat of a pipe differs from cat of the file\n%s", stderr)
		}
		if args[0] == "play" && strings.Count(got, "\n") == 0 {
			t.Errorf("play of a pipe sent nothing\n%s", stderr)
		}
	}
}

// A zstd block Tarantool writes for an 8 KiB row is read, not called
// damage (the decoder, given less room than a zstd block, fails it with
// another error than "size exceeded").
func TestTarantoolZstdBlockRead(t *testing.T) {
	dir := t.TempDir()
	tarantooltest.RunScript(t, dir, `
box.cfg{log = 'tarantool.log'}
local s = box.schema.space.create('z', {id = 601})
s:create_index('pk')
s:insert{1, 'small'}
s:insert{9, string.rep('zstd', 2000)}
os.exit(0)
`)
	out, stderr := mustRun(t, 0, "cat", "--format", "json", dir)
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "zstdzstd") {
		t.Errorf("cat:\n%s\n%s", head(out), stderr)
	}
	meta, _ := mustRun(t, 0, "meta", dir)
	if !strings.Contains(meta, "1 zstd") {
		t.Errorf("no zstd block in the file:\n%s", meta)
	}
}
