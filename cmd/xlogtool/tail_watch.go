package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/tail"
	"github.com/xlogtool/xlogtool/verify"
)

// watcher keeps the live table of tail --watch: per source its position,
// lag, queue state and rate, and the alerts verify's checks raise.
type watcher struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	asJSON bool
	live   *verify.Live
	srcs   []*watchSource
	alerts []string // the last alerts, for the terminal view
	last   string   // the last table printed when piped
	err    error
}

type watchSource struct {
	name      string
	connected bool
	vclock    format.VClock
	lastTS    float64
	rows      int64
	prevRows  int64
	prevAt    time.Time
	rate      float64
	synchro   string // the last CONFIRM/ROLLBACK/PROMOTE/DEMOTE
	version   string
}

const watchAlertsShown = 12

func newWatcher(w io.Writer, tty, asJSON bool, sources []tail.Source) *watcher {
	wt := &watcher{w: w, tty: tty && !asJSON, asJSON: asJSON, live: verify.NewLive()}
	for _, s := range sources {
		wt.srcs = append(wt.srcs, &watchSource{name: s.Name, prevAt: time.Now()})
	}
	return wt
}

func (wt *watcher) source(name string) *watchSource {
	for _, s := range wt.srcs {
		if s.name == name {
			return s
		}
	}
	return nil
}

// handler returns the stream handler of one source.
func (wt *watcher) handler(name string) tail.Handler { return &watchHandler{wt: wt, name: name} }

type watchHandler struct {
	wt   *watcher
	name string
}

func (h *watchHandler) Connected(info tail.Info, reconnect bool) error {
	wt := h.wt
	wt.mu.Lock()
	defer wt.mu.Unlock()
	s := wt.source(h.name)
	s.connected, s.version = true, info.Version.String()
	if s.vclock.IsEmpty() {
		s.vclock = info.Start
	}
	wt.live.Start(h.name, s.version, info.Start, info.Start.IsEmpty())
	wt.live.Schema(h.name, info.Spaces)
	return wt.err
}

func (h *watchHandler) Tx(tx *tail.Tx) error {
	if tx.Kind != tail.KindStream {
		return nil // the server's data (--snapshot) is not a stream
	}
	wt := h.wt
	wt.mu.Lock()
	defer wt.mu.Unlock()
	s := wt.source(h.name)
	for _, r := range tx.Rows {
		for _, f := range wt.live.Row(h.name, r) {
			wt.alert(f)
		}
		s.rows++
		if r.Timestamp != 0 {
			s.lastTS = r.Timestamp
		}
		if r.Type.IsSynchro() {
			if syn, err := r.Synchro(); err == nil {
				s.synchro = fmt.Sprintf("%s %d:%d by %d", r.Type, syn.ReplicaID, syn.LSN, r.ReplicaID)
				if r.Type == box.TypePromote || r.Type == box.TypeDemote {
					s.synchro += fmt.Sprintf(" term %d", syn.Term)
				}
			}
		}
	}
	s.vclock = tx.VClock
	return wt.err
}

// alert prints (or keeps, on a terminal) one finding.
func (wt *watcher) alert(f *verify.Finding) {
	now := time.Now().UTC().Format(time.TimeOnly)
	switch {
	case wt.asJSON:
		b, err := json.Marshal(struct {
			Type    string          `json:"type"`
			Time    string          `json:"time"`
			Finding *verify.Finding `json:"finding"`
		}{"alert", time.Now().UTC().Format(time.RFC3339Nano), f})
		if err == nil {
			wt.write(string(b) + "\n")
		}
	case wt.tty:
		wt.alerts = append(wt.alerts, now+" "+alertText(f))
		if len(wt.alerts) > watchAlertsShown {
			wt.alerts = wt.alerts[len(wt.alerts)-watchAlertsShown:]
		}
	default:
		wt.write(now + " ALERT " + alertText(f) + "\n")
	}
}

