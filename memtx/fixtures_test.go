package memtx

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/internal/testfix"
)

// fixturesDir is the directory with snapshots written by many Tarantool
// versions (1.6.8 to 3.x), from Tarantool's own test suite.
func fixturesDir(t *testing.T) string {
	return filepath.Join(testfix.Dir(t), "tarantool")
}

// rejectedFixtures are snapshots Tarantool itself refuses to recover
// (negative cases of its test suite), with the error expected from the
// engine.
var rejectedFixtures = map[string]box.ErrorCode{
	// A space format with the field type 'st'.
	"test/box-luatest/gh_7917_data/snap/00000000000000000003.snap": box.ErrCreateSpace,
	// A row addressing its space by name, without a space id.
	"test/box-luatest/gh_8146_data/00000000000000000004.snap": box.ErrNoSuchSpace,
}

// TestFixtureSnapshots loads every fixture snapshot into a fresh state:
// every row must be accepted, every system space must end up with its
// primary key, and the rows of each space must already be in the order
// of its primary key, as Tarantool writes them.
func TestFixtureSnapshots(t *testing.T) {
	bin := tarantoolBinary(t)
	dir := fixturesDir(t)
	var snaps []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".snap") {
			snaps = append(snaps, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) == 0 {
		t.Skip("no snapshots among the fixtures")
	}
	sort.Strings(snaps)
	script, err := filepath.Abs(filepath.Join("testdata", "dump_xlog.lua"))
	if err != nil {
		t.Fatal(err)
	}
	out := runTarantoolScript(t, bin, append([]string{script}, snaps...)...)
	type fileRow struct {
		diffLine
		File string `json:"file"`
	}
	rows := map[string][]diffLine{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var l fileRow
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		rows[l.File] = append(rows[l.File], l.diffLine)
	}
	for _, snap := range snaps {
		name, _ := filepath.Rel(dir, snap)
		t.Run(name, func(t *testing.T) {
			checkSnapshotRows(t, rows[snap], rejectedFixtures[filepath.ToSlash(name)])
		})
	}
}

func checkSnapshotRows(t *testing.T, lines []diffLine, wantErr box.ErrorCode) {
	st := NewState()
	order := map[uint32][][]any{}
	failures := 0
	for i, l := range lines {
		req, err := l.request()
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if err := st.Apply(req); err != nil {
			if ae, ok := err.(*ApplyError); ok && wantErr != 0 && ae.Code == wantErr {
				wantErr = 0
				continue
			}
			failures++
			if failures <= 10 {
				t.Errorf("row %d rejected: %v\n  %s", i, err, describe(req))
			}
			continue
		}
		if req.Type == box.TypeInsert {
			n, _ := Normalize(req.Tuple)
			order[req.SpaceID] = append(order[req.SpaceID], n.([]any))
		}
	}
	if wantErr != 0 {
		t.Errorf("no row was rejected with %s", wantErr)
	}
	if n := st.PendingRows(); n != 0 {
		t.Errorf("%d rows still wait for a primary key", n)
	}
	for _, sp := range st.Spaces() {
		if !sp.Defined {
			t.Errorf("space %d (%s) has rows but no definition", sp.ID, sp.Name)
		}
		pk := sp.primary()
		if pk == nil || pk.Type != "tree" {
			continue
		}
		got := sp.Tuples()
		want := order[sp.ID]
		if len(got) != len(want) {
			t.Errorf("space %d (%s): %d tuples, %d rows", sp.ID, sp.Name, len(got), len(want))
			continue
		}
		for i := range got {
			if !Equal(got[i], want[i]) {
				t.Errorf("space %d (%s): tuple #%d is %s, the snapshot has %s", sp.ID, sp.Name, i, show(got[i]), show(want[i]))
				break
			}
		}
	}
	t.Logf("%d rows, %d spaces", len(lines), len(st.Spaces()))
}

// TestFixtureReplay replays, in fixture directories holding two
// snapshots, the first snapshot and the logs written after it, and
// compares the result with the second snapshot (memtx spaces only: the
// data of vinyl spaces is not in snapshots).
func TestFixtureReplay(t *testing.T) {
	bin := tarantoolBinary(t)
	dir := fixturesDir(t)
	byDir := map[string][]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".snap") || strings.HasSuffix(p, ".xlog")) {
			byDir[filepath.Dir(p)] = append(byDir[filepath.Dir(p)], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "dump_xlog.lua"))
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for d, files := range byDir {
		sort.Slice(files, func(i, j int) bool { return filepath.Base(files[i]) < filepath.Base(files[j]) })
		var snaps []string
		for _, f := range files {
			if strings.HasSuffix(f, ".snap") {
				snaps = append(snaps, f)
			}
		}
		if len(snaps) < 2 {
			continue
		}
		first, second := snaps[0], snaps[1]
		seq := []string{first}
		for _, f := range files {
			b := filepath.Base(f)
			if strings.HasSuffix(f, ".xlog") && b >= filepath.Base(first) && b < filepath.Base(second) {
				seq = append(seq, f)
			}
		}
		cases++
		name, _ := filepath.Rel(dir, d)
		t.Run(name, func(t *testing.T) {
			out := runTarantoolScript(t, bin, append([]string{script}, append(seq, second)...)...)
			st := NewState()
			want := NewState()
			sc := bufio.NewScanner(bytes.NewReader(out))
			sc.Buffer(make([]byte, 1<<20), 1<<26)
			for sc.Scan() {
				var l struct {
					diffLine
					File string `json:"file"`
				}
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatal(err)
				}
				req, err := l.request()
				if err != nil {
					t.Fatal(err)
				}
				target := st
				if l.File == second {
					target = want
				}
				if err := target.Apply(req); err != nil {
					t.Errorf("%s: %v\n  %s", filepath.Base(l.File), err, describe(req))
				}
			}
			for _, sp := range want.Spaces() {
				if sp.Engine != "memtx" {
					continue
				}
				var tuples []any
				for _, tu := range sp.Tuples() {
					tuples = append(tuples, tu)
				}
				for _, m := range compareSpace(st, sp.ID, tuples) {
					t.Error(m)
				}
			}
		})
	}
	if cases == 0 {
		t.Skip("no fixture directory with two snapshots")
	}
}
