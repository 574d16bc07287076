package replay

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/memtx"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/render"
)

// WriteSnapshot writes the recovered state as a snapshot whose header
// vclock is the vclock reached, with the instance UUID and version of
// the snapshot the replay started from. When path is a directory the
// file is named after the vclock signature, as Tarantool requires. It
// returns the path written and the number of rows.
func (r *Result) WriteSnapshot(path string) (string, int64, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, format.FileName(format.TypeSNAP, r.VClock))
	}
	var opts memtx.SnapshotOptions
	if m := r.SnapshotMeta; m != nil {
		opts.Instance, opts.Version = m.Instance, m.Tarantool
	}
	if r.SnapshotHad.Raft {
		opts.Raft = &format.Raft{Term: r.Raft.Term, Vote: r.Raft.Vote}
	}
	if r.SnapshotHad.Promote {
		opts.Promote = &format.Synchro{ReplicaID: r.Queue.Owner, LSN: r.Queue.ConfirmedLSN, Term: r.Queue.Term, HasTerm: true}
	}
	n, err := r.State.WriteSnapshot(path, r.VClock, opts)
	return path, n, err
}

// JSONOptions configure Result.WriteJSON.
type JSONOptions struct {
	// ShowSystem includes the system spaces (ids 257..510).
	ShowSystem bool
}

// WriteJSON writes the result as one JSON object: the vclock reached,
// where the replay started and stopped, the transaction counts, the
// pending transactions, the findings and the spaces with their tuples in
// primary-key order (user spaces only unless opts.ShowSystem). Tuples
// are streamed, not built in memory.
func (r *Result) WriteJSON(out io.Writer, opts JSONOptions) error {
	w := bufio.NewWriterSize(out, 1<<16)
	head := struct {
		VClock     format.VClock `json:"vclock"`
		Snapshot   string        `json:"snapshot"`
		SnapVClock format.VClock `json:"snapshot_vclock"`
		Xlogs      []string      `json:"xlogs"`
		Stop       *StopPoint    `json:"stop"`
		Counts     Counts        `json:"transactions"`
		Queue      any           `json:"synchro_queue"`
		Pending    []TxInfo      `json:"pending"`
		RolledBack []TxInfo      `json:"rolled_back"`
		Unapplied  []TxInfo      `json:"unapplied"`
		Findings   []Finding     `json:"findings"`
		NFindings  int           `json:"finding_count"`
		Warnings   []Finding     `json:"warnings"`
	}{
		VClock: r.VClock, Snapshot: r.Snapshot, Xlogs: r.Xlogs, Stop: r.Stop, Counts: r.Counts,
		Queue:   map[string]any{"owner": r.Queue.Owner, "term": r.Queue.Term, "confirmed_lsn": r.Queue.ConfirmedLSN},
		Pending: nonNil(r.Pending), RolledBack: nonNil(r.RolledBack), Unapplied: nonNil(r.Unapplied),
		Findings: nonNil(r.Findings), NFindings: r.FindingCount, Warnings: nonNil(r.Warnings),
	}
	if r.SnapshotMeta != nil {
		head.SnapVClock = r.SnapshotMeta.VClock
	}
	b, err := json.Marshal(head)
	if err != nil {
		return err
	}
	// Open the object again to append the spaces.
	w.Write(b[:len(b)-1])
	w.WriteString(`,"spaces":[`)
	first := true
	var buf []byte
	for _, sp := range r.State.Spaces() {
		if box.IsSystemSpace(sp.ID) && !opts.ShowSystem {
			continue
		}
		if !first {
			w.WriteByte(',')
		}
		first = false
		buf = append(buf[:0], `{"id":`...)
		buf = strconv.AppendUint(buf, uint64(sp.ID), 10)
		buf = append(buf, `,"name":`...)
		buf = appendJSONString(buf, sp.Name)
		buf = append(buf, `,"engine":`...)
		buf = appendJSONString(buf, sp.Engine)
		buf = append(buf, `,"is_sync":`...)
		buf = strconv.AppendBool(buf, sp.IsSync)
		buf = append(buf, `,"is_local":`...)
		buf = strconv.AppendBool(buf, sp.IsLocal)
		buf = append(buf, `,"temporary":`...)
		buf = strconv.AppendBool(buf, sp.Temporary)
		buf = append(buf, `,"tuples":[`...)
		w.Write(buf)
		n := 0
		sp.AscendTuples(func(t memtx.Tuple) bool {
			buf = buf[:0]
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			buf = appendJSONMsgpack(buf, t)
			_, err = w.Write(buf)
			return err == nil
		})
		if err != nil {
			return err
		}
		w.WriteString("]}")
	}
	w.WriteString("]}\n")
	return w.Flush()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// AppendJSON appends a canonical value as JSON: integers exactly,
// doubles in their shortest form (NaN and infinities as null), binary
// strings as strings (invalid UTF-8 replaced), maps as objects with
// their keys as strings, decimals, UUIDs and datetimes as strings.
func AppendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float32:
		return appendJSONFloat(b, float64(x), 32)
	case float64:
		return appendJSONFloat(b, x, 64)
	case string:
		return render.AppendJSONBytes(b, []byte(x), false)
	case []byte:
		return render.AppendJSONBytes(b, x, true)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSON(b, e)
		}
		return append(b, ']')
	case memtx.Map:
		b = append(b, '{')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if k, ok := e.Key.(string); ok {
				b = appendJSONString(b, k)
			} else {
				b = appendJSONString(b, string(AppendJSON(nil, e.Key)))
			}
			b = append(b, ':')
			b = AppendJSON(b, e.Value)
		}
		return append(b, '}')
	case memtx.Decimal:
		return appendJSONString(b, x.String())
	case memtx.UUID:
		return appendJSONString(b, x.String())
	case memtx.Datetime:
		loc := time.FixedZone("", int(x.TZOffset)*60)
		t := time.Unix(x.Seconds, int64(x.Nsec)).In(loc)
		if x.TZOffset == 0 {
			t = t.UTC()
		}
		return appendJSONString(b, t.Format(time.RFC3339Nano))
	case memtx.Interval:
		return appendJSONString(b, fmt.Sprintf("interval:%x", x.Raw))
	case memtx.Ext:
		return appendJSONString(b, fmt.Sprintf("ext(%d):%x", x.Type, x.Data))
	}
	return appendJSONString(b, fmt.Sprint(v))
}

