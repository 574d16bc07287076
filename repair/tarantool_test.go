package repair

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testproc"
)

// The data written by a real Tarantool: a memtx space (asynchronous), single
// and multi-statement transactions, a few rows big enough for zstd blocks,
// small WAL files, and a snapshot in the middle.
const (
	ttInit = `box.schema.space.create('test', {if_not_exists = true})
box.space.test:create_index('pk', {if_not_exists = true})`
	// Keys are inserted only once (i * 10 at step i): whatever rows are
	// lost, no later INSERT meets an existing key.
	ttWorkload = `local from, to = ...
local s = box.space.test
for i = from, to do
    if i % 7 == 0 then
        box.begin()
        s:insert{i * 10, 'tx' .. i}
        s:replace{(i - 3) * 10, 'upd' .. i}
        s:delete{(i - 5) * 10}
        box.commit()
    elseif i % 11 == 0 then
        s:delete{(i - 2) * 10}
    elseif i % 50 == 0 then
        s:insert{i * 10, string.rep('z', 3000)}
    else
        s:insert{i * 10, string.rep('v', i % 40)}
    end
end`
	ttProbe = `local dir, logf = arg[1], arg[2]
box.cfg{wal_dir = dir, memtx_dir = dir, vinyl_dir = dir, log = logf}
local rows = {}
for _, t in box.space.test:pairs() do rows[#rows + 1] = {t[1], t[2]} end
io.stdout:write(require('json').encode({lsn = box.info.vclock[1], rows = rows}), '\n')
io.stdout:flush()
os.exit(0)`
)

// ttFixture is a data directory written by Tarantool and the rows of its
// WAL files.
type ttFixture struct {
	dir   string
	space uint32
	rows  []*format.Row // every WAL row, in log order
}

// makeTTFixtures writes the data: phase one, a snapshot, phase two, a clean
// stop (the "clean" copy); then a restart, phase three and a kill (the
// "killed" copy, whose last WAL has no EOF marker).
func makeTTFixtures(t *testing.T) (clean, killed *ttFixture) {
	t.Helper()
	root := t.TempDir()
	inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{
		Dir:  filepath.Join(root, "inst"),
		Cfg:  "wal_max_size = 2048, checkpoint_count = 10",
		Init: ttInit,
	})
	space := inst.Eval(t, "return box.space.test.id")[0]
	inst.Eval(t, ttWorkload, 1, 150)
	inst.Eval(t, "box.snapshot()")
	inst.Eval(t, ttWorkload, 151, 300)
	inst.Stop(t)
	clean = copyFixture(t, inst.Dir(), filepath.Join(root, "clean"))
	inst.Start(t)
	inst.Eval(t, ttWorkload, 301, 330)
	inst.Kill(t)
	killed = copyFixture(t, inst.Dir(), filepath.Join(root, "killed"))
	for _, fx := range []*ttFixture{clean, killed} {
		fx.space = uint32(toInt(t, space))
	}
	return clean, killed
}

func toInt(t *testing.T, v any) int64 { return tarantooltest.Int(t, v) }

// copyFixture copies the .xlog and .snap files and reads the WAL rows.
func copyFixture(t *testing.T, from, to string) *ttFixture {
	t.Helper()
	copyLogs(t, from, to)
	fx := &ttFixture{dir: to}
	for _, ref := range mustScan(t, to) {
		if ref.Ext != ".xlog" {
			continue
		}
		_, rows, err := format.ReadAll(ref.Path, format.Options{})
		if err != nil {
			t.Fatalf("%s: %v", ref.Path, err)
		}
		fx.rows = append(fx.rows, rows...)
	}
	return fx
}

