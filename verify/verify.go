package verify

import (
	"context"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/xlogtool/xlogtool/format"
)

// Source is one instance's data directory (WAL and snapshot files).
type Source struct {
	Name string
	Dir  string
}

// ParseSource reads a command-line argument DIR or NAME=DIR. Without a
// name the instance is named after the directory. A name holds no path
// separator, so "a=b/c" is a NAME=DIR and "/data/x=1/i1" a DIR.
func ParseSource(arg string) (Source, error) {
	name, dir, ok := strings.Cut(arg, "=")
	if !ok || strings.ContainsRune(name, filepath.Separator) {
		dir = arg
		name = dirName(arg)
	}
	if dir == "" {
		return Source{}, fmt.Errorf("%q: empty directory", arg)
	}
	if name == "" {
		return Source{}, fmt.Errorf("%q: empty instance name", arg)
	}
	return Source{Name: name, Dir: dir}, nil
}

// dirName names an instance after its directory: the last element of the
// path, taken from the absolute path when the argument has none ("." or
// "..").
func dirName(dir string) string {
	name := filepath.Base(filepath.Clean(dir))
	if name == "." || name == ".." {
		if abs, err := filepath.Abs(dir); err == nil {
			name = filepath.Base(abs)
		}
	}
	return name
}

// Options configure Run.
type Options struct {
	// Parallel is how many instances are read at once; 0 means all.
	Parallel int
	// MaxPerKind caps the findings kept per instance, kind and severity
	// (the rest are counted); 0 means 50.
	MaxPerKind int
	// Progress, when set, is told now and then how many more bytes of the
	// files have been read. It is called from the goroutines that read the
	// instances, concurrently.
	Progress func(delta int64)
}

// SyncCounts counts transactions by what became of them.
type SyncCounts struct {
	Confirmed  int64 `json:"confirmed"`   // synchronous, confirmed
	RolledBack int64 `json:"rolled_back"` // synchronous, rolled back
	Pending    int64 `json:"pending"`     // synchronous, unresolved at the end
	// Asynchronous transactions that waited behind synchronous ones.
	QueuedConfirmed  int64 `json:"queued_async_confirmed"`
	QueuedRolledBack int64 `json:"queued_async_rolled_back"`
	QueuedPending    int64 `json:"queued_async_pending"`
	// Async counts asynchronous transactions that did not wait.
	Async int64 `json:"async"`
}

// QueueState is the synchronous queue at the end of the log.
type QueueState struct {
	Owner      uint32        `json:"owner"`
	OwnerKnown bool          `json:"owner_known"`
	Term       uint64        `json:"term"`
	TermKnown  bool          `json:"term_known"`
	Confirmed  format.VClock `json:"confirmed_vclock"`
}

// RaftState is the persisted Raft state at the end of the log.
type RaftState struct {
	Term  uint64 `json:"term"`
	Vote  uint32 `json:"vote"`
	Known bool   `json:"known"`
}

// InstanceSummary describes one instance's logs.
type InstanceSummary struct {
	Name      string `json:"name"`
	Dir       string `json:"dir"`
	UUID      string `json:"instance_uuid"`
	ReplicaID uint32 `json:"replica_id"` // 0 when not found in _cluster
	// ReplicasetUUID is the replica set UUID from _schema ("" when no
	// _schema row holding it was read).
	ReplicasetUUID string `json:"replicaset_uuid"`
	// Cluster is the _cluster table at the end of the log: replica id to
	// instance UUID.
	Cluster        map[string]string `json:"cluster"`
	Versions       []string          `json:"versions"`
	Files          int               `json:"files"`
	Snapshots      int               `json:"snapshots"`
	Xlogs          int               `json:"xlogs"`
	Bytes          int64             `json:"bytes"`
	Rows           int64             `json:"rows"`
	Transactions   int64             `json:"transactions"`
	FirstVClock    format.VClock     `json:"first_vclock"`
	VClock         format.VClock     `json:"vclock"`
	SnapshotVClock *format.VClock    `json:"snapshot_vclock,omitempty"`
	FirstTime      float64           `json:"first_time,omitempty"`
	LastTime       float64           `json:"last_time,omitempty"`
	Sync           SyncCounts        `json:"sync"`
	Queue          QueueState        `json:"queue"`
	Raft           RaftState         `json:"raft"`
	Timeline       []Event           `json:"timeline"`
	// TimelineDropped counts events left out of the middle of Timeline.
	TimelineDropped int `json:"timeline_dropped,omitempty"`
	// Suppressed counts findings beyond the per-kind limit.
	Suppressed       map[string]int `json:"suppressed,omitempty"`
	SuppressedErrors int            `json:"-"`
}

