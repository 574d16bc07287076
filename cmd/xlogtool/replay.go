package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/progress"
	"github.com/xlogtool/xlogtool/replay"
)

func init() { extraCommands = append(extraCommands, newReplayCmd) }

// replayFlags are the flags of the replay command.
type replayFlags struct {
	fromSnap       string
	toLSN          string
	toVClock       string
	toTimestamp    string
	includePending bool
	outFormat      string
	showSystem     bool
	outSnap        string
	force          bool
	fl             *pflag.FlagSet
}

// options turns the flags into recovery options.
func (f *replayFlags) options(args []string) (replay.RecoverOptions, error) {
	opts := replay.RecoverOptions{Paths: args, FromSnap: f.fromSnap, IncludePending: f.includePending, Force: f.force}
	t := &opts.Target
	// An empty point in time (a script's unset variable) would restore
	// the wrong one: it is an error, not "no target".
	for name, v := range map[string]string{"to-lsn": f.toLSN, "to-vclock": f.toVClock, "to-timestamp": f.toTimestamp, "from-snap": f.fromSnap} {
		if f.fl != nil && f.fl.Changed(name) && strings.TrimSpace(v) == "" {
			return opts, usageError("--%s: empty value (an unset variable?)", name)
		}
	}
	if f.toLSN != "" {
		r, n, err := replay.ParseLSNTarget(f.toLSN)
		if err != nil {
			return opts, usageError("--to-lsn: %v", err)
		}
		t.HasLSN, t.Replica, t.LSN = true, r, n
	}
	if f.toVClock != "" {
		v, err := format.ParseVClock(f.toVClock)
		if err != nil {
			return opts, usageError("--to-vclock: %v", err)
		}
		t.HasVClock, t.VClock = true, v
	}
	if f.toTimestamp != "" {
		ts, err := format.ParseTimestamp(f.toTimestamp)
		if err != nil {
			return opts, usageError("--to-timestamp: %v", err)
		}
		t.HasTimestamp, t.Timestamp = true, ts
	}
	switch f.outFormat {
	case "table", "json":
	default:
		return opts, usageError("--format: want table or json, not %q", f.outFormat)
	}
	for _, a := range args {
		if _, err := os.Stat(a); err != nil {
			return opts, usageError("%v", err)
		}
	}
	if f.fromSnap != "" {
		if _, err := os.Stat(f.fromSnap); err != nil {
			return opts, usageError("--from-snap: %v", err)
		}
	}
	return opts, nil
}

// outSnapPath resolves --out-snap: a directory (existing, or named with
// a trailing slash) gets a file named after the signature; an existing
// file is not overwritten.
func outSnapPath(arg string, v format.VClock) (string, error) {
	name := format.FileName(format.TypeSNAP, v)
	if strings.HasSuffix(arg, string(filepath.Separator)) {
		// A directory to make.
		if err := os.MkdirAll(arg, 0o755); err != nil {
			return "", fmt.Errorf("--out-snap: %v", err)
		}
	}
	if st, err := os.Stat(arg); err == nil {
		if st.IsDir() {
			arg = filepath.Join(arg, name)
		} else {
			return "", fmt.Errorf("--out-snap: %s already exists", arg)
		}
	}
	if _, err := os.Lstat(arg); err == nil {
		return "", fmt.Errorf("--out-snap: %s already exists", arg)
	}
	if filepath.Base(arg) != name {
		fmt.Fprintf(os.Stderr, "note: Tarantool loads this snapshot only under the name %s\n", name)
	}
	return arg, nil
}

