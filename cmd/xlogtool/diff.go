package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/xlogtool/xlogtool/verify"
)

func init() { extraCommands = append(extraCommands, newDiffCmd) }

func newDiffCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff [--json] DIR|NAME=DIR...",
		Short: "Compare where the logs of replica set instances end (vclock table)",
		Long: `Print every instance's vclock and, per replica set, for every replica
component, which instances are ahead and how far the others are behind.
Instances are grouped by the replica set UUID of their _schema rows (or, without
it, by their _cluster rows); only the file headers, the system spaces of the
newest snapshot and the newest xlog of each directory are read; nothing is
checked (see verify).

Exit status: 0 when the instances of each replica set have the same vclock,
1 when they differ, 2 when the logs could not be read.`,
		Example: `  xlogtool diff i1/ i2/ i3/
  xlogtool diff --json a=/data/a b=/data/b`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcs, err := parseSources(args)
			if err != nil {
				return err
			}
			rep, err := verify.VClocks(cmd.Context(), srcs)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			out := bufio.NewWriter(os.Stdout)
			if asJSON {
				err = rep.WriteVClocksJSON(out)
			} else {
				err = rep.WriteVClocks(out)
			}
			if err == nil {
				err = out.Flush()
			}
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			damaged := false
			for _, f := range rep.Findings {
				fmt.Fprintf(os.Stderr, "%s: %s: %s offset %d: %s\n", f.Severity, f.Instance, f.File, f.Offset, f.Message)
				damaged = damaged || f.Severity == verify.Error
			}
			if damaged || !rep.SameVClocks() {
				return errDamage
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the table as JSON")
	return cmd
}
