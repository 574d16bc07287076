package format

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// ReplicaRange sums up the rows of one replica id in a file.
type ReplicaRange struct {
	ReplicaID uint32
	Rows      int64
	FirstLSN  uint64
	LastLSN   uint64
	// Unordered counts the rows of a WAL whose LSN was not above the
	// previous row's of the same replica id (Tarantool requires a strict
	// increase).
	Unordered int64
}

// Summary is what one pass over a file tells about it.
type Summary struct {
	Path string
	Size int64 // file size in bytes, -1 when unknown
	// Meta is the text header; nil when it could not be read.
	Meta *Meta
	// NameProblem tells how the file name disagrees with the header: another
	// extension than the file type's, or a signature that is not the sum of
	// the VClock. Empty when they agree or the name is not a log file name.
	NameProblem string
	Stats       Stats
	// Replicas lists the rows per replica id, in ascending id order.
	Replicas []ReplicaRange
	// FirstTimestamp and LastTimestamp are the smallest and largest row
	// timestamps (0 when no row has one).
	FirstTimestamp, LastTimestamp float64
	// EndVClock is the header's VClock followed by the LSN of every row: the
	// vclock after the file (for WAL files; snapshot rows carry ordinals).
	EndVClock VClock
	End       End
	// GoodEnd is the file offset after the last block read successfully.
	GoodEnd int64
	// Warnings are the unclean ends (torn tail, missing EOF marker, unknown
	// file type); Damage is the damage found: with Force every damaged range
	// skipped, else the damage that stopped reading.
	Warnings []*Error
	Damage   []*Error
	// Err is an error that kept the file from being read at all (it is also
	// in Damage when it is damage rather than an I/O error).
	Err error
}

// Damaged reports whether damage was found or the file could not be read.
func (s *Summary) Damaged() bool { return len(s.Damage) > 0 || s.Err != nil }

// Summarize reads the file at path once and sums it up. Problems in the
// file are recorded in the summary, never returned; opts.Force goes on
// after damage as the reader does.
func Summarize(path string, opts Options) *Summary { return SummarizeProgress(path, opts, nil) }

// SummarizeProgress is Summarize calling progress, when not nil, with the
// file offset reached every few thousand rows.
func SummarizeProgress(path string, opts Options, progress func(offset int64)) *Summary {
	s := &Summary{Path: path, Size: -1}
	if st, err := os.Stat(path); err == nil {
		s.Size = st.Size()
	}
	user := opts.OnIssue
	opts.OnIssue = func(e *Error) {
		switch {
		case e.IsWarning():
			s.Warnings = append(s.Warnings, e)
		case e.Kind != KindIO: // I/O errors end up in Err
			s.Damage = append(s.Damage, e)
		}
		if user != nil {
			user(e)
		}
	}
	if opts.Name == "" {
		opts.Name = path
	}
	r, err := Open(path, opts)
	if r == nil {
		s.Err = err
		if e, ok := AsError(err); ok && !e.IsWarning() && e.Kind != KindIO {
			s.Damage = append(s.Damage, e)
			s.End = EndCorrupt
		}
		return s
	}
	defer r.Close()
	s.Meta = r.Meta()
	s.NameProblem = nameProblem(path, s.Meta)
	if err != nil {
		// A damaged header with a readable file type: Next returns it.
		s.Err = err
		s.Damage = append(s.Damage, err.(*Error))
		s.End, s.GoodEnd = r.End(), r.GoodEnd()
		return s
	}
	s.EndVClock = s.Meta.VClock
	isWAL := s.Meta.FileType == TypeXLOG
	ranges := make([]ReplicaRange, 0, 2)
	last := -1 // index in ranges of the previous row's replica id
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if e, ok := AsError(err); !ok || e.Kind == KindIO {
				s.Err = err
			}
			break
		}
		if progress != nil && r.stats.Rows&0xfff == 0 {
			progress(r.Offset())
		}
		if ts := row.Timestamp; ts != 0 {
			if s.FirstTimestamp == 0 || ts < s.FirstTimestamp {
				s.FirstTimestamp = ts
			}
			if ts > s.LastTimestamp {
				s.LastTimestamp = ts
			}
		}
		if isWAL {
			s.EndVClock.Follow(row.ReplicaID, row.LSN)
		}
		if last < 0 || ranges[last].ReplicaID != row.ReplicaID {
			last = slices.IndexFunc(ranges, func(x ReplicaRange) bool { return x.ReplicaID == row.ReplicaID })
			if last < 0 {
				ranges = append(ranges, ReplicaRange{ReplicaID: row.ReplicaID, FirstLSN: row.LSN, LastLSN: row.LSN, Rows: 1})
				last = len(ranges) - 1
				continue
			}
		}
		rg := &ranges[last]
		if isWAL && row.LSN <= rg.LastLSN {
			rg.Unordered++
		}
		rg.Rows++
		rg.LastLSN = row.LSN
	}
	slices.SortFunc(ranges, func(a, b ReplicaRange) int { return int(a.ReplicaID) - int(b.ReplicaID) })
	s.Replicas = ranges
	s.Stats, s.End, s.GoodEnd = r.Stats(), r.End(), r.GoodEnd()
	return s
}

// nameProblem compares a file's name with its header.
func nameProblem(path string, m *Meta) string {
	base := filepath.Base(path)
	if ext := filepath.Ext(base); slices.Contains(LogExts, ext) && m.KnownFileType() && ext != m.Ext() {
		return fmt.Sprintf("name has extension %s but the header says %s", ext, m.FileType)
	}
	if err := CheckName(path, m); err != nil {
		return err.Error()
	}
	return ""
}
