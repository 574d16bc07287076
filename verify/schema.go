package verify

import (
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/synchro"
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
	syncSpaces *synchro.SyncSpaces
	cluster    map[uint32]string
	known      bool // read from a snapshot or from the start of history
}

func newSchema() schema {
	return schema{syncSpaces: synchro.NewSyncSpaces(nil), cluster: map[uint32]string{}}
}

// apply follows one row of _space or _cluster; other rows are ignored.
func (s *schema) apply(r *format.Row) {
	if !r.Type.IsDML() {
		return
	}
	d, err := r.DML()
	if err != nil || !d.HasSpace {
		return
	}
	switch d.SpaceID {
	case spaceSpace:
		s.syncSpaces.Learn(r)
	case spaceCluster:
		switch r.Type {
		case format.TypeInsert, format.TypeReplace:
			if id, uuid, ok := parseClusterTuple(d.Tuple); ok {
				s.cluster[id] = uuid
			}
		case format.TypeDelete:
			if id, ok := firstUint(d.Key); ok {
				delete(s.cluster, uint32(id))
			}
		}
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
