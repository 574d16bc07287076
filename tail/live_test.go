package tail_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/render"
	"github.com/xlogtool/xlogtool/tail"
)

const (
	replUser     = "repl"
	replPassword = "secret"
)

// serverInit creates a replication user and synchronous, asynchronous and
// replica-local spaces.
const serverInit = `
box.schema.user.create('repl', {password = 'secret', if_not_exists = true})
box.schema.user.grant('repl', 'replication', nil, nil, {if_not_exists = true})
box.schema.user.create('nopriv', {password = 'secret', if_not_exists = true})
box.schema.space.create('sync', {id = 600, is_sync = true, if_not_exists = true}):create_index('pk', {if_not_exists = true})
box.schema.space.create('a', {id = 601, if_not_exists = true}):create_index('pk', {if_not_exists = true})
box.schema.space.create('loc', {id = 602, is_local = true, if_not_exists = true}):create_index('pk', {if_not_exists = true})`

// workload writes every kind of row the stream must carry: single and
// multi-row transactions, UPDATE/UPSERT/DELETE, a transaction ending with a
// local row (a NOP carries its commit), synchronous ones confirmed and one
// rolled back after the quorum timeout, and one large enough for zstd.
const workload = `
local a, s, loc = box.space.a, box.space.sync, box.space.loc
a:insert{1, 'one'}
a:replace{2, 'two', {k = 'v'}}
box.begin() a:insert{3} a:insert{4, 4.5} a:delete{1} box.commit()
a:update({4}, {{'=', 3, 'x'}, {'+', 2, 1}})
a:upsert({5, 0}, {{'+', 2, 1}})
a:upsert({5, 0}, {{'+', 2, 1}})
box.begin() a:insert{6} loc:insert{1} box.commit()
loc:replace{2}
s:insert{1, 'sync'}
box.begin() s:insert{2} a:insert{7} box.commit()
a:insert{8, 'async after sync'}
box.cfg{replication_synchro_quorum = 2, replication_synchro_timeout = 0.2}
local ok = pcall(s.insert, s, {3, 'rolled back'})
box.cfg{replication_synchro_quorum = 1, replication_synchro_timeout = 5}
assert(not ok)
box.begin() for i = 100, 130 do a:insert{i, string.rep('x', 200) .. i} end box.commit()
a:insert{9, string.rep('zstd', 2000)}
`

func startServer(t *testing.T, cfg string) *tarantooltest.Instance {
	t.Helper()
	tarantooltest.Require(t)
	return tarantooltest.Start(t, tarantooltest.InstanceOptions{
		Cfg:  "replication_timeout = 0.2" + cfg,
		Init: serverInit,
	})
}

func source(inst *tarantooltest.Instance) tail.Source {
	return tail.Source{Name: "i1", Addr: inst.Addr(), User: replUser, Password: replPassword}
}

// collector renders every transaction as JSON lines, as cat does.
type collector struct {
	mu        sync.Mutex
	out       bytes.Buffer
	pr        *render.Printer
	txs       int
	vclock    format.VClock
	connects  int
	reconnect int
	info      tail.Info
	onTx      func(*tail.Tx)
}

func newCollector() *collector {
	c := &collector{}
	c.pr = render.NewPrinter(&c.out, render.Options{Format: render.JSON})
	return c
}

func (c *collector) Connected(info tail.Info, reconnect bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connects++
	if reconnect {
		c.reconnect++
	}
	c.info = info
	return nil
}

func (c *collector) Tx(tx *tail.Tx) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range tx.Rows {
		if err := c.pr.Row("stream", r); err != nil {
			return err
		}
	}
	c.txs++
	c.vclock = tx.VClock
	if c.onTx != nil {
		c.onTx(tx)
	}
	return nil
}

func (c *collector) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.out.Bytes()...)
}

// walRows returns Tarantool's reader's rows of the server's xlogs that a
// relay sends: every row but the replica-local ones.
func walRows(t *testing.T, dir string) []map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.xlog"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no xlogs in %s: %v", dir, err)
	}
	var rows []map[string]any
	for i, lines := range tarantooltest.Oracle(t, files...) {
		got, errLine := testfix.ParseRows(t, files[i], []byte(strings.Join(lines, "\n")))
		if errLine != "" {
			t.Fatalf("%s: Tarantool's reader: %s", files[i], errLine)
		}
		for _, r := range got {
			if h, _ := r["HEADER"].(map[string]any); h != nil && h["group_id"] != nil {
				continue
			}
			rows = append(rows, r)
		}
	}
	return rows
}

func parse(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	rows, errLine := testfix.ParseRows(t, "stream", out)
	if errLine != "" {
		t.Fatalf("stream output: %s", errLine)
	}
	return rows
}

func run(t *testing.T, s *tail.Stream) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return s.Run(ctx)
}

func emptyVClock() *format.VClock { return &format.VClock{} }

// The rows of the stream, from the beginning, equal what Tarantool's own
// reader finds in the server's xlogs (replica-local rows aside).
func TestStreamEqualsServerWAL(t *testing.T) {
	inst := startServer(t, "")
	inst.Eval(t, workload)
	c := newCollector()
	if err := run(t, tail.New(source(inst), tail.Options{From: emptyVClock()}, c)); err != nil {
		t.Fatal(err)
	}
	got := parse(t, c.bytes())
	want := walRows(t, inst.Dir())
	if d := testfix.CompareRows(want, got); d != "" {
		t.Fatal(d)
	}
	out := c.bytes()
	for _, s := range []string{`"type":"CONFIRM"`, `"type":"ROLLBACK"`, `"type":"NOP"`, `"type":"UPSERT"`,
		`"type":"UPDATE"`, `"type":"DELETE"`, `"commit":true`} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("the stream has no %s", s)
		}
	}
	if !c.info.Target.Equal(c.vclock) {
		t.Errorf("stopped at %s, server vclock %s", c.vclock, c.info.Target)
	}
	if c.info.ReplicaID != 1 || c.info.ReplicasetUUID == "" {
		t.Errorf("info %+v", c.info)
	}
}

