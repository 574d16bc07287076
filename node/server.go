package node

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/xlogtool/xlogtool/box"

	"github.com/xlogtool/xlogtool/memtx"
)

// MaxPacket bounds the size of one request; a longer length prefix closes
// the connection without allocating it.
const MaxPacket = 64 << 20

// maxInFlight bounds the replies a connection may have pending; the
// connection's reader waits when it is reached.
const maxInFlight = 1024

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

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

// reply is one answer queued for the writer, in request order.
type reply struct {
	sync uint64
	pkt  []byte          // ready
	dml  *dmlResult      // or: wait for the WAL, then encode
	data func() [][]byte // the tuples of a DML reply
	// barrier, when set, is closed once every earlier reply is written.
	barrier chan struct{}
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
	if _, err := c.Write(greeting(n.cfg.Version, n.uuid, salt)); err != nil {
		return
	}
	replies := make(chan reply, maxInFlight)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop(c, replies)
	}()
	defer func() {
		close(replies)
		<-writerDone
	}()
	sess := guestSession()
	br := bufio.NewReaderSize(c, 64<<10)
	for {
		pkt, err := readPacket(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				n.log.Warnf("%s: %v", c.RemoteAddr(), err)
			}
			return
		}
		if _, ok := replicationRequestType(pkt); ok {
			// A replication link writes to the socket itself.
			barrier := make(chan struct{})
			replies <- reply{barrier: barrier}
			<-barrier
			if !n.serveReplication(c, br, pkt, sess) {
				return
			}
			continue
		}
		rep := n.handle(sess, salt, pkt, &sess)
		replies <- rep
	}
}

// readPacket reads one length-prefixed packet. The buffer grows only as
// bytes arrive, so a huge length prefix allocates nothing by itself.
func readPacket(br *bufio.Reader) ([]byte, error) {
	b0, err := br.ReadByte()
	if err != nil {
		return nil, err
	}
	var size uint64
	switch {
	case b0 <= 0x7f:
		size = uint64(b0)
	case b0 >= 0xcc && b0 <= 0xcf:
		w := 1 << (b0 - 0xcc)
		var buf [8]byte
		if _, err := io.ReadFull(br, buf[:w]); err != nil {
			return nil, err
		}
		for _, x := range buf[:w] {
			size = size<<8 | uint64(x)
		}
	default:
		return nil, errors.New("invalid MsgPack - packet length")
	}
	if size > MaxPacket {
		return nil, errors.New("packet too long")
	}
	var out bytes.Buffer
	if size <= 64<<10 {
		out.Grow(int(size))
	}
	m, err := out.ReadFrom(io.LimitReader(br, int64(size)))
	if err != nil {
		return nil, err
	}
	if uint64(m) < size {
		return nil, io.ErrUnexpectedEOF
	}
	return out.Bytes(), nil
}

func (s *server) writeLoop(c net.Conn, replies <-chan reply) {
	bw := bufio.NewWriterSize(c, 64<<10)
	var buf []byte
	failed := false
	for r := range replies {
		if r.barrier != nil {
			bw.Flush()
			close(r.barrier)
			continue
		}
		pkt := r.pkt
		if r.dml != nil {
			if err := r.dml.Wait(); err != nil {
				buf = appendErrorReply(buf[:0], r.sync, s.n.schemaVersionNow(), asBoxError(err))
			} else {
				buf = appendDataReply(buf[:0], r.sync, s.n.schemaVersionNow(), r.data())
			}
			pkt = buf
		}
		if failed {
			continue
		}
		if _, err := bw.Write(pkt); err != nil {
			failed = true
			continue
		}
		if len(replies) == 0 {
			if err := bw.Flush(); err != nil {
				failed = true
			}
		}
	}
	bw.Flush()
}

func (n *Node) schemaVersionNow() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.schemaVersion
}

