package sim

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/node/raft"
	"github.com/xlogtool/xlogtool/synchro"
	"github.com/xlogtool/xlogtool/verify"
)

// SetScenario is one randomised run of a replica set with data: the
// election scenario of the seed, a client workload during the faults,
// then healing, a bounded wait until the set is at rest, and the checks.
type SetScenario struct {
	Scenario
	SynchroTimeout time.Duration
	Clients        int
	// Async and Reads are the shares of asynchronous inserts and reads.
	Async, Reads float64
}

// NewSetScenario derives a scenario from a seed.
func NewSetScenario(seed uint64) SetScenario {
	s := NewScenario(seed)
	w := NewWorld(seed ^ 0x5e75e75e7)
	s.Faults = w.Between(4*time.Second, 12*time.Second)
	if s.Options.Fencing == raft.FencingOff {
		// Without fencing an isolated leader rolls back by timeout what
		// the new leader confirms: a real split-brain, which
		// TestReplicaSetCheckerFindsSplitBrain expects; the default runs
		// check the configurations that promise safety.
		s.Options.Fencing = raft.FencingSoft + raft.Fencing(w.Rand.IntN(2))
	}
	return SetScenario{Scenario: s,
		// No rollback by timeout during a run (as with Tarantool 3.x's
		// default): TestReplicaSetTimeoutRollback shows what it does.
		SynchroTimeout: time.Hour,
		Clients:        2 + w.Rand.IntN(3),
		Async:          0.15,
		Reads:          0.3}
}

// SetResult is the outcome of a run.
type SetResult struct {
	SetScenario
	Violations []string
	// Quiet is how long after healing the set came to rest (-1: never).
	Quiet    time.Duration
	Outcomes map[Outcome]int
	Ops      []*Op
	Terms    uint64
	Steps    int
	Trace    uint64
	// Linearizable is porcupine's verdict on the history.
	Linearizable porcupine.CheckResult
	// Findings are verify's error findings on the files the nodes wrote.
	Findings []*verify.Finding
	// CutOff lists the nodes that refuse their peers' rows at the end.
	CutOff []int
	// AsyncSplits counts verify's split-brain findings about an old
	// leader's asynchronous rows, which its successor never had
	// (asynchronous replication loses them on failover).
	AsyncSplits int
	// CutOffSplits counts verify's split-brain findings between two
	// owners' histories, one of them on a node cut off.
	CutOffSplits int
	// Stuck: no quorum is left because the leader's asynchronous rows of
	// an old term are refused by the others.
	Stuck bool
}

// Failed reports whether the run broke a rule.
func (r *SetResult) Failed() bool { return len(r.Violations) > 0 }

func (r *SetResult) String() string {
	o := r.Options
	s := fmt.Sprintf("seed %d: %d nodes, election timeout %v, replication timeout %v, synchro timeout %v, quorum %d, fencing %v, modes %v, %d clients: ",
		r.Seed, o.Nodes, o.ElectionTimeout, o.ReplicationTimeout, r.SynchroTimeout, o.Quorum, o.Fencing, o.Modes, r.Clients)
	if r.Quiet < 0 {
		s += "never at rest; "
	} else {
		s += fmt.Sprintf("at rest %v after healing; ", r.Quiet)
	}
	s += fmt.Sprintf("%d ops: %d acked, %d failed, %d unknown; %d terms, %d steps, history %s",
		len(r.Ops), r.Outcomes[Acked], r.Outcomes[Failed], r.Outcomes[Unknown], r.Terms, r.Steps, r.Linearizable)
	if r.AsyncSplits > 0 {
		s += fmt.Sprintf("; %d split-brains of lost asynchronous rows", r.AsyncSplits)
	}
	if len(r.CutOff) > 0 {
		s += fmt.Sprintf("; cut off by split-brain: nodes %v (%d verify findings)", r.CutOff, r.CutOffSplits)
	}
	if r.Stuck {
		s += "; stuck: the leader's old asynchronous rows are refused"
	}
	for _, v := range r.Violations {
		s += "\n  " + v
	}
	return s
}

func (rs *ReplicaSet) network() *Network { return rs.Net }
func (rs *ReplicaSet) disk(id int) *Disk { return rs.Disks[id] }
func (rs *ReplicaSet) stepNode(id int, fn func()) {
	rs.Nodes[id].step(fn)
}
func (rs *ReplicaSet) election(id int) *raft.Election {
	if r := rs.Nodes[id]; r.up {
		return r.E
	}
	return nil
}

