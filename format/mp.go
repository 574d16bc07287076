package format

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The row decoder works on byte slices that stay in the block buffer, so it
// reads MessagePack with a small cursor instead of a stream decoder: no
// copies, no allocations, and every failure is a plain error value. Values
// that callers want as Go values are decoded with github.com/vmihailenco/msgpack.

var (
	errShort    = errors.New("unexpected end of MessagePack data")
	errMPType   = errors.New("unexpected MessagePack type")
	errMPNested = errors.New("MessagePack nesting too deep")
)

// MPKind is the coarse MessagePack type of a value.
type MPKind uint8

// MessagePack kinds.
const (
	MPInvalid MPKind = iota
	MPNil
	MPBool
	MPUint
	MPInt
	MPFloat32
	MPFloat64
	MPStr
	MPBin
	MPArray
	MPMap
	MPExt
)

// MPKindOf returns the kind of the value starting with byte c.
func MPKindOf(c byte) MPKind { return mpKinds[c] }

// mpKinds maps every first byte to its kind.
var mpKinds = func() (t [256]MPKind) {
	for i := range t {
		t[i] = mpKindOf(byte(i))
	}
	return t
}()

func mpKindOf(c byte) MPKind {
	switch {
	case c <= msgpcode.PosFixedNumHigh:
		return MPUint
	case c >= msgpcode.NegFixedNumLow:
		return MPInt
	case c >= msgpcode.FixedMapLow && c <= msgpcode.FixedMapHigh:
		return MPMap
	case c >= msgpcode.FixedArrayLow && c <= msgpcode.FixedArrayHigh:
		return MPArray
	case c >= msgpcode.FixedStrLow && c <= msgpcode.FixedStrHigh:
		return MPStr
	}
	switch c {
	case msgpcode.Nil:
		return MPNil
	case msgpcode.False, msgpcode.True:
		return MPBool
	case msgpcode.Uint8, msgpcode.Uint16, msgpcode.Uint32, msgpcode.Uint64:
		return MPUint
	case msgpcode.Int8, msgpcode.Int16, msgpcode.Int32, msgpcode.Int64:
		return MPInt
	case msgpcode.Float:
		return MPFloat32
	case msgpcode.Double:
		return MPFloat64
	case msgpcode.Str8, msgpcode.Str16, msgpcode.Str32:
		return MPStr
	case msgpcode.Bin8, msgpcode.Bin16, msgpcode.Bin32:
		return MPBin
	case msgpcode.Array16, msgpcode.Array32:
		return MPArray
	case msgpcode.Map16, msgpcode.Map32:
		return MPMap
	case msgpcode.FixExt1, msgpcode.FixExt2, msgpcode.FixExt4, msgpcode.FixExt8, msgpcode.FixExt16,
		msgpcode.Ext8, msgpcode.Ext16, msgpcode.Ext32:
		return MPExt
	}
	return MPInvalid
}

// MPCursor reads MessagePack values from b starting at p.
type MPCursor struct {
	b []byte
	p int
}

func (c *MPCursor) More() bool { return c.p < len(c.b) }

func (c *MPCursor) Kind() MPKind {
	if c.p >= len(c.b) {
		return MPInvalid
	}
	return MPKindOf(c.b[c.p])
}

func (c *MPCursor) need(n int) bool { return n >= 0 && len(c.b)-c.p >= n }

func (c *MPCursor) be(n int) uint64 {
	var v uint64
	switch n {
	case 1:
		v = uint64(c.b[c.p])
	case 2:
		v = uint64(binary.BigEndian.Uint16(c.b[c.p:]))
	case 4:
		v = uint64(binary.BigEndian.Uint32(c.b[c.p:]))
	case 8:
		v = binary.BigEndian.Uint64(c.b[c.p:])
	}
	c.p += n
	return v
}

// uint reads a MessagePack unsigned integer (any width, non-minimal allowed).
func (c *MPCursor) Uint() (uint64, error) {
	if !c.need(1) {
		return 0, errShort
	}
	t := c.b[c.p]
	if t <= msgpcode.PosFixedNumHigh {
		c.p++
		return uint64(t), nil
	}
	var n int
	switch t {
	case msgpcode.Uint8:
		n = 1
	case msgpcode.Uint16:
		n = 2
	case msgpcode.Uint32:
		n = 4
	case msgpcode.Uint64:
		n = 8
	default:
		return 0, errMPType
	}
	if !c.need(1 + n) {
		return 0, errShort
	}
	c.p++
	return c.be(n), nil
}

