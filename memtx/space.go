package memtx

import (
	"sort"

	"github.com/xlogtool/xlogtool/box"
)

// Space is a space of the replayed database: its definition (a row of
// _space) and its contents, kept in primary-key order.
type Space struct {
	ID         uint32
	Owner      uint32
	Name       string
	Engine     string
	FieldCount uint32 // exact field count, 0 if not enforced
	IsLocal    bool   // group_id = 1 (replica-local)
	Temporary  bool
	IsSync     bool
	IsView     bool
	Format     []Field
	// Defined is false while the space is only known from the built-in
	// list of system spaces, before its own _space row was applied.
	Defined bool

	indexes []*Index // sorted by id
	format  *tupleFormat
	env     *schemaEnv
	// keysDeferred: the secondary indexes are stale until buildKeys
	// (see DeferSecondaryKeys).
	keysDeferred bool
	// staleRefs are tuples replaced meanwhile, freed once the keys are
	// built.
	staleRefs []tref
	// bsize is the MessagePack bytes of the tuples (see BSize).
	bsize int64
}

// Len returns the number of tuples.
func (sp *Space) Len() int {
	if pk := sp.primary(); pk != nil {
		return pk.tree.Len()
	}
	return 0
}

// BSize returns the MessagePack bytes of the space's tuples, as
// space:bsize() does.
func (sp *Space) BSize() int64 { return sp.bsize }

// ar is the arena the space's tuples live in.
func (sp *Space) ar() *arena { return sp.env.arena }

// Len returns the number of tuples the index holds (0 for an index the
// engine does not maintain).
func (ix *Index) Len() int {
	if ix.tree == nil {
		return 0
	}
	return ix.tree.Len()
}

// Ascend calls fn for each tuple, decoded, in primary-key order until fn
// returns false.
func (sp *Space) Ascend(fn func(tuple []any) bool) {
	sp.AscendTuples(func(t Tuple) bool { return fn(t.Decode()) })
}

// AscendTuples calls fn for each stored tuple in primary-key order until
// fn returns false. The tuple is valid until the state changes: a caller
// keeps a copy (Tuple.Clone).
func (sp *Space) AscendTuples(fn func(t Tuple) bool) {
	if pk := sp.primary(); pk != nil {
		ar := sp.ar()
		pk.tree.ascend(func(r tref) bool { return fn(ar.bytes(r)) })
	}
}

// Tuples returns all tuples, decoded, in primary-key order.
func (sp *Space) Tuples() [][]any {
	out := make([][]any, 0, sp.Len())
	sp.Ascend(func(t []any) bool {
		out = append(out, t)
		return true
	})
	return out
}

// storedRefs returns all stored tuples in primary-key order.
func (sp *Space) storedRefs() []tref {
	out := make([]tref, 0, sp.Len())
	if pk := sp.primary(); pk != nil {
		pk.tree.ascend(func(r tref) bool {
			out = append(out, r)
			return true
		})
	}
	return out
}

// Indexes returns the index definitions, ordered by id. The returned
// values must not be modified.
func (sp *Space) Indexes() []*Index {
	return append([]*Index(nil), sp.indexes...)
}

// Index returns the index with the given id, or nil.
func (sp *Space) Index(id uint32) *Index {
	for _, ix := range sp.indexes {
		if ix.ID == id {
			return ix
		}
	}
	return nil
}

// IndexByName returns the index with the given name, or nil.
func (sp *Space) IndexByName(name string) *Index {
	for _, ix := range sp.indexes {
		if ix.Name == name {
			return ix
		}
	}
	return nil
}

// Get returns the tuple, decoded, with the given primary key, or nil.
func (sp *Space) Get(key []any) []any {
	return sp.GetTuple(key).Decode()
}

// GetTuple returns the stored tuple with the given primary key, or nil.
// The tuple is valid until the state changes: a caller keeps a copy
// (Tuple.Clone).
func (sp *Space) GetTuple(key []any) Tuple {
	pk := sp.primary()
	if pk == nil {
		return nil
	}
	nk, err := normKey(key)
	if err != nil {
		return nil
	}
	r, ok := sp.lookup(pk, nk)
	if !ok {
		return nil
	}
	return sp.ar().bytes(r)
}

func (sp *Space) primary() *Index {
	if len(sp.indexes) > 0 && sp.indexes[0].ID == 0 {
		return sp.indexes[0]
	}
	return nil
}

func (sp *Space) displayName() string {
	if sp.Name != "" {
		return sp.Name
	}
	return "#" + itoa(sp.ID)
}

