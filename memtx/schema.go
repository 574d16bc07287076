package memtx

import (
	"fmt"
	"strings"

	"github.com/xlogtool/xlogtool/box"
)

// Field is one entry of a space format (_space field 6).
type Field struct {
	Name       string
	Type       FieldType
	IsNullable bool
	Collation  uint32 // collation id, 0 if none
}

// KeyPart is one part of an index key (_index field 5).
type KeyPart struct {
	Field      uint32 // 0-based field number
	Type       FieldType
	IsNullable bool
	Collation  uint32 // collation id, 0 if none
	Path       string // JSON path inside the field, "" if none
	Desc       bool   // sort_order = 'desc'
}

// Index is an index definition (a row of _index).
type Index struct {
	SpaceID uint32
	ID      uint32
	Name    string
	Type    string // "tree", "hash", "bitset" or "rtree"
	Unique  bool
	Parts   []KeyPart
	// Functional is set for functional indexes (opts.func); their keys
	// are computed by a stored function and cannot be maintained here.
	Functional bool

	kd   *keyDef
	tree *btree[tref] // nil for indexes the engine does not maintain
	ar   *arena       // where the tuples of tree are
}

// maintained reports whether the engine keeps the index contents.
func (ix *Index) maintained() bool { return ix.tree != nil }

// isMultikey reports whether a part has a [*] path.
func (ix *Index) isMultikey() bool {
	for _, p := range ix.kd.parts {
		if p.multikey {
			return true
		}
	}
	return false
}

// spaceDef is the content of a _space row.
type spaceDef struct {
	id, owner  uint32
	name       string
	engine     string
	fieldCount uint32
	isLocal    bool
	temporary  bool
	isSync     bool
	isView     bool
	format     []Field
}

func asUint32(v any) (uint32, bool) {
	x, ok := v.(uint64)
	if !ok || x > 1<<32-1 {
		return 0, false
	}
	return uint32(x), true
}

// parseSpaceRow decodes a _space tuple of any version:
// [id, owner, name, engine, field_count, flags, format]. In 1.6 flags is a
// string ("temporary") and the format is absent.
func parseSpaceRow(t []any) (*spaceDef, *ApplyError) {
	bad := func(format string, args ...any) *ApplyError {
		return errorf(box.ErrFieldType, "_space row: "+format, args...)
	}
	if len(t) < 5 {
		return nil, bad("expected at least 5 fields, got %d", len(t))
	}
	d := &spaceDef{}
	var ok bool
	if d.id, ok = asUint32(t[0]); !ok {
		return nil, bad("space id is not an unsigned integer")
	}
	if d.owner, ok = asUint32(t[1]); !ok {
		return nil, bad("owner is not an unsigned integer")
	}
	if d.name, ok = t[2].(string); !ok {
		return nil, bad("name is not a string")
	}
	if d.engine, ok = t[3].(string); !ok {
		return nil, bad("engine is not a string")
	}
	if d.fieldCount, ok = asUint32(t[4]); !ok {
		return nil, bad("field count is not an unsigned integer")
	}
	if len(t) > 5 {
		if err := d.parseOpts(t[5]); err != nil {
			return nil, err
		}
	}
	if len(t) > 6 {
		f, err := parseFormat(t[6])
		if err != nil {
			return nil, err
		}
		d.format = f
	}
	return d, nil
}

func (d *spaceDef) parseOpts(v any) *ApplyError {
	switch o := v.(type) {
	case nil:
	case string:
		for _, flag := range strings.Split(o, ",") {
			if strings.HasPrefix(strings.TrimSpace(flag), "temporary") {
				d.temporary = true
			}
		}
	case Map:
		for _, e := range o {
			k, _ := e.Key.(string)
			switch k {
			case "group_id":
				g, ok := asUint32(e.Value)
				if !ok {
					return boxError(box.ErrWrongSpaceOptions, 5, "'group_id' must be unsigned")
				}
				d.isLocal = g == 1
			case "is_local":
				b, _ := e.Value.(bool)
				d.isLocal = d.isLocal || b
			case "temporary":
				b, _ := e.Value.(bool)
				d.temporary = b
			case "is_sync":
				b, _ := e.Value.(bool)
				d.isSync = b
			case "view":
				b, _ := e.Value.(bool)
				d.isView = b
			}
		}
	default:
		return boxError(box.ErrWrongSpaceOptions, 5, "expected a map with options")
	}
	return nil
}

