package node

import (
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// initialStream sends req (JOIN or FETCH_SNAPSHOT) to the node and returns
// the rows of its initial stage, the OK packets at both ends included.
func initialStream(t *testing.T, n *Node, req iproto.Request) []format.Row {
	t.Helper()
	conn, err := client.DialReplication(ctx(t), n.Addr(), client.Options{User: tarantooltest.AdminUser,
		Password: tarantooltest.AdminPassword, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Send(req); err != nil {
		t.Fatal(err)
	}
	var rows []format.Row
	for {
		var row format.Row
		if err := conn.ReadRow(&row); err != nil {
			t.Fatal(err)
		}
		if err := iproto.RowError(&row); err != nil {
			t.Fatal(err)
		}
		row.Body = append([]byte(nil), row.Body...)
		rows = append(rows, row)
		if row.Type == box.TypeOK && len(rows) > 1 {
			return rows
		}
	}
}

// A JOIN that carries SERVER_VERSION gets 2.11's META stage after the
// start vclock: JOIN_META, a RAFT row (the persisted term and vote, the
// leader, no role), a PROMOTE row naming the queue owner in its header and
// body with its confirmed LSN and term, JOIN_SNAPSHOT, then the data. A
// JOIN without it (2.6.0's) gets the data right away. FETCH_SNAPSHOT
// follows the same rule.
func TestJoinMetaStage(t *testing.T) {
	cfg := quorumConfig(replConfig(t.TempDir()))
	cfg.ReplicationSynchroQuorum = 1
	cfg.ElectionMode = "manual"
	n := startNode(t, cfg)
	c := dialAdmin(t, n.Addr())
	call(t, c, "box.ctl.promote")
	call(t, c, "box.schema.space.create", "s", map[string]any{"is_sync": true})
	call(t, c, "box.space.s:create_index", "pk")
	s := spaceID(t, c, "s")
	if _, err := c.Replace(ctx(t), s, []any{1, "x"}); err != nil {
		t.Fatal(err)
	}
	st := n.election.status()
	n.mu.Lock()
	qs := n.limbo.q.State()
	n.mu.Unlock()
	if qs.Owner != n.id || qs.ConfirmedLSN == 0 {
		t.Fatalf("queue %+v", qs)
	}

	rows := initialStream(t, n, iproto.JoinRequest{InstanceUUID: "ffffffff-0000-4000-8000-000000000011", ServerVersion: 0x020B00})
	want := []box.RowType{box.TypeOK, box.TypeJoinMeta, box.TypeRaft, box.TypePromote, box.TypeJoinSnap, box.TypeInsert}
	for i, typ := range want {
		if rows[i].Type != typ {
			t.Fatalf("row %d of the 2.11 join: %s, want %s", i, rows[i].Type, typ)
		}
	}
	m, err := rows[2].Raft()
	if err != nil {
		t.Fatal(err)
	}
	if m.Term != st.Term || m.Vote != st.Vote || m.LeaderID != n.id || m.State != 0 || m.HasVClock {
		t.Errorf("JOIN_META RAFT %+v, node's state %+v", m, st)
	}
	p, err := rows[3].Synchro()
	if err != nil {
		t.Fatal(err)
	}
	if rows[3].ReplicaID != n.id || p.ReplicaID != n.id || p.LSN != qs.ConfirmedLSN || p.Term != qs.Term || rows[3].LSN != 0 {
		t.Errorf("JOIN_META PROMOTE header %d/%d body %+v, queue %+v", rows[3].ReplicaID, rows[3].LSN, p, qs)
	}
	for _, r := range rows[5 : len(rows)-1] {
		if r.Type != box.TypeInsert {
			t.Fatalf("%s row among the data", r.Type)
		}
	}

	rows = initialStream(t, n, iproto.JoinRequest{InstanceUUID: "ffffffff-0000-4000-8000-000000000012"})
	if rows[1].Type != box.TypeInsert {
		t.Errorf("2.6.0's join: %s after the start vclock, want INSERT", rows[1].Type)
	}
	rows = initialStream(t, n, iproto.FetchSnapshotRequest{ServerVersion: 0x020B08})
	if rows[1].Type != box.TypeJoinMeta || rows[4].Type != box.TypeJoinSnap {
		t.Errorf("FETCH_SNAPSHOT with a version: %s ... %s", rows[1].Type, rows[4].Type)
	}
	rows = initialStream(t, n, iproto.FetchSnapshotRequest{})
	if rows[1].Type != box.TypeInsert {
		t.Errorf("FETCH_SNAPSHOT without a version: %s after the start vclock", rows[1].Type)
	}

	// A node with elections on announces 2.11 in its JOIN and takes the
	// term and the queue state from the META stage.
	jcfg := quorumConfig(replConfig(t.TempDir()))
	jcfg.ElectionMode = "voter"
	jcfg.Replication = []string{tarantooltest.AdminUser + ":" + tarantooltest.AdminPassword + "@" + n.Addr()}
	j := startNode(t, jcfg)
	j.mu.Lock()
	jq := j.limbo.q.State()
	j.mu.Unlock()
	if jq.Owner != n.id || jq.Term != qs.Term || jq.ConfirmedLSN < qs.ConfirmedLSN {
		t.Errorf("joiner's queue %+v, master's %+v", jq, qs)
	}
	if jt := j.election.status().Term; jt < st.Term {
		t.Errorf("joiner's term %d, master's %d", jt, st.Term)
	}
	waitSynced(t, n, j)
	checkKeys(t, dialAdmin(t, j.Addr()), s, []int{1})
}
