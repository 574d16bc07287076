package render_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testfix"
)

// workload makes Tarantool 2.6.0 write every kind of row it can: sync and
// async spaces, multi-statement transactions mixing global and local rows
// (dummy NOP, wrapped tsn), a synchronous transaction rolled back after a
// quorum timeout with an async one queued behind it, UPDATE/UPSERT/DELETE,
// tuples large enough for zstd blocks, and two snapshots.
const workload = `
box.cfg{wal_dir = 'data', memtx_dir = 'data', log = 'tarantool.log', checkpoint_count = 10,
        replication_synchro_quorum = 1, replication_synchro_timeout = 0.2}
local fiber = require('fiber')
local sync = box.schema.space.create('sync', {is_sync = true})
sync:create_index('pk')
local async = box.schema.space.create('async')
async:create_index('pk', {parts = {1, 'string'}})
async:create_index('sk', {parts = {2, 'unsigned'}, unique = false})
local loc = box.schema.space.create('loc', {is_local = true})
loc:create_index('pk')
for i = 1, 20 do sync:insert{i, 'v' .. i, i * 1.5} end
box.begin()
for i = 1, 10 do async:replace{'k' .. i, i, {a = i, b = {1, 2, 3}}} end
loc:replace{1, 'local'}
box.commit()
box.begin() async:replace{'m1', 1} loc:replace{2, 'x'} box.commit()
async:update('k1', {{'=', 2, 100}, {'!', 3, 'ins'}, {'#', 4, 1}})
async:update('k1', {{'+', 2, 1}})
async:upsert({'k2', 0}, {{'+', 2, 5}})
async:upsert({'new', 0}, {{'+', 2, 5}})
async:delete('k3')
sync:update(1, {{':', 2, 1, 1, 'V'}})
box.snapshot()
box.cfg{replication_synchro_quorum = 2}
local f1 = fiber.new(function() pcall(sync.replace, sync, {100, 'lost'}) end)
fiber.sleep(0.01)
local f2 = fiber.new(function() pcall(async.replace, async, {'queued', 1}) end)
fiber.sleep(0.5)
box.cfg{replication_synchro_quorum = 1}
sync:replace{101, string.rep('big', 2000)}
box.begin()
for i = 1, 50 do async:replace{'big' .. i, i, string.rep('z', 100)} end
box.commit()
async:replace{'bin', 1, '\x00\xff\x01 ok'}
async:replace{'neg', 1, -5, -9007199254740993LL, 18446744073709551615ULL, 0.1, true, box.NULL}
async:replace{'ext', 1, require('decimal').new('123.456'), require('decimal').new('-0.000001'),
    require('decimal').new('12345678901234567890123456789012345678'), require('uuid').fromstr('8244848b-532e-4988-b27a-e4326c6ccb1c')}
box.snapshot()
sync:delete{2}
`

