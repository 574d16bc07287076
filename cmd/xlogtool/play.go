package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/progress"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/play"
	"github.com/xlogtool/xlogtool/render"
)

func init() { extraCommands = append(extraCommands, newPlayCmd) }

// Environment variables with the credentials for play: ours, then tt's.
const (
	envUser       = "XLOGTOOL_USERNAME"
	envPassword   = "XLOGTOOL_PASSWORD"
	envTTUser     = "TT_CLI_USERNAME"
	envTTPassword = "TT_CLI_PASSWORD"
)

// getenv returns the first variable of names that is set, and its name.
func getenv(names ...string) (value, name string) {
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok && v != "" {
			return v, n
		}
	}
	return "", ""
}

// plural writes a count with its noun: "1 row", "2 rows".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// identity names the user play authenticates as and where it comes from.
func identity(t client.URI, user string, userSet bool) string {
	switch {
	case user == "":
		return "guest"
	case t.HasUser:
		return user
	case userSet:
		return user + " (--user)"
	}
	_, from := getenv(envUser, envTTUser)
	return fmt.Sprintf("%s ($%s)", user, from)
}

// playCredentials picks the user and password: from the URI, else the
// flags, else the environment.
func playCredentials(t client.URI, user, password string, userSet, passwordSet bool) (string, string, error) {
	if t.HasUser && userSet {
		return "", "", usageError("the user is given both in the URI and with --user")
	}
	if t.HasPassword && passwordSet {
		return "", "", usageError("the password is given both in the URI and with --password")
	}
	switch {
	case t.HasUser:
		user = t.User
	case !userSet:
		user, _ = getenv(envUser, envTTUser)
	}
	switch {
	case t.HasPassword:
		password = t.Password
	case !passwordSet:
		password, _ = getenv(envPassword, envTTPassword)
	}
	if user == "" && password != "" {
		return "", "", usageError("a password is given but no user (--user, user@ in the URI, $%s or $%s)", envUser, envTTUser)
	}
	return user, password, nil
}

