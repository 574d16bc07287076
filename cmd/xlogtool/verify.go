package main

import (
	"bufio"
	"os"

	"github.com/spf13/cobra"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/progress"
	"github.com/xlogtool/xlogtool/verify"
)

func init() { extraCommands = append(extraCommands, newVerifyCmd) }

// parseSources turns DIR and NAME=DIR arguments into instance sources.
func parseSources(args []string) ([]verify.Source, error) {
	srcs := make([]verify.Source, 0, len(args))
	for _, a := range args {
		s, err := verify.ParseSource(a)
		if err != nil {
			return nil, usageError("%v", err)
		}
		st, err := os.Stat(s.Dir)
		if err != nil {
			return nil, usageError("%v", err)
		}
		if !st.IsDir() {
			return nil, usageError("%s is not a directory", s.Dir)
		}
		srcs = append(srcs, s)
	}
	return srcs, nil
}

func newVerifyCmd() *cobra.Command {
	var asJSON bool
	var htmlFile string
	var parallel int
	cmd := &cobra.Command{
		Use:   "verify [--json] [--html FILE] DIR|NAME=DIR...",
		Short: "Check the logs of one or more instances of one or more replica sets",
		Long: `Check the WAL and snapshot files of one or more instances of a replica set,
offline. Each argument is one instance's data directory; NAME=DIR names the
instance (the default name is the directory's base name).

Within each instance: damage (checksums, torn tails, missing EOF markers,
bad headers, trailing garbage), the file chain (names, vclocks, missing files
and lost rows), LSN order, transactions whose first row is absent or which
never commit, the synchronous queue replayed with the rules of the writer's
version (confirmed / rolled back / pending transactions, CONFIRM/ROLLBACK for
a queue that is not owned, PROMOTE/DEMOTE whose term does not grow, rows of an
old owner after the queue moved on) and the persisted Raft term and votes.

Across the instances of one replica set: a vclock table, rows with the same
replica id and LSN but different content, and split-brain: transactions
confirmed on some instances and rolled back on others, rows an old queue
owner committed while another instance had taken the queue over, and two
owners in one term. Instances are grouped by the replica set UUID of their
_schema rows (or, without it, by their _cluster rows); instances of different
replica sets (e.g. the shards of a vshard cluster) are not compared with
each other, and a warning names the groups.

Exit status: 0 when there are no error findings, 1 when there are, 2 when
verify could not run.`,
		Example: `  xlogtool verify /var/lib/tarantool/i1
  xlogtool verify --json a=/data/a b=/data/b c=/data/c
  xlogtool verify --html report.html i1/ i2/ i3/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcs, err := parseSources(args)
			if err != nil {
				return err
			}
			opts := verify.Options{Parallel: parallel}
			bar := progress.New(os.Stderr, progress.IsTerminal(os.Stderr), "verify", sourcesSize(srcs))
			if bar != nil {
				opts.Progress = bar.Add
			}
			rep, err := verify.Run(cmd.Context(), srcs, opts)
			bar.Done()
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if htmlFile != "" {
				if err := writeHTML(htmlFile, rep); err != nil {
					return &exitError{code: exitUsage, err: err}
				}
			}
			out := bufio.NewWriter(os.Stdout)
			if asJSON {
				err = rep.WriteJSON(out)
			} else {
				err = rep.WriteText(out)
			}
			if err == nil {
				err = out.Flush()
			}
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if rep.HasErrors() {
				return errDamage
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&htmlFile, "html", "", "also write the timeline and findings as a self-contained HTML page to FILE")
	cmd.Flags().IntVar(&parallel, "parallel", 0, "read at most this many instances at once (default: all)")
	return cmd
}

func writeHTML(path string, rep *verify.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := rep.WriteHTML(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sourcesSize is the size of the log files of the instances, for the
// progress line.
func sourcesSize(srcs []verify.Source) int64 {
	var n int64
	for _, s := range srcs {
		refs, _ := format.ScanDir(s.Dir)
		n += totalSize(refs)
	}
	return n
}
