package memtx

import (
	"math"
	"testing"

	"github.com/xlogtool/xlogtool/box"
)

type updateCase struct {
	name  string
	tuple []any // stored in space 't' (field 1 unsigned, the rest any)
	base  int   // index base; -1 means 0 (the default is 1)
	ops   []any
	want  []any         // expected tuple when code is 0
	code  box.ErrorCode // expected error
}

func runUpdateCases(t *testing.T, cases []updateCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := newTestState(t)
			mustApply(t, st, insert(600, c.tuple...))
			req := update(600, []any{c.tuple[0]}, c.ops...)
			if c.base == -1 {
				req.IndexBase = 0
			}
			err := st.Apply(req)
			if got := codeOf(err); got != c.code {
				t.Fatalf("error %v (code %s), want %s", err, got, c.code)
			}
			got := st.Get(600, []any{c.tuple[0]})
			want := c.want
			if c.code != 0 {
				want = c.tuple // rejected: unchanged
			}
			w, err := Normalize(want)
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(got, w) {
				t.Fatalf("tuple %s, want %s", show(got), show(w))
			}
		})
	}
}

func TestUpdateAssignInsertDelete(t *testing.T) {
	runUpdateCases(t, []updateCase{
		{name: "assign", tuple: tup(1, "a", "b"), ops: tup(op("=", 2, "x")), want: tup(1, "x", "b")},
		{name: "assign base 0", tuple: tup(1, "a", "b"), base: -1, ops: tup(op("=", 1, "x")), want: tup(1, "x", "b")},
		{name: "assign field 0 base 1", tuple: tup(1, "a"), ops: tup(op("=", 0, "x")), code: box.ErrNoSuchFieldNo},
		{name: "assign appends at count+1", tuple: tup(1, "a", "b"), ops: tup(op("=", 4, "c")), want: tup(1, "a", "b", "c")},
		{name: "assign beyond count+1", tuple: tup(1, "a", "b"), ops: tup(op("=", 5, "c")), code: box.ErrNoSuchFieldNo},
		{name: "assign last by -1", tuple: tup(1, "a", "b"), ops: tup(op("=", -1, "z")), want: tup(1, "a", "z")},
		{name: "assign first by -count", tuple: tup(1, "a", "b"), ops: tup(op("=", -3, 1)), want: tup(1, "a", "b")},
		{name: "assign before first", tuple: tup(1, "a", "b"), ops: tup(op("=", -4, "z")), code: box.ErrNoSuchFieldNo},
		{name: "assign twice", tuple: tup(1, "a"), ops: tup(op("=", 2, "x"), op("=", 2, "y")), want: tup(1, "y")},
		{name: "assign any value", tuple: tup(1, "a"), ops: tup(op("=", 2, tup(1, Map{{"k", nil}}))), want: tup(1, tup(1, Map{{"k", nil}}))},
		{name: "insert", tuple: tup(1, "a", "b"), ops: tup(op("!", 2, "x")), want: tup(1, "x", "a", "b")},
		{name: "insert at count+1", tuple: tup(1, "a", "b"), ops: tup(op("!", 4, "x")), want: tup(1, "a", "b", "x")},
		{name: "insert at count+2", tuple: tup(1, "a", "b"), ops: tup(op("!", 5, "x")), code: box.ErrNoSuchFieldNo},
		{name: "insert -1 appends", tuple: tup(1, "a", "b"), ops: tup(op("!", -1, "x")), want: tup(1, "a", "b", "x")},
		{name: "insert -2", tuple: tup(1, "a", "b"), ops: tup(op("!", -2, "x")), want: tup(1, "a", "x", "b")},
		{name: "insert before first", tuple: tup(1, "a"), ops: tup(op("!", -4, "x")), code: box.ErrNoSuchFieldNo},
		{name: "insert then update shifted", tuple: tup(1, 5, 6), ops: tup(op("!", 2, 0), op("+", 3, 1)), want: tup(1, 0, 6, 6)},
		{name: "delete", tuple: tup(1, "a", "b", "c"), ops: tup(op("#", 2, 1)), want: tup(1, "b", "c")},
		{name: "delete two", tuple: tup(1, "a", "b", "c"), ops: tup(op("#", 2, 2)), want: tup(1, "c")},
		{name: "delete beyond end", tuple: tup(1, "a", "b", "c"), ops: tup(op("#", 3, 100)), want: tup(1, "a")},
		{name: "delete last by -1", tuple: tup(1, "a", "b"), ops: tup(op("#", -1, 1)), want: tup(1, "a")},
		{name: "delete -1 count 5", tuple: tup(1, "a", "b"), ops: tup(op("#", -1, 5)), want: tup(1, "a")},
		{name: "delete zero fields", tuple: tup(1, "a"), ops: tup(op("#", 2, 0)), code: box.ErrUpdateField},
		{name: "delete negative count", tuple: tup(1, "a"), ops: tup(op("#", 2, -1)), code: box.ErrUpdateArgType},
		{name: "delete missing field", tuple: tup(1, "a"), ops: tup(op("#", 3, 1)), code: box.ErrNoSuchFieldNo},
		{name: "delete the key", tuple: tup(1, "a"), ops: tup(op("#", 1, 1)), code: box.ErrFieldType},
		{name: "delete everything", tuple: tup(1, "a"), ops: tup(op("#", 1, 2)), code: box.ErrFieldMissing},
		{name: "change primary key", tuple: tup(1, "a"), ops: tup(op("=", 1, 2)), code: box.ErrCantUpdatePrimaryKey},
		{name: "primary key type", tuple: tup(1, "a"), ops: tup(op("=", 1, "x")), code: box.ErrFieldType},
		{name: "same primary key", tuple: tup(1, "a"), ops: tup(op("=", 1, 1), op("=", 2, "b")), want: tup(1, "b")},
		{name: "no operations", tuple: tup(1, "a"), ops: tup(), want: tup(1, "a")},
	})
}

