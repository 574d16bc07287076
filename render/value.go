package render

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// maxDepth bounds the nesting of values printed; deeper data is damage.
const maxDepth = 256

var errDepth = errors.New("value nested too deep")

// AppendJSONString appends s as a JSON string. Bytes that are not UTF-8
// become U+FFFD, so the output is always valid JSON.
func AppendJSONString(b []byte, s []byte) []byte { return appendJSONString(b, s) }

func appendJSONString(b []byte, s []byte) []byte {
	b, _ = appendJSONStr(b, s, true)
	return b
}

// appendJSONStr appends s as a JSON string. A byte that is not UTF-8
// becomes U+FFFD when replace is set; otherwise the append stops there and
// ok is false (b is then longer than before: cut it back).
func appendJSONStr(b []byte, s []byte, replace bool) (_ []byte, ok bool) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Pass over eight plain ASCII bytes at a time.
		for i+8 <= len(s) && !needsEscape8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, `\u00`...)
				b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			if !replace {
				return b, false
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"'), true
}

const hexDigits = "0123456789abcdef"

// needsEscape8 reports whether any of the eight bytes of w (a byte string
// read little-endian) is not plain ASCII to copy into a JSON string as it
// is: a control character, '"', '\\' or a byte of a multibyte character.
// It may err towards true, never towards false.
func needsEscape8(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	return (w-ones*0x20)&^w&highs|hasZero(w^(ones*'"'))|hasZero(w^(ones*'\\'))|w&highs != 0
}

func appendFloat(b []byte, f float64, prec int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	// Plain notation where it reads well (as encoding/json does), exponent
	// notation for very large and very small magnitudes.
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.AppendFloat(b, f, 'f', prec, 64)
	}
	return strconv.AppendFloat(b, f, 'g', prec, 64)
}

// scalar is a decoded MessagePack scalar, kept in a form each printer turns
// into its own syntax.
type scalar struct {
	kind format.MPKind
	u    uint64
	i    int64
	f    float64
	s    []byte
	bool bool
	// ext: a textual form of a known extension (decimal, uuid, datetime ...)
	ext   string
	isExt bool
	// extType and extData: the extension as stored.
	extType int8
	extData []byte
}

func readScalar(c *format.MPCursor) (scalar, error) {
	var v scalar
	var err error
	v.kind = c.Kind()
	switch v.kind {
	case format.MPNil:
		err = c.Nil()
	case format.MPBool:
		v.bool, err = c.Bool()
	case format.MPUint:
		v.u, err = c.Uint()
	case format.MPInt:
		v.i, err = c.Int()
	case format.MPFloat32, format.MPFloat64:
		v.f, err = c.Float()
	case format.MPStr, format.MPBin:
		v.s, err = c.Bytes()
	case format.MPExt:
		var typ int8
		var data []byte
		typ, data, err = c.Ext()
		if err == nil {
			v.ext, v.isExt = extString(typ, data), true
			v.extType, v.extData = typ, data
		}
	default:
		err = fmt.Errorf("invalid MessagePack byte at %d", c.Pos())
	}
	return v, err
}

// extString renders Tarantool's extension values as their text form.
func extString(typ int8, data []byte) string {
	switch typ {
	case box.ExtDecimal:
		if s, ok := decimalString(data); ok {
			return s
		}
	case box.ExtUUID:
		if len(data) == 16 {
			return fmt.Sprintf("%x-%x-%x-%x-%x", data[0:4], data[4:6], data[6:8], data[8:10], data[10:16])
		}
	case box.ExtDatetime:
		if s, ok := datetimeString(data); ok {
			return s
		}
	}
	return fmt.Sprintf("ext(%d):%x", typ, data)
}

// decimalString decodes Tarantool's decimal extension: a MessagePack
// integer scale followed by packed BCD digits whose last nibble is the sign.
func decimalString(data []byte) (string, bool) {
	neg, digits, scale, ok := decimalParts(data)
	if !ok {
		return "", false
	}
	var out []byte
	if neg {
		out = append(out, '-')
	}
	switch {
	case scale <= 0:
		out = append(out, digits...)
		for i := int64(0); i < -scale && i < 1000; i++ {
			out = append(out, '0')
		}
	case int64(len(digits)) > scale:
		p := len(digits) - int(scale)
		out = append(out, digits[:p]...)
		out = append(out, '.')
		out = append(out, digits[p:]...)
	default:
		if scale > 1000 {
			return "", false
		}
		out = append(out, '0', '.')
		for i := int64(len(digits)); i < scale; i++ {
			out = append(out, '0')
		}
		out = append(out, digits...)
	}
	return string(out), true
}

// decimalParts decodes a decimal extension into its sign, its digits
// without leading zeros (at least one) and its scale.
func decimalParts(data []byte) (neg bool, digits []byte, scale int64, ok bool) {
	c := format.NewMPCursor(data)
	scale, err := c.Int()
	if err != nil {
		return false, nil, 0, false
	}
	bcd := c.Rest()
	if len(bcd) == 0 {
		return false, nil, 0, false
	}
	for i, x := range bcd {
		hi, lo := x>>4, x&0xf
		if i > 0 || hi != 0 {
			digits = append(digits, '0'+hi)
		}
		if i < len(bcd)-1 {
			digits = append(digits, '0'+lo)
		}
	}
	sign := bcd[len(bcd)-1] & 0xf
	for _, d := range digits {
		if d > '9' {
			return false, nil, 0, false
		}
	}
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		digits = []byte{'0'}
	}
	return sign == 0x0b || sign == 0x0d, digits, scale, true
}

