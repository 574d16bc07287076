package memtx

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"slices"
	"sync"

	"github.com/xlogtool/xlogtool/box"
)

// Deferred secondary keys: while a snapshot is loaded, Tarantool fills
// only the primary keys of user spaces and builds the secondary indexes
// once all rows are in, by sorting. The state can do the same: between
// DeferSecondaryKeys and BuildSecondaryKeys, INSERT and REPLACE requests
// into non-system spaces maintain only the primary key; the unique
// secondary indexes are rebuilt from it at the end (or before any other
// request touches the space), and a conflict in one of them is reported
// then.

// DeferSecondaryKeys makes INSERT and REPLACE requests into non-system
// spaces leave the secondary indexes to BuildSecondaryKeys.
func (s *State) DeferSecondaryKeys() { s.deferKeys = true }

// BuildSecondaryKeys ends DeferSecondaryKeys: it rebuilds the secondary
// indexes of the spaces written meanwhile and returns the conflicts
// found in unique ones (the tuples concerned are left out of the index).
func (s *State) BuildSecondaryKeys() []*ApplyError {
	s.deferKeys = false
	var spaces []*Space
	for _, sp := range s.Spaces() {
		if sp.keysDeferred {
			spaces = append(spaces, sp)
		}
	}
	var errs []*ApplyError
	for _, sp := range spaces {
		errs = append(errs, s.buildKeys(sp)...)
	}
	return errs
}

// deferKeysFor tells whether a request leaves the secondary keys of sp
// for later, building them first when a request needs them.
func (s *State) deferKeysFor(sp *Space, typ box.RowType) {
	put := typ == box.TypeInsert || typ == box.TypeReplace
	if sp.keysDeferred {
		if !(s.deferKeys && put) {
			s.deferred = append(s.deferred, s.buildKeys(sp)...)
		}
		return
	}
	if !s.deferKeys || !put || box.IsSystemSpace(sp.ID) {
		return
	}
	for _, ix := range sp.indexes {
		if ix.ID != 0 && ix.maintained() {
			sp.keysDeferred = true
			return
		}
	}
}

