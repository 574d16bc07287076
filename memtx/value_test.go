package memtx

import (
	"bytes"
	"encoding/hex"
	"math"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/xlogtool/xlogtool/box"
)

func TestDecodeMsgpack(t *testing.T) {
	cases := []struct {
		hex  string
		want any
	}{
		{"05", uint64(5)},
		{"ff", int64(-1)},
		{"cc05", uint64(5)},
		{"d005", uint64(5)}, // non-minimal signed encoding of a positive value
		{"d3ffffffffffffffff", int64(-1)},
		{"ce00000200", uint64(512)},
		{"cfffffffffffffffff", uint64(math.MaxUint64)},
		{"ca3fc00000", float32(1.5)},
		{"cb4004000000000000", 2.5},
		{"a3616263", "abc"},
		{"d903616263", "abc"},
		{"c4020102", []byte{1, 2}},
		{"c0", nil},
		{"c3", true},
		{"9201a178", []any{uint64(1), "x"}},
		{"81a16101", Map{{"a", uint64(1)}}},
		{"80", Map{}},
		{"c7030102150c", dec("1.50")},
		{"d501001c", dec("1")},
		{"d80211111111222233334444555555555555", UUID{0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}},
		{"d7040100000000000000", Datetime{Seconds: 1}},
		{"d40901", Ext{Type: 9, Data: "\x01"}},
	}
	for _, c := range cases {
		b, _ := hex.DecodeString(c.hex)
		got, err := DecodeMsgpack(b)
		if err != nil {
			t.Errorf("%s: %v", c.hex, err)
			continue
		}
		if !Equal(got, c.want) {
			t.Errorf("%s: %s, want %s", c.hex, show(got), show(c.want))
		}
	}
	for _, bad := range []string{"", "c1", "92", "a5616263", "dc0005", "c7", "d8021111", "c7020101ab", "cd01"} {
		b, _ := hex.DecodeString(bad)
		if _, err := DecodeMsgpack(b); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
	if _, err := DecodeMsgpack([]byte{0x01, 0x02}); err == nil {
		t.Error("trailing bytes accepted")
	}
	deep := bytes.Repeat([]byte{0x91}, maxDepth+10)
	if _, err := DecodeMsgpack(append(deep, 0x01)); err == nil {
		t.Error("excessive nesting accepted")
	}
}

func TestEncodeMsgpackRoundTrip(t *testing.T) {
	values := []any{
		nil, true, uint64(0), uint64(200), uint64(70000), uint64(math.MaxUint64), int64(-1), int64(-200),
		int64(math.MinInt64), float32(1.5), math.Inf(-1), "", string(bytes.Repeat([]byte("x"), 300)),
		[]byte{}, []any{}, []any{uint64(1), []any{"a"}}, Map{{"k", Map{{uint64(1), nil}}}},
		dec("-12345678901234567890.5"), dec("1E+20"), UUID{1}, Datetime{Seconds: -5, Nsec: 7, TZOffset: 180},
		Interval{Raw: "\x01\x00\x05"}, Ext{Type: -1, Data: "12345678"},
	}
	for _, v := range values {
		b, err := EncodeMsgpack(v)
		if err != nil {
			t.Fatalf("%s: %v", show(v), err)
		}
		back, err := DecodeMsgpack(b)
		if err != nil {
			t.Fatalf("%s: %v", show(v), err)
		}
		if !Equal(back, v) {
			t.Errorf("%s came back as %s", show(v), show(back))
		}
	}
	if _, err := EncodeMsgpack(struct{}{}); err == nil {
		t.Error("encoded a struct")
	}
}

func TestNormalizeMsgpackV5(t *testing.T) {
	RegisterExtensions()
	d := dec("-3.25")
	id := UUID{9, 8, 7}
	raw, err := msgpack.Marshal([]any{int8(-3), uint16(7), 1, map[string]any{"b": 1, "a": []any{true}},
		&d, &id, float32(0.5), []byte("bin"), nil, int64(-1 << 40)})
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	if err := msgpack.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	got, err := Normalize(decoded)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(-3), uint64(7), uint64(1), Map{{"a", []any{true}}, {"b", uint64(1)}},
		d, id, float32(0.5), []byte("bin"), nil, int64(-1 << 40)}
	if !Equal(got, want) {
		t.Fatalf("normalized %s, want %s", show(got), show(want))
	}
	// The engine's own decoder agrees with msgpack/v5.
	direct, err := DecodeMsgpack(raw)
	if err != nil || !Equal(direct, want) {
		t.Fatalf("DecodeMsgpack: %s %v", show(direct), err)
	}
	// Keys of map[any]any are sorted by the mixed order.
	n, err := Normalize(map[any]any{"b": 1, uint64(2): 2, true: 3})
	if err != nil || !Equal(n, Map{{true, uint64(3)}, {uint64(2), uint64(2)}, {"b", uint64(1)}}) {
		t.Fatalf("map[any]any: %s %v", show(n), err)
	}
	if m, ok := n.(Map); !ok || m[0].Key != true {
		t.Fatalf("key order %s", show(n))
	}
	tm, err := Normalize(time.Unix(5, 6))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := tm.(Ext); !ok || e.Type != -1 || len(e.Data) != 12 {
		t.Fatalf("time: %#v", tm)
	}
	type named uint32
	if v, err := Normalize(named(7)); err != nil || v != uint64(7) {
		t.Fatalf("named type: %v %v", v, err)
	}
	for _, bad := range []any{struct{}{}, func() {}, make(chan int), []any{map[string]any{"x": struct{}{}}}} {
		if _, err := Normalize(bad); err == nil {
			t.Errorf("%T normalized", bad)
		}
	}
}

