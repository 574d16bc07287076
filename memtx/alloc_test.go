package memtx

import (
	"encoding/binary"
	"testing"

	"github.com/xlogtool/xlogtool/box"
)

// rawTuple encodes {id, "name-<id>", id} for the allocation checks.
func rawTuple(id uint64) []byte {
	b := []byte{0x93, 0xcf}
	b = binary.BigEndian.AppendUint64(b, id)
	name := "name-" + itoa(uint32(id))
	b = append(b, 0xa0|byte(len(name)))
	b = append(b, name...)
	b = append(b, 0xcf)
	return binary.BigEndian.AppendUint64(b, id)
}

// TestInsertAllocations: an INSERT into a space with a primary and a
// unique secondary key allocates the tuple's bytes and, now and then, a
// B-tree node; a lookup and a select by a key allocate nothing but the
// result slice.
func TestInsertAllocations(t *testing.T) {
	st := NewState()
	mustApply(t, st,
		insert(box.SpaceSpace, spaceRow(700, "x")...),
		insert(box.SpaceIndex, indexRow(700, 0, "primary", true, part(0, "unsigned"))...),
		insert(box.SpaceIndex, indexRow(700, 1, "name", true, part(1, "string"))...),
	)
	id := uint64(0)
	raws := make([][]byte, 0, 30000)
	for i := 0; i < cap(raws); i++ {
		raws = append(raws, rawTuple(uint64(i*7919%30000)))
	}
	allocs := testing.AllocsPerRun(len(raws)-1, func() {
		req, err := RawRequest{Type: box.TypeInsert, SpaceID: 700, Tuple: raws[id]}.Decode()
		if err == nil {
			_, err = st.Execute(req)
		}
		if err != nil {
			t.Fatal(err)
		}
		id++
	})
	if allocs > 1.2 {
		t.Errorf("%.2f allocations per INSERT, want the tuple's and a B-tree node's now and then", allocs)
	}
	sp := st.Space(700)
	key := []any{uint64(4242)}
	allocs = testing.AllocsPerRun(1000, func() {
		if sp.GetTuple(key) == nil {
			t.Fatal("not found")
		}
	})
	if allocs > 0 {
		t.Errorf("%.2f allocations per primary-key lookup", allocs)
	}
}
