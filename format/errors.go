package format

import (
	"errors"
	"fmt"
)

// Kind classifies problems found in a file.
type Kind int

// Problem kinds. TornTail and MissingEOF are warnings: a file that was not
// closed cleanly (the writer crashed, or is still writing). Everything else
// is damage.
const (
	KindTornTail     Kind = iota + 1 // the last block is incomplete
	KindMissingEOF                   // data ends at a block boundary without the EOF marker
	KindBadMeta                      // the text header is malformed
	KindBadMagic                     // a block does not start with a block marker
	KindBadFixHeader                 // a block's fixed header is malformed
	KindChecksum                     // a block's CRC32C does not match its payload
	KindDecompress                   // a zstd block does not decompress
	KindBadRow                       // a row in a block does not decode
	KindAfterEOF                     // bytes follow the EOF marker
	KindIO                           // reading failed
	KindUnknownType                  // the header names a file type Tarantool does not write
)

var kindNames = map[Kind]string{
	KindTornTail: "torn-tail", KindMissingEOF: "missing-eof", KindBadMeta: "bad-header",
	KindBadMagic: "bad-magic", KindBadFixHeader: "bad-fixheader", KindChecksum: "crc-mismatch",
	KindDecompress: "decompress", KindBadRow: "bad-row", KindAfterEOF: "trailing-garbage",
	KindIO: "io", KindUnknownType: "unknown-type",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// IsWarning reports whether the kind means an unclean end rather than damage.
func (k Kind) IsWarning() bool {
	return k == KindTornTail || k == KindMissingEOF || k == KindUnknownType
}

// Error is a problem at a byte offset of a file.
type Error struct {
	File   string
	Offset int64
	Kind   Kind
	Msg    string
	// Skipped is the number of bytes (of the file, or of a block payload for
	// KindBadRow) passed over when reading went on after the problem.
	Skipped int64
	Err     error
}

func (e *Error) Error() string {
	name := e.File
	if name == "" {
		name = "<input>"
	}
	return fmt.Sprintf("%s: offset %d: %s", name, e.Offset, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// IsWarning reports whether the problem is an unclean end, not damage.
func (e *Error) IsWarning() bool { return e.Kind.IsWarning() }

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
