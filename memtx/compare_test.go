package memtx

import (
	"math"
	"testing"
)

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// checkOrder verifies that values are strictly increasing under the
// comparison of a field type, pairwise (which also checks antisymmetry).
func checkOrder(t *testing.T, typ FieldType, coll collKind, values ...any) {
	t.Helper()
	norm := make([]any, len(values))
	for i, v := range values {
		n, err := Normalize(v)
		if err != nil {
			t.Fatal(err)
		}
		norm[i] = n
	}
	for i := range norm {
		for j := range norm {
			if got := sign(compareField(norm[i], norm[j], typ, coll)); got != sign(i-j) {
				t.Errorf("%s: compare(%s, %s) = %d, want %d", typ, show(norm[i]), show(norm[j]), got, sign(i-j))
			}
		}
	}
}

func TestOrderUnsignedIntegerNumber(t *testing.T) {
	checkOrder(t, TypeUnsigned, collBinary, 0, 1, 2, 255, 256, uint64(math.MaxInt64)+1, uint64(math.MaxUint64))
	checkOrder(t, TypeInteger, collBinary, int64(math.MinInt64), -256, -1, 0, 1, uint64(math.MaxUint64))
	checkOrder(t, TypeNumber, collBinary,
		math.NaN(), math.Inf(-1), int64(math.MinInt64), -1e18, -1.5, float32(-1.25), -1,
		dec("-0.5"), 0, float32(0.25), dec("0.3"), 1,
		1.000000000000001, dec("1.5"), 2,
		uint64(1)<<53, uint64(1)<<53+1, float64(uint64(1)<<53+2),
		uint64(math.MaxUint64), 1e20, dec("1e30"), math.Inf(1))
}

func TestOrderNumbersEqualAcrossTypes(t *testing.T) {
	eq := [][2]any{
		{uint64(1), 1.0},
		{uint64(1), float32(1)},
		{int64(-3), -3.0},
		{dec("1.50"), 1.5},
		{dec("2"), uint64(2)},
		{dec("0.1"), 0.1}, // doubles convert through 15 digits
	}
	for _, p := range eq {
		if c := compareField(p[0], p[1], TypeNumber, collBinary); c != 0 {
			t.Errorf("compare(%s, %s) = %d, want 0", show(p[0]), show(p[1]), c)
		}
	}
	// 2^53+1 is not representable as a double: it is above 2^53.
	if c := compareField(uint64(1)<<53+1, float64(uint64(1)<<53), TypeNumber, collBinary); c != 1 {
		t.Errorf("2^53+1 vs 2^53 double: %d", c)
	}
}

func TestOrderStringsAndBinary(t *testing.T) {
	checkOrder(t, TypeString, collBinary, "", "A", "B", "a", "ab", "b", "\xc3\xa9", "\xff")
	checkOrder(t, TypeVarbinary, collBinary, []byte{}, []byte{0}, []byte{0, 0}, []byte{1}, []byte{0xff})
	checkOrder(t, TypeString, collUnicode, "", "a", "A", "ab", "aB", "Ab", "AB", "b", "B", "é")
	checkOrder(t, TypeString, collUnicodeCI, "", "a", "ab", "B", "xyz")
	for _, p := range [][2]string{{"a", "A"}, {"Ab", "aB"}, {"XyZ", "xyz"}} {
		if c := compareField(p[0], p[1], TypeString, collUnicodeCI); c != 0 {
			t.Errorf("unicode_ci: compare(%q, %q) = %d, want 0", p[0], p[1], c)
		}
	}
}

func TestOrderOtherTypes(t *testing.T) {
	checkOrder(t, TypeBoolean, collBinary, false, true)
	u := func(b byte) UUID { var x UUID; x[0] = b; return x }
	checkOrder(t, TypeUUID, collBinary, u(0), u(1), u(0x80), u(0xff))
	checkOrder(t, TypeDecimal, collBinary, dec("-1e10"), dec("-0.001"),
		dec("0"), dec("0.0011"), dec("12345678901234567890.123"))
	checkOrder(t, TypeDatetime, collBinary, Datetime{Seconds: -5}, Datetime{Seconds: 0}, Datetime{Seconds: 0, Nsec: 5}, Datetime{Seconds: 1})
}

