package iproto

import (
	"errors"
	"fmt"
	"math"
	"reflect"

	"github.com/xlogtool/xlogtool/format"
)

// Ext is a MessagePack extension value (Tarantool decimals, UUIDs, ...),
// kept undecoded.
type Ext struct {
	Type int8
	Data []byte
}

// maxDepth bounds the nesting of decoded values.
const maxDepth = 512

var errTruncated = errors.New("msgpack: truncated value")

// decodeValue decodes exactly one MessagePack value from b into generic Go
// values:
//
//   - nil, bool, string, []byte (bin), float64 (float32 is widened);
//   - integers as int64, except unsigned values above MaxInt64 (uint64);
//   - arrays as []any;
//   - maps as map[string]any when every key is a string, else map[any]any;
//   - extensions as Ext.
//
// Trailing bytes after the value are an error. Every length is checked
// against the bytes that remain before anything is allocated, so hostile
// input cannot make it allocate more than the input's size.
func decodeValue(b []byte) (any, error) {
	c := format.NewMPCursor(b)
	v, err := value(c, 0)
	if err != nil {
		return nil, err
	}
	if rest := len(c.Rest()); rest != 0 {
		return nil, fmt.Errorf("msgpack: %d trailing bytes after value", rest)
	}
	return v, nil
}

func value(c *format.MPCursor, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("msgpack: value nested too deeply")
	}
	if !c.More() {
		return nil, errTruncated
	}
	switch c.Kind() {
	case format.MPNil:
		return nil, c.Nil()
	case format.MPBool:
		return c.Bool()
	case format.MPUint:
		n, err := c.Uint()
		if n > math.MaxInt64 {
			return n, err
		}
		return int64(n), err
	case format.MPInt:
		return c.Int()
	case format.MPFloat32, format.MPFloat64:
		return c.Float()
	case format.MPStr:
		s, err := c.Bytes()
		return string(s), err
	case format.MPBin:
		s, err := c.Bytes()
		return append([]byte{}, s...), err
	case format.MPExt:
		t, d, err := c.Ext()
		return Ext{Type: t, Data: append([]byte{}, d...)}, err
	case format.MPArray:
		n, err := c.ArrayLen()
		if err != nil {
			return nil, err
		}
		if n > len(c.Rest()) {
			return nil, errTruncated
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = value(c, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case format.MPMap:
		n, err := c.MapLen()
		if err != nil {
			return nil, err
		}
		if 2*n > len(c.Rest()) {
			return nil, errTruncated
		}
		return mapValue(c, n, depth)
	}
	return nil, fmt.Errorf("msgpack: invalid code 0x%02x", c.Rest()[0])
}

func mapValue(c *format.MPCursor, n, depth int) (any, error) {
	keys := make([]any, n)
	vals := make([]any, n)
	allStrings := true
	var err error
	for i := range n {
		if keys[i], err = value(c, depth+1); err != nil {
			return nil, err
		}
		if _, ok := keys[i].(string); !ok {
			allStrings = false
			if keys[i] != nil && !reflect.TypeOf(keys[i]).Comparable() {
				return nil, fmt.Errorf("msgpack: map key of type %T", keys[i])
			}
		}
		if vals[i], err = value(c, depth+1); err != nil {
			return nil, err
		}
	}
	if allStrings {
		m := make(map[string]any, n)
		for i, k := range keys {
			m[k.(string)] = vals[i]
		}
		return m, nil
	}
	m := make(map[any]any, n)
	for i, k := range keys {
		m[k] = vals[i]
	}
	return m, nil
}
