package play_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/play"
)

// source is what testdata/source.lua printed: the final contents of its
// spaces and the LSNs of a few rows.
type source struct {
	Dir string `json:"-"`
	LSN struct {
		Rollback, Conflict, Last uint64
	} `json:"lsn"`
	Spaces map[string]any `json:"-"`
}

// writeSource runs testdata/source.lua with Tarantool in a new directory.
func writeSource(t *testing.T) source {
	t.Helper()
	lua, err := os.ReadFile("testdata/source.lua")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := tarantooltest.RunScript(t, dir, string(lua))
	var src source
	if err := json.Unmarshal([]byte(out), &src); err != nil {
		t.Fatalf("source.lua output %q: %v", out, err)
	}
	src.Spaces = spacesOf(t, out)
	src.Dir = dir
	return src
}

// spacesOf decodes the a, s and c entries of a JSON object.
func spacesOf(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("%q: %v", js, err)
	}
	return map[string]any{"a": m["a"], "s": m["s"], "c": m["c"]}
}

// targetInit creates the spaces of source.lua on a target, all
// asynchronous.
const targetInit = `
for i, name in ipairs({'a', 's', 'c'}) do
    local sp = box.schema.space.create(name, {id = 511 + i, if_not_exists = true})
    sp:create_index('pk', {if_not_exists = true})
end
`

const selectSpaces = `return require('json').encode({a = box.space.a:select(), s = box.space.s:select(), c = box.space.c:select()})`

func startTarget(t *testing.T, init string) *tarantooltest.Instance {
	t.Helper()
	return tarantooltest.Start(t, tarantooltest.InstanceOptions{Init: targetInit + init})
}

func spacesOn(t *testing.T, inst *tarantooltest.Instance) map[string]any {
	t.Helper()
	res := inst.Eval(t, selectSpaces)
	return spacesOf(t, res[0].(string))
}

func dialAdmin(t *testing.T, inst *tarantooltest.Instance) *client.Conn {
	t.Helper()
	return inst.Connect(t, client.Options{User: tarantooltest.AdminUser, Password: tarantooltest.AdminPassword, Timeout: 30 * time.Second})
}

