package memtx

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/xlogtool/xlogtool/format"
)

// Decimal precision limits of Tarantool's decimal type (decNumber with a
// 38-digit context, adjusted exponent in [-1, 37], rounding half away from
// zero, values below 0.1 subnormal down to a scale of 38).
const (
	decimalMaxDigits = 38
	decimalMaxAdjExp = decimalMaxDigits - 1
	decimalMaxScale  = decimalMaxDigits
)

// Decimal is the value of a MsgPack extension of type 1: Coef·10^-Scale.
// The zero value is 0. Decimals are immutable.
type Decimal struct {
	coef  *big.Int // nil means zero
	scale int32
}

// NewDecimal returns coef·10^-scale.
func NewDecimal(coef *big.Int, scale int32) Decimal {
	if coef == nil {
		return Decimal{scale: scale}
	}
	return Decimal{coef: new(big.Int).Set(coef), scale: scale}
}

// Coef returns a copy of the unscaled value.
func (d Decimal) Coef() *big.Int {
	if d.coef == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(d.coef)
}

// Scale returns the number of digits after the decimal point (negative
// for values with trailing zeros elided, e.g. 1E+20 has scale -20).
func (d Decimal) Scale() int32 { return d.scale }

func (d Decimal) bigCoef() *big.Int {
	if d.coef == nil {
		return new(big.Int)
	}
	return d.coef
}

// String formats the value like Tarantool's tostring(): plain notation
// for non-negative scales, exponent notation otherwise.
func (d Decimal) String() string {
	c := d.bigCoef()
	neg := c.Sign() < 0
	digits := new(big.Int).Abs(c).String()
	sign := ""
	if neg {
		sign = "-"
	}
	switch {
	case d.scale == 0:
		return sign + digits
	case d.scale < 0:
		if digits == "0" {
			return sign + "0E+" + strconv.Itoa(int(-d.scale))
		}
		exp := len(digits) - 1 - int(d.scale)
		mant := digits[:1]
		if len(digits) > 1 {
			mant += "." + digits[1:]
		}
		return fmt.Sprintf("%s%sE+%d", sign, mant, exp)
	}
	s := int(d.scale)
	if len(digits) <= s {
		digits = strings.Repeat("0", s-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-s] + "." + digits[len(digits)-s:]
}

// Cmp compares two decimals by value.
func (d Decimal) Cmp(o Decimal) int {
	a, b := d.bigCoef(), o.bigCoef()
	if a.Sign() != b.Sign() {
		return cmpInt(a.Sign(), b.Sign())
	}
	if d.scale == o.scale {
		return a.Cmp(b)
	}
	if d.scale < o.scale {
		return scaleUp(a, int64(o.scale)-int64(d.scale)).Cmp(b)
	}
	return a.Cmp(scaleUp(b, int64(d.scale)-int64(o.scale)))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var bigTen = big.NewInt(10)

func pow10(n int64) *big.Int {
	return new(big.Int).Exp(bigTen, big.NewInt(n), nil)
}

func scaleUp(c *big.Int, n int64) *big.Int {
	return new(big.Int).Mul(c, pow10(n))
}

// digitCount returns the number of decimal digits of |c| (1 for zero).
func digitCount(c *big.Int) int {
	if c.Sign() == 0 {
		return 1
	}
	return len(new(big.Int).Abs(c).String())
}

// roundDrop divides c by 10^n rounding half away from zero.
func roundDrop(c *big.Int, n int64) *big.Int {
	if n <= 0 {
		return new(big.Int).Set(c)
	}
	p := pow10(n)
	abs := new(big.Int).Abs(c)
	q, r := new(big.Int).QuoRem(abs, p, new(big.Int))
	if r.Lsh(r, 1).Cmp(p) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if c.Sign() < 0 {
		q.Neg(q)
	}
	return q
}

var errDecimalOverflow = errors.New("decimal overflow")

// finish applies Tarantool's decimal context to an exact result.
func finishDecimal(c *big.Int, scale int64) (Decimal, error) {
	for {
		n := digitCount(c)
		if n <= decimalMaxDigits {
			break
		}
		drop := int64(n - decimalMaxDigits)
		c = roundDrop(c, drop)
		scale -= drop
	}
	adj := int64(digitCount(c)-1) - scale
	if c.Sign() != 0 && adj > decimalMaxAdjExp {
		return Decimal{}, errDecimalOverflow
	}
	if scale > decimalMaxScale {
		c = roundDrop(c, scale-decimalMaxScale)
		scale = decimalMaxScale
	}
	if scale < math.MinInt32 {
		return Decimal{}, errDecimalOverflow
	}
	if c.Sign() == 0 {
		return Decimal{scale: int32(scale)}, nil
	}
	return Decimal{coef: c, scale: int32(scale)}, nil
}

// addDecimal returns a+b (or a-b when sub is set) in Tarantool's context.
func addDecimal(a, b Decimal, sub bool) (Decimal, error) {
	ca, cb := a.bigCoef(), b.bigCoef()
	scale := int64(a.scale)
	if int64(b.scale) > scale {
		scale = int64(b.scale)
	}
	if d := scale - int64(a.scale); d > 0 {
		ca = scaleUp(ca, d)
	}
	if d := scale - int64(b.scale); d > 0 {
		cb = scaleUp(cb, d)
	}
	r := new(big.Int)
	if sub {
		r.Sub(ca, cb)
	} else {
		r.Add(ca, cb)
	}
	return finishDecimal(r, scale)
}

// DecimalFromInt64 converts an integer exactly.
func DecimalFromInt64(v int64) Decimal {
	if v == 0 {
		return Decimal{}
	}
	return Decimal{coef: big.NewInt(v)}
}

// DecimalFromUint64 converts an unsigned integer exactly.
func DecimalFromUint64(v uint64) Decimal {
	if v == 0 {
		return Decimal{}
	}
	return Decimal{coef: new(big.Int).SetUint64(v)}
}

// DecimalFromFloat converts a double the way Tarantool does: through its
// shortest representation with 15 significant digits. It fails for NaN and
// infinities.
func DecimalFromFloat(f float64) (Decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Decimal{}, false
	}
	d, err := ParseDecimal(strconv.FormatFloat(f, 'g', 15, 64))
	if err != nil {
		return Decimal{}, false
	}
	return d, true
}

// ParseDecimal parses a decimal number in plain or exponent notation.
func ParseDecimal(s string) (Decimal, error) {
	orig := s
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	exp := int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.ParseInt(s[i+1:], 10, 32)
		if err != nil {
			return Decimal{}, fmt.Errorf("invalid decimal %q", orig)
		}
		exp = e
		s = s[:i]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i+1:]
	}
	digits := intPart + frac
	if digits == "" {
		return Decimal{}, fmt.Errorf("invalid decimal %q", orig)
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return Decimal{}, fmt.Errorf("invalid decimal %q", orig)
		}
	}
	c, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return Decimal{}, fmt.Errorf("invalid decimal %q", orig)
	}
	if neg {
		c.Neg(c)
	}
	return finishDecimal(c, int64(len(frac))-exp)
}

