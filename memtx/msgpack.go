package memtx

import (
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// DecodeMsgpack decodes one MsgPack value from b directly into the
// canonical representation, interpreting Tarantool's extension types
// without any registration. Trailing bytes are an error. The bytes are
// read with format.MPCursor, the tree's one MessagePack reader.
func DecodeMsgpack(b []byte) (any, error) {
	c := format.NewMPCursor(b)
	v, err := value(c, 0)
	if err != nil {
		return nil, err
	}
	if c.More() {
		return nil, fmt.Errorf("msgpack: %d trailing bytes", len(c.Rest()))
	}
	return v, nil
}

// DecodeMsgpackPrefix decodes one MsgPack value from the start of b and
// returns it with the number of bytes consumed.
func DecodeMsgpackPrefix(b []byte) (any, int, error) {
	c := format.NewMPCursor(b)
	v, err := value(c, 0)
	return v, c.Pos(), err
}

var errTruncated = errors.New("msgpack: truncated value")

// truncated reports a failed read of a value whose kind was known: the
// cursor fails there only when the data ends.
func truncated(err error) error {
	if err != nil {
		return errTruncated
	}
	return nil
}

func value(c *format.MPCursor, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("msgpack: nesting deeper than %d", maxDepth)
	}
	switch c.Kind() {
	case format.MPUint:
		v, err := c.Uint()
		return v, truncated(err)
	case format.MPInt:
		v, err := c.Int()
		if err != nil {
			return nil, errTruncated
		}
		return normInt(v), nil
	case format.MPStr:
		s, err := c.Bytes()
		if err != nil {
			return nil, errTruncated
		}
		return string(s), nil
	case format.MPArray:
		n, err := c.ArrayLen()
		if err != nil {
			return nil, errTruncated
		}
		return elements(c, n, depth)
	case format.MPMap:
		n, err := c.MapLen()
		if err != nil {
			return nil, errTruncated
		}
		return mapv(c, n, depth)
	case format.MPNil:
		return nil, truncated(c.Nil())
	case format.MPBool:
		v, err := c.Bool()
		return v, truncated(err)
	case format.MPFloat32:
		v, err := c.Float32()
		return v, truncated(err)
	case format.MPFloat64:
		v, err := c.Float()
		return v, truncated(err)
	case format.MPBin:
		s, err := c.Bytes()
		if err != nil {
			return nil, errTruncated
		}
		return append(make([]byte, 0, len(s)), s...), nil
	case format.MPExt:
		typ, data, err := c.Ext()
		if err != nil {
			return nil, errTruncated
		}
		return extFromRaw(typ, data)
	}
	if !c.More() {
		return nil, errTruncated
	}
	return nil, fmt.Errorf("msgpack: invalid code 0x%02x", c.Rest()[0])
}

// decodeArray decodes b, which must hold exactly one MsgPack value, and
// returns its elements when it is an array (ok false otherwise), without
// boxing the slice itself.
func decodeArray(b []byte) (elems []any, ok bool, err error) {
	c := format.NewMPCursor(b)
	switch c.Kind() {
	case format.MPInvalid:
		if len(b) == 0 {
			return nil, false, errTruncated
		}
		return nil, false, nil
	case format.MPArray:
	default:
		return nil, false, nil
	}
	n, err := c.ArrayLen()
	if err != nil {
		return nil, true, errTruncated
	}
	a, err := elements(c, n, 0)
	if err != nil {
		return nil, true, err
	}
	if c.More() {
		return nil, true, fmt.Errorf("msgpack: %d trailing bytes", len(c.Rest()))
	}
	return a, true, nil
}

func elements(c *format.MPCursor, n, depth int) ([]any, error) {
	if n > len(c.Rest()) {
		return nil, errTruncated
	}
	out := make([]any, n)
	for i := range out {
		v, err := value(c, depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func mapv(c *format.MPCursor, n, depth int) (any, error) {
	if n > len(c.Rest())/2 {
		return nil, errTruncated
	}
	out := make(Map, n)
	for i := range out {
		k, err := value(c, depth+1)
		if err != nil {
			return nil, err
		}
		v, err := value(c, depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = MapEntry{k, v}
	}
	return out, nil
}

// EncodeMsgpack encodes a canonical value (see Normalize) as MsgPack using
// the smallest encodings, as Tarantool does.
func EncodeMsgpack(v any) ([]byte, error) {
	return appendValue(nil, v, 0)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("msgpack: nesting deeper than %d", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case bool:
		return format.AppendBool(b, x), nil
	case uint64:
		return format.AppendUint(b, x), nil
	case int64:
		return format.AppendInt(b, x), nil
	case float32:
		return format.AppendFloat32(b, x), nil
	case float64:
		return format.AppendFloat64(b, x), nil
	case string:
		return format.AppendString(b, x), nil
	case []byte:
		return format.AppendBin(b, x), nil
	case []any:
		b = format.AppendArrayLen(b, len(x))
		var err error
		for _, e := range x {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case Map:
		b = format.AppendMapLen(b, len(x))
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
		return format.AppendExt(b, box.ExtDecimal, x.Encode()), nil
	case UUID:
		return format.AppendExt(b, box.ExtUUID, x[:]), nil
	case Datetime:
		return format.AppendExt(b, box.ExtDatetime, encodeDatetime(x)), nil
	case Interval:
		return format.AppendExt(b, box.ExtInterval, []byte(x.Raw)), nil
	case Ext:
		return format.AppendExt(b, x.Type, []byte(x.Data)), nil
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
