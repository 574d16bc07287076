package render

import (
	"strconv"

	"github.com/xlogtool/xlogtool/format"
)

// appendLua prints a data row as a Lua statement on box.space that redoes
// it (box.space[512]:replace({1, 'a'})). Field numbers of operations written
// with index base 0 are shifted to Lua's base 1. Rows that are not data
// changes become comments, so the output stays a valid script.
func (p *Printer) appendLua(b []byte, file string, r *format.Row) ([]byte, error) {
	if p.opts.ShowPos {
		b = append(b, "-- "...)
		b = append(b, file...)
		b = append(b, ':')
		b = strconv.AppendInt(b, r.Pos.FileOffset(), 10)
		b = append(b, '\n')
	}
	if !r.Type.IsDML() || r.Type == format.TypeInsertArrow || r.Type == format.TypeDeleteRange {
		if r.Type == format.TypeNop {
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
	b = append(b, "box.space["...)
	b = strconv.AppendUint(b, uint64(d.SpaceID), 10)
	b = append(b, ']')
	if d.IndexID != 0 && (r.Type == format.TypeUpdate || r.Type == format.TypeDelete) {
		b = append(b, ".index["...)
		b = strconv.AppendUint(b, uint64(d.IndexID), 10)
		b = append(b, ']')
	}
	b = append(b, ':')
	b = append(b, lowerType(r.Type)...)
	b = append(b, '(')
	shift := d.IndexBase == 0
	switch r.Type {
	case format.TypeInsert, format.TypeReplace:
		b, err = appendLuaArg(b, d.Tuple, false)
	case format.TypeDelete:
		b, err = appendLuaArg(b, d.Key, false)
	case format.TypeUpdate:
		if b, err = appendLuaArg(b, d.Key, false); err == nil {
			b = append(b, ", "...)
			b, err = appendLuaArg(b, d.Tuple, shift)
		}
	case format.TypeUpsert:
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

func lowerType(t format.RowType) string {
	switch t {
	case format.TypeInsert:
		return "insert"
	case format.TypeReplace:
		return "replace"
	case format.TypeUpdate:
		return "update"
	case format.TypeDelete:
		return "delete"
	case format.TypeUpsert:
		return "upsert"
	}
	return t.String()
}

func appendLuaArg(b []byte, raw []byte, shiftOps bool) ([]byte, error) {
	if raw == nil {
		return append(b, "{}"...), nil
	}
	c := format.NewMPCursor(raw)
	if !shiftOps {
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
		for j := 0; j < m; j++ {
			if j > 0 {
				b = append(b, ", "...)
			}
			if j == 1 && c.Kind() == format.MPUint {
				f, _ := c.Uint()
				b = strconv.AppendUint(b, f+1, 10)
				continue
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
		return strconv.AppendFloat(b, v.f, 'g', 17, 64), nil
	case format.MPStr, format.MPBin:
		return appendLuaString(b, v.s), nil
	}
	if v.isExt {
		return appendLuaString(b, []byte(v.ext)), nil
	}
	return b, nil
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
