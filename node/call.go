package node

import (
	"strings"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/iproto"

	"github.com/xlogtool/xlogtool/memtx"
)

// The built-in functions clients call remotely. The node has no Lua: any
// other CALL is answered with ER_NO_SUCH_PROC, any EVAL with
// ER_UNSUPPORTED, saying so.

// Call executes a CALL of a built-in function and returns its results.
func (n *Node) Call(s *session, name string, args []any) ([]any, error) {
	if space, method, ok := strings.Cut(strings.TrimPrefix(name, "box.space."), ":"); ok && strings.HasPrefix(name, "box.space.") {
		return n.spaceMethod(s, space, method, args)
	}
	switch name {
	case "box.schema.space.create":
		return n.callSpaceCreate(s, args)
	case "box.schema.user.create":
		opts := optMap(args, 1)
		if err := n.needUniverse(s, box.PrivCreate); err != nil {
			return nil, err
		}
		return nil, n.createUser(s, argString(args, 0), optString(opts, "password"), optBool(opts, "if_not_exists"))
	case "box.schema.user.grant":
		if err := n.needUniverse(s, box.PrivAlter); err != nil {
			return nil, err
		}
		return nil, n.callGrant(s, args)
	case "box.schema.user.passwd":
		return nil, n.callPasswd(s, args)
	case "box.info":
		return []any{n.Info()}, nil
	case "box.cfg":
		if err := n.needUniverse(s, box.PrivAlter); err != nil {
			return nil, err
		}
		return nil, n.reconfigure(optMap(args, 0))
	case "box.snapshot":
		if err := n.needUniverse(s, box.PrivAlter); err != nil {
			return nil, err
		}
		if err := n.Snapshot(); err != nil {
			return nil, err
		}
		return []any{"ok"}, nil
	case "box.ctl.clear_synchro_queue":
		if err := n.needUniverse(s, box.PrivWrite); err != nil {
			return nil, err
		}
		return nil, n.clearSynchroQueue()
	case "box.ctl.promote":
		if err := n.needUniverse(s, box.PrivWrite); err != nil {
			return nil, err
		}
		return nil, n.promote()
	case "box.ctl.demote":
		if err := n.needUniverse(s, box.PrivWrite); err != nil {
			return nil, err
		}
		return nil, n.demote()
	}
	return nil, boxErr(box.ErrNoSuchProc, "Procedure '%s' is not defined (this node has no Lua: only built-in functions can be called)", name)
}

// Eval answers EVAL: there is no Lua engine.
func (n *Node) Eval(s *session, expr string) ([]any, error) {
	return nil, box.NewError(box.ErrUnsupported, "xlogtool node", "EVAL (there is no Lua engine)")
}

func (n *Node) needUniverse(s *session, p uint32) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.checkUniverse(s, p); err != nil {
		return err
	}
	return nil
}

func argString(args []any, i int) string {
	if i < len(args) {
		s, _ := args[i].(string)
		return s
	}
	return ""
}

func optMap(args []any, i int) memtx.Map {
	if i < len(args) {
		m, _ := args[i].(memtx.Map)
		return m
	}
	return nil
}

func optString(m memtx.Map, k string) string {
	v, _ := m.Get(k)
	s, _ := v.(string)
	return s
}

func optBool(m memtx.Map, k string) bool {
	v, _ := m.Get(k)
	b, _ := v.(bool)
	return b
}

func optUint(m memtx.Map, k string) (uint64, bool) {
	v, ok := m.Get(k)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case uint64:
		return x, true
	case float64:
		return uint64(x), true
	}
	return 0, false
}

// write runs one internal DML request as admin and waits for its WAL write.
func (n *Node) write(req memtx.Request) error {
	n.mu.Lock()
	if err := n.electionCheckWrite(req.SpaceID); err != nil {
		n.mu.Unlock()
		return err
	}
	r, err := n.execLocked(n.adminSession(), req, nil)
	n.mu.Unlock()
	if err != nil {
		return err
	}
	return r.Wait()
}