func TestUpdateArithmetic(t *testing.T) {
	maxU := uint64(math.MaxUint64)
	runUpdateCases(t, []updateCase{
		{name: "add", tuple: tup(1, 5), ops: tup(op("+", 2, 3)), want: tup(1, 8)},
		{name: "subtract to negative", tuple: tup(1, 5), ops: tup(op("-", 2, 7)), want: tup(1, -2)},
		{name: "negative plus negative", tuple: tup(1, -5), ops: tup(op("+", 2, -7)), want: tup(1, -12)},
		{name: "up to max unsigned", tuple: tup(1, maxU-1), ops: tup(op("+", 2, 1)), want: tup(1, maxU)},
		{name: "unsigned overflow", tuple: tup(1, maxU), ops: tup(op("+", 2, 1)), code: box.ErrUpdateIntegerOverflow},
		{name: "min int64", tuple: tup(1, int64(math.MinInt64+1)), ops: tup(op("-", 2, 1)), want: tup(1, int64(math.MinInt64))},
		{name: "negative overflow", tuple: tup(1, int64(math.MinInt64)), ops: tup(op("-", 2, 1)), code: box.ErrUpdateIntegerOverflow},
		{name: "large minus large", tuple: tup(1, maxU), ops: tup(op("-", 2, maxU)), want: tup(1, 0)},
		{name: "int minus max unsigned", tuple: tup(1, 0), ops: tup(op("-", 2, maxU)), code: box.ErrUpdateIntegerOverflow},
		{name: "int plus double gives float", tuple: tup(1, 1), ops: tup(op("+", 2, 1.5)), want: tup(1, float32(2.5))},
		{name: "inexact result stays double", tuple: tup(1, 1), ops: tup(op("+", 2, 0.1)), want: tup(1, 1.1)},
		{name: "float plus int", tuple: tup(1, float32(0.5)), ops: tup(op("+", 2, 1)), want: tup(1, float32(1.5))},
		{name: "huge double", tuple: tup(1, 1e300), ops: tup(op("+", 2, 1)), want: tup(1, 1e300)},
		{name: "decimal plus int", tuple: tup(1, dec("1.5")), ops: tup(op("+", 2, 2)), want: tup(1, dec("3.5"))},
		{name: "int minus decimal", tuple: tup(1, 1), ops: tup(op("-", 2, dec("0.25"))), want: tup(1, dec("0.75"))},
		{name: "decimal plus double", tuple: tup(1, dec("1")), ops: tup(op("+", 2, 0.1)), want: tup(1, dec("1.1"))},
		{name: "decimal plus nan", tuple: tup(1, dec("1")), ops: tup(op("+", 2, math.NaN())), code: box.ErrUpdateArgType},
		{name: "decimal overflow", tuple: tup(1, dec("99999999999999999999999999999999999999")), ops: tup(op("+", 2, 1)), code: box.ErrUpdateDecimalOverflow},
		{name: "add to string", tuple: tup(1, "x"), ops: tup(op("+", 2, 1)), code: box.ErrUpdateArgType},
		{name: "add a string", tuple: tup(1, 1), ops: tup(op("+", 2, "x")), code: box.ErrUpdateArgType},
		{name: "add to missing field", tuple: tup(1), ops: tup(op("+", 2, 1)), code: box.ErrNoSuchFieldNo},
		{name: "add twice", tuple: tup(1, 1), ops: tup(op("+", 2, 1), op("+", 2, 1)), code: box.ErrUpdateField},
		{name: "assign then add", tuple: tup(1, 1), ops: tup(op("=", 2, 5), op("+", 2, 1)), code: box.ErrUpdateField},
		{name: "add then assign", tuple: tup(1, 1), ops: tup(op("+", 2, 5), op("=", 2, 7)), want: tup(1, 7)},
		{name: "add to inserted field", tuple: tup(1, 1), ops: tup(op("!", 2, 10), op("+", 2, 1)), want: tup(1, 11, 1)},
		{name: "and", tuple: tup(1, 12), ops: tup(op("&", 2, 10)), want: tup(1, 8)},
		{name: "or", tuple: tup(1, 12), ops: tup(op("|", 2, 3)), want: tup(1, 15)},
		{name: "xor", tuple: tup(1, 12), ops: tup(op("^", 2, 4)), want: tup(1, 8)},
		{name: "bitwise on negative", tuple: tup(1, -1), ops: tup(op("&", 2, 1)), code: box.ErrUpdateArgType},
		{name: "bitwise with negative", tuple: tup(1, 1), ops: tup(op("|", 2, -1)), code: box.ErrUpdateArgType},
		{name: "bitwise on double", tuple: tup(1, 1.0), ops: tup(op("^", 2, 1)), code: box.ErrUpdateArgType},
	})
}