// A backlog that takes longer to consume than the server's disconnect
// timeout (four replication_timeouts: 0.8 s here) streams on the same
// connection: the stream acknowledges as transactions arrive, not only on
// its 1 s timer, since the server sends no heartbeats while it has rows to
// send. A server that dropped the stream would show as a reconnect before
// the row written after the backlog arrives.
func TestSlowBacklogStaysConnected(t *testing.T) {
	inst := startServer(t, "")
	inst.Eval(t, "for i = 1, 1500 do box.space.a:insert{i} end")
	c := newCollector()
	c.onTx = func(*tail.Tx) { time.Sleep(time.Millisecond) } // 1.5 s at least
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := tail.New(source(inst), tail.Options{Follow: true, From: emptyVClock()}, c)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	target := vclockOf(t, inst)
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.vclock.Equal(target) })
	inst.Eval(t, "box.space.a:insert{2000}")
	target = vclockOf(t, inst)
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.vclock.Equal(target) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c.connects != 1 || c.reconnect != 0 {
		t.Fatalf("%d connects, %d reconnects: the server dropped the stream\n%s", c.connects, c.reconnect, inst.LogTail())
	}
}

// By default the stream starts at the server's vclock: without -f it ends
// at once; with Follow it gets the rows written afterwards, the same ones
// the WAL has.
func TestFollowFromServerVClock(t *testing.T) {
	inst := startServer(t, "")
	inst.Eval(t, "box.space.a:insert{1000, 'before'}")
	c := newCollector()
	if err := run(t, tail.New(source(inst), tail.Options{}, c)); err != nil {
		t.Fatal(err)
	}
	if c.txs != 0 || c.connects != 1 {
		t.Fatalf("without follow at the server's vclock: %d transactions, %d connects", c.txs, c.connects)
	}
	before := len(walRows(t, inst.Dir()))

	c = newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := tail.New(source(inst), tail.Options{Follow: true}, c)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.connects == 1 })
	inst.Eval(t, workload)
	target := vclockOf(t, inst)
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.vclock.Equal(target) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := walRows(t, inst.Dir())[before:]
	if d := testfix.CompareRows(want, parse(t, c.bytes())); d != "" {
		t.Fatal(d)
	}
}

func vclockOf(t *testing.T, inst *tarantooltest.Instance) format.VClock {
	t.Helper()
	res := inst.Eval(t, "return require('json').encode(box.info.vclock)")
	vc, err := format.ParseVClock(res[0].(string))
	if err != nil {
		t.Fatal(err)
	}
	return vc.WithoutLocal()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Do no harm: a master with quorum 2 and no replica must not count the
// inspector's acknowledgements; a synchronous write still times out while
// the stream is connected and acknowledging.
func TestAcksNeverCountInQuorum(t *testing.T) {
	inst := startServer(t, ", replication_synchro_quorum = 2, replication_synchro_timeout = 1")
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := tail.New(source(inst), tail.Options{Follow: true, AckInterval: 50 * time.Millisecond}, c)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.connects == 1 })
	res, err := inst.EvalErr("local ok, err = pcall(box.space.sync.insert, box.space.sync, {1}) return ok, tostring(err)")
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != false || !strings.Contains(res[1].(string), "Quorum collection for a synchronous transaction is timed out") {
		t.Fatalf("the synchronous write was not left to time out: %v", res)
	}
	// The stream saw the write and its ROLLBACK.
	waitFor(t, func() bool { return bytes.Contains(c.bytes(), []byte(`"type":"ROLLBACK"`)) })
	if n := inst.Eval(t, "return box.space.sync:count()")[0]; toInt(n) != 0 {
		t.Fatalf("sync space has %v tuples", n)
	}
	// The server lists no replica besides itself.
	if n := inst.Eval(t, "return #box.space._cluster:select()")[0]; toInt(n) != 1 {
		t.Fatalf("_cluster has %v entries", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	}
	return -1
}

// -f across a kill -9 of the server and its restart: the stream reconnects
// and resumes after the last complete transaction, every row exactly once.
func TestFollowAcrossServerKill(t *testing.T) {
	inst := startServer(t, "")
	before := len(walRows(t, inst.Dir()))
	c := newCollector()
	var log syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := tail.New(source(inst), tail.Options{Follow: true, MaxBackoff: 200 * time.Millisecond, Log: &log}, c)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.connects == 1 })
	inst.Eval(t, `for i = 1, 50 do
		if i % 5 == 0 then box.begin() box.space.a:insert{i} box.space.a:insert{i + 10000} box.commit()
		else box.space.a:insert{i, 'x'} end
	end`)
	// Writes keep going while the server is killed.
	go inst.EvalErr(`for i = 51, 2000 do box.space.a:insert{i} end`)
	time.Sleep(5 * time.Millisecond)
	inst.Kill(t)
	inst.Start(t)
	inst.Eval(t, `for i = 3001, 3050 do box.begin() box.space.a:insert{i} box.space.a:insert{i + 10000} box.commit() end`)
	target := vclockOf(t, inst)
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.vclock.Equal(target) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c.reconnect == 0 || !strings.Contains(log.String(), "reconnecting") {
		t.Fatalf("no reconnect seen (log %q)", log.String())
	}
	want := walRows(t, inst.Dir())[before:]
	if d := testfix.CompareRows(want, parse(t, c.bytes())); d != "" {
		t.Fatal(d)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