// handle executes one request and returns its reply.
func (n *Node) handle(sess *session, salt, pkt []byte, sessp **session) reply {
	req, berr := decodeRequest(pkt)
	var sync uint64
	if req != nil {
		sync = req.sync
	}
	fail := func(e *box.Error) reply {
		return reply{sync: sync, pkt: appendErrorReply(nil, sync, n.schemaVersionNow(), e)}
	}
	if berr != nil {
		return fail(berr)
	}
	sv := n.schemaVersionNow()
	if req.schemaVersion != 0 && req.schemaVersion != sv && req.typ != box.TypeAuth {
		return fail(boxErr(box.ErrWrongSchemaVersion, "Wrong schema version, current: %d, in request: %d", sv, req.schemaVersion))
	}
	values := func(ts []memtx.Tuple) [][]byte {
		out := make([][]byte, len(ts))
		for i, t := range ts {
			out[i] = t
		}
		return out
	}
	switch req.typ {
	case box.TypePing:
		return reply{sync: sync, pkt: appendEmptyReply(nil, sync, sv)}
	case box.TypeAuth:
		if e := req.need(box.KeyUserName, box.KeyTuple); e != nil {
			return fail(e)
		}
		var scramble []byte
		has := len(req.tuple) > 0
		if has {
			if len(req.tuple) < 2 {
				return fail(boxErr(box.ErrInvalidMsgpack, "Invalid MsgPack - authentication request body"))
			}
			switch x := req.tuple[1].(type) {
			case string:
				scramble = []byte(x)
			case []byte:
				scramble = x
			}
			if len(scramble) != 20 {
				return fail(boxErr(box.ErrInvalidMsgpack, "Invalid MsgPack - invalid scramble size"))
			}
		}
		s, err := n.Authenticate(req.user, salt, scramble, has)
		if err != nil {
			return fail(asBoxError(err))
		}
		*sessp = s
		return reply{sync: sync, pkt: appendEmptyReply(nil, sync, sv)}
	case box.TypeSelect:
		if e := req.need(box.KeySpaceID, box.KeyLimit, box.KeyKey); e != nil {
			return fail(e)
		}
		ts, err := n.Select(sess, req.spaceID, req.indexID, box.Iterator(req.iterator), req.key, req.offset, req.limit)
		if err != nil {
			return fail(asBoxError(err))
		}
		return reply{sync: sync, pkt: appendDataReply(nil, sync, sv, values(ts))}
	case box.TypeInsert, box.TypeReplace, box.TypeUpdate, box.TypeDelete, box.TypeUpsert:
		raw := memtx.RawRequest{Type: req.typ, SpaceID: req.spaceID, IndexID: req.indexID, IndexBase: req.indexBase}
		var e *box.Error
		switch req.typ {
		case box.TypeInsert, box.TypeReplace:
			e = req.need(box.KeySpaceID, box.KeyTuple)
			raw.Tuple = req.rawTuple
		case box.TypeUpdate:
			e = req.need(box.KeySpaceID, box.KeyKey, box.KeyTuple)
			raw.Key, raw.Tuple = req.rawKey, req.rawTuple
		case box.TypeDelete:
			e = req.need(box.KeySpaceID, box.KeyKey)
			raw.Key = req.rawKey
		case box.TypeUpsert:
			e = req.need(box.KeySpaceID, box.KeyOps, box.KeyTuple)
			raw.Tuple, raw.Ops = req.rawTuple, req.rawOps
		}
		if e != nil {
			return fail(e)
		}
		dr, derr := raw.Decode()
		if derr != nil {
			return fail(asBoxError(derr))
		}
		res, err := n.Exec(sess, dr, appendRawDMLBody(nil, raw))
		if err != nil {
			return fail(asBoxError(err))
		}
		return reply{sync: sync, dml: &res, data: func() [][]byte {
			if res.tuple == nil {
				return nil
			}
			return [][]byte{res.tuple}
		}}
	case box.TypeCall, box.TypeCall16:
		if e := req.need(box.KeyFunctionName); e != nil {
			return fail(e)
		}
		out, err := n.Call(sess, req.name, req.tuple)
		if err != nil {
			return fail(asBoxError(err))
		}
		vals := make([][]byte, len(out))
		for i, v := range out {
			if req.typ == box.TypeCall16 {
				if _, isArr := v.([]any); !isArr {
					v = []any{v}
				}
			}
			vals[i] = encodeValue(v)
		}
		return reply{sync: sync, pkt: appendDataReply(nil, sync, n.schemaVersionNow(), vals)}
	case box.TypeEval:
		if e := req.need(box.KeyExpr); e != nil {
			return fail(e)
		}
		_, err := n.Eval(sess, req.expr)
		return fail(asBoxError(err))
	}
	return fail(boxErr(box.ErrUnknownRequestType, "Unknown request type %d", req.typ))
}