func TestOrderScalarClasses(t *testing.T) {
	var id UUID
	id[15] = 1
	checkOrder(t, TypeScalar, collBinary,
		nil, false, true, math.NaN(), -1, 0.5, dec("0.75"), 1, "", "a", "b",
		[]byte{}, []byte("a"), id, Datetime{Seconds: 1})
	checkOrder(t, TypeAny, collBinary, nil, true, 1, "s", []byte("b"), tup(), tup(1), tup(1, 2), Map{}, Map{{"a", 1}})
}

func TestKeyDefMultiPartNullableDesc(t *testing.T) {
	kd := &keyDef{parts: []keyPartRT{
		{field: 1, typ: TypeString},
		{field: 0, typ: TypeInteger, nullable: true},
		{field: 2, typ: TypeUnsigned, desc: true, nullable: true},
	}}
	rows := [][]any{
		tup(nil, "a", uint64(9)),
		tup(nil, "a", uint64(1)),
		tup(int64(-1), "a", uint64(5)),
		tup(uint64(3), "a"), // absent nullable part sorts like nil: first, so last in desc
		tup(nil, "b"),
	}
	// rows are in order: by field 2 ascending, then field 1 with nil
	// first, then field 3 descending.
	order := rows
	for i := range order {
		for j := range order {
			if got := sign(kd.compare(tupleOf(t, order[i]), tupleOf(t, order[j]))); got != sign(i-j) {
				t.Errorf("compare(%s, %s) = %d, want %d", show(order[i]), show(order[j]), got, sign(i-j))
			}
		}
	}
	if c := kd.compareKey(tupleOf(t, rows[2]), tup(nil)); c != 1 {
		t.Errorf("partial key with nil: %d", c)
	}
}

func TestParseFieldType(t *testing.T) {
	cases := map[string]FieldType{
		"unsigned": TypeUnsigned, "UNSIGNED": TypeUnsigned, "num": TypeUnsigned, "NUM": TypeUnsigned,
		"str": TypeString, "STR": TypeString, "string": TypeString, "int": TypeInteger,
		"integer": TypeInteger, "number": TypeNumber, "NUMBER": TypeNumber, "*": TypeAny,
		"any": TypeAny, "scalar": TypeScalar, "array": TypeArray, "map": TypeMap, "double": TypeDouble,
		"varbinary": TypeVarbinary, "boolean": TypeBoolean, "decimal": TypeDecimal, "uuid": TypeUUID,
		"datetime": TypeDatetime, "interval": TypeInterval, "int8": TypeInt8, "uint64": TypeUint64,
	}
	for name, want := range cases {
		got, ok := ParseFieldType(name)
		if !ok || got != want {
			t.Errorf("ParseFieldType(%q) = %s, %v; want %s", name, got, ok, want)
		}
	}
	for _, bad := range []string{"", "st", "nu", "strings", "bool"} {
		if _, ok := ParseFieldType(bad); ok {
			t.Errorf("ParseFieldType(%q) accepted", bad)
		}
	}
}

func TestTypeRules(t *testing.T) {
	var id UUID
	cases := []struct {
		typ   FieldType
		v     any
		rules TypeRules
		want  bool
	}{
		{TypeDouble, 1.5, Rules2, true},
		{TypeDouble, uint64(1), Rules2, false},
		{TypeDouble, uint64(1), Rules210, false},
		{TypeDouble, uint64(1), RulesLatest, true},
		{TypeDouble, float32(1), RulesLatest, true},
		{TypeScalar, id, Rules2, false},
		{TypeScalar, id, Rules210, true},
		{TypeScalar, tup(), RulesLatest, false},
		{TypeUnsigned, int64(-1), RulesLatest, false},
		{TypeInteger, int64(-1), RulesLatest, true},
		{TypeNumber, dec("1"), Rules2, true},
		{TypeInt8, int64(-128), RulesLatest, true},
		{TypeInt8, int64(-129), RulesLatest, false},
		{TypeUint8, uint64(256), RulesLatest, false},
		{TypeAny, Ext{Type: 9}, RulesLatest, true},
		{TypeAny, Ext{Type: -1}, RulesLatest, false},
		{TypeVarbinary, "s", RulesLatest, false},
	}
	for _, c := range cases {
		if got := typeAccepts(c.typ, c.v, c.rules); got != c.want {
			t.Errorf("typeAccepts(%s, %s, %d) = %v", c.typ, show(c.v), c.rules, got)
		}
	}
}
