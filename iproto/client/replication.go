package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
)

// ReplicationConn is a connection that carries a replication stream
// (FETCH_SNAPSHOT, SUBSCRIBE, JOIN): requests are answered in order and a
// stream answers with many packets, so it is read packet by packet instead
// of being multiplexed like Conn. Reads belong to one goroutine; ACKs may be
// sent from another.
type ReplicationConn struct {
	nc       net.Conn
	br       *bufio.Reader
	addr     string
	greeting iproto.Greeting

	wmu    sync.Mutex // serialises writes
	wbuf   []byte
	sync   uint64
	pkt    []byte // the last packet read; rows point into it
	closed bool
}

// DialReplication connects to addr ("host:port" or "unix/:/path"), reads
// the greeting and authenticates when opts.User names a user other than
// guest. opts.Timeout bounds the dial, the greeting and the authentication.
func DialReplication(ctx context.Context, addr string, opts Options) (*ReplicationConn, error) {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	network, daddr := "tcp", addr
	if path, ok := strings.CutPrefix(addr, "unix/:"); ok {
		network, daddr = "unix", path
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, daddr)
	if err != nil {
		return nil, fmt.Errorf("iproto: dial %s: %w", addr, err)
	}
	c := &ReplicationConn{nc: nc, br: bufio.NewReaderSize(nc, readBufferSize), addr: addr}
	g, err := readGreeting(ctx, nc, c.br)
	if err != nil {
		nc.Close()
		return nil, &GreetingError{Addr: addr, Err: err}
	}
	c.greeting = g
	if opts.User != "" && opts.User != "guest" {
		scramble, err := iproto.Scramble(g.Salt, opts.Password)
		if err == nil {
			_, err = c.Call(ctx, iproto.AuthRequest{User: opts.User, Scramble: scramble})
		}
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("iproto: %s: authenticate as %q: %w", addr, opts.User, err)
		}
	}
	return c, nil
}

// Greeting returns the server greeting.
func (c *ReplicationConn) Greeting() iproto.Greeting { return c.greeting }

// Addr returns the address dialled.
func (c *ReplicationConn) Addr() string { return c.addr }

// Close closes the connection.
func (c *ReplicationConn) Close() error {
	c.wmu.Lock()
	c.closed = true
	c.wmu.Unlock()
	return c.nc.Close()
}

// Send writes req with a new sync and returns the sync.
func (c *ReplicationConn) Send(req iproto.Request) (uint64, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.sync++
	var err error
	c.wbuf, err = iproto.AppendRequest(c.wbuf[:0], c.sync, 0, req)
	if err != nil {
		return 0, err
	}
	if _, err := c.nc.Write(c.wbuf); err != nil {
		return 0, fmt.Errorf("iproto: %s: send %s: %w", c.addr, req.Type().RequestName(), err)
	}
	return c.sync, nil
}

// SendAck writes an ACK packet.
func (c *ReplicationConn) SendAck(a iproto.Ack) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = a.AppendPacket(c.wbuf[:0])
	if _, err := c.nc.Write(c.wbuf); err != nil {
		return fmt.Errorf("iproto: %s: send ACK: %w", c.addr, err)
	}
	return nil
}

// SetReadDeadline bounds the next reads (zero: no limit).
func (c *ReplicationConn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// ReadRow reads the next packet into row: its header and body, decoded
// as a log row (row.Type is TypeErrorFlag|code for an error packet, see
// RowError). row's slices stay valid until the next ReadRow or Call.
func (c *ReplicationConn) ReadRow(row *format.Row) error {
	pkt, err := iproto.ReadPacket(c.br, c.pkt)
	if err != nil {
		return fmt.Errorf("iproto: %s: %w", c.addr, err)
	}
	if cap(pkt) > cap(c.pkt) {
		c.pkt = pkt[:0]
	}
	if err := iproto.DecodePacket(pkt, row); err != nil {
		return fmt.Errorf("%s: %w", c.addr, err)
	}
	return nil
}

// Call sends req and reads its answer: the next packet, which must carry
// the request's sync. A server error is returned as *Error. The response
// body is a copy.
func (c *ReplicationConn) Call(ctx context.Context, req iproto.Request) (*iproto.Response, error) {
	sync, err := c.Send(req)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		c.nc.SetReadDeadline(dl)
		defer c.nc.SetReadDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { c.nc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var row format.Row
	if err := c.ReadRow(&row); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("iproto: %s: %s: %w", c.addr, req.Type().RequestName(), context.Cause(ctx))
		}
		return nil, err
	}
	if row.Sync != sync {
		return nil, fmt.Errorf("iproto: %s: %s answered with sync %d, want %d", c.addr, req.Type().RequestName(), row.Sync, sync)
	}
	resp := &iproto.Response{Type: row.Type, Sync: row.Sync, Body: append([]byte(nil), row.Body...)}
	return resp, resp.Err()
}

// GreetingError reports a peer whose greeting could not be read or is not
// a Tarantool IPROTO greeting: the address is not a Tarantool server (or
// it closed the connection at once).
type GreetingError struct {
	Addr string
	Err  error
}

func (e *GreetingError) Error() string {
	return fmt.Sprintf("iproto: %s: not a Tarantool server? %v", e.Addr, e.Err)
}

func (e *GreetingError) Unwrap() error { return e.Err }

// IsClosedError reports whether err comes from reading or writing a
// connection that was closed locally.
func IsClosedError(err error) bool { return errors.Is(err, net.ErrClosed) }
