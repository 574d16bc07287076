package memtx

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/xlogtool/xlogtool/box"
)

// UPDATE and UPSERT operations, following Tarantool's xrow_update_*.c.
//
// Operations are decoded first (any decoding error rejects the whole
// request, also for UPSERT), then applied one by one to a working copy of
// the tuple. Tarantool does not materialise intermediate tuples: it keeps
// a tree of "update nodes" over the old tuple and rejects some
// combinations of operations touching the same field ("double update").
// The engine applies operations eagerly but keeps a tree of the same
// shape (unode) to reproduce those rejections.

const maxUpdateOps = 4000

type updateOp struct {
	opcode byte
	num    int // 1-based position in the operation list

	// Target. fieldNo is the top-level field (0-based, or negative to
	// count from the end); rest holds the JSON path tokens below it.
	fieldNo int
	isPath  bool
	path    string
	rest    []pathToken
	lexErr  int // JSON syntax error position within the path, if any

	value    any // '=' and '!'
	arith    any // '+' and '-': uint64, int64, float32, float64 or Decimal
	bitVal   uint64
	delCount uint32
	offset   int32 // ':' position (0-based if non-negative)
	cut      int32
	paste    string
}

func (op *updateOp) fieldStr() string {
	if op.isPath {
		return "'" + op.path + "'"
	}
	if op.fieldNo >= 0 {
		return strconv.Itoa(op.fieldNo + 1)
	}
	return strconv.Itoa(op.fieldNo)
}

func (op *updateOp) errArgType(want string) *ApplyError {
	return boxError(box.ErrUpdateArgType,
		op.opcode, op.fieldStr(), want)
}

func (op *updateOp) errField(reason string) *ApplyError {
	return boxError(box.ErrUpdateField, op.fieldStr(), reason)
}

func (op *updateOp) errDouble() *ApplyError { return op.errField("double update of the same field") }

func (op *updateOp) errNoSuchField() *ApplyError {
	if op.isPath {
		return boxError(box.ErrNoSuchFieldName, op.fieldStr())
	}
	n := op.fieldNo
	if n >= 0 {
		n++
	}
	return boxError(box.ErrNoSuchFieldNo, n)
}

func (op *updateOp) errBadJSON(pos int) *ApplyError {
	return op.errField("invalid JSON in position " + strconv.Itoa(pos))
}

func (op *updateOp) errSpliceBound() *ApplyError {
	return boxError(box.ErrUpdateSplice, op.fieldStr(), "offset is out of bound")
}

// fieldLookup resolves a field name of the space format.
type fieldLookup func(name string) (int, bool)