func parseFormat(v any) ([]Field, *ApplyError) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, boxError(box.ErrWrongSpaceFormat, 6, "expected an array")
	}
	out := make([]Field, len(list))
	for i, e := range list {
		f := Field{Type: TypeAny}
		switch x := e.(type) {
		case Map:
			for _, kv := range x {
				k, _ := kv.Key.(string)
				switch k {
				case "name":
					s, ok := kv.Value.(string)
					if !ok {
						return nil, boxError(box.ErrWrongSpaceFormat, i+1, "name must be a string")
					}
					f.Name = s
				case "type":
					s, ok := kv.Value.(string)
					if !ok {
						return nil, boxError(box.ErrWrongSpaceFormat, i+1, "type must be a string")
					}
					t, ok := ParseFieldType(s)
					if !ok {
						return nil, boxError(box.ErrWrongSpaceFormat, i+1, fmt.Sprintf("unknown field type '%s'", s))
					}
					f.Type = t
				case "is_nullable":
					b, _ := kv.Value.(bool)
					f.IsNullable = b
				case "collation":
					c, _ := asUint32(kv.Value)
					f.Collation = c
				}
			}
		case []any:
			// Not produced by Tarantool but accepted: [name, type].
			if len(x) > 0 {
				f.Name, _ = x[0].(string)
			}
			if len(x) > 1 {
				if s, ok := x[1].(string); ok {
					if t, ok := ParseFieldType(s); ok {
						f.Type = t
					}
				}
			}
		default:
			return nil, boxError(box.ErrWrongSpaceFormat, i+1, "expected a map")
		}
		out[i] = f
	}
	return out, nil
}

// parseIndexRow decodes an _index tuple of any version. format is the
// space format, used for the nullability of parts given as arrays.
//
//	1.6.5-:  [space, iid, name, type, unique(0|1), part_count, f0, t0, f1, t1, ...]
//	1.6.6+:  [space, iid, name, type, {opts}, [[f0, 't0'], ...]]
//	1.7.6+:  [space, iid, name, type, {opts}, [{field=f0, type='t0', ...}, ...]]
func parseIndexRow(t []any, format []Field) (*Index, *ApplyError) {
	bad := func(format string, args ...any) *ApplyError {
		return errorf(box.ErrWrongIndexRecord, "Wrong record in _index space: "+format, args...)
	}
	if len(t) < 6 {
		return nil, bad("expected at least 6 fields, got %d", len(t))
	}
	ix := &Index{Unique: true}
	var ok bool
	if ix.SpaceID, ok = asUint32(t[0]); !ok {
		return nil, bad("space id is not an unsigned integer")
	}
	if ix.ID, ok = asUint32(t[1]); !ok {
		return nil, bad("index id is not an unsigned integer")
	}
	if ix.Name, ok = t[2].(string); !ok {
		return nil, bad("name is not a string")
	}
	typ, ok := t[3].(string)
	if !ok {
		return nil, bad("type is not a string")
	}
	ix.Type = strings.ToLower(typ)
	switch ix.Type {
	case "tree", "hash", "bitset", "rtree":
	default:
		return nil, boxError(box.ErrIndexType, ix.Name, fmt.Sprint(ix.SpaceID))
	}
	if u, isOld := t[4].(uint64); isOld {
		// 1.6.5 and older.
		ix.Unique = u != 0
		count, ok := asUint32(t[5])
		if !ok {
			return nil, bad("part count is not an unsigned integer")
		}
		if uint64(len(t)-6) < 2*uint64(count) {
			return nil, bad("%d parts announced, %d values present", count, len(t)-6)
		}
		for i := 0; i < int(count); i++ {
			p, err := parseArrayPart([]any{t[6+2*i], t[7+2*i]}, format)
			if err != nil {
				return nil, err
			}
			ix.Parts = append(ix.Parts, p)
		}
	} else {
		if err := ix.parseOpts(t[4]); err != nil {
			return nil, err
		}
		parts, ok := t[5].([]any)
		if !ok {
			return nil, bad("parts is not an array")
		}
		for _, pv := range parts {
			var p KeyPart
			var err *ApplyError
			switch x := pv.(type) {
			case []any:
				p, err = parseArrayPart(x, format)
			case Map:
				p, err = parseMapPart(x)
			default:
				err = errorf(box.ErrWrongIndexParts, "Wrong index parts: expected an array or a map")
			}
			if err != nil {
				return nil, err
			}
			ix.Parts = append(ix.Parts, p)
		}
	}
	if len(ix.Parts) == 0 {
		return nil, errorf(box.ErrModifyIndex, "Can't create or modify index '%s' in space '%d': part count must be positive",
			ix.Name, ix.SpaceID)
	}
	if ix.ID == 0 {
		if !ix.Unique {
			return nil, errorf(box.ErrModifyIndex, "Can't create or modify index '%s' in space '%d': primary key must be unique",
				ix.Name, ix.SpaceID)
		}
		if ix.Type != "tree" && ix.Type != "hash" {
			return nil, errorf(box.ErrModifyIndex, "Can't create or modify index '%s' in space '%d': primary key must be a tree or hash index",
				ix.Name, ix.SpaceID)
		}
	}
	return ix, nil
}

func (ix *Index) parseOpts(v any) *ApplyError {
	switch o := v.(type) {
	case nil:
	case Map:
		for _, e := range o {
			k, _ := e.Key.(string)
			switch k {
			case "unique":
				b, ok := e.Value.(bool)
				if !ok {
					return boxError(box.ErrWrongIndexOptions, 5, "'unique' must be boolean")
				}
				ix.Unique = b
			case "func":
				ix.Functional = e.Value != nil
			}
		}
	default:
		return boxError(box.ErrWrongIndexOptions, 5, "expected a map")
	}
	return nil
}

