package format

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
	"github.com/xlogtool/xlogtool/box"
)

// DML is the body of a data row. MessagePack values are returned as raw
// slices into the row (nil when absent).
type DML struct {
	SpaceID   uint32
	HasSpace  bool
	IndexID   uint32
	IndexBase uint32
	Key       []byte // UPDATE, DELETE
	Tuple     []byte // INSERT, REPLACE, UPSERT; UPDATE: the operations
	Ops       []byte // UPSERT operations
	OldTuple  []byte
	NewTuple  []byte
	BeginKey  []byte
	EndKey    []byte
	Arrow     []byte
}

// Operations returns the update operations: key 0x21 for UPDATE, 0x28 for UPSERT.
func (d *DML) Operations(t box.RowType) []byte {
	if t == box.TypeUpdate {
		return d.Tuple
	}
	return d.Ops
}

// BodyIter walks the integer-keyed entries of a body map, the shape of
// every row and packet body. After Next returns a key, Cursor stands at
// its value; a value the caller leaves unread is skipped by the following
// Next. Entries with other keys are skipped, as Tarantool skips them.
type BodyIter struct {
	c    MPCursor
	left int
	val  int // offset of the current value, -1 before the first
}

// NewBodyIter starts a walk over body (nil is an empty map).
func NewBodyIter(body []byte) (BodyIter, error) {
	it := BodyIter{c: MPCursor{b: body}, val: -1}
	if body == nil {
		return it, nil
	}
	n, err := it.c.MapLen()
	if err != nil {
		return it, fmt.Errorf("body is not a map: %w", err)
	}
	it.left = n
	return it, nil
}

// Cursor is the cursor of the walk: at the current key's value after Next,
// after the map when Next has returned false.
func (it *BodyIter) Cursor() *MPCursor { return &it.c }

// Next moves to the next entry with an unsigned key; ok is false after
// the last one.
func (it *BodyIter) Next() (key uint64, ok bool, err error) {
	if it.val >= 0 && it.c.p == it.val {
		if err := it.c.Skip(); err != nil {
			return 0, false, err
		}
	}
	for it.left > 0 {
		it.left--
		if it.c.Kind() != MPUint {
			if err := it.c.Skip(); err != nil {
				return 0, false, err
			}
			if err := it.c.Skip(); err != nil {
				return 0, false, err
			}
			continue
		}
		key, _ = it.c.Uint()
		it.val = it.c.p
		return key, true, nil
	}
	return 0, false, nil
}

// DML decodes the body of a data row.
func (r *Row) DML() (DML, error) {
	var d DML
	it, err := NewBodyIter(r.Body)
	for err == nil {
		key, ok, e := it.Next()
		if e != nil || !ok {
			err = e
			break
		}
		c := &it.c
		var v uint64
		switch key {
		case box.KeySpaceID:
			v, err = c.Uint()
			d.SpaceID, d.HasSpace = uint32(v), true
		case box.KeyIndexID:
			v, err = c.Uint()
			d.IndexID = uint32(v)
		case box.KeyIndexBase:
			v, err = c.Uint()
			d.IndexBase = uint32(v)
		case box.KeyKey:
			d.Key, err = c.Raw()
		case box.KeyTuple:
			d.Tuple, err = c.Raw()
		case box.KeyOps:
			d.Ops, err = c.Raw()
		case box.KeyOldTuple:
			d.OldTuple, err = c.Raw()
		case box.KeyNewTuple:
			d.NewTuple, err = c.Raw()
		case box.KeyBeginKey:
			d.BeginKey, err = c.Raw()
		case box.KeyEndKey:
			d.EndKey, err = c.Raw()
		case box.KeyArrow:
			d.Arrow, err = c.Raw()
		}
		if err != nil {
			err = fmt.Errorf("body key 0x%02x: %w", key, err)
		}
	}
	return d, err
}

// SpaceID returns the space id of a data row without decoding the rest of
// its body. Tarantool writes it as the body's first key, where it is read
// directly; elsewhere the body is walked.
func (r *Row) SpaceID() (uint32, bool) {
	if b := r.Body; len(b) >= 3 && b[0] >= 0x81 && b[0] <= 0x8f && b[1] == box.KeySpaceID {
		switch c := b[2]; {
		case c <= 0x7f:
			return uint32(c), true
		case c == 0xcc && len(b) >= 4:
			return uint32(b[3]), true
		case c == 0xcd && len(b) >= 5:
			return uint32(b[3])<<8 | uint32(b[4]), true
		case c == 0xce && len(b) >= 7:
			return uint32(b[3])<<24 | uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6]), true
		}
	}
	it, err := NewBodyIter(r.Body)
	for err == nil {
		key, ok, e := it.Next()
		if e != nil || !ok {
			return 0, false
		}
		if key == box.KeySpaceID && it.c.Kind() == MPUint {
			v, err := it.c.Uint()
			return uint32(v), err == nil
		}
	}
	return 0, false
}

// Synchro is the body of a PROMOTE, DEMOTE, CONFIRM or ROLLBACK row.
type Synchro struct {
	// ReplicaID is the queue owner: the one whose transactions a CONFIRM or
	// ROLLBACK resolves, the previous owner for PROMOTE and DEMOTE.
	ReplicaID uint32
	LSN       uint64
	Term      uint64
	HasTerm   bool
	// VClock is the confirmed vclock (snapshots and JOIN_META only).
	VClock    VClock
	HasVClock bool
}