func TestUpdateDoubleField(t *testing.T) {
	st := NewState()
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(700, "d", field("id", "unsigned", false), field("d", "double", false))...),
		insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "unsigned"))...),
		insert(700, 1, 1.0),
		update(700, tup(1), op("+", 2, 1.5)),
	)
	got := st.Get(700, tup(1))
	if v, ok := got[1].(float64); !ok || v != 2.5 {
		t.Fatalf("double field after '+': %#v, want float64(2.5)", got[1])
	}

	// The type of the field where the result lands after all
	// insertions and deletions decides, as in Tarantool (2.6 rules: a
	// float in a double field would be rejected).
	st = NewStateWithOptions(Options{TypeRules: Rules2})
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(700, "d", field("id", "unsigned", false), field("d", "double", false))...),
		insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "unsigned"))...),
		insert(box.SpaceSpace, spaceRow(701, "k")...),
		insert(box.SpaceIndex, indexRow(701, 0, "pk", true, part(0, "double"))...),
		insert(700, 1, 1.0, 5.5),
		update(700, tup(1), op("+", 3, 1), op("#", 2, 1)),
		insert(701, -3.0, "x"),
	)
	if v, ok := st.Get(700, tup(1))[1].(float64); !ok || v != 6.5 {
		t.Fatalf("moved result: %#v", st.Get(700, tup(1)))
	}
	err := st.Apply(update(701, tup(-3.0), op("!", 1, tup(12)), op("-", -2, 2), op("#", 1, 1)))
	if codeOf(err) != box.ErrCantUpdatePrimaryKey {
		t.Fatalf("key changed through a moved result: %v", err)
	}
}

