package memtx

// A B-tree keeping items ordered by a comparison function, with
// O(log n) lookup, insertion and removal. Items equal under the
// comparison replace each other.
//
// Copy on write: clone returns a second tree sharing every node with the
// first in O(1). Nodes belong to the tree (its owner token) that made
// them; a tree changes only nodes it owns and copies a shared node (and
// the path to it) before changing it, so each tree sees only its own
// changes and a clone may be read on another goroutine while the
// original is written.

// Each item is kept with its hint (bentry): a 64-bit summary of its key
// that the comparison looks at first (see hint.go). Searches compare
// hints and call the comparison function, which reads the items' tuples,
// only when two hints are equal or one of them is hintNone.
//
// A node holds up to btreeMaxItems items, and one more for the moment
// before it is split; its arrays are made that big at once (itemRoom,
// childRoom) and never grow. 61 makes an array of 16-byte entries (a
// tuple reference and its hint) fit its size class: 62*16 = 992 of 1024.
const (
	btreeMaxItems = 61 // must be odd
	btreeMinItems = btreeMaxItems / 2
	itemRoom      = btreeMaxItems + 1
	childRoom     = btreeMaxItems + 2
)

type btree[T any] struct {
	cmp    func(a, b T) int
	hint   func(T) uint64 // nil: every item has hintNone
	root   *bnode[T]
	length int
	owner  *cowOwner // nodes made by this tree since its last clone
	// miss is the path of the last get that found nothing, while the
	// tree has not changed since (hasMiss): insertHinted uses it so that
	// a lookup followed by the insertion of what it looked for searches
	// once.
	miss    []bstep[T]
	hasMiss bool
	// hasHit: the last get found its item at the end of miss, and the
	// tree has not changed since: replaceHinted puts an equal item there
	// without searching again.
	hasHit bool
	// right is the rightmost leaf, owned by the tree, while nothing but
	// appendMax changed the tree since appendMax found it: appends in
	// key order (a snapshot's) go straight there.
	right *bnode[T]
}

// bstep is a node on a search path and the position taken in it.
type bstep[T any] struct {
	n *bnode[T]
	i int
}

// bentry is an item and its hint.
type bentry[T any] struct {
	item T
	hint uint64
}

type bnode[T any] struct {
	items    []bentry[T]
	children []*bnode[T] // nil for leaves
	owner    *cowOwner
}

// cowOwner tells which tree may change a node in place.
type cowOwner struct{ _ byte }

func newBtree[T any](cmp func(a, b T) int) *btree[T] {
	return &btree[T]{cmp: cmp, owner: &cowOwner{}}
}

// newHintedBtree makes a tree whose items carry hint(item); hint must
// preserve the order of cmp (see hint.go).
func newHintedBtree[T any](cmp func(a, b T) int, hint func(T) uint64) *btree[T] {
	return &btree[T]{cmp: cmp, hint: hint, owner: &cowOwner{}}
}

// entry pairs an item with its hint.
func (t *btree[T]) entry(item T) bentry[T] {
	if t.hint == nil {
		return bentry[T]{item, hintNone}
	}
	return bentry[T]{item, t.hint(item)}
}

// cmpEntry orders two entries: by their hints where these decide, else
// by the comparison function.
func (t *btree[T]) cmpEntry(a, b bentry[T]) int {
	if c := hintCmp(a.hint, b.hint); c != 0 {
		return c
	}
	return t.cmp(a.item, b.item)
}

// clone returns a tree with the items of t, sharing its nodes; from now
// on each of the two copies the nodes it changes.
func (t *btree[T]) clone() *btree[T] {
	c := *t
	c.miss, c.hasMiss, c.hasHit, c.right = nil, false, false, nil
	t.owner, c.owner = &cowOwner{}, &cowOwner{}
	t.hasMiss, t.hasHit, t.right = false, false, nil
	return &c
}

