package testfix

import "github.com/xlogtool/xlogtool/format"

// ZstdBomb returns one zstd frame, without a content size as Tarantool
// writes them, that decompresses to size bytes of fill: a frame header and
// run-length blocks of 128 KiB, 4 bytes each.
func ZstdBomb(size int64, fill byte) []byte {
	// Magic; descriptor: no content size, no checksum; window of 2 MiB.
	b := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 11 << 3}
	const blockMax = 128 << 10
	for size > 0 {
		n := min(size, blockMax)
		size -= n
		h := uint32(n)<<3 | 1<<1 // an RLE block
		if size == 0 {
			h |= 1 // the last one
		}
		b = append(b, byte(h), byte(h>>8), byte(h>>16), fill)
	}
	return b
}

// BombLog returns an XLOG file of blocks zstd blocks (correct checksums),
// each decompressing to size bytes, and no EOF marker.
func BombLog(blocks int, size int64) []byte {
	b := []byte("XLOG\n0.13\nVersion: 2.6.0-0-g47aa4e01e\nInstance: 8244848b-532e-4988-b27a-e4326c6ccb1c\nVClock: {1: 0}\n\n")
	frame := ZstdBomb(size, 0)
	for range blocks {
		b = format.AppendFixHeader(b, format.MagicZstd, frame)
		b = append(b, frame...)
	}
	return b
}
