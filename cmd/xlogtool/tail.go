package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/progress"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/render"
	"github.com/xlogtool/xlogtool/tail"
)

func init() { extraCommands = append(extraCommands, newTailCmd) }

func newTailCmd() *cobra.Command {
	var ff rowFilterFlags
	var user, password, outFormat, fromVClock string
	var follow, snapshot, quiet, watch, watchJSON bool
	var interval time.Duration
	var timeout time.Duration
	var archiveDir string
	var archiveSize, archiveRows int64
	cmd := &cobra.Command{
		Use:   "tail [flags] URI...",
		Short: "Print a live server's replication stream",
		Long: `Connect to each server as an anonymous replica and print the rows of its
write-ahead log as they are written, in cat's formats and with cat's filters:
a row from the stream prints exactly as the same row read from the server's
.xlog by cat. The server is never written to and never lists tail among its
replicas; tail's acknowledgements never count in its synchronous quorum.

Where to start: --from-vclock (Tarantool's text form {1: 10, 2: 5} or JSON;
'{}' = from the oldest row the server still has); by default the server's
vclock at connect, so only new rows. --snapshot first prints the server's data
(as INSERT rows without LSN) and streams from the data's vclock.

When to stop: without -f, once every row up to the vclock the server reported
at connect has arrived. With -f, until SIGINT or SIGTERM; a lost connection is
re-established with backoff and the stream resumes after the last complete
transaction (no row twice, none missed).

URI: host:port, port, user:password@host:port, tcp://..., or the path of a
Unix socket; NAME=URI names the source (default: the URI without
credentials). With several URIs every row carries a SOURCE entry. The user
needs the replication role (read on universe); the user and password may also
come from --user/--password or $XLOGTOOL_USERNAME/$XLOGTOOL_PASSWORD.

--archive DIR also writes every transaction into Tarantool xlog files in DIR,
as a replica writes its WAL (the server's instance UUID, the VClock/PrevVClock
chain, names by vclock signature, a new file between transactions after
--archive-max-size bytes or --archive-max-rows rows, fsync when a file is
closed, NAME.inprogress until then). Run again on the same DIR, tail resumes
where the archive ends, also after being killed. The server's snapshot plus
the archive recover the server's state (see docs/tail.md).

--watch follows every source (implies -f) and shows, instead of rows, a table
that updates in place on a terminal: per source its vclock, its lag behind the
most advanced source (LSNs and seconds), the synchronous queue owner and
term, pending synchronous transactions, the last CONFIRM/ROLLBACK/PROMOTE/
DEMOTE and rows/s; below it the alerts of verify's checks as they happen: the
same (replica id, LSN) with different content on two sources, a transaction
confirmed on one source and rolled back on another, CONFIRM/ROLLBACK from a
node that does not own the queue, stale or regressing terms. Piped, the table
is printed as plain text when it changes and alerts as lines; --json prints
JSON lines instead.

Exit status: 0 when the stream ended as asked, 2 on usage errors and when a
server cannot be reached, refuses the subscription or breaks the stream
(without -f).`,
		Example: `  xlogtool tail repl:secret@localhost:3301
  xlogtool tail -f --format json --space 512 repl:secret@10.0.0.5:3301
  xlogtool tail --from-vclock '{1: 100}' --type CONFIRM,ROLLBACK localhost:3301
  xlogtool tail -f i1=repl:secret@host1:3301 i2=repl:secret@host2:3301`,
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
			fl := cmd.Flags()
			sources, err := tailSources(args, user, password, fl.Changed("user"), fl.Changed("password"))
			if err != nil {
				return err
			}
			opts := tail.Options{Follow: follow, Snapshot: snapshot, DialTimeout: timeout, Log: cmd.ErrOrStderr()}
			if fl.Changed("from-vclock") {
				if snapshot {
					return usageError("--from-vclock and --snapshot exclude each other")
				}
				vc, err := format.ParseVClock(fromVClock)
				if err != nil {
					return usageError("--from-vclock: %v", err)
				}
				opts.From = &vc
			}
			var archive *tail.Archive
			if archiveDir != "" {
				if len(sources) != 1 {
					return usageError("--archive takes exactly one URI (one archive per server)")
				}
				archive, err = tail.OpenArchive(archiveDir, tail.ArchiveOptions{MaxSize: archiveSize, MaxRows: archiveRows})
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				if vc, ok := archive.Position(); ok {
					if opts.From != nil || snapshot {
						return usageError("archive %s resumes after %s: --from-vclock and --snapshot do not apply", archiveDir, vc)
					}
					opts.From = &vc
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() { <-ctx.Done(); stop() }() // a second signal kills

			var wt *watcher
			if watch {
				opts.Follow, opts.Schema = true, true
				wt = newWatcher(cmd.OutOrStdout(), progress.IsTerminal(os.Stdout), watchJSON, sources)
			} else if watchJSON {
				return usageError("--json goes with --watch (rows are printed with --format json)")
			}
			out := &tailOutput{w: bufio.NewWriterSize(cmd.OutOrStdout(), 256<<10), filter: flt, named: len(sources) > 1}
			out.pr = render.NewPrinter(out.w, render.Options{Format: fmtv})
			flushDone := out.flusher(200 * time.Millisecond)
			if wt != nil {
				stopWatch := wt.ticker(interval)
				defer stopWatch()
			}
			errs := make([]error, len(sources))
			var wg sync.WaitGroup
			for i, src := range sources {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var h tail.Handler = &tailHandler{out: out, src: src, log: cmd.ErrOrStderr(), archive: archive, quiet: quiet}
					if wt != nil {
						h = &tailHandler{out: out, src: src, log: cmd.ErrOrStderr(), archive: archive, quiet: true, watch: wt.handler(src.Name)}
					}
					errs[i] = tail.New(src, opts, h).Run(ctx)
				}()
			}
			wg.Wait()
			flushDone()
			if archive != nil {
				if err := archive.Close(); err != nil {
					errs = append(errs, err)
				}
			}
			if err := out.finish(); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			if err := errors.Join(errs...); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			return nil
		},
	}
	ff.register(cmd, "show")
	fl := cmd.Flags()
	fl.MarkHidden("recursive")
	fl.MarkHidden("force")
	fl.StringVar(&outFormat, "format", "yaml", "output format: yaml, json or lua")
	fl.StringVar(&fromVClock, "from-vclock", "", "start after this vclock ('{}': from the oldest row the server has; default: the server's vclock)")
	fl.BoolVarP(&follow, "follow", "f", false, "keep streaming (and reconnecting) until interrupted")
	fl.BoolVar(&snapshot, "snapshot", false, "print the server's data first (FETCH_SNAPSHOT), then stream from its vclock")
	fl.StringVarP(&user, "user", "u", "", "user to authenticate as (default: from the URI or $"+envUser+", else guest)")
	fl.StringVarP(&password, "password", "p", "", "password (default: from the URI or $"+envPassword+")")
	fl.StringVar(&archiveDir, "archive", "", "also write every transaction into xlog files in DIR (resumes an existing archive)")
	fl.Int64Var(&archiveSize, "archive-max-size", tail.DefaultArchiveMaxSize, "start a new archive file after this many bytes of rows")
	fl.Int64Var(&archiveRows, "archive-max-rows", 0, "start a new archive file after this many rows (0: no limit)")
	fl.BoolVarP(&quiet, "quiet", "q", false, "print no rows (with --archive)")
	fl.BoolVar(&watch, "watch", false, "instead of rows, a live table per source (vclock, lag, queue owner and term, pending, last CONFIRM/ROLLBACK, rows/s) and verify's alerts; implies -f")
	fl.BoolVar(&watchJSON, "json", false, "with --watch: JSON lines (a status line per source every --interval, an alert line per finding)")
	fl.DurationVar(&interval, "interval", time.Second, "with --watch: how often the table is refreshed")
	fl.DurationVar(&timeout, "timeout", 10*time.Second, "bound for connecting and authenticating")
	return cmd
}

