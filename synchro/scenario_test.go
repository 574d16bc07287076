package synchro_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/synchro"
)

// Scenario files (testdata/*.txt) feed a Queue one command at a time and
// hold the output each command must produce, in the style of etcd-io/raft's
// data-driven tests:
//
//	# comment
//	command arg key=value ...
//	----
//	expected output
//	<blank line>
//
// go test ./synchro -run TestScenarios -rewrite (or XLOGTOOL_REWRITE=1)
// writes the actual output into the files instead of comparing.
var rewrite = flag.Bool("rewrite", os.Getenv("XLOGTOOL_REWRITE") == "1", "rewrite the scenario files' expected output")

type scenarioCase struct {
	comments []string
	cmd      string
	line     int
	want     []string
}

func parseScenarios(t *testing.T, path string) []scenarioCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []scenarioCase
	var comments []string
	sc := bufio.NewScanner(f)
	n := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		n++
		return sc.Text(), true
	}
	for {
		line, ok := next()
		if !ok {
			break
		}
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case strings.HasPrefix(line, "#"):
			comments = append(comments, line)
			continue
		}
		c := scenarioCase{comments: comments, cmd: line, line: n}
		comments = nil
		if sep, ok := next(); !ok || sep != "----" {
			t.Fatalf("%s:%d: want ---- after the command", path, n)
		}
		for {
			out, ok := next()
			if !ok || out == "" {
				break
			}
			c.want = append(c.want, out)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cases := parseScenarios(t, path)
			h := newHarness()
			var buf strings.Builder
			for i, c := range cases {
				got, err := h.run(c.cmd)
				if err != nil {
					t.Fatalf("%s:%d: %s: %v", path, c.line, c.cmd, err)
				}
				if *rewrite {
					if i > 0 {
						buf.WriteString("\n")
					}
					for _, cm := range c.comments {
						buf.WriteString(cm + "\n")
					}
					buf.WriteString(c.cmd + "\n----\n")
					for _, l := range got {
						buf.WriteString(l + "\n")
					}
					continue
				}
				if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
					t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, c.line, c.cmd,
						strings.Join(got, "\n"), strings.Join(c.want, "\n"))
				}
			}
			if *rewrite {
				if err := os.WriteFile(path, []byte(buf.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// harness runs scenario commands against one queue.
type harness struct {
	q *synchro.Queue
}

func newHarness() *harness {
	return &harness{q: synchro.NewQueue(synchro.Options{})}
}

// args are a command's words: flags (a bare word) and key=value pairs.
type args struct {
	words map[string]bool
	kv    map[string]string
}

func parseArgs(fields []string) args {
	a := args{words: map[string]bool{}, kv: map[string]string{}}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			a.kv[k] = v
		} else {
			a.words[f] = true
		}
	}
	return a
}

func (a args) num(key string) (uint64, error) {
	v, ok := a.kv[key]
	if !ok {
		return 0, nil
	}
	return strconv.ParseUint(v, 10, 64)
}

func (a args) nums(keys ...string) ([]uint64, error) {
	out := make([]uint64, len(keys))
	for i, k := range keys {
		n, err := a.num(k)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[i] = n
	}
	return out, nil
}

var synchroTypes = map[string]box.RowType{
	"confirm": box.TypeConfirm, "rollback": box.TypeRollback,
	"promote": box.TypePromote, "demote": box.TypeDemote,
}

func (h *harness) run(cmd string) ([]string, error) {
	fields := strings.Fields(cmd)
	a := parseArgs(fields[1:])
	switch fields[0] {
	case "version":
		// version 2.6.0: the rules of that writer; version lenient: of an
		// unknown one.
		if len(fields) != 2 {
			return nil, fmt.Errorf("want: version V")
		}
		if fields[1] == "lenient" {
			h.q.SetRules(synchro.LenientRules())
		} else {
			h.q.SetRules(synchro.RulesFor(fields[1]))
		}
		return nil, nil
	case "limit":
		n, err := a.num("n")
		if err != nil {
			return nil, err
		}
		r := h.q.Rules()
		h.q = synchro.NewQueue(synchro.Options{Limit: int(n), MergeAsync: a.words["merge"]})
		h.q.SetRules(r)
		return nil, nil
	case "reset":
		// reset fresh | reset unknown
		h.q.Reset(a.words["fresh"])
		return h.state(), nil
	case "restore":
		// restore [none] owner=O lsn=L term=T: a snapshot's PROMOTE row.
		if a.words["none"] {
			h.q.Restore(nil)
			return h.state(), nil
		}
		n, err := a.nums("owner", "lsn", "term")
		if err != nil {
			return nil, err
		}
		syn := &format.Synchro{ReplicaID: uint32(n[0]), LSN: n[1], Term: n[2], HasTerm: true}
		if v, ok := a.kv["vclock"]; ok {
			// vclock=1:5,2:7 (a snapshot's or JOIN_META's PROMOTE)
			for _, part := range strings.Split(v, ",") {
				id, lsn, _ := strings.Cut(part, ":")
				i, err1 := strconv.ParseUint(id, 10, 32)
				l, err2 := strconv.ParseUint(lsn, 10, 64)
				if err1 != nil || err2 != nil {
					return nil, fmt.Errorf("vclock %q", v)
				}
				syn.VClock.Set(uint32(i), l)
			}
			syn.HasVClock = true
		}
		h.q.Restore(syn)
		return h.state(), nil
	case "tx":
		return h.tx(a)
	case "state":
		return h.state(), nil
	case "end":
		return decisions(h.q.End()), nil
	case "filter":
		// filter TYPE from=X owner=O lsn=L term=T
		typ, s, x, err := synchroArgs(fields[1:])
		if err != nil {
			return nil, err
		}
		if e := h.q.FilterSynchro(typ, x, s); e != nil {
			return []string{e.Error()}, nil
		}
		return []string{"ok"}, nil
	case "filter-row":
		typ, s, x, err := synchroArgs(fields[1:])
		if err != nil {
			return nil, err
		}
		return []string{h.q.FilterSynchroRow(typ, x, s).String()}, nil
	case "filter-tx":
		// filter-tx first=X last=Y [waitsync] [dml|nop]
		n, err := a.nums("first", "last")
		if err != nil {
			return nil, err
		}
		last := n[1]
		if last == 0 {
			last = n[0]
		}
		v, e := h.q.FilterTx(synchro.Received{FirstOrigin: uint32(n[0]), LastOrigin: uint32(last),
			LastWaitSync: a.words["waitsync"], LastDML: !a.words["nop"], AllNop: a.words["nop"]})
		out := v.String()
		if e != nil {
			out += ": " + e.Error()
		}
		return []string{out}, nil
	}
	if _, ok := synchroTypes[fields[0]]; ok {
		typ, s, x, err := synchroArgs(fields)
		if err != nil {
			return nil, err
		}
		st := h.q.Apply(typ, x, s)
		return append(synchroStep(st), decisions(st.Decisions)...), nil
	}
	return nil, fmt.Errorf("unknown command %q", fields[0])
}

func synchroArgs(fields []string) (box.RowType, format.Synchro, uint32, error) {
	typ, ok := synchroTypes[fields[0]]
	if !ok {
		return 0, format.Synchro{}, 0, fmt.Errorf("not a synchro row type: %s", fields[0])
	}
	a := parseArgs(fields[1:])
	n, err := a.nums("from", "owner", "lsn", "term")
	if err != nil {
		return 0, format.Synchro{}, 0, err
	}
	s := format.Synchro{ReplicaID: uint32(n[1]), LSN: n[2], Term: n[3], HasTerm: n[3] != 0}
	return typ, s, uint32(n[0]), nil
}

// tx: tx origin=X lsn=L [first=F] [ack] [waitsync] [syncspace]
// commits a transaction whose last row has the flags named (ack =
// WAIT_SYNC|WAIT_ACK) and that wrote a synchronous space or not.
func (h *harness) tx(a args) ([]string, error) {
	n, err := a.nums("origin", "lsn", "first")
	if err != nil {
		return nil, err
	}
	var flags uint64
	if a.words["ack"] {
		flags |= box.FlagWaitAck | box.FlagWaitSync
	}
	if a.words["waitsync"] {
		flags |= box.FlagWaitSync
	}
	sync, queued := h.q.Classify(flags, a.words["syncspace"])
	first := n[2]
	if first == 0 {
		first = n[1]
	}
	e := synchro.Entry{Origin: uint32(n[0]), First: first, LSN: n[1], Sync: sync}
	st := h.q.Commit(e, queued)
	var out []string
	var notes []string
	if st.Queued {
		notes = append(notes, "queued")
	}
	if st.Conflict != synchro.NoConflict {
		notes = append(notes, "conflict "+[...]string{"", "ER_UNCOMMITTED_FOREIGN_SYNC_TXNS", "ER_SYNC_QUEUE_UNCLAIMED", "ER_SYNC_QUEUE_FOREIGN"}[st.Conflict])
	}
	if st.Takeover {
		notes = append(notes, fmt.Sprintf("takeover from %d", st.PrevOwner))
	}
	if st.Stale {
		notes = append(notes, fmt.Sprintf("stale: origin term %d < queue term %d", st.OriginTerm, st.Term))
	}
	if len(notes) > 0 {
		out = append(out, strings.Join(notes, ", "))
	}
	return append(out, decisions(st.Decisions)...), nil
}

func entryText(e synchro.Entry) string {
	kind := "async"
	if e.Sync {
		kind = "sync"
	}
	s := fmt.Sprintf("%d:%d", e.Origin, e.LSN)
	if e.First != e.LSN {
		s = fmt.Sprintf("%d:%d-%d", e.Origin, e.First, e.LSN)
	}
	if e.Count() > 1 {
		s += fmt.Sprintf(" x%d", e.Count())
	}
	return s + " " + kind
}

func decisions(ds []synchro.Decision) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s %s", entryText(d.Entry), d.Fate))
	}
	return out
}

