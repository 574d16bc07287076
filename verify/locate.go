package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/maphash"
	"io"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/render"
)

// Targeted second reads: only the files that can hold the rows asked for
// are read again, using the vclock range of every xlog recorded in the
// first pass.

// located is a row found again.
type located struct {
	file int   // index in instance.files
	off  int64 // row offset in the file
	ts   float64
	row  json.RawMessage
}

// before reports whether a comes before b in the instance's log.
func (a located) before(b located) bool {
	if a.file != b.file {
		return a.file < b.file
	}
	return a.off < b.off
}

// filesFor returns the indexes of the xlogs that can hold lsn of id.
func (in *instance) filesFor(id uint32, from, to uint64) []int {
	var out []int
	for i := range in.files {
		f := &in.files[i]
		if f.Ext != ".xlog" {
			continue
		}
		if f.VClock.Get(id) < to && f.End.Get(id) >= from {
			out = append(out, i)
		}
	}
	return out
}

// rowReader reads an instance's files again.
type rowReader struct {
	in   *instance
	name string
	rbuf bytes.Buffer
	pr   *render.Printer
}

func newRowReader(in *instance) *rowReader {
	rr := &rowReader{in: in, name: in.sum.Name}
	rr.pr = render.NewPrinter(&rr.rbuf, render.Options{Format: render.JSON, ShowPos: true})
	return rr
}

func (rr *rowReader) render(file string, r *format.Row) json.RawMessage {
	rr.rbuf.Reset()
	if err := rr.pr.Row(file, r); err != nil {
		b, _ := json.Marshal(map[string]any{"error": err.Error(), "file": file})
		return b
	}
	return json.RawMessage(bytes.TrimRight(append([]byte(nil), rr.rbuf.Bytes()...), "\n"))
}

// each reads file i and calls fn for every row until fn returns false.
func (rr *rowReader) each(i int, fn func(r *format.Row) bool) {
	path := rr.in.files[i].Path
	rd, err := format.Open(path, format.Options{Name: path, Force: true})
	if err != nil {
		if rd != nil {
			rd.Close()
		}
		return
	}
	defer rd.Close()
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) || err != nil {
			return
		}
		if !fn(r) {
			return
		}
	}
}

// locate finds rows by replica id and LSN.
func (rr *rowReader) locate(keys ...rowKey) map[rowKey]located {
	out := map[rowKey]located{}
	byFile := map[int]map[rowKey]bool{}
	for _, k := range keys {
		for _, i := range rr.in.filesFor(k.id, k.lsn, k.lsn) {
			if byFile[i] == nil {
				byFile[i] = map[rowKey]bool{}
			}
			byFile[i][k] = true
		}
	}
	for i := range rr.in.files {
		want := byFile[i]
		if len(want) == 0 {
			continue
		}
		path := rr.in.files[i].Path
		rr.each(i, func(r *format.Row) bool {
			k := rowKey{r.ReplicaID, r.LSN}
			if want[k] {
				if _, done := out[k]; !done {
					out[k] = located{file: i, off: r.Pos.FileOffset(), ts: r.Timestamp, row: rr.render(path, r)}
				}
				delete(want, k)
			}
			return len(want) > 0
		})
	}
	return out
}

// rowDigest is one row's hash kept while comparing a chunk in detail.
type rowDigest struct {
	hash uint64
	typ  box.RowType
}

// chunkRows reads the rows of the given chunks of component id.
func (rr *rowReader) chunkRows(seed maphash.Seed, id uint32, chunks map[uint64]bool) map[uint64]rowDigest {
	out := map[uint64]rowDigest{}
	files := map[int]bool{}
	for k := range chunks {
		for _, i := range rr.in.filesFor(id, k<<chunkBits, (k+1)<<chunkBits-1) {
			files[i] = true
		}
	}
	for i := range rr.in.files {
		if !files[i] {
			continue
		}
		rr.each(i, func(r *format.Row) bool {
			if r.ReplicaID == id && chunks[r.LSN>>chunkBits] {
				if _, dup := out[r.LSN]; !dup {
					out[r.LSN] = rowDigest{hash: rowHash(seed, r), typ: r.Type}
				}
			}
			return true
		})
	}
	return out
}

// decider finds the row that decided the fate of the transaction holding
// lsn of id: the first CONFIRM, ROLLBACK, PROMOTE or DEMOTE after it that
// covers it.
func (rr *rowReader) decider(id uint32, lsn uint64, f fate) (located, bool) {
	files := rr.in.filesFor(id, lsn, lsn)
	if len(files) == 0 {
		return located{}, false
	}
	var out located
	found, passed := false, false
	for i := files[0]; i < len(rr.in.files) && !found; i++ {
		if rr.in.files[i].Ext != ".xlog" {
			continue
		}
		path := rr.in.files[i].Path
		rr.each(i, func(r *format.Row) bool {
			if r.ReplicaID == id && r.LSN >= lsn {
				passed = true
			}
			if !passed || !r.Type.IsSynchro() {
				return true
			}
			syn, err := r.Synchro()
			if err != nil {
				return true
			}
			switch r.Type {
			case box.TypeConfirm:
				found = f == fateConfirmed && syn.ReplicaID == id && syn.LSN >= lsn
			case box.TypeRollback:
				found = f == fateRolledBack && syn.ReplicaID == id && syn.LSN <= lsn
			default:
				found = true
			}
			if found {
				out = located{file: i, off: r.Pos.FileOffset(), ts: r.Timestamp, row: rr.render(path, r)}
			}
			return !found
		})
	}
	return out, found
}
