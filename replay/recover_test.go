package replay

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/memtx"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
)

// stateDump is a moment of a workload: the content of every user space
// as Tarantool's select() returned it, with the vclock and time.
type stateDump struct {
	Label  string            `json:"label"`
	VClock string            `json:"vclock"`
	ID     uint32            `json:"id"`
	LSN    uint64            `json:"lsn"`
	Time   float64           `json:"time"`
	Spaces map[string]string `json:"spaces"`
}

// parseDumps reads the JSON lines a workload script prints.
func parseDumps(t *testing.T, out string) map[string]*stateDump {
	t.Helper()
	dumps := map[string]*stateDump{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var d stateDump
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("workload output: %v: %.200s", err, line)
		}
		dumps[d.Label] = &d
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return dumps
}

// spaceTuples decodes the tuples of one space of a dump.
func (d *stateDump) spaceTuples(t *testing.T, id string) []any {
	t.Helper()
	raw, err := hex.DecodeString(d.Spaces[id])
	if err != nil {
		t.Fatal(err)
	}
	v, err := memtx.DecodeMsgpack(raw)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := v.([]any)
	if !ok {
		// Lua encodes an empty table as a map.
		return nil
	}
	return a
}

// compareState checks that the user spaces of a state hold exactly what
// Tarantool's select() returned.
func compareState(t *testing.T, st *memtx.State, d *stateDump) {
	t.Helper()
	ids := make([]string, 0, len(d.Spaces))
	for id := range d.Spaces {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		want := d.spaceTuples(t, id)
		var n uint32
		fmt.Sscan(id, &n)
		sp := st.Space(n)
		if sp == nil {
			t.Errorf("%s: space %s missing", d.Label, id)
			continue
		}
		got := sp.Tuples()
		if len(got) != len(want) {
			t.Errorf("%s: space %s (%s): %d tuples, Tarantool has %d\n ours: %s\n want: %s",
				d.Label, id, sp.Name, len(got), len(want), showTuples(got), show(want))
			continue
		}
		for i := range got {
			if !memtx.Equal([]any(got[i]), want[i]) {
				t.Errorf("%s: space %s (%s) tuple %d: %s, Tarantool has %s", d.Label, id, sp.Name, i, show(got[i]), show(want[i]))
			}
		}
	}
	for _, sp := range st.Spaces() {
		if box.IsSystemSpace(sp.ID) || sp.Len() == 0 {
			continue
		}
		if _, ok := d.Spaces[fmt.Sprint(sp.ID)]; !ok {
			t.Errorf("%s: space %d (%s) has %d tuples, Tarantool has no such space", d.Label, sp.ID, sp.Name, sp.Len())
		}
	}
}

func showTuples(ts [][]any) string {
	a := make([]any, len(ts))
	for i, t := range ts {
		a[i] = t
	}
	return show(a)
}

func mustRecover(t *testing.T, opts RecoverOptions) *Result {
	t.Helper()
	res, err := Recover(context.Background(), opts)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	return res
}

func noFindings(t *testing.T, res *Result) {
	t.Helper()
	for _, f := range res.Findings {
		t.Errorf("finding: %s", f.String())
	}
}

