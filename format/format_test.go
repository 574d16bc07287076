package format_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/testfix"
)

func TestVClockText(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"{}", "{}"},
		{"{0: 4, 1: 32}", "{0: 4, 1: 32}"},
		{" { 1 :10 ,2: 5 } ", "{1: 10, 2: 5}"},
		{`{"1": 10, "2": 5}`, "{1: 10, 2: 5}"},
		{"{31: 9223372036854775807}", "{31: 9223372036854775807}"},
	} {
		v, err := format.ParseVClock(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if v.String() != tc.out {
			t.Errorf("%q: got %s, want %s", tc.in, v, tc.out)
		}
	}
	for _, bad := range []string{"", "{", "{1}", "{1: }", "{32: 1}", "{1: 1, 1: 2}", "{1: 1} x", "{1: 9223372036854775808}", "{-1: 2}"} {
		if _, err := format.ParseVClock(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestVClockOrder(t *testing.T) {
	p := func(s string) format.VClock {
		v, err := format.ParseVClock(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		a, b string
		want format.Order
	}{
		{"{1: 5}", "{1: 5}", format.Equal},
		{"{1: 5}", "{1: 5, 2: 0}", format.Equal},
		{"{1: 4}", "{1: 5}", format.Before},
		{"{1: 6, 2: 1}", "{1: 5}", format.After},
		{"{1: 6}", "{1: 5, 2: 1}", format.Concurrent},
	}
	for _, c := range cases {
		if got := p(c.a).Compare(p(c.b)); got != c.want {
			t.Errorf("%s vs %s: %v, want %v", c.a, c.b, got, c.want)
		}
	}
	a, b := p("{0: 4, 1: 32, 2: 7}"), p("{1: 30, 2: 9, 3: 1}")
	if s := a.Signature(); s != 43 {
		t.Errorf("signature %d", s)
	}
	d := a.Diff(b)
	want := "[{0 4 0 4} {1 32 30 2} {2 7 9 -2} {3 0 1 -1}]"
	if got := fmt.Sprint(d); got != want {
		t.Errorf("diff %s, want %s", got, want)
	}
	if m := a.Max(b).String(); m != "{0: 4, 1: 32, 2: 9, 3: 1}" {
		t.Errorf("max %s", m)
	}
	j, _ := a.MarshalJSON()
	var back format.VClock
	if err := back.UnmarshalJSON(j); err != nil || !back.Equal(a) {
		t.Errorf("json round trip %s -> %v %v", j, back, err)
	}
}

func TestMetaParse(t *testing.T) {
	m, err := format.ParseMeta([]byte("XLOG\n0.13\nVersion: 2.6.0-0-g47aa4e01e\nInstance: 8244848b-532e-4988-b27a-e4326c6ccb1c\nVClock: {0: 4, 1: 32}\nPrevVClock: {}\nX-Custom: yes\n\nBIN"))
	if err != nil {
		t.Fatal(err)
	}
	if m.FileType != "XLOG" || m.Version != "0.13" || m.Tarantool != "2.6.0-0-g47aa4e01e" ||
		m.Instance != "8244848b-532e-4988-b27a-e4326c6ccb1c" || m.VClock.String() != "{0: 4, 1: 32}" ||
		!m.HasPrevVClock || !m.PrevVClock.IsEmpty() || m.Size != int64(len("XLOG\n0.13\nVersion: 2.6.0-0-g47aa4e01e\nInstance: 8244848b-532e-4988-b27a-e4326c6ccb1c\nVClock: {0: 4, 1: 32}\nPrevVClock: {}\nX-Custom: yes\n\n")) {
		t.Fatalf("%+v", m)
	}
	if v, ok := m.Get("X-Custom"); !ok || v != "yes" {
		t.Fatalf("unknown key lost: %+v", m.Lines)
	}
	again, err := format.ParseMeta(m.Encode())
	if err != nil || again.VClock != m.VClock || again.Instance != m.Instance {
		t.Fatalf("encode round trip: %v %+v", err, again)
	}
	if format.FileName("XLOG", m.VClock) != "00000000000000000036.xlog" {
		t.Fatal(format.FileName("XLOG", m.VClock))
	}
	for _, bad := range []string{
		"XLOG\n0.07\n\n", "XLOG\n0.13\nInstance: short\n\n", "XLOG\n0.13\nno colon\n\n",
		"XLOG\n0.13\nVClock: {1: x}\n\n", "TOOLONGTYPE\n0.13\n\n",
	} {
		if _, err := format.ParseMeta([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// Files of both format versions and both block kinds decode, and every row
// carries its block offset.
func TestReadFixtures(t *testing.T) {
	dir := testfix.Dir(t)
	var zstdSeen, v12Seen bool
	for _, rel := range testfix.Files(t) {
		if strings.Contains(rel, ".bad.") {
			continue
		}
		r, err := format.Open(filepath.Join(dir, rel), format.Options{})
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		n := 0
		for {
			row, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			if row.Pos.File != filepath.Join(dir, rel) {
				t.Fatalf("%s: row %d names file %q", rel, n, row.Pos.File)
			}
			if row.Pos.Block < r.Meta().Size {
				t.Fatalf("%s: row %d block offset %d inside the header", rel, n, row.Pos.Block)
			}
			n++
		}
		oracle, _ := testfix.Oracle(t, rel)
		if n != len(oracle) {
			t.Errorf("%s: %d rows, oracle %d", rel, n, len(oracle))
		}
		st := r.Stats()
		zstdSeen = zstdSeen || st.ZBlocks > 0
		v12Seen = v12Seen || r.Meta().Version == format.Version12
		if err := format.CheckName(filepath.Join(dir, rel), r.Meta()); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		r.Close()
	}
	if !zstdSeen || !v12Seen {
		t.Errorf("fixtures cover zstd=%v v0.12=%v", zstdSeen, v12Seen)
	}
}

func readFixture(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testfix.Dir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Extension values of every length encoding decode to their type and data.
func TestMPExt(t *testing.T) {
	for _, n := range []int{1, 2, 4, 8, 16, 5, 300, 70000} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i)
		}
		var b []byte
		switch {
		case n == 1 || n == 2 || n == 4 || n == 8 || n == 16:
			b = append(b, map[int]byte{1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8}[n])
		case n < 256:
			b = append(b, 0xc7, byte(n))
		case n < 65536:
			b = append(b, 0xc8, byte(n>>8), byte(n))
		default:
			b = append(b, 0xc9, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		}
		b = append(b, 7)
		b = append(b, data...)
		b = append(b, 0x01) // a value after the extension
		c := format.NewMPCursor(b)
		typ, got, err := c.Ext()
		if err != nil || typ != 7 || len(got) != n || got[n-1] != byte(n-1) {
			t.Fatalf("len %d: type %d, %d bytes, %v", n, typ, len(got), err)
		}
		if v, err := c.Uint(); err != nil || v != 1 {
			t.Fatalf("len %d: cursor misplaced after the extension: %v %v", n, v, err)
		}
		if l, err := format.MPSkip(b); err != nil || l != len(b)-1 {
			t.Fatalf("len %d: skip %d, %v", n, l, err)
		}
	}
}

// Typed bodies skip keys they do not know (and keys that are not integers)
// and decode without allocating.
func TestBodiesAndAllocs(t *testing.T) {
	body := []byte{0x85,
		0xa1, 'x', 0x91, 0x01, // a string key: skipped
		0x10, 0xcd, 0x02, 0x01, // space_id 513
		0x7f, 0x92, 0x01, 0x02, // an unknown key
		0x20, 0x91, 0x05, // key [5]
		0x11, 0x02, // index_id 2
	}
	row := &format.Row{Header: format.Header{Type: box.TypeDelete}, Body: body}
	d, err := row.DML()
	if err != nil || !d.HasSpace || d.SpaceID != 513 || d.IndexID != 2 || len(d.Key) != 2 || d.Key[1] != 5 {
		t.Fatalf("%+v %v", d, err)
	}
	if id, ok := row.SpaceID(); !ok || id != 513 {
		t.Fatal(id, ok)
	}
	if n := testing.AllocsPerRun(100, func() { row.SpaceID(); row.DML() }); n != 0 {
		t.Fatalf("%v allocations per decode", n)
	}
	s := format.AppendSynchroBody(nil, &format.Synchro{ReplicaID: 3, LSN: 7, Term: 9, HasTerm: true})
	sr := &format.Row{Header: format.Header{Type: box.TypePromote}, Body: s}
	if got, err := sr.Synchro(); err != nil || got.ReplicaID != 3 || got.LSN != 7 || got.Term != 9 {
		t.Fatalf("%+v %v", got, err)
	}
	rb := format.AppendRaftBody(nil, &format.Raft{Term: 4, Vote: 2})
	rr := &format.Row{Header: format.Header{Type: box.TypeRaft}, Body: rb}
	if got, err := rr.Raft(); err != nil || got.Term != 4 || got.Vote != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	if got := format.AppendRaftBody(nil, &format.Raft{Term: 4, Vote: 2, State: 3, LeaderID: 2, IsLeaderSeen: true}); string(got) != string(rb) {
		t.Fatalf("a persistent RAFT body holds term and vote only: % x", got)
	}
	msg := format.Raft{Term: 300, Vote: 2, State: 2, HasVClock: true, LeaderID: 5, IsLeaderSeen: true}
	msg.VClock.Set(1, 10)
	msg.VClock.Set(2, 70000)
	mb := format.AppendRaftMessage(nil, &msg)
	// {0: 300, 1: 2, 2: 2, 4: 5, 5: true, 3: {1: 10, 2: 70000}}
	want := "86 00 cd 01 2c 01 02 02 02 04 05 05 c3 03 82 01 0a 02 ce 00 01 11 70"
	if got := fmt.Sprintf("% x", mb); got != want {
		t.Fatalf("RAFT message %s, want %s", got, want)
	}
	mr := &format.Row{Header: format.Header{Type: box.TypeRaft}, Body: mb}
	if got, err := mr.Raft(); err != nil || got != msg {
		t.Fatalf("%+v %v", got, err)
	}
	if got := fmt.Sprintf("% x", format.AppendRaftMessage(nil, &format.Raft{Term: 1, State: 1})); got != "82 00 01 02 01" {
		t.Fatalf("follower message %s", got)
	}
	if _, err := (&format.Row{Body: []byte{0x92, 1, 2}}).DML(); err == nil {
		t.Fatal("a body that is not a map must fail")
	}
}
