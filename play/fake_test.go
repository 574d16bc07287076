package play_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/play"
)

// logTx is one transaction of a synthetic log: rows of (type, space,
// tuple or key).
type logTx []logRow

type logRow struct {
	typ   box.RowType
	space uint32
	value []any          // the tuple, or the key of a DELETE
	body  map[uint64]any // the whole body instead, when set
}

// writeLog writes an xlog of replica 1 with the transactions given, plus
// extra rows (synchro rows) after the transaction whose index is the map
// key. It returns the file and the LSN of every row, by transaction.
func writeLog(t *testing.T, txs []logTx, after map[int][]format.Header, afterBody map[int][][]byte) (string, [][]uint64) {
	t.Helper()
	var buf bytes.Buffer
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, Tarantool: "2.6.0-0-g47aa4e01e",
		Instance: "8244848b-532e-4988-b27a-e4326c6ccb1c", HasVClock: true}
	w, err := format.NewWriter(&buf, m, format.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lsn := uint64(0)
	var lsns [][]uint64
	for i, tx := range txs {
		tsn := lsn + 1
		w.Begin()
		var l []uint64
		for j, r := range tx {
			lsn++
			key := uint64(box.KeyTuple)
			if r.typ == box.TypeDelete {
				key = box.KeyKey
			}
			m := r.body
			if m == nil {
				m = map[uint64]any{box.KeySpaceID: r.space, key: r.value}
			}
			body, err := msgpack.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			h := format.Header{Type: r.typ, ReplicaID: 1, LSN: lsn, TSN: tsn, Commit: j == len(tx)-1, Timestamp: 1.7e9}
			if err := w.Write(&h, body); err != nil {
				t.Fatal(err)
			}
			l = append(l, lsn)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil { // a block per transaction
			t.Fatal(err)
		}
		lsns = append(lsns, l)
		for k, h := range after[i] {
			lsn++
			h.ReplicaID, h.LSN, h.TSN, h.Commit = 1, lsn, lsn, true
			if err := w.Write(&h, afterBody[i][k]); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "00000000000000000000.xlog")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, lsns
}

// fakeServer speaks just enough IPROTO for play: a greeting of the
// version given, AUTH, INSERT/REPLACE/DELETE on spaces keyed by the first
// field, and stream transactions (BEGIN/COMMIT/ROLLBACK). Requests of a
// connection run one after another. With noMVCC, a stream transaction is
// aborted once a request that wrote in it ends, as memtx does without
// memtx_use_mvcc_engine.
type fakeServer struct {
	ln      net.Listener
	version string
	noMVCC  bool

	mu       sync.Mutex
	data     map[string][]byte // space/key -> tuple
	requests []string          // type names in arrival order, with "@stream" when in one
	wg       sync.WaitGroup
}

func startFake(t *testing.T, version string, noMVCC bool) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln, version: version, noMVCC: noMVCC, data: map[string][]byte{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer nc.Close()
				s.serve(nc)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *fakeServer) put(space uint32, key any, tuple []any) {
	b, _ := msgpack.Marshal(tuple)
	s.data[fmt.Sprint(space, "/", key)] = b
}

// contents lists space/key=tuple, sorted.
func (s *fakeServer) contents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k, v := range s.data {
		var tuple []any
		msgpack.Unmarshal(v, &tuple)
		out = append(out, fmt.Sprintf("%s=%v", k, tuple))
	}
	sort.Strings(out)
	return out
}

func (s *fakeServer) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var reqs []string
	for _, r := range s.requests {
		if r != "VOTE" { // the ballot play asks for, which the fake does not give
			reqs = append(reqs, r)
		}
	}
	return strings.Join(reqs, " ")
}

type fakeTx struct {
	writes  map[string][]byte // nil value: deleted
	order   []string
	aborted bool
}

// fakeGreeting is the greeting of a Tarantool of the given version.
func fakeGreeting(version string) []byte {
	salt, _ := base64.StdEncoding.DecodeString("yIaS2a+Z/u0KT8yDbPZodxh8aaOfxJXnftQPVhTNjZg=")
	g, err := iproto.EncodeGreeting(iproto.Greeting{Version: box.VersionOf(version),
		InstanceUUID: "11111111-2222-3333-4444-555555555555", Salt: salt})
	if err != nil {
		panic(err)
	}
	return g
}