// int reads a signed or unsigned integer; unsigned values above MaxInt64 fail.
func (c *MPCursor) Int() (int64, error) {
	if !c.need(1) {
		return 0, errShort
	}
	t := c.b[c.p]
	if t >= msgpcode.NegFixedNumLow {
		c.p++
		return int64(int8(t)), nil
	}
	var n int
	switch t {
	case msgpcode.Int8:
		n = 1
	case msgpcode.Int16:
		n = 2
	case msgpcode.Int32:
		n = 4
	case msgpcode.Int64:
		n = 8
	default:
		u, err := c.Uint()
		if err != nil {
			return 0, err
		}
		if u > math.MaxInt64 {
			return 0, errMPType
		}
		return int64(u), nil
	}
	if !c.need(1 + n) {
		return 0, errShort
	}
	c.p++
	v := c.be(n)
	switch n {
	case 1:
		return int64(int8(v)), nil
	case 2:
		return int64(int16(v)), nil
	case 4:
		return int64(int32(v)), nil
	}
	return int64(v), nil
}

// float reads a float64 or float32 value.
func (c *MPCursor) Float() (float64, error) {
	if !c.need(1) {
		return 0, errShort
	}
	switch c.b[c.p] {
	case msgpcode.Double:
		if !c.need(9) {
			return 0, errShort
		}
		c.p++
		return math.Float64frombits(c.be(8)), nil
	case msgpcode.Float:
		if !c.need(5) {
			return 0, errShort
		}
		c.p++
		return float64(math.Float32frombits(uint32(c.be(4)))), nil
	}
	return 0, errMPType
}

// number reads any integer or float as float64.
func (c *MPCursor) Number() (float64, error) {
	switch c.Kind() {
	case MPUint:
		v, err := c.Uint()
		return float64(v), err
	case MPInt:
		v, err := c.Int()
		return float64(v), err
	}
	return c.Float()
}

func (c *MPCursor) MapLen() (int, error) {
	if !c.need(1) {
		return 0, errShort
	}
	t := c.b[c.p]
	if t >= msgpcode.FixedMapLow && t <= msgpcode.FixedMapHigh {
		c.p++
		return int(t & 0x0f), nil
	}
	var n int
	switch t {
	case msgpcode.Map16:
		n = 2
	case msgpcode.Map32:
		n = 4
	default:
		return 0, errMPType
	}
	if !c.need(1 + n) {
		return 0, errShort
	}
	c.p++
	return int(c.be(n)), nil
}

func (c *MPCursor) ArrayLen() (int, error) {
	if !c.need(1) {
		return 0, errShort
	}
	t := c.b[c.p]
	if t >= msgpcode.FixedArrayLow && t <= msgpcode.FixedArrayHigh {
		c.p++
		return int(t & 0x0f), nil
	}
	var n int
	switch t {
	case msgpcode.Array16:
		n = 2
	case msgpcode.Array32:
		n = 4
	default:
		return 0, errMPType
	}
	if !c.need(1 + n) {
		return 0, errShort
	}
	c.p++
	return int(c.be(n)), nil
}

// bytes reads a str or bin value and returns it without copying.
func (c *MPCursor) Bytes() ([]byte, error) {
	if !c.need(1) {
		return nil, errShort
	}
	t := c.b[c.p]
	var l int
	switch {
	case t >= msgpcode.FixedStrLow && t <= msgpcode.FixedStrHigh:
		c.p++
		l = int(t & 0x1f)
	case t == msgpcode.Str8 || t == msgpcode.Bin8:
		if !c.need(2) {
			return nil, errShort
		}
		c.p++
		l = int(c.be(1))
	case t == msgpcode.Str16 || t == msgpcode.Bin16:
		if !c.need(3) {
			return nil, errShort
		}
		c.p++
		l = int(c.be(2))
	case t == msgpcode.Str32 || t == msgpcode.Bin32:
		if !c.need(5) {
			return nil, errShort
		}
		c.p++
		l = int(c.be(4))
	default:
		return nil, errMPType
	}
	if !c.need(l) {
		return nil, errShort
	}
	s := c.b[c.p : c.p+l]
	c.p += l
	return s, nil
}