func TestDecimal(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"0", "0"}, {"1.50", "1.50"}, {"-0.001", "-0.001"}, {"1e10", "1E+10"}, {"12.5e-3", "0.0125"},
		{"+7", "7"}, {"123456789012345678901234567890123456789", "1.2345678901234567890123456789012345679E+38"},
	} {
		d, err := ParseDecimal(c.in)
		if c.in == "123456789012345678901234567890123456789" {
			if err == nil {
				t.Errorf("%s: 39 digits above 10^38 accepted", c.in)
			}
			continue
		}
		if err != nil || d.String() != c.out {
			t.Errorf("ParseDecimal(%q) = %s, %v; want %s", c.in, d, err, c.out)
		}
	}
	for _, bad := range []string{"", "-", "1.2.3", "abc", "1e", "0x10", "1e99999999999"} {
		if _, err := ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q) accepted", bad)
		}
	}
	add := func(a, b string, sub bool) string {
		r, err := addDecimal(dec(a), dec(b), sub)
		if err != nil {
			return "error"
		}
		return r.String()
	}
	for _, c := range []struct {
		a, b string
		sub  bool
		want string
	}{
		{"1.5", "1.5", false, "3.0"},
		{"1", "0.001", true, "0.999"},
		{"99999999999999999999999999999999999999", "1", false, "error"},
		{"-99999999999999999999999999999999999999", "1", true, "error"},
		// 39 significant digits are rounded half away from zero.
		{"1234567890123456789012345678901234567.8", "0.05", false, "1234567890123456789012345678901234567.9"},
		{"0.00000000000000000000000000000000000001", "0.00000000000000000000000000000000000001", false, "0.00000000000000000000000000000000000002"},
	} {
		if got := add(c.a, c.b, c.sub); got != c.want {
			t.Errorf("%s %v %s = %s, want %s", c.a, c.sub, c.b, got, c.want)
		}
	}
	for _, f := range []struct {
		in   float64
		want string
	}{{0.1, "0.1"}, {1e20, "1E+20"}, {23.42, "23.42"}, {1.0 / 3, "0.333333333333333"}, {-2.5, "-2.5"}} {
		d, ok := DecimalFromFloat(f.in)
		if !ok || d.String() != f.want {
			t.Errorf("DecimalFromFloat(%v) = %s, want %s", f.in, d, f.want)
		}
	}
	if _, ok := DecimalFromFloat(math.Inf(1)); ok {
		t.Error("infinity converted")
	}
	// Payload round trip and the scale bounds.
	for _, s := range []string{"0", "-1", "1.50", "1E+20", "-0.00000000000000000000000000000000000001"} {
		d := dec(s)
		back, err := DecodeDecimal(d.Encode())
		if err != nil || back.Cmp(d) != 0 || back.Scale() != d.Scale() {
			t.Errorf("%s: round trip %s %v", s, back, err)
		}
	}
	for _, bad := range []string{"", "27", "01a1", "01", "0100", "01ac", "d0801c"} {
		b, _ := hex.DecodeString(bad)
		if _, err := DecodeDecimal(b); err == nil {
			t.Errorf("DecodeDecimal(%s) accepted", bad)
		}
	}
}

