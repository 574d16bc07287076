package iproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/xlogtool/xlogtool/box"
)

const (
	// maxPacketSize bounds the length a peer may announce for one packet.
	maxPacketSize = 1 << 31
	// preallocLimit is the largest packet buffer allocated before its bytes
	// arrive; bigger packets grow as they are read.
	preallocLimit = 1 << 20
	// lengthPrefixSize is the size of the 0xce + uint32 prefix we write.
	lengthPrefixSize = 5
)

// typeChunk is the type of out-of-band pushes (box.session.push); they
// carry the sync of the request they belong to but do not answer it.
const typeChunk = 128

// encodePacket encodes one request: length prefix, header {type, sync,
// [stream id]} and body.
func encodePacket(sync, streamID uint64, req Request) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write(make([]byte, lengthPrefixSize))
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	n := 2
	if streamID != 0 {
		n = 3
	}
	if err := encodeHeader(enc, n, req.Type(), sync, streamID); err != nil {
		return nil, err
	}
	if err := req.EncodeBody(enc); err != nil {
		return nil, fmt.Errorf("iproto: encode %s body: %w", req.Type().RequestName(), err)
	}
	b := buf.Bytes()
	size := len(b) - lengthPrefixSize
	if size > maxPacketSize {
		return nil, fmt.Errorf("iproto: %s request of %d bytes is too large", req.Type().RequestName(), size)
	}
	b[0] = 0xce
	binary.BigEndian.PutUint32(b[1:lengthPrefixSize], uint32(size))
	return b, nil
}

func encodeHeader(enc *msgpack.Encoder, n int, typ box.RowType, sync, streamID uint64) error {
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	if err := enc.EncodeUint(box.KeyType); err != nil {
		return err
	}
	if err := enc.EncodeUint(uint64(typ)); err != nil {
		return err
	}
	if err := enc.EncodeUint(box.KeySync); err != nil {
		return err
	}
	if err := enc.EncodeUint(sync); err != nil {
		return err
	}
	if n == 3 {
		if err := enc.EncodeUint(box.KeyStreamID); err != nil {
			return err
		}
		return enc.EncodeUint(streamID)
	}
	return nil
}

// readPacket reads one length-prefixed packet and returns the bytes after
// the prefix (header and body). The prefix may use any MessagePack unsigned
// integer encoding.
func readPacket(r *bufio.Reader) ([]byte, error) {
	c, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	var size uint64
	switch {
	case c <= 0x7f:
		size = uint64(c)
	case c >= 0xcc && c <= 0xcf:
		var b [8]byte
		w := 1 << (c - 0xcc) // 1, 2, 4 or 8 bytes
		if _, err := io.ReadFull(r, b[8-w:]); err != nil {
			return nil, unexpectedEOF(err)
		}
		size = binary.BigEndian.Uint64(b[:])
	default:
		return nil, fmt.Errorf("iproto: invalid packet length prefix 0x%02x", c)
	}
	if size > maxPacketSize {
		return nil, fmt.Errorf("iproto: packet length %d exceeds %d", size, maxPacketSize)
	}
	if size <= preallocLimit {
		pkt := make([]byte, size)
		if _, err := io.ReadFull(r, pkt); err != nil {
			return nil, unexpectedEOF(err)
		}
		return pkt, nil
	}
	var buf bytes.Buffer
	buf.Grow(preallocLimit)
	if _, err := io.CopyN(&buf, r, int64(size)); err != nil {
		return nil, unexpectedEOF(err)
	}
	return buf.Bytes(), nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// header is the decoded header of a packet from the server.
type header struct {
	typ           box.RowType
	sync          uint64
	schemaVersion uint64
}

// parseHeader decodes the header map of pkt and returns the body bytes that
// follow it.
func parseHeader(pkt []byte) (header, []byte, error) {
	var h header
	r := &mpReader{b: pkt}
	n, err := r.mapLen()
	if err != nil {
		return h, nil, fmt.Errorf("iproto: packet header: %w", err)
	}
	for range n {
		key, err := r.uint()
		if err != nil {
			return h, nil, fmt.Errorf("iproto: packet header key: %w", err)
		}
		switch key {
		case box.KeyType, box.KeySync, box.KeySchemaVersion:
			v, err := r.uint()
			if err != nil {
				return h, nil, fmt.Errorf("iproto: packet header key 0x%02x: %w", key, err)
			}
			switch key {
			case box.KeyType:
				if v > math.MaxUint32 {
					return h, nil, fmt.Errorf("iproto: response type %d out of range", v)
				}
				h.typ = box.RowType(v)
			case box.KeySync:
				h.sync = v
			default:
				h.schemaVersion = v
			}
		default:
			if err := r.skip(); err != nil {
				return h, nil, fmt.Errorf("iproto: packet header key 0x%02x: %w", key, err)
			}
		}
	}
	return h, pkt[r.pos:], nil
}
