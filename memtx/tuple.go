package memtx

import (
	"bytes"
	"encoding/binary"
	"github.com/xlogtool/xlogtool/box"

	"github.com/xlogtool/xlogtool/format"
)

// Tuple is a stored tuple: one MessagePack array, kept as it arrived (as
// Tarantool's memtx keeps it). Indexes decode only the fields of their
// key parts when they compare tuples. A stored Tuple is never modified;
// it may be shared by several indexes, transactions and read views.
type Tuple []byte

// Clone returns a copy of the tuple (nil for nil).
func (t Tuple) Clone() Tuple {
	if t == nil {
		return nil
	}
	return append(Tuple(nil), t...)
}

// Decode returns the tuple's fields as canonical values (see the package
// comment). A stored tuple always decodes.
func (t Tuple) Decode() []any {
	if t == nil {
		return nil
	}
	v, err := DecodeMsgpack(t)
	if err != nil {
		return nil
	}
	a, _ := v.([]any)
	if a == nil {
		a = []any{}
	}
	return a
}

// FieldCount returns the number of fields.
func (t Tuple) FieldCount() int {
	c := format.NewMPCursor(t)
	n, err := c.ArrayLen()
	if err != nil {
		return 0
	}
	return n
}

// Field returns the MessagePack bytes of top-level field no (0-based), or
// nil when the tuple has fewer fields.
func (t Tuple) Field(no int) []byte {
	c := format.NewMPCursor(t)
	n, err := c.ArrayLen()
	if err != nil || no < 0 || no >= n {
		return nil
	}
	for i := 0; i < no; i++ {
		if c.Skip() != nil {
			return nil
		}
	}
	v, err := c.Raw()
	if err != nil {
		return nil
	}
	return v
}

// fieldAt returns the tuple's bytes from the start of top-level field
// no (the field is a prefix of them), or nil when there is no such
// field.
func fieldAt(t Tuple, no int) []byte {
	if len(t) > 0 && t[0] >= 0x90 && t[0] <= 0x9f {
		// A short array of scalars: walk it here.
		if no >= int(t[0]&0x0f) {
			return nil
		}
		p := 1
		for i := 0; i < no; i++ {
			n := scalarSize(t[p:])
			if n == 0 {
				return fieldAtSlow(t, no)
			}
			p += n
		}
		if p > len(t) {
			return fieldAtSlow(t, no)
		}
		return t[p:]
	}
	return fieldAtSlow(t, no)
}

// scalarSize returns the size of the scalar value at the start of b, 0
// for anything else (or when b is too short for the header).
func scalarSize(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	c := b[0]
	switch {
	case c <= 0x7f || c >= 0xe0:
		return 1
	case c >= 0xa0 && c <= 0xbf:
		return 1 + int(c&0x1f)
	}
	switch c {
	case 0xc0, 0xc2, 0xc3:
		return 1
	case 0xcc, 0xd0:
		return 2
	case 0xcd, 0xd1:
		return 3
	case 0xca, 0xce, 0xd2:
		return 5
	case 0xcb, 0xcf, 0xd3:
		return 9
	case 0xd9, 0xc4:
		if len(b) >= 2 {
			return 2 + int(b[1])
		}
	case 0xda, 0xc5:
		if len(b) >= 3 {
			return 3 + int(binary.BigEndian.Uint16(b[1:]))
		}
	}
	return 0
}

func fieldAtSlow(t Tuple, no int) []byte {
	c := format.NewMPCursor(t)
	n, err := c.ArrayLen()
	if err != nil || no >= n {
		return nil
	}
	for i := 0; i < no; i++ {
		if c.Skip() != nil {
			return nil
		}
	}
	return c.Rest()
}

// newTuple makes a stored tuple of request values.
func newTuple(v []any) (Tuple, *ApplyError) {
	b, err := appendValue(nil, v, 0)
	if err != nil {
		return nil, invalidValue(err)
	}
	return Tuple(b), nil
}

// tupleFromMsgpack checks that b is one well-formed MessagePack array
// and returns it as a tuple: b itself when shared, else a copy made in
// the arena when there is one (the only allocation).
func tupleFromMsgpack(name string, b []byte, arena *TupleArena, shared bool) (Tuple, *ApplyError) {
	if err := checkArray(b); err != nil {
		return nil, &ApplyError{Code: box.ErrInvalidMsgpack, Message: "Invalid MsgPack - " + name + err.Error()}
	}
	if shared {
		return Tuple(b[:len(b):len(b)]), nil
	}
	t := arena.alloc(len(b))
	copy(t, b)
	return t, nil
}

