package node

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// Requests that arrive together are executed as one batch: in order,
// each seeing the ones before it, with a DDL call, errors and a stale
// schema version in between; every reply carries its request's sync and
// comes in request order.
func TestPipelinedBatch(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	c := dial(t, n.Addr())
	call(t, c, "box.schema.space.create", "p")
	call(t, c, "box.space.p:create_index", "pk")
	id := spaceID(t, c, "p")
	staleSchema := n.schemaVersionNow()

	nc, err := net.DialTimeout("tcp", n.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	gb := make([]byte, iproto.GreetingSize)
	if _, err := io.ReadFull(nc, gb); err != nil {
		t.Fatal(err)
	}
	g, err := iproto.ParseGreeting(gb)
	if err != nil {
		t.Fatal(err)
	}
	scramble, err := iproto.Scramble(g.Salt, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	add := func(sync uint64, r iproto.Request) {
		t.Helper()
		if out, err = iproto.AppendRequest(out, sync, 0, r); err != nil {
			t.Fatal(err)
		}
	}
	add(1, iproto.AuthRequest{User: testUser, Scramble: scramble})
	add(2, iproto.ReplaceRequest{Space: id, Tuple: []any{1, "a"}})
	add(3, iproto.InsertRequest{Space: id, Tuple: []any{1, "b"}})
	add(4, iproto.SelectRequest{Space: id, Limit: 10, Key: []any{1}})
	add(5, iproto.CallRequest{Function: "box.schema.space.create", Args: []any{"q"}})
	// A REPLACE that names the schema version before the DDL.
	pkt, err := iproto.AppendRequest(nil, 6, 0, iproto.ReplaceRequest{Space: id, Tuple: []any{2, "c"}})
	if err != nil {
		t.Fatal(err)
	}
	var row format.Row
	if err := iproto.DecodePacket(pkt[5:], &row); err != nil {
		t.Fatal(err)
	}
	if out, err = iproto.AppendRow(out, &format.Header{Type: box.TypeReplace, Sync: 6, SchemaVersion: staleSchema}, row.Body); err != nil {
		t.Fatal(err)
	}
	add(7, iproto.ReplaceRequest{Space: id, Tuple: []any{3, "d"}})
	add(8, iproto.DeleteRequest{Space: id, Key: []any{1}})
	add(9, iproto.SelectRequest{Space: id, Limit: 10, Key: []any{}, Iterator: box.IterAll})
	add(10, iproto.ReplaceRequest{Space: 99999, Tuple: []any{1}})
	add(11, iproto.PingRequest{})
	if _, err := nc.Write(out); err != nil {
		t.Fatal(err)
	}

	br := bufio.NewReader(nc)
	want := []struct {
		code box.ErrorCode
		data string
	}{
		{0, "[]"},
		{0, "[[1 a]]"},
		{box.ErrTupleFound, ""},
		{0, "[[1 a]]"},
		{0, ""},
		{box.ErrWrongSchemaVersion, ""},
		{0, "[[3 d]]"},
		{0, "[[1 a]]"},
		{0, "[[3 d]]"},
		{box.ErrNoSuchSpace, ""},
		{0, "[]"},
	}
	for i, w := range want {
		p, err := iproto.ReadPacket(br, nil)
		if err != nil {
			t.Fatalf("reply %d: %v", i+1, err)
		}
		resp, err := iproto.DecodeResponse(p)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Sync != uint64(i+1) {
			t.Fatalf("reply %d has sync %d", i+1, resp.Sync)
		}
		if resp.Code() != w.code {
			t.Errorf("reply %d: code %v, want %v (%v)", i+1, resp.Code(), w.code, resp.Err())
			continue
		}
		if w.code != 0 || w.data == "" {
			continue
		}
		data, err := resp.Data()
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(data); got != w.data {
			t.Errorf("reply %d: %s, want %s", i+1, got, w.data)
		}
	}
	rows, err := c.Select(ctx(t), id, 0, []any{}, 10, 0, box.IterAll)
	if err != nil || fmt.Sprint(rows) != "[[3 d]]" {
		t.Errorf("space after the batch: %v %v", rows, err)
	}
}

// A connection whose reply waits in the limbo goes on executing the
// requests behind it: an asynchronous write sent once the synchronous
// one waits enters the limbo behind it and is rolled back with it, as in
// Tarantool (where every request has a fiber of its own).
func TestRequestsBehindALimboWait(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	c := dial(t, n.Addr())
	call(t, c, "box.schema.space.create", "sync", map[string]any{"is_sync": true})
	call(t, c, "box.space.sync:create_index", "pk")
	call(t, c, "box.schema.space.create", "async")
	call(t, c, "box.space.async:create_index", "pk")
	sid, aid := spaceID(t, c, "sync"), spaceID(t, c, "async")
	call(t, c, "box.cfg", map[string]any{"replication_synchro_quorum": 2, "replication_synchro_timeout": 1})
	f1 := c.Send(iproto.ReplaceRequest{Space: sid, Tuple: []any{1, "no quorum"}})
	waitFor(t, "the write to wait in the limbo", 5*time.Second, func() bool { return queueLen(n) > 0 })
	f2 := c.Send(iproto.ReplaceRequest{Space: aid, Tuple: []any{1, "behind"}})
	wantCodes(t, []*client.Future{f1, f2}, box.ErrSyncQuorumTimeout, box.ErrSyncRollback)
	// The connection goes on serving, with its replies in order.
	call(t, c, "box.cfg", map[string]any{"replication_synchro_quorum": 1})
	var fs []*client.Future
	for i := 0; i < 50; i++ {
		fs = append(fs, c.Send(iproto.ReplaceRequest{Space: sid + uint32(i%2)*(aid-sid), Tuple: []any{i, "after"}}))
	}
	for i, f := range fs {
		if resp, err := f.Wait(ctx(t)); err != nil || resp.Err() != nil || resp.Sync != f.Sync() {
			t.Fatalf("request %d after the rollback: %v", i, err)
		}
	}
	if got := selectAll(t, c, "async"); strings.Contains(got, "behind") {
		t.Errorf("the rolled-back write is visible: %s", got)
	}
}
