package replay

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/xlogtool/xlogtool/format"
)

// ErrNoSnapshot is returned by Recover when no snapshot is at or before
// the target.
var ErrNoSnapshot = errors.New("no snapshot to start from")

// ErrTargetBeforeSnap is returned by Recover when the snapshot named by
// FromSnap holds rows beyond the target.
var ErrTargetBeforeSnap = errors.New("the snapshot is past the target")

// logFile is a snapshot or xlog found among the inputs, with its text
// header.
type logFile struct {
	path string // where it is read (a temporary copy of a pipe)
	name string // as the user named it
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
		return nil, 0, &format.Error{File: path, Kind: format.KindBadMeta, Msg: "bad text header: " + err.Error(), Err: err}
	}
	return m, st.Size(), nil
}

// collectLogs expands the inputs (directories and files) into the
// snapshots and xlogs they hold, each list ordered by vclock signature.
// A file named twice (or reached through two arguments) is listed once.
// A file named explicitly counts by its header, whatever its name; one
// that is not a regular file (a pipe: <(zcat x.xlog.gz)) can be read only
// once, so it is copied into a temporary file first, which spool lists
// for removal. Directory entries that are not regular files are left out
// with a warning.
//
// A file whose text header does not parse is damage: it is reported to
// damaged and left out, as it cannot be placed among the others.
func collectLogs(paths []string, warn, damaged func(Finding)) (snaps, xlogs []*logFile, spool []string, err error) {
	refs, err := format.CollectFiles(paths, format.CollectOptions{OnSkip: func(path, why string) {
		warn(Finding{Kind: FindingFile, File: path, Message: "left out: " + why})
	}})
	if err != nil {
		return nil, nil, nil, err
	}
	for _, ref := range refs {
		if ref.Ext == ".vylog" {
			continue
		}
		path := ref.Path
		if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
			tmp, err := spoolFile(path)
			if err != nil {
				return nil, nil, spool, err
			}
			spool = append(spool, tmp)
			path = tmp
		}
		m, size, err := readMeta(path)
		if fe, ok := format.AsError(err); ok {
			damaged(Finding{Kind: FindingDamage, File: ref.Path, Offset: fe.Offset, Message: fe.Msg + "; the file is left out"})
			continue
		}
		if err != nil {
			return nil, nil, spool, fmt.Errorf("%s: %w", ref.Path, err)
		}
		lf := &logFile{path: path, name: ref.Path, sig: ref.Signature, size: size, meta: m}
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
	return snaps, xlogs, spool, nil
}

// spoolFile copies a file that can be read only once into a temporary
// file and returns its path.
func spoolFile(path string) (string, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp("", "xlogtool-replay-*")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(out.Name())
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// snapshotComplete reports whether a snapshot ends with the EOF marker:
// Tarantool refuses to start from one without it (it was torn while being
// written), force_recovery or not.
func snapshotComplete(path string) bool {
	eof, ok, err := format.EndsWithEOF(path)
	return eof || !ok || err != nil // a read reports the errors
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

// chooseSnapshot picks the newest complete snapshot at or before the
// target. Snapshots without their EOF marker are passed over with a
// warning.
func chooseSnapshot(snaps, xlogs []*logFile, t *Target, warn func(Finding)) (*logFile, error) {
	torn := 0
	for i := len(snaps) - 1; i >= 0; i-- {
		s := snaps[i]
		if !s.meta.HasVClock {
			continue
		}
		if !snapshotComplete(s.path) {
			torn++
			warn(Finding{Kind: FindingSnapshot, File: s.name, Message: "left out: no EOF marker, the snapshot is not complete " +
				"(Tarantool refuses it); an older snapshot and the xlogs after it are used instead"})
			continue
		}
		if t.snapshotQualifies(s.meta.VClock, func() float64 { return snapshotTime(s, xlogs) }) {
			return s, nil
		}
	}
	if len(snaps) == 0 {
		return nil, fmt.Errorf("%w: no .snap file among the inputs", ErrNoSnapshot)
	}
	if torn == len(snaps) {
		return nil, fmt.Errorf("%w: no complete snapshot among the inputs (%d without their EOF marker)", ErrNoSnapshot, torn)
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