func collect(t *testing.T, dir string) []format.FileRef {
	t.Helper()
	files, err := format.Collect([]string{dir}, false)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestLivePlayCommittedOnly(t *testing.T) {
	src := writeSource(t)
	target := startTarget(t, "")
	var notes []string
	p, err := play.New(dialAdmin(t, target), play.Options{OnNotice: func(m string) { notes = append(notes, m) }})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Play(context.Background(), collect(t, src.Dir))
	if err != nil {
		t.Fatalf("play: %v", err)
	}
	if got := spacesOn(t, target); !reflect.DeepEqual(got, src.Spaces) {
		t.Errorf("target after play:\n%v\nsource:\n%v", got, src.Spaces)
	}
	// source.lua: 30 committed transactions of user spaces (4 of several
	// rows, 37 rows in all), 2 rolled back, 3 CONFIRM and 1 ROLLBACK row.
	if sum.TxApplied != 30 || sum.RowsApplied != 37 || sum.TxMultiRow != 4 || sum.RowsSent != 37 {
		t.Errorf("applied %d tx, %d rows (%d sent), %d multi-row; want 30, 37 (37), 4",
			sum.TxApplied, sum.RowsApplied, sum.RowsSent, sum.TxMultiRow)
	}
	if sum.TxRolledBack != 2 || sum.NotSent[box.TypeConfirm] != 3 || sum.NotSent[box.TypeRollback] != 1 {
		t.Errorf("rolled back %d, not sent %v; want 2, 3 CONFIRM, 1 ROLLBACK", sum.TxRolledBack, sum.NotSent)
	}
	if sum.Atomic || sum.RowsFiltered == 0 || sum.TxPending != 0 || sum.TxIncomplete != 0 {
		t.Errorf("summary %+v", sum)
	}
	if got := sum.Resume.Get(1); got != src.LSN.Last {
		t.Errorf("resume vclock %s, want {1: %d}", sum.Resume, src.LSN.Last)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "no IPROTO streams") || !strings.Contains(notes[0], "half-applied") {
		t.Errorf("notes %q, want one about applying row by row", notes)
	}
}

// TestLivePlayWindowOne plays one request at a time, with the schema:
// into an empty instance, --show-system creates the spaces itself.
func TestLivePlayWindowOne(t *testing.T) {
	src := writeSource(t)
	target := tarantooltest.Start(t, tarantooltest.InstanceOptions{})
	flt := format.NewFilter()
	flt.ShowSystem = true
	// The target's own user and box.once key are in its _user, _priv and
	// _schema already; play the other system rows (the spaces, indexes
	// and the data).
	xlog := []format.FileRef{{Path: filepath.Join(src.Dir, "00000000000000000000.xlog")}}
	p, err := play.New(dialAdmin(t, target), play.Options{Filter: &flt, Window: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Play(context.Background(), xlog); err != nil {
		t.Fatalf("play: %v", err)
	}
	if got := spacesOn(t, target); !reflect.DeepEqual(got, src.Spaces) {
		t.Errorf("target after play:\n%v\nsource:\n%v", got, src.Spaces)
	}
	if sync := target.Eval(t, "return box.space.s.is_sync"); sync[0] != true {
		t.Errorf("space s on the target: is_sync %v", sync[0])
	}
}

func TestLivePlayStopsAtRejectedRow(t *testing.T) {
	src := writeSource(t)
	target := startTarget(t, "box.space.a:insert{50, 'already here'}")
	state := filepath.Join(t.TempDir(), "state.json")
	opts := play.Options{StatePath: state}
	p, err := play.New(dialAdmin(t, target), opts)
	if err != nil {
		t.Fatal(err)
	}
	files := collect(t, src.Dir)
	sum, err := p.Play(context.Background(), files)
	re, ok := err.(*play.RequestError)
	if !ok {
		t.Fatalf("play: %v, want a *play.RequestError", err)
	}
	se, ok := re.ServerError()
	if !ok || se.Code != box.ErrTupleFound || re.Row.LSN != src.LSN.Conflict || re.Request != "INSERT" {
		t.Fatalf("error %v (row LSN %d), want ER_TUPLE_FOUND for LSN %d", err, re.Row.LSN, src.LSN.Conflict)
	}
	for _, want := range []string{"INSERT into space 512", "LSN 21", "00000000000000000000.xlog offset", "ER_TUPLE_FOUND (code 3)", "Duplicate key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Everything before the rejected row is applied; what was on the wire
	// after it too, and recorded.
	if sum.Resume.Get(1) >= src.LSN.Conflict {
		t.Errorf("resume vclock %s not below the rejected LSN %d", sum.Resume, src.LSN.Conflict)
	}
	st, err := play.ReadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if !st.VClock.Equal(sum.Resume) || !st.AppliedRow(1, src.LSN.Last) || st.AppliedRow(1, src.LSN.Conflict) {
		t.Errorf("state %+v: want vclock %s and rows after %d applied", st, sum.Resume, src.LSN.Conflict)
	}

	first := sum
	t.Logf("first play: %d transactions applied, %d of them after the rejected row", first.TxApplied, first.TxAfterFailure)

	// Resume once the conflict is gone: the rejected row and nothing else.
	target.Eval(t, "box.space.a:delete{50}")
	p, err = play.New(dialAdmin(t, target), opts)
	if err != nil {
		t.Fatal(err)
	}
	sum, err = p.Play(context.Background(), files)
	if err != nil {
		t.Fatalf("second play: %v", err)
	}
	if got := spacesOn(t, target); !reflect.DeepEqual(got, src.Spaces) {
		t.Errorf("target after resuming:\n%v\nsource:\n%v", got, src.Spaces)
	}
	if sum.RowsSent != 1 || sum.TxApplied != 1 || first.TxApplied+sum.TxApplied != 30 ||
		sum.TxAlreadyApplied != 29 {
		t.Errorf("second play sent %d rows, applied %d transactions, %d already applied; want 1, 1 (30 in all), 29",
			sum.RowsSent, sum.TxApplied, sum.TxAlreadyApplied)
	}
	if sum.Resume.Get(1) != src.LSN.Last {
		t.Errorf("resume vclock %s, want {1: %d}", sum.Resume, src.LSN.Last)
	}
	st, err = play.ReadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Applied) != 0 || st.Snapshot == nil || !st.Snapshot.Done {
		t.Errorf("final state %+v: want no rows above the vclock, the snapshot done", st)
	}

	// A third run applies nothing.
	p, _ = play.New(dialAdmin(t, target), opts)
	sum, err = p.Play(context.Background(), files)
	if err != nil || sum.RowsSent != 0 || sum.TxAlreadyApplied != 30 {
		t.Errorf("third play: %v, sent %d rows, %d transactions already applied; want 0, 30", err, sum.RowsSent, sum.TxAlreadyApplied)
	}
	if got := spacesOn(t, target); !reflect.DeepEqual(got, src.Spaces) {
		t.Errorf("target after the third play:\n%v\nsource:\n%v", got, src.Spaces)
	}
}

// TestLivePlayHalfApplied: on a server without streams a transaction whose
// second row is rejected stays half-applied; the state records its first
// row, and the second run applies only the rest. One request at a time, so
// nothing after the rejected row runs before it.
func TestLivePlayHalfApplied(t *testing.T) {
	src := writeSource(t)
	target := startTarget(t, "box.space.a:insert{3, 'already here'}")
	state := filepath.Join(t.TempDir(), "state.json")
	opts := play.Options{StatePath: state, Window: 1}
	files := collect(t, src.Dir)
	p, _ := play.New(dialAdmin(t, target), opts)
	sum, err := p.Play(context.Background(), files)
	re, ok := err.(*play.RequestError)
	// source.lua: the transaction at LSN 8-10 inserts {2}, {3}, replaces {1}.
	if !ok || re.Row.LSN != 9 || sum.TxPartial != 1 || sum.TxAfterFailure != 0 {
		t.Fatalf("play: %v, summary %+v; want LSN 9 rejected, one transaction half-applied", err, sum)
	}
	st, err := play.ReadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if st.VClock.Get(1) != 7 || !st.AppliedRow(1, 8) || st.AppliedRow(1, 9) {
		t.Errorf("state %+v: want vclock {1: 7} and LSN 8 applied", st)
	}
	target.Eval(t, "box.space.a:delete{3}")
	p, _ = play.New(dialAdmin(t, target), opts)
	sum, err = p.Play(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	if got := spacesOn(t, target); !reflect.DeepEqual(got, src.Spaces) {
		t.Errorf("target after resuming:\n%v\nsource:\n%v", got, src.Spaces)
	}
	if sum.RowsSent != 35 || sum.RowsAlreadyApplied != 2 {
		t.Errorf("second run sent %d rows, %d already applied; want 35, 2", sum.RowsSent, sum.RowsAlreadyApplied)
	}
}
