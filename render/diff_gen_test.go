package render_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// rowGen makes random rows of every kind Tarantool 2.6.0 writes or reads
// sanely, with bodies built byte by byte so that every MessagePack encoding
// occurs: every integer width (non-minimal ones too), float32 and float64,
// str and bin of every length class, decimal and uuid extensions, nested
// arrays and maps with integer, string, boolean and float keys.
//
// Left out on purpose, because Tarantool 2.6.0's reader fails on them or
// prints something that is not the value (we print the value):
//   - extension types other than decimal and uuid (datetime, interval ...):
//     its reader stops the whole file with "unsupported extension"; and
//     uuids of the reserved variant (byte 8 = 111xxxxx): it stops the file
//     with "invalid MsgPack", or crashes when the uuid is in a tuple;
//   - NaN and infinities: its JSON has no spelling for them, and -0.0, which
//     it prints as 0;
//   - map keys that are nil, containers, integers beyond ±1e14 (its tuple
//     decoder keeps those as 64-bit cdata, printed "123ULL") or floats
//     that %.14g does not print exactly: it prints them as Lua's tostring
//     does ("cdata<void *>: NULL", "table: 0x...", "123ULL", rounded);
//   - keys of one map whose text is the same but which are different Lua
//     values (1 and "1"): the oracle's JSON then has one key twice;
//   - body keys that are not unsigned or not below 2^32 (it stops the file
//     on the first, truncates the second to 32 bits), bodies that are not
//     maps (it prints an empty body);
//   - header keys 2.6.0 does not know (stream_id) and the newer row types
//     and body keys (INSERT_ARROW, old/new tuple ...), which we name as
//     the newer readers do;
//   - LSNs of 2^63 and above (its LSN is signed), sync values of 2^53 and
//     above (it prints them through a double, wrapping above 2^63).
type rowGen struct {
	r *rand.Rand
	// LSN counters per replica id; replica 0 is the local group.
	lsn map[uint32]uint64
	// tupleSafe keeps values to what a Tarantool 2.6.0 space stores and a
	// Lua table can stand for: no map with one key twice, decimals of at
	// most 38 integer digits.
	tupleSafe bool
}

func newRowGen(seed int64) *rowGen {
	g := &rowGen{r: rand.New(rand.NewSource(seed)), lsn: map[uint32]uint64{}}
	return g
}

func (g *rowGen) n(k int) int { return g.r.Intn(k) }

func (g *rowGen) chance(p float64) bool { return g.r.Float64() < p }

// --- MessagePack encoding, byte by byte -------------------------------