// Synchro decodes the body of a synchronous-replication row.
func (r *Row) Synchro() (Synchro, error) {
	var s Synchro
	it, err := NewBodyIter(r.Body)
	for err == nil {
		key, ok, e := it.Next()
		if e != nil || !ok {
			err = e
			break
		}
		c := &it.c
		var v uint64
		switch key {
		case box.KeySynchroReplicaID:
			v, err = c.Uint()
			s.ReplicaID = uint32(v)
		case box.KeySynchroLSN:
			s.LSN, err = c.Uint()
		case box.KeyTerm:
			s.Term, err = c.Uint()
			s.HasTerm = true
		case box.KeyVClock:
			s.VClock, err = decodeVClock(c)
			s.HasVClock = true
		}
		if err != nil {
			err = fmt.Errorf("body key 0x%02x: %w", key, err)
		}
	}
	return s, err
}

// Raft is the body of a RAFT row.
type Raft struct {
	Term         uint64
	Vote         uint32
	State        uint32
	VClock       VClock
	HasVClock    bool
	LeaderID     uint32
	IsLeaderSeen bool
}

// Raft decodes the body of a RAFT row.
func (r *Row) Raft() (Raft, error) {
	var f Raft
	it, err := NewBodyIter(r.Body)
	for err == nil {
		key, ok, e := it.Next()
		if e != nil || !ok {
			err = e
			break
		}
		c := &it.c
		var v uint64
		switch key {
		case box.RaftKeyTerm:
			f.Term, err = c.Uint()
		case box.RaftKeyVote:
			v, err = c.Uint()
			f.Vote = uint32(v)
		case box.RaftKeyState:
			v, err = c.Uint()
			f.State = uint32(v)
		case box.RaftKeyVClock:
			f.VClock, err = decodeVClock(c)
			f.HasVClock = true
		case box.RaftKeyLeaderID:
			v, err = c.Uint()
			f.LeaderID = uint32(v)
		case box.RaftKeyIsLeaderSeen:
			f.IsLeaderSeen, err = c.Bool()
		}
		if err != nil {
			err = fmt.Errorf("body key 0x%02x: %w", key, err)
		}
	}
	return f, err
}

// DecodeVClock decodes a MessagePack map {replica id: lsn} at the cursor.
func DecodeVClock(c *MPCursor) (VClock, error) { return decodeVClock(c) }

func decodeVClock(c *MPCursor) (VClock, error) {
	var v VClock
	n, err := c.MapLen()
	if err != nil {
		return v, err
	}
	for i := 0; i < n; i++ {
		id, err := c.Uint()
		if err != nil {
			return v, err
		}
		lsn, err := c.Uint()
		if err != nil {
			return v, err
		}
		if id >= VClockMax {
			return v, fmt.Errorf("vclock replica id %d out of range", id)
		}
		v.Set(uint32(id), lsn)
	}
	return v, nil
}

// AppendVClock encodes v as a MessagePack map {id: lsn}.
func AppendVClock(b []byte, v VClock) []byte {
	b = appendMapLen(b, v.Len())
	v.Each(func(id uint32, lsn uint64) {
		b = appendUint(appendUint(b, uint64(id)), lsn)
	})
	return b
}

// AppendSynchroBody encodes a PROMOTE/DEMOTE/CONFIRM/ROLLBACK body.
func AppendSynchroBody(b []byte, s *Synchro) []byte {
	n := 2
	if s.HasTerm {
		n++
	}
	if s.HasVClock {
		n++
	}
	b = appendMapLen(b, n)
	b = appendUint(append(b, box.KeySynchroReplicaID), uint64(s.ReplicaID))
	b = appendUint(append(b, box.KeySynchroLSN), s.LSN)
	if s.HasTerm {
		b = appendUint(append(b, box.KeyTerm), s.Term)
	}
	if s.HasVClock {
		b = AppendVClock(append(b, box.KeyVClock), s.VClock)
	}
	return b
}

// AppendRaftBody encodes the persistent part of a RAFT body: the term and,
// when non-zero, the vote. It is what WAL and snapshot RAFT rows hold.
func AppendRaftBody(b []byte, f *Raft) []byte {
	return AppendRaftMessage(b, &Raft{Term: f.Term, Vote: f.Vote})
}

// AppendRaftMessage encodes a network RAFT body as Tarantool sends it:
// TERM always, every other key only when set (VOTE, STATE, LEADER_ID when
// non-zero, IS_LEADER_SEEN when true, VCLOCK without component 0 when
// HasVClock), in the order of Tarantool's encoder (xrow_encode_raft).
func AppendRaftMessage(b []byte, f *Raft) []byte {
	n := 1
	for _, set := range [...]bool{f.Vote != 0, f.State != 0, f.HasVClock, f.LeaderID != 0, f.IsLeaderSeen} {
		if set {
			n++
		}
	}
	b = appendMapLen(b, n)
	b = appendUint(append(b, box.RaftKeyTerm), f.Term)
	if f.Vote != 0 {
		b = appendUint(append(b, box.RaftKeyVote), uint64(f.Vote))
	}
	if f.State != 0 {
		b = appendUint(append(b, box.RaftKeyState), uint64(f.State))
	}
	if f.LeaderID != 0 {
		b = appendUint(append(b, box.RaftKeyLeaderID), uint64(f.LeaderID))
	}
	if f.IsLeaderSeen {
		b = append(b, box.RaftKeyIsLeaderSeen, msgpcode.True)
	}
	if f.HasVClock {
		b = AppendVClock(append(b, box.RaftKeyVClock), f.VClock.WithoutLocal())
	}
	return b
}