// appendJSONMsgpack appends the MessagePack value at the start of mp as
// AppendJSON appends its decoded value, reading scalars and arrays in
// place; maps and extensions are decoded.
func appendJSONMsgpack(b []byte, mp []byte) []byte {
	c := format.NewMPCursor(mp)
	return appendJSONValue(b, c, 0)
}

func appendJSONValue(b []byte, c *format.MPCursor, depth int) []byte {
	switch c.Kind() {
	case format.MPNil:
		if c.Nil() == nil {
			return append(b, "null"...)
		}
	case format.MPBool:
		if v, err := c.Bool(); err == nil {
			return strconv.AppendBool(b, v)
		}
	case format.MPUint:
		if v, err := c.Uint(); err == nil {
			return strconv.AppendUint(b, v, 10)
		}
	case format.MPInt:
		if v, err := c.Int(); err == nil {
			return strconv.AppendInt(b, v, 10)
		}
	case format.MPFloat32:
		if v, err := c.Float(); err == nil {
			return appendJSONFloat(b, v, 32)
		}
	case format.MPFloat64:
		if v, err := c.Float(); err == nil {
			return appendJSONFloat(b, v, 64)
		}
	case format.MPStr, format.MPBin:
		bin := c.Kind() == format.MPBin
		if v, err := c.Bytes(); err == nil {
			return render.AppendJSONBytes(b, v, bin)
		}
	case format.MPArray:
		if depth >= 64 {
			break
		}
		n, err := c.ArrayLen()
		if err != nil {
			break
		}
		b = append(b, '[')
		for i := 0; i < n; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONValue(b, c, depth+1)
		}
		return append(b, ']')
	}
	raw, err := c.Raw()
	if err != nil {
		return append(b, "null"...)
	}
	v, err := memtx.DecodeMsgpack(raw)
	if err != nil {
		return append(b, "null"...)
	}
	return AppendJSON(b, v)
}

func appendJSONFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.AppendFloat(b, f, 'f', -1, bits)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

func appendJSONString(b []byte, s string) []byte {
	return render.AppendJSONString(b, []byte(s))
}
