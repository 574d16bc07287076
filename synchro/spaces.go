package synchro

import (
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// SyncSpaces knows which spaces are synchronous: those named explicitly and
// those whose _space tuple, seen in the rows it has learned, has
// is_sync = true. Logs written before Tarantool 2.6.3 do not flag
// synchronous transactions, so the fate of their transactions depends on it;
// its IsSync method fits Options.IsSync.
type SyncSpaces struct {
	explicit map[uint32]bool
	learned  map[uint32]bool
}

// NewSyncSpaces returns a set that knows the spaces ids as synchronous.
func NewSyncSpaces(ids []uint32) *SyncSpaces {
	s := &SyncSpaces{explicit: map[uint32]bool{}, learned: map[uint32]bool{}}
	for _, id := range ids {
		s.explicit[id] = true
	}
	return s
}

// IsSync reports whether the space is synchronous.
func (s *SyncSpaces) IsSync(id uint32) bool { return s.explicit[id] || s.learned[id] }

// Learn follows a row of _space (insert, replace, update, delete); other
// rows are ignored.
func (s *SyncSpaces) Learn(r *format.Row) {
	if !r.Type.IsDML() {
		return
	}
	if sid, ok := r.SpaceID(); !ok || sid != box.SpaceSpace {
		return
	}
	d, err := r.DML()
	if err != nil {
		return
	}
	switch r.Type {
	case box.TypeInsert, box.TypeReplace:
		if id, sync, ok := spaceTupleSync(d.Tuple); ok {
			s.set(id, sync)
		}
	case box.TypeDelete:
		if id, ok := keyID(d.Key); ok {
			delete(s.learned, id)
		}
	case box.TypeUpdate:
		id, ok := keyID(d.Key)
		if !ok {
			return
		}
		// The options are field 6 counting from 1, field 5 from 0.
		field := int64(5)
		if d.IndexBase == 1 {
			field = 6
		}
		if sync, ok := optionsAssigned(d.Tuple, field); ok {
			s.set(id, sync)
		}
	}
}

func (s *SyncSpaces) set(id uint32, sync bool) {
	if sync {
		s.learned[id] = true
	} else {
		delete(s.learned, id)
	}
}

// keyID reads the first part of a key: [id].
func keyID(key []byte) (uint32, bool) {
	c := format.NewMPCursor(key)
	if n, err := c.ArrayLen(); err != nil || n < 1 {
		return 0, false
	}
	v, err := c.Uint()
	if err != nil || v > 1<<32-1 {
		return 0, false
	}
	return uint32(v), true
}

// spaceTupleSync reads the id and the is_sync option of a _space tuple.
func spaceTupleSync(tuple []byte) (id uint32, sync, ok bool) {
	c := format.NewMPCursor(tuple)
	n, err := c.ArrayLen()
	if err != nil || n < 1 {
		return 0, false, false
	}
	v, err := c.Uint()
	if err != nil || v > 1<<32-1 {
		return 0, false, false
	}
	if n < 6 {
		return uint32(v), false, true
	}
	for i := 0; i < 4; i++ { // owner, name, engine, field_count
		if c.Skip() != nil {
			return uint32(v), false, true
		}
	}
	return uint32(v), optionsSync(c), true
}

// optionsSync reads a space options map at the cursor and reports whether
// it holds is_sync = true.
func optionsSync(c *format.MPCursor) bool {
	if c.Kind() != format.MPMap {
		return false
	}
	n, err := c.MapLen()
	if err != nil {
		return false
	}
	sync := false
	for i := 0; i < n; i++ {
		isKey := false
		if c.Kind() == format.MPStr {
			k, err := c.Bytes()
			if err != nil {
				return sync
			}
			isKey = string(k) == "is_sync"
		} else if c.Skip() != nil {
			return sync
		}
		if isKey && c.Kind() == format.MPBool {
			sync, _ = c.Bool()
			continue
		}
		if c.Skip() != nil {
			return sync
		}
	}
	return sync
}

// optionsAssigned looks for the operation {'=', field, options} in an
// update and reports the is_sync option it assigns.
func optionsAssigned(ops []byte, field int64) (sync, ok bool) {
	c := format.NewMPCursor(ops)
	n, err := c.ArrayLen()
	if err != nil {
		return false, false
	}
	for i := 0; i < n; i++ {
		op, err := c.Raw()
		if err != nil {
			return false, false
		}
		oc := format.NewMPCursor(op)
		if k, err := oc.ArrayLen(); err != nil || k != 3 {
			continue
		}
		if name, err := oc.Bytes(); err != nil || string(name) != "=" {
			continue
		}
		if f, err := oc.Int(); err != nil || f != field {
			continue
		}
		sync, ok = optionsSync(oc), true
	}
	return sync, ok
}
