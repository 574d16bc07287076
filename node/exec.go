package node

import (
	"errors"
	"fmt"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/iproto"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/memtx"
)

// session is the state of one client connection.
type session struct {
	uid  uint32
	user string
}

func (n *Node) adminSession() *session { return &session{uid: box.UserAdmin, user: "admin"} }

func guestSession() *session { return &session{uid: box.UserGuest, user: "guest"} }

// sysviews map each system view to the space it shows.
var sysviews = map[uint32]uint32{277: 276, 281: 280, 286: 284, 289: 288, 297: 296, 305: 304, 313: 312}

// schemaSpaces are the system spaces whose changes bump schema_version.
var schemaSpaces = map[uint32]bool{276: true, 280: true, 284: true, 288: true, 296: true, 340: true}

func (n *Node) spaceName(sp *memtx.Space) string {
	if sp.Name != "" {
		return sp.Name
	}
	return fmt.Sprint(sp.ID)
}

// space finds a space the way requests name it.
func (n *Node) space(id uint32) (*memtx.Space, *box.Error) {
	sp := n.st.Space(id)
	if sp == nil || !sp.Defined {
		return nil, box.NewError(box.ErrNoSuchSpace, fmt.Sprint(id))
	}
	return sp, nil
}

// Select returns the tuples an IPROTO SELECT finds. The system views
// show their base spaces, filtered by what the user may see.
func (n *Node) Select(s *session, spaceID, indexID uint32, iter box.Iterator, key []any, offset, limit uint32) ([]memtx.Tuple, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	base := spaceID
	if b, ok := sysviews[spaceID]; ok {
		base = b
	}
	view, err := n.space(spaceID)
	if err != nil {
		return nil, err
	}
	if err := n.checkSpace(s, view, box.PrivRead); err != nil {
		return nil, err
	}
	sp, err := n.space(base)
	if err != nil {
		return nil, err
	}
	visible := n.viewFilter(s, spaceID)
	if visible == nil {
		return sp.Select(indexID, iter, key, offset, limit)
	}
	var out []memtx.Tuple
	ierr := sp.Iterate(indexID, iter, key, func(t memtx.Tuple) bool {
		if !visible(t) {
			return true
		}
		if offset > 0 {
			offset--
			return true
		}
		if uint32(len(out)) >= limit {
			return false
		}
		out = append(out, t.Clone())
		return true
	})
	return out, ierr
}

// viewFilter returns, for _vspace and _vindex read by a user without
// read or write on the universe, which rows the user may see: those of
// spaces it owns or has any privilege on, as Tarantool's system views.
func (n *Node) viewFilter(s *session, spaceID uint32) func(t memtx.Tuple) bool {
	if (spaceID != box.SpaceVSpace && spaceID != box.SpaceVIndex) || s.uid == box.UserAdmin {
		return nil
	}
	p := n.privileges(s.uid)
	if p["universe:0"]&(box.PrivRead|box.PrivWrite) != 0 {
		return nil
	}
	return func(t memtx.Tuple) bool {
		v, err := memtx.DecodeMsgpack(t.Field(0))
		if err != nil {
			return false
		}
		id, _ := v.(uint64)
		if p[fmt.Sprintf("space:%d", id)] != 0 {
			return true
		}
		sp := n.st.Space(uint32(id))
		return sp != nil && sp.Owner == s.uid
	}
}

// dmlResult is the outcome of a write: the tuple to return, the channel
// the WAL answers on and, for a transaction in the limbo, its wait there.
type dmlResult struct {
	tuple memtx.Tuple
	wait  <-chan error
	then  func() error
	n     *Node
}

// Wait blocks until the rows are in the WAL and, for a transaction in the
// limbo, until it is confirmed or rolled back.
func (r dmlResult) Wait() error {
	if r.wait == nil {
		return nil
	}
	return r.n.afterWAL(<-r.wait, r.then)
}

