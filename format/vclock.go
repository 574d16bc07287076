package format

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// VClockMax is the number of vclock components (replica ids 0..31).
const VClockMax = 32

// VClock is a vector clock: one LSN per replica id, 0 being the component of
// local rows. A component is either present or absent; an absent component
// reads as 0 but is not printed, as in Tarantool.
type VClock struct {
	lsn  [VClockMax]uint64
	mask uint32
}

// Get returns the LSN of component id (0 when absent or out of range).
func (v VClock) Get(id uint32) uint64 {
	if id >= VClockMax {
		return 0
	}
	return v.lsn[id]
}

// Has reports whether component id is present.
func (v VClock) Has(id uint32) bool { return id < VClockMax && v.mask&(1<<id) != 0 }

// Set sets component id; ids of VClockMax and above are ignored.
func (v *VClock) Set(id uint32, lsn uint64) {
	if id >= VClockMax {
		return
	}
	v.lsn[id] = lsn
	v.mask |= 1 << id
}

// Follow raises component id to lsn if lsn is greater (or the component is
// absent) and reports whether it did.
func (v *VClock) Follow(id uint32, lsn uint64) bool {
	if id >= VClockMax || (v.Has(id) && v.lsn[id] >= lsn) {
		return false
	}
	v.Set(id, lsn)
	return true
}

// Reset clears component id.
func (v *VClock) Reset(id uint32) {
	if id < VClockMax {
		v.lsn[id] = 0
		v.mask &^= 1 << id
	}
}

// IsEmpty reports whether no component is present.
func (v VClock) IsEmpty() bool { return v.mask == 0 }

// Len returns the number of present components.
func (v VClock) Len() int { return bits.OnesCount32(v.mask) }

// IDs returns the present component ids in ascending order.
func (v VClock) IDs() []uint32 {
	ids := make([]uint32, 0, v.Len())
	for m := v.mask; m != 0; m &= m - 1 {
		ids = append(ids, uint32(bits.TrailingZeros32(m)))
	}
	return ids
}

// Each calls fn for every present component in ascending id order.
func (v VClock) Each(fn func(id uint32, lsn uint64)) {
	for m := v.mask; m != 0; m &= m - 1 {
		id := uint32(bits.TrailingZeros32(m))
		fn(id, v.lsn[id])
	}
}

// Signature is the sum of all components including component 0; files are
// named after it.
func (v VClock) Signature() uint64 {
	var s uint64
	for _, l := range v.lsn {
		s += l
	}
	return s
}

// WithoutLocal returns a copy without component 0.
func (v VClock) WithoutLocal() VClock {
	v.Reset(0)
	return v
}

// Order is the result of comparing two vclocks (a partial order).
type Order int

// Orders.
const (
	Equal Order = iota
	Before
	After
	Concurrent
)

func (o Order) String() string {
	return [...]string{"equal", "before", "after", "concurrent"}[o]
}

// Compare compares v with o componentwise; absent components count as 0.
func (v VClock) Compare(o VClock) Order {
	le, ge := true, true
	for i := range v.lsn {
		if v.lsn[i] < o.lsn[i] {
			ge = false
		} else if v.lsn[i] > o.lsn[i] {
			le = false
		}
	}
	switch {
	case le && ge:
		return Equal
	case le:
		return Before
	case ge:
		return After
	}
	return Concurrent
}

// Equal reports whether both vclocks have the same components.
func (v VClock) Equal(o VClock) bool { return v.Compare(o) == Equal }

// LessEq reports whether every component of v is <= the one of o.
func (v VClock) LessEq(o VClock) bool {
	c := v.Compare(o)
	return c == Equal || c == Before
}

// ComponentDiff is one component where two vclocks differ.
type ComponentDiff struct {
	ID    uint32 `json:"replica_id"`
	A     uint64 `json:"a"`
	B     uint64 `json:"b"`
	Delta int64  `json:"delta"` // A - B
}

