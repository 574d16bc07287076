package memtx

import (
	"math"
	"math/rand"
	"strings"
	"testing"
	"unsafe"
)

// hintEdgeValues are values of every class with the edges of the hint
// scale: integers around ±2^59 and ±2^63, uint64 up to 2^64-1, doubles
// against integers, NaN and infinities, strings sharing long prefixes,
// bytes, uuids, datetimes, decimals and the kinds without a value hint.
func hintEdgeValues() []any {
	vs := []any{nil, false, true}
	for _, u := range []uint64{0, 1, 2, 127, 128, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32,
		1<<53 - 1, 1 << 53, 1<<53 + 1, 1<<59 - 2, 1<<59 - 1, 1 << 59, 1<<59 + 1, 1<<63 - 1, 1 << 63, math.MaxUint64 - 1, math.MaxUint64} {
		vs = append(vs, u)
	}
	for _, i := range []int64{-1, -2, -31, -32, -33, -128, -129, -32768, -32769, -1 << 31, -1<<31 - 1,
		-1<<59 + 1, -1 << 59, -1<<59 - 1, -1 << 62, math.MinInt64 + 1, math.MinInt64} {
		vs = append(vs, i)
	}
	for _, f := range []float64{math.NaN(), math.Inf(-1), math.Inf(1), 0, -0.0, 0.5, -0.5, 1, 1.5, -1.5, 2.25,
		1 << 53, 1<<53 + 2, 1 << 59, 1<<59 - 512, -1 << 59, -1<<59 - 1024, 1 << 63, -1 << 63, 1 << 64, 1e300, -1e300,
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64} {
		vs = append(vs, f, float32(f))
	}
	for _, d := range []string{"0", "-0.5", "0.5", "1", "1.5", "-1e30", "1e30", "576460752303423488", "576460752303423487.5"} {
		x, _ := ParseDecimal(d)
		vs = append(vs, x)
	}
	for _, s := range []string{"", "\x00", "\x00\x00", "a", "a\x00", "ab", "abcdefg", "abcdefgh", "abcdefgh\x00", "abcdefghi",
		"abcdefgi", "payload-0001", "payload-0002", "payload-00010", "\xff", "\xff\xff\xff\xff\xff\xff\xff\xff\xff", "A", "b", "B", "é", "Ä"} {
		vs = append(vs, s, []byte(s))
	}
	vs = append(vs,
		UUID{}, UUID{0: 1}, UUID{15: 1}, UUID{7: 0xff, 8: 1},
		Datetime{Seconds: -1}, Datetime{Seconds: 0}, Datetime{Seconds: 0, Nsec: 1}, Datetime{Seconds: 1 << 60}, Datetime{Seconds: math.MinInt64},
		Interval{Raw: "\x01\x00"}, Interval{Raw: "\x02"},
		[]any{uint64(1)}, []any{uint64(1), "x"}, Map{{Key: "a", Value: uint64(1)}},
		Ext{Type: 42, Data: "x"}, Ext{Type: 42, Data: "y"}, Ext{Type: 100, Data: "z"},
	)
	return vs
}

// randomHintValue draws a value near interesting edges.
func randomHintValue(rng *rand.Rand, edges []any) any {
	switch rng.Intn(8) {
	case 0:
		return rng.Uint64() >> uint(rng.Intn(64))
	case 1:
		return -int64(rng.Uint64()>>uint(rng.Intn(64))) - 1
	case 2:
		return (rng.Float64() - 0.5) * math.Pow(2, float64(rng.Intn(130)-20))
	case 3:
		return float64(rng.Int63n(1000) - 500)
	case 4:
		const letters = "ab\x00\xff"
		var sb strings.Builder
		n := rng.Intn(12)
		for i := 0; i < n; i++ {
			sb.WriteByte(letters[rng.Intn(len(letters))])
		}
		if rng.Intn(2) == 0 {
			return "abcdefgh" + sb.String()
		}
		return sb.String()
	}
	return edges[rng.Intn(len(edges))]
}

// hintParts are key parts of the types and options a hint must handle.
func hintParts() []keyPartRT {
	var ps []keyPartRT
	for _, typ := range []FieldType{TypeScalar, TypeAny, TypeNumber, TypeUnsigned, TypeInteger, TypeDouble, TypeString, TypeVarbinary} {
		for _, desc := range []bool{false, true} {
			ps = append(ps, keyPartRT{field: 1, typ: typ, nullable: true, desc: desc})
		}
	}
	ps = append(ps,
		keyPartRT{field: 1, typ: TypeString, coll: collUnicode},
		keyPartRT{field: 1, typ: TypeScalar, coll: collUnicodeCI, nullable: true},
		keyPartRT{field: 1, typ: TypeScalar, coll: collUnicode, desc: true, nullable: true},
	)
	return ps
}