// afterWAL turns the outcome of a WAL write into the request's: a failed
// write breaks the node; a written transaction in the limbo waits there
// (then).
func (n *Node) afterWAL(err error, then func() error) error {
	if err != nil {
		n.markBroken(err)
		return boxErr(box.ErrWALIO, "Failed to write to disk: %v", err)
	}
	if then != nil {
		return then()
	}
	return nil
}

// Exec executes one DML request as an autocommit transaction: it checks
// access, applies the request to the state and queues its row to the WAL.
// body is the row body to log (nil: encoded from req).
func (n *Node) Exec(s *session, req memtx.Request, body []byte) (dmlResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.electionCheckWrite(req.SpaceID); err != nil {
		return dmlResult{}, err
	}
	return n.execLocked(s, req, body)
}

func (n *Node) execLocked(s *session, req memtx.Request, body []byte) (dmlResult, error) {
	var rows [1]walRow
	out := rows[:0]
	a, err := n.applyLocked(s, req, body, &out)
	if err != nil {
		return dmlResult{}, err
	}
	res := dmlResult{tuple: a.tuple, then: a.then, n: n}
	if len(out) > 0 {
		res.wait = n.wal.submit(out)
	}
	return res, nil
}

// applied is what applyLocked did: the tuple to return and, for a
// transaction in the limbo, its wait there after the WAL write.
type applied struct {
	tuple memtx.Tuple
	then  func() error
}

// applyLocked checks a request and applies it to the state; when its
// change goes to the WAL it appends the row, with the next LSN, to rows,
// which the caller submits before it lets go of n.mu (n.mu held).
func (n *Node) applyLocked(s *session, req memtx.Request, body []byte, rows *[]walRow) (applied, error) {
	if n.broken != nil {
		return applied{}, boxErr(box.ErrWALIO, "Failed to write to disk: %v", n.broken)
	}
	sp, err := n.space(req.SpaceID)
	if err != nil {
		return applied{}, err
	}
	if err := n.checkSpace(s, sp, box.PrivWrite); err != nil {
		return applied{}, err
	}
	if n.readOnly && !sp.Temporary {
		return applied{}, box.NewError(box.ErrReadonly)
	}
	if sp.Engine == "sysview" {
		return applied{}, box.NewError(box.ErrUnsupported, fmt.Sprintf("View '%s'", n.spaceName(sp)), req.Type)
	}
	if body == nil {
		b, encErr := encodeDMLBody(req)
		if encErr != nil {
			return applied{}, box.NewError(box.ErrInvalidMsgpack, encErr)
		}
		body = b
	}
	// The replaced tuple is the reply of a DELETE and undoes a
	// transaction waiting in the limbo; nothing else needs its copy.
	keepOld := req.Type == box.TypeDelete || (!sp.IsLocal && !sp.Temporary && n.limbo.Queued(sp.IsSync))
	ch, aerr := n.st.ExecuteKeep(req, keepOld)
	if aerr != nil {
		return applied{}, asBoxError(aerr)
	}
	var result memtx.Tuple
	switch req.Type {
	case box.TypeInsert, box.TypeReplace, box.TypeUpdate:
		result = ch.New
	case box.TypeDelete:
		result = ch.Old
	}
	if schemaSpaces[sp.ID] {
		n.schemaVersion.Add(1)
	}
	if sp.ID == box.SpaceUser || sp.ID == box.SpacePriv {
		n.privGen++
	}
	if sp.Temporary || (ch.Old == nil && ch.New == nil) {
		return applied{tuple: result}, nil
	}
	var w *waiter
	if !sp.IsLocal {
		var lerr *box.Error
		if w, lerr = n.enqueue(sp, ch, n.vclock.Get(n.id)+1); lerr != nil {
			n.undo(sp.ID, ch)
			return applied{}, lerr
		}
	}
	*rows = append(*rows, n.nextRow(req.Type, body, sp.IsLocal, n.syncFlags(w != nil, sp.IsSync)))
	a := applied{tuple: result}
	if w != nil {
		a.then = func() error { return n.awaitLimbo(w) }
	}
	return a, nil
}