// Run runs the scenario. trace, when not nil, receives its log; dir,
// when not empty, receives each node's files (dir/nodeN), which verify
// then reads.
func (s SetScenario) Run(trace io.Writer, dir string) SetResult {
	w := NewWorld(s.Seed)
	o := SetOptions{Options: s.Options, SynchroTimeout: s.SynchroTimeout}
	o.Trace = trace
	rs := NewReplicaSet(w, o)
	rs.Net.Faults = NetFaults{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond,
		Reconnect: s.Options.ReplicationTimeout}
	for id := 1; id <= s.Options.Nodes; id++ {
		rs.Disks[id].Faults = DiskFaults{MinLatency: time.Millisecond, MaxLatency: 3 * time.Millisecond}
	}
	wl := newWorkload(rs, s.Clients, s.Async, s.Reads)
	wl.start()
	f := &faulter{c: rs, w: w, s: &s.Scenario}
	for w.Now() < s.Faults {
		w.RunUntil(w.Now()+w.Between(200*time.Millisecond, 3*time.Second), nil)
		f.inject()
	}
	wl.stopped = true
	rs.tracef("heal")
	f.heal()
	healed := w.Now()
	res := SetResult{SetScenario: s, Quiet: -1, Outcomes: map[Outcome]int{}}
	bound := s.Bound + wl.timeout
	if w.RunUntil(healed+bound, func() bool { return wl.idle() && rs.Quiet() }) {
		res.Quiet = w.Now() - healed
		rs.tracef("at rest")
	} else {
		rs.Check.failf("not at rest %v after healing", bound)
	}
	res.Ops = wl.ops
	cut := 0
	for id := 1; id <= s.Options.Nodes; id++ {
		if rs.CutOff(id) {
			res.CutOff = append(res.CutOff, id)
			cut++
		}
	}
	if s.Options.Nodes-cut < s.Options.Quorum {
		byAsync := true
		for _, id := range res.CutOff {
			byAsync = byAsync && rs.cutOffByAsync(id)
		}
		if byAsync {
			// The leader is an old leader whose asynchronous rows of
			// its old term the others refuse: it can never replicate
			// again (2.11's filters; a rebootstrap of it is the cure).
			res.Stuck = true
		} else {
			rs.Check.failf("nodes %v cut off: no quorum left", res.CutOff)
		}
	}
	for _, op := range wl.ops {
		res.Outcomes[op.Outcome]++
	}
	rs.checkData(wl)
	res.Linearizable = porcupine.CheckOperationsTimeout(kvModel, wl.history(), 10*time.Second)
	if res.Linearizable == porcupine.Illegal {
		rs.Check.failf("the history is not linearizable")
	}
	if dir != "" {
		res.Findings, res.AsyncSplits, res.CutOffSplits = rs.verifyFiles(dir, wl)
	}
	res.Violations = rs.Check.Violations
	res.Terms = rs.Check.Terms
	res.Steps = w.Steps()
	res.Trace = w.Trace()
	return res
}

// checkData: every acknowledged synchronous insert (and read marker) is
// on every node, with its value; no failed one is anywhere.
func (rs *ReplicaSet) checkData(wl *workload) {
	for _, op := range wl.ops {
		k := op.written()
		for id := 1; id <= rs.opts.Nodes; id++ {
			r := rs.Nodes[id]
			if !r.up {
				continue
			}
			v, ok := r.Get(k)
			if rs.CutOff(id) && !ok {
				continue // its peers' rows never reach it
			}
			switch {
			case op.Outcome == Acked && op.Kind != OpAsync && !ok:
				rs.Check.failf("acknowledged write lost on node %d: %v", id, op)
			case op.Outcome == Acked && op.Kind == OpSync && v != op.Val:
				rs.Check.failf("node %d has %s=%q: %v", id, k, v, op)
			case op.Outcome == Failed && ok:
				rs.Check.failf("failed write applied on node %d: %v", id, op)
			}
		}
	}
}

// checkDurable: when a synchronous operation is acknowledged its row is
// durable on a quorum of disks.
func (rs *ReplicaSet) checkDurable(op *Op) {
	n := 0
	for id := 1; id <= rs.opts.Nodes; id++ {
		if rs.Nodes[id].written.Get(op.Node) >= op.LSN {
			n++
		}
	}
	if n < rs.opts.Quorum {
		rs.Check.failf("acknowledged on %d disks of %d, quorum %d: %v", n, rs.opts.Nodes, rs.opts.Quorum, op)
	}
}

