package memtx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"sort"
	"time"

	"github.com/xlogtool/xlogtool/box"
)

// Map is a MsgPack map in canonical form: its entries in encoding order.
// A slice is used instead of a Go map because MsgPack keys may be of any
// type (including arrays) and because the order is part of the encoding.
type Map []MapEntry

// MapEntry is one key/value pair of a Map.
type MapEntry struct {
	Key   any
	Value any
}

// Get returns the value stored under the string key k.
func (m Map) Get(k string) (any, bool) {
	for _, e := range m {
		if s, ok := e.Key.(string); ok && s == k {
			return e.Value, true
		}
	}
	return nil, false
}

// index returns the position of the entry with string key k, or -1.
func (m Map) index(k string) int {
	for i, e := range m {
		if s, ok := e.Key.(string); ok && s == k {
			return i
		}
	}
	return -1
}

// UUID is the value of a MsgPack extension of type 2 (16 bytes, big endian).
type UUID [16]byte

func (u UUID) String() string {
	b := u[:]
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Datetime is the value of a MsgPack extension of type 4.
type Datetime struct {
	Seconds  int64 // since the Unix epoch, UTC
	Nsec     int32
	TZOffset int16 // minutes
	TZIndex  int16
}

// Interval is the value of a MsgPack extension of type 6, kept as its raw
// payload (it is never compared by value, only stored).
type Interval struct {
	Raw string
}

// Ext is an extension value of a type the engine does not interpret
// (including negative, application-defined types).
type Ext struct {
	Type int8
	Data string
}

// Normalize converts a value produced by a MsgPack decoder (in particular
// github.com/vmihailenco/msgpack/v5 decoding into interface{}) to the
// canonical representation used by the engine; see the package
// documentation. It never panics; unsupported Go types are reported as
// errors.
func Normalize(v any) (any, error) {
	return normalize(v, 0)
}

// maxDepth bounds the nesting of values accepted by the engine.
const maxDepth = 512

func normalize(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nesting deeper than %d", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool, string, float32, float64, Decimal, UUID, Datetime, Interval, Ext:
		return x, nil
	case uint64:
		return x, nil
	case int64:
		return normInt(x), nil
	case int:
		return normInt(int64(x)), nil
	case int8:
		return normInt(int64(x)), nil
	case int16:
		return normInt(int64(x)), nil
	case int32:
		return normInt(int64(x)), nil
	case uint:
		return uint64(x), nil
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case []byte:
		if x == nil {
			x = []byte{}
		}
		return bytes.Clone(x), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case Map:
		out := make(Map, len(x))
		for i, e := range x {
			k, err := normalize(e.Key, depth+1)
			if err != nil {
				return nil, err
			}
			val, err := normalize(e.Value, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = MapEntry{k, val}
		}
		return out, nil
	case map[string]any:
		out := make(Map, 0, len(x))
		for k, e := range x {
			val, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, MapEntry{k, val})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key.(string) < out[j].Key.(string) })
		return out, nil
	case map[any]any:
		out := make(Map, 0, len(x))
		for k, e := range x {
			nk, err := normalize(k, depth+1)
			if err != nil {
				return nil, err
			}
			val, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, MapEntry{nk, val})
		}
		sort.SliceStable(out, func(i, j int) bool { return compareAny(out[i].Key, out[j].Key) < 0 })
		return out, nil
	case *Decimal:
		if x == nil {
			return nil, nil
		}
		return *x, nil
	case *UUID:
		if x == nil {
			return nil, nil
		}
		return *x, nil
	case *Datetime:
		if x == nil {
			return nil, nil
		}
		return *x, nil
	case *Interval:
		if x == nil {
			return nil, nil
		}
		return *x, nil
	case *Ext:
		if x == nil {
			return nil, nil
		}
		return *x, nil
	case time.Time:
		// vmihailenco/msgpack decodes extension -1 (timestamp) this way.
		var b [12]byte
		binary.BigEndian.PutUint32(b[0:4], uint32(x.Nanosecond()))
		binary.BigEndian.PutUint64(b[4:12], uint64(x.Unix()))
		return Ext{Type: -1, Data: string(b[:])}, nil
	}
	return normalizeReflect(v, depth)
}