// markBroken refuses every further write after a failed WAL write: the
// state holds changes the WAL does not (a restart recovers what is on
// disk).
func (n *Node) markBroken(err error) {
	if errors.Is(err, errWALClosed) {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.broken == nil {
		n.broken = err
		n.log.Errorf("WAL write failed, writes are refused until a restart: %v", err)
	}
}

// logRow assigns the next LSN to a one-row transaction and queues it.
func (n *Node) logRow(typ box.RowType, body []byte, local bool) <-chan error {
	return n.logRowFlags(typ, body, local, 0)
}

// logRowFlags is logRow with header flags (WAIT_SYNC, WAIT_ACK).
func (n *Node) logRowFlags(typ box.RowType, body []byte, local bool, flags uint64) <-chan error {
	return n.wal.submit([]walRow{n.nextRow(typ, body, local, flags)})
}

// nextRow makes the row of a one-row transaction with the next LSN
// (n.mu held; the row must reach the WAL before n.mu is let go).
func (n *Node) nextRow(typ box.RowType, body []byte, local bool, flags uint64) walRow {
	ts := n.rowTime
	if ts == 0 {
		ts = now()
	}
	return walRow{header: NextRow(&n.vclock, n.id, typ, local, flags, ts), body: body}
}

// NextRow returns the header of a one-row transaction that instance id
// writes next and advances vclock to it: a local row (group local,
// component 0) or one of its own component.
func NextRow(vclock *format.VClock, id uint32, typ box.RowType, local bool, flags uint64, ts float64) format.Header {
	h := format.Header{Type: typ, Timestamp: ts, Commit: true, Flags: flags}
	if local {
		h.GroupID = box.GroupLocal
	} else {
		h.ReplicaID = id
	}
	h.LSN = vclock.Get(h.ReplicaID) + 1
	vclock.Set(h.ReplicaID, h.LSN)
	h.TSN = h.LSN
	return h
}

// encodeDMLBody encodes a request as Tarantool logs it: space id, index
// id (when not 0), index base (when not 0), key, tuple or operations.
func encodeDMLBody(req memtx.Request) ([]byte, error) {
	enc := func(v []any) []byte {
		b, err := memtx.EncodeMsgpack(v)
		if err != nil {
			return nil
		}
		return b
	}
	raw := memtx.RawRequest{Type: req.Type, SpaceID: req.SpaceID, IndexID: req.IndexID, IndexBase: req.IndexBase}
	switch req.Type {
	case box.TypeInsert, box.TypeReplace:
		raw.Tuple = enc(req.Tuple)
	case box.TypeDelete:
		raw.Key = enc(req.Key)
	case box.TypeUpdate:
		raw.Key, raw.Tuple = enc(req.Key), enc(req.Ops)
	case box.TypeUpsert:
		raw.Tuple, raw.Ops = enc(req.Tuple), enc(req.Ops)
	}
	return appendRawDMLBody(nil, raw), nil
}

// appendRawDMLBody encodes a DML body from raw values in Tarantool's key
// order.
func appendRawDMLBody(b []byte, r memtx.RawRequest) []byte {
	n := 1
	for _, c := range []bool{r.IndexID != 0, r.IndexBase != 0, r.Key != nil, r.Tuple != nil, r.Ops != nil} {
		if c {
			n++
		}
	}
	b = append(b, 0x80|byte(n), box.KeySpaceID)
	b = format.AppendUint(b, uint64(r.SpaceID))
	if r.IndexID != 0 {
		b = append(b, box.KeyIndexID)
		b = format.AppendUint(b, uint64(r.IndexID))
	}
	if r.IndexBase != 0 {
		b = append(b, box.KeyIndexBase)
		b = format.AppendUint(b, uint64(r.IndexBase))
	}
	if r.Key != nil {
		b = append(append(b, box.KeyKey), r.Key...)
	}
	if r.Tuple != nil {
		b = append(append(b, box.KeyTuple), r.Tuple...)
	}
	if r.Ops != nil {
		b = append(append(b, box.KeyOps), r.Ops...)
	}
	return b
}

// ---- users and privileges ----

// userByName returns the _user tuple of a user or role.
func (n *Node) userByName(name string) []any {
	sp := n.st.Space(304)
	if sp == nil {
		return nil
	}
	ts, err := sp.Select(2, box.IterEq, []any{name}, 0, 1)
	if err != nil || len(ts) == 0 {
		return nil
	}
	return ts[0].Decode()
}

func (n *Node) userName(uid uint32) string {
	if sp := n.st.Space(304); sp != nil {
		if t := sp.Get([]any{uint64(uid)}); len(t) > 2 {
			s, _ := t[2].(string)
			return s
		}
	}
	return fmt.Sprint(uid)
}

// privileges returns the privileges of uid on every object, its roles'
// included: key "type:id" ("universe:0", "space:512", ...).
func (n *Node) privileges(uid uint32) map[string]uint32 {
	if n.privCache != nil && n.privCacheGen == n.privGen {
		if p, ok := n.privCache[uid]; ok {
			return p
		}
	} else {
		n.privCache, n.privCacheGen = map[uint32]map[string]uint32{}, n.privGen
	}
	out := map[string]uint32{}
	sp := n.st.Space(312)
	seen := map[uint32]bool{}
	var visit func(g uint32)
	visit = func(g uint32) {
		if seen[g] {
			return
		}
		seen[g] = true
		if sp == nil {
			return
		}
		sp.Ascend(func(t []any) bool {
			if len(t) < 5 {
				return true
			}
			grantee, _ := t[1].(uint64)
			if uint32(grantee) != g {
				return true
			}
			typ, _ := t[2].(string)
			id, _ := t[3].(uint64)
			bits, _ := t[4].(uint64)
			out[fmt.Sprintf("%s:%d", typ, id)] |= uint32(bits)
			if typ == "role" && bits&box.PrivExecute != 0 {
				visit(uint32(id))
			}
			return true
		})
	}
	visit(uid)
	n.privCache[uid] = out
	return out
}

var privNames = map[uint32]string{box.PrivRead: "Read", box.PrivWrite: "Write", box.PrivExecute: "Execute",
	box.PrivSession: "Session", box.PrivUsage: "Usage", box.PrivCreate: "Create", box.PrivDrop: "Drop", box.PrivAlter: "Alter"}

// checkSpace checks that the session may access a space.
func (n *Node) checkSpace(s *session, sp *memtx.Space, want uint32) *box.Error {
	if s.uid == box.UserAdmin {
		return nil
	}
	p := n.privileges(s.uid)
	if p["universe:0"]&want == want || sp.Owner == s.uid {
		return nil
	}
	if p[fmt.Sprintf("space:%d", sp.ID)]&want == want {
		return nil
	}
	return box.NewError(box.ErrAccessDenied, privNames[want], "space", n.spaceName(sp), s.user)
}

// checkUniverse checks a privilege on the universe.
func (n *Node) checkUniverse(s *session, want uint32) *box.Error {
	if s.uid == box.UserAdmin || n.privileges(s.uid)["universe:0"]&want == want {
		return nil
	}
	return box.NewError(box.ErrAccessDenied, privNames[want], "universe", "", s.user)
}

// Authenticate checks a chap-sha1 scramble against _user and returns the
// session of the user.
func (n *Node) Authenticate(user string, salt, scramble []byte, hasScramble bool) (*session, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.userByName(user)
	if t == nil || len(t) < 5 || t[3] != "user" {
		return nil, box.NewError(box.ErrNoSuchUser, user)
	}
	uid64, _ := t[0].(uint64)
	s := &session{uid: uint32(uid64), user: user}
	if err := n.checkUniverse(s, box.PrivSession); err != nil {
		return nil, err
	}
	stored := ""
	if m, ok := t[4].(memtx.Map); ok {
		if v, ok := m.Get("chap-sha1"); ok {
			stored, _ = v.(string)
		}
	}
	if user == "guest" && !hasScramble {
		return s, nil
	}
	if stored == "" || !iproto.CheckScramble(salt, scramble, stored) {
		return nil, box.NewError(box.ErrPasswordMismatch, user)
	}
	return s, nil
}