func datetimeString(data []byte) (string, bool) {
	if len(data) != 8 && len(data) != 16 {
		return "", false
	}
	sec := int64(binary.LittleEndian.Uint64(data))
	var nsec int32
	var tzoff int16
	if len(data) == 16 {
		nsec = int32(binary.LittleEndian.Uint32(data[8:]))
		tzoff = int16(binary.LittleEndian.Uint16(data[12:]))
	}
	loc := time.FixedZone("", int(tzoff)*60)
	t := time.Unix(sec, int64(nsec)).In(loc)
	if tzoff == 0 {
		t = t.UTC()
	}
	return t.Format(time.RFC3339Nano), true
}

// appendJSONValue transcodes one MessagePack value to JSON. Map keys become
// strings: integers in decimal, other scalars in their JSON text.
func appendJSONValue(b []byte, c *format.MPCursor, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, errDepth
	}
	switch c.Kind() {
	case format.MPArray:
		n, err := c.ArrayLen()
		if err != nil {
			return b, err
		}
		b = append(b, '[')
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSONValue(b, c, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case format.MPMap:
		n, err := c.MapLen()
		if err != nil {
			return b, err
		}
		b = append(b, '{')
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSONKey(b, c, depth+1); err != nil {
				return b, err
			}
			b = append(b, ':')
			if b, err = appendJSONValue(b, c, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	// The common scalars directly, the rest through readScalar.
	switch c.Kind() {
	case format.MPUint:
		u, err := c.Uint()
		return strconv.AppendUint(b, u, 10), err
	case format.MPStr, format.MPBin:
		k := c.Kind()
		s, err := c.Bytes()
		if err != nil {
			return b, err
		}
		return appendJSONBytes(b, k, s), nil
	case format.MPFloat64, format.MPFloat32:
		f, err := c.Float()
		if err != nil {
			return b, err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...), nil
		}
		return appendFloat(b, f, -1), nil
	}
	v, err := readScalar(c)
	if err != nil {
		return b, err
	}
	return appendJSONScalar(b, &v), nil
}

func appendJSONScalar(b []byte, v *scalar) []byte {
	switch v.kind {
	case format.MPNil:
		return append(b, "null"...)
	case format.MPBool:
		return strconv.AppendBool(b, v.bool)
	case format.MPUint:
		return strconv.AppendUint(b, v.u, 10)
	case format.MPInt:
		return strconv.AppendInt(b, v.i, 10)
	case format.MPFloat32, format.MPFloat64:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return append(b, "null"...)
		}
		return appendFloat(b, v.f, -1)
	case format.MPStr, format.MPBin:
		return appendJSONBytes(b, v.kind, v.s)
	}
	return appendJSONString(b, []byte(v.ext))
}

// AppendJSONBytes appends a string (bin false) or binary data (bin true)
// the way JSON rows print them: see appendJSONBytes.
func AppendJSONBytes(b []byte, s []byte, bin bool) []byte {
	if bin {
		return appendJSONBytes(b, format.MPBin, s)
	}
	return appendJSONBytes(b, format.MPStr, s)
}

// appendJSONBytes appends a MessagePack string or binary value so that
// no byte is lost: a string that is valid UTF-8 as a JSON string, binary
// data as {"$binary": "BASE64"} and a string that is not valid UTF-8 as
// {"$string": "BASE64"} (standard base64 of the exact bytes).
func appendJSONBytes(b []byte, kind format.MPKind, s []byte) []byte {
	if kind == format.MPBin {
		b = append(b, `{"$binary":"`...)
	} else {
		n := len(b)
		out, ok := appendJSONStr(b, s, false)
		if ok {
			return out
		}
		b = append(out[:n], `{"$string":"`...)
	}
	b = appendBase64(b, s)
	return append(b, `"}`...)
}

func appendJSONKey(b []byte, c *format.MPCursor, depth int) ([]byte, error) {
	switch k := c.Kind(); k {
	case format.MPStr, format.MPBin:
		s, err := c.Bytes()
		if err != nil {
			return b, err
		}
		if k == format.MPStr && utf8.Valid(s) {
			return appendJSONString(b, s), nil
		}
		// Keys are JSON strings: the text of the value's JSON form.
		return appendJSONString(b, appendJSONBytes(nil, k, s)), nil
	case format.MPUint, format.MPInt, format.MPFloat32, format.MPFloat64, format.MPBool, format.MPNil, format.MPExt:
		v, err := readScalar(c)
		if err != nil {
			return b, err
		}
		var tmp [64]byte
		return appendJSONString(b, appendJSONScalar(tmp[:0], &v)), nil
	}
	// A container as a key: print its JSON text as the key.
	var err error
	tmp, err := appendJSONValue(nil, c, depth)
	if err != nil {
		return b, err
	}
	return appendJSONString(b, tmp), nil
}

func appendBase64(b []byte, s []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(s))
	b = append(b, make([]byte, n)...)
	base64.StdEncoding.Encode(b[len(b)-n:], s)
	return b
}