func mpUint(b []byte, v uint64, width int) []byte {
	// width 0: minimal; 1, 2, 4, 8: that many bytes (when v fits).
	switch {
	case width == 0 && v < 128:
		return append(b, byte(v))
	case (width == 0 || width == 1) && v < 1<<8:
		return append(b, 0xcc, byte(v))
	case (width == 0 || width <= 2) && v < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case (width == 0 || width <= 4) && v < 1<<32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func mpInt(b []byte, v int64, width int) []byte {
	switch {
	case width == 0 && v >= -32 && v < 0:
		return append(b, byte(v))
	case width <= 1 && v >= math.MinInt8 && v <= math.MaxInt8:
		return append(b, 0xd0, byte(v))
	case width <= 2 && v >= math.MinInt16 && v <= math.MaxInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(v))
	case width <= 4 && v >= math.MinInt32 && v <= math.MaxInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

func mpLen(b []byte, n int, fix, fixMax byte, c16, c32 byte, long bool) []byte {
	switch {
	case !long && n <= int(fixMax-fix):
		return append(b, fix+byte(n))
	case !long && n < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, c16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, c32), uint32(n))
}

func mpStr(b []byte, s []byte, class int) []byte {
	// class 0: minimal, 8/16/32: str8/str16/str32.
	n := len(s)
	switch {
	case class == 0 && n < 32:
		b = append(b, 0xa0|byte(n))
	case class <= 8 && n < 1<<8:
		b = append(b, 0xd9, byte(n))
	case class <= 16 && n < 1<<16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func mpBin(b []byte, s []byte, class int) []byte {
	n := len(s)
	switch {
	case class <= 8 && n < 1<<8:
		b = append(b, 0xc4, byte(n))
	case class <= 16 && n < 1<<16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, s...)
}

func mpArray(b []byte, n int, long bool) []byte { return mpLen(b, n, 0x90, 0x9f, 0xdc, 0xdd, long) }
func mpMap(b []byte, n int, long bool) []byte   { return mpLen(b, n, 0x80, 0x8f, 0xde, 0xdf, long) }

func mpFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f))
}

func mpFloat32(b []byte, f float32) []byte {
	return binary.BigEndian.AppendUint32(append(b, 0xca), math.Float32bits(f))
}

func mpExt(b []byte, typ int8, data []byte) []byte {
	switch len(data) {
	case 1:
		b = append(b, 0xd4)
	case 2:
		b = append(b, 0xd5)
	case 4:
		b = append(b, 0xd6)
	case 8:
		b = append(b, 0xd7)
	case 16:
		b = append(b, 0xd8)
	default:
		if len(data) < 1<<8 {
			b = append(b, 0xc7, byte(len(data)))
		} else {
			b = binary.BigEndian.AppendUint16(append(b, 0xc8), uint16(len(data)))
		}
	}
	b = append(b, byte(typ))
	return append(b, data...)
}

// --- values ------------------------------------------------------------

func (g *rowGen) width() int {
	return []int{0, 0, 0, 0, 1, 2, 4, 8}[g.n(8)]
}

func (g *rowGen) uintValue() uint64 {
	switch g.n(9) {
	case 0:
		return uint64(g.n(128))
	case 1:
		return uint64(g.n(1 << 8))
	case 2:
		return uint64(g.n(1 << 16))
	case 3:
		return uint64(g.r.Uint32())
	case 4:
		return 1<<53 - 1 + uint64(g.n(3)) // around the exact-double limit
	case 5:
		return math.MaxUint64 - uint64(g.n(3))
	case 6:
		return 1<<63 + uint64(g.n(3))
	case 7:
		return g.r.Uint64()
	}
	return uint64(g.n(1000))
}

func (g *rowGen) negValue() int64 {
	switch g.n(8) {
	case 0:
		return -int64(g.n(32)) - 1
	case 1:
		return -int64(g.n(128)) - 1
	case 2:
		return -int64(g.n(1<<15)) - 1
	case 3:
		return -int64(g.r.Uint32()>>1) - 1
	case 4:
		return -(1 << 53) + int64(g.n(3)) - 1
	case 5:
		return math.MinInt64 + int64(g.n(3))
	case 6:
		return -g.r.Int63()
	}
	return -int64(g.n(100000)) - 1
}

func (g *rowGen) float64Value() float64 {
	var f float64
	switch g.n(8) {
	case 0:
		f = float64(g.n(1000)) // integral
	case 1:
		f = g.r.NormFloat64() * 1e6
	case 2:
		f = math.Ldexp(g.r.Float64(), g.n(2000)-1000) // any magnitude
	case 3:
		f = float64(g.r.Int63()) // integral, beyond 2^53
	case 4:
		f = 0.1 * float64(g.n(100))
	case 5:
		f = 1e21 * float64(g.n(9)+1)
	case 6:
		f = math.SmallestNonzeroFloat64 * float64(g.n(5)+1)
	default:
		f = g.r.Float64()
	}
	if g.chance(0.4) {
		f = -f
	}
	if f == 0 {
		f = 0 // never -0
	}
	return f
}

func (g *rowGen) float32Value() float32 {
	var f float32
	switch g.n(4) {
	case 0:
		f = float32(g.n(1000))
	case 1:
		f = float32(g.r.NormFloat64() * 1e3)
	case 2:
		f = float32(math.Ldexp(g.r.Float64(), g.n(250)-125))
	default:
		f = g.r.Float32()
	}
	if g.chance(0.4) {
		f = -f
	}
	if f == 0 {
		f = 0
	}
	return f
}

var strPieces = []string{
	"a", "b", "z", "key", " ", "'", "\"", "\\", "/", "\n", "\t", "\r", "\x00", "\x01", "\x1f", "\x7f",
	"é", "ж", "日本", "😀", "\u2028", "-", ":", "#", "{", "}", "[", "]", ",", "&", "*", "!", "|", ">",
	"%", "@", "`", "?", "0", "1", "9", ".", "e", "E", "+", "true", "null", "~", "yes", "no",
	"\xff", "\xc3", "\xe2\x82", "\x80",
}

func (g *rowGen) str(maxPieces int) []byte {
	var s []byte
	if g.chance(0.1) {
		return s
	}
	n := g.n(maxPieces) + 1
	for i := 0; i < n; i++ {
		s = append(s, strPieces[g.n(len(strPieces))]...)
	}
	return s
}

func (g *rowGen) bigStr() []byte {
	n := []int{31, 32, 255, 256, 300, 65535, 65536, 70000}[g.n(8)]
	s := bytes.Repeat([]byte("x"), n)
	for i := 0; i < 5; i++ {
		p := g.n(n)
		s[p] = "aé\"\\\n"[g.n(5)]
	}
	return bytes.ToValidUTF8(s, []byte("y"))
}

func (g *rowGen) strClass() int { return []int{0, 0, 0, 8, 16, 32}[g.n(6)] }

// decimal returns a valid decimal extension payload: a scale and packed
// BCD digits with the sign in the last nibble.
func (g *rowGen) decimal() []byte {
	nd := g.n(38) + 1
	digits := make([]byte, nd)
	for i := range digits {
		digits[i] = byte(g.n(10))
	}
	if nd > 1 && digits[0] == 0 {
		digits[0] = 1 + byte(g.n(9))
	}
	scale := min(int64(g.n(nd+4))-2, 38)
	if g.chance(0.1) {
		scale = -int64(g.n(10))
	}
	if g.tupleSafe && int64(nd)-scale > 38 {
		scale = int64(nd) - 38
	}
	sign := byte(0x0c)
	if g.chance(0.4) {
		sign = 0x0d
	}
	nibbles := append(digits, sign)
	if len(nibbles)%2 == 1 {
		nibbles = append([]byte{0}, nibbles...)
	}
	var out []byte
	out = mpInt(out, scale, 0)
	if scale >= 0 {
		out = mpUint(out[:0], uint64(scale), 0)
	}
	for i := 0; i < len(nibbles); i += 2 {
		out = append(out, nibbles[i]<<4|nibbles[i+1])
	}
	return out
}

func (g *rowGen) scalar(b []byte) []byte {
	switch g.n(15) {
	case 0:
		return append(b, 0xc0)
	case 1:
		if g.chance(0.5) {
			return append(b, 0xc3)
		}
		return append(b, 0xc2)
	case 2, 3:
		return mpUint(b, g.uintValue(), g.width())
	case 4:
		return mpInt(b, g.negValue(), g.width())
	case 5:
		// A non-negative value in a signed encoding.
		return mpInt(b, int64(g.n(1<<20)), []int{1, 2, 4, 8}[g.n(4)])
	case 6:
		return mpFloat64(b, g.float64Value())
	case 7:
		return mpFloat32(b, g.float32Value())
	case 8, 9:
		return mpStr(b, g.str(6), g.strClass())
	case 10:
		if g.chance(0.2) {
			return mpStr(b, g.bigStr(), g.strClass())
		}
		return mpStr(b, g.str(3), g.strClass())
	case 11:
		s := make([]byte, g.n(40))
		g.r.Read(s)
		if g.chance(0.1) {
			s = make([]byte, 300)
			g.r.Read(s)
		}
		return mpBin(b, s, []int{0, 8, 16, 32}[g.n(4)])
	case 12:
		if g.chance(0.3) {
			return mpBin(b, g.str(4), 0) // UTF-8 text in a bin
		}
		return mpExt(b, 1, g.decimal())
	case 13:
		u := make([]byte, 16)
		g.r.Read(u)
		if u[8]&0xe0 == 0xe0 {
			u[8] &^= 0x20 // a variant Tarantool accepts
		}
		return mpExt(b, 2, u)
	}
	return mpUint(b, uint64(g.n(10)), 0)
}

// mapKey appends a map key whose printed text is unique in seen.
func (g *rowGen) mapKey(b []byte, seen map[string]bool) []byte {
	for {
		var k []byte
		var text string
		switch g.n(7) {
		case 0, 1:
			v := uint64(g.n(100))
			if g.chance(0.2) {
				v = uint64(g.r.Int63n(1e14)) // tuples keep larger ones as cdata
			}
			k, text = mpUint(nil, v, g.width()), strconv.FormatUint(v, 10)
		case 2:
			v := -int64(g.n(1000)) - 1
			k, text = mpInt(nil, v, g.width()), strconv.FormatInt(v, 10)
		case 3, 4:
			s := g.str(3)
			k, text = mpStr(nil, s, g.strClass()), "s"+string(s)
		case 5:
			v := g.chance(0.5)
			k = []byte{0xc2}
			if v {
				k = []byte{0xc3}
			}
			text = strconv.FormatBool(v)
		case 6:
			f := []float64{0.5, 1.5, -2.25, 3, 1e10, 0.125}[g.n(6)]
			if f == math.Trunc(f) {
				text = strconv.FormatInt(int64(f), 10)
			} else {
				text = strconv.FormatFloat(f, 'g', -1, 64)
			}
			if g.chance(0.5) {
				k = mpFloat32(nil, float32(f))
			} else {
				k = mpFloat64(nil, f)
			}
		}
		// Integer and float keys of the same number are one Lua key; keep
		// texts apart across kinds by the bare number.
		if text[0] == 's' {
			if _, err := strconv.ParseFloat(text[1:], 64); err == nil || text[1:] == "true" || text[1:] == "false" {
				continue
			}
			text = text[1:]
		}
		text = collapseFFFD(strings.ToValidUTF8(text, "\uFFFD")).(string)
		if seen[text] {
			continue
		}
		seen[text] = true
		return append(b, k...)
	}
}

func (g *rowGen) value(b []byte, depth int) []byte {
	if depth > 5 || g.chance(0.6) {
		return g.scalar(b)
	}
	if g.chance(0.5) {
		n := g.n(6)
		if g.chance(0.05) {
			n = 16 + g.n(4) // array16
		}
		b = mpArray(b, n, g.chance(0.1))
		for i := 0; i < n; i++ {
			b = g.value(b, depth+1)
		}
		return b
	}
	n := g.n(5)
	if g.chance(0.05) {
		n = 16 + g.n(3)
	}
	dup := n > 0 && !g.tupleSafe && g.chance(0.1)
	if dup {
		n++
	}
	b = mpMap(b, n, g.chance(0.1))
	seen := map[string]bool{}
	var last []byte
	for i := 0; i < n; i++ {
		if dup && i == n-1 {
			b = append(b, last...) // the same key again: the later value wins
		} else {
			start := len(b)
			b = g.mapKey(b, seen)
			last = append([]byte(nil), b[start:]...)
		}
		b = g.value(b, depth+1)
	}
	return b
}

// deep returns an array nested d levels deep around a scalar.
func (g *rowGen) deep(b []byte, d int) []byte {
	for i := 0; i < d; i++ {
		if i%3 == 2 {
			b = mpMap(b, 1, false)
			b = mpUint(b, uint64(i), 0)
		} else {
			b = mpArray(b, 1, false)
		}
	}
	return g.scalar(b)
}

func (g *rowGen) array(b []byte, max int) []byte {
	n := g.n(max + 1)
	b = mpArray(b, n, g.chance(0.1))
	for i := 0; i < n; i++ {
		if g.chance(0.01) {
			b = g.deep(b, 20+g.n(120))
			continue
		}
		b = g.value(b, 1)
	}
	return b
}

func (g *rowGen) ops(b []byte) []byte {
	n := g.n(4)
	b = mpArray(b, n, false)
	for i := 0; i < n; i++ {
		op := []string{"=", "+", "-", "!", "#", "&", "|", "^", ":"}[g.n(9)]
		args := 1
		if op == ":" {
			args = 3
		}
		b = mpArray(b, 2+args, false)
		b = mpStr(b, []byte(op), 0)
		if g.chance(0.8) {
			b = mpUint(b, uint64(g.n(10)), g.width())
		} else {
			b = mpInt(b, -int64(g.n(5))-1, 0) // from the end
		}
		for j := 0; j < args; j++ {
			b = g.value(b, 2)
		}
	}
	return b
}

// --- bodies ----------------------------------------------------------------

type kv struct {
	key uint64
	val []byte
}

func (g *rowGen) bodyMap(b []byte, kvs []kv) []byte {
	if g.chance(0.2) {
		g.r.Shuffle(len(kvs), func(i, j int) { kvs[i], kvs[j] = kvs[j], kvs[i] })
	}
	b = mpMap(b, len(kvs), g.chance(0.05))
	for _, e := range kvs {
		b = mpUint(b, e.key, g.width())
		b = append(b, e.val...)
	}
	return b
}

// Keys Tarantool 2.6.0 has names for in data rows, and others below 2^32.
var extraBodyKeys = []uint64{0x00, 0x05, 0x12, 0x13, 0x14, 0x16, 0x22, 0x24, 0x26, 0x27, 0x29, 0x2b, 0x30, 0x31, 0x40, 0x43, 0x50, 0x52, 0x53, 0x99, 0x1234, 0xfffffff0}

func (g *rowGen) extraKeys(kvs []kv) []kv {
	for g.chance(0.15) {
		kvs = append(kvs, kv{extraBodyKeys[g.n(len(extraBodyKeys))], g.value(nil, 1)})
	}
	return kvs
}

func (g *rowGen) spaceID() []byte {
	if g.chance(0.1) {
		return mpUint(nil, uint64(g.r.Uint32()), g.width())
	}
	return mpUint(nil, uint64(280+g.n(260)), g.width())
}

func (g *rowGen) keyOrTuple(max int) []byte {
	if g.chance(0.05) {
		return g.value(nil, 1) // not an array: Tarantool prints it as a value
	}
	return g.array(nil, max)
}

func (g *rowGen) dmlBody(t box.RowType) []byte {
	kvs := []kv{{box.KeySpaceID, g.spaceID()}}
	switch t {
	case box.TypeInsert, box.TypeReplace:
		kvs = append(kvs, kv{box.KeyTuple, g.keyOrTuple(8)})
	case box.TypeDelete:
		kvs = append(kvs, kv{box.KeyIndexID, mpUint(nil, uint64(g.n(3)), 0)}, kv{box.KeyKey, g.keyOrTuple(3)})
	case box.TypeUpdate:
		kvs = append(kvs, kv{box.KeyIndexID, mpUint(nil, uint64(g.n(3)), 0)}, kv{box.KeyKey, g.keyOrTuple(3)},
			kv{box.KeyTuple, g.ops(nil)})
		if g.chance(0.7) {
			kvs = append(kvs, kv{box.KeyIndexBase, mpUint(nil, uint64(g.n(2)), 0)})
		}
	case box.TypeUpsert:
		kvs = append(kvs, kv{box.KeyTuple, g.keyOrTuple(5)}, kv{box.KeyOps, g.ops(nil)})
		if g.chance(0.7) {
			kvs = append(kvs, kv{box.KeyIndexBase, mpUint(nil, uint64(g.n(2)), 0)})
		}
	case box.TypeSelect:
		kvs = append(kvs, kv{box.KeyIndexID, mpUint(nil, 0, 0)}, kv{0x12, mpUint(nil, uint64(g.n(100)), 0)},
			kv{box.KeyKey, g.keyOrTuple(2)})
	}
	return g.bodyMap(nil, g.extraKeys(kvs))
}

// Row types of the generator: data rows mostly, and every other kind.
var oddTypes = []box.RowType{0, 6, 7, 8, 10, 11, 13, 14, 15, 16, 19, 29, 33, 50, 64, 66, 99, 100, 101, 102, 1000, 1 << 20}

func (g *rowGen) otherBody(t box.RowType) []byte {
	switch {
	case t == box.TypeConfirm || t == box.TypeRollback:
		s := format.Synchro{ReplicaID: uint32(g.n(32)), LSN: g.lsnValue()}
		return format.AppendSynchroBody(nil, &s)
	case t == box.TypePromote || t == box.TypeDemote:
		s := format.Synchro{ReplicaID: uint32(g.n(32)), LSN: g.lsnValue(), Term: uint64(g.n(100)), HasTerm: true}
		if g.chance(0.3) {
			s.HasVClock = true
			s.VClock.Set(1, uint64(g.n(100)))
			s.VClock.Set(uint32(2+g.n(30)), g.lsnValue())
		}
		return format.AppendSynchroBody(nil, &s)
	case t == box.TypeRaft:
		f := format.Raft{Term: uint64(g.n(1000)), Vote: uint32(g.n(3))}
		return format.AppendRaftBody(nil, &f)
	}
	n := g.n(4)
	kvs := make([]kv, 0, n)
	for i := 0; i < n; i++ {
		kvs = append(kvs, kv{uint64(g.n(12)), g.value(nil, 1)})
	}
	return g.bodyMap(nil, kvs)
}

func (g *rowGen) lsnValue() uint64 {
	if g.chance(0.05) {
		return math.MaxInt64 - uint64(g.n(1000))
	}
	return uint64(g.n(1 << 20))
}

func (g *rowGen) timestamp() float64 {
	switch g.n(10) {
	case 0:
		return 0
	case 1:
		return float64(1600000000 + g.n(1e8)) // integral
	case 2:
		return math.Ldexp(g.r.Float64(), g.n(200)-100)
	case 3:
		return -g.r.Float64() * 1e9
	case 4:
		return 1e300 * g.r.Float64()
	}
	return 1600000000 + g.r.Float64()*1e8
}

// genRow is one generated row: its header and body (nil: no body).
type genRow struct {
	h    format.Header
	body []byte
}

// txn returns the rows of one transaction (one row mostly).
func (g *rowGen) txn(replica uint32) []genRow {
	n := 1
	if g.chance(0.25) {
		n = 2 + g.n(5)
	}
	ts := g.timestamp()
	var rows []genRow
	var tsn uint64
	haveTSN := false
	for i := 0; i < n; i++ {
		var h format.Header
		h.Timestamp = ts
		if g.chance(0.05) {
			h.Sync = g.uintValue() & (1<<53 - 1) // it prints sync as a double
		}
		local := n > 1 && g.chance(0.3)
		id := replica
		if local {
			id = 0
			h.GroupID = box.GroupLocal
		} else if g.chance(0.03) {
			h.GroupID = uint32(2 + g.n(5))
		}
		h.ReplicaID = id
		g.lsn[id]++
		h.LSN = g.lsn[id]
		if !haveTSN {
			tsn, haveTSN = h.LSN, true
		}
		h.TSN = tsn
		h.Commit = i == n-1
		if g.chance(0.05) {
			h.Flags |= box.FlagWaitSync
		}
		if g.chance(0.05) {
			h.Flags |= box.FlagWaitAck
		}
		if g.chance(0.02) {
			h.Flags |= 0x10 << g.n(8)
		}
		var body []byte
		switch k := g.n(100); {
		case k < 70:
			h.Type = []box.RowType{box.TypeInsert, box.TypeReplace, box.TypeReplace, box.TypeUpdate,
				box.TypeDelete, box.TypeUpsert, box.TypeSelect}[g.n(7)]
			body = g.dmlBody(h.Type)
			if g.chance(0.02) {
				body = nil
			} else if g.chance(0.02) {
				body = []byte{0x80} // an empty body
			}
		case k < 76:
			h.Type = box.TypeNop
		case k < 82:
			h.Type = []box.RowType{box.TypeConfirm, box.TypeRollback}[g.n(2)]
			body = g.otherBody(h.Type)
		case k < 86:
			h.Type = []box.RowType{box.TypePromote, box.TypeDemote}[g.n(2)]
			body = g.otherBody(h.Type)
		case k < 90:
			h.Type = box.TypeRaft
			body = g.otherBody(h.Type)
		default:
			h.Type = oddTypes[g.n(len(oddTypes))]
			if g.chance(0.8) {
				body = g.otherBody(h.Type)
			}
		}
		rows = append(rows, genRow{h, body})
	}
	return rows
}

// genFile writes a file of random rows and returns its path and rows.
type genFile struct {
	path string
	rows []genRow
}

func (g *rowGen) file(t *testing.T, dir string, i, ntx int) genFile {
	t.Helper()
	replica := uint32(1 + g.n(31))
	if g.chance(0.1) {
		replica = uint32(g.r.Uint32())
	}
	if g.chance(0.2) {
		g.lsn[replica] = math.MaxInt64 - uint64(ntx*8) // near the top of the signed range
	}
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, Tarantool: "2.6.0-0-g47aa4e01e",
		Instance: "8244848b-532e-4988-b27a-e4326c6ccb1c", HasVClock: true}
	if i%4 == 3 {
		m.FileType = format.TypeSNAP
	}
	opts := format.WriterOptions{NoSync: true, NoCompress: g.chance(0.3),
		BlockSize: []int{64, 500, 3000, 20000, 1 << 20}[g.n(5)]}
	path := filepath.Join(dir, fmt.Sprintf("%020d%s", i, m.Ext()))
	var buf bytes.Buffer
	w, err := format.NewWriter(&buf, m, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := genFile{path: path}
	for k := 0; k < ntx; k++ {
		tx := g.txn(replica)
		if len(tx) > 1 {
			w.Begin()
		}
		for _, r := range tx {
			if err := w.Write(&r.h, r.body); err != nil {
				t.Fatal(err)
			}
		}
		if len(tx) > 1 {
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		f.rows = append(f.rows, tx...)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.Bytes())
	return f
}
