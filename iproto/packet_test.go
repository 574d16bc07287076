package iproto

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/xlogtool/xlogtool/box"
)

func mustEncode(t *testing.T, sync, stream uint64, req Request) string {
	t.Helper()
	b, err := AppendRequest(nil, sync, stream, req)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestEncodePacket(t *testing.T) {
	cases := []struct {
		name   string
		sync   uint64
		stream uint64
		req    Request
		want   string // hex: length prefix, header, body
	}{
		{"ping", 1, 0, PingRequest{}, "ce00000005" + "820040" + "0101"},
		{"ping big sync", 300, 0, PingRequest{}, "ce00000007" + "820040" + "01cd012c"},
		{"select", 2, 0, SelectRequest{Space: 512, Index: 1, Key: []any{7}, Limit: math.MaxUint32, Iterator: box.IterGe},
			"ce00000019" + "82000101 02" + "86" + "10cd0200" + "1101" + "12ceffffffff" + "1300" + "1405" + "209107"},
		{"insert", 3, 0, InsertRequest{Space: 600, Tuple: []any{1, -1, uint64(math.MaxUint64), "x", 1.5}},
			"ce00000022" + "82000201 03" + "82" + "10cd0258" + "2195" + "01" + "ff" + "cfffffffffffffffff" + "a178" + "cb3ff8000000000000"},
		{"insert nil slice", 3, 0, InsertRequest{Space: 1, Tuple: []any(nil)}, "ce0000000a" + "82000201 03" + "82" + "1001" + "2190"},
		{"update base 1", 4, 0, UpdateRequest{Space: 1, Key: []any{1}, Ops: [][]any{{"=", 2, "a"}}, IndexBase: 1},
			"ce00000017" + "82000401 04" + "85" + "1001" + "1100" + "1501" + "209101" + "219193a13d02a161"},
		{"delete", 5, 0, DeleteRequest{Space: 1, Index: 0, Key: []any{"k"}}, "ce0000000e" + "82000501 05" + "83" + "1001" + "1100" + "2091a16b"},
		{"upsert", 6, 0, UpsertRequest{Space: 1, Tuple: []any{1}, Ops: [][]any{{"+", 1, 1}}},
			"ce00000012" + "82000901 06" + "83" + "1001" + "219101" + "289193a12b0101"},
		{"call", 7, 0, CallRequest{Function: "f"}, "ce0000000b" + "82000a01 07" + "82" + "22a166" + "2190"},
		{"eval", 8, 0, EvalRequest{Expr: "return ...", Args: []any{true}},
			"ce00000015" + "82000801 08" + "82" + "27aa72657475726e202e2e2e" + "2191c3"},
		{"raw", 9, 0, RawRequest{Code: box.TypeReplace, Body: []byte{0x82, 0x10, 0x01, 0x21, 0x91, 0x05}},
			"ce0000000b" + "82000301 09" + "821001219105"},
		{"raw no body", 10, 0, RawRequest{Code: box.TypePing}, "ce00000005" + "820040010a"},
		{"stream begin", 11, 5, BeginRequest{Timeout: 1500 * time.Millisecond, Isolation: box.IsolationReadCommitted},
			"ce00000014" + "83000e010b0a05" + "82" + "56cb3ff8000000000000" + "5901"},
		{"stream begin defaults", 12, 5, BeginRequest{}, "ce00000007" + "83000e010c0a05"},
		{"stream commit", 13, 5, CommitRequest{}, "ce00000007" + "83000f010d0a05"},
		{"stream rollback", 14, 1 << 40, RollbackRequest{}, "ce0000000f" + "830010010e0acf0000010000000000"},
		{"auth", 15, 0, AuthRequest{User: "u", Scramble: []byte{1, 2}},
			"ce00000018" + "82000701 0f" + "82" + "23a175" + "2192a9636861702d73686131a20102"},
	}
	for _, c := range cases {
		want := strings.ReplaceAll(c.want, " ", "")
		if got := mustEncode(t, c.sync, c.stream, c.req); got != want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, want)
		}
	}
}

type badTuple struct{}

func (badTuple) EncodeMsgpack(*msgpack.Encoder) error { return errors.New("cannot encode") }

func TestEncodePacketError(t *testing.T) {
	_, err := AppendRequest(nil, 1, 0, InsertRequest{Space: 1, Tuple: badTuple{}})
	if err == nil || !strings.Contains(err.Error(), "cannot encode") {
		t.Fatalf("err = %v", err)
	}
}

