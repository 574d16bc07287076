package iproto

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// allRequests holds one request of every type the codec decodes.
var allRequests = []Request{
	PingRequest{},
	SelectRequest{Space: 512, Index: 1, Key: []any{7}, Limit: math.MaxUint32, Offset: 3, Iterator: box.IterGe},
	SelectRequest{Space: 281, Limit: 10, Iterator: box.IterAll},
	InsertRequest{Space: 600, Tuple: []any{1, -1, uint64(math.MaxUint64), "x", 1.5, []byte{0}, map[string]any{"a": nil}}},
	ReplaceRequest{Space: 600, Tuple: []any{2, "two"}},
	UpdateRequest{Space: 1, Index: 2, Key: []any{1}, Ops: [][]any{{"=", 2, "a"}}, IndexBase: 1},
	DeleteRequest{Space: 1, Key: []any{"k"}},
	UpsertRequest{Space: 1, Tuple: []any{1}, Ops: [][]any{{"+", 1, 1}}},
	CallRequest{Function: "f", Args: []any{1, "two"}},
	Call16Request{Function: "box.info"},
	EvalRequest{Expr: "return ...", Args: []any{true}},
	AuthRequest{User: "alice", Scramble: bytes.Repeat([]byte{7}, 20)},
	AuthRequest{User: "guest"},
	ExecuteRequest{SQLText: "SELECT ?", Bind: []any{1}},
	ExecuteRequest{StmtID: 42},
	PrepareRequest{SQLText: "SELECT 1"},
	IDRequest{Version: 6, Features: []uint64{0, 1, 2, 3}, AuthType: "chap-sha1"},
	BeginRequest{Timeout: 1500 * time.Millisecond, Isolation: box.IsolationReadCommitted, IsSync: true},
	BeginRequest{},
	CommitRequest{},
	CommitRequest{IsSync: true},
	RollbackRequest{},
}

