package memtx

import (
	"testing"

	"github.com/xlogtool/xlogtool/box"
)

func keys(sp *Space) []any {
	var out []any
	sp.Ascend(func(t []any) bool {
		out = append(out, t[0])
		return true
	})
	return out
}

func TestDML(t *testing.T) {
	st := newTestState(t)
	mustApply(t, st, insert(600, 2, "b"), insert(600, 1, "a"), replace(600, 3, "c"))
	if err := st.Apply(insert(600, 1, "dup")); codeOf(err) != box.ErrTupleFound {
		t.Fatalf("duplicate insert: %v", err)
	}
	mustApply(t, st,
		replace(600, 1, "A"),
		del(600, 2),
		del(600, 42),                        // missing key: no-op
		update(600, tup(42), op("=", 2, 1)), // missing key: no-op, ops not even checked
		update(600, tup(43), op("?", 2, 1)),
		Request{Type: box.TypeNop},
	)
	sp := st.Space(600)
	if sp.Len() != 2 {
		t.Fatalf("len %d", sp.Len())
	}
	if got := st.Get(600, tup(1)); !Equal(got, tup(uint64(1), "A")) {
		t.Fatalf("get 1: %s", show(got))
	}
	if st.Get(600, tup(2)) != nil || st.Get(600, tup("x")) != nil || st.Get(999, tup(1)) != nil {
		t.Fatal("get of absent keys")
	}
	for _, c := range []struct {
		req  Request
		code box.ErrorCode
	}{
		{insert(999, 1), box.ErrNoSuchSpace},
		{Request{Type: 77, SpaceID: 600}, box.ErrUnknownRequestType},
		{Request{Type: box.TypeInsert, SpaceID: 600}, box.ErrMissingRequestField},
		{Request{Type: box.TypeDelete, SpaceID: 600}, box.ErrMissingRequestField},
		{del(600, "x"), box.ErrKeyPartType},
		{del(600, 1, 2), box.ErrExactMatch},
		{Request{Type: box.TypeDelete, SpaceID: 600, Key: []any{}}, box.ErrExactMatch},
		{Request{Type: box.TypeDelete, SpaceID: 600, IndexID: 5, Key: tup(1)}, box.ErrNoSuchIndexID},
		{insert(600, "x"), box.ErrFieldType},
		{Request{Type: box.TypeInsert, SpaceID: 600, Tuple: []any{}}, box.ErrFieldMissing},
		{insert(600, 5, struct{}{}), box.ErrInvalidMsgpack},
	} {
		if got := codeOf(st.Apply(c.req)); got != c.code {
			t.Errorf("%s: code %s, want %s", describe(c.req), got, c.code)
		}
	}
	if !Equal(keys(sp), tup(uint64(1), uint64(3))) {
		t.Fatalf("keys %s", show(keys(sp)))
	}
}

func TestApplyErrorContext(t *testing.T) {
	st := newTestState(t)
	err := st.Apply(insert(600, "x"))
	ae, ok := err.(*ApplyError)
	if !ok || ae.Type != box.TypeInsert || ae.SpaceID != 600 || ae.Code != box.ErrFieldType {
		t.Fatalf("error %#v", err)
	}
	if ae.Error() == "" || ae.Code.String() != "ER_FIELD_TYPE" {
		t.Fatal(ae.Error())
	}
}

func TestUniqueSecondaryIndex(t *testing.T) {
	st := newTestState(t)
	mustApply(t, st,
		insert(601, "a", 1),
		insert(601, "b", nil), // nil never conflicts
		insert(601, "c", nil),
		insert(601, "d"),
	)
	for _, c := range []struct {
		req  Request
		code box.ErrorCode
	}{
		{insert(601, "e", 1), box.ErrTupleFound},
		{replace(601, "e", 1), box.ErrTupleFound},
		{replace(601, "a", 1), 0}, // replaces itself
		{update(601, tup("b"), op("=", 2, 1)), box.ErrTupleFound},
		{upsert(601, tup("f", 1)), box.ErrTupleFound},
		{upsert(601, tup("b", 5), op("=", 2, 1)), box.ErrTupleFound},
		{Request{Type: box.TypeUpdate, SpaceID: 601, IndexID: 1, IndexBase: 1, Key: tup(1), Ops: tup(op("=", 3, "x"))}, 0},
		{Request{Type: box.TypeDelete, SpaceID: 601, IndexID: 1, Key: tup(7)}, 0},
		{Request{Type: box.TypeDelete, SpaceID: 601, IndexID: 1, Key: tup("x")}, box.ErrKeyPartType},
	} {
		if got := codeOf(st.Apply(c.req)); got != c.code {
			t.Errorf("%s: code %s, want %s", describe(c.req), got, c.code)
		}
	}
	if got := st.Get(601, tup("a")); !Equal(got, tup("a", uint64(1), "x")) {
		t.Fatalf("update by secondary key: %s", show(got))
	}
	mustApply(t, st, Request{Type: box.TypeDelete, SpaceID: 601, IndexID: 1, Key: tup(1)})
	if st.Get(601, tup("a")) != nil {
		t.Fatal("delete by secondary key")
	}
	// The key is free again.
	mustApply(t, st, insert(601, "g", 1))
}

