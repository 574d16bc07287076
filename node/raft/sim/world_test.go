package sim

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// recorder is an Endpoint that records what reaches it.
type recorder struct {
	got  []any
	from []int
	down []int
	up   []int
}

func (r *recorder) Deliver(from int, msg any) {
	r.got = append(r.got, msg)
	r.from = append(r.from, from)
}
func (r *recorder) LinkDown(peer int) { r.down = append(r.down, peer) }
func (r *recorder) LinkUp(peer int)   { r.up = append(r.up, peer) }

func newNet(t *testing.T, n int, f NetFaults) (*World, *Network, []*recorder) {
	w := NewWorld(1)
	nw := NewNetwork(w, n)
	nw.Faults = f
	rs := make([]*recorder, n+1)
	for id := 1; id <= n; id++ {
		rs[id] = &recorder{}
		nw.Attach(id, rs[id])
	}
	return w, nw, rs
}

func TestWorldOrder(t *testing.T) {
	w := NewWorld(1)
	var got []int
	w.At(2*time.Second, func() { got = append(got, 3) })
	w.At(time.Second, func() { got = append(got, 1) })
	w.At(time.Second, func() {
		got = append(got, 2)
		w.After(0, func() { got = append(got, 21) })
	})
	w.RunUntil(time.Second, nil)
	if !slices.Equal(got, []int{1, 2, 21}) || w.Now() != time.Second {
		t.Fatalf("%v at %v", got, w.Now())
	}
	w.RunUntil(10*time.Second, nil)
	if !slices.Equal(got, []int{1, 2, 21, 3}) || w.Now() != 10*time.Second {
		t.Fatalf("%v at %v", got, w.Now())
	}
}

func TestNetworkFIFOAndDelay(t *testing.T) {
	w, nw, rs := newNet(t, 2, NetFaults{MinDelay: time.Millisecond, MaxDelay: 50 * time.Millisecond})
	for i := 0; i < 100; i++ {
		nw.Send(1, 2, i)
	}
	w.RunUntil(40*time.Millisecond, nil)
	if len(rs[2].got) == 100 {
		t.Fatal("every message arrived before the maximal delay")
	}
	w.RunUntil(time.Second, nil)
	for i, m := range rs[2].got {
		if m != i {
			t.Fatalf("FIFO broken: %v", rs[2].got)
		}
	}
	if len(rs[2].got) != 100 {
		t.Fatalf("%d of 100 delivered", len(rs[2].got))
	}
}

func TestNetworkReorderDuplicateDrop(t *testing.T) {
	w, nw, rs := newNet(t, 2, NetFaults{MaxDelay: 50 * time.Millisecond, Reorder: 0.5, Dup: 0.2, Drop: 0.2})
	for i := 0; i < 200; i++ {
		nw.Send(1, 2, i)
	}
	w.RunUntil(time.Second, nil)
	seen := map[any]int{}
	reordered := false
	for i, m := range rs[2].got {
		seen[m]++
		if i > 0 && m.(int) < rs[2].got[i-1].(int) {
			reordered = true
		}
	}
	dups := 0
	for _, c := range seen {
		if c > 1 {
			dups++
		}
	}
	if !reordered || dups == 0 || len(seen) == 200 || len(seen) < 100 {
		t.Fatalf("reordered %v, %d duplicated, %d of 200 distinct delivered", reordered, dups, len(seen))
	}
}

func TestNetworkBreakPartitionHeal(t *testing.T) {
	w, nw, rs := newNet(t, 3, NetFaults{MinDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond, Reconnect: 100 * time.Millisecond})
	nw.Send(1, 2, "lost")
	nw.Partition([]int{1})
	if nw.IsUp(1, 2) || nw.IsUp(2, 1) || !nw.IsUp(2, 3) {
		t.Fatal("partition left links up")
	}
	if !slices.Equal(rs[1].down, []int{2, 3, 2, 3}) || !slices.Equal(rs[2].down, []int{1, 1}) {
		t.Fatalf("link-down notices: %v %v", rs[1].down, rs[2].down)
	}
	nw.Send(1, 2, "cut")
	w.RunUntil(time.Second, nil)
	if len(rs[2].got) != 0 || nw.IsUp(1, 2) {
		t.Fatalf("delivered across a partition: %v", rs[2].got)
	}
	nw.Heal()
	w.RunUntil(2*time.Second, nil)
	if !nw.IsUp(1, 2) || !nw.IsUp(2, 1) || !slices.Contains(rs[1].up, 2) || !slices.Contains(rs[2].up, 1) {
		t.Fatalf("links not back after heal: up notices %v %v", rs[1].up, rs[2].up)
	}
	nw.Send(1, 2, "after")
	w.RunUntil(3*time.Second, nil)
	if !slices.Equal(rs[2].got, []any{"after"}) {
		t.Fatalf("delivered %v", rs[2].got)
	}

	// A node that goes down silently: nobody is told, nothing arrives.
	nw.NodeDown(3, false)
	nw.Send(2, 3, "x")
	w.RunUntil(4*time.Second, nil)
	if len(rs[3].got) != 0 || len(rs[2].down) != 2 || nw.IsUp(2, 3) {
		t.Fatal("a down node received or was noticed")
	}
	nw.NodeUp(3)
	w.RunUntil(5*time.Second, nil)
	if !nw.IsUp(2, 3) || !nw.IsUp(3, 2) {
		t.Fatal("links of a restarted node stay down")
	}
}

func TestDisk(t *testing.T) {
	w := NewWorld(1)
	d := NewDisk(w)
	d.Faults = DiskFaults{MinLatency: time.Millisecond, MaxLatency: 20 * time.Millisecond}
	var done []string
	for _, s := range []string{"a", "b", "c"} {
		d.Write([]byte(s), func(err error) { done = append(done, s) })
	}
	w.RunUntil(time.Second, nil)
	if !slices.Equal(done, []string{"a", "b", "c"}) || len(d.Records()) != 3 || d.Pending() != 0 {
		t.Fatalf("completions %v, %d records", done, len(d.Records()))
	}

	// A crash loses what is not durable yet.
	d.Faults = DiskFaults{MinLatency: time.Second, MaxLatency: time.Second}
	d.Write([]byte("d"), func(error) { done = append(done, "d") })
	w.RunUntil(w.Now()+500*time.Millisecond, nil)
	d.Crash()
	w.RunUntil(w.Now()+5*time.Second, nil)
	if len(done) != 3 || len(d.Records()) != 3 {
		t.Fatalf("a write survived the crash: %v", done)
	}

	// Failing writes report the error and store nothing.
	d.Faults = DiskFaults{Fail: 1}
	var err error
	d.Write([]byte("e"), func(e error) { err = e })
	w.RunUntil(w.Now()+time.Second, nil)
	if !errors.Is(err, ErrWrite) || len(d.Records()) != 3 {
		t.Fatalf("failed write: %v, %d records", err, len(d.Records()))
	}
}
