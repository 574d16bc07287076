package node

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/iproto/client"
)

// startReplChild runs a node with configuration cfg in its own process.
func startReplChild(t *testing.T, cfg Config) *child {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := startChildEnv(t, "XLOGTOOL_NODE_CHILD_DIR="+cfg.Dir, "XLOGTOOL_NODE_CHILD_CONFIG="+string(js))
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// writer replaces rows into a space until stopped and remembers which
// writes were acknowledged and which failed.
type writer struct {
	c     *client.Conn
	space uint32
	stop  chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	acked  []int
	failed []int
}

func startWriter(t *testing.T, c *client.Conn, space uint32, from int) *writer {
	w := &writer{c: c, space: space, stop: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for i := from; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			_, err := c.Replace(ctx(t), space, []any{i, fmt.Sprintf("w%d", i)})
			w.mu.Lock()
			if err == nil {
				w.acked = append(w.acked, i)
			} else {
				w.failed = append(w.failed, i)
			}
			w.mu.Unlock()
			if err != nil {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	return w
}

// ackedCount returns how many writes were acknowledged so far.
func (w *writer) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *writer) finish() {
	close(w.stop)
	w.wg.Wait()
}

// A replica killed with SIGKILL at random moments while its master takes
// writes, and restarted on its directory each time, ends up with exactly
// the master's data: nothing lost, nothing applied twice (verify finds no
// two rows with one LSN and different contents).
func TestReplicaKilledMidStream(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	mcfg := replConfig(t.TempDir())
	mcfg.ReplicationTimeout = 200 * time.Millisecond
	m := startNode(t, mcfg)
	c := dialAdmin(t, m.Addr())
	call(t, c, "box.schema.space.create", "f")
	call(t, c, "box.space.f:create_index", "pk")
	sp := spaceID(t, c, "f")
	rcfg := followerConfig(t.TempDir(), m.Addr())
	rcfg.InstanceUUID = "dddddddd-0000-4000-8000-000000000004"
	rcfg.WALMode = "write"
	w := startWriter(t, c, sp, 0)
	for round := 0; round < 3; round++ {
		r := startReplChild(t, rcfg)
		time.Sleep(time.Duration(50+rng.Intn(250)) * time.Millisecond)
		r.kill(t)
	}
	w.finish()
	r := startReplChild(t, rcfg)
	rc := dialAdmin(t, r.addr)
	want := spaceJSON(t, c, sp)
	waitFor(t, "the replica to catch up", 20*time.Second, func() bool {
		return trySpaceJSON(t, rc, sp) == want
	})
	if len(w.acked) < 10 {
		t.Errorf("only %d writes acknowledged", len(w.acked))
	}
	r.stop(t)
	m.Close()
	verifyDirs(t, mcfg.Dir, rcfg.Dir)
}

// A master killed with SIGKILL and restarted: its replica reconnects (with
// backoff) and catches up; every write the master acknowledged is on both.
func TestMasterKilledReplicaReconnects(t *testing.T) {
	mcfg := replConfig(t.TempDir())
	mcfg.ReplicationTimeout = 200 * time.Millisecond
	mcfg.WALMode = "write"
	mcfg.Listen = "127.0.0.1:0"
	m := startReplChild(t, mcfg)
	mcfg.Listen = m.addr // the restart takes the same port
	c := dialAdmin(t, m.addr)
	call(t, c, "box.schema.space.create", "f")
	call(t, c, "box.space.f:create_index", "pk")
	sp := spaceID(t, c, "f")
	r := startNode(t, followerConfig(t.TempDir(), m.addr))
	w := startWriter(t, c, sp, 0)
	time.Sleep(300 * time.Millisecond)
	m.kill(t)
	w.finish()
	before := w.acked
	m = startReplChild(t, mcfg)
	c = dialAdmin(t, m.addr)
	checkKeys(t, c, sp, before)
	w = startWriter(t, c, sp, 100000)
	time.Sleep(200 * time.Millisecond)
	w.finish()
	rc := dialAdmin(t, r.Addr())
	want := spaceJSON(t, c, sp)
	waitFor(t, "the replica to catch up", 20*time.Second, func() bool {
		return trySpaceJSON(t, rc, sp) == want
	})
	checkKeys(t, rc, sp, append(before, w.acked...))
	m.stop(t)
	r.Close()
	verifyDirs(t, mcfg.Dir, r.cfg.Dir)
}

// checkKeys fails unless every key is in the space.
func checkKeys(t *testing.T, c *client.Conn, space uint32, keys []int) {
	t.Helper()
	missing := 0
	for _, k := range keys {
		rows, err := c.Select(ctx(t), space, 0, []any{k}, 1, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged writes are missing", missing, len(keys))
	}
}

// The replica as a synchronous archive: with quorum 2 every write the
// master acknowledged is in the replica's own files, even when the
// replica is killed with SIGKILL right after; the replica started alone
// on its directory holds all of them.
func TestArchiveHoldsAcknowledgedWrites(t *testing.T) {
	mcfg := quorumConfig(replConfig(t.TempDir()))
	mcfg.ReplicationSynchroTimeout = time.Second
	m := startNode(t, mcfg)
	c := dialAdmin(t, m.Addr())
	call(t, c, "box.schema.space.create", "s", map[string]any{"is_sync": true})
	call(t, c, "box.space.s:create_index", "pk")
	sp := spaceID(t, c, "s")
	rcfg := followerConfig(t.TempDir(), m.Addr())
	rcfg.InstanceUUID = "eeeeeeee-0000-4000-8000-000000000005"
	rcfg.WALMode = "write"
	r := startReplChild(t, rcfg)
	w := startWriter(t, c, sp, 0)
	time.Sleep(400 * time.Millisecond)
	// A slow start of the replica leaves fewer writes acknowledged by
	// then: the kill waits for some.
	waitFor(t, "10 acknowledged writes", 20*time.Second, func() bool { return w.ackedCount() >= 10 })
	r.kill(t)
	w.finish()
	if len(w.acked) < 10 {
		t.Fatalf("only %d writes acknowledged", len(w.acked))
	}
	alone := rcfg
	alone.Replication = nil
	r = startReplChild(t, alone)
	checkKeys(t, dialAdmin(t, r.addr), sp, w.acked)
	r.stop(t)
	m.Close()
	verifyDirs(t, mcfg.Dir, rcfg.Dir)
}