func encodeBody(t testing.TB, req Request) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := req.EncodeBody(enc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Every request survives encode, frame, read, decode, encode byte for byte.
func TestRequestRoundTrip(t *testing.T) {
	for i, req := range allRequests {
		pkt, err := AppendRequest(nil, uint64(i+1), uint64(i%3), req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := ReadPacket(bufio.NewReader(bytes.NewReader(pkt)), nil)
		if err != nil {
			t.Fatalf("%T: %v", req, err)
		}
		var row format.Row
		if err := DecodePacket(raw, &row); err != nil {
			t.Fatalf("%T: %v", req, err)
		}
		if row.Type != req.Type() || row.Sync != uint64(i+1) || row.StreamID != uint64(i%3) {
			t.Errorf("%T: header %+v", req, row.Header)
		}
		got, err := DecodeRequest(row.Type, row.Body)
		if err != nil {
			t.Fatalf("%T: %v", req, err)
		}
		if reflect.TypeOf(got) != reflect.TypeOf(req) {
			t.Fatalf("%T decoded as %T", req, got)
		}
		again, err := AppendRequest(nil, uint64(i+1), uint64(i%3), got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, pkt) {
			t.Errorf("%T: re-encoded\n %x\nwant\n %x", req, again, pkt)
		}
	}
	// Fields that are not raw MessagePack come back as they were.
	for _, req := range []Request{
		SelectRequest{Space: 512, Index: 1, Limit: 5, Offset: 3, Iterator: box.IterGe},
		AuthRequest{User: "alice", Method: "chap-sha1", Scramble: bytes.Repeat([]byte{7}, 20)},
		IDRequest{Version: 6, Features: []uint64{0, 1, 2, 3}, AuthType: "chap-sha1"},
		BeginRequest{Timeout: 1500 * time.Millisecond, Isolation: box.IsolationReadCommitted, IsSync: true},
		ExecuteRequest{StmtID: 42},
		CallRequest{Function: "f"},
		EvalRequest{Expr: "return 1"},
	} {
		got, err := DecodeRequest(req.Type(), encodeBody(t, req))
		if err != nil {
			t.Fatal(err)
		}
		switch g := got.(type) {
		case SelectRequest:
			g.Key = nil
			got = g
		case ExecuteRequest:
			g.Bind, g.Options = nil, nil
			got = g
		case CallRequest:
			g.Args = nil
			got = g
		case EvalRequest:
			g.Args = nil
			got = g
		}
		if !reflect.DeepEqual(got, req) {
			t.Errorf("decoded %+v, want %+v", got, req)
		}
	}
}

// Malformed requests get the errors Tarantool 2.6.0 answers them with
// (NODE.md §1.3, §1.6; live_test.go checks them against the server).
func TestDecodeRequestErrors(t *testing.T) {
	for _, c := range []struct {
		typ  box.RowType
		body string
		code box.ErrorCode
		msg  string
	}{
		{box.TypeSelect, "", box.ErrMissingRequestField, "Missing mandatory field 'space id' in request"},
		{box.TypeSelect, "82 10 cd0200 20 90", box.ErrMissingRequestField, "Missing mandatory field 'limit' in request"},
		{box.TypeSelect, "82 10 a178 12 01", box.ErrInvalidMsgpack, "Invalid MsgPack - packet body"},
		{box.TypeSelect, "91 01", box.ErrInvalidMsgpack, "Invalid MsgPack - packet body"},
		{box.TypeSelect, "83 10 01 12 01 20 90 ff", box.ErrInvalidMsgpack, "Invalid MsgPack - packet body"},
		{box.TypeInsert, "81 10 01", box.ErrMissingRequestField, "Missing mandatory field 'tuple' in request"},
		{box.TypeInsert, "82 10 01 21 01", box.ErrInvalidMsgpack, "Invalid MsgPack - packet body"},
		{box.TypeUpdate, "82 10 01 21 90", box.ErrMissingRequestField, "Missing mandatory field 'key' in request"},
		{box.TypeDelete, "81 20 90", box.ErrMissingRequestField, "Missing mandatory field 'space id' in request"},
		{box.TypeUpsert, "82 10 01 21 90", box.ErrMissingRequestField, "Missing mandatory field 'operations' in request"},
		{box.TypeCall, "81 21 90", box.ErrMissingRequestField, "Missing mandatory field 'function name' in request"},
		{box.TypeEval, "80", box.ErrMissingRequestField, "Missing mandatory field 'expression' in request"},
		{box.TypeAuth, "81 21 90", box.ErrMissingRequestField, "Missing mandatory field 'user name' in request"},
		{box.TypeAuth, "81 23 a175", box.ErrMissingRequestField, "Missing mandatory field 'tuple' in request"},
		{box.TypeAuth, "82 23 a175 21 91 a0", box.ErrInvalidMsgpack, "Invalid MsgPack - authentication request body"},
		{box.TypeAuth, "82 23 a175 21 92 a0 a3616263", box.ErrInvalidMsgpack, "Invalid MsgPack - invalid scramble size"},
		{box.TypeExecute, "80", box.ErrMissingRequestField, "Missing mandatory field 'SQL text' in request"},
		{box.TypeID, "81 55 01", box.ErrInvalidMsgpack, "Invalid MsgPack - packet body"},
		{box.TypeNop, "", box.ErrUnknownRequestType, "Unknown request type 12"},
		{box.TypeConfirm, "80", box.ErrUnknownRequestType, "Unknown request type 40"},
		{200, "", box.ErrUnknownRequestType, "Unknown request type 200"},
	} {
		_, err := DecodeRequest(c.typ, unhex(t, c.body))
		var e *box.Error
		if !errors.As(err, &e) || e.Code != c.code || e.Message != c.msg {
			t.Errorf("%s %s: %v, want %s %q", c.typ.RequestName(), c.body, err, c.code, c.msg)
		}
	}
	// Unknown keys, keys that are not integers and a body-less PING are fine.
	if _, err := DecodeRequest(box.TypeInsert, unhex(t, "84 10 01 21 90 a178 01 7f c0")); err != nil {
		t.Error(err)
	}
	if _, err := DecodeRequest(box.TypePing, unhex(t, "c1")); err != nil {
		t.Error(err)
	}
}

// Every response survives encode and decode.
func TestResponseRoundTrip(t *testing.T) {
	tuple1, _ := msgpack.Marshal([]any{1, "one"})
	tuple2, _ := msgpack.Marshal([]any{2, "two"})
	var b []byte
	b = AppendOK(b, 1, 80)
	b = AppendData(b, box.TypeOK, 2, 80, tuple1, tuple2)
	b = AppendData(b, box.TypeChunk, 3, 80, tuple1)
	b = AppendData(b, box.TypeOK, 4, 80)
	b = AppendError(b, 5, 81, NewError(box.ErrTupleFound, "pk", "test"))
	b = AppendError(b, 6, 81, &Error{Code: box.ErrProcLua, Message: "boom", Stack: []ErrorFrame{
		{Type: "LuajitError", File: "f.lua", Line: 3, Message: "boom", Code: box.ErrProcLua},
		{Type: "ClientError", Message: "cause", Code: box.ErrIllegalParams, Errno: 2, Fields: map[string]any{"k": "v"}},
	}})
	id := IDRequest{Version: 3, Features: []uint64{0, 1}}
	b = AppendResponse(b, box.TypeOK, 7, 80, encodeBody(t, id))
	br := bufio.NewReader(bytes.NewReader(b))
	next := func() *Response {
		t.Helper()
		pkt, err := ReadPacket(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if pkt[0] != 0x83 || pkt[1] != 0 || pkt[2] != 0xce || pkt[7] != 1 || pkt[8] != 0xcf || pkt[17] != 5 || pkt[18] != 0xce {
			t.Errorf("header %x is not Tarantool's fixed-width header", pkt[:23])
		}
		r, err := DecodeResponse(pkt)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := next(); r.Type != box.TypeOK || r.Sync != 1 || r.SchemaVersion != 80 || !bytes.Equal(r.Body, []byte{0x80}) || r.Err() != nil {
		t.Errorf("OK: %+v", r)
	}
	if r := next(); r.Sync != 2 {
		t.Errorf("data: %+v", r)
	} else if d, err := r.Data(); err != nil || !reflect.DeepEqual(d, []any{[]any{int64(1), "one"}, []any{int64(2), "two"}}) {
		t.Errorf("data: %v, %v", d, err)
	}
	if r := next(); r.Type != box.TypeChunk || r.Sync != 3 {
		t.Errorf("chunk: %+v", r)
	}
	if r := next(); r.Sync != 4 {
		t.Errorf("empty data: %+v", r)
	} else if d, err := r.Data(); err != nil || len(d) != 0 {
		t.Errorf("empty data: %v, %v", d, err)
	}
	r := next()
	var e *Error
	if !errors.As(r.Err(), &e) || r.Sync != 5 || r.SchemaVersion != 81 || e.Code != box.ErrTupleFound ||
		e.Message != "Duplicate key exists in unique index 'pk' in space 'test'" ||
		len(e.Stack) != 1 || e.Stack[0].Type != "ClientError" || e.Stack[0].Code != box.ErrTupleFound || e.Stack[0].Message != e.Message {
		t.Errorf("error: %+v %+v", r, e)
	}
	r = next()
	if !errors.As(r.Err(), &e) || e.Code != box.ErrProcLua || len(e.Stack) != 2 ||
		!reflect.DeepEqual(e.Stack[0], ErrorFrame{Type: "LuajitError", File: "f.lua", Line: 3, Message: "boom", Code: box.ErrProcLua}) ||
		e.Stack[1].Errno != 2 || e.Stack[1].Fields["k"] != "v" || e.Stack[1].Code != box.ErrIllegalParams {
		t.Errorf("error stack: %+v", e)
	}
	r = next()
	if got, err := DecodeID(r.Body); err != nil || !reflect.DeepEqual(got, id) {
		t.Errorf("ID answer: %+v, %v", got, err)
	}
	if _, err := ReadPacket(br, nil); err == nil {
		t.Error("data after the last response")
	}
}

// Log rows travel as packets and come back as the same rows.
func TestRowPacket(t *testing.T) {
	h := format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: 20, TSN: 19, Timestamp: 1.7e9, Flags: box.FlagWaitSync}
	body := []byte{0x82, 0x10, 0xcd, 0x02, 0x00, 0x21, 0x91, 0x01}
	pkt, err := AppendRow(nil, &h, body)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ReadPacket(bufio.NewReader(bytes.NewReader(pkt)), make([]byte, 0, 64))
	if err != nil {
		t.Fatal(err)
	}
	var row format.Row
	if err := DecodePacket(raw, &row); err != nil {
		t.Fatal(err)
	}
	if row.Header.Type != h.Type || row.LSN != 20 || row.TSN != 19 || row.Commit || !row.WaitSync() || !bytes.Equal(row.Body, body) {
		t.Errorf("row %+v", row)
	}
}

func TestGreetingRoundTrip(t *testing.T) {
	salt := make([]byte, SaltSize)
	for i := range salt {
		salt[i] = byte(i * 7)
	}
	g := Greeting{Version: box.Version{Major: 2, Minor: 6}, Protocol: "Binary", InstanceUUID: "aaaaaaaa-0000-4000-8000-000000000001", Salt: salt}
	b, err := EncodeGreeting(g)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseGreeting(b)
	if err != nil || !reflect.DeepEqual(got, g) {
		t.Fatalf("%+v, %v", got, err)
	}
	if _, err := EncodeGreeting(Greeting{Version: g.Version, Salt: salt[:10]}); err == nil {
		t.Error("short salt accepted")
	}
	scramble, err := Scramble(salt, "secret")
	if err != nil {
		t.Fatal(err)
	}
	stored := PasswordHash("secret")
	if !CheckScramble(salt, scramble, stored) {
		t.Error("right password refused")
	}
	if CheckScramble(salt, scramble, PasswordHash("other")) || CheckScramble(salt[1:], scramble, stored) ||
		CheckScramble(salt, scramble[:19], stored) || CheckScramble(salt, scramble, "!!") {
		t.Error("wrong password accepted")
	}
	// guest's stored hash as Tarantool has it in _user (NODE.md §1.3).
	if PasswordHash("") != "vhvewKp0tNyweZQ+cFKAlsyphfg=" {
		t.Errorf("PasswordHash(\"\") = %s", PasswordHash(""))
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, req := range allRequests {
		f.Add(uint32(req.Type()), encodeBody(f, req))
	}
	f.Add(uint32(box.TypeAuth), unhex(f, "82 23 a175 21 92 a0 a3616263"))
	f.Fuzz(func(t *testing.T, typ uint32, body []byte) {
		req, err := DecodeRequest(box.RowType(typ), body)
		if err != nil {
			var e *box.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is no *box.Error", err)
			}
			return
		}
		// What decodes encodes, and decodes again to the same request.
		b := encodeBody(t, req)
		again, err := DecodeRequest(box.RowType(typ), b)
		if err != nil {
			t.Fatalf("re-encoded %T %x does not decode: %v", req, b, err)
		}
		if b1, ok := req.(BeginRequest); ok {
			// The timeout goes through time.Duration: a nanosecond may round.
			b2 := again.(BeginRequest)
			if d := b1.Timeout - b2.Timeout; d > 1 || d < -1 || b1.Isolation != b2.Isolation || b1.IsSync != b2.IsSync {
				t.Fatalf("%+v then %+v", b1, b2)
			}
			return
		}
		if b2 := encodeBody(t, again); !bytes.Equal(b, b2) {
			t.Fatalf("%T: %x then %x", req, b, b2)
		}
	})
}

func FuzzDecodePacket(f *testing.F) {
	for _, req := range allRequests {
		pkt, _ := AppendRequest(nil, 1, 2, req)
		f.Add(pkt)
	}
	f.Add(AppendError(nil, 5, 81, NewError(box.ErrNoSuchSpace, "s")))
	f.Add(AppendData(nil, box.TypeChunk, 3, 80, []byte{0x91, 0x01}))
	f.Fuzz(func(t *testing.T, b []byte) {
		pkt, err := ReadPacket(bufio.NewReader(bytes.NewReader(b)), nil)
		if err != nil {
			return
		}
		if r, err := DecodeResponse(pkt); err == nil {
			r.Err()
			r.Data()
			DecodeRequest(r.Type, r.Body)
		}
	})
}