func (s *fakeServer) serve(nc net.Conn) {
	if _, err := nc.Write(fakeGreeting(s.version)); err != nil {
		return
	}
	br := bufio.NewReader(nc)
	streams := map[uint64]*fakeTx{}
	for {
		typ, sync, stream, body, err := readRequest(br)
		if err != nil {
			return
		}
		code, msg := s.handle(streams, typ, stream, body)
		writeResponse(nc, code, sync, msg)
	}
}

func (s *fakeServer) handle(streams map[uint64]*fakeTx, typ box.RowType, stream uint64, body map[uint64]any) (box.ErrorCode, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := typ.RequestName()
	if stream != 0 {
		name += "@stream"
	}
	if typ != box.TypeAuth {
		s.requests = append(s.requests, name)
	}
	tx := streams[stream]
	switch typ {
	case box.TypeAuth, box.TypePing:
		return 0, ""
	case box.TypeBegin:
		if tx != nil {
			return box.ErrActiveTransaction, "Operation is not permitted when there is an active transaction"
		}
		streams[stream] = &fakeTx{writes: map[string][]byte{}}
		return 0, ""
	case box.TypeCommit:
		delete(streams, stream)
		if tx == nil {
			return 0, ""
		}
		if tx.aborted {
			return box.ErrTransactionYield, box.ErrTransactionYield.Message()
		}
		for _, k := range tx.order {
			if v := tx.writes[k]; v != nil {
				s.data[k] = v
			} else {
				delete(s.data, k)
			}
		}
		return 0, ""
	case box.TypeTxRollback:
		delete(streams, stream)
		return 0, ""
	case box.TypeInsert, box.TypeReplace, box.TypeDelete:
	default:
		return box.ErrUnknownRequestType, "Unknown request type " + name
	}
	if tx != nil && tx.aborted {
		return box.ErrTransactionYield, box.ErrTransactionYield.Message()
	}
	space := body[box.KeySpaceID]
	var key string
	var val []byte
	if typ == box.TypeDelete {
		key = fmt.Sprint(space, "/", body[box.KeyKey].([]any)[0])
	} else {
		tuple := body[box.KeyTuple].([]any)
		key = fmt.Sprint(space, "/", tuple[0])
		val, _ = msgpack.Marshal(tuple)
	}
	old, exists := s.data[key]
	if tx != nil {
		if v, ok := tx.writes[key]; ok {
			old, exists = v, v != nil
		}
	}
	_ = old
	if typ == box.TypeInsert && exists {
		return box.ErrTupleFound, "Duplicate key exists in unique index 'pk' in space '" + fmt.Sprint(space) + "'"
	}
	if tx == nil {
		if val == nil {
			delete(s.data, key)
		} else {
			s.data[key] = val
		}
		return 0, ""
	}
	tx.writes[key] = val
	tx.order = append(tx.order, key)
	if s.noMVCC {
		tx.aborted = true // the request ends: the fiber yields
	}
	return 0, ""
}

func readRequest(br *bufio.Reader) (typ box.RowType, sync, stream uint64, body map[uint64]any, err error) {
	pkt, err := iproto.ReadPacket(br, nil)
	if err != nil {
		return
	}
	var row format.Row
	if err = iproto.DecodePacket(pkt, &row); err != nil {
		return
	}
	typ, sync, stream = row.Type, row.Sync, row.StreamID
	if len(row.Body) == 0 {
		return typ, sync, stream, map[uint64]any{}, nil
	}
	body, err = decodeIntMap(msgpack.NewDecoder(bytes.NewReader(row.Body)))
	return
}

func decodeIntMap(dec *msgpack.Decoder) (map[uint64]any, error) {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return nil, err
	}
	m := map[uint64]any{}
	for i := 0; i < n; i++ {
		k, err := dec.DecodeUint64()
		if err != nil {
			return nil, err
		}
		v, err := dec.DecodeInterface()
		if err != nil {
			return nil, err
		}
		m[k] = normalize(v)
	}
	return m, nil
}

// normalize turns non-negative integers into uint64, in arrays too.
func normalize(v any) any {
	var n int64
	switch x := v.(type) {
	case int8:
		n = int64(x)
	case int16:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint8:
		return uint64(x)
	case uint16:
		return uint64(x)
	case uint32:
		return uint64(x)
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	default:
		return v
	}
	if n >= 0 {
		return uint64(n)
	}
	return n
}

func writeResponse(w io.Writer, code box.ErrorCode, sync uint64, msg string) {
	if code == 0 {
		w.Write(iproto.AppendOK(nil, sync, 80))
		return
	}
	w.Write(iproto.AppendError(nil, sync, 80, &iproto.Error{Code: code, Message: msg}))
}

