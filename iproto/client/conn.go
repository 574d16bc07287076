package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/iproto"
)

// Options configure a connection.
type Options struct {
	// User to authenticate as; empty or "guest" skips authentication.
	User     string
	Password string
	// Timeout bounds Dial (connect, greeting, authentication) and the wait
	// for each response, in addition to any context deadline. Zero means no
	// limit besides the context.
	Timeout time.Duration
}

// ErrClosed is matched (errors.Is) by every error caused by the connection
// being closed, by Close or because it broke.
var ErrClosed = errors.New("iproto: connection closed")

const (
	readBufferSize  = 64 << 10
	writeBufferSize = 64 << 10
	// outQueueSize is how many encoded requests may wait for the writer.
	outQueueSize = 1024
)

// Conn is a connection to a Tarantool server. It is safe for concurrent use;
// requests from many goroutines share the connection and are matched to
// their responses by sync id.
type Conn struct {
	nc       net.Conn
	greeting iproto.Greeting
	timeout  time.Duration

	out  chan []byte   // encoded packets for the writer goroutine
	done chan struct{} // closed when the connection shuts down
	wg   sync.WaitGroup

	mu      sync.Mutex
	pending map[uint64]*Future
	err     error // why the connection shut down; nil while open

	lastSync   atomic.Uint64
	lastStream atomic.Uint64
}

// Dial connects to addr ("host:port", or "unix/:/path/to/socket"), reads the
// greeting and authenticates when opts.User names a user other than guest.
func Dial(ctx context.Context, addr string, opts Options) (*Conn, error) {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	network := "tcp"
	if path, ok := strings.CutPrefix(addr, "unix/:"); ok {
		network, addr = "unix", path
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("iproto: dial %s: %w", addr, err)
	}
	br := bufio.NewReaderSize(nc, readBufferSize)
	g, err := readGreeting(ctx, nc, br)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("iproto: %s: %w", addr, err)
	}
	c := &Conn{
		nc:       nc,
		greeting: g,
		timeout:  opts.Timeout,
		out:      make(chan []byte, outQueueSize),
		done:     make(chan struct{}),
		pending:  make(map[uint64]*Future),
	}
	c.wg.Add(2)
	go c.readLoop(br)
	go c.writeLoop()
	if opts.User != "" && opts.User != "guest" {
		if err := c.auth(ctx, opts.User, opts.Password); err != nil {
			c.Close()
			return nil, fmt.Errorf("iproto: %s: authenticate as %q: %w", addr, opts.User, err)
		}
	}
	return c, nil
}

// readGreeting reads and parses the greeting, honouring ctx.
func readGreeting(ctx context.Context, nc net.Conn, br *bufio.Reader) (iproto.Greeting, error) {
	if dl, ok := ctx.Deadline(); ok {
		nc.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Unix(1, 0)) })
	buf := make([]byte, iproto.GreetingSize)
	_, err := io.ReadFull(br, buf)
	if !stop() || ctx.Err() != nil {
		return iproto.Greeting{}, fmt.Errorf("read greeting: %w", context.Cause(ctx))
	}
	if err != nil {
		return iproto.Greeting{}, fmt.Errorf("read greeting: %w", err)
	}
	if err := nc.SetReadDeadline(time.Time{}); err != nil {
		return iproto.Greeting{}, err
	}
	return iproto.ParseGreeting(buf)
}

func (c *Conn) auth(ctx context.Context, user, password string) error {
	scramble, err := iproto.Scramble(c.greeting.Salt, password)
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, iproto.AuthRequest{User: user, Scramble: scramble})
	return err
}

// Greeting returns the server greeting.
func (c *Conn) Greeting() iproto.Greeting { return c.greeting }

// Version returns the server version from the greeting.
func (c *Conn) Version() box.Version { return c.greeting.Version }

// InstanceUUID returns the server's instance UUID from the greeting.
func (c *Conn) InstanceUUID() string { return c.greeting.InstanceUUID }

// SupportsStreams reports whether the server understands streams
// (interactive transactions over IPROTO), i.e. is 2.10 or newer.
func (c *Conn) SupportsStreams() bool { return c.greeting.Version.AtLeast(2, 10, 0) }

// LocalAddr returns the local address of the socket.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the server's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Done is closed when the connection has shut down (Close, or an I/O or
// protocol error); Err then tells why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns nil while the connection is open, then an error matching
// ErrClosed that tells why it shut down.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close shuts the connection down, fails every pending request with an
// error matching ErrClosed and waits for the connection's goroutines.
func (c *Conn) Close() error {
	c.shutdown(nil)
	c.wg.Wait()
	return nil
}

// Send writes req and returns at once; the Future delivers the response.
// Requests sent from one goroutine reach the server in the order sent.
func (c *Conn) Send(req iproto.Request) *Future { return c.send(req, 0) }