// checkHintPair verifies the hints of a and b against the comparator.
func checkHintPair(t *testing.T, kd *keyDef, a, b any) {
	t.Helper()
	ta, err1 := newTuple([]any{uint64(1), a})
	tb, err2 := newTuple([]any{uint64(2), b})
	if err1 != nil || err2 != nil {
		t.Fatalf("encode %v %v", err1, err2)
	}
	ha, hb := kd.tupleHint(ta), kd.tupleHint(tb)
	c := sign(kd.compare(ta, tb))
	if h := hintCmp(ha, hb); h != 0 && h != c {
		t.Fatalf("%+v: hint(%s) = %#x, hint(%s) = %#x order them %d, compare says %d",
			kd.parts[0], show(a), ha, show(b), hb, h, c)
	}
	// A search key holds the same hint as the tuple.
	if vh := kd.valuesHint([]any{a}); vh != ha {
		t.Fatalf("%+v: hint of key %s = %#x, of the tuple %#x", kd.parts[0], show(a), vh, ha)
	}
	k := kd.keyOf(ta)
	if kh := kd.keyHint(&k); kh != ha {
		t.Fatalf("%+v: hint of the key of %s = %#x, of the tuple %#x", kd.parts[0], show(a), kh, ha)
	}
}

func TestHintOrderEdges(t *testing.T) {
	vs := hintEdgeValues()
	for _, p := range hintParts() {
		kd := &keyDef{parts: []keyPartRT{p}, plain: !p.desc}
		for _, a := range vs {
			for _, b := range vs {
				checkHintPair(t, kd, a, b)
			}
		}
	}
}

func TestHintOrderRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	edges := hintEdgeValues()
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for _, p := range hintParts() {
		kd := &keyDef{parts: []keyPartRT{p}, plain: !p.desc}
		for i := 0; i < n; i++ {
			checkHintPair(t, kd, randomHintValue(rng, edges), randomHintValue(rng, edges))
		}
	}
}

// TestHintDecides: the hints decide the usual comparisons alone.
func TestHintDecides(t *testing.T) {
	p := &keyPartRT{typ: TypeScalar}
	pairs := [][2]any{
		{int64(-5), uint64(3)}, {uint64(3), uint64(4)}, {-1.5, int64(-1)}, {uint64(1) << 40, 1e13},
		{nil, false}, {true, uint64(0)}, {uint64(math.MaxUint64), ""}, {"abc", "abd"}, {"zzz", []byte{}},
		{[]byte("a"), UUID{}}, {UUID{}, Datetime{}}, {Datetime{Seconds: 1}, Datetime{Seconds: 2}},
	}
	for _, pr := range pairs {
		if hintCmp(hintValue(pr[0], p), hintValue(pr[1], p)) != -1 {
			t.Errorf("hints of %s and %s do not order them", show(pr[0]), show(pr[1]))
		}
	}
	// Descending: reversed, still below hintNone.
	d := &keyPartRT{typ: TypeScalar, desc: true}
	if hintCmp(hintValue(uint64(3), d), hintValue(uint64(4), d)) != 1 || hintValue(nil, d) == hintNone {
		t.Error("descending hints")
	}
}

// BenchmarkBtreeGet1M looks up random keys of a primary key of 1M
// tuples of [k, "payload"], with hints and without (the comparison
// alone, as before hints).
func BenchmarkBtreeGet1M(b *testing.B) {
	for _, hinted := range []bool{true, false} {
		name := "hints"
		if !hinted {
			name = "nohints"
		}
		b.Run(name, func(b *testing.B) {
			const n = 1 << 20
			ar := newArena()
			kd := &keyDef{parts: []keyPartRT{{field: 0, typ: TypeUnsigned}}, plain: true}
			cmp := func(x, y tref) int { return kd.compare(ar.bytes(x), ar.bytes(y)) }
			tr := newBtree(cmp)
			if hinted {
				tr = newHintedBtree(cmp, func(r tref) uint64 { return kd.tupleHint(ar.bytes(r)) })
			}
			rng := rand.New(rand.NewSource(1))
			perm := rng.Perm(n)
			keys := make([]Tuple, n)
			for i, k := range perm {
				tu, _ := newTuple([]any{uint64(k), "payload-0123456789abcdef"})
				keys[i] = tu
				r := ar.store(tu)
				tr.set(r)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tu := keys[rng.Intn(n)]
				k := kd.keyOf(tu)
				if _, ok := tr.getHinted(kd.keyHint(&k), func(x tref) int { return kd.compareTo(ar.bytes(x), &k) }); !ok {
					b.Fatal("missing")
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(treeBytes(tr))/n, "node-B/tuple")
		})
	}
}

// treeBytes is the size of a tree's nodes: the node headers and the
// arrays of entries and children, by their capacity.
func treeBytes[T any](tr *btree[T]) int {
	var walk func(n *bnode[T]) int
	walk = func(n *bnode[T]) int {
		if n == nil {
			return 0
		}
		size := int(unsafe.Sizeof(*n)) + cap(n.items)*int(unsafe.Sizeof(bentry[T]{})) + cap(n.children)*8
		for _, c := range n.children {
			size += walk(c)
		}
		return size
	}
	return walk(tr.root)
}
