package node

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/memtx"
)

// Bootstrap of a node whose directory is empty and that has peers
// (NODE.md §2.2, §3.2): it asks every peer for its ballot and, as 2.6.0
// does, picks the instance to bootstrap from — writable before read-only,
// running before loading, the greatest vclock, then the smallest UUID,
// itself included. If that is itself it bootstraps a new replica set;
// otherwise it JOINs that peer (retrying while the peer is still loading),
// writes the joined state as its first snapshot and goes on as a replica.
// Meanwhile it answers the ballots of its peers as a loading instance, so
// that replica sets whose members all start at once agree on one.

// ballotOf is a candidate of the bootstrap choice.
type ballotOf struct {
	uuid    string
	self    bool
	peer    peerURI
	ro      bool
	loading bool
	vclock  format.VClock
}

// better tells whether a should bootstrap the replica set rather than b.
func (a ballotOf) better(b ballotOf) bool {
	if a.ro != b.ro {
		return !a.ro
	}
	if a.loading != b.loading {
		return !a.loading
	}
	if sa, sb := a.vclock.Signature(), b.vclock.Signature(); sa != sb {
		return sa > sb
	}
	return a.uuid < b.uuid
}

// connectTimeout bounds the collection of the peers' ballots at bootstrap
// (replication_connect_timeout).
func (n *Node) connectTimeout() time.Duration {
	if n.cfg.ReplicationConnectTimeout > 0 {
		return n.cfg.ReplicationConnectTimeout
	}
	return 30 * time.Second
}

// joinReplicaSet bootstraps an empty directory with peers configured.
func (n *Node) joinReplicaSet() error {
	uuid := strings.ToLower(n.cfg.InstanceUUID)
	if uuid == "" {
		uuid = newUUID()
	}
	n.cfg.InstanceUUID = uuid
	lst, err := n.loadingListener(uuid)
	if err != nil {
		return err
	}
	defer lst.close()
	for {
		leader, err := n.chooseBootstrapLeader(uuid)
		if err != nil {
			return err
		}
		if leader.self {
			n.log.Infof("bootstrapping a new replica set: this instance has the best ballot")
			return n.bootstrap()
		}
		n.log.Infof("joining %s (%s)", leader.peer.addr, leader.uuid)
		err = n.joinFrom(leader.peer, uuid)
		if err == nil {
			return nil
		}
		if !retryableJoin(err) {
			return fmt.Errorf("join from %s: %w", leader.peer.addr, err)
		}
		n.log.Infof("join from %s: %v; retrying", leader.peer.addr, err)
		select {
		case <-n.stop:
			return errStopped
		case <-time.After(n.replTimeout()):
		}
	}
}

// retryableJoin tells the errors after which 2.6.0 retries a join.
func retryableJoin(err error) bool {
	var ie *iproto.Error
	if errors.As(err, &ie) {
		switch ie.Code {
		case box.ErrLoading, box.ErrSyncQuorumTimeout, box.ErrSyncRollback, box.ErrCfg, box.ErrAccessDenied,
			box.ErrNoSuchUser, box.ErrPasswordMismatch, box.ErrReadonly:
			return true
		}
		return false
	}
	return true // the network
}