func TestTarantoolWrittenFiles(t *testing.T) {
	tarantooltest.Require(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	tarantooltest.RunScript(t, dir, workload)
	files, err := format.ScanDir(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	if len(paths) < 4 {
		t.Fatalf("expected snapshots and xlogs, got %v", paths)
	}
	oracle := tarantooltest.Oracle(t, paths...)
	seen := map[string]int{}
	for i, p := range paths {
		want, errLine := testfix.ParseRows(t, p, []byte(strings.Join(oracle[i], "\n")))
		if errLine != "" {
			t.Fatalf("%s: Tarantool's reader failed: %s", p, errLine)
		}
		out := renderFile(t, p)
		got, _ := testfix.ParseRows(t, p, out)
		if d := testfix.CompareRows(want, got); d != "" {
			t.Fatalf("%s: %s", filepath.Base(p), d)
		}
		for _, s := range []string{`"type":"CONFIRM"`, `"type":"ROLLBACK"`, `"type":"NOP"`, `"commit":true`, `"group_id":1`} {
			seen[s] += bytes.Count(out, []byte(s))
		}
		r, err := format.Open(p, format.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
		seen["zstd"] += r.Stats().ZBlocks
		if r.End() != format.EndClean {
			t.Errorf("%s: end %v", p, r.End())
		}
		r.Close()
	}
	for k, n := range seen {
		if n == 0 {
			t.Errorf("workload produced no %s", k)
		}
	}
	if len(seen) != 6 {
		t.Errorf("seen %v", seen)
	}
}

// Files from our writer read back identically through our reader and
// through Tarantool's.
func TestWriterRoundTrip(t *testing.T) {
	dir := t.TempDir()
	vc, _ := format.ParseVClock("{0: 3, 1: 10, 2: 4}")
	prev, _ := format.ParseVClock("{1: 2}")
	m := &format.Meta{FileType: format.TypeXLOG, Tarantool: "2.6.0-0-g47aa4e01e",
		Instance: "8244848b-532e-4988-b27a-e4326c6ccb1c", VClock: vc, HasVClock: true, PrevVClock: prev, HasPrevVClock: true}
	w, err := format.Create(dir, m, format.WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type row struct {
		h    format.Header
		body []byte
	}
	ts := 1.7e9 + 0.25
	lsn := uint64(10)
	next := func() uint64 { lsn++; return lsn }
	var rows []row
	add := func(h format.Header, body []byte) { h.Timestamp = ts; rows = append(rows, row{h, body}) }
	l := next()
	add(format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: l, TSN: l, Commit: true},
		enc(map[int]any{0x10: 512, 0x21: []any{1, "one", 1.5, nil, true, map[string]any{"a": 1}}}))
	// A transaction: two global rows, a local row in component 0 (tsn wraps
	// around), and the commit on a NOP.
	t0 := next()
	add(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: t0, TSN: t0}, enc(map[int]any{0x10: 512, 0x21: []any{2}}))
	l = next()
	add(format.Header{Type: box.TypeUpdate, ReplicaID: 1, LSN: l, TSN: t0}, enc(map[int]any{0x10: 512, 0x15: 1, 0x20: []any{1}, 0x21: []any{[]any{"=", 2, "uno"}}}))
	add(format.Header{Type: box.TypeReplace, GroupID: 1, LSN: 4, TSN: t0}, enc(map[int]any{0x10: 513, 0x21: []any{1, "local"}}))
	l = next()
	add(format.Header{Type: box.TypeNop, ReplicaID: 1, LSN: l, TSN: t0, Commit: true}, nil)
	l = next()
	add(format.Header{Type: box.TypeUpsert, ReplicaID: 1, LSN: l, TSN: l, Commit: true, Flags: box.FlagWaitSync | box.FlagWaitAck},
		enc(map[int]any{0x10: 512, 0x15: 1, 0x28: []any{[]any{"+", 3, 1}}, 0x21: []any{3, "x", 0}}))
	l = next()
	add(format.Header{Type: box.TypeConfirm, ReplicaID: 1, LSN: l, TSN: l, Commit: true}, format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: l - 1}))
	l = next()
	add(format.Header{Type: box.TypeDelete, ReplicaID: 1, LSN: l, TSN: l, Commit: true}, enc(map[int]any{0x10: 512, 0x20: []any{2}}))
	l = next()
	add(format.Header{Type: box.TypeRollback, ReplicaID: 1, LSN: l, TSN: l, Commit: true}, format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 1, LSN: l - 1}))
	// Rows of replica 2, then a big transaction that goes into a zstd block.
	l = 5
	add(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: l, TSN: l, Commit: true}, enc(map[int]any{0x10: 512, 0x21: []any{20}}))
	big := strings.Repeat("payload ", 500)
	for i := 0; i < 3; i++ {
		h := format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 6 + uint64(i), TSN: 6, Commit: i == 2}
		add(h, enc(map[int]any{0x10: 512, 0x21: []any{100 + i, big}}))
	}
	for i, r := range rows {
		tx := r.h.TSN != r.h.LSN || !r.h.Commit
		if tx && r.h.TSN == r.h.LSN {
			w.Begin()
		}
		if err := w.Write(&r.h, r.body); err != nil {
			t.Fatal(err)
		}
		if tx && r.h.Commit {
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if i == 4 {
			w.Flush()
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(w.Path()) != "00000000000000000017.xlog" {
		t.Fatalf("file name %s", w.Path())
	}
	if _, err := os.Stat(w.Path() + ".inprogress"); !os.IsNotExist(err) {
		t.Fatal(".inprogress file left behind")
	}

	// Our reader.
	meta, got, err := format.ReadAll(w.Path(), format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if meta.VClock != vc || meta.PrevVClock != prev || meta.Instance != m.Instance {
		t.Fatalf("meta %+v", meta)
	}
	if len(got) != len(rows) {
		t.Fatalf("%d rows, wrote %d", len(got), len(rows))
	}
	for i, r := range rows {
		g := got[i].Header
		g.Unknown = false
		want := r.h
		if g.Flags&^box.FlagCommit != want.Flags || g.Type != want.Type || g.LSN != want.LSN || g.TSN != want.TSN ||
			g.Commit != want.Commit || g.ReplicaID != want.ReplicaID || g.GroupID != want.GroupID || g.Timestamp != want.Timestamp {
			t.Errorf("row %d header %+v, wrote %+v", i, g, want)
		}
		if !bytes.Equal(got[i].Body, r.body) {
			t.Errorf("row %d body %x, wrote %x", i, got[i].Body, r.body)
		}
	}
	if rd, _ := format.Open(w.Path(), format.Options{}); rd != nil {
		for {
			if _, err := rd.Next(); err != nil {
				break
			}
		}
		if rd.Stats().ZBlocks == 0 || rd.Stats().Blocks < 2 {
			t.Errorf("blocks %+v: want plain and zstd blocks", rd.Stats())
		}
		rd.Close()
	}

	// Tarantool's reader.
	oracle := tarantooltest.Oracle(t, w.Path())
	want, errLine := testfix.ParseRows(t, "oracle", []byte(strings.Join(oracle[0], "\n")))
	if errLine != "" {
		t.Fatalf("Tarantool's reader failed: %s", errLine)
	}
	ours, _ := testfix.ParseRows(t, "ours", renderFile(t, w.Path()))
	if d := testfix.CompareRows(want, ours); d != "" {
		t.Fatal(d)
	}
}
