package node

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"

	"github.com/xlogtool/xlogtool/iproto"
)

// rawConn connects and reads the greeting.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 128)); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedByPeer tells whether the server closed the connection.
func closedByPeer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(bufio.NewReader(c))
	return err == nil
}

// Hostile and broken input gets errors or a closed connection; the node
// stays up and serves the next client.
func TestBadInput(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	addr := n.Addr()
	alive := func() {
		t.Helper()
		c := dial(t, addr)
		if err := c.Ping(ctx(t)); err != nil {
			t.Fatalf("node not serving: %v", err)
		}
		c.Close()
	}

	t.Run("garbage", func(t *testing.T) {
		// A byte that is no MessagePack length closes the connection.
		c := rawConn(t, addr)
		c.Write([]byte{0xc1, 0xff, 0x00})
		if !closedByPeer(c) {
			t.Error("connection not closed")
		}
		// Text is read as lengths and packets that do not decode.
		c = rawConn(t, addr)
		for i := 0; i < 10; i++ {
			c.Write([]byte("GET / HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n"))
		}
		c.Close()
		alive()
	})
	t.Run("huge length prefix", func(t *testing.T) {
		c := rawConn(t, addr)
		c.Write([]byte{0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x83})
		if !closedByPeer(c) {
			t.Error("connection not closed")
		}
		// Just below the bound, then nothing: no allocation of the
		// announced size, the client just goes away.
		c = rawConn(t, addr)
		c.Write([]byte{0xce, 0x03, 0xff, 0xff, 0xf0, 0x82, 0x00})
		c.Close()
		alive()
	})
	t.Run("vanishing client", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			c := rawConn(t, addr)
			// Half an INSERT.
			c.Write([]byte{0x20, 0x82, 0x00, 0x02, 0x01, 0x05, 0x82, 0x10, 0xcd})
			c.Close()
		}
		alive()
	})
	t.Run("longer than it says", func(t *testing.T) {
		c := rawConn(t, addr)
		// Length 3 covers only part of the header map {0: 64, 1: 7}.
		c.Write([]byte{0x03, 0x82, 0x00, 0x40, 0x01, 0x07})
		c.Close()
		alive()
	})
	t.Run("protocol errors", func(t *testing.T) {
		c := dial(t, addr)
		for _, tc := range []struct {
			typ  box.RowType
			body []byte
			code box.ErrorCode
		}{
			{200, nil, box.ErrUnknownRequestType},
			{12, nil, box.ErrUnknownRequestType},                                  // NOP
			{40, nil, box.ErrUnknownRequestType},                                  // CONFIRM
			{1, []byte{0x81, 0x10, 0xcd, 0x02, 0x00}, box.ErrMissingRequestField}, // SELECT without limit
			{1, []byte{0x83, 0x10, 0xa1, 'x', 0x12, 0x01, 0x20, 0x90}, box.ErrInvalidMsgpack},
			{1, []byte{0x83, 0x10, 0xcd, 0x7f, 0x00, 0x12, 0x01, 0x20, 0x90}, box.ErrNoSuchSpace},
			{2, []byte{0x82, 0x10, 0xcd, 0x01, 0x10, 0x21, 0x91, 0x01}, box.ErrFieldType}, // _schema wants a string key
			{10, []byte{0x80}, box.ErrMissingRequestField},
			{1, []byte{0x93, 0x01}, box.ErrInvalidMsgpack},
		} {
			resp, err := c.DoRaw(ctx(t), tc.typ, tc.body)
			if err == nil {
				err = resp.Err()
			}
			if !iproto.IsCode(err, tc.code) {
				t.Errorf("type %d body %x: %v, want code %d", tc.typ, tc.body, err, tc.code)
			}
		}
	})
	t.Run("guest without rights", func(t *testing.T) {
		c := dialAs(t, addr, "guest", "")
		if err := c.Ping(ctx(t)); err != nil {
			t.Fatal(err)
		}
		_, err := c.Select(ctx(t), 280, 0, []any{}, 10, 0, box.IterAll)
		if !iproto.IsCode(err, box.ErrAccessDenied) {
			t.Errorf("guest reads _space: %v", err)
		}
		_, err = c.Replace(ctx(t), 272, []any{"x"})
		if !iproto.IsCode(err, box.ErrAccessDenied) {
			t.Errorf("guest writes _schema: %v", err)
		}
		// The views are readable.
		if _, err := c.Select(ctx(t), 281, 0, []any{}, 10, 0, box.IterAll); err != nil {
			t.Error(err)
		}
	})
	t.Run("10000 connections", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for g := 0; g < 10; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 128)
				for i := 0; i < 1000; i++ {
					c, err := net.DialTimeout("tcp", addr, 5*time.Second)
					if err != nil {
						errs <- err
						return
					}
					if i%2 == 0 {
						c.SetDeadline(time.Now().Add(5 * time.Second))
						io.ReadFull(c, buf)
					}
					c.Close()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		alive()
	})
}

