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

// maxInFlight bounds the replies a connection may have pending; the
// connection's reader waits when it is reached.
const maxInFlight = 1024

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
	g, err := iproto.EncodeGreeting(iproto.Greeting{Version: box.VersionOf(n.cfg.Version), InstanceUUID: n.uuid, Salt: salt})
	if err != nil {
		n.log.Errorf("greeting: %v", err)
		return
	}
	if _, err := c.Write(g); err != nil {
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
		pkt, err := iproto.ReadPacket(br, nil)
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
				buf = iproto.AppendError(buf[:0], r.sync, s.n.schemaVersionNow(), iproto.ErrorOf(asBoxError(err)))
			} else {
				buf = iproto.AppendData(buf[:0], box.TypeOK, r.sync, s.n.schemaVersionNow(), r.data()...)
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
	case iproto.InsertRequest:
		return n.handleDML(sess, sync, memtx.RawRequest{Type: typ, SpaceID: req.Space, Tuple: rawOf(req.Tuple)})
	case iproto.ReplaceRequest:
		return n.handleDML(sess, sync, memtx.RawRequest{Type: typ, SpaceID: req.Space, Tuple: rawOf(req.Tuple)})
	case iproto.UpdateRequest:
		return n.handleDML(sess, sync, memtx.RawRequest{Type: typ, SpaceID: req.Space, IndexID: req.Index,
			IndexBase: req.IndexBase, Key: rawOf(req.Key), Tuple: rawOf(req.Ops)})
	case iproto.DeleteRequest:
		return n.handleDML(sess, sync, memtx.RawRequest{Type: typ, SpaceID: req.Space, IndexID: req.Index, Key: rawOf(req.Key)})
	case iproto.UpsertRequest:
		return n.handleDML(sess, sync, memtx.RawRequest{Type: typ, SpaceID: req.Space, IndexBase: req.IndexBase,
			Tuple: rawOf(req.Tuple), Ops: rawOf(req.Ops)})
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
