package verify

import (
	"fmt"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/synchro"
)

// schema is what verify needs of the data schema: the synchronous spaces
// (to find synchronous transactions in logs written before the WAIT_ACK
// flag existed), the replica ids of instances and the replica set UUID.
type schema struct {
	syncSpaces *synchro.SyncSpaces
	cluster    map[uint32]string
	// clusterAt is the WAL row that set each _cluster entry (zero when it
	// came from a snapshot, whose rows do not say).
	clusterAt  map[uint32]rowKey
	replicaset string // from _schema: 'cluster' (up to 2.11) or 'replicaset_uuid' (3.x)
	known      bool   // read from a snapshot or from the start of history
}

func newSchema() schema {
	return schema{syncSpaces: synchro.NewSyncSpaces(nil), cluster: map[uint32]string{}, clusterAt: map[uint32]rowKey{}}
}

// apply follows one row of _schema, _space or _cluster; other rows are
// ignored.
func (s *schema) apply(r *format.Row) {
	if !r.Type.IsDML() {
		return
	}
	d, err := r.DML()
	if err != nil || !d.HasSpace {
		return
	}
	switch d.SpaceID {
	case box.SpaceSchema:
		// A DELETE of 'cluster' (the upgrade to 3.x renames the key)
		// leaves the UUID known.
		if r.Type == box.TypeInsert || r.Type == box.TypeReplace {
			if u, ok := parseReplicasetTuple(d.Tuple); ok {
				s.replicaset = u
			}
		}
	case box.SpaceSpace:
		s.syncSpaces.Learn(r)
	case box.SpaceCluster:
		switch r.Type {
		case box.TypeInsert, box.TypeReplace:
			if id, uuid, ok := parseClusterTuple(d.Tuple); ok {
				s.cluster[id] = uuid
				s.clusterAt[id] = rowKey{r.ReplicaID, r.LSN}
				if r.ReplicaID == 0 {
					s.clusterAt[id] = rowKey{}
				}
			}
		case box.TypeDelete:
			if id, ok := firstUint(d.Key); ok {
				delete(s.cluster, uint32(id))
				delete(s.clusterAt, uint32(id))
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

// parseReplicasetTuple reads ['cluster', uuid] or ['replicaset_uuid', uuid]
// of _schema; the UUID is a string or a MessagePack UUID (extension 2).
func parseReplicasetTuple(t []byte) (string, bool) {
	c := format.NewMPCursor(t)
	n, err := c.ArrayLen()
	if err != nil || n < 2 {
		return "", false
	}
	key, err := c.Bytes()
	if err != nil || (string(key) != "cluster" && string(key) != "replicaset_uuid") {
		return "", false
	}
	if c.Kind() == format.MPStr {
		u, err := c.Bytes()
		if err != nil || len(u) == 0 {
			return "", false
		}
		return string(u), true
	}
	typ, d, err := c.Ext()
	if err != nil || typ != 2 || len(d) != 16 {
		return "", false
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", d[0:4], d[4:6], d[6:8], d[8:10], d[10:16]), true
}