// tailSources parses the URI arguments, NAME=URI naming a source.
func tailSources(args []string, user, password string, userSet, passwordSet bool) ([]tail.Source, error) {
	var out []tail.Source
	names := map[string]bool{}
	for _, arg := range args {
		name, uri := "", arg
		if n, u, ok := strings.Cut(arg, "="); ok && !strings.ContainsAny(n, "/@:") {
			name, uri = n, u
		}
		t, err := client.ParseURI(uri)
		if err != nil {
			msg := err.Error()
			if at := strings.LastIndexByte(uri, '@'); at >= 0 {
				// never print a password
				msg = strings.ReplaceAll(msg, uri[:at], "***")
			}
			return nil, usageError("%s", msg)
		}
		u, p, err := playCredentials(t, user, password, userSet, passwordSet)
		if err != nil {
			return nil, err
		}
		if name == "" {
			name = t.String()
		}
		if names[name] {
			return nil, usageError("source %q is given twice", name)
		}
		names[name] = true
		out = append(out, tail.Source{Name: name, Addr: t.Addr, User: u, Password: p})
	}
	return out, nil
}

// tailOutput prints the rows of every source, one transaction at a time.
type tailOutput struct {
	mu     sync.Mutex
	w      *bufio.Writer
	pr     *render.Printer
	filter *format.Filter
	named  bool
	err    error
}

func (o *tailOutput) tx(src string, tx *tail.Tx) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	if o.named {
		o.pr.SetSource(src)
	}
	for _, r := range tx.Rows {
		if !o.filter.Match(r) {
			continue
		}
		if err := o.pr.Row(src, r); err != nil {
			o.err = err
			return err
		}
	}
	return nil
}

// flusher flushes the output periodically so a followed stream shows up
// at once; the returned function stops it.
func (o *tailOutput) flusher(every time.Duration) func() {
	return repeat(every, func() {
		o.mu.Lock()
		if o.err == nil && o.w.Buffered() > 0 {
			o.err = o.w.Flush()
		}
		o.mu.Unlock()
	})
}

// repeat calls fn every interval on a goroutine of its own until the
// returned function is called.
func repeat(every time.Duration, fn func()) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (o *tailOutput) finish() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	if err := o.pr.EndFile(); err != nil {
		return err
	}
	return o.w.Flush()
}

// tailHandler connects one stream to the output.
type tailHandler struct {
	out     *tailOutput
	src     tail.Source
	log     io.Writer
	archive *tail.Archive
	quiet   bool
	info    tail.Info
	watch   tail.Handler // --watch
}

func (h *tailHandler) Connected(info tail.Info, reconnect bool) error {
	h.info = info
	if h.watch != nil {
		if err := h.watch.Connected(info, reconnect); err != nil {
			return err
		}
	}
	if h.archive != nil {
		if err := h.archive.Check(info); err != nil {
			return err
		}
	}
	if reconnect {
		fmt.Fprintf(h.log, "%s: reconnected (server %s, replica id %d, vclock %s)\n",
			h.src.Name, info.InstanceUUID, info.ReplicaID, info.Target)
	}
	return nil
}

func (h *tailHandler) Tx(tx *tail.Tx) error {
	if h.archive != nil {
		if err := h.archive.Write(tx, h.info); err != nil {
			return err
		}
	}
	if h.watch != nil {
		if err := h.watch.Tx(tx); err != nil {
			return err
		}
	}
	if h.quiet {
		return nil
	}
	return h.out.tx(h.src.Name, tx)
}
