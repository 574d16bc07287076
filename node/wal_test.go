package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/verify"
)

// The WAL moves to a new file between transactions once a file exceeds
// wal_max_size; each file names the previous one's vclock as PrevVClock.
// Tarantool's own reader reads every file to the rows ours reads, and
// verify finds nothing wrong in the directory.
func TestWALRotation(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.WALMaxSize = 1 << 10
	n := startNode(t, cfg)
	c := dial(t, n.Addr())
	call(t, c, "box.schema.space.create", "r")
	call(t, c, "box.space.r:create_index", "pk")
	id := spaceID(t, c, "r")
	// Rounds of pipelined requests: each round is one or a few batches.
	for round := 0; round < 8; round++ {
		var futs []*client.Future
		for i := round * 100; i < (round+1)*100; i++ {
			futs = append(futs, c.Send(iprotoReplace(id, []any{i, fmt.Sprintf("row %d", i)})))
		}
		for _, f := range futs {
			if resp, err := f.Wait(ctx(t)); err != nil || resp.Err() != nil {
				t.Fatal(err, resp.Err())
			}
		}
	}
	c.Close()
	n.Close()
	_, xlogs, err := dirFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(xlogs) < 3 {
		t.Fatalf("%d xlogs, want the WAL to rotate", len(xlogs))
	}
	var prev *format.Meta
	for _, x := range xlogs {
		m, err := readMeta(x.Path)
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && (!m.HasPrevVClock || !m.PrevVClock.Equal(prev.VClock)) {
			t.Errorf("%s: PrevVClock %s, previous file starts at %s", x.Path, m.PrevVClock, prev.VClock)
		}
		if format.FileName(format.TypeXLOG, m.VClock) != baseName(x.Path) {
			t.Errorf("%s is named against its vclock %s", x.Path, m.VClock)
		}
		prev = m
		oracle := tarantooltest.Oracle(t, x.Path)[0]
		ours := ourRows(t, x.Path)
		if len(oracle) != len(ours) {
			t.Fatalf("%s: Tarantool reads %d rows, we read %d", x.Path, len(oracle), len(ours))
		}
		for i := range ours {
			var o struct {
				HEADER struct {
					LSN  uint64 `json:"lsn"`
					Type string `json:"type"`
				}
			}
			if err := json.Unmarshal([]byte(oracle[i]), &o); err != nil {
				t.Fatalf("%s: %v", oracle[i], err)
			}
			if o.HEADER.LSN != ours[i].lsn || o.HEADER.Type != ours[i].typ {
				t.Errorf("%s row %d: Tarantool %s LSN %d, ours %s LSN %d", x.Path, i, o.HEADER.Type, o.HEADER.LSN, ours[i].typ, ours[i].lsn)
			}
		}
	}
	rep, err := verify.Run(context.Background(), []verify.Source{{Name: "node", Dir: dir}}, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Errors+rep.Counts.Warnings != 0 {
		for _, f := range rep.Findings {
			t.Errorf("verify: %+v", *f)
		}
	}
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

type rowID struct {
	lsn uint64
	typ string
}

// ourRows returns the LSN and type of a file's rows as our reader reads
// them.
func ourRows(t *testing.T, path string) []rowID {
	t.Helper()
	var out []rowID
	eachRow(t, path, func(row *format.Row) {
		out = append(out, rowID{row.Header.LSN, row.Header.Type.String()})
	})
	return out
}

// Goroutines that queue entries and write them themselves (flush), the
// writer goroutine and a close racing with them: every entry gets one
// outcome, the written ones are in the file in LSN order, and none
// queued after the close is written.
func TestWALLeadersAndClose(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(walOptions{dir: dir, instance: newUUID(), version: "2.6.0", maxSize: 1 << 30, log: NewLogger(nil)}, format.VClock{}, nil)
	var mu sync.Mutex // orders LSNs with queueing, as Node.mu does
	lsn := uint64(0)
	const writers, each = 4, 300
	results := make(chan error, writers*each)
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				mu.Lock()
				lsn++
				e := &walEntry{rows: []walRow{{header: format.Header{Type: box.TypeNop, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true}}},
					done: make(chan error, 1)}
				queued := w.queue(e)
				mu.Unlock()
				if queued {
					if i%2 == 0 {
						w.flush()
					} else {
						w.wake()
					}
				}
				results <- <-e.done
			}
		}(g)
	}
	time.Sleep(5 * time.Millisecond)
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(results)
	written := 0
	for err := range results {
		switch {
		case err == nil:
			written++
		case !errors.Is(err, errWALClosed):
			t.Fatal(err)
		}
	}
	var got []uint64
	_, xlogs, err := dirFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range xlogs {
		eachRow(t, f.Path, func(r *format.Row) { got = append(got, r.LSN) })
	}
	t.Logf("%d of %d entries written before the close", written, writers*each)
	if len(got) != written {
		t.Fatalf("%d rows in the files, %d entries written", len(got), written)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("row %d: LSN %d after %d", i, got[i], got[i-1])
		}
	}
	// After the close an entry fails at once.
	e := &walEntry{done: make(chan error, 1)}
	w.submitEntry(e)
	if err := <-e.done; !errors.Is(err, errWALClosed) {
		t.Fatalf("entry after the close: %v", err)
	}
}
