package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/memtx"
)

// The applier: the node as the replica of another instance, a node or a
// Tarantool 2.6.0 (NODE.md §3). One applier per peer of --replication
// connects, subscribes from the node's vclock, applies each transaction
// of the stream atomically, in order, with the origin's replica id and
// LSNs, skips what the node already has, and acknowledges what is in its
// WAL, so that its ACKs count in the master's synchronous quorum.
// Lost connections are retried with a growing delay.

// peerURI is a peer of box.cfg.replication.
type peerURI struct {
	addr, user, password string
}

// parsePeer reads a peer's URI as the other clients do (client.ParseURI);
// one it cannot read is dialled as given, so the failure is the dial's.
func parsePeer(uri string) peerURI {
	u, err := client.ParseURI(uri)
	if err != nil {
		return peerURI{addr: uri}
	}
	return peerURI{addr: u.Addr, user: u.User, password: u.Password}
}

func (p peerURI) dial(ctx context.Context, timeout time.Duration) (*client.ReplicationConn, error) {
	return client.DialReplication(ctx, p.addr, client.Options{User: p.user, Password: p.password, Timeout: timeout})
}

// applier follows one peer.
type applier struct {
	n    *Node
	peer peerURI

	mu       sync.Mutex
	status   string
	message  string
	uuid     string // the peer's instance UUID, from its greeting
	id       uint32 // the peer's replica id, from the SUBSCRIBE answer
	lastRow  time.Time
	lag      float64
	conn     *client.ReplicationConn
	stopped  bool
	dead     chan struct{}
	ackMu    sync.Mutex
	ackVC    format.VClock
	ackDirty bool
}

func (a *applier) setStatus(status, message string) {
	a.mu.Lock()
	a.status = status
	if message != "" || status == "follow" {
		a.message = message
	}
	a.mu.Unlock()
}

func (a *applier) info(uuid string) (memtx.Map, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.uuid == "" || !strings.EqualFold(a.uuid, uuid) || a.status == "off" {
		return nil, false // the link to itself shows no upstream, as in Tarantool
	}
	m := memtx.Map{{Key: "status", Value: a.status}, {Key: "idle", Value: sinceSeconds(a.lastRow)},
		{Key: "peer", Value: a.peer.addr}, {Key: "lag", Value: a.lag}}
	if a.message != "" {
		m = append(m, memtx.MapEntry{Key: "message", Value: a.message})
	}
	return m, true
}

// startAppliers starts one applier per peer of box.cfg.replication.
func (n *Node) startAppliers() {
	for _, uri := range n.cfg.Replication {
		a := &applier{n: n, peer: parsePeer(uri), status: "connect", dead: make(chan struct{})}
		n.repl.mu.Lock()
		n.repl.appliers = append(n.repl.appliers, a)
		n.repl.mu.Unlock()
		n.wg.Add(1)
		go a.run()
	}
}

// run connects and follows until the node stops, reconnecting after a
// failure with a delay that grows from replication_timeout to 8 times it.
func (a *applier) run() {
	defer a.n.wg.Done()
	delay := a.n.replTimeout()
	for {
		start := time.Now()
		err := a.follow()
		select {
		case <-a.n.stop:
			a.setStatus("stopped", "")
			return
		default:
		}
		if errors.Is(err, errSelf) {
			a.setStatus("off", "")
			return
		}
		a.setStatus("disconnected", err.Error())
		a.n.log.Warnf("applier %s: %v", a.peer.addr, err)
		if time.Since(start) > 10*a.n.replTimeout() {
			delay = a.n.replTimeout()
		}
		select {
		case <-a.n.stop:
			a.setStatus("stopped", "")
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 8*a.n.replTimeout())
	}
}

var errSelf = errors.New("connection to self")

