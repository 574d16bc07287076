package node

import (
	"bufio"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"

	"github.com/xlogtool/xlogtool/memtx"
)

// maxBatch bounds the requests of a connection executed together, and
// maxPending (about) those executed before their replies are written.
const (
	maxBatch   = 64
	maxPending = 1024
)

// server accepts IPROTO connections.
type server struct {
	n     *Node
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Listen starts serving IPROTO on addr; Addr tells the address bound.
func (n *Node) Listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	n.srv = &server{n: n, ln: ln, conns: map[net.Conn]struct{}{}}
	n.log.fiberf("iproto/101/main", "binary: bound to %s", ln.Addr())
	n.srv.wg.Add(1)
	go n.srv.acceptLoop()
	n.wg.Add(1)
	go n.checkpointLoop()
	return nil
}

// Addr returns the address the server listens on.
func (n *Node) Addr() string {
	if n.srv == nil {
		return ""
	}
	return n.srv.ln.Addr().String()
}

func (s *server) acceptLoop() {
	defer s.wg.Done()
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: wait and go on.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay < time.Second {
				delay *= 2
			}
			s.n.log.Warnf("accept: %v", err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (s *server) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// reply is the answer handle gives to one request: ready, or a write
// whose outcome is encoded once the WAL (and the limbo) decided.
type reply struct {
	sync uint64
	pkt  []byte          // ready
	dml  *dmlResult      // or: wait for the WAL, then encode
	data func() [][]byte // the tuples of a DML reply
}

func (s *server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	n := s.n
	salt := make([]byte, 32)
	rand.Read(salt)
	g, err := iproto.EncodeGreeting(iproto.Greeting{Version: box.VersionOf(n.cfg.Version), InstanceUUID: n.uuid, Salt: salt})
	if err != nil {
		n.log.Errorf("greeting: %v", err)
		return
	}
	if _, err := c.Write(g); err != nil {
		return
	}
	s.serveRequests(c, salt)
}

// serveRequests serves a connection on its one goroutine, as
// Tarantool's tx thread does with what its network thread read: every
// request that has arrived whole is executed (in batches) before the
// replies are written; the connection is read again once they are.
func (s *server) serveRequests(c net.Conn, salt []byte) {
	n := s.n
	r := &replier{n: n, c: c}
	sess := guestSession()
	br := bufio.NewReaderSize(c, 16<<10) // Tarantool reads ahead 16 KiB
	var pending []*batch
	var free []*batch
	answer := func() {
		for i, b := range pending {
			if r.async == nil && b.waitsInLimbo() {
				// The requests after it go on being executed while it
				// waits: its reply and the ones after it are written
				// by a second goroutine from now on.
				r.goAsync()
			}
			if r.async != nil {
				r.async <- b
				continue
			}
			r.answer(b)
			free = append(free, b)
			pending[i] = nil
		}
		pending = pending[:0]
		if r.async == nil {
			r.flush()
		}
	}
	defer func() {
		answer()
		r.stopAsync()
	}()
	var call []byte // a CALL read after a batch, to start the next one
	for {
		if len(pending) > 0 && (!iproto.PacketBuffered(br) || len(pending)*maxBatch >= maxPending) {
			answer()
		}
		var b *batch
		if k := len(free); k > 0 {
			b, free = free[k-1], free[:k-1]
		} else {
			select {
			case b = <-r.free:
			default:
				b = &batch{}
			}
		}
		var rerr error
		var repl []byte // a replication request ends the batch
		repl, call, rerr = readBatch(br, b, call)
		if call != nil && rerr == nil && repl == nil {
			// A CALL may take long (box.snapshot()): the replies
			// before it go out first.
			n.execBatch(b, salt, &sess)
			pending = append(pending, b)
			answer()
			continue
		}
		if len(b.items) > 0 {
			n.execBatch(b, salt, &sess)
			pending = append(pending, b)
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) && !errors.Is(rerr, net.ErrClosed) {
				n.log.Warnf("%s: %v", c.RemoteAddr(), rerr)
			}
			return
		}
		if repl != nil {
			answer()
			r.stopAsync()
			if !n.serveReplication(c, br, repl, sess) {
				return
			}
		}
	}
}

// readBatch reads into b every request that has arrived whole (at least
// one, waiting for it; at most maxBatch), beginning with first when it is
// not nil, up to a replication request, which it returns instead, or a
// CALL after other requests, which it returns (a copy) to begin the next
// batch. The packets are read into the batch's buffer while it has room;
// they are kept until the batch is answered (a DML reply may be the
// request's tuple).
func readBatch(br *bufio.Reader, b *batch, first []byte) (repl, call []byte, err error) {
	in := b.in[:0]
	short := false
	for len(b.items) < maxBatch && (len(b.items) == 0 || iproto.PacketBuffered(br)) {
		pkt := first
		if first != nil {
			first = nil
		} else {
			p, rerr := iproto.ReadPacket(br, in[len(in):cap(in)])
			if rerr != nil {
				err = rerr
				break
			}
			if len(p) <= cap(in)-len(in) {
				in = in[:len(in)+len(p)]
			} else {
				short = true
			}
			pkt = p
		}
		it := batchItem{pkt: pkt}
		var row format.Row
		if iproto.DecodePacket(pkt, &row) != nil {
			it.kind = itemSlow // handle answers what does not decode
		} else if isReplicationRequest(row.Type) {
			repl = pkt
			break
		} else if (row.Type == box.TypeCall || row.Type == box.TypeCall16) && len(b.items) > 0 {
			call = append([]byte(nil), pkt...)
			break
		} else if isDML(row.Type) {
			it.kind, it.typ, it.body = itemDML, row.Type, row.Body
			it.sync, it.schema = row.Sync, row.SchemaVersion
		} else {
			it.kind = itemSlow
		}
		b.items = append(b.items, it)
	}
	b.in = in
	if short && cap(in) < 64<<10 {
		// The packets did not fit: a bigger buffer for the next time.
		b.next = max(4<<10, 2*cap(in))
	}
	return repl, call, err
}

// batch is the requests of a connection that arrived together. Runs of
// DML requests are executed in one hold of n.mu and their rows go to the
// WAL as one entry; the replies are written with one write once the WAL
// wrote the rows, in request order.
type batch struct {
	in     []byte // the packets
	next   int    // when set, the size in gets for the next batch
	items  []batchItem
	groups []walGroup // the WAL entries of the batch
	pre    []byte     // replies encoded at execution
	body   []byte     // the row bodies of the entries
}

// walGroup is one WAL entry of a batch and, once waited for, the
// outcome of its write.
type walGroup struct {
	e      *walEntry
	err    error
	waited bool
}

type itemKind uint8

const (
	itemReady itemKind = iota // a reply in batch.pre
	itemDML                   // a write of the batch: wait for its group
	itemSlow                  // a request handled on its own (reply)
)

// batchItem is one request of a batch and, after execution, its reply.
type batchItem struct {
	pkt  []byte
	kind itemKind
	sync uint64
	// itemDML, as read: the request's type and body.
	typ  box.RowType
	body []byte
	// itemDML, decoded: the request, its header's schema version and
	// its row body in batch.body[start:end], or why it does not decode.
	req    memtx.Request
	schema uint64
	err    error
	// start, end: itemReady, the reply in batch.pre.
	start, end int
	group      int // itemDML: the index of its group, -1: nothing logged
	tuple      memtx.Tuple
	then       func() error
	rep        reply // itemSlow
}

// readyErr encodes an error reply at execution.
func (b *batch) readyErr(it *batchItem, sv uint64, err error) {
	it.kind, it.start = itemReady, len(b.pre)
	b.pre = iproto.AppendError(b.pre, it.sync, sv, iproto.ErrorOf(asBoxError(err)))
	it.end = len(b.pre)
}

// group returns the batch's entry rows of the run being executed go to.
func (b *batch) group() (*walEntry, int) {
	i := len(b.groups)
	if i < cap(b.groups) {
		b.groups = b.groups[:i+1]
		if g := &b.groups[i]; g.e != nil {
			g.err, g.waited = nil, false
			return g.e, i
		}
	} else {
		b.groups = append(b.groups, walGroup{})
	}
	b.groups[i] = walGroup{e: &walEntry{done: make(chan error, 1)}}
	return b.groups[i].e, i
}

// waitsInLimbo tells whether a reply of the batch waits for the limbo.
func (b *batch) waitsInLimbo() bool {
	for i := range b.items {
		if b.items[i].then != nil {
			return true
		}
	}
	return false
}

// recycle makes a written batch ready for reuse; bytes a relay got are
// left to it.
func (b *batch) recycle() {
	shared := false
	for i := range b.groups {
		e := b.groups[i].e
		if e.shared {
			shared = true
			e.rows, e.shared = nil, false
		}
		e.rows, e.ends = e.rows[:0], e.ends[:0]
	}
	if shared {
		b.body = nil
	}
	if b.next > 0 {
		b.in, b.next = make([]byte, 0, b.next), 0
	}
	for i := range b.items {
		b.items[i] = batchItem{}
	}
	b.items, b.groups, b.pre, b.body = b.items[:0], b.groups[:0], b.pre[:0], b.body[:0]
}

// execBatch executes the requests of a batch in order. DML requests are
// decoded first; each run of them is applied under one hold of n.mu, and
// its rows are submitted to the WAL as one entry before n.mu is let go.
// Other requests are handled one by one as they come.
func (n *Node) execBatch(b *batch, salt []byte, sessp **session) {
	for i := range b.items {
		it := &b.items[i]
		if it.kind == itemSlow {
			it.pkt = append([]byte(nil), it.pkt...)
			continue
		}
		raw, err := decodeDML(it.typ, it.body)
		if err == nil {
			// The tuple stays in the batch's packet buffer until the
			// batch is answered.
			it.req, err = raw.DecodeShared()
		}
		if err != nil {
			it.err = err
			continue
		}
		start := len(b.body)
		b.body = appendRawDMLBody(b.body, raw)
		it.start, it.end = start, len(b.body)
	}
	var (
		e      *walEntry
		gi     int
		locked bool
	)
	unlock := func() {
		if !locked {
			return
		}
		queued := false
		if len(e.rows) > 0 {
			queued = n.wal.queue(e)
		} else {
			b.groups = b.groups[:gi] // nothing logged: no entry
		}
		e, locked = nil, false
		n.rowTime = 0
		n.mu.Unlock()
		if queued {
			// Out of the lock: the write, when this goroutine does it,
			// holds up no other request's execution.
			n.wal.flush()
		}
	}
	for i := range b.items {
		it := &b.items[i]
		if it.kind == itemSlow {
			unlock()
			it.rep = n.handle(*sessp, salt, it.pkt, sessp)
			it.sync = it.rep.sync
			continue
		}
		it.group = -1
		sv := n.schemaVersionNow()
		if v := it.schema; v != 0 && v != sv {
			b.readyErr(it, sv, box.NewError(box.ErrWrongSchemaVersion, sv, v))
			continue
		}
		if it.err != nil {
			b.readyErr(it, sv, it.err)
			continue
		}
		if !locked {
			n.mu.Lock()
			locked = true
			n.rowTime = now()
			e, gi = b.group()
		}
		if err := n.electionCheckWrite(it.req.SpaceID); err != nil {
			b.readyErr(it, n.schemaVersionNow(), err)
			continue
		}
		logged := len(e.rows)
		a, err := n.applyLocked(*sessp, it.req, b.body[it.start:it.end:it.end], &e.rows)
		if err != nil {
			b.readyErr(it, n.schemaVersionNow(), err)
			continue
		}
		it.tuple, it.then = a.tuple, a.then
		if len(e.rows) > logged {
			e.ends = append(e.ends, len(e.rows))
			it.group = gi
		}
	}
	unlock()
}

// isDML tells the request types a batch executes together.
func isDML(t box.RowType) bool {
	switch t {
	case box.TypeInsert, box.TypeReplace, box.TypeUpdate, box.TypeDelete, box.TypeUpsert:
		return true
	}
	return false
}

// decodeDML decodes the body of a DML request into its raw values.
func decodeDML(typ box.RowType, body []byte) (memtx.RawRequest, error) {
	d, err := iproto.DecodeDML(typ, body)
	if err != nil {
		return memtx.RawRequest{}, err
	}
	return memtx.RawRequest{Type: d.Type, SpaceID: d.Space, IndexID: d.Index, IndexBase: d.IndexBase,
		Key: d.Key, Tuple: d.Tuple, Ops: d.Ops}, nil
}

// replier writes the replies of a connection's batches in request
// order, each once the WAL wrote its rows. Replies that are ready go out
// together: the socket is written when the next reply would have to wait
// (for the WAL or the limbo) or nothing more is to be answered.
type replier struct {
	n      *Node
	c      io.Writer
	out    []byte
	failed bool
	// async, once a reply waited in the limbo, takes the batches to a
	// second goroutine that answers them (and gives them back on free).
	async     chan *batch
	free      chan *batch
	asyncDone chan struct{}
}

// goAsync starts the goroutine that answers the batches sent to
// r.async, in order, and gives them back on r.free.
func (r *replier) goAsync() {
	r.async = make(chan *batch, maxPending/maxBatch)
	r.free = make(chan *batch, maxPending/maxBatch)
	r.asyncDone = make(chan struct{})
	go func() {
		defer close(r.asyncDone)
		for b := range r.async {
			r.answer(b)
			select {
			case r.free <- b:
			default:
			}
			if len(r.async) == 0 {
				r.flush()
			}
		}
		r.flush()
	}()
}

// stopAsync waits until the second goroutine, if any, has written every
// reply, and stops it.
func (r *replier) stopAsync() {
	if r.async == nil {
		return
	}
	close(r.async)
	<-r.asyncDone
	r.async = nil
}

// flush writes the replies gathered.
func (r *replier) flush() {
	if len(r.out) > 0 && !r.failed {
		if _, err := r.c.Write(r.out); err != nil {
			r.failed = true
		}
	}
	r.out = r.out[:0]
}

// wait returns the outcome of a group's WAL write, writing the replies
// gathered first when it has to wait for it.
func (r *replier) wait(g *walGroup) error {
	if !g.waited {
		if len(g.e.done) == 0 {
			r.flush()
		}
		g.err, g.waited = <-g.e.done, true
	}
	return g.err
}

// answer gathers the replies of a batch, waiting for what they wait for,
// and recycles the batch.
func (r *replier) answer(b *batch) {
	n := r.n
	for i := range b.items {
		it := &b.items[i]
		var err error
		var data [][]byte
		switch it.kind {
		case itemReady:
			r.out = append(r.out, b.pre[it.start:it.end]...)
			continue
		case itemSlow:
			if it.rep.dml == nil {
				r.out = append(r.out, it.rep.pkt...)
				continue
			}
			r.flush()
			if err = it.rep.dml.Wait(); err == nil {
				data = it.rep.data()
			}
		case itemDML:
			if it.group >= 0 {
				err = r.wait(&b.groups[it.group])
			}
			if it.then != nil {
				r.flush()
			}
			if err = n.afterWAL(err, it.then); err == nil && it.tuple != nil {
				data = [][]byte{it.tuple}
			}
		}
		if err != nil {
			r.out = iproto.AppendError(r.out, it.sync, n.schemaVersionNow(), iproto.ErrorOf(asBoxError(err)))
		} else {
			r.out = iproto.AppendData(r.out, box.TypeOK, it.sync, n.schemaVersionNow(), data...)
		}
	}
	// Every group is waited for before the batch is reused.
	for i := range b.groups {
		r.wait(&b.groups[i])
	}
	b.recycle()
	if len(r.out) >= 64<<10 {
		r.flush()
	}
}

func (n *Node) schemaVersionNow() uint64 { return n.schemaVersion.Load() }

// handle executes one request and returns its reply.
func (n *Node) handle(sess *session, salt, pkt []byte, sessp **session) reply {
	var row format.Row
	if err := iproto.DecodePacket(pkt, &row); err != nil {
		// Answer with the request's sync when the header holds one: a
		// broken body is the request's error, not the connection's.
		sync, ok := headerSync(pkt)
		what := "packet body"
		if !ok {
			what = "packet header"
		}
		return reply{sync: sync, pkt: iproto.AppendError(nil, sync, n.schemaVersionNow(), iproto.NewError(box.ErrInvalidMsgpack, what))}
	}
	sync := row.Header.Sync
	fail := func(err error) reply {
		return reply{sync: sync, pkt: iproto.AppendError(nil, sync, n.schemaVersionNow(), iproto.ErrorOf(asBoxError(err)))}
	}
	sv := n.schemaVersionNow()
	typ := row.Header.Type
	if v := row.Header.SchemaVersion; v != 0 && v != sv && typ != box.TypeAuth {
		return fail(box.NewError(box.ErrWrongSchemaVersion, sv, v))
	}
	if isDML(typ) {
		raw, err := decodeDML(typ, row.Body)
		if err != nil {
			return fail(err)
		}
		return n.handleDML(sess, sync, raw)
	}
	r, err := iproto.DecodeRequest(typ, row.Body)
	if err != nil {
		return fail(err)
	}
	data := func(values [][]byte) reply {
		return reply{sync: sync, pkt: iproto.AppendData(nil, box.TypeOK, sync, sv, values...)}
	}
	switch req := r.(type) {
	case iproto.PingRequest:
		return reply{sync: sync, pkt: iproto.AppendOK(nil, sync, sv)}
	case iproto.AuthRequest:
		s, err := n.Authenticate(req.User, salt, req.Scramble, req.Scramble != nil)
		if err != nil {
			return fail(err)
		}
		*sessp = s
		return reply{sync: sync, pkt: iproto.AppendOK(nil, sync, sv)}
	case iproto.SelectRequest:
		key, err := decodeArray(req.Key)
		if err != nil {
			return fail(err)
		}
		ts, err := n.Select(sess, req.Space, req.Index, req.Iterator, key, req.Offset, req.Limit)
		if err != nil {
			return fail(err)
		}
		values := make([][]byte, len(ts))
		for i, t := range ts {
			values[i] = t
		}
		return data(values)
	case iproto.CallRequest, iproto.Call16Request:
		name, rawArgs := "", any(nil)
		if c, ok := req.(iproto.CallRequest); ok {
			name, rawArgs = c.Function, c.Args
		} else {
			c := req.(iproto.Call16Request)
			name, rawArgs = c.Function, c.Args
		}
		args, err := decodeArray(rawArgs)
		if err != nil {
			return fail(err)
		}
		out, err := n.Call(sess, name, args)
		if err != nil {
			return fail(err)
		}
		values := make([][]byte, len(out))
		for i, v := range out {
			if _, is16 := req.(iproto.Call16Request); is16 {
				if _, isArr := v.([]any); !isArr {
					v = []any{v}
				}
			}
			values[i] = encodeValue(v)
		}
		return reply{sync: sync, pkt: iproto.AppendData(nil, box.TypeOK, sync, n.schemaVersionNow(), values...)}
	case iproto.EvalRequest:
		_, err := n.Eval(sess, req.Expr)
		return fail(err)
	}
	return fail(box.NewError(box.ErrUnknownRequestType, uint32(typ)))
}

// headerSync finds the sync of a packet whose header map decodes.
func headerSync(pkt []byte) (uint64, bool) {
	c := format.NewMPCursor(pkt)
	n, err := c.MapLen()
	if err != nil {
		return 0, false
	}
	var sync uint64
	for i := 0; i < n; i++ {
		k, err := c.Uint()
		if err != nil {
			return 0, false
		}
		if k == box.KeySync {
			if sync, err = c.Uint(); err != nil {
				return 0, false
			}
			continue
		}
		if c.Skip() != nil {
			return 0, false
		}
	}
	return sync, true
}

// handleDML executes INSERT, REPLACE, UPDATE, DELETE and UPSERT; the
// reply waits for the WAL (and the limbo).
func (n *Node) handleDML(sess *session, sync uint64, raw memtx.RawRequest) reply {
	fail := func(err error) reply {
		return reply{sync: sync, pkt: iproto.AppendError(nil, sync, n.schemaVersionNow(), iproto.ErrorOf(asBoxError(err)))}
	}
	dr, err := raw.Decode()
	if err != nil {
		return fail(err)
	}
	res, err := n.Exec(sess, dr, appendRawDMLBody(nil, raw))
	if err != nil {
		return fail(err)
	}
	return reply{sync: sync, dml: &res, data: func() [][]byte {
		if res.tuple == nil {
			return nil
		}
		return [][]byte{res.tuple}
	}}
}

// rawOf returns the MessagePack bytes the codec kept for an array.
func rawOf(v any) []byte {
	if r, ok := v.(msgpack.RawMessage); ok {
		return r
	}
	return nil
}

// decodeArray decodes a raw array of a request (nil: empty).
func decodeArray(v any) ([]any, error) {
	raw := rawOf(v)
	if raw == nil {
		return nil, nil
	}
	x, err := memtx.DecodeMsgpack(raw)
	if err != nil {
		return nil, box.NewError(box.ErrInvalidMsgpack, "packet body")
	}
	a, ok := x.([]any)
	if !ok {
		return nil, box.NewError(box.ErrInvalidMsgpack, "packet body")
	}
	return a, nil
}

// encodeValue encodes a call result.
func encodeValue(v any) []byte {
	b, err := memtx.EncodeMsgpack(v)
	if err != nil {
		return []byte{0xc0}
	}
	return b
}
