package node

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testproc"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// The test binary doubles as a node process for the tests that kill one:
// with XLOGTOOL_NODE_CHILD_DIR set it runs a node and prints its address.
func TestMain(m *testing.M) {
	if dir := os.Getenv("XLOGTOOL_NODE_CHILD_DIR"); dir != "" {
		os.Exit(runChild(dir))
	}
	os.Exit(m.Run())
}

func runChild(dir string) int {
	// Signals are caught before the address is printed: a test may stop
	// the child as soon as it has read it.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	cfg := testConfig(dir)
	cfg.WALMode = os.Getenv("XLOGTOOL_NODE_CHILD_WAL")
	cfg.Listen = "127.0.0.1:0"
	if js := os.Getenv("XLOGTOOL_NODE_CHILD_CONFIG"); js != "" {
		// A whole configuration (replication tests).
		if err := json.Unmarshal([]byte(js), &cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	n, err := Open(cfg, NewLogger(os.Stderr))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := n.Listen(cfg.Listen); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("LISTEN %s\n", n.Addr())
	<-sig
	if err := n.Close(); err != nil {
		return 1
	}
	return 0
}

// child is a node running in its own process.
type child struct {
	cmd    *exec.Cmd
	addr   string
	stderr *strings.Builder
}

// startChild runs a node process on dir; it is killed by its PID when the
// test ends.
func startChild(t *testing.T, dir, walMode string) (*child, error) {
	t.Helper()
	return startChildEnv(t, "XLOGTOOL_NODE_CHILD_DIR="+dir, "XLOGTOOL_NODE_CHILD_WAL="+walMode)
}

// childStartTimeout bounds the wait for a node process to print its
// address; childStopTimeout the wait for it to exit after SIGTERM.
const (
	childStartTimeout = 60 * time.Second
	childStopTimeout  = 30 * time.Second
)

// startChildEnv runs a node process with the environment variables given.
// It dies with the test binary, and is killed by its PID when the test
// ends.
func startChildEnv(t *testing.T, env ...string) (*child, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = testproc.SysProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stderr: &strings.Builder{}}
	cmd.Stderr = &lockedWriter{b: c.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("node pid %d log:\n%s", cmd.Process.Pid, tailString(c.stderr.String(), 16<<10))
		}
	})
	type result struct {
		line string
		err  error
	}
	read := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		read <- result{line, err}
	}()
	var res result
	select {
	case res = <-read:
	case <-time.After(childStartTimeout):
		syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		return nil, fmt.Errorf("node printed no address after %v: %s", childStartTimeout, c.stderr)
	}
	if res.err != nil {
		cmd.Wait()
		return nil, fmt.Errorf("node did not start: %s", c.stderr)
	}
	c.addr = strings.TrimSpace(strings.TrimPrefix(res.line, "LISTEN "))
	return c, nil
}

// tailString returns at most the last n bytes of s.
func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)
	c.cmd.Wait()
}

func (c *child) stop(t *testing.T) {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	syscall.Kill(c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("node exit: %v\n%s", err, c.stderr)
		}
	case <-time.After(childStopTimeout):
		syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		t.Fatalf("node still running %v after SIGTERM, killed\n%s", childStopTimeout, c.stderr)
	}
}

