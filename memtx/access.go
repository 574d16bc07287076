package memtx

// Access to a space's tuples by the key of any index (the node's requests).

// CompareKey compares the key of tuple t in index ix with key, a prefix of
// the index parts.
func (ix *Index) CompareKey(t, key []any) int {
	if ix.kd == nil {
		return 0
	}
	return ix.kd.compareKey(t, key)
}

// KeyOf returns the key of tuple t in index ix.
func (ix *Index) KeyOf(t []any) []any {
	if ix.kd == nil {
		return nil
	}
	key := make([]any, len(ix.kd.parts))
	for i := range key {
		key[i] = ix.kd.value(t, i)
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
		return sp.lookup(ix, key)
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