func TestEqual(t *testing.T) {
	if !Equal(Map{{"a", uint64(1)}, {"b", "x"}}, Map{{"b", "x"}, {"a", uint64(1)}}) {
		t.Error("maps are unordered")
	}
	if Equal(uint64(1), 1.0) || Equal(float32(1), 1.0) || Equal([]byte("a"), "a") {
		t.Error("types must match")
	}
	if !Equal(math.NaN(), math.NaN()) {
		t.Error("NaN equals itself")
	}
	if !Equal(dec("1.0"), dec("1")) {
		t.Error("decimals by value")
	}
}

func TestRawRequestDecode(t *testing.T) {
	mp := func(v any) []byte {
		b, err := EncodeMsgpack(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	st := newTestState(t)
	raw := RawRequest{Type: box.TypeInsert, SpaceID: 600, Tuple: mp([]any{uint64(1), "a"})}
	req, err := raw.Decode()
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, st, req)
	// UPDATE operations are in body key 0x21.
	raw = RawRequest{Type: box.TypeUpdate, SpaceID: 600, IndexBase: 1, Key: mp([]any{uint64(1)}),
		Tuple: mp([]any{[]any{"=", uint64(2), "b"}})}
	if req, err = raw.Decode(); err != nil || req.Tuple != nil || len(req.Ops) != 1 {
		t.Fatalf("update: %+v %v", req, err)
	}
	mustApply(t, st, req)
	// UPSERT: tuple in 0x21, operations in 0x28.
	raw = RawRequest{Type: box.TypeUpsert, SpaceID: 600, IndexBase: 1, Tuple: mp([]any{uint64(1), "z"}),
		Ops: mp([]any{[]any{"=", uint64(3), "c"}})}
	if req, err = raw.Decode(); err != nil {
		t.Fatal(err)
	}
	mustApply(t, st, req)
	if got := st.Get(600, tup(1)); !Equal(got, tup(uint64(1), "b", "c")) {
		t.Fatalf("tuple %s", show(got))
	}
	for _, bad := range []RawRequest{
		{Type: box.TypeInsert, SpaceID: 600, Tuple: []byte{0x92, 0x01}},
		{Type: box.TypeInsert, SpaceID: 600, Tuple: mp("not an array")},
		{Type: box.TypeDelete, SpaceID: 600, Key: []byte{0xc1}},
		{Type: box.TypeUpsert, SpaceID: 600, Tuple: mp([]any{}), Ops: mp(uint64(1))},
	} {
		if _, err := bad.Decode(); codeOf(err) != box.ErrInvalidMsgpack {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// BenchmarkSnapshotLoad measures decoding and inserting snapshot rows.
func BenchmarkSnapshotLoad(b *testing.B) {
	rows := make([][]byte, 1<<16)
	for i := range rows {
		var err error
		rows[i], err = EncodeMsgpack([]any{uint64(i), "name", int64(-5), 1.5, Map{{"k", uint64(i)}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(rows) == 0 {
			b.StopTimer()
			st := NewState()
			_ = st.Apply(insert(box.SpaceSpace, spaceRow(700, "b")...))
			_ = st.Apply(insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "unsigned"))...))
			benchState = st
			b.StartTimer()
		}
		req, err := RawRequest{Type: box.TypeInsert, SpaceID: 700, Tuple: rows[i%len(rows)]}.Decode()
		if err != nil {
			b.Fatal(err)
		}
		if err := benchState.Apply(req); err != nil {
			b.Fatal(err)
		}
	}
}

var benchState *State
