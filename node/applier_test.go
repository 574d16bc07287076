package node

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/memtx"
)

// walRows reads the rows of every xlog of a directory by (replica id, LSN):
// type and body.
func walRows(t testing.TB, dir string) map[[2]uint64]string {
	t.Helper()
	_, xlogs, err := dirFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]uint64]string{}
	for _, x := range xlogs {
		f, err := os.Open(x.Path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := format.NewReader(f, format.Options{Name: x.Path})
		if err != nil {
			t.Fatal(err)
		}
		for {
			row, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if row.ReplicaID == 0 {
				continue
			}
			out[[2]uint64{uint64(row.ReplicaID), row.LSN}] = fmt.Sprintf("%v %x", row.Type, row.Body)
		}
		r.Close()
		f.Close()
	}
	return out
}

// followerConfig is a node that follows the peers given.
func followerConfig(dir string, peers ...string) Config {
	cfg := testConfig(dir)
	cfg.BootstrapUser = ""
	cfg.ReplicationTimeout = 200 * time.Millisecond
	for _, p := range peers {
		cfg.Replication = append(cfg.Replication, tarantooltest.AdminUser+":"+tarantooltest.AdminPassword+"@"+p)
	}
	return cfg
}

// A node follows a real Tarantool 2.6.0 master: it joins with an empty
// directory, subscribes, holds the master's data, writes the master's rows
// to its WAL unchanged, and its ACKs make the master's synchronous
// transactions reach a quorum of 2: without it they time out.
func TestNodeFollowsTarantool(t *testing.T) {
	tarantooltest.Require(t)
	m := tarantooltest.Start(t, tarantooltest.InstanceOptions{Cfg: "replication_timeout = 0.2",
		Init: `box.schema.space.create('a', {if_not_exists = true}):create_index('pk', {if_not_exists = true})
box.schema.space.create('s', {is_sync = true, if_not_exists = true}):create_index('pk', {if_not_exists = true})
box.schema.space.create('loc', {is_local = true, if_not_exists = true}):create_index('pk', {if_not_exists = true})
for i = 1, 20 do box.space.a:replace{i, 'before'} end
box.space.loc:replace{1}`})
	dir := t.TempDir()
	n := startNode(t, followerConfig(dir, m.Addr()))
	if n.id != 2 {
		t.Fatalf("node got replica id %d, want 2", n.id)
	}
	// Live rows, a multi-statement transaction, an update and a delete.
	m.Eval(t, `for i = 21, 40 do box.space.a:replace{i, 'live'} end
box.begin() box.space.a:replace{100, 'tx'} box.space.a:replace{101, 'tx'} box.space.a:delete{1} box.commit()
box.space.a:update({2}, {{'=', 2, 'updated'}})`)
	lsn := uint64(m.LSN(t))
	waitFor(t, "the node to catch up", 20*time.Second, func() bool { return n.VClock().Get(1) >= lsn })
	c := dialAdmin(t, n.Addr())
	want := jsonOf(t, m.Eval(t, "return box.space.a:select()")[0])
	if got := spaceJSON(t, c, spaceID(t, c, "a")); got != want {
		t.Errorf("node's space a:\n%s\nmaster's:\n%s", got, want)
	}
	if got := spaceJSON(t, c, spaceID(t, c, "loc")); got != "[]" {
		t.Errorf("the master's local space reached the node: %s", got)
	}

	// The node's ACKs confirm the master's synchronous writes.
	m.Eval(t, "box.cfg{replication_synchro_quorum = 2, replication_synchro_timeout = 5}")
	start := time.Now()
	m.Eval(t, "box.space.s:replace{1, 'confirmed by the node'}")
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the sync write took %v", d)
	}
	lsn = uint64(m.LSN(t))
	waitFor(t, "the CONFIRM on the node", 10*time.Second, func() bool { return n.VClock().Get(1) >= lsn })
	info := jsonOf(t, call(t, c, "box.info")[0])
	if !strings.Contains(info, `"status":"follow"`) {
		t.Errorf("box.info.replication of the node: %s", info)
	}
	masterRows := func() map[[2]uint64]string { return walRows(t, m.Dir()) }
	nodeRows := walRows(t, dir)
	mr := masterRows()
	if len(nodeRows) == 0 {
		t.Fatal("the node's WAL holds no rows of the master")
	}
	for k, v := range nodeRows {
		if k[0] != 1 {
			continue
		}
		if mr[k] != v {
			t.Errorf("row %d:%d: node %s, master %s", k[0], k[1], v, mr[k])
		}
	}
	n.Close()
	m.Eval(t, "box.cfg{replication_synchro_timeout = 0.5}")
	_, err := m.EvalErr("box.space.s:replace{2, 'no quorum'}")
	if err == nil || !strings.Contains(err.Error(), "Quorum collection for a synchronous transaction is timed out") {
		t.Errorf("sync write without the node: %v, want a quorum timeout", err)
	}
	verifyDirs(t, m.Dir(), dir)
}