// callSpaceCreate is box.schema.space.create(name, opts).
func (n *Node) callSpaceCreate(s *session, args []any) ([]any, error) {
	name := argString(args, 0)
	if name == "" {
		return nil, boxErr(box.ErrIllegalParams, "name should be a string")
	}
	opts := optMap(args, 1)
	n.mu.Lock()
	if err := n.checkUniverse(s, box.PrivCreate); err != nil {
		n.mu.Unlock()
		return nil, err
	}
	if sp := n.st.SpaceByName(name); sp != nil && sp.Defined {
		n.mu.Unlock()
		if optBool(opts, "if_not_exists") {
			return nil, nil
		}
		return nil, box.NewError(box.ErrSpaceExists, name)
	}
	maxID := uint64(511)
	if t := n.st.Space(box.SpaceSchema).Get([]any{"max_id"}); len(t) > 1 {
		maxID, _ = t[1].(uint64)
	}
	n.mu.Unlock()
	id := maxID + 1
	if v, ok := optUint(opts, "id"); ok {
		id = v
	} else if err := n.write(memtx.Request{Type: box.TypeUpdate, SpaceID: box.SpaceSchema, IndexBase: 1,
		Key: []any{"max_id"}, Ops: []any{[]any{"+", uint64(2), uint64(1)}}}); err != nil {
		return nil, err
	}
	engine := optString(opts, "engine")
	if engine == "" {
		engine = "memtx"
	}
	flags := memtx.Map{}
	if optBool(opts, "temporary") {
		flags = append(flags, memtx.MapEntry{Key: "temporary", Value: true})
	}
	if optBool(opts, "is_sync") {
		flags = append(flags, memtx.MapEntry{Key: "is_sync", Value: true})
	}
	if optBool(opts, "is_local") {
		flags = append(flags, memtx.MapEntry{Key: "group_id", Value: uint64(1)})
	}
	fieldCount, _ := optUint(opts, "field_count")
	formatV, _ := opts.Get("format")
	fmtArr, _ := formatV.([]any)
	if fmtArr == nil {
		fmtArr = []any{}
	}
	fmtArr = normalizeFormat(fmtArr)
	tuple := []any{id, uint64(s.uid), name, engine, fieldCount, flags, fmtArr}
	if err := n.write(memtx.Request{Type: box.TypeInsert, SpaceID: box.SpaceSpace, Tuple: tuple}); err != nil {
		return nil, err
	}
	return []any{tuple}, nil
}

// normalizeFormat turns {{'a', 'unsigned'}} entries into {name=, type=} maps.
func normalizeFormat(f []any) []any {
	out := make([]any, len(f))
	for i, e := range f {
		switch x := e.(type) {
		case []any:
			m := memtx.Map{}
			if len(x) > 0 {
				m = append(m, memtx.MapEntry{Key: "name", Value: x[0]})
			}
			if len(x) > 1 {
				m = append(m, memtx.MapEntry{Key: "type", Value: x[1]})
			} else {
				m = append(m, memtx.MapEntry{Key: "type", Value: "any"})
			}
			out[i] = m
		case memtx.Map:
			if _, ok := x.Get("type"); !ok {
				x = append(x, memtx.MapEntry{Key: "type", Value: "any"})
			}
			out[i] = x
		default:
			out[i] = e
		}
	}
	return out
}

