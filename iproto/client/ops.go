package client

import (
	"context"
	"fmt"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/iproto"
)

// Ping checks that the server answers.
func (c *Conn) Ping(ctx context.Context) error {
	_, err := c.Do(ctx, iproto.PingRequest{})
	return err
}

// Select reads up to limit tuples from an index, starting at offset.
func (c *Conn) Select(ctx context.Context, space, index uint32, key any, limit, offset uint32, it box.Iterator) ([]any, error) {
	return c.data(ctx, iproto.SelectRequest{Space: space, Index: index, Key: key, Limit: limit, Offset: offset, Iterator: it})
}

// Insert inserts tuple and returns the inserted tuple.
func (c *Conn) Insert(ctx context.Context, space uint32, tuple any) ([]any, error) {
	return c.data(ctx, iproto.InsertRequest{Space: space, Tuple: tuple})
}

// Replace inserts or replaces tuple and returns the new tuple.
func (c *Conn) Replace(ctx context.Context, space uint32, tuple any) ([]any, error) {
	return c.data(ctx, iproto.ReplaceRequest{Space: space, Tuple: tuple})
}

// Update applies ops to the tuple with key and returns the new tuple
// (no tuple when the key does not exist).
func (c *Conn) Update(ctx context.Context, space, index uint32, key, ops any, indexBase uint32) ([]any, error) {
	return c.data(ctx, iproto.UpdateRequest{Space: space, Index: index, Key: key, Ops: ops, IndexBase: indexBase})
}

// Delete deletes the tuple with key and returns it.
func (c *Conn) Delete(ctx context.Context, space, index uint32, key any) ([]any, error) {
	return c.data(ctx, iproto.DeleteRequest{Space: space, Index: index, Key: key})
}

// Upsert inserts tuple or applies ops to the existing tuple.
func (c *Conn) Upsert(ctx context.Context, space uint32, tuple, ops any, indexBase uint32) error {
	_, err := c.Do(ctx, iproto.UpsertRequest{Space: space, Tuple: tuple, Ops: ops, IndexBase: indexBase})
	return err
}

// Call calls a stored function and returns its results.
func (c *Conn) Call(ctx context.Context, function string, args ...any) ([]any, error) {
	return c.data(ctx, iproto.CallRequest{Function: function, Args: args})
}

// Eval evaluates a Lua chunk and returns its results.
func (c *Conn) Eval(ctx context.Context, expr string, args ...any) ([]any, error) {
	return c.data(ctx, iproto.EvalRequest{Expr: expr, Args: args})
}

func (c *Conn) data(ctx context.Context, req iproto.Request) ([]any, error) {
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Data()
}

// Stream is a stream of a connection: requests sent through it carry its
// stream id, and the server runs them one after another, so a stream can
// hold an interactive transaction (Begin ... Commit). Needs a 2.10+ server.
type Stream struct {
	conn *Conn
	id   uint64
}

// NewStream returns a new stream with a connection-unique id.
func (c *Conn) NewStream() (*Stream, error) {
	if !c.SupportsStreams() {
		return nil, fmt.Errorf("iproto: server %s does not support streams (2.10+ needed)", c.Version())
	}
	return &Stream{conn: c, id: c.lastStream.Add(1)}, nil
}

// ID returns the stream id sent in header key 0x0a.
func (s *Stream) ID() uint64 { return s.id }

// Send writes req in the stream and returns at once.
func (s *Stream) Send(req iproto.Request) *Future { return s.conn.send(req, s.id) }

// Do sends req in the stream and waits for its response.
func (s *Stream) Do(ctx context.Context, req iproto.Request) (*iproto.Response, error) {
	return s.conn.do(ctx, req, s.id)
}

// Begin starts a transaction; zero timeout and IsolationDefault leave the
// server's defaults.
func (s *Stream) Begin(ctx context.Context, timeout time.Duration, isolation box.Isolation) error {
	_, err := s.Do(ctx, iproto.BeginRequest{Timeout: timeout, Isolation: isolation})
	return err
}

// Commit commits the stream's transaction.
func (s *Stream) Commit(ctx context.Context) error {
	_, err := s.Do(ctx, iproto.CommitRequest{})
	return err
}

// Rollback rolls the stream's transaction back.
func (s *Stream) Rollback(ctx context.Context) error {
	_, err := s.Do(ctx, iproto.RollbackRequest{})
	return err
}