// runWorkload runs testdata/recover_workload.lua in a new directory.
func runWorkload(t *testing.T) (string, map[string]*stateDump) {
	t.Helper()
	script, err := os.ReadFile(filepath.Join("testdata", "recover_workload.lua"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := tarantooltest.RunScript(t, dir, string(script))
	dumps := parseDumps(t, out)
	for _, l := range []string{"before_snap", "mid", "synced", "final", "pending"} {
		if dumps[l] == nil {
			t.Fatalf("workload printed no %q state:\n%s", l, out)
		}
	}
	return dir, dumps
}

// TestRecoverTarantool replays the files a real Tarantool wrote and
// compares the result with what its select() returned at several
// moments: at the end, at the end with the pending transaction, and at
// earlier moments reached by LSN, vclock and timestamp.
func TestRecoverTarantool(t *testing.T) {
	tarantooltest.Require(t)
	dir, dumps := runWorkload(t)

	t.Run("end", func(t *testing.T) {
		res := mustRecover(t, RecoverOptions{Paths: []string{dir}})
		noFindings(t, res)
		compareState(t, res.State, dumps["final"])
		if got, want := res.VClock.String(), dumps["pending"].VClock; got != want {
			t.Errorf("vclock reached %s, Tarantool %s", got, want)
		}
		if filepath.Base(res.Snapshot) != "00000000000000000108.snap" && !strings.HasSuffix(res.Snapshot, ".snap") {
			t.Errorf("started from %s", res.Snapshot)
		}
		c := res.Counts
		// The synchronous insert {10} rolled back alone, then {11}
		// with the asynchronous {92} queued behind it.
		if c.RolledBack != 3 || c.RolledBackMulti != 0 {
			t.Errorf("rolled back %d (multi %d), want 3 (0)", c.RolledBack, c.RolledBackMulti)
		}
		if c.Pending != 1 || c.PendingApplied != 0 || len(res.Pending) != 1 {
			t.Errorf("pending %d (applied %d), want 1 (0)", c.Pending, c.PendingApplied)
		}
		if res.Stop != nil {
			t.Errorf("stopped: %+v", res.Stop)
		}
		if c.Cut != 0 || c.Torn != 0 {
			t.Errorf("cut %d torn %d", c.Cut, c.Torn)
		}
	})

	t.Run("include-pending", func(t *testing.T) {
		res := mustRecover(t, RecoverOptions{Paths: []string{dir}, IncludePending: true})
		noFindings(t, res)
		compareState(t, res.State, dumps["pending"])
		if res.Counts.PendingApplied != 1 {
			t.Errorf("pending applied %d, want 1", res.Counts.PendingApplied)
		}
	})

	for _, label := range []string{"before_snap", "mid", "synced", "final"} {
		d := dumps[label]
		vc, err := format.ParseVClock(d.VClock)
		if err != nil {
			t.Fatal(err)
		}
		targets := map[string]Target{
			"lsn":       {HasLSN: true, Replica: d.ID, LSN: d.LSN},
			"vclock":    {HasVClock: true, VClock: vc},
			"vclock-1":  {HasVClock: true, VClock: vc.WithoutLocal()},
			"timestamp": {HasTimestamp: true, Timestamp: d.Time},
		}
		for name, target := range targets {
			t.Run(label+"/"+name, func(t *testing.T) {
				res := mustRecover(t, RecoverOptions{Paths: []string{dir}, Target: target})
				noFindings(t, res)
				compareState(t, res.State, d)
				if res.Counts.Pending != 0 {
					t.Errorf("pending %d", res.Counts.Pending)
				}
				// The second snapshot was taken right after the first
				// mark: it is at the target, and the newest before the
				// others.
				if filepath.Base(res.Snapshot) != "00000000000000000108.snap" {
					t.Errorf("started from %s, want 00000000000000000108.snap", res.Snapshot)
				}
				if name != "vclock-1" && res.VClock.String() != d.VClock {
					t.Errorf("vclock reached %s, want %s", res.VClock, d.VClock)
				}
			})
		}
	}

	t.Run("from-snap", func(t *testing.T) {
		snap := filepath.Join(dir, "00000000000000000000.snap")
		res := mustRecover(t, RecoverOptions{Paths: []string{dir}, FromSnap: snap})
		noFindings(t, res)
		compareState(t, res.State, dumps["final"])
		if res.Snapshot != snap {
			t.Errorf("started from %s", res.Snapshot)
		}
	})

	t.Run("out-snap", func(t *testing.T) {
		// Tarantool 2.6.0 cannot load a snapshot with more than one
		// row in a synchronous space, not even its own (the second
		// row never gets its quorum during snapshot recovery): start
		// it from the state of a moment when the synchronous space
		// was still empty, and have it read the full snapshot with
		// its log reader only.
		mid := dumps["mid"]
		vc, _ := format.ParseVClock(mid.VClock)
		res := mustRecover(t, RecoverOptions{Paths: []string{dir}, Target: Target{HasVClock: true, VClock: vc}})
		out := t.TempDir()
		path, n, err := res.WriteSnapshot(out)
		if err != nil {
			t.Fatal(err)
		}
		if want := format.FileName(format.TypeSNAP, vc); filepath.Base(path) != want {
			t.Errorf("snapshot named %s, want %s", filepath.Base(path), want)
		}
		if n == 0 {
			t.Fatal("no rows written")
		}
		got := parseDumps(t, tarantooltest.RunScript(t, out, dumpScript))
		compareState(t, res.State, got["restarted"])
		compareState(t, res.State, mid)
		if got["restarted"].VClock != mid.VClock {
			t.Errorf("Tarantool started at vclock %s, want %s", got["restarted"].VClock, mid.VClock)
		}

		full := mustRecover(t, RecoverOptions{Paths: []string{dir}})
		out = t.TempDir()
		path, n, err = full.WriteSnapshot(out)
		if err != nil {
			t.Fatal(err)
		}
		back := mustRecover(t, RecoverOptions{Paths: []string{out}})
		noFindings(t, back)
		compareState(t, back.State, dumps["final"])
		rows := tarantooltest.OracleRows(t, path)[0]
		if int64(len(rows)) != n {
			t.Errorf("Tarantool's reader: %d rows, we wrote %d", len(rows), n)
		}
		for _, r := range rows {
			if _, bad := r["ERROR"]; bad {
				t.Errorf("Tarantool's reader: %v", r["ERROR"])
			}
		}
	})

	t.Run("out-snap-as-tarantool", func(t *testing.T) {
		// Replay the xlogs from the first snapshot up to the moment
		// the second one was taken: the snapshot we write must hold
		// the rows of Tarantool's own, in its order.
		theirs := filepath.Join(dir, "00000000000000000108.snap")
		m, _, err := readMeta(theirs)
		if err != nil {
			t.Fatal(err)
		}
		res := mustRecover(t, RecoverOptions{Paths: []string{dir}, FromSnap: filepath.Join(dir, "00000000000000000000.snap"),
			Target: Target{HasVClock: true, VClock: m.VClock}})
		noFindings(t, res)
		out := t.TempDir()
		ours, _, err := res.WriteSnapshot(out)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(ours) != filepath.Base(theirs) {
			t.Errorf("wrote %s, Tarantool wrote %s", filepath.Base(ours), filepath.Base(theirs))
		}
		a, b := snapshotRows(t, theirs), snapshotRows(t, ours)
		if len(a) != len(b) {
			t.Errorf("%d rows, Tarantool's snapshot has %d", len(b), len(a))
		}
		// System spaces come first, by id, in both. Tarantool writes the
		// user spaces in the order of its space hash table, we by id:
		// compare those space by space.
		sys := func(rows []snapRow) int {
			n := 0
			for n < len(rows) && box.IsSystemSpace(rows[n].space) {
				n++
			}
			return n
		}
		na, nb := sys(a), sys(b)
		sortRows := func(rows []snapRow) {
			sort.SliceStable(rows, func(i, j int) bool { return rows[i].space < rows[j].space })
		}
		sortRows(a[na:])
		sortRows(b[nb:])
		if na != nb {
			t.Errorf("%d rows of system spaces, Tarantool's snapshot has %d", nb, na)
		}
		for i := 0; i < len(a) && i < len(b); i++ {
			if a[i].group != b[i].group || a[i].space != b[i].space || !memtx.Equal(a[i].tuple, b[i].tuple) {
				t.Errorf("row %d: space %d group %d %s, Tarantool's: space %d group %d %s", i,
					b[i].space, b[i].group, show(b[i].tuple), a[i].space, a[i].group, show(a[i].tuple))
				break
			}
		}
	})
}

type snapRow struct {
	space, group uint32
	tuple        any
}

func snapshotRows(t *testing.T, path string) []snapRow {
	t.Helper()
	r, err := format.Open(path, format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []snapRow
	for {
		row, err := r.Next()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatal(err)
			}
			return out
		}
		if row.Type != box.TypeInsert {
			t.Fatalf("%s: %s row", path, row.Type)
		}
		d, err := row.DML()
		if err != nil {
			t.Fatal(err)
		}
		v, err := memtx.DecodeMsgpack(d.Tuple)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, snapRow{space: d.SpaceID, group: row.GroupID, tuple: v})
	}
}