// A Tarantool 2.6.0 and a node in a full mesh: the node joins the
// Tarantool, the Tarantool then follows the node too, and writes made on
// either reach the other once (the rows of each come back to neither).
func TestMeshWithTarantool(t *testing.T) {
	tarantooltest.Require(t)
	m := tarantooltest.Start(t, tarantooltest.InstanceOptions{Cfg: "replication_timeout = 0.2",
		Init: `box.schema.space.create('m', {if_not_exists = true}):create_index('pk', {if_not_exists = true})`})
	dir := t.TempDir()
	n := startNode(t, followerConfig(dir, m.Addr()))
	m.ReplicateFrom(t)
	m.Eval(t, "box.cfg{replication = ...}", []any{m.URI(), tarantooltest.AdminUser + ":" + tarantooltest.AdminPassword + "@" + n.Addr()})
	m.WaitFor(t, `box.info.replication[2] ~= nil and box.info.replication[2].upstream ~= nil
		and box.info.replication[2].upstream.status == 'follow'`, 20*time.Second)
	c := dialAdmin(t, n.Addr())
	sp := spaceID(t, c, "m")
	for i := 0; i < 20; i++ {
		m.Eval(t, fmt.Sprintf("box.space.m:replace{%d, 'from tarantool'}", i))
		if _, err := c.Replace(ctx(t), sp, []any{100 + i, "from the node"}); err != nil {
			t.Fatal(err)
		}
	}
	nodeLSN := n.VClock().Get(n.id)
	m.WaitFor(t, fmt.Sprintf("(box.info.vclock[%d] or 0) >= %d", n.id, nodeLSN), 20*time.Second)
	lsn := uint64(m.LSN(t))
	waitFor(t, "the node to catch up", 20*time.Second, func() bool { return n.VClock().Get(1) >= lsn })
	want := jsonOf(t, m.Eval(t, "return box.space.m:select()")[0])
	if got := spaceJSON(t, c, sp); got != want {
		t.Errorf("node:\n%s\ntarantool:\n%s", got, want)
	}
	if !strings.Contains(want, "from the node") {
		t.Errorf("the node's rows did not reach Tarantool: %s", want)
	}
	st := jsonOf(t, m.Eval(t, "return box.info.replication[2].upstream.status, box.info.replication[2].downstream.status")[0])
	if st != `"follow"` {
		t.Errorf("Tarantool's upstream from the node: %s", st)
	}
	n.Close()
	verifyDirs(t, m.Dir(), dir)
}

// fakeMaster accepts replication connections, answers VOTE and SUBSCRIBE
// (as replica 2), then sends the rows given and keeps the connection open.
func fakeMaster(t *testing.T, uuid, rsUUID string, rows func(sync uint64) []byte) string {
	t.Helper()
	return fakeMasterStream(t, uuid, rsUUID, func(c *net.TCPConn, br *bufio.Reader, sync uint64) {
		c.Write(rows(sync))
		io.Copy(io.Discard, br)
	})
}

