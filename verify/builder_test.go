package verify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/verify"
)

// walBuilder writes the data directory of one instance with format's
// writer, the way Tarantool would: a snapshot, xlogs named after their
// vclock with PrevVClock, one block per transaction.
type walBuilder struct {
	t       testing.TB
	dir     string
	uuid    string
	version string
	vc      format.VClock
	prev    *format.VClock
	w       *format.Writer
	ts      float64
	files   []string
	// replicaset, when set, is written to the snapshot's _schema as
	// 'cluster' (or 'replicaset_uuid' for 3.x writers).
	replicaset string
}

func newWAL(t testing.TB, dir, uuid, version string) *walBuilder {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &walBuilder{t: t, dir: dir, uuid: uuid, version: version, ts: 1700000000}
}

func uuidOf(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// MessagePack helpers (unsigned integers, as Tarantool writes them).
func mpUint(v uint64) []byte { return format.AppendUint(nil, v) }

func mpStr(s string) []byte {
	if len(s) < 32 {
		return append([]byte{0xa0 | byte(len(s))}, s...)
	}
	return append([]byte{0xd9, byte(len(s))}, s...)
}

func mpArr(items ...[]byte) []byte {
	b := []byte{0x90 | byte(len(items))}
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func mpMap(kv ...[]byte) []byte {
	b := []byte{0x80 | byte(len(kv)/2)}
	for _, it := range kv {
		b = append(b, it...)
	}
	return b
}

func dmlBody(space uint32, key uint64, val string) []byte {
	return mpMap(mpUint(0x10), mpUint(uint64(space)), mpUint(0x21), mpArr(mpUint(key), mpStr(val)))
}

// schemaBody is the _schema row holding the replica set UUID: key
// 'cluster' up to 2.11, 'replicaset_uuid' in 3.x.
func schemaBody(version, uuid string) []byte {
	key := "cluster"
	if strings.HasPrefix(version, "3.") {
		key = "replicaset_uuid"
	}
	return mpMap(mpUint(0x10), mpUint(272), mpUint(0x21), mpArr(mpStr(key), mpStr(uuid)))
}

// clusterBody is a _cluster row: replica id to instance UUID.
func clusterBody(id uint32, uuid string) []byte {
	return mpMap(mpUint(0x10), mpUint(320), mpUint(0x21), mpArr(mpUint(uint64(id)), mpStr(uuid)))
}

const (
	syncSpace  = 512
	asyncSpace = 513
)

func (b *walBuilder) meta(fileType string) *format.Meta {
	m := &format.Meta{FileType: fileType, Version: format.Version13, Tarantool: b.version, Instance: b.uuid,
		VClock: b.vc, HasVClock: true}
	if fileType == format.TypeXLOG && b.prev != nil {
		m.PrevVClock, m.HasPrevVClock = *b.prev, true
	}
	return m
}

// snapshot writes a snapshot at the current vclock with the _cluster
// members, the synchronous space and, optionally, Raft and queue state.
func (b *walBuilder) snapshot(cluster map[uint32]string, raft *format.Raft, promote *format.Synchro) {
	b.t.Helper()
	b.closeXlog()
	w, err := format.Create(b.dir, b.meta(format.TypeSNAP), format.WriterOptions{NoSync: true})
	if err != nil {
		b.t.Fatal(err)
	}
	var n uint64
	put := func(h format.Header, body []byte) {
		h.LSN, h.TSN, h.Commit = n, n, true
		h.Timestamp = b.ts
		n++
		if err := w.Write(&h, body); err != nil {
			b.t.Fatal(err)
		}
	}
	if b.replicaset != "" {
		put(format.Header{Type: box.TypeInsert}, schemaBody(b.version, b.replicaset))
	}
	for _, sp := range []struct {
		id   uint32
		sync bool
	}{{syncSpace, true}, {asyncSpace, false}} {
		flags := mpMap()
		if sp.sync {
			flags = mpMap(mpStr("is_sync"), []byte{0xc3})
		}
		tuple := mpArr(mpUint(uint64(sp.id)), mpUint(1), mpStr(fmt.Sprint("s", sp.id)), mpStr("memtx"), mpUint(0), flags, mpArr())
		put(format.Header{Type: box.TypeInsert}, mpMap(mpUint(0x10), mpUint(280), mpUint(0x21), tuple))
	}
	for id := uint32(1); id < 32; id++ {
		if u, ok := cluster[id]; ok {
			put(format.Header{Type: box.TypeInsert}, clusterBody(id, u))
		}
	}
	if raft != nil {
		put(format.Header{Type: box.TypeRaft, GroupID: 1}, format.AppendRaftBody(nil, raft))
	}
	if promote != nil {
		put(format.Header{Type: box.TypePromote}, format.AppendSynchroBody(nil, promote))
	}
	if err := w.Close(); err != nil {
		b.t.Fatal(err)
	}
	b.files = append(b.files, w.Path())
}

// xlog starts a new xlog at the current vclock.
func (b *walBuilder) xlog() *walBuilder {
	b.t.Helper()
	b.closeXlog()
	w, err := format.Create(b.dir, b.meta(format.TypeXLOG), format.WriterOptions{NoSync: true, NoCompress: true})
	if err != nil {
		b.t.Fatal(err)
	}
	b.w = w
	v := b.vc
	b.prev = &v
	b.files = append(b.files, w.Path())
	return b
}

func (b *walBuilder) closeXlog() {
	b.t.Helper()
	if b.w == nil {
		return
	}
	if err := b.w.Close(); err != nil {
		b.t.Fatal(err)
	}
	b.w = nil
}

// done closes the files and returns the directory.
func (b *walBuilder) done() string {
	b.closeXlog()
	return b.dir
}

func (b *walBuilder) next(id uint32) uint64 { return b.vc.Get(id) + 1 }

// row writes one row as its own transaction entry (block).
func (b *walBuilder) row(h format.Header, body []byte) {
	b.t.Helper()
	if b.w == nil {
		b.xlog()
	}
	b.ts += 0.001
	h.Timestamp = b.ts
	if err := b.w.Write(&h, body); err != nil {
		b.t.Fatal(err)
	}
	b.vc.Set(h.ReplicaID, h.LSN)
}

func (b *walBuilder) flush() {
	if err := b.w.Flush(); err != nil {
		b.t.Fatal(err)
	}
}

// tx writes a transaction of n rows of replica id into space; flags go on
// the last row. It returns the LSNs it used.
func (b *walBuilder) tx(id uint32, space uint32, n int, flags uint64) (first, last uint64) {
	b.t.Helper()
	first = b.next(id)
	for i := 0; i < n; i++ {
		lsn := b.next(id)
		h := format.Header{Type: box.TypeReplace, ReplicaID: id, LSN: lsn, TSN: first, Commit: i == n-1}
		if i == n-1 {
			h.Flags = flags
		}
		b.row(h, dmlBody(space, lsn, "v"))
	}
	b.flush()
	return first, b.vc.Get(id)
}

// async writes a one-row asynchronous transaction of replica id.
func (b *walBuilder) async(id uint32) uint64 {
	_, l := b.tx(id, asyncSpace, 1, 0)
	return l
}

// sync writes a one-row synchronous transaction (WAIT_SYNC|WAIT_ACK).
func (b *walBuilder) sync(id uint32) uint64 {
	_, l := b.tx(id, syncSpace, 1, box.FlagWaitSync|box.FlagWaitAck)
	return l
}

func (b *walBuilder) synchro(t box.RowType, origin uint32, s format.Synchro) uint64 {
	lsn := b.next(origin)
	b.row(format.Header{Type: t, ReplicaID: origin, LSN: lsn, TSN: lsn, Commit: true}, format.AppendSynchroBody(nil, &s))
	b.flush()
	return lsn
}

func (b *walBuilder) confirm(origin, owner uint32, lsn uint64) uint64 {
	return b.synchro(box.TypeConfirm, origin, format.Synchro{ReplicaID: owner, LSN: lsn})
}

func (b *walBuilder) rollback(origin, owner uint32, lsn uint64) uint64 {
	return b.synchro(box.TypeRollback, origin, format.Synchro{ReplicaID: owner, LSN: lsn})
}

func (b *walBuilder) promote(origin, prev uint32, lsn, term uint64) uint64 {
	return b.synchro(box.TypePromote, origin, format.Synchro{ReplicaID: prev, LSN: lsn, Term: term, HasTerm: true})
}

func (b *walBuilder) demote(origin, prev uint32, lsn, term uint64) uint64 {
	return b.synchro(box.TypeDemote, origin, format.Synchro{ReplicaID: prev, LSN: lsn, Term: term, HasTerm: true})
}

// raft writes a persisted Raft state row (local, component 0).
func (b *walBuilder) raft(term uint64, vote uint32) {
	lsn := b.next(0)
	b.row(format.Header{Type: box.TypeRaft, GroupID: 1, LSN: lsn, TSN: lsn, Commit: true},
		format.AppendRaftBody(nil, &format.Raft{Term: term, Vote: vote}))
	b.flush()
}

// copyRow writes a row that another instance wrote (replication).
func (b *walBuilder) copyRow(h format.Header, body []byte) {
	b.row(h, body)
	b.flush()
}

// verifyDirs runs verify over named directories (name=dir).
func verifyDirs(t testing.TB, dirs ...string) *verify.Report {
	t.Helper()
	var srcs []verify.Source
	for _, d := range dirs {
		s, err := verify.ParseSource(d)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	rep, err := verify.Run(context.Background(), srcs, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// findings returns the findings of a kind.
func findings(rep *verify.Report, kind verify.Kind) []*verify.Finding {
	var out []*verify.Finding
	for _, f := range rep.Findings {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// want1 returns the only finding of kind, failing otherwise, and checks
// its severity.
func want1(t *testing.T, rep *verify.Report, kind verify.Kind, sev verify.Severity) *verify.Finding {
	t.Helper()
	fs := findings(rep, kind)
	if len(fs) != 1 {
		t.Fatalf("%d %s findings, want 1:\n%s", len(fs), kind, reportText(rep))
	}
	if fs[0].Severity != sev {
		t.Fatalf("%s has severity %s, want %s:\n%s", kind, fs[0].Severity, sev, reportText(rep))
	}
	return fs[0]
}

// wantNone fails when any finding of the kinds was made.
func wantNone(t *testing.T, rep *verify.Report, kinds ...verify.Kind) {
	t.Helper()
	for _, k := range kinds {
		if fs := findings(rep, k); len(fs) > 0 {
			t.Fatalf("unexpected %s findings:\n%s", k, reportText(rep))
		}
	}
}

// wantClean fails on any finding at all.
func wantClean(t *testing.T, rep *verify.Report) {
	t.Helper()
	if len(rep.Findings) > 0 {
		t.Fatalf("want no findings:\n%s", reportText(rep))
	}
}

func reportText(rep *verify.Report) string {
	var b strings.Builder
	rep.WriteText(&b)
	return b.String()
}

// blockOffsets lists the offsets of a file's blocks.
func blockOffsets(t testing.TB, path string) []int64 {
	t.Helper()
	_, rows, err := format.ReadAll(path, format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1] != r.Pos.Block {
			out = append(out, r.Pos.Block)
		}
	}
	return out
}

func patchFile(t testing.TB, path string, fn func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

func base(p string) string { return filepath.Base(p) }
