package repair

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/xlogtool/xlogtool/format"
)

// pieceKind classifies a byte range of a file's binary part.
type pieceKind int

const (
	pBlock    pieceKind = iota // a block whose checksum matches its payload
	pBad                       // bytes that are not a valid block: a damaged block or garbage
	pTorn                      // an incomplete block at the end of the data
	pEOF                       // the EOF marker
	pAfterEOF                  // bytes after the EOF marker
)

// piece is one byte range of the binary part of a file.
type piece struct {
	kind      pieceKind
	off, size int64

	// Blocks and damaged blocks whose fixed header decodes.
	fixOK      bool
	compressed bool
	plen       int64 // payload length from the fixed header
	crc        uint32

	// pBad and pTorn, and pBlock turned bad by the row pass.
	why format.Kind
	msg string

	// pBlock, filled by the row pass.
	nrows   int   // rows decoded
	partial bool  // rows after the first nrows do not decode
	drop    []int // indexes of rows that are not written
}

// fixHeader is a decoded 19-byte block header.
type fixHeader struct {
	compressed bool
	plen       int64
	crc        uint32
}

var (
	prefixBlock = format.MagicPlain[:3]
	prefixEOF   = format.MagicEOF[:3]
)

// decodeFix parses a block's fixed header; the kind tells what is wrong.
func decodeFix(h []byte) (fixHeader, format.Kind, error) {
	info, kind, err := format.DecodeFixHeader(h)
	return fixHeader{compressed: info.Compressed, plen: int64(info.Len), crc: info.CRC}, kind, err
}

// scanner reads the block structure of one file.
type scanner struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	err  error // the first read error
}

func newScanner(r io.ReaderAt, size int64) *scanner { return &scanner{r: r, size: size} }

// read returns n bytes at off (fewer at the end of the file). The slice is
// valid until the next call.
func (s *scanner) read(off int64, n int64) []byte {
	if off >= s.size || n <= 0 {
		return nil
	}
	if off+n > s.size {
		n = s.size - off
	}
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	m, err := s.r.ReadAt(b, off)
	if err != nil && !(errors.Is(err, io.EOF) && int64(m) == n) {
		if s.err == nil {
			s.err = err
		}
		return b[:m]
	}
	return b
}

func (s *scanner) isEOFMarker(off int64) bool {
	return off+4 <= s.size && bytes.Equal(s.read(off, 4), format.MagicEOF[:])
}

// blockAt decodes the fixed header at off and checks the payload checksum.
func (s *scanner) blockAt(off int64) (fx fixHeader, valid bool) {
	fx, _, err := decodeFix(s.read(off, format.FixHeaderSize))
	if err != nil || off+format.FixHeaderSize+fx.plen > s.size {
		return fx, false
	}
	return fx, format.Checksum(s.read(off+format.FixHeaderSize, fx.plen)) == fx.crc
}

// resync returns the offset of the next place where reading can go on at
// or after from: a block whose checksum matches, or an EOF marker that ends
// the file. hint, when >= 0, is tried first (it may also be an EOF marker
// followed by more bytes, or the end of the file). Without such a place it
// returns the file size.
func (s *scanner) resync(from, hint int64) int64 {
	if hint >= 0 {
		if hint == s.size {
			return hint
		}
		if hint < s.size {
			if s.isEOFMarker(hint) {
				return hint
			}
			if _, ok := s.blockAt(hint); ok {
				return hint
			}
		}
	}
	const chunk = 64 << 10
	for p := from; p+4 <= s.size; {
		win := append([]byte(nil), s.read(p, chunk+3)...)
		if len(win) < 4 {
			break
		}
		for i := 0; i+4 <= len(win); i++ {
			j := indexEither(win[i:], prefixBlock, prefixEOF)
			if j < 0 {
				break
			}
			i += j
			if i+4 > len(win) {
				break
			}
			q := p + int64(i)
			switch [4]byte(win[i : i+4]) {
			case format.MagicPlain, format.MagicZstd:
				if _, ok := s.blockAt(q); ok {
					return q
				}
			case format.MagicEOF:
				if q+4 == s.size {
					return q
				}
			}
		}
		if int64(len(win)) <= 3 {
			break
		}
		p += int64(len(win)) - 3
	}
	return s.size
}

// indexEither returns the first index of a or b in s, or -1.
func indexEither(s, a, b []byte) int {
	i, j := bytes.Index(s, a), bytes.Index(s, b)
	switch {
	case i < 0:
		return j
	case j < 0:
		return i
	case i < j:
		return i
	}
	return j
}

