package box_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
)

func TestErrorNames(t *testing.T) {
	for code, name := range map[box.ErrorCode]string{
		0: "ER_UNKNOWN", 3: "ER_TUPLE_FOUND", 7: "ER_READONLY", 36: "ER_NO_SUCH_SPACE",
		42: "ER_ACCESS_DENIED", 47: "ER_PASSWORD_MISMATCH", 116: "ER_LOADING",
		215: "ER_SYNC_MASTER_MISMATCH", 219: "ER_XLOG_GAP", 244: "ER_SPLIT_BRAIN",
		289: "ER_SYNC_QUEUE_FULL", 295: "ER_SYNC_TIMEOUT", 9999: "ER_9999",
	} {
		if got := code.String(); got != name {
			t.Errorf("ErrorCode(%d).String() = %s, want %s", code, got, name)
		}
		if c, ok := box.ErrorCodeByName(name); ok != (code != 9999) || ok && c != code {
			t.Errorf("ErrorCodeByName(%s) = %d, %v", name, c, ok)
		}
	}
	if box.ErrorCode(9999).Known() || !box.ErrTupleFound.Known() {
		t.Error("Known")
	}
}

func TestErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err  *box.Error
		want string
	}{
		{box.NewError(box.ErrNoSuchSpace, "test"), "Space 'test' does not exist"},
		{box.NewError(box.ErrTupleFound, "pk", "test"), "Duplicate key exists in unique index 'pk' in space 'test'"},
		{box.NewError(box.ErrUnknownRequestType, 12), "Unknown request type 12"},
		{box.NewError(box.ErrNoSuchProc, "f"), "Procedure 'f' is not defined"},
		{box.NewError(box.ErrUpdateIntegerOverflow, '+', "2"), "Integer overflow when performing '+' operation on field 2"},
		{box.NewError(box.ErrSyncQuorumTimeout), "Quorum collection for a synchronous transaction is timed out"},
		{box.NewError(box.ErrorCode(9999)), "ER_9999"},
		{box.NewError(box.ErrorCode(9999), "x"), "ER_9999: x"},
	} {
		if c.err.Message != c.want {
			t.Errorf("%s: message %q, want %q", c.err.Code, c.err.Message, c.want)
		}
	}
	if s := box.NewError(box.ErrNoSuchSpace, "s").Error(); s != "ER_NO_SUCH_SPACE: Space 's' does not exist" {
		t.Errorf("Error() = %q", s)
	}
	// Every format takes only Go's verbs.
	verb := regexp.MustCompile(`%[^sdc]`)
	for c := box.ErrorCode(0); c < 400; c++ {
		if f := c.MessageFormat(); verb.MatchString(f) {
			t.Errorf("%s: format %q has a verb other than %%s, %%d, %%c", c, f)
		}
	}
}

// The table holds what Tarantool 2.6.0 holds: every code, its name and its
// message format, read from the binary's own table.
func TestErrorTableMatchesTarantool(t *testing.T) {
	if v := tarantooltest.Version(t); !strings.HasPrefix(v, "2.6.") {
		t.Skipf("the table holds 2.6's names and messages; tarantool is %s", v)
	}
	out := tarantooltest.RunScript(t, "", `
local ffi = require('ffi')
ffi.cdef[[
struct errcode_record { const char *errstr; const char *errdesc; };
extern struct errcode_record box_error_codes[];
]]
for i = 0, box.error.TUPLE_METADATA_IS_TOO_BIG do
	local r = ffi.C.box_error_codes[i]
	io.write(i, '\t', ffi.string(r.errstr), '\t', ffi.string(r.errdesc), '\n')
end
-- messages as the server formats them
local e = box.error.new(box.error.TUPLE_FOUND, 'pk', 'sp')
io.write('msg\t3\t', e.message, '\n')
e = box.error.new(box.error.NO_SUCH_INDEX_ID, 7, 'sp')
io.write('msg\t35\t', e.message, '\n')
e = box.error.new(box.error.WRONG_SCHEMA_VERSION, 80, 81)
io.write('msg\t109\t', e.message, '\n')
`)
	cverb := regexp.MustCompile(`%(\.\*s|ll[ud]|l[ud]|li|lli|i|u)`)
	n := 0
	msgs := map[box.ErrorCode]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			t.Fatalf("bad line %q", line)
		}
		if f[0] == "msg" {
			c, _ := strconv.Atoi(f[1])
			msgs[box.ErrorCode(c)] = f[2]
			continue
		}
		c, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatal(err)
		}
		code := box.ErrorCode(c)
		n++
		if code.String() != f[1] {
			t.Errorf("code %d: name %s, Tarantool has %s", c, code, f[1])
		}
		want := cverb.ReplaceAllStringFunc(f[2], func(m string) string {
			if m == "%.*s" {
				return "%s"
			}
			return "%d"
		})
		if code.MessageFormat() != want {
			t.Errorf("%s: format %q, Tarantool has %q", code, code.MessageFormat(), f[2])
		}
	}
	if n != 219 {
		t.Errorf("%d codes read from Tarantool, want 219", n)
	}
	for code, args := range map[box.ErrorCode][]any{3: {"pk", "sp"}, 35: {7, "sp"}, 109: {80, 81}} {
		if got := code.Message(args...); got != msgs[code] {
			t.Errorf("%s%v: %q, Tarantool says %q", code, args, got, msgs[code])
		}
	}
}

