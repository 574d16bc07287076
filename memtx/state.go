package memtx

import (
	"errors"
	"fmt"
	"github.com/xlogtool/xlogtool/box"
	"sort"
	"strings"
)

// State is the replayed content of a database: spaces with their
// definitions and tuples. It is not safe for concurrent use.
type State struct {
	spaces map[uint32]*Space
	// pending holds rows of system spaces whose primary key is not known
	// yet, in arrival order; they are applied once it is defined.
	pending  map[uint32][]Request
	deferred []*ApplyError
	opts     Options
	env      *schemaEnv
	// seqCache caches the rows of _space_sequence by space id (see
	// followSequence).
	seqCache map[uint32]seqBinding
	// seqIdle: _space_sequence was empty at schema version seqIdleAt, so
	// no space follows a sequence (until seqCache is reset).
	seqIdle   bool
	seqIdleAt uint64
	// last is the space the last request went to, valid at schema
	// version lastAt.
	last   *Space
	lastAt uint64
	// deferKeys: see DeferSecondaryKeys.
	deferKeys bool
	// txn is the open transaction's undo log (see Begin).
	txn *txnLog
	// schemaVersion counts schema changes (see SchemaVersion).
	schemaVersion uint64
}

// Options tune a State.
type Options struct {
	// TypeRules selects the field type compatibility rules used to
	// validate tuples and keys. The default accepts data of every
	// Tarantool version; older rules make the engine as strict as the
	// version that wrote the logs.
	TypeRules TypeRules
	// MemoryLimit, when not 0, is the most tuple memory (MemoryUsed) the
	// state takes: a request storing a tuple beyond it fails with
	// ER_MEMORY_ISSUE, as memtx_memory makes Tarantool's fail.
	MemoryLimit uint64
}

// NewState returns an empty state. System spaces are created on demand:
// their primary keys are built in, so a snapshot can be applied from its
// first row (_schema rows precede the _space and _index rows that define
// _schema).
func NewState() *State {
	return NewStateWithOptions(Options{})
}

// NewStateWithOptions returns an empty state with the given options.
func NewStateWithOptions(o Options) *State {
	return &State{
		spaces:  make(map[uint32]*Space),
		pending: make(map[uint32][]Request),
		opts:    o,
		env:     &schemaEnv{rules: o.TypeRules, arena: newArena()},
	}
}

