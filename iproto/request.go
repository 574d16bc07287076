package iproto

import (
	"reflect"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/xlogtool/xlogtool/box"
)

// Request is one IPROTO request: a type code and a body.
//
// EncodeBody writes the body (normally one MessagePack map) with enc, or
// nothing for a request without a body. The encoder writes non-negative
// integers as MessagePack unsigned integers, as Tarantool requires.
type Request interface {
	Type() box.RowType
	EncodeBody(enc *msgpack.Encoder) error
}

// PingRequest checks that the server is alive. It has no body.
type PingRequest struct{}

// SelectRequest reads tuples from an index.
type SelectRequest struct {
	Space, Index  uint32
	Key           any // a MessagePack array; nil means [] (all tuples)
	Limit, Offset uint32
	Iterator      box.Iterator
}

// InsertRequest inserts a tuple; it fails when the primary key exists.
type InsertRequest struct {
	Space uint32
	Tuple any
}

// ReplaceRequest inserts or replaces a tuple.
type ReplaceRequest struct {
	Space uint32
	Tuple any
}

// UpdateRequest applies update operations ([["=", field, value], ...]) to
// the tuple with the given key. Field numbers are 0-based unless IndexBase
// is 1.
type UpdateRequest struct {
	Space, Index uint32
	Key          any
	Ops          any
	IndexBase    uint32
}

// DeleteRequest deletes the tuple with the given key.
type DeleteRequest struct {
	Space, Index uint32
	Key          any
}

// UpsertRequest inserts Tuple, or applies Ops to the existing tuple with the
// same primary key.
type UpsertRequest struct {
	Space     uint32
	Tuple     any
	Ops       any
	IndexBase uint32
}

// CallRequest calls a stored function with the arguments Args (an array;
// nil means none).
type CallRequest struct {
	Function string
	Args     any
}

// EvalRequest evaluates a Lua chunk; its arguments are available as "...".
type EvalRequest struct {
	Expr string
	Args any
}

// RawRequest sends a body that is already MessagePack-encoded, exactly as
// given. A nil Body sends a request without a body.
type RawRequest struct {
	Code box.RowType
	Body []byte
}

// BeginRequest starts a transaction in a stream (2.10+ servers).
// Zero values leave the server's defaults.
type BeginRequest struct {
	Timeout   time.Duration
	Isolation box.Isolation
}

// CommitRequest commits the transaction of a stream.
type CommitRequest struct{}

// RollbackRequest rolls back the transaction of a stream.
type RollbackRequest struct{}

// authRequest authenticates with chap-sha1.
type authRequest struct {
	user     string
	scramble []byte
}

func (PingRequest) Type() box.RowType     { return box.TypePing }
func (SelectRequest) Type() box.RowType   { return box.TypeSelect }
func (InsertRequest) Type() box.RowType   { return box.TypeInsert }
func (ReplaceRequest) Type() box.RowType  { return box.TypeReplace }
func (UpdateRequest) Type() box.RowType   { return box.TypeUpdate }
func (DeleteRequest) Type() box.RowType   { return box.TypeDelete }
func (UpsertRequest) Type() box.RowType   { return box.TypeUpsert }
func (CallRequest) Type() box.RowType     { return box.TypeCall }
func (EvalRequest) Type() box.RowType     { return box.TypeEval }
func (r RawRequest) Type() box.RowType    { return r.Code }
func (BeginRequest) Type() box.RowType    { return box.TypeBegin }
func (CommitRequest) Type() box.RowType   { return box.TypeCommit }
func (RollbackRequest) Type() box.RowType { return box.TypeTxRollback }
func (authRequest) Type() box.RowType     { return box.TypeAuth }

// EncodeBody writes nothing: PING has no body.
func (PingRequest) EncodeBody(*msgpack.Encoder) error { return nil }

// EncodeBody writes nothing: COMMIT has no body.
func (CommitRequest) EncodeBody(*msgpack.Encoder) error { return nil }

// EncodeBody writes nothing: ROLLBACK has no body.
func (RollbackRequest) EncodeBody(*msgpack.Encoder) error { return nil }

// EncodeBody writes the SELECT body.
func (r SelectRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc,
		uintField(box.KeySpaceID, uint64(r.Space)),
		uintField(box.KeyIndexID, uint64(r.Index)),
		uintField(box.KeyLimit, uint64(r.Limit)),
		uintField(box.KeyOffset, uint64(r.Offset)),
		uintField(box.KeyIterator, uint64(r.Iterator)),
		arrayField(box.KeyKey, r.Key))
}

