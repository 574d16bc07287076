package iproto

import (
	"encoding/binary"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// Response is one response of the server. The body is kept as the raw
// MessagePack bytes and decoded on demand.
type Response struct {
	Type          box.RowType // 0 for OK, TypeErrorFlag|code for an error
	Sync          uint64
	SchemaVersion uint64
	Body          []byte // raw body; empty when the response has none
}

// Code returns the error code of an error response, 0 for success.
func (r *Response) Code() box.ErrorCode {
	if r.Type&box.TypeErrorFlag == 0 {
		return 0
	}
	return r.Type.ErrorCode()
}

// Err returns the server error (*Error) of an error response, else nil.
func (r *Response) Err() error {
	if r.Type&box.TypeErrorFlag == 0 {
		return nil
	}
	return DecodeError(r.Code(), r.Body)
}

// Field returns the raw MessagePack value stored under key in the body map.
func (r *Response) Field(key uint64) (msgpack.RawMessage, bool, error) {
	if len(r.Body) == 0 {
		return nil, false, nil
	}
	c := format.NewMPCursor(r.Body)
	n, err := c.MapLen()
	if err == nil && 2*n > len(c.Rest()) {
		err = errTruncated
	}
	if err != nil {
		return nil, false, fmt.Errorf("iproto: response body: %w", err)
	}
	for range n {
		var k uint64
		isKey := false
		switch c.Kind() {
		case format.MPUint:
			u, err := c.Uint()
			if err != nil {
				return nil, false, fmt.Errorf("iproto: response body key: %w", err)
			}
			k, isKey = u, true
		case format.MPInt:
			v, err := c.Int()
			if err != nil {
				return nil, false, fmt.Errorf("iproto: response body key: %w", err)
			}
			k, isKey = uint64(v), v >= 0
		default: // not an integer key: pass over it
			if err := c.Skip(); err != nil {
				return nil, false, fmt.Errorf("iproto: response body key: %w", err)
			}
		}
		v, err := c.Raw()
		if err != nil {
			return nil, false, fmt.Errorf("iproto: response body value: %w", err)
		}
		if isKey && k == key {
			return msgpack.RawMessage(v), true, nil
		}
	}
	return nil, false, nil
}

// Data decodes the DATA array (body key 0x30) into generic values: tuples
// and call results as []any, integers as int64 (uint64 above MaxInt64),
// maps as map[string]any or map[any]any, extensions as Ext. A response
// without DATA yields nil.
func (r *Response) Data() ([]any, error) {
	raw, ok, err := r.Field(box.KeyData)
	if err != nil || !ok {
		return nil, err
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, fmt.Errorf("iproto: response data: %w", err)
	}
	if v == nil {
		return nil, nil
	}
	data, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("iproto: response data is %T, want an array", v)
	}
	return data, nil
}

// DecodeData decodes the DATA array (body key 0x30) into v with the
// MessagePack decoder (v is a pointer, e.g. to a slice of structs).
func (r *Response) DecodeData(v any) error {
	raw, ok, err := r.Field(box.KeyData)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("iproto: response has no data")
	}
	if err := msgpack.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("iproto: response data: %w", err)
	}
	return nil
}

// DecodeResponse decodes a packet read by ReadPacket as a response. Body
// points into pkt.
func DecodeResponse(pkt []byte) (*Response, error) {
	var row format.Row
	if err := DecodePacket(pkt, &row); err != nil {
		return nil, err
	}
	return &Response{Type: row.Type, Sync: row.Sync, SchemaVersion: row.SchemaVersion, Body: row.Body}, nil
}

// fixResponseLength sets the length prefix of the response starting at
// start once its body of bodyLen bytes has been appended.
func fixResponseLength(b []byte, start, bodyLen int) []byte {
	binary.BigEndian.PutUint32(b[start+1:], uint32(23+bodyLen))
	return b
}

// emptyBody is the body of OK answers without data ({}).
var emptyBody = []byte{0x80}

// AppendOK appends an OK response with the empty body {} (PING, AUTH,
// BEGIN, COMMIT, ROLLBACK).
func AppendOK(b []byte, sync, schemaVersion uint64) []byte {
	return AppendResponse(b, box.TypeOK, sync, schemaVersion, emptyBody)
}

// AppendDataBody appends the body {DATA: [values...]} of a response whose
// values are raw MessagePack (tuples, call results), with the array
// header as Tarantool writes it for DML, SELECT and CALL (array32).
func AppendDataBody(b []byte, values ...[]byte) []byte {
	b = append(b, 0x81, box.KeyData, 0xdd)
	b = binary.BigEndian.AppendUint32(b, uint32(len(values)))
	for _, v := range values {
		b = append(b, v...)
	}
	return b
}

// AppendData appends an OK response (or, with typ TypeChunk, a push) whose
// body is {DATA: [values...]}.
func AppendData(b []byte, typ box.RowType, sync, schemaVersion uint64, values ...[]byte) []byte {
	start := len(b)
	b = AppendResponseHeader(b, typ, sync, schemaVersion, 0)
	body := len(b)
	b = AppendDataBody(b, values...)
	return fixResponseLength(b, start, len(b)-body)
}