func newPlayCmd() *cobra.Command {
	var ff rowFilterFlags
	var user, password, statePath, outFormat string
	var dryRun, noStreams bool
	var window int
	var syncSpaces []uint
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "play URI FILE|DIR...",
		Short: "Apply the rows of .xlog/.snap files to a live Tarantool",
		Long: `Apply the data rows (INSERT, REPLACE, UPDATE, DELETE, UPSERT) of Tarantool log
and snapshot files to a running Tarantool over IPROTO, like tt play, with the
same filters as cat. Directories contribute their files in vclock-signature
order. Rows of system spaces (ids below 512) are not played unless
--show-system or --space selects them, as in tt play: create the spaces on the
target first. Rows read twice (the same log under two names) are played once;
a snapshot without its EOF marker is not played.

Unlike tt play:
  - only committed transactions are applied: those the synchronous queue
    rolled back, and those still waiting for a quorum where the logs end, are
    skipped; for logs written before Tarantool 2.6.3, synchronous spaces are
    learnt from the _space rows in the files (--sync-space names others);
  - NOP, RAFT, PROMOTE, DEMOTE, CONFIRM and ROLLBACK rows are never sent;
  - a multi-row transaction is applied atomically in an IPROTO stream
    (BEGIN, rows, COMMIT) on Tarantool 2.10+; older servers have no streams,
    so it is applied row by row there and is left half-applied if one of
    its rows is rejected (a note says so when it happens);
  - requests are pipelined (--window of them await their answer at once);
  - the first rejected request stops the play, naming the file, offset and
    LSN and the server's error; with --state FILE, the position reached is
    saved and a second run with the same FILE applies nothing twice, also
    after a lost connection (the target's vclock tells how many requests it
    executed without an answer; see docs/play.md).

URI: host:port, port, user:password@host:port, tcp://..., or the path of a
Unix socket (/path, ./path, unix/:/path). The user and password may also come
from --user/--password or $XLOGTOOL_USERNAME/$XLOGTOOL_PASSWORD.

Exit status: 0 when everything selected was applied, 1 when a request was
rejected or left unanswered, or a file is damaged (the rows before the damage
are applied), 2 on usage errors and when the server cannot be reached.`,
		Example: `  xlogtool play localhost:3301 /var/lib/tarantool/i1/
  xlogtool play --state play.state admin:secret@10.0.0.5:3301 00000000000000000042.xlog
  xlogtool play --dry-run --format json --space 512 localhost:3301 wal_dir/
  XLOGTOOL_USERNAME=admin XLOGTOOL_PASSWORD=secret xlogtool play /run/tarantool/i1.sock wal_dir/`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := client.ParseURI(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			fl := cmd.Flags()
			userSet := fl.Changed("user") || fl.Changed("username")
			user, password, err := playCredentials(target, user, password, userSet, fl.Changed("password"))
			if err != nil {
				return err
			}
			who := identity(target, user, userSet)
			flt, err := ff.filter()
			if err != nil {
				return err
			}
			files, err := ff.files(args[1:])
			if err != nil {
				return err
			}
			fmtv, err := render.ParseFormat(outFormat)
			if err != nil {
				return usageError("%v", err)
			}
			if window < 1 {
				return usageError("--window must be at least 1")
			}
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() { <-ctx.Done(); stop() }() // a second signal kills

			opts := play.Options{
				Filter: flt, Force: ff.force, Window: window, NoStreams: noStreams,
				DryRun: dryRun, StatePath: statePath, Timeout: timeout,
			}
			for _, id := range syncSpaces {
				opts.SyncSpaces = append(opts.SyncSpaces, uint32(id))
			}
			var conn *client.Conn
			if !dryRun {
				conn, err = client.Dial(ctx, target.Addr, client.Options{User: user, Password: password, Timeout: timeout})
				if err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("cannot connect to %s: %w", target, err)}
				}
				defer conn.Close()
				if user == "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "note: connected as guest: no user in the URI, --user, $%s or $%s\n", envUser, envTTUser)
				}
			}

			bar := progress.New(stderr, isTerminal(stderr) && !(dryRun && isTerminal(stdout)), "play", totalSize(files))
			defer bar.Done()
			opts.OnProgress = bar.Set
			opts.OnIssue = func(e *format.Error) { bar.Done(); reportIssue(e) }
			opts.OnNotice = func(msg string) { bar.Done(); fmt.Fprintln(stderr, "note:", msg) }
			// A dry run prints the rows as cat --show-pos does.
			out := bufio.NewWriterSize(stdout, 256<<10)
			pr := render.NewPrinter(out, render.Options{Format: fmtv, ShowPos: true})
			last := ""
			opts.Print = func(file string, r *format.Row) error {
				if file != last && last != "" {
					if err := pr.EndFile(); err != nil {
						return err
					}
				}
				last = file
				return pr.Row(file, r)
			}

			p, err := play.New(conn, opts)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			sum, err := p.Play(ctx, files)
			bar.Done()
			summaryOut := stdout
			if dryRun {
				summaryOut = stderr
				if last != "" {
					pr.EndFile()
				}
				if ferr := out.Flush(); ferr != nil && err == nil {
					err = ferr
				}
			}
			if err == nil || playStopped(err) {
				printPlaySummary(summaryOut, &sum, conn, statePath, who)
			}
			return playExit(err, &sum, statePath)
		},
	}
	ff.register(cmd, "play")
	fl := cmd.Flags()
	fl.StringVarP(&user, "user", "u", "", "user to authenticate as (default: from the URI or $"+envUser+", else guest)")
	fl.StringVar(&user, "username", "", "same as --user")
	fl.MarkHidden("username")
	fl.StringVarP(&password, "password", "p", "", "password (default: from the URI or $"+envPassword+")")
	fl.StringVar(&statePath, "state", "", "keep the position reached in this file and resume from it (default: none)")
	fl.BoolVar(&dryRun, "dry-run", false, "print the rows that would be sent (as cat --show-pos does) and send nothing")
	fl.StringVar(&outFormat, "format", "yaml", "--dry-run output format: yaml, json or lua")
	fl.IntVar(&window, "window", play.DefaultWindow, "requests awaiting their answer at once (1: one at a time)")
	fl.BoolVar(&noStreams, "no-streams", false, "apply multi-row transactions row by row even on servers with streams")
	fl.UintSliceVar(&syncSpaces, "sync-space", nil, "treat this space id as synchronous (repeatable; for logs before 2.6.3)")
	fl.DurationVar(&timeout, "timeout", time.Minute, "bound on connecting and on the wait for each answer")
	noDefault(fl, "sync-space")
	return cmd
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && progress.IsTerminal(f)
}