// newNode makes a node owned by t.
func (t *btree[T]) newNode(items []bentry[T], children []*bnode[T]) *bnode[T] {
	return &bnode[T]{items: items, children: children, owner: t.owner}
}

// mutable returns n itself when t owns it, else a copy of it owned by t.
func (t *btree[T]) mutable(n *bnode[T]) *bnode[T] {
	if n.owner == t.owner {
		return n
	}
	c := &bnode[T]{owner: t.owner, items: append(make([]bentry[T], 0, itemRoom), n.items...)}
	if n.children != nil {
		c.children = append(make([]*bnode[T], 0, childRoom), n.children...)
	}
	return c
}

// mutableRoot makes the root owned by t.
func (t *btree[T]) mutableRoot() *bnode[T] {
	t.root = t.mutable(t.root)
	return t.root
}

// mutableChild makes child i of n (which t owns) owned by t.
func (t *btree[T]) mutableChild(n *bnode[T], i int) *bnode[T] {
	c := t.mutable(n.children[i])
	n.children[i] = c
	return c
}

func (t *btree[T]) Len() int { return t.length }

// find returns the position of the first item with probe(item) >= 0 and
// whether that item matches (probe == 0). probe(item) compares the item
// with the searched key, whose hint is kh; it is called only where the
// hints do not decide.
func (n *bnode[T]) find(kh uint64, probe func(T) int) (int, bool) {
	// Items are distinct under the comparison: an exact match is the
	// only one and ends the search.
	lo, hi := 0, len(n.items)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		e := &n.items[h]
		c := hintCmp(e.hint, kh)
		if c == 0 {
			c = probe(e.item)
		}
		switch {
		case c < 0:
			lo = h + 1
		case c > 0:
			hi = h
		default:
			return h, true
		}
	}
	return lo, false
}

// max returns the greatest item's entry.
func (t *btree[T]) max() (bentry[T], bool) {
	if r := t.right; r != nil && len(r.items) > 0 {
		return r.items[len(r.items)-1], true
	}
	n := t.root
	if n == nil || t.length == 0 {
		return bentry[T]{}, false
	}
	for n.children != nil {
		n = n.children[len(n.children)-1]
	}
	if len(n.items) == 0 {
		return bentry[T]{}, false
	}
	return n.items[len(n.items)-1], true
}

// get returns an item matching probe.
func (t *btree[T]) get(probe func(T) int) (T, bool) {
	return t.getHinted(hintNone, probe)
}

// getHinted returns an item matching probe, a key whose hint is kh.
func (t *btree[T]) getHinted(kh uint64, probe func(T) int) (T, bool) {
	t.hasHit = false
	// Keys above the greatest item (appends in key order, as in a
	// snapshot) are answered from the right edge.
	if m, ok := t.max(); ok {
		c := hintCmp(m.hint, kh)
		if c == 0 {
			c = probe(m.item)
		}
		if c < 0 {
			var zero T
			return zero, false
		}
	}
	n := t.root
	t.miss, t.hasMiss = t.miss[:0], false
	for n != nil {
		i, found := n.find(kh, probe)
		if found {
			t.miss, t.hasHit = append(t.miss, bstep[T]{n, i}), true
			return n.items[i].item, true
		}
		t.miss = append(t.miss, bstep[T]{n, i})
		if n.children == nil {
			t.hasMiss = true
			break
		}
		n = n.children[i]
	}
	var zero T
	return zero, false
}

// replaceHinted puts item in place of the item the last get found, when
// the tree has not changed since and the two are equal, and reports
// whether it did (a REPLACE of an existing key: one search, not two).
func (t *btree[T]) replaceHinted(item T) bool {
	if !t.hasHit {
		return false
	}
	t.hasHit = false
	path := t.miss
	if last := path[len(path)-1]; t.cmp(last.n.items[last.i].item, item) != 0 {
		return false
	}
	t.right = nil
	t.ownPath(path)
	last := path[len(path)-1]
	// The old hint stays: it orders the new item, equal to the old one,
	// as well.
	last.n.items[last.i].item = item
	return true
}