// ComponentRow is one replica component of the vclock table.
type ComponentRow struct {
	ReplicaID uint32            `json:"replica_id"`
	Max       uint64            `json:"max"`
	Ahead     []string          `json:"ahead"`            // instances at Max
	LSN       map[string]uint64 `json:"lsn"`              // per instance
	Behind    map[string]uint64 `json:"behind,omitempty"` // how far below Max
	Origin    string            `json:"origin,omitempty"` // the instance with this replica id
	// Replicaset is the index in Report.Replicasets of the replica set
	// whose instances the row compares.
	Replicaset int `json:"replicaset"`
}

// Counts sums up the findings.
type Counts struct {
	Errors   int            `json:"errors"`
	Warnings int            `json:"warnings"`
	ByKind   map[string]int `json:"by_kind"`
}

// Report is the result of Run.
type Report struct {
	Instances []*InstanceSummary `json:"instances"`
	// Replicasets groups the instances by replica set; instances are
	// compared only within their group.
	Replicasets []Replicaset             `json:"replicasets"`
	VClocks     map[string]format.VClock `json:"vclocks"`
	Table       []ComponentRow           `json:"vclock_table"`
	Findings    []*Finding               `json:"findings"`
	Counts      Counts                   `json:"counts"`
	Splits      []SplitPoint             `json:"splits,omitempty"`
}

// SplitPoint marks where histories diverge, for the timeline.
type SplitPoint struct {
	Instance  string  `json:"instance"`
	Time      float64 `json:"time,omitempty"`
	ReplicaID uint32  `json:"replica_id"`
	LSN       uint64  `json:"lsn"`
	Text      string  `json:"text"`
}

// HasErrors reports whether any error finding was made.
func (r *Report) HasErrors() bool { return r.Counts.Errors > 0 }

// Run reads every instance's directory (in parallel, one pass each),
// checks each log on its own and then compares the instances.
func Run(ctx context.Context, srcs []Source, opts Options) (*Report, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("no instance directories given")
	}
	seen := map[string]bool{}
	for _, s := range srcs {
		if seen[s.Name] {
			return nil, fmt.Errorf("instance name %q given twice (name them NAME=DIR)", s.Name)
		}
		seen[s.Name] = true
	}
	if opts.MaxPerKind <= 0 {
		opts.MaxPerKind = 50
	}
	par := opts.Parallel
	if par <= 0 || par > len(srcs) {
		par = len(srcs)
	}
	seed := maphash.MakeSeed()
	insts := make([]*instance, len(srcs))
	errs := make([]error, len(srcs))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			insts[i], errs[i] = scanInstance(ctx, src, seed, scanLimits{perKind: opts.MaxPerKind, progress: opts.Progress})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("instance %s: %w", srcs[i].Name, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep := &Report{VClocks: map[string]format.VClock{}}
	for _, in := range insts {
		rep.Instances = append(rep.Instances, &in.sum)
		rep.VClocks[in.sum.Name] = in.vclock
		rep.Findings = append(rep.Findings, in.findings...)
	}
	rep.Findings = append(rep.Findings, duplicateInstances(insts)...)
	groups := groupInstances(insts)
	rep.Replicasets = replicasets(groups)
	for gi, g := range groups {
		rep.Table = append(rep.Table, vclockTable(g.members, gi)...)
		rep.Findings = append(rep.Findings, clusterConflicts(g.members)...)
		if len(g.members) > 1 {
			c := &comparer{ctx: ctx, insts: g.members, seed: seed, rep: rep}
			c.run()
		}
	}
	if len(groups) > 1 {
		rep.Findings = append(rep.Findings, foreignReplicasets(groups))
	}
	if rep.Findings == nil {
		rep.Findings = []*Finding{}
	}
	if rep.Table == nil {
		rep.Table = []ComponentRow{}
	}
	sortFindings(rep.Findings)
	rep.count(insts)
	return rep, nil
}

