package iproto

import (
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeValue(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{"c0", nil},
		{"c3", true},
		{"05", int64(5)},
		{"ff", int64(-1)},
		{"cc80", int64(128)},
		{"cfffffffffffffffff", uint64(math.MaxUint64)},
		{"cf7fffffffffffffff", int64(math.MaxInt64)},
		{"d38000000000000000", int64(math.MinInt64)},
		{"ca3fc00000", float64(1.5)},
		{"cb3ff8000000000000", float64(1.5)},
		{"a3616263", "abc"},
		{"c4020102", []byte{1, 2}},
		{"93 01 a178 90", []any{int64(1), "x", []any{}}},
		{"80", map[string]any{}},
		{"82 a161 01 a162 c0", map[string]any{"a": int64(1), "b": nil}},
		{"82 01 a161 a162 02", map[any]any{int64(1): "a", "b": int64(2)}},
		{"d5 02 abcd", Ext{Type: 2, Data: []byte{0xab, 0xcd}}},
		{"c7 03 01 010203", Ext{Type: 1, Data: []byte{1, 2, 3}}},
	}
	for _, c := range cases {
		got, err := decodeValue(unhex(t, c.in))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
}

func TestDecodeValueErrors(t *testing.T) {
	deep := strings.Repeat("91", maxDepth+2) + "01"
	for _, in := range []string{
		"", "c1", "0101", "92 01", "dc ffff", "dd ffffffff 01", "df ffffffff 01 01",
		"81 91 01 02", "81 80 01", "a5 61", "c7 ff 01 00", "c6 c6309 54e", "db ffffffff 00",
		"d4 01", "cb 00", deep,
	} {
		if v, err := decodeValue(unhex(t, in)); err == nil {
			t.Errorf("%.20s: decoded %#v, want an error", in, v)
		}
	}
}

func FuzzDecodeValue(f *testing.F) {
	for _, s := range []string{"93 01 a178 90", "82 01 a161 a162 02", "d5 02 abcd", "81 91 01 02"} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, verr := decodeValue(b)
		n, serr := format.MPSkip(b)
		if verr == nil && (serr != nil || n != len(b)) {
			t.Fatalf("decodeValue accepts %x but skip stops at %d: %v", b, n, serr)
		}
		DecodeError(5, b)
		(&Response{Body: b}).Data()
		DecodeResponse(b)
	})
}

func TestResponseData(t *testing.T) {
	r := &Response{Body: unhex(t, "82 05 01 30 92 92 01 a161 c3")}
	data, err := r.Data()
	if err != nil || fmt.Sprint(data) != "[[1 a] true]" {
		t.Fatalf("Data = %v, %v", data, err)
	}
	var typed []any
	if err := r.DecodeData(&typed); err != nil || len(typed) != 2 {
		t.Fatalf("DecodeData = %v, %v", typed, err)
	}
	raw, ok, err := r.Field(5)
	if err != nil || !ok || hex.EncodeToString(raw) != "01" {
		t.Fatalf("Field(5) = %x %v %v", raw, ok, err)
	}
	if _, ok, _ := r.Field(0x31); ok {
		t.Fatal("Field(0x31) found")
	}
	strKeys := &Response{Body: unhex(t, "83 a161 93010203 30 91 05 a162 c0")}
	if d, err := strKeys.Data(); err != nil || fmt.Sprint(d) != "[5]" {
		t.Fatalf("body with string keys: %v, %v", d, err)
	}
	for _, bad := range []string{"91 01", "82 30 90", "81 30 dc ffff"} {
		if _, _, err := (&Response{Body: unhex(t, bad)}).Field(box.KeyData); err == nil {
			t.Errorf("body %s: no error", bad)
		}
	}
	if r.Err() != nil || r.Code() != 0 {
		t.Fatal("OK response has an error")
	}

	empty := &Response{}
	if d, err := empty.Data(); d != nil || err != nil {
		t.Fatalf("empty body: %v, %v", d, err)
	}
	if err := empty.DecodeData(&typed); err == nil {
		t.Fatal("DecodeData without data: no error")
	}
	notArray := &Response{Body: unhex(t, "81 30 01")}
	if _, err := notArray.Data(); err == nil {
		t.Fatal("scalar DATA accepted")
	}
}

func TestErrorResponse(t *testing.T) {
	// {0x31: "Duplicate key", 0x52: {0: [{0: "ClientError", 1: "f.c", 2: 10, 3: "Duplicate key", 4: 0, 5: 3, 6: {"a": 1}}]}}
	body := "82 31 ad4475706c6963617465206b6579" +
		"52 81 00 91 87 00 ab436c69656e744572726f72 01 a3662e63 02 0a 03 ad4475706c6963617465206b6579 04 00 05 03 06 81 a161 01"
	r := &Response{Type: box.TypeErrorFlag | 3, Body: unhex(t, body)}
	err := r.Err()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("Err() = %T", err)
	}
	if r.Code() != 3 || e.Code != 3 || e.Name() != "ER_TUPLE_FOUND" || e.Message != "Duplicate key" {
		t.Fatalf("error %+v", e)
	}
	if got := e.Error(); got != "ER_TUPLE_FOUND(code 3): Duplicate key" {
		t.Fatalf("Error() = %q", got)
	}
	want := ErrorFrame{Type: "ClientError", File: "f.c", Line: 10, Message: "Duplicate key", Code: 3, Fields: map[string]any{"a": int64(1)}}
	if len(e.Stack) != 1 || !reflect.DeepEqual(e.Stack[0], want) {
		t.Fatalf("stack %+v", e.Stack)
	}
	if !IsCode(fmt.Errorf("wrapped: %w", err), box.ErrTupleFound) || IsCode(err, box.ErrNoSuchSpace) {
		t.Fatal("IsCode")
	}

	// Only the stack: the message comes from its first frame.
	onlyStack := DecodeError(36, unhex(t, "81 52 81 00 91 81 03 a178"))
	if onlyStack.Message != "x" || onlyStack.Name() != "ER_NO_SUCH_SPACE" {
		t.Fatalf("%+v", onlyStack)
	}
	// Undecodable body.
	if e := DecodeError(1, unhex(t, "81")); e.Code != 1 || !strings.Contains(e.Message, "undecodable") {
		t.Fatalf("%+v", e)
	}
}
