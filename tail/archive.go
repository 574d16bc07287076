package tail

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xlogtool/xlogtool/format"
)

// ArchiveOptions configure an Archive.
type ArchiveOptions struct {
	// MaxSize and MaxRows start a new file, between transactions, once the
	// current one holds this many bytes of rows or this many rows (0: no
	// limit). The default MaxSize is Tarantool's wal_max_size, 256 MiB.
	MaxSize int64
	MaxRows int64
	// NoSync skips fsync (tests).
	NoSync bool
}

// DefaultArchiveMaxSize is Tarantool's default wal_max_size.
const DefaultArchiveMaxSize = 256 << 20

// Archive writes the transactions of one server's stream into xlog files
// as a replica writes its WAL: the server's instance UUID in the header, a
// VClock/PrevVClock chain, files named by the signature of their vclock,
// only whole transactions, each transaction's rows in one block written at
// once, a new file between transactions when the current one is full,
// fsync when a file is closed. A file being written is NAME.inprogress
// until it is closed; opening an archive that a killed run left behind
// turns that file's whole transactions into a closed file and resumes
// after them.
type Archive struct {
	dir  string
	opts ArchiveOptions

	instance string        // server instance UUID ("" for a new archive)
	version  string        // server version for the Version: line
	vclock   format.VClock // after the last transaction written
	hasPos   bool
	prev     format.VClock // VClock of the last file (its PrevVClock chain)
	hasPrev  bool

	w     *format.Writer
	rows  int64
	bytes int64

	snap     *format.Writer // the server's data being written (--snapshot)
	snapLSN  uint64
	snapTime float64
}

// OpenArchive opens (creating it if needed) the archive directory dir and
// finds where it ends.
func OpenArchive(dir string, opts ArchiveOptions) (*Archive, error) {
	if opts.MaxSize == 0 {
		opts.MaxSize = DefaultArchiveMaxSize
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	a := &Archive{dir: dir, opts: opts}
	if err := a.recoverInProgress(); err != nil {
		return nil, err
	}
	files, err := format.ScanDir(dir)
	if err != nil {
		return nil, err
	}
	var last, snap string
	for _, f := range files {
		switch f.Ext {
		case ".xlog":
			last = f.Path
		case ".snap":
			snap = f.Path
		}
	}
	if last == "" {
		if snap != "" {
			// Only the server's data so far: the stream starts at its
			// vclock.
			r, err := format.Open(snap, format.Options{})
			if err != nil {
				return nil, fmt.Errorf("archive %s: %w", dir, err)
			}
			m := r.Meta()
			r.Close()
			a.instance, a.version = m.Instance, m.Tarantool
			a.vclock, a.hasPos = m.VClock, true
		}
		return a, nil
	}
	if err := a.readEnd(last); err != nil {
		return nil, err
	}
	return a, nil
}

// Position returns the vclock after the last archived transaction and
// whether the archive holds any.
func (a *Archive) Position() (format.VClock, bool) { return a.vclock, a.hasPos }

// Instance returns the instance UUID of the server archived ("" for an
// empty archive).
func (a *Archive) Instance() string { return a.instance }

// Dir returns the archive directory.
func (a *Archive) Dir() string { return a.dir }

// readEnd reads the last closed file to find the archive's end.
func (a *Archive) readEnd(path string) error {
	r, err := format.Open(path, format.Options{})
	if err != nil {
		return fmt.Errorf("archive %s: %w", a.dir, err)
	}
	defer r.Close()
	m := r.Meta()
	a.instance, a.version = m.Instance, m.Tarantool
	vc := m.VClock
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("archive %s: %w (move the damaged file away, or repair it, to go on)", a.dir, err)
		}
		if row.ReplicaID != 0 {
			vc.Follow(row.ReplicaID, row.LSN)
		}
	}
	if r.End() != format.EndClean {
		return fmt.Errorf("archive %s: %s does not end with an EOF marker", a.dir, path)
	}
	a.vclock, a.hasPos = vc, true
	a.prev, a.hasPrev = m.VClock, true
	return nil
}