// spaceMethod serves box.space.NAME:create_index/drop/truncate.
func (n *Node) spaceMethod(s *session, name, method string, args []any) ([]any, error) {
	n.mu.Lock()
	sp := n.st.SpaceByName(name)
	if sp == nil || !sp.Defined {
		n.mu.Unlock()
		return nil, box.NewError(box.ErrNoSuchProc, "box.space."+name+":"+method)
	}
	owner := sp.Owner == s.uid
	n.mu.Unlock()
	if !owner {
		if err := n.needUniverse(s, box.PrivAlter); err != nil {
			return nil, err
		}
	}
	switch method {
	case "create_index":
		return n.createIndex(sp, argString(args, 0), optMap(args, 1))
	case "drop":
		return nil, n.dropSpace(sp)
	case "truncate":
		return nil, n.write(memtx.Request{Type: box.TypeUpsert, SpaceID: box.SpaceTruncate, Tuple: []any{uint64(sp.ID), uint64(1)},
			Ops: []any{[]any{"+", uint64(1), uint64(1)}}})
	}
	return nil, boxErr(box.ErrNoSuchProc, "Procedure 'box.space.%s:%s' is not defined (this node has no Lua: only built-in functions can be called)", name, method)
}

// createIndex is box.space.NAME:create_index(name, opts).
func (n *Node) createIndex(sp *memtx.Space, name string, opts memtx.Map) ([]any, error) {
	n.mu.Lock()
	var id uint64
	for _, ix := range sp.Indexes() {
		if ix.Name == name {
			n.mu.Unlock()
			if optBool(opts, "if_not_exists") {
				return nil, nil
			}
			return nil, box.NewError(box.ErrIndexExists, name)
		}
		if uint64(ix.ID) >= id {
			id = uint64(ix.ID) + 1
		}
	}
	format := sp.Format
	n.mu.Unlock()
	if v, ok := optUint(opts, "id"); ok {
		id = v
	}
	typ := strings.ToLower(optString(opts, "type"))
	if typ == "" {
		typ = "tree"
	}
	unique := true
	if v, ok := opts.Get("unique"); ok {
		unique, _ = v.(bool)
	}
	partsV, hasParts := opts.Get("parts")
	parts, err := indexParts(partsV, hasParts, format)
	if err != nil {
		return nil, err
	}
	tuple := []any{uint64(sp.ID), id, name, typ, memtx.Map{{Key: "unique", Value: unique}}, parts}
	if err := n.write(memtx.Request{Type: box.TypeInsert, SpaceID: box.SpaceIndex, Tuple: tuple}); err != nil {
		return nil, err
	}
	return []any{tuple}, nil
}