// ownPath makes the nodes of a search path the tree's own (copies of
// those a clone shares), updating the path.
func (t *btree[T]) ownPath(path []bstep[T]) {
	for k := range path {
		if k == 0 {
			path[0].n = t.mutableRoot()
		} else {
			path[k].n = t.mutableChild(path[k-1].n, path[k-1].i)
		}
	}
}

// insertHinted inserts item where the last get found nothing, when that
// is where item belongs, and reports whether it did. The position is
// checked against the nearest items on both sides.
func (t *btree[T]) insertHinted(item T) bool {
	if !t.hasMiss {
		return false
	}
	t.hasMiss, t.hasHit, t.right = false, false, nil
	path := t.miss
	e := t.entry(item)
	left, right := false, false
	for k := len(path) - 1; k >= 0 && !(left && right); k-- {
		n, i := path[k].n, path[k].i
		if !left && i > 0 {
			if t.cmpEntry(n.items[i-1], e) >= 0 {
				return false
			}
			left = true
		}
		if !right && i < len(n.items) {
			if t.cmpEntry(e, n.items[i]) >= 0 {
				return false
			}
			right = true
		}
	}
	// The path to the leaf becomes the tree's own.
	t.ownPath(path)
	leaf := path[len(path)-1]
	leaf.n.items = insertAt(leaf.n.items, leaf.i, e, itemRoom)
	t.length++
	if len(leaf.n.items) > btreeMaxItems && len(path) > 1 && t.shift(path[len(path)-2], leaf.n) {
		return true
	}
	// Split the nodes that overflow, from the leaf up.
	for k := len(path) - 1; k >= 0; k-- {
		n := path[k].n
		if len(n.items) <= btreeMaxItems {
			break
		}
		sep, r := n.splitHalf()
		if k == 0 {
			t.root = t.newNode(append(make([]bentry[T], 0, itemRoom), sep), append(make([]*bnode[T], 0, childRoom), n, r))
			break
		}
		p := path[k-1]
		p.n.items = insertAt(p.n.items, p.i, sep, itemRoom)
		p.n.children = insertAt(p.n.children, p.i+1, r, childRoom)
	}
	return true
}

// shift moves an item of an overflowing leaf through the separator in
// its parent to a sibling leaf with room, instead of a split: keys
// inserted in random order then leave the leaves fuller (a split leaves
// two half-full nodes). p is the parent and the leaf's position in it.
func (t *btree[T]) shift(p bstep[T], leaf *bnode[T]) bool {
	var zero bentry[T]
	if p.i > 0 && len(p.n.children[p.i-1].items) < btreeMaxItems-1 {
		left := t.mutableChild(p.n, p.i-1)
		left.items = append(left.items, p.n.items[p.i-1])
		p.n.items[p.i-1] = leaf.items[0]
		leaf.items, _ = removeAt(leaf.items, 0)
		return true
	}
	if p.i+1 < len(p.n.children) && len(p.n.children[p.i+1].items) < btreeMaxItems-1 {
		right := t.mutableChild(p.n, p.i+1)
		right.items = insertAt(right.items, 0, p.n.items[p.i], itemRoom)
		last := len(leaf.items) - 1
		p.n.items[p.i] = leaf.items[last]
		leaf.items[last] = zero
		leaf.items = leaf.items[:last]
		return true
	}
	return false
}

// splitHalf splits a node with one item too many in two halves around
// its middle item.
func (n *bnode[T]) splitHalf() (bentry[T], *bnode[T]) {
	return n.splitAt(len(n.items) / 2)
}