// printPlaySummary tells what was applied and skipped.
func printPlaySummary(w io.Writer, s *play.Summary, conn *client.Conn, statePath, who string) {
	how := ""
	switch {
	case s.TxMultiRow == 0 || s.DryRun:
	case s.Atomic:
		how = ", each atomically in a stream"
	default:
		how = ", row by row"
	}
	verb := "applied"
	if s.DryRun {
		verb = "would apply"
		fmt.Fprint(w, "dry run, nothing sent: ")
	} else if conn != nil {
		fmt.Fprintf(w, "played into %s (Tarantool %s) as %s: ", conn.RemoteAddr(), conn.Version(), who)
	}
	fmt.Fprintf(w, "%s, %s read in %s\n", plural(int64(s.Files), "file"), plural(s.RowsRead, "row"), s.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "%s: %s, %s (%s%s)\n",
		verb, plural(s.TxApplied, "transaction"), plural(s.RowsApplied, "row"), plural(s.TxMultiRow, "multi-row transaction"), how)
	var skipped []string
	add := func(n int64, what string) {
		if n > 0 {
			skipped = append(skipped, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(s.TxRolledBack, "transactions rolled back by the synchronous queue")
	add(s.TxPending, "transactions still waiting for a quorum where the logs end")
	add(s.TxIncomplete, "transactions without their last row")
	add(s.TxHeadless, "transactions without their first rows (not applied)")
	add(s.TxAlreadyApplied, "transactions applied by an earlier run")
	add(s.TxCovered, "transactions already held by a file played before them")
	add(s.RowsDuplicate, "rows read a second time (the same rows in two files)")
	if s.RowsFiltered > 0 {
		skipped = append(skipped, fmt.Sprintf("%d rows left out by the filter (system spaces unless --show-system)", s.RowsFiltered))
	}
	add(s.TxFiltered, "transactions with no row to play")
	if len(skipped) > 0 {
		fmt.Fprintf(w, "skipped: %s\n", strings.Join(skipped, ", "))
	}
	if len(s.NotSent) > 0 {
		types := make([]box.RowType, 0, len(s.NotSent))
		for t := range s.NotSent {
			types = append(types, t)
		}
		sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
		parts := make([]string, len(types))
		for i, t := range types {
			parts[i] = fmt.Sprintf("%d %s", s.NotSent[t], t)
		}
		fmt.Fprintf(w, "not sent: %s\n", strings.Join(parts, ", "))
	}
	if !s.DryRun {
		fmt.Fprintf(w, "position: %s", s.Resume)
		if statePath != "" {
			fmt.Fprintf(w, " (saved in %s)", statePath)
		}
		fmt.Fprintln(w)
	}
}

// playStopped reports whether err stopped a play under way: a request
// failed, a file is damaged, or the user interrupted it.
func playStopped(err error) bool {
	var re *play.RequestError
	var rd *play.ReadError
	return errors.As(err, &re) || errors.As(err, &rd) || errors.Is(err, context.Canceled)
}

// playExit turns the outcome of a play into the exit status and message.
func playExit(err error, s *play.Summary, statePath string) error {
	code := exitDamage
	var rd *play.ReadError
	if errors.As(err, &rd) && isIOError(rd.Err) {
		code = exitUsage // a file that cannot be read, as in every command
	}
	switch {
	case err == nil:
		return nil
	case !playStopped(err):
		return &exitError{code: exitUsage, err: err}

	case errors.Is(err, context.Canceled):
		err = errors.New("interrupted")
	}
	var b strings.Builder
	if s.DryRun {
		// Nothing was sent: no position to keep, nothing applied twice.
		fmt.Fprintf(&b, "dry run stopped: %v\n", err)
		fmt.Fprintf(&b, "  would have applied before stopping: %s, %s", plural(s.TxApplied, "transaction"), plural(s.RowsApplied, "row"))
		return &exitError{code: code, err: errors.New(b.String())}
	}
	fmt.Fprintf(&b, "play stopped: %v\n", err)
	fmt.Fprintf(&b, "  applied before stopping: %s, %s; position %s\n",
		plural(s.TxApplied, "transaction"), plural(s.RowsApplied, "row"), s.Resume)
	if s.TxAfterFailure > 0 {
		fmt.Fprintf(&b, "  %d of those transactions were already sent when the server rejected the request, and come after it\n",
			s.TxAfterFailure)
	}
	if s.TxPartial > 0 {
		fmt.Fprintf(&b, "  transactions left half-applied (applied row by row): %d", s.TxPartial)
		if statePath != "" {
			b.WriteString("; the state file lists their rows applied")
		}
		b.WriteString("\n")
	}
	if s.Unanswered > 0 {
		fmt.Fprintf(&b, "  %d requests got no answer: whether they were applied is unknown", s.Unanswered)
		if statePath != "" {
			b.WriteString("; the next run with this state file finds out from the target's vclock")
		}
		b.WriteString("\n")
	}
	if statePath != "" {
		fmt.Fprintf(&b, "  the position is saved in %s: run the same command again to resume", statePath)
	} else {
		b.WriteString("  no --state file: running again would apply again what was applied")
	}
	return &exitError{code: code, err: errors.New(b.String())}
}