// frame splits the binary part of a file, from start, into pieces: valid
// blocks, damaged ranges, a torn tail, the EOF marker and what follows it.
// Damage is passed over by looking for the next block whose checksum
// matches (a damaged block whose header still decodes is first assumed to
// end where its length says).
func (s *scanner) frame(start int64) []piece {
	var ps []piece
	p := start
	for p < s.size && s.err == nil {
		rem := s.size - p
		if s.isEOFMarker(p) {
			ps = append(ps, piece{kind: pEOF, off: p, size: 4})
			if rem > 4 {
				ps = append(ps, piece{kind: pAfterEOF, off: p + 4, size: rem - 4})
			}
			return ps
		}
		if rem < format.FixHeaderSize {
			ps = append(ps, piece{kind: pTorn, off: p, size: rem, why: format.KindTornTail,
				msg: fmt.Sprintf("%d bytes of an incomplete block header", rem)})
			return ps
		}
		fx, kind, err := decodeFix(s.read(p, format.FixHeaderSize))
		if err == nil {
			end := p + format.FixHeaderSize + fx.plen
			base := piece{off: p, fixOK: true, compressed: fx.compressed, plen: fx.plen, crc: fx.crc}
			if end <= s.size {
				got := format.Checksum(s.read(p+format.FixHeaderSize, fx.plen))
				if got == fx.crc {
					base.kind, base.size = pBlock, end-p
					ps = append(ps, base)
					p = end
					continue
				}
				next := s.resync(p+1, end)
				base.kind, base.size, base.why = pBad, next-p, format.KindChecksum
				base.msg = fmt.Sprintf("block checksum mismatch: stored 0x%08x, computed 0x%08x", fx.crc, got)
				ps = append(ps, base)
				p = next
				continue
			}
			next := s.resync(p+1, -1)
			if next == s.size {
				base.kind, base.size, base.why = pTorn, rem, format.KindTornTail
				base.msg = fmt.Sprintf("block of %d bytes has only %d", fx.plen, rem-format.FixHeaderSize)
				ps = append(ps, base)
				return ps
			}
			base.kind, base.size, base.why = pBad, next-p, format.KindBadFixHeader
			base.msg = fmt.Sprintf("block length %d runs past a later valid block", fx.plen)
			ps = append(ps, base)
			p = next
			continue
		}
		next := s.resync(p+1, -1)
		ps = append(ps, piece{kind: pBad, off: p, size: next - p, why: kind, msg: err.Error()})
		p = next
	}
	return ps
}

// headerInfo is what could be learnt from a file's text header.
type headerInfo struct {
	meta  *format.Meta // as parsed; nil when it does not parse
	ok    bool         // usable as it is
	err   string       // why it is not usable
	start int64        // where the binary part starts
	// clean is true when the binary part starts right after a header
	// terminator, so no data can have been lost before it.
	clean bool
}

// readHeader parses the text header of a file of the given type (XLOG or
// SNAP) named with signature sig, and finds where its blocks start even
// when the header is garbage.
func (s *scanner) readHeader(fileType string, sig uint64) headerInfo {
	var h headerInfo
	head := s.read(0, format.MetaMaxLen)
	m, err := format.ParseMeta(head)
	if m != nil {
		h.meta = m
		h.start, h.clean = m.Size, true
	}
	switch {
	case m == nil && err == nil:
		err = errors.New("no header")
	case err == nil:
		err = checkMeta(m, fileType, sig)
	}
	if err == nil {
		h.ok = true
		return h
	}
	h.err = err.Error()
	// The header is wrong or garbage: the blocks start after the first
	// empty line when a block (or the EOF marker, or the end of the file)
	// follows it, else at the first valid block.
	if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
		guess := int64(i + 2)
		if next := s.resync(guess, guess); next == guess {
			h.start, h.clean = guess, true
			return h
		}
	}
	h.start = s.resync(0, -1)
	h.clean = h.start >= 2 && bytes.Equal(s.read(h.start-2, 2), []byte("\n\n"))
	return h
}

// checkMeta tells why a header cannot be used as it is by Tarantool.
func checkMeta(m *format.Meta, fileType string, sig uint64) error {
	switch {
	case m.FileType != fileType:
		return fmt.Errorf("file type %q, want %s", m.FileType, fileType)
	case m.Instance == "":
		return errors.New("no instance UUID")
	case !m.HasVClock:
		return errors.New("no VClock")
	case m.VClock.Signature() != sig:
		return fmt.Errorf("VClock %s (signature %d) does not match the file name", m.VClock, m.VClock.Signature())
	}
	return nil
}