// ext reads an extension value header and data.
func (c *MPCursor) Ext() (int8, []byte, error) {
	if !c.need(1) {
		return 0, nil, errShort
	}
	t := c.b[c.p]
	var l, hdr int
	switch t {
	case msgpcode.FixExt1:
		l, hdr = 1, 1
	case msgpcode.FixExt2:
		l, hdr = 2, 1
	case msgpcode.FixExt4:
		l, hdr = 4, 1
	case msgpcode.FixExt8:
		l, hdr = 8, 1
	case msgpcode.FixExt16:
		l, hdr = 16, 1
	case msgpcode.Ext8, msgpcode.Ext16, msgpcode.Ext32:
		n := 4
		if t == msgpcode.Ext8 {
			n = 1
		} else if t == msgpcode.Ext16 {
			n = 2
		}
		if !c.need(1 + n) {
			return 0, nil, errShort
		}
		q := MPCursor{b: c.b, p: c.p + 1}
		l = int(q.be(n))
		hdr = 1 + n
	default:
		return 0, nil, errMPType
	}
	if !c.need(hdr + 1 + l) {
		return 0, nil, errShort
	}
	c.p += hdr
	typ := int8(c.b[c.p])
	c.p++
	d := c.b[c.p : c.p+l]
	c.p += l
	return typ, d, nil
}

// itemSize returns the number of header bytes, payload bytes and child
// items of the value starting at c.p without moving the cursor.
func (c *MPCursor) itemSize() (hdr, payload, children int, err error) {
	if !c.need(1) {
		return 0, 0, 0, errShort
	}
	t := c.b[c.p]
	switch {
	case t <= msgpcode.PosFixedNumHigh || t >= msgpcode.NegFixedNumLow:
		return 1, 0, 0, nil
	case t >= msgpcode.FixedMapLow && t <= msgpcode.FixedMapHigh:
		return 1, 0, 2 * int(t&0x0f), nil
	case t >= msgpcode.FixedArrayLow && t <= msgpcode.FixedArrayHigh:
		return 1, 0, int(t & 0x0f), nil
	case t >= msgpcode.FixedStrLow && t <= msgpcode.FixedStrHigh:
		return 1, int(t & 0x1f), 0, nil
	}
	lenOf := func(n int) (int, error) {
		if !c.need(1 + n) {
			return 0, errShort
		}
		q := MPCursor{b: c.b, p: c.p + 1}
		return int(q.be(n)), nil
	}
	switch t {
	case msgpcode.Nil, msgpcode.False, msgpcode.True:
		return 1, 0, 0, nil
	case msgpcode.Uint8, msgpcode.Int8:
		return 1, 1, 0, nil
	case msgpcode.Uint16, msgpcode.Int16:
		return 1, 2, 0, nil
	case msgpcode.Uint32, msgpcode.Int32, msgpcode.Float:
		return 1, 4, 0, nil
	case msgpcode.Uint64, msgpcode.Int64, msgpcode.Double:
		return 1, 8, 0, nil
	case msgpcode.Str8, msgpcode.Bin8:
		l, err := lenOf(1)
		return 2, l, 0, err
	case msgpcode.Str16, msgpcode.Bin16:
		l, err := lenOf(2)
		return 3, l, 0, err
	case msgpcode.Str32, msgpcode.Bin32:
		l, err := lenOf(4)
		return 5, l, 0, err
	case msgpcode.Array16:
		l, err := lenOf(2)
		return 3, 0, l, err
	case msgpcode.Array32:
		l, err := lenOf(4)
		return 5, 0, l, err
	case msgpcode.Map16:
		l, err := lenOf(2)
		return 3, 0, 2 * l, err
	case msgpcode.Map32:
		l, err := lenOf(4)
		return 5, 0, 2 * l, err
	case msgpcode.FixExt1:
		return 2, 1, 0, nil
	case msgpcode.FixExt2:
		return 2, 2, 0, nil
	case msgpcode.FixExt4:
		return 2, 4, 0, nil
	case msgpcode.FixExt8:
		return 2, 8, 0, nil
	case msgpcode.FixExt16:
		return 2, 16, 0, nil
	case msgpcode.Ext8:
		l, err := lenOf(1)
		return 3, l, 0, err
	case msgpcode.Ext16:
		l, err := lenOf(2)
		return 4, l, 0, err
	case msgpcode.Ext32:
		l, err := lenOf(4)
		return 6, l, 0, err
	}
	return 0, 0, 0, errMPType
}

