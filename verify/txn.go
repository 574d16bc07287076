package verify

import "github.com/xlogtool/xlogtool/format"

// keptRow is a copy of one row (header fields and bytes) kept to show it
// as evidence later. Its buffer is reused.
type keptRow struct {
	row format.Row // names its file in Pos
	buf []byte
}

func (k *keptRow) keep(r *format.Row) {
	k.buf = append(k.buf[:0], r.RawHeader...)
	k.buf = append(k.buf, r.Body...)
	k.row = *r
	n := len(r.RawHeader)
	k.row.RawHeader = k.buf[:n:n]
	if r.Body != nil {
		k.row.Body = k.buf[n:]
	}
}

func (k *keptRow) valid() bool { return k.row.Pos.File != "" }
