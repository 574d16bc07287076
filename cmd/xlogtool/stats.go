package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/xlogtool/xlogtool/internal/progress"
	"github.com/xlogtool/xlogtool/stats"
)

func init() { extraCommands = append(extraCommands, newStatsCmd) }

func newStatsCmd() *cobra.Command {
	var ff rowFilterFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats FILE|DIR...",
		Short: "Count rows and bytes by type, space, replica and transaction",
		Long: `Read every row of the files (checking every block's checksum) and count the
selected rows and their bytes by row type, by space and by replica id, the
transactions (rows per transaction: min/avg/max, bytes), the synchronous
transactions (last row flagged WAIT_ACK) and the CONFIRM, ROLLBACK, PROMOTE
and DEMOTE rows, like pg_waldump --stats.

Rows are selected with the flags of cat, and as in cat rows of system spaces
(ids below 512) are left out unless --show-system or --space selects them; the
summary tells how many rows were read in all. Bytes are row bytes after
decompression (header and body). Transactions are counted in .xlog files; one
counts when any of its rows is selected, with its selected rows.

Exit status: 0 when every file was read, 1 when damage was found, 2 on usage
or I/O errors.`,
		Example: `  xlogtool stats wal_dir/
  xlogtool stats --show-system --json 00000000000000000000.xlog
  xlogtool stats --from 1000 --to 2000 --replica 1 wal_dir/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			flt, err := ff.filter()
			if err != nil {
				return err
			}
			files, err := ff.files(args)
			if err != nil {
				return err
			}
			bar := progress.New(os.Stderr, progress.IsTerminal(os.Stderr), "stats", totalSize(files))
			rep, res, err := stats.Scan(files, stats.Options{
				Filter: flt, Force: ff.force, OnIssue: reportIssue, Progress: bar.Set,
			})
			bar.Done()
			if err != nil {
				return err
			}
			out := bufio.NewWriter(os.Stdout)
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				err = enc.Encode(rep)
			} else {
				err = writeStatsTables(out, rep)
			}
			if err == nil {
				err = out.Flush()
			}
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			return finishScan(res)
		},
	}
	ff.register(cmd, "count")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	return cmd
}

func writeStatsTables(w io.Writer, r *stats.Report) error {
	d := strconv.FormatInt
	pct := func(part, whole int64) string {
		if whole == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f%%", 100*float64(part)/float64(whole))
	}
	avg := func(c stats.Counter) string {
		if c.Rows == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", float64(c.Bytes)/float64(c.Rows))
	}
	type table struct {
		title  string
		header []string
		right  []int
		rows   [][]string
	}
	var tables []table
	section := func(title string, header []string, right []int, rows [][]string) {
		tables = append(tables, table{title, header, right, rows})
	}

	summary := [][]string{
		{"files", strconv.Itoa(r.Files)},
		{"blocks", fmt.Sprintf("%d (%d plain, %d zstd), %s stored, %s of rows",
			r.Blocks, r.Blocks-r.ZstdBlocks, r.ZstdBlocks, byteSize(r.BlockBytes), byteSize(r.RawBytes))},
		{"rows read", d(r.RowsRead, 10)},
		{"rows selected", fmt.Sprintf("%d (%s)", r.Rows, pct(r.Rows, r.RowsRead))},
		{"bytes selected", fmt.Sprintf("%d (%s)", r.Bytes, byteSize(r.Bytes))},
	}
	if r.FirstTimestamp != 0 {
		summary = append(summary, []string{"time", timeText(r.FirstTimestamp) + " .. " + timeText(r.LastTimestamp)})
	}
	s := r.Synchro
	summary = append(summary,
		[]string{"CONFIRM / ROLLBACK", fmt.Sprintf("%d / %d", s.Confirm, s.Rollback)},
		[]string{"PROMOTE / DEMOTE", fmt.Sprintf("%d / %d", s.Promote, s.Demote)})
	if r.DamagedFiles > 0 || r.Warnings > 0 {
		summary = append(summary, []string{"damaged files / warnings", fmt.Sprintf("%d / %d", r.DamagedFiles, r.Warnings)})
	}
	section("Summary", nil, nil, summary)

	var rows [][]string
	for _, t := range r.Types {
		rows = append(rows, []string{t.Type, d(t.Rows, 10), pct(t.Rows, r.Rows), d(t.Bytes, 10), pct(t.Bytes, r.Bytes), avg(t.Counter)})
	}
	section("Rows by type", []string{"type", "rows", "rows %", "bytes", "bytes %", "avg bytes"}, []int{1, 2, 3, 4, 5}, rows)

	rows = nil
	for _, sp := range r.Spaces {
		rows = append(rows, []string{strconv.FormatUint(uint64(sp.SpaceID), 10), orDash(sp.Name),
			d(sp.Rows, 10), pct(sp.Rows, r.Rows), d(sp.Bytes, 10), pct(sp.Bytes, r.Bytes), avg(sp.Counter)})
	}
	section("Rows by space", []string{"space", "name", "rows", "rows %", "bytes", "bytes %", "avg bytes"}, []int{0, 2, 3, 4, 5, 6}, rows)

	rows = nil
	for _, rc := range r.Replicas {
		lsns := "-"
		if rc.LastLSN != 0 {
			lsns = fmt.Sprintf("%d..%d", rc.FirstLSN, rc.LastLSN)
		}
		rows = append(rows, []string{strconv.FormatUint(uint64(rc.ReplicaID), 10),
			d(rc.Rows, 10), pct(rc.Rows, r.Rows), d(rc.Bytes, 10), pct(rc.Bytes, r.Bytes), lsns})
	}
	section("Rows by replica id (0: local rows)", []string{"replica", "rows", "rows %", "bytes", "bytes %", "WAL LSNs"}, []int{0, 1, 2, 3, 4}, rows)

	tx := func(name string, t stats.TxReport) []string {
		if t.Count == 0 {
			return []string{name, "0", "-", "-", "-", "0", "-", "0", "0"}
		}
		return []string{name, d(t.Count, 10), d(t.MinRows, 10), fmt.Sprintf("%.1f", t.AvgRows), d(t.MaxRows, 10),
			d(t.Bytes, 10), fmt.Sprintf("%.1f", t.AvgBytes), d(t.MultiRow, 10), d(t.Incomplete, 10)}
	}
	section(fmt.Sprintf("Transactions (WAIT_SYNC: %d)", r.WaitSync),
		[]string{"", "count", "min rows", "avg rows", "max rows", "bytes", "avg bytes", "multi-row", "incomplete"},
		[]int{1, 2, 3, 4, 5, 6, 7, 8},
		[][]string{tx("all", r.Transactions), tx("sync (WAIT_ACK)", r.SyncTransactions)})

	for i, tb := range tables {
		sep := "\n"
		if i == 0 {
			sep = ""
		}
		if _, err := fmt.Fprintf(w, "%s%s\n", sep, tb.title); err != nil {
			return err
		}
		t := newTable(w, tb.header, tb.right...)
		if err := t.Bulk(tb.rows); err != nil {
			return err
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	return nil
}
