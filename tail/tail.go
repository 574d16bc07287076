// Package tail follows a live Tarantool server as an anonymous replica: it
// subscribes to the server's replication stream (FORMAT.md §7), assembles
// the rows it receives into whole transactions and hands each one to the
// caller, acknowledging the server's heartbeats so the connection stays up.
//
// An anonymous replica never appears in the server's _cluster and writes
// nothing there. Its acknowledgements must not count in the server's
// synchronous quorum either: the subscription carries a SERVER_VERSION (a
// 2.6 relay without one treats every row it has sent as acknowledged) and
// each ACK leaves out the server's own vclock component, the one a 2.6
// master counts for its synchronous queue (see Ack).
//
// Without Follow, a Stream ends once it has received every row up to the
// vclock the server reported when the subscription started. With Follow it
// runs until its context ends, and a lost connection is re-established with
// backoff, resuming after the last complete transaction: no row is handed
// over twice and none is skipped.
package tail

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// Source is one server to follow.
type Source struct {
	// Name identifies the source in output and messages.
	Name string
	// Addr is the address in iproto form ("host:port", "unix/:/path").
	Addr           string
	User, Password string
}

// Options configure a Stream.
type Options struct {
	// From is where to start: rows after this vclock are received. Nil
	// starts from the server's vclock at the first connect (new rows only).
	From *format.VClock
	// Follow keeps streaming (and reconnecting) until the context ends.
	Follow bool
	// Snapshot fetches the server's data first (FETCH_SNAPSHOT) and
	// streams from the snapshot's vclock; From is ignored.
	Snapshot bool
	// InstanceUUID is the UUID the stream subscribes with; empty: a random
	// one, kept across reconnects.
	InstanceUUID string
	// DialTimeout bounds connecting, authenticating and each request
	// before SUBSCRIBE (default 10 s); IdleTimeout is how long the stream
	// may stay silent before the connection counts as lost (default 30 s;
	// the server sends a heartbeat every replication_timeout, 1 s by
	// default).
	DialTimeout, IdleTimeout time.Duration
	// AckInterval is how often the stream acknowledges besides after each
	// heartbeat and as transactions arrive (default 1 s).
	AckInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnects
	// (defaults 100 ms and 5 s).
	MinBackoff, MaxBackoff time.Duration
	// Log receives one line per notable event (reconnects); nil: none.
	Log io.Writer
	// Schema reads the server's _space before each SUBSCRIBE into
	// Info.Spaces (for checks that must know the synchronous spaces when
	// the stream starts in the middle of history).
	Schema bool
}

// Kind tells what a Tx holds.
type Kind int

const (
	// KindStream: a transaction of the server's WAL.
	KindStream Kind = iota
	// KindSnapshot: a batch of rows of the server's data (FETCH_SNAPSHOT),
	// INSERT rows without LSN.
	KindSnapshot
	// KindSnapshotEnd: the server's data has been sent in full (no rows).
	KindSnapshotEnd
)

// Tx is one whole transaction received, or a batch of snapshot rows.
type Tx struct {
	Kind Kind
	// Rows are the transaction's rows, without the stream's sync. They and
	// their bytes are valid only during the callback.
	Rows []*format.Row
	// VClock is the stream's position after this transaction (for a
	// snapshot batch: the vclock of the snapshot).
	VClock format.VClock
	// Info is what the stream knows of its server (valid during the
	// callback): for snapshot batches, which come before Connected, the
	// way to learn the server's instance UUID and version.
	Info *Info
}

// Info is what the stream learnt about its server.
type Info struct {
	Version        box.Version
	InstanceUUID   string
	ReplicasetUUID string
	// ReplicaID is the server's replica id (from the SUBSCRIBE answer).
	ReplicaID uint32
	// Target is the server's vclock at the last SUBSCRIBE: without
	// Follow the stream ends once it gets there.
	Target format.VClock
	// Start is the vclock the last SUBSCRIBE started after.
	Start format.VClock
	// Spaces are the server's _space tuples (MessagePack) read just
	// before the SUBSCRIBE, with Options.Schema.
	Spaces [][]byte
}

// Handler receives transactions and events of one stream, from the
// stream's goroutine. An error from a method ends the stream with it.
type Handler interface {
	// Connected is called after each successful SUBSCRIBE.
	Connected(info Info, reconnect bool) error
	// Tx is called for every transaction, in the order received.
	Tx(tx *Tx) error
}