// normalizeReflect handles named types whose underlying type is one of the
// supported kinds (e.g. a RawExt defined by a caller).
func normalizeReflect(v any, depth int) (any, error) {
	if e, ok := v.(interface {
		ExtType() int8
		ExtData() []byte
	}); ok {
		return extFromRaw(e.ExtType(), e.ExtData())
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return normInt(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint(), nil
	case reflect.Float32:
		return float32(rv.Float()), nil
	case reflect.Float64:
		return rv.Float(), nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return bytes.Clone(rv.Bytes()), nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normalize(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

func normInt(x int64) any {
	if x >= 0 {
		return uint64(x)
	}
	return x
}

// extFromRaw interprets an extension payload.
func extFromRaw(typ int8, data []byte) (any, error) {
	switch typ {
	case box.ExtDecimal:
		d, err := DecodeDecimal(data)
		if err != nil {
			return nil, err
		}
		return d, nil
	case box.ExtUUID:
		if len(data) != 16 {
			return nil, fmt.Errorf("uuid extension of %d bytes", len(data))
		}
		var u UUID
		copy(u[:], data)
		return u, nil
	case box.ExtDatetime:
		return decodeDatetime(data)
	case box.ExtInterval:
		return Interval{Raw: string(data)}, nil
	}
	return Ext{Type: typ, Data: string(data)}, nil
}

func decodeDatetime(data []byte) (Datetime, error) {
	var d Datetime
	switch len(data) {
	case 8, 16:
	default:
		return d, fmt.Errorf("datetime extension of %d bytes", len(data))
	}
	d.Seconds = int64(binary.LittleEndian.Uint64(data[0:8]))
	if len(data) == 16 {
		d.Nsec = int32(binary.LittleEndian.Uint32(data[8:12]))
		d.TZOffset = int16(binary.LittleEndian.Uint16(data[12:14]))
		d.TZIndex = int16(binary.LittleEndian.Uint16(data[14:16]))
	}
	return d, nil
}

func encodeDatetime(d Datetime) []byte {
	if d.Nsec == 0 && d.TZOffset == 0 && d.TZIndex == 0 {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, uint64(d.Seconds))
		return b
	}
	b := make([]byte, 16)
	binary.LittleEndian.PutUint64(b[0:8], uint64(d.Seconds))
	binary.LittleEndian.PutUint32(b[8:12], uint32(d.Nsec))
	binary.LittleEndian.PutUint16(b[12:14], uint16(d.TZOffset))
	binary.LittleEndian.PutUint16(b[14:16], uint16(d.TZIndex))
	return b
}

// Equal reports whether two canonical values are equal: same MsgPack type
// and value, arrays element-wise, maps as unordered sets of entries,
// decimals by numeric value, NaNs equal to NaNs with the same bits.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case uint64:
		y, ok := b.(uint64)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float32:
		y, ok := b.(float32)
		return ok && (x == y || math.Float32bits(x) == math.Float32bits(y))
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.Float64bits(x) == math.Float64bits(y))
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case Map:
		y, ok := b.(Map)
		if !ok || len(x) != len(y) {
			return false
		}
		used := make([]bool, len(y))
	outer:
		for _, e := range x {
			for j, f := range y {
				if !used[j] && Equal(e.Key, f.Key) && Equal(e.Value, f.Value) {
					used[j] = true
					continue outer
				}
			}
			return false
		}
		return true
	case Decimal:
		y, ok := b.(Decimal)
		return ok && x.Cmp(y) == 0
	case UUID:
		y, ok := b.(UUID)
		return ok && x == y
	case Datetime:
		y, ok := b.(Datetime)
		return ok && x == y
	case Interval:
		y, ok := b.(Interval)
		return ok && x == y
	case Ext:
		y, ok := b.(Ext)
		return ok && x == y
	}
	return false
}

// cloneShallow copies a tuple's top-level slice.
func cloneShallow(t []any) []any {
	out := make([]any, len(t))
	copy(out, t)
	return out
}
