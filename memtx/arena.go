package memtx

import (
	"encoding/binary"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// The tuple arena: a state keeps the bytes of its tuples in large slabs
// and its indexes hold compact references to them (tref), so that the
// garbage collector has neither a tuple object to mark nor a pointer to
// follow in a B-tree node: the slabs hold no pointers and, beyond the
// first few MiB, are mapped outside the Go heap.
//
// Tuples are carved from the slabs in size classes (multiples of 8 bytes
// up to 256, then steps of at most 1/16); a freed block goes to the free
// list of its class and is reused by the next tuple of that class.
// Tuples bigger than maxClassSize get an allocation of their own.
//
// A tuple removed from the indexes is not reused at once when a read
// view may still see it: each read view registers the epoch it was taken
// in, each retired tuple the epoch it was retired in, and a tuple is
// freed once every view that could see it is closed. Within a
// transaction the tuples it replaced are retired at commit, the ones it
// stored at rollback.

// tref is where a stored tuple lives: slab number, offset and length.
// The length 0 stands for a whole slab of its own (a big tuple); the
// zero tref is no tuple.
type tref uint64

const (
	refLenBits = 20
	refOffBits = 20
	refLenMask = 1<<refLenBits - 1
	refOffMask = 1<<refOffBits - 1

	slabSize     = 1 << refOffBits // the regular slab
	firstSlab    = 64 << 10        // the first slabs are smaller
	heapSlabs    = 4 << 20         // slabs on the Go heap before mapped ones
	maxClassSize = 16 << 10        // bigger tuples get their own slab
	maxSlabs     = 1 << (64 - refLenBits - refOffBits)
)

func makeRef(slab, off, n int) tref {
	return tref(uint64(slab)<<(refLenBits+refOffBits) | uint64(off)<<refLenBits | uint64(n))
}

func (r tref) slab() int { return int(r >> (refLenBits + refOffBits)) }
func (r tref) off() int  { return int(r>>refLenBits) & refOffMask }
func (r tref) n() int    { return int(r & refLenMask) }

// Size classes.
var (
	classSizes []int32
	classOf8   []uint8 // class of a size, by (size+7)/8
)

func init() {
	for s := 8; s <= 256; s += 8 {
		classSizes = append(classSizes, int32(s))
	}
	for s := 256; s < maxClassSize; {
		s = min((s+s/16+7)&^7, maxClassSize)
		classSizes = append(classSizes, int32(s))
	}
	classOf8 = make([]uint8, maxClassSize/8+1)
	c := 0
	for i := range classOf8 {
		for int(classSizes[c]) < i*8 {
			c++
		}
		classOf8[i] = uint8(c)
	}
}

func sizeClass(n int) int { return int(classOf8[(n+7)>>3]) }

// blockSize returns the memory a tuple of n bytes takes in the arena.
func blockSize(n int) int64 {
	if n > maxClassSize {
		return int64(n)
	}
	return int64(classSizes[sizeClass(n)])
}

// arena holds the tuples of one state. It is used by the state's
// goroutine; read views read its slabs from others.
type arena struct {
	slabs   [][]byte // by number; slab 0 is never used
	curSlab int      // the slab new blocks are carved from (0: none yet)
	curOff  int
	free    []tref // per class: the head of the list of free blocks
	// freeSlabs are numbers of released big-tuple slabs, to reuse.
	freeSlabs []int32
	heap      int64 // bytes of regular slabs on the Go heap
	slabBytes int64 // bytes of regular slabs
	mapped    int64 // bytes of regular slabs mapped outside the Go heap
	big       int64 // bytes of big tuples' slabs
	used      int64 // bytes of blocks holding tuples or waiting for views
	// pending are retired tuples some read view may still see, by epoch.
	pending []retired
	epoch   uint64 // the epoch of the newest read view
	views   *viewSet
	maps    *mappings
}

type retired struct {
	ref   tref
	epoch uint64
}

// viewSet is the set of open read views, shared with them.
type viewSet struct {
	mu     sync.Mutex
	open   map[uint64]int // epoch → views open
	closed atomic.Bool    // a view was closed since the last reclaim
	nopen  atomic.Int32
}

// mappings are the slabs mapped outside the Go heap, unmapped when the
// arena is garbage.
type mappings struct {
	mu   sync.Mutex
	list [][]byte
}

func newArena() *arena {
	a := &arena{slabs: [][]byte{nil}, free: make([]tref, len(classSizes)), views: &viewSet{open: map[uint64]int{}},
		maps: &mappings{}}
	runtime.AddCleanup(a, func(m *mappings) { m.unmapAll() }, a.maps)
	return a
}

func (m *mappings) unmapAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.list {
		unmapSlab(b)
	}
	m.list = nil
}

// bytes returns the tuple r refers to.
func (a *arena) bytes(r tref) Tuple { return slabBytes(a.slabs, r) }

func slabBytes(slabs [][]byte, r tref) Tuple {
	s := slabs[r.slab()]
	n := r.n()
	if n == 0 {
		return Tuple(s)
	}
	off := r.off()
	return Tuple(s[off : off+n : off+n])
}

// store copies t into the arena.
func (a *arena) store(t Tuple) tref {
	r, b := a.alloc(len(t))
	copy(b, t)
	return r
}

