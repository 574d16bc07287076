package memtx

import (
	"bytes"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FieldType is a Tarantool field type (of a space format field or an
// index part).
type FieldType uint8

// Field types, in the order of Tarantool's enum field_type.
const (
	TypeAny FieldType = iota
	TypeUnsigned
	TypeString
	TypeNumber
	TypeDouble
	TypeInteger
	TypeBoolean
	TypeVarbinary
	TypeScalar
	TypeDecimal
	TypeUUID
	TypeDatetime
	TypeInterval
	TypeArray
	TypeMap
	TypeInt8
	TypeUint8
	TypeInt16
	TypeUint16
	TypeInt32
	TypeUint32
	TypeInt64
	TypeUint64
	TypeFloat32
	TypeFloat64
	TypeDecimal32
	TypeDecimal64
	TypeDecimal128
	TypeDecimal256
	fieldTypeMax
)

var fieldTypeNames = [fieldTypeMax]string{
	"any", "unsigned", "string", "number", "double", "integer", "boolean",
	"varbinary", "scalar", "decimal", "uuid", "datetime", "interval", "array",
	"map", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
	"uint64", "float32", "float64", "decimal32", "decimal64", "decimal128",
	"decimal256",
}

func (t FieldType) String() string {
	if t < fieldTypeMax {
		return fieldTypeNames[t]
	}
	return "unknown"
}

// ParseFieldType maps a type name found in _space formats or _index parts
// of any version to a FieldType. Names are case-insensitive; the 1.6 names
// 'num' and 'str', '*' (any), 'int' (integer) and 'unknown' are accepted.
func ParseFieldType(name string) (FieldType, bool) {
	for i, n := range fieldTypeNames {
		if strings.EqualFold(n, name) {
			return FieldType(i), true
		}
	}
	switch strings.ToLower(name) {
	case "num", "num64":
		return TypeUnsigned, true
	case "str":
		return TypeString, true
	case "int":
		return TypeInteger, true
	case "*", "unknown":
		return TypeAny, true
	}
	return TypeAny, false
}

// fixedIntRange gives the bounds of the 3.x fixed-size integer types.
func fixedIntRange(t FieldType) (lo int64, hi uint64, ok bool) {
	switch t {
	case TypeInt8:
		return math.MinInt8, math.MaxInt8, true
	case TypeUint8:
		return 0, math.MaxUint8, true
	case TypeInt16:
		return math.MinInt16, math.MaxInt16, true
	case TypeUint16:
		return 0, math.MaxUint16, true
	case TypeInt32:
		return math.MinInt32, math.MaxInt32, true
	case TypeUint32:
		return 0, math.MaxUint32, true
	case TypeInt64:
		return math.MinInt64, math.MaxInt64, true
	case TypeUint64:
		return 0, math.MaxUint64, true
	}
	return 0, 0, false
}

// TypeRules selects which MsgPack values each field type accepts; the
// rules were relaxed over Tarantool versions.
type TypeRules uint8

const (
	// RulesLatest are the rules of Tarantool 3.x, a superset of the older
	// ones: data written by any version passes them.
	RulesLatest TypeRules = iota
	// Rules210 are those of 2.10 and 2.11: 'double' takes MsgPack doubles
	// only.
	Rules210
	// Rules2 are those of 2.x before 2.10: in addition, 'scalar' takes
	// neither uuid nor datetime values.
	Rules2
)

// typeAccepts reports whether a non-nil canonical value may be stored in a
// field of type t under the given rules.
func typeAccepts(t FieldType, v any, rules TypeRules) bool {
	if rules != RulesLatest {
		switch v.(type) {
		case uint64, int64, float32:
			if t == TypeDouble {
				return false
			}
		case UUID, Datetime:
			if t == TypeScalar && rules == Rules2 {
				return false
			}
		}
	}
	switch x := v.(type) {
	case uint64:
		switch t {
		case TypeAny, TypeUnsigned, TypeNumber, TypeDouble, TypeInteger, TypeScalar:
			return true
		}
		_, hi, ok := fixedIntRange(t)
		return ok && x <= hi
	case int64:
		switch t {
		case TypeAny, TypeNumber, TypeDouble, TypeInteger, TypeScalar:
			return true
		}
		lo, _, ok := fixedIntRange(t)
		return ok && lo < 0 && x >= lo
	case float32:
		switch t {
		case TypeAny, TypeNumber, TypeDouble, TypeScalar, TypeFloat32:
			return true
		}
	case float64:
		switch t {
		case TypeAny, TypeNumber, TypeDouble, TypeScalar, TypeFloat64:
			return true
		}
	case string:
		return t == TypeAny || t == TypeString || t == TypeScalar
	case []byte:
		return t == TypeAny || t == TypeVarbinary || t == TypeScalar
	case bool:
		return t == TypeAny || t == TypeBoolean || t == TypeScalar
	case []any:
		return t == TypeAny || t == TypeArray
	case Map:
		return t == TypeAny || t == TypeMap
	case Decimal:
		switch t {
		case TypeAny, TypeNumber, TypeScalar, TypeDecimal, TypeDecimal32,
			TypeDecimal64, TypeDecimal128, TypeDecimal256:
			return true
		}
	case UUID:
		return t == TypeAny || t == TypeUUID || t == TypeScalar
	case Datetime:
		return t == TypeAny || t == TypeDatetime || t == TypeScalar
	case Interval:
		return t == TypeAny || t == TypeInterval
	case Ext:
		return t == TypeAny && x.Type >= 0
	}
	return false
}

// Value classes of the mixed-type ('scalar'/'any') order. Tarantool orders
// nil < boolean < number < string < varbinary < uuid < datetime <
// interval < array < map; unknown extensions sort last.
const (
	classNil = iota
	classBool
	classNumber
	classString
	classBin
	classUUID
	classDatetime
	classInterval
	classArray
	classMap
	classExt
)

func classOf(v any) int {
	switch v.(type) {
	case nil:
		return classNil
	case bool:
		return classBool
	case uint64, int64, float32, float64, Decimal:
		return classNumber
	case string:
		return classString
	case []byte:
		return classBin
	case UUID:
		return classUUID
	case Datetime:
		return classDatetime
	case Interval:
		return classInterval
	case []any:
		return classArray
	case Map:
		return classMap
	}
	return classExt
}

// collKind is the comparison used for strings of a key part.
type collKind uint8

const (
	collBinary    collKind = iota // memcmp
	collUnicode                   // approximation of ICU tertiary strength
	collUnicodeCI                 // approximation of ICU primary/secondary strength
)

// compareAny is the total order of the 'scalar'/'any' field types.
func compareAny(a, b any) int {
	return compareScalar(a, b, collBinary)
}

func compareScalar(a, b any, coll collKind) int {
	ca, cb := classOf(a), classOf(b)
	if ca != cb {
		return cmpInt(ca, cb)
	}
	switch ca {
	case classNil:
		return 0
	case classBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case classNumber:
		return compareNumbers(a, b)
	case classString:
		return compareStrings(a.(string), b.(string), coll)
	case classBin:
		return bytes.Compare(a.([]byte), b.([]byte))
	case classUUID:
		x, y := a.(UUID), b.(UUID)
		return bytes.Compare(x[:], y[:])
	case classDatetime:
		x, y := a.(Datetime), b.(Datetime)
		if x.Seconds != y.Seconds {
			return cmpOrdered(x.Seconds, y.Seconds)
		}
		return cmpOrdered(x.Nsec, y.Nsec)
	case classInterval:
		return strings.Compare(a.(Interval).Raw, b.(Interval).Raw)
	case classArray:
		x, y := a.([]any), b.([]any)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := compareScalar(x[i], y[i], coll); c != 0 {
				return c
			}
		}
		return cmpInt(len(x), len(y))
	case classMap:
		x, y := a.(Map), b.(Map)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := compareScalar(x[i].Key, y[i].Key, coll); c != 0 {
				return c
			}
			if c := compareScalar(x[i].Value, y[i].Value, coll); c != 0 {
				return c
			}
		}
		return cmpInt(len(x), len(y))
	}
	x, y := a.(Ext), b.(Ext)
	if x.Type != y.Type {
		return cmpOrdered(x.Type, y.Type)
	}
	return strings.Compare(x.Data, y.Data)
}