func TestRowTypes(t *testing.T) {
	for typ, want := range map[box.RowType][2]string{
		box.TypeInsert: {"INSERT", "INSERT"}, box.TypeRollback: {"ROLLBACK", "ROLLBACK"},
		box.TypeTxRollback: {"16", "ROLLBACK"}, box.TypePing: {"64", "PING"},
		box.TypeOK: {"0", "OK"}, box.TypeRunInfo: {"RUNINFO", "RUNINFO"},
		box.TypeChunk: {"128", "CHUNK"}, 200: {"200", "type 200"},
		box.ErrorType(box.ErrTupleFound): {"32771", "ERROR"},
	} {
		if typ.String() != want[0] || typ.RequestName() != want[1] {
			t.Errorf("type %d: %q, %q; want %q", uint32(typ), typ.String(), typ.RequestName(), want)
		}
	}
	for s, want := range map[string]box.RowType{"insert": box.TypeInsert, "RAFT_PROMOTE": box.TypePromote, "rollback": box.TypeRollback, "99": 99} {
		if got, err := box.ParseRowType(s); err != nil || got != want {
			t.Errorf("ParseRowType(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := box.ParseRowType("PING"); err == nil {
		t.Error("PING is no log row type")
	}
	if typ := box.ErrorType(box.ErrNoSuchSpace); !typ.IsError() || typ.ErrorCode() != box.ErrNoSuchSpace || box.TypeOK.ErrorCode() != 0 {
		t.Error("error types")
	}
	if !box.TypeUpsert.IsDML() || box.TypeNop.IsDML() || !box.TypeDemote.IsSynchro() || box.TypeRaft.IsSynchro() {
		t.Error("IsDML/IsSynchro")
	}
	if box.BodyKeyLabel(box.TypeInsert, box.KeyTuple) != "tuple" || box.BodyKeyLabel(box.TypeConfirm, box.KeyTuple) != "33" ||
		box.BodyKeyName(box.TypeRaft, box.RaftKeyLeaderID) != "leader_id" {
		t.Error("key names")
	}
}

func TestVersion(t *testing.T) {
	for s, want := range map[string]box.Version{
		"2.6.0-0-g47aa4e01e": {Major: 2, Minor: 6}, "2.10.0-beta1": {Major: 2, Minor: 10},
		"3.2.1": {Major: 3, Minor: 2, Patch: 1},
	} {
		if v, err := box.ParseVersion(s); err != nil || v != want {
			t.Errorf("ParseVersion(%q) = %v, %v", s, v, err)
		}
	}
	for _, s := range []string{"", "2", "2.6", "2.x.0", "x.6.0", "2.6.", "99999999999.1.1"} {
		if v, err := box.ParseVersion(s); err == nil {
			t.Errorf("ParseVersion(%q) = %v, no error", s, v)
		}
	}
	for s, want := range map[string]string{
		"2.6.0-0-g1": "2.6.0", " 2.6 ": "2.6.0", "2.6.x": "2.6.0", "": "unknown", "2": "unknown", "x.6.1": "unknown",
	} {
		if got := box.VersionOf(s).String(); got != want {
			t.Errorf("VersionOf(%q) = %s, want %s", s, got, want)
		}
	}
	v := box.Version{Major: 2, Minor: 6, Patch: 0}
	if v.ID() != 0x020600 || box.VersionFromID(0x020a03) != (box.Version{Major: 2, Minor: 10, Patch: 3}) {
		t.Error("ID")
	}
	if !v.AtLeast(2, 6, 0) || v.AtLeast(2, 6, 1) || !v.Less(box.Version{Major: 2, Minor: 10}) {
		t.Error("AtLeast/Less")
	}
	for _, c := range []struct {
		v    string
		want bool
	}{
		{"2.6.2", false}, {"2.6.3", true}, {"2.7.1", false}, {"2.7.2", true}, {"2.8.0", false}, {"2.8.1", true},
		{"2.5.9", false}, {"2.10.0", true}, {"3.0.0", true},
	} {
		if got := box.VersionOf(c.v).Since("2.8.1", "2.6.3", "2.7.2"); got != c.want {
			t.Errorf("%s.Since(2.8.1, 2.6.3, 2.7.2) = %v", c.v, got)
		}
	}
}

// System space names agree with the spaces of a Tarantool instance.
func TestSpaceNames(t *testing.T) {
	tarantooltest.Require(t)
	out := tarantooltest.RunScript(t, "", `
box.cfg{log = 'tarantool.log'}
for _, s in box.space._space:pairs() do
	if s[1] < 512 then io.write(s[1], '\t', s[3], '\n') end
end
os.exit(0)
`)
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		id, name, _ := strings.Cut(line, "\t")
		v, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		if got := box.SpaceName(uint32(v)); got != name {
			t.Errorf("space %d: SpaceName %q, Tarantool has %q", v, got, name)
		}
		n++
	}
	if n < 20 {
		t.Errorf("only %d system spaces read from Tarantool", n)
	}
	if box.SpaceName(box.SpaceRecoveryPoint) != "_recovery_point" || box.SpaceName(512) != "" {
		t.Error("SpaceName of a space 2.6 does not have, or of a user space")
	}
}

// The election and synchronous-queue errors of 2.11 (which 2.6.0 lacks)
// have 2.11's numbers, names and messages (src/box/errcode.h of 2.11).
func TestElectionErrors211(t *testing.T) {
	for _, c := range []struct {
		code box.ErrorCode
		num  uint32
		name string
		args []any
		msg  string
	}{
		{box.ErrQuorumWait, 222, "ER_QUORUM_WAIT", []any{2, "new synchronous transactions appeared"}, "Couldn't wait for quorum 2: new synchronous transactions appeared"},
		{box.ErrInterferingPromote, 223, "ER_INTERFERING_PROMOTE", []any{3}, "Instance with replica id 3 was promoted first"},
		{box.ErrElectionDisabled, 224, "ER_ELECTION_DISABLED", nil, "Elections were turned off"},
		{box.ErrNotLeader, 226, "ER_NOT_LEADER", []any{2}, "The instance is not a leader. New leader is 2"},
		{box.ErrSyncQueueUnclaimed, 227, "ER_SYNC_QUEUE_UNCLAIMED", nil, "The synchronous transaction queue doesn't belong to any instance"},
		{box.ErrSyncQueueForeign, 228, "ER_SYNC_QUEUE_FOREIGN", []any{2}, "The synchronous transaction queue belongs to other instance with id 2"},
		{box.ErrNoElectionQuorum, 242, "ER_NO_ELECTION_QUORUM", []any{1, 2}, "Not enough peers connected to start elections: 1 out of minimal required 2"},
		{box.ErrSplitBrain, 244, "ER_SPLIT_BRAIN", []any{"x"}, "Split-Brain discovered: x"},
		{box.ErrOldTerm, 245, "ER_OLD_TERM", []any{3, 4}, "The term is outdated: old - 3, new - 4"},
		{box.ErrInterferingElections, 246, "ER_INTERFERING_ELECTIONS", nil, "Interfering elections started"},
		{box.ErrInAnotherPromote, 278, "ER_IN_ANOTHER_PROMOTE", nil, "box.ctl.promote() is already running"},
		{box.ErrUnsupported, 5, "ER_UNSUPPORTED", []any{"box.ctl.promote/demote", "simultaneous invocations"}, "box.ctl.promote/demote does not support simultaneous invocations"},
		{box.ErrTimeout, 78, "ER_TIMEOUT", nil, "Timeout exceeded"},
	} {
		if uint32(c.code) != c.num || c.code.String() != c.name || c.code.Message(c.args...) != c.msg {
			t.Errorf("%d %s: %q, 2.11 has %d %s %q", uint32(c.code), c.code, c.code.Message(c.args...), c.num, c.name, c.msg)
		}
	}
}
