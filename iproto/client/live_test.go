package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
)

const (
	spaceID = 600
	user    = "alice"
	pass    = "wonderland"
)

// startServer starts one server with space 600 (primary key on field 1)
// and a user with read/write/execute on the universe.
func startServer(t *testing.T) *tarantooltest.Instance {
	t.Helper()
	tarantooltest.Require(t)
	return tarantooltest.Start(t, tarantooltest.InstanceOptions{Init: fmt.Sprintf(`
box.schema.space.create('t', {id = %d, if_not_exists = true})
box.space.t:create_index('pk', {if_not_exists = true})
box.schema.user.create(%q, {password = %q, if_not_exists = true})
box.schema.user.grant(%q, 'read,write,execute', 'universe', nil, {if_not_exists = true})
function add(a, b) return a + b end
`, spaceID, user, pass, user)})
}

func connect(t *testing.T, inst *tarantooltest.Instance) *client.Conn {
	t.Helper()
	return inst.Connect(t, client.Options{User: user, Password: pass, Timeout: 10 * time.Second})
}

func TestLive(t *testing.T) {
	inst := startServer(t)
	t.Run("Greeting", func(t *testing.T) { testGreeting(t, inst) })
	t.Run("Auth", func(t *testing.T) { testAuth(t, inst) })
	t.Run("ScrambleMatchesServer", func(t *testing.T) { testScramble(t, inst) })
	t.Run("CRUD", func(t *testing.T) { testCRUD(t, inst) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, inst) })
	t.Run("EvalCall", func(t *testing.T) { testEvalCall(t, inst) })
	t.Run("Raw", func(t *testing.T) { testRaw(t, inst) })
	t.Run("Pipeline", func(t *testing.T) { testPipeline(t, inst) })
	t.Run("Timeout", func(t *testing.T) { testTimeout(t, inst) })
}

func testGreeting(t *testing.T, inst *tarantooltest.Instance) {
	c := connect(t, inst)
	want := inst.Eval(t, "return box.info.uuid, box.info.version")
	if c.InstanceUUID() != want[0] {
		t.Errorf("InstanceUUID %q, server says %v", c.InstanceUUID(), want[0])
	}
	if v := c.Version().String(); len(fmt.Sprint(want[1])) < len(v) || fmt.Sprint(want[1])[:len(v)] != v {
		t.Errorf("box.Version %s, server says %v", v, want[1])
	}
	if c.Version().AtLeast(2, 10, 0) != c.SupportsStreams() {
		t.Error("SupportsStreams disagrees with the version")
	}
	if c.Version() == (box.Version{Major: 2, Minor: 6, Patch: 0}) {
		if _, err := c.NewStream(); err == nil {
			t.Error("NewStream on 2.6.0: no error")
		}
	}
}

func testAuth(t *testing.T, inst *tarantooltest.Instance) {
	ctx := context.Background()
	c := connect(t, inst)
	if res, err := c.Eval(ctx, "return box.session.user()"); err != nil || fmt.Sprint(res) != "["+user+"]" {
		t.Fatalf("session user: %v, %v", res, err)
	}

	_, err := client.Dial(ctx, inst.Addr(), client.Options{User: user, Password: "wrong", Timeout: 10 * time.Second})
	var e *iproto.Error
	if !errors.As(err, &e) || e.Code != box.ErrPasswordMismatch || e.Name() != "ER_PASSWORD_MISMATCH" {
		t.Fatalf("wrong password: %v", err)
	}

	guest := inst.Connect(t, client.Options{Timeout: 10 * time.Second})
	if err := guest.Ping(ctx); err != nil {
		t.Fatalf("guest ping: %v", err)
	}
	if _, err := guest.Eval(ctx, "return 1"); !iproto.IsCode(err, box.ErrAccessDenied) {
		t.Fatalf("guest eval: %v", err)
	}
}