func itoa(v uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}

func (sp *Space) lookup(ix *Index, key []any) (tref, bool) {
	ar := sp.ar()
	return ix.tree.getHinted(ix.kd.valuesHint(key), func(r tref) int { return ix.kd.compareKey(ar.bytes(r), key) })
}

// collResolver maps a collation id to the comparison used for it.
type collResolver func(id uint32) collKind

// compile prepares the runtime key definition of an index.
func (ix *Index) compile(coll collResolver, rules TypeRules) *ApplyError {
	kd := &keyDef{parts: make([]keyPartRT, len(ix.Parts)), rules: rules}
	for i, p := range ix.Parts {
		rt := keyPartRT{field: int(p.Field), typ: p.Type, nullable: p.IsNullable, desc: p.Desc}
		if p.Collation != 0 && coll != nil {
			rt.coll = coll(p.Collation)
		}
		if p.Path != "" {
			toks, errPos := lexPath(p.Path)
			if errPos != 0 || len(toks) == 0 {
				return boxError(box.ErrWrongIndexOptions, i+1, "invalid path")
			}
			for _, t := range toks {
				if t.kind == tokAny {
					rt.multikey = true
				}
			}
			rt.path = toks
		}
		kd.parts[i] = rt
	}
	kd.plain = true
	for _, p := range kd.parts {
		if p.path != nil || p.desc {
			kd.plain = false
		}
	}
	ix.kd = kd
	return nil
}

// newTree creates the ordered container of an index given the primary key
// definition (secondary indexes are ordered by their key, then by the
// primary key).
func (ix *Index) newTree(pk *keyDef, ar *arena) *btree[tref] {
	ix.ar = ar
	kd := ix.kd
	hint := func(r tref) uint64 { return kd.tupleHint(ar.bytes(r)) }
	if ix.ID == 0 || pk == nil {
		return newHintedBtree(func(a, b tref) int { return kd.compare(ar.bytes(a), ar.bytes(b)) }, hint)
	}
	return newHintedBtree(func(a, b tref) int {
		x, y := ar.bytes(a), ar.bytes(b)
		if c := kd.compare(x, y); c != 0 {
			return c
		}
		return pk.compare(x, y)
	}, hint)
}

// shouldMaintain tells whether the engine keeps the contents of an index:
// the primary key and secondary tree and hash indexes, unique or not,
// over plain or JSON-path fields.
func (ix *Index) shouldMaintain() bool {
	if ix.ID == 0 {
		return true
	}
	return !ix.Functional && !ix.isMultikey() && (ix.Type == "tree" || ix.Type == "hash")
}

// change is a modification of one space: the tuple it removes and the
// one it stores, in the arena (0: none). A prepared change has the new
// tuple's bytes only (newT), stored when the change is made.
type change struct {
	old, new   tref
	oldT, newT Tuple
}

// checkUnique verifies that tuple t, replacing old (may be 0), does not
// collide with another tuple in a unique secondary index.
func (sp *Space) checkUnique(t Tuple, old tref) *ApplyError {
	if sp.keysDeferred {
		return nil
	}
	ar := sp.ar()
	for _, ix := range sp.indexes {
		if ix.ID == 0 || !ix.maintained() || !ix.Unique {
			continue
		}
		if ix.kd.hasNull(t) {
			continue // NULL is never equal to NULL in a unique index
		}
		k := ix.kd.keyOf(t)
		d, found := ix.tree.getHinted(ix.kd.keyHint(&k), func(x tref) int { return ix.kd.compareTo(ar.bytes(x), &k) })
		if found && d != old {
			return boxError(box.ErrTupleFound, ix.Name, sp.displayName())
		}
	}
	return nil
}

