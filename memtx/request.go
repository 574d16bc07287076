package memtx

import "github.com/xlogtool/xlogtool/box"

// Request is a decoded DML row (spec section 3.7). Values may be in any
// form Normalize accepts.
type Request struct {
	Type      box.RowType
	SpaceID   uint32 // body key 0x10
	IndexID   uint32 // body key 0x11; UPDATE and DELETE
	IndexBase uint32 // body key 0x15; UPDATE and UPSERT (0 or 1)
	Key       []any  // body key 0x20; UPDATE and DELETE
	Tuple     []any  // body key 0x21; INSERT, REPLACE and UPSERT
	Ops       []any  // UPDATE: body key 0x21; UPSERT: body key 0x28

	// canonical is set when the values are known to be canonical (see
	// RawRequest.Decode), so Apply does not normalise them again.
	canonical bool
	// tuple is the tuple of an INSERT, REPLACE or UPSERT as it will be
	// stored (RawRequest.Decode), used instead of Tuple.
	tuple Tuple
}

// RawRequest is a DML body with its MessagePack values not decoded, as a
// row reader finds them: the raw values of body keys 0x20 (Key), 0x21
// (Tuple, which holds the operations of an UPDATE) and 0x28 (Ops), nil
// when absent.
type RawRequest struct {
	Type      box.RowType
	SpaceID   uint32
	IndexID   uint32
	IndexBase uint32
	Key       []byte
	Tuple     []byte
	Ops       []byte
}

// Decode decodes the key and operations of a raw request and copies its
// tuple, checked, into the bytes it will be stored in. The result shares
// nothing with the raw slices. Malformed MessagePack, or a key, tuple or operation
// list that is not an array, is reported as an *ApplyError with code
// ER_INVALID_MSGPACK.
func (r RawRequest) Decode() (Request, error) { return r.decode(nil, false) }

// DecodeIn is Decode with the tuple's bytes taken from an arena.
func (r RawRequest) DecodeIn(arena *TupleArena) (Request, error) { return r.decode(arena, false) }

// DecodeShared is Decode without the copy of the tuple: the request
// refers to r.Tuple, which must stay unchanged until the request is
// executed (the state stores a copy of it in its arena).
func (r RawRequest) DecodeShared() (Request, error) { return r.decode(nil, true) }

// Owned returns the request with its tuple copied into the arena: a
// request of DecodeShared that must outlive the bytes it was decoded
// from. Its other values never share them.
func (r Request) Owned(arena *TupleArena) Request {
	if r.tuple != nil {
		t := arena.alloc(len(r.tuple))
		copy(t, r.tuple)
		r.tuple = t
	}
	return r
}

func (r RawRequest) decode(arena *TupleArena, shared bool) (Request, error) {
	req := Request{Type: r.Type, SpaceID: r.SpaceID, IndexID: r.IndexID, IndexBase: r.IndexBase, canonical: true}
	decode := func(name string, b []byte) ([]any, error) {
		if b == nil {
			return nil, nil
		}
		a, ok, err := decodeArray(b)
		if err == nil && !ok {
			// Not an array: report malformed MsgPack first.
			_, err = DecodeMsgpack(b)
		}
		if err != nil {
			return nil, &ApplyError{Code: box.ErrInvalidMsgpack, Message: "Invalid MsgPack - " + name + ": " + err.Error(),
				Type: r.Type, SpaceID: r.SpaceID}
		}
		if !ok {
			return nil, &ApplyError{Code: box.ErrInvalidMsgpack, Message: "Invalid MsgPack - " + name + " is not an array",
				Type: r.Type, SpaceID: r.SpaceID}
		}
		return a, nil
	}
	var err error
	if req.Key, err = decode("key", r.Key); err != nil {
		return Request{}, err
	}
	if r.Type == box.TypeUpdate {
		if req.Ops, err = decode("tuple", r.Tuple); err != nil {
			return Request{}, err
		}
		return req, nil
	}
	if r.Tuple != nil {
		t, aerr := tupleFromMsgpack("tuple", r.Tuple, arena, shared)
		if aerr != nil {
			aerr.Type, aerr.SpaceID = r.Type, r.SpaceID
			return Request{}, aerr
		}
		req.tuple = t
	}
	if req.Ops, err = decode("operations", r.Ops); err != nil {
		return Request{}, err
	}
	return req, nil
}