// testScramble has the server compute the chap-sha1 scramble from the
// formula with its digest module and compares it with ours.
func testScramble(t *testing.T, inst *tarantooltest.Instance) {
	salt := []byte("0123456789abcdefghijklmnopqrstuv")
	res := inst.Eval(t, `
local digest = require('digest')
local salt, password = ...
local h1 = digest.sha1(password)
local h3 = digest.sha1(salt:sub(1, 20) .. digest.sha1(h1))
local out = {}
for i = 1, 20 do out[i] = string.char(bit.bxor(h1:byte(i), h3:byte(i))) end
return table.concat(out)`, string(salt), pass)
	ours, err := iproto.Scramble(salt, pass)
	if err != nil {
		t.Fatal(err)
	}
	theirs, _ := res[0].(string)
	if !bytes.Equal(ours, []byte(theirs)) {
		t.Fatalf("scramble: ours %x, server %x", ours, theirs)
	}
}

func testCRUD(t *testing.T, inst *tarantooltest.Instance) {
	ctx := context.Background()
	c := connect(t, inst)
	if _, err := c.Insert(ctx, spaceID, []any{1, "one", 1.5}); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Replace(ctx, spaceID, []any{2, "two", uint64(1) << 63}); err != nil || fmt.Sprint(res) != "[[2 two 9223372036854775808]]" {
		t.Fatalf("replace: %v, %v", res, err)
	}
	res, err := c.Update(ctx, spaceID, 0, []any{1}, []any{[]any{"=", 2, "uno"}, []any{"+", 3, 1}}, 1)
	if err != nil || fmt.Sprint(res) != "[[1 uno 2.5]]" {
		t.Fatalf("update (base 1): %v, %v", res, err)
	}
	res, err = c.Update(ctx, spaceID, 0, []any{1}, []any{[]any{"=", 1, "one"}}, 0)
	if err != nil || fmt.Sprint(res) != "[[1 one 2.5]]" {
		t.Fatalf("update (base 0): %v, %v", res, err)
	}
	if err := c.Upsert(ctx, spaceID, []any{3, "three", 0}, []any{[]any{"+", 3, 10}}, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Upsert(ctx, spaceID, []any{3, "three", 0}, []any{[]any{"+", 3, 10}}, 1); err != nil {
		t.Fatal(err)
	}
	res, err = c.Select(ctx, spaceID, 0, nil, 100, 0, box.IterAll)
	if err != nil || fmt.Sprint(res) != "[[1 one 2.5] [2 two 9223372036854775808] [3 three 10]]" {
		t.Fatalf("select all: %v, %v", res, err)
	}
	res, err = c.Select(ctx, spaceID, 0, []any{2}, 10, 1, box.IterGe)
	if err != nil || fmt.Sprint(res) != "[[3 three 10]]" {
		t.Fatalf("select ge 2 offset 1: %v, %v", res, err)
	}
	if res, err := c.Delete(ctx, spaceID, 0, []any{2}); err != nil || fmt.Sprint(res) != "[[2 two 9223372036854775808]]" {
		t.Fatalf("delete: %v, %v", res, err)
	}
	if res, err := c.Select(ctx, spaceID, 0, []any{2}, 1, 0, box.IterEq); err != nil || len(res) != 0 {
		t.Fatalf("select deleted: %v, %v", res, err)
	}

	var typed []struct {
		_msgpack struct{} `msgpack:",as_array"`
		ID       uint64
		Name     string
		Value    float64
	}
	resp, err := c.Do(ctx, iproto.SelectRequest{Space: spaceID, Key: []any{1}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.DecodeData(&typed); err != nil || len(typed) != 1 || typed[0].Name != "one" || typed[0].Value != 2.5 {
		t.Fatalf("DecodeData: %+v, %v", typed, err)
	}
}

func testErrors(t *testing.T, inst *tarantooltest.Instance) {
	ctx := context.Background()
	c := connect(t, inst)
	if _, err := c.Insert(ctx, spaceID, []any{100}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Insert(ctx, spaceID, []any{100})
	var e *iproto.Error
	if !errors.As(err, &e) || e.Code != box.ErrTupleFound || e.Name() != "ER_TUPLE_FOUND" {
		t.Fatalf("duplicate: %v", err)
	}
	if len(e.Stack) == 0 || e.Stack[0].Type != "ClientError" || e.Stack[0].Code != box.ErrTupleFound {
		t.Errorf("stack %+v", e.Stack)
	}
	want := "ER_TUPLE_FOUND(code 3): Duplicate key exists in unique index 'pk' in space 't'"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if _, err := c.Insert(ctx, 9999, []any{1}); !iproto.IsCode(err, box.ErrNoSuchSpace) {
		t.Errorf("no such space: %v", err)
	}
	if _, err := c.Insert(ctx, spaceID, []any{"not unsigned"}); !iproto.IsCode(err, box.ErrFieldType) {
		t.Errorf("key type: %v", err)
	}
	if _, err := c.Eval(ctx, "box.error(box.error.READONLY)"); !iproto.IsCode(err, box.ErrReadonly) {
		t.Errorf("readonly: %v", err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("connection unusable after errors: %v", err)
	}
}

func testEvalCall(t *testing.T, inst *tarantooltest.Instance) {
	ctx := context.Background()
	c := connect(t, inst)
	res, err := c.Eval(ctx, "local a, b = ... return a + b, {x = 1}, setmetatable({[5] = 'five'}, {__serialize = 'map'}), nil, 18446744073709551615ULL, -3", 40, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res); got != "[42 map[x:1] map[5:five] <nil> 18446744073709551615 -3]" {
		t.Fatalf("eval: %s", got)
	}
	if res, err := c.Call(ctx, "add", 2, 3); err != nil || fmt.Sprint(res) != "[5]" {
		t.Fatalf("call: %v, %v", res, err)
	}
	if _, err := c.Call(ctx, "no_such_function"); !iproto.IsCode(err, box.ErrNoSuchProc) {
		t.Fatalf("call missing: %v", err)
	}
	if _, err := c.Eval(ctx, "error('raised')"); !iproto.IsCode(err, box.ErrProcLua) {
		t.Fatalf("eval error: %v", err)
	}
}

// testRaw sends DML bodies encoded by hand, as replay does with log rows.
func testRaw(t *testing.T, inst *tarantooltest.Instance) {
	ctx := context.Background()
	c := connect(t, inst)
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	enc.Encode(map[int]any{0x10: spaceID, 0x21: []any{200, "raw"}})
	if _, err := c.DoRaw(ctx, box.TypeReplace, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	// The same bytes a log file holds for a DELETE: {0x10: 600, 0x20: [200]}.
	body := []byte{0x82, 0x10, 0xcd, 0x02, 0x58, 0x20, 0x91, 0xcc, 0xc8}
	resp, err := c.DoRaw(ctx, box.TypeDelete, body)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := resp.Data(); fmt.Sprint(d) != "[[200 raw]]" {
		t.Fatalf("raw delete returned %v", d)
	}
	if _, err := c.DoRaw(ctx, box.TypeReplace, []byte{0x81, 0x10}); !iproto.IsCode(err, box.ErrInvalidMsgpack) {
		t.Fatalf("truncated body: %v", err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("connection unusable after a bad body: %v", err)
	}
}

func testPipeline(t *testing.T, inst *tarantooltest.Instance) {
	ctx := context.Background()
	c := connect(t, inst)
	inst.Eval(t, "box.schema.space.create('p', {id = 601, if_not_exists = true}):create_index('pk', {if_not_exists = true})")
	const n = 10000
	start := time.Now()
	futures := make([]*client.Future, n)
	for i := range futures {
		futures[i] = c.Send(iproto.InsertRequest{Space: 601, Tuple: []any{i, "row"}})
	}
	for i, f := range futures {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d pipelined inserts in %v (%.0f/s)", n, elapsed, n/elapsed.Seconds())
	if res := inst.Eval(t, "return box.space.p:count()"); fmt.Sprint(res) != "[10000]" {
		t.Fatalf("count %v", res)
	}
	if elapsed > 20*time.Second {
		t.Fatalf("pipelining %d requests took %v", n, elapsed)
	}
}

func testTimeout(t *testing.T, inst *tarantooltest.Instance) {
	c := connect(t, inst)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Eval(ctx, "require('fiber').sleep(1) return 1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow eval: %v", err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Fatalf("timeout took %v", d)
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("connection unusable after a timeout: %v", err)
	}

	// The per-connection timeout applies without a context deadline.
	slow := inst.Connect(t, client.Options{User: user, Password: pass, Timeout: 100 * time.Millisecond})
	if _, err := slow.Eval(context.Background(), "require('fiber').sleep(1)"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("connection timeout: %v", err)
	}
}
