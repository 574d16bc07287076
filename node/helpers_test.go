package node

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/memtx"
	"github.com/xlogtool/xlogtool/node/raft"
)

const (
	testUser     = "tester"
	testPassword = "secret"
)

// testConfig is a configuration for a node in dir with the test user.
func testConfig(dir string) Config {
	cfg := Defaults()
	cfg.Dir = dir
	cfg.BootstrapUser = testUser + ":" + testPassword
	cfg.CheckpointInterval = 0
	return cfg
}

// startNode opens a node and serves it on a free loopback port; it is
// closed when the test ends.
func startNode(t testing.TB, cfg Config) *Node {
	t.Helper()
	var logw io.Writer
	if os.Getenv("XLOGTOOL_NODE_LOG") != "" {
		logw = os.Stderr
	}
	n, err := Open(cfg, NewLogger(logw))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Listen("127.0.0.1:0"); err != nil {
		n.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// dial connects to addr as the test user.
func dial(t testing.TB, addr string) *client.Conn {
	t.Helper()
	return dialAs(t, addr, testUser, testPassword)
}

func dialAs(t testing.TB, addr, user, password string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, client.Options{User: user, Password: password, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// call calls a built-in function and fails the test on error.
func call(t testing.TB, c *client.Conn, fn string, args ...any) []any {
	t.Helper()
	out, err := c.Call(ctx(t), fn, args...)
	if err != nil {
		t.Fatalf("call %s: %v", fn, err)
	}
	return out
}

// eachRow calls fn for every row of a file; damage fails the test.
func eachRow(t testing.TB, path string, fn func(row *format.Row)) *format.Meta {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := format.NewReader(f, format.Options{Name: path})
	if err != nil {
		t.Fatal(err)
	}
	for {
		row, err := r.Next()
		if err == io.EOF {
			return r.Meta()
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(row)
	}
}

// snapshotRows reads the rows of a snapshot as (space id, tuple) pairs.
func snapshotRows(t testing.TB, path string) (*format.Meta, []dictRow) {
	t.Helper()
	var rows []dictRow
	meta := eachRow(t, path, func(row *format.Row) {
		d, err := row.DML()
		if err != nil {
			t.Fatal(err)
		}
		v, err := memtx.DecodeMsgpack(d.Tuple)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, dictRow{space: d.SpaceID, tuple: v.([]any)})
	})
	return meta, rows
}

func newestFile(t testing.TB, dir, ext string) string {
	t.Helper()
	files, err := format.ScanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	last := ""
	for _, f := range files {
		if f.Ext == ext {
			last = f.Path
		}
	}
	if last == "" {
		t.Fatalf("no %s file in %s", ext, dir)
	}
	return filepath.Clean(last)
}

func iprotoReplace(space uint32, tuple []any) iproto.ReplaceRequest {
	return iproto.ReplaceRequest{Space: space, Tuple: tuple}
}

// waitHealthy waits until every node of nodes counts all of them as
// healthy: its applier follows each of the others, so box.ctl.promote()
// on any of them has every peer connected (Tarantool's tests wait for the
// full mesh the same way). A node that was just opened, or whose links
// were just restarted, starts with only itself.
func waitHealthy(t testing.TB, nodes ...*Node) {
	t.Helper()
	waitFor(t, "every node to count its peers healthy", 20*time.Second, func() bool {
		for _, n := range nodes {
			h := 0
			n.election.with(func(e *raft.Election) { h = e.Healthy() })
			if h < len(nodes) {
				return false
			}
		}
		return true
	})
}
