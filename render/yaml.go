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
// when it holds control characters, and !!binary when it is not UTF-8.
func appendYAMLString(b []byte, s []byte, quote bool) []byte {
	if !utf8.Valid(s) {
		b = append(b, "!!binary "...)
		return appendBase64(b, s)
	}
	needDouble := false
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			needDouble = true
			break
		}
	}
	if needDouble {
		return appendJSONString(b, s)
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

func plainSafe(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	switch string(s) {
	case "true", "false", "null", "yes", "no", "on", "off", "~", "True", "False", "Null", "NULL", "Yes", "No":
		return false
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
