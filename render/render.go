// Package render prints log rows as JSON lines, YAML documents or Lua
// statements, the three output formats of `tt cat`, with the key names of
// Tarantool's own log reader and names for the rows and keys it leaves as
// numbers (RAFT, PROMOTE, DEMOTE, CONFIRM, ROLLBACK and their bodies).
package render

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// Format is an output format.
type Format int

// Output formats.
const (
	JSON Format = iota
	YAML
	Lua
)

// ParseFormat parses "json", "yaml" or "lua".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "json":
		return JSON, nil
	case "yaml", "yml":
		return YAML, nil
	case "lua":
		return Lua, nil
	}
	return 0, fmt.Errorf("unknown format %q (want yaml, json or lua)", s)
}

// Options configure a Printer.
type Options struct {
	Format Format
	// ShowPos adds each row's file, block offset, index and byte offset.
	ShowPos bool
}

// Printer writes rows to w. It keeps one reusable buffer, so printing a row
// does not allocate.
type Printer struct {
	w       io.Writer
	opts    Options
	buf     []byte
	fields  []headerField
	inFile  int // rows printed for the current file
	printed bool
	// The JSON text of the last timestamp printed: the rows of a
	// transaction share theirs.
	ts     float64
	tsJSON []byte
	// luaDeepOK: the Lua output has raised the nesting limit of
	// Tarantool's MessagePack encoder.
	luaDeepOK bool
	// source names where the rows come from (SetSource).
	source string
	// ahead: a printer of whole blocks for Ahead, which cannot know what
	// was printed before (luaDeepOK).
	ahead bool
	// workers are the printers Ahead uses, outs their outputs.
	workers, outs sync.Pool
}

// SetSource makes the rows printed next carry a SOURCE entry naming where
// they come from (a server of `tail`); "" prints none.
func (p *Printer) SetSource(name string) { p.source = name }

// NewPrinter returns a printer writing to w (which should be buffered).
func NewPrinter(w io.Writer, opts Options) *Printer {
	return &Printer{w: w, opts: opts, buf: make([]byte, 0, 64<<10), fields: make([]headerField, 0, 12)}
}

// Row prints one row of file.
func (p *Printer) Row(file string, r *format.Row) error {
	b, err := p.appendRow(p.buf[:0], file, r)
	p.buf = b[:0]
	if err != nil {
		return fmt.Errorf("%s: offset %d: can't print row: %w", file, r.Pos.FileOffset(), err)
	}
	p.inFile++
	p.printed = true
	_, err = p.w.Write(b)
	return err
}

// aheadOut is the output of a block printed by Ahead.
type aheadOut struct {
	b    []byte
	rows int // rows printed
}

// aheadMax bounds the output of a block printed by Ahead (but for the
// last row's): a block that prints more is left to Row.
const aheadMax = 1 << 20

// errAhead: a row's output depends on the rows printed before it.
var errAhead = errors.New("needs the rows before it")

// Ahead prints the rows of block b of file that flt selects, as Row
// would, into a buffer of its own, and returns it with the number of rows
// in the block (for format.ScanOptions.Ahead: it may run on several
// goroutines at once). It returns nil when it cannot: a row does not
// decode or print, or its output would depend on what was printed before.
func (p *Printer) Ahead(file string, b *format.Block, flt *format.Filter) (any, int) {
	w, _ := p.workers.Get().(*Printer)
	if w == nil {
		w = &Printer{opts: p.opts, source: p.source, ahead: true, fields: make([]headerField, 0, 12)}
	}
	defer p.workers.Put(w)
	o, _ := p.outs.Get().(*aheadOut)
	if o == nil {
		o = &aheadOut{b: make([]byte, 0, 64<<10)}
	}
	o.b, o.rows = o.b[:0], 0
	var row format.Row
	n, ok := b.Rows(&row, flt, func(r *format.Row) bool {
		// The row is printed straight into the output: an appender that
		// drops what it printed (b[:0]) drops only its own.
		start := len(o.b)
		out, err := w.appendRow(o.b[start:start], file, r)
		if err != nil {
			return false
		}
		if cap(out) == cap(o.b)-start {
			o.b = o.b[:start+len(out)]
		} else {
			o.b = append(o.b, out...)
		}
		o.rows++
		return len(o.b) <= aheadMax
	})
	if !ok {
		p.outs.Put(o)
		return nil, 0
	}
	return o, n
}