func TestUpdateSplice(t *testing.T) {
	runUpdateCases(t, []updateCase{
		{name: "middle", tuple: tup(1, "hello"), ops: tup(op(":", 2, 2, 1, "XY")), want: tup(1, "hXYllo")},
		{name: "base 0", tuple: tup(1, "hello"), base: -1, ops: tup(op(":", 1, 0, 1, "XY")), want: tup(1, "XYello")},
		{name: "position 0 with base 1", tuple: tup(1, "hello"), ops: tup(op(":", 2, 0, 1, "XY")), code: box.ErrUpdateSplice},
		{name: "append with -1", tuple: tup(1, "hello"), ops: tup(op(":", 2, -1, 0, "XY")), want: tup(1, "helloXY")},
		{name: "negative position", tuple: tup(1, "hello"), ops: tup(op(":", 2, -2, 1, "XY")), want: tup(1, "hellXY")},
		{name: "position -len-1", tuple: tup(1, "hello"), ops: tup(op(":", 2, -6, 2, "XY")), want: tup(1, "XYllo")},
		{name: "position before start", tuple: tup(1, "hello"), ops: tup(op(":", 2, -7, 1, "XY")), code: box.ErrUpdateSplice},
		{name: "position past end", tuple: tup(1, "hello"), ops: tup(op(":", 2, 100, 3, "!")), want: tup(1, "hello!")},
		{name: "negative length", tuple: tup(1, "hello"), ops: tup(op(":", 2, 2, -2, "")), want: tup(1, "hlo")},
		{name: "negative length too long", tuple: tup(1, "hello"), ops: tup(op(":", 2, 2, -100, "X")), want: tup(1, "hXello")},
		{name: "length past end", tuple: tup(1, "hello"), ops: tup(op(":", 2, 3, 100, "")), want: tup(1, "he")},
		{name: "bytes not runes", tuple: tup(1, "é"), ops: tup(op(":", 2, 2, 1, "")), want: tup(1, "\xc3")},
		{name: "not a string", tuple: tup(1, 5), ops: tup(op(":", 2, 1, 1, "")), code: box.ErrUpdateArgType},
		{name: "paste not a string", tuple: tup(1, "a"), ops: tup(op(":", 2, 1, 1, 5)), code: box.ErrUpdateArgType},
		{name: "length not an integer", tuple: tup(1, "a"), ops: tup(op(":", 2, 1, "x", "")), code: box.ErrUpdateArgType},
		{name: "wrong argument count", tuple: tup(1, "a"), ops: tup(op(":", 2, 1, 1)), code: box.ErrUnknownUpdateOp},
	})
}

