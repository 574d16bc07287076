package repair

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xlogtool/xlogtool/format"
)

// Report tells what a repair did and what could not be saved.
type Report struct {
	Input  Dirs `json:"input"`
	Output Dirs `json:"output"`
	// Consistent is true when the output directory was written and checked:
	// Tarantool recovers from it without force_recovery.
	Consistent bool `json:"consistent"`
	// Error says why nothing could be repaired (Consistent is false).
	Error string `json:"error,omitempty"`
	// Snapshot is the snapshot recovery starts from (output name).
	Snapshot string `json:"snapshot,omitempty"`
	Instance string `json:"instance,omitempty"`
	// VClock is the vclock recovery of the output reaches.
	VClock format.VClock `json:"vclock"`
	// Lost lists every LSN range that existed in the input and is in
	// neither the output logs nor the snapshot recovery starts from.
	Lost []Lost `json:"lost"`
	// Covered lists LSN ranges missing from the output logs whose effect is
	// in that snapshot: no data is lost, only log history (which replicas
	// far behind could have needed).
	Covered []Lost `json:"covered"`
	// Repaired lists what was changed, per input file.
	Repaired []Action `json:"repaired"`
	// Files maps input files to output files.
	Files    []FileResult `json:"files"`
	Warnings []string     `json:"warnings"`
}

// Dirs names a WAL directory and a snapshot directory.
type Dirs struct {
	WAL  string `json:"wal_dir"`
	Snap string `json:"snap_dir"`
}

// Lost is a range of LSNs of one replica id.
type Lost struct {
	ReplicaID uint32 `json:"replica_id"`
	LSNFrom   uint64 `json:"lsn_from"`
	LSNTo     uint64 `json:"lsn_to"`
	// File is the input file the rows were in (for a missing file, the
	// name it had).
	File   string `json:"file"`
	Reason string `json:"reason"`
	// OpenEnded: the range is where the log ends in damage; rows after
	// LSNTo may have existed too, nothing tells how many.
	OpenEnded bool `json:"open_ended,omitempty"`
	// SavedTo names the side file holding the rows (they decoded), relative
	// to the output WAL directory.
	SavedTo string `json:"saved_to,omitempty"`
	// Snapshot, for covered ranges: the snapshot that holds their effect.
	Snapshot string `json:"snapshot,omitempty"`
}

// Count returns the number of LSNs in the range.
func (l Lost) Count() uint64 { return l.LSNTo - l.LSNFrom + 1 }

// Action is one change made to a file.
type Action struct {
	File   string `json:"file"`
	Action string `json:"action"`
	Offset *int64 `json:"offset,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	Output string `json:"output,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// FileResult tells what became of one file.
type FileResult struct {
	Input  string `json:"input,omitempty"`
	Output string `json:"output,omitempty"`
	// Status: copied (byte for byte), rewritten, dropped, created, ignored.
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// LostCount returns the number of LSNs lost.
func (r *Report) LostCount() uint64 {
	var n uint64
	for _, l := range r.Lost {
		n += l.Count()
	}
	return n
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	out := *r
	for _, p := range []*[]Lost{&out.Lost, &out.Covered} {
		if *p == nil {
			*p = []Lost{}
		}
	}
	if out.Repaired == nil {
		out.Repaired = []Action{}
	}
	if out.Files == nil {
		out.Files = []FileResult{}
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&out)
}

// WriteText writes a summary for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "input:  %s\n", dirsText(r.Input))
	fmt.Fprintf(&b, "output: %s\n", dirsText(r.Output))
	if !r.Consistent {
		fmt.Fprintf(&b, "result: NOT repaired: %s\n", r.Error)
	} else {
		fmt.Fprintf(&b, "result: consistent; recovery starts from %s and reaches vclock %s\n", r.Snapshot, r.VClock)
	}
	if r.Consistent || len(r.Lost) > 0 {
		if len(r.Lost) == 0 {
			b.WriteString("lost:   nothing\n")
		} else {
			fmt.Fprintf(&b, "lost:   %d LSNs in %d ranges\n", r.LostCount(), len(r.Lost))
			for _, l := range r.Lost {
				b.WriteString("  " + lostText(l) + "\n")
			}
		}
	}
	if len(r.Covered) > 0 {
		b.WriteString("log history lost, data kept in the snapshot:\n")
		for _, l := range r.Covered {
			b.WriteString("  " + lostText(l) + "\n")
		}
	}
	if len(r.Repaired) > 0 {
		b.WriteString("repairs:\n")
		for _, a := range r.Repaired {
			fmt.Fprintf(&b, "  %s: %s", a.File, a.Action)
			if a.Offset != nil {
				fmt.Fprintf(&b, " at offset %d", *a.Offset)
			}
			if a.Bytes > 0 {
				fmt.Fprintf(&b, " (%d bytes)", a.Bytes)
			}
			if a.Output != "" {
				fmt.Fprintf(&b, " -> %s", a.Output)
			}
			if a.Detail != "" {
				fmt.Fprintf(&b, ": %s", a.Detail)
			}
			b.WriteByte('\n')
		}
	}
	copied := 0
	for _, f := range r.Files {
		if f.Status == "copied" {
			copied++
		}
	}
	if len(r.Files) > copied {
		b.WriteString("files:\n")
		for _, f := range r.Files {
			if f.Status == "copied" {
				continue
			}
			in, out := f.Input, f.Output
			if in == "" {
				in = "-"
			}
			if out == "" {
				out = "-"
			}
			fmt.Fprintf(&b, "  %-28s %-28s %s", in, out, f.Status)
			if f.Detail != "" {
				fmt.Fprintf(&b, " (%s)", f.Detail)
			}
			b.WriteByte('\n')
		}
	}
	if copied > 0 {
		fmt.Fprintf(&b, "%d files copied unchanged\n", copied)
	}
	for _, s := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", s)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func dirsText(d Dirs) string {
	if d.Snap == "" || d.Snap == d.WAL {
		return d.WAL
	}
	return d.WAL + " (snapshots: " + d.Snap + ")"
}

func lostText(l Lost) string {
	var b strings.Builder
	fmt.Fprintf(&b, "replica %d LSN %d", l.ReplicaID, l.LSNFrom)
	if l.LSNTo != l.LSNFrom {
		fmt.Fprintf(&b, "..%d", l.LSNTo)
	}
	if l.OpenEnded {
		b.WriteString(" and possibly more")
	}
	fmt.Fprintf(&b, " (%d) in %s: %s", l.Count(), l.File, l.Reason)
	if l.SavedTo != "" {
		fmt.Fprintf(&b, "; rows saved to %s", l.SavedTo)
	}
	if l.Snapshot != "" {
		fmt.Fprintf(&b, "; in %s", l.Snapshot)
	}
	return b.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