// recoverInProgress turns a file a killed run left as NAME.inprogress into
// NAME holding its whole transactions (or removes it when it has none).
func (a *Archive) recoverInProgress() error {
	// A salvage that was itself interrupted left NAME.inprogress.partial
	// (the original) and maybe a NAME.inprogress it was writing: start
	// over from the original.
	partials, err := filepath.Glob(filepath.Join(a.dir, "*.xlog.inprogress.partial"))
	if err != nil {
		return err
	}
	for _, p := range partials {
		path := strings.TrimSuffix(p, ".partial")
		os.Remove(path)
		if err := os.Rename(p, path); err != nil {
			return err
		}
	}
	// A snapshot not received in full is of no use.
	snaps, err := filepath.Glob(filepath.Join(a.dir, "*.snap.inprogress"))
	if err != nil {
		return err
	}
	for _, p := range snaps {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	matches, err := filepath.Glob(filepath.Join(a.dir, "*.xlog.inprogress"))
	if err != nil {
		return err
	}
	for _, path := range matches {
		if err := a.salvage(path); err != nil {
			return fmt.Errorf("archive %s: %s: %w", a.dir, filepath.Base(path), err)
		}
	}
	return nil
}

func (a *Archive) salvage(path string) error {
	partial := path + ".partial"
	if err := os.Rename(path, partial); err != nil {
		return err
	}
	r, err := format.Open(partial, format.Options{})
	if err != nil {
		// Killed before the header was written: the file holds no row.
		return os.Remove(partial)
	}
	defer r.Close()
	var w *format.Writer
	var tx []*format.Row
	for {
		row, err := r.Next()
		if err != nil {
			break // a torn or missing tail: keep what came before
		}
		tx = append(tx, row.Clone())
		if !row.Commit {
			continue
		}
		if w == nil {
			m := *r.Meta()
			m.Lines = nil
			if w, err = format.Create(a.dir, &m, format.WriterOptions{NoSync: a.opts.NoSync}); err != nil {
				return err
			}
		}
		w.Begin()
		for _, r := range tx {
			if err := w.WriteRow(r); err != nil {
				w.Abort()
				return err
			}
		}
		if err := w.Commit(); err != nil {
			w.Abort()
			return err
		}
		tx = tx[:0]
	}
	if w != nil {
		if err := w.Close(); err != nil {
			return err
		}
	}
	return os.Remove(partial)
}

// Check refuses to append a server's stream to an archive of another
// server.
func (a *Archive) Check(info Info) error {
	if a.instance != "" && info.InstanceUUID != "" && !strings.EqualFold(a.instance, info.InstanceUUID) {
		return fmt.Errorf("archive %s holds the WAL of instance %s, not of %s", a.dir, a.instance, info.InstanceUUID)
	}
	return nil
}

// Write appends one transaction of a server described by info. Snapshot
// batches are not archived.
func (a *Archive) Write(tx *Tx, info Info) error {
	switch tx.Kind {
	case KindSnapshot:
		return a.snapRows(tx)
	case KindSnapshotEnd:
		return a.snapEnd(tx)
	}
	if len(tx.Rows) == 0 {
		return nil
	}
	if err := a.Check(info); err != nil {
		return err
	}
	if !a.hasPos {
		a.vclock, a.hasPos = info.Start, true
	}
	if a.w == nil {
		if err := a.open(info); err != nil {
			return err
		}
	}
	a.w.Begin()
	for _, r := range tx.Rows {
		if err := a.w.WriteRow(r); err != nil {
			return a.fail(err)
		}
		a.rows++
		a.bytes += int64(len(r.RawHeader) + len(r.Body))
	}
	if err := a.w.Commit(); err != nil {
		return a.fail(err)
	}
	if err := a.w.FlushFile(); err != nil {
		return a.fail(err)
	}
	a.vclock, a.hasPos = tx.VClock, true
	if (a.opts.MaxRows > 0 && a.rows >= a.opts.MaxRows) || (a.opts.MaxSize > 0 && a.bytes >= a.opts.MaxSize) {
		return a.rotate()
	}
	return nil
}

func (a *Archive) fail(err error) error {
	return fmt.Errorf("archive %s: %s: %w", a.dir, filepath.Base(a.w.Path()), err)
}

// open starts a file at the current position.
func (a *Archive) open(info Info) error {
	if a.instance == "" {
		a.instance = info.InstanceUUID
	}
	if info.Version.Known() {
		a.version = info.Version.String()
	}
	m := &format.Meta{
		FileType: format.TypeXLOG, Version: format.Version13,
		Tarantool: a.version, Instance: a.instance,
		VClock: a.vclock, HasVClock: true,
		PrevVClock: a.prev, HasPrevVClock: a.hasPrev,
	}
	w, err := format.Create(a.dir, m, format.WriterOptions{NoSync: a.opts.NoSync})
	if err != nil {
		return fmt.Errorf("archive %s: %w", a.dir, err)
	}
	a.w, a.rows, a.bytes = w, 0, 0
	a.prev, a.hasPrev = a.vclock, true
	return nil
}

// rotate closes the current file (fsync, rename); the next transaction
// starts a new one.
func (a *Archive) rotate() error {
	if a.w == nil {
		return nil
	}
	w := a.w
	a.w = nil
	if err := w.Close(); err != nil {
		return fmt.Errorf("archive %s: %s: %w", a.dir, filepath.Base(w.Path()), err)
	}
	return nil
}

// Close closes the current file; a snapshot not received in full is
// discarded.
func (a *Archive) Close() error {
	if a.snap != nil {
		a.snap.Abort()
		a.snap = nil
	}
	return a.rotate()
}

// snapRows writes rows of the server's data (FETCH_SNAPSHOT) into a .snap
// file named by the data's vclock, as Tarantool writes its snapshots:
// INSERT rows numbered from 0 in the LSN field, all with the time of the
// snapshot.
func (a *Archive) snapRows(tx *Tx) error {
	if a.snap == nil {
		if a.hasPos {
			return fmt.Errorf("archive %s is not empty: the server's data goes only into a new archive", a.dir)
		}
		if tx.Info != nil {
			if err := a.Check(*tx.Info); err != nil {
				return err
			}
			a.instance = tx.Info.InstanceUUID
			if tx.Info.Version.Known() {
				a.version = tx.Info.Version.String()
			}
		}
		m := &format.Meta{FileType: format.TypeSNAP, Version: format.Version13, Tarantool: a.version,
			Instance: a.instance, VClock: tx.VClock, HasVClock: true}
		w, err := format.Create(a.dir, m, format.WriterOptions{NoSync: a.opts.NoSync})
		if err != nil {
			return fmt.Errorf("archive %s: %w", a.dir, err)
		}
		a.snap, a.snapLSN, a.snapTime = w, 0, float64(time.Now().UnixNano())/1e9
	}
	for _, r := range tx.Rows {
		h := format.Header{Type: r.Type, LSN: a.snapLSN, TSN: a.snapLSN, Commit: true, Timestamp: a.snapTime}
		if err := a.snap.Write(&h, r.Body); err != nil {
			return fmt.Errorf("archive %s: %s: %w", a.dir, filepath.Base(a.snap.Path()), err)
		}
		a.snapLSN++
	}
	return nil
}

// snapEnd closes the snapshot (fsync, rename): the archive starts at its
// vclock.
func (a *Archive) snapEnd(tx *Tx) error {
	if a.snap == nil {
		return nil
	}
	w := a.snap
	a.snap = nil
	if err := w.Close(); err != nil {
		return fmt.Errorf("archive %s: %s: %w", a.dir, filepath.Base(w.Path()), err)
	}
	a.vclock, a.hasPos = tx.VClock, true
	return nil
}
