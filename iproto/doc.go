// Package iproto is a client for Tarantool's binary protocol (IPROTO).
//
// Dial connects, reads the 128-byte greeting and, when a user other than
// guest is given, authenticates with chap-sha1. A Conn multiplexes requests
// by their sync id: Send writes a request and returns a Future at once, so
// many requests can be in flight on one connection (pipelining); Do sends one
// request and waits for its response.
//
// Requests are small values (Select, Insert, Replace, Update, Delete, Upsert,
// Call, Eval, Ping, Begin, Commit, Rollback) whose bodies are encoded with
// MessagePack; Raw sends a body that is already encoded, byte for byte, which
// is how rows read from .xlog files are replayed. Streams (interactive
// transactions) need a 2.10 or newer server; Conn.SupportsStreams tells.
//
// A server error arrives as *Error, carrying the error code, its name
// (ER_TUPLE_FOUND, ...), the message and, from 2.4.1 on, the error stack.
// Closing the connection, or losing it, fails every pending request with an
// error that matches ErrClosed.
package iproto
