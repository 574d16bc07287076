package render

import (
	"math"
	"strconv"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// appendLua prints a data row as a Lua statement on box.space that redoes
// it (box.space[512]:replace({1, 'a'})). Field numbers of operations written
// with index base 0 are shifted to Lua's base 1. Rows that are not data
// changes become comments, so the output stays a valid script.
func (p *Printer) appendLua(b []byte, file string, r *format.Row) ([]byte, error) {
	if p.source != "" && r.Type != box.TypeNop {
		b = append(b, "-- SOURCE: "...)
		b = append(b, p.source...)
		b = append(b, '\n')
	}
	if p.opts.ShowPos {
		b = append(b, "-- "...)
		b = append(b, file...)
		b = append(b, ':')
		b = strconv.AppendInt(b, r.Pos.FileOffset(), 10)
		b = append(b, '\n')
	}
	if !r.Type.IsDML() || r.Type == box.TypeInsertArrow || r.Type == box.TypeDeleteRange {
		if r.Type == box.TypeNop {
			return b[:0], nil
		}
		b = append(b, "-- "...)
		b = append(b, r.Type.String()...)
		b = append(b, " lsn "...)
		b = strconv.AppendUint(b, r.LSN, 10)
		if r.Body != nil {
			b = append(b, ' ')
			var err error
			if b, err = appendJSONBody(b, r); err != nil {
				return b, err
			}
		}
		return append(b, '\n'), nil
	}
	d, err := r.DML()
	if err != nil {
		return b, err
	}
	if !d.HasSpace {
		return b[:0], nil
	}
	if !p.luaDeepOK && luaDeep(&d) {
		if p.ahead {
			return b, errAhead
		}
		// Tarantool's MessagePack encoder refuses values nested deeper
		// than 128 levels unless told otherwise.
		b = append(b, "require('msgpack').cfg{encode_max_depth = 1024}; "...)
		p.luaDeepOK = true
	}
	b = append(b, "box.space["...)
	b = strconv.AppendUint(b, uint64(d.SpaceID), 10)
	b = append(b, ']')
	if d.IndexID != 0 && (r.Type == box.TypeUpdate || r.Type == box.TypeDelete) {
		b = append(b, ".index["...)
		b = strconv.AppendUint(b, uint64(d.IndexID), 10)
		b = append(b, ']')
	}
	b = append(b, ':')
	b = append(b, lowerType(r.Type)...)
	b = append(b, '(')
	shift := d.IndexBase == 0
	switch r.Type {
	case box.TypeInsert, box.TypeReplace:
		b, err = appendLuaArg(b, d.Tuple, false)
	case box.TypeDelete:
		b, err = appendLuaArg(b, d.Key, false)
	case box.TypeUpdate:
		if b, err = appendLuaArg(b, d.Key, false); err == nil {
			b = append(b, ", "...)
			b, err = appendLuaArg(b, d.Tuple, shift)
		}
	case box.TypeUpsert:
		if b, err = appendLuaArg(b, d.Tuple, false); err == nil {
			b = append(b, ", "...)
			b, err = appendLuaArg(b, d.Ops, shift)
		}
	}
	if err != nil {
		return b, err
	}
	return append(b, ")\n"...), nil
}

func lowerType(t box.RowType) string {
	switch t {
	case box.TypeInsert:
		return "insert"
	case box.TypeReplace:
		return "replace"
	case box.TypeUpdate:
		return "update"
	case box.TypeDelete:
		return "delete"
	case box.TypeUpsert:
		return "upsert"
	}
	return t.String()
}

// luaEncoderDepth is the nesting Tarantool's MessagePack encoder accepts
// by default; luaParserDepth the nesting beyond which a value is printed as
// MessagePack to decode rather than as a table constructor, which Lua's
// parser refuses beyond about 200 syntax levels (a map costs two).
const (
	luaEncoderDepth = 128
	luaParserDepth  = 64
)

// luaDeep reports whether a row has values nested beyond what Tarantool's
// encoder accepts by default.
func luaDeep(d *format.DML) bool {
	for _, raw := range [][]byte{d.Tuple, d.Key, d.Ops} {
		if len(raw) > luaEncoderDepth && mpDepth(raw, luaEncoderDepth) >= luaEncoderDepth {
			return true
		}
	}
	return false
}

// mpDepth returns the nesting depth of a MessagePack value (a scalar is 0,
// an array of scalars 1), counting no further than limit.
func mpDepth(raw []byte, limit int) int {
	c := format.NewMPCursor(raw)
	left := []int{1} // values left at each open level
	depth := 0
	for len(left) > 0 {
		top := len(left) - 1
		if left[top] == 0 {
			left = left[:top]
			continue
		}
		left[top]--
		var n int
		var err error
		switch c.Kind() {
		case format.MPArray:
			n, err = c.ArrayLen()
		case format.MPMap:
			n, err = c.MapLen()
			n *= 2
		default:
			if c.Skip() != nil {
				return depth
			}
			continue
		}
		if err != nil {
			return depth
		}
		left = append(left, n)
		if depth = max(depth, len(left)-1); depth >= limit {
			return depth
		}
	}
	return depth
}

func appendLuaArg(b []byte, raw []byte, shiftOps bool) ([]byte, error) {
	if raw == nil {
		return append(b, "{}"...), nil
	}
	c := format.NewMPCursor(raw)
	if !shiftOps {
		if len(raw) > luaParserDepth && mpDepth(raw, luaParserDepth+1) > luaParserDepth {
			// Too deep for a table constructor: Tarantool decodes the
			// bytes themselves into the same Lua value.
			b = append(b, "(require('msgpack').decode("...)
			b = appendLuaString(b, raw)
			return append(b, "))"...), nil
		}
		return appendLuaValue(b, c, 0)
	}
	// An operation list with C-style (0-based) field numbers.
	n, err := c.ArrayLen()
	if err != nil {
		return appendLuaValue(b, format.NewMPCursor(raw), 0)
	}
	b = append(b, '{')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ", "...)
		}
		m, err := c.ArrayLen()
		if err != nil || m < 2 {
			return b, errBadOps
		}
		b = append(b, '{')
		var op []byte
		for j := 0; j < m; j++ {
			if j > 0 {
				b = append(b, ", "...)
			}
			if j == 0 && c.Kind() == format.MPStr {
				save := *c
				op, _ = c.Bytes()
				*c = save
			}
			// The field number and a splice's offset count from the index
			// base when they are not negative, whatever their encoding.
			if k := c.Kind(); (j == 1 || j == 2 && string(op) == ":") && (k == format.MPUint || k == format.MPInt) {
				save := *c
				if f, err := c.Int(); err == nil {
					if f >= 0 {
						b = strconv.AppendUint(b, uint64(f)+1, 10)
					} else {
						b = strconv.AppendInt(b, f, 10)
					}
					continue
				}
				*c = save
			}
			if b, err = appendLuaValue(b, c, 1); err != nil {
				return b, err
			}
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

var errBadOps = errorString("malformed update operations")

type errorString string

func (e errorString) Error() string { return string(e) }

func appendLuaValue(b []byte, c *format.MPCursor, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, errDepth
	}
	switch c.Kind() {
	case format.MPArray:
		n, err := c.ArrayLen()
		if err != nil {
			return b, err
		}
		b = append(b, '{')
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ", "...)
			}
			if b, err = appendLuaValue(b, c, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case format.MPMap:
		n, err := c.MapLen()
		if err != nil {
			return b, err
		}
		b = append(b, "setmetatable({"...)
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, '[')
			if b, err = appendLuaValue(b, c, depth+1); err != nil {
				return b, err
			}
			b = append(b, "] = "...)
			if b, err = appendLuaValue(b, c, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, "}, {__serialize = 'map'})"...), nil
	}
	v, err := readScalar(c)
	if err != nil {
		return b, err
	}
	switch v.kind {
	case format.MPNil:
		return append(b, "box.NULL"...), nil
	case format.MPBool:
		return strconv.AppendBool(b, v.bool), nil
	case format.MPUint:
		b = strconv.AppendUint(b, v.u, 10)
		if v.u > 1<<53 {
			b = append(b, "ULL"...)
		}
		return b, nil
	case format.MPInt:
		b = strconv.AppendInt(b, v.i, 10)
		if v.i < -(1 << 53) {
			b = append(b, "LL"...)
		}
		return b, nil
	case format.MPFloat32, format.MPFloat64:
		if v.f != v.f {
			return append(b, "0/0"...), nil
		}
		if v.f > 1.7976931348623157e308 {
			return append(b, "math.huge"...), nil
		}
		if v.f < -1.7976931348623157e308 {
			return append(b, "-math.huge"...), nil
		}
		if v.f == math.Trunc(v.f) {
			// Lua would store an integral number as an integer, on which
			// update operations act differently ('&' takes it, '+' keeps
			// it integral): keep it a float.
			typ := "double"
			if v.kind == format.MPFloat32 {
				typ = "float"
			}
			b = append(b, "require('ffi').cast('"...)
			b = append(b, typ...)
			b = append(b, "', "...)
			b = strconv.AppendFloat(b, v.f, 'g', 17, 64)
			return append(b, ')'), nil
		}
		return strconv.AppendFloat(b, v.f, 'g', 17, 64), nil
	case format.MPStr:
		return appendLuaString(b, v.s), nil
	case format.MPBin:
		return appendLuaBin(b, v.s), nil
	}
	if v.isExt {
		return appendLuaExt(b, &v), nil
	}
	return b, nil
}

