package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
)

// tail --watch --json on a three-instance replica set where the isolated
// old master rolls back a synchronous transaction that the new master
// confirmed (box.ctl.clear_synchro_queue) and goes on writing: the alert
// names the sources, the component and the LSN as soon as both fates
// have streamed in.
func TestTailWatchSplitBrain(t *testing.T) {
	tarantooltest.Require(t)
	rs := tarantooltest.StartReplicaSet(t, 3, tarantooltest.InstanceOptions{
		Cfg: `replication_timeout = 0.3, replication_synchro_quorum = 2, replication_synchro_timeout = 30`,
		Init: `box.schema.space.create('s', {id = 600, is_sync = true}):create_index('pk')
box.schema.space.create('a', {id = 601}):create_index('pk')`,
	})
	byID := map[int64]*tarantooltest.Instance{}
	for _, in := range rs {
		byID[tarantooltest.Int(t, in.Eval(t, "return box.info.id")[0])] = in
	}
	m, n, r := byID[1], byID[2], byID[3]
	cred := tarantooltest.AdminUser + ":" + tarantooltest.AdminPassword + "@"
	// The replicas' WAL starts at their join: follow all three from now.
	vc := m.Eval(t, "return require('json').encode(box.info.vclock)")[0].(string)
	var out syncBuf
	child := startChild(t, &out, "tail", "--watch", "--json", "--interval", "200ms", "--from-vclock", vc,
		"i1="+cred+m.Addr(), "i2="+cred+n.Addr(), "i3="+cred+r.Addr())

	n.Eval(t, "box.cfg{read_only = true}")
	r.Eval(t, "box.cfg{read_only = true}")
	m.Eval(t, "box.space.s:insert{1} box.space.a:insert{1}")
	tarantooltest.WaitReplicated(t, m, n, r)

	x := m.LSN(t) + 1
	m.Eval(t, `box.cfg{replication_synchro_quorum = 4, replication_synchro_timeout = 1000}
		require('fiber').create(function() pcall(box.space.s.insert, box.space.s, {50}) end)`)
	m.WaitFor(t, fmt.Sprintf("box.info.lsn >= %d", x), 10*time.Second)
	tarantooltest.WaitReplicated(t, m, n, r)

	// Cut the old master off; the new one clears the queue (confirming
	// 1:x) and writes; then the old one rolls 1:x back and writes on.
	m.CutReplication(t)
	n.ReplicateFrom(t, r)
	r.ReplicateFrom(t, n)
	n.Eval(t, "box.cfg{replication_synchro_timeout = 0.1}")
	n.Eval(t, "box.ctl.clear_synchro_queue() box.cfg{read_only = false, replication_synchro_timeout = 5}")
	n.WaitFor(t, "box.space.s:get{50} ~= nil", 10*time.Second)
	n.Eval(t, "box.space.s:insert{200}")
	m.Eval(t, "box.cfg{replication_synchro_timeout = 0.01}")
	m.WaitFor(t, "box.space.s:get{50} == nil", 10*time.Second)
	m.Eval(t, "box.cfg{replication_synchro_quorum = 2} box.space.a:insert{300}")

	var alert map[string]any
	defer func() {
		if t.Failed() {
			lines := strings.Split(out.String(), "\n")
			var keep []string
			for _, l := range lines {
				if strings.Contains(l, `"alert"`) {
					keep = append(keep, l)
				}
			}
			if len(lines) > 6 {
				lines = lines[len(lines)-6:]
			}
			t.Logf("alerts:\n%s\nlast status:\n%s", strings.Join(keep, "\n"), strings.Join(lines, "\n"))
		}
	}()
	waitUntil(t, "a split-brain alert", func() bool {
		for _, line := range strings.Split(out.String(), "\n") {
			var v struct {
				Type    string
				Finding map[string]any
			}
			if json.Unmarshal([]byte(line), &v) == nil && v.Type == "alert" && v.Finding["kind"] == "split-brain" {
				alert = v.Finding
				return true
			}
		}
		return false
	})
	msg, _ := alert["message"].(string)
	want := fmt.Sprintf("transactions 1:%d-%d were confirmed on i2 but rolled back on i1", x, x)
	if !strings.Contains(msg, want) && !strings.Contains(msg, fmt.Sprintf("transactions 1:%d-%d were confirmed on i3 but rolled back on i1", x, x)) {
		t.Errorf("alert %q, want %q", msg, want)
	}
	if fmt.Sprint(alert["replica_id"]) != "1" || fmt.Sprint(alert["lsn_from"]) != fmt.Sprint(x) {
		t.Errorf("alert %v", alert)
	}
	// Status lines name every source with its queue state: the new
	// master owns the queue on i2 and i3.
	waitUntil(t, "i3's queue owned by replica 2", func() bool {
		return strings.Contains(out.String(), `"pending_sync":0,"queue_owner":2,"queue_term":0,"rows_per_second"`) &&
			strings.Contains(out.String(), `"source":"i3"`)
	})
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("tail --watch after SIGTERM: %v", err)
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Error("terminal control codes in piped output")
	}
}

// Piped, --watch prints the table as plain text when it changes, without
// terminal control codes.
func TestTailWatchPiped(t *testing.T) {
	inst := startTailServer(t)
	var out syncBuf
	child := startChild(t, &out, "tail", "--watch", "--interval", "100ms", "--from-vclock", "{}", "one=repl:secret@"+inst.Addr())
	waitUntil(t, "the table", func() bool {
		return strings.Contains(out.String(), "SOURCE") && strings.Contains(out.String(), "one ")
	})
	inst.Eval(t, "box.space.a:insert{777}")
	lsn := inst.LSN(t)
	waitUntil(t, "the new vclock", func() bool { return strings.Contains(out.String(), fmt.Sprintf("{1: %d}", lsn)) })
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("control codes in piped output: %q", out.String())
	}
	for _, col := range []string{"VCLOCK", "LAG LSN", "OWNER", "TERM", "PENDING", "LAST SYNCHRO", "ROWS/S"} {
		if !strings.Contains(out.String(), col) {
			t.Errorf("no %s column:\n%s", col, out.String())
		}
	}
	if !strings.Contains(out.String(), "CONFIRM 1:") {
		t.Errorf("the last CONFIRM is not shown:\n%s", out.String())
	}
}
