package node

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/iproto/client"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto"
)

// walRows reads the rows of every xlog in dir: type, LSN and, for
// CONFIRM and ROLLBACK, the LSN their body names.
func walSynchroRows(t *testing.T, dir string) (types []box.RowType, lsns, synchroLSN []uint64) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.xlog"))
	for _, path := range files {
		eachRow(t, path, func(row *format.Row) {
			types = append(types, row.Header.Type)
			lsns = append(lsns, row.Header.LSN)
			var s uint64
			if row.Header.Type == box.TypeConfirm || row.Header.Type == box.TypeRollback {
				b, err := row.Synchro()
				if err != nil {
					t.Fatal(err)
				}
				s = b.LSN
			}
			synchroLSN = append(synchroLSN, s)
		})
	}
	return
}

// A synchronous space with quorum 1: every transaction is followed by a
// CONFIRM naming it, written as Tarantool writes it; Tarantool 2.6.0 reads
// the log back to the same data.
func TestSyncSpaceQuorumOne(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	c := dial(t, n.Addr())
	call(t, c, "box.schema.space.create", "sync", map[string]any{"is_sync": true})
	call(t, c, "box.space.sync:create_index", "pk")
	id := spaceID(t, c, "sync")
	var futs []*client.Future
	for i := 1; i <= 50; i++ {
		futs = append(futs, c.Send(iproto.ReplaceRequest{Space: id, Tuple: []any{i, "s"}}))
	}
	for _, f := range futs {
		resp, err := f.Wait(ctx(t))
		if err == nil {
			err = resp.Err()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	info := call(t, c, "box.info")
	want := selectAll(t, c, "sync")
	c.Close()
	n.Close()
	_ = info
	types, lsns, slsn := walSynchroRows(t, dir)
	confirmed := map[uint64]bool{}
	for i, typ := range types {
		if typ == box.TypeConfirm {
			for _, l := range lsns[:i] {
				if l <= slsn[i] {
					confirmed[l] = true
				}
			}
		}
	}
	for i, typ := range types {
		if typ == box.TypeReplace && !confirmed[lsns[i]] {
			t.Errorf("REPLACE at LSN %d is not followed by a CONFIRM covering it", lsns[i])
		}
	}
	inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{Dir: dir})
	if got := jsonOf(t, inst.Eval(t, "return box.space.sync:select{}")[0]); got != want {
		t.Errorf("Tarantool: %s\nnode: %s", got, want)
	}
}

// With a quorum one instance cannot reach, the oldest transaction times
// out: a ROLLBACK is written for it, it and the asynchronous transaction
// queued behind it are undone, their clients get ER_SYNC_QUORUM_TIMEOUT
// and ER_SYNC_ROLLBACK; Tarantool reads the log to the same state.
func TestSyncTimeoutRollback(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	c := dial(t, n.Addr())
	call(t, c, "box.schema.space.create", "sync", map[string]any{"is_sync": true})
	call(t, c, "box.space.sync:create_index", "pk")
	call(t, c, "box.schema.space.create", "async")
	call(t, c, "box.space.async:create_index", "pk")
	sid, aid := spaceID(t, c, "sync"), spaceID(t, c, "async")
	if _, err := c.Replace(ctx(t), sid, []any{1, "kept"}); err != nil {
		t.Fatal(err)
	}
	call(t, c, "box.cfg", map[string]any{"replication_synchro_quorum": 2, "replication_synchro_timeout": 0.2})
	f1 := c.Send(iproto.ReplaceRequest{Space: sid, Tuple: []any{2, "lost"}})
	f2 := c.Send(iproto.ReplaceRequest{Space: aid, Tuple: []any{1, "behind"}})
	wantCodes(t, []*client.Future{f1, f2}, box.ErrSyncQuorumTimeout, box.ErrSyncRollback)
	call(t, c, "box.cfg", map[string]any{"replication_synchro_quorum": 1})
	if _, err := c.Replace(ctx(t), sid, []any{3, "after"}); err != nil {
		t.Fatal(err)
	}
	wantS, wantA := selectAll(t, c, "sync"), selectAll(t, c, "async")
	if wantS != `[[1,"kept"],[3,"after"]]` || wantA != `[]` {
		t.Errorf("after the rollback: sync %s, async %s", wantS, wantA)
	}
	c.Close()
	n.Close()
	types, _, _ := walSynchroRows(t, dir)
	rollbacks := 0
	for _, typ := range types {
		if typ == box.TypeRollback {
			rollbacks++
		}
	}
	if rollbacks != 1 {
		t.Errorf("%d ROLLBACK rows, want 1", rollbacks)
	}
	inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{Dir: dir})
	got := inst.Eval(t, "return box.space.sync:select{}, box.space.async:select{}")
	if jsonOf(t, got[0]) != wantS || jsonOf(t, got[1]) != wantA {
		t.Errorf("Tarantool: %s %s", jsonOf(t, got[0]), jsonOf(t, got[1]))
	}
}