// Stream follows one source.
type Stream struct {
	src  Source
	opts Options
	h    Handler

	uuid   string
	vclock format.VClock // after the last complete transaction
	known  bool          // vclock is set (From given, or learnt)
	info   Info
	asm    assembler
	// received: the current session has handed over a transaction.
	received bool
}

// New returns a stream of src that reports to h.
func New(src Source, opts Options, h Handler) *Stream {
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 30 * time.Second
	}
	if opts.AckInterval <= 0 {
		opts.AckInterval = time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	s := &Stream{src: src, opts: opts, h: h, uuid: opts.InstanceUUID}
	if s.uuid == "" {
		s.uuid = newUUID()
	}
	if opts.From != nil {
		s.vclock, s.known = *opts.From, true
	}
	return s
}

// VClock returns the position after the last complete transaction.
func (s *Stream) VClock() format.VClock { return s.vclock }

// Run streams until the target is reached (without Follow), the context
// ends (nil error) or an error that reconnecting cannot cure.
func (s *Stream) Run(ctx context.Context) error {
	backoff := s.opts.MinBackoff
	sessions := 0
	for {
		s.received = false
		progressed, err := s.session(ctx, sessions > 0)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		var done *doneError
		if errors.As(err, &done) {
			return nil
		}
		if !s.opts.Follow || sessions == 0 && !progressed || permanent(err) {
			return err
		}
		if s.received {
			backoff = s.opts.MinBackoff // the last session streamed something
		}
		s.logf("%s: %v; reconnecting in %v", s.src.Name, err, backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, s.opts.MaxBackoff)
		sessions++
	}
}

// doneError ends a session that reached its target.
type doneError struct{}

func (*doneError) Error() string { return "target reached" }

func (s *Stream) logf(f string, a ...any) {
	if s.opts.Log != nil {
		fmt.Fprintf(s.opts.Log, f+"\n", a...)
	}
}

// permanent reports errors that reconnecting does not cure.
func permanent(err error) bool {
	var se *iproto.Error
	if errors.As(err, &se) {
		switch se.Code {
		case box.ErrAccessDenied, box.ErrPasswordMismatch, box.ErrNoSuchUser,
			box.ErrXlogGap, box.ErrUnsupported:
			return true
		}
		return isXlogGap(se)
	}
	var pe *ProtocolError
	var he *HandlerError
	var ge *GapError
	return errors.As(err, &pe) || errors.As(err, &he) || errors.As(err, &ge)
}

// HandlerError carries an error returned by the Handler: it ends the
// stream, reconnecting does not help.
type HandlerError struct{ Err error }

func (e *HandlerError) Error() string { return e.Err.Error() }
func (e *HandlerError) Unwrap() error { return e.Err }

// ProtocolError reports a peer that does not behave as a Tarantool server.
type ProtocolError struct {
	Source string
	Err    error
}

func (e *ProtocolError) Error() string { return fmt.Sprintf("%s: %v", e.Source, e.Err) }
func (e *ProtocolError) Unwrap() error { return e.Err }

