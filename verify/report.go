package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the human report: a summary of the instances first,
// then the findings grouped by severity with their evidence rows, and the
// counts last.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	var files int
	var rows, bytes int64
	for _, in := range r.Instances {
		files += in.Files
		rows += in.Rows
		bytes += in.Bytes
	}
	ew.printf("xlogtool verify: %d instance(s), %d files (%s), %d rows\n\n", len(r.Instances), files, sizeText(bytes), rows)

	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tREPLICA\tUUID\tFILES\tROWS\tFIRST VCLOCK\tLAST VCLOCK\tVERSIONS")
	for _, in := range r.Instances {
		id := "?"
		if in.ReplicaID != 0 {
			id = fmt.Sprint(in.ReplicaID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", in.Name, id, orDash(in.UUID), in.Files, in.Rows,
			in.FirstVClock, in.VClock, orDash(strings.Join(in.Versions, ", ")))
	}
	tw.Flush()
	ew.printf("\n")
	if len(r.Instances) > 1 {
		r.writeReplicasets(ew)
	}

	tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSYNC CONFIRMED\tROLLED BACK\tPENDING\tQUEUED ASYNC (ok/rolled back/pending)\tASYNC\tQUEUE OWNER\tQUEUE TERM\tRAFT TERM\tVOTE")
	for _, in := range r.Instances {
		s := in.Sync
		owner, term := fmt.Sprint(in.Queue.Owner), fmt.Sprint(in.Queue.Term)
		if !in.Queue.OwnerKnown {
			owner = "?"
		}
		if !in.Queue.TermKnown {
			term = "?"
		}
		raft, vote := "-", "-"
		if in.Raft.Known {
			raft, vote = fmt.Sprint(in.Raft.Term), fmt.Sprint(in.Raft.Vote)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d/%d/%d\t%d\t%s\t%s\t%s\t%s\n", in.Name, s.Confirmed, s.RolledBack, s.Pending,
			s.QueuedConfirmed, s.QueuedRolledBack, s.QueuedPending, s.Async, owner, term, raft, vote)
	}
	tw.Flush()

	for _, sev := range []Severity{Error, Warning} {
		var list []*Finding
		for _, f := range r.Findings {
			if f.Severity == sev {
				list = append(list, f)
			}
		}
		if len(list) == 0 {
			continue
		}
		title := "ERRORS"
		if sev == Warning {
			title = "WARNINGS"
		}
		ew.printf("\n%s (%d)\n", title, len(list))
		for _, f := range list {
			writeFinding(ew, f)
		}
	}
	ew.printf("\n%s\n", r.countsText())
	return ew.err
}

// writeReplicasets prints, per replica set, its UUID and instances (and
// how instances without a replica set UUID were placed) and its vclock
// table.
func (r *Report) writeReplicasets(ew *errWriter) {
	sets := r.Replicasets
	if len(sets) == 0 {
		// A report made without groups: one replica set of everything.
		sets = []Replicaset{{}}
		for _, in := range r.Instances {
			sets[0].Instances = append(sets[0].Instances, in.Name)
		}
	}
	for i, rs := range sets {
		u := rs.UUID
		if u == "" {
			u = "of unknown UUID"
		}
		ew.printf("REPLICA SET %s: %s\n", u, strings.Join(rs.Instances, ", "))
		if rs.Assumed != "" {
			ew.printf("  assumed: %s\n", rs.Assumed)
		}
		var table []ComponentRow
		for _, c := range r.Table {
			if c.Replicaset == i {
				table = append(table, c)
			}
		}
		writeTable(ew, rs.Instances, table)
		ew.printf("\n")
	}
}

