package format

import (
	"fmt"
	"strconv"
)

// RowType is the request type of a row (header key 0x00).
type RowType uint32

// Row types found in logs and replication streams.
const (
	TypeOK          RowType = 0
	TypeSelect      RowType = 1
	TypeInsert      RowType = 2
	TypeReplace     RowType = 3
	TypeUpdate      RowType = 4
	TypeDelete      RowType = 5
	TypeCall16      RowType = 6
	TypeAuth        RowType = 7
	TypeEval        RowType = 8
	TypeUpsert      RowType = 9
	TypeCall        RowType = 10
	TypeExecute     RowType = 11
	TypeNop         RowType = 12
	TypePrepare     RowType = 13
	TypeBegin       RowType = 14
	TypeCommit      RowType = 15
	TypeTxRollback  RowType = 16 // IPROTO stream ROLLBACK, not the synchro one
	TypeInsertArrow RowType = 17
	TypeDeleteRange RowType = 18
	TypeRaft        RowType = 30
	TypePromote     RowType = 31
	TypeDemote      RowType = 32
	TypeConfirm     RowType = 40
	TypeRollback    RowType = 41
	TypePing        RowType = 64
	TypeJoin        RowType = 65
	TypeSubscribe   RowType = 66
	TypeVote        RowType = 68
	TypeFetchSnap   RowType = 69
	TypeRegister    RowType = 70
	TypeJoinMeta    RowType = 71
	TypeJoinSnap    RowType = 72
	TypeID          RowType = 73
	TypeRunInfo     RowType = 100
	TypePageInfo    RowType = 101
	TypeRowIndex    RowType = 102
)

var typeNames = map[RowType]string{
	TypeSelect: "SELECT", TypeInsert: "INSERT", TypeReplace: "REPLACE", TypeUpdate: "UPDATE",
	TypeDelete: "DELETE", TypeAuth: "AUTH", TypeEval: "EVAL", TypeUpsert: "UPSERT",
	TypeCall: "CALL", TypeExecute: "EXECUTE", TypeNop: "NOP", TypePrepare: "PREPARE",
	TypeInsertArrow: "INSERT_ARROW", TypeDeleteRange: "DELETE_RANGE",
	TypeRaft: "RAFT", TypePromote: "PROMOTE", TypeDemote: "DEMOTE",
	TypeConfirm: "CONFIRM", TypeRollback: "ROLLBACK",
	TypeJoinMeta: "JOIN_META", TypeJoinSnap: "JOIN_SNAPSHOT",
	TypeRunInfo: "RUNINFO", TypePageInfo: "PAGEINFO", TypeRowIndex: "ROWINDEX",
}

var typeByName = func() map[string]RowType {
	m := make(map[string]RowType, len(typeNames)+5)
	for t, n := range typeNames {
		m[n] = t
	}
	for _, t := range []RowType{TypeRaft, TypePromote, TypeDemote, TypeConfirm, TypeRollback} {
		m["RAFT_"+typeNames[t]] = t
	}
	return m
}()

// Name returns the type's name (INSERT, RAFT, CONFIRM, ...) or "" when the
// type has none.
func (t RowType) Name() string {
	if t < RowType(len(typeNameList)) {
		return typeNameList[t]
	}
	return typeNames[t]
}

// typeNameList is typeNames as an array, for the lookup done on every row.
var typeNameList = func() (l [128]string) {
	for t, n := range typeNames {
		if t < RowType(len(l)) {
			l[t] = n
		}
	}
	return l
}()

func (t RowType) String() string {
	if n := t.Name(); n != "" {
		return n
	}
	return strconv.FormatUint(uint64(t), 10)
}

