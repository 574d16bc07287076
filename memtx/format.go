package memtx

import (
	"fmt"
	"github.com/xlogtool/xlogtool/box"
	"strconv"

	"github.com/xlogtool/xlogtool/format"
)

// keyPartRT is a key part ready for comparisons.
type keyPartRT struct {
	field    int
	path     []pathToken // nil: the top-level field itself
	multikey bool        // path contains [*]
	typ      FieldType
	nullable bool
	coll     collKind
	desc     bool
}

// keyDef extracts and compares index keys of tuples.
type keyDef struct {
	parts []keyPartRT
	rules TypeRules
	// plain: no part has a path or a descending order, so compare can
	// take values straight from the fields (see comparePlain).
	plain bool
}

// value returns the value of part i in tuple t (nil if absent).
func (kd *keyDef) value(t Tuple, i int) any {
	p := &kd.parts[i]
	v := decodeRaw(fieldAt(t, p.field))
	return walkPath(v, p.path)
}

// walkPath follows a JSON path into a value (nil where it leads nowhere).
func walkPath(v any, path []pathToken) any {
	for _, tok := range path {
		switch x := v.(type) {
		case []any:
			if tok.kind != tokNum || tok.num >= len(x) {
				return nil
			}
			v = x[tok.num]
		case Map:
			if tok.kind != tokStr {
				return nil
			}
			v, _ = x.Get(tok.str)
		default:
			return nil
		}
	}
	return v
}

// compare orders two tuples by the key.
func (kd *keyDef) compare(a, b Tuple) int {
	for i := range kd.parts {
		p := &kd.parts[i]
		var c int
		if p.path == nil {
			c = compareRaw(fieldAt(a, p.field), fieldAt(b, p.field), p)
		} else {
			c = compareField(kd.value(a, i), kd.value(b, i), p.typ, p.coll)
		}
		if c != 0 {
			if p.desc {
				return -c
			}
			return c
		}
	}
	return 0
}

// searchParts is the most parts a tupleKey holds.
const searchParts = 4

// tupleKey is the key of a tuple taken out of it once for a search, so
// that comparing it with the tuples met on the way reads only theirs.
type tupleKey struct {
	t     Tuple
	parts [searchParts][]byte
	ok    bool // parts hold the key; else compare with t
}

func (kd *keyDef) keyOf(t Tuple) (k tupleKey) {
	k.t = t
	if len(kd.parts) > searchParts {
		return k
	}
	for i := range kd.parts {
		if kd.parts[i].path != nil {
			return k
		}
		k.parts[i] = fieldAt(t, kd.parts[i].field)
	}
	k.ok = true
	return k
}

// compareTo orders tuple x with the tuple of k by the key.
func (kd *keyDef) compareTo(x Tuple, k *tupleKey) int {
	if !k.ok {
		return kd.compare(x, k.t)
	}
	for i := range kd.parts {
		p := &kd.parts[i]
		if c := compareRaw(fieldAt(x, p.field), k.parts[i], p); c != 0 {
			if p.desc {
				return -c
			}
			return c
		}
	}
	return 0
}

// compareKey compares the key of tuple t with the key values in key (a
// prefix of the parts).
func (kd *keyDef) compareKey(t Tuple, key []any) int {
	for i := range key {
		if i >= len(kd.parts) {
			break
		}
		p := &kd.parts[i]
		var c int
		if p.path == nil {
			c = compareRawValue(fieldAt(t, p.field), key[i], p)
		} else {
			c = compareField(kd.value(t, i), key[i], p.typ, p.coll)
		}
		if c != 0 {
			if p.desc {
				return -c
			}
			return c
		}
	}
	return 0
}

// hasNull reports whether the key of t has a nil part.
func (kd *keyDef) hasNull(t Tuple) bool {
	for i := range kd.parts {
		p := &kd.parts[i]
		if p.path == nil {
			if k, _, _ := peek(fieldAt(t, p.field)); k == rawNil || k == rawAbsent {
				return true
			}
			continue
		}
		if kd.value(t, i) == nil {
			return true
		}
	}
	return false
}

// validateKey checks a lookup key against the parts (exact match).
func (kd *keyDef) validateKey(key []any) *ApplyError {
	if len(key) != len(kd.parts) {
		return boxError(box.ErrExactMatch,
			len(kd.parts), len(key))
	}
	return kd.checkKeyTypes(key, false)
}