// indexParts converts create_index parts (1-based Lua field numbers or
// field names) into the _index form [[fieldno, type], ...].
func indexParts(v any, given bool, format []memtx.Field) ([]any, error) {
	if !given {
		return []any{[]any{uint64(0), "unsigned"}}, nil
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, boxErr(box.ErrIllegalParams, "options.parts: expected filed=type pairs")
	}
	field := func(x any) (uint64, string, error) {
		switch f := x.(type) {
		case uint64:
			if f == 0 {
				return 0, "", boxErr(box.ErrIllegalParams, "options.parts: invalid field number 0")
			}
			t := "unsigned"
			if int(f-1) < len(format) && format[f-1].Type != memtx.TypeAny {
				t = format[f-1].Type.String()
			}
			return f - 1, t, nil
		case string:
			for i, fd := range format {
				if fd.Name == f {
					return uint64(i), fd.Type.String(), nil
				}
			}
			return 0, "", boxErr(box.ErrIllegalParams, "options.parts: field was not found by name '%s'", f)
		}
		return 0, "", boxErr(box.ErrIllegalParams, "options.parts: expected field number or name")
	}
	var out []any
	if _, nested := list[0].([]any); !nested {
		if _, isMap := list[0].(memtx.Map); !isMap {
			// Flat {1, 'unsigned', 2, 'string'} or {1, 2}.
			for i := 0; i < len(list); i++ {
				no, typ, err := field(list[i])
				if err != nil {
					return nil, err
				}
				if i+1 < len(list) {
					if s, ok := list[i+1].(string); ok {
						if _, isField := list[i+1].(uint64); !isField {
							typ = s
							i++
						}
					}
				}
				out = append(out, []any{no, typ})
			}
			return out, nil
		}
	}
	for _, p := range list {
		switch x := p.(type) {
		case []any:
			if len(x) == 0 {
				return nil, boxErr(box.ErrIllegalParams, "options.parts: empty part")
			}
			no, typ, err := field(x[0])
			if err != nil {
				return nil, err
			}
			if len(x) > 1 {
				typ, _ = x[1].(string)
			}
			out = append(out, []any{no, typ})
		case memtx.Map:
			fv, _ := x.Get("field")
			no, typ, err := field(fv)
			if err != nil {
				return nil, err
			}
			if t := optString(x, "type"); t != "" {
				typ = t
			}
			m := memtx.Map{{Key: "field", Value: no}, {Key: "type", Value: typ}}
			if optBool(x, "is_nullable") {
				m = append(m, memtx.MapEntry{Key: "is_nullable", Value: true})
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// dropSpace deletes a space's indexes (secondary first), its privileges,
// its _truncate row and its _space row, each as its own transaction.
func (n *Node) dropSpace(sp *memtx.Space) error {
	n.mu.Lock()
	ixs := sp.Indexes()
	var privs [][]any
	if ps := n.st.Space(box.SpacePriv); ps != nil {
		ps.Ascend(func(t []any) bool {
			if len(t) > 3 && t[2] == "space" && t[3] == uint64(sp.ID) {
				privs = append(privs, t)
			}
			return true
		})
	}
	n.mu.Unlock()
	for _, p := range privs {
		if err := n.write(memtx.Request{Type: box.TypeDelete, SpaceID: box.SpacePriv, Key: []any{p[1], p[2], p[3]}}); err != nil {
			return err
		}
	}
	for i := len(ixs) - 1; i >= 0; i-- {
		if err := n.write(memtx.Request{Type: box.TypeDelete, SpaceID: box.SpaceIndex, Key: []any{uint64(sp.ID), uint64(ixs[i].ID)}}); err != nil {
			return err
		}
	}
	n.mu.Lock()
	tr := n.st.Space(box.SpaceTruncate)
	hasTrunc := tr != nil && tr.Get([]any{uint64(sp.ID)}) != nil
	n.mu.Unlock()
	if hasTrunc {
		if err := n.write(memtx.Request{Type: box.TypeDelete, SpaceID: box.SpaceTruncate, Key: []any{uint64(sp.ID)}}); err != nil {
			return err
		}
	}
	return n.write(memtx.Request{Type: box.TypeDelete, SpaceID: box.SpaceSpace, Key: []any{uint64(sp.ID)}})
}

// createUser is box.schema.user.create: the _user row, then the grants
// every new user gets (public role, alter on itself, session and usage).
func (n *Node) createUser(s *session, name, password string, ifNotExists bool) error {
	n.mu.Lock()
	if n.userByName(name) != nil {
		n.mu.Unlock()
		if ifNotExists {
			return nil
		}
		return box.NewError(box.ErrUserExists, name)
	}
	var maxID uint64
	n.st.Space(box.SpaceUser).Ascend(func(t []any) bool {
		if id, _ := t[0].(uint64); id > maxID {
			maxID = id
		}
		return true
	})
	n.mu.Unlock()
	id := maxID + 1
	auth := memtx.Map{}
	if password != "" {
		auth = memtx.Map{{Key: "chap-sha1", Value: iproto.PasswordHash(password)}}
	}
	if err := n.write(memtx.Request{Type: box.TypeInsert, SpaceID: box.SpaceUser,
		Tuple: []any{id, uint64(s.uid), name, "user", auth}}); err != nil {
		return err
	}
	for _, p := range [][]any{
		{uint64(s.uid), id, "role", uint64(box.RolePublic), uint64(box.PrivExecute)},
		{uint64(s.uid), id, "user", id, uint64(box.PrivAlter)},
		{uint64(s.uid), id, "universe", uint64(0), uint64(box.PrivSession | box.PrivUsage)},
	} {
		if err := n.write(memtx.Request{Type: box.TypeReplace, SpaceID: box.SpacePriv, Tuple: p}); err != nil {
			return err
		}
	}
	return nil
}

var privBits = map[string]uint32{"read": box.PrivRead, "write": box.PrivWrite, "execute": box.PrivExecute, "session": box.PrivSession,
	"usage": box.PrivUsage, "create": box.PrivCreate, "drop": box.PrivDrop, "alter": box.PrivAlter}

// callGrant is box.schema.user.grant(user, privileges, type, name, opts)
// or grant(user, role).
func (n *Node) callGrant(s *session, args []any) error {
	user, what := argString(args, 0), argString(args, 1)
	objType, objName := argString(args, 2), argString(args, 3)
	if objType == "" {
		return n.grant(s, user, "role", what, 0)
	}
	var bits uint32
	for _, p := range strings.Split(what, ",") {
		b, ok := privBits[strings.TrimSpace(p)]
		if !ok {
			return boxErr(box.ErrIllegalParams, "Invalid privilege '%s'", p)
		}
		bits |= b
	}
	return n.grant(s, user, objType, objName, bits)
}

// grant adds privileges (or, for type "role", the role named objName).
func (n *Node) grant(s *session, user, objType, objName string, bits uint32) error {
	n.mu.Lock()
	ut := n.userByName(user)
	if ut == nil {
		n.mu.Unlock()
		return box.NewError(box.ErrNoSuchUser, user)
	}
	var objID any = uint64(0)
	switch objType {
	case "role":
		rt := n.userByName(objName)
		if rt == nil || rt[3] != "role" {
			n.mu.Unlock()
			return box.NewError(box.ErrNoSuchRole, objName)
		}
		objID, bits = rt[0], box.PrivExecute
	case "space":
		sp := n.st.SpaceByName(objName)
		if sp == nil {
			n.mu.Unlock()
			return box.NewError(box.ErrNoSuchSpace, objName)
		}
		objID = uint64(sp.ID)
	case "universe":
	default:
		n.mu.Unlock()
		return boxErr(box.ErrIllegalParams, "Unknown object type '%s'", objType)
	}
	key := []any{ut[0], objType, objID}
	if old := n.st.Space(box.SpacePriv).Get(key); len(old) > 4 {
		b, _ := old[4].(uint64)
		bits |= uint32(b)
	}
	n.mu.Unlock()
	return n.write(memtx.Request{Type: box.TypeReplace, SpaceID: box.SpacePriv,
		Tuple: []any{uint64(s.uid), ut[0], objType, objID, uint64(bits)}})
}

// callPasswd is box.schema.user.passwd([user,] password).
func (n *Node) callPasswd(s *session, args []any) error {
	user, password := s.user, argString(args, 0)
	if len(args) > 1 {
		user, password = argString(args, 0), argString(args, 1)
		if user != s.user {
			if err := n.needUniverse(s, box.PrivAlter); err != nil {
				return err
			}
		}
	}
	n.mu.Lock()
	ut := n.userByName(user)
	n.mu.Unlock()
	if ut == nil {
		return box.NewError(box.ErrNoSuchUser, user)
	}
	return n.write(memtx.Request{Type: box.TypeUpdate, SpaceID: box.SpaceUser, Key: []any{ut[0]},
		Ops: []any{[]any{"=", uint64(4), memtx.Map{{Key: "chap-sha1", Value: iproto.PasswordHash(password)}}}}})
}

// Info is box.info as a map.
func (n *Node) Info() memtx.Map {
	n.mu.Lock()
	defer n.mu.Unlock()
	vc := memtx.Map{}
	n.vclock.Each(func(id uint32, lsn uint64) {
		vc = append(vc, memtx.MapEntry{Key: uint64(id), Value: lsn})
	})
	status := "running"
	return memtx.Map{
		{Key: "version", Value: n.cfg.Version},
		{Key: "id", Value: uint64(n.id)},
		{Key: "ro", Value: n.readOnly || !n.electionWritable()},
		{Key: "uuid", Value: n.uuid},
		{Key: "cluster", Value: memtx.Map{{Key: "uuid", Value: n.rsUUID}}},
		{Key: "lsn", Value: n.vclock.Get(n.id)},
		{Key: "signature", Value: n.vclock.Signature()},
		{Key: "vclock", Value: vc},
		{Key: "status", Value: status},
		{Key: "election", Value: n.electionInfo()},
		{Key: "synchro", Value: n.synchroInfo()},
		{Key: "replication", Value: n.replicationInfo()},
	}
}

// cfgSeconds reads a box.cfg option given in seconds.
func cfgSeconds(name string, v any) (time.Duration, error) {
	switch x := v.(type) {
	case float64:
		return time.Duration(x * float64(time.Second)), nil
	case uint64:
		return time.Duration(x) * time.Second, nil
	}
	return 0, box.NewError(box.ErrCfg, name, "should be of type number")
}

// reconfigure applies the dynamic options of box.cfg{...}.
func (n *Node) reconfigure(opts memtx.Map) error {
	for _, e := range opts {
		k, _ := e.Key.(string)
		switch k {
		case "read_only":
			b, ok := e.Value.(bool)
			if !ok {
				return box.NewError(box.ErrCfg, "read_only", "should be of type boolean")
			}
			n.mu.Lock()
			n.readOnly = b
			n.mu.Unlock()
		case "checkpoint_count":
			v, _ := optUint(memtx.Map{e}, k)
			if v < 1 {
				return box.NewError(box.ErrCfg, "checkpoint_count", "the value must not be less than one")
			}
			n.mu.Lock()
			n.cfg.CheckpointCount = int(v)
			n.mu.Unlock()
		case "replication_synchro_quorum":
			v, _ := optUint(memtx.Map{e}, k)
			if v < 1 || v > 31 {
				return box.NewError(box.ErrCfg, "replication_synchro_quorum", "the value must be greater than zero and less than maximal number of replicas")
			}
			n.mu.Lock()
			n.cfg.ReplicationSynchroQuorum = int(v)
			n.limbo.SetQuorum(int(v))
			n.driveLimbo()
			n.mu.Unlock()
		case "replication_synchro_timeout":
			d, err := cfgSeconds(k, e.Value)
			if err != nil {
				return err
			}
			if d <= 0 {
				return box.NewError(box.ErrCfg, "replication_synchro_timeout", "the value must be greater than zero")
			}
			n.mu.Lock()
			n.cfg.ReplicationSynchroTimeout = d
			n.mu.Unlock()
		case "memtx_memory":
			v, _ := optUint(memtx.Map{e}, k)
			n.mu.Lock()
			if int64(v) < n.cfg.MemtxMemory {
				n.mu.Unlock()
				return box.NewError(box.ErrCfg, "memtx_memory", "cannot decrease memory size at runtime")
			}
			n.cfg.MemtxMemory = int64(v)
			n.st.SetMemoryLimit(v)
			n.mu.Unlock()
		case "checkpoint_interval":
			d, err := cfgSeconds(k, e.Value)
			if err != nil {
				return err
			}
			n.mu.Lock()
			n.cfg.CheckpointInterval = d
			n.mu.Unlock()
			select {
			case n.checkpointCfg <- struct{}{}:
			default:
			}
		case "wal_mode", "wal_max_size", "instance_uuid", "replicaset_uuid":
			return boxErr(box.ErrCfg, "Can't set option '%s' dynamically", k)
		case "election_mode", "election_timeout", "election_fencing_mode", "replication_timeout":
			if err := n.reconfigureElection(k, e.Value); err != nil {
				return err
			}
		case "listen", "log_level":
			// Accepted; without effect here.
		default:
			return box.NewError(box.ErrCfg, k, "unexpected option")
		}
	}
	return nil
}
