package memtx

import (
	"math/rand"
	"slices"
	"sort"
	"testing"

	"github.com/xlogtool/xlogtool/box"
)

func intCmp(a, b int) int { return cmpInt(a, b) }

// coarseHint is an order-preserving hint of ints for the tests: equal
// for runs of 16 keys, hintNone for multiples of 7 (keys are >= 0).
func coarseHint(x int) uint64 {
	if x%7 == 0 {
		return hintNone
	}
	return uint64(x / 16)
}

func newTestTree() *btree[int] { return newHintedBtree(intCmp, coarseHint) }

// checkTree verifies the B-tree invariants: node sizes, sorted items,
// separators bounding their subtrees, leaves at one depth.
func checkTree(t *testing.T, tr *btree[int]) {
	t.Helper()
	if tr.root == nil {
		if tr.Len() != 0 {
			t.Fatalf("empty tree with length %d", tr.Len())
		}
		return
	}
	leafDepth := -1
	count := 0
	var walk func(n *bnode[int], depth int, lo, hi *int)
	walk = func(n *bnode[int], depth int, lo, hi *int) {
		// Appends in key order leave nodes of the right edge (hi ==
		// nil) with fewer items until later appends fill them.
		if n != tr.root && (len(n.items) < btreeMinItems && hi != nil || len(n.items) > btreeMaxItems) {
			t.Fatalf("node with %d items", len(n.items))
		}
		if n.children != nil && len(n.children) == 0 || n.children == nil && len(n.items) == 0 && n != tr.root {
			t.Fatalf("empty node")
		}
		for i, e := range n.items {
			it := e.item
			if want := tr.entry(it).hint; e.hint != want {
				t.Fatalf("item %d with hint %d, want %d", it, e.hint, want)
			}
			if i > 0 && n.items[i-1].item >= it {
				t.Fatalf("unsorted node %v", n.items)
			}
			if (lo != nil && it <= *lo) || (hi != nil && it >= *hi) {
				t.Fatalf("item %d outside its bounds", it)
			}
		}
		count += len(n.items)
		if n.children == nil {
			if leafDepth == -1 {
				leafDepth = depth
			} else if leafDepth != depth {
				t.Fatalf("leaves at depths %d and %d", leafDepth, depth)
			}
			return
		}
		if len(n.children) != len(n.items)+1 {
			t.Fatalf("%d children for %d items", len(n.children), len(n.items))
		}
		for i, c := range n.children {
			l, h := lo, hi
			if i > 0 {
				l = &n.items[i-1].item
			}
			if i < len(n.items) {
				h = &n.items[i].item
			}
			walk(c, depth+1, l, h)
		}
	}
	walk(tr.root, 0, nil, nil)
	if count != tr.Len() {
		t.Fatalf("%d items, length %d", count, tr.Len())
	}
}

func TestBtreeRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	tr := newTestTree()
	ref := map[int]bool{}
	for i := 0; i < 200000; i++ {
		k := rng.Intn(5000)
		probe := func(x int) int { return intCmp(x, k) }
		kh := coarseHint(k)
		switch rng.Intn(3) {
		case 0, 1:
			_, replaced := tr.set(k)
			if replaced != ref[k] {
				t.Fatalf("set %d: replaced %v", k, replaced)
			}
			ref[k] = true
		case 2:
			old, ok := tr.deleteHinted(kh, probe)
			if ok != ref[k] || (ok && old != k) {
				t.Fatalf("delete %d: %d %v", k, old, ok)
			}
			delete(ref, k)
		}
		if got, ok := tr.getHinted(kh, probe); ok != ref[k] || (ok && got != k) {
			t.Fatalf("get %d: %d %v", k, got, ok)
		}
		if i%10000 == 0 {
			checkTree(t, tr)
		}
	}
	checkTree(t, tr)
	var want []int
	for k := range ref {
		want = append(want, k)
	}
	sort.Ints(want)
	var got []int
	tr.ascend(func(x int) bool { got = append(got, x); return true })
	if len(got) != len(want) {
		t.Fatalf("ascend: %d items, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("ascend[%d] = %d, want %d", i, got[i], want[i])
		}
	}
	// Early stop.
	n := 0
	tr.ascend(func(int) bool { n++; return n < 10 })
	if n != 10 {
		t.Fatalf("ascend did not stop: %d", n)
	}
	// Drain in random order.
	rng.Shuffle(len(want), func(i, j int) { want[i], want[j] = want[j], want[i] })
	for _, k := range want {
		if _, ok := tr.delete(func(x int) int { return intCmp(x, k) }); !ok {
			t.Fatalf("drain: %d missing", k)
		}
	}
	checkTree(t, tr)
	if tr.Len() != 0 || tr.root != nil {
		t.Fatal("tree not empty")
	}
}