// dumpScript starts Tarantool on the working directory and prints the
// content of its user spaces as the workload does.
const dumpScript = `
local json = require('json')
local msgpack = require('msgpack')
box.cfg{log = 'tarantool.log'}
local ids = {}
for id in pairs(box.info.vclock) do table.insert(ids, id) end
table.sort(ids)
local parts = {}
for _, id in ipairs(ids) do
    table.insert(parts, string.format('%d: %d', id, box.info.vclock[id]))
end
local spaces = {}
for _, t in box.space._space:pairs(512, {iterator = 'GE'}) do
    local sp = box.space[t[1]]
    if sp ~= nil and sp.index[0] ~= nil and not (type(t[6]) == 'table' and t[6].temporary) then
        spaces[tostring(t[1])] = string.hex(msgpack.encode(sp:select{}))
    end
end
print(json.encode({label = 'restarted', vclock = '{' .. table.concat(parts, ', ') .. '}',
                   id = box.info.id, lsn = box.info.lsn, spaces = spaces}))
`

// TestRecoverRolledBackMulti documents where replay and Tarantool 2.6.0
// part: a multi-statement synchronous transaction rolled back by timeout
// is skipped by replay (the protocol), while 2.6.0's own recovery applies
// it again when the instance restarts. A single-statement one is rolled
// back by both.
func TestRecoverRolledBackMulti(t *testing.T) {
	tarantooltest.Require(t)
	dir := t.TempDir()
	out := tarantooltest.RunScript(t, dir, `
local json = require('json')
local msgpack = require('msgpack')
box.cfg{log = 'tarantool.log'}
local s = box.schema.space.create('sync', {is_sync = true})
s:create_index('pk')
local a = box.schema.space.create('async')
a:create_index('pk')
s:insert{1, 'confirmed'}
box.cfg{replication_synchro_quorum = 2, replication_synchro_timeout = 0.1}
box.begin()
s:insert{2, 'multi a'}
s:insert{3, 'multi b'}
a:insert{1, 'async in the multi'}
assert(not pcall(box.commit))
assert(not pcall(s.insert, s, {4, 'single'}))
box.cfg{replication_synchro_quorum = 1}
s:insert{5, 'after'}
print(json.encode({label = 'live', spaces = {['512'] = string.hex(msgpack.encode(s:select{})),
                                             ['513'] = string.hex(msgpack.encode(a:select{}))}}))
`)
	live := parseDumps(t, out)["live"]
	res := mustRecover(t, RecoverOptions{Paths: []string{dir}})
	noFindings(t, res)
	compareState(t, res.State, live)
	if res.Counts.RolledBack != 2 || res.Counts.RolledBackMulti != 1 {
		t.Errorf("rolled back %d (multi-statement %d), want 2 (1)", res.Counts.RolledBack, res.Counts.RolledBackMulti)
	}
	noted := false
	for _, w := range res.Warnings {
		noted = noted || w.Kind == FindingRevived
	}
	if !noted {
		t.Errorf("no note about Tarantool 2.6.0: %+v", res.Warnings)
	}

	// Tarantool 2.6.0 restarted on the same files.
	restarted := parseDumps(t, tarantooltest.RunScript(t, dir, dumpScript))["restarted"]
	sync := restarted.spaceTuples(t, "512")
	async := restarted.spaceTuples(t, "513")
	if len(sync) != 4 || len(async) != 1 {
		t.Fatalf("Tarantool 2.6.0 after restart: sync %s, async %s; expected it to revive the multi-statement transaction",
			show(sync), show(async))
	}
	t.Logf("Tarantool %s after restart: sync %s, async %s (replay: sync %s, async %s)", tarantooltest.Version(t),
		show(sync), show(async), showTuples(res.State.Space(512).Tuples()), showTuples(res.State.Space(513).Tuples()))
}