// ParseRowType accepts a type name (INSERT, PROMOTE, RAFT_PROMOTE, ...; any
// case) or a number.
func ParseRowType(s string) (RowType, error) {
	if t, ok := typeByName[upper(s)]; ok {
		return t, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("unknown row type %q", s)
	}
	return RowType(n), nil
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// IsDML reports whether rows of this type change data (and carry a space id).
func (t RowType) IsDML() bool {
	switch t {
	case TypeInsert, TypeReplace, TypeUpdate, TypeDelete, TypeUpsert, TypeInsertArrow, TypeDeleteRange:
		return true
	}
	return false
}

// IsSynchro reports whether the type is PROMOTE, DEMOTE, CONFIRM or ROLLBACK.
func (t RowType) IsSynchro() bool {
	switch t {
	case TypePromote, TypeDemote, TypeConfirm, TypeRollback:
		return true
	}
	return false
}

// Header keys.
const (
	KeyType      = 0x00
	KeySync      = 0x01
	KeyReplicaID = 0x02
	KeyLSN       = 0x03
	KeyTimestamp = 0x04
	KeySchemaVer = 0x05
	KeyGroupID   = 0x07
	KeyTSN       = 0x08
	KeyFlags     = 0x09
	KeyStreamID  = 0x0a
)

// Row flags (header key 0x09).
const (
	FlagCommit   = 0x01
	FlagWaitSync = 0x02
	FlagWaitAck  = 0x04
)

// Group ids.
const (
	GroupDefault = 0
	GroupLocal   = 1
)

// Header is the decoded row header.
type Header struct {
	Type      RowType
	ReplicaID uint32
	LSN       uint64
	Timestamp float64
	GroupID   uint32
	// TSN is the transaction id: the LSN of the first global row of the
	// transaction (decoded from the differential key with wrap-around).
	TSN uint64
	// HasTSN is true when the TSN key is present; without it the row is a
	// whole transaction by itself.
	HasTSN bool
	// Commit is true for the last row of a transaction.
	Commit   bool
	Flags    uint64
	Sync     uint64
	StreamID uint64
	// Unknown is true when the header has keys this reader does not know;
	// they are kept in Row.RawHeader.
	Unknown bool
}

// WaitSync reports the WAIT_SYNC flag: the transaction went through the
// synchronous queue.
func (h *Header) WaitSync() bool { return h.Flags&FlagWaitSync != 0 }

// WaitAck reports the WAIT_ACK flag: a synchronous transaction.
func (h *Header) WaitAck() bool { return h.Flags&FlagWaitAck != 0 }

// IsLocal reports whether the row belongs to the replica-local group.
func (h *Header) IsLocal() bool { return h.GroupID == GroupLocal }

// Position locates a row in its file.
type Position struct {
	// File is the name the reader was given (Options.Name).
	File string
	// Block is the file offset of the block's fixed header.
	Block int64
	// Index is the row's index within its block, from 0.
	Index int
	// Offset is the row's offset within the (decompressed) block payload.
	Offset int
	// Compressed is true for rows of a zstd block.
	Compressed bool
}

// FileOffset returns the row's byte offset in the file for rows of plain
// blocks, and the block's offset for rows of compressed blocks.
func (p Position) FileOffset() int64 {
	if p.Compressed {
		return p.Block
	}
	return p.Block + FixHeaderSize + int64(p.Offset)
}

// Row is one decoded row. Its byte slices point into the reader's buffer
// and stay valid only until the next call to Next; Clone makes a copy.
type Row struct {
	Header
	// RawHeader is the MessagePack header map.
	RawHeader []byte
	// Body is the MessagePack body (a map for every type that has one), or
	// nil for rows without a body.
	Body []byte
	Pos  Position
}

// Clone returns a copy of r that owns its bytes.
func (r *Row) Clone() *Row {
	c := *r
	buf := make([]byte, len(r.RawHeader)+len(r.Body))
	copy(buf, r.RawHeader)
	copy(buf[len(r.RawHeader):], r.Body)
	c.RawHeader = buf[:len(r.RawHeader):len(r.RawHeader)]
	if r.Body != nil {
		c.Body = buf[len(r.RawHeader):]
	}
	return &c
}

// decodeRow decodes the row at the start of b into r and returns its length.
// A body follows the header unless the header ends the data or the row is a
// NOP (Tarantool never reads a NOP body).
func decodeRow(b []byte, r *Row) (int, error) {
	c := MPCursor{b: b}
	n, err := c.MapLen()
	if err != nil {
		return 0, fmt.Errorf("row header is not a map: %w", err)
	}
	h := &r.Header
	*h = Header{}
	var tsnDiff uint64
	var haveType bool
	for i := 0; i < n; i++ {
		key, err := c.Uint()
		if err != nil {
			return 0, fmt.Errorf("row header key: %w", err)
		}
		switch key {
		case KeyType:
			var v uint64
			v, err = c.Uint()
			h.Type, haveType = RowType(v), true
		case KeySync:
			h.Sync, err = c.Uint()
		case KeyReplicaID:
			var v uint64
			v, err = c.Uint()
			h.ReplicaID = uint32(v)
			if v > 0xffffffff {
				err = fmt.Errorf("replica id %d out of range", v)
			}
		case KeyLSN:
			h.LSN, err = c.Uint()
		case KeyTimestamp:
			h.Timestamp, err = c.Number()
		case KeyGroupID:
			var v uint64
			v, err = c.Uint()
			h.GroupID = uint32(v)
		case KeyTSN:
			tsnDiff, err = c.Uint()
			h.HasTSN = true
		case KeyFlags:
			h.Flags, err = c.Uint()
		case KeyStreamID:
			h.StreamID, err = c.Uint()
		default:
			h.Unknown = true
			err = c.Skip()
		}
		if err != nil {
			return 0, fmt.Errorf("row header key 0x%02x: %w", key, err)
		}
	}
	if !haveType {
		return 0, fmt.Errorf("row header has no type")
	}
	if h.HasTSN {
		h.TSN = h.LSN - tsnDiff
		h.Commit = h.Flags&FlagCommit != 0
	} else {
		h.TSN = h.LSN
		h.Commit = true
	}
	r.RawHeader = b[:c.p:c.p]
	r.Body = nil
	if c.More() && h.Type != TypeNop {
		start := c.p
		if err := c.Skip(); err != nil {
			return 0, fmt.Errorf("row body: %w", err)
		}
		r.Body = b[start:c.p:c.p]
	}
	return c.p, nil
}

// AppendHeader encodes h as Tarantool does (keys in the order type, sync,
// replica id, group id, lsn, timestamp, tsn, stream id, flags; minimal
// unsigned integers; float64 timestamp). TSN and the COMMIT flag follow the
// transaction fields: a row with TSN == LSN that commits carries neither.
func AppendHeader(b []byte, h *Header) []byte {
	writeTSN := h.TSN != h.LSN || !h.Commit
	flags := h.Flags &^ FlagCommit
	if h.Commit && h.TSN != h.LSN {
		flags |= FlagCommit
	}
	n := 1
	cnt := func(c bool) {
		if c {
			n++
		}
	}
	cnt(h.Sync != 0)
	cnt(h.ReplicaID != 0)
	cnt(h.GroupID != 0)
	cnt(h.LSN != 0)
	cnt(h.Timestamp != 0)
	cnt(writeTSN)
	cnt(h.StreamID != 0)
	cnt(flags != 0)
	b = appendMapLen(b, n)
	b = appendUint(append(b, KeyType), uint64(h.Type))
	if h.Sync != 0 {
		b = appendUint(append(b, KeySync), h.Sync)
	}
	if h.ReplicaID != 0 {
		b = appendUint(append(b, KeyReplicaID), uint64(h.ReplicaID))
	}
	if h.GroupID != 0 {
		b = appendUint(append(b, KeyGroupID), uint64(h.GroupID))
	}
	if h.LSN != 0 {
		b = appendUint(append(b, KeyLSN), h.LSN)
	}
	if h.Timestamp != 0 {
		b = appendFloat64(append(b, KeyTimestamp), h.Timestamp)
	}
	if writeTSN {
		b = appendUint(append(b, KeyTSN), h.LSN-h.TSN)
	}
	if h.StreamID != 0 {
		b = appendUint(append(b, KeyStreamID), h.StreamID)
	}
	if flags != 0 {
		b = appendUint(append(b, KeyFlags), flags)
	}
	return b
}