// fmtField is the effective definition of a top-level field: the space
// format entry and every index part over the field.
type fmtField struct {
	name        string
	inFormat    bool
	fmtType     FieldType
	fmtNullable bool
	partTypes   []FieldType
	indexed     bool
	// partNullable is true when every index part over the field is
	// nullable.
	partNullable bool
}

// pathRule is a constraint of an index part with a JSON path.
type pathRule struct {
	field    int
	path     []pathToken
	typ      FieldType
	nullable bool
}

// schemaEnv is shared by the spaces of a State.
type schemaEnv struct {
	rules TypeRules
	// arena holds the tuples of the state's spaces.
	arena *arena
	// ddVersion is the data dictionary version of the _schema 'version'
	// row (major<<16 | minor<<8 | patch), 0 while unknown.
	ddVersion uint32
}

// Space formats are enforced since Tarantool 1.7.6; before, only the
// types of indexed fields were checked and formats could hold anything.
const strictFormatVersion = 1<<16 | 7<<8 | 6

func (e *schemaEnv) strictFormats() bool {
	return e == nil || e.ddVersion == 0 || e.ddVersion >= strictFormatVersion
}

func (e *schemaEnv) typeRules() TypeRules {
	if e == nil {
		return RulesLatest
	}
	return e.rules
}

// tupleFormat validates tuples of a space, like Tarantool's tuple_format.
type tupleFormat struct {
	fields     []fmtField
	paths      []pathRule
	exactCount uint32
	minStrict  int // with the space format
	minLegacy  int // index parts only
	names      map[string]int
	env        *schemaEnv
}

func newTupleFormat(sp *Space, indexes []*Index) *tupleFormat {
	f := &tupleFormat{exactCount: sp.FieldCount, names: make(map[string]int), env: sp.env}
	grow := func(n int) {
		for len(f.fields) < n {
			f.fields = append(f.fields, fmtField{fmtNullable: true, partNullable: true})
		}
	}
	for i, fd := range sp.Format {
		grow(i + 1)
		f.fields[i].name = fd.Name
		f.fields[i].inFormat = true
		f.fields[i].fmtType = fd.Type
		f.fields[i].fmtNullable = fd.IsNullable
		if fd.Name != "" {
			if _, dup := f.names[fd.Name]; !dup {
				f.names[fd.Name] = i
			}
		}
		if !fd.IsNullable {
			f.minStrict = i + 1
		}
	}
	for _, ix := range indexes {
		for _, p := range ix.kd.parts {
			if p.multikey {
				continue
			}
			if !p.nullable && p.field+1 > f.minLegacy {
				f.minLegacy = p.field + 1
			}
			if p.path != nil {
				f.paths = append(f.paths, pathRule{field: p.field, path: p.path, typ: p.typ, nullable: p.nullable})
				continue
			}
			grow(p.field + 1)
			fd := &f.fields[p.field]
			fd.indexed = true
			fd.partNullable = fd.partNullable && p.nullable
			fd.partTypes = append(fd.partTypes, p.typ)
		}
	}
	if f.minLegacy > f.minStrict {
		f.minStrict = f.minLegacy
	}
	return f
}

func (f *tupleFormat) fieldNo(name string) (int, bool) {
	n, ok := f.names[name]
	return n, ok
}

// isDouble reports whether top-level field n has type double.
func (f *tupleFormat) isDouble(n int) bool {
	if n < 0 || n >= len(f.fields) {
		return false
	}
	fd := &f.fields[n]
	if fd.inFormat && (fd.fmtType == TypeDouble || fd.fmtType == TypeFloat64) {
		return true
	}
	for _, t := range fd.partTypes {
		if t == TypeDouble || t == TypeFloat64 {
			return true
		}
	}
	return false
}

func fieldTypeError(where string, t FieldType) *ApplyError {
	return boxError(box.ErrFieldType, where, t)
}