// buildKeys rebuilds the maintained secondary indexes of sp from its
// primary key, sorting the tuples (on several goroutines for large
// spaces) and filling the trees in order.
func (s *State) buildKeys(sp *Space) []*ApplyError {
	sp.keysDeferred = false
	defer func() {
		for _, r := range sp.staleRefs {
			s.env.arena.retire(r)
		}
		sp.staleRefs = nil
	}()
	pk := sp.primary()
	if pk == nil {
		return nil
	}
	var todo []*Index
	for _, ix := range sp.indexes {
		if ix.ID != 0 && ix.maintained() {
			todo = append(todo, ix)
		}
	}
	var mu sync.Mutex
	var errs []*ApplyError
	var wg sync.WaitGroup
	for _, ix := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := sp.fillIndex(ix, pk)
			mu.Lock()
			errs = append(errs, e...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return errs
}

// fillIndex sorts the tuples by the index and fills a new tree with them.
func (sp *Space) fillIndex(ix *Index, pk *Index) []*ApplyError {
	tree := ix.newTree(pk.kd, sp.ar())
	var errs []*ApplyError
	var prev tref // the last tuple put in the tree
	sortedEach(sp, ix.kd, tree.cmp, func(t tref, sameKey bool) {
		if prev == 0 {
			tree.set(t)
			prev = t
			return
		}
		if ix.Unique && sameKey {
			e := sp.tupleFound(ix)
			e.SpaceID = sp.ID
			errs = append(errs, e)
			return
		}
		// In order and distinct (the primary key breaks ties).
		tree.appendMax(t)
		prev = t
	})
	ix.tree = tree
	return errs
}

// strKey and uintKey are the key of a tuple (by its position) when the
// key is one plain part of strings or of unsigned integers.
type strKey struct {
	prefix uint64 // the first 8 bytes, big-endian, zero-padded
	i      int32
}

func strPrefix(s []byte) uint64 {
	var b [8]byte
	copy(b[:], s)
	return binary.BigEndian.Uint64(b[:])
}

type uintKey struct {
	u uint64
	i int32
}

// keyOther reports whether sortedEach compares whole tuples for the key.
func keyOther(kd *keyDef) bool {
	return kd.parts[0].path != nil || kd.parts[0].desc || len(kd.parts) != 1
}

// sortedEach calls fn for the tuples of sp in the order of cmp (the key
// of kd, then the primary key), telling whether a tuple has the key of
// the one before it, without nil parts (sameKey). When the key is one
// plain part and every tuple holds a string there (binary collation) or
// every tuple an unsigned integer, the keys are taken out of the tuples
// and sorted as plain Go values.
func sortedEach(sp *Space, kd *keyDef, cmp func(a, b tref) int, fn func(t tref, sameKey bool)) {
	refs := sp.storedRefs()
	ar := sp.ar()
	if len(refs) > 1<<31-1 {
		panic("memtx: too many tuples in one space")
	}
	isStr, isUint := !keyOther(kd), !keyOther(kd)
	field := -1
	if !keyOther(kd) {
		field = kd.parts[0].field
		isStr = kd.parts[0].coll == collBinary
	}
	for _, r := range refs {
		t := ar.bytes(r)
		if !isStr && !isUint {
			break
		}
		switch k, _, _ := peek(fieldAt(t, field)); k {
		case rawStr:
			isUint = false
		case rawUint:
			isStr = false
		default:
			isStr, isUint = false, false
		}
	}
	switch {
	case isStr:
		str := func(i int32) []byte {
			_, _, s := peek(fieldAt(ar.bytes(refs[i]), field))
			return s
		}
		keys := make([]strKey, len(refs))
		for i := range refs {
			keys[i] = strKey{strPrefix(str(int32(i))), int32(i)}
		}
		first := true
		var last []byte
		parallelSortEach(keys, func(a, b strKey) int {
			if c := cmpOrdered(a.prefix, b.prefix); c != 0 {
				return c
			}
			if c := bytes.Compare(str(a.i), str(b.i)); c != 0 {
				return c
			}
			return cmp(refs[a.i], refs[b.i])
		}, func(k strKey) {
			s := str(k.i)
			fn(refs[k.i], !first && bytes.Equal(s, last))
			first, last = false, s
		})
	case isUint:
		keys := make([]uintKey, len(refs))
		for i, r := range refs {
			t := ar.bytes(r)
			_, u, _ := peek(fieldAt(t, field))
			keys[i] = uintKey{u, int32(i)}
		}
		first := true
		var last uint64
		parallelSortEach(keys, func(a, b uintKey) int {
			if c := cmpOrdered(a.u, b.u); c != 0 {
				return c
			}
			return cmp(refs[a.i], refs[b.i])
		}, func(k uintKey) {
			fn(refs[k.i], !first && k.u == last)
			first, last = false, k.u
		})
	default:
		var last Tuple
		parallelSortEach(refs, cmp, func(r tref) {
			t := ar.bytes(r)
			fn(r, last != nil && !kd.hasNull(t) && kd.compare(last, t) == 0)
			last = t
		})
	}
}

// parallelSortEach sorts s and calls fn for its items in order. A large
// s is sorted in two halves on two goroutines, merged as fn is called.
func parallelSortEach[T any](s []T, cmp func(a, b T) int, fn func(T)) {
	if len(s) < 1<<16 || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(s, cmp)
		for _, x := range s {
			fn(x)
		}
		return
	}
	mid := len(s) / 2
	a, b := s[:mid], s[mid:]
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		slices.SortFunc(a, cmp)
	}()
	slices.SortFunc(b, cmp)
	wg.Wait()
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if cmp(a[i], b[j]) <= 0 {
			fn(a[i])
			i++
		} else {
			fn(b[j])
			j++
		}
	}
	for ; i < len(a); i++ {
		fn(a[i])
	}
	for ; j < len(b); j++ {
		fn(b[j])
	}
}
