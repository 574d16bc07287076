package verify

import (
	"github.com/xlogtool/xlogtool/format"
)

// System spaces whose rows verify follows.
const (
	spaceSpace   = 280 // _space: which spaces are synchronous
	spaceCluster = 320 // _cluster: replica ids of instance UUIDs
)

// schema is what verify needs of the data schema: the synchronous spaces
// (to find synchronous transactions in logs written before the WAIT_ACK
// flag existed) and the replica ids of instances.
type schema struct {
	syncSpaces map[uint32]bool
	cluster    map[uint32]string
	known      bool // read from a snapshot or from the start of history
}

func newSchema() schema {
	return schema{syncSpaces: map[uint32]bool{}, cluster: map[uint32]string{}}
}

// apply follows one row of _space or _cluster; other rows are ignored.
func (s *schema) apply(r *format.Row) {
	if !r.Type.IsDML() {
		return
	}
	d, err := r.DML()
	if err != nil || !d.HasSpace || (d.SpaceID != spaceSpace && d.SpaceID != spaceCluster) {
		return
	}
	switch r.Type {
	case format.TypeInsert, format.TypeReplace:
		if d.SpaceID == spaceSpace {
			if id, sync, ok := parseSpaceTuple(d.Tuple); ok {
				s.setSync(id, sync)
			}
		} else if id, uuid, ok := parseClusterTuple(d.Tuple); ok {
			s.cluster[id] = uuid
		}
	case format.TypeDelete:
		id, ok := firstUint(d.Key)
		if !ok {
			return
		}
		if d.SpaceID == spaceSpace {
			delete(s.syncSpaces, uint32(id))
		} else {
			delete(s.cluster, uint32(id))
		}
	case format.TypeUpdate:
		if d.SpaceID != spaceSpace {
			return
		}
		id, ok := firstUint(d.Key)
		if !ok {
			return
		}
		// {'=', 6, flags} with index base 1, {'=', 5, flags} with 0.
		field := uint64(5)
		if d.IndexBase == 1 {
			field = 6
		}
		if sync, ok := parseFlagsUpdate(d.Tuple, field); ok {
			s.setSync(uint32(id), sync)
		}
	}
}

func (s *schema) setSync(id uint32, sync bool) {
	if sync {
		s.syncSpaces[id] = true
	} else {
		delete(s.syncSpaces, id)
	}
}

// idOf returns the replica id of an instance UUID.
func (s *schema) idOf(uuid string) (uint32, bool) {
	for id, u := range s.cluster {
		if u == uuid {
			return id, true
		}
	}
	return 0, false
}

func firstUint(arr []byte) (uint64, bool) {
	c := format.NewMPCursor(arr)
	n, err := c.ArrayLen()
	if err != nil || n < 1 {
		return 0, false
	}
	v, err := c.Uint()
	return v, err == nil
}

// parseSpaceTuple reads [id, owner, name, engine, field_count, flags, ...]
// and reports whether flags say is_sync = true.
func parseSpaceTuple(t []byte) (uint32, bool, bool) {
	c := format.NewMPCursor(t)
	n, err := c.ArrayLen()
	if err != nil || n < 1 {
		return 0, false, false
	}
	id, err := c.Uint()
	if err != nil {
		return 0, false, false
	}
	if n < 6 {
		return uint32(id), false, true
	}
	for i := 0; i < 4; i++ {
		if c.Skip() != nil {
			return uint32(id), false, true
		}
	}
	return uint32(id), isSyncFlags(c), true
}

// isSyncFlags reads a space options map and reports is_sync.
func isSyncFlags(c *format.MPCursor) bool {
	if c.Kind() != format.MPMap {
		return false
	}
	m, err := c.MapLen()
	if err != nil {
		return false
	}
	sync := false
	for i := 0; i < m; i++ {
		var key []byte
		if c.Kind() == format.MPStr {
			key, _ = c.Bytes()
		} else if c.Skip() != nil {
			return sync
		}
		if string(key) == "is_sync" && c.Kind() == format.MPBool {
			sync, _ = c.Bool()
			continue
		}
		if c.Skip() != nil {
			return sync
		}
	}
	return sync
}

// parseFlagsUpdate looks for {'=', field, {...}} among update operations.
func parseFlagsUpdate(ops []byte, field uint64) (bool, bool) {
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
		name, err := oc.Bytes()
		if err != nil || string(name) != "=" {
			continue
		}
		f, err := oc.Uint()
		if err != nil || f != field {
			continue
		}
		return isSyncFlags(oc), true
	}
	return false, false
}

// parseClusterTuple reads [id, uuid, ...].
func parseClusterTuple(t []byte) (uint32, string, bool) {
	c := format.NewMPCursor(t)
	n, err := c.ArrayLen()
	if err != nil || n < 2 {
		return 0, "", false
	}
	id, err := c.Uint()
	if err != nil {
		return 0, "", false
	}
	u, err := c.Bytes()
	if err != nil {
		return 0, "", false
	}
	return uint32(id), string(u), true
}