func TestUpsert(t *testing.T) {
	st := newTestState(t)
	mustApply(t, st,
		upsert(600, tup(1, 10), op("+", 2, 1)), // inserts
		upsert(600, tup(1, 10), op("+", 2, 1)), // updates
		// Failing operations are skipped, the others applied.
		upsert(600, tup(1, 0), op("+", 3, 1), op("=", 3, "x"), op("+", 2, 100)),
		// A changed primary key drops the result.
		upsert(600, tup(1, 0), op("=", 1, 5)),
	)
	if got := st.Get(600, tup(1)); !Equal(got, tup(uint64(1), uint64(111), "x")) {
		t.Fatalf("after upserts: %s", show(got))
	}
	if st.Get(600, tup(5)) != nil {
		t.Fatal("upsert moved the tuple")
	}
	for _, c := range []struct {
		req  Request
		code box.ErrorCode
	}{
		{upsert(600, tup("x")), box.ErrFieldType},                    // the tuple is validated first
		{upsert(600, tup(1), op("?", 2, 1)), box.ErrUnknownUpdateOp}, // decoding errors are not skipped
		{upsert(600, tup(9), op("+", 2, "x")), box.ErrUpdateArgType}, // also when inserting
		{upsert(600, tup(1), op("=", 1, "s")), box.ErrFieldType},     // the result is validated
	} {
		if got := codeOf(st.Apply(c.req)); got != c.code {
			t.Errorf("%s: code %s, want %s", describe(c.req), got, c.code)
		}
	}
}

func TestUpsertStaleColumnMask(t *testing.T) {
	// '!' 5 fails on the 2-field tuple and is skipped, but Tarantool
	// counts it when it resolves -2 for the column mask: it sees field 2
	// changed, not the key (field 1), and lets the tuple move to "kXY".
	st := NewState()
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(610, "u")...),
		insert(box.SpaceIndex, indexRow(610, 0, "pk", true, part(0, "string"))...),
		insert(610, "k", 1),
		upsert(610, tup("k"), op("!", 5, "x"), op(":", -2, 2, 0, "XY")),
	)
	if st.Get(610, tup("k")) != nil || st.Get(610, tup("kXY")) == nil {
		t.Fatalf("tuples %s", show(keys(st.Space(610))))
	}
}