// memtx_memory is enforced: a write that does not fit gets
// ER_MEMORY_ISSUE, the node stays up, and space freed is usable again.
func TestMemtxMemory(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MemtxMemory = 1 << 20
	n := startNode(t, cfg)
	c := dial(t, n.Addr())
	call(t, c, "box.schema.space.create", "m")
	call(t, c, "box.space.m:create_index", "pk")
	id := spaceID(t, c, "m")
	big := strings.Repeat("x", 4096)
	full := -1
	for i := 0; i < 1000; i++ {
		_, err := c.Insert(ctx(t), id, []any{i, big})
		if iproto.IsCode(err, box.ErrMemoryIssue) {
			full = i
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if full < 0 {
		t.Fatal("1000 tuples of 4 KiB fit in 1 MiB")
	}
	if _, err := c.Delete(ctx(t), id, 0, []any{0}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Insert(ctx(t), id, []any{full, big}); err != nil {
		t.Errorf("after a delete: %v", err)
	}
}

// read_only refuses writes with ER_READONLY; a request with a stale
// schema_version gets ER_WRONG_SCHEMA_VERSION; DDL bumps the version.
func TestReadOnlyAndSchemaVersion(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	c := dial(t, n.Addr())
	call(t, c, "box.schema.space.create", "ro")
	call(t, c, "box.space.ro:create_index", "pk")
	id := spaceID(t, c, "ro")
	before := n.schemaVersionNow()
	call(t, c, "box.space.ro:create_index", "second", map[string]any{"parts": []any{1, "unsigned"}, "unique": false})
	if n.schemaVersionNow() <= before {
		t.Errorf("schema version %d after DDL, was %d", n.schemaVersionNow(), before)
	}
	call(t, c, "box.cfg", map[string]any{"read_only": true})
	if _, err := c.Replace(ctx(t), id, []any{1}); !iproto.IsCode(err, box.ErrReadonly) {
		t.Errorf("write on a read-only node: %v", err)
	}
	call(t, c, "box.cfg", map[string]any{"read_only": false})
	if _, err := c.Replace(ctx(t), id, []any{1}); err != nil {
		t.Error(err)
	}
	pkt, _ := iproto.AppendRequest(nil, 1, 0, iproto.PingRequest{})
	// The same PING with a stale schema version in its header.
	raw := append([]byte{0x83, 0x00, 0x40, 0x01, 0x01, 0x05, 0x01}, pkt[5+5:]...)
	s := n.adminSession()
	rep := n.handle(s, nil, raw, &s)
	resp, err := iproto.DecodeResponse(rep.pkt[5:])
	if err != nil {
		t.Fatal(err)
	}
	if !iproto.IsCode(resp.Err(), box.ErrWrongSchemaVersion) {
		t.Errorf("stale schema version: %v", resp.Err())
	}
}
