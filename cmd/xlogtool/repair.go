package main

import (
	"bufio"
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/xlogtool/xlogtool/internal/progress"
	"github.com/xlogtool/xlogtool/repair"
)

func init() { extraCommands = append(extraCommands, newRepairCmd) }

func newRepairCmd() *cobra.Command {
	var opts repair.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "repair --out DIR [--json] [--snap-dir DIR] [--out-snap-dir DIR] DIR",
		Short: "Turn a damaged data directory into one Tarantool recovers from",
		Long: `Read the WAL and snapshot files of a damaged data directory and write a
repaired copy that Tarantool recovers from without force_recovery. The input
is never modified; the output directory must be new or empty.

Torn tails are cut, missing EOF markers written, blocks that fail their
checksum or do not decompress dropped (rows around them are kept), garbage
between blocks and after the EOF marker dropped, damaged headers rebuilt from
the file name and the neighbouring files, and the VClock/PrevVClock chain
rewritten so recovery does not stop at lost rows or missing files.
Transactions that lost rows are dropped whole. A snapshot that is damaged or
has no EOF marker is dropped; recovery then starts from an older one.

The report lists exactly which LSNs could not be saved. Rows that are not in
the repaired logs but still decode are written to side files under lost/ in
the output directory (xlogtool cat reads them; Tarantool does not).
See docs/repair.md for the rules.

Exit status: 0 when the output is consistent (even if rows were lost), 1
when nothing could be repaired, 2 on usage or I/O errors.`,
		Example: `  xlogtool repair --out /srv/tarantool.repaired /srv/tarantool
  xlogtool repair --json --out fixed/ --snap-dir memtx/ wal/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.WALDir = args[0]
			if opts.OutDir == "" {
				return usageError("--out is required")
			}
			bar := &progress.Lazy{W: os.Stderr, Label: "repair"}
			if progress.IsTerminal(os.Stderr) {
				opts.Progress = bar.Set
			}
			rep, err := repair.Run(opts)
			bar.Done()
			var ue *repair.UsageError
			if errors.As(err, &ue) {
				return usageError("%v", ue.Err)
			}
			if rep != nil {
				out := bufio.NewWriter(cmd.OutOrStdout())
				var werr error
				if asJSON {
					werr = rep.WriteJSON(out)
				} else {
					werr = rep.WriteText(out)
				}
				if werr == nil {
					werr = out.Flush()
				}
				if err == nil {
					err = werr
				}
			}
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if !rep.Consistent {
				return errDamage
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.OutDir, "out", "o", "", "write the repaired directory here (new or empty)")
	f.StringVar(&opts.SnapDir, "snap-dir", "", "snapshots are in this directory (memtx_dir), not in DIR")
	f.StringVar(&opts.OutSnapDir, "out-snap-dir", "", "write the snapshots here instead of --out")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