func alertText(f *verify.Finding) string {
	who := f.Instance
	if len(f.Instances) > 0 {
		who = strings.Join(f.Instances, ", ")
	}
	return fmt.Sprintf("[%s %s] %s: %s", f.Severity, f.Kind, who, f.Message)
}

func (wt *watcher) write(s string) {
	if wt.err == nil {
		_, wt.err = io.WriteString(wt.w, s)
	}
}

// refresh redraws the table (terminal), prints it when it changed (pipe),
// or prints a status line per source (JSON).
func (wt *watcher) refresh() {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	now := time.Now()
	var top format.VClock
	var topTS float64
	for _, s := range wt.srcs {
		top = top.Max(s.vclock)
		topTS = max(topTS, s.lastTS)
		if dt := now.Sub(s.prevAt).Seconds(); dt >= 0.5 {
			s.rate = float64(s.rows-s.prevRows) / dt
			s.prevRows, s.prevAt = s.rows, now
		}
	}
	if wt.asJSON {
		for _, s := range wt.srcs {
			st := wt.live.State(s.name)
			lagLSN, lagSec := lag(s, top, topTS)
			b, err := json.Marshal(map[string]any{
				"type": "source", "time": now.UTC().Format(time.RFC3339Nano), "source": s.name,
				"connected": s.connected, "vclock": s.vclock, "lag_lsn": lagLSN, "lag_seconds": lagSec,
				"queue_owner": st.Owner, "queue_term": st.Term, "pending_sync": st.PendingSync,
				"last_synchro": s.synchro, "rows_per_second": s.rate,
			})
			if err == nil {
				wt.write(string(b) + "\n")
			}
		}
		return
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tVCLOCK\tLAG LSN\tLAG S\tOWNER\tTERM\tPENDING\tLAST SYNCHRO\tROWS/S")
	for _, s := range wt.srcs {
		st := wt.live.State(s.name)
		lagLSN, lagSec := lag(s, top, topTS)
		name := s.name
		if !s.connected {
			name += " (connecting)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%s\t%s\n", name, s.vclock, lagLSN,
			strconv.FormatFloat(lagSec, 'f', 1, 64), st.Owner, st.Term, st.PendingSync, dash(s.synchro),
			strconv.FormatFloat(s.rate, 'f', 0, 64))
	}
	tw.Flush()
	table := b.String()
	if wt.tty {
		var out strings.Builder
		out.WriteString("\x1b[H\x1b[J")
		out.WriteString(table)
		if len(wt.alerts) > 0 {
			out.WriteString("\nALERTS\n")
			for _, a := range wt.alerts {
				out.WriteString(a + "\n")
			}
		}
		wt.write(out.String())
		return
	}
	// Piped: the table when it changed, rates aside.
	key := stripRates(table)
	if key != wt.last {
		wt.last = key
		wt.write(now.UTC().Format(time.TimeOnly) + "\n" + table + "\n")
	}
}

func lag(s *watchSource, top format.VClock, topTS float64) (uint64, float64) {
	var n uint64
	top.Each(func(id uint32, lsn uint64) {
		if id != 0 && lsn > s.vclock.Get(id) {
			n += lsn - s.vclock.Get(id)
		}
	})
	sec := 0.0
	if s.lastTS != 0 && topTS > s.lastTS {
		sec = topTS - s.lastTS
	}
	return n, sec
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// stripRates drops the ROWS/S column, which changes with every refresh.
func stripRates(table string) string {
	var b strings.Builder
	for _, line := range strings.Split(table, "\n") {
		if i := strings.LastIndexByte(strings.TrimRight(line, " "), ' '); i > 0 {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// ticker refreshes the view every interval until the returned function
// is called, which refreshes it a last time.
func (wt *watcher) ticker(every time.Duration) func() {
	if every <= 0 {
		every = time.Second
	}
	stop := repeat(every, wt.refresh)
	return func() {
		stop()
		wt.refresh()
	}
}