// EncodeBody writes the INSERT body.
func (r InsertRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc, uintField(box.KeySpaceID, uint64(r.Space)), arrayField(box.KeyTuple, r.Tuple))
}

// EncodeBody writes the REPLACE body.
func (r ReplaceRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc, uintField(box.KeySpaceID, uint64(r.Space)), arrayField(box.KeyTuple, r.Tuple))
}

// EncodeBody writes the UPDATE body (operations under key 0x21).
func (r UpdateRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc,
		uintField(box.KeySpaceID, uint64(r.Space)),
		uintField(box.KeyIndexID, uint64(r.Index)),
		indexBaseField(r.IndexBase),
		arrayField(box.KeyKey, r.Key),
		arrayField(box.KeyTuple, r.Ops))
}

// EncodeBody writes the DELETE body.
func (r DeleteRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc,
		uintField(box.KeySpaceID, uint64(r.Space)),
		uintField(box.KeyIndexID, uint64(r.Index)),
		arrayField(box.KeyKey, r.Key))
}

// EncodeBody writes the UPSERT body (operations under key 0x28).
func (r UpsertRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc,
		uintField(box.KeySpaceID, uint64(r.Space)),
		indexBaseField(r.IndexBase),
		arrayField(box.KeyTuple, r.Tuple),
		arrayField(box.KeyOps, r.Ops))
}

// EncodeBody writes the CALL body.
func (r CallRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc, stringField(box.KeyFunctionName, r.Function), arrayField(box.KeyTuple, r.Args))
}

// EncodeBody writes the EVAL body.
func (r EvalRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc, stringField(box.KeyExpr, r.Expr), arrayField(box.KeyTuple, r.Args))
}

// EncodeBody writes Body unchanged.
func (r RawRequest) EncodeBody(enc *msgpack.Encoder) error {
	if len(r.Body) == 0 {
		return nil
	}
	_, err := enc.Writer().Write(r.Body)
	return err
}

// EncodeBody writes the BEGIN body: TIMEOUT (seconds, double) and
// TXN_ISOLATION when set.
func (r BeginRequest) EncodeBody(enc *msgpack.Encoder) error {
	var fields []field
	if r.Timeout > 0 {
		fields = append(fields, func(enc *msgpack.Encoder) error {
			if err := enc.EncodeUint(box.KeyTimeout); err != nil {
				return err
			}
			return enc.EncodeFloat64(r.Timeout.Seconds())
		})
	}
	if r.Isolation != box.IsolationDefault {
		fields = append(fields, uintField(box.KeyIsolation, uint64(r.Isolation)))
	}
	if len(fields) == 0 {
		return nil
	}
	return encodeMap(enc, fields...)
}

// EncodeBody writes the AUTH body: user name and ["chap-sha1", scramble].
func (r authRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc, stringField(box.KeyUserName, r.user), func(enc *msgpack.Encoder) error {
		if err := enc.EncodeUint(box.KeyTuple); err != nil {
			return err
		}
		if err := enc.EncodeArrayLen(2); err != nil {
			return err
		}
		if err := enc.EncodeString("chap-sha1"); err != nil {
			return err
		}
		return enc.EncodeString(string(r.scramble))
	})
}

// field writes one key and its value; a nil field is skipped.
type field func(enc *msgpack.Encoder) error

func encodeMap(enc *msgpack.Encoder, fields ...field) error {
	n := 0
	for _, f := range fields {
		if f != nil {
			n++
		}
	}
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	for _, f := range fields {
		if f == nil {
			continue
		}
		if err := f(enc); err != nil {
			return err
		}
	}
	return nil
}

func uintField(key, v uint64) field {
	return func(enc *msgpack.Encoder) error {
		if err := enc.EncodeUint(key); err != nil {
			return err
		}
		return enc.EncodeUint(v)
	}
}

func stringField(key uint64, s string) field {
	return func(enc *msgpack.Encoder) error {
		if err := enc.EncodeUint(key); err != nil {
			return err
		}
		return enc.EncodeString(s)
	}
}

// arrayField writes v, or an empty array for nil (also a nil slice).
func arrayField(key uint64, v any) field {
	return func(enc *msgpack.Encoder) error {
		if err := enc.EncodeUint(key); err != nil {
			return err
		}
		if v == nil {
			return enc.EncodeArrayLen(0)
		}
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
			return enc.EncodeArrayLen(0)
		}
		return enc.Encode(v)
	}
}

// indexBaseField writes INDEX_BASE only when it is not the default 0.
func indexBaseField(base uint32) field {
	if base == 0 {
		return nil
	}
	return uintField(box.KeyIndexBase, uint64(base))
}