// appendLuaExt prints a decimal as require('decimal').new('...') with its
// scale kept (1.0 stays 1.0, 1.23E+4 keeps its exponent), a uuid as
// require('uuid').fromstr('...'), and other extensions, which Tarantool's
// Lua has no values for, as their text.
func appendLuaExt(b []byte, v *scalar) []byte {
	switch v.extType {
	case box.ExtDecimal:
		neg, digits, scale, ok := decimalParts(v.extData)
		if !ok || scale > 1000 {
			break
		}
		b = append(b, "require('decimal').new('"...)
		if scale >= 0 {
			b = append(b, v.ext...)
		} else {
			if neg {
				b = append(b, '-')
			}
			b = append(b, digits...)
			b = append(b, "E+"...)
			b = strconv.AppendInt(b, -scale, 10)
		}
		return append(b, "')"...)
	case box.ExtUUID:
		if len(v.extData) == 16 {
			b = append(b, "require('uuid').fromstr('"...)
			b = append(b, v.ext...)
			return append(b, "')"...)
		}
	}
	// Datetime, interval and any other extension: Tarantool decodes the
	// extension itself into the value that encodes back to the same bytes
	// (on a version that has the type; an older one refuses the statement
	// rather than storing something else).
	b = append(b, "(require('msgpack').decode("...)
	b = appendLuaString(b, format.AppendExt(nil, v.extType, v.extData))
	return append(b, "))"...)
}

// appendLuaBin prints MP_BIN data as a varbinary (Tarantool 3.0+), which
// is stored as MP_BIN again; where Lua has no varbinary, as the string of
// the same bytes (stored as MP_STR: the closest Lua has).
func appendLuaBin(b []byte, s []byte) []byte {
	b = append(b, "(function(s) local ok, vb = pcall(require, 'varbinary') return ok and vb.new(s) or s end)("...)
	b = appendLuaString(b, s)
	return append(b, ')')
}

// appendLuaString prints a Lua string literal; bytes outside printable
// ASCII are written as decimal escapes, so any byte string survives.
func appendLuaString(b []byte, s []byte) []byte {
	b = append(b, '\'')
	for _, c := range s {
		switch {
		case c == '\'' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c < 0x20 || c >= 0x7f:
			b = append(b, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		default:
			b = append(b, c)
		}
	}
	return append(b, '\'')
}
