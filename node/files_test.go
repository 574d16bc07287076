package node

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/memtx"
)

const (
	uuidA = "aaaaaaaa-0000-4000-8000-000000000001"
	uuidR = "cccccccc-0000-4000-8000-000000000003"
)

// The snapshot a bootstrapping node writes holds exactly the rows of the
// snapshot Tarantool 2.6.0 writes when it bootstraps with the same UUIDs.
func TestBootstrapSnapshotEqualsTarantool(t *testing.T) {
	tdir := t.TempDir()
	tarantooltest.RunScript(t, tdir, fmt.Sprintf("box.cfg{instance_uuid = %q, replicaset_uuid = %q, log = 't.log'}", uuidA, uuidR))
	_, want := snapshotRows(t, filepath.Join(tdir, "00000000000000000000.snap"))

	ndir := t.TempDir()
	cfg := testConfig(ndir)
	cfg.BootstrapUser = ""
	cfg.InstanceUUID, cfg.ReplicasetUUID = uuidA, uuidR
	n, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.Close()
	meta, got := snapshotRows(t, filepath.Join(ndir, "00000000000000000000.snap"))
	if meta.Instance != uuidA || !meta.VClock.IsEmpty() {
		t.Errorf("header: instance %s vclock %s", meta.Instance, meta.VClock)
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, Tarantool wrote %d", len(got), len(want))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		g, _ := memtx.EncodeMsgpack(got[i].tuple)
		w, _ := memtx.EncodeMsgpack(want[i].tuple)
		if got[i].space != want[i].space || string(g) != string(w) {
			t.Errorf("row %d: space %d %v, Tarantool: space %d %v", i, got[i].space, got[i].tuple, want[i].space, want[i].tuple)
		}
	}
}

// fill creates a space with a primary and a unique secondary index and
// writes rows through the node, returning the expected select().
func fill(t *testing.T, c *client.Conn, name string, from, to int) {
	t.Helper()
	call(t, c, "box.schema.space.create", name, map[string]any{"if_not_exists": true,
		"format": []any{map[string]any{"name": "id", "type": "unsigned"}, map[string]any{"name": "name", "type": "string"}}})
	call(t, c, "box.space."+name+":create_index", "pk", map[string]any{"if_not_exists": true})
	call(t, c, "box.space."+name+":create_index", "name", map[string]any{"parts": []any{"name"}, "if_not_exists": true})
	if err := c.Ping(ctx(t)); err != nil {
		t.Fatal(err)
	}
	id := spaceID(t, c, name)
	for i := from; i < to; i++ {
		if _, err := c.Replace(ctx(t), id, []any{i, fmt.Sprintf("n%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Update(ctx(t), id, 0, []any{from}, []any{[]any{"=", 1, fmt.Sprintf("u%d", from)}}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx(t), id, 0, []any{from + 1}); err != nil {
		t.Fatal(err)
	}
}

func spaceID(t testing.TB, c *client.Conn, name string) uint32 {
	t.Helper()
	rows, err := c.Select(ctx(t), 281, 2, []any{name}, 1, 0, box.IterEq)
	if err != nil || len(rows) != 1 {
		t.Fatalf("space %s: %v %v", name, rows, err)
	}
	return uint32(toU(rows[0].([]any)[0]))
}

func toU(v any) uint64 {
	switch x := v.(type) {
	case uint64:
		return x
	case int64:
		return uint64(x)
	case int:
		return uint64(x)
	case uint32:
		return uint64(x)
	case int8:
		return uint64(x)
	case uint8:
		return uint64(x)
	case int16:
		return uint64(x)
	case uint16:
		return uint64(x)
	case int32:
		return uint64(x)
	}
	return 0
}

// jsonOf renders values for comparison across decoders.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	n, err := memtx.Normalize(v)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(plain(n))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func plain(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	case memtx.Map:
		out := map[string]any{}
		for _, e := range x {
			out[fmt.Sprint(e.Key)] = plain(e.Value)
		}
		return out
	}
	return v
}

func selectAll(t testing.TB, c *client.Conn, space string) string {
	t.Helper()
	rows, err := c.Select(ctx(t), spaceID(t, c, space), 0, []any{}, 1<<30, 0, box.IterAll)
	if err != nil {
		t.Fatal(err)
	}
	return jsonOf(t, rows)
}

// Tarantool 2.6.0 starts from the node's directory, with only the
// bootstrap snapshot and xlogs, and with a snapshot the node wrote, and
// holds the same data.
func TestTarantoolStartsFromNodeDir(t *testing.T) {
	for _, withSnap := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshot=%v", withSnap), func(t *testing.T) {
			dir := t.TempDir()
			n := startNode(t, testConfig(dir))
			c := dial(t, n.Addr())
			fill(t, c, "test", 1, 50)
			if withSnap {
				call(t, c, "box.snapshot")
				fill(t, c, "test", 50, 80)
			}
			want := selectAll(t, c, "test")
			c.Close()
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
			inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{Dir: dir})
			got := inst.Eval(t, "return box.space.test:select{}, box.space.test.index.name:get{'u1'}, box.info.id, box.info.uuid")
			if g := jsonOf(t, got[0]); g != want {
				t.Errorf("Tarantool holds %s\nnode held %s", g, want)
			}
			if g := jsonOf(t, got[1]); g != "[1,\"u1\"]" {
				t.Errorf("secondary index: %s", g)
			}
			if toU(got[2]) != 1 || got[3] != n.UUID() {
				t.Errorf("Tarantool runs as id %v uuid %v, node was 1 %s", got[2], got[3], n.UUID())
			}
		})
	}
}

