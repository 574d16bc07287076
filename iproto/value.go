package iproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
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

// mpReader decodes MessagePack from a byte slice. Every length is checked
// against the bytes that remain before anything is allocated, so hostile
// input cannot make it allocate more than the input's size.
type mpReader struct {
	b   []byte
	pos int
}

func (r *mpReader) remaining() int { return len(r.b) - r.pos }

func (r *mpReader) take(n uint64) ([]byte, error) {
	if n > uint64(r.remaining()) {
		return nil, errTruncated
	}
	b := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b, nil
}

func (r *mpReader) code() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// bigEndian reads an unsigned integer of size bytes.
func (r *mpReader) bigEndian(size int) (uint64, error) {
	b, err := r.take(uint64(size))
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, x := range b {
		n = n<<8 | uint64(x)
	}
	return n, nil
}

// item describes the next value: its code, the size of its payload (the
// bytes of a string, bin, number or extension) or the number of values it
// contains (array: n, map: 2n). The length fields are consumed.
type item struct {
	code     byte
	payload  uint64
	children uint64
}

func (r *mpReader) head() (item, error) {
	c, err := r.code()
	if err != nil {
		return item{}, err
	}
	it := item{code: c}
	var lenSize int
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		return it, nil
	case c <= 0x8f:
		it.children = 2 * uint64(c&0x0f)
		return it, nil
	case c <= 0x9f:
		it.children = uint64(c & 0x0f)
		return it, nil
	case c <= 0xbf:
		it.payload = uint64(c & 0x1f)
		return it, nil
	case c == 0xc4 || c == 0xd9:
		lenSize = 1
	case c == 0xc5 || c == 0xda || c == 0xdc || c == 0xde:
		lenSize = 2
	case c == 0xc6 || c == 0xdb || c == 0xdd || c == 0xdf:
		lenSize = 4
	case c >= 0xc7 && c <= 0xc9: // ext 8/16/32: length, then the type byte
		n, err := r.bigEndian(1 << (c - 0xc7))
		it.payload = n + 1
		return it, err
	case c == 0xca:
		it.payload = 4
		return it, nil
	case c == 0xcb:
		it.payload = 8
		return it, nil
	case c >= 0xcc && c <= 0xcf:
		it.payload = 1 << (c - 0xcc)
		return it, nil
	case c >= 0xd0 && c <= 0xd3:
		it.payload = 1 << (c - 0xd0)
		return it, nil
	case c >= 0xd4 && c <= 0xd8: // fixext 1..16, plus the type byte
		it.payload = 1<<(c-0xd4) + 1
		return it, nil
	default:
		return it, fmt.Errorf("msgpack: invalid code 0x%02x", c)
	}
	n, err := r.bigEndian(lenSize)
	if err != nil {
		return it, err
	}
	switch c {
	case 0xdc, 0xdd:
		it.children = n
	case 0xde, 0xdf:
		it.children = 2 * n
	default:
		it.payload = n
	}
	return it, nil
}

// skip passes over one value without building it.
func (r *mpReader) skip() error {
	for pending := uint64(1); pending > 0; pending-- {
		it, err := r.head()
		if err != nil {
			return err
		}
		if _, err := r.take(it.payload); err != nil {
			return err
		}
		if it.children > uint64(r.remaining()) {
			return errTruncated
		}
		pending += it.children
	}
	return nil
}

// uint reads a non-negative integer in any integer encoding.
func (r *mpReader) uint() (uint64, error) {
	it, err := r.head()
	if err != nil {
		return 0, err
	}
	c := it.code
	switch {
	case c <= 0x7f:
		return uint64(c), nil
	case c >= 0xcc && c <= 0xcf:
		return r.bigEndian(int(it.payload))
	case c >= 0xd0 && c <= 0xd3:
		v, err := r.signed(int(it.payload))
		if err == nil && v < 0 {
			err = fmt.Errorf("msgpack: negative integer %d, want unsigned", v)
		}
		return uint64(v), err
	}
	return 0, fmt.Errorf("msgpack: code 0x%02x is not an unsigned integer", c)
}

func (r *mpReader) signed(size int) (int64, error) {
	n, err := r.bigEndian(size)
	if err != nil {
		return 0, err
	}
	shift := 64 - 8*size
	return int64(n<<shift) >> shift, nil
}

// mapLen reads a map header.
func (r *mpReader) mapLen() (int, error) {
	it, err := r.head()
	if err != nil {
		return 0, err
	}
	if c := it.code; !(c >= 0x80 && c <= 0x8f || c == 0xde || c == 0xdf) {
		return 0, fmt.Errorf("msgpack: code 0x%02x is not a map", c)
	}
	if it.children > uint64(r.remaining()) {
		return 0, errTruncated
	}
	return int(it.children / 2), nil
}

// decodeValue decodes exactly one MessagePack value from b into generic Go
// values:
//
//   - nil, bool, string, []byte (bin), float64 (float32 is widened);
//   - integers as int64, except unsigned values above MaxInt64 (uint64);
//   - arrays as []any;
//   - maps as map[string]any when every key is a string, else map[any]any;
//   - extensions as Ext.
//
// Trailing bytes after the value are an error.
func decodeValue(b []byte) (any, error) {
	r := &mpReader{b: b}
	v, err := r.value(0)
	if err != nil {
		return nil, err
	}
	if r.remaining() != 0 {
		return nil, fmt.Errorf("msgpack: %d trailing bytes after value", r.remaining())
	}
	return v, nil
}

func (r *mpReader) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("msgpack: value nested too deeply")
	}
	it, err := r.head()
	if err != nil {
		return nil, err
	}
	if it.children > uint64(r.remaining()) {
		return nil, errTruncated
	}
	payload, err := r.take(it.payload)
	if err != nil {
		return nil, err
	}
	c := it.code
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	case c <= 0x8f || c == 0xde || c == 0xdf:
		return r.mapValue(int(it.children/2), depth)
	case c <= 0x9f || c == 0xdc || c == 0xdd:
		out := make([]any, it.children)
		for i := range out {
			if out[i], err = r.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case c <= 0xbf || c >= 0xd9 && c <= 0xdb:
		return string(payload), nil
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6:
		return append([]byte{}, payload...), nil
	case 0xca:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(payload))), nil
	case 0xcb:
		return math.Float64frombits(binary.BigEndian.Uint64(payload)), nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		var n uint64
		for _, x := range payload {
			n = n<<8 | uint64(x)
		}
		if n > math.MaxInt64 {
			return n, nil
		}
		return int64(n), nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		var n uint64
		for _, x := range payload {
			n = n<<8 | uint64(x)
		}
		shift := 64 - 8*len(payload)
		return int64(n<<shift) >> shift, nil
	}
	// Extensions: the type byte, then the data.
	return Ext{Type: int8(payload[0]), Data: append([]byte{}, payload[1:]...)}, nil
}

func (r *mpReader) mapValue(n, depth int) (any, error) {
	keys := make([]any, n)
	vals := make([]any, n)
	allStrings := true
	var err error
	for i := range n {
		if keys[i], err = r.value(depth + 1); err != nil {
			return nil, err
		}
		if _, ok := keys[i].(string); !ok {
			allStrings = false
			if keys[i] != nil && !reflect.TypeOf(keys[i]).Comparable() {
				return nil, fmt.Errorf("msgpack: map key of type %T", keys[i])
			}
		}
		if vals[i], err = r.value(depth + 1); err != nil {
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