// Spaces returns all spaces ordered by id.
func (s *State) Spaces() []*Space {
	out := make([]*Space, 0, len(s.spaces))
	for _, sp := range s.spaces {
		out = append(out, sp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Space returns the space with the given id, or nil.
func (s *State) Space(id uint32) *Space { return s.spaces[id] }

// SpaceByName returns the space with the given name, or nil.
func (s *State) SpaceByName(name string) *Space {
	for _, sp := range s.spaces {
		if sp.Name == name {
			return sp
		}
	}
	return nil
}

// Get returns the tuple with the given primary key in a space, or nil.
func (s *State) Get(spaceID uint32, key []any) []any {
	sp := s.spaces[spaceID]
	if sp == nil {
		return nil
	}
	return sp.Get(key)
}

// PendingRows returns the number of buffered rows of system spaces that
// still have no primary key definition.
func (s *State) PendingRows() int {
	n := 0
	for _, rows := range s.pending {
		n += len(rows)
	}
	return n
}

// DeferredErrors returns the errors of buffered rows that failed when
// they were finally applied.
func (s *State) DeferredErrors() []*ApplyError {
	return append([]*ApplyError(nil), s.deferred...)
}

// Apply executes one request. A request Tarantool would reject leaves the
// state unchanged and is reported as an *ApplyError; other errors
// (values of unsupported Go types) are reported as *ApplyError with code
// ER_INVALID_MSGPACK too. NOP requests are accepted and ignored.
func (s *State) Apply(req Request) error {
	if _, err := s.apply(req, nil); err != nil {
		err.Type = req.Type
		err.SpaceID = req.SpaceID
		return err
	}
	return nil
}

// Change is what a request did: the tuple it replaced or deleted (Old)
// and the tuple it stored (New); both are nil when it changed nothing.
type Change struct {
	Old, New Tuple
}

// Execute executes one request as Apply does and returns what it changed.
// The tuples of the Change are the caller's: New is the tuple the request
// made (stored as a copy), Old a copy of the tuple it replaced.
func (s *State) Execute(req Request) (Change, error) { return s.ExecuteKeep(req, true) }

// ExecuteKeep is Execute; with keepOld false Change.Old is not copied
// (it is nil) and only Change.New tells what the request stored: for a
// caller that needs neither the replaced tuple nor whether there was one.
func (s *State) ExecuteKeep(req Request, keepOld bool) (Change, error) {
	var old Tuple
	keep := &old
	if !keepOld {
		keep = nil
	}
	ch, err := s.apply(req, keep)
	if err != nil {
		err.Type = req.Type
		err.SpaceID = req.SpaceID
		return Change{}, err
	}
	return Change{Old: old, New: ch.newT}, nil
}

// apply executes one request; when keepOld is not nil, it gets a copy of
// the tuple the request replaced or deleted.
func (s *State) apply(req Request, keepOld *Tuple) (change, *ApplyError) {
	switch req.Type {
	case box.TypeNop:
		return change{}, nil
	case box.TypeInsert, box.TypeReplace, box.TypeUpdate, box.TypeDelete, box.TypeUpsert:
	default:
		return change{}, boxError(box.ErrUnknownRequestType, uint32(req.Type))
	}
	sp := s.last
	if sp == nil || sp.ID != req.SpaceID || s.lastAt != s.schemaVersion {
		sp = s.spaces[req.SpaceID]
		s.last, s.lastAt = sp, s.schemaVersion
	}
	if sp == nil {
		switch b := findBootstrap(req.SpaceID); {
		case b != nil:
			sp = s.bootstrapSpace(b)
		case box.IsSystemSpace(req.SpaceID):
			return change{}, s.buffer(req)
		default:
			return change{}, boxError(box.ErrNoSuchSpace, fmt.Sprint(req.SpaceID))
		}
	}
	if !storesData(sp.Engine) {
		return change{}, nil
	}
	if sp.primary() == nil && box.IsSystemSpace(sp.ID) {
		// A system space defined before its primary key: keep the row
		// until the key is known.
		return change{}, s.buffer(req)
	}
	if s.deferKeys || sp.keysDeferred {
		s.deferKeysFor(sp, req.Type)
	}
	var ch change
	if err := s.prepare(sp, &req, &ch); err != nil {
		return change{}, err
	}
	if ch.old == 0 && ch.newT == nil {
		return change{}, nil
	}
	if ch.old != 0 {
		ch.oldT = s.env.arena.bytes(ch.old)
	}
	if err := s.checkMemory(ch.newT); err != nil {
		return change{}, err
	}
	if ch.newT != nil {
		ch.new = s.env.arena.store(ch.newT)
	}
	sp.commit(ch.old, ch.new)
	switch sp.ID {
	case box.SpaceSchema:
		s.trackVersion(ch.newT)
	case box.SpaceSpaceSequence, box.SpaceSequence:
		s.seqCache, s.seqIdle = nil, false
	}
	var effect func()
	var err *ApplyError
	switch sp.ID {
	case box.SpaceSpace:
		effect, err = s.ddlSpace(ch)
	case box.SpaceIndex:
		effect, err = s.ddlIndex(ch)
	case box.SpaceTruncate:
		effect, err = s.ddlTruncate(req.Type, ch)
	}
	if err != nil {
		// The schema change is rejected: undo the row.
		sp.commit(ch.new, ch.old)
		s.env.arena.retire(ch.new)
		if sp.ID == box.SpaceSchema && ch.old != 0 {
			s.trackVersion(ch.oldT)
		}
		return change{}, err
	}
	s.record(undo{sp: sp, ch: ch})
	if effect != nil {
		effect()
	}
	if (req.Type == box.TypeInsert || req.Type == box.TypeReplace) && ch.new != 0 {
		s.followSequence(sp, ch.newT)
	}
	if keepOld != nil && ch.old != 0 {
		*keepOld = ch.oldT.Clone()
	}
	if s.txn == nil {
		s.retire(sp, ch.old)
		ch.oldT = nil
	}
	return ch, nil
}

// retire frees a tuple the space no longer holds. While the space's
// secondary keys are deferred their stale trees may still refer to it:
// it is kept until they are built.
func (s *State) retire(sp *Space, r tref) {
	if r == 0 {
		return
	}
	if sp.keysDeferred {
		sp.staleRefs = append(sp.staleRefs, r)
		return
	}
	s.env.arena.retire(r)
}

// buffer keeps a row of a system space without a primary key yet. Its
// values are copied: the caller may reuse its slices.
func (s *State) buffer(req Request) *ApplyError {
	if req.tuple != nil {
		req.Tuple, req.tuple = req.tuple.Decode(), nil
	}
	for _, v := range []*[]any{&req.Key, &req.Tuple, &req.Ops} {
		n, err := normTuple(*v, false)
		if err != nil {
			return err
		}
		*v = n
	}
	req.canonical = true
	s.pending[req.SpaceID] = append(s.pending[req.SpaceID], req)
	return nil
}

func invalidValue(err error) *ApplyError {
	return boxError(box.ErrInvalidMsgpack, err)
}

// normOps normalises an operation list; a missing one is an empty list.
func normOps(v []any, canonical bool) ([]any, *ApplyError) {
	ops, err := normTuple(v, canonical)
	if ops == nil && err == nil {
		ops = []any{}
	}
	return ops, err
}

func normTuple(v []any, canonical bool) ([]any, *ApplyError) {
	if v == nil || canonical {
		return v, nil
	}
	n, err := Normalize(v)
	if err != nil {
		return nil, invalidValue(err)
	}
	return n.([]any), nil
}

func (s *State) prepare(sp *Space, req *Request, ch *change) *ApplyError {
	switch req.Type {
	case box.TypeInsert, box.TypeReplace:
		t, err := req.storedTuple()
		if err != nil {
			return err
		}
		return sp.prepareReplace(ch, t, req.Type == box.TypeInsert)
	case box.TypeDelete:
		if req.Key == nil {
			return boxError(box.ErrMissingRequestField, "KEY")
		}
		key, err := normTuple(req.Key, req.canonical)
		if err != nil {
			return err
		}
		return sp.prepareDelete(ch, req.IndexID, key)
	case box.TypeUpdate:
		if req.Key == nil {
			return boxError(box.ErrMissingRequestField, "KEY")
		}
		key, err := normTuple(req.Key, req.canonical)
		if err != nil {
			return err
		}
		ops, err := normOps(req.Ops, req.canonical)
		if err != nil {
			return err
		}
		return sp.prepareUpdate(ch, req, key, ops)
	}
	t, err := req.storedTuple()
	if err != nil {
		return err
	}
	ops, err := normOps(req.Ops, req.canonical)
	if err != nil {
		return err
	}
	return sp.prepareUpsert(ch, req, t, ops)
}

// storedTuple returns the tuple of an INSERT, REPLACE or UPSERT in its
// stored form.
func (req *Request) storedTuple() (Tuple, *ApplyError) {
	if req.tuple != nil {
		return req.tuple, nil
	}
	if req.Tuple == nil {
		return nil, boxError(box.ErrMissingRequestField, "TUPLE")
	}
	t, err := normTuple(req.Tuple, req.canonical)
	if err != nil {
		return nil, err
	}
	return newTuple(t)
}

// bootstrapSpace creates a system space known only from the built-in
// list, with its primary key.
func (s *State) bootstrapSpace(b *bootstrapSpace) *Space {
	sp := &Space{ID: b.id, Name: box.SpaceName(b.id), Engine: "memtx", env: s.env}
	pk := &Index{SpaceID: b.id, ID: 0, Name: "primary", Type: "tree", Unique: true, Parts: b.parts}
	_ = pk.compile(s.collation, s.opts.TypeRules)
	sp.indexes, _ = sp.rebuild([]*Index{pk}, nil)
	sp.format = newTupleFormat(sp, sp.indexes)
	s.spaces[b.id] = sp
	return sp
}

// collation resolves a collation id through the _collation space.
func (s *State) collation(id uint32) collKind {
	if c := s.spaces[box.SpaceCollation]; c != nil {
		if t := c.Get([]any{uint64(id)}); len(t) > 3 {
			typ, _ := t[3].(string)
			if strings.EqualFold(typ, "BINARY") {
				return collBinary
			}
			if len(t) > 5 {
				if opts, ok := t[5].(Map); ok {
					if st, ok := opts.Get("strength"); ok {
						switch st {
						case "primary", "secondary":
							return collUnicodeCI
						}
					}
				}
			}
			return collUnicode
		}
	}
	switch id {
	case 1:
		return collUnicode
	case 2:
		return collUnicodeCI
	}
	return collBinary
}

// ddlSpace handles a change of _space: create, alter or drop a space.
func (s *State) ddlSpace(ch change) (func(), *ApplyError) {
	row := ch.newT.Decode()
	if ch.oldT != nil {
		row = ch.oldT.Decode()
	}
	id, ok := asUint32(firstField(row))
	if !ok {
		return nil, errorf(box.ErrFieldType, "_space row: space id is not an unsigned integer")
	}
	sp := s.spaces[id]
	if ch.newT == nil {
		if sp == nil {
			return nil, nil
		}
		if len(sp.indexes) > 0 {
			return nil, boxError(box.ErrDropSpace, sp.displayName(), "the space has indexes")
		}
		return func() {
			s.saveSpace(id)
			delete(s.spaces, id)
			delete(s.pending, id)
		}, nil
	}
	def, err := parseSpaceRow(ch.newT.Decode())
	if err != nil {
		code := box.ErrAlterSpace
		if sp == nil {
			code = box.ErrCreateSpace
		}
		err.Code = code
		return nil, err
	}
	if def.id != id {
		return nil, boxError(box.ErrAlterSpace, fmt.Sprint(id), "space id can not be changed")
	}
	if sp == nil {
		return func() {
			s.saveSpace(id)
			n := &Space{env: s.env}
			if b := findBootstrap(id); b != nil {
				// A system space gets its built-in primary key until
				// its own _index rows arrive.
				n = s.bootstrapSpace(b)
			}
			n.setDef(def)
			n.format = newTupleFormat(n, n.indexes)
			s.spaces[id] = n
			s.flushPending(n)
		}, nil
	}
	if sp.Defined && !strings.EqualFold(sp.Engine, def.engine) {
		return nil, boxError(box.ErrAlterSpace, sp.displayName(), "can not change space engine")
	}
	// Alter: existing tuples must satisfy the new format.
	probe := &Space{env: sp.env}
	probe.setDef(def)
	f := newTupleFormat(probe, sp.indexes)
	var verr *ApplyError
	sp.AscendTuples(func(t Tuple) bool {
		verr = f.validate(t)
		return verr == nil
	})
	if verr != nil {
		return nil, verr
	}
	return func() {
		s.saveSpace(id)
		sp.setDef(def)
		sp.format = f
		s.flushPending(sp)
	}, nil
}

func firstField(t []any) any {
	if len(t) == 0 {
		return nil
	}
	return t[0]
}

func (sp *Space) setDef(d *spaceDef) {
	sp.ID, sp.Owner, sp.Name, sp.Engine = d.id, d.owner, d.name, d.engine
	sp.FieldCount = d.fieldCount
	sp.IsLocal, sp.Temporary, sp.IsSync, sp.IsView = d.isLocal, d.temporary, d.isSync, d.isView
	sp.Format = d.format
	sp.Defined = true
}

// ddlIndex handles a change of _index: create, alter or drop an index.
func (s *State) ddlIndex(ch change) (func(), *ApplyError) {
	row := ch.newT.Decode()
	if ch.oldT != nil {
		row = ch.oldT.Decode()
	}
	if len(row) < 2 {
		return nil, errorf(box.ErrWrongIndexRecord, "Wrong record in _index space: too few fields")
	}
	sid, ok1 := asUint32(row[0])
	iid, ok2 := asUint32(row[1])
	if !ok1 || !ok2 {
		return nil, errorf(box.ErrWrongIndexRecord, "Wrong record in _index space: space and index ids must be unsigned")
	}
	sp := s.spaces[sid]
	if sp == nil {
		return nil, boxError(box.ErrNoSuchSpace, fmt.Sprint(sid))
	}
	existing := sp.Index(iid)
	tuples := sp.storedRefs()
	var indexes []*Index
	for _, ix := range sp.indexes {
		if ix.ID != iid {
			indexes = append(indexes, ix)
		}
	}
	if ch.newT == nil {
		if existing == nil {
			return nil, nil
		}
		if iid == 0 {
			if len(indexes) > 0 {
				return nil, boxError(box.ErrDropPrimaryKey, sp.displayName())
			}
			tuples = nil
		}
	} else {
		ix, err := parseIndexRow(ch.newT.Decode(), sp.Format)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(ix.Type, "hash") {
			if !ix.Unique && iid != 0 {
				return nil, boxError(box.ErrModifyIndex, ix.Name, sp.displayName(), "HASH index must be unique")
			}
			for _, p := range ix.Parts {
				if p.IsNullable {
					return nil, boxError(box.ErrUnsupported, "HASH", "nullable parts")
				}
			}
		}
		if ix.SpaceID != sid || ix.ID != iid {
			return nil, boxError(box.ErrModifyIndex, ix.Name, sp.displayName(), "ids can not be changed")
		}
		if err := ix.compile(s.collation, s.opts.TypeRules); err != nil {
			return nil, err
		}
		if iid != 0 && sp.primary() == nil {
			return nil, boxError(box.ErrAlterSpace, sp.displayName(), "can not add a secondary key before primary")
		}
		indexes = append(indexes, ix)
	}
	rebuilt, err := sp.rebuild(indexes, tuples)
	if err != nil {
		return nil, err
	}
	f := newTupleFormat(sp, rebuilt)
	for _, r := range tuples {
		if err := f.validate(s.env.arena.bytes(r)); err != nil {
			return nil, err
		}
	}
	return func() {
		s.saveSpace(sid)
		if ch.newT == nil && iid == 0 {
			sp.bsize = 0
			s.dropTuples(existing.tree)
		}
		sp.indexes = rebuilt
		sp.keysDeferred = false
		sp.format = f
		s.flushPending(sp)
	}, nil
}

// ddlTruncate handles a change of _truncate: any request but INSERT that
// stores a row {space_id, count} empties the space (an INSERT is the
// creation of the row together with the space, or a snapshot row).
func (s *State) ddlTruncate(typ box.RowType, ch change) (func(), *ApplyError) {
	if ch.newT == nil || typ == box.TypeInsert {
		return nil, nil
	}
	id, ok := asUint32(firstField(ch.newT.Decode()))
	if !ok {
		return nil, errorf(box.ErrFieldType, "_truncate row: space id is not an unsigned integer")
	}
	sp := s.spaces[id]
	if sp == nil {
		return nil, boxError(box.ErrNoSuchSpace, fmt.Sprint(id))
	}
	if box.IsSystemSpace(id) {
		return nil, boxError(box.ErrTruncateSystemSpace, sp.displayName())
	}
	return func() {
		s.saveSpace(id)
		indexes := make([]*Index, len(sp.indexes))
		pk := sp.primary()
		for i, ix := range sp.indexes {
			c := *ix
			if c.tree != nil && pk != nil {
				c.tree = c.newTree(pk.kd, s.env.arena)
			}
			indexes[i] = &c
		}
		if pk != nil {
			s.dropTuples(pk.tree)
		}
		sp.indexes = indexes
		sp.bsize = 0
	}, nil
}

// flushPending applies buffered rows of a system space once its primary
// key is known.
func (s *State) flushPending(sp *Space) {
	rows := s.pending[sp.ID]
	if len(rows) == 0 {
		return
	}
	if !storesData(sp.Engine) {
		delete(s.pending, sp.ID)
		return
	}
	if sp.primary() == nil {
		return
	}
	delete(s.pending, sp.ID)
	for _, r := range rows {
		if err := s.Apply(r); err != nil {
			var ae *ApplyError
			if errors.As(err, &ae) {
				s.deferred = append(s.deferred, ae)
			}
		}
	}
}

// trackVersion follows the data dictionary version stored in _schema as
// {'version', major, minor[, patch]}.
func (s *State) trackVersion(tuple Tuple) {
	t := tuple.Decode()
	if len(t) < 3 {
		return
	}
	if k, _ := t[0].(string); k != "version" {
		return
	}
	var v uint32
	for i, shift := range []uint{16, 8, 0} {
		if i+1 >= len(t) {
			break
		}
		n, ok := t[i+1].(uint64)
		if !ok || n > 255 {
			return
		}
		v |= uint32(n) << shift
	}
	s.env.ddVersion = v
}

// DictionaryVersion returns the data dictionary version found in _schema
// as major, minor and patch numbers (zeros while unknown).
func (s *State) DictionaryVersion() (major, minor, patch int) {
	v := s.env.ddVersion
	return int(v >> 16), int(v >> 8 & 0xff), int(v & 0xff)
}

// storesData reports whether spaces of an engine keep tuples: blackhole,
// sysview and service spaces do not.
func storesData(engine string) bool {
	switch engine {
	case "blackhole", "sysview", "service":
		return false
	}
	return true
}