func dialFake(t *testing.T, s *fakeServer) *client.Conn {
	t.Helper()
	c, err := client.Dial(context.Background(), s.ln.Addr().String(), client.Options{User: "admin", Password: "x", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ins(space uint32, v ...any) logRow {
	return logRow{typ: box.TypeInsert, space: space, value: v}
}

func rep(space uint32, v ...any) logRow {
	return logRow{typ: box.TypeReplace, space: space, value: v}
}

func del(space uint32, v ...any) logRow {
	return logRow{typ: box.TypeDelete, space: space, value: v}
}

// TestStreamsKeepTransactionsAtomic: on a server with streams, a
// transaction whose second row is rejected leaves nothing behind, and
// COMMIT is never sent for it.
func TestStreamsKeepTransactionsAtomic(t *testing.T) {
	srv := startFake(t, "2.11.0", false)
	srv.put(512, uint64(7), []any{uint64(7), "here already"})
	path, lsns := writeLog(t, []logTx{
		{ins(512, 1, "one")},
		{ins(512, 2, "two"), ins(512, 3, "three"), rep(512, 1, "uno")},
		{ins(512, 4, "four"), ins(512, 7, "conflict"), del(512, 2)},
		{ins(512, 5, "five")},
	}, nil, nil)
	state := filepath.Join(t.TempDir(), "state")
	p, err := play.New(dialFake(t, srv), play.Options{StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Play(context.Background(), []format.FileRef{{Path: path}})
	re, ok := err.(*play.RequestError)
	if !ok {
		t.Fatalf("play: %v, want a *RequestError", err)
	}
	if re.Row.LSN != lsns[2][1] || !strings.Contains(err.Error(), "ER_TUPLE_FOUND (code 3)") {
		t.Errorf("error %v, want ER_TUPLE_FOUND at LSN %d", err, lsns[2][1])
	}
	want := []string{"512/1=[1 uno]", "512/2=[2 two]", "512/3=[3 three]", "512/7=[7 here already]"}
	if got := srv.contents(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("server has %v, want %v", got, want)
	}
	wantLog := "INSERT BEGIN@stream INSERT@stream INSERT@stream REPLACE@stream COMMIT@stream " +
		"BEGIN@stream INSERT@stream INSERT@stream DELETE@stream ROLLBACK@stream"
	if got := srv.log(); got != wantLog {
		t.Errorf("requests:\n%s\nwant:\n%s", got, wantLog)
	}
	if !sum.Atomic || sum.TxApplied != 2 || sum.TxMultiRow != 1 || sum.TxPartial != 0 || sum.Resume.Get(1) != lsns[1][2] {
		t.Errorf("summary %+v", sum)
	}

	// The conflict resolved, a second run applies the rest.
	srv.mu.Lock()
	delete(srv.data, "512/7")
	srv.requests = nil
	srv.mu.Unlock()
	p, _ = play.New(dialFake(t, srv), play.Options{StatePath: state})
	if sum, err = p.Play(context.Background(), []format.FileRef{{Path: path}}); err != nil {
		t.Fatal(err)
	}
	want = []string{"512/1=[1 uno]", "512/3=[3 three]", "512/4=[4 four]", "512/5=[5 five]", "512/7=[7 conflict]"}
	if got := srv.contents(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("server has %v, want %v", got, want)
	}
	if got := srv.log(); got != "BEGIN@stream INSERT@stream INSERT@stream DELETE@stream COMMIT@stream INSERT" {
		t.Errorf("second run requests: %s", got)
	}
	if sum.TxAlreadyApplied != 2 || sum.TxApplied != 2 {
		t.Errorf("second run summary %+v", sum)
	}
}

// TestStreamsWithoutMVCC: a server that aborts transactions spanning
// requests gets the transaction again, row by row, with a note.
func TestStreamsWithoutMVCC(t *testing.T) {
	srv := startFake(t, "2.10.0", true)
	path, _ := writeLog(t, []logTx{
		{ins(512, 1, "one"), ins(512, 2, "two")},
		{ins(512, 3, "three"), ins(512, 4, "four")},
	}, nil, nil)
	var notes []string
	p, err := play.New(dialFake(t, srv), play.Options{OnNotice: func(m string) { notes = append(notes, m) }})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Play(context.Background(), []format.FileRef{{Path: path}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"512/1=[1 one]", "512/2=[2 two]", "512/3=[3 three]", "512/4=[4 four]"}
	if got := srv.contents(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("server has %v, want %v", got, want)
	}
	if got := srv.log(); got != "BEGIN@stream INSERT@stream INSERT@stream ROLLBACK@stream INSERT INSERT INSERT INSERT" {
		t.Errorf("requests: %s", got)
	}
	if sum.Atomic || sum.TxApplied != 2 || len(notes) != 1 || !strings.Contains(notes[0], "memtx_use_mvcc_engine") {
		t.Errorf("summary %+v, notes %q", sum, notes)
	}
}

// TestNoStreamsFlag: --no-streams sends multi-row transactions row by row.
func TestNoStreamsFlag(t *testing.T) {
	srv := startFake(t, "3.2.0", false)
	path, _ := writeLog(t, []logTx{{ins(512, 1, "one"), ins(512, 2, "two")}}, nil, nil)
	var notes []string
	p, _ := play.New(dialFake(t, srv), play.Options{NoStreams: true, OnNotice: func(m string) { notes = append(notes, m) }})
	if _, err := p.Play(context.Background(), []format.FileRef{{Path: path}}); err != nil {
		t.Fatal(err)
	}
	if got := srv.log(); got != "INSERT INSERT" || len(notes) != 1 || !strings.Contains(notes[0], "--no-streams") {
		t.Errorf("requests %q, notes %q", got, notes)
	}
}

// TestConnectionLost: requests without an answer are reported as such.
func TestConnectionLost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		nc.Write(fakeGreeting("2.6.0"))
		br := bufio.NewReader(nc)
		readRequest(br) // the first request, then hang up
		nc.Close()
	}()
	c, err := client.Dial(context.Background(), ln.Addr().String(), client.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	path, _ := writeLog(t, []logTx{{ins(512, 1)}, {ins(512, 2)}}, nil, nil)
	state := filepath.Join(t.TempDir(), "state")
	p, _ := play.New(c, play.Options{StatePath: state})
	sum, err := p.Play(context.Background(), []format.FileRef{{Path: path}})
	re, ok := err.(*play.RequestError)
	if !ok || !strings.Contains(err.Error(), "got no answer") || sum.Unanswered == 0 || sum.TxApplied != 0 {
		t.Fatalf("play: %v (%T), summary %+v", err, err, sum)
	}
	if _, ok := re.ServerError(); ok {
		t.Errorf("a lost connection reported as a server error")
	}
}

// writeRows writes a file of single-row transactions into dir.
func writeRows(t *testing.T, dir string, m *format.Meta, hs []format.Header, rows []logRow) string {
	t.Helper()
	w, err := format.Create(dir, m, format.WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		body, err := msgpack.Marshal(map[uint64]any{box.KeySpaceID: r.space, box.KeyTuple: r.value})
		if err != nil {
			t.Fatal(err)
		}
		h := hs[i]
		h.Type, h.TSN, h.Commit = r.typ, h.LSN, true
		if err := w.Write(&h, body); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.Path()
}

// TestSnapshotResume: the rows of a snapshot are counted; a second run
// goes on from the rejected one, and log rows the snapshot covers are not
// played.
func TestSnapshotResume(t *testing.T) {
	srv := startFake(t, "2.11.0", false)
	srv.put(512, uint64(3), []any{uint64(3), "here already"})
	dir := t.TempDir()
	var v format.VClock
	v.Set(1, 10)
	snapRows := []logRow{ins(512, 1), ins(512, 2), ins(512, 3), ins(512, 4), ins(512, 5)}
	hs := make([]format.Header, len(snapRows))
	for i := range hs {
		hs[i].LSN = uint64(i) // ordinals from 0
	}
	writeRows(t, dir, &format.Meta{FileType: format.TypeSNAP, Version: format.Version13, VClock: v, HasVClock: true}, hs, snapRows)
	writeRows(t, dir, &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, VClock: v, HasVClock: true},
		[]format.Header{{ReplicaID: 1, LSN: 9}, {ReplicaID: 1, LSN: 11}, {ReplicaID: 1, LSN: 12}},
		[]logRow{ins(512, 9), ins(512, 11), ins(512, 12)})
	files, err := format.Collect([]string{dir}, false)
	if err != nil || len(files) != 2 {
		t.Fatalf("files %v, %v", files, err)
	}
	state := filepath.Join(t.TempDir(), "state")
	p, _ := play.New(dialFake(t, srv), play.Options{StatePath: state, Window: 4})
	_, err = p.Play(context.Background(), files)
	re, ok := err.(*play.RequestError)
	if !ok || !re.Snapshot || re.Ordinal != 3 || !strings.Contains(err.Error(), "snapshot row 3") {
		t.Fatalf("play: %v", err)
	}
	st, err := play.ReadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if st.Snapshot == nil || st.Snapshot.Rows != 2 || st.Snapshot.Done || !st.Snapshot.VClock.Equal(v) {
		t.Fatalf("state %+v, snapshot %+v", st, st.Snapshot)
	}
	// A window of four: snapshot rows 4 and 5 and the log row 11 (LSN 9
	// is in the snapshot) were sent before the answer to row 3 came, and
	// applied; LSN 12 was not sent.
	if got := fmt.Sprint(st.Snapshot.Applied); got != "[[4 5]]" || !st.AppliedRow(1, 11) || st.AppliedRow(1, 12) ||
		st.AppliedRow(1, 9) {
		t.Errorf("rows applied after the rejected one: snapshot %s, log %+v; want [[4 5]] and LSN 11", got, st)
	}

	srv.mu.Lock()
	delete(srv.data, "512/3")
	srv.requests = nil
	srv.mu.Unlock()
	p, _ = play.New(dialFake(t, srv), play.Options{StatePath: state})
	sum, err := p.Play(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	// Row 3 of the snapshot and LSN 12. Snapshot rows 1, 2, 4, 5 and LSN
	// 11 were applied by the first run; LSN 9 is held by the snapshot
	// read in this run.
	if got := srv.log(); got != "INSERT INSERT" || sum.RowsAlreadyApplied != 5 || sum.RowsCovered != 1 || sum.TxCovered != 1 {
		t.Errorf("second run: requests %q, summary %+v", got, sum)
	}
	want := "[512/11=[11] 512/12=[12] 512/1=[1] 512/2=[2] 512/3=[3] 512/4=[4] 512/5=[5]]"
	if got := fmt.Sprint(srv.contents()); got != want {
		t.Errorf("server has %s, want %s", got, want)
	}
	if st, _ = play.ReadState(state); st.VClock.String() != "{1: 12}" || !st.Snapshot.Done {
		t.Errorf("final state %+v", st)
	}
}

// TestSnapshotAfterLogs: a snapshot whose contents the logs before it
// hold already is not played again.
func TestSnapshotAfterLogs(t *testing.T) {
	dir := t.TempDir()
	var v0, v3 format.VClock
	v3.Set(1, 3)
	xlog := func(v format.VClock, lsns ...uint64) {
		var hs []format.Header
		var rows []logRow
		for _, l := range lsns {
			hs = append(hs, format.Header{ReplicaID: 1, LSN: l})
			rows = append(rows, ins(512, l))
		}
		writeRows(t, dir, &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, VClock: v, HasVClock: true}, hs, rows)
	}
	xlog(v0, 1, 2, 3)
	writeRows(t, dir, &format.Meta{FileType: format.TypeSNAP, Version: format.Version13, VClock: v3, HasVClock: true},
		[]format.Header{{LSN: 0}, {LSN: 1}, {LSN: 2}}, []logRow{ins(512, 1), ins(512, 2), ins(512, 3)})
	xlog(v3, 4)
	files, err := format.Collect([]string{dir}, false)
	if err != nil || len(files) != 3 || files[1].Ext != ".snap" {
		t.Fatalf("files %v, %v", files, err)
	}
	var notes []string
	lsns, sum := dryRun(t, play.Options{OnNotice: func(m string) { notes = append(notes, m) }},
		files[0].Path, files[1].Path, files[2].Path)
	if fmt.Sprint(lsns) != "[1 2 3 4]" || sum.TxApplied != 4 || len(notes) != 1 ||
		!strings.Contains(notes[0], "is not past the logs already played") {
		t.Errorf("rows %v, summary %+v, notes %q", lsns, sum, notes)
	}
}

// TestServerStuck: a server that reads but never answers. The first
// request times out; the others are given a short grace, all at once.
func TestServerStuck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.Write(fakeGreeting("2.6.0"))
		go io.Copy(io.Discard, nc)
		<-done
	}()
	c, err := client.Dial(context.Background(), ln.Addr().String(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var txs []logTx
	for i := 0; i < 50; i++ {
		txs = append(txs, logTx{ins(512, i)})
	}
	path, _ := writeLog(t, txs, nil, nil)
	p, _ := play.New(c, play.Options{Timeout: 100 * time.Millisecond})
	start := time.Now()
	sum, err := p.Play(context.Background(), []format.FileRef{{Path: path}})
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("play took %v", el)
	}
	if err == nil || !strings.Contains(err.Error(), "got no answer") || !strings.Contains(err.Error(), "LSN 1,") ||
		sum.Unanswered != 50 || sum.TxApplied != 0 {
		t.Errorf("play: %v, summary %+v", err, sum)
	}
}

// TestCoveredInThisRun: a data directory holds the xlogs and a later
// snapshot of the same rows (a checkpoint). The snapshot's rows are not
// played again, and the summary says a file played before holds them, not
// that an earlier run applied them: there was none.
func TestCoveredInThisRun(t *testing.T) {
	srv := startFake(t, "2.11.0", false)
	dir := t.TempDir()
	writeRows(t, dir, &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, HasVClock: true},
		[]format.Header{{ReplicaID: 1, LSN: 1}, {ReplicaID: 1, LSN: 2}, {ReplicaID: 1, LSN: 3}},
		[]logRow{ins(512, 1), ins(512, 2), ins(512, 3)})
	var v format.VClock
	v.Set(1, 3)
	writeRows(t, dir, &format.Meta{FileType: format.TypeSNAP, Version: format.Version13, VClock: v, HasVClock: true},
		make([]format.Header, 3), []logRow{ins(512, 1), ins(512, 2), ins(512, 3)})
	writeRows(t, dir, &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, VClock: v, HasVClock: true},
		[]format.Header{{ReplicaID: 1, LSN: 4}}, []logRow{ins(512, 4)})
	files, err := format.Collect([]string{dir}, false)
	if err != nil || len(files) != 3 {
		t.Fatalf("files %v, %v", files, err)
	}
	var notes []string
	p, _ := play.New(dialFake(t, srv), play.Options{OnNotice: func(s string) { notes = append(notes, s) }})
	sum, err := p.Play(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.log(); got != "INSERT INSERT INSERT INSERT" {
		t.Errorf("requests %q", got)
	}
	if sum.TxApplied != 4 || sum.TxCovered != 3 || sum.RowsCovered != 3 || sum.TxAlreadyApplied != 0 || sum.RowsAlreadyApplied != 0 {
		t.Errorf("summary %+v", sum)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "not past the logs already played") {
		t.Errorf("notes %q", notes)
	}

	// With a state file, the log rows the first run applied, and the
	// snapshot rows its vclock holds, are counted as applied by it.
	srv = startFake(t, "2.11.0", false)
	state := filepath.Join(t.TempDir(), "state")
	p, _ = play.New(dialFake(t, srv), play.Options{StatePath: state})
	if _, err := p.Play(context.Background(), files[:1]); err != nil {
		t.Fatal(err)
	}
	p, _ = play.New(dialFake(t, srv), play.Options{StatePath: state})
	sum, err = p.Play(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	if sum.TxApplied != 1 || sum.TxAlreadyApplied != 6 || sum.TxCovered != 0 {
		t.Errorf("second run summary %+v", sum)
	}
}

// A target whose vclock cannot be read (the fake answers VOTE with an
// error) drops the mark of an earlier run from the state: this run cannot
// keep it up to date, and a stale one would make the next run pass over
// rows that were never executed.
func TestTargetMarkDroppedWithoutBallot(t *testing.T) {
	srv := startFake(t, "2.6.0", false)
	path, _ := writeLog(t, []logTx{{ins(512, 1, "one")}}, nil, nil)
	state := filepath.Join(t.TempDir(), "state")
	st, _ := play.ReadState(state)
	st.Target = &play.TargetMark{UUID: "11111111-2222-3333-4444-555555555555", Signature: 5, Unanswered: -1}
	if err := play.WriteState(state, st); err != nil {
		t.Fatal(err)
	}
	var notes []string
	p, _ := play.New(dialFake(t, srv), play.Options{StatePath: state, OnNotice: func(m string) { notes = append(notes, m) }})
	if _, err := p.Play(context.Background(), []format.FileRef{{Path: path}}); err != nil {
		t.Fatal(err)
	}
	st, err := play.ReadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if st.Target != nil || !strings.Contains(strings.Join(notes, "\n"), "cannot read the target's vclock") {
		t.Errorf("target mark %+v, notes %q", st.Target, notes)
	}
}