// Instance UUIDs and the replica set UUID of the files.
func instanceUUID(id int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", id) }

const replicasetUUID = "00000000-0000-4000-8000-000000000100"

// fileVersion is the Version line of the files: the node writes 2.11's
// rows with elections on.
const fileVersion = "2.11.0"

// writeFiles writes node id's data directory as the node would have:
// the bootstrap snapshot, then its WAL rows in xlogs named by their
// vclock with the PrevVClock chain, a new file at each restart.
func (rs *ReplicaSet) writeFiles(dir string, id int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	meta := func(typ string, vc format.VClock, prev *format.VClock) *format.Meta {
		m := &format.Meta{FileType: typ, Version: format.Version13, Tarantool: fileVersion,
			Instance: instanceUUID(id), VClock: vc, HasVClock: true}
		if prev != nil {
			m.PrevVClock, m.HasPrevVClock = *prev, true
		}
		return m
	}
	snap, err := format.Create(dir, meta(format.TypeSNAP, format.VClock{}, nil), format.WriterOptions{NoSync: true})
	if err != nil {
		return err
	}
	var lsn uint64
	put := func(space uint32, tuple []byte) error {
		b := format.AppendMapLen(nil, 2)
		b = format.AppendUint(b, box.KeySpaceID)
		b = format.AppendUint(b, uint64(space))
		b = format.AppendUint(b, box.KeyTuple)
		b = append(b, tuple...)
		h := format.Header{Type: box.TypeInsert, LSN: lsn, TSN: lsn, Commit: true, Timestamp: 1.7e9}
		lsn++
		return snap.Write(&h, b)
	}
	tuple := func(items ...func([]byte) []byte) []byte {
		b := format.AppendArrayLen(nil, len(items))
		for _, it := range items {
			b = it(b)
		}
		return b
	}
	str := func(s string) func([]byte) []byte { return func(b []byte) []byte { return format.AppendString(b, s) } }
	num := func(v uint64) func([]byte) []byte { return func(b []byte) []byte { return format.AppendUint(b, v) } }
	raw := func(r []byte) func([]byte) []byte { return func(b []byte) []byte { return append(b, r...) } }
	errs := []error{put(box.SpaceSchema, tuple(str("cluster"), str(replicasetUUID)))}
	for _, sp := range []uint32{SyncSpace, AsyncSpace} {
		flags := format.AppendMapLen(nil, 0)
		if sp == SyncSpace {
			flags = format.AppendBool(format.AppendString(format.AppendMapLen(nil, 1), "is_sync"), true)
		}
		errs = append(errs, put(box.SpaceSpace, tuple(num(uint64(sp)), num(1), str(fmt.Sprint("s", sp)), str("memtx"),
			num(0), raw(flags), raw(format.AppendArrayLen(nil, 0)))))
	}
	for peer := 1; peer <= rs.opts.Nodes; peer++ {
		errs = append(errs, put(box.SpaceCluster, tuple(num(uint64(peer)), str(instanceUUID(peer)))))
	}
	errs = append(errs, snap.Close())
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	log := rs.Logs[id]
	starts := map[int]bool{}
	for _, at := range rs.Starts[id] {
		starts[at] = true
	}
	var vc format.VClock
	var prev *format.VClock
	var w *format.Writer
	for i := 0; i <= len(log); i++ {
		if w == nil || (i < len(log) && starts[i] && w.Rows() > 0) || i%1000 == 999 {
			if w != nil {
				if err := w.Close(); err != nil {
					return err
				}
			}
			if i == len(log) && w != nil {
				break
			}
			w, err = format.Create(dir, meta(format.TypeXLOG, vc, prev), format.WriterOptions{NoSync: true, NoCompress: i%2 == 0})
			if err != nil {
				return err
			}
			p := vc
			prev = &p
		}
		if i == len(log) {
			break
		}
		row := log[i]
		if err := w.Write(&row.Header, row.Body); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		vc.Follow(row.ReplicaID, row.LSN)
	}
	return w.Close()
}

// verifyFiles writes the nodes' files, runs verify over them and checks
// its findings, and checks that the fate of each transaction in each
// node's files (the queue interpreter verify uses) is what its client was
// told. It returns verify's error findings, and how many of them are an
// old leader's asynchronous rows its successor never had (expected of
// asynchronous replication; every other one is a violation).
func (rs *ReplicaSet) verifyFiles(dir string, wl *workload) (bad []*verify.Finding, asyncSplits, cutSplits int) {
	var srcs []verify.Source
	for id := 1; id <= rs.opts.Nodes; id++ {
		d := filepath.Join(dir, fmt.Sprintf("node%d", id))
		if err := rs.writeFiles(d, id); err != nil {
			rs.Check.failf("node %d: writing files: %v", id, err)
			return nil, 0, 0
		}
		srcs = append(srcs, verify.Source{Name: fmt.Sprintf("node%d", id), Dir: d})
	}
	rep, err := verify.Run(context.Background(), srcs, verify.Options{Parallel: 1})
	if err != nil {
		rs.Check.failf("verify: %v", err)
		return nil, 0, 0
	}
	for _, f := range rep.Findings {
		if f.Kind == verify.KindSplitBrain && len(f.Sides) == 2 &&
			rs.onlyAsync(f.Sides[0].ReplicaID, f.Sides[0].LSNFrom, f.Sides[0].LSNTo) {
			asyncSplits++
			continue
		}
		if f.Kind == verify.KindSplitBrain && len(f.Sides) == 2 && strings.Contains(f.Sides[0].What, "old owner") &&
			slices.ContainsFunc(f.Instances, rs.cutOffName) {
			// Two owners' histories, one of them on a node the others
			// cut off (an unreplicated claim of a superseded term): the
			// refusal is the split-brain, reported with the cut-off node.
			cutSplits++
			continue
		}
		if f.Severity == verify.Error || f.Kind == verify.KindSplitBrain || f.Kind == verify.KindStaleTerm {
			bad = append(bad, f)
			rs.Check.failf("verify: %s %s: %s", f.Kind, f.Instance+fmt.Sprint(f.Instances), f.Message)
		}
	}
	for i, src := range srcs {
		fates, confirmed, err := fatesOf(src.Dir)
		if err != nil {
			rs.Check.failf("%s: %v", src.Name, err)
			continue
		}
		if got := rep.Instances[i].Sync.Confirmed + rep.Instances[i].Sync.QueuedConfirmed; got != confirmed {
			rs.Check.failf("%s: verify counts %d confirmed transactions, the files hold %d", src.Name, got, confirmed)
		}
		cutOff := rs.CutOff(i + 1)
		for _, op := range wl.ops {
			f, ok := fates[op.written()]
			switch {
			case cutOff && (!ok || f == synchro.Pending):
				// the CONFIRM never reached it
			case op.Outcome == Acked && op.Kind != OpAsync && (!ok || f != synchro.Confirmed):
				rs.Check.failf("%s: %v: %v in the files", src.Name, op, fateName(f, ok))
			case op.Outcome == Failed && ok && f.Applied():
				rs.Check.failf("%s: %v: %v in the files", src.Name, op, fateName(f, ok))
			}
		}
	}
	return bad, asyncSplits, cutSplits
}

// cutOffName reports whether the node of a verify source name is cut off.
func (rs *ReplicaSet) cutOffName(name string) bool {
	var id int
	if _, err := fmt.Sscanf(name, "node%d", &id); err != nil || id < 1 || id > rs.opts.Nodes {
		return false
	}
	return rs.CutOff(id)
}

// onlyAsync reports whether the data rows from..to of replica id, in its
// own log, are all asynchronous inserts.
func (rs *ReplicaSet) onlyAsync(id uint32, from, to uint64) bool {
	if id == 0 || int(id) > rs.opts.Nodes || from == 0 {
		return false
	}
	for _, row := range rs.Logs[id] {
		if row.ReplicaID != id || row.LSN < from || row.LSN > to || !row.Type.IsDML() {
			continue
		}
		if _, _, space, ok := decodeInsert(row); !ok || space != AsyncSpace {
			return false
		}
	}
	return true
}

func fateName(f synchro.Fate, ok bool) string {
	if !ok {
		return "absent"
	}
	return f.String()
}

// fatesOf reads the xlogs of a directory with the queue interpreter
// (synchro.Resolver, with each file's rules) and returns the fate of each
// key inserted and the number of confirmed transactions.
func fatesOf(dir string) (map[string]synchro.Fate, int64, error) {
	refs, err := format.ScanDir(dir)
	if err != nil {
		return nil, 0, err
	}
	res := synchro.New(synchro.Options{IsSync: func(id uint32) bool { return id == SyncSpace }})
	fates := map[string]synchro.Fate{}
	var confirmed int64
	note := func(evs []synchro.Event) {
		for _, ev := range evs {
			if ev.Fate == synchro.Confirmed {
				confirmed++
			}
			for _, row := range ev.Tx.Rows {
				if k := keyOf(row); k != "" {
					fates[k] = ev.Fate
				}
			}
		}
	}
	for _, ref := range refs {
		if filepath.Ext(ref.Path) != ".xlog" {
			continue
		}
		rd, err := format.Open(ref.Path, format.Options{})
		if err != nil {
			return nil, 0, err
		}
		res.SetVersion(rd.Meta().Tarantool)
		for {
			row, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				rd.Close()
				return nil, 0, err
			}
			evs, err := res.Add(row)
			if err != nil {
				rd.Close()
				return nil, 0, err
			}
			note(evs)
		}
		rd.Close()
	}
	note(res.End())
	return fates, confirmed, nil
}