// commit makes a change in every maintained index: old (if any) leaves
// them, new (if any) enters them. The caller stored new in the arena and
// retires old.
func (sp *Space) commit(old, new tref) {
	pk := sp.primary()
	ar := sp.ar()
	var oldT, newT Tuple
	if old != 0 {
		oldT = ar.bytes(old)
		sp.bsize -= int64(len(oldT))
	}
	if new != 0 {
		newT = ar.bytes(new)
		sp.bsize += int64(len(newT))
	}
	for _, ix := range sp.indexes {
		if !ix.maintained() {
			continue
		}
		if ix.ID == 0 {
			if old != 0 && (new == 0 || ix.kd.compare(oldT, newT) != 0) {
				k := ix.kd.keyOf(oldT)
				ix.tree.deleteHinted(ix.kd.keyHint(&k), func(x tref) int { return ix.kd.compareTo(ar.bytes(x), &k) })
			}
			if new != 0 && !ix.tree.insertHinted(new) && !ix.tree.replaceHinted(new) {
				ix.tree.set(new)
			}
			continue
		}
		if sp.keysDeferred {
			continue
		}
		if old != 0 {
			k, pkk := ix.kd.keyOf(oldT), pk.kd.keyOf(oldT)
			ix.tree.deleteHinted(ix.kd.keyHint(&k), func(r tref) int {
				x := ar.bytes(r)
				if c := ix.kd.compareTo(x, &k); c != 0 {
					return c
				}
				return pk.kd.compareTo(x, &pkk)
			})
		}
		if new != 0 && !ix.tree.insertHinted(new) {
			ix.tree.set(new)
		}
	}
}

func (sp *Space) noIndex(id uint32) *ApplyError {
	return boxError(box.ErrNoSuchIndexID, id, sp.displayName())
}

func (sp *Space) tupleFound(ix *Index) *ApplyError {
	return boxError(box.ErrTupleFound, ix.Name, sp.displayName())
}

// prepareReplace handles INSERT and REPLACE.
func (sp *Space) prepareReplace(ch *change, t Tuple, insert bool) *ApplyError {
	if err := sp.format.validate(t); err != nil {
		return err
	}
	pk := sp.primary()
	if pk == nil {
		return sp.noIndex(0)
	}
	k := pk.kd.keyOf(t)
	ar := sp.ar()
	old, found := pk.tree.getHinted(pk.kd.keyHint(&k), func(x tref) int { return pk.kd.compareTo(ar.bytes(x), &k) })
	if found && insert {
		return sp.tupleFound(pk)
	}
	if !found {
		old = 0
	}
	if err := sp.checkUnique(t, old); err != nil {
		return err
	}
	*ch = change{old: old, newT: t}
	return nil
}

// findUnique resolves the index of an UPDATE or DELETE.
func (sp *Space) findUnique(id uint32) (*Index, *ApplyError) {
	ix := sp.Index(id)
	if ix == nil {
		return nil, sp.noIndex(id)
	}
	if !ix.Unique {
		return nil, boxError(box.ErrMoreThanOneTuple)
	}
	if !ix.maintained() {
		return nil, errorf(box.ErrIllegalParams, "Illegal parameters, lookups by index '%s' of space '%s' are not supported by the replay engine",
			ix.Name, sp.displayName())
	}
	return ix, nil
}

func (sp *Space) prepareDelete(ch *change, indexID uint32, key []any) *ApplyError {
	ix, err := sp.findUnique(indexID)
	if err != nil {
		return err
	}
	if err := ix.kd.validateKey(key); err != nil {
		return err
	}
	old, found := sp.lookup(ix, key)
	if !found {
		return nil
	}
	*ch = change{old: old}
	return nil
}

// checkNewPrimary verifies that the result of an UPDATE keeps the
// primary key of the old tuple.
func (sp *Space) checkNewPrimary(old, t Tuple) *ApplyError {
	pk := sp.primary()
	if pk.kd.compare(old, t) == 0 {
		return nil
	}
	ar := sp.ar()
	if _, found := pk.tree.getHinted(pk.kd.tupleHint(t), func(x tref) int { return pk.kd.compare(ar.bytes(x), t) }); found {
		return sp.tupleFound(pk)
	}
	return boxError(box.ErrCantUpdatePrimaryKey,
		pk.Name, sp.displayName())
}

func (sp *Space) fieldNames() fieldLookup {
	return func(name string) (int, bool) { return sp.format.fieldNo(name) }
}

func (sp *Space) prepareUpdate(ch *change, req *Request, key, ops []any) *ApplyError {
	ix, err := sp.findUnique(req.IndexID)
	if err != nil {
		return err
	}
	if err := ix.kd.validateKey(key); err != nil {
		return err
	}
	oldRef, found := sp.lookup(ix, key)
	if !found {
		return nil
	}
	old := sp.ar().bytes(oldRef)
	decoded, err := decodeOps(ops, int64(req.IndexBase), sp.fieldNames())
	if err != nil {
		return err
	}
	u := newUpdater(old.Decode())
	for i := range decoded {
		if err := u.apply(&decoded[i]); err != nil {
			return err
		}
	}
	t, err := newTuple(u.result(sp.format.isDouble))
	if err != nil {
		return err
	}
	if err := sp.format.validate(t); err != nil {
		return err
	}
	if err := sp.checkNewPrimary(old, t); err != nil {
		return err
	}
	if err := sp.checkUnique(t, oldRef); err != nil {
		return err
	}
	*ch = change{old: oldRef, newT: t}
	return nil
}

