// Package client is a client for Tarantool's binary protocol, built on the
// codec of package iproto.
//
// Dial connects, reads the 128-byte greeting and, when a user other than
// guest is given, authenticates with chap-sha1. A Conn multiplexes requests
// by their sync id: Send writes a request and returns a Future at once, so
// many requests can be in flight on one connection (pipelining); Do sends one
// request and waits for its response.
//
// Requests are iproto's request values (iproto.SelectRequest, ...); Conn
// has shortcuts for the common ones. Streams (interactive transactions)
// need a 2.10 or newer server; Conn.SupportsStreams tells.
//
// A server error arrives as *iproto.Error. Closing the connection, or
// losing it, fails every pending request with an error that matches
// ErrClosed.
package client