// skip moves the cursor past one complete value (iteratively: a hostile
// nesting depth costs no stack).
func (c *MPCursor) Skip() error {
	pending := 1
	for pending > 0 {
		// Fast paths for what rows are mostly made of; they end as the
		// generic walk below does, errors included.
		if c.p < len(c.b) {
			n, children := 0, 0
			switch t := c.b[c.p]; {
			case t <= msgpcode.PosFixedNumHigh || t >= msgpcode.NegFixedNumLow:
				n = 1
			case t >= msgpcode.FixedStrLow && t <= msgpcode.FixedStrHigh:
				n = 1 + int(t&0x1f)
			case t >= msgpcode.FixedMapLow && t <= msgpcode.FixedMapHigh:
				n, children = 1, 2*int(t&0x0f)
			case t >= msgpcode.FixedArrayLow && t <= msgpcode.FixedArrayHigh:
				n, children = 1, int(t&0x0f)
			case t == msgpcode.Double || t == msgpcode.Uint64 || t == msgpcode.Int64:
				n = 9
			case t == msgpcode.Uint8 || t == msgpcode.Int8:
				n = 2
			case t == msgpcode.Uint16 || t == msgpcode.Int16:
				n = 3
			case t == msgpcode.Uint32 || t == msgpcode.Int32:
				n = 5
			case t == msgpcode.Str8:
				if len(c.b)-c.p < 2 {
					return errShort
				}
				n = 2 + int(c.b[c.p+1])
			}
			if n > 0 {
				if len(c.b)-c.p < n {
					return errShort
				}
				c.p += n
				pending += children - 1
				if pending > len(c.b)-c.p+1 {
					return errShort
				}
				continue
			}
		}
		hdr, payload, children, err := c.itemSize()
		if err != nil {
			return err
		}
		if !c.need(hdr + payload) {
			return errShort
		}
		c.p += hdr + payload
		pending += children - 1
		if pending > len(c.b)-c.p+1 {
			// Every pending item needs at least one more byte.
			return errShort
		}
	}
	return nil
}

// MPSkip returns the length of the first MessagePack value in b.
func MPSkip(b []byte) (int, error) {
	c := MPCursor{b: b}
	err := c.Skip()
	return c.p, err
}

// MPValid reports whether b holds exactly one complete MessagePack value.
func MPValid(b []byte) bool {
	n, err := MPSkip(b)
	return err == nil && n == len(b)
}

// appendUint appends v as a minimal MessagePack unsigned integer.
func appendUint(b []byte, v uint64) []byte {
	switch {
	case v <= uint64(msgpcode.PosFixedNumHigh):
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, msgpcode.Uint8, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, msgpcode.Uint16), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, msgpcode.Uint32), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Uint64), v)
}

// AppendUint appends v as a minimal MessagePack unsigned integer, the
// encoding Tarantool requires for every integer key and value of a row header.
func AppendUint(b []byte, v uint64) []byte { return appendUint(b, v) }

func appendFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Double), math.Float64bits(f))
}

func appendMapLen(b []byte, n int) []byte {
	return appendLen(b, n, msgpcode.FixedMapLow, msgpcode.Map16, msgpcode.Map32)
}

// appendLen appends the header of a map or an array of n entries: the
// fixed form below 16, else the 16- or 32-bit one.
func appendLen(b []byte, n int, fixed, c16, c32 byte) []byte {
	switch {
	case n < 16:
		return append(b, fixed|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, c16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, c32), uint32(n))
}

// NewMPCursor returns a cursor over b.
func NewMPCursor(b []byte) *MPCursor { return &MPCursor{b: b} }