// chooseBootstrapLeader collects the ballots of the peers (all of them,
// or those that answer within the connect timeout) and returns the best.
func (n *Node) chooseBootstrapLeader(uuid string) (ballotOf, error) {
	self := ballotOf{uuid: uuid, self: true, ro: n.cfg.ReadOnly, loading: true}
	deadline := time.Now().Add(n.connectTimeout())
	peers := map[string]ballotOf{}
	for {
		// The peers still to ask are chosen before any answer is
		// recorded: the map is written by the askers below.
		var ask []peerURI
		for _, uri := range n.cfg.Replication {
			p := parsePeer(uri)
			if _, ok := peers[p.addr]; !ok {
				ask = append(ask, p)
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, p := range ask {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, err := n.ballotOfPeer(p)
				if err != nil {
					return
				}
				mu.Lock()
				peers[p.addr] = b
				mu.Unlock()
			}()
		}
		wg.Wait()
		if len(peers) == len(n.cfg.Replication) || time.Now().After(deadline) {
			break
		}
		select {
		case <-n.stop:
			return ballotOf{}, errStopped
		case <-time.After(100 * time.Millisecond):
		}
	}
	best := self
	for _, b := range peers {
		if b.uuid == uuid {
			continue
		}
		if b.better(best) {
			best = b
		}
	}
	return best, nil
}

func (n *Node) ballotOfPeer(p peerURI) (ballotOf, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// The ballot is asked before any login, as 2.6.0 does: a loading
	// peer refuses logins.
	conn, err := peerURI{addr: p.addr}.dial(ctx, 2*time.Second)
	if err != nil {
		return ballotOf{}, err
	}
	defer conn.Close()
	g := conn.Greeting()
	resp, err := conn.Call(ctx, iproto.VoteRequest{})
	if err != nil {
		return ballotOf{}, err
	}
	bl, err := iproto.DecodeBallot(resp.Body, g.Version)
	if err != nil {
		return ballotOf{}, err
	}
	return ballotOf{uuid: strings.ToLower(g.InstanceUUID), peer: p, ro: bl.IsRO, loading: bl.IsLoading, vclock: bl.VClock}, nil
}

// joinFrom runs JOIN against a peer: the initial data into a new state,
// the final rows applied on it, then the joined state is written as the
// node's first snapshot and the WAL starts after it.
func (n *Node) joinFrom(p peerURI, uuid string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, err := p.dial(ctx, 4*n.replTimeout()+time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	go func() {
		select {
		case <-n.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if _, err := conn.Call(ctx, iproto.VoteRequest{}); err != nil && !iproto.IsCode(err, box.ErrUnknownRequestType) {
		return err
	}
	if _, err := conn.Send(iproto.JoinRequest{InstanceUUID: uuid, ServerVersion: n.joinVersion()}); err != nil {
		return err
	}
	st := memtx.NewStateWithOptions(n.stateOptions())
	var row format.Row
	next := func() error {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		if err := conn.ReadRow(&row); err != nil {
			return err
		}
		return iproto.RowError(&row)
	}
	// Stage 1: the vclock of the read view, its rows, the stop vclock.
	if err := next(); err != nil {
		return err
	}
	var vclock format.VClock
	if r, err := iproto.DecodeVClockResponse(row.Body); err != nil {
		return err
	} else {
		vclock = r.VClock
	}
	rows := 0
	for {
		if err := next(); err != nil {
			return err
		}
		if row.Type == box.TypeJoinMeta && rows == 0 {
			if err := n.joinedMeta(&row, next); err != nil {
				return err
			}
			continue
		}
		if row.Type == box.TypeOK {
			break
		}
		if err := applyJoinRow(st, &row); err != nil {
			return fmt.Errorf("initial row %d: %w", rows, err)
		}
		rows++
	}
	// Stage 2: the rows written meanwhile, the registration among them.
	for {
		if err := next(); err != nil {
			return err
		}
		if row.Type == box.TypeOK {
			break
		}
		if row.ReplicaID != 0 && row.LSN <= vclock.Get(row.ReplicaID) {
			continue
		}
		if row.Type.IsDML() && row.Type != box.TypeNop {
			if err := applyJoinRow(st, &row); err != nil {
				return fmt.Errorf("final row %d:%d: %w", row.ReplicaID, row.LSN, err)
			}
		}
		if row.ReplicaID != 0 {
			vclock.Follow(row.ReplicaID, row.LSN)
		}
	}
	n.st, n.vclock, n.uuid = st, vclock, uuid
	n.mu.Lock()
	n.id = n.replicaID(uuid)
	n.mu.Unlock()
	if n.id == 0 {
		return fmt.Errorf("%s did not register this instance (%s) in _cluster", p.addr, uuid)
	}
	if sp := st.Space(box.SpaceSchema); sp != nil {
		if t := sp.Get([]any{"cluster"}); len(t) > 1 {
			n.rsUUID, _ = t[1].(string)
		}
	}
	n.log.Infof("joined replica set %s as replica %d: %d rows, vclock %s", n.rsUUID, n.id, rows, vclock.String())
	path := filepath.Join(n.cfg.Dir, format.FileName(format.TypeSNAP, vclock))
	if err := n.writeSnapshotFile(n.st.ReadView(), path, vclock); err != nil {
		return err
	}
	n.startWAL(nil)
	return nil
}

// applyJoinRow applies a DML row of a JOIN stream to a state.
func applyJoinRow(st *memtx.State, row *format.Row) error {
	req, err := RowRequest(row)
	if err == nil {
		_, err = st.Execute(req)
	}
	return err
}

// RowRequest decodes the storage request of a DML row (a received or
// recovered one, as the node and the simulation apply it).
func RowRequest(row *format.Row) (memtx.Request, error) {
	d, err := row.DML()
	if err != nil {
		return memtx.Request{}, err
	}
	return memtx.RawRequest{Type: row.Type, SpaceID: d.SpaceID, IndexID: d.IndexID, IndexBase: d.IndexBase,
		Key: d.Key, Tuple: d.Tuple, Ops: d.Ops}.Decode()
}

// loadingListener answers on the node's address while it bootstraps: VOTE
// with the ballot of a loading instance, anything else with ER_LOADING.
type loadingListener struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (n *Node) loadingListener(uuid string) (*loadingListener, error) {
	l := &loadingListener{conns: map[net.Conn]struct{}{}}
	if n.cfg.Listen == "" {
		return l, nil
	}
	ln, err := net.Listen("tcp", n.cfg.Listen)
	if err != nil {
		return nil, err
	}
	l.ln = ln
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		var conns sync.WaitGroup
		defer conns.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.conns[c] = struct{}{}
			l.mu.Unlock()
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer func() {
					l.mu.Lock()
					delete(l.conns, c)
					l.mu.Unlock()
					c.Close()
				}()
				salt := make([]byte, 32)
				rand.Read(salt)
				c.SetDeadline(time.Now().Add(5 * time.Second))
				g, err := iproto.EncodeGreeting(iproto.Greeting{Version: box.VersionOf(n.cfg.Version), InstanceUUID: uuid, Salt: salt})
				if err != nil {
					return
				}
				if _, err := c.Write(g); err != nil {
					return
				}
				br := bufio.NewReader(c)
				for {
					pkt, err := iproto.ReadPacket(br, nil)
					if err != nil {
						return
					}
					var row format.Row
					if err := iproto.DecodePacket(pkt, &row); err != nil {
						return
					}
					var out []byte
					if row.Type == box.TypeVote {
						bl := iproto.Ballot{IsRO: n.cfg.ReadOnly, IsLoading: true}
						out = iproto.AppendResponse(nil, box.TypeOK, row.Sync, 0, bl.AppendBody(nil, box.Version{Major: 2, Minor: 6}))
					} else {
						out = iproto.AppendError(nil, row.Sync, 0, iproto.ErrorOf(box.NewError(box.ErrLoading)))
					}
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}()
		}
	}()
	return l, nil
}

func (l *loadingListener) close() {
	if l.ln == nil {
		return
	}
	l.ln.Close()
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}
