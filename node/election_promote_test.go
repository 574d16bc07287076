package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tarantool/go-tarantool/v3"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/node/raft"
)

// goConn connects github.com/tarantool/go-tarantool/v3 to a node as the
// admin user.
func goConn(t *testing.T, addr string) *tarantool.Connection {
	t.Helper()
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := tarantool.Connect(cctx, tarantool.NetDialer{Address: addr,
		User: tarantooltest.AdminUser, Password: tarantooltest.AdminPassword},
		tarantool.Opts{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// goCall calls fn and returns the Tarantool error it got, if any.
func goCall(conn *tarantool.Connection, fn string, args ...any) error {
	if args == nil {
		args = []any{}
	}
	_, err := conn.Do(tarantool.NewCallRequest(fn).Args(args)).Get()
	return err
}

// wantBoxError checks that err is Tarantool's error code with message.
func wantBoxError(t *testing.T, what string, err error, code box.ErrorCode, msg string) {
	t.Helper()
	var te tarantool.ServerError
	if !errors.As(err, &te) {
		t.Errorf("%s: %v, want %s %q", what, err, code, msg)
		return
	}
	if box.ErrorCode(te.Code) != code || te.Msg != msg {
		t.Errorf("%s: %s %q, want %s %q", what, box.ErrorCode(te.Code), te.Msg, code, msg)
	}
}

// netboxCall calls fn on the node at addr from Tarantool 2.6.0's net.box
// and returns "ok" or the error's code and message as it sees them.
func netboxCall(t *testing.T, addr, fn string) string {
	t.Helper()
	uri := fmt.Sprintf("%s:%s@%s", tarantooltest.AdminUser, tarantooltest.AdminPassword, addr)
	out := tarantooltest.RunScript(t, "", fmt.Sprintf(`
local c = require('net.box').connect(%s)
local ok, e = pcall(c.call, c, %s)
io.write(ok and 'ok' or (e.code .. ' ' .. e.message))
`, tarantooltest.LuaString(uri), tarantooltest.LuaString(fn)))
	return strings.TrimSpace(out)
}

// box.ctl.promote() and demote() called by a real client fail as in
// 2.11: a voter cannot promote itself, a manual node without a quorum
// cannot start an election, a node with elections off cannot demote while
// a Raft leader is known, demote on a node that does not own the queue
// changes nothing.
func TestElectionPromoteErrors(t *testing.T) {
	cfgs := electionConfigs(t, 3, "manual")
	cfgs[1].ElectionMode = "voter"
	nodes := startMesh(t, cfgs)
	waitSynced(t, nodes...)
	c0, c1, c2 := goConn(t, nodes[0].Addr()), goConn(t, nodes[1].Addr()), goConn(t, nodes[2].Addr())

	waitHealthy(t, nodes...)
	wantBoxError(t, "promote on a voter", goCall(c1, "box.ctl.promote"),
		box.ErrUnsupported, "election_mode='voter' does not support manual elections")
	if err := goCall(c0, "box.ctl.promote"); err != nil {
		t.Fatalf("promote on a manual node: %v", err)
	}
	if leaderOf(nodes) != nodes[0] {
		t.Fatal("box.ctl.promote() returned before the node was a writable leader")
	}
	if err := goCall(c0, "box.ctl.promote"); err != nil {
		t.Errorf("promote on the leader: %v", err)
	}
	waitFor(t, "every node to follow the leader", 10*time.Second, func() bool {
		return infoField(nodes[2], "election", "leader") == uint64(nodes[0].id)
	})
	// Elections turned off on a node that follows the leader.
	if err := goCall(c2, "box.cfg", map[string]any{"election_mode": "off"}); err != nil {
		t.Fatal(err)
	}
	if l := infoField(nodes[2], "election", "leader"); l != uint64(nodes[0].id) {
		t.Fatalf("elections off: leader %v", l)
	}
	wantBoxError(t, "demote with elections off while a leader is known", goCall(c2, "box.ctl.demote"),
		box.ErrNotLeader, fmt.Sprintf("The instance is not a leader. New leader is %d", nodes[0].id))
	// 2.6.0's net.box gets the same codes and messages.
	if got, want := netboxCall(t, nodes[2].Addr(), "box.ctl.demote"), fmt.Sprintf("226 The instance is not a leader. New leader is %d", nodes[0].id); got != want {
		t.Errorf("net.box demote: %q, want %q", got, want)
	}
	if got, want := netboxCall(t, nodes[1].Addr(), "box.ctl.promote"), "5 election_mode='voter' does not support manual elections"; got != want {
		t.Errorf("net.box promote on a voter: %q, want %q", got, want)
	}
	if err := goCall(c1, "box.ctl.demote"); err != nil {
		t.Errorf("demote on a voter that owns nothing: %v", err)
	}
	if leaderOf(nodes) != nodes[0] {
		t.Error("demote on another node changed the leader")
	}

	// Alone, a manual node has no quorum to stand with.
	nodes[1].Close()
	nodes[2].Close()
	if err := goCall(c0, "box.ctl.demote"); err != nil {
		t.Fatalf("demote on the leader: %v", err)
	}
	waitFor(t, "the peers to be unhealthy", 10*time.Second, func() bool {
		h := 0
		nodes[0].election.with(func(e *raft.Election) { h = e.Healthy() })
		return nodes[0].election.status().State != raft.Leader && h == 1
	})
	wantBoxError(t, "promote without a quorum", goCall(c0, "box.ctl.promote"),
		box.ErrNoElectionQuorum, "Not enough peers connected to start elections: 1 out of minimal required 2")
}

// With elections off, box.ctl.promote() waits for the old owner's
// entries to gather their quorum for the synchro timeout and then fails
// with Tarantool's timeout; a second call meanwhile is refused.
func TestElectionPromoteOffTimeout(t *testing.T) {
	cfgs := meshConfigs(t, 3)
	for i := range cfgs {
		cfgs[i] = quorumConfig(cfgs[i])
		cfgs[i].ReplicationSynchroQuorum = 3
	}
	cfgs[0].ReplicationSynchroTimeout = 30 * time.Second
	cfgs[1].ReplicationSynchroTimeout = 500 * time.Millisecond
	nodes := startMesh(t, cfgs)
	waitSynced(t, nodes...)
	c0, c1 := goConn(t, nodes[0].Addr()), goConn(t, nodes[1].Addr())
	if err := goCall(c0, "box.schema.space.create", "s", map[string]any{"is_sync": true}); err != nil {
		t.Fatal(err)
	}
	if err := goCall(c0, "box.space.s:create_index", "pk"); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, nodes...)
	nodes[2].Close()
	// Node 1's synchronous write waits for a quorum of 3 that cannot come.
	a0 := dialAdmin(t, nodes[0].Addr())
	s := spaceID(t, a0, "s")
	go func() { _, _ = a0.Replace(context.Background(), s, []any{1}) }()
	waitFor(t, "the entry on node 2", 10*time.Second, func() bool {
		nodes[1].mu.Lock()
		defer nodes[1].mu.Unlock()
		return !nodes[1].limbo.Empty()
	})
	res := make(chan error, 1)
	go func() { res <- goCall(c1, "box.ctl.promote") }()
	waitFor(t, "the first promote to be under way", 10*time.Second, func() bool {
		return nodes[1].election.promoting.Load()
	})
	wantBoxError(t, "a second promote", goCall(goConn(t, nodes[1].Addr()), "box.ctl.promote"),
		box.ErrUnsupported, "box.ctl.promote/demote does not support simultaneous invocations")
	wantBoxError(t, "promote while the old owner has no quorum", <-res, box.ErrTimeout, "Timeout exceeded")
	nodes[0].Close()
}

// A node whose elections are turned off at run time still speaks 2.11's
// replication: after its links reconnect it keeps getting the leader's
// RAFT messages and PROMOTE rows (a master refuses to send a PROMOTE to a
// replica that announced 2.6.0, which would cut it off).
func TestElectionTurnedOffFollowsPromote(t *testing.T) {
	nodes := startMesh(t, electionConfigs(t, 3, "manual"))
	waitSynced(t, nodes...)
	if err := goCall(goConn(t, nodes[2].Addr()), "box.cfg", map[string]any{"election_mode": "off"}); err != nil {
		t.Fatal(err)
	}
	// Make its links reconnect: they subscribe again with the version
	// the node announces now.
	nodes[0].Close()
	cfg := nodes[0].cfg
	var err error
	if nodes[0], err = openAt(t, cfg); err != nil {
		t.Fatal(err)
	}
	// The restarted node starts with no peer healthy; its appliers
	// subscribe again in their own time.
	waitSynced(t, nodes...)
	waitHealthy(t, nodes...)
	if err := goCall(goConn(t, nodes[0].Addr()), "box.ctl.promote"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the node with elections off to follow the leader and its queue", 10*time.Second, func() bool {
		nodes[2].mu.Lock()
		owner := nodes[2].limbo.Owner()
		nodes[2].mu.Unlock()
		return infoField(nodes[2], "election", "leader") == uint64(nodes[0].id) && owner == nodes[0].id
	})
}