func TestUpdatePaths(t *testing.T) {
	doc := func() Map { return Map{{"a", Map{{"b", 1}}}, {"l", tup(1, 2, 3)}} }
	runUpdateCases(t, []updateCase{
		{name: "by name", tuple: tup(1, "a"), ops: tup(op("=", "f2", "x")), want: tup(1, "x")},
		{name: "unknown name", tuple: tup(1, "a"), ops: tup(op("=", "nope", "x")), code: box.ErrNoSuchFieldName},
		{name: "json index ignores base", tuple: tup(1, "a", "b"), base: -1, ops: tup(op("=", "[2]", "x")), want: tup(1, "x", "b")},
		{name: "json index 0", tuple: tup(1, "a"), ops: tup(op("=", "[0]", "x")), code: box.ErrUpdateField},
		{name: "nested map", tuple: tup(1, doc()), ops: tup(op("=", "[2].a.b", 5)),
			want: tup(1, Map{{"a", Map{{"b", 5}}}, {"l", tup(1, 2, 3)}})},
		{name: "nested by name", tuple: tup(1, doc()), ops: tup(op("+", "f2.a.b", 5)),
			want: tup(1, Map{{"a", Map{{"b", 6}}}, {"l", tup(1, 2, 3)}})},
		{name: "quoted key", tuple: tup(1, doc()), ops: tup(op("=", `[2]["a"]`, 0)),
			want: tup(1, Map{{"a", 0}, {"l", tup(1, 2, 3)}})},
		{name: "new key", tuple: tup(1, doc()), ops: tup(op("=", "[2].a.c", 2)),
			want: tup(1, Map{{"a", Map{{"b", 1}, {"c", 2}}}, {"l", tup(1, 2, 3)}})},
		{name: "insert existing key", tuple: tup(1, doc()), ops: tup(op("!", "[2].a.b", 2)), code: box.ErrUpdateField},
		{name: "delete key", tuple: tup(1, doc()), ops: tup(op("#", "[2].a", 1)), want: tup(1, Map{{"l", tup(1, 2, 3)}})},
		{name: "delete two keys", tuple: tup(1, doc()), ops: tup(op("#", "[2].a", 2)), code: box.ErrUpdateField},
		{name: "delete missing key", tuple: tup(1, doc()), ops: tup(op("#", "[2].zz", 1)), code: box.ErrNoSuchFieldName},
		{name: "missing intermediate", tuple: tup(1, doc()), ops: tup(op("=", "[2].x.y", 1)), code: box.ErrNoSuchFieldName},
		{name: "array element", tuple: tup(1, doc()), ops: tup(op("+", "[2].l[2]", 10)),
			want: tup(1, Map{{"a", Map{{"b", 1}}}, {"l", tup(1, 12, 3)}})},
		{name: "array insert", tuple: tup(1, doc()), ops: tup(op("!", "[2].l[1]", 0)),
			want: tup(1, Map{{"a", Map{{"b", 1}}}, {"l", tup(0, 1, 2, 3)}})},
		{name: "array append", tuple: tup(1, doc()), ops: tup(op("=", "[2].l[4]", 4)),
			want: tup(1, Map{{"a", Map{{"b", 1}}}, {"l", tup(1, 2, 3, 4)}})},
		{name: "array past end", tuple: tup(1, doc()), ops: tup(op("=", "[2].l[5]", 5)), code: box.ErrNoSuchFieldName},
		{name: "array delete past end", tuple: tup(1, doc()), ops: tup(op("#", "[2].l[2]", 10)),
			want: tup(1, Map{{"a", Map{{"b", 1}}}, {"l", tup(1)}})},
		{name: "index into scalar", tuple: tup(1, 5), ops: tup(op("=", "[2][1]", 1)), code: box.ErrUpdateField},
		{name: "key into array", tuple: tup(1, tup(1)), ops: tup(op("=", "[2].k", 1)), code: box.ErrUpdateField},
		{name: "any token", tuple: tup(1, doc()), ops: tup(op("=", "[2].l[*]", 1)), code: box.ErrUpdateField},
		{name: "bad json", tuple: tup(1, doc()), ops: tup(op("=", "[2]x", 1)), code: box.ErrUpdateField},
		{name: "bad json on missing field", tuple: tup(1), ops: tup(op("=", "[3]x", 1)), code: box.ErrNoSuchFieldName},
		{name: "same path twice", tuple: tup(1, doc()), ops: tup(op("=", "[2].a.b", 1), op("=", "[2].a.b", 2)), code: box.ErrUpdateField},
		{name: "path below another", tuple: tup(1, doc()), ops: tup(op("=", "[2].a", Map{}), op("=", "[2].a.b", 2)), code: box.ErrUpdateField},
		{name: "path above another", tuple: tup(1, doc()), ops: tup(op("=", "[2].a.b", 3), op("=", "[2].a", 2)), code: box.ErrUpdateField},
		{name: "path below assigned field", tuple: tup(1, doc()), ops: tup(op("=", 2, doc()), op("=", "[2].a.b", 2)), code: box.ErrUpdateField},
		{name: "siblings", tuple: tup(1, doc()), ops: tup(op("=", "[2].a.b", 3), op("=", "[2].l[1]", 9)),
			want: tup(1, Map{{"a", Map{{"b", 3}}}, {"l", tup(9, 2, 3)}})},
		{name: "sibling then same key again", tuple: tup(1, Map{{"a", 1}, {"b", 2}}),
			ops:  tup(op("=", "[2].a", 3), op("=", "[2].b", 4), op("=", "[2].a", 5)),
			want: tup(1, Map{{"a", 5}, {"b", 4}})},
		{name: "sibling then arith on same key", tuple: tup(1, Map{{"a", 1}, {"b", 2}}),
			ops: tup(op("=", "[2].a", 3), op("=", "[2].b", 4), op("+", "[2].a", 5)), code: box.ErrUpdateField},
		{name: "path then assign field", tuple: tup(1, doc()), ops: tup(op("=", "[2].a.b", 3), op("=", 2, 7)), want: tup(1, 7)},
		{name: "path then add to field", tuple: tup(1, 1, doc()), ops: tup(op("=", "[3].a.b", 3), op("+", 3, 7)), code: box.ErrUpdateField},
		{name: "array elements shift", tuple: tup(1, tup(1, tup(5), 3)),
			ops:  tup(op("=", "[2][2][1]", 6), op("!", "[2][1]", 0), op("=", "[2][4]", 4)),
			want: tup(1, tup(0, 1, tup(6), 4))},
	})
}

