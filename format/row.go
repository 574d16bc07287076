package format

import (
	"fmt"

	"github.com/xlogtool/xlogtool/box"
)

// Header is the decoded row header.
type Header struct {
	Type      box.RowType
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
	// SchemaVersion is the schema version of IPROTO requests and responses
	// (header key 0x05); log rows do not carry it.
	SchemaVersion uint64
	// Unknown is true when the header has keys this reader does not know;
	// they are kept in Row.RawHeader.
	Unknown bool
}

// WaitSync reports the WAIT_SYNC flag: the transaction went through the
// synchronous queue.
func (h *Header) WaitSync() bool { return h.Flags&box.FlagWaitSync != 0 }

// WaitAck reports the WAIT_ACK flag: a synchronous transaction.
func (h *Header) WaitAck() bool { return h.Flags&box.FlagWaitAck != 0 }

// IsLocal reports whether the row belongs to the replica-local group.
func (h *Header) IsLocal() bool { return h.GroupID == box.GroupLocal }

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

// DecodeRow decodes the row at the start of b (a header map and, for every
// type but NOP, the body that follows) into r and returns its length. Rows
// of replication streams are log rows: a packet decodes with DecodeRow.
// r's slices point into b.
func DecodeRow(b []byte, r *Row) (int, error) { return decodeRow(b, r) }

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
		case box.KeyType:
			var v uint64
			v, err = c.Uint()
			h.Type, haveType = box.RowType(v), true
			if v > 0xffffffff {
				err = fmt.Errorf("type %d out of range", v)
			}
		case box.KeySync:
			h.Sync, err = c.Uint()
		case box.KeySchemaVersion:
			h.SchemaVersion, err = c.Uint()
		case box.KeyReplicaID:
			var v uint64
			v, err = c.Uint()
			h.ReplicaID = uint32(v)
			if v > 0xffffffff {
				err = fmt.Errorf("replica id %d out of range", v)
			}
		case box.KeyLSN:
			h.LSN, err = c.Uint()
		case box.KeyTimestamp:
			h.Timestamp, err = c.Number()
		case box.KeyGroupID:
			var v uint64
			v, err = c.Uint()
			h.GroupID = uint32(v)
		case box.KeyTSN:
			tsnDiff, err = c.Uint()
			h.HasTSN = true
		case box.KeyFlags:
			h.Flags, err = c.Uint()
		case box.KeyStreamID:
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
		h.Commit = h.Flags&box.FlagCommit != 0
	} else {
		h.TSN = h.LSN
		h.Commit = true
	}
	r.RawHeader = b[:c.p:c.p]
	r.Body = nil
	if c.More() && h.Type != box.TypeNop {
		start := c.p
		if err := c.Skip(); err != nil {
			return 0, fmt.Errorf("row body: %w", err)
		}
		r.Body = b[start:c.p:c.p]
	}
	return c.p, nil
}

// AppendHeader encodes h as Tarantool does (keys in the order type, sync,
// schema version (IPROTO packets only),
// replica id, group id, lsn, timestamp, tsn, stream id, flags; minimal
// unsigned integers; float64 timestamp). TSN and the COMMIT flag follow the
// transaction fields: a row with TSN == LSN that commits carries neither.
func AppendHeader(b []byte, h *Header) []byte {
	writeTSN := h.TSN != h.LSN || !h.Commit
	flags := h.Flags &^ box.FlagCommit
	if h.Commit && h.TSN != h.LSN {
		flags |= box.FlagCommit
	}
	n := 1
	cnt := func(c bool) {
		if c {
			n++
		}
	}
	cnt(h.Sync != 0)
	cnt(h.SchemaVersion != 0)
	cnt(h.ReplicaID != 0)
	cnt(h.GroupID != 0)
	cnt(h.LSN != 0)
	cnt(h.Timestamp != 0)
	cnt(writeTSN)
	cnt(h.StreamID != 0)
	cnt(flags != 0)
	b = appendMapLen(b, n)
	b = appendUint(append(b, box.KeyType), uint64(h.Type))
	if h.Sync != 0 {
		b = appendUint(append(b, box.KeySync), h.Sync)
	}
	if h.SchemaVersion != 0 {
		b = appendUint(append(b, box.KeySchemaVersion), h.SchemaVersion)
	}
	if h.ReplicaID != 0 {
		b = appendUint(append(b, box.KeyReplicaID), uint64(h.ReplicaID))
	}
	if h.GroupID != 0 {
		b = appendUint(append(b, box.KeyGroupID), uint64(h.GroupID))
	}
	if h.LSN != 0 {
		b = appendUint(append(b, box.KeyLSN), h.LSN)
	}
	if h.Timestamp != 0 {
		b = appendFloat64(append(b, box.KeyTimestamp), h.Timestamp)
	}
	if writeTSN {
		b = appendUint(append(b, box.KeyTSN), h.LSN-h.TSN)
	}
	if h.StreamID != 0 {
		b = appendUint(append(b, box.KeyStreamID), h.StreamID)
	}
	if flags != 0 {
		b = appendUint(append(b, box.KeyFlags), flags)
	}
	return b
}
