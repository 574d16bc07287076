package iproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

const (
	// MaxPacketSize bounds the length a peer may announce for one packet.
	MaxPacketSize = 1 << 31
	// preallocLimit is the largest packet buffer allocated before its bytes
	// arrive; bigger packets grow as they are read.
	preallocLimit = 1 << 20
	// lengthPrefixSize is the size of the 0xce + uint32 prefix we write.
	lengthPrefixSize = 5
)

// ReadPacket reads one length-prefixed packet and returns the bytes after
// the prefix (header and body). The prefix may use any MessagePack unsigned
// integer encoding. The packet is read into buf's storage when it is large
// enough (the result aliases buf then), else into a new slice.
func ReadPacket(r *bufio.Reader, buf []byte) ([]byte, error) {
	c, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	var size uint64
	switch {
	case c <= 0x7f:
		size = uint64(c)
	case c >= 0xcc && c <= 0xcf:
		// 1, 2, 4 or 8 bytes, big-endian; read byte by byte so that
		// nothing escapes to the heap (this runs for every packet).
		for w := 1 << (c - 0xcc); w > 0; w-- {
			x, err := r.ReadByte()
			if err != nil {
				return nil, unexpectedEOF(err)
			}
			size = size<<8 | uint64(x)
		}
	default:
		return nil, fmt.Errorf("iproto: invalid packet length prefix 0x%02x", c)
	}
	if size > MaxPacketSize {
		return nil, fmt.Errorf("iproto: packet length %d exceeds %d", size, MaxPacketSize)
	}
	if size <= uint64(cap(buf)) || size <= preallocLimit {
		pkt := buf[:0]
		if size > uint64(cap(buf)) {
			pkt = make([]byte, 0, size)
		}
		pkt = pkt[:size]
		if _, err := io.ReadFull(r, pkt); err != nil {
			return nil, unexpectedEOF(err)
		}
		return pkt, nil
	}
	var big bytes.Buffer
	big.Grow(preallocLimit)
	if _, err := io.CopyN(&big, r, int64(size)); err != nil {
		return nil, unexpectedEOF(err)
	}
	return big.Bytes(), nil
}

// PacketBuffered reports whether r's buffer already holds a whole packet
// (or a length prefix ReadPacket refuses), so that ReadPacket returns
// without reading from the connection. A server uses it to take every
// pipelined request that has arrived as one batch.
func PacketBuffered(r *bufio.Reader) bool {
	b, _ := r.Peek(r.Buffered())
	if len(b) == 0 {
		return false
	}
	c := b[0]
	var size uint64
	n := 1
	switch {
	case c <= 0x7f:
		size = uint64(c)
	case c >= 0xcc && c <= 0xcf:
		w := 1 << (c - 0xcc)
		if len(b) < 1+w {
			return false
		}
		for _, x := range b[1 : 1+w] {
			size = size<<8 | uint64(x)
		}
		n += w
	default:
		return true
	}
	return size > MaxPacketSize || uint64(len(b)-n) >= size
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// DecodePacket decodes a packet read by ReadPacket: its header and body
// are a row, decoded by the same code as the rows of log files. row's
// slices point into pkt.
func DecodePacket(pkt []byte, row *format.Row) error {
	n, err := format.DecodeRow(pkt, row)
	if err != nil {
		return fmt.Errorf("iproto: malformed packet: %w", err)
	}
	if n != len(pkt) {
		if row.Type == box.TypeNop {
			return nil // a NOP's body is never read
		}
		return fmt.Errorf("iproto: malformed packet: %d bytes after the body", len(pkt)-n)
	}
	return nil
}

// beginPacket appends the length prefix, to be filled by endPacket.
func beginPacket(b []byte) ([]byte, int) {
	return append(b, 0xce, 0, 0, 0, 0), len(b)
}

// endPacket fills the length prefix of the packet started at start.
func endPacket(b []byte, start int) ([]byte, error) {
	size := len(b) - start - lengthPrefixSize
	if size > MaxPacketSize {
		return nil, fmt.Errorf("iproto: packet of %d bytes is too large", size)
	}
	binary.BigEndian.PutUint32(b[start+1:], uint32(size))
	return b, nil
}

// AppendRow appends a row as one packet: the length prefix, the header
// encoded as log rows are (format.AppendHeader) and the raw body (none
// when body is empty). Replication streams send log rows this way.
func AppendRow(b []byte, h *format.Header, body []byte) ([]byte, error) {
	b, start := beginPacket(b)
	b = format.AppendHeader(b, h)
	b = append(b, body...)
	return endPacket(b, start)
}

// AppendRequest appends req as one packet with the header {type, sync,
// [stream id]}.
func AppendRequest(b []byte, sync, streamID uint64, req Request) ([]byte, error) {
	h := format.Header{Type: req.Type(), Sync: sync, StreamID: streamID, Commit: true}
	b, start := beginPacket(b)
	b = format.AppendHeader(b, &h)
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := req.EncodeBody(enc); err != nil {
		return nil, fmt.Errorf("iproto: encode %s body: %w", req.Type().RequestName(), err)
	}
	b = append(b, buf.Bytes()...)
	b, err := endPacket(b, start)
	if err != nil {
		return nil, fmt.Errorf("iproto: %s request: %w", req.Type().RequestName(), err)
	}
	return b, nil
}

// AppendResponseHeader appends the length prefix and the header of a
// response as Tarantool writes it: {type, sync, schema version} with
// fixed-width integers (ce, cf, ce), 28 bytes with the prefix. bodyLen is
// the size of the body that the caller appends next.
func AppendResponseHeader(b []byte, typ box.RowType, sync, schemaVersion uint64, bodyLen int) []byte {
	b = append(b, 0xce)
	b = binary.BigEndian.AppendUint32(b, uint32(23+bodyLen))
	b = append(b, 0x83, box.KeyType, 0xce)
	b = binary.BigEndian.AppendUint32(b, uint32(typ))
	b = append(b, box.KeySync, 0xcf)
	b = binary.BigEndian.AppendUint64(b, sync)
	b = append(b, box.KeySchemaVersion, 0xce)
	return binary.BigEndian.AppendUint32(b, uint32(schemaVersion))
}

// AppendResponse appends a whole response: the header (AppendResponseHeader)
// and body, raw MessagePack (none when empty).
func AppendResponse(b []byte, typ box.RowType, sync, schemaVersion uint64, body []byte) []byte {
	b = AppendResponseHeader(b, typ, sync, schemaVersion, len(body))
	return append(b, body...)
}
