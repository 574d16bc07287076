package replay

import (
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/memtx"
)

// Request and schema-row builders for recovery tests.

func spaceRow(id uint64, name string) []any {
	return []any{id, uint64(1), name, "memtx", uint64(0), memtx.Map{}, []any{}}
}

func part(fieldNo uint64, typ string, extra ...memtx.MapEntry) memtx.Map {
	return append(memtx.Map{{Key: "field", Value: fieldNo}, {Key: "type", Value: typ}}, extra...)
}

func indexRow(space, iid uint64, name string, unique bool, parts ...memtx.Map) []any {
	p := make([]any, len(parts))
	for i, m := range parts {
		p[i] = m
	}
	return []any{space, iid, name, "tree", memtx.Map{{Key: "unique", Value: unique}}, p}
}

func insert(space uint32, tuple ...any) memtx.Request {
	return memtx.Request{Type: box.TypeInsert, SpaceID: space, Tuple: tuple}
}

func mustApply(t *testing.T, st *memtx.State, reqs ...memtx.Request) {
	t.Helper()
	for _, r := range reqs {
		if err := st.Apply(r); err != nil {
			t.Fatalf("%s space %d %v: %v", r.Type, r.SpaceID, show(r.Tuple), err)
		}
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// show formats a canonical value for failure messages.
func show(v any) string { return fmt.Sprintf("%#v", v) }

// codeOf returns the error code of an Apply result, 0 for success.
func codeOf(err error) box.ErrorCode {
	if err == nil {
		return 0
	}
	var ae *memtx.ApplyError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ^box.ErrorCode(0)
}
