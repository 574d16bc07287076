package play

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/xlogtool/xlogtool/format"
)

// StateVersion is the version of the state file format.
const StateVersion = 1

// State is the resumable position of a play, kept in the --state file.
//
// VClock holds, per replica id, the LSN of the last transaction that was
// applied with everything before it: a transaction of replica R whose last
// row has an LSN at or below VClock[R] is not applied again (component 0
// for transactions of replica-local rows only). Applied lists rows above
// that vclock that were applied as well: requests that were already on the
// wire when an earlier one was rejected, and the rows of a transaction left
// half-applied by a server without streams. Snapshot tracks the snapshot
// being played, whose rows are counted instead (their LSNs are only
// ordinals).
type State struct {
	Version  int                `json:"version"`
	VClock   format.VClock      `json:"vclock"`
	Applied  map[string]Ranges  `json:"applied,omitempty"`
	Snapshot *SnapshotProgress  `json:"snapshot,omitempty"`
	Target   *TargetMark        `json:"target,omitempty"`
	Updated  string             `json:"updated,omitempty"`
	applied  map[uint32]*Ranges // Applied by replica id, while in use
}

// SnapshotProgress is how far the rows of a snapshot have been applied.
type SnapshotProgress struct {
	// VClock identifies the snapshot (its header's VClock).
	VClock format.VClock `json:"vclock"`
	// Rows: the first Rows rows of the file have been dealt with.
	Rows uint64 `json:"rows"`
	// Done: the whole snapshot has been applied.
	Done bool `json:"done,omitempty"`
	// Applied lists row numbers (counting from 1) above Rows that were
	// applied as well.
	Applied Ranges `json:"applied,omitempty"`
}

// Ranges is a sorted list of disjoint, non-adjacent closed ranges [a, b].
type Ranges [][2]uint64

// Contains reports whether x is in one of the ranges.
func (r Ranges) Contains(x uint64) bool {
	i := sort.Search(len(r), func(i int) bool { return r[i][1] >= x })
	return i < len(r) && r[i][0] <= x
}

// Add adds x, merging it with its neighbours.
func (r *Ranges) Add(x uint64) {
	s := *r
	if n := len(s); n > 0 && s[n-1][1] < x { // the common case: in order
		if s[n-1][1]+1 == x {
			s[n-1][1] = x
		} else {
			s = append(s, [2]uint64{x, x})
		}
		*r = s
		return
	}
	if s.Contains(x) {
		return
	}
	i := sort.Search(len(s), func(i int) bool { return s[i][0] > x })
	left := i > 0 && s[i-1][1]+1 == x
	right := i < len(s) && x+1 == s[i][0]
	switch {
	case left && right:
		s[i-1][1] = s[i][1]
		s = append(s[:i], s[i+1:]...)
	case left:
		s[i-1][1] = x
	case right:
		s[i][0] = x
	default:
		s = append(s, [2]uint64{})
		copy(s[i+1:], s[i:])
		s[i] = [2]uint64{x, x}
	}
	*r = s
}

// DropUpTo removes every value <= x.
func (r *Ranges) DropUpTo(x uint64) {
	s := *r
	i := 0
	for i < len(s) && s[i][1] <= x {
		i++
	}
	s = s[i:]
	if len(s) > 0 && s[0][0] <= x {
		s[0][0] = x + 1
	}
	if len(s) == 0 {
		s = nil
	}
	*r = s
}

func newState() *State {
	return &State{Version: StateVersion, applied: map[uint32]*Ranges{}}
}

// ReadState reads a state file. A file that does not exist gives an empty
// state: nothing played yet.
func ReadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return nil, err
	}
	st := newState()
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	if st.Version != StateVersion {
		return nil, fmt.Errorf("state file %s: version %d, want %d", path, st.Version, StateVersion)
	}
	for k, rs := range st.Applied {
		id, err := strconv.ParseUint(k, 10, 32)
		if err != nil || id >= format.VClockMax {
			return nil, fmt.Errorf("state file %s: bad replica id %q in applied", path, k)
		}
		rs := append(Ranges(nil), rs...)
		st.applied[uint32(id)] = &rs
	}
	return st, nil
}

// AppliedRow reports whether the row of replica id and LSN is listed as
// applied above the vclock.
func (st *State) AppliedRow(id uint32, lsn uint64) bool {
	r := st.applied[id]
	return r != nil && r.Contains(lsn)
}

func (st *State) addApplied(id uint32, lsn uint64) {
	r := st.applied[id]
	if r == nil {
		r = &Ranges{}
		st.applied[id] = r
	}
	r.Add(lsn)
}

// Covered reports whether the transaction of origin whose last row in that
// component has the given LSN is at or below the vclock.
func (st *State) Covered(origin uint32, lsn uint64) bool {
	return st.VClock.Has(origin) && lsn <= st.VClock.Get(origin)
}

// advance records a transaction applied with everything before it.
func (st *State) advance(origin uint32, lsn uint64) {
	st.VClock.Follow(origin, lsn)
	// Rows of replica R at or below VClock[R] belong to transactions at
	// or below it. Component 0 is different: local rows of a global
	// transaction may be older than a local transaction applied first.
	if r := st.applied[origin]; r != nil && origin != 0 {
		r.DropUpTo(st.VClock.Get(origin))
		if len(*r) == 0 {
			delete(st.applied, origin)
		}
	}
}

// snapshotRows records that the first n rows of the snapshot with vclock v
// are done.
func (st *State) snapshotRows(v format.VClock, n uint64) {
	s := st.Snapshot
	if s == nil || n <= s.Rows || !s.VClock.Equal(v) {
		return
	}
	s.Rows = n
	s.Applied.DropUpTo(n)
}

// finishSnapshot records a snapshot applied whole: the position is at
// least its vclock.
func (st *State) finishSnapshot(v format.VClock) {
	v.Each(func(id uint32, lsn uint64) { st.advance(id, lsn) })
	if st.Snapshot != nil && st.Snapshot.VClock.Equal(v) {
		st.Snapshot.Done, st.Snapshot.Applied = true, nil
	}
}

// clone returns a deep copy.
func (st *State) clone() *State {
	c := *st
	c.applied = make(map[uint32]*Ranges, len(st.applied))
	for id, r := range st.applied {
		rc := append(Ranges(nil), (*r)...)
		c.applied[id] = &rc
	}
	if st.Snapshot != nil {
		s := *st.Snapshot
		s.Applied = append(Ranges(nil), s.Applied...)
		c.Snapshot = &s
	}
	if st.Target != nil {
		m := *st.Target
		c.Target = &m
	}
	return &c
}

// export returns the state in the form written to the file.
func (st *State) export() *State {
	out := st.clone()
	out.Version = StateVersion
	out.Updated = time.Now().UTC().Format(time.RFC3339)
	out.Applied = nil
	for id, r := range st.applied {
		if len(*r) > 0 {
			if out.Applied == nil {
				out.Applied = map[string]Ranges{}
			}
			out.Applied[strconv.FormatUint(uint64(id), 10)] = append(Ranges(nil), (*r)...)
		}
	}
	return out
}

// WriteState writes st to path atomically: a temporary file in the same
// directory, synced, then renamed over path.
func WriteState(path string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write state file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