func synchroStep(st synchro.SynchroStep) []string {
	switch {
	case st.Invalid:
		return []string{"invalid: ignored"}
	case st.Unknown:
		return []string{"owner unknown: ignored"}
	case st.Foreign:
		return []string{fmt.Sprintf("foreign: the queue belongs to %d; ignored", st.Owner)}
	case st.Clear:
		return []string{fmt.Sprintf("applied to %d's queue by another instance (clear_synchro_queue)", st.Owner)}
	}
	return nil
}

func (h *harness) state() []string {
	s := h.q.State()
	owner, term := fmt.Sprint(s.Owner), fmt.Sprint(s.Term)
	if !s.OwnerKnown {
		owner = "?"
	}
	if !s.TermKnown {
		term = "?"
	}
	var terms format.VClock
	for id := uint32(1); id < format.VClockMax; id++ {
		if t := h.q.TermOf(id); t != 0 {
			terms.Set(id, t)
		}
	}
	line := fmt.Sprintf("owner %s term %s terms %s confirmed_lsn %d confirmed %s", owner, term, terms, s.ConfirmedLSN, s.Confirmed)
	out := []string{line}
	for _, e := range h.q.Entries() {
		out = append(out, "  "+entryText(e))
	}
	if h.q.Overflow() {
		out = append(out, "overflow")
	}
	return out
}
