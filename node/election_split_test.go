package node

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/verify"
)

// proxyLink is a TCP proxy in front of one peer, for one direction of a
// replica set's mesh: cut, it closes its connections and refuses new
// ones (a network partition).
type proxyLink struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func newLink(t testing.TB, target string) *proxyLink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &proxyLink{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); l.setCut(true) })
	go l.serve()
	return l
}

func (l *proxyLink) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.cut {
			l.mu.Unlock()
			c.Close()
			continue
		}
		u, err := net.DialTimeout("tcp", l.target, time.Second)
		if err != nil {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.conns = append(l.conns, c, u)
		l.mu.Unlock()
		go func() { io.Copy(u, c); u.Close(); c.Close() }()
		go func() { io.Copy(c, u); u.Close(); c.Close() }()
	}
}

func (l *proxyLink) setCut(cut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = cut
	if cut {
		for _, c := range l.conns {
			c.Close()
		}
		l.conns = nil
	}
}

// proxiedMesh gives every node of cfgs its peers through a link per
// ordered pair; links[i][j] carries i's connections to j.
func proxiedMesh(t testing.TB, cfgs []Config) [][]*proxyLink {
	links := make([][]*proxyLink, len(cfgs))
	for i := range cfgs {
		links[i] = make([]*proxyLink, len(cfgs))
		cfgs[i].Replication = nil
		for j := range cfgs {
			links[i][j] = newLink(t, cfgs[j].Listen)
			cfgs[i].Replication = append(cfgs[i].Replication,
				tarantooltest.AdminUser+":"+tarantooltest.AdminPassword+"@"+links[i][j].ln.Addr().String())
		}
	}
	return links
}

// isolate cuts (or heals) every link to and from node k.
func isolate(links [][]*proxyLink, k int, cut bool) {
	for i := range links {
		for j := range links[i] {
			if (i == k) != (j == k) {
				links[i][j].setCut(cut)
			}
		}
	}
}

// The checker checks itself: with fencing off and the synchronous quorum
// misconfigured to 1, a leader cut off from the others keeps taking
// writes while they elect another leader that takes writes too — a real
// split-brain. After the cut heals the followers refuse the old leader's
// rows (ER_SPLIT_BRAIN), and verify on the files the nodes wrote reports
// the split-brain with the old leader's rows.
func TestElectionSplitBrainFound(t *testing.T) {
	cfgs := electionConfigs(t, 3, "candidate")
	for i := range cfgs {
		cfgs[i].ReplicationSynchroQuorum = 1
		cfgs[i].ElectionFencingMode = "off"
	}
	links := proxiedMesh(t, cfgs)
	nodes := startMesh(t, cfgs)
	l, c, s := syncSpaceOnLeader(t, nodes)
	if _, err := c.Replace(ctx(t), s, []any{1, "before"}); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, nodes...)
	k := -1
	for i, n := range nodes {
		if n == l {
			k = i
		}
	}
	isolate(links, k, true)
	var others []*Node
	for _, n := range nodes {
		if n != l {
			others = append(others, n)
		}
	}
	l2 := waitLeader(t, others, 20*time.Second)
	if leaderOf([]*Node{l}) != l {
		t.Fatal("the isolated leader stepped down with fencing off")
	}
	// Both leaders acknowledge writes.
	oldRow := fmt.Sprintf("%d:%d", l.id, l.VClock().Get(l.id)+1) // the write's row
	if _, err := c.Replace(ctx(t), s, []any{2, "old leader"}); err != nil {
		t.Fatalf("write on the isolated leader: %v", err)
	}
	c2 := dialAdmin(t, l2.Addr())
	if _, err := c2.Replace(ctx(t), s, []any{3, "new leader"}); err != nil {
		t.Fatalf("write on the new leader: %v", err)
	}
	isolate(links, k, false)
	waitFor(t, "a follower to refuse the old leader's rows", 20*time.Second, func() bool {
		for _, n := range others {
			n.repl.mu.Lock()
			as := append([]*applier(nil), n.repl.appliers...)
			n.repl.mu.Unlock()
			for _, a := range as {
				a.mu.Lock()
				m := a.message
				a.mu.Unlock()
				if strings.Contains(m, "ER_SPLIT_BRAIN") {
					return true
				}
			}
		}
		return false
	})
	var dirs []string
	for _, n := range nodes {
		n.Close()
		dirs = append(dirs, n.cfg.Dir)
	}
	var srcs []verify.Source
	for i, d := range dirs {
		srcs = append(srcs, verify.Source{Name: fmt.Sprintf("i%d", i+1), Dir: d})
	}
	rep, err := verify.Run(context.Background(), srcs, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range rep.Findings {
		t.Logf("verify: %s %s %s: %s", f.Severity, f.Kind, f.Instance, f.Message)
		if (f.Kind == verify.KindSplitBrain || f.Kind == verify.KindStaleTerm) && strings.Contains(f.Message, oldRow) {
			found = true
		}
	}
	if !found {
		t.Errorf("verify found no split-brain naming the old leader's row %s", oldRow)
	}
}

// A leader cut off from the others by a partition, quorum 2: with strict
// fencing it steps down (2 replication timeouts) and acknowledges
// nothing; the others elect a leader that takes writes; after the cut
// heals the old leader follows it, every node has every acknowledged
// write and verify finds nothing wrong.
func TestElectionPartitionFencing(t *testing.T) {
	cfgs := electionConfigs(t, 3, "candidate")
	for i := range cfgs {
		cfgs[i].ElectionFencingMode = "strict"
		cfgs[i].ReplicationSynchroTimeout = time.Second
	}
	links := proxiedMesh(t, cfgs)
	nodes := startMesh(t, cfgs)
	l, c, s := syncSpaceOnLeader(t, nodes)
	acked := []int{}
	for i := 0; i < 5; i++ {
		if _, err := c.Replace(ctx(t), s, []any{i, "before"}); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, i)
	}
	k := -1
	var others []*Node
	for i, n := range nodes {
		if n == l {
			k = i
		} else {
			others = append(others, n)
		}
	}
	isolate(links, k, true)
	waitFor(t, "the isolated leader to step down", 10*time.Second, func() bool {
		return infoField(l, "election", "state") != "leader"
	})
	if _, err := c.Replace(ctx(t), s, []any{100, "isolated"}); err == nil {
		t.Errorf("the isolated leader acknowledged a write")
	}
	l2 := waitLeader(t, others, 20*time.Second)
	c2 := dialAdmin(t, l2.Addr())
	for i := 200; i < 205; i++ {
		if _, err := c2.Replace(ctx(t), s, []any{i, "new leader"}); err != nil {
			t.Fatalf("write on the new leader: %v", err)
		}
		acked = append(acked, i)
	}
	isolate(links, k, false)
	waitFor(t, "the old leader to follow the new one", 20*time.Second, func() bool {
		return infoField(l, "election", "leader") == uint64(l2.id)
	})
	waitSynced(t, nodes...)
	for _, n := range nodes {
		checkKeys(t, dialAdmin(t, n.Addr()), s, acked)
	}
	var dirs []string
	for _, n := range nodes {
		n.Close()
		dirs = append(dirs, n.cfg.Dir)
	}
	verifyDirs(t, dirs...)
}