func cmpOrdered[T int8 | int32 | int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareField compares two values of a key part of type t. Nil sorts
// before everything (nullable parts). Values of a type the part does not
// accept (impossible after validation) fall back to the mixed order.
func compareField(a, b any, t FieldType, coll collKind) int {
	if a == nil || b == nil {
		return compareScalar(a, b, coll)
	}
	switch t {
	case TypeString:
		if x, ok := a.(string); ok {
			if y, ok := b.(string); ok {
				return compareStrings(x, y, coll)
			}
		}
	case TypeUnsigned, TypeInteger, TypeNumber, TypeDouble, TypeDecimal,
		TypeInt8, TypeUint8, TypeInt16, TypeUint16, TypeInt32, TypeUint32,
		TypeInt64, TypeUint64, TypeFloat32, TypeFloat64,
		TypeDecimal32, TypeDecimal64, TypeDecimal128, TypeDecimal256:
		if classOf(a) == classNumber && classOf(b) == classNumber {
			return compareNumbers(a, b)
		}
	}
	return compareScalar(a, b, coll)
}

// compareNumbers compares two numeric canonical values exactly, like
// Tarantool: integers against doubles without precision loss, NaN below
// every number, decimals against other numbers after converting those to
// decimal.
func compareNumbers(a, b any) int {
	if da, ok := a.(Decimal); ok {
		return compareDecimalAny(da, b)
	}
	if db, ok := b.(Decimal); ok {
		return -compareDecimalAny(db, a)
	}
	fa, aIsFloat := asFloat(a)
	fb, bIsFloat := asFloat(b)
	switch {
	case aIsFloat && bIsFloat:
		return compareDoubles(fa, fb)
	case aIsFloat:
		return compareDoubleInt(fa, b)
	case bIsFloat:
		return -compareDoubleInt(fb, a)
	}
	return compareInts(a, b)
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func compareInts(a, b any) int {
	switch x := a.(type) {
	case uint64:
		switch y := b.(type) {
		case uint64:
			return cmpOrdered(x, y)
		case int64:
			return 1
		}
	case int64:
		switch y := b.(type) {
		case uint64:
			return -1
		case int64:
			return cmpOrdered(x, y)
		}
	}
	return 0
}

func compareDoubles(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case !an && !bn:
		return cmpOrdered(a, b)
	case an && !bn:
		return -1
	case !an && bn:
		return 1
	}
	const quiet = uint64(1) << 51
	return cmpOrdered(math.Float64bits(a)&quiet, math.Float64bits(b)&quiet)
}

const (
	exp2_53 = 9007199254740992.0
	exp2_63 = 9223372036854775808.0
	exp2_64 = 18446744073709551616.0
)

// compareDoubleInt compares a double with an integer exactly.
func compareDoubleInt(f float64, i any) int {
	if math.IsNaN(f) {
		return -1
	}
	switch x := i.(type) {
	case uint64:
		if f >= exp2_53 {
			if f >= exp2_64 {
				return 1
			}
			return cmpOrdered(uint64(f), x)
		}
		return cmpOrdered(f, float64(x))
	case int64:
		if x >= 0 {
			return compareDoubleInt(f, uint64(x))
		}
		if f <= -exp2_53 {
			if f < -exp2_63 {
				return -1
			}
			return cmpOrdered(int64(f), x)
		}
		return cmpOrdered(f, float64(x))
	}
	return 0
}

func compareDecimalAny(d Decimal, v any) int {
	switch x := v.(type) {
	case Decimal:
		return d.Cmp(x)
	case uint64:
		return d.Cmp(DecimalFromUint64(x))
	case int64:
		return d.Cmp(DecimalFromInt64(x))
	case float32, float64:
		f, _ := asFloat(x)
		if o, ok := DecimalFromFloat(f); ok {
			return d.Cmp(o)
		}
		if math.IsInf(f, 1) {
			return -1
		}
		return 1
	}
	return 0
}

// compareStrings compares strings under a collation. Only the binary
// collation is exact; see the package documentation for the Unicode
// approximation.
func compareStrings(a, b string, coll collKind) int {
	if coll == collBinary {
		return strings.Compare(a, b)
	}
	// Primary level: case-insensitive code point order.
	ia, ib := 0, 0
	caseDiff := 0
	for ia < len(a) && ib < len(b) {
		ra, na := utf8.DecodeRuneInString(a[ia:])
		rb, nb := utf8.DecodeRuneInString(b[ib:])
		fa, fb := foldRune(ra), foldRune(rb)
		if fa != fb {
			return cmpInt(int(fa), int(fb))
		}
		if caseDiff == 0 && ra != rb {
			// Tertiary level: lower case before upper case.
			la, lb := unicode.IsLower(ra) || !unicode.IsUpper(ra), unicode.IsLower(rb) || !unicode.IsUpper(rb)
			switch {
			case la && !lb:
				caseDiff = -1
			case !la && lb:
				caseDiff = 1
			default:
				caseDiff = cmpInt(int(ra), int(rb))
			}
		}
		ia += na
		ib += nb
	}
	if c := cmpInt(len(a)-ia, len(b)-ib); c != 0 {
		return c
	}
	if coll == collUnicodeCI {
		return 0
	}
	if caseDiff != 0 {
		return caseDiff
	}
	return strings.Compare(a, b)
}

func foldRune(r rune) rune {
	return unicode.ToLower(unicode.ToUpper(r))
}
