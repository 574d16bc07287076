package replay

import (
	"math"
	"testing"

	"github.com/xlogtool/xlogtool/memtx"
)

// TestJSONFromMsgpack: tuples rendered from their MessagePack read the
// same as their decoded values rendered by AppendJSON.
func TestJSONFromMsgpack(t *testing.T) {
	dec, err := memtx.ParseDecimal("-12.5")
	if err != nil {
		t.Fatal(err)
	}
	values := []any{nil, true, false, uint64(0), uint64(255), uint64(1) << 63, int64(-1), int64(math.MinInt64),
		float32(1.5), float64(-0.25), math.NaN(), math.Inf(1), 1e300, float32(1e-7),
		"", "a\"b\\c\n\x01é", "\xff\xfe", []byte{0, 1, 0xff}, []any{}, []any{uint64(1), []any{"x", nil}},
		memtx.Map{{Key: "a", Value: uint64(1)}, {Key: uint64(2), Value: []any{true}}}, dec,
		memtx.UUID{1, 2, 3}}
	tuples := [][]any{values, {}, {values}}
	for _, tu := range tuples {
		raw, err := memtx.EncodeMsgpack(tu)
		if err != nil {
			t.Fatal(err)
		}
		want := string(AppendJSON(nil, tu))
		if got := string(appendJSONMsgpack(nil, raw)); got != want {
			t.Errorf("from MessagePack:\n%s\nfrom values:\n%s", got, want)
		}
	}
}