// TupleArena hands out the bytes of tuples from large chunks, for a bulk
// load (a snapshot, logs replayed at once): one allocation per chunk
// instead of one per tuple, no allocator rounding, and little for the
// garbage collector to look at. A chunk stays in memory as long as any
// tuple in it does, so an arena suits tuples that mostly stay. An arena
// is used by one goroutine at a time; the nil arena allocates each tuple
// by itself.
type TupleArena struct {
	buf []byte
}

const (
	arenaChunk   = 256 << 10
	arenaMaxSize = 4 << 10 // bigger tuples get their own allocation
)

func (a *TupleArena) alloc(n int) Tuple {
	if a == nil || n > arenaMaxSize {
		return make(Tuple, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, arenaChunk)
	}
	l := len(a.buf)
	a.buf = a.buf[:l+n]
	return Tuple(a.buf[l : l+n : l+n])
}

type msgpackError string

func (e msgpackError) Error() string { return string(e) }

// checkArray validates b as one array value: flat arrays of scalars are
// checked in place, anything nested or an extension is decoded as
// DecodeMsgpack does (which knows the extension payloads).
func checkArray(b []byte) error {
	c := format.NewMPCursor(b)
	if c.Kind() != format.MPArray {
		if _, err := DecodeMsgpack(b); err != nil {
			return msgpackError(": " + err.Error())
		}
		return msgpackError(" is not an array")
	}
	n, err := c.ArrayLen()
	if err != nil {
		return msgpackError(": " + err.Error())
	}
	for i := 0; i < n; i++ {
		switch c.Kind() {
		case format.MPArray, format.MPMap, format.MPExt, format.MPInvalid:
			if _, err := DecodeMsgpack(b); err != nil {
				return msgpackError(": " + err.Error())
			}
			return nil
		}
		if err := c.Skip(); err != nil {
			return msgpackError(": " + errTruncated.Error())
		}
	}
	if c.More() {
		return msgpackError(": msgpack: " + itoa(uint32(len(c.Rest()))) + " trailing bytes")
	}
	return nil
}

// rawKind is what a key comparison needs to know about a MessagePack
// value without decoding it into a Go value.
type rawKind uint8

const (
	rawOther rawKind = iota // decode it
	rawNil
	rawUint
	rawNeg // negative integer
	rawStr
	rawAbsent // the field does not exist
)

// peek classifies the value at the start of b: unsigned and negative
// integers (u holds the bits), strings (s) and nil are read in place.
func peek(b []byte) (k rawKind, u uint64, s []byte) {
	if len(b) == 0 {
		return rawAbsent, 0, nil
	}
	c := b[0]
	switch {
	case c <= 0x7f:
		return rawUint, uint64(c), nil
	case c >= 0xe0:
		return rawNeg, uint64(int64(int8(c))), nil
	case c >= 0xa0 && c <= 0xbf:
		n := int(c & 0x1f)
		if len(b) < 1+n {
			return rawOther, 0, nil
		}
		return rawStr, 0, b[1 : 1+n]
	}
	switch c {
	case 0xc0:
		return rawNil, 0, nil
	case 0xcc:
		if len(b) >= 2 {
			return rawUint, uint64(b[1]), nil
		}
	case 0xcd:
		if len(b) >= 3 {
			return rawUint, uint64(binary.BigEndian.Uint16(b[1:])), nil
		}
	case 0xce:
		if len(b) >= 5 {
			return rawUint, uint64(binary.BigEndian.Uint32(b[1:])), nil
		}
	case 0xcf:
		if len(b) >= 9 {
			return rawUint, binary.BigEndian.Uint64(b[1:]), nil
		}
	case 0xd0, 0xd1, 0xd2, 0xd3:
		var v int64
		switch {
		case c == 0xd0 && len(b) >= 2:
			v = int64(int8(b[1]))
		case c == 0xd1 && len(b) >= 3:
			v = int64(int16(binary.BigEndian.Uint16(b[1:])))
		case c == 0xd2 && len(b) >= 5:
			v = int64(int32(binary.BigEndian.Uint32(b[1:])))
		case c == 0xd3 && len(b) >= 9:
			v = int64(binary.BigEndian.Uint64(b[1:]))
		default:
			return rawOther, 0, nil
		}
		if v >= 0 {
			return rawUint, uint64(v), nil
		}
		return rawNeg, uint64(v), nil
	case 0xd9:
		if len(b) >= 2 && len(b) >= 2+int(b[1]) {
			return rawStr, 0, b[2 : 2+int(b[1])]
		}
	case 0xda:
		if len(b) >= 3 {
			n := int(binary.BigEndian.Uint16(b[1:]))
			if len(b) >= 3+n {
				return rawStr, 0, b[3 : 3+n]
			}
		}
	case 0xdb:
		if len(b) >= 5 {
			n := int(binary.BigEndian.Uint32(b[1:]))
			if n >= 0 && len(b)-5 >= n {
				return rawStr, 0, b[5 : 5+n]
			}
		}
	}
	return rawOther, 0, nil
}

