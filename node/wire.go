package node

import (
	"encoding/binary"
	"fmt"

	"github.com/xlogtool/xlogtool/box"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/memtx"
)

// Server side of the IPROTO codec: request decoding and reply encoding.

// request is a decoded IPROTO request.
type request struct {
	typ           box.RowType
	sync          uint64
	schemaVersion uint64

	spaceID, indexID, limit, offset, iterator, indexBase uint32
	has                                                  map[byte]bool
	key, tuple, ops                                      []any
	name, user, expr                                     string
	rawKey, rawTuple, rawOps                             []byte
}

// decodeRequest decodes a packet (header and body, the length prefix
// removed).
func decodeRequest(pkt []byte) (*request, *box.Error) {
	c := format.NewMPCursor(pkt)
	r := &request{has: map[byte]bool{}}
	n, err := c.MapLen()
	if err != nil {
		return nil, boxErr(box.ErrInvalidMsgpack, "Invalid MsgPack - packet header")
	}
	for i := 0; i < n; i++ {
		k, err := c.Uint()
		if err != nil {
			return nil, boxErr(box.ErrInvalidMsgpack, "Invalid MsgPack - packet header")
		}
		switch k {
		case box.KeyType, box.KeySync, box.KeySchemaVersion:
			v, err := c.Uint()
			if err != nil {
				return r, boxErr(box.ErrInvalidMsgpack, "Invalid MsgPack - packet header")
			}
			switch k {
			case box.KeyType:
				r.typ = box.RowType(v)
			case box.KeySync:
				r.sync = v
			case box.KeySchemaVersion:
				r.schemaVersion = v
			}
		default:
			if err := c.Skip(); err != nil {
				return r, boxErr(box.ErrInvalidMsgpack, "Invalid MsgPack - packet header")
			}
		}
	}
	if !c.More() {
		return r, nil
	}
	body := c.Rest()
	if err := r.decodeBody(body); err != nil {
		return r, err
	}
	return r, nil
}

func (r *request) decodeBody(body []byte) *box.Error {
	bad := boxErr(box.ErrInvalidMsgpack, "Invalid MsgPack - packet body")
	c := format.NewMPCursor(body)
	n, err := c.MapLen()
	if err != nil {
		return bad
	}
	for i := 0; i < n; i++ {
		k, err := c.Uint()
		if err != nil {
			return bad
		}
		if k > 0xff {
			if c.Skip() != nil {
				return bad
			}
			continue
		}
		key := byte(k)
		switch key {
		case box.KeySpaceID, box.KeyIndexID, box.KeyLimit, box.KeyOffset, box.KeyIterator, box.KeyIndexBase:
			v, err := c.Uint()
			if err != nil || v > 1<<32-1 {
				return bad
			}
			switch key {
			case box.KeySpaceID:
				r.spaceID = uint32(v)
			case box.KeyIndexID:
				r.indexID = uint32(v)
			case box.KeyLimit:
				r.limit = uint32(v)
			case box.KeyOffset:
				r.offset = uint32(v)
			case box.KeyIterator:
				r.iterator = uint32(v)
			case box.KeyIndexBase:
				r.indexBase = uint32(v)
			}
		case box.KeyKey, box.KeyTuple, box.KeyOps:
			start := c.Pos()
			if c.Skip() != nil {
				return bad
			}
			raw := body[start:c.Pos()]
			v, err := memtx.DecodeMsgpack(raw)
			if err != nil {
				return bad
			}
			a, ok := v.([]any)
			if !ok {
				return bad
			}
			switch key {
			case box.KeyKey:
				r.key, r.rawKey = a, raw
			case box.KeyTuple:
				r.tuple, r.rawTuple = a, raw
			case box.KeyOps:
				r.ops, r.rawOps = a, raw
			}
		case box.KeyFunctionName, box.KeyUserName, box.KeyExpr:
			if c.Kind() != format.MPStr {
				return bad
			}
			b, err := c.Bytes()
			if err != nil {
				return bad
			}
			switch key {
			case box.KeyFunctionName:
				r.name = string(b)
			case box.KeyUserName:
				r.user = string(b)
			case box.KeyExpr:
				r.expr = string(b)
			}
		default:
			if c.Skip() != nil {
				return bad
			}
			continue
		}
		r.has[key] = true
	}
	return nil
}

