package node

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// replConfig is a node configuration whose bootstrap user is the one the
// Tarantool test harness replicates as.
func replConfig(dir string) Config {
	cfg := testConfig(dir)
	cfg.BootstrapUser = tarantooltest.AdminUser + ":" + tarantooltest.AdminPassword
	cfg.ReplicationTimeout = 200 * time.Millisecond // as the Tarantool replicas'
	return cfg
}

func dialAdmin(t testing.TB, addr string) *client.Conn {
	return dialAs(t, addr, tarantooltest.AdminUser, tarantooltest.AdminPassword)
}

// selectAll returns the tuples of a space as JSON.
func spaceJSON(t testing.TB, c *client.Conn, space uint32) string {
	t.Helper()
	rows, err := c.Select(ctx(t), space, 0, []any{}, 1<<30, 0, box.IterAll)
	if err != nil {
		t.Fatalf("select space %d: %v", space, err)
	}
	return jsonOf(t, rows)
}

// trySpaceJSON is spaceJSON for polling: "" when the select fails.
func trySpaceJSON(t testing.TB, c *client.Conn, space uint32) string {
	rows, err := c.Select(ctx(t), space, 0, []any{}, 1<<30, 0, box.IterAll)
	if err != nil {
		return ""
	}
	return jsonOf(t, rows)
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A real Tarantool 2.6.0 joins the node (VOTE, JOIN with the initial data
// and its registration, SUBSCRIBE) and follows it: it holds the node's
// data, the rows written before it joined and those written after.
func TestTarantoolReplicaOfNode(t *testing.T) {
	tarantooltest.Require(t)
	n := startNode(t, replConfig(t.TempDir()))
	c := dialAdmin(t, n.Addr())
	fill(t, c, "before", 1, 20)
	before := spaceID(t, c, "before")

	r := tarantooltest.Start(t, tarantooltest.InstanceOptions{Replication: []string{n.Addr()},
		Cfg: "replication_timeout = 0.2"})
	rc := r.Conn(t)
	if got := spaceJSON(t, c, before); !strings.Contains(got, `"u1"`) {
		t.Fatalf("the node's space: %s", got)
	}
	if got, want := spaceJSON(t, rc, before), spaceJSON(t, c, before); got != want {
		t.Fatalf("replica after join:\n%s\nnode:\n%s", got, want)
	}
	// The replica is registered in the node's _cluster as replica 2.
	if got := jsonOf(t, r.Eval(t, "return box.info.id")); got != "[2]" {
		t.Errorf("replica id %s, want 2", got)
	}
	// Live rows.
	fill(t, c, "after", 100, 150)
	after := spaceID(t, c, "after")
	for i := 0; i < 50; i++ {
		if _, err := c.Replace(ctx(t), before, []any{1000 + i, fmt.Sprintf("live%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	lsn := n.VClock().Get(1)
	r.WaitFor(t, fmt.Sprintf("(box.info.vclock[1] or 0) >= %d", lsn), 20*time.Second)
	for _, sp := range []uint32{before, after} {
		if got, want := spaceJSON(t, rc, sp), spaceJSON(t, c, sp); got != want {
			t.Errorf("space %d on the replica:\n%s\nnode:\n%s", sp, got, want)
		}
	}
	st := jsonOf(t, r.Eval(t, "return box.info.replication[1].upstream.status, box.info.status"))
	if st != `["follow","running"]` {
		t.Errorf("replica upstream status, box.info.status: %s", st)
	}
	// The node sees the replica's ACKs.
	waitFor(t, "the replica's ACK", 10*time.Second, func() bool {
		info := jsonOf(t, call(t, c, "box.info")[0])
		return strings.Contains(info, `"downstream"`) && strings.Contains(info, fmt.Sprintf(`"1":%d`, lsn))
	})

	// The replica's ACKs make the node's synchronous writes reach a
	// quorum of 2; without the replica they time out and are rolled back.
	call(t, c, "box.schema.space.create", "sync", map[string]any{"is_sync": true})
	call(t, c, "box.space.sync:create_index", "pk")
	syncID := spaceID(t, c, "sync")
	call(t, c, "box.cfg", map[string]any{"replication_synchro_quorum": 2, "replication_synchro_timeout": 5})
	for i := 0; i < 20; i++ {
		if _, err := c.Replace(ctx(t), syncID, []any{i, "confirmed"}); err != nil {
			t.Fatalf("sync write %d with the replica: %v", i, err)
		}
	}
	lsn = n.VClock().Get(1)
	r.WaitFor(t, fmt.Sprintf("(box.info.vclock[1] or 0) >= %d and box.space.sync:count() == 20", lsn), 20*time.Second)
	r.Stop(t)
	call(t, c, "box.cfg", map[string]any{"replication_synchro_timeout": 0.3})
	_, err := c.Replace(ctx(t), syncID, []any{100, "no quorum"})
	if err == nil || !strings.Contains(err.Error(), "216") {
		t.Errorf("sync write without the replica: %v, want ER_SYNC_QUORUM_TIMEOUT", err)
	}
	if got := spaceJSON(t, c, syncID); strings.Contains(got, "no quorum") {
		t.Errorf("the rolled-back write is visible: %s", got)
	}
	n.Close()
	verifyDirs(t, n.cfg.Dir, r.Dir())
}

// REGISTER turns an anonymous replica into a normal one: the node
// registers it in _cluster, streams the rows written meanwhile (the
// registration among them) and the vclock reached; a second REGISTER of
// the same UUID is refused with ER_REPLICA_NOT_ANON.
func TestRegisterAnonymousReplica(t *testing.T) {
	n := startNode(t, replConfig(t.TempDir()))
	const uuid = "ffffffff-0000-4000-8000-000000000006"
	conn, err := client.DialReplication(ctx(t), n.Addr(), client.Options{User: tarantooltest.AdminUser,
		Password: tarantooltest.AdminPassword, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Send(iproto.RegisterRequest{InstanceUUID: uuid, VClock: n.VClock()}); err != nil {
		t.Fatal(err)
	}
	var row format.Row
	registered := false
	for {
		if err := conn.ReadRow(&row); err != nil {
			t.Fatal(err)
		}
		if err := iproto.RowError(&row); err != nil {
			t.Fatal(err)
		}
		if row.Type == box.TypeOK {
			break
		}
		if d, err := row.DML(); err == nil && d.SpaceID == box.SpaceCluster && strings.Contains(string(d.Tuple), uuid) {
			registered = true
		}
	}
	vc, err := iproto.DecodeVClockResponse(row.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !registered || !vc.VClock.Equal(n.VClock().WithoutLocal()) {
		t.Errorf("registration row streamed: %v; vclock %s, node %s", registered, vc.VClock, n.VClock())
	}
	n.mu.Lock()
	id := n.replicaID(uuid)
	n.mu.Unlock()
	if id != 2 {
		t.Errorf("replica id %d, want 2", id)
	}
	_, err = conn.Call(ctx(t), iproto.RegisterRequest{InstanceUUID: uuid, VClock: n.VClock()})
	if !iproto.IsCode(err, box.ErrReplicaNotAnon) {
		t.Errorf("second REGISTER: %v, want ER_REPLICA_NOT_ANON", err)
	}
}
