package verify

import (
	"hash/maphash"

	"github.com/xlogtool/xlogtool/format"
)

// chunkBits sets how many LSNs of one component a digest covers: rows are
// compared across instances a chunk at a time, and only the chunks whose
// digests differ are read again row by row.
const chunkBits = 10

const chunkSize = 1 << chunkBits

// chunk is the digest of the rows of one component whose LSNs fall into
// one aligned window.
type chunk struct {
	sum      uint64 // sum of the rows' mixed hashes
	count    uint32
	min, max uint64
}

// digests keeps the chunk digests of every replica component (local rows
// excluded) of one instance: a few dozen bytes per thousand rows.
type digests struct {
	seed  maphash.Seed
	comps [format.VClockMax]map[uint64]*chunk
}

func newDigests(seed maphash.Seed) *digests { return &digests{seed: seed} }

// rowHash hashes what must be equal on every instance holding the row:
// its type and body. Timestamps and flags are local to each writer.
func rowHash(seed maphash.Seed, r *format.Row) uint64 {
	return maphash.Bytes(seed, r.Body) ^ (uint64(r.Type)+1)*0xff51afd7ed558ccd
}

// mix spreads a row hash combined with its LSN (splitmix64 finaliser), so
// that sums of different row sets rarely collide.
func mix(h, lsn uint64) uint64 {
	z := h ^ (lsn * 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (d *digests) add(id uint32, lsn, h uint64) {
	m := d.comps[id]
	if m == nil {
		m = make(map[uint64]*chunk)
		d.comps[id] = m
	}
	k := lsn >> chunkBits
	c := m[k]
	if c == nil {
		c = &chunk{min: lsn, max: lsn}
		m[k] = c
	}
	c.sum += mix(h, lsn)
	c.count++
	c.min = min(c.min, lsn)
	c.max = max(c.max, lsn)
}