// splitAt splits a node around its item at mid: the items and children
// after it move to a new right node, and that item is returned as the
// separator.
func (n *bnode[T]) splitAt(mid int) (bentry[T], *bnode[T]) {
	var zero bentry[T]
	sep := n.items[mid]
	right := &bnode[T]{items: append(make([]bentry[T], 0, itemRoom), n.items[mid+1:]...), owner: n.owner}
	for i := mid; i < len(n.items); i++ {
		n.items[i] = zero
	}
	n.items = n.items[:mid]
	if n.children != nil {
		right.children = append(make([]*bnode[T], 0, childRoom), n.children[mid+1:]...)
		for i := mid + 1; i < len(n.children); i++ {
			n.children[i] = nil
		}
		n.children = n.children[:mid+1]
	}
	return sep, right
}

// set inserts item, replacing and returning an equal one if present.
func (t *btree[T]) set(item T) (T, bool) {
	t.hasMiss, t.hasHit = false, false
	var zero T
	e := t.entry(item)
	if r := t.right; r != nil && len(r.items) > 0 && len(r.items) < btreeMaxItems && t.cmpEntry(r.items[len(r.items)-1], e) < 0 {
		r.items = append(r.items, e)
		t.length++
		return zero, false
	}
	t.right = nil
	if t.root == nil {
		t.root = t.newNode(append(make([]bentry[T], 0, itemRoom), e), nil)
		t.length = 1
		return zero, false
	}
	if m, ok := t.max(); ok && t.cmpEntry(m, e) < 0 {
		t.appendMaxEntry(e)
		return zero, false
	}
	t.mutableRoot()
	if len(t.root.items) >= btreeMaxItems {
		sep, right := t.root.split()
		t.root = t.newNode(append(make([]bentry[T], 0, itemRoom), sep), append(make([]*bnode[T], 0, childRoom), t.root, right))
	}
	old, replaced := t.insert(t.root, e)
	if !replaced {
		t.length++
	}
	return old, replaced
}

// appendMax adds an item greater than every item of the tree along the
// right edge. Full nodes there are split keeping all but their last item
// on the left, so that a tree built in key order has full nodes.
func (t *btree[T]) appendMax(item T) {
	t.appendMaxEntry(t.entry(item))
}

func (t *btree[T]) appendMaxEntry(e bentry[T]) {
	t.hasMiss, t.hasHit = false, false
	if r := t.right; r != nil && len(r.items) < btreeMaxItems {
		r.items = append(r.items, e)
		t.length++
		return
	}
	t.mutableRoot()
	if len(t.root.items) >= btreeMaxItems {
		sep, right := t.root.splitLast()
		t.root = t.newNode(append(make([]bentry[T], 0, itemRoom), sep), append(make([]*bnode[T], 0, childRoom), t.root, right))
	}
	n := t.root
	for n.children != nil {
		last := len(n.children) - 1
		c := t.mutableChild(n, last)
		if len(c.items) >= btreeMaxItems {
			sep, right := c.splitLast()
			n.items = append(n.items, sep)
			n.children = append(n.children, right)
			c = right
		}
		n = c
	}
	n.items = append(n.items, e)
	t.length++
	t.right = n
}

// splitLast splits a full node into itself without its last item (and
// last child), the separator (that item) and a new node holding only
// the last child. The new node has fewer items than the minimum until
// appends fill it; removal copes with that (grow).
func (n *bnode[T]) splitLast() (bentry[T], *bnode[T]) {
	var zero bentry[T]
	last := len(n.items) - 1
	sep := n.items[last]
	n.items[last] = zero
	n.items = n.items[:last]
	right := &bnode[T]{items: make([]bentry[T], 0, itemRoom), owner: n.owner}
	if n.children != nil {
		right.children = make([]*bnode[T], 1, childRoom)
		right.children[0] = n.children[last+1]
		n.children[last+1] = nil
		n.children = n.children[:last+1]
	}
	return sep, right
}

func (n *bnode[T]) split() (bentry[T], *bnode[T]) {
	return n.splitAt(btreeMaxItems / 2)
}

