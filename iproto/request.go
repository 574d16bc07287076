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
	IsSync    bool // 3.x: the transaction is synchronous (key IS_SYNC)
}

// CommitRequest commits the transaction of a stream.
type CommitRequest struct {
	IsSync bool // 3.x: wait for the quorum (key IS_SYNC)
}

// RollbackRequest rolls back the transaction of a stream.
type RollbackRequest struct{}

// AuthRequest authenticates a user: USER_NAME and TUPLE [method,
// scramble]. An empty Method is chap-sha1. A request without a scramble
// (TUPLE []) is how guest authenticates.
type AuthRequest struct {
	User     string
	Method   string
	Scramble []byte
}

// Call16Request calls a stored function with the 1.6 conventions
// (CALL_16): every return value is converted to a tuple.
type Call16Request struct {
	Function string
	Args     any
}

// ExecuteRequest runs an SQL statement, given as text or as the id of a
// prepared statement (StmtID, when SQLText is empty).
type ExecuteRequest struct {
	SQLText string
	StmtID  uint64
	Bind    any // an array of values; nil means none
	Options any // an array; nil means none
}

// PrepareRequest prepares an SQL statement (or unprepares one by id).
type PrepareRequest struct {
	SQLText string
	StmtID  uint64
}

// IDRequest tells the server the client's protocol version and features
// (2.10+). The server answers with a body of the same keys.
type IDRequest struct {
	Version  uint64
	Features []uint64
	AuthType string // empty: not sent
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
func (AuthRequest) Type() box.RowType     { return box.TypeAuth }
func (Call16Request) Type() box.RowType   { return box.TypeCall16 }
func (ExecuteRequest) Type() box.RowType  { return box.TypeExecute }
func (PrepareRequest) Type() box.RowType  { return box.TypePrepare }
func (IDRequest) Type() box.RowType       { return box.TypeID }

// EncodeBody writes nothing: PING has no body.
func (PingRequest) EncodeBody(*msgpack.Encoder) error { return nil }

// EncodeBody writes nothing, or IS_SYNC when set.
func (r CommitRequest) EncodeBody(enc *msgpack.Encoder) error {
	if !r.IsSync {
		return nil
	}
	return encodeMap(enc, boolField(box.KeyIsSync, true))
}

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
	if r.IsSync {
		fields = append(fields, boolField(box.KeyIsSync, true))
	}
	if len(fields) == 0 {
		return nil
	}
	return encodeMap(enc, fields...)
}

// EncodeBody writes the AUTH body: user name and [method, scramble], or
// an empty TUPLE without a scramble.
func (r AuthRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc, stringField(box.KeyUserName, r.User), func(enc *msgpack.Encoder) error {
		if err := enc.EncodeUint(box.KeyTuple); err != nil {
			return err
		}
		if r.Scramble == nil {
			return enc.EncodeArrayLen(0)
		}
		if err := enc.EncodeArrayLen(2); err != nil {
			return err
		}
		method := r.Method
		if method == "" {
			method = "chap-sha1"
		}
		if err := enc.EncodeString(method); err != nil {
			return err
		}
		return enc.EncodeString(string(r.Scramble))
	})
}

// EncodeBody writes the CALL_16 body.
func (r Call16Request) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc, stringField(box.KeyFunctionName, r.Function), arrayField(box.KeyTuple, r.Args))
}

// EncodeBody writes the EXECUTE body: SQL_TEXT or STMT_ID, SQL_BIND and
// OPTIONS.
func (r ExecuteRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc, sqlField(r.SQLText, r.StmtID), arrayField(box.KeySQLBind, r.Bind), arrayField(box.KeyOptions, r.Options))
}

// EncodeBody writes the PREPARE body: SQL_TEXT or STMT_ID.
func (r PrepareRequest) EncodeBody(enc *msgpack.Encoder) error {
	return encodeMap(enc, sqlField(r.SQLText, r.StmtID))
}

func sqlField(text string, id uint64) field {
	if text == "" {
		return uintField(box.KeyStmtID, id)
	}
	return stringField(box.KeySQLText, text)
}

// EncodeBody writes the ID body: VERSION, FEATURES and AUTH_TYPE when set.
func (r IDRequest) EncodeBody(enc *msgpack.Encoder) error {
	features := func(enc *msgpack.Encoder) error {
		if err := enc.EncodeUint(box.KeyFeatures); err != nil {
			return err
		}
		if err := enc.EncodeArrayLen(len(r.Features)); err != nil {
			return err
		}
		for _, f := range r.Features {
			if err := enc.EncodeUint(f); err != nil {
				return err
			}
		}
		return nil
	}
	var auth field
	if r.AuthType != "" {
		auth = stringField(box.KeyAuthType, r.AuthType)
	}
	return encodeMap(enc, uintField(box.KeyVersion, r.Version), features, auth)
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

func boolField(key uint64, v bool) field {
	return func(enc *msgpack.Encoder) error {
		if err := enc.EncodeUint(key); err != nil {
			return err
		}
		return enc.EncodeBool(v)
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
