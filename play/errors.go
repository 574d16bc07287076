package play

import (
	"errors"
	"fmt"
	"strings"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
)

// ReadError reports a file that could not be read to its end: it is
// damaged (without Force) or unreadable. Rows before the damage were played.
type ReadError struct {
	File string
	Err  error
}

func (e *ReadError) Error() string {
	if fe, ok := format.AsError(e.Err); ok && fe.File != "" {
		return fe.Error()
	}
	return e.File + ": " + e.Err.Error()
}

func (e *ReadError) Unwrap() error { return e.Err }

// RequestError reports the first request the server rejected, or left
// without an answer.
type RequestError struct {
	// Request is the request type: INSERT, REPLACE, UPDATE, DELETE,
	// UPSERT, or BEGIN/COMMIT of a stream transaction.
	Request string
	// Row is the row sent; for BEGIN and COMMIT the transaction's first row.
	Row  *format.Row
	File string
	// Snapshot: the row comes from a snapshot, whose LSNs are ordinals;
	// Ordinal is the row's number in the file, from 1.
	Snapshot bool
	Ordinal  uint64
	// TxRows is the number of rows the transaction sent.
	TxRows int
	Err    error
}

func (e *RequestError) Error() string {
	var b strings.Builder
	r := e.Row
	switch e.Request {
	case "BEGIN", "COMMIT":
		fmt.Fprintf(&b, "%s of the transaction of %d rows at replica %d, TSN %d (first row: %s offset %d)",
			e.Request, e.TxRows, r.ReplicaID, r.TSN, e.File, r.Pos.FileOffset())
	default:
		b.WriteString(e.Request)
		if sid, ok := r.SpaceID(); ok {
			fmt.Fprintf(&b, " into space %d", sid)
		}
		if e.Snapshot {
			fmt.Fprintf(&b, " (snapshot row %d, %s offset %d)", e.Ordinal, e.File, r.Pos.FileOffset())
		} else {
			fmt.Fprintf(&b, " (replica %d, LSN %d, %s offset %d)", r.ReplicaID, r.LSN, e.File, r.Pos.FileOffset())
		}
	}
	if se, ok := e.ServerError(); ok {
		fmt.Fprintf(&b, " was rejected: %s (code %d): %s", se.Name(), se.Code, se.Message)
	} else {
		fmt.Fprintf(&b, " got no answer (its effect is unknown): %v", e.Err)
	}
	return b.String()
}

func (e *RequestError) Unwrap() error { return e.Err }

// ServerError returns the server's error, when the server answered.
func (e *RequestError) ServerError() (*iproto.Error, bool) {
	var se *iproto.Error
	ok := errors.As(e.Err, &se)
	return se, ok
}

func (p *Player) requestError(pd pending, err error) *RequestError {
	it := pd.item
	i := pd.idx
	if i < 0 {
		i = 0
	}
	e := &RequestError{Row: it.rows[i], File: it.rows[i].Pos.File, Snapshot: it.snap, Ordinal: it.ord, TxRows: len(it.rows), Err: err}
	switch pd.kind {
	case kindBegin:
		e.Request = "BEGIN"
	case kindCommit:
		e.Request = "COMMIT"
	default:
		e.Request = e.Row.Type.String()
	}
	return e
}