// fakeMasterStream is fakeMaster with the stream after the SUBSCRIBE
// response left to the function given.
func fakeMasterStream(t *testing.T, uuid, rsUUID string, stream func(c *net.TCPConn, br *bufio.Reader, sync uint64)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				g, _ := iproto.EncodeGreeting(iproto.Greeting{Version: box.Version{Major: 2, Minor: 6}, InstanceUUID: uuid,
					Salt: make([]byte, 32)})
				c.Write(g)
				br := bufio.NewReader(c)
				for {
					pkt, err := iproto.ReadPacket(br, nil)
					if err != nil {
						return
					}
					var row format.Row
					if iproto.DecodePacket(pkt, &row) != nil {
						return
					}
					switch row.Type {
					case box.TypeVote:
						c.Write(iproto.AppendResponse(nil, box.TypeOK, row.Sync, 0,
							iproto.Ballot{}.AppendBody(nil, box.Version{Major: 2, Minor: 6})))
					case box.TypeSubscribe:
						h := format.Header{Type: box.TypeOK, Sync: row.Sync, ReplicaID: 2, Commit: true}
						ok, _ := iproto.AppendRow(nil, &h, iproto.SubscribeResponse{ReplicasetUUID: rsUUID}.AppendBody(nil))
						c.Write(ok)
						stream(c.(*net.TCPConn), br, row.Sync)
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// bootstrapped returns the configuration of a node bootstrapped in a new
// directory, closed, and its replica set UUID: a fake master of that
// replica set can feed it.
func bootstrapped(t *testing.T) (Config, string) {
	t.Helper()
	cfg := testConfig(t.TempDir())
	n, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := n.rsUUID
	n.Close()
	return cfg, rs
}

// A master that closes the connection right after a burst of heartbeats:
// the ACKs after them fail while most of the burst still waits in the
// applier's read buffer. The applier ends the connection and reconnects
// instead of blocking on ACKs nobody sends any more, and the node stops.
func TestApplierAckFailureEndsConnection(t *testing.T) {
	cfg, rs := bootstrapped(t)
	addr := fakeMasterStream(t, "99999999-0000-4000-8000-000000000009", rs, func(c *net.TCPConn, br *bufio.Reader, sync uint64) {
		hb := func(k int) []byte {
			var out []byte
			for range k {
				h := format.Header{Type: box.TypeOK, ReplicaID: 2, Sync: sync}
				out, _ = iproto.AppendRow(out, &h, nil)
			}
			return out
		}
		// One heartbeat and its ACK: the acker runs.
		c.Write(hb(1))
		if _, err := iproto.ReadPacket(br, nil); err != nil {
			return
		}
		// More heartbeats than the applier queues ACKs for, then the
		// connection closes: the ACKs after the first one fail.
		c.Write(hb(4000))
	})
	cfg.Replication = []string{addr}
	cfg.ReplicationTimeout = 100 * time.Millisecond
	n, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		closed := make(chan error, 1)
		go func() { closed <- n.Close() }()
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Error("the node does not stop: its applier blocks")
		}
	})
	waitFor(t, "the applier to end the connection", 30*time.Second, func() bool {
		status, _ := applierState(n)
		return status == "disconnected"
	})
}

// applierState returns the status and message of the node's first applier.
func applierState(n *Node) (status, message string) {
	n.repl.mu.Lock()
	a := n.repl.appliers[0]
	n.repl.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status, a.message
}

// The applier refuses a stream whose transaction lacks its first row
// (ER_PROTOCOL, as 2.6.0) and one that interleaves transactions, applies
// none of their rows, reports the error in box.info.replication and keeps
// retrying.
func TestApplierRefusesBrokenStreams(t *testing.T) {
	for name, rows := range map[string]func(sync uint64) []byte{
		"headless": func(sync uint64) []byte {
			h := format.Header{Type: box.TypeInsert, ReplicaID: 2, LSN: 5, TSN: 4, HasTSN: true, Commit: true, Sync: sync}
			b, _ := iproto.AppendRow(nil, &h, appendRawDMLBody(nil, memtx.RawRequest{Type: box.TypeInsert, SpaceID: 512, Tuple: []byte{0x91, 0x01}}))
			return b
		},
		"interleaved": func(sync uint64) []byte {
			var out []byte
			for _, h := range []format.Header{
				{Type: box.TypeInsert, ReplicaID: 2, LSN: 1, TSN: 1, HasTSN: true, Sync: sync},
				{Type: box.TypeInsert, ReplicaID: 2, LSN: 2, TSN: 2, HasTSN: true, Commit: true, Sync: sync},
			} {
				out, _ = iproto.AppendRow(out, &h, appendRawDMLBody(nil, memtx.RawRequest{Type: box.TypeInsert, SpaceID: 512, Tuple: []byte{0x91, 0x01}}))
			}
			return out
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, rs := bootstrapped(t)
			addr := fakeMaster(t, "99999999-0000-4000-8000-000000000009", rs, rows)
			cfg.Replication = []string{addr}
			cfg.ReplicationTimeout = 100 * time.Millisecond
			n := startNode(t, cfg)
			waitFor(t, "the applier's error", 5*time.Second, func() bool {
				status, message := applierState(n)
				return status == "disconnected" && message != ""
			})
			if v := n.VClock(); v.Get(2) != 0 {
				t.Errorf("vclock %s after a refused stream", v)
			}
			_, msg := applierState(n)
			want := map[string]string{"headless": "Transaction id must be equal to LSN", "interleaved": "interleaving"}[name]
			if !strings.Contains(msg, want) {
				t.Errorf("applier message %q, want %q", msg, want)
			}
		})
	}
}
