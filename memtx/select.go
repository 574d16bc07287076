package memtx

import (
	"fmt"
	"github.com/xlogtool/xlogtool/box"
	"strings"
)

// Select returns the tuples of index indexID of space spaceID that the
// iterator yields for key, skipping offset of them and returning at
// most limit. Errors carry Tarantool's codes and messages (no such
// space or index, key part count and types, iterators a HASH index does
// not support).
func (s *State) Select(spaceID, indexID uint32, it box.Iterator, key []any, offset, limit uint32) ([]Tuple, error) {
	sp := s.spaces[spaceID]
	if sp == nil {
		return nil, boxError(box.ErrNoSuchSpace, fmt.Sprint(spaceID))
	}
	out, err := sp.Select(indexID, it, key, offset, limit)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Select is State.Select on this space. The tuples returned are copies,
// the caller's to keep (in one allocation).
func (sp *Space) Select(indexID uint32, it box.Iterator, key []any, offset, limit uint32) ([]Tuple, error) {
	var out []Tuple
	size := 0
	err := sp.Iterate(indexID, it, key, func(t Tuple) bool {
		if offset > 0 {
			offset--
			return true
		}
		if limit == 0 {
			return false
		}
		out = append(out, t)
		size += len(t)
		limit--
		return limit > 0
	})
	if err != nil {
		return nil, err
	}
	return cloneTuples(out, size), nil
}

// cloneTuples replaces tuples of the arena with copies, made in one
// allocation of size bytes.
func cloneTuples(ts []Tuple, size int) []Tuple {
	buf := make([]byte, 0, size)
	for i, t := range ts {
		l := len(buf)
		buf = append(buf, t...)
		ts[i] = Tuple(buf[l:len(buf):len(buf)])
	}
	return ts
}

// Iterate calls fn for the tuples of index indexID that the iterator
// yields for key, in its order, until fn returns false. A tuple is valid
// until the state changes: a caller keeps a copy (Tuple.Clone). As in
// Tarantool, ALL with a key on a TREE index is GE; a HASH index is
// iterated in key order here (Tarantool's own order is its hash table's).
func (sp *Space) Iterate(indexID uint32, it box.Iterator, key []any, fn func(Tuple) bool) error {
	ix := sp.Index(indexID)
	if ix == nil {
		return sp.noIndex(indexID)
	}
	if it > box.IterGt {
		return sp.unsupportedIterator(ix)
	}
	key, nerr := normKey(key)
	if nerr != nil {
		return invalidValue(nerr)
	}
	if len(key) > len(ix.kd.parts) {
		return boxError(box.ErrKeyPartCount, len(ix.kd.parts), len(key))
	}
	if strings.EqualFold(ix.Type, "hash") {
		// A HASH index takes ALL (any key), GT (no key or a full key)
		// and EQ (a full key); other iterators are refused after partial
		// keys and key types are.
		switch {
		case it == box.IterAll:
			key = key[:0]
		case it == box.IterGt && len(key) == 0:
		case len(key) != len(ix.kd.parts):
			return boxError(box.ErrPartialKey, "HASH", len(ix.kd.parts), len(key))
		}
	} else if it == box.IterAll {
		// ALL with a key on a TREE index starts at the key, as GE.
		it = box.IterGe
	}
	if err := ix.kd.checkKeyTypes(key, true); err != nil {
		return err
	}
	if strings.EqualFold(ix.Type, "hash") && it != box.IterEq && it != box.IterGt && it != box.IterAll {
		return sp.unsupportedIterator(ix)
	}
	if !ix.maintained() {
		return sp.unsupportedIterator(ix)
	}
	ar := ix.ar
	cmp := func(r tref) int { return ix.kd.compareKey(ar.bytes(r), key) }
	each := func(r tref) bool { return fn(ar.bytes(r)) }
	if len(key) == 0 {
		switch it {
		case box.IterReq, box.IterLt, box.IterLe:
			ix.tree.descendFrom(&bound[tref]{hint: hintNone, cmp: func(tref) int { return -1 }}, each)
		default:
			ix.tree.ascend(each)
		}
		return nil
	}
	// Before the key (lt) or up to it (le).
	kh := ix.kd.valuesHint(key)
	lt := &bound[tref]{hint: kh, cmp: cmp}
	le := &bound[tref]{hint: kh, cmp: cmp, orEqual: true}
	switch it {
	case box.IterEq:
		ix.tree.ascendFrom(lt, func(r tref) bool {
			return cmp(r) == 0 && each(r)
		})
	case box.IterReq:
		ix.tree.descendFrom(le, func(r tref) bool {
			return cmp(r) == 0 && each(r)
		})
	case box.IterAll:
		ix.tree.ascend(each)
	case box.IterGe:
		ix.tree.ascendFrom(lt, each)
	case box.IterGt:
		ix.tree.ascendFrom(le, each)
	case box.IterLe:
		ix.tree.descendFrom(le, each)
	case box.IterLt:
		ix.tree.descendFrom(lt, each)
	}
	return nil
}

// checkKeyTypes checks the types of key parts; nil is accepted in
// nullable parts of a search key, never in an exact match.
func (kd *keyDef) checkKeyTypes(key []any, search bool) *ApplyError {
	for i, v := range key {
		p := &kd.parts[i]
		if v == nil && p.nullable && search {
			continue
		}
		if v == nil || !typeAccepts(p.typ, v, kd.rules) {
			return boxError(box.ErrKeyPartType,
				i, p.typ)
		}
	}
	return nil
}

// unsupportedIterator is the error of an iterator an index does not have.
func (sp *Space) unsupportedIterator(ix *Index) *ApplyError {
	return boxError(box.ErrUnsupportedIndexFeature, ix.Name, strings.ToUpper(ix.Type), sp.displayName(), "memtx",
		"requested iterator type")
}

// normKey returns a search key in canonical form: as it is when its parts
// already are canonical scalars (a key decoded from MessagePack), else
// normalised.
func normKey(key []any) ([]any, error) {
	plain := true
	for _, v := range key {
		switch x := v.(type) {
		case nil, bool, uint64, string, float32, float64, Decimal, UUID, Datetime, Interval:
		case int64:
			plain = plain && x < 0
		default:
			plain = false
		}
	}
	if plain {
		if key == nil {
			return []any{}, nil
		}
		return key, nil
	}
	nk, err := Normalize(key)
	if err != nil {
		return nil, err
	}
	out, _ := nk.([]any)
	if out == nil {
		out = []any{}
	}
	return out, nil
}
