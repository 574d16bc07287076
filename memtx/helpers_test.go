package memtx

import (
	"errors"
	"testing"

	"github.com/xlogtool/xlogtool/box"
)

// Helpers building schema rows the way Tarantool writes them.

func spaceRow(id uint64, name string, format ...Map) []any {
	f := make([]any, len(format))
	for i, m := range format {
		f[i] = m
	}
	return []any{id, uint64(1), name, "memtx", uint64(0), Map{}, f}
}

func field(name, typ string, nullable bool) Map {
	m := Map{{"name", name}, {"type", typ}}
	if nullable {
		m = append(m, MapEntry{"is_nullable", true})
	}
	return m
}

func part(fieldNo uint64, typ string, extra ...MapEntry) Map {
	return append(Map{{"field", fieldNo}, {"type", typ}}, extra...)
}

func indexRow(space, iid uint64, name string, unique bool, parts ...Map) []any {
	p := make([]any, len(parts))
	for i, m := range parts {
		p[i] = m
	}
	return []any{space, iid, name, "tree", Map{{"unique", unique}}, p}
}

func insert(space uint32, tuple ...any) Request {
	return Request{Type: box.TypeInsert, SpaceID: space, Tuple: tuple}
}

func replace(space uint32, tuple ...any) Request {
	return Request{Type: box.TypeReplace, SpaceID: space, Tuple: tuple}
}

func del(space uint32, key ...any) Request {
	return Request{Type: box.TypeDelete, SpaceID: space, Key: key}
}

func update(space uint32, key []any, ops ...any) Request {
	return Request{Type: box.TypeUpdate, SpaceID: space, IndexBase: 1, Key: key, Ops: ops}
}

func upsert(space uint32, tuple []any, ops ...any) Request {
	return Request{Type: box.TypeUpsert, SpaceID: space, IndexBase: 1, Tuple: tuple, Ops: ops}
}

func op(args ...any) []any { return args }

func mustApply(t *testing.T, st *State, reqs ...Request) {
	t.Helper()
	for _, r := range reqs {
		if err := st.Apply(r); err != nil {
			t.Fatalf("%s: %v", describe(r), err)
		}
	}
}

// codeOf returns the error code of an Apply result, 0 for success.
func codeOf(err error) box.ErrorCode {
	if err == nil {
		return 0
	}
	var ae *ApplyError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ^box.ErrorCode(0)
}

// newTestState returns a state with space 600 't' (format id unsigned,
// f2..f5 any nullable, primary key on field 1) and space 601 's' (string
// primary key, unique secondary index on field 2 unsigned nullable).
func newTestState(t *testing.T) *State {
	t.Helper()
	st := NewState()
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(600, "t", field("id", "unsigned", false), field("f2", "any", true),
			field("f3", "any", true), field("f4", "any", true), field("f5", "any", true))...),
		insert(box.SpaceIndex, indexRow(600, 0, "pk", true, part(0, "unsigned"))...),
		insert(box.SpaceSpace, spaceRow(601, "s")...),
		insert(box.SpaceIndex, indexRow(601, 0, "pk", true, part(0, "string"))...),
		insert(box.SpaceIndex, indexRow(601, 1, "sk", true, part(1, "unsigned", MapEntry{"is_nullable", true}))...),
	)
	return st
}

func tup(v ...any) []any { return v }

// dec parses a decimal constant of a test.
func dec(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// tupleOf encodes canonical values as a stored tuple.
func tupleOf(t *testing.T, v []any) Tuple {
	t.Helper()
	tu, err := newTuple(v)
	if err != nil {
		t.Fatal(err)
	}
	return tu
}
