package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/memtx"
	"github.com/xlogtool/xlogtool/node"
)

// The client workload: clients send synchronous and asynchronous inserts
// of unique keys and reads to the node they take for the leader, and
// record what they were told, with call and return times of the manual
// clock. A read is a synchronous transaction that reads a key and inserts
// a marker key of its own: its answer counts once the transaction is
// confirmed, so it is as linearizable as the writes are.

// OpKind is the kind of a client operation.
type OpKind int

// Operation kinds.
const (
	OpSync  OpKind = iota // insert into the synchronous space
	OpAsync               // insert into the asynchronous space
	OpRead                // read a key in a synchronous transaction
)

func (k OpKind) String() string { return [...]string{"sync insert", "async insert", "read"}[k] }

// Outcome is what a client was told.
type Outcome int

// Outcomes.
const (
	Waiting Outcome = iota
	// Acked: the node acknowledged the operation.
	Acked
	// Failed: a definite error (read-only, rolled back, no connection).
	Failed
	// Unknown: the answer was lost (the node crashed, the client gave up).
	Unknown
)

func (o Outcome) String() string { return [...]string{"waiting", "acked", "failed", "unknown"}[o] }

// Op is one client operation.
type Op struct {
	wl      *workload
	Client  int
	Kind    OpKind
	Key     string // the key inserted or read
	Val     string // the value inserted, or read
	Marker  string // a read's marker key
	Node    uint32 // the node that executed it (0: refused before)
	LSN     uint64
	Call    time.Duration
	Return  time.Duration
	Outcome Outcome
	Err     string
}

// written is the key the operation's row inserts.
func (op *Op) written() string {
	if op.Kind == OpRead {
		return op.Marker
	}
	return op.Key
}

func (op *Op) String() string {
	s := fmt.Sprintf("client %d %v %s", op.Client, op.Kind, op.Key)
	if op.Kind != OpRead || op.Outcome == Acked {
		s += "=" + fmt.Sprintf("%q", op.Val)
	}
	if op.Kind == OpRead {
		s += " (marker " + op.Marker + ")"
	}
	s += fmt.Sprintf(" on node %d lsn %d [%.3fs, %.3fs]: %v", op.Node, op.LSN, op.Call.Seconds(), op.Return.Seconds(), op.Outcome)
	if op.Err != "" {
		s += " (" + op.Err + ")"
	}
	return s
}

func (op *Op) finish(o Outcome, err string) {
	if op.Outcome != Waiting {
		return
	}
	op.Outcome, op.Err, op.Return = o, err, op.wl.rs.W.Now()
	op.wl.rs.tracef("%v", op)
	if o == Acked && op.Kind != OpAsync {
		op.wl.rs.checkDurable(op)
	}
	op.wl.clients[op.Client].done(op)
}

func (op *Op) ack()            { op.finish(Acked, "") }
func (op *Op) fail(why string) { op.finish(Failed, why) }
func (op *Op) lost()           { op.finish(Unknown, "no answer") }

type workload struct {
	rs      *ReplicaSet
	clients []*client
	ops     []*Op
	stopped bool
	// Async is the share of asynchronous inserts, Reads the share of
	// reads.
	Async, Reads float64
	timeout      time.Duration
}

type client struct {
	wl     *workload
	id     int
	target int // the node it takes for the leader (0: none known)
	n      int
}

func newWorkload(rs *ReplicaSet, clients int, async, reads float64) *workload {
	o := rs.opts
	wl := &workload{rs: rs, Async: async, Reads: reads,
		timeout: 2*min(o.SynchroTimeout, 5*time.Second) + 2*o.ElectionTimeout + 8*o.ReplicationTimeout}
	for i := 0; i < clients; i++ {
		wl.clients = append(wl.clients, &client{wl: wl, id: i})
	}
	return wl
}

func (wl *workload) start() {
	for _, c := range wl.clients {
		c.next()
	}
}

// idle reports whether no operation waits for its answer.
func (wl *workload) idle() bool {
	for _, op := range wl.ops {
		if op.Outcome == Waiting {
			return false
		}
	}
	return true
}

func (c *client) next() {
	w := c.wl.rs.W
	w.After(w.Between(time.Millisecond, 100*time.Millisecond), c.issue)
}

func (c *client) done(op *Op) {
	if op.Outcome == Unknown {
		c.target = 0
	}
	c.next()
}