func parseArrayPart(x []any, format []Field) (KeyPart, *ApplyError) {
	var p KeyPart
	if len(x) < 2 {
		return p, errorf(box.ErrWrongIndexParts, "Wrong index parts: a field type is missing")
	}
	f, ok := asUint32(x[0])
	if !ok {
		return p, errorf(box.ErrWrongIndexParts, "Wrong index parts: field id must be an integer")
	}
	s, ok := x[1].(string)
	if !ok {
		return p, errorf(box.ErrWrongIndexParts, "Wrong index parts: field type must be a string")
	}
	t, ok := ParseFieldType(s)
	if !ok {
		return p, errorf(box.ErrWrongIndexParts, "Wrong index parts: unknown field type")
	}
	p.Field, p.Type = f, t
	if int(f) < len(format) {
		p.IsNullable = format[f].IsNullable
	}
	return p, nil
}

func parseMapPart(x Map) (KeyPart, *ApplyError) {
	p := KeyPart{Type: fieldTypeMax}
	for _, e := range x {
		k, _ := e.Key.(string)
		switch k {
		case "field":
			f, ok := asUint32(e.Value)
			if !ok {
				return p, errorf(box.ErrWrongIndexOptions, "Wrong index options: 'field' must be unsigned")
			}
			p.Field = f
		case "type":
			s, _ := e.Value.(string)
			t, ok := ParseFieldType(s)
			if !ok {
				return p, errorf(box.ErrWrongIndexOptions, "Wrong index options: index part: unknown field type")
			}
			p.Type = t
		case "is_nullable":
			b, _ := e.Value.(bool)
			p.IsNullable = b
		case "collation":
			c, _ := asUint32(e.Value)
			p.Collation = c
		case "path":
			s, _ := e.Value.(string)
			p.Path = s
		case "sort_order":
			s, _ := e.Value.(string)
			p.Desc = strings.EqualFold(s, "desc")
		}
	}
	if p.Type == fieldTypeMax {
		return p, errorf(box.ErrWrongIndexOptions, "Wrong index options: index part: unknown field type")
	}
	return p, nil
}

// bootstrapSpace describes a system space whose rows may precede its own
// definition in a snapshot (the first rows of every snapshot are _schema
// rows, and _space/_index rows describe themselves).
type bootstrapSpace struct {
	id    uint32
	parts []KeyPart
}

func bootU(f uint32) KeyPart { return KeyPart{Field: f, Type: TypeUnsigned} }
func bootS(f uint32) KeyPart { return KeyPart{Field: f, Type: TypeString} }

// bootstrapSpaces lists the primary keys of the system spaces as defined
// by Tarantool's bootstrap (they have not changed between 1.6 and 3.x,
// except _priv whose object id became 'scalar' and is compatible).
var bootstrapSpaces = []bootstrapSpace{
	{box.SpaceSchema, []KeyPart{bootS(0)}},
	{box.SpaceCollation, []KeyPart{bootU(0)}},
	{box.SpaceSpace, []KeyPart{bootU(0)}},
	{box.SpaceSequence, []KeyPart{bootU(0)}},
	{box.SpaceSequenceData, []KeyPart{bootU(0)}},
	{box.SpaceIndex, []KeyPart{bootU(0), bootU(1)}},
	{box.SpaceFunc, []KeyPart{bootU(0)}},
	{box.SpaceUser, []KeyPart{bootU(0)}},
	{box.SpacePriv, []KeyPart{bootU(1), bootS(2), {Field: 3, Type: TypeScalar}}},
	{box.SpaceCluster, []KeyPart{bootU(0)}},
	{box.SpaceTrigger, []KeyPart{bootS(0)}},
	{box.SpaceTruncate, []KeyPart{bootU(0)}},
	{box.SpaceSpaceSequence, []KeyPart{bootU(0)}},
	{box.SpaceFkConstraint, []KeyPart{bootS(0), bootU(1)}},
	{box.SpaceCkConstraint, []KeyPart{bootU(0), bootS(1)}},
	{box.SpaceFuncIndex, []KeyPart{bootU(0), bootU(1)}},
	{box.SpaceGcConsumers, []KeyPart{bootS(0)}},
	{box.SpaceRecoveryPoint, []KeyPart{bootU(0), bootU(1), bootU(2)}},
}

func findBootstrap(id uint32) *bootstrapSpace {
	for i := range bootstrapSpaces {
		if bootstrapSpaces[i].id == id {
			return &bootstrapSpaces[i]
		}
	}
	return nil
}

func (p KeyPart) String() string {
	s := fmt.Sprintf("%d %s", p.Field, p.Type)
	if p.Path != "" {
		s += " " + p.Path
	}
	if p.IsNullable {
		s += " nullable"
	}
	return s
}