func TestSchemaChanges(t *testing.T) {
	st := NewState()
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(700, "t", field("id", "unsigned", false), field("name", "string", true))...),
		insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "unsigned"))...),
		insert(700, 3, "c"), insert(700, 1, "a"), insert(700, 2, "b"),
	)
	sp := st.Space(700)
	if sp.Name != "t" || !sp.Defined || len(sp.Format) != 2 || sp.Format[1].Type != TypeString {
		t.Fatalf("space %+v", sp)
	}
	// Format enforcement: field 2 must be a string.
	if code := codeOf(st.Apply(insert(700, 4, 5))); code != box.ErrFieldType {
		t.Fatalf("format not enforced: %s", code)
	}
	// Alter the format: rejected while a tuple violates it.
	mustApply(t, st, insert(700, 4))
	strict := spaceRow(700, "t", field("id", "unsigned", false), field("name", "string", false))
	if code := codeOf(st.Apply(replace(box.SpaceSpace, strict...))); code != box.ErrFieldMissing {
		t.Fatalf("alter with violating tuple: %s", code)
	}
	mustApply(t, st, del(700, 4), replace(box.SpaceSpace, strict...))
	if code := codeOf(st.Apply(insert(700, 5))); code != box.ErrFieldMissing {
		t.Fatalf("altered format not enforced: %s", code)
	}
	// Rename through an UPDATE of _space.
	mustApply(t, st, update(box.SpaceSpace, tup(700), op("=", 3, "renamed")))
	if sp.Name != "renamed" || st.SpaceByName("renamed") != sp {
		t.Fatalf("rename: %q", sp.Name)
	}
	// A unique secondary index over existing data; duplicates reject it.
	mustApply(t, st, replace(700, 3, "a"))
	if code := codeOf(st.Apply(insert(box.SpaceIndex, indexRow(700, 1, "name", true, part(1, "string"))...))); code != box.ErrTupleFound {
		t.Fatalf("unique index over duplicates: %s", code)
	}
	if sp.Index(1) != nil || st.Get(box.SpaceIndex, tup(700, 1)) != nil {
		t.Fatal("rejected index is present")
	}
	mustApply(t, st, insert(box.SpaceIndex, indexRow(700, 1, "name", false, part(1, "string"))...))
	if ix := sp.Index(1); ix == nil || ix.Unique || ix.Name != "name" {
		t.Fatalf("index %+v", ix)
	}
	// Alter the primary key: descending order of the name then id.
	mustApply(t, st, replace(box.SpaceIndex, indexRow(700, 0, "pk", true,
		part(1, "string", MapEntry{"sort_order", "desc"}), part(0, "unsigned"))...))
	if got := keys(sp); !Equal(got, tup(uint64(2), uint64(1), uint64(3))) {
		t.Fatalf("order after altering the primary key: %s", show(got))
	}
	if code := codeOf(st.Apply(del(box.SpaceIndex, 700, 0))); code != box.ErrDropPrimaryKey {
		t.Fatalf("drop primary key with secondary: %s", code)
	}
	if code := codeOf(st.Apply(del(box.SpaceSpace, 700))); code != box.ErrDropSpace {
		t.Fatalf("drop space with indexes: %s", code)
	}
	// Truncate: an INSERT into _truncate does not truncate.
	mustApply(t, st, insert(box.SpaceTruncate, 700, 1))
	if sp.Len() != 3 {
		t.Fatal("INSERT into _truncate truncated")
	}
	mustApply(t, st, upsert(box.SpaceTruncate, tup(700, 1), op("+", 2, 1)))
	if sp.Len() != 0 {
		t.Fatal("not truncated")
	}
	mustApply(t, st, insert(700, 1, "x"))
	if code := codeOf(st.Apply(replace(box.SpaceTruncate, uint64(box.SpaceSpace), 2))); code != box.ErrTruncateSystemSpace {
		t.Fatalf("truncate system space: %s", code)
	}
	if code := codeOf(st.Apply(replace(box.SpaceTruncate, 12345, 2))); code != box.ErrNoSuchSpace {
		t.Fatalf("truncate missing space: %s", code)
	}
	// Drop: secondary index, primary (data goes away), then the space.
	mustApply(t, st, del(box.SpaceIndex, 700, 1), del(box.SpaceIndex, 700, 0))
	if sp.Len() != 0 || len(sp.Indexes()) != 0 {
		t.Fatal("primary key drop kept data")
	}
	if code := codeOf(st.Apply(insert(700, 1, "x"))); code != box.ErrNoSuchIndexID {
		t.Fatalf("insert without primary key: %s", code)
	}
	mustApply(t, st, del(box.SpaceTruncate, 700), del(box.SpaceSpace, 700))
	if st.Space(700) != nil {
		t.Fatal("space not dropped")
	}
	if code := codeOf(st.Apply(insert(700, 1))); code != box.ErrNoSuchSpace {
		t.Fatalf("insert into dropped space: %s", code)
	}
}

func TestSchemaRowErrors(t *testing.T) {
	st := NewState()
	for _, c := range []struct {
		req  Request
		code box.ErrorCode
	}{
		{insert(box.SpaceSpace, 700, 1, "t", "memtx", 0, 5, tup()), box.ErrCreateSpace},
		{insert(box.SpaceSpace, spaceRow(700, "t", Map{{"name", "a"}, {"type", "nope"}})...), box.ErrCreateSpace},
		{insert(box.SpaceIndex, indexRow(999, 0, "pk", true, part(0, "unsigned"))...), box.ErrNoSuchSpace},
	} {
		if got := codeOf(st.Apply(c.req)); got != c.code {
			t.Errorf("%s: code %s, want %s", describe(c.req), got, c.code)
		}
	}
	mustApply(t, st, insert(box.SpaceSpace, spaceRow(700, "t")...))
	for _, c := range []struct {
		req  Request
		code box.ErrorCode
	}{
		{insert(box.SpaceIndex, 700, 0, "pk", "zzz", Map{}, tup(part(0, "unsigned"))), box.ErrIndexType},
		{insert(box.SpaceIndex, indexRow(700, 0, "pk", false, part(0, "unsigned"))...), box.ErrModifyIndex},
		{insert(box.SpaceIndex, indexRow(700, 0, "pk", true)...), box.ErrModifyIndex},
		{insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "what"))...), box.ErrWrongIndexOptions},
		{insert(box.SpaceIndex, indexRow(700, 1, "sk", true, part(0, "unsigned"))...), box.ErrAlterSpace},
		{insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "string", MapEntry{"path", "a..b"}))...), box.ErrWrongIndexOptions},
	} {
		if got := codeOf(st.Apply(c.req)); got != c.code {
			t.Errorf("%s: code %s, want %s", describe(c.req), got, c.code)
		}
	}
}