func TestUpdateMalformedOperations(t *testing.T) {
	many := make([]any, maxUpdateOps+1)
	for i := range many {
		many[i] = op("=", 2, 1)
	}
	runUpdateCases(t, []updateCase{
		{name: "operation not an array", tuple: tup(1, 1), ops: tup("=", 2, 1), code: box.ErrIllegalParams},
		{name: "empty operation", tuple: tup(1, 1), ops: tup(tup()), code: box.ErrIllegalParams},
		{name: "name not a string", tuple: tup(1, 1), ops: tup(op(1, 2, 3)), code: box.ErrIllegalParams},
		{name: "unknown operation", tuple: tup(1, 1), ops: tup(op("?", 2, 3)), code: box.ErrUnknownUpdateOp},
		{name: "long name", tuple: tup(1, 1), ops: tup(op("==", 2, 3)), code: box.ErrUnknownUpdateOp},
		{name: "missing argument", tuple: tup(1, 1), ops: tup(op("=", 2)), code: box.ErrUnknownUpdateOp},
		{name: "extra argument", tuple: tup(1, 1), ops: tup(op("=", 2, 1, 1)), code: box.ErrUnknownUpdateOp},
		{name: "field is a double", tuple: tup(1, 1), ops: tup(op("=", 2.0, 1)), code: box.ErrIllegalParams},
		{name: "field out of int32", tuple: tup(1, 1), ops: tup(op("=", uint64(1)<<40, 1)), code: box.ErrUpdateArgType},
		{name: "too many operations", tuple: tup(1, 1), ops: many, code: box.ErrIllegalParams},
		{name: "decoded before applied", tuple: tup(1, 1), ops: tup(op("=", 2, 5), op("?", 2, 1)), code: box.ErrUnknownUpdateOp},
		{name: "first failure wins", tuple: tup(1, 1), ops: tup(op("=", 5, 5), op("+", 2, "x")), code: box.ErrUpdateArgType},
	})
}

func TestColumnMask(t *testing.T) {
	decode := func(ops ...any) []updateOp {
		n, nerr := Normalize(ops)
		if nerr != nil {
			t.Fatal(nerr)
		}
		d, err := decodeOps(n, 1, func(string) (int, bool) { return 0, false })
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		ops   []updateOp
		count int
		want  uint64
	}{
		{decode(op("=", 2, 1)), 3, 1 << 1},
		{decode(op("=", -1, 1)), 3, 1 << 2},
		{decode(op("!", 2, 1)), 3, math.MaxUint64 - 1},
		{decode(op("=", 100, 1)), 3, 1 << 63},
		{decode(op("=", -5, 1)), 3, ^uint64(0)},
		// A negative number resolved against a count that does not
		// follow arithmetic: field 3 (-2 of 4) after '!' grew it.
		{decode(op("!", 5, "x"), op(":", -2, 1, 1, "")), 4, math.MaxUint64 &^ 0b0111},
	}
	for i, c := range cases {
		if got := columnMask(c.ops, c.count); got != c.want {
			t.Errorf("case %d: mask %064b, want %064b", i, got, c.want)
		}
	}
}
