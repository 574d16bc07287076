package replay

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/xlogtool/xlogtool/format"
)

// ErrNoSnapshot is returned by Recover when no snapshot is at or before
// the target.
var ErrNoSnapshot = errors.New("no snapshot to start from")

// logFile is a snapshot or xlog found among the inputs, with its text
// header.
type logFile struct {
	path string
	sig  uint64
	size int64
	meta *format.Meta
}

// readMeta reads only the text header of a log file.
func readMeta(path string) (*format.Meta, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	buf := make([]byte, format.MetaMaxLen+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, 0, err
	}
	m, err := format.ParseMeta(buf[:n])
	if err != nil {
		return nil, 0, fmt.Errorf("%s: bad text header: %w", path, err)
	}
	return m, st.Size(), nil
}

// collectLogs expands the inputs (directories and files) into the
// snapshots and xlogs they hold, each list ordered by vclock signature.
// A file named twice (or reached through two arguments) is listed once.
func collectLogs(paths []string) (snaps, xlogs []*logFile, err error) {
	refs, err := format.Collect(paths, false)
	if err != nil {
		return nil, nil, err
	}
	seen := make(map[string]bool)
	for _, ref := range refs {
		abs, err := filepath.Abs(ref.Path)
		if err != nil {
			return nil, nil, err
		}
		if seen[abs] {
			continue
		}
		seen[abs] = true
		if ref.Ext != ".snap" && ref.Ext != ".xlog" {
			continue
		}
		m, size, err := readMeta(ref.Path)
		if err != nil {
			return nil, nil, err
		}
		lf := &logFile{path: ref.Path, sig: ref.Signature, size: size, meta: m}
		if m.HasVClock {
			lf.sig = m.VClock.Signature()
		}
		switch m.FileType {
		case format.TypeSNAP:
			snaps = append(snaps, lf)
		case format.TypeXLOG:
			xlogs = append(xlogs, lf)
		}
	}
	bySig := func(list []*logFile) {
		sort.SliceStable(list, func(i, j int) bool { return list[i].sig < list[j].sig })
	}
	bySig(snaps)
	bySig(xlogs)
	return snaps, xlogs, nil
}

// dedupXlogs drops xlogs starting at the same vclock as another one (the
// same file found in two directories, or a copy), keeping the largest.
func dedupXlogs(xlogs []*logFile) (kept []*logFile, dropped []*logFile) {
	for _, x := range xlogs {
		if n := len(kept); n > 0 && kept[n-1].meta.VClock.Equal(x.meta.VClock) {
			if x.size > kept[n-1].size {
				dropped = append(dropped, kept[n-1])
				kept[n-1] = x
			} else {
				dropped = append(dropped, x)
			}
			continue
		}
		kept = append(kept, x)
	}
	return kept, dropped
}

// vclockWithin reports whether every component of v is at or below the
// target vclock t; component 0 counts only when t names it.
func vclockWithin(v, t format.VClock) bool {
	ok := true
	v.Each(func(id uint32, lsn uint64) {
		if id == 0 && !t.Has(0) {
			return
		}
		if lsn > t.Get(id) {
			ok = false
		}
	})
	return ok
}

// snapshotQualifies reports whether a snapshot holds no row beyond the
// target. For a timestamp target, snapTime gives the time of the
// snapshot's state.
func (t *Target) snapshotQualifies(v format.VClock, snapTime func() float64) bool {
	if t.HasLSN && v.Get(t.Replica) > t.LSN {
		return false
	}
	if t.HasVClock && !vclockWithin(v, t.VClock) {
		return false
	}
	if t.HasTimestamp && snapTime() > t.Timestamp {
		return false
	}
	return true
}

// snapshotTime estimates the time of the state a snapshot holds: the
// timestamp of the last xlog row it contains when the xlogs still have
// it, else the timestamp of its own rows (the time the writing process
// wrote its first snapshot, which can be earlier).
func snapshotTime(snap *logFile, xlogs []*logFile) float64 {
	v := snap.meta.VClock
	// The xlog holding the last rows before the snapshot: the newest one
	// starting strictly before it.
	var prev *logFile
	for _, x := range xlogs {
		if x.meta.VClock.LessEq(v) && !x.meta.VClock.Equal(v) {
			prev = x
		}
	}
	if prev != nil {
		if ts, ok := lastCoveredTimestamp(prev.path, v); ok {
			return ts
		}
	}
	return firstRowTimestamp(snap.path)
}

// lastCoveredTimestamp returns the timestamp of the last row of an xlog
// at or below the vclock v.
func lastCoveredTimestamp(path string, v format.VClock) (float64, bool) {
	r, err := format.Open(path, format.Options{})
	if err != nil {
		return 0, false
	}
	defer r.Close()
	var ts float64
	found := false
	for {
		row, err := r.Next()
		if err != nil {
			break
		}
		if row.LSN <= v.Get(row.ReplicaID) {
			ts, found = row.Timestamp, true
		}
	}
	return ts, found
}

func firstRowTimestamp(path string) float64 {
	r, err := format.Open(path, format.Options{})
	if err != nil {
		return 0
	}
	defer r.Close()
	row, err := r.Next()
	if err != nil {
		return 0
	}
	return row.Timestamp
}

// chooseSnapshot picks the newest snapshot at or before the target.
func chooseSnapshot(snaps, xlogs []*logFile, t *Target) (*logFile, error) {
	for i := len(snaps) - 1; i >= 0; i-- {
		s := snaps[i]
		if !s.meta.HasVClock {
			continue
		}
		if t.snapshotQualifies(s.meta.VClock, func() float64 { return snapshotTime(s, xlogs) }) {
			return s, nil
		}
	}
	if len(snaps) == 0 {
		return nil, fmt.Errorf("%w: no .snap file among the inputs", ErrNoSnapshot)
	}
	return nil, fmt.Errorf("%w: all %d snapshots are beyond the target %s (use --from-snap)", ErrNoSnapshot, len(snaps), t)
}

// firstXlog returns the index of the xlog recovery starts from: the one
// with the greatest vclock at or below the snapshot's, as Tarantool does
// (0 when every xlog starts after it).
func firstXlog(xlogs []*logFile, snap format.VClock) int {
	start := 0
	for i, x := range xlogs {
		if x.meta.VClock.LessEq(snap) {
			start = i
		}
	}
	return start
}