func (t *btree[T]) insert(n *bnode[T], e bentry[T]) (T, bool) {
	probe := func(x T) int { return t.cmp(x, e.item) }
	for {
		i, found := n.find(e.hint, probe)
		if found {
			old := n.items[i]
			n.items[i] = e
			return old.item, true
		}
		if n.children == nil {
			n.items = insertAt(n.items, i, e, itemRoom)
			var zero T
			return zero, false
		}
		if len(n.children[i].items) >= btreeMaxItems {
			sep, right := t.mutableChild(n, i).split()
			n.items = insertAt(n.items, i, sep, itemRoom)
			n.children = insertAt(n.children, i+1, right, childRoom)
			switch c := t.cmpEntry(e, sep); {
			case c == 0:
				old := n.items[i]
				n.items[i] = e
				return old.item, true
			case c > 0:
				i++
			}
		}
		n = t.mutableChild(n, i)
	}
}

// insertAt inserts e at position i. A full slice grows to room, the most
// a node holds before it is split (append would double it, and the half
// of a split node would keep the doubled array).
func insertAt[E any](s []E, i int, e E, room int) []E {
	var zero E
	if len(s) == cap(s) {
		g := make([]E, len(s), max(len(s)+1, room))
		copy(g, s)
		s = g
	}
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = e
	return s
}

func removeAt[E any](s []E, i int) ([]E, E) {
	e := s[i]
	copy(s[i:], s[i+1:])
	var zero E
	s[len(s)-1] = zero
	return s[:len(s)-1], e
}

// delete removes the item matching probe.
func (t *btree[T]) delete(probe func(T) int) (T, bool) {
	return t.deleteHinted(hintNone, probe)
}

// deleteHinted removes the item matching probe, a key whose hint is kh.
func (t *btree[T]) deleteHinted(kh uint64, probe func(T) int) (T, bool) {
	t.hasMiss, t.hasHit, t.right = false, false, nil
	var zero T
	if t.root == nil {
		return zero, false
	}
	out, ok := t.remove(t.mutableRoot(), kh, probe, false)
	if len(t.root.items) == 0 {
		if t.root.children != nil {
			t.root = t.root.children[0]
		} else {
			t.root = nil
		}
	}
	if ok {
		t.length--
	}
	return out.item, ok
}

// remove deletes the item matching probe (or the maximum when max is set)
// from the subtree of n, which has more than the minimum of items unless
// it is the root.
func (t *btree[T]) remove(n *bnode[T], kh uint64, probe func(T) int, max bool) (bentry[T], bool) {
	var zero bentry[T]
	for {
		var i int
		var found bool
		if max {
			i = len(n.items)
			if n.children == nil {
				i--
				found = true
			}
		} else {
			i, found = n.find(kh, probe)
		}
		if n.children == nil {
			if !found {
				return zero, false
			}
			var out bentry[T]
			n.items, out = removeAt(n.items, i)
			return out, true
		}
		if len(n.children[i].items) <= btreeMinItems {
			t.grow(n, i)
			continue
		}
		if found {
			out := n.items[i]
			n.items[i], _ = t.remove(t.mutableChild(n, i), hintNone, nil, true)
			return out, true
		}
		n = t.mutableChild(n, i)
	}
}

// grow makes child i hold more than the minimum of items, by taking an
// item from a sibling or by merging with one.
func (t *btree[T]) grow(n *bnode[T], i int) {
	if i > 0 && len(n.children[i-1].items) > btreeMinItems {
		c, left := t.mutableChild(n, i), t.mutableChild(n, i-1)
		var stolen bentry[T]
		left.items, stolen = removeAt(left.items, len(left.items)-1)
		c.items = insertAt(c.items, 0, n.items[i-1], itemRoom)
		n.items[i-1] = stolen
		if left.children != nil {
			var ch *bnode[T]
			left.children, ch = removeAt(left.children, len(left.children)-1)
			c.children = insertAt(c.children, 0, ch, childRoom)
		}
		return
	}
	if i < len(n.items) && len(n.children[i+1].items) > btreeMinItems {
		c, right := t.mutableChild(n, i), t.mutableChild(n, i+1)
		var stolen bentry[T]
		right.items, stolen = removeAt(right.items, 0)
		c.items = append(c.items, n.items[i])
		n.items[i] = stolen
		if right.children != nil {
			var ch *bnode[T]
			right.children, ch = removeAt(right.children, 0)
			c.children = append(c.children, ch)
		}
		return
	}
	if i >= len(n.items) {
		i--
	}
	c := t.mutableChild(n, i)
	var sep bentry[T]
	n.items, sep = removeAt(n.items, i)
	var right *bnode[T]
	n.children, right = removeAt(n.children, i+1)
	c.items = append(append(c.items, sep), right.items...)
	if c.children != nil {
		c.children = append(c.children, right.children...)
	}
}