// writeTable prints a vclock table: every instance against every replica
// component, with how far it is behind the furthest one.
func writeTable(ew *errWriter, insts []string, table []ComponentRow) {
	if len(table) == 0 {
		return
	}
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "VCLOCK")
	for _, c := range table {
		fmt.Fprintf(tw, "\treplica %d", c.ReplicaID)
		if c.Origin != "" {
			fmt.Fprintf(tw, " (%s)", c.Origin)
		}
	}
	fmt.Fprintln(tw)
	for _, name := range insts {
		fmt.Fprint(tw, name)
		for _, c := range table {
			v := c.LSN[name]
			if d, ok := c.Behind[name]; ok {
				fmt.Fprintf(tw, "\t%d (-%d)", v, d)
			} else {
				fmt.Fprintf(tw, "\t%d", v)
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, c := range table {
		if len(c.Behind) == 0 {
			continue
		}
		var behind []string
		for n, d := range c.Behind {
			behind = append(behind, fmt.Sprintf("%s by %d", n, d))
		}
		sort.Strings(behind)
		ew.printf("replica %d: ahead %s (lsn %d); behind: %s\n", c.ReplicaID, strings.Join(c.Ahead, ", "), c.Max, strings.Join(behind, ", "))
	}
}

// WriteVClocks writes only the vclock table (xlogtool diff).
func (r *Report) WriteVClocks(w io.Writer) error {
	ew := &errWriter{w: w}
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tREPLICA\tUUID\tREPLICA SET\tVCLOCK")
	for _, in := range r.Instances {
		id := "?"
		if in.ReplicaID != 0 {
			id = fmt.Sprint(in.ReplicaID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", in.Name, id, orDash(in.UUID), orDash(in.ReplicasetUUID), in.VClock)
	}
	tw.Flush()
	ew.printf("\n")
	r.writeReplicasets(ew)
	if len(r.Table) > 0 && r.equalVClocks() {
		if len(r.Replicasets) > 1 {
			ew.printf("the instances of each replica set have the same vclock\n")
		} else {
			ew.printf("all instances have the same vclock\n")
		}
	}
	return ew.err
}

// WriteVClocksJSON writes the vclocks and the vclock table as JSON.
func (r *Report) WriteVClocksJSON(w io.Writer) error {
	type inst struct {
		Name   string `json:"name"`
		Dir    string `json:"dir"`
		UUID   string `json:"instance_uuid"`
		ID     uint32 `json:"replica_id"`
		RSUUID string `json:"replicaset_uuid"`
		VClock any    `json:"vclock"`
	}
	out := struct {
		Instances   []inst         `json:"instances"`
		Replicasets []Replicaset   `json:"replicasets"`
		VClocks     any            `json:"vclocks"`
		Table       []ComponentRow `json:"vclock_table"`
		Same        bool           `json:"same"`
	}{Replicasets: r.Replicasets, VClocks: r.VClocks, Table: r.Table, Same: r.SameVClocks()}
	for _, in := range r.Instances {
		out.Instances = append(out.Instances, inst{in.Name, in.Dir, in.UUID, in.ReplicaID, in.ReplicasetUUID, in.VClock})
	}
	if out.Table == nil {
		out.Table = []ComponentRow{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// SameVClocks reports whether every instance ends at the same vclock as
// the others of its replica set (the local component 0 left out).
func (r *Report) SameVClocks() bool { return r.equalVClocks() }

func (r *Report) equalVClocks() bool {
	for _, c := range r.Table {
		if len(c.Behind) > 0 {
			return false
		}
	}
	return true
}

func writeFinding(ew *errWriter, f *Finding) {
	who := f.Instance
	if len(f.Instances) > 0 {
		who = strings.Join(f.Instances, ", ")
	}
	where := ""
	if f.File != "" {
		where = filepath.Base(f.File)
		if f.Offset >= 0 {
			where += fmt.Sprintf(" @%d", f.Offset)
		}
	}
	lsn := ""
	if f.ReplicaID >= 0 && (f.LSNFrom != 0 || f.LSNTo != 0) {
		if f.LSNFrom == f.LSNTo {
			lsn = fmt.Sprintf("%d:%d", f.ReplicaID, f.LSNFrom)
		} else {
			lsn = fmt.Sprintf("%d:%d-%d", f.ReplicaID, f.LSNFrom, f.LSNTo)
		}
	}
	head := []string{"[" + string(f.Kind) + "]", who}
	for _, s := range []string{where, lsn} {
		if s != "" {
			head = append(head, s)
		}
	}
	if f.Term != 0 {
		head = append(head, fmt.Sprintf("term %d", f.Term))
	}
	ew.printf("  %s\n", strings.Join(head, "  "))
	ew.printf("      %s\n", f.Message)
	for _, s := range f.Sides {
		rng := fmt.Sprintf("%d:%d-%d", s.ReplicaID, s.LSNFrom, s.LSNTo)
		if s.LSNFrom == 0 && s.LSNTo == 0 {
			rng = fmt.Sprintf("replica %d", s.ReplicaID)
		}
		ew.printf("      side %s: %s on %s\n", rng, s.What, orDash(strings.Join(s.Instances, ", ")))
	}
	for _, e := range f.Evidence {
		note := ""
		if e.Note != "" {
			note = " (" + e.Note + ")"
		}
		ew.printf("      %s%s: %s\n", e.Instance, note, e.Row)
	}
}

func (r *Report) countsText() string {
	var kinds []string
	for k, n := range r.Counts.ByKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	s := fmt.Sprintf("%d error(s), %d warning(s)", r.Counts.Errors, r.Counts.Warnings)
	if len(kinds) > 0 {
		s += ": " + strings.Join(kinds, ", ")
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) {
	fmt.Fprintf(e, format, a...)
}
