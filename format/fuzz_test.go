package format_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/testfix"
)

// seedFixtures adds the real files (and their first KiB, for the header
// fuzzer) to a fuzz corpus.
func seedFixtures(f *testing.F, limit int) {
	dir := testfix.Dir(f)
	for _, rel := range testfix.Files(f) {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			f.Fatal(err)
		}
		if limit > 0 && len(b) > limit {
			b = b[:limit]
		}
		f.Add(b)
	}
}

func FuzzMeta(f *testing.F) {
	seedFixtures(f, 1024)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := format.ParseMeta(data)
		if err != nil || m == nil {
			return
		}
		again, err := format.ParseMeta(m.Encode())
		if err != nil {
			t.Fatalf("re-encoded header does not parse: %v\n%q", err, m.Encode())
		}
		if again.FileType != m.FileType || again.VClock != m.VClock || again.Instance != m.Instance {
			t.Fatalf("round trip changed the header: %+v vs %+v", m, again)
		}
	})
}

// FuzzReader feeds whole files: the reader must never panic, must report
// damage as *format.Error, and with Force must never return an error for
// damage it can skip.
func FuzzReader(f *testing.F) {
	seedFixtures(f, 64<<10)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, force := range []bool{false, true} {
			r, err := format.NewReader(bytes.NewReader(data), format.Options{Force: force})
			if err != nil {
				if _, ok := format.AsError(err); !ok {
					t.Fatalf("header error is not a format.Error: %v", err)
				}
				continue
			}
			for n := 0; n < 1<<20; n++ {
				row, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					if _, ok := format.AsError(err); !ok {
						t.Fatalf("not a format.Error: %v", err)
					}
					break
				}
				_, _ = row.DML()
				_, _ = row.Synchro()
				_, _ = row.Raft()
				_ = row.Clone()
			}
			r.Close()
		}
	})
}

// FuzzRow decodes a block payload as rows and re-encodes the headers:
// decoding the re-encoded header must give the same fields.
func FuzzRow(f *testing.F) {
	f.Add([]byte{0x83, 0x00, 0x02, 0x02, 0x01, 0x03, 0x05, 0x82, 0x10, 0xcd, 0x02, 0x00, 0x21, 0x91, 0x01})
	f.Add([]byte{0x84, 0x00, 0x28, 0x02, 0x01, 0x03, 0x19, 0x04, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0x82, 0x02, 0x01, 0x03, 0x18})
	f.Add([]byte{0x85, 0x00, 0x03, 0x07, 0x01, 0x03, 0x01, 0x08, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0x09, 0x01, 0x80})
	f.Fuzz(func(t *testing.T, payload []byte) {
		data := append(append([]byte("XLOG\n0.13\n\n"), frame(payload)...), format.MagicEOF[:]...)
		r, err := format.NewReader(bytes.NewReader(data), format.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for {
			row, err := r.Next()
			if err != nil {
				return
			}
			enc := format.AppendHeader(nil, &row.Header)
			re, err := format.NewReader(bytes.NewReader(append(append([]byte("XLOG\n0.13\n\n"), frame(enc)...), format.MagicEOF[:]...)), format.Options{})
			if err != nil {
				t.Fatal(err)
			}
			back, err := re.Next()
			if err != nil {
				t.Fatalf("re-encoded header does not decode: %v (%x)", err, enc)
			}
			h1, h2 := row.Header, back.Header
			h1.Unknown, h2.Unknown = false, false
			if h1.Flags&^box.FlagCommit != h2.Flags&^box.FlagCommit || h1.Type != h2.Type || h1.LSN != h2.LSN ||
				h1.TSN != h2.TSN || h1.Commit != h2.Commit || h1.ReplicaID != h2.ReplicaID || h1.GroupID != h2.GroupID {
				t.Fatalf("header changed: %+v -> %+v", h1, h2)
			}
			re.Close()
		}
	})
}