// ascend calls fn for every item in order until fn returns false.
func (t *btree[T]) ascend(fn func(T) bool) {
	if t.root != nil {
		t.root.ascend(fn)
	}
}

func (n *bnode[T]) ascend(fn func(T) bool) bool {
	for i := range n.items {
		if n.children != nil && !n.children[i].ascend(fn) {
			return false
		}
		if !fn(n.items[i].item) {
			return false
		}
	}
	if n.children != nil {
		return n.children[len(n.children)-1].ascend(fn)
	}
	return true
}

// clear removes all items.
func (t *btree[T]) clear() {
	t.hasMiss, t.hasHit, t.right = false, false, nil
	t.root = nil
	t.length = 0
}

// bound is where ascendFrom and descendFrom start: the items below it
// are those that compare below a key whose hint is hint (cmp compares an
// item with the key), or equal to it too when orEqual is set.
type bound[T any] struct {
	hint    uint64
	cmp     func(T) int
	orEqual bool
}

// below reports whether an entry is below the bound; hints decide where
// they can.
func (b *bound[T]) below(e *bentry[T]) bool {
	c := hintCmp(e.hint, b.hint)
	if c == 0 {
		c = b.cmp(e.item)
	}
	return c < 0 || c == 0 && b.orEqual
}

// lowerBound returns the position of the first item of n not below b
// (the items below it are a prefix).
func (n *bnode[T]) lowerBound(b *bound[T]) int {
	lo, hi := 0, len(n.items)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if b.below(&n.items[h]) {
			lo = h + 1
		} else {
			hi = h
		}
	}
	return lo
}

// ascendFrom calls fn in order for the items from the first one not
// below b, until fn returns false.
func (t *btree[T]) ascendFrom(b *bound[T], fn func(T) bool) {
	if t.root != nil {
		t.root.ascendFrom(b, fn)
	}
}

func (n *bnode[T]) ascendFrom(b *bound[T], fn func(T) bool) bool {
	i := n.lowerBound(b)
	if n.children != nil && !n.children[i].ascendFrom(b, fn) {
		return false
	}
	for ; i < len(n.items); i++ {
		if !fn(n.items[i].item) {
			return false
		}
		if n.children != nil && !n.children[i+1].ascend(fn) {
			return false
		}
	}
	return true
}

// descendFrom calls fn in reverse order for the items below b, until fn
// returns false.
func (t *btree[T]) descendFrom(b *bound[T], fn func(T) bool) {
	if t.root != nil {
		t.root.descendFrom(b, fn)
	}
}

func (n *bnode[T]) descendFrom(b *bound[T], fn func(T) bool) bool {
	i := n.lowerBound(b) // items[:i] qualify
	if n.children != nil && !n.children[i].descendFrom(b, fn) {
		return false
	}
	for i--; i >= 0; i-- {
		if !fn(n.items[i].item) {
			return false
		}
		if n.children != nil && !n.children[i].descend(fn) {
			return false
		}
	}
	return true
}

func (n *bnode[T]) descend(fn func(T) bool) bool {
	for i := len(n.items) - 1; i >= 0; i-- {
		if n.children != nil && !n.children[i+1].descend(fn) {
			return false
		}
		if !fn(n.items[i].item) {
			return false
		}
	}
	if n.children != nil {
		return n.children[0].descend(fn)
	}
	return true
}
