package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
)

// fakeServer is a scripted IPROTO server on 127.0.0.1: it sends a greeting
// and hands every request to handle, which writes whatever it likes.
type fakeServer struct {
	ln       net.Listener
	greeting []byte
	handle   func(w io.Writer, h header, body []byte)
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
}

func startFake(t *testing.T, version string, handle func(w io.Writer, h header, body []byte)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{
		ln:       ln,
		greeting: greetingOf("Tarantool "+version+" (Binary) 11111111-2222-3333-4444-555555555555", "yIaS2a+Z/u0KT8yDbPZodxh8aaOfxJXnftQPVhTNjZg="),
		handle:   handle,
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, nc)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(nc)
	}
}

func (s *fakeServer) serve(nc net.Conn) {
	defer s.wg.Done()
	defer nc.Close()
	if _, err := nc.Write(s.greeting); err != nil {
		return
	}
	br := bufio.NewReader(nc)
	for {
		pkt, err := iproto.ReadPacket(br, nil)
		if err != nil {
			return
		}
		var row format.Row
		if err := iproto.DecodePacket(pkt, &row); err != nil {
			return
		}
		s.handle(nc, header{typ: row.Type, sync: row.Sync, streamID: row.StreamID}, row.Body)
	}
}

// dropAll closes every accepted connection.
func (s *fakeServer) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *fakeServer) close() {
	s.ln.Close()
	s.dropAll()
	s.wg.Wait()
}

// header is what the fake server hands over of a request's header.
type header struct {
	typ      box.RowType
	sync     uint64
	streamID uint64
}

// greetingOf builds a 128-byte greeting from its two lines.
func greetingOf(line1, line2 string) []byte {
	b := []byte(fmt.Sprintf("%-63s\n%-63s\n", line1, line2))
	return b[:iproto.GreetingSize]
}

// reply writes a response packet with the given type, sync and raw body.
func reply(w io.Writer, typ box.RowType, sync uint64, body []byte) {
	w.Write(iproto.AppendResponse(nil, typ, sync, 80, body))
}

// okEcho answers every request with OK and DATA = [type, stream id flag].
func okEcho(w io.Writer, h header, body []byte) {
	reply(w, 0, h.sync, []byte{0x81, 0x30, 0x91, byte(h.typ)})
}

func dial(t *testing.T, addr string, opts Options) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConnBasics(t *testing.T) {
	s := startFake(t, "2.10.4", okEcho)
	c := dial(t, s.addr(), Options{})
	if c.Version() != (box.Version{Major: 2, Minor: 10, Patch: 4}) || c.InstanceUUID() != "11111111-2222-3333-4444-555555555555" || !c.SupportsStreams() {
		t.Fatalf("greeting %+v", c.Greeting())
	}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := c.DoRaw(context.Background(), box.TypeReplace, []byte{0x80})
	if err != nil || resp.SchemaVersion != 80 || resp.Sync == 0 {
		t.Fatalf("DoRaw: %+v, %v", resp, err)
	}
	if d, _ := resp.Data(); fmt.Sprint(d) != "[3]" {
		t.Fatalf("DoRaw data %v", d)
	}
}

func TestConnMatchesOutOfOrderResponses(t *testing.T) {
	var mu sync.Mutex
	var held []header
	s := startFake(t, "2.6.0", func(w io.Writer, h header, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, h)
		if len(held) < 3 {
			return
		}
		// A push for the first request, then the answers in reverse order.
		reply(w, box.TypeChunk, held[0].sync, []byte{0x81, 0x30, 0x91, 0x63})
		for i := len(held) - 1; i >= 0; i-- {
			reply(w, 0, held[i].sync, []byte{0x81, 0x30, 0x91, byte(i)})
		}
		held = nil
	})
	c := dial(t, s.addr(), Options{})
	futures := []*Future{c.Send(iproto.PingRequest{}), c.Send(iproto.PingRequest{}), c.Send(iproto.PingRequest{})}
	for i, f := range futures {
		resp, err := f.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := resp.Data(); fmt.Sprint(d) != fmt.Sprintf("[%d]", i) {
			t.Errorf("future %d got %v", i, d)
		}
	}
}

func TestConnServerError(t *testing.T) {
	s := startFake(t, "2.6.0", func(w io.Writer, h header, body []byte) {
		reply(w, box.ErrorType(box.ErrTupleFound), h.sync, []byte{0x81, 0x31, 0xa3, 'd', 'u', 'p'})
	})
	c := dial(t, s.addr(), Options{})
	resp, err := c.Do(context.Background(), iproto.InsertRequest{Space: 1, Tuple: []any{1}})
	var e *iproto.Error
	if !errors.As(err, &e) || e.Code != box.ErrTupleFound || e.Message != "dup" || resp == nil || resp.Code() != box.ErrTupleFound {
		t.Fatalf("resp %+v, err %v", resp, err)
	}
	if c.Err() != nil {
		t.Fatal("a server error closed the connection")
	}
}