// decodeRaw decodes one value (nil for an absent field).
func decodeRaw(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	v, _, err := DecodeMsgpackPrefix(b)
	if err != nil {
		return nil
	}
	return v
}

// compareRaw compares two MessagePack values of a key part as
// compareField compares their decoded values: integers, strings under
// the binary collation and nil in place, the rest decoded.
func compareRaw(x, y []byte, p *keyPartRT) int {
	kx, ux, sx := peek(x)
	ky, uy, sy := peek(y)
	if kx == rawAbsent {
		kx = rawNil
	}
	if ky == rawAbsent {
		ky = rawNil
	}
	switch {
	case kx == rawNil || ky == rawNil:
		switch {
		case kx == ky:
			return 0
		case kx == rawNil:
			return -1
		}
		return 1
	case kx == rawUint && ky == rawUint:
		return cmpOrdered(ux, uy)
	case kx == rawNeg && ky == rawNeg:
		return cmpOrdered(int64(ux), int64(uy))
	case kx == rawUint && ky == rawNeg:
		return 1
	case kx == rawNeg && ky == rawUint:
		return -1
	case kx == rawStr && ky == rawStr && p.coll == collBinary:
		return bytes.Compare(sx, sy)
	}
	return compareField(decodeRaw(x), decodeRaw(y), p.typ, p.coll)
}

// compareRawValue compares a MessagePack value with a canonical one.
func compareRawValue(x []byte, y any, p *keyPartRT) int {
	kx, ux, sx := peek(x)
	switch yv := y.(type) {
	case nil:
		if kx == rawNil || kx == rawAbsent {
			return 0
		}
		return 1
	case uint64:
		switch kx {
		case rawUint:
			return cmpOrdered(ux, yv)
		case rawNeg:
			return -1
		case rawNil, rawAbsent:
			return -1
		}
	case int64:
		switch kx {
		case rawNeg:
			return cmpOrdered(int64(ux), yv)
		case rawUint:
			return 1
		case rawNil, rawAbsent:
			return -1
		}
	case string:
		switch kx {
		case rawStr:
			if p.coll == collBinary {
				return bytes.Compare(sx, []byte(yv))
			}
		case rawNil, rawAbsent:
			return -1
		}
	}
	return compareField(decodeRaw(x), y, p.typ, p.coll)
}

// Probe values standing for a MessagePack value's class in typeAccepts
// (boxed once, so checking a type allocates nothing).
var (
	probeUint any = uint64(0)
	probeNeg  any = int64(-1)
	probeStr  any = ""
	probeBin  any = []byte{}
	probeBool any = false
	probeF32  any = float32(0)
	probeF64  any = float64(0)
)

// rawProbe returns a value of the class of the MessagePack value at the
// start of b for type checks, or nil when it must be decoded.
func rawProbe(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	c := b[0]
	switch {
	case c <= 0x7f:
		return probeUint
	case c >= 0xe0:
		return probeNeg
	case c >= 0xa0 && c <= 0xbf, c >= 0xd9 && c <= 0xdb:
		return probeStr
	case c >= 0xc4 && c <= 0xc6:
		return probeBin
	case c == 0xc2 || c == 0xc3:
		return probeBool
	case c == 0xca:
		return probeF32
	case c == 0xcb:
		return probeF64
	case c >= 0xcc && c <= 0xcf:
		return probeUint
	case c >= 0xd0 && c <= 0xd3:
		if k, _, _ := peek(b); k == rawUint {
			return probeUint
		}
		return probeNeg
	}
	return nil
}