// Pos returns the cursor's offset in its data.
func (c *MPCursor) Pos() int { return c.p }

// Rest returns the data not read yet.
func (c *MPCursor) Rest() []byte { return c.b[c.p:] }

// Bool reads a boolean.
func (c *MPCursor) Bool() (bool, error) {
	if !c.need(1) {
		return false, errShort
	}
	switch c.b[c.p] {
	case msgpcode.True:
		c.p++
		return true, nil
	case msgpcode.False:
		c.p++
		return false, nil
	}
	return false, errMPType
}

// Nil reads a nil value.
func (c *MPCursor) Nil() error {
	if !c.need(1) {
		return errShort
	}
	if c.b[c.p] != msgpcode.Nil {
		return errMPType
	}
	c.p++
	return nil
}

// Raw reads one whole value and returns its bytes.
func (c *MPCursor) Raw() ([]byte, error) {
	start := c.p
	if err := c.Skip(); err != nil {
		return nil, err
	}
	return c.b[start:c.p:c.p], nil
}

// AppendMapLen appends a MessagePack map header of n entries.
func AppendMapLen(b []byte, n int) []byte { return appendMapLen(b, n) }

// AppendArrayLen appends a MessagePack array header of n elements.
func AppendArrayLen(b []byte, n int) []byte {
	return appendLen(b, n, msgpcode.FixedArrayLow, msgpcode.Array16, msgpcode.Array32)
}

// AppendString appends s as a MessagePack string.
func AppendString(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, msgpcode.FixedStrLow|byte(n))
	case n <= math.MaxUint8:
		b = append(b, msgpcode.Str8, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, msgpcode.Str16), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, msgpcode.Str32), uint32(n))
	}
	return append(b, s...)
}

// AppendInt appends v as a minimal MessagePack integer: unsigned when it
// is not negative, as Tarantool encodes integers.
func AppendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return appendUint(b, uint64(v))
	}
	switch {
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, msgpcode.Int8, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, msgpcode.Int16), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, msgpcode.Int32), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Int64), uint64(v))
}

// AppendBool appends a MessagePack boolean.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, msgpcode.True)
	}
	return append(b, msgpcode.False)
}

// AppendFloat32 appends f as a MessagePack float32.
func AppendFloat32(b []byte, f float32) []byte {
	return binary.BigEndian.AppendUint32(append(b, msgpcode.Float), math.Float32bits(f))
}

// AppendFloat64 appends f as a MessagePack float64.
func AppendFloat64(b []byte, f float64) []byte { return appendFloat64(b, f) }

// AppendBin appends s as MessagePack binary data (MP_BIN).
func AppendBin(b []byte, s []byte) []byte {
	n := len(s)
	switch {
	case n <= math.MaxUint8:
		b = append(b, msgpcode.Bin8, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, msgpcode.Bin16), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, msgpcode.Bin32), uint32(n))
	}
	return append(b, s...)
}

// AppendExt appends a MessagePack extension value of type typ: the fixed
// forms for payloads of 1, 2, 4, 8 and 16 bytes, else ext 8/16/32.
func AppendExt(b []byte, typ int8, data []byte) []byte {
	switch n := len(data); {
	case n == 1:
		b = append(b, msgpcode.FixExt1)
	case n == 2:
		b = append(b, msgpcode.FixExt2)
	case n == 4:
		b = append(b, msgpcode.FixExt4)
	case n == 8:
		b = append(b, msgpcode.FixExt8)
	case n == 16:
		b = append(b, msgpcode.FixExt16)
	case n <= math.MaxUint8:
		b = append(b, msgpcode.Ext8, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, msgpcode.Ext16), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, msgpcode.Ext32), uint32(n))
	}
	return append(append(b, byte(typ)), data...)
}

// Float32 reads a float32 value as it is (Float widens it).
func (c *MPCursor) Float32() (float32, error) {
	if !c.need(1) {
		return 0, errShort
	}
	if c.b[c.p] != msgpcode.Float {
		return 0, errMPType
	}
	if !c.need(5) {
		return 0, errShort
	}
	c.p++
	return math.Float32frombits(uint32(c.be(4))), nil
}