// WriteAhead writes what Ahead printed for a block, in its place among the
// rows.
func (p *Printer) WriteAhead(res any) error {
	o := res.(*aheadOut)
	if o.rows > 0 {
		p.inFile += o.rows
		p.printed = true
	}
	_, err := p.w.Write(o.b)
	if cap(o.b) <= 4*aheadMax {
		p.outs.Put(o)
	}
	return err
}

// appendRow prints one row in the printer's format.
func (p *Printer) appendRow(b []byte, file string, r *format.Row) ([]byte, error) {
	switch p.opts.Format {
	case JSON:
		return p.appendJSON(b, file, r)
	case YAML:
		return p.appendYAML(b, file, r)
	case Lua:
		return p.appendLua(b, file, r)
	}
	return b, nil
}

// EndFile finishes the output of one file (YAML closes its stream of
// documents the way tt does).
func (p *Printer) EndFile() error {
	n := p.inFile
	p.inFile = 0
	if p.opts.Format == YAML && n > 0 {
		_, err := io.WriteString(p.w, "...\n\n")
		return err
	}
	return nil
}

// headerField is one printed header entry.
type headerField struct {
	name string
	kind byte // 'u' uint, 'f' float, 'b' bool, 's' string
	u    uint64
	f    float64
	s    string
}

// headerFields lists the header entries as Tarantool's reader prints them
// (appendJSONHeader prints the same entries directly):
// zero values omitted, tsn only for rows of multi-row transactions, commit
// on their last row. The synchronous-replication flags, which that reader
// does not print, go into a FLAGS entry of their own (see appendFlags), so
// HEADER stays field for field what Tarantool prints.
func headerFields(dst []headerField, h *format.Header) []headerField {
	// The order is the one Tarantool's YAML output shows (its table order).
	if h.LSN != 0 {
		dst = append(dst, headerField{name: "lsn", kind: 'u', u: h.LSN})
	}
	if h.Commit && h.TSN != h.LSN {
		dst = append(dst, headerField{name: "commit", kind: 'b'})
	}
	if h.ReplicaID != 0 {
		dst = append(dst, headerField{name: "replica_id", kind: 'u', u: uint64(h.ReplicaID)})
	}
	if h.GroupID != 0 {
		dst = append(dst, headerField{name: "group_id", kind: 'u', u: uint64(h.GroupID)})
	}
	if name := h.Type.Name(); name != "" {
		dst = append(dst, headerField{name: "type", kind: 's', s: name})
	} else {
		dst = append(dst, headerField{name: "type", kind: 'u', u: uint64(h.Type)})
	}
	if h.TSN != h.LSN || !h.Commit {
		dst = append(dst, headerField{name: "tsn", kind: 'u', u: h.TSN})
	}
	if h.Timestamp != 0 {
		dst = append(dst, headerField{name: "timestamp", kind: 'f', f: h.Timestamp})
	}
	if h.Sync != 0 {
		dst = append(dst, headerField{name: "sync", kind: 'u', u: h.Sync})
	}
	if h.StreamID != 0 {
		dst = append(dst, headerField{name: "stream_id", kind: 'u', u: h.StreamID})
	}
	return dst
}

