package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/progress"
	"github.com/xlogtool/xlogtool/render"
)

// rowFilterFlags are the row-selection flags shared by cat, filter, stats and play.
type rowFilterFlags struct {
	from, to   uint64
	timestamp  string
	spaces     []uint
	replicas   []uint
	types      []string
	showSystem bool
	recursive  bool
	force      bool
	fl         *pflag.FlagSet // to tell a flag given empty from one not given
}

// register adds the flags; verb says what the command does with the rows
// ("show", "copy", "count", "play").
func (f *rowFilterFlags) register(cmd *cobra.Command, verb string) {
	fl := cmd.Flags()
	f.fl = fl
	typesExample := "PROMOTE,CONFIRM"
	if verb == "play" {
		typesExample = "INSERT,REPLACE" // the only rows play sends are data rows
	}
	fl.Uint64Var(&f.from, "from", 0, verb+" rows with LSN >= this (inclusive)")
	fl.Uint64Var(&f.to, "to", math.MaxUint64, verb+" rows with LSN < this (exclusive, as in tt; default: no bound)")
	fl.StringVar(&f.timestamp, "timestamp", "", verb+" rows written before this time (exclusive): Unix seconds or RFC 3339")
	fl.UintSliceVar(&f.spaces, "space", nil, verb+" rows of this space id only (repeatable)")
	fl.UintSliceVar(&f.replicas, "replica", nil, verb+" rows of this replica id only (repeatable; 0 = local rows)")
	fl.StringSliceVar(&f.types, "type", nil, verb+" rows of these types only, e.g. "+typesExample+" (repeatable)")
	fl.BoolVar(&f.showSystem, "show-system", false, verb+" rows of system spaces (ids below 512)")
	fl.BoolVarP(&f.recursive, "recursive", "r", false, "read directories recursively")
	fl.BoolVar(&f.force, "force", false, "skip damaged blocks and go on (like force_recovery)")
	noDefault(fl, "to", "space", "replica")
}

// noDefault keeps help from printing a default that means "not set"
// ("(default [])", the largest uint64).
func noDefault(fl *pflag.FlagSet, names ...string) {
	for _, n := range names {
		if f := fl.Lookup(n); f != nil {
			f.DefValue = ""
			if f.Value.Type() == "uint64" {
				f.DefValue = "0" // what pflag takes for "no default" of a number
			}
		}
	}
}