// alloc returns a block for a tuple of n bytes (n > 0).
func (a *arena) alloc(n int) (tref, []byte) {
	if a.views.closed.Load() {
		a.reclaim()
	}
	if n > maxClassSize {
		return a.allocBig(n)
	}
	c := sizeClass(n)
	size := int(classSizes[c])
	a.used += int64(size)
	if r := a.free[c]; r != 0 {
		s := a.slabs[r.slab()]
		off := r.off()
		a.free[c] = tref(binary.LittleEndian.Uint64(s[off:]))
		return makeRef(r.slab(), off, n), s[off : off+n : off+n]
	}
	if a.curSlab == 0 || a.curOff+size > len(a.slabs[a.curSlab]) {
		a.newSlab()
	}
	off := a.curOff
	a.curOff += size
	s := a.slabs[a.curSlab]
	return makeRef(a.curSlab, off, n), s[off : off+n : off+n]
}

// newSlab starts a new regular slab. The first ones are small and on the
// Go heap; from heapSlabs on they are mapped (where the system can).
func (a *arena) newSlab() {
	if len(a.slabs) >= maxSlabs {
		panic("memtx: tuple arena exhausted")
	}
	var s []byte
	if a.heap < heapSlabs {
		size := min(max(firstSlab, int(a.heap)), slabSize)
		s = make([]byte, size)
		a.heap += int64(size)
	} else {
		s = mapSlab(slabSize)
		a.mapped += int64(len(s))
		a.maps.mu.Lock()
		a.maps.list = append(a.maps.list, s)
		a.maps.mu.Unlock()
	}
	a.slabs = append(a.slabs, s)
	a.curSlab, a.curOff = len(a.slabs)-1, 0
	a.slabBytes += int64(len(s))
}

func (a *arena) allocBig(n int) (tref, []byte) {
	s := make([]byte, n)
	a.used += int64(n)
	a.big += int64(n)
	var i int
	if k := len(a.freeSlabs); k > 0 {
		i = int(a.freeSlabs[k-1])
		a.freeSlabs = a.freeSlabs[:k-1]
		a.slabs[i] = s
	} else {
		a.slabs = append(a.slabs, s)
		i = len(a.slabs) - 1
	}
	return makeRef(i, 0, 0), s
}

// release makes the block of r free for new tuples.
func (a *arena) release(r tref) {
	n := r.n()
	if n == 0 {
		i := r.slab()
		a.used -= int64(len(a.slabs[i]))
		a.big -= int64(len(a.slabs[i]))
		a.slabs[i] = nil
		a.freeSlabs = append(a.freeSlabs, int32(i))
		return
	}
	c := sizeClass(n)
	a.used -= int64(classSizes[c])
	s := a.slabs[r.slab()]
	binary.LittleEndian.PutUint64(s[r.off():], uint64(a.free[c]))
	a.free[c] = makeRef(r.slab(), r.off(), 1)
}

// retire frees the block of a tuple no index holds any more, as soon as
// no read view can see it.
func (a *arena) retire(r tref) {
	if r == 0 {
		return
	}
	if a.views.nopen.Load() == 0 {
		if len(a.pending) > 0 {
			a.reclaim()
		}
		a.release(r)
		return
	}
	a.pending = append(a.pending, retired{r, a.epoch})
	if len(a.pending)&1023 == 0 {
		a.reclaim()
	}
}

// reclaim frees the retired tuples no open view can see.
func (a *arena) reclaim() {
	a.views.closed.Store(false)
	if len(a.pending) == 0 {
		return
	}
	oldest := a.views.oldest()
	k := 0
	for k < len(a.pending) && a.pending[k].epoch < oldest {
		a.release(a.pending[k].ref)
		k++
	}
	if k > 0 {
		a.pending = a.pending[:copy(a.pending, a.pending[k:])]
	}
}

// openView registers a read view taken now and returns its epoch.
func (a *arena) openView() uint64 {
	a.epoch++
	v := a.views
	v.mu.Lock()
	v.open[a.epoch]++
	v.nopen.Add(1)
	v.mu.Unlock()
	return a.epoch
}

func (v *viewSet) close(epoch uint64) {
	v.mu.Lock()
	if v.open[epoch]--; v.open[epoch] <= 0 {
		delete(v.open, epoch)
	}
	v.nopen.Add(-1)
	v.mu.Unlock()
	v.closed.Store(true)
}

// oldest returns the epoch of the oldest open view (no epoch is as old
// when none is open).
func (v *viewSet) oldest() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	o := uint64(math.MaxUint64)
	for e := range v.open {
		o = min(o, e)
	}
	return o
}

// MemoryStats describe the memory of a state's tuples.
type MemoryStats struct {
	// Used is MemoryUsed: the blocks holding tuples, and those waiting
	// for read views.
	Used uint64
	// Arena is what the arena took for them: its slabs (blocks in use,
	// free blocks, room not carved yet) and big tuples.
	Arena uint64
	// Mapped is the part of Arena mapped outside the Go heap (not in
	// runtime.MemStats).
	Mapped uint64
	// Pending counts the tuples replaced or deleted that open read views
	// still see.
	Pending int
}

// MemoryStats returns the memory of the state's tuples.
func (s *State) MemoryStats() MemoryStats {
	a := s.env.arena
	return MemoryStats{Used: uint64(a.used), Arena: uint64(a.slabBytes + a.big), Mapped: uint64(a.mapped),
		Pending: len(a.pending)}
}
