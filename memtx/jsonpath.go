package memtx

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// JSON paths as used by UPDATE operations ('[3].a.b', 'name', '["k"][2]')
// and index parts ('a.b[1]'). Array indexes in paths are 1-based.

type tokenKind uint8

const (
	tokNum tokenKind = iota // array index, 0-based after lexing
	tokStr                  // map key
	tokAny                  // [*]
)

type pathToken struct {
	kind tokenKind
	num  int
	str  string
}

func (t pathToken) equal(o pathToken) bool {
	if t.kind != o.kind {
		return false
	}
	switch t.kind {
	case tokNum:
		return t.num == o.num
	case tokStr:
		return t.str == o.str
	}
	return true
}

func (t pathToken) String() string {
	switch t.kind {
	case tokNum:
		return "[" + strconv.Itoa(t.num+1) + "]"
	case tokStr:
		return "." + t.str
	}
	return "[*]"
}

// pathLexer splits a JSON path into tokens.
type pathLexer struct {
	src     string
	off     int
	symbols int // runes consumed, for error positions
}

// next returns the next token; ok is false at the end of the path. A
// non-zero errPos is the 1-based position of a syntax error.
func (l *pathLexer) next() (tok pathToken, ok bool, errPos int) {
	if l.off >= len(l.src) {
		return tok, false, 0
	}
	start := l.off
	c := l.src[l.off]
	switch c {
	case '[':
		l.off++
		l.symbols++
		if l.off >= len(l.src) {
			return tok, false, l.symbols
		}
		switch q := l.src[l.off]; {
		case q == '"' || q == '\'':
			l.off++
			l.symbols++
			begin := l.off
			for {
				if l.off >= len(l.src) {
					return tok, false, l.symbols + 1
				}
				r, n := utf8.DecodeRuneInString(l.src[l.off:])
				if r == utf8.RuneError && n <= 1 {
					return tok, false, l.symbols + 1
				}
				l.off += n
				l.symbols++
				if r == rune(q) {
					break
				}
			}
			if l.off-1 == begin {
				return tok, false, l.symbols
			}
			tok = pathToken{kind: tokStr, str: l.src[begin : l.off-1]}
		case q == '*':
			l.off++
			l.symbols++
			tok = pathToken{kind: tokAny}
		default:
			if q < '0' || q > '9' {
				return tok, false, l.symbols + 1
			}
			v := 0
			n := 0
			for l.off+n < len(l.src) && l.src[l.off+n] >= '0' && l.src[l.off+n] <= '9' {
				if v < 1<<40 {
					v = v*10 + int(l.src[l.off+n]-'0')
				}
				n++
			}
			if v < 1 {
				return tok, false, l.symbols + 1
			}
			l.off += n
			l.symbols += n
			tok = pathToken{kind: tokNum, num: v - 1}
		}
		if l.off >= len(l.src) || l.src[l.off] != ']' {
			return tok, false, l.symbols + 1
		}
		l.off++
		l.symbols++
		return tok, true, 0
	case '.':
		l.off++
		l.symbols++
		if l.off >= len(l.src) {
			return tok, false, l.symbols + 1
		}
		return l.identifier()
	}
	if start != 0 {
		return tok, false, l.symbols + 1
	}
	return l.identifier()
}

func (l *pathLexer) identifier() (pathToken, bool, int) {
	begin := l.off
	r, n := utf8.DecodeRuneInString(l.src[l.off:])
	if r == utf8.RuneError && n <= 1 {
		return pathToken{}, false, l.symbols + 1
	}
	l.off += n
	l.symbols++
	if !unicode.IsLetter(r) && r != '_' {
		return pathToken{}, false, l.symbols
	}
	for l.off < len(l.src) {
		r, n = utf8.DecodeRuneInString(l.src[l.off:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') || (r == utf8.RuneError && n <= 1) {
			break
		}
		l.off += n
		l.symbols++
	}
	return pathToken{kind: tokStr, str: l.src[begin:l.off]}, true, 0
}

// lexPath splits a whole path. On a syntax error it returns the tokens
// before it and the error position.
func lexPath(path string) ([]pathToken, int) {
	return lexRest(&pathLexer{src: path})
}

// lexRest returns the remaining tokens of a lexer.
func lexRest(l *pathLexer) ([]pathToken, int) {
	var toks []pathToken
	for {
		t, ok, errPos := l.next()
		if errPos != 0 {
			return toks, errPos
		}
		if !ok {
			return toks, 0
		}
		toks = append(toks, t)
	}
}