func newReplayCmd() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay [flags] DIR...",
		Short: "Rebuild the database state from a snapshot and the xlogs after it",
		Long: `Rebuild the content of a Tarantool database offline, the way Tarantool's
recovery does: load the newest snapshot at or before the target (or the one
--from-snap names), then replay the rows of the xlogs written after it whose
LSN is above the snapshot's vclock component for their replica id. Give the
data directories (wal_dir and memtx_dir, the same or not; any number), or
single files.

Synchronous replication is followed: a synchronous transaction takes effect
only when a CONFIRM (or PROMOTE) covers it, a ROLLBACK discards it and
everything queued after it. Transactions still waiting at the end are
reported and applied only with --include-pending. Note: Tarantool 2.6.0's own
recovery applies rolled-back multi-statement transactions again (a bug of
that version); replay follows the protocol and says how many it skipped.

Point in time (a transaction cut by the stop point is not applied):
  --to-lsn R:N         stop at the first row of replica R with LSN above N
  --to-vclock V        apply only rows with lsn <= V[replica id]: rows past
                       V are skipped, rows of other replicas up to their
                       component go on being applied; a replica id V does
                       not name counts as 0 (none of its rows are applied,
                       with a warning), except component 0 (local rows),
                       bounded only when V names it
  --to-timestamp T     stop at the first row with a timestamp above T

The output is a summary: the spaces (id, name, engine, is_sync, tuples), the
vclock reached, the transactions applied, rolled back, pending, and the
findings. --format json prints the vclock and every space with its tuples in
primary-key order (user spaces only unless --show-system). --out-snap writes
the state as a snapshot Tarantool can start from (a directory gets the file
named after the vclock signature).

Findings are what a real recovery would stumble on: rows the state rejects
(a duplicate key on INSERT, ...), damage, missing xlogs, LSNs out of order,
transactions without their last row.

Exit status: 0 when there are no findings, 1 when there are, 2 on usage or
I/O errors.`,
		Example: `  xlogtool replay /var/lib/tarantool/i1
  xlogtool replay --to-lsn 1:626 --format json wal_dir/ memtx_dir/
  xlogtool replay --to-vclock '{1: 626, 2: 10}' data/
  xlogtool replay --to-timestamp 2024-11-14T14:02:36Z --out-snap restore/ data/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := f.options(args)
			if err != nil {
				return err
			}
			bar := &progress.Lazy{W: os.Stderr, Label: "replay"}
			if progress.IsTerminal(os.Stderr) {
				opts.Progress = bar.Set
			}
			res, err := replay.Recover(cmd.Context(), opts)
			bar.Done()
			if err != nil {
				if errors.Is(err, replay.ErrNoSnapshot) || errors.Is(err, replay.ErrTargetBeforeSnap) {
					return usageError("%v", err)
				}
				return &exitError{code: exitUsage, err: err}
			}
			if f.outSnap != "" {
				if err := writeOutSnap(f.outSnap, res); err != nil {
					return &exitError{code: exitUsage, err: err}
				}
			}
			out := bufio.NewWriter(os.Stdout)
			if f.outFormat == "json" {
				err = res.WriteJSON(out, replay.JSONOptions{ShowSystem: f.showSystem})
			} else {
				err = writeReplaySummary(out, res, f.showSystem)
			}
			if err == nil {
				err = out.Flush()
			}
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if res.HasErrors() {
				return errDamage
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.fromSnap, "from-snap", "", "start from this snapshot (default: the newest at or before the target)")
	fl.StringVar(&f.toLSN, "to-lsn", "", "stop at the first row of replica R with LSN above N (R:N)")
	fl.StringVar(&f.toVClock, "to-vclock", "", "apply only rows with lsn <= VCLOCK[replica id], e.g. '{1: 626, 2: 10}'")
	fl.StringVar(&f.toTimestamp, "to-timestamp", "", "stop at the first row written after this time: Unix seconds or RFC 3339")
	fl.BoolVar(&f.includePending, "include-pending", false, "apply the synchronous transactions still waiting for a CONFIRM at the end")
	fl.StringVar(&f.outFormat, "format", "table", "output: table (a summary) or json (the state with every tuple)")
	f.fl = fl
	fl.BoolVar(&f.showSystem, "show-system", false, "include the system spaces (ids 257..510) in the output")
	fl.StringVar(&f.outSnap, "out-snap", "", "write the state as a Tarantool snapshot to FILE, or into DIR/ named after its vclock")
	fl.BoolVar(&f.force, "force", false, "skip damaged blocks and go on (like force_recovery)")
	return cmd
}

func writeOutSnap(arg string, res *replay.Result) error {
	path, err := outSnapPath(arg, res.VClock)
	if err != nil {
		return err
	}
	path, n, err := res.WriteSnapshot(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d rows, vclock %s)\n", path, n, res.VClock)
	for _, sp := range res.State.Spaces() {
		if !strings.EqualFold(sp.Engine, "memtx") && sp.Len() > 0 {
			fmt.Fprintf(os.Stderr, "warning: the %d tuples of %s space %d (%s) are not in the snapshot: Tarantool keeps them in %s files\n",
				sp.Len(), sp.Engine, sp.ID, sp.Name, sp.Engine)
		}
	}
	return nil
}

// writeReplaySummary prints the result as tables.
func writeReplaySummary(w io.Writer, res *replay.Result, showSystem bool) error {
	c := res.Counts
	fmt.Fprintf(w, "snapshot:      %s (vclock %s, %s)\n", res.Snapshot, res.SnapshotMeta.VClock, plural(c.SnapshotRows, "row"))
	fmt.Fprintf(w, "xlogs:         %s, %s (%d already in the snapshot, %d duplicate, %d beyond the target)\n",
		plural(int64(len(res.Xlogs)), "file"), plural(c.XlogRows, "row"), c.CoveredRows, c.DuplicateRows, c.BeyondRows)
	if s := res.Stop; s != nil {
		if s.Reason == "damage" {
			fmt.Fprintf(w, "stopped at:    damage in %s at offset %d (--force reads past it)\n", s.File, s.Offset)
		} else {
			fmt.Fprintf(w, "stopped at:    row %d:%d, the first beyond the %s target (%s, offset %d)\n",
				s.ReplicaID, s.LSN, s.Reason, s.File, s.Offset)
		}
	} else {
		fmt.Fprintf(w, "stopped at:    the end of the logs\n")
	}
	fmt.Fprintf(w, "vclock:        %s\n", res.VClock)
	pending := "not applied: --include-pending applies them"
	if c.PendingApplied > 0 {
		pending = "applied"
	}
	fmt.Fprintf(w, "transactions:  %d applied (%s), %d rolled back", c.Applied, plural(c.AppliedRows, "row"), c.RolledBack)
	if c.RolledBackMulti > 0 {
		fmt.Fprintf(w, " (%d multi-statement: Tarantool 2.6.0's recovery would apply them again)", c.RolledBackMulti)
	}
	fmt.Fprintf(w, ", %d pending", c.Pending)
	if c.Pending > 0 {
		fmt.Fprintf(w, " (%s)", pending)
	}
	if c.Cut > 0 {
		fmt.Fprintf(w, ", %d cut and not applied", c.Cut)
	}
	if c.Torn > 0 {
		fmt.Fprintf(w, ", %d without their last row", c.Torn)
	}
	fmt.Fprintln(w)
	q := res.Queue
	if q.Owner != 0 || q.Term != 0 || q.ConfirmedLSN != 0 {
		fmt.Fprintf(w, "synchro queue: owner %d, term %d, confirmed lsn %d\n", q.Owner, q.Term, q.ConfirmedLSN)
	}
	fmt.Fprintf(w, "errors:        %d\n\n", res.FindingCount)

	t := newTable(w, []string{"ID", "NAME", "ENGINE", "IS_SYNC", "TUPLES"}, 0, 4)
	for _, sp := range res.State.Spaces() {
		if box.IsSystemSpace(sp.ID) && !showSystem {
			continue
		}
		sync := "false"
		if sp.IsSync {
			sync = "true"
		}
		name := sp.Name
		switch {
		case sp.IsLocal:
			name += " (local)"
		case sp.Temporary:
			name += " (temporary)"
		}
		if err := t.Append([]string{strconv.FormatUint(uint64(sp.ID), 10), name, sp.Engine, sync, strconv.Itoa(sp.Len())}); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if len(res.Pending) > 0 {
		fmt.Fprintf(w, "\npending transactions (%s):\n", pending)
		if err := writeTxTable(w, res.Pending); err != nil {
			return err
		}
	}
	if len(res.RolledBack) > 0 {
		fmt.Fprintf(w, "\nrolled back (%d):\n", c.RolledBack)
		if err := writeTxTable(w, res.RolledBack); err != nil {
			return err
		}
	}
	if len(res.Unapplied) > 0 {
		fmt.Fprintf(w, "\nnot applied:\n")
		if err := writeTxTable(w, res.Unapplied); err != nil {
			return err
		}
	}
	if len(res.Findings) > 0 {
		fmt.Fprintf(w, "\nerrors (%d", res.FindingCount)
		if res.FindingCount > len(res.Findings) {
			fmt.Fprintf(w, ", the first %d shown", len(res.Findings))
		}
		fmt.Fprintf(w, "):\n")
		if err := writeFindingTable(w, res.Findings); err != nil {
			return err
		}
	}
	if len(res.Warnings) > 0 {
		fmt.Fprintf(w, "\nwarnings:\n")
		if err := writeFindingTable(w, res.Warnings); err != nil {
			return err
		}
	}
	return nil
}

func writeTxTable(w io.Writer, txs []replay.TxInfo) error {
	t := newTable(w, []string{"FILE", "OFFSET", "REPLICA", "TSN", "LAST LSN", "ROWS", "SYNC", "BY"}, 1, 2, 3, 4, 5)
	for _, tx := range txs {
		sync := ""
		if tx.Sync {
			sync = "sync"
		}
		if err := t.Append([]string{filepath.Base(tx.File), strconv.FormatInt(tx.Offset, 10), strconv.FormatUint(uint64(tx.ReplicaID), 10),
			strconv.FormatUint(tx.TSN, 10), strconv.FormatUint(tx.EntryLSN, 10), strconv.Itoa(tx.Rows), sync, tx.By}); err != nil {
			return err
		}
	}
	return t.Render()
}

func writeFindingTable(w io.Writer, fs []replay.Finding) error {
	t := newTable(w, []string{"KIND", "FILE", "OFFSET", "LSN", "ROW", "ERROR"}, 2)
	for _, f := range fs {
		lsn, row := "", f.Type
		if f.LSN != 0 || f.ReplicaID != 0 {
			lsn = fmt.Sprintf("%d:%d", f.ReplicaID, f.LSN)
		}
		if f.SpaceID != 0 {
			row += fmt.Sprintf(" space %d", f.SpaceID)
		}
		msg := f.Message
		if f.Code != 0 {
			msg += " (" + f.Code.String() + ")"
		}
		off := ""
		if f.File != "" {
			off = strconv.FormatInt(f.Offset, 10)
		}
		if err := t.Append([]string{f.Kind, filepath.Base(f.File), off, lsn, row, msg}); err != nil {
			return err
		}
	}
	return t.Render()
}