// appendJSONHeader prints the entries headerFields lists, straight into
// the output.
func (p *Printer) appendJSONHeader(b []byte, h *format.Header) []byte {
	b = append(b, `{"HEADER":{`...)
	sep := false
	key := func(b []byte, name string) []byte {
		if sep {
			b = append(b, ',')
		}
		sep = true
		return append(b, name...)
	}
	if h.LSN != 0 {
		b = strconv.AppendUint(key(b, `"lsn":`), h.LSN, 10)
	}
	if h.Commit && h.TSN != h.LSN {
		b = key(b, `"commit":true`)
	}
	if h.ReplicaID != 0 {
		b = strconv.AppendUint(key(b, `"replica_id":`), uint64(h.ReplicaID), 10)
	}
	if h.GroupID != 0 {
		b = strconv.AppendUint(key(b, `"group_id":`), uint64(h.GroupID), 10)
	}
	if name := h.Type.Name(); name != "" {
		b = appendJSONString(key(b, `"type":`), []byte(name))
	} else {
		b = strconv.AppendUint(key(b, `"type":`), uint64(h.Type), 10)
	}
	if h.TSN != h.LSN || !h.Commit {
		b = strconv.AppendUint(key(b, `"tsn":`), h.TSN, 10)
	}
	if h.Timestamp != 0 {
		if h.Timestamp != p.ts || p.tsJSON == nil {
			p.ts, p.tsJSON = h.Timestamp, appendFloat(p.tsJSON[:0], h.Timestamp, -1)
		}
		b = append(key(b, `"timestamp":`), p.tsJSON...)
	}
	if h.Sync != 0 {
		b = strconv.AppendUint(key(b, `"sync":`), h.Sync, 10)
	}
	if h.StreamID != 0 {
		b = strconv.AppendUint(key(b, `"stream_id":`), h.StreamID, 10)
	}
	return append(b, '}')
}

func (p *Printer) appendJSON(b []byte, file string, r *format.Row) ([]byte, error) {
	b = p.appendJSONHeader(b, &r.Header)
	if r.Body != nil {
		b = append(b, `,"BODY":`...)
		var err error
		if b, err = appendJSONBody(b, r); err != nil {
			return b, err
		}
	}
	if h := &r.Header; h.WaitSync() || h.WaitAck() {
		b = append(b, `,"FLAGS":{`...)
		if h.WaitSync() {
			b = append(b, `"wait_sync":true`...)
		}
		if h.WaitAck() {
			if h.WaitSync() {
				b = append(b, ',')
			}
			b = append(b, `"wait_ack":true`...)
		}
		b = append(b, '}')
	}
	if p.opts.ShowPos {
		b = append(b, `,"POS":{"file":`...)
		b = appendJSONString(b, []byte(file))
		b = append(b, `,"block":`...)
		b = strconv.AppendInt(b, r.Pos.Block, 10)
		b = append(b, `,"row":`...)
		b = strconv.AppendInt(b, int64(r.Pos.Index), 10)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, r.Pos.FileOffset(), 10)
		b = append(b, '}')
	}
	if p.source != "" {
		b = append(b, `,"SOURCE":`...)
		b = appendJSONString(b, []byte(p.source))
	}
	return append(b, "}\n"...), nil
}

// appendJSONBody prints a body map with named keys.
func appendJSONBody(b []byte, r *format.Row) ([]byte, error) {
	c := format.NewMPCursor(r.Body)
	if c.Kind() != format.MPMap {
		return appendJSONValue(b, c, 0)
	}
	n, err := c.MapLen()
	if err != nil {
		return b, err
	}
	b = append(b, '{')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		if c.Kind() == format.MPUint {
			k, _ := c.Uint()
			b = append(b, '"')
			if name := bodyKeyName(r.Type, k); name != "" {
				b = append(b, name...)
			} else {
				b = strconv.AppendUint(b, k, 10)
			}
			b = append(b, '"')
		} else if b, err = appendJSONKey(b, c, 1); err != nil {
			return b, err
		}
		b = append(b, ':')
		if b, err = appendJSONValue(b, c, 1); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// keyNames is box.BodyKeyName of the types and keys rows mostly have,
// as a table: printing looks a name up for every body key.
var keyNames = sync.OnceValue(func() *[64][64]string {
	var t [64][64]string
	for typ := range t {
		for k := range t[typ] {
			t[typ][k] = box.BodyKeyName(box.RowType(typ), uint64(k))
		}
	}
	return &t
})

// bodyKeyName is box.BodyKeyName, through the table where it can.
func bodyKeyName(t box.RowType, k uint64) string {
	if t < 64 && k < 64 {
		return keyNames()[t][k]
	}
	return box.BodyKeyName(t, k)
}
