package format_test

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/testfix"
)

// Row.SpaceID, with its shortcut for a space id written first, agrees with
// the full decoder on every data row of every fixture, and with the walk
// of the body where the shortcut does not apply.
func TestRowSpaceID(t *testing.T) {
	dir := testfix.Dir(t)
	n := 0
	for _, rel := range testfix.Files(t) {
		r, err := format.Open(filepath.Join(dir, rel), format.Options{Force: true})
		if err != nil {
			continue
		}
		for {
			row, err := r.Next()
			if errors.Is(err, io.EOF) || err != nil {
				break
			}
			d, err := row.DML()
			if err != nil {
				continue
			}
			if id, ok := row.SpaceID(); id != d.SpaceID || ok != d.HasSpace {
				t.Fatalf("%s: row %+v: SpaceID %d %v, DML %d %v", rel, row.Pos, id, ok, d.SpaceID, d.HasSpace)
			}
			n++
		}
		r.Close()
	}
	if n < 10000 {
		t.Fatalf("only %d rows", n)
	}
	for _, c := range []struct {
		body []byte
		id   uint32
		ok   bool
	}{
		{[]byte{0x82, 0x21, 0x90, 0x10, 0xcd, 0x02, 0x00}, 512, true}, // space id not first
		{[]byte{0x82, 0x10, 0xcc, 0xff, 0x21, 0x90}, 255, true},
		{[]byte{0x81, 0x10, 0xce, 0, 1, 0, 0}, 65536, true},
		{[]byte{0x81, 0x10, 0xa1, 'x'}, 0, false},  // not an integer
		{[]byte{0x81, 0x10}, 0, false},             // cut short
		{[]byte{0x81, 0x10, 0xcd, 0x02}, 0, false}, // cut short in the value
		{[]byte{0x91, 0x10}, 0, false},             // not a map
		{[]byte{0x81, 0xa1, 'k', 0x01}, 0, false},  // a string key
		{[]byte{0x80, 0x10, 0x05}, 0, false},       // an empty map, then other bytes
	} {
		row := format.Row{Body: c.body}
		if id, ok := row.SpaceID(); id != c.id || ok != c.ok {
			t.Errorf("% x: SpaceID %d %v, want %d %v", c.body, id, ok, c.id, c.ok)
		}
	}
}