func TestBtreeSequential(t *testing.T) {
	tr := newBtree(intCmp)
	for i := 0; i < 10000; i++ {
		tr.set(i)
	}
	for i := 9999; i >= 0; i -= 2 {
		k := i
		tr.delete(func(x int) int { return intCmp(x, k) })
	}
	checkTree(t, tr)
	if tr.Len() != 5000 {
		t.Fatalf("len %d", tr.Len())
	}
}

func BenchmarkReplaceUnsignedKey(b *testing.B) {
	st := NewState()
	if err := st.Apply(insert(box.SpaceSpace, spaceRow(700, "b")...)); err != nil {
		b.Fatal(err)
	}
	if err := st.Apply(insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "unsigned"))...)); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := st.Apply(replace(700, uint64(rng.Intn(1<<20)), "payload", uint64(i))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	st := NewState()
	if err := st.Apply(insert(box.SpaceSpace, spaceRow(700, "b")...)); err != nil {
		b.Fatal(err)
	}
	if err := st.Apply(insert(box.SpaceIndex, indexRow(700, 0, "pk", true, part(0, "unsigned"))...)); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if err := st.Apply(insert(700, uint64(i), "payload", uint64(0))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := st.Apply(update(700, []any{uint64(i % 1000)}, op("+", 3, 1), op("=", 2, "x"))); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBtreeAppend fills a tree in key order (the right-edge fast path),
// then mixes appends, inserts below the maximum and removals.
func TestBtreeAppend(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	tr := newBtree(intCmp)
	ref := map[int]bool{}
	next := 0
	for i := 0; i < 100000; i++ {
		tr.set(next)
		ref[next] = true
		next += 2
	}
	checkTree(t, tr)
	// Full nodes: a tree built in order needs about n/63 leaves.
	leaves := 0
	var count func(n *bnode[int])
	count = func(n *bnode[int]) {
		if n.children == nil {
			leaves++
			return
		}
		for _, c := range n.children {
			count(c)
		}
	}
	count(tr.root)
	if leaves > 100000/(btreeMaxItems-1)+2 {
		t.Errorf("%d leaves for 100000 items appended in order", leaves)
	}
	for i := 0; i < 300000; i++ {
		var k int
		switch rng.Intn(4) {
		case 0:
			k = next
			next += 1 + rng.Intn(3)
			tr.set(k)
			ref[k] = true
		case 1:
			k = rng.Intn(next + 1)
			tr.set(k)
			ref[k] = true
		default:
			k = rng.Intn(next + 1)
			_, ok := tr.delete(func(x int) int { return intCmp(x, k) })
			if ok != ref[k] {
				t.Fatalf("delete %d: %v", k, ok)
			}
			delete(ref, k)
		}
		if i%20000 == 0 {
			checkTree(t, tr)
		}
	}
	checkTree(t, tr)
	if tr.Len() != len(ref) {
		t.Fatalf("len %d, want %d", tr.Len(), len(ref))
	}
	prev := -1
	tr.ascend(func(x int) bool {
		if x <= prev || !ref[x] {
			t.Fatalf("ascend: %d after %d", x, prev)
		}
		prev = x
		return true
	})
	for k := range ref {
		if _, ok := tr.delete(func(x int) int { return intCmp(x, k) }); !ok {
			t.Fatalf("drain: %d missing", k)
		}
	}
	checkTree(t, tr)
	if tr.Len() != 0 || tr.root != nil {
		t.Fatal("tree not empty")
	}
}

// TestBtreeHinted inserts items where a failed lookup ended, mixed with
// hints that no longer fit (another item, a changed tree).
func TestBtreeHinted(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	tr := newBtree(intCmp)
	ref := map[int]bool{}
	hinted := 0
	for i := 0; i < 300000; i++ {
		k := rng.Intn(100000)
		_, found := tr.get(func(x int) int { return intCmp(x, k) })
		if found != ref[k] {
			t.Fatalf("get %d: %v", k, found)
		}
		switch rng.Intn(10) {
		case 0:
			// The hint of another key: refused unless it fits.
			j := rng.Intn(100000)
			if !ref[j] {
				if tr.insertHinted(j) {
					hinted++
				} else {
					tr.set(j)
				}
				ref[j] = true
			}
		case 1:
			tr.delete(func(x int) int { return intCmp(x, k) })
			delete(ref, k)
			if tr.insertHinted(k + 1) {
				t.Fatal("hint used after a change")
			}
		default:
			if !found {
				// Refused only for keys above the maximum, which get
				// answers without a search.
				if tr.insertHinted(k) {
					hinted++
				} else if m, _ := tr.max(); k < m.item {
					t.Fatalf("hint for %d refused", k)
				} else {
					tr.set(k)
				}
				ref[k] = true
			}
		}
		if i%30000 == 0 {
			checkTree(t, tr)
		}
	}
	checkTree(t, tr)
	if tr.Len() != len(ref) || hinted == 0 {
		t.Fatalf("len %d, want %d (%d hinted)", tr.Len(), len(ref), hinted)
	}
	prev := -1
	tr.ascend(func(x int) bool {
		if x <= prev || !ref[x] {
			t.Fatalf("ascend: %d after %d", x, prev)
		}
		prev = x
		return true
	})
}

// TestBtreeClone: clones keep their items while the original goes on
// changing through every path (hinted inserts, appends at the right edge,
// replacements, removals that borrow and merge), and the original keeps
// its own; readers of the clones run on other goroutines (run with -race).
func TestBtreeClone(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	tr := newTestTree()
	model := map[int]bool{}
	type snap struct {
		tree *btree[int]
		want []int
	}
	var snaps []snap
	sorted := func(m map[int]bool) []int {
		out := make([]int, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Ints(out)
		return out
	}
	items := func(tr *btree[int]) []int {
		out := []int{}
		tr.ascend(func(x int) bool { out = append(out, x); return true })
		return out
	}
	done := make(chan struct{})
	errs := make(chan string, 100)
	reader := func(s snap) {
		for {
			select {
			case <-done:
				return
			default:
			}
			got := items(s.tree)
			if len(got) != len(s.want) {
				errs <- "a clone changed while read"
				return
			}
			for i := range got {
				if got[i] != s.want[i] {
					errs <- "a clone changed while read"
					return
				}
			}
		}
	}
	next := 100000
	for step := 0; step < 60000; step++ {
		switch r := rng.Intn(100); {
		case r < 35:
			k := rng.Intn(20000)
			if _, found := tr.getHinted(coarseHint(k), func(x int) int { return intCmp(x, k) }); !found && !tr.insertHinted(k) {
				tr.set(k)
			}
			model[k] = true
		case r < 50:
			next += 1 + rng.Intn(3)
			tr.set(next) // appends at the right edge
			model[next] = true
		case r < 90:
			k := rng.Intn(20000)
			tr.delete(func(x int) int { return intCmp(x, k) })
			delete(model, k)
		default:
			if step%500 < 10 && len(snaps) < 12 {
				s := snap{tree: tr.clone(), want: sorted(model)}
				snaps = append(snaps, s)
				go reader(s)
			}
		}
	}
	close(done)
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
	if len(snaps) < 5 {
		t.Fatalf("only %d clones taken", len(snaps))
	}
	checkTree(t, tr)
	if got, want := items(tr), sorted(model); len(got) != len(want) || tr.Len() != len(want) {
		t.Fatalf("the tree holds %d items (Len %d), want %d", len(got), tr.Len(), len(want))
	}
	for i, s := range snaps {
		checkTree(t, s.tree)
		got := items(s.tree)
		if len(got) != len(s.want) || s.tree.Len() != len(s.want) {
			t.Fatalf("clone %d holds %d items (Len %d), want %d", i, len(got), s.tree.Len(), len(s.want))
		}
		for j := range got {
			if got[j] != s.want[j] {
				t.Fatalf("clone %d changed at %d: %d, want %d", i, j, got[j], s.want[j])
			}
		}
	}
}

// TestBtreeAppendClone appends in key order (the right-leaf shortcut)
// while clones are taken, mixed with other changes: every clone keeps
// what the tree held when it was taken.
func TestBtreeAppendClone(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	tr := newBtree(intCmp)
	type snap struct {
		tree *btree[int]
		want []int
	}
	var snaps []snap
	items := func(tr *btree[int]) []int {
		var out []int
		tr.ascend(func(x int) bool {
			out = append(out, x)
			return true
		})
		return out
	}
	next := 0
	for i := range 50000 {
		switch r := rng.Intn(100); {
		case r < 80:
			if m, ok := tr.max(); ok && m.item >= next {
				t.Fatalf("max %d, next %d", m, next)
			}
			if rng.Intn(2) == 0 {
				tr.appendMax(next)
			} else {
				tr.set(next)
			}
			next += 1 + rng.Intn(2)
		case r < 90:
			k := rng.Intn(next + 1)
			tr.delete(func(x int) int { return intCmp(x, k) })
		case r < 97:
			tr.set(rng.Intn(next + 1))
		default:
			snaps = append(snaps, snap{tr.clone(), items(tr)})
		}
		if i%5000 == 0 {
			checkTree(t, tr)
		}
	}
	checkTree(t, tr)
	for i, s := range snaps {
		if got := items(s.tree); !slices.Equal(got, s.want) || s.tree.Len() != len(s.want) {
			t.Fatalf("clone %d: %d items, want %d", i, len(got), len(s.want))
		}
	}
}

// replaceHinted puts an equal item where the last get found one, only
// while the tree is unchanged, and never into nodes a clone shares.
func TestBtreeReplaceHinted(t *testing.T) {
	type kv struct{ k, v int }
	tr := newBtree(func(a, b kv) int { return cmpInt(a.k, b.k) })
	for k := 0; k < 5000; k++ {
		tr.set(kv{k * 2, 0})
	}
	probe := func(k int) func(kv) int { return func(x kv) int { return cmpInt(x.k, k) } }
	contents := func(tr *btree[kv]) map[int]int {
		m := map[int]int{}
		tr.ascend(func(x kv) bool { m[x.k] = x.v; return true })
		return m
	}
	rng := rand.New(rand.NewSource(1))
	type view struct {
		tr   *btree[kv]
		want map[int]int
	}
	var views []view
	for i := 1; i <= 20000; i++ {
		k := rng.Intn(10000)
		_, found := tr.get(probe(k))
		if rng.Intn(10) == 0 {
			// A change in between: the hint is gone.
			tr.set(kv{10001 + 2*rng.Intn(100), i})
			if tr.replaceHinted(kv{k, i}) {
				t.Fatal("replaceHinted after a change")
			}
			continue
		}
		if rng.Intn(500) == 0 {
			views = append(views, view{tr.clone(), contents(tr)})
			tr.get(probe(k)) // the clone dropped the hint
		}
		if got := tr.replaceHinted(kv{k, i}); got != found {
			t.Fatalf("key %d: replaceHinted %v after get found %v", k, got, found)
		}
		if found {
			if x, _ := tr.get(probe(k)); x.v != i {
				t.Fatalf("key %d holds %v after replacing, want value %d", k, x, i)
			}
		}
	}
	if len(views) == 0 {
		t.Fatal("no clone taken")
	}
	for i, v := range views {
		got := contents(v.tr)
		if len(got) != len(v.want) {
			t.Fatalf("clone %d: %d items, want %d", i, len(got), len(v.want))
		}
		for k, want := range v.want {
			if got[k] != want {
				t.Fatalf("clone %d: key %d holds %d, want %d", i, k, got[k], want)
			}
		}
	}
}

// TestBtreeBounds: ascendFrom and descendFrom start where a sorted
// slice says, with hints deciding part of the comparisons.
func TestBtreeBounds(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	tr := newTestTree()
	var keys []int
	for i := 0; i < 5000; i++ {
		k := rng.Intn(20000)
		if _, replaced := tr.set(k); !replaced {
			keys = append(keys, k)
		}
	}
	sort.Ints(keys)
	for i := 0; i < 2000; i++ {
		k := rng.Intn(20001) - 1
		cmp := func(x int) int { return intCmp(x, k) }
		for _, orEqual := range []bool{false, true} {
			b := &bound[int]{hint: coarseHint(k), cmp: cmp, orEqual: orEqual}
			first := sort.SearchInts(keys, k) // first >= k
			if orEqual && first < len(keys) && keys[first] == k {
				first++
			}
			var up []int
			tr.ascendFrom(b, func(x int) bool { up = append(up, x); return len(up) < 3 })
			want := keys[first:min(first+3, len(keys))]
			if !slices.Equal(up, want) {
				t.Fatalf("ascendFrom %d (orEqual %v): %v, want %v", k, orEqual, up, want)
			}
			var down []int
			tr.descendFrom(b, func(x int) bool { down = append(down, x); return len(down) < 3 })
			var wantDown []int
			for j := first - 1; j >= 0 && len(wantDown) < 3; j-- {
				wantDown = append(wantDown, keys[j])
			}
			if !slices.Equal(down, wantDown) {
				t.Fatalf("descendFrom %d (orEqual %v): %v, want %v", k, orEqual, down, wantDown)
			}
		}
	}
}
