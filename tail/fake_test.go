package tail_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/tail"
)

// fakeServer speaks the server side of the anonymous-replica protocol with
// the iproto codec: each connection accepts AUTH, VOTE, SELECT and
// SUBSCRIBE, then plays the rows of its session script and closes.
type fakeServer struct {
	// silent: after its script a session keeps the connection open and
	// says nothing (a network cut as the client sees it).
	silent   bool
	ln       net.Listener
	mu       sync.Mutex
	sessions [][]fakeRow // one script per connection, in order
	subs     []iproto.SubscribeRequest
}

type fakeRow struct {
	h    format.Header
	body []byte
}

func newFakeServer(t *testing.T, sessions ...[]fakeRow) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{ln: ln, sessions: sessions}
	t.Cleanup(func() { ln.Close() })
	go f.serve()
	return f
}

func (f *fakeServer) serve() {
	for n := 0; ; n++ {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		var script []fakeRow
		if n < len(f.sessions) {
			script = f.sessions[n]
		}
		f.mu.Unlock()
		go f.session(c, script)
	}
}

func (f *fakeServer) session(c net.Conn, script []fakeRow) {
	defer c.Close()
	c.Write(greeting())
	br := bufio.NewReader(c)
	for {
		var req format.Row
		pkt, err := readFramed(br)
		if err != nil {
			return
		}
		if _, err := format.DecodeRow(pkt, &req); err != nil {
			return
		}
		switch req.Type {
		case box.TypeAuth, box.TypeSelect:
			writeRow(c, format.Header{Type: box.TypeOK, Sync: req.Sync, Commit: true}, []byte{0x81, 0x30, 0x90})
		case box.TypeVote:
			bl := iproto.Ballot{VClock: vclock("{1: 10}")}
			writeRow(c, format.Header{Type: box.TypeOK, Sync: req.Sync, Commit: true}, bl.AppendBody(nil, box.Version{Major: 2, Minor: 6}))
		case box.TypeSubscribe:
			sub, err := iproto.DecodeSubscribe(req.Body)
			if err != nil {
				return
			}
			f.mu.Lock()
			f.subs = append(f.subs, sub)
			f.mu.Unlock()
			resp := iproto.SubscribeResponse{VClock: vclock("{1: 20}"), ReplicasetUUID: "22222222-2222-4333-8444-555555555555"}
			writeRow(c, format.Header{Type: box.TypeOK, Sync: req.Sync, ReplicaID: 1, Commit: true}, resp.AppendBody(nil))
			for _, r := range script {
				h := r.h
				h.Sync = req.Sync
				writeRow(c, h, r.body)
			}
			if f.silent {
				time.Sleep(3 * time.Second)
			}
			time.Sleep(50 * time.Millisecond)
			return // the server goes away mid-stream
		}
	}
}

// readFramed reads one length-prefixed packet.
func readFramed(br *bufio.Reader) ([]byte, error) { return iproto.ReadPacket(br, nil) }

// writeRow writes one packet of header h and body.
func writeRow(w io.Writer, h format.Header, body []byte) {
	b, _ := iproto.AppendRow(nil, &h, body)
	w.Write(b)
}

// greeting is a 2.6.0 greeting with a zero salt.
func greeting() []byte {
	g, _ := iproto.EncodeGreeting(iproto.Greeting{Version: box.Version{Major: 2, Minor: 6},
		InstanceUUID: "11111111-2222-4333-8444-555555555555", Salt: make([]byte, 32)})
	return g
}

func vclock(s string) format.VClock {
	v, err := format.ParseVClock(s)
	if err != nil {
		panic(err)
	}
	return v
}

func insert(lsn, tsn uint64, commit bool) fakeRow {
	return fakeRow{
		h:    format.Header{Type: box.TypeInsert, ReplicaID: 1, LSN: lsn, TSN: tsn, Commit: commit, Timestamp: 1},
		body: []byte{0x82, 0x10, 0xcd, 0x02, 0x00, 0x21, 0x91, byte(lsn)},
	}
}

// A server that closes the connection in the middle of a transaction:
// without Follow the stream fails with a clear error; with Follow it
// resubscribes after the last complete transaction and hands the torn
// transaction over once, whole.
func TestServerClosesMidStream(t *testing.T) {
	heartbeat := fakeRow{h: format.Header{Type: box.TypeOK, ReplicaID: 1, Timestamp: 1, Commit: true}}
	first := []fakeRow{heartbeat, insert(11, 11, true), insert(12, 12, false), insert(13, 12, true),
		insert(14, 14, false), insert(15, 14, false)} // torn here
	second := []fakeRow{insert(14, 14, false), insert(15, 14, false), insert(16, 14, true),
		insert(17, 17, true), insert(18, 18, true), insert(19, 19, true), insert(20, 20, true)}

	f := newFakeServer(t, first)
	c := newCollector()
	err := run(t, tail.New(tail.Source{Name: "fake", Addr: f.ln.Addr().String()}, tail.Options{}, c))
	if err == nil || !strings.Contains(err.Error(), "fake: connection lost") {
		t.Fatalf("stream over a closed connection: %v", err)
	}
	if c.txs != 2 || !c.vclock.Equal(vclock("{1: 13}")) {
		t.Fatalf("%d transactions up to %s before the close", c.txs, c.vclock)
	}

	f = newFakeServer(t, first, second)
	c = newCollector()
	var log syncBuffer
	s := tail.New(tail.Source{Name: "fake", Addr: f.ln.Addr().String()},
		tail.Options{Follow: true, MinBackoff: time.Millisecond, Log: &log}, c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.vclock.Equal(vclock("{1: 20}")) })
	cancel()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) < 2 || !f.subs[0].VClock.Equal(vclock("{1: 10}")) || !f.subs[1].VClock.Equal(vclock("{1: 13}")) {
		t.Fatalf("subscriptions %+v", f.subs)
	}
	sub := f.subs[0]
	if !sub.Anon || sub.ServerVersion == 0 || sub.InstanceUUID == "" || f.subs[1].InstanceUUID != sub.InstanceUUID {
		t.Errorf("subscribe request %+v", sub)
	}
	rows := parse(t, c.bytes())
	if len(rows) != 10 || c.txs != 7 {
		t.Fatalf("%d rows in %d transactions, want 10 in 7", len(rows), c.txs)
	}
	if !strings.Contains(log.String(), "connection lost") {
		t.Errorf("log %q", log.String())
	}
}

// A connection that goes silent (no rows, no heartbeats) counts as lost
// after IdleTimeout: with Follow the stream reconnects and goes on.
func TestSilentServer(t *testing.T) {
	first := []fakeRow{insert(11, 11, true)}
	second := []fakeRow{insert(12, 12, true), insert(13, 13, true), insert(14, 14, true), insert(15, 15, true),
		insert(16, 16, true), insert(17, 17, true), insert(18, 18, true), insert(19, 19, true), insert(20, 20, true)}
	f := newFakeServer(t, first, second)
	f.mu.Lock()
	f.silent = true
	f.mu.Unlock()
	c := newCollector()
	var log syncBuffer
	s := tail.New(tail.Source{Name: "fake", Addr: f.ln.Addr().String()},
		tail.Options{Follow: true, IdleTimeout: 200 * time.Millisecond, MinBackoff: time.Millisecond, Log: &log}, c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.vclock.Equal(vclock("{1: 20}")) })
	cancel()
	<-done
	if !strings.Contains(log.String(), "i/o timeout") || c.txs != 10 {
		t.Errorf("%d transactions; log %q", c.txs, log.String())
	}
}
