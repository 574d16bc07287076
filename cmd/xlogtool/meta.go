package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/progress"
)

func init() { extraCommands = append(extraCommands, newMetaCmd) }

func newMetaCmd() *cobra.Command {
	var asJSON, recursive, force bool
	cmd := &cobra.Command{
		Use:   "meta FILE|DIR...",
		Short: "Show the header and a one-pass summary of .xlog/.snap/.vylog files",
		Long: `Show, for every file, its text header (file type, format version, writer
version, instance UUID, VClock, PrevVClock) and what one pass over its blocks
found: blocks (plain and zstd), rows, the first and last LSN of every replica
id, the vclock after the file, how the file ends (clean: EOF marker present;
no-eof or torn: not closed cleanly; corrupt: reading stopped at damage) and
the damage found. A file name that does not match the header (extension or
VClock signature) is reported too.

Without --force a file is read up to its first damage, as Tarantool's recovery
does; with --force every damaged range is skipped and listed.

Exit status: 0 when every file is sound, 1 when damage or a name mismatch was
found, 2 on usage or I/O errors.`,
		Example: `  xlogtool meta 00000000000000000000.xlog
  xlogtool meta --json wal_dir/ | jq '.[] | {file, rows, end}'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := collect(args, recursive)
			if err != nil {
				return usageError("%v", err)
			}
			if err := requireFiles(args, files); err != nil {
				return err
			}
			bar := progress.New(os.Stderr, progress.IsTerminal(os.Stderr), "meta", totalSize(files))
			var done int64
			sums := make([]*format.Summary, 0, len(files))
			for _, f := range files {
				s := format.SummarizeProgress(f.Path, format.Options{Force: force}, func(off int64) {
					bar.Set(done + off)
				})
				if s.Size > 0 {
					done += s.Size
				}
				sums = append(sums, s)
			}
			bar.Done()
			out := bufio.NewWriter(os.Stdout)
			if asJSON {
				err = writeMetaJSON(out, sums)
			} else {
				err = writeMetaTables(out, sums)
			}
			if err == nil {
				err = out.Flush()
			}
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			return metaStatus(sums)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "read directories recursively")
	cmd.Flags().BoolVar(&force, "force", false, "skip damaged blocks and go on, listing every damaged range")
	return cmd
}

// metaStatus turns the summaries into the exit status: I/O errors 2,
// damage or a name mismatch 1.
func metaStatus(sums []*format.Summary) error {
	status := exitOK
	for _, s := range sums {
		if s.Err != nil {
			if e, ok := format.AsError(s.Err); !ok || e.Kind == format.KindIO {
				fmt.Fprintf(os.Stderr, "error: %v\n", s.Err)
				status = exitUsage
				continue
			}
		}
		if (s.Damaged() || s.NameProblem != "") && status == exitOK {
			status = exitDamage
		}
	}
	switch status {
	case exitUsage:
		return &exitError{code: exitUsage, err: fmt.Errorf("some files could not be read")}
	case exitDamage:
		return errDamage
	}
	return nil
}

// metaJSON is the JSON form of a summary.
type metaJSON struct {
	File         string          `json:"file"`
	Size         int64           `json:"size"`
	Type         string          `json:"type,omitempty"`
	Version      string          `json:"version,omitempty"`
	Writer       string          `json:"writer,omitempty"`
	Instance     string          `json:"instance,omitempty"`
	VClock       *format.VClock  `json:"vclock"`
	PrevVClock   *format.VClock  `json:"prev_vclock"`
	EndVClock    *format.VClock  `json:"end_vclock,omitempty"`
	HeaderSize   int64           `json:"header_size"`
	Blocks       int             `json:"blocks"`
	PlainBlocks  int             `json:"plain_blocks"`
	ZstdBlocks   int             `json:"zstd_blocks"`
	BlockBytes   int64           `json:"block_bytes"`
	RawBytes     int64           `json:"raw_bytes"`
	Rows         int64           `json:"rows"`
	Replicas     []replicaJSON   `json:"replicas"`
	FirstTime    *float64        `json:"first_timestamp,omitempty"`
	LastTime     *float64        `json:"last_timestamp,omitempty"`
	End          string          `json:"end"`
	GoodEnd      int64           `json:"good_end"`
	NameMismatch string          `json:"name_mismatch,omitempty"`
	Warnings     []problemJSON   `json:"warnings"`
	Damage       []problemJSON   `json:"damage"`
	Error        string          `json:"error,omitempty"`
	Extra        []format.MetaKV `json:"extra_header,omitempty"`
}

type replicaJSON struct {
	ReplicaID uint32 `json:"replica_id"`
	Rows      int64  `json:"rows"`
	FirstLSN  uint64 `json:"first_lsn"`
	LastLSN   uint64 `json:"last_lsn"`
	Unordered int64  `json:"unordered,omitempty"`
}

type problemJSON struct {
	Offset  int64  `json:"offset"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Skipped int64  `json:"skipped,omitempty"`
}

func problems(list []*format.Error) []problemJSON {
	out := make([]problemJSON, 0, len(list))
	for _, e := range list {
		out = append(out, problemJSON{Offset: e.Offset, Kind: e.Kind.String(), Message: e.Msg, Skipped: e.Skipped})
	}
	return out
}

func toMetaJSON(s *format.Summary) metaJSON {
	j := metaJSON{
		File: s.Path, Size: s.Size, Blocks: s.Stats.Blocks, ZstdBlocks: s.Stats.ZBlocks,
		PlainBlocks: s.Stats.Blocks - s.Stats.ZBlocks, BlockBytes: s.Stats.BlockBytes,
		RawBytes: s.Stats.RawBytes, Rows: s.Stats.Rows, Replicas: []replicaJSON{},
		End: endName(s), GoodEnd: s.GoodEnd, NameMismatch: s.NameProblem,
		Warnings: problems(s.Warnings), Damage: problems(s.Damage),
	}
	if s.Err != nil {
		j.Error = s.Err.Error()
	}
	if m := s.Meta; m != nil {
		j.Type, j.Version, j.Writer, j.Instance, j.HeaderSize = m.FileType, m.Version, m.Tarantool, m.Instance, m.Size
		if m.HasVClock {
			j.VClock = &m.VClock
			if m.FileType == format.TypeXLOG {
				j.EndVClock = &s.EndVClock
			}
		}
		if m.HasPrevVClock {
			j.PrevVClock = &m.PrevVClock
		}
		j.Extra = extraLines(m)
	}
	for _, r := range s.Replicas {
		j.Replicas = append(j.Replicas, replicaJSON(r))
	}
	if s.FirstTimestamp != 0 {
		j.FirstTime, j.LastTime = &s.FirstTimestamp, &s.LastTimestamp
	}
	return j
}

// extraLines returns the header lines other than the ones Tarantool writes.
func extraLines(m *format.Meta) []format.MetaKV {
	var out []format.MetaKV
	for _, kv := range m.Lines {
		switch kv.Key {
		case "Version", "Instance", "Server", "VClock", "PrevVClock":
		default:
			out = append(out, kv)
		}
	}
	return out
}

func writeMetaJSON(w io.Writer, sums []*format.Summary) error {
	list := make([]metaJSON, 0, len(sums))
	for _, s := range sums {
		list = append(list, toMetaJSON(s))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

// endName names how a file ended.
func endName(s *format.Summary) string {
	if s.End == format.EndNone {
		if s.Err != nil {
			return "unreadable"
		}
		return ""
	}
	return s.End.String()
}

var endText = map[format.End]string{
	format.EndClean:   "clean (EOF marker present)",
	format.EndNoEOF:   "no EOF marker (not closed cleanly)",
	format.EndTorn:    "torn tail (last block incomplete)",
	format.EndCorrupt: "corrupt (reading stopped at damage)",
}

func writeMetaTables(w io.Writer, sums []*format.Summary) error {
	for i, s := range sums {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		t := newTable(w, nil)
		add := func(k, v string) { t.Append(k, v) }
		add("file", s.Path)
		if s.Size >= 0 {
			v := fmt.Sprintf("%d bytes", s.Size)
			if s.Size >= 1024 {
				v = fmt.Sprintf("%s (%d bytes)", byteSize(s.Size), s.Size)
			}
			add("size", v)
		}
		if m := s.Meta; m != nil {
			add("type", m.FileType+" "+m.Version)
			add("writer", orDash(m.Tarantool))
			add("instance", orDash(m.Instance))
			add("vclock", vclockText(m.HasVClock, m.VClock))
			if m.FileType == format.TypeXLOG {
				add("prev vclock", vclockText(m.HasPrevVClock, m.PrevVClock))
				add("end vclock", vclockText(m.HasVClock, s.EndVClock))
			}
			for _, kv := range extraLines(m) {
				add(kv.Key, kv.Value)
			}
			add("blocks", fmt.Sprintf("%d (%d plain, %d zstd), %s stored, %s of rows",
				s.Stats.Blocks, s.Stats.Blocks-s.Stats.ZBlocks, s.Stats.ZBlocks,
				byteSize(s.Stats.BlockBytes), byteSize(s.Stats.RawBytes)))
			add("rows", strconv.FormatInt(s.Stats.Rows, 10))
			for _, r := range s.Replicas {
				v := fmt.Sprintf("%s, LSN %d..%d", plural(r.Rows, "row"), r.FirstLSN, r.LastLSN)
				if r.Unordered > 0 {
					v += fmt.Sprintf(", %d out of order", r.Unordered)
				}
				add(fmt.Sprintf("replica %d", r.ReplicaID), v)
			}
			if s.FirstTimestamp != 0 {
				add("time", timeText(s.FirstTimestamp)+" .. "+timeText(s.LastTimestamp))
			}
		}
		if s.NameProblem != "" {
			add("NAME MISMATCH", s.NameProblem)
		}
		if s.End != format.EndNone {
			add("end", endLine(s))
		}
		for _, e := range s.Warnings {
			add("warning", fmt.Sprintf("offset %d: %s", e.Offset, e.Msg))
		}
		if len(s.Damage) == 0 && s.Err == nil {
			add("damage", "none")
		}
		for _, e := range s.Damage {
			v := fmt.Sprintf("offset %d: %s", e.Offset, e.Msg)
			if e.Skipped > 0 {
				v += fmt.Sprintf(" (skipped %d bytes)", e.Skipped)
			}
			add("DAMAGE", v)
		}
		if s.Err != nil {
			if e, ok := format.AsError(s.Err); !ok || e.Kind == format.KindIO {
				add("ERROR", s.Err.Error())
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	return nil
}

// newTable returns a table printed with light box lines, cells as given
// (no wrapping, no header reformatting); the columns listed in right are
// right-aligned.
func newTable(w io.Writer, header []string, right ...int) *tablewriter.Table {
	align := tw.CellAlignment{Global: tw.AlignLeft}
	if len(right) > 0 {
		align.PerColumn = make([]tw.Align, len(header))
		for i := range align.PerColumn {
			align.PerColumn[i] = tw.AlignLeft
		}
		for _, c := range right {
			align.PerColumn[c] = tw.AlignRight
		}
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithRowAlignmentConfig(align),
	)
	if header != nil {
		t.Header(header)
	}
	return t
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func vclockText(has bool, v format.VClock) string {
	if !has {
		return "-"
	}
	return v.String()
}

func timeText(ts float64) string {
	sec := int64(ts)
	return time.Unix(sec, int64((ts-float64(sec))*1e9)).UTC().Format("2006-01-02T15:04:05.000Z")
}

// byteSize prints a size in bytes with a binary unit.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n)/unit, "KiB"
	for _, next := range []string{"MiB", "GiB", "TiB"} {
		if v < unit {
			break
		}
		v, u = v/unit, next
	}
	return fmt.Sprintf("%.1f %s", v, u)
}

// endLine tells how a file ends and where its good data ends: at the first
// damage when the last good block comes after it (reading went on past
// damage with --force).
func endLine(s *format.Summary) string {
	first := int64(-1)
	for _, e := range s.Damage {
		if first < 0 || e.Offset < first {
			first = e.Offset
		}
	}
	if fe, ok := format.AsError(s.Err); ok && (first < 0 || fe.Offset < first) {
		first = fe.Offset
	}
	if first >= 0 && first < s.GoodEnd {
		return fmt.Sprintf("%s; good data ends at offset %d, where the damage starts (the last good block ends at offset %d)",
			endText[s.End], first, s.GoodEnd)
	}
	return fmt.Sprintf("%s; good data ends at offset %d", endText[s.End], s.GoodEnd)
}