// TestLegacySchemaRows applies system rows in the formats of Tarantool
// 1.6: string flags, flat 1.6.5 index parts, old type names; formats are
// not enforced before schema version 1.7.6.
func TestLegacySchemaRows(t *testing.T) {
	st := NewState()
	mustApply(t, st,
		insert(box.SpaceSchema, "version", 1, 6, 8),
		insert(box.SpaceSpace, 512, 1, "old", "memtx", 0, "temporary"),
		insert(box.SpaceSpace, 513, 1, "older", "memtx", 0, "",
			tup(Map{{"name", "id"}, {"type", "NUM"}}, Map{{"name", "s"}, {"type", "str"}})),
		insert(box.SpaceIndex, 512, 0, "primary", "TREE", 1, 2, 0, "NUM", 1, "STR"),
		insert(box.SpaceIndex, 513, 0, "primary", "tree", Map{{"unique", true}}, tup(tup(0, "num"))),
		insert(512, 1, "a"), insert(512, 1, "b"),
		insert(513, 1, 99), // 's' is declared 'str' but formats are not enforced
	)
	if maj, min, patch := st.DictionaryVersion(); maj != 1 || min != 6 || patch != 8 {
		t.Fatalf("schema version %d.%d.%d", maj, min, patch)
	}
	old := st.Space(512)
	if !old.Temporary || old.Index(0).Type != "tree" || len(old.Index(0).Parts) != 2 || old.Index(0).Parts[1].Type != TypeString {
		t.Fatalf("1.6 definitions: %+v %+v", old, old.Index(0))
	}
	if old.Len() != 2 {
		t.Fatal("composite key")
	}
	if code := codeOf(st.Apply(insert(512, 2, 3))); code != box.ErrFieldType {
		t.Fatalf("index part type not checked: %s", code)
	}
	// Upgraded schema: formats are enforced.
	mustApply(t, st, replace(box.SpaceSchema, "version", 2, 6, 0))
	if code := codeOf(st.Apply(insert(513, 2, 99))); code != box.ErrFieldType {
		t.Fatalf("format not enforced after upgrade: %s", code)
	}
}

// TestBootstrapOrder applies system rows in snapshot order: _schema rows
// before any definition, _space rows before _index rows, a system space
// unknown to the engine whose rows precede its primary key.
func TestBootstrapOrder(t *testing.T) {
	st := NewState()
	mustApply(t, st,
		insert(box.SpaceSchema, "version", 2, 6, 0),
		insert(box.SpaceSchema, "cluster", "uuid"),
		insert(box.SpaceSpace, spaceRow(uint64(box.SpaceSchema), "_schema", field("key", "string", false))...),
		insert(box.SpaceSpace, spaceRow(uint64(box.SpaceSpace), "_space", field("id", "unsigned", false))...),
		insert(box.SpaceSpace, spaceRow(uint64(box.SpaceIndex), "_index", field("id", "unsigned", false), field("iid", "unsigned", false))...),
		insert(box.SpaceSpace, spaceRow(500, "_future", field("k", "string", false))...),
		insert(500, "row before its key"),
		insert(box.SpaceIndex, indexRow(uint64(box.SpaceSchema), 0, "primary", true, part(0, "string"))...),
		insert(box.SpaceIndex, indexRow(uint64(box.SpaceSpace), 0, "primary", true, part(0, "unsigned"))...),
		insert(box.SpaceIndex, indexRow(uint64(box.SpaceIndex), 0, "primary", true, part(0, "unsigned"), part(1, "unsigned"))...),
	)
	if st.PendingRows() != 1 {
		t.Fatalf("pending %d", st.PendingRows())
	}
	mustApply(t, st, insert(box.SpaceIndex, indexRow(500, 0, "primary", true, part(0, "string"))...))
	if st.PendingRows() != 0 || st.Get(500, tup("row before its key")) == nil || len(st.DeferredErrors()) != 0 {
		t.Fatalf("pending rows not applied: %d %v", st.PendingRows(), st.DeferredErrors())
	}
	if st.Space(box.SpaceIndex).Len() != 4 {
		t.Fatalf("_index rows: %d", st.Space(box.SpaceIndex).Len())
	}
	ids := []uint32{}
	for _, sp := range st.Spaces() {
		ids = append(ids, sp.ID)
		if !sp.Defined {
			t.Errorf("space %d not defined", sp.ID)
		}
	}
	if len(ids) != 4 || ids[0] != box.SpaceSchema || ids[3] != 500 {
		t.Fatalf("spaces %v", ids)
	}
	if st.Get(box.SpaceSchema, tup("cluster")) == nil {
		t.Fatal("_schema row lost")
	}
}