// checkValue checks one value against one type constraint.
func checkValue(i int, v any, typ FieldType, nullable bool, rules TypeRules) *ApplyError {
	if v == nil {
		if nullable || typ == TypeAny {
			return nil
		}
		return fieldTypeError(strconv.Itoa(i+1), typ)
	}
	if !typeAccepts(typ, v, rules) {
		return fieldTypeError(strconv.Itoa(i+1), typ)
	}
	if lo, hi, ok := fixedIntRange(typ); ok && !intInRange(v, lo, hi) {
		return errorf(box.ErrFieldValueOutOfRange, "The value of field %d exceeds the supported range for type '%s'", i+1, typ)
	}
	return nil
}

// checkRaw checks one MessagePack value against one type constraint,
// in place for scalars of types without a range.
func checkRaw(i int, b []byte, typ FieldType, nullable bool, rules TypeRules) *ApplyError {
	if b[0] != 0xc0 {
		if _, _, ranged := fixedIntRange(typ); !ranged {
			if pv := rawProbe(b); pv != nil {
				if !typeAccepts(typ, pv, rules) {
					return fieldTypeError(strconv.Itoa(i+1), typ)
				}
				return nil
			}
		}
	}
	return checkValue(i, decodeRaw(b), typ, nullable, rules)
}

// validate checks a tuple against the format.
func (f *tupleFormat) validate(t Tuple) *ApplyError {
	c := format.NewMPCursor(t)
	n, err := c.ArrayLen()
	if err != nil {
		return invalidValue(err)
	}
	if f.exactCount > 0 && uint32(n) != f.exactCount {
		return boxError(box.ErrExactFieldCount,
			n, f.exactCount)
	}
	strict := f.env.strictFormats()
	rules := f.env.typeRules()
	for i := 0; i < n && i < len(f.fields); i++ {
		b := c.Rest()
		if err := c.Skip(); err != nil {
			return invalidValue(err)
		}
		fd := &f.fields[i]
		useFormat := strict && fd.inFormat
		nullable := (!useFormat || fd.fmtNullable) && (!fd.indexed || fd.partNullable)
		if useFormat {
			if err := checkRaw(i, b, fd.fmtType, nullable, rules); err != nil {
				return err
			}
		}
		for _, typ := range fd.partTypes {
			if err := checkRaw(i, b, typ, nullable, rules); err != nil {
				return err
			}
		}
	}
	for _, r := range f.paths {
		if r.field >= n {
			continue // reported as a missing field by the count check
		}
		if err := r.validate(decodeRaw(fieldAt(t, r.field)), rules); err != nil {
			return err
		}
	}
	minCount := f.minLegacy
	if strict {
		minCount = f.minStrict
	}
	for i := n; i < minCount; i++ {
		if i < len(f.fields) {
			fd := &f.fields[i]
			if (!strict || !fd.inFormat || fd.fmtNullable) && (!fd.indexed || fd.partNullable) {
				continue
			}
		}
		return boxError(box.ErrFieldMissing, fmt.Sprint(i+1))
	}
	return nil
}

func intInRange(v any, lo int64, hi uint64) bool {
	switch x := v.(type) {
	case uint64:
		return x <= hi
	case int64:
		return x >= lo
	}
	return true
}

func (r *pathRule) where() string {
	s := "[" + strconv.Itoa(r.field+1) + "]"
	for _, t := range r.path {
		s += t.String()
	}
	return s
}

// validate checks the value v of the rule's top-level field.
func (r *pathRule) validate(v any, rules TypeRules) *ApplyError {
	for _, tok := range r.path {
		if v == nil {
			if r.nullable {
				return nil
			}
			if tok.kind == tokNum {
				return fieldTypeError(r.where(), TypeArray)
			}
			return fieldTypeError(r.where(), TypeMap)
		}
		switch x := v.(type) {
		case []any:
			if tok.kind != tokNum {
				return fieldTypeError(r.where(), TypeMap)
			}
			if tok.num >= len(x) {
				v = nil
			} else {
				v = x[tok.num]
			}
		case Map:
			if tok.kind != tokStr {
				return fieldTypeError(r.where(), TypeArray)
			}
			v, _ = x.Get(tok.str)
		default:
			if tok.kind == tokNum {
				return fieldTypeError(r.where(), TypeArray)
			}
			return fieldTypeError(r.where(), TypeMap)
		}
	}
	if v == nil {
		if r.nullable {
			return nil
		}
		return boxError(box.ErrFieldMissing, r.where())
	}
	if !typeAccepts(r.typ, v, rules) {
		return fieldTypeError(r.where(), r.typ)
	}
	return nil
}
