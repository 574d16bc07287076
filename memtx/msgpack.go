package memtx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/xlogtool/xlogtool/box"
)

// DecodeMsgpack decodes one MsgPack value from b directly into the
// canonical representation, interpreting Tarantool's extension types
// without any registration. Trailing bytes are an error.
func DecodeMsgpack(b []byte) (any, error) {
	r := &mpReader{buf: b}
	v, err := r.value(0)
	if err != nil {
		return nil, err
	}
	if r.pos != len(b) {
		return nil, fmt.Errorf("msgpack: %d trailing bytes", len(b)-r.pos)
	}
	return v, nil
}

// DecodeMsgpackPrefix decodes one MsgPack value from the start of b and
// returns it with the number of bytes consumed.
func DecodeMsgpackPrefix(b []byte) (any, int, error) {
	r := &mpReader{buf: b}
	v, err := r.value(0)
	return v, r.pos, err
}

var errTruncated = errors.New("msgpack: truncated value")

type mpReader struct {
	buf []byte
	pos int
}

func (r *mpReader) need(n int) ([]byte, error) {
	if n < 0 || len(r.buf)-r.pos < n {
		return nil, errTruncated
	}
	b := r.buf[r.pos : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *mpReader) uintN(n int) (uint64, error) {
	b, err := r.need(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v, nil
}

func (r *mpReader) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("msgpack: nesting deeper than %d", maxDepth)
	}
	cb, err := r.need(1)
	if err != nil {
		return nil, err
	}
	c := cb[0]
	switch {
	case c <= 0x7f:
		return uint64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c >= 0xa0 && c <= 0xbf:
		return r.str(int(c & 0x1f))
	case c >= 0x90 && c <= 0x9f:
		return r.array(int(c&0x0f), depth)
	case c >= 0x80 && c <= 0x8f:
		return r.mapv(int(c&0x0f), depth)
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		return r.uintN(1 << (c - 0xcc))
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (c - 0xd0)
		u, err := r.uintN(n)
		if err != nil {
			return nil, err
		}
		shift := uint(64 - 8*n)
		return normInt(int64(u<<shift) >> shift), nil
	case 0xca:
		u, err := r.uintN(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(uint32(u)), nil
	case 0xcb:
		u, err := r.uintN(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(u), nil
	case 0xd9, 0xda, 0xdb:
		n, err := r.uintN(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return r.str(int(min(n, math.MaxInt32)))
	case 0xc4, 0xc5, 0xc6:
		n, err := r.uintN(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		b, err := r.need(int(min(n, math.MaxInt32)))
		if err != nil {
			return nil, err
		}
		out := make([]byte, len(b))
		copy(out, b)
		return out, nil
	case 0xdc, 0xdd:
		n, err := r.uintN(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return r.array(int(min(n, math.MaxInt32)), depth)
	case 0xde, 0xdf:
		n, err := r.uintN(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return r.mapv(int(min(n, math.MaxInt32)), depth)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return r.ext(1 << (c - 0xd4))
	case 0xc7, 0xc8, 0xc9:
		n, err := r.uintN(1 << (c - 0xc7))
		if err != nil {
			return nil, err
		}
		return r.ext(int(min(n, math.MaxInt32)))
	}
	return nil, fmt.Errorf("msgpack: invalid code 0x%02x", c)
}

func (r *mpReader) str(n int) (any, error) {
	b, err := r.need(n)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decodeArray decodes b, which must hold exactly one MsgPack value, and
// returns its elements when it is an array (ok false otherwise), without
// boxing the slice itself.
func decodeArray(b []byte) (elems []any, ok bool, err error) {
	r := &mpReader{buf: b}
	var n uint64
	switch {
	case len(b) == 0:
		return nil, false, errTruncated
	case b[0] >= 0x90 && b[0] <= 0x9f:
		n, r.pos = uint64(b[0]&0x0f), 1
	case b[0] == 0xdc || b[0] == 0xdd:
		r.pos = 1
		if n, err = r.uintN(2 << (b[0] - 0xdc)); err != nil {
			return nil, true, err
		}
	default:
		return nil, false, nil
	}
	a, err := r.elements(int(min(n, math.MaxInt32)), 0)
	if err != nil {
		return nil, true, err
	}
	if r.pos != len(b) {
		return nil, true, fmt.Errorf("msgpack: %d trailing bytes", len(b)-r.pos)
	}
	return a, true, nil
}

func (r *mpReader) array(n, depth int) (any, error) {
	return r.elements(n, depth)
}

func (r *mpReader) elements(n, depth int) ([]any, error) {
	if n > len(r.buf)-r.pos {
		return nil, errTruncated
	}
	out := make([]any, n)
	for i := range out {
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (r *mpReader) mapv(n, depth int) (any, error) {
	if n > (len(r.buf)-r.pos)/2 {
		return nil, errTruncated
	}
	out := make(Map, n)
	for i := range out {
		k, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[i] = MapEntry{k, v}
	}
	return out, nil
}

func (r *mpReader) ext(n int) (any, error) {
	tb, err := r.need(1)
	if err != nil {
		return nil, err
	}
	data, err := r.need(n)
	if err != nil {
		return nil, err
	}
	return extFromRaw(int8(tb[0]), data)
}

// EncodeMsgpack encodes a canonical value (see Normalize) as MsgPack using
// the smallest encodings, as Tarantool does.
func EncodeMsgpack(v any) ([]byte, error) {
	return appendValue(nil, v, 0)
}

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func appendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return appendUint(b, uint64(v))
	}
	switch {
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

func appendLen(b []byte, n int, fix, fixMax byte, c8, c16, c32 byte) []byte {
	switch {
	case fixMax != 0 && n <= int(fixMax):
		return append(b, fix|byte(n))
	case c8 != 0 && n <= math.MaxUint8:
		return append(b, c8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, c16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, c32), uint32(n))
}

func appendExt(b []byte, typ int8, data []byte) []byte {
	switch len(data) {
	case 1:
		b = append(b, 0xd4, byte(typ))
	case 2:
		b = append(b, 0xd5, byte(typ))
	case 4:
		b = append(b, 0xd6, byte(typ))
	case 8:
		b = append(b, 0xd7, byte(typ))
	case 16:
		b = append(b, 0xd8, byte(typ))
	default:
		b = appendLen(b, len(data), 0, 0, 0xc7, 0xc8, 0xc9)
		b = append(b, byte(typ))
	}
	return append(b, data...)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("msgpack: nesting deeper than %d", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case bool:
		if x {
			return append(b, 0xc3), nil
		}
		return append(b, 0xc2), nil
	case uint64:
		return appendUint(b, x), nil
	case int64:
		return appendInt(b, x), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(b, 0xca), math.Float32bits(x)), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(x)), nil
	case string:
		b = appendLen(b, len(x), 0xa0, 31, 0xd9, 0xda, 0xdb)
		return append(b, x...), nil
	case []byte:
		b = appendLen(b, len(x), 0, 0, 0xc4, 0xc5, 0xc6)
		return append(b, x...), nil
	case []any:
		b = appendLen(b, len(x), 0x90, 15, 0, 0xdc, 0xdd)
		var err error
		for _, e := range x {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case Map:
		b = appendLen(b, len(x), 0x80, 15, 0, 0xde, 0xdf)
		var err error
		for _, e := range x {
			if b, err = appendValue(b, e.Key, depth+1); err != nil {
				return nil, err
			}
			if b, err = appendValue(b, e.Value, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case Decimal:
		return appendExt(b, box.ExtDecimal, x.Encode()), nil
	case UUID:
		return appendExt(b, box.ExtUUID, x[:]), nil
	case Datetime:
		return appendExt(b, box.ExtDatetime, encodeDatetime(x)), nil
	case Interval:
		return appendExt(b, box.ExtInterval, []byte(x.Raw)), nil
	case Ext:
		return appendExt(b, x.Type, []byte(x.Data)), nil
	}
	// Not canonical yet (e.g. an int or a Go map): normalise first.
	n, err := Normalize(v)
	if err != nil {
		return nil, err
	}
	return appendValue(b, n, depth+1)
}

// MarshalMsgpack returns the extension payload of a UUID.
func (u *UUID) MarshalMsgpack() ([]byte, error) { return u[:], nil }

// UnmarshalMsgpack decodes an extension payload.
func (u *UUID) UnmarshalMsgpack(b []byte) error {
	if len(b) != 16 {
		return fmt.Errorf("uuid extension of %d bytes", len(b))
	}
	copy(u[:], b)
	return nil
}

// MarshalMsgpack returns the extension payload of a datetime.
func (d *Datetime) MarshalMsgpack() ([]byte, error) { return encodeDatetime(*d), nil }

// UnmarshalMsgpack decodes an extension payload.
func (d *Datetime) UnmarshalMsgpack(b []byte) error {
	v, err := decodeDatetime(b)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalMsgpack returns the extension payload of an interval.
func (iv *Interval) MarshalMsgpack() ([]byte, error) { return []byte(iv.Raw), nil }

// UnmarshalMsgpack keeps the extension payload.
func (iv *Interval) UnmarshalMsgpack(b []byte) error {
	iv.Raw = string(b)
	return nil
}

// RegisterExtensions registers Tarantool's extension types (decimal,
// uuid, datetime, interval) with github.com/vmihailenco/msgpack/v5, so
// that decoding into interface{} yields values Normalize understands.
// The registry belongs to that library and is process-wide; call this once
// from main or from a file reader's initialisation. It is idempotent.
func RegisterExtensions() {
	msgpack.RegisterExt(box.ExtDecimal, (*Decimal)(nil))
	msgpack.RegisterExt(box.ExtUUID, (*UUID)(nil))
	msgpack.RegisterExt(box.ExtDatetime, (*Datetime)(nil))
	msgpack.RegisterExt(box.ExtInterval, (*Interval)(nil))
}
