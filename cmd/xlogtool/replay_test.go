package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/memtx"
)

// replayCLI runs the command line in process and returns what it
// printed and its exit status.
func replayCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runCLI(t, args...)
}

func replayMust(t *testing.T, want int, args ...string) string {
	t.Helper()
	stdout, stderr, code := replayCLI(t, args...)
	if code != want {
		t.Fatalf("xlogtool %s: exit %d, want %d\nstdout:\n%.4000s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout
}

// replayJSON is the part of replay --format json the tests read.
type replayJSON struct {
	VClock map[string]uint64 `json:"vclock"`
	Stop   *struct {
		Reason string `json:"reason"`
	} `json:"stop"`
	Transactions struct {
		RolledBack int `json:"rolled_back"`
		Pending    int `json:"pending"`
	} `json:"transactions"`
	Spaces []struct {
		ID     uint32  `json:"id"`
		Name   string  `json:"name"`
		Engine string  `json:"engine"`
		IsSync bool    `json:"is_sync"`
		Tuples [][]any `json:"tuples"`
	} `json:"spaces"`
}

func (r *replayJSON) tuples(name string) string {
	for _, sp := range r.Spaces {
		if sp.Name == name {
			b, _ := json.Marshal(sp.Tuples)
			return string(b)
		}
	}
	return "no space " + name
}

func TestReplayCommand(t *testing.T) {
	tarantooltest.Require(t)
	dir := t.TempDir()
	out := tarantooltest.RunScript(t, dir, `
local fiber = require('fiber')
local json = require('json')
box.cfg{log = 'tarantool.log'}
local a = box.schema.space.create('a')
a:create_index('pk')
local s = box.schema.space.create('s', {is_sync = true})
s:create_index('pk')
a:insert{1, 'one'}
s:insert{1, 'sync'}
box.snapshot()
a:insert{2, 'two'}
fiber.sleep(0.03)
print(json.encode({lsn = box.info.lsn, time = fiber.time()}))
fiber.sleep(0.03)
a:insert{3, 'three'}
box.cfg{replication_synchro_quorum = 2, replication_synchro_timeout = 0.05}
pcall(s.insert, s, {2, 'rolled back'})
`)
	var mark struct {
		LSN  uint64  `json:"lsn"`
		Time float64 `json:"time"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &mark); err != nil {
		t.Fatalf("%v: %q", err, out)
	}

	table := replayMust(t, 0, "replay", dir)
	for _, want := range []string{"snapshot:", "vclock:", "1 rolled back", "│ 512 │ a ", "│ 513 │ s ", "errors:        0"} {
		if !strings.Contains(table, want) {
			t.Errorf("summary lacks %q:\n%s", want, table)
		}
	}

	all := decodeReplay(t, replayMust(t, 0, "replay", "--format", "json", dir))
	if got := all.tuples("a"); got != `[[1,"one"],[2,"two"],[3,"three"]]` {
		t.Errorf("a: %s", got)
	}
	if got := all.tuples("s"); got != `[[1,"sync"]]` {
		t.Errorf("s: %s", got)
	}
	if all.Transactions.RolledBack != 1 || len(all.Spaces) != 2 || !all.Spaces[1].IsSync || all.Spaces[0].Engine != "memtx" {
		t.Errorf("%+v", all)
	}
	sys := decodeReplay(t, replayMust(t, 0, "replay", "--format", "json", "--show-system", dir))
	if len(sys.Spaces) <= 2 || sys.Spaces[0].ID < 256 || sys.Spaces[0].ID > 511 {
		t.Errorf("--show-system: %d spaces", len(sys.Spaces))
	}

	ts := time.Unix(0, int64(mark.Time*1e9)).UTC().Format(time.RFC3339Nano)
	for _, args := range [][]string{
		{"--to-lsn", fmt.Sprintf("1:%d", mark.LSN)},
		{"--to-vclock", fmt.Sprintf("{1: %d}", mark.LSN)},
		{"--to-vclock", fmt.Sprintf(`{"1": %d}`, mark.LSN)},
		{"--to-timestamp", fmt.Sprint(mark.Time)},
		{"--to-timestamp", ts},
	} {
		r := decodeReplay(t, replayMust(t, 0, append([]string{"replay", "--format", "json"}, append(args, dir)...)...))
		if got := r.tuples("a"); got != `[[1,"one"],[2,"two"]]` {
			t.Errorf("%v: a: %s", args, got)
		}
		if r.VClock["1"] != mark.LSN {
			t.Errorf("%v: vclock %v, want 1: %d", args, r.VClock, mark.LSN)
		}
	}

	snapDir := t.TempDir()
	_, stderr, code := replayCLI(t, "replay", "--out-snap", snapDir, dir)
	if code != 0 || !strings.Contains(stderr, "wrote ") {
		t.Fatalf("--out-snap: exit %d: %s", code, stderr)
	}
	files, _ := os.ReadDir(snapDir)
	if len(files) != 1 || files[0].Name() != format.FileName(format.TypeSNAP, vclockOf(all.VClock)) {
		t.Fatalf("--out-snap wrote %v", files)
	}
	again := decodeReplay(t, replayMust(t, 0, "replay", "--format", "json", snapDir))
	if again.tuples("a") != all.tuples("a") || again.tuples("s") != all.tuples("s") {
		t.Errorf("state read back from the snapshot: %+v", again)
	}
	replayMust(t, 2, "replay", "--out-snap", filepath.Join(snapDir, files[0].Name()), dir)
	newDir := filepath.Join(t.TempDir(), "new") + string(filepath.Separator)
	replayMust(t, 0, "replay", "--out-snap", newDir, dir)
	if _, err := os.Stat(filepath.Join(newDir, files[0].Name())); err != nil {
		t.Errorf("--out-snap into a new directory: %v", err)
	}

	for _, args := range [][]string{
		{"replay", "--to-lsn", "x", dir},
		{"replay", "--to-vclock", "{1: ", dir},
		{"replay", "--to-timestamp", "yesterday", dir},
		{"replay", "--format", "xml", dir},
		{"replay", filepath.Join(dir, "missing")},
		{"replay", t.TempDir()},
		{"replay", "--to-lsn", "1:0", "--from-snap", filepath.Join(dir, "missing.snap"), dir},
	} {
		replayMust(t, 2, args...)
	}
}

func vclockOf(m map[string]uint64) format.VClock {
	var v format.VClock
	for k, lsn := range m {
		var id uint32
		fmt.Sscan(k, &id)
		v.Set(id, lsn)
	}
	return v
}

func decodeReplay(t *testing.T, s string) *replayJSON {
	t.Helper()
	var r replayJSON
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("bad JSON: %v\n%.2000s", err, s)
	}
	return &r
}

// TestReplayFindings: rows the state rejects make the exit status 1 and
// are listed with their file, offset and LSN.
func TestReplayFindings(t *testing.T) {
	dir := t.TempDir()
	st := memtx.NewState()
	for _, req := range []memtx.Request{
		{Type: box.TypeInsert, SpaceID: box.SpaceSpace, Tuple: []any{uint64(600), uint64(1), "t", "memtx", uint64(0), memtx.Map{}, []any{}}},
		{Type: box.TypeInsert, SpaceID: box.SpaceIndex, Tuple: []any{uint64(600), uint64(0), "pk", "tree",
			memtx.Map{{Key: "unique", Value: true}}, []any{memtx.Map{{Key: "field", Value: uint64(0)}, {Key: "type", Value: "unsigned"}}}}},
		{Type: box.TypeInsert, SpaceID: 600, Tuple: []any{uint64(1)}},
	} {
		if err := st.Apply(req); err != nil {
			t.Fatal(err)
		}
	}
	v := format.VClock{}
	v.Set(1, 10)
	uuid := "c8f0fa1f-da29-438c-a040-393f1126ad39"
	if _, err := st.WriteSnapshot(filepath.Join(dir, format.FileName(format.TypeSNAP, v)), v,
		memtx.SnapshotOptions{Instance: uuid, NoSync: true}); err != nil {
		t.Fatal(err)
	}
	w, err := format.Create(dir, &format.Meta{FileType: format.TypeXLOG, Instance: uuid, VClock: v, HasVClock: true},
		format.WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	// LSN 11 inserts key 2, LSN 12 key 1 again.
	for i, key := range []uint64{2, 1} {
		lsn := uint64(11 + i)
		body, _ := memtx.EncodeMsgpack(memtx.Map{{Key: uint64(box.KeySpaceID), Value: uint64(600)},
			{Key: uint64(box.KeyTuple), Value: []any{key}}})
		h := format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true}
		if err := w.Write(&h, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	stdout := replayMust(t, 1, "replay", dir)
	for _, want := range []string{"errors:        1", "ER_TUPLE_FOUND", "1:12", "00000000000000000010.xlog"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	var r struct {
		FindingCount int `json:"finding_count"`
		Findings     []struct {
			File   string `json:"file"`
			Offset int64  `json:"offset"`
			LSN    uint64 `json:"lsn"`
			Code   int    `json:"code"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(replayMust(t, 1, "replay", "--format", "json", dir)), &r); err != nil {
		t.Fatal(err)
	}
	if r.FindingCount != 1 || r.Findings[0].LSN != 12 || r.Findings[0].Code != 3 || r.Findings[0].Offset == 0 {
		t.Errorf("findings %+v", r)
	}
}