// The node recovers a directory Tarantool 2.6.0 wrote: snapshot, xlogs,
// secondary indexes, a synchronous space, a rolled-back synchronous
// transaction.
func TestNodeRecoversTarantoolDir(t *testing.T) {
	inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{Init: `
box.schema.space.create('a', {if_not_exists = true})
box.space.a:create_index('pk', {if_not_exists = true})
box.space.a:create_index('name', {parts = {2, 'string'}, if_not_exists = true})
box.schema.space.create('s', {is_sync = true, if_not_exists = true})
box.space.s:create_index('pk', {if_not_exists = true})
`})
	inst.Eval(t, `
for i = 1, 30 do box.space.a:replace{i, 'v' .. i} end
box.space.s:replace{1, 'sync'}
box.snapshot()
for i = 31, 60 do box.space.a:replace{i, 'v' .. i} end
box.space.a:delete{2}
box.space.a:update({3}, {{'=', 2, 'three'}})
box.cfg{replication_synchro_quorum = 2, replication_synchro_timeout = 0.1}
pcall(box.space.s.replace, box.space.s, {2, 'rolled back'})
box.cfg{replication_synchro_quorum = 1}
box.space.s:replace{3, 'sync again'}
`)
	want := inst.Eval(t, "return box.space.a:select{}, box.space.s:select{}, box.space.a.index.name:get{'three'}, box.info.vclock[1]")
	inst.Stop(t)

	cfg := testConfig(inst.Dir())
	cfg.BootstrapUser = ""
	n := startNode(t, cfg)
	c := dialAs(t, n.Addr(), tarantooltest.AdminUser, tarantooltest.AdminPassword)
	if got := selectAll(t, c, "a"); got != jsonOf(t, want[0]) {
		t.Errorf("a: node %s\nTarantool %s", got, jsonOf(t, want[0]))
	}
	if got := selectAll(t, c, "s"); got != jsonOf(t, want[1]) {
		t.Errorf("s: node %s\nTarantool %s", got, jsonOf(t, want[1]))
	}
	rows, err := c.Select(ctx(t), spaceID(t, c, "a"), 1, []any{"three"}, 1, 0, box.IterEq)
	if err != nil || jsonOf(t, rows) != "["+jsonOf(t, want[2])+"]" {
		t.Errorf("secondary: %v %v", rows, err)
	}
	if got := n.VClock().Get(1); got != toU(want[3]) {
		t.Errorf("vclock[1] = %d, Tarantool %d", got, toU(want[3]))
	}
	// And it goes on writing where Tarantool stopped.
	if _, err := c.Replace(ctx(t), spaceID(t, c, "a"), []any{100, "after"}); err != nil {
		t.Fatal(err)
	}
	_ = reflect.DeepEqual
	_ = time.Second
}

// Snapshots are written from a read view while writes go on; the oldest
// beyond checkpoint_count go with the xlogs only they needed, and
// Tarantool starts from what is left.
func TestSnapshotWhileWriting(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.CheckpointCount = 2
	n := startNode(t, cfg)
	c := dial(t, n.Addr())
	fill(t, c, "s", 1, 10)
	id := spaceID(t, c, "s")
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		k := 1000
		for {
			select {
			case <-stop:
				done <- k
				return
			default:
			}
			if _, err := c.Replace(ctx(t), id, []any{k, fmt.Sprintf("w%d", k)}); err != nil {
				t.Error(err)
			}
			k++
		}
	}()
	for i := 0; i < 4; i++ {
		call(t, c, "box.snapshot")
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	last := <-done
	want := selectAll(t, c, "s")
	c.Close()
	n.Close()
	snaps, xlogs, err := dirFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 {
		t.Errorf("%d snapshots kept, want 2", len(snaps))
	}
	if len(xlogs) == 0 || xlogs[0].Signature > snaps[0].Signature {
		t.Errorf("xlogs %v do not cover snapshot %v", xlogs, snaps[0])
	}
	inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{Dir: dir})
	got := inst.Eval(t, "return box.space.s:select{}")
	if g := jsonOf(t, got[0]); g != want {
		t.Errorf("Tarantool holds %d bytes of rows, node %d (last key %d)", len(g), len(want), last)
	}
}

// checkpoint_interval set at run time makes snapshots on its own.
func TestCheckpointInterval(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	c := dial(t, n.Addr())
	fill(t, c, "ci", 1, 5)
	call(t, c, "box.cfg", map[string]any{"checkpoint_interval": 0.05})
	deadline := time.Now().Add(10 * time.Second)
	for {
		snaps, _, _ := dirFiles(dir)
		if len(snaps) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no automatic snapshot")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := c.Call(ctx(t), "box.cfg", map[string]any{"wal_mode": "fsync"}); !iproto.IsCode(err, box.ErrCfg) {
		t.Errorf("wal_mode at run time: %v", err)
	}
}

// DDL by writing _space and _index rows directly, as Tarantool allows;
// Tarantool 2.6.0 reads the result back.
func TestDirectDDL(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	c := dial(t, n.Addr())
	if _, err := c.Insert(ctx(t), 280, []any{600, 1, "direct", "memtx", 0, map[string]any{}, []any{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Insert(ctx(t), 288, []any{600, 0, "pk", "tree", map[string]any{"unique": true}, []any{[]any{0, "unsigned"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Insert(ctx(t), 600, []any{1, "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Insert(ctx(t), 600, []any{1, "y"}); !iproto.IsCode(err, box.ErrTupleFound) {
		t.Errorf("duplicate: %v", err)
	}
	c.Close()
	n.Close()
	inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{Dir: dir})
	if got := jsonOf(t, inst.Eval(t, "return box.space.direct:select{}")[0]); got != `[[1,"x"]]` {
		t.Errorf("Tarantool: %s", got)
	}
}