// registerCompletions completes the values of --type (row type names)
// and --format (the formats the command takes, from its usage text) in
// every command. Cobra keeps completion functions in a package-level map
// for the life of the process, so they are registered only when a
// completion is asked for.
func registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if f := c.Flags().Lookup("type"); f != nil {
			c.RegisterFlagCompletionFunc("type", completeTypes)
		}
		if f := c.Flags().Lookup("format"); f != nil {
			var words []string
			for _, w := range []string{"yaml", "json", "lua", "table"} {
				if strings.Contains(f.Usage, w) {
					words = append(words, w)
				}
			}
			c.RegisterFlagCompletionFunc("format", completeWords(words...))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeTypes completes --type with the row type names.
func completeTypes(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var names []string
	for t := 0; t < 256; t++ {
		name := box.RowType(t).String()
		if p, err := box.ParseRowType(name); err == nil && int(p) == t && name != "" && (name[0] < '0' || name[0] > '9') {
			names = append(names, name)
		}
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// completeWords completes a flag value with fixed words.
func completeWords(words ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}

func (f *rowFilterFlags) filter() (*format.Filter, error) {
	flt := format.Filter{From: f.from, Before: math.NaN(), ShowSystem: f.showSystem}
	if f.to != math.MaxUint64 {
		flt.To = f.to
		if f.to == 0 {
			flt.To, flt.From = 1, 1 // nothing below 0: an empty range
		}
	}
	if f.from > 0 && f.to != math.MaxUint64 && f.from >= f.to {
		fmt.Fprintf(os.Stderr, "note: --from %d is not below --to %d (exclusive): no row can be selected\n", f.from, f.to)
	}
	if f.fl != nil && f.fl.Changed("timestamp") && f.timestamp == "" {
		return nil, usageError("--timestamp: empty value (an unset variable?)")
	}
	if f.timestamp != "" {
		ts, err := format.ParseTimestamp(f.timestamp)
		if err != nil {
			return nil, usageError("%v", err)
		}
		flt.Before = ts
	}
	for _, s := range f.spaces {
		flt.Spaces = append(flt.Spaces, uint32(s))
	}
	for _, r := range f.replicas {
		flt.Replicas = append(flt.Replicas, uint32(r))
	}
	types, err := format.ParseTypes(f.types)
	if err != nil {
		return nil, usageError("%v", err)
	}
	flt.Types = types
	return &flt, nil
}

func (f *rowFilterFlags) files(args []string) ([]format.FileRef, error) {
	files, err := collect(args, f.recursive)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return files, requireFiles(args, files)
}

func totalSize(files []format.FileRef) int64 {
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f.Path); err == nil {
			n += st.Size()
		}
	}
	return n
}

// reportIssue prints a warning or skipped damage to stderr.
func reportIssue(e *format.Error) {
	level := "error"
	if e.IsWarning() {
		level = "warning"
	}
	msg := e.Error()
	if e.Skipped > 0 && !e.IsWarning() {
		msg += fmt.Sprintf(" (skipped %d bytes)", e.Skipped)
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", level, msg)
}

// finishScan turns the result of a scan into the command's exit status:
// 2 when a file could not be read (an I/O error, as every command), 1 for
// damage.
func finishScan(res format.ScanResult) error {
	io := 0
	for _, err := range res.Errors {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		if isIOError(err) {
			io++
		}
	}
	switch {
	case io > 0:
		return &exitError{code: exitUsage, err: fmt.Errorf("%d of %d files could not be read", io, res.Files)}
	case res.Damaged > 0 || len(res.Errors) > 0:
		return errDamage
	}
	return nil
}

// isIOError reports whether err is a failure to open or read a file
// rather than damage found in it.
func isIOError(err error) bool {
	if fe, ok := format.AsError(err); ok {
		return fe.Kind == format.KindIO
	}
	var pe *fs.PathError
	var errno syscall.Errno
	return errors.As(err, &pe) || errors.As(err, &errno)
}

func newCatCmd() *cobra.Command {
	var ff rowFilterFlags
	var outFormat string
	var showPos bool
	cmd := &cobra.Command{
		Use:   "cat FILE|DIR...",
		Short: "Print the rows of .xlog/.snap/.vylog files",
		Long: `Print the rows of Tarantool log files as YAML documents, JSON lines or Lua
statements. Directories contribute every .snap, .xlog and .vylog file, in
the order of the vclocks in their headers (a snapshot before the xlog that
starts at it); a file reached twice is read once.

Bounds: --from is inclusive, --to and --timestamp are exclusive (as in tt cat).
Rows of system spaces (ids below 512) are hidden unless --show-system or --space
selects them; rows without a space (NOP, RAFT, PROMOTE, CONFIRM, ...) are shown.

Exit status: 0 when every file was read, 1 when damage was found (with --force
after skipping it), 2 on usage or I/O errors.`,
		Example: `  xlogtool cat 00000000000000000000.xlog
  xlogtool cat --format json --show-system data/
  xlogtool cat --type PROMOTE,CONFIRM,ROLLBACK --show-pos wal_dir/
  xlogtool cat --timestamp 2024-11-14T14:02:36Z --replica 1 --space 512 x.xlog`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fmtv, err := render.ParseFormat(outFormat)
			if err != nil {
				return usageError("%v", err)
			}
			flt, err := ff.filter()
			if err != nil {
				return err
			}
			files, err := ff.files(args)
			if err != nil {
				return err
			}
			out := bufio.NewWriterSize(os.Stdout, 256<<10)
			defer out.Flush()
			pr := render.NewPrinter(out, render.Options{Format: fmtv, ShowPos: showPos})
			bar := progress.New(os.Stderr, progress.IsTerminal(os.Stderr) && !progress.IsTerminal(os.Stdout),
				"cat", totalSize(files))
			defer bar.Done()
			var doneBytes int64
			var rows int
			var cur *format.Reader
			res, err := format.ScanFiles(files, format.ScanOptions{
				Force:   ff.force,
				Filter:  flt,
				OnIssue: reportIssue,
				OnFile: func(ref format.FileRef, r *format.Reader) error {
					cur = r
					return nil
				},
				OnFileEnd: func(ref format.FileRef, r *format.Reader) error {
					doneBytes += r.Offset()
					return pr.EndFile()
				},
				// Whole blocks are printed on the goroutines that
				// decompress them, written here in order.
				Ahead: func(ref format.FileRef, b *format.Block, flt *format.Filter) (any, int) {
					return pr.Ahead(ref.Path, b, flt)
				},
				OnAhead: func(ref format.FileRef, res any) error {
					bar.Set(doneBytes + cur.Offset())
					return pr.WriteAhead(res)
				},
			}, func(ref format.FileRef, r *format.Row) error {
				rows++
				if rows&0xfff == 0 {
					bar.Set(doneBytes + r.Pos.Block)
				}
				return pr.Row(ref.Path, r)
			})
			if err != nil {
				return err
			}
			if err := out.Flush(); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			return finishScan(res)
		},
	}
	ff.register(cmd, "show")
	cmd.Flags().StringVar(&outFormat, "format", "yaml", "output format: yaml, json or lua")
	cmd.Flags().BoolVar(&showPos, "show-pos", false, "show each row's file, block offset, row index and byte offset")
	return cmd
}
