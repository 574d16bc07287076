package format_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// Blocks compressed on several goroutines make the same bytes as on one.
func TestWriterWorkers(t *testing.T) {
	write := func(workers int) []byte {
		var buf bytes.Buffer
		m := &format.Meta{FileType: format.TypeSNAP, Version: format.Version13, HasVClock: true}
		w, err := format.NewWriter(&buf, m, format.WriterOptions{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		for i := range uint64(50000) {
			body = append(body[:0], 0x82, box.KeySpaceID, 0xcd, 2, 0, box.KeyTuple, 0x92, 0xcf)
			body = binary.BigEndian.AppendUint64(body, i*i)
			body = append(body, 0xa8, 'p', 'a', 'y', 'l', 'o', 'a', 'd', byte('a'+i%26))
			h := format.Header{Type: box.TypeInsert, LSN: i, TSN: i, Commit: true, Timestamp: 1.5}
			if err := w.Write(&h, body); err != nil {
				t.Fatal(err)
			}
			if i%20000 == 0 {
				if err := w.FlushFile(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	one, three := write(0), write(3)
	if !bytes.Equal(one, three) {
		t.Fatalf("%d bytes with 3 workers, %d with none, not the same", len(three), len(one))
	}
	r, err := format.NewReader(bytes.NewReader(three), format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		n++
	}
	if n != 50000 || r.End() != format.EndClean {
		t.Errorf("read %d rows, end %v", n, r.End())
	}
}
