package synchro_test

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/synchro"
)

func spaceRow(t *testing.T, typ box.RowType, body map[int]any) *format.Row {
	b, err := msgpack.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return &format.Row{Header: format.Header{Type: typ}, Body: b}
}

// The synchronous spaces follow _space rows: created with is_sync, altered
// by an update of the options field (either index base), dropped.
func TestSyncSpaces(t *testing.T) {
	s := synchro.NewSyncSpaces([]uint32{700})
	learn := func(typ box.RowType, body map[int]any) { s.Learn(spaceRow(t, typ, body)) }
	learn(box.TypeInsert, map[int]any{0x10: 280, 0x21: []any{600, 1, "a", "memtx", 0, map[string]any{"is_sync": true}, []any{}}})
	learn(box.TypeInsert, map[int]any{0x10: 280, 0x21: []any{601, 1, "b", "memtx", 0, map[string]any{}, []any{}}})
	learn(box.TypeInsert, map[int]any{0x10: 512, 0x21: []any{602, 1, "c", "memtx", 0, map[string]any{"is_sync": true}, []any{}}})
	if !s.IsSync(600) || s.IsSync(601) || s.IsSync(602) || !s.IsSync(700) {
		t.Fatal("after inserts")
	}
	learn(box.TypeUpdate, map[int]any{0x10: 280, 0x15: 1, 0x20: []any{601}, 0x21: []any{[]any{"=", 6, map[string]any{"is_sync": true}}}})
	learn(box.TypeUpdate, map[int]any{0x10: 280, 0x20: []any{600}, 0x21: []any{[]any{"=", 5, map[string]any{"is_sync": false}}}})
	if s.IsSync(600) || !s.IsSync(601) {
		t.Fatal("after updates")
	}
	learn(box.TypeDelete, map[int]any{0x10: 280, 0x20: []any{601}})
	if s.IsSync(601) {
		t.Fatal("after delete")
	}
}
