package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/xlogtool/xlogtool/box"
)

// aheadLog writes a WAL of zstd and plain blocks.
func aheadLog(t *testing.T, seed uint64) []byte {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, 1))
	var out bytes.Buffer
	m := &Meta{FileType: TypeXLOG, Version: Version13, HasVClock: true}
	w, err := NewWriter(&out, m, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lsn := uint64(1)
	for tx := 0; tx < 60; tx++ {
		n := 1 + rnd.IntN(40) // small transactions make plain blocks
		w.Begin()
		tsn := lsn
		for i := 0; i < n; i++ {
			body := []byte{0x82, box.KeySpaceID, 0xcd, 0x02, 0x00, box.KeyTuple, 0x92}
			body = appendUint(body, lsn)
			s := make([]byte, rnd.IntN(60))
			for j := range s {
				s[j] = 'a' + byte(rnd.IntN(4))
			}
			body = append(body, 0xd9, byte(len(s)))
			body = append(body, s...)
			h := Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn, TSN: tsn, Commit: i == n-1, Timestamp: 1.7e9}
			if err := w.Write(&h, body); err != nil {
				t.Fatal(err)
			}
			lsn++
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// readTrace reads data and describes everything the reader tells; ahead
// tells whether blocks were worked on ahead.
func readTrace(data []byte, depth int, force bool, small bool) (trace string, ahead bool) {
	var src io.Reader = bytes.NewReader(data)
	if small {
		src = iotest.HalfReader(src)
	}
	var b bytes.Buffer
	opts := Options{Force: force, OnIssue: func(e *Error) { fmt.Fprintf(&b, "issue %v %d %d\n", e, e.Kind, e.Skipped) }}
	r, err := NewReader(src, opts)
	if err != nil {
		return "header: " + err.Error(), false
	}
	r.depth = depth
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(&b, "error %v\n", err)
			break
		}
		fmt.Fprintf(&b, "row %+v %x %x %+v\n", row.Header, row.RawHeader, row.Body, row.Pos)
	}
	fmt.Fprintf(&b, "end %v %d %+v %+v\n", r.End(), r.GoodEnd(), r.Stats(), r.Block())
	r.Close()
	return b.String(), r.aheadUsed > 0
}

// Reading ahead changes nothing the reader tells, whatever the damage.
func TestReadAheadSame(t *testing.T) {
	for seed := uint64(0); seed < 40; seed++ {
		data := aheadLog(t, seed)
		rnd := rand.New(rand.NewPCG(seed, 2))
		bad := bytes.Clone(data)
		switch seed % 4 {
		case 1: // flip bytes
			for i := 0; i < 1+rnd.IntN(4); i++ {
				bad[100+rnd.IntN(len(bad)-100)] ^= byte(1 + rnd.IntN(255))
			}
		case 2: // cut
			bad = bad[:100+rnd.IntN(len(bad)-100)]
		case 3: // garbage in the middle
			at := 100 + rnd.IntN(len(bad)-100)
			junk := make([]byte, rnd.IntN(300))
			for i := range junk {
				junk[i] = byte(rnd.IntN(256))
			}
			bad = append(bad[:at:at], append(junk, bad[at:]...)...)
		}
		for _, force := range []bool{false, true} {
			want, _ := readTrace(bad, 0, force, false)
			for _, depth := range []int{1, 3} {
				for _, small := range []bool{false, true} {
					got, ahead := readTrace(bad, depth, force, small)
					if !ahead && seed%4 == 0 {
						t.Errorf("seed %d depth %d: no block read ahead", seed, depth)
					}
					if got != want {
						t.Fatalf("seed %d force %v depth %d small reads %v: differs\n--- without\n%.2000s\n--- with\n%.2000s",
							seed, force, depth, small, want, got)
					}
				}
			}
		}
	}
}

// skipGeneric is Skip without its fast paths.
func (c *MPCursor) skipGeneric() error {
	pending := 1
	for pending > 0 {
		hdr, payload, children, err := c.itemSize()
		if err != nil {
			return err
		}
		if !c.need(hdr + payload) {
			return errShort
		}
		c.p += hdr + payload
		pending += children - 1
		if pending > len(c.b)-c.p+1 {
			return errShort
		}
	}
	return nil
}

// Skip's fast paths end where the generic walk ends, with the same error.
func TestSkipFastPaths(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 7))
	interesting := []byte{0x00, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x93, 0x9f, 0xa0, 0xa5, 0xbf, 0xc0, 0xc2, 0xc3,
		0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd9, 0xda, 0xdb, 0xdc, 0xde, 0xd4, 0xe0, 0xff}
	for i := 0; i < 200000; i++ {
		b := make([]byte, rnd.IntN(24))
		for j := range b {
			if rnd.IntN(2) == 0 {
				b[j] = interesting[rnd.IntN(len(interesting))]
			} else {
				b[j] = byte(rnd.IntN(256))
			}
		}
		fast, slow := MPCursor{b: b}, MPCursor{b: b}
		ef, es := fast.Skip(), slow.skipGeneric()
		if ef != es || (ef == nil && fast.p != slow.p) {
			t.Fatalf("% x: Skip %v at %d, generic %v at %d", b, ef, fast.p, es, slow.p)
		}
	}
}