// A checkpoint waits for the synchronous transactions in the limbo: the
// snapshot holds no unconfirmed data.
func TestSnapshotWaitsForLimbo(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	c := dial(t, n.Addr())
	call(t, c, "box.schema.space.create", "sync", map[string]any{"is_sync": true})
	call(t, c, "box.space.sync:create_index", "pk")
	sid := spaceID(t, c, "sync")
	call(t, c, "box.cfg", map[string]any{"replication_synchro_quorum": 2, "replication_synchro_timeout": 0.3})
	f := c.Send(iproto.ReplaceRequest{Space: sid, Tuple: []any{7, "unconfirmed"}})
	time.Sleep(50 * time.Millisecond)
	call(t, c, "box.snapshot")
	if resp, err := f.Wait(ctx(t)); err == nil && resp.Err() == nil {
		t.Fatal("the synchronous write was confirmed without a quorum")
	}
	_, rows := snapshotRows(t, newestFile(t, dir, ".snap"))
	for _, r := range rows {
		if r.space == sid {
			t.Errorf("the snapshot holds %v", r.tuple)
		}
	}
}

// A synchronous transaction Tarantool left pending (killed before its
// quorum) is visible after the node recovers and waits in the limbo; the
// node's next CONFIRM covers it, and Tarantool agrees on the result.
func TestRecoverPendingSync(t *testing.T) {
	inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{Init: `
box.schema.space.create('s', {is_sync = true, if_not_exists = true})
box.space.s:create_index('pk', {if_not_exists = true})
`})
	inst.Eval(t, `box.space.s:replace{1, 'confirmed'}
box.cfg{replication_synchro_quorum = 2, replication_synchro_timeout = 30}
require('fiber').create(function() box.space.s:replace{2, 'pending'} end)
require('fiber').sleep(0.1)`)
	inst.Kill(t)
	cfg := testConfig(inst.Dir())
	cfg.BootstrapUser = ""
	n := startNode(t, cfg)
	c := dialAs(t, n.Addr(), tarantooltest.AdminUser, tarantooltest.AdminPassword)
	if got := selectAll(t, c, "s"); got != `[[1,"confirmed"],[2,"pending"]]` {
		t.Errorf("after recovery: %s", got)
	}
	if l := n.limbo.Len(); l != 1 {
		t.Errorf("limbo holds %d transactions, want the pending one", l)
	}
	if _, err := c.Replace(ctx(t), spaceID(t, c, "s"), []any{3, "node"}); err != nil {
		t.Fatal(err)
	}
	if l := n.limbo.Len(); l != 0 {
		t.Errorf("limbo holds %d transactions after a CONFIRM", l)
	}
	c.Close()
	n.Close()
	inst.Start(t)
	if got := jsonOf(t, inst.Eval(t, "return box.space.s:select{}")[0]); got != `[[1,"confirmed"],[2,"pending"],[3,"node"]]` {
		t.Errorf("Tarantool: %s", got)
	}
}

// wantCodes waits for the replies of fs and checks that each is the
// error with the code of the same position.
func wantCodes(t *testing.T, fs []*client.Future, codes ...box.ErrorCode) {
	t.Helper()
	for i, f := range fs {
		resp, err := f.Wait(ctx(t))
		if err == nil {
			err = resp.Err()
		}
		if !iproto.IsCode(err, codes[i]) {
			t.Errorf("request %d: %v, want %s", i+1, err, codes[i])
		}
	}
}