// follow runs one connection: VOTE, SUBSCRIBE from the node's vclock and
// the stream.
func (a *applier) follow() error {
	n := a.n
	a.setStatus("connect", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-n.stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	conn, err := a.peer.dial(ctx, 4*n.replTimeout()+time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	g := conn.Greeting()
	a.mu.Lock()
	a.uuid = strings.ToLower(g.InstanceUUID)
	a.mu.Unlock()
	if strings.EqualFold(g.InstanceUUID, n.uuid) {
		return errSelf
	}
	if _, err := conn.Call(ctx, iproto.VoteRequest{}); err != nil && !iproto.IsCode(err, box.ErrUnknownRequestType) {
		return err
	}
	n.mu.Lock()
	req := iproto.SubscribeRequest{ReplicasetUUID: n.rsUUID, InstanceUUID: n.uuid, VClock: n.vclock.WithoutLocal(),
		ServerVersion: n.announcedVersion(), IDFilter: []uint32{n.id}}
	n.mu.Unlock()
	resp, err := conn.Call(ctx, req)
	if err != nil {
		return err
	}
	sr, err := iproto.DecodeSubscribeResponse(resp.Body)
	if err != nil {
		return err
	}
	if sr.ReplicasetUUID != "" && !strings.EqualFold(sr.ReplicasetUUID, req.ReplicasetUUID) {
		return box.NewError(box.ErrReplicasetUUIDMismatch, req.ReplicasetUUID, sr.ReplicasetUUID)
	}
	a.setStatus("follow", "")
	n.mu.Lock()
	peerID := n.replicaID(a.uuid)
	n.mu.Unlock()
	a.mu.Lock()
	a.conn = conn
	a.id = peerID
	a.mu.Unlock()
	if d := n.election; d != nil && peerID != 0 {
		d.peerHealthy(peerID, true)
	}
	defer func() {
		if d := n.election; d != nil && peerID != 0 {
			d.peerHealthy(peerID, false)
		}
	}()
	n.log.Infof("subscribed to %s (%s) from %s", a.peer.addr, g.InstanceUUID, req.VClock.String())

	acks := make(chan ackPoint, 1024)
	ackerDone := make(chan struct{})
	var ackErr error
	go func() {
		defer close(ackerDone)
		ackErr = a.acker(conn, acks)
	}()
	defer func() {
		close(acks)
		<-ackerDone
	}()
	// ack hands a point to the acker. Once the acker has stopped (its
	// connection or a WAL write failed) nothing drains acks: the
	// connection ends here, even with rows still in the read buffer.
	ack := func(p ackPoint) error {
		select {
		case acks <- p:
			return nil
		case <-ackerDone:
			return ackErr
		}
	}
	asm := format.NewTxAssembler(format.TxOptions{Retain: format.RetainOwn})
	timeout := 4 * n.replTimeout()
	var row format.Row
	for {
		conn.SetReadDeadline(time.Now().Add(timeout))
		if err := conn.ReadRow(&row); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("timed out: nothing from %s for %v", a.peer.addr, timeout)
			}
			return err
		}
		if err := iproto.RowError(&row); err != nil {
			return err
		}
		a.mu.Lock()
		a.lastRow = time.Now()
		if row.Timestamp != 0 {
			a.lag = now() - row.Timestamp
		}
		a.mu.Unlock()
		if peerID == 0 && n.election != nil {
			// The peer's registration may reach this node after the
			// subscription: its RAFT messages count from then on.
			if peerID = n.peerIDOf(a.uuid); peerID != 0 {
				a.mu.Lock()
				a.id = peerID
				a.mu.Unlock()
				n.election.peerHealthy(peerID, true)
			}
		}
		if d := n.election; d != nil && peerID != 0 {
			if row.Type == box.TypeRaft {
				m, err := row.Raft()
				if err == nil {
					err = d.step(m, peerID)
				}
				if err != nil {
					return fmt.Errorf("RAFT message from %s: %w", a.peer.addr, err)
				}
				continue
			}
			d.heartbeat(peerID)
		}
		if row.LSN == 0 {
			// A heartbeat (or a RAFT row of a newer master): answer it.
			if err := ack(ackPoint{}); err != nil {
				return err
			}
			continue
		}
		if row.ReplicaID >= format.VClockMax {
			return box.NewError(box.ErrUnknownReplica, fmt.Sprint(row.ReplicaID), "")
		}
		for _, tx := range asm.Add(&row) {
			if tx.End != format.TxCommitted {
				return box.NewError(box.ErrUnsupported, "replication", "interleaving transactions")
			}
			if tx.Headless {
				return box.NewError(box.ErrProtocol, "Transaction id must be equal to LSN of the first row in the transaction.")
			}
			done, err := n.applyRemote(tx.Rows)
			if err != nil {
				return fmt.Errorf("applying the transaction %d:%d from %s: %w", tx.Origin, tx.TSN, a.peer.addr, err)
			}
			if done != nil {
				if err := ack(ackPoint{done: done}); err != nil {
					return err
				}
			}
		}
	}
}

// ackPoint is a WAL write to wait for before acknowledging (none: a
// heartbeat, acknowledged at once).
type ackPoint struct {
	done <-chan error
}

// acker sends the ACKs of a connection: after each WAL write of received
// rows (in order) and after each heartbeat, the vclock of the node's WAL.
// ACKs that pile up while one is sent collapse into one. It returns why
// it stopped before points was closed, having closed the connection.
func (a *applier) acker(conn *client.ReplicationConn, points <-chan ackPoint) error {
	n := a.n
	for p := range points {
		if p.done != nil {
			if err := <-p.done; err != nil {
				conn.Close()
				return err
			}
		}
		if len(points) > 0 {
			continue // the next one says more
		}
		if err := conn.SendAck(iproto.Ack{VClock: n.writtenVClock(), Term: n.ackTerm()}); err != nil {
			conn.Close()
			return err
		}
	}
	return nil
}

// applyRemote applies a transaction received from a master through the
// applier's order of steps (Receiver.Take): the rows the node already has
// are skipped, the others filtered, applied to the state as one
// transaction, queued, and written to the WAL with their origin's replica
// id, LSN and TSN; the decisions of received CONFIRM, ROLLBACK, PROMOTE
// and DEMOTE rows are carried out. It returns the channel the WAL write
// answers on (nil when there was nothing to write).
func (n *Node) applyRemote(rows []*format.Row) (<-chan error, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.broken != nil {
		return nil, n.broken
	}
	t, err := n.receiver().Take(rows)
	if err != nil {
		return nil, err
	}
	if len(t.Rows) == 0 {
		return nil, nil
	}
	if t.SchemaChanges > 0 {
		n.schemaVersion.Add(uint64(t.SchemaChanges))
	}
	if t.Privileges {
		n.privGen++
	}
	if t.Queued != 0 {
		if n.repl.received == nil {
			n.repl.received = map[uint64][]Change{}
		}
		n.repl.received[t.Queued] = t.Changes
	}
	out := make([]walRow, len(t.Rows))
	for i, r := range t.Rows {
		h := r.Header
		h.Sync, h.SchemaVersion, h.StreamID = 0, 0, 0
		out[i] = walRow{header: h, body: append([]byte(nil), r.Body...)}
	}
	for _, s := range t.Synchro {
		n.resolve(s.Decisions, 0)
		if s.Claim && n.election != nil {
			n.election.queueClaimed(s.Owner, s.Term)
		}
	}
	return n.wal.submit(out), nil
}

// receiver is the node's part that takes in received transactions (n.mu
// held while it is used).
func (n *Node) receiver() Receiver {
	return Receiver{Limbo: n.limbo, State: n.st, VClock: &n.vclock, NextTx: &n.nextTx}
}