// decodeOps parses an operation list (a MsgPack array of arrays).
func decodeOps(raw any, indexBase int64, names fieldLookup) ([]updateOp, *ApplyError) {
	list, ok := raw.([]any)
	if !ok {
		return nil, boxError(box.ErrIllegalParams, "update operations must be an array {{op,..}, {op,..}}")
	}
	if len(list) > maxUpdateOps {
		return nil, boxError(box.ErrIllegalParams, "too many operations for update")
	}
	ops := make([]updateOp, len(list))
	for i, r := range list {
		if err := decodeOp(&ops[i], i+1, r, indexBase, names); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

func opArgCount(c byte) int {
	switch c {
	case '=', '!', '+', '-', '&', '|', '^', '#':
		return 3
	case ':':
		return 5
	}
	return 0
}

func readInt32(v any) (int32, bool) {
	switch x := v.(type) {
	case uint64:
		if x <= math.MaxInt32 {
			return int32(x), true
		}
	case int64:
		if x >= math.MinInt32 {
			return int32(x), true
		}
	}
	return 0, false
}

func decodeOp(op *updateOp, num int, raw any, indexBase int64, names fieldLookup) *ApplyError {
	op.num = num
	arr, ok := raw.([]any)
	if !ok {
		return boxError(box.ErrIllegalParams, "update operation must be an array {op,..}")
	}
	if len(arr) < 1 {
		return boxError(box.ErrIllegalParams, "update operation must be an array {op,..}, got empty array")
	}
	name, ok := arr[0].(string)
	if !ok {
		return boxError(box.ErrIllegalParams, "update operation name must be a string")
	}
	if len(name) != 1 || opArgCount(name[0]) == 0 {
		return errorf(box.ErrUnknownUpdateOp, "Unknown UPDATE operation #%d: %q", num, name)
	}
	op.opcode = name[0]
	if want := opArgCount(op.opcode); len(arr) != want {
		return errorf(box.ErrUnknownUpdateOp, "Unknown UPDATE operation #%d: wrong number of arguments, expected %d, got %d",
			num, want, len(arr))
	}
	switch f := arr[1].(type) {
	case uint64, int64:
		n, ok := readInt32(f)
		if !ok {
			return op.errArgType("an integer")
		}
		switch {
		case int64(n)-indexBase >= 0:
			op.fieldNo = int(int64(n) - indexBase)
		case n < 0:
			op.fieldNo = int(n)
		default:
			return boxError(box.ErrNoSuchFieldNo, n)
		}
	case string:
		op.isPath = true
		op.path = f
		if no, ok := names(f); ok {
			op.fieldNo = no
			break
		}
		l := &pathLexer{src: f}
		tok, ok, errPos := l.next()
		if errPos != 0 {
			return op.errBadJSON(errPos)
		}
		switch {
		case ok && tok.kind == tokNum:
			op.fieldNo = tok.num
		case ok && tok.kind == tokStr:
			no, found := names(tok.str)
			if !found {
				return boxError(box.ErrNoSuchFieldName, f)
			}
			op.fieldNo = no
		default:
			return boxError(box.ErrNoSuchFieldName, f)
		}
		op.rest, op.lexErr = lexRest(l)
	default:
		return boxError(box.ErrIllegalParams, "field id must be a number or a string")
	}
	return op.decodeArgs(arr[2:], indexBase)
}

func (op *updateOp) decodeArgs(args []any, indexBase int64) *ApplyError {
	switch op.opcode {
	case '=', '!':
		op.value = args[0]
	case '+', '-':
		switch args[0].(type) {
		case uint64, int64, float32, float64, Decimal:
			op.arith = args[0]
		default:
			return op.errArgType("a number")
		}
	case '&', '|', '^':
		v, ok := args[0].(uint64)
		if !ok {
			return op.errArgType("a positive integer")
		}
		op.bitVal = v
	case '#':
		v, ok := args[0].(uint64)
		if !ok {
			return op.errArgType("a positive integer")
		}
		op.delCount = uint32(v)
		if op.delCount == 0 {
			return op.errField("cannot delete 0 fields")
		}
	case ':':
		off, ok := readInt32(args[0])
		if !ok {
			return op.errArgType("an integer")
		}
		if off >= 0 {
			if int64(off)-indexBase < 0 {
				return op.errSpliceBound()
			}
			off = int32(int64(off) - indexBase)
		}
		op.offset = off
		cut, ok := readInt32(args[1])
		if !ok {
			return op.errArgType("an integer")
		}
		op.cut = cut
		s, ok := args[2].(string)
		if !ok {
			return op.errArgType("a string")
		}
		op.paste = s
	}
	return nil
}

// columnMask computes the set of top-level fields an operation list may
// change, the way Tarantool does while decoding operations: negative
// field numbers are resolved against a field count that only follows
// '!' and '#'. Bit 63 stands for all fields from 63 on. UPSERT relies on
// it to decide whether the primary key may have changed.
func columnMask(ops []updateOp, fieldCount int) uint64 {
	const full = ^uint64(0)
	var mask uint64
	hint := int64(fieldCount)
	for i := range ops {
		if mask == full {
			break
		}
		op := &ops[i]
		var opcode byte
		if len(op.rest) == 0 && op.lexErr == 0 {
			opcode = op.opcode
		}
		var no int64
		switch {
		case op.fieldNo >= 0:
			no = int64(op.fieldNo)
		case opcode != '!':
			no = hint + int64(op.fieldNo)
		default:
			no = hint + int64(op.fieldNo) + 1
		}
		if no < 0 {
			mask = full
			continue
		}
		switch opcode {
		case '!':
			hint++
		case '#':
			hint -= int64(int32(op.delCount))
		}
		if opcode == '!' || opcode == '#' {
			if no < 63 {
				mask |= full << uint(no)
			} else {
				mask |= 1 << 63
			}
		} else {
			mask |= fieldBit(int(no))
		}
	}
	return mask
}

func fieldBit(no int) uint64 {
	if no >= 63 {
		return 1 << 63
	}
	return 1 << uint(no)
}

// ukind is the kind of an update-tree node.
type ukind uint8

const (
	uScalar ukind = iota + 1 // a terminal operation was applied here
	uBar                     // a single operation with a path below this node
	uRoute                   // a common path prefix leading to a container
	uArray                   // an array with updated elements
	uMap                     // a map with updated keys
)

// unode mirrors Tarantool's update tree; nil means "not updated".
type unode struct {
	kind   ukind
	path   []pathToken // uBar: path below the node; uRoute: common prefix
	opcode byte        // uBar: the effective operation
	next   *unode      // uRoute: the container at the end of the prefix
	items  []*unode    // uArray: one entry per current array element
	keys   map[string]*unode
	// floatResult marks a top-level field set to a float by '+' or '-'.
	floatResult bool
}

// updater applies decoded operations to a tuple.
type updater struct {
	tuple []any
	root  *unode
}

func newUpdater(tuple []any) *updater {
	return &updater{
		tuple: cloneShallow(tuple),
		root:  &unode{kind: uArray, items: make([]*unode, len(tuple))},
	}
}

// result returns the updated tuple. Like Tarantool, which encodes the
// result of '+' and '-' when it stores the tuple, a float result landing
// in a top-level field of type double (after all insertions and
// deletions) is stored as a double.
func (u *updater) result(isDouble func(fieldNo int) bool) []any {
	for i, n := range u.root.items {
		if n == nil || !n.floatResult || i >= len(u.tuple) || !isDouble(i) {
			continue
		}
		if f, ok := u.tuple[i].(float32); ok {
			u.tuple[i] = float64(f)
		}
	}
	return u.tuple
}

// apply executes one operation. On error the tuple is unchanged.
func (u *updater) apply(op *updateOp) *ApplyError {
	var v any = u.tuple
	tok := pathToken{kind: tokNum, num: op.fieldNo}
	err := u.containerDo(u.root, &v, op, tok, op.rest, true)
	if err == nil {
		u.tuple = v.([]any)
	}
	return err
}

// own replaces a container value in *vp by a private shallow copy so it
// can be modified without affecting the original tuple.
func own(vp *any) {
	switch x := (*vp).(type) {
	case []any:
		*vp = cloneShallow(x)
	case Map:
		c := make(Map, len(x))
		copy(c, x)
		*vp = c
	}
}

// adjust turns a possibly negative position into an index in [0, size).
func adjust(no, size int) (int, bool) {
	if no >= 0 {
		return no, no < size
	}
	if no+size >= 0 {
		return no + size, true
	}
	return 0, false
}

func (u *updater) lexCheck(op *updateOp, rest []pathToken) *ApplyError {
	// A syntax error is reported when the path is followed up to it.
	if op.lexErr != 0 && len(rest) == 0 {
		return op.errBadJSON(op.lexErr)
	}
	return nil
}

// containerDo applies op to the child tok of a container (array or map)
// whose update node is c and whose private value is *cv.
func (u *updater) containerDo(c *unode, cv *any, op *updateOp, tok pathToken, rest []pathToken, top bool) *ApplyError {
	term := len(rest) == 0 && op.lexErr == 0
	if c.kind == uArray {
		arr, ok := (*cv).([]any)
		if !ok {
			return op.errNoSuchField()
		}
		if tok.kind != tokNum {
			return op.errField("can't update an array by a non-numeric index")
		}
		if !term {
			i, ok := adjust(tok.num, len(arr))
			if !ok {
				return op.errNoSuchField()
			}
			if err := u.lexCheck(op, rest); err != nil {
				return err
			}
			arr = cloneShallow(arr)
			own(&arr[i])
			if err := u.fieldDo(&c.items[i], &arr[i], op, rest); err != nil {
				return err
			}
			*cv = arr
			return nil
		}
		return u.arrayTerm(c, cv, arr, op, tok.num, top)
	}
	m, ok := (*cv).(Map)
	if !ok {
		return op.errNoSuchField()
	}
	if tok.kind != tokStr {
		return op.errField("can't update a map by not a string key")
	}
	idx := m.index(tok.str)
	if !term {
		if idx < 0 {
			return op.errNoSuchField()
		}
		if err := u.lexCheck(op, rest); err != nil {
			return err
		}
		m2 := make(Map, len(m))
		copy(m2, m)
		own(&m2[idx].Value)
		child := c.keys[tok.str]
		if err := u.fieldDo(&child, &m2[idx].Value, op, rest); err != nil {
			return err
		}
		c.keys[tok.str] = child
		*cv = m2
		return nil
	}
	return u.mapTerm(c, cv, m, idx, op, tok.str)
}

func (u *updater) arrayTerm(c *unode, cv *any, arr []any, op *updateOp, no int, top bool) *ApplyError {
	switch op.opcode {
	case '=':
		if no == len(arr) {
			return u.arrayInsert(c, cv, arr, op, no)
		}
		i, ok := adjust(no, len(arr))
		if !ok {
			return op.errNoSuchField()
		}
		arr = cloneShallow(arr)
		arr[i] = op.value
		c.items[i] = &unode{kind: uScalar}
		*cv = arr
		return nil
	case '!':
		return u.arrayInsert(c, cv, arr, op, no)
	case '#':
		i, ok := adjust(no, len(arr))
		if !ok {
			return op.errNoSuchField()
		}
		n := int(op.delCount)
		if uint64(i)+uint64(op.delCount) > uint64(len(arr)) {
			n = len(arr) - i
		}
		out := make([]any, 0, len(arr)-n)
		out = append(append(out, arr[:i]...), arr[i+n:]...)
		c.items = append(c.items[:i:i], c.items[i+n:]...)
		*cv = out
		return nil
	}
	i, ok := adjust(no, len(arr))
	if !ok {
		return op.errNoSuchField()
	}
	if c.items[i] != nil {
		return op.errDouble()
	}
	nv, err := u.scalarOp(op, arr[i])
	if err != nil {
		return err
	}
	arr = cloneShallow(arr)
	arr[i] = nv
	_, isFloat := nv.(float32)
	c.items[i] = &unode{kind: uScalar, floatResult: isFloat && top}
	*cv = arr
	return nil
}

func (u *updater) arrayInsert(c *unode, cv *any, arr []any, op *updateOp, no int) *ApplyError {
	i, ok := adjust(no, len(arr)+1)
	if !ok {
		return op.errNoSuchField()
	}
	out := make([]any, 0, len(arr)+1)
	out = append(append(append(out, arr[:i]...), op.value), arr[i:]...)
	items := make([]*unode, 0, len(c.items)+1)
	c.items = append(append(append(items, c.items[:i]...), nil), c.items[i:]...)
	*cv = out
	return nil
}

func (u *updater) mapTerm(c *unode, cv *any, m Map, idx int, op *updateOp, key string) *ApplyError {
	switch op.opcode {
	case '!', '=':
		if idx >= 0 {
			if op.opcode == '!' {
				return op.errField("the key exists already")
			}
			m2 := make(Map, len(m))
			copy(m2, m)
			m2[idx].Value = op.value
			c.keys[key] = &unode{kind: uScalar}
			*cv = m2
			return nil
		}
		m2 := make(Map, len(m), len(m)+1)
		copy(m2, m)
		*cv = append(m2, MapEntry{key, op.value})
		delete(c.keys, key)
		return nil
	case '#':
		if op.delCount != 1 {
			return op.errField("can delete only 1 field from a map in a row")
		}
		if idx < 0 {
			return nil
		}
		m2 := make(Map, 0, len(m)-1)
		*cv = append(append(m2, m[:idx]...), m[idx+1:]...)
		delete(c.keys, key)
		return nil
	}
	if idx < 0 {
		return op.errNoSuchField()
	}
	if c.keys[key] != nil {
		return op.errDouble()
	}
	nv, err := u.scalarOp(op, m[idx].Value)
	if err != nil {
		return err
	}
	m2 := make(Map, len(m))
	copy(m2, m)
	m2[idx].Value = nv
	c.keys[key] = &unode{kind: uScalar}
	*cv = m2
	return nil
}

// fieldDo applies a non-terminal operation (rest is not empty) to a field
// whose update node is *np and whose private value is *vp.
func (u *updater) fieldDo(np **unode, vp *any, op *updateOp, rest []pathToken) *ApplyError {
	n := *np
	if n == nil {
		return u.barDo(np, vp, op, rest)
	}
	switch n.kind {
	case uScalar:
		// Tarantool has no defined behaviour for a path below a field
		// already replaced by a terminal operation.
		return op.errDouble()
	case uArray, uMap:
		return u.containerDo(n, vp, op, rest[0], rest[1:], false)
	case uRoute:
		if hasPrefix(rest, n.path) {
			if len(rest) == len(n.path) {
				return op.errNoSuchField()
			}
			return u.followRoute(n, vp, op, rest)
		}
	}
	return u.branch(np, vp, op, rest)
}

func hasPrefix(p, prefix []pathToken) bool {
	if len(p) < len(prefix) {
		return false
	}
	for i := range prefix {
		if !p[i].equal(prefix[i]) {
			return false
		}
	}
	return true
}

// child returns a pointer to the element of container *vp selected by tok,
// after making the container private; nil if there is no such element.
func child(vp *any, tok pathToken) *any {
	switch x := (*vp).(type) {
	case []any:
		if tok.kind == tokNum && tok.num >= 0 && tok.num < len(x) {
			own(&x[tok.num])
			return &x[tok.num]
		}
	case Map:
		if tok.kind == tokStr {
			if i := x.index(tok.str); i >= 0 {
				own(&x[i].Value)
				return &x[i].Value
			}
		}
	}
	return nil
}

// walk descends along path from *vp (private), copying containers.
func walk(vp *any, path []pathToken) *any {
	cur := vp
	for _, t := range path {
		if cur = child(cur, t); cur == nil {
			return nil
		}
	}
	return cur
}

func (u *updater) followRoute(n *unode, vp *any, op *updateOp, rest []pathToken) *ApplyError {
	work := *vp
	own(&work)
	target := walk(&work, n.path)
	if target == nil {
		return op.errNoSuchField()
	}
	k := len(n.path)
	if err := u.containerDo(n.next, target, op, rest[k], rest[k+1:], false); err != nil {
		return err
	}
	*vp = work
	return nil
}

// barDo applies an operation with a path to a field not updated before.
func (u *updater) barDo(np **unode, vp *any, op *updateOp, rest []pathToken) *ApplyError {
	for _, t := range rest {
		if t.kind == tokAny {
			return op.errBadJSON(op.lexErr)
		}
	}
	if op.lexErr != 0 {
		return op.errBadJSON(op.lexErr)
	}
	work := *vp
	own(&work)
	parent := walk(&work, rest[:len(rest)-1])
	if parent == nil {
		return op.errNoSuchField()
	}
	last := rest[len(rest)-1]
	opcode := op.opcode
	switch p := (*parent).(type) {
	case []any:
		found := last.kind == tokNum && last.num < len(p)
		switch op.opcode {
		case '=', '!':
			if !found {
				if last.kind != tokNum {
					return op.errField("can not access by key a non-map field")
				}
				if last.num > len(p) {
					return op.errNoSuchField()
				}
				opcode = '!'
			}
			if opcode == '!' {
				out := make([]any, 0, len(p)+1)
				*parent = append(append(append(out, p[:last.num]...), op.value), p[last.num:]...)
			} else {
				p[last.num] = op.value
			}
		case '#':
			if !found {
				return op.errNoSuchField()
			}
			cnt := int(op.delCount)
			if uint64(last.num)+uint64(op.delCount) > uint64(len(p)) {
				cnt = len(p) - last.num
			}
			out := make([]any, 0, len(p)-cnt)
			*parent = append(append(out, p[:last.num]...), p[last.num+cnt:]...)
		default:
			if !found {
				return op.errNoSuchField()
			}
			nv, err := u.scalarOp(op, p[last.num])
			if err != nil {
				return err
			}
			p[last.num] = nv
		}
	case Map:
		idx := -1
		if last.kind == tokStr {
			idx = p.index(last.str)
		}
		switch op.opcode {
		case '=', '!':
			if idx < 0 {
				if last.kind != tokStr {
					return op.errField("can not access by index a non-array field")
				}
				opcode = '!'
				*parent = append(p, MapEntry{last.str, op.value})
			} else if op.opcode == '!' {
				return op.errField("the key exists already")
			} else {
				p[idx].Value = op.value
			}
		case '#':
			if idx < 0 {
				return op.errNoSuchField()
			}
			if op.delCount != 1 {
				return op.errField("can delete only 1 field from a map in a row")
			}
			out := make(Map, 0, len(p)-1)
			*parent = append(append(out, p[:idx]...), p[idx+1:]...)
		default:
			if idx < 0 {
				return op.errNoSuchField()
			}
			nv, err := u.scalarOp(op, p[idx].Value)
			if err != nil {
				return err
			}
			p[idx].Value = nv
		}
	default:
		if op.opcode == '=' || op.opcode == '!' {
			if last.kind == tokNum {
				return op.errField("can not access by index a non-array field")
			}
			return op.errField("can not access by key a non-map field")
		}
		return op.errNoSuchField()
	}
	*vp = work
	*np = &unode{kind: uBar, path: rest, opcode: opcode}
	return nil
}

// branch splits a bar or route node where the new operation's path
// departs from it and applies the operation in the created container.
func (u *updater) branch(np **unode, vp *any, op *updateOp, rest []pathToken) *ApplyError {
	old := *np
	oldPath := old.path
	for _, t := range rest {
		if t.kind == tokAny {
			return op.errBadJSON(op.lexErr)
		}
	}
	i := 0
	for i < len(oldPath) && i < len(rest) && oldPath[i].equal(rest[i]) {
		i++
	}
	switch {
	case i == len(oldPath) && i == len(rest):
		return op.errDouble()
	case i == len(oldPath):
		// The new path goes below the point of an existing single
		// operation; Tarantool has no defined behaviour here.
		return op.errDouble()
	}
	work := *vp
	own(&work)
	parent := walk(&work, rest[:i])
	if parent == nil {
		return op.errNoSuchField()
	}
	var cont *unode
	switch p := (*parent).(type) {
	case []any:
		if i == len(rest) || rest[i].kind != tokNum {
			return op.errField("can not update array by non-integer index")
		}
		cont = &unode{kind: uArray, items: make([]*unode, len(p))}
		if c := detachChild(old, i); c != nil {
			if idx := oldPath[i].num; idx < len(p) {
				cont.items[idx] = c
			}
		}
	case Map:
		if i == len(rest) || rest[i].kind != tokStr {
			return op.errField("can not update map by non-string key")
		}
		cont = &unode{kind: uMap, keys: make(map[string]*unode)}
		if c := detachChild(old, i); c != nil {
			cont.keys[oldPath[i].str] = c
		}
	default:
		return op.errNoSuchField()
	}
	if err := u.containerDo(cont, parent, op, rest[i], rest[i+1:], false); err != nil {
		return err
	}
	*vp = work
	if i == 0 {
		*np = cont
	} else {
		*np = &unode{kind: uRoute, path: rest[:i:i], next: cont}
	}
	return nil
}

// detachChild returns the subtree of old below its path token i, as it
// becomes a child of a new container at depth i.
func detachChild(old *unode, i int) *unode {
	below := old.path[i+1:]
	if old.kind == uRoute {
		if len(below) == 0 {
			return old.next
		}
		return &unode{kind: uRoute, path: below, next: old.next}
	}
	if len(below) > 0 {
		return &unode{kind: uBar, path: below, opcode: old.opcode}
	}
	if old.opcode == '!' || old.opcode == '#' {
		// Re-applied by Tarantool on the new container: the element is
		// left as a fresh, not updated one.
		return nil
	}
	return &unode{kind: uScalar}
}

// scalarOp computes the result of an arithmetic, bitwise or splice
// operation on the old value of a field.
func (u *updater) scalarOp(op *updateOp, old any) (any, *ApplyError) {
	switch op.opcode {
	case '+', '-':
		switch old.(type) {
		case uint64, int64, float32, float64, Decimal:
		default:
			return nil, op.errArgType("a number")
		}
		return arithmetic(op, old, op.arith)
	case '&', '|', '^':
		v, ok := old.(uint64)
		if !ok {
			return nil, op.errArgType("a positive integer")
		}
		switch op.opcode {
		case '&':
			return v & op.bitVal, nil
		case '|':
			return v | op.bitVal, nil
		}
		return v ^ op.bitVal, nil
	case ':':
		s, ok := old.(string)
		if !ok {
			return nil, op.errArgType("a string")
		}
		return splice(op, s)
	}
	return nil, op.errField("unexpected operation")
}

func splice(op *updateOp, s string) (any, *ApplyError) {
	n := int64(len(s))
	off := int64(op.offset)
	if off < 0 {
		if -off > n+1 {
			return nil, op.errSpliceBound()
		}
		off += n + 1
	} else if off > n {
		off = n
	}
	cut := int64(op.cut)
	if cut < 0 {
		if -cut > n-off {
			cut = 0
		} else {
			cut += n - off
		}
	} else if cut > n-off {
		cut = n - off
	}
	return s[:off] + op.paste + s[off+cut:], nil
}

// Arithmetic result classes, ordered as in Tarantool: the lowest class of
// the two operands decides how the operation is performed.
const (
	arDecimal = iota
	arDouble
	arFloat
	arInt
)

func arithClass(v any) int {
	switch v.(type) {
	case Decimal:
		return arDecimal
	case float64:
		return arDouble
	case float32:
		return arFloat
	}
	return arInt
}

func arithmetic(op *updateOp, a, b any) (any, *ApplyError) {
	cls := min(arithClass(a), arithClass(b))
	sub := op.opcode == '-'
	switch cls {
	case arInt:
		r, ok := addInts(a, b, sub)
		if !ok {
			return nil, boxError(box.ErrUpdateIntegerOverflow,
				op.opcode, op.fieldStr())
		}
		return r, nil
	case arDouble, arFloat:
		x, y := toFloat64(a), toFloat64(b)
		var c float64
		if sub {
			c = x - y
		} else {
			c = x + y
		}
		if c <= math.MaxFloat32 && c >= -math.MaxFloat32 {
			if f := float32(c); float64(f) == c {
				return f, nil
			}
		}
		return c, nil
	}
	x, ok1 := toDecimal(a)
	y, ok2 := toDecimal(b)
	if !ok1 || !ok2 {
		return nil, op.errArgType("a number convertible to decimal")
	}
	r, err := addDecimal(x, y, sub)
	if err != nil {
		return nil, boxError(box.ErrUpdateDecimalOverflow,
			op.opcode, op.fieldStr())
	}
	return r, nil
}

func toFloat64(v any) float64 {
	switch x := v.(type) {
	case uint64:
		return float64(x)
	case int64:
		return float64(x)
	case float32:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

func toDecimal(v any) (Decimal, bool) {
	switch x := v.(type) {
	case Decimal:
		return x, true
	case uint64:
		return DecimalFromUint64(x), true
	case int64:
		return DecimalFromInt64(x), true
	case float32:
		return DecimalFromFloat(float64(x))
	case float64:
		return DecimalFromFloat(x)
	}
	return Decimal{}, false
}

// signMag splits an integer into sign and magnitude.
func signMag(v any) (neg bool, mag uint64) {
	switch x := v.(type) {
	case uint64:
		return false, x
	case int64:
		if x < 0 {
			return true, uint64(-(x + 1)) + 1
		}
		return false, uint64(x)
	}
	return false, 0
}

// addInts computes a+b (or a-b) exactly; the result must lie in
// [-2^63, 2^64) as in Tarantool.
func addInts(a, b any, sub bool) (any, bool) {
	an, am := signMag(a)
	bn, bm := signMag(b)
	if sub {
		bn = !bn
		if bm == 0 {
			bn = false
		}
	}
	var neg bool
	var mag uint64
	if an == bn {
		s, carry := bits.Add64(am, bm, 0)
		if carry != 0 {
			return nil, false
		}
		neg, mag = an, s
	} else if am >= bm {
		neg, mag = an, am-bm
	} else {
		neg, mag = bn, bm-am
	}
	if !neg || mag == 0 {
		return mag, true
	}
	if mag > 1<<63 {
		return nil, false
	}
	return int64(-mag), true
}