func TestConnStreams(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	s := startFake(t, "2.10.0", func(w io.Writer, h header, body []byte) {
		mu.Lock()
		seen = append(seen, h.typ.RequestName())
		mu.Unlock()
		reply(w, 0, h.sync, nil)
	})
	c := dial(t, s.addr(), Options{})
	st1, err := c.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := c.NewStream()
	if st1.ID() == 0 || st1.ID() == st2.ID() {
		t.Fatalf("stream ids %d %d", st1.ID(), st2.ID())
	}
	ctx := context.Background()
	if err := st1.Begin(ctx, time.Second, box.IsolationReadCommitted); err != nil {
		t.Fatal(err)
	}
	if _, err := st1.Do(ctx, iproto.ReplaceRequest{Space: 1, Tuple: []any{1}}); err != nil {
		t.Fatal(err)
	}
	if err := st1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st2.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, " "); got != "BEGIN REPLACE COMMIT ROLLBACK" {
		t.Fatalf("server saw %s", got)
	}

	old := startFake(t, "2.9.9", okEcho)
	if _, err := dial(t, old.addr(), Options{}).NewStream(); err == nil {
		t.Fatal("NewStream on 2.9.9: no error")
	}
}

// silent never answers.
func silent(io.Writer, header, []byte) {}

func TestConnTimeouts(t *testing.T) {
	s := startFake(t, "2.6.0", silent)
	c := dial(t, s.addr(), Options{Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := c.Do(context.Background(), iproto.PingRequest{})
	var we *WaitError
	if !errors.As(err, &we) || !errors.Is(err, context.DeadlineExceeded) || !we.Timeout() || we.Type != box.TypePing {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
		t.Fatalf("timed out after %v", d)
	}
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d requests still pending after Do gave up", n)
	}

	// Cancellation through the context, on a connection without timeout.
	c2 := dial(t, s.addr(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	f := c2.Send(iproto.PingRequest{})
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := f.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}
	// Wait may be repeated; Close then fails the request.
	c2.Close()
	if _, err := f.Wait(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestDialTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and never send a greeting
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			defer nc.Close()
		}
	}()
	start := time.Now()
	_, err = Dial(context.Background(), ln.Addr().String(), Options{Timeout: 100 * time.Millisecond})
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("Dial: %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := Dial(ctx, ln.Addr().String(), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial cancelled: %v", err)
	}
}

func TestDialRejectsNonIproto(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.Write(greetingOf("Tarantool 2.6.0 (Lua console)", "type 'help' for interactive help"))
		io.Copy(io.Discard, nc)
	}()
	if _, err := Dial(context.Background(), ln.Addr().String(), Options{Timeout: 2 * time.Second}); err == nil || !strings.Contains(err.Error(), "Lua console") {
		t.Fatalf("Dial to a console: %v", err)
	}
}

func TestCloseFailsPending(t *testing.T) {
	s := startFake(t, "2.6.0", silent)
	c, err := Dial(context.Background(), s.addr(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	futures := make([]*Future, 100)
	for i := range futures {
		futures[i] = c.Send(iproto.PingRequest{})
	}
	c.Close()
	for _, f := range futures {
		<-f.Done()
		if _, err := f.Wait(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("pending after Close: %v", err)
		}
	}
	if _, err := c.Do(context.Background(), iproto.PingRequest{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close: %v", err)
	}
	if !errors.Is(c.Err(), ErrClosed) || c.Close() != nil {
		t.Fatalf("Err %v", c.Err())
	}
}

func TestServerDisconnectFailsPending(t *testing.T) {
	s := startFake(t, "2.6.0", silent)
	c := dial(t, s.addr(), Options{})
	f := c.Send(iproto.PingRequest{})
	time.Sleep(20 * time.Millisecond)
	s.dropAll()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("connection still open after the server hung up")
	}
	if _, err := f.Wait(context.Background()); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("pending after disconnect: %v", err)
	}
}

func TestGarbageFromServerClosesConn(t *testing.T) {
	s := startFake(t, "2.6.0", func(w io.Writer, h header, body []byte) {
		w.Write([]byte{0xa1, 0x00}) // not a length prefix
	})
	c := dial(t, s.addr(), Options{})
	if err := c.Ping(context.Background()); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "length prefix") {
		t.Fatalf("err = %v", err)
	}
}

func TestPipelineAndNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	s := startFake(t, "2.6.0", okEcho)
	for range 3 {
		c, err := Dial(context.Background(), s.addr(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		futures := make([]*Future, 2000)
		for i := range futures {
			futures[i] = c.Send(iproto.PingRequest{})
		}
		for _, f := range futures {
			if _, err := f.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
	}
	s.close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines before, %d after closing", before, n)
	}
}