// need reports the first mandatory body key missing (ER_MISSING_REQUEST_FIELD).
func (r *request) need(keys ...byte) *box.Error {
	names := map[byte]string{box.KeySpaceID: "space id", box.KeyLimit: "limit", box.KeyKey: "key", box.KeyTuple: "tuple",
		box.KeyOps: "operations", box.KeyFunctionName: "function name", box.KeyExpr: "expression", box.KeyUserName: "username"}
	for _, k := range keys {
		if !r.has[k] {
			return boxErr(box.ErrMissingRequestField, "Missing mandatory field '%s' in request", names[k])
		}
	}
	return nil
}

// appendHeader encodes a reply header as Tarantool does: fixed widths.
func appendReplyHeader(b []byte, code uint32, sync, schemaVersion uint64) []byte {
	b = append(b, 0x83, box.KeyType, 0xce)
	b = binary.BigEndian.AppendUint32(b, code)
	b = append(b, box.KeySync, 0xcf)
	b = binary.BigEndian.AppendUint64(b, sync)
	b = append(b, box.KeySchemaVersion, 0xce)
	return binary.BigEndian.AppendUint32(b, uint32(schemaVersion))
}

// beginPacket reserves the 5-byte length prefix.
func beginPacket(b []byte) ([]byte, int) {
	start := len(b)
	return append(b, 0xce, 0, 0, 0, 0), start
}

func endPacket(b []byte, start int) []byte {
	binary.BigEndian.PutUint32(b[start+1:], uint32(len(b)-start-5))
	return b
}

// appendOK encodes an OK reply with DATA holding the encoded values.
func appendDataReply(b []byte, sync, sv uint64, values [][]byte) []byte {
	b, start := beginPacket(b)
	b = appendReplyHeader(b, 0, sync, sv)
	b = append(b, 0x81, box.KeyData, 0xdd)
	b = binary.BigEndian.AppendUint32(b, uint32(len(values)))
	for _, v := range values {
		b = append(b, v...)
	}
	return endPacket(b, start)
}

// appendEmptyReply encodes an OK reply with an empty body map.
func appendEmptyReply(b []byte, sync, sv uint64) []byte {
	b, start := beginPacket(b)
	b = appendReplyHeader(b, 0, sync, sv)
	b = append(b, 0x80)
	return endPacket(b, start)
}

// appendErrorReply encodes an error reply: both the 2.4.1+ error stack and
// the plain message.
func appendErrorReply(b []byte, sync, sv uint64, e *box.Error) []byte {
	b, start := beginPacket(b)
	b = appendReplyHeader(b, 0x8000|uint32(e.Code), sync, sv)
	b = append(b, 0x82, box.KeyErrorMessage)
	b = appendStr(b, e.Message)
	b = append(b, box.KeyError, 0x81, 0x00, 0x91, 0x86)
	b = append(b, 0x00)
	b = appendStr(b, "ClientError")
	b = append(b, 0x01)
	b = appendStr(b, "node")
	b = append(b, 0x02, 0x00, 0x03)
	b = appendStr(b, e.Message)
	b = append(b, 0x04, 0x00, 0x05)
	b = format.AppendUint(b, uint64(e.Code))
	return endPacket(b, start)
}

func appendStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 256:
		b = append(b, 0xd9, byte(n))
	case n < 65536:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	return append(b, s...)
}

func encodeValue(v any) []byte {
	b, err := memtx.EncodeMsgpack(v)
	if err != nil {
		return []byte{0xc0}
	}
	return b
}

// greeting builds the 128-byte greeting.
func greeting(version, uuid string, salt []byte) []byte {
	line1 := fmt.Sprintf("Tarantool %s (Binary) %s", version, uuid)
	line2 := base64Std(salt)
	pad := func(s string) string {
		for len(s) < 63 {
			s += " "
		}
		return s[:63] + "\n"
	}
	return []byte(pad(line1) + pad(line2))
}
