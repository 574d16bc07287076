package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/progress"
)

func init() { extraCommands = append(extraCommands, newFilterCmd) }

func newFilterCmd() *cobra.Command {
	var ff rowFilterFlags
	var outDir string
	var verbatim bool
	cmd := &cobra.Command{
		Use:   "filter --out DIR [flags] FILE|DIR...",
		Short: "Copy the selected rows into new log files",
		Long: `Copy the rows that cat's flags select into new files in --out DIR, one output
file per input file, with the input's file type, format version, instance
UUID, VClock and PrevVClock (so with the same name, the VClock signature).
Existing files are never overwritten, and the inputs are only read.

Transactions stay whole, each in one block. When rows of a multi-row
transaction are left out, the kept rows form a transaction of their own: its
TSN becomes the LSN of the first kept global row, and the COMMIT flag (with
WAIT_SYNC/WAIT_ACK) moves to the last kept row; a single kept row becomes a
single-row transaction.

As in cat, rows of system spaces (ids below 512) are left out unless
--show-system or --space selects them: keep them (--show-system) to make files
a Tarantool instance can recover from.

A block whose rows are all kept and which holds whole transactions is copied
as it is stored. With --verbatim (and no selection flag) every block is: its
checksum is checked but its rows are not read (nor decompressed), so the copy
runs at the speed of the disk and the summary counts blocks and bytes, not
rows. Tarantool writes whole transactions in a block, so for its files this
is the file keeping every row gives; a block holding part of a transaction,
or rows that do not decode, is copied as it is too.

Exit status: 0 when every file was copied, 1 when damage was found in an
input (its rows before the damage are copied; with --force, the rows around
it), 2 on usage or I/O errors (an output that exists already among them).`,
		Example: `  xlogtool filter --show-system --out /tmp/wal wal_dir/
  xlogtool filter --space 512 --out /tmp/only512 00000000000000000000.xlog
  xlogtool filter --show-system --to 1000 --out /tmp/before-1000 wal_dir/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return usageError("--out DIR is required")
			}
			flt, err := ff.filter()
			if err != nil {
				return err
			}
			if verbatim {
				for _, name := range []string{"from", "to", "timestamp", "space", "replica", "type"} {
					if cmd.Flags().Changed(name) {
						return usageError("--verbatim copies every row: --%s cannot select rows with it", name)
					}
				}
			}
			files, err := ff.files(args)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			bar := progress.New(os.Stderr, progress.IsTerminal(os.Stderr), "filter", totalSize(files))
			defer bar.Done()
			var done, systemDropped int64
			failed, damaged := 0, 0
			for _, f := range files {
				// The damage that stops a file is reported to OnIssue
				// and returned in the result too: print it once.
				reported := map[string]bool{}
				onIssue := func(e *format.Error) {
					reported[e.Error()] = true
					reportIssue(e)
				}
				res, err := format.CopyFile(f.Path, outDir, format.CopyOptions{
					Filter: flt, Force: ff.force, OnIssue: onIssue, Verbatim: verbatim,
					Progress: func(off int64) { bar.Set(done + off) },
				})
				if st, serr := os.Stat(f.Path); serr == nil {
					done += st.Size()
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "error: %s: %v\n", f.Path, err)
					failed++
					continue
				}
				if res.Err != nil && !reported[res.Err.Error()] {
					fmt.Fprintf(os.Stderr, "error: %v\n", res.Err)
				}
				if res.Damaged {
					damaged++
				}
				if res.Incomplete > 0 {
					fmt.Fprintf(os.Stderr, "warning: %s: %d transactions copied without their last row (left uncommitted)\n",
						f.Path, res.Incomplete)
				}
				systemDropped += res.SystemDropped
				if res.Output == "" {
					continue
				}
				if res.RowsUncounted {
					fmt.Printf("%s -> %s: %s, %s copied as they are (rows not read)\n", f.Path, res.Output,
						plural(res.VerbatimBlocks, "block"), plural(res.VerbatimBytes, "byte"))
					continue
				}
				line := fmt.Sprintf("%s -> %s: %d of %s", f.Path, res.Output, res.RowsKept, plural(res.RowsRead, "row"))
				if res.FileType == format.TypeXLOG {
					line += fmt.Sprintf(", %s (%d re-derived)", plural(res.Transactions, "transaction"), res.Rederived)
				}
				fmt.Println(line)
			}
			bar.Done()
			if systemDropped > 0 {
				fmt.Fprintf(os.Stderr, "note: %d rows of system spaces were left out (--show-system keeps them)\n", systemDropped)
			}
			switch {
			case failed > 0:
				return &exitError{code: exitUsage, err: fmt.Errorf("%d of %d files could not be copied", failed, len(files))}
			case damaged > 0:
				return errDamage
			}
			return nil
		},
	}
	ff.register(cmd, "copy")
	cmd.Flags().StringVarP(&outDir, "out", "o", "", "directory to write the new files to (created if missing)")
	cmd.Flags().BoolVar(&verbatim, "verbatim", false, "copy every block as it is stored, checksum checked, rows not read")
	return cmd
}