// Diff lists the components where v and o differ, in id order.
func (v VClock) Diff(o VClock) []ComponentDiff {
	var d []ComponentDiff
	for i := uint32(0); i < VClockMax; i++ {
		if v.lsn[i] != o.lsn[i] {
			d = append(d, ComponentDiff{ID: i, A: v.lsn[i], B: o.lsn[i], Delta: int64(v.lsn[i] - o.lsn[i])})
		}
	}
	return d
}

// Max returns the componentwise maximum of v and o.
func (v VClock) Max(o VClock) VClock {
	o.Each(func(id uint32, lsn uint64) { v.Follow(id, lsn) })
	return v
}

// String prints the vclock as Tarantool does: {0: 4, 1: 32}.
func (v VClock) String() string {
	return string(v.AppendText(nil))
}

// AppendText appends the Tarantool text form of v to b.
func (v VClock) AppendText(b []byte) []byte {
	b = append(b, '{')
	first := true
	v.Each(func(id uint32, lsn uint64) {
		if !first {
			b = append(b, ", "...)
		}
		first = false
		b = strconv.AppendUint(b, uint64(id), 10)
		b = append(b, ": "...)
		b = strconv.AppendUint(b, lsn, 10)
	})
	return append(b, '}')
}

// MarshalJSON encodes the vclock as {"1": 10, "2": 5}.
func (v VClock) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	first := true
	v.Each(func(id uint32, lsn uint64) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = strconv.AppendUint(b, uint64(id), 10)
		b = append(b, `":`...)
		b = strconv.AppendUint(b, lsn, 10)
	})
	return append(b, '}'), nil
}

// UnmarshalJSON accepts {"1": 10} as well as the Tarantool text form in a
// JSON string.
func (v *VClock) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		p, err := ParseVClock(s)
		if err != nil {
			return err
		}
		*v = p
		return nil
	}
	p, err := ParseVClock(string(data))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// ParseVClock parses Tarantool's text form ({1: 10, 2: 5}, blanks anywhere)
// and the JSON form ({"1": 10, "2": 5}). Ids must be 0..31 and may not repeat.
func ParseVClock(s string) (VClock, error) {
	var v VClock
	p := vclockParser{s: s}
	p.blank()
	if !p.eat('{') {
		return v, p.errorf("expected '{'")
	}
	p.blank()
	if p.eat('}') {
		p.blank()
		if p.i != len(s) {
			return v, p.errorf("unexpected data after '}'")
		}
		return v, nil
	}
	for {
		p.blank()
		quoted := p.eat('"')
		id, err := p.number()
		if err != nil {
			return v, err
		}
		if quoted && !p.eat('"') {
			return v, p.errorf(`expected '"'`)
		}
		if id >= VClockMax {
			return v, p.errorf("replica id %d out of range 0..%d", id, VClockMax-1)
		}
		if v.Has(uint32(id)) {
			return v, p.errorf("replica id %d repeated", id)
		}
		p.blank()
		if !p.eat(':') {
			return v, p.errorf("expected ':'")
		}
		p.blank()
		lsn, err := p.number()
		if err != nil {
			return v, err
		}
		if lsn > 1<<63-1 {
			return v, p.errorf("lsn %d out of range", lsn)
		}
		v.Set(uint32(id), lsn)
		p.blank()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			break
		}
		return v, p.errorf("expected ',' or '}'")
	}
	p.blank()
	if p.i != len(s) {
		return v, p.errorf("unexpected data after '}'")
	}
	return v, nil
}

type vclockParser struct {
	s string
	i int
}

func (p *vclockParser) blank() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *vclockParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *vclockParser) number() (uint64, error) {
	j := p.i
	for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
		j++
	}
	if j == p.i {
		return 0, p.errorf("expected a number")
	}
	n, err := strconv.ParseUint(p.s[p.i:j], 10, 64)
	if err != nil {
		return 0, p.errorf("bad number %q", p.s[p.i:j])
	}
	p.i = j
	return n, nil
}

func (p *vclockParser) errorf(f string, a ...any) error {
	return fmt.Errorf("invalid vclock %q at position %d: %s", p.s, p.i, fmt.Sprintf(f, a...))
}
