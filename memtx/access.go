package memtx

// Access to a space's tuples by the key of any index, with decoded
// values (Select and GetTuple work on stored tuples without decoding).

// CompareKey compares the key of tuple t in index ix with key, a prefix of
// the index parts.
func (ix *Index) CompareKey(t, key []any) int {
	if ix.kd == nil {
		return 0
	}
	tu, err := newTuple(t)
	if err != nil {
		return 0
	}
	return ix.kd.compareKey(tu, key)
}

// KeyOf returns the key of tuple t in index ix.
func (ix *Index) KeyOf(t []any) []any {
	if ix.kd == nil {
		return nil
	}
	tu, err := newTuple(t)
	if err != nil {
		return nil
	}
	key := make([]any, len(ix.kd.parts))
	for i := range key {
		key[i] = ix.kd.value(tu, i)
	}
	return key
}

// Lookup returns the tuple whose key in the unique index indexID is key.
func (sp *Space) Lookup(indexID uint32, key []any) ([]any, bool) {
	ix := sp.Index(indexID)
	if ix == nil {
		return nil, false
	}
	if ix.maintained() {
		t, ok := sp.lookup(ix, key)
		return t.Decode(), ok
	}
	var found []any
	sp.Ascend(func(t []any) bool {
		if ix.CompareKey(t, key) == 0 {
			found = t
			return false
		}
		return true
	})
	return found, found != nil
}
