package memtx

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/xlogtool/xlogtool/box"
)

// randomValue generates arbitrary values, biased towards the shapes the
// engine interprets (small integers, operation-like arrays, maps).
func randomValue(rng *rand.Rand, depth int) any {
	switch rng.Intn(16) {
	case 0:
		return nil
	case 1:
		return rng.Intn(2) == 0
	case 2:
		return uint64(rng.Intn(8))
	case 3:
		return -int64(rng.Intn(8)) - 1
	case 4:
		return []uint64{0, math.MaxUint64, math.MaxInt32, math.MaxInt32 + 1, 1 << 40}[rng.Intn(5)]
	case 5:
		return []float64{0.5, math.NaN(), math.Inf(1), -1e300, 3}[rng.Intn(5)]
	case 6:
		return float32(rng.Intn(5)) / 2
	case 7:
		return []string{"", "=", "+", "-", ":", "#", "!", "&", "|", "^", "a", "[1]", "[2].a", "[*]", "x.y[2]", "[", "name", "unique", "tree", "hash", "field", "type", "unsigned", "string", "scalar", "is_nullable", "path"}[rng.Intn(27)]
	case 8:
		return []byte{byte(rng.Intn(256))}
	case 9:
		d, _ := ParseDecimal([]string{"1", "-0.5", "99999999999999999999999999999999999999", "1e-30"}[rng.Intn(4)])
		return d
	case 10:
		return UUID{byte(rng.Intn(3))}
	case 11:
		return Ext{Type: int8(rng.Intn(20) - 10), Data: "x"}
	case 12, 13:
		if depth > 4 {
			return nil
		}
		a := make([]any, rng.Intn(6))
		for i := range a {
			a[i] = randomValue(rng, depth+1)
		}
		return a
	default:
		if depth > 4 {
			return nil
		}
		m := Map{}
		for i := rng.Intn(4); i > 0; i-- {
			m = append(m, MapEntry{randomValue(rng, depth+1), randomValue(rng, depth+1)})
		}
		return m
	}
}

func randomArray(rng *rand.Rand) []any {
	if rng.Intn(10) == 0 {
		return nil
	}
	v, ok := randomValue(rng, 3).([]any)
	if !ok {
		return []any{randomValue(rng, 1)}
	}
	return v
}

func randomOps(rng *rand.Rand) []any {
	ops := make([]any, rng.Intn(4))
	for i := range ops {
		o := []any{[]string{"=", "+", "-", ":", "#", "!", "&", "|", "^", "?"}[rng.Intn(10)]}
		for j := rng.Intn(5); j > 0; j-- {
			o = append(o, randomValue(rng, 2))
		}
		ops[i] = o
	}
	return ops
}

// TestRandomRequests applies random requests, including random rows of
// _space, _index and _truncate, and checks that the engine never panics
// and that an accepted state stays consistent.
func TestRandomRequests(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	st := newTestState(t)
	spaces := []uint32{600, 601, box.SpaceSpace, box.SpaceIndex, box.SpaceTruncate, box.SpaceSchema, 602, 350}
	for i := 0; i < 100000; i++ {
		req := Request{
			Type:      []box.RowType{box.TypeInsert, box.TypeReplace, box.TypeUpdate, box.TypeDelete, box.TypeUpsert, box.TypeNop, 77}[rng.Intn(7)],
			SpaceID:   spaces[rng.Intn(len(spaces))],
			IndexID:   uint32(rng.Intn(3)),
			IndexBase: uint32(rng.Intn(3)),
			Key:       randomArray(rng),
			Tuple:     randomArray(rng),
			Ops:       randomOps(rng),
		}
		if rng.Intn(3) == 0 && (req.SpaceID == 600 || req.SpaceID == 601) {
			// Mostly well-formed keys to reach the update code.
			req.Key = []any{uint64(rng.Intn(4))}
			if req.SpaceID == 601 {
				req.Key = []any{[]string{"a", "b"}[rng.Intn(2)]}
			}
			req.Tuple = append(append([]any{}, req.Key...), randomArray(rng)...)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic on request %d %s: %v", i, describe(req), r)
				}
			}()
			_ = st.Apply(req)
		}()
	}
	for _, sp := range st.Spaces() {
		pk := sp.primary()
		if pk == nil {
			continue
		}
		var prev Tuple
		n := 0
		sp.AscendTuples(func(tu Tuple) bool {
			if prev != nil && pk.kd.compare(prev, tu) >= 0 {
				t.Fatalf("space %d out of order: %s, %s", sp.ID, show(prev), show(tu))
			}
			if err := sp.format.validate(tu); err != nil {
				t.Fatalf("space %d holds an invalid tuple %s: %v", sp.ID, show(tu), err)
			}
			prev = tu
			n++
			return true
		})
		for _, ix := range sp.indexes {
			if ix.ID != 0 && ix.maintained() && ix.tree.Len() != n {
				t.Fatalf("space %d index %d has %d entries for %d tuples", sp.ID, ix.ID, ix.tree.Len(), n)
			}
		}
	}
}

