package main

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
)

// cutProxy forwards one connection to addr and breaks it mid-stream: the
// answers stop coming once the client has sent answerUpTo bytes, and the
// connection is closed once it has sent cutAt bytes (a request may be cut
// in two there), after the server has had time to execute what it got.
type cutProxy struct {
	ln                net.Listener
	answerUpTo, cutAt int64
	sent              atomic.Int64
	wg                sync.WaitGroup
}

func startCutProxy(t *testing.T, addr string, answerUpTo, cutAt int64) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, answerUpTo: answerUpTo, cutAt: cutAt}
	p.wg.Add(1)
	go p.serve(addr)
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) serve(addr string) {
	defer p.wg.Done()
	c, err := p.ln.Accept()
	if err != nil {
		return
	}
	s, err := net.Dial("tcp", addr)
	if err != nil {
		c.Close()
		return
	}
	go func() { // answers, until the client has sent answerUpTo bytes
		buf := make([]byte, 512)
		for {
			n, err := s.Read(buf)
			if n > 0 && p.sent.Load() < p.answerUpTo {
				c.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			left := p.cutAt - p.sent.Load()
			if int64(n) >= left {
				s.Write(buf[:left])
				p.sent.Add(left)
				break
			}
			s.Write(buf[:n])
			p.sent.Add(int64(n))
		}
		if err != nil {
			break
		}
	}
	time.Sleep(300 * time.Millisecond) // the server executes what it got
	s.Close()
	c.Close()
	io.Copy(io.Discard, c)
}

// play over a connection that breaks mid-stream: requests executed without
// an answer are found out from the target's vclock, and the resumed run
// applies every transaction exactly once (300 UPSERT +1 leave 300).
func TestPlayResumeAfterLostConnection(t *testing.T) {
	src, target, counters, want := upsertPlaySetup(t)
	state := filepath.Join(t.TempDir(), "play.state")
	user := tarantooltest.AdminUser + ":" + tarantooltest.AdminPassword + "@"
	proxy := startCutProxy(t, target.Addr(), 2500, 5000)
	_, stderr, code := runPlay(t, "--state", state, "--timeout", "3s", user+proxy.ln.Addr().String(), src)
	if code != 1 || !strings.Contains(stderr, "got no answer") {
		t.Fatalf("first run over the broken connection: exit %d\n%s", code, stderr)
	}
	if got := counters(); got == want {
		t.Fatalf("the connection broke after everything was applied (%s): the cut is too late", got)
	}
	stdout, stderr := mustPlay(t, 0, "--state", state, adminURI(target), src)
	if got := counters(); got != want {
		t.Errorf("after resuming: %s\nwant %s\nstdout:\n%s\nstderr:\n%s", got, want, stdout, stderr)
	}
	if !strings.Contains(stderr, "answers were lost") {
		t.Errorf("the resumed run does not say it found executed requests:\n%s", stderr)
	}
	// Once more: nothing left, nothing applied twice.
	mustPlay(t, 0, "--state", state, adminURI(target), src)
	if got := counters(); got != want {
		t.Errorf("after a third run: %s", got)
	}
}

// upsertPlaySetup writes source logs of UPSERT +1 rows (single-row and
// two-row transactions) and starts a target with the space; counters
// reads the target's space, want is what the source holds.
func upsertPlaySetup(t *testing.T) (src string, target *tarantooltest.Instance, counters func() string, want string) {
	tarantooltest.Require(t)
	src = t.TempDir()
	tarantooltest.RunScript(t, src, `
box.cfg{log = 'tarantool.log'}
local c = box.schema.space.create('c', {id = 512})
c:create_index('pk')
for i = 1, 300 do c:upsert({i % 3, 1}, {{'+', 2, 1}}) end
box.space.c:insert{100, 'padding to make rows of several sizes'}
for i = 1, 60 do box.begin() c:upsert({3, 1}, {{'+', 2, 1}}) c:upsert({4, 1}, {{'+', 2, 1}}) box.commit() end
os.exit(0)
`)
	target = tarantooltest.Start(t, tarantooltest.InstanceOptions{
		Init: "box.schema.space.create('c', {id = 512, if_not_exists = true}):create_index('pk', {if_not_exists = true})",
	})
	counters = func() string {
		res := target.Eval(t, `local t = {} for _, x in box.space.c:pairs() do table.insert(t, x[1] .. '=' .. tostring(x[2])) end return table.concat(t, ' ')`)
		return fmt.Sprint(res[0])
	}
	want = "0=100 1=100 2=100 3=60 4=60 100=padding to make rows of several sizes"
	return src, target, counters, want
}

// The same rows in two inputs (the directory and a renamed copy of it)
// are applied once, with or without --state.
func TestPlayDuplicateInputsLive(t *testing.T) {
	src, target, counters, want := upsertPlaySetup(t)
	copyDirPath := filepath.Join(t.TempDir(), "copy")
	copyDir(t, src, copyDirPath)
	stdout, _ := mustPlay(t, 0, adminURI(target), src, copyDirPath)
	if got := counters(); got != want {
		t.Errorf("played twice: %s\nwant %s\n%s", got, want, stdout)
	}
	if !strings.Contains(stdout, "read a second time") {
		t.Errorf("summary:\n%s", stdout)
	}
}
