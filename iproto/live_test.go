package iproto_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto"
)

// wire is a raw connection to a real server, spoken with the codec only.
type wire struct {
	t    *testing.T
	nc   net.Conn
	br   *bufio.Reader
	sync uint64
}

func (w *wire) send(req iproto.Request) uint64 {
	w.t.Helper()
	w.sync++
	pkt, err := iproto.AppendRequest(nil, w.sync, 0, req)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.nc.Write(pkt); err != nil {
		w.t.Fatal(err)
	}
	return w.sync
}

// recv reads one response; raw is the packet with its length prefix.
func (w *wire) recv() (*iproto.Response, []byte) {
	w.t.Helper()
	w.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	pkt, err := iproto.ReadPacket(w.br, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	r, err := iproto.DecodeResponse(pkt)
	if err != nil {
		w.t.Fatal(err)
	}
	raw := append([]byte{0xce, 0, 0, 0, 0}, pkt...)
	raw[1], raw[2], raw[3], raw[4] = byte(len(pkt)>>24), byte(len(pkt)>>16), byte(len(pkt)>>8), byte(len(pkt))
	return r, raw
}

func (w *wire) call(req iproto.Request) (*iproto.Response, []byte) {
	w.t.Helper()
	sync := w.send(req)
	r, raw := w.recv()
	if r.Sync != sync {
		w.t.Fatalf("%s: answer has sync %d, want %d", req.Type().RequestName(), r.Sync, sync)
	}
	return r, raw
}

// The codec speaks to Tarantool byte for byte: it reads what the server
// writes and writes what the server writes, and its request decoder
// rejects malformed requests with the server's own code and message.
func TestLiveWire(t *testing.T) {
	tarantooltest.Require(t)
	const user, pass = "alice", "wonderland"
	inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{Init: fmt.Sprintf(`
box.schema.space.create('t', {id = 600, if_not_exists = true})
box.space.t:create_index('pk', {if_not_exists = true})
box.schema.user.create(%q, {password = %q, if_not_exists = true})
box.schema.user.grant(%q, 'read,write,execute', 'universe', nil, {if_not_exists = true})
`, user, pass, user)})
	nc, err := net.Dial("tcp", inst.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	w := &wire{t: t, nc: nc, br: bufio.NewReader(nc)}

	// Greeting: parsed, and written back identically.
	raw := make([]byte, iproto.GreetingSize)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(w.br, raw); err != nil {
		t.Fatal(err)
	}
	g, err := iproto.ParseGreeting(raw)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := iproto.EncodeGreeting(g); err != nil || !bytes.Equal(again, raw) {
		t.Errorf("greeting re-encoded as\n%q\nserver sent\n%q (%v)", again, raw, err)
	}

	// PING: the answer's header is the fixed-width one AppendResponse writes.
	r, raw := w.call(iproto.PingRequest{})
	if r.Type != box.TypeOK || r.SchemaVersion == 0 {
		t.Errorf("PING answer %+v", r)
	}
	if ours := iproto.AppendResponse(nil, r.Type, r.Sync, r.SchemaVersion, r.Body); !bytes.Equal(ours, raw) {
		t.Errorf("PING answer\n %x\nours\n %x", raw, ours)
	}

	// AUTH with the scramble; the server agrees with CheckScramble.
	scramble, err := iproto.Scramble(g.Salt, pass)
	if err != nil {
		t.Fatal(err)
	}
	stored := inst.Eval(t, "return box.space._user.index.name:get(...)[5]['chap-sha1']", user)[0]
	if stored != iproto.PasswordHash(pass) || !iproto.CheckScramble(g.Salt, scramble, iproto.PasswordHash(pass)) {
		t.Errorf("stored hash %v, ours %s", stored, iproto.PasswordHash(pass))
	}
	if r, _ := w.call(iproto.AuthRequest{User: user, Scramble: scramble}); r.Err() != nil {
		t.Fatal(r.Err())
	}

	// DML and SELECT answers are what AppendData writes.
	for i := 1; i <= 3; i++ {
		r, raw := w.call(iproto.InsertRequest{Space: 600, Tuple: []any{i, fmt.Sprint("v", i)}})
		checkData(t, r, raw)
	}
	r, raw = w.call(iproto.SelectRequest{Space: 600, Limit: 10, Iterator: box.IterAll})
	if n := checkData(t, r, raw); n != 3 {
		t.Errorf("select: %d tuples", n)
	}

	// Errors: decoded, and re-encoded byte for byte.
	r, raw = w.call(iproto.InsertRequest{Space: 600, Tuple: []any{1, "dup"}})
	var e *iproto.Error
	if !errors.As(r.Err(), &e) || e.Code != box.ErrTupleFound || e.Message != box.ErrTupleFound.Message("pk", "t") {
		t.Errorf("duplicate: %v", r.Err())
	} else if ours := iproto.AppendError(nil, r.Sync, r.SchemaVersion, e); !bytes.Equal(ours, raw) {
		t.Errorf("error answer\n %x\nours\n %x", raw, ours)
	}

	// Malformed requests: the codec's verdict is the server's.
	for _, c := range []struct {
		typ  box.RowType
		body string
	}{
		{box.TypeSelect, "82 10 cd0258 20 90"},           // no limit
		{box.TypeSelect, "83 10 a178 12 01 20 90"},       // space id is a string
		{box.TypeSelect, "91 01"},                        // not a map
		{box.TypeInsert, "81 10 cd0258"},                 // no tuple
		{box.TypeInsert, "82 10 cd0258 21 01"},           // tuple is no array
		{box.TypeReplace, ""},                            // no body
		{box.TypeUpdate, "82 10 cd0258 21 90"},           // no key
		{box.TypeDelete, "81 20 91 01"},                  // no space id
		{box.TypeUpsert, "82 10 cd0258 21 91 05"},        // no operations
		{box.TypeCall, "81 21 90"},                       // no function name
		{box.TypeEval, "81 21 90"},                       // no expression
		{box.TypeAuth, "81 21 90"},                       // no user name
		{box.TypeAuth, "82 23 a5616c696365 21 91 a0"},    // scramble missing
		{box.TypeAuth, "82 23 a5616c696365 21 92 a0 a0"}, // scramble size
		{box.TypeNop, ""},
		{box.TypeConfirm, "82 02 01 03 01"},
		{200, ""},
	} {
		body := unhexLive(t, c.body)
		r, _ := w.call(iproto.RawRequest{Code: c.typ, Body: body})
		var se *iproto.Error
		if !errors.As(r.Err(), &se) {
			t.Errorf("%s %s: server accepted it", c.typ.RequestName(), c.body)
			continue
		}
		_, err := iproto.DecodeRequest(c.typ, body)
		var be *box.Error
		if !errors.As(err, &be) || be.Code != se.Code || be.Message != se.Message {
			t.Errorf("%s %s: server says %s %q, codec %v", c.typ.RequestName(), c.body, se.Code, se.Message, err)
		}
	}
}

// checkData checks that a DML or SELECT answer is what AppendData writes
// for its tuples, and returns how many there are.
func checkData(t *testing.T, r *iproto.Response, raw []byte) int {
	t.Helper()
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	data, ok, err := r.Field(box.KeyData)
	if err != nil || !ok {
		t.Fatalf("no data: %v", err)
	}
	var tuples []msgpack.RawMessage
	if err := msgpack.Unmarshal(data, &tuples); err != nil {
		t.Fatal(err)
	}
	values := make([][]byte, len(tuples))
	for i, tu := range tuples {
		values[i] = tu
	}
	if ours := iproto.AppendData(nil, r.Type, r.Sync, r.SchemaVersion, values...); !bytes.Equal(ours, raw) {
		t.Errorf("answer\n %x\nours\n %x", raw, ours)
	}
	return len(tuples)
}

func unhexLive(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return b
}
