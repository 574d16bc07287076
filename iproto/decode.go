package iproto

import (
	"math"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// DecodeRequest decodes the body of a request of type typ (nil for a
// request without a body) as Tarantool 2.6.0 does: the body is a map, a
// known key with a value of the wrong MessagePack type is
// ER_INVALID_MSGPACK "Invalid MsgPack - packet body", a missing mandatory
// key ER_MISSING_REQUEST_FIELD, unknown keys are skipped. Errors are
// *box.Error, ready to be sent back. Arrays (keys, tuples, operations,
// arguments) are kept as msgpack.RawMessage, encoded exactly as received.
//
// It decodes PING, SELECT, INSERT, REPLACE, UPDATE, DELETE, UPSERT, CALL,
// CALL_16, EVAL, AUTH, EXECUTE, PREPARE, ID, BEGIN, COMMIT and ROLLBACK;
// any other type is ER_UNKNOWN_REQUEST_TYPE (replication requests have
// decoders of their own).
func DecodeRequest(typ box.RowType, body []byte) (Request, error) {
	var f fields
	if typ != box.TypePing && typ != box.TypeTxRollback {
		if err := f.parse(body); err != nil {
			return nil, err
		}
	}
	switch typ {
	case box.TypePing:
		return PingRequest{}, nil
	case box.TypeSelect:
		if err := f.require(box.KeySpaceID, box.KeyLimit, box.KeyKey); err != nil {
			return nil, err
		}
		return SelectRequest{Space: f.u32(box.KeySpaceID), Index: f.u32(box.KeyIndexID), Key: f.raw(box.KeyKey),
			Limit: f.u32(box.KeyLimit), Offset: f.u32(box.KeyOffset), Iterator: box.Iterator(f.u32(box.KeyIterator))}, nil
	case box.TypeInsert, box.TypeReplace, box.TypeUpdate, box.TypeDelete, box.TypeUpsert:
		d, err := f.dml(typ)
		if err != nil {
			return nil, err
		}
		return d.Request(), nil
	case box.TypeCall, box.TypeCall16:
		if err := f.require(box.KeyFunctionName); err != nil {
			return nil, err
		}
		if typ == box.TypeCall16 {
			return Call16Request{Function: f.str(box.KeyFunctionName), Args: f.raw(box.KeyTuple)}, nil
		}
		return CallRequest{Function: f.str(box.KeyFunctionName), Args: f.raw(box.KeyTuple)}, nil
	case box.TypeEval:
		if err := f.require(box.KeyExpr); err != nil {
			return nil, err
		}
		return EvalRequest{Expr: f.str(box.KeyExpr), Args: f.raw(box.KeyTuple)}, nil
	case box.TypeAuth:
		return decodeAuth(&f)
	case box.TypeExecute, box.TypePrepare:
		if f.has(box.KeySQLText) && f.has(box.KeyStmtID) {
			return nil, invalidBody()
		}
		if !f.has(box.KeySQLText) && !f.has(box.KeyStmtID) {
			return nil, missing(box.KeySQLText)
		}
		if typ == box.TypePrepare {
			return PrepareRequest{SQLText: f.str(box.KeySQLText), StmtID: f.u64(box.KeyStmtID)}, nil
		}
		return ExecuteRequest{SQLText: f.str(box.KeySQLText), StmtID: f.u64(box.KeyStmtID),
			Bind: f.raw(box.KeySQLBind), Options: f.raw(box.KeyOptions)}, nil
	case box.TypeID:
		return DecodeID(body)
	case box.TypeBegin:
		r := BeginRequest{Isolation: box.Isolation(f.u32(box.KeyIsolation)), IsSync: f.flag(box.KeyIsSync)}
		if f.has(box.KeyTimeout) {
			sec := f.num(box.KeyTimeout)
			if !(sec > 0) {
				return nil, invalidBody()
			}
			r.Timeout = time.Duration(math.MaxInt64)
			if sec < float64(math.MaxInt64)/float64(time.Second) {
				r.Timeout = max(time.Duration(sec*float64(time.Second)), 1)
			}
		}
		return r, nil
	case box.TypeCommit:
		return CommitRequest{IsSync: f.flag(box.KeyIsSync)}, nil
	case box.TypeTxRollback:
		return RollbackRequest{}, nil
	}
	return nil, box.NewError(box.ErrUnknownRequestType, uint32(typ))
}

// DML is a decoded INSERT, REPLACE, UPDATE, DELETE or UPSERT with its
// arrays raw, as received: what a server executes, without the
// allocations of a Request. Fields a type does not have are zero.
type DML struct {
	Type      box.RowType
	Space     uint32
	Index     uint32 // UPDATE, DELETE
	IndexBase uint32 // UPDATE, UPSERT
	Key       []byte // UPDATE, DELETE
	Tuple     []byte // INSERT, REPLACE, UPSERT; UPDATE: the operations
	Ops       []byte // UPSERT
}

// DecodeDML decodes the body of a DML request exactly as DecodeRequest
// does (the same checks and errors).
func DecodeDML(typ box.RowType, body []byte) (DML, error) {
	switch typ {
	case box.TypeInsert, box.TypeReplace, box.TypeUpdate, box.TypeDelete, box.TypeUpsert:
	default:
		return DML{}, box.NewError(box.ErrUnknownRequestType, uint32(typ))
	}
	var f fields
	if err := f.parse(body); err != nil {
		return DML{}, err
	}
	return f.dml(typ)
}

// dml checks and takes the values of a DML request.
func (f *fields) dml(typ box.RowType) (DML, error) {
	var need []uint64
	switch typ {
	case box.TypeInsert, box.TypeReplace:
		need = []uint64{box.KeySpaceID, box.KeyTuple}
	case box.TypeUpdate:
		need = []uint64{box.KeySpaceID, box.KeyKey, box.KeyTuple}
	case box.TypeDelete:
		need = []uint64{box.KeySpaceID, box.KeyKey}
	case box.TypeUpsert:
		need = []uint64{box.KeySpaceID, box.KeyTuple, box.KeyOps}
	}
	if err := f.require(need...); err != nil {
		return DML{}, err
	}
	d := DML{Type: typ, Space: f.u32(box.KeySpaceID)}
	switch typ {
	case box.TypeInsert, box.TypeReplace:
		d.Tuple = f.bytes(box.KeyTuple)
	case box.TypeUpdate:
		d.Index, d.Key, d.Tuple, d.IndexBase = f.u32(box.KeyIndexID), f.bytes(box.KeyKey), f.bytes(box.KeyTuple), f.u32(box.KeyIndexBase)
	case box.TypeDelete:
		d.Index, d.Key = f.u32(box.KeyIndexID), f.bytes(box.KeyKey)
	case box.TypeUpsert:
		d.Tuple, d.Ops, d.IndexBase = f.bytes(box.KeyTuple), f.bytes(box.KeyOps), f.u32(box.KeyIndexBase)
	}
	return d, nil
}

// Request returns the request as DecodeRequest returns it.
func (d DML) Request() Request {
	raw := func(b []byte) any {
		if b == nil {
			return nil
		}
		return msgpack.RawMessage(b)
	}
	switch d.Type {
	case box.TypeInsert:
		return InsertRequest{Space: d.Space, Tuple: raw(d.Tuple)}
	case box.TypeReplace:
		return ReplaceRequest{Space: d.Space, Tuple: raw(d.Tuple)}
	case box.TypeUpdate:
		return UpdateRequest{Space: d.Space, Index: d.Index, Key: raw(d.Key), Ops: raw(d.Tuple), IndexBase: d.IndexBase}
	case box.TypeDelete:
		return DeleteRequest{Space: d.Space, Index: d.Index, Key: raw(d.Key)}
	case box.TypeUpsert:
		return UpsertRequest{Space: d.Space, Tuple: raw(d.Tuple), Ops: raw(d.Ops), IndexBase: d.IndexBase}
	}
	return nil
}

func decodeAuth(f *fields) (Request, error) {
	if err := f.require(box.KeyUserName, box.KeyTuple); err != nil {
		return nil, err
	}
	r := AuthRequest{User: f.str(box.KeyUserName)}
	c := format.NewMPCursor(f.bytes(box.KeyTuple))
	n, err := c.ArrayLen()
	if err != nil {
		return nil, invalidBody()
	}
	switch {
	case n == 0:
		return r, nil // guest, without a scramble
	case n < 2:
		return nil, box.NewError(box.ErrInvalidMsgpack, "authentication request body")
	}
	if method, err := c.Bytes(); err == nil {
		r.Method = string(method)
	} else if err := c.Skip(); err != nil {
		return nil, box.NewError(box.ErrInvalidMsgpack, "authentication request body")
	}
	scramble, err := c.Bytes()
	if err != nil {
		return nil, box.NewError(box.ErrInvalidMsgpack, "authentication request body")
	}
	if len(scramble) != scrambleSize {
		return nil, box.NewError(box.ErrInvalidMsgpack, "invalid scramble size")
	}
	r.Scramble = scramble
	return r, nil
}

// DecodeID decodes the body of an ID request, or of the server's answer
// to one (the same keys).
func DecodeID(body []byte) (IDRequest, error) {
	var f fields
	if err := f.parse(body); err != nil {
		return IDRequest{}, err
	}
	r := IDRequest{Version: f.u64(box.KeyVersion), AuthType: f.str(box.KeyAuthType)}
	if v, ok := f.get(box.KeyFeatures); ok {
		c := format.NewMPCursor(v)
		n, _ := c.ArrayLen()
		for range n {
			id, err := c.Uint()
			if err != nil {
				return IDRequest{}, invalidBody()
			}
			r.Features = append(r.Features, id)
		}
	}
	return r, nil
}

// keyKinds are the MessagePack kinds request keys must have.
var keyKinds = map[uint64]format.MPKind{
	box.KeySpaceID: format.MPUint, box.KeyIndexID: format.MPUint, box.KeyLimit: format.MPUint,
	box.KeyOffset: format.MPUint, box.KeyIterator: format.MPUint, box.KeyIndexBase: format.MPUint,
	box.KeyKey: format.MPArray, box.KeyTuple: format.MPArray, box.KeyOps: format.MPArray,
	box.KeyFunctionName: format.MPStr, box.KeyUserName: format.MPStr, box.KeyExpr: format.MPStr,
	box.KeySQLText: format.MPStr, box.KeyStmtID: format.MPUint, box.KeySQLBind: format.MPArray,
	box.KeyOptions: format.MPArray, box.KeyVersion: format.MPUint, box.KeyFeatures: format.MPArray,
	box.KeyAuthType: format.MPStr, box.KeyIsolation: format.MPUint, box.KeyIsSync: format.MPBool,
}

// keyKindTable is keyKinds by key, for the keys below 128 (all of them).
var keyKindTable = func() (t [128]struct {
	kind  format.MPKind
	known bool
}) {
	for k, kind := range keyKinds {
		t[k].kind, t[k].known = kind, true
	}
	return t
}()

func keyKind(key uint64) (format.MPKind, bool) {
	if key >= uint64(len(keyKindTable)) {
		return 0, false
	}
	e := keyKindTable[key]
	return e.kind, e.known
}

// fields holds the raw values of a request body's known keys, in the
// order found (a repeated key keeps its last value), without allocating.
type fields struct {
	keys [maxFields]uint8
	vals [maxFields][]byte
	n    int
}

// maxFields is the number of keys a body may hold values of: those of
// keyKinds and the timeout.
const maxFields = 24

func (f *fields) get(key uint64) ([]byte, bool) {
	for i := 0; i < f.n; i++ {
		if uint64(f.keys[i]) == key {
			return f.vals[i], true
		}
	}
	return nil, false
}

func (f *fields) set(key uint64, v []byte) {
	for i := 0; i < f.n; i++ {
		if uint64(f.keys[i]) == key {
			f.vals[i] = v
			return
		}
	}
	f.keys[f.n], f.vals[f.n] = uint8(key), v
	f.n++
}

func invalidBody() error { return box.NewError(box.ErrInvalidMsgpack, "packet body") }

func missing(key uint64) error {
	return box.NewError(box.ErrMissingRequestField, strings.ReplaceAll(box.BodyKeyName(box.TypeSelect, key), "_", " "))
}

func (f *fields) parse(body []byte) error {
	f.n = 0
	if len(body) == 0 {
		return nil
	}
	it, err := format.NewBodyIter(body)
	if err != nil {
		return invalidBody()
	}
	c := it.Cursor()
	for {
		key, ok, err := it.Next()
		if err != nil {
			return invalidBody()
		}
		if !ok {
			break
		}
		kind := c.Kind()
		v, err := c.Raw()
		if err != nil {
			return invalidBody()
		}
		want, known := keyKind(key)
		if !known {
			if key == box.KeyTimeout && (kind == format.MPFloat64 || kind == format.MPFloat32 || kind == format.MPUint) {
				f.set(key, v)
			}
			continue
		}
		if kind != want {
			return invalidBody()
		}
		f.set(key, v)
	}
	if c.More() {
		return invalidBody()
	}
	return nil
}

// require reports the first missing key, in key order as Tarantool does.
func (f *fields) require(keys ...uint64) error {
	first := uint64(0)
	found := false
	for _, k := range keys {
		if _, ok := f.get(k); !ok && (!found || k < first) {
			first, found = k, true
		}
	}
	if found {
		return missing(first)
	}
	return nil
}

func (f *fields) has(key uint64) bool {
	_, ok := f.get(key)
	return ok
}

// bytes returns the raw value, nil when absent.
func (f *fields) bytes(key uint64) []byte {
	v, _ := f.get(key)
	return v
}

func (f *fields) u64(key uint64) uint64 {
	v, _ := format.NewMPCursor(f.bytes(key)).Uint()
	return v
}

// u32 is u64 truncated as Tarantool stores these keys (uint32 fields).
func (f *fields) u32(key uint64) uint32 { return uint32(f.u64(key)) }

func (f *fields) num(key uint64) float64 {
	v, _ := format.NewMPCursor(f.bytes(key)).Number()
	return v
}

func (f *fields) str(key uint64) string {
	v, _ := format.NewMPCursor(f.bytes(key)).Bytes()
	return string(v)
}

func (f *fields) flag(key uint64) bool {
	v, _ := format.NewMPCursor(f.bytes(key)).Bool()
	return v
}

// raw returns the value as msgpack.RawMessage, or nil when absent.
func (f *fields) raw(key uint64) any {
	if v, ok := f.get(key); ok {
		return msgpack.RawMessage(v)
	}
	return nil
}