// DecodeDecimal decodes the payload of a MsgPack decimal extension: a
// MsgPack integer scale followed by packed BCD digits and a sign nibble.
func DecodeDecimal(b []byte) (Decimal, error) {
	if len(b) == 0 {
		return Decimal{}, errors.New("empty decimal extension")
	}
	cur := format.NewMPCursor(b)
	sv, err := value(cur, 0)
	if err != nil {
		return Decimal{}, fmt.Errorf("decimal scale: %w", err)
	}
	var scale int64
	switch x := sv.(type) {
	case uint64:
		if x > decimalMaxScale {
			return Decimal{}, fmt.Errorf("decimal scale %d out of range", x)
		}
		scale = int64(x)
	case int64:
		scale = x
	default:
		return Decimal{}, errors.New("decimal scale is not an integer")
	}
	if scale > decimalMaxScale || scale <= -decimalMaxDigits {
		return Decimal{}, fmt.Errorf("decimal scale %d out of range", scale)
	}
	bcd := cur.Rest()
	if len(bcd) == 0 {
		return Decimal{}, errors.New("decimal without digits")
	}
	var sb strings.Builder
	for i, x := range bcd {
		hi, lo := x>>4, x&0x0f
		if hi > 9 {
			return Decimal{}, errors.New("invalid decimal digit")
		}
		sb.WriteByte('0' + hi)
		if i == len(bcd)-1 {
			switch lo {
			case 0x0a, 0x0c, 0x0e, 0x0f:
			case 0x0b, 0x0d:
				sb.WriteByte('-')
			default:
				return Decimal{}, errors.New("invalid decimal sign")
			}
			break
		}
		if lo > 9 {
			return Decimal{}, errors.New("invalid decimal digit")
		}
		sb.WriteByte('0' + lo)
	}
	s := sb.String()
	neg := strings.HasSuffix(s, "-")
	s = strings.TrimSuffix(s, "-")
	c, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return Decimal{}, errors.New("invalid decimal digits")
	}
	if neg {
		c.Neg(c)
	}
	if c.Sign() == 0 {
		return Decimal{scale: int32(scale)}, nil
	}
	return Decimal{coef: c, scale: int32(scale)}, nil
}

// Encode returns the payload of the MsgPack decimal extension.
func (d Decimal) Encode() []byte {
	var out []byte
	if d.scale >= 0 {
		out = format.AppendUint(out, uint64(d.scale))
	} else {
		out = format.AppendInt(out, int64(d.scale))
	}
	c := d.bigCoef()
	digits := new(big.Int).Abs(c).String()
	sign := byte(0x0c)
	if c.Sign() < 0 {
		sign = 0x0d
	}
	if len(digits)%2 == 0 {
		digits = "0" + digits
	}
	for i := 0; i+1 < len(digits); i += 2 {
		out = append(out, (digits[i]-'0')<<4|(digits[i+1]-'0'))
	}
	out = append(out, (digits[len(digits)-1]-'0')<<4|sign)
	return out
}

// MarshalMsgpack and UnmarshalMsgpack let the type be registered as an
// extension with github.com/vmihailenco/msgpack/v5 (see RegisterExtensions).
func (d *Decimal) MarshalMsgpack() ([]byte, error) { return d.Encode(), nil }

// UnmarshalMsgpack decodes an extension payload.
func (d *Decimal) UnmarshalMsgpack(b []byte) error {
	v, err := DecodeDecimal(b)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