// FuzzApply feeds MsgPack-encoded requests to a state with a few spaces.
func FuzzApply(f *testing.F) {
	seeds := []Request{
		insert(600, uint64(1), "a"),
		update(600, []any{uint64(1)}, []any{"=", "[2].a", uint64(1)}, []any{":", int64(-1), uint64(1), uint64(0), "x"}),
		upsert(601, []any{"a", uint64(1)}, []any{"+", uint64(2), 1.5}),
		insert(box.SpaceIndex, indexRow(600, 1, "x", true, part(1, "string", MapEntry{"path", "a[1]"}))...),
		insert(box.SpaceTruncate, uint64(600), uint64(1)),
	}
	for _, r := range seeds {
		b, err := EncodeMsgpack([]any{uint64(r.Type), uint64(r.SpaceID), uint64(r.IndexBase), r.Key, r.Tuple, r.Ops})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeMsgpack(data)
		if err != nil {
			return
		}
		a, ok := v.([]any)
		if !ok || len(a) != 6 {
			return
		}
		num := func(x any) uint32 {
			n, _ := x.(uint64)
			return uint32(n)
		}
		arr := func(x any) []any {
			y, _ := x.([]any)
			return y
		}
		st := newTestState(t)
		mustApply(t, st, insert(600, uint64(1), Map{{"a", []any{uint64(1)}}}), insert(601, "a", uint64(1)))
		req := Request{Type: box.RowType(num(a[0])), SpaceID: num(a[1]), IndexBase: num(a[2]),
			Key: arr(a[3]), Tuple: arr(a[4]), Ops: arr(a[5])}
		_ = st.Apply(req)
		_ = fmt.Sprint(st.Spaces())
	})
}

// FuzzRawTuple stores arbitrary bytes as the tuple of an INSERT through
// RawRequest.Decode into spaces with secondary TREE and HASH indexes: the
// engine refuses what is not one well-formed array and never panics
// reading a tuple it kept; a kept tuple decodes as DecodeMsgpack decodes
// its bytes, and every index can find it.
func FuzzRawTuple(f *testing.F) {
	for _, v := range [][]any{
		{uint64(1), uint64(2)},
		{"a", uint64(1), nil},
		{uint64(1), "x", uint64(3), int64(-4), 1.5},
		{uint64(1), []any{uint64(1), Map{{"a", "b"}}}, dec("1.5")},
	} {
		b, err := EncodeMsgpack(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x92, 0xcd, 0x00, 0x01, 0xd9})
	f.Add([]byte{0xdc, 0x00, 0x02, 0x01, 0xa1, 0x61})
	f.Fuzz(func(t *testing.T, data []byte) {
		st := newIndexedState(t)
		mustApply(t, st, insert(700, uint64(1), "a", uint64(1), uint64(1)))
		for _, space := range []uint32{600, 601, 700} {
			if space != 700 {
				st = newTestState(t)
			}
			req, err := RawRequest{Type: box.TypeInsert, SpaceID: space, Tuple: data}.Decode()
			if err != nil {
				if _, derr := DecodeMsgpack(data); derr == nil {
					if v, _ := DecodeMsgpack(data); v != nil {
						if _, isArr := v.([]any); isArr {
							t.Fatalf("an array refused: %v", err)
						}
					}
				}
				return
			}
			ch, err := st.Execute(req)
			if err != nil {
				continue
			}
			want, derr := DecodeMsgpack(data)
			if derr != nil {
				t.Fatalf("kept a tuple that does not decode: %v", derr)
			}
			if got := ch.New.Decode(); !Equal(got, want) {
				t.Fatalf("kept %s, the bytes hold %s", show(got), show(want))
			}
			sp := st.Space(space)
			for _, ix := range sp.Indexes() {
				if !ix.maintained() {
					continue
				}
				found := false
				ix.Ascend(func(tu Tuple) bool {
					found = found || bytes.Equal(tu, ch.New)
					return !found
				})
				if !found {
					t.Fatalf("index %s lost the tuple", ix.Name)
				}
			}
			for id := uint32(0); id < 7; id++ {
				_, _ = st.Select(space, id, box.IterAll, nil, 0, 100)
			}
		}
	})
}