func (sp *Space) prepareUpsert(ch *change, req *Request, t Tuple, ops []any) *ApplyError {
	if err := sp.format.validate(t); err != nil {
		return err
	}
	pk := sp.primary()
	if pk == nil {
		return sp.noIndex(0)
	}
	decoded, err := decodeOps(ops, int64(req.IndexBase), sp.fieldNames())
	if err != nil {
		return err
	}
	ar := sp.ar()
	oldRef, found := pk.tree.getHinted(pk.kd.tupleHint(t), func(x tref) int { return pk.kd.compare(ar.bytes(x), t) })
	if !found {
		if err := sp.checkUnique(t, 0); err != nil {
			return err
		}
		*ch = change{old: 0, newT: t}
		return nil
	}
	old := ar.bytes(oldRef)
	oldValues := old.Decode()
	u := newUpdater(oldValues)
	for i := range decoded {
		// Tarantool skips (and logs) operations that fail on the tuple.
		_ = u.apply(&decoded[i])
	}
	nt, err := newTuple(u.result(sp.format.isDouble))
	if err != nil {
		return err
	}
	if err := sp.format.validate(nt); err != nil {
		return err
	}
	if pk.kd.compare(old, nt) != 0 {
		var keyMask uint64
		for _, p := range pk.kd.parts {
			keyMask |= fieldBit(p.field)
		}
		if keyMask&columnMask(decoded, len(oldValues)) != 0 {
			// Tarantool logs ER_CANT_UPDATE_PRIMARY_KEY and does
			// nothing.
			return nil
		}
		// Tarantool misses the change of the key when the operations
		// address it only through negative field numbers it resolves
		// against a stale field count: the tuple moves to its new key.
		if _, dup := pk.tree.getHinted(pk.kd.tupleHint(nt), func(x tref) int { return pk.kd.compare(ar.bytes(x), nt) }); dup {
			return sp.tupleFound(pk)
		}
	}
	if err := sp.checkUnique(nt, oldRef); err != nil {
		return err
	}
	*ch = change{old: oldRef, newT: nt}
	return nil
}

// rebuild returns a new set of indexes (sorted by id) with the maintained
// ones filled from tuples, checking uniqueness.
func (sp *Space) rebuild(indexes []*Index, tuples []tref) ([]*Index, *ApplyError) {
	sort.Slice(indexes, func(i, j int) bool { return indexes[i].ID < indexes[j].ID })
	var pkDef *keyDef
	if len(indexes) > 0 && indexes[0].ID == 0 {
		pkDef = indexes[0].kd
	}
	out := make([]*Index, len(indexes))
	ar := sp.ar()
	for i, ix := range indexes {
		c := *ix
		c.tree = nil
		if pkDef != nil && c.shouldMaintain() {
			c.tree = c.newTree(pkDef, ar)
			for _, r := range tuples {
				t := ar.bytes(r)
				if c.Unique && !(c.ID != 0 && c.kd.hasNull(t)) {
					kd := c.kd
					if _, dup := c.tree.getHinted(kd.tupleHint(t), func(x tref) int { return kd.compare(ar.bytes(x), t) }); dup {
						return nil, sp.tupleFound(&c)
					}
				}
				c.tree.set(r)
			}
		}
		out[i] = &c
	}
	return out, nil
}

// Ascend calls fn for each tuple held by the index in index order until fn
// returns false. Indexes the engine does not maintain hold nothing. The
// tuple is valid until the state changes: a caller keeps a copy
// (Tuple.Clone).
func (ix *Index) Ascend(fn func(tuple Tuple) bool) {
	if ix.tree != nil {
		ar := ix.ar
		ix.tree.ascend(func(r tref) bool { return fn(ar.bytes(r)) })
	}
}

// CompareTuples compares the keys of two stored tuples under the index's
// key definition (without the primary key appended to secondary keys).
func (ix *Index) CompareTuples(a, b Tuple) int { return ix.kd.compare(a, b) }

// CompareKeys is CompareTuples for decoded tuples.
func (ix *Index) CompareKeys(a, b []any) int {
	x, err1 := newTuple(a)
	y, err2 := newTuple(b)
	if err1 != nil || err2 != nil {
		return 0
	}
	return ix.kd.compare(x, y)
}