// Do sends req and waits for its response. A server error is returned as
// *Error together with the response. When ctx ends first, the request is
// abandoned (its response, if any, is discarded).
func (c *Conn) Do(ctx context.Context, req iproto.Request) (*iproto.Response, error) {
	return c.do(ctx, req, 0)
}

func (c *Conn) do(ctx context.Context, req iproto.Request, streamID uint64) (*iproto.Response, error) {
	f := c.send(req, streamID)
	resp, err := f.Wait(ctx)
	if resp == nil && err != nil {
		c.forget(f.sync)
	}
	return resp, err
}

// DoRaw sends a request whose body is already MessagePack-encoded, byte for
// byte, and waits for the response.
func (c *Conn) DoRaw(ctx context.Context, typ box.RowType, body []byte) (*iproto.Response, error) {
	return c.Do(ctx, iproto.RawRequest{Code: typ, Body: body})
}

func (c *Conn) send(req iproto.Request, streamID uint64) *Future {
	f := &Future{sync: c.lastSync.Add(1), typ: req.Type(), done: make(chan struct{}), timeout: c.timeout}
	pkt, err := iproto.AppendRequest(nil, f.sync, streamID, req)
	if err != nil {
		f.complete(nil, err)
		return f
	}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		f.complete(nil, err)
		return f
	}
	c.pending[f.sync] = f
	c.mu.Unlock()
	select {
	case c.out <- pkt:
	case <-c.done: // shutdown has failed f already
	}
	return f
}

// forget drops a pending request whose response is no longer awaited.
func (c *Conn) forget(sync uint64) {
	c.mu.Lock()
	delete(c.pending, sync)
	c.mu.Unlock()
}

// shutdown closes the connection once; cause nil means Close was called.
func (c *Conn) shutdown(cause error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	if cause == nil {
		c.err = ErrClosed
	} else {
		c.err = fmt.Errorf("%w: %s: %v", ErrClosed, c.nc.RemoteAddr(), cause)
	}
	pending := c.pending
	c.pending = nil
	close(c.done)
	c.mu.Unlock()
	c.nc.Close()
	for _, f := range pending {
		f.complete(nil, c.err)
	}
}

func (c *Conn) readLoop(br *bufio.Reader) {
	defer c.wg.Done()
	for {
		pkt, err := iproto.ReadPacket(br, nil)
		if err != nil {
			c.shutdown(err)
			return
		}
		resp, err := iproto.DecodeResponse(pkt)
		if err != nil {
			c.shutdown(err)
			return
		}
		if resp.Type == box.TypeChunk {
			continue
		}
		c.mu.Lock()
		f := c.pending[resp.Sync]
		delete(c.pending, resp.Sync)
		c.mu.Unlock()
		if f == nil {
			continue // the answer to an abandoned request
		}
		f.complete(resp, resp.Err())
	}
}

func (c *Conn) writeLoop() {
	defer c.wg.Done()
	bw := bufio.NewWriterSize(c.nc, writeBufferSize)
	for {
		select {
		case pkt := <-c.out:
			if err := c.writeBatch(bw, pkt); err != nil {
				c.shutdown(err)
				return
			}
		case <-c.done:
			return
		}
	}
}

// writeBatch writes pkt and whatever else is queued, then flushes once.
func (c *Conn) writeBatch(bw *bufio.Writer, pkt []byte) error {
	for {
		if _, err := bw.Write(pkt); err != nil {
			return err
		}
		select {
		case pkt = <-c.out:
		default:
			return bw.Flush()
		}
	}
}

// Future is the pending response to a request sent with Send.
type Future struct {
	sync    uint64
	typ     box.RowType
	timeout time.Duration
	done    chan struct{}
	resp    *iproto.Response
	err     error
}

func (f *Future) complete(resp *iproto.Response, err error) {
	f.resp, f.err = resp, err
	close(f.done)
}

// Sync returns the request's sync id.
func (f *Future) Sync() uint64 { return f.sync }

// Done is closed when the response has arrived or the request failed.
func (f *Future) Done() <-chan struct{} { return f.done }

// Wait waits for the response, at most until ctx ends or the connection's
// timeout passes. A server error is returned as *Error together with the
// response. Wait may be called again after a timeout.
func (f *Future) Wait(ctx context.Context) (*iproto.Response, error) {
	select {
	case <-f.done:
		return f.resp, f.err
	default:
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	select {
	case <-f.done:
		return f.resp, f.err
	case <-ctx.Done():
		return nil, &WaitError{Type: f.typ, Sync: f.sync, Err: ctx.Err()}
	}
}

// WaitError reports that a response did not arrive in time. It unwraps to
// the context's error (context.DeadlineExceeded or context.Canceled).
type WaitError struct {
	Type box.RowType
	Sync uint64
	Err  error
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("iproto: %s request (sync %d): %v", e.Type.RequestName(), e.Sync, e.Err)
}

func (e *WaitError) Unwrap() error { return e.Err }

// Timeout reports true: the wait ended before the response arrived.
func (e *WaitError) Timeout() bool { return errors.Is(e.Err, context.DeadlineExceeded) }