func (r *Report) count(insts []*instance) {
	r.Counts = Counts{ByKind: map[string]int{}}
	for _, f := range r.Findings {
		r.Counts.ByKind[string(f.Kind)]++
		if f.Severity == Error {
			r.Counts.Errors++
		} else {
			r.Counts.Warnings++
		}
	}
	for _, in := range insts {
		r.Counts.Errors += in.sum.SuppressedErrors
		for k, n := range in.sum.Suppressed {
			r.Counts.ByKind[k] += n
		}
	}
}

// vclockTable lists every replica component (local component 0 left out)
// with the LSN of each instance of replica set rs and how far it is behind
// the furthest one.
func vclockTable(insts []*instance, rs int) []ComponentRow {
	var mask format.VClock
	for _, in := range insts {
		in.vclock.Each(func(id uint32, lsn uint64) {
			if id != 0 {
				mask.Set(id, 0)
			}
		})
	}
	var rows []ComponentRow
	for _, id := range mask.IDs() {
		row := ComponentRow{ReplicaID: id, LSN: map[string]uint64{}, Behind: map[string]uint64{}, Replicaset: rs}
		for _, in := range insts {
			v := in.vclock.Get(id)
			row.LSN[in.sum.Name] = v
			row.Max = max(row.Max, v)
			if in.ownID == id && row.Origin == "" {
				row.Origin = in.sum.Name
			}
		}
		for _, in := range insts {
			v := in.vclock.Get(id)
			if v == row.Max {
				row.Ahead = append(row.Ahead, in.sum.Name)
			} else {
				row.Behind[in.sum.Name] = row.Max - v
			}
		}
		if len(row.Behind) == 0 {
			row.Behind = nil
		}
		sort.Strings(row.Ahead)
		rows = append(rows, row)
	}
	return rows
}

// duplicateInstances finds sources that hold the same instance: the same
// instance UUID in their headers (the same directory under two names, a
// copy of it). Compared as two replicas they would agree on everything
// and hide that one replica is missing.
func duplicateInstances(insts []*instance) []*Finding {
	byUUID := map[string][]*instance{}
	var order []string
	for _, in := range insts {
		u := in.sum.UUID
		if u == "" {
			continue
		}
		if byUUID[u] == nil {
			order = append(order, u)
		}
		byUUID[u] = append(byUUID[u], in)
	}
	var out []*Finding
	for _, u := range order {
		list := byUUID[u]
		if len(list) < 2 {
			continue
		}
		var names []string
		same := true
		first, _ := os.Stat(list[0].sum.Dir)
		for _, in := range list {
			names = append(names, in.sum.Name)
			if st, err := os.Stat(in.sum.Dir); err != nil || first == nil || !os.SameFile(first, st) {
				same = false
			}
		}
		what := "copies of one instance's files"
		if same {
			what = "the same directory given twice"
		}
		f := newFinding(KindDuplicateInstance, Error,
			"%s have the same instance UUID %s: %s, not different replicas", strings.Join(names, " and "), u, what)
		f.UUID = u
		f.Instances = names
		out = append(out, f)
	}
	return out
}
