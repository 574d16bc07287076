package node

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"sort"
	"time"

	"github.com/xlogtool/xlogtool/box"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/memtx"
)

// session is the state of one client connection.
type session struct {
	uid  uint32
	user string
}

func (n *Node) adminSession() *session { return &session{uid: UserAdmin, user: "admin"} }

func guestSession() *session { return &session{uid: UserGuest, user: "guest"} }

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
		return nil, boxErr(box.ErrNoSuchSpace, "Space '%d' does not exist", id)
	}
	return sp, nil
}

// Select returns the tuples an IPROTO SELECT finds.
func (n *Node) Select(s *session, spaceID, indexID uint32, iter box.Iterator, key []any, offset, limit uint32) (out [][]any, _ error) {
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
	if err := n.checkSpace(s, view, PrivRead); err != nil {
		return nil, err
	}
	sp, err := n.space(base)
	if err != nil {
		return nil, err
	}
	ix := sp.Index(indexID)
	if ix == nil {
		return nil, boxErr(box.ErrNoSuchIndexID, "No index #%d is defined in space '%s'", indexID, n.spaceName(view))
	}
	if len(key) > len(ix.Parts) {
		return nil, boxErr(box.ErrKeyPartCount, "Invalid key part count (expected [0..%d], got %d)", len(ix.Parts), len(key))
	}
	if iter > box.IterGt {
		return nil, boxErr(box.ErrUnsupportedIndexFeature, "Index '%s' (%s) of space '%s' (memtx) does not support requested iterator type",
			ix.Name, upperASCII(ix.Type), n.spaceName(view))
	}
	if visible := n.viewFilter(s, spaceID); visible != nil {
		defer func() {
			kept := out[:0]
			for _, t := range out {
				if visible(t) {
					kept = append(kept, t)
				}
			}
			out = kept
		}()
	}
	if indexID == 0 || ix.Unique {
		if (iter == box.IterEq || iter == box.IterReq) && len(key) == len(ix.Parts) {
			if t, ok := sp.Lookup(indexID, key); ok && offset == 0 && limit > 0 {
				out = append(out, t)
			}
			return out, nil
		}
	}
	all := make([][]any, 0, sp.Len())
	sp.Ascend(func(t []any) bool {
		all = append(all, t)
		return true
	})
	if indexID != 0 {
		pk := sp.Index(0)
		sort.SliceStable(all, func(i, j int) bool {
			if c := ix.CompareKeys(all[i], all[j]); c != 0 {
				return c < 0
			}
			return pk.CompareKeys(all[i], all[j]) < 0
		})
	}
	reverse := iter == box.IterReq || iter == box.IterLt || iter == box.IterLe
	if reverse {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	skip := offset
	for _, t := range all {
		if uint32(len(out)) >= limit {
			break
		}
		if len(key) > 0 {
			c := ix.CompareKey(t, key)
			ok := false
			switch iter {
			case box.IterEq, box.IterReq:
				ok = c == 0
			case box.IterAll:
				ok = true
			case box.IterGe:
				ok = c >= 0
			case box.IterGt:
				ok = c > 0
			case box.IterLe:
				ok = c <= 0
			case box.IterLt:
				ok = c < 0
			}
			if !ok {
				if iter == box.IterEq || iter == box.IterReq {
					// Sorted: a match may still come.
					continue
				}
				continue
			}
		}
		if skip > 0 {
			skip--
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

// viewFilter returns, for _vspace and _vindex read by a user without
// read or write on the universe, which rows the user may see: those of
// spaces it owns or has any privilege on, as Tarantool's system views.
func (n *Node) viewFilter(s *session, spaceID uint32) func(t []any) bool {
	if (spaceID != 281 && spaceID != 289) || s.uid == UserAdmin {
		return nil
	}
	p := n.privileges(s.uid)
	if p["universe:0"]&(PrivRead|PrivWrite) != 0 {
		return nil
	}
	return func(t []any) bool {
		if len(t) < 2 {
			return false
		}
		id, _ := t[0].(uint64)
		if p[fmt.Sprintf("space:%d", id)] != 0 {
			return true
		}
		if sp := n.st.Space(uint32(id)); sp != nil && sp.Owner == s.uid {
			return true
		}
		return false
	}
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// dmlResult is the outcome of a write: the tuple to return and the
// channel the WAL answers on.
type dmlResult struct {
	tuple []any
	wait  <-chan error
}

// Wait blocks until the rows are in the WAL.
func (r dmlResult) Wait() error {
	if r.wait == nil {
		return nil
	}
	if err := <-r.wait; err != nil {
		return boxErr(box.ErrWALIO, "Failed to write to disk: %v", err)
	}
	return nil
}

// Exec executes one DML request as an autocommit transaction: it checks
// access, applies the request to the state and queues its row to the WAL.
// body is the row body to log (nil: encoded from req).
func (n *Node) Exec(s *session, req memtx.Request, body []byte) (dmlResult, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.execLocked(s, req, body)
}

func (n *Node) execLocked(s *session, req memtx.Request, body []byte) (dmlResult, error) {
	if n.broken != nil {
		return dmlResult{}, boxErr(box.ErrWALIO, "Failed to write to disk: %v", n.broken)
	}
	sp, err := n.space(req.SpaceID)
	if err != nil {
		return dmlResult{}, err
	}
	if err := n.checkSpace(s, sp, PrivWrite); err != nil {
		return dmlResult{}, err
	}
	if n.readOnly && !sp.Temporary {
		return dmlResult{}, boxErr(box.ErrReadonly, "Can't modify data because this instance is in read-only mode.")
	}
	if sp.Engine == "sysview" {
		return dmlResult{}, boxErr(box.ErrUnsupported, "View '%s' does not support %s", n.spaceName(sp), req.Type)
	}
	var old []any
	if req.Type == box.TypeUpdate || req.Type == box.TypeDelete {
		ix := sp.Index(req.IndexID)
		if ix == nil {
			return dmlResult{}, boxErr(box.ErrNoSuchIndexID, "No index #%d is defined in space '%s'", req.IndexID, n.spaceName(sp))
		}
		key, kerr := normalizeArray(req.Key)
		if kerr != nil {
			return dmlResult{}, kerr
		}
		if len(key) == len(ix.Parts) {
			old, _ = sp.Lookup(req.IndexID, key)
		}
	}
	var grow int64
	if req.Tuple != nil && req.Type != box.TypeUpdate {
		grow = tupleSize(req.Tuple)
	} else if old != nil && req.Type == box.TypeUpdate {
		grow = tupleSize(old)
	}
	if !box.IsSystemSpace(sp.ID) && n.cfg.MemtxMemory > 0 && grow > 0 && n.memUsed+grow > n.cfg.MemtxMemory {
		return dmlResult{}, boxErr(box.ErrMemoryIssue, "Failed to allocate %d bytes in slab allocator for memtx_tuple", grow)
	}
	if body == nil {
		b, encErr := encodeDMLBody(req)
		if encErr != nil {
			return dmlResult{}, boxErr(box.ErrInvalidMsgpack, "Invalid MsgPack - %v", encErr)
		}
		body = b
	}
	if err := n.st.Apply(req); err != nil {
		return dmlResult{}, asBoxError(err)
	}
	var result []any
	pk := sp.Index(0)
	switch req.Type {
	case box.TypeInsert, box.TypeReplace:
		if pk != nil {
			t, _ := normalizeArray(req.Tuple)
			result, _ = sp.Lookup(0, pk.KeyOf(t))
			if !box.IsSystemSpace(sp.ID) {
				n.memUsed += tupleSize(result)
				// A replaced tuple is freed (approximately: same size).
			}
		}
	case box.TypeUpdate:
		if old != nil && pk != nil {
			result, _ = sp.Lookup(0, pk.KeyOf(old))
		}
	case box.TypeDelete:
		result = old
		if old != nil && !box.IsSystemSpace(sp.ID) {
			n.memUsed -= tupleSize(old)
		}
	}
	if schemaSpaces[sp.ID] {
		n.schemaVersion++
	}
	if sp.ID == 304 || sp.ID == 312 {
		n.privGen++
	}
	if sp.Temporary {
		return dmlResult{tuple: result}, nil
	}
	return dmlResult{tuple: result, wait: n.logRow(req.Type, body, sp.IsLocal)}, nil
}

// logRow assigns the next LSN to a one-row transaction and queues it.
func (n *Node) logRow(typ box.RowType, body []byte, local bool) <-chan error {
	h := format.Header{Type: typ, Timestamp: float64(time.Now().UnixNano()) / 1e9, Commit: true}
	if local {
		h.GroupID = box.GroupLocal
		h.LSN = n.vclock.Get(0) + 1
		n.vclock.Set(0, h.LSN)
	} else {
		h.ReplicaID = n.id
		h.LSN = n.vclock.Get(n.id) + 1
		n.vclock.Set(n.id, h.LSN)
	}
	h.TSN = h.LSN
	return n.wal.submit([]walRow{{header: h, body: body}})
}

func normalizeArray(v []any) ([]any, *box.Error) {
	if v == nil {
		return []any{}, nil
	}
	out, err := memtx.Normalize(v)
	if err != nil {
		return nil, boxErr(box.ErrInvalidMsgpack, "Invalid MsgPack - %v", err)
	}
	a, _ := out.([]any)
	return a, nil
}

// tupleSize approximates the memory a tuple takes in memtx: its MsgPack
// size plus the tuple header.
func tupleSize(t []any) int64 {
	b, err := memtx.EncodeMsgpack(t)
	if err != nil {
		return 64
	}
	return int64(len(b)) + 16
}

// encodeDMLBody encodes a request as Tarantool logs it: space id, index
// id (when not 0), index base (when not 0), key, tuple or operations.
func encodeDMLBody(req memtx.Request) ([]byte, error) {
	type kv struct {
		k byte
		v any
	}
	var items []kv
	items = append(items, kv{0x10, uint64(req.SpaceID)})
	if req.IndexID != 0 {
		items = append(items, kv{0x11, uint64(req.IndexID)})
	}
	if req.IndexBase != 0 {
		items = append(items, kv{0x15, uint64(req.IndexBase)})
	}
	switch req.Type {
	case box.TypeInsert, box.TypeReplace:
		items = append(items, kv{0x21, req.Tuple})
	case box.TypeDelete:
		items = append(items, kv{0x20, req.Key})
	case box.TypeUpdate:
		items = append(items, kv{0x20, req.Key}, kv{0x21, req.Ops})
	case box.TypeUpsert:
		items = append(items, kv{0x21, req.Tuple}, kv{0x28, req.Ops})
	}
	b := []byte{0x80 | byte(len(items))}
	for _, it := range items {
		b = append(b, it.k)
		vb, err := memtx.EncodeMsgpack(it.v)
		if err != nil {
			return nil, err
		}
		b = append(b, vb...)
	}
	return b, nil
}

// ---- users and privileges ----

// userByName returns the _user tuple of a user or role.
func (n *Node) userByName(name string) []any {
	sp := n.st.Space(304)
	if sp == nil {
		return nil
	}
	t, _ := sp.Lookup(2, []any{name})
	return t
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
			if typ == "role" && bits&PrivExecute != 0 {
				visit(uint32(id))
			}
			return true
		})
	}
	visit(uid)
	n.privCache[uid] = out
	return out
}

var privNames = map[uint32]string{PrivRead: "Read", PrivWrite: "Write", PrivExecute: "Execute",
	PrivSession: "Session", PrivUsage: "Usage", PrivCreate: "Create", PrivDrop: "Drop", PrivAlter: "Alter"}

// checkSpace checks that the session may access a space.
func (n *Node) checkSpace(s *session, sp *memtx.Space, want uint32) *box.Error {
	if s.uid == UserAdmin {
		return nil
	}
	p := n.privileges(s.uid)
	if p["universe:0"]&want == want || sp.Owner == s.uid {
		return nil
	}
	if p[fmt.Sprintf("space:%d", sp.ID)]&want == want {
		return nil
	}
	return boxErr(box.ErrAccessDenied, "%s access to space '%s' is denied for user '%s'", privNames[want], n.spaceName(sp), s.user)
}

// checkUniverse checks a privilege on the universe.
func (n *Node) checkUniverse(s *session, want uint32) *box.Error {
	if s.uid == UserAdmin || n.privileges(s.uid)["universe:0"]&want == want {
		return nil
	}
	return boxErr(box.ErrAccessDenied, "%s access to universe '' is denied for user '%s'", privNames[want], s.user)
}

// Authenticate checks a chap-sha1 scramble against _user and returns the
// session of the user.
func (n *Node) Authenticate(user string, salt, scramble []byte, hasScramble bool) (*session, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.userByName(user)
	if t == nil || len(t) < 5 || t[3] != "user" {
		return nil, boxErr(box.ErrNoSuchUser, "User '%s' is not found", user)
	}
	uid64, _ := t[0].(uint64)
	s := &session{uid: uint32(uid64), user: user}
	if err := n.checkUniverse(s, PrivSession); err != nil {
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
	if stored == "" || !checkScramble(stored, salt, scramble) {
		return nil, boxErr(box.ErrPasswordMismatch, "Incorrect password supplied for user '%s'", user)
	}
	return s, nil
}

// checkScramble verifies a chap-sha1 scramble: stored is base64 of
// SHA1(SHA1(password)).
func checkScramble(stored string, salt, scramble []byte) bool {
	h2, err := base64.StdEncoding.DecodeString(stored)
	if err != nil || len(h2) != sha1.Size || len(scramble) != sha1.Size || len(salt) < 20 {
		return false
	}
	d := sha1.New()
	d.Write(salt[:20])
	d.Write(h2)
	h3 := d.Sum(nil)
	h1 := make([]byte, sha1.Size)
	for i := range h1 {
		h1[i] = scramble[i] ^ h3[i]
	}
	got := sha1.Sum(h1)
	return string(got[:]) == string(h2)
}

// passwordHash is the stored form of a password.
func passwordHash(password string) string {
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	return base64.StdEncoding.EncodeToString(h2[:])
}
