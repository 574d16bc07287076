package memtx

import (
	"encoding/binary"
	"math"
)

// Comparison hints, as memtx TREE indexes keep them since Tarantool 2.2:
// beside each tuple reference a B-tree entry holds a 64-bit hint, a
// summary of the tuple's value in the first key part that preserves the
// index order without being exact:
//
//	hint(a) < hint(b)  implies  a < b
//	hint(a) == hint(b) tells nothing: the tuples are compared
//
// so that most comparisons of a search compare two integers and never
// read the tuples (each a cache miss in a large tree). hintNone is a
// hint that never decides.
//
// A hint is the value's class in the mixed order of 'scalar' (nil <
// boolean < number < string < varbinary < uuid < datetime < ... ; see
// classOf) in its top 4 bits and 60 bits of the value below:
//
//   - numbers: the integer part (floor of a double), clamped to
//     [-2^59, 2^59-1] and shifted to be non-negative; NaN and -Inf sort
//     with the lowest, so integers and doubles of one part share one
//     scale. Decimals have hintNone (their order against the others
//     needs the exact comparison).
//   - strings (binary collation), varbinary and uuid: the first 60
//     bits of the bytes, big-endian, zero-padded; strings under another
//     collation have the class alone.
//   - booleans: 0 or 1; datetimes: their seconds, clamped as integers.
//   - nil (and absent fields): 0, the lowest hint.
//   - everything else (intervals, arrays, maps, extensions): the class
//     alone.
//
// A descending first part reverses the hints; a first part with a JSON
// path has hintNone.

// hintNone is the hint that decides no comparison.
const hintNone = ^uint64(0)

const (
	hintValueBits = 60
	hintValueMax  = 1<<hintValueBits - 1
	// hintTop is above every hint but hintNone: a descending part's
	// hint is hintTop - hint.
	hintTop = (classExt+1)<<hintValueBits - 1
)

// hintCmp compares two hints: -1 or 1 when they order their keys, 0
// when the keys must be compared.
func hintCmp(a, b uint64) int {
	switch {
	case a == b || a == hintNone || b == hintNone:
		return 0
	case a < b:
		return -1
	}
	return 1
}

func hintClass(class int, v uint64) uint64 { return uint64(class)<<hintValueBits | v }

func hintUint(u uint64) uint64 {
	if u >= 1<<(hintValueBits-1) {
		return hintClass(classNumber, hintValueMax)
	}
	return hintClass(classNumber, u+1<<(hintValueBits-1))
}

func hintInt(i int64) uint64 {
	if i >= 0 {
		return hintUint(uint64(i))
	}
	if i < -1<<(hintValueBits-1) {
		return hintClass(classNumber, 0)
	}
	return hintClass(classNumber, uint64(i+1<<(hintValueBits-1)))
}

func hintFloat(f float64) uint64 {
	switch {
	case math.IsNaN(f) || f < -(1<<(hintValueBits-1)):
		return hintClass(classNumber, 0)
	case f >= 1<<(hintValueBits-1):
		return hintClass(classNumber, hintValueMax)
	}
	return hintInt(int64(math.Floor(f)))
}

// hintBytes is the hint of a string, a varbinary or a uuid.
func hintBytes[S string | []byte](class int, b S) uint64 {
	var p [8]byte
	copy(p[:], b)
	return hintClass(class, binary.BigEndian.Uint64(p[:])>>(64-hintValueBits))
}

// hintRaw is the hint of the MessagePack value b (nil: absent) in key
// part p (without a path).
func hintRaw(b []byte, p *keyPartRT) uint64 {
	return hintOrder(hintRawAsc(b, p), p)
}

func hintOrder(h uint64, p *keyPartRT) uint64 {
	if p.desc && h != hintNone {
		return hintTop - h
	}
	return h
}

func hintRawAsc(b []byte, p *keyPartRT) uint64 {
	if len(b) == 0 {
		return hintClass(classNil, 0)
	}
	switch c := b[0]; {
	case c <= 0x7f:
		return hintUint(uint64(c))
	case c >= 0xe0:
		return hintInt(int64(int8(c)))
	case c >= 0xa0 && c <= 0xbf:
		if k, _, s := peek(b); k == rawStr {
			return hintString(s, p)
		}
	case c == 0xc0:
		return hintClass(classNil, 0)
	case c == 0xc2:
		return hintClass(classBool, 0)
	case c == 0xc3:
		return hintClass(classBool, 1)
	case c >= 0xcc && c <= 0xd3:
		switch k, u, _ := peek(b); k {
		case rawUint:
			return hintUint(u)
		case rawNeg:
			return hintInt(int64(u))
		}
	case c == 0xca && len(b) >= 5:
		return hintFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(b[1:]))))
	case c == 0xcb && len(b) >= 9:
		return hintFloat(math.Float64frombits(binary.BigEndian.Uint64(b[1:])))
	case c >= 0xd9 && c <= 0xdb:
		if k, _, s := peek(b); k == rawStr {
			return hintString(s, p)
		}
	}
	return hintValueAsc(decodeRaw(b), p)
}

func hintString(s []byte, p *keyPartRT) uint64 {
	if p.coll != collBinary {
		return hintClass(classString, 0)
	}
	return hintBytes(classString, s)
}

// hintValue is the hint of the canonical value v in key part p.
func hintValue(v any, p *keyPartRT) uint64 {
	return hintOrder(hintValueAsc(v, p), p)
}

func hintValueAsc(v any, p *keyPartRT) uint64 {
	switch x := v.(type) {
	case nil:
		return hintClass(classNil, 0)
	case bool:
		if x {
			return hintClass(classBool, 1)
		}
		return hintClass(classBool, 0)
	case uint64:
		return hintUint(x)
	case int64:
		return hintInt(x)
	case float32:
		return hintFloat(float64(x))
	case float64:
		return hintFloat(x)
	case Decimal:
		return hintNone
	case string:
		if p.coll != collBinary {
			return hintClass(classString, 0)
		}
		return hintBytes(classString, x)
	case []byte:
		return hintBytes(classBin, x)
	case UUID:
		return hintBytes(classUUID, x[:])
	case Datetime:
		h := hintInt(x.Seconds)
		return hintClass(classDatetime, h&hintValueMax)
	}
	return hintClass(classOf(v), 0)
}

// tupleHint is the hint of tuple t in an index of kd.
func (kd *keyDef) tupleHint(t Tuple) uint64 {
	if len(kd.parts) == 0 || kd.parts[0].path != nil {
		return hintNone
	}
	p := &kd.parts[0]
	return hintRaw(fieldAt(t, p.field), p)
}

// keyHint is the hint of the key taken out of a tuple.
func (kd *keyDef) keyHint(k *tupleKey) uint64 {
	if !k.ok {
		return kd.tupleHint(k.t)
	}
	if len(kd.parts) == 0 {
		return hintNone
	}
	return hintRaw(k.parts[0], &kd.parts[0])
}

// valuesHint is the hint of a search key of values (a prefix of the
// parts; hintNone for an empty one).
func (kd *keyDef) valuesHint(key []any) uint64 {
	if len(key) == 0 || len(kd.parts) == 0 || kd.parts[0].path != nil {
		return hintNone
	}
	p := &kd.parts[0]
	return hintValue(key[0], p)
}