func TestEnginesWithoutData(t *testing.T) {
	st := NewState()
	row := spaceRow(257, "_vinyl_deferred_delete")
	row[3] = "blackhole"
	mustApply(t, st, insert(box.SpaceSpace, row...), insert(257, 1, 2, tup()), del(257, 1))
	if st.Space(257).Len() != 0 {
		t.Fatal("blackhole stored data")
	}
}

func TestCollationsFromCollationSpace(t *testing.T) {
	st := NewState()
	mustApply(t, st,
		insert(box.SpaceCollation, 0, "none", 1, "BINARY", "", Map{}),
		insert(box.SpaceCollation, 2, "unicode_ci", 1, "ICU", "", Map{{"strength", "primary"}}),
		insert(box.SpaceCollation, 7, "bin2", 1, "BINARY", "", Map{}),
		insert(box.SpaceSpace, spaceRow(700, "ci")...),
		insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "string", MapEntry{"collation", uint64(2)}))...),
		insert(box.SpaceSpace, spaceRow(701, "bin")...),
		insert(box.SpaceIndex, indexRow(701, 0, "pk", true, part(0, "string", MapEntry{"collation", uint64(7)}))...),
		insert(700, "abc"), insert(701, "abc"), insert(701, "ABC"),
	)
	if code := codeOf(st.Apply(insert(700, "ABC"))); code != box.ErrTupleFound {
		t.Fatalf("unicode_ci duplicate: %s", code)
	}
	if got := keys(st.Space(701)); !Equal(got, tup("ABC", "abc")) {
		t.Fatalf("binary order %s", show(got))
	}
}

func TestJSONPathIndex(t *testing.T) {
	st := NewState()
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(700, "p")...),
		insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "unsigned"))...),
		insert(box.SpaceIndex, indexRow(700, 1, "name", true, part(1, "string", MapEntry{"path", "name"}))...),
		insert(700, 1, Map{{"name", "a"}}),
	)
	for _, c := range []struct {
		req  Request
		code box.ErrorCode
	}{
		{insert(700, 2, Map{{"name", "a"}}), box.ErrTupleFound},
		{insert(700, 2, Map{{"other", "a"}}), box.ErrFieldMissing},
		{insert(700, 2, "flat"), box.ErrFieldType},
		{insert(700, 2, nil), box.ErrFieldType},
		{insert(700, 2, Map{{"name", 5}}), box.ErrFieldType},
		{insert(700, 2, Map{{"name", "b"}}), 0},
		{Request{Type: box.TypeDelete, SpaceID: 700, IndexID: 1, Key: tup("a")}, 0},
	} {
		if got := codeOf(st.Apply(c.req)); got != c.code {
			t.Errorf("%s: code %s, want %s", describe(c.req), got, c.code)
		}
	}
	if st.Get(700, tup(1)) != nil || st.Get(700, tup(2)) == nil {
		t.Fatal("delete by path index")
	}
}

// ExecuteKeep without the old tuple changes the state as Execute does
// and reports only what was stored.
func TestExecuteKeepOld(t *testing.T) {
	st := newTestState(t)
	mustApply(t, st, insert(600, 1, "a"))
	ch, err := st.ExecuteKeep(replace(600, 1, "b"), false)
	if err != nil || ch.Old != nil || !Equal(ch.New.Decode(), tup(uint64(1), "b")) {
		t.Fatalf("replace: %v %s %v", ch.Old, show(ch.New.Decode()), err)
	}
	ch, err = st.ExecuteKeep(replace(600, 1, "c"), true)
	if err != nil || !Equal(ch.Old.Decode(), tup(uint64(1), "b")) {
		t.Fatalf("replace keeping the old tuple: %v", err)
	}
	ch, err = st.ExecuteKeep(update(600, tup(2), op("=", 2, "x")), false)
	if err != nil || ch.Old != nil || ch.New != nil {
		t.Fatalf("update of a missing key: %v %v %v", ch.Old, ch.New, err)
	}
	if got := st.Get(600, tup(1)); !Equal(got, tup(uint64(1), "c")) {
		t.Fatalf("get 1: %s", show(got))
	}
}
