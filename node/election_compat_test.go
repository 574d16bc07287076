package node

import (
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
)

// Profile B against a 2.6.0 replica (NODE.md §2.8): a node with
// elections on gives a real Tarantool 2.6.0 replica no RAFT messages, and
// when it takes the queue with a PROMOTE it ends the link instead of
// sending the row that would stop the replica's applier for good; the
// replica shows why.
func TestElectionRefuses260Replica(t *testing.T) {
	tarantooltest.Require(t)
	cfg := replConfig(t.TempDir())
	cfg.ElectionMode = "manual"
	cfg.ReplicationTimeout = 200 * time.Millisecond
	n := startNode(t, cfg)
	r := tarantooltest.Start(t, tarantooltest.InstanceOptions{Replication: []string{n.Addr()},
		Cfg: "replication_timeout = 0.2"})
	r.WaitFor(t, "box.info.replication[1].upstream.status == 'follow'", 20*time.Second)
	c := dialAdmin(t, n.Addr())
	call(t, c, "box.ctl.promote")
	r.WaitFor(t, "box.info.replication[1].upstream.status ~= 'follow'", 20*time.Second)
	msg := jsonOf(t, r.Eval(t, "return box.info.replication[1].upstream.message"))
	t.Logf("the replica says: %s", msg)
	if !strings.Contains(msg, "PROMOTE") || !strings.Contains(msg, "2.6.0") {
		t.Errorf("the 2.6.0 replica's upstream message: %s, want the refusal naming PROMOTE and 2.6.0", msg)
	}
	info := jsonOf(t, call(t, c, "box.info")[0])
	if !strings.Contains(info, "does not understand") {
		t.Errorf("box.info.replication of the node does not say why: %s", info)
	}
}