// Every write acknowledged before a kill -9 is there after the restart,
// with wal_mode write and fsync; the log is then read by Tarantool too.
func TestKillDurability(t *testing.T) {
	for _, mode := range []string{"write", "fsync"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			ch, err := startChild(t, dir, mode)
			if err != nil {
				t.Fatal(err)
			}
			c := dial(t, ch.addr)
			call(t, c, "box.schema.space.create", "d")
			call(t, c, "box.space.d:create_index", "pk")
			id := spaceID(t, c, "d")
			var mu sync.Mutex
			acked := map[int]bool{}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						k := g*1_000_000 + i
						futs := []*client.Future{}
						for j := 0; j < 8; j++ {
							futs = append(futs, c.Send(iproto.InsertRequest{Space: id, Tuple: []any{k*8 + j, "x"}}))
						}
						for j, f := range futs {
							if resp, err := f.Wait(ctx(t)); err == nil && resp.Err() == nil {
								mu.Lock()
								acked[k*8+j] = true
								mu.Unlock()
							} else {
								return
							}
						}
					}
				}(g)
			}
			time.Sleep(300 * time.Millisecond)
			ch.kill(t)
			close(stop)
			wg.Wait()
			if len(acked) == 0 {
				t.Fatal("no write was acknowledged")
			}
			ch2, err := startChild(t, dir, mode)
			if err != nil {
				t.Fatal(err)
			}
			c2 := dial(t, ch2.addr)
			rows, err := c2.Select(ctx(t), id, 0, []any{}, 1<<30, 0, box.IterAll)
			if err != nil {
				t.Fatal(err)
			}
			have := map[int]bool{}
			for _, r := range rows {
				have[int(toU(r.([]any)[0]))] = true
			}
			lost := 0
			for k := range acked {
				if !have[k] {
					lost++
				}
			}
			if lost > 0 {
				t.Fatalf("%d of %d acknowledged writes lost", lost, len(acked))
			}
			t.Logf("%d acknowledged, %d recovered", len(acked), len(have))
			ch2.stop(t)
			// Tarantool 2.6.0 reads the same files to the same rows.
			inst := tarantooltest.Start(t, tarantooltest.InstanceOptions{Dir: dir})
			got := inst.Eval(t, "return box.space.d:count()")
			if toU(got[0]) != uint64(len(have)) {
				t.Errorf("Tarantool recovers %v rows, node %d", got[0], len(have))
			}
		})
	}
}

// A torn block at the end of the newest xlog is cut: the node starts with
// every complete transaction and writes on.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	c := dial(t, n.Addr())
	fill(t, c, "t", 1, 20)
	want := selectAll(t, c, "t")
	c.Close()
	n.Close()
	xlog := newestFile(t, dir, ".xlog")
	b, err := os.ReadFile(xlog)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the EOF marker and append half of the last block again: a
	// write cut by a crash.
	b = b[:len(b)-4]
	last := strings.LastIndex(string(b), "\xd5\xba\x0b\xab")
	torn := append(b, b[last:last+(len(b)-last)/2]...)
	if err := os.WriteFile(xlog, torn, 0o644); err != nil {
		t.Fatal(err)
	}
	n2 := startNode(t, testConfig(dir))
	c2 := dial(t, n2.Addr())
	if got := selectAll(t, c2, "t"); got != want {
		t.Errorf("after the torn tail: %s\nwant %s", got, want)
	}
	if _, err := c2.Replace(ctx(t), spaceID(t, c2, "t"), []any{1000, "after"}); err != nil {
		t.Fatal(err)
	}
}

// Damage inside an xlog stops the start with the file, the offset and the
// remedy.
func TestDamageStopsStart(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, testConfig(dir))
	c := dial(t, n.Addr())
	fill(t, c, "t", 1, 20)
	c.Close()
	n.Close()
	n2 := startNode(t, testConfig(dir))
	c2 := dial(t, n2.Addr())
	fill(t, c2, "t", 20, 40)
	c2.Close()
	n2.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*.xlog"))
	first := files[0]
	b, _ := os.ReadFile(first)
	mid := strings.Index(string(b), "\xd5\xba\x0b\xab")
	b[mid+25] ^= 0xff
	os.WriteFile(first, b, 0o644)
	_, err := Open(testConfig(dir), nil)
	if err == nil {
		t.Fatal("the node started from a damaged log")
	}
	msg := err.Error()
	t.Log(msg)
	for _, want := range []string{filepath.Base(first), "offset", "xlogtool repair"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
}
