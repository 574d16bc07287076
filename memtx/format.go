package memtx

import (
	"strconv"
	"strings"

	"github.com/xlogtool/xlogtool/box"
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
func (kd *keyDef) value(t []any, i int) any {
	p := &kd.parts[i]
	if p.field >= len(t) {
		return nil
	}
	v := t[p.field]
	for _, tok := range p.path {
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

// comparePlain compares two values of an ascending part: unsigned
// integers and strings under the binary collation directly (every field
// type orders those the same way), the rest as compareField does.
func comparePlain(x, y any, p *keyPartRT) int {
	switch a := x.(type) {
	case uint64:
		if b, ok := y.(uint64); ok {
			switch {
			case a < b:
				return -1
			case a > b:
				return 1
			}
			return 0
		}
	case string:
		if b, ok := y.(string); ok && p.coll == collBinary {
			return strings.Compare(a, b)
		}
	}
	return compareField(x, y, p.typ, p.coll)
}

func (kd *keyDef) comparePart(i int, a, b any) int {
	p := &kd.parts[i]
	c := compareField(a, b, p.typ, p.coll)
	if p.desc {
		return -c
	}
	return c
}

// compare orders two tuples by the key.
func (kd *keyDef) compare(a, b []any) int {
	if kd.plain {
		for i := range kd.parts {
			p := &kd.parts[i]
			var x, y any
			if p.field < len(a) {
				x = a[p.field]
			}
			if p.field < len(b) {
				y = b[p.field]
			}
			if c := comparePlain(x, y, p); c != 0 {
				return c
			}
		}
		return 0
	}
	for i := range kd.parts {
		if c := kd.comparePart(i, kd.value(a, i), kd.value(b, i)); c != 0 {
			return c
		}
	}
	return 0
}

// compareKey compares the key of tuple t with the key values in key (a
// prefix of the parts).
func (kd *keyDef) compareKey(t []any, key []any) int {
	for i := range key {
		if i >= len(kd.parts) {
			break
		}
		if kd.plain {
			p := &kd.parts[i]
			var x any
			if p.field < len(t) {
				x = t[p.field]
			}
			if c := comparePlain(x, key[i], p); c != 0 {
				return c
			}
			continue
		}
		if c := kd.comparePart(i, kd.value(t, i), key[i]); c != 0 {
			return c
		}
	}
	return 0
}

// hasNull reports whether the key of t has a nil part.
func (kd *keyDef) hasNull(t []any) bool {
	for i := range kd.parts {
		if kd.value(t, i) == nil {
			return true
		}
	}
	return false
}

// validateKey checks a lookup key against the parts (exact match).
func (kd *keyDef) validateKey(key []any) *ApplyError {
	if len(key) != len(kd.parts) {
		return errorf(box.ErrExactMatch, "Invalid key part count in an exact match (expected %d, got %d)",
			len(kd.parts), len(key))
	}
	for i, v := range key {
		p := &kd.parts[i]
		if v == nil && p.nullable {
			continue
		}
		if v == nil || !typeAccepts(p.typ, v, kd.rules) {
			return errorf(box.ErrKeyPartType, "Supplied key type of part %d does not match index part type: expected %s",
				i, p.typ)
		}
	}
	return nil
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
	return errorf(box.ErrFieldType, "Tuple field %s type does not match one required by operation: expected %s", where, t)
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

// validate checks a tuple against the format.
func (f *tupleFormat) validate(t []any) *ApplyError {
	if f.exactCount > 0 && uint32(len(t)) != f.exactCount {
		return errorf(box.ErrExactFieldCount, "Tuple field count %d does not match space field count %d",
			len(t), f.exactCount)
	}
	strict := f.env.strictFormats()
	rules := f.env.typeRules()
	for i := 0; i < len(t) && i < len(f.fields); i++ {
		fd := &f.fields[i]
		useFormat := strict && fd.inFormat
		nullable := (!useFormat || fd.fmtNullable) && (!fd.indexed || fd.partNullable)
		if useFormat {
			if err := checkValue(i, t[i], fd.fmtType, nullable, rules); err != nil {
				return err
			}
		}
		for _, typ := range fd.partTypes {
			if err := checkValue(i, t[i], typ, nullable, rules); err != nil {
				return err
			}
		}
	}
	for _, r := range f.paths {
		if err := r.validate(t, rules); err != nil {
			return err
		}
	}
	minCount := f.minLegacy
	if strict {
		minCount = f.minStrict
	}
	for i := len(t); i < minCount; i++ {
		if i < len(f.fields) {
			fd := &f.fields[i]
			if (!strict || !fd.inFormat || fd.fmtNullable) && (!fd.indexed || fd.partNullable) {
				continue
			}
		}
		return errorf(box.ErrFieldMissing, "Tuple field %d required by space format is missing", i+1)
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

func (r *pathRule) validate(t []any, rules TypeRules) *ApplyError {
	if r.field >= len(t) {
		return nil // reported as a missing field by the count check
	}
	v := t[r.field]
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
		return errorf(box.ErrFieldMissing, "Tuple field %s required by space format is missing", r.where())
	}
	if !typeAccepts(r.typ, v, rules) {
		return fieldTypeError(r.where(), r.typ)
	}
	return nil
}