// session runs one connection. progressed tells whether it got as far as
// a successful SUBSCRIBE.
func (s *Stream) session(ctx context.Context, reconnect bool) (progressed bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	conn, err := client.DialReplication(dctx, s.src.Addr, client.Options{User: s.src.User, Password: s.src.Password})
	cancel()
	if err != nil {
		return false, classify(s.src.Name, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	g := conn.Greeting()
	s.info.Version, s.info.InstanceUUID = g.Version, g.InstanceUUID
	bl, err := s.ballot(ctx, conn)
	if err != nil {
		return false, err
	}
	if !s.known {
		s.vclock, s.known = bl.VClock, true
	}
	if !s.opts.Snapshot || reconnect {
		if gap := walGap(s.vclock, bl.GCVClock); gap != "" {
			return false, &GapError{Source: s.src.Name, From: s.vclock, Oldest: bl.GCVClock}
		}
	}
	if s.opts.Snapshot && !reconnect {
		if err := s.fetchSnapshot(ctx, conn); err != nil {
			return false, err
		}
	}
	if s.info.ReplicasetUUID == "" {
		s.info.ReplicasetUUID = s.replicasetUUID(ctx, conn)
	}
	if s.opts.Schema {
		spaces, err := s.spaces(ctx, conn)
		if err != nil {
			return false, fmt.Errorf("%s: read _space: %w", s.src.Name, err)
		}
		s.info.Spaces = spaces
	}
	return s.subscribe(ctx, conn, reconnect)
}

// classify wraps errors of the peer's answers.
func classify(name string, err error) error {
	if errors.Is(err, client.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || os.IsTimeout(err) {
		return fmt.Errorf("%s: connection lost: %w", name, err)
	}
	var ge *client.GreetingError
	if errors.As(err, &ge) {
		return &ProtocolError{Source: name, Err: err}
	}
	return fmt.Errorf("%s: %w", name, err)
}

// ballot asks for the server's ballot (VOTE): its vclock and the oldest
// vclock its WAL still has.
func (s *Stream) ballot(ctx context.Context, conn *client.ReplicationConn) (iproto.Ballot, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	defer cancel()
	resp, err := conn.Call(ctx, iproto.VoteRequest{})
	if err != nil {
		return iproto.Ballot{}, fmt.Errorf("%s: VOTE: %w", s.src.Name, err)
	}
	bl, err := iproto.DecodeBallot(resp.Body, s.info.Version)
	if err != nil {
		return iproto.Ballot{}, &ProtocolError{Source: s.src.Name, Err: err}
	}
	return bl, nil
}

// walGap describes the rows between from and the oldest vclock the
// server's WAL has, "" when it has everything after from. (2.6.0 relays
// asked for rows older than their WAL may wait silently instead of
// answering ER_XLOG_GAP.)
func walGap(from, oldest format.VClock) string {
	var parts []string
	oldest.Each(func(id uint32, lsn uint64) {
		if id != 0 && lsn > from.Get(id) {
			parts = append(parts, fmt.Sprintf("%d:%d-%d", id, from.Get(id)+1, lsn))
		}
	})
	return strings.Join(parts, ", ")
}

// GapError reports a start the server no longer has the WAL for.
type GapError struct {
	Source       string
	From, Oldest format.VClock
}

func (e *GapError) Error() string {
	return fmt.Sprintf("%s: the server no longer has the WAL files from vclock %s on (its oldest WAL starts at %s; rows %s are gone): start from its data with --snapshot",
		e.Source, e.From, e.Oldest, walGap(e.From, e.Oldest))
}

// replicasetUUID looks the replica set UUID up in _schema; "" when that
// fails (2.6 servers do not check it).
func (s *Stream) replicasetUUID(ctx context.Context, conn *client.ReplicationConn) string {
	ctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	defer cancel()
	key := "cluster"
	if s.info.Version.AtLeast(3, 0, 0) {
		key = "replicaset_uuid"
	}
	resp, err := conn.Call(ctx, iproto.SelectRequest{Space: box.SpaceSchema, Key: []any{key}, Limit: 1})
	if err != nil {
		return ""
	}
	var rows [][]any
	if err := resp.DecodeData(&rows); err != nil || len(rows) != 1 || len(rows[0]) < 2 {
		return ""
	}
	uuid, _ := rows[0][1].(string)
	return uuid
}

// spaces reads every _space tuple.
func (s *Stream) spaces(ctx context.Context, conn *client.ReplicationConn) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.DialTimeout)
	defer cancel()
	resp, err := conn.Call(ctx, iproto.SelectRequest{Space: box.SpaceSpace, Iterator: box.IterAll, Limit: 1 << 30})
	if err != nil {
		return nil, err
	}
	raw, ok, err := resp.Field(box.KeyData)
	if err != nil || !ok {
		return nil, fmt.Errorf("no data in the answer (%v)", err)
	}
	c := format.NewMPCursor(raw)
	n, err := c.ArrayLen()
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, n)
	for range n {
		t, err := c.Raw()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

const nilUUID = "00000000-0000-0000-0000-000000000000"

// subscribe sends SUBSCRIBE from the current vclock and reads the stream.
func (s *Stream) subscribe(ctx context.Context, conn *client.ReplicationConn, reconnect bool) (bool, error) {
	rsuuid := s.info.ReplicasetUUID
	if rsuuid == "" {
		rsuuid = nilUUID
	}
	sync, err := conn.Send(iproto.SubscribeRequest{
		ReplicasetUUID: rsuuid,
		InstanceUUID:   s.uuid,
		VClock:         s.vclock.WithoutLocal(),
		ServerVersion:  s.info.Version.ID(),
		Anon:           true,
	})
	if err != nil {
		return false, classify(s.src.Name, err)
	}
	conn.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
	var row format.Row
	if err := conn.ReadRow(&row); err != nil {
		return false, classify(s.src.Name, err)
	}
	if err := iproto.RowError(&row); err != nil {
		return false, s.subscribeError(err)
	}
	if row.Type != box.TypeOK || row.Sync != sync {
		return false, &ProtocolError{Source: s.src.Name, Err: fmt.Errorf("SUBSCRIBE answered with type %d, sync %d", row.Type, row.Sync)}
	}
	resp, err := iproto.DecodeSubscribeResponse(row.Body)
	if err != nil {
		return false, &ProtocolError{Source: s.src.Name, Err: err}
	}
	s.info.ReplicaID = row.ReplicaID
	s.info.Target = resp.VClock
	s.info.Start = s.vclock
	if resp.ReplicasetUUID != "" {
		s.info.ReplicasetUUID = resp.ReplicasetUUID
	}
	if err := s.h.Connected(s.info, reconnect); err != nil {
		return true, &HandlerError{Err: err}
	}
	if !s.opts.Follow && s.reached() {
		return true, &doneError{}
	}
	acker := newAcker(conn, s.opts.AckInterval, s.info.ReplicaID)
	defer acker.stop()
	acker.set(s.vclock)
	s.asm.reset()
	for {
		conn.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
		if err := conn.ReadRow(&row); err != nil {
			if ctx.Err() != nil {
				return true, nil
			}
			return true, classify(s.src.Name, err)
		}
		if err := iproto.RowError(&row); err != nil {
			return true, s.subscribeError(err)
		}
		if row.Type == box.TypeOK {
			hb, err := iproto.DecodeHeartbeat(row.Body)
			if err != nil {
				return true, &ProtocolError{Source: s.src.Name, Err: err}
			}
			acker.heartbeat(hb)
			continue
		}
		if row.ReplicaID != 0 && row.LSN <= s.vclock.Get(row.ReplicaID) && s.vclock.Has(row.ReplicaID) {
			continue // already received (a resent row)
		}
		row.Sync = 0
		tx, err := s.asm.add(&row)
		if err != nil {
			return true, &ProtocolError{Source: s.src.Name, Err: err}
		}
		if tx == nil {
			continue
		}
		for _, r := range tx.Rows {
			if r.ReplicaID != 0 {
				s.vclock.Follow(r.ReplicaID, r.LSN)
			}
		}
		tx.VClock = s.vclock
		s.received = true
		if err := s.h.Tx(tx); err != nil {
			return true, &HandlerError{Err: err}
		}
		acker.set(s.vclock)
		if !s.opts.Follow && s.reached() {
			return true, &doneError{}
		}
	}
}

// reached reports whether every row up to the target has arrived.
func (s *Stream) reached() bool {
	ok := true
	s.info.Target.Each(func(id uint32, lsn uint64) {
		if id != 0 && s.vclock.Get(id) < lsn {
			ok = false
		}
	})
	return ok
}

// subscribeError explains a server's refusal.
func (s *Stream) subscribeError(err error) error {
	var se *iproto.Error
	if errors.As(err, &se) {
		switch se.Code {
		case box.ErrAccessDenied:
			return fmt.Errorf("%s: %w (the user needs the replication role: box.schema.user.grant('%s', 'replication'), i.e. read on universe)",
				s.src.Name, err, userName(s.src.User))
		}
		if isXlogGap(se) {
			return fmt.Errorf("%s: %w: the server no longer has the WAL files from vclock %s on; start from its data with --snapshot",
				s.src.Name, err, s.vclock)
		}
	}
	return fmt.Errorf("%s: %w", s.src.Name, err)
}

// isXlogGap recognises the server's "no WAL from there" error: 2.6.0's
// relay sends it as ER_PROC_LUA with the message of ER_XLOG_GAP.
func isXlogGap(e *iproto.Error) bool {
	return e.Code == box.ErrXlogGap || strings.HasPrefix(e.Message, "Missing .xlog file between LSN")
}

func userName(u string) string {
	if u == "" {
		return "guest"
	}
	return u
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
