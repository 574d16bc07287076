package render

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/xlogtool/xlogtool/format"
)

// appendYAML prints a row as one YAML document the way `tt cat` does:
// block-style HEADER and BODY maps, flow-style values, numbers with Lua's
// 14 significant digits.
func (p *Printer) appendYAML(b []byte, file string, r *format.Row) ([]byte, error) {
	p.fields = headerFields(p.fields[:0], &r.Header)
	b = append(b, "---\nHEADER:\n"...)
	for i := range p.fields {
		f := &p.fields[i]
		b = append(b, "  "...)
		b = append(b, f.name...)
		b = append(b, ": "...)
		switch f.kind {
		case 'u':
			b = strconv.AppendUint(b, f.u, 10)
		case 'f':
			b = appendYAMLFloat(b, f.f)
		case 'b':
			b = append(b, "true"...)
		case 's':
			b = appendYAMLString(b, []byte(f.s), false)
		}
		b = append(b, '\n')
	}
	if r.Body != nil {
		c := format.NewMPCursor(r.Body)
		if c.Kind() == format.MPMap {
			n, err := c.MapLen()
			if err != nil {
				return b, err
			}
			if n == 0 {
				b = append(b, "BODY: {}\n"...)
			} else {
				b = append(b, "BODY:\n"...)
			}
			for i := 0; i < n; i++ {
				b = append(b, "  "...)
				if c.Kind() == format.MPUint {
					k, _ := c.Uint()
					if name := bodyKeyName(r.Type, k); name != "" {
						b = append(b, name...)
					} else {
						b = strconv.AppendUint(b, k, 10)
					}
				} else if b, err = appendYAMLValue(b, c, 1, true); err != nil {
					return b, err
				}
				b = append(b, ": "...)
				if b, err = appendYAMLValue(b, c, 1, false); err != nil {
					return b, err
				}
				b = append(b, '\n')
			}
		} else {
			var err error
			b = append(b, "BODY: "...)
			if b, err = appendYAMLValue(b, c, 0, false); err != nil {
				return b, err
			}
			b = append(b, '\n')
		}
	}
	if h := &r.Header; h.WaitSync() || h.WaitAck() {
		b = append(b, "FLAGS:\n"...)
		if h.WaitSync() {
			b = append(b, "  wait_sync: true\n"...)
		}
		if h.WaitAck() {
			b = append(b, "  wait_ack: true\n"...)
		}
	}
	if p.opts.ShowPos {
		b = append(b, "POS:\n  file: "...)
		b = appendYAMLString(b, []byte(file), false)
		b = append(b, "\n  block: "...)
		b = strconv.AppendInt(b, r.Pos.Block, 10)
		b = append(b, "\n  row: "...)
		b = strconv.AppendInt(b, int64(r.Pos.Index), 10)
		b = append(b, "\n  offset: "...)
		b = strconv.AppendInt(b, r.Pos.FileOffset(), 10)
		b = append(b, '\n')
	}
	if p.source != "" {
		b = append(b, "SOURCE: "...)
		b = appendYAMLString(b, []byte(p.source), false)
		b = append(b, '\n')
	}
	return b, nil
}

func appendYAMLFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, ".nan"...)
	case math.IsInf(f, 1):
		return append(b, ".inf"...)
	case math.IsInf(f, -1):
		return append(b, "-.inf"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'g', 14, 64)
}

// appendYAMLValue prints a value in flow style.
func appendYAMLValue(b []byte, c *format.MPCursor, depth int, key bool) ([]byte, error) {
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
				b = append(b, ", "...)
			}
			if b, err = appendYAMLValue(b, c, depth+1, false); err != nil {
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
				b = append(b, ", "...)
			}
			if b, err = appendYAMLValue(b, c, depth+1, true); err != nil {
				return b, err
			}
			b = append(b, ": "...)
			if b, err = appendYAMLValue(b, c, depth+1, false); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	v, err := readScalar(c)
	if err != nil {
		return b, err
	}
	switch v.kind {
	case format.MPNil:
		return append(b, "null"...), nil
	case format.MPBool:
		return strconv.AppendBool(b, v.bool), nil
	case format.MPUint:
		return strconv.AppendUint(b, v.u, 10), nil
	case format.MPInt:
		return strconv.AppendInt(b, v.i, 10), nil
	case format.MPFloat32, format.MPFloat64:
		return appendYAMLFloat(b, v.f), nil
	case format.MPBin:
		if !utf8.Valid(v.s) {
			b = append(b, "!!binary "...)
			return appendBase64(b, v.s), nil
		}
		return appendYAMLString(b, v.s, true), nil
	case format.MPStr:
		return appendYAMLString(b, v.s, true), nil
	}
	return appendYAMLString(b, []byte(v.ext), true), nil
}

// appendYAMLString prints a string: single-quoted (always in flow values,
// and where a plain scalar would be misread), double-quoted with escapes
// when it holds characters YAML does not allow as they are or reads as line
// breaks, and !!binary when it is not UTF-8.
func appendYAMLString(b []byte, s []byte, quote bool) []byte {
	if !utf8.Valid(s) {
		b = append(b, "!!binary "...)
		return appendBase64(b, s)
	}
	needDouble := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				needDouble = true
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if !yamlPrintable(r) {
			needDouble = true
			break
		}
		i += size
	}
	if needDouble {
		return appendYAMLDoubleQuoted(b, s)
	}
	if !quote && plainSafe(s) {
		return append(b, s...)
	}
	b = append(b, '\'')
	for _, c := range s {
		if c == '\'' {
			b = append(b, '\'')
		}
		b = append(b, c)
	}
	return append(b, '\'')
}

// yamlPrintable reports whether a character other than ASCII may stand as
// it is in a quoted YAML scalar: YAML allows neither the C1 controls nor
// U+FEFF, U+FFFE and U+FFFF, and reads U+0085, U+2028 and U+2029 as line
// breaks, which quoted scalars fold into spaces.
func yamlPrintable(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f, r == 0x2028, r == 0x2029, r == 0xfeff, r == 0xfffe, r == 0xffff:
		return false
	}
	return true
}

// appendYAMLDoubleQuoted prints valid UTF-8 s as a double-quoted YAML
// scalar, escaping control characters, DEL and the characters
// yamlPrintable rejects.
func appendYAMLDoubleQuoted(b []byte, s []byte) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, `\u00`...)
				b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if yamlPrintable(r) {
			b = append(b, s[i:i+size]...)
		} else {
			b = append(b, `\u`...)
			b = append(b, hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		}
		i += size
	}
	return append(b, '"')
}

func plainSafe(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	// The booleans and nulls of YAML 1.1 and 1.2 in any case (TRUE, On,
	// y, N ...): a plain scalar spelled so is read as a boolean or null.
	if len(s) <= 5 {
		var low [5]byte
		for i, c := range s {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			low[i] = c
		}
		switch string(low[:len(s)]) {
		case "true", "false", "null", "yes", "no", "on", "off", "y", "n":
			return false
		}
	}
	for i, c := range s {
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if i == 0 && !alpha {
			return false
		}
		if !alpha && !(c >= '0' && c <= '9') && c != '.' && c != '-' && c != '/' {
			return false
		}
	}
	return true
}
