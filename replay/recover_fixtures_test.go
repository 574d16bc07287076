package replay

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/memtx"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/testfix"
)

// rejectedRecoveries are fixtures Tarantool itself refuses to recover
// (negative cases of its test suite), with the error expected.
var rejectedRecoveries = map[string]rejected{
	// A space format with the field type 'st'.
	"tarantool/test/box-luatest/gh_7917_data/snap/00000000000000000003.snap": {FindingApply, box.ErrCreateSpace},
	// The same format set by an UPDATE of _space in the xlog.
	"tarantool/test/box-luatest/gh_7917_data/xlog/00000000000000000000.snap": {FindingApply, box.ErrAlterSpace},
	// A row addressing its space by name, without a space id.
	"tarantool/test/box-luatest/gh_8146_data/00000000000000000004.snap": {FindingApply, box.ErrNoSuchSpace},
	// Only a RAFT and a PROMOTE row.
	"tarantool/test/box-luatest/gh_7800_data/00000000000000000000.snap": {FindingSnapshot, 0},
}

type rejected struct {
	kind string
	code box.ErrorCode
}

// TestRecoverFixtures recovers from every fixture snapshot (written by
// Tarantool 1.6.8 to 3.8) with the xlogs beside it: every row must be
// accepted, but for the known negative cases.
func TestRecoverFixtures(t *testing.T) {
	root := testfix.Dir(t)
	n := 0
	for _, rel := range testfix.Files(t) {
		if !strings.HasSuffix(rel, ".snap") {
			continue
		}
		n++
		path := filepath.Join(root, rel)
		t.Run(rel, func(t *testing.T) {
			opts := RecoverOptions{FromSnap: path}
			if _, _, ok := format.ParseFileName(path); ok {
				opts.Paths = []string{filepath.Dir(path)}
			}
			res := mustRecover(t, opts)
			if res.Counts.SnapshotRows == 0 {
				t.Fatal("no rows")
			}
			want, bad := rejectedRecoveries[filepath.ToSlash(rel)]
			switch {
			case bad && (res.FindingCount != 1 || res.Findings[0].Kind != want.kind || res.Findings[0].Code != want.code):
				t.Errorf("want one %s finding (%s), got %d: %s", want.kind, want.code, res.FindingCount, findingKinds(res))
			case !bad:
				noFindings(t, res)
			}
			if bad {
				return
			}
			if res.State.Space(box.SpaceSpace) == nil || res.State.Space(box.SpaceIndex) == nil || res.State.PendingRows() != 0 {
				t.Errorf("schema not loaded: %d spaces, %d rows pending", len(res.State.Spaces()), res.State.PendingRows())
			}
			roundTrip(t, res)
		})
	}
	if n == 0 {
		t.Skip("no fixture snapshots")
	}
}

// roundTrip writes the state as a snapshot, recovers from it and
// compares: every memtx space with the same tuples, the same queue and
// Raft state.
func roundTrip(t *testing.T, res *Result) {
	t.Helper()
	path, _, err := res.WriteSnapshot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	back := mustRecover(t, RecoverOptions{FromSnap: path})
	noFindings(t, back)
	for _, sp := range res.State.SnapshotSpaces() {
		other := back.State.Space(sp.ID)
		if other == nil {
			t.Errorf("space %d (%s) lost", sp.ID, sp.Name)
			continue
		}
		a, b := sp.Tuples(), other.Tuples()
		if len(a) != len(b) {
			t.Errorf("space %d (%s): %d tuples, %d after the round trip", sp.ID, sp.Name, len(a), len(b))
			continue
		}
		for i := range a {
			if !memtx.Equal([]any(a[i]), []any(b[i])) {
				t.Errorf("space %d (%s) tuple %d: %s, after the round trip %s", sp.ID, sp.Name, i, show(a[i]), show(b[i]))
				break
			}
		}
	}
	if back.SnapshotHad != res.SnapshotHad || back.Raft != res.Raft ||
		back.Queue.Owner != res.Queue.Owner || back.Queue.Term != res.Queue.Term || back.Queue.ConfirmedLSN != res.Queue.ConfirmedLSN {
		t.Errorf("after the round trip: %+v %+v %+v, before %+v %+v %+v", back.SnapshotHad, back.Raft, back.Queue,
			res.SnapshotHad, res.Raft, res.Queue)
	}
	if !back.VClock.Equal(res.VClock) {
		t.Errorf("vclock %s after the round trip, %s before", back.VClock, res.VClock)
	}
}
