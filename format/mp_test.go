package format_test

import (
	"bytes"
	"encoding/hex"
	"math"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/format"
)

// The encoders write the smallest form, as Tarantool and msgpack/v5 with
// compact integers do, and the cursor reads back what they wrote.
func TestMPAppend(t *testing.T) {
	compact := func(v any) []byte {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseCompactInts(true)
		enc.UseCompactFloats(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		got := format.AppendInt(nil, v)
		if want := compact(v); !bytes.Equal(got, want) {
			t.Errorf("AppendInt(%d) = %x, want %x", v, got, want)
		}
		back, err := format.NewMPCursor(got).Int()
		if err != nil || back != v {
			t.Errorf("AppendInt(%d) reads back as %d, %v", v, back, err)
		}
	}
	for _, n := range []int{0, 1, 255, 256, 65535, 65536} {
		s := bytes.Repeat([]byte{'x'}, n)
		if got, want := format.AppendBin(nil, s), compact(s); !bytes.Equal(got, want) {
			t.Errorf("AppendBin(%d bytes) starts %x, want %x", n, got[:min(len(got), 5)], want[:min(len(want), 5)])
		}
	}
	if got, want := format.AppendFloat32(nil, 2.5), compact(float32(2.5)); !bytes.Equal(got, want) {
		t.Errorf("AppendFloat32 = %x, want %x", got, want)
	}
	if f, err := format.NewMPCursor(format.AppendFloat32(nil, -0.1)).Float32(); err != nil || f != -0.1 {
		t.Errorf("Float32 reads %v, %v", f, err)
	}
	if _, err := format.NewMPCursor(format.AppendFloat64(nil, 1)).Float32(); err == nil {
		t.Error("Float32 reads a float64")
	}
	if got := hex.EncodeToString(format.AppendBool(format.AppendBool(nil, true), false)); got != "c3c2" {
		t.Errorf("AppendBool = %s", got)
	}
	for _, c := range []struct {
		n    int
		head string
	}{{1, "d407"}, {2, "d507"}, {4, "d607"}, {8, "d707"}, {16, "d807"}, {3, "c70307"}, {0, "c70007"},
		{300, "c8012c07"}, {70000, "c90001117007"}} {
		data := bytes.Repeat([]byte{0xab}, c.n)
		got := format.AppendExt(nil, 7, data)
		if h := hex.EncodeToString(got[:len(got)-c.n]); h != c.head {
			t.Errorf("AppendExt(%d bytes) header %s, want %s", c.n, h, c.head)
		}
		typ, d, err := format.NewMPCursor(got).Ext()
		if err != nil || typ != 7 || !bytes.Equal(d, data) {
			t.Errorf("AppendExt(%d bytes) reads back as %d %d bytes, %v", c.n, typ, len(d), err)
		}
	}
}
