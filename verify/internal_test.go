package verify

import (
	"testing"

	"github.com/xlogtool/xlogtool/format"
)

func TestFateSet(t *testing.T) {
	var s fateSet
	s.add(1, 1, 3, fateCommitted, false, 0)
	s.add(1, 4, 4, fateConfirmed, true, 0) // same class: merged
	s.add(1, 6, 6, fateRolledBack, true, 0)
	s.add(1, 7, 9, fateRolledBack, false, 0)
	s.add(1, 12, 12, fateCommitted, false, 0)
	if len(s.runs[1]) != 3 {
		t.Fatalf("runs %+v", s.runs[1])
	}
	// Out of order: 10 is rolled back inside nothing, 5 confirmed inside the
	// first run's class gap.
	s.add(1, 10, 10, fateRolledBack, true, 0)
	if r, ok := s.at(1, 10); !ok || r.fate != fateRolledBack {
		t.Fatalf("at 10: %+v %v", r, ok)
	}
	// A rolled-back transaction inside a run of committed ones splits it.
	s.add(1, 20, 30, fateCommitted, false, 0)
	s.add(1, 25, 25, fateRolledBack, true, 0)
	for lsn, want := range map[uint64]fate{21: fateCommitted, 25: fateRolledBack, 28: fateCommitted, 4: fateConfirmed} {
		if r, ok := s.at(1, lsn); !ok || r.fate.class() != want.class() {
			t.Errorf("at %d: %+v %v, want %v", lsn, r, ok, want)
		}
	}
	if r, _ := s.at(1, 2); r.fate != fateConfirmed || !r.sync {
		t.Errorf("merged run %+v", r)
	}
	var got []fateRange
	s.overlapping(1, 22, 27, func(r fateRange) { got = append(got, r) })
	if len(got) != 3 || got[0].from != 22 || got[2].to != 27 {
		t.Errorf("overlapping %+v", got)
	}
}

func TestKnowledgeTruncates(t *testing.T) {
	k := knowledge{own: 1}
	var v format.VClock
	for i := 0; i < segmentLimit+10; i++ {
		v.Set(2, uint64(i))
		k.add(uint64(i+1), uint64(i+1), v, true, 0, 0)
	}
	if len(k.segs) != segmentLimit || !k.truncated {
		t.Fatalf("%d segments, truncated %v", len(k.segs), k.truncated)
	}
	last := k.segs[len(k.segs)-1]
	if last.to != segmentLimit+10 || last.know.Get(2) != segmentLimit+9 {
		t.Fatalf("last %+v", last)
	}
	if got, ok := k.knownAt(5, 2); !ok || got != 4 {
		t.Fatalf("knownAt %d %v", got, ok)
	}
	// Equal knowledge extends the last segment.
	k2 := knowledge{own: 1}
	k2.add(1, 1, v, true, 0, 0)
	v.Set(1, 99) // the own component does not count
	k2.add(2, 5, v, true, 0, 0)
	if len(k2.segs) != 1 || k2.segs[0].to != 5 {
		t.Fatalf("%+v", k2.segs)
	}
}

func TestTimelineKeepsEnds(t *testing.T) {
	var tl timeline
	for i := 0; i < timelineLimit*2; i++ {
		tl.add(Event{LSN: uint64(i)})
	}
	l := tl.list()
	if len(l) != timelineLimit || l[0].LSN != 0 || l[len(l)-1].LSN != timelineLimit*2-1 || tl.dropped != timelineLimit {
		t.Fatalf("len %d first %d last %d dropped %d", len(l), l[0].LSN, l[len(l)-1].LSN, tl.dropped)
	}
}
