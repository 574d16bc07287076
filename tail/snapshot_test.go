package tail_test

import (
	"bytes"
	"testing"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/tail"
)

// snapshotter keeps the tuples of each space from the FETCH_SNAPSHOT rows.
type snapshotter struct {
	*collector
	tuples map[uint32][][]byte
	start  format.VClock
}

func (s *snapshotter) Tx(tx *tail.Tx) error {
	if tx.Kind != tail.KindSnapshot {
		return s.collector.Tx(tx)
	}
	for _, r := range tx.Rows {
		d, err := r.DML()
		if err != nil {
			return err
		}
		s.tuples[d.SpaceID] = append(s.tuples[d.SpaceID], append([]byte(nil), d.Tuple...))
		s.start = tx.VClock
	}
	return nil
}

// --snapshot: the server's data, space by space, equals select() on the
// server (MessagePack byte for byte); the stream goes on from its vclock.
func TestSnapshotEqualsServerData(t *testing.T) {
	inst := startServer(t, "")
	inst.Eval(t, workload)
	s := &snapshotter{collector: newCollector(), tuples: map[uint32][][]byte{}}
	if err := run(t, tail.New(source(inst), tail.Options{Snapshot: true}, s)); err != nil {
		t.Fatal(err)
	}
	if want := vclockOf(t, inst); !s.start.Equal(want) || !s.info.Start.Equal(want) {
		t.Errorf("snapshot at %s, subscribed after %s; server %s", s.start, s.info.Start, want)
	}
	for _, id := range []uint32{272, 280, 288, 304, 312, 600, 601} {
		want := inst.Eval(t, "return require('msgpack').encode(box.space[...]:select())", id)[0].(string)
		var got []byte
		got = append(got, 0xdd, 0, 0, 0, 0)
		n := len(s.tuples[id])
		got[1], got[2], got[3], got[4] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		for _, tu := range s.tuples[id] {
			got = append(got, tu...)
		}
		if !bytes.Equal(normArray(got), normArray([]byte(want))) {
			t.Errorf("space %d: snapshot has %d tuples, differs from select()", id, n)
		}
	}
	if len(s.tuples[602]) != 0 {
		t.Errorf("the replica-local space was sent: %d tuples", len(s.tuples[602]))
	}
	if len(s.tuples[601]) < 10 {
		t.Errorf("space 601 has %d tuples", len(s.tuples[601]))
	}
}

// normArray drops the array header, whatever its width.
func normArray(b []byte) []byte {
	switch {
	case len(b) > 0 && b[0]&0xf0 == 0x90:
		return b[1:]
	case len(b) > 2 && b[0] == 0xdc:
		return b[3:]
	case len(b) > 4 && b[0] == 0xdd:
		return b[5:]
	}
	return b
}