func copyLogs(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, ref := range mustScan(t, from) {
		b, err := os.ReadFile(ref.Path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(ref.Path)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mustScan(t *testing.T, dir string) []format.FileRef {
	t.Helper()
	refs, err := format.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

// probeResult is what Tarantool recovered from a directory.
type probeResult struct {
	ok   bool
	lsn  uint64
	rows map[int64]string
	log  string
}

// probe starts Tarantool on dir without force_recovery and reads the space.
func probe(t *testing.T, dir string) probeResult {
	t.Helper()
	bin := tarantooltest.Require(t)
	work := t.TempDir()
	script := filepath.Join(work, "probe.lua")
	logf := filepath.Join(work, "tarantool.log")
	if err := os.WriteFile(script, []byte(ttProbe), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, script, dir, logf)
	cmd.Dir = work
	cmd.SysProcAttr = testproc.SysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	logb, _ := os.ReadFile(logf)
	res := probeResult{log: string(logb) + stderr.String()}
	if err != nil || ctx.Err() != nil {
		return res
	}
	var out struct {
		LSN  uint64  `json:"lsn"`
		Rows [][]any `json:"rows"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("probe output %q: %v", stdout.String(), err)
	}
	res.ok, res.lsn, res.rows = true, out.LSN, map[int64]string{}
	for _, r := range out.Rows {
		res.rows[toInt(t, r[0])] = fmt.Sprint(r[1])
	}
	return res
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// expectedRows replays the rows of the test space, leaving out the rows
// of replica 1 that are lost (and, past an open end, every later one).
func expectedRows(t *testing.T, fx *ttFixture, lost []Lost) map[int64]string {
	t.Helper()
	gone := func(r *format.Row) bool {
		for _, l := range lost {
			if l.ReplicaID != r.ReplicaID {
				continue
			}
			if r.LSN >= l.LSNFrom && (r.LSN <= l.LSNTo || l.OpenEnded) {
				return true
			}
		}
		return false
	}
	state := map[int64]string{}
	for _, r := range fx.rows {
		if gone(r) || !r.Type.IsDML() {
			continue
		}
		d, err := r.DML()
		if err != nil {
			t.Fatal(err)
		}
		if d.SpaceID != fx.space {
			continue
		}
		var tuple []any
		switch r.Type {
		case box.TypeInsert, box.TypeReplace:
			if err := msgpack.Unmarshal(d.Tuple, &tuple); err != nil {
				t.Fatal(err)
			}
			state[toInt(t, tuple[0])] = fmt.Sprint(tuple[1])
		case box.TypeDelete:
			if err := msgpack.Unmarshal(d.Key, &tuple); err != nil {
				t.Fatal(err)
			}
			delete(state, toInt(t, tuple[0]))
		default:
			t.Fatalf("unexpected row type %s", r.Type)
		}
	}
	return state
}

func diffRows(got, want map[int64]string) string {
	var keys []int64
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var b strings.Builder
	n := 0
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		if g != w || gok != wok {
			if n++; n <= 10 {
				fmt.Fprintf(&b, "key %d: got %q (%v), want %q (%v)\n", k, g, gok, w, wok)
			}
		}
	}
	if n > 10 {
		fmt.Fprintf(&b, "... %d differences\n", n)
	}
	return b.String()
}

// walInfo is a WAL file of a fixture with its blocks.
type walInfo struct {
	name   string
	start  uint64 // VClock[1] of the header
	blocks []blockInfo
}

func walsOf(t *testing.T, dir string) []walInfo {
	t.Helper()
	var ws []walInfo
	for _, ref := range mustScan(t, dir) {
		if ref.Ext != ".xlog" {
			continue
		}
		m, _, err := format.ReadAll(ref.Path, format.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, walInfo{name: filepath.Base(ref.Path), start: m.VClock.Get(1), blocks: blocksOf(t, ref.Path)})
	}
	return ws
}

// afterSnapshot lists the WAL files with rows written after the newest
// snapshot, with their blocks.
func afterSnapshot(t *testing.T, dir string) []walInfo {
	t.Helper()
	var snapLSN uint64
	for _, ref := range mustScan(t, dir) {
		if ref.Ext == ".snap" {
			m, _, err := format.ReadAll(ref.Path, format.Options{})
			if err != nil {
				t.Fatal(err)
			}
			snapLSN = m.VClock.Get(1)
		}
	}
	var after []walInfo
	for _, w := range walsOf(t, dir) {
		if w.start >= snapLSN && len(w.blocks) > 0 {
			after = append(after, w)
		}
	}
	if len(after) < 5 {
		t.Fatalf("only %d WAL files with rows after the snapshot", len(after))
	}
	return after
}

// middleWAL picks a WAL file written after the snapshot that is neither
// the first nor the last with rows.
func middleWAL(t *testing.T, dir string) walInfo {
	t.Helper()
	after := afterSnapshot(t, dir)
	return after[len(after)/2]
}

// txBlock returns the last block of w holding a multi-statement transaction.
func txBlock(t *testing.T, w walInfo) blockInfo {
	t.Helper()
	for i := len(w.blocks) - 1; i >= 0; i-- {
		if len(w.blocks[i].lsns) >= 3 {
			return w.blocks[i]
		}
	}
	t.Fatalf("%s has no block with a transaction: %v", w.name, w.blocks)
	return blockInfo{}
}

// flipInBlock damages a block's payload.
func flipInBlock(t *testing.T, dir string, w walInfo, b blockInfo) []uint64 {
	t.Helper()
	edit(t, filepath.Join(dir, w.name), func(data []byte) []byte {
		data[b.off+format.FixHeaderSize+3] ^= 0x5a
		return data
	})
	return b.lsns
}

// tearInBlock truncates the file in the middle of block b, after its first
// row, and returns that row's LSN: from it on everything is lost.
func tearInBlock(t *testing.T, dir string, w walInfo, b blockInfo) uint64 {
	t.Helper()
	path := filepath.Join(dir, w.name)
	first := rowBytes(t, path, b.lsns[0])
	edit(t, path, func(data []byte) []byte {
		return data[:b.off+format.FixHeaderSize+int64(len(first))+3]
	})
	return b.lsns[0]
}

func garbleHeader(t *testing.T, dir string, w walInfo) {
	t.Helper()
	rnd := rand.New(rand.NewSource(7))
	edit(t, filepath.Join(dir, w.name), func(data []byte) []byte {
		m, err := format.ParseMeta(data)
		if err != nil {
			t.Fatal(err)
		}
		for i := int64(0); i < m.Size; i++ {
			data[i] = byte(rnd.Intn(255) + 1)
			if data[i] == '\n' {
				data[i] = '#'
			}
		}
		return data
	})
}

func deleteWAL(t *testing.T, dir string, w walInfo) []uint64 {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, w.name)); err != nil {
		t.Fatal(err)
	}
	var lsns []uint64
	for _, b := range w.blocks {
		lsns = append(lsns, b.lsns...)
	}
	return lsns
}

type ttScenario struct {
	name   string
	killed bool // use the fixture of the killed instance
	// damage changes the copy and returns the LSNs that must be reported
	// lost, and where an open-ended lost range must start (0: none).
	damage    func(t *testing.T, dir string) (exact []uint64, openFrom uint64)
	plainFail bool // Tarantool must refuse the damaged copy
	snapshot  string
}

func ttScenarios() []ttScenario {
	return []ttScenario{{
		name: "torn-tail", killed: true,
		damage: func(t *testing.T, dir string) ([]uint64, uint64) {
			after := afterSnapshot(t, dir)
			w := after[len(after)-1]
			return nil, tearInBlock(t, dir, w, txBlock(t, w))
		},
	}, {
		name: "checksum", plainFail: true,
		damage: func(t *testing.T, dir string) ([]uint64, uint64) {
			w := middleWAL(t, dir)
			return flipInBlock(t, dir, w, txBlock(t, w)), 0
		},
	}, {
		name: "garbage-header", plainFail: true,
		damage: func(t *testing.T, dir string) ([]uint64, uint64) {
			garbleHeader(t, dir, middleWAL(t, dir))
			return nil, 0
		},
	}, {
		name: "missing-eof",
		damage: func(t *testing.T, dir string) ([]uint64, uint64) {
			w := middleWAL(t, dir)
			edit(t, filepath.Join(dir, w.name), func(data []byte) []byte { return data[:len(data)-4] })
			return nil, 0
		},
	}, {
		name: "after-eof", plainFail: true,
		damage: func(t *testing.T, dir string) ([]uint64, uint64) {
			w := middleWAL(t, dir)
			edit(t, filepath.Join(dir, w.name), func(data []byte) []byte {
				return append(data, bytes.Repeat([]byte("garbage!"), 16)...)
			})
			return nil, 0
		},
	}, {
		name: "deleted-wal", plainFail: true,
		damage: func(t *testing.T, dir string) ([]uint64, uint64) {
			return deleteWAL(t, dir, middleWAL(t, dir)), 0
		},
	}, {
		name: "snapshot-without-eof", plainFail: true, snapshot: "00000000000000000000.snap",
		damage: func(t *testing.T, dir string) ([]uint64, uint64) {
			var last string
			for _, ref := range mustScan(t, dir) {
				if ref.Ext == ".snap" {
					last = ref.Path
				}
			}
			edit(t, last, func(data []byte) []byte { return data[:len(data)-4] })
			return nil, 0
		},
	}, {
		// Tarantool never splits a transaction across blocks; another
		// writer may. With the block of its first row broken, the rest of
		// the transaction must go too (2.6 would apply it row by row).
		name: "split-transaction", plainFail: true,
		damage: func(t *testing.T, dir string) ([]uint64, uint64) {
			w := middleWAL(t, dir)
			path := filepath.Join(dir, w.name)
			m, rows, err := format.ReadAll(path, format.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			fw, err := format.Create(dir, m, format.WriterOptions{BlockSize: 1, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if err := fw.WriteRow(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := fw.Close(); err != nil {
				t.Fatal(err)
			}
			var tsn uint64
			for _, r := range rows {
				if r.HasTSN && r.LSN == r.TSN && !r.Commit {
					tsn = r.TSN
				}
			}
			var lost []uint64
			for _, r := range rows {
				if r.HasTSN && r.TSN == tsn {
					lost = append(lost, r.LSN)
				}
			}
			for _, b := range blocksOf(t, path) {
				if b.lsns[0] == tsn {
					flipInBlock(t, dir, w, b)
				}
			}
			return lost, 0
		},
	}, {
		name: "all-at-once", killed: true, plainFail: true,
		damage: func(t *testing.T, dir string) ([]uint64, uint64) {
			after := afterSnapshot(t, dir)
			lost := flipInBlock(t, dir, after[1], txBlock(t, after[1]))
			lost = append(lost, deleteWAL(t, dir, after[2])...)
			garbleHeader(t, dir, after[3])
			edit(t, filepath.Join(dir, after[3].name), func(data []byte) []byte {
				return append(data, []byte("after the end")...)
			})
			w := after[len(after)-1]
			return lost, tearInBlock(t, dir, w, txBlock(t, w))
		},
	}}
}

func TestTarantoolRecoversRepairedDir(t *testing.T) {
	tarantooltest.Require(t)
	clean, killed := makeTTFixtures(t)
	ref := filepath.Join(t.TempDir(), "ref")
	copyLogs(t, clean.dir, ref)
	if p := probe(t, ref); !p.ok {
		t.Fatalf("Tarantool does not start on the undamaged data:\n%s", lastLines(p.log, 10))
	}
	for _, sc := range ttScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			fx := clean
			if sc.killed {
				fx = killed
			}
			in := filepath.Join(t.TempDir(), "in")
			copyLogs(t, fx.dir, in)
			exact, openFrom := sc.damage(t, in)

			// (1) Plain Tarantool on a copy of the damaged directory.
			plain := filepath.Join(t.TempDir(), "plain")
			copyLogs(t, in, plain)
			p := probe(t, plain)
			switch {
			case sc.plainFail && p.ok:
				t.Errorf("Tarantool started on the damaged directory")
			case !sc.plainFail && !p.ok:
				t.Errorf("Tarantool did not start on the damaged directory:\n%s", lastLines(p.log, 5))
			case !sc.plainFail:
				t.Logf("note: Tarantool starts on this damage by itself (recovered up to LSN %d)", p.lsn)
			default:
				t.Logf("Tarantool refuses: %s", lastLines(p.log, 1))
			}

			// (2) Repair.
			before := dirHash(t, in)
			out := filepath.Join(t.TempDir(), "out")
			rep, err := Run(Options{WALDir: in, OutDir: out, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			rep.WriteText(&text)
			t.Logf("report:\n%s", text.String())
			if !rep.Consistent {
				t.Fatalf("not repaired: %s", rep.Error)
			}

			// (4) The input is unchanged.
			if after := dirHash(t, in); after != before {
				t.Errorf("the input directory changed")
			}

			// The report lists exactly the LSNs of the damage.
			var got []uint64
			var open []Lost
			for _, l := range rep.Lost {
				if l.ReplicaID != 1 {
					t.Errorf("lost rows of replica %d: %+v", l.ReplicaID, l)
				}
				if l.OpenEnded {
					open = append(open, l)
					continue
				}
				for lsn := l.LSNFrom; lsn <= l.LSNTo; lsn++ {
					got = append(got, lsn)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(exact) {
				t.Errorf("lost LSNs %v, want %v", got, exact)
			}
			switch {
			case openFrom == 0 && len(open) > 0:
				t.Errorf("open-ended lost ranges %+v", open)
			case openFrom != 0 && (len(open) != 1 || open[0].LSNFrom != openFrom):
				t.Errorf("open-ended lost ranges %+v, want one from LSN %d", open, openFrom)
			}
			if sc.snapshot != "" && rep.Snapshot != sc.snapshot {
				t.Errorf("recovery starts from %s, want %s", rep.Snapshot, sc.snapshot)
			}

			// (3) Tarantool recovers the output without force_recovery, and
			// the space holds what was written minus the rows reported lost.
			r := probe(t, out)
			if !r.ok {
				t.Fatalf("Tarantool does not start on the repaired directory:\n%s", lastLines(r.log, 10))
			}
			if d := diffRows(r.rows, expectedRows(t, fx, rep.Lost)); d != "" {
				t.Errorf("data differs from the written rows minus the lost ones:\n%s", d)
			}
			if r.lsn != rep.VClock.Get(1) {
				t.Errorf("Tarantool reached LSN %d, the report says %s", r.lsn, rep.VClock)
			}
		})
	}
}