func TestReadPacket(t *testing.T) {
	body := []byte{0x80}
	for _, prefix := range [][]byte{
		{0x01}, {0xcc, 0x01}, {0xcd, 0x00, 0x01}, {0xce, 0, 0, 0, 1}, {0xcf, 0, 0, 0, 0, 0, 0, 0, 1},
	} {
		r := bufio.NewReader(bytes.NewReader(append(append([]byte{}, prefix...), body...)))
		pkt, err := ReadPacket(r, nil)
		if err != nil || !bytes.Equal(pkt, body) {
			t.Errorf("prefix %x: %x, %v", prefix, pkt, err)
		}
		if _, err := ReadPacket(r, nil); err != io.EOF {
			t.Errorf("prefix %x: at end: %v", prefix, err)
		}
	}
	big := bytes.Repeat([]byte{0xc0}, preallocLimit+10)
	in := append([]byte{0xce, 0, 0x10, 0, 0x0a}, big...)
	if pkt, err := ReadPacket(bufio.NewReader(bytes.NewReader(in)), nil); err != nil || len(pkt) != len(big) {
		t.Errorf("large packet: %d bytes, %v", len(pkt), err)
	}
	bad := map[string][]byte{
		"bad prefix": {0xa1, 0x00},
		"negative":   {0xff},
		"too large":  {0xcf, 0, 0, 0, 1, 0, 0, 0, 0},
		"truncated":  {0x05, 0x80},
		"cut prefix": {0xce, 0, 0},
		"cut big":    {0xce, 0x7f, 0, 0, 0, 1, 2, 3},
	}
	for name, in := range bad {
		if _, err := ReadPacket(bufio.NewReader(bytes.NewReader(in)), nil); err == nil || err == io.EOF {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestDecodeResponse(t *testing.T) {
	// The fixed header of dispatcher responses, without the length.
	pkt, _ := hex.DecodeString("83" + "00ce00008003" + "01cf0000000000000007" + "05ce00000050" + "81" + "31a178")
	r, err := DecodeResponse(pkt)
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != 0x8003 || r.Sync != 7 || r.SchemaVersion != 80 || hex.EncodeToString(r.Body) != "8131a178" {
		t.Fatalf("%+v body %x", r, r.Body)
	}
	// 8-byte widths, minimal integers, an unknown key with a compound value.
	pkt, _ = hex.DecodeString("83" + "00cf0000000000000000" + "0105" + "0b9201a178")
	r, err = DecodeResponse(pkt)
	if err != nil || r.Type != 0 || r.Sync != 5 || len(r.Body) != 0 {
		t.Fatalf("%+v err %v", r, err)
	}
	for _, bad := range []string{"", "c0", "81a17801", "8100a178", "8100cf0000000100000000", "82000001", "8100008000"} {
		b, _ := hex.DecodeString(bad)
		if _, err := DecodeResponse(b); err == nil {
			t.Errorf("packet %s: no error", bad)
		}
	}
}

// blockingReader fails the test's read should ReadPacket need more bytes.
type blockingReader struct{ t *testing.T }

func (r blockingReader) Read([]byte) (int, error) {
	r.t.Fatal("read past the buffered bytes")
	return 0, io.EOF
}

func TestPacketBuffered(t *testing.T) {
	ping, err := AppendRequest(nil, 1, 0, PingRequest{})
	if err != nil {
		t.Fatal(err)
	}
	short := []byte{0x03, 0x80, 0x80, 0x80} // a one-byte length prefix
	two := append(append([]byte(nil), short...), ping...)
	for _, pkt := range [][]byte{ping, short, two} {
		for cut := 0; cut <= len(pkt); cut++ {
			br := bufio.NewReader(io.MultiReader(bytes.NewReader(pkt[:cut]), blockingReader{t}))
			if cut > 0 {
				br.Peek(cut)
			}
			first := len(pkt)
			if len(pkt) == len(two) {
				first = len(short)
			}
			if got, want := PacketBuffered(br), cut >= first; got != want {
				t.Errorf("%d of %d bytes buffered: PacketBuffered = %v", cut, len(pkt), got)
			}
			if cut >= first {
				if _, err := ReadPacket(br, nil); err != nil {
					t.Error(err)
				}
			}
		}
	}
	// A prefix ReadPacket refuses is reported at once.
	br := bufio.NewReader(io.MultiReader(bytes.NewReader([]byte{0xc1}), blockingReader{t}))
	br.Peek(1)
	if !PacketBuffered(br) {
		t.Error("a bad prefix is not reported as ready")
	}
}