func (c *client) issue() {
	wl := c.wl
	rs, w := wl.rs, wl.rs.W
	if wl.stopped {
		return
	}
	c.n++
	op := &Op{wl: wl, Client: c.id, Call: w.Now()}
	switch x := w.Rand.Float64(); {
	case x < wl.Reads && len(wl.ops) > 0:
		op.Kind = OpRead
		op.Key = wl.ops[w.Rand.IntN(len(wl.ops))].written()
		op.Marker = fmt.Sprintf("r%d.%d", c.id, c.n)
	case x < wl.Reads+wl.Async:
		op.Kind = OpAsync
		op.Key, op.Val = fmt.Sprintf("a%d.%d", c.id, c.n), fmt.Sprintf("v%d.%d", c.id, c.n)
	default:
		op.Kind = OpSync
		op.Key, op.Val = fmt.Sprintf("s%d.%d", c.id, c.n), fmt.Sprintf("v%d.%d", c.id, c.n)
	}
	wl.ops = append(wl.ops, op)
	if c.target == 0 {
		c.target = 1 + w.Rand.IntN(rs.opts.Nodes)
	}
	r := rs.Nodes[c.target]
	w.After(wl.timeout, func() { op.finish(Unknown, "timed out") })
	if !r.up {
		c.target = 0
		op.fail("connection refused")
		return
	}
	if e := r.execute(op); e != nil {
		if e.Code == box.ErrReadonly {
			c.target = int(r.E.Status().Leader)
		}
		op.fail(e.Error())
	}
}

// execute runs a client's operation on the node: refused unless Raft
// makes the node writable, then queued (a synchronous one, or an
// asynchronous one behind waiting ones) and written. Its answer comes
// when the WAL write is done (not queued) or when the queue decides.
func (r *Replica) execute(op *Op) *box.Error {
	rs := r.rs
	if !r.E.Writable() {
		return box.NewError(box.ErrReadonly)
	}
	space, sync := uint32(SyncSpace), true
	if op.Kind == OpAsync {
		space, sync = AsyncSpace, false
	}
	key, val := op.Key, op.Val
	if op.Kind == OpRead {
		op.Val, _ = r.Get(op.Key)
		key, val = op.Marker, ""
	}
	// As the node: the change goes into the data, then the transaction
	// into the queue (undone when it may not enter).
	ch, err := r.State.Execute(memtx.Request{Type: box.TypeInsert, SpaceID: space, Tuple: []any{key, val}})
	if err != nil {
		rs.Check.failf("node %d: %v: %v", r.id, op, err)
		return box.NewError(box.ErrSystem, err.Error())
	}
	queued := r.Limbo.Queued(sync)
	lsn := r.vclock.Get(r.id) + 1
	if queued {
		if e := r.Limbo.Append(r.nextTx+1, lsn, lsn, sync); e != nil {
			if err := node.Undo(r.State, space, ch); err != nil {
				rs.Check.failf("node %d: %v", r.id, err)
			}
			return e
		}
		r.nextTx++
		r.pending[r.nextTx] = &pendingTx{changes: []node.Change{{Space: space, Ch: ch}}, op: op}
	}
	flags := node.SyncFlags(queued, sync)
	rs.Check.wrote(int(r.id), r.E.Status().Term)
	op.Node, op.LSN = r.id, lsn
	r.logRow(box.TypeInsert, insertBody(space, key, val), false, flags, func() {
		if queued {
			r.Limbo.Written(lsn, rs.W.Now().Seconds())
			r.driveLimbo()
		} else {
			op.ack()
		}
	})
	return nil
}

// kvInput is a porcupine operation on one key.
type kvInput struct {
	write bool
	key   string
	val   string
}

// kvModel is a map of registers, each written once (unique keys): a read
// returns the value written before it, or "" before any write.
var kvModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(kvInput).key
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(kvInput)
		if in.write {
			return true, in.val
		}
		return output.(string) == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(kvInput)
		if in.write {
			return fmt.Sprintf("put(%s, %q)", in.key, in.val)
		}
		return fmt.Sprintf("get(%s) → %q", in.key, output)
	},
}

// history is the porcupine history of the operations: acknowledged ones
// with their times; writes with an unknown outcome as never returning
// (they may have taken effect at any time after their call); failed
// operations and reads without an answer left out. Asynchronous inserts
// are acknowledged before any replica has them and a failover may lose
// them (Tarantool's asynchronous replication): their outcome is unknown.
func (wl *workload) history() []porcupine.Operation {
	var h []porcupine.Operation
	for _, op := range wl.ops {
		in := kvInput{write: op.Kind != OpRead, key: op.Key, val: op.Val}
		ret := int64(op.Return)
		switch {
		case op.Outcome == Failed:
			continue
		case op.Kind == OpRead && op.Outcome != Acked:
			continue
		case op.Outcome != Acked, op.Kind == OpAsync:
			ret = math.MaxInt64
		}
		var out any = ""
		if op.Kind == OpRead {
			out = op.Val
		}
		h = append(h, porcupine.Operation{ClientId: op.Client, Input: in, Call: int64(op.Call), Output: out, Return: ret})
	}
	return h
}

// keyOf returns the key a row inserts ("" for other rows).
func keyOf(row *format.Row) string {
	if !row.Type.IsDML() {
		return ""
	}
	k, _, _, ok := decodeInsert(row)
	if !ok {
		return ""
	}
	return k
}
