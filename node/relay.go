package node

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/memtx"
)

// The relay: the node as the master of other instances (NODE.md §2). A
// connection turns into a replication link with VOTE, JOIN, FETCH_SNAPSHOT,
// REGISTER or SUBSCRIBE; the relay then writes to the socket directly.
// Rows are streamed from the xlog files first and then live from the WAL
// writer (walFeed), every row as it is stored, in WAL order. Only rows a
// 2.6.0 replica applies ever leave: the node writes DML, NOP, CONFIRM and
// ROLLBACK rows and nothing else (NODE.md §2.8).

// isReplicationRequest tells which requests take the connection over.
func isReplicationRequest(t box.RowType) bool {
	switch t {
	case box.TypeVote, box.TypeVoteOld, box.TypeJoin, box.TypeSubscribe, box.TypeFetchSnap, box.TypeRegister:
		return true
	}
	return false
}

// serveReplication answers one replication request on c, whose pending
// replies are all written. It returns false when the connection is to be
// closed.
func (n *Node) serveReplication(c net.Conn, br *bufio.Reader, pkt []byte, sess *session) bool {
	var row format.Row
	if err := iproto.DecodePacket(pkt, &row); err != nil {
		return false
	}
	l := &link{n: n, c: c, br: br, bw: bufio.NewWriterSize(c, 64<<10), sync: row.Sync}
	var err error
	switch row.Type {
	case box.TypeVote:
		err = l.vote()
	case box.TypeVoteOld:
		err = l.reply(iproto.VClockResponse{VClock: n.VClock().WithoutLocal()}.AppendBody(nil))
	case box.TypeJoin:
		var req iproto.JoinRequest
		if req, err = iproto.DecodeJoin(row.Body); err != nil {
			err = box.NewError(box.ErrInvalidMsgpack, err)
		} else {
			err = l.join(sess, req)
		}
	case box.TypeFetchSnap:
		var req iproto.FetchSnapshotRequest
		if req, err = iproto.DecodeFetchSnapshot(row.Body); err != nil {
			err = box.NewError(box.ErrInvalidMsgpack, err)
		} else {
			err = l.fetchSnapshot(sess, req)
		}
	case box.TypeRegister:
		var req iproto.RegisterRequest
		if req, err = iproto.DecodeRegister(row.Body); err != nil {
			err = box.NewError(box.ErrInvalidMsgpack, err)
		} else {
			err = l.registerReplica(sess, req)
		}
	case box.TypeSubscribe:
		var req iproto.SubscribeRequest
		if req, err = iproto.DecodeSubscribe(row.Body); err != nil {
			err = box.NewError(box.ErrInvalidMsgpack, err)
		} else {
			err = l.subscribe(sess, req)
		}
		// The connection ends with the subscription.
		if err != nil {
			l.fail(err)
		}
		return false
	}
	if err == nil {
		return l.bw.Flush() == nil
	}
	return l.fail(err)
}

// link is a connection serving a replication request.
type link struct {
	n    *Node
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	sync uint64
	buf  []byte
}

// errLinkIO is an error of the socket itself: nothing more is sent.
type errLinkIO struct{ err error }

func (e errLinkIO) Error() string { return e.err.Error() }

// fail sends err to the peer when it is a Tarantool error; it returns
// whether the connection may go on (after a request error it may, as in
// Tarantool).
func (l *link) fail(err error) bool {
	var be *box.Error
	if !errors.As(err, &be) {
		var le errLinkIO
		if !errors.As(err, &le) {
			l.n.log.Warnf("relay %s: %v", l.c.RemoteAddr(), err)
		}
		return false
	}
	l.buf = iproto.AppendError(l.buf[:0], l.sync, l.n.schemaVersionNow(), iproto.ErrorOf(be))
	if _, werr := l.bw.Write(l.buf); werr != nil {
		return false
	}
	return l.bw.Flush() == nil
}

func (l *link) write(b []byte) error {
	if _, err := l.bw.Write(b); err != nil {
		return errLinkIO{err}
	}
	return nil
}

func (l *link) flush() error {
	if err := l.bw.Flush(); err != nil {
		return errLinkIO{err}
	}
	return nil
}

// reply writes an OK with the request's sync and the body given.
func (l *link) reply(body []byte) error {
	l.buf = iproto.AppendResponse(l.buf[:0], box.TypeOK, l.sync, l.n.schemaVersionNow(), body)
	return l.write(l.buf)
}

// sendRow writes a row as a packet (a log row, or an OK with a header of
// its own).
func (l *link) sendRow(h *format.Header, body []byte) error {
	var err error
	l.buf, err = iproto.AppendRow(l.buf[:0], h, body)
	if err != nil {
		return err
	}
	return l.write(l.buf)
}

// sendVClock writes the OK {VCLOCK} packets that open and close the
// stages of JOIN and FETCH_SNAPSHOT.
func (l *link) sendVClock(v format.VClock) error {
	h := format.Header{Type: box.TypeOK, Sync: l.sync, Commit: true}
	return l.sendRow(&h, iproto.VClockResponse{VClock: v.WithoutLocal()}.AppendBody(nil))
}

// vote answers VOTE with the ballot as 2.6.0 sends it: a writable,
// running node says it is neither read-only nor loading, so a joining
// 2.6.0 replica picks it as the master to bootstrap from.
func (l *link) vote() error {
	n := l.n
	n.mu.Lock()
	bl := iproto.Ballot{IsRO: n.readOnly || n.electionFollower(), VClock: n.vclock.WithoutLocal()}
	n.mu.Unlock()
	bl.GCVClock = n.gcVClock()
	return l.reply(bl.AppendBody(nil, box.Version{Major: 2, Minor: 6, Patch: 0}))
}

// gcVClock is the vclock of the oldest checkpoint kept: what a replica
// can still subscribe from.
func (n *Node) gcVClock() format.VClock {
	snaps, _, err := dirFiles(n.cfg.Dir)
	if err != nil || len(snaps) == 0 {
		return format.VClock{}
	}
	if m, err := readMeta(snaps[0].Path); err == nil {
		return m.VClock.WithoutLocal()
	}
	return format.VClock{}
}

// readView waits, as 2.6.0 does before a join, until no synchronous
// transaction is pending, then takes a read view of the data and the
// vclock it corresponds to.
func (n *Node) joinReadView() (*memtx.ReadView, format.VClock, error) {
	deadline := time.Now().Add(n.synchroTimeout())
	for {
		n.mu.Lock()
		if n.limboIdle() {
			rv, v := n.st.ReadView(), n.vclock
			n.mu.Unlock()
			return rv, v, nil
		}
		n.mu.Unlock()
		if time.Now().After(deadline) {
			return nil, format.VClock{}, box.NewError(box.ErrSyncQuorumTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitJoinable waits as joinReadView does, without keeping the view.
func (n *Node) waitJoinable() error {
	rv, _, err := n.joinReadView()
	if err != nil {
		return err
	}
	rv.Close()
	return nil
}

// sendInitial writes the initial data of JOIN and FETCH_SNAPSHOT: every
// tuple of the read view but those of replica-local spaces, as INSERT
// rows without LSN, between the OK packets carrying the start and stop
// vclocks.
func (l *link) sendInitial(rv *memtx.ReadView, start format.VClock, meta *joinMeta) error {
	defer rv.Close()
	if err := l.sendVClock(start); err != nil {
		return err
	}
	if err := l.sendJoinMeta(meta); err != nil {
		return err
	}
	var body []byte
	h := format.Header{Type: box.TypeInsert, Sync: l.sync, Commit: true}
	for _, sp := range rv.Spaces() {
		if sp.IsLocal {
			continue
		}
		var err error
		sp.Ascend(func(t memtx.Tuple) bool {
			body = append(body[:0], 0x82, box.KeySpaceID, 0xce, byte(sp.ID>>24), byte(sp.ID>>16), byte(sp.ID>>8), byte(sp.ID))
			body = append(append(body, box.KeyTuple), t...)
			err = l.sendRow(&h, body)
			return err == nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// fetchSnapshot serves an anonymous replica's FETCH_SNAPSHOT: the initial
// data of a join, without registration and final stage; with the META
// stage when the replica sent its version (2.11.8's and 3.x's request
// body; 2.6.0 and 2.11.0 send none).
func (l *link) fetchSnapshot(sess *session, req iproto.FetchSnapshotRequest) error {
	n := l.n
	if err := n.checkUniverseLocked(sess, box.PrivRead); err != nil {
		return err
	}
	rv, start, err := n.joinReadView()
	if err != nil {
		return err
	}
	if err := l.sendInitial(rv, start, n.joinMetaFor(req.ServerVersion)); err != nil {
		return err
	}
	return l.sendVClock(start)
}

// join serves JOIN (NODE.md §2.3): the initial data from a read view, the
// registration of the replica in _cluster, the final data (the WAL rows
// written since the read view, the registration among them) and the
// vclock reached.
func (l *link) join(sess *session, req iproto.JoinRequest) error {
	n := l.n
	uuid := strings.ToLower(req.InstanceUUID)
	if err := n.checkPeer(sess, uuid); err != nil {
		return err
	}
	n.mu.Lock()
	registered := n.replicaID(uuid) != 0
	ro := n.readOnly || n.electionFollower()
	n.mu.Unlock()
	if !registered && ro {
		return box.NewError(box.ErrReadonly)
	}
	rv, start, err := n.joinReadView()
	if err != nil {
		return err
	}
	n.repl.hold(uuid, start)
	n.log.Infof("joining replica %s at %s", uuid, l.c.RemoteAddr())
	if err := l.sendInitial(rv, start, n.joinMetaFor(req.ServerVersion)); err != nil {
		return err
	}
	if !registered {
		if _, err := n.register(uuid); err != nil {
			return err
		}
	}
	if err := n.waitJoinable(); err != nil {
		return err
	}
	stop := n.VClock().WithoutLocal()
	if err := l.sendVClock(stop); err != nil {
		return err
	}
	s := &stream{l: l, sent: start.WithoutLocal(), stop: &stop}
	if err := s.run(); err != nil {
		return err
	}
	if err := l.sendVClock(stop); err != nil {
		return err
	}
	n.repl.hold(uuid, stop)
	n.log.Infof("replica %s joined at %s", uuid, stop.String())
	return nil
}

// registerReplica serves REGISTER (NODE.md §2.4): an anonymous replica
// becomes a normal one. It is registered in _cluster and gets the WAL rows
// written meanwhile (its registration among them), then the vclock
// reached; it goes on with a SUBSCRIBE.
func (l *link) registerReplica(sess *session, req iproto.RegisterRequest) error {
	n := l.n
	uuid := strings.ToLower(req.InstanceUUID)
	if err := n.checkPeer(sess, uuid); err != nil {
		return err
	}
	n.mu.Lock()
	registered := n.replicaID(uuid) != 0
	ro := n.readOnly
	start := n.vclock.WithoutLocal()
	n.mu.Unlock()
	if registered {
		return box.NewError(box.ErrReplicaNotAnon, uuid)
	}
	if ro {
		return box.NewError(box.ErrReadonly)
	}
	n.repl.hold(uuid, start)
	if _, err := n.register(uuid); err != nil {
		return err
	}
	if err := n.waitJoinable(); err != nil {
		return err
	}
	stop := n.VClock().WithoutLocal()
	s := &stream{l: l, sent: start, stop: &stop}
	if err := s.run(); err != nil {
		return err
	}
	n.repl.hold(uuid, stop)
	return l.sendVClock(stop)
}

// register inserts an instance into _cluster with the first free replica
// id, as 2.6.0's box_on_join does, and waits until the row is written.
func (n *Node) register(uuid string) (uint32, error) {
	n.mu.Lock()
	members := n.clusterMembers()
	var id uint32
	for id = 1; id < format.VClockMax; id++ {
		if _, used := members[id]; !used {
			break
		}
	}
	if id >= format.VClockMax {
		n.mu.Unlock()
		return 0, box.NewError(box.ErrReplicaMax, format.VClockMax-1)
	}
	res, err := n.execLocked(n.adminSession(), memtx.Request{Type: box.TypeInsert, SpaceID: box.SpaceCluster,
		Tuple: []any{uint64(id), uuid}}, nil)
	n.mu.Unlock()
	if err == nil {
		err = res.Wait()
	}
	if err != nil {
		return 0, err
	}
	n.log.Infof("assigned id %d to replica %s", id, uuid)
	return id, nil
}

// checkPeer checks a JOIN or SUBSCRIBE: not from the node itself, and
// by a user who may read everything.
func (n *Node) checkPeer(sess *session, uuid string) error {
	if strings.EqualFold(uuid, n.uuid) {
		return box.NewError(box.ErrConnectionToSelf)
	}
	return n.checkUniverseLocked(sess, box.PrivRead)
}

// checkUniverseLocked checks a universe privilege of a session.
func (n *Node) checkUniverseLocked(s *session, want uint32) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e := n.checkUniverse(s, want); e != nil {
		return e
	}
	return nil
}

// relay is a subscribed replica: what box.info.replication shows of it
// and what its ACKs drive.
type relay struct {
	uuid string
	id   uint32 // 0: anonymous
	addr string

	mu      sync.Mutex
	ack     format.VClock
	lastAck time.Time
	status  string
	message string
}

func (r *relay) info() memtx.Map {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := memtx.Map{{Key: "status", Value: r.status}, {Key: "idle", Value: sinceSeconds(r.lastAck)},
		{Key: "vclock", Value: vclockMap(r.ack)}}
	if r.message != "" {
		m = append(m, memtx.MapEntry{Key: "message", Value: r.message})
	}
	return m
}

// subscribe serves SUBSCRIBE (NODE.md §2.5) until the connection ends:
// the OK with the node's id and vclock, a heartbeat, the rows after the
// replica's vclock from the files and then live, heartbeats when idle;
// the replica's ACKs are read meanwhile and feed the limbo.
func (l *link) subscribe(sess *session, req iproto.SubscribeRequest) error {
	n := l.n
	uuid := strings.ToLower(req.InstanceUUID)
	if err := n.checkPeer(sess, uuid); err != nil {
		return err
	}
	n.mu.Lock()
	id := n.replicaID(uuid)
	vclock, self, rsUUID := n.vclock, n.id, n.rsUUID
	n.mu.Unlock()
	if id == 0 && !req.Anon {
		return box.NewError(box.ErrUnknownReplica, uuid, rsUUID)
	}
	r := &relay{uuid: uuid, id: id, addr: l.c.RemoteAddr().String(), status: "follow", ack: req.VClock, lastAck: time.Now()}
	if !req.Anon {
		n.repl.mu.Lock()
		if old := n.repl.relays[uuid]; old != nil && old.active() {
			n.repl.mu.Unlock()
			return box.NewError(box.ErrCfg, "replication", "duplicate connection with the same replica UUID")
		}
		if n.repl.relays == nil {
			n.repl.relays = map[string]*relay{}
		}
		n.repl.relays[uuid] = r
		n.repl.mu.Unlock()
		n.repl.hold(uuid, req.VClock)
	}
	n.log.Infof("subscribed replica %s (id %d) at %s from %s", uuid, id, l.c.RemoteAddr(), req.VClock.WithoutLocal().String())
	h := format.Header{Type: box.TypeOK, Sync: l.sync, ReplicaID: self, Commit: true}
	body := iproto.SubscribeResponse{VClock: vclock.WithoutLocal(), ReplicasetUUID: rsUUID}.AppendBody(nil)
	err := l.sendRow(&h, body)
	if err == nil {
		err = l.heartbeat()
	}
	if err == nil {
		err = l.flush()
	}
	var done chan struct{}
	if err == nil {
		done = make(chan struct{})
		go l.readAcks(r, done)
		filter := map[uint32]bool{}
		for _, f := range req.IDFilter {
			filter[f] = true
		}
		sent := req.VClock.WithoutLocal()
		s := &stream{l: l, sent: sent, filter: filter, replica: id, ownLimit: vclock.Get(id), done: done}
		s.raft, s.raftRefused = n.relayRaft(req, id)
		err = s.run()
		n.election.unsubscribe(s.raft)
	}
	l.c.Close()
	if done != nil {
		<-done
	}
	r.mu.Lock()
	r.status = "stopped"
	if err != nil {
		r.message = err.Error()
	}
	r.mu.Unlock()
	n.log.Infof("relay to %s (id %d) stopped: %v", uuid, id, err)
	return err
}

func (r *relay) active() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status == "follow"
}

// heartbeat writes the relay's heartbeat as 2.6.0 does: an OK with the
// node's replica id and the current time, no body.
func (l *link) heartbeat() error {
	h := format.Header{Type: box.TypeOK, ReplicaID: l.n.idNow(), Timestamp: now(), Commit: true}
	return l.sendRow(&h, nil)
}

func (n *Node) idNow() uint32 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// readAcks reads the replica's ACKs until the connection fails or stays
// silent for 4 replication timeouts; each one moves the replica's vclock
// and, when this node owns the queue, counts in the limbo.
func (l *link) readAcks(r *relay, done chan struct{}) {
	defer close(done)
	n := l.n
	var buf []byte
	for {
		l.c.SetReadDeadline(time.Now().Add(4 * n.replTimeout()))
		pkt, err := iproto.ReadPacket(l.br, buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				r.setMessage("timed out")
			}
			l.c.Close()
			return
		}
		buf = pkt[:0]
		var row format.Row
		if err := iproto.DecodePacket(pkt, &row); err != nil {
			r.setMessage(err.Error())
			l.c.Close()
			return
		}
		ack, err := iproto.DecodeAck(row.Body)
		if err != nil {
			r.setMessage(err.Error())
			l.c.Close()
			return
		}
		r.mu.Lock()
		r.ack, r.lastAck = ack.VClock, time.Now()
		r.mu.Unlock()
		if r.id != 0 {
			n.ackedTerm(ack.Term)
			n.repl.hold(r.uuid, ack.VClock)
			n.replicaAck(r.id, ack.VClock)
		}
	}
}

func (r *relay) setMessage(m string) {
	r.mu.Lock()
	r.message = m
	r.mu.Unlock()
}

// stream sends WAL rows to a replica: from the xlog files, then from the
// WAL feed, skipping rows the replica has. With stop set it ends once
// every component of stop is sent (JOIN's final stage); otherwise it
// follows the WAL, with heartbeats, until the link fails.
type stream struct {
	l      *link
	sent   format.VClock
	stop   *format.VClock
	filter map[uint32]bool
	// replica is the subscriber's id: its own rows are sent only up to
	// ownLimit, the node's vclock of it at subscribe time.
	replica  uint32
	ownLimit uint64
	done     <-chan struct{}
	lastSend time.Time
	// raft carries the node's RAFT messages to a replica that
	// understands them; raftRefused says why one does not get them.
	raft        *raftSub
	raftRefused string
}

var errFeedBehind = errors.New("fell behind the WAL")

func (s *stream) run() error {
	for {
		if s.reached() {
			return nil
		}
		sub := s.l.n.wal.feed.subscribe()
		err := s.sendFiles()
		if err == nil {
			err = s.l.flush()
		}
		if err == nil {
			err = s.follow(sub)
		}
		sub.close()
		if err != errFeedBehind {
			return err
		}
	}
}

func (s *stream) reached() bool {
	if s.stop == nil {
		return false
	}
	ok := true
	s.stop.Each(func(id uint32, lsn uint64) {
		if id != 0 && s.sent.Get(id) < lsn {
			ok = false
		}
	})
	return ok
}

// send writes one row if the replica needs it.
func (s *stream) send(h *format.Header, body []byte, sync uint64) error {
	if h.ReplicaID == 0 || h.LSN <= s.sent.Get(h.ReplicaID) {
		return nil
	}
	if s.stop != nil && h.LSN > s.stop.Get(h.ReplicaID) {
		return nil
	}
	s.sent.Set(h.ReplicaID, h.LSN)
	if s.filter[h.ReplicaID] || (s.replica != 0 && h.ReplicaID == s.replica && h.LSN > s.ownLimit) {
		return nil
	}
	if err := s.checkSynchro(h); err != nil {
		return err
	}
	out := *h
	out.Sync = sync
	if out.GroupID == box.GroupLocal {
		// A local row with a replica id (old versions): a NOP.
		out.Type, out.GroupID, body = box.TypeNop, 0, nil
	}
	s.lastSend = time.Now()
	return s.l.sendRow(&out, body)
}

// sendFiles sends the rows of the xlog files that the replica lacks.
func (s *stream) sendFiles() error {
	n := s.l.n
	_, xlogs, err := dirFiles(n.cfg.Dir)
	if err != nil {
		return err
	}
	// Start at the newest file that begins at or below what was sent.
	first := -1
	for i := len(xlogs) - 1; i >= 0; i-- {
		m, err := readMeta(xlogs[i].Path)
		if err != nil {
			continue
		}
		if m.VClock.WithoutLocal().LessEq(s.sent) {
			first = i
			break
		}
	}
	if first < 0 {
		if len(xlogs) == 0 {
			return nil
		}
		m, err := readMeta(xlogs[0].Path)
		if err == nil && !m.VClock.WithoutLocal().LessEq(s.sent) {
			return box.NewError(box.ErrXlogGap, fmt.Sprintf("%s and %s", s.sent.String(), m.VClock.WithoutLocal().String()))
		}
		first = 0
	}
	for i := first; i < len(xlogs); i++ {
		last := i == len(xlogs)-1
		if err := s.sendFile(xlogs[i].Path, last); err != nil {
			return err
		}
		if s.reached() {
			return nil
		}
	}
	return nil
}

// sendFile sends the rows of one file. The newest file may end in a
// transaction being written: its rows come through the feed.
func (s *stream) sendFile(path string, newest bool) error {
	f, err := os.Open(path)
	if err != nil {
		if newest && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()
	r, err := format.NewReader(f, format.Options{Name: path})
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		row, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if newest {
				return nil
			}
			return err
		}
		if err := s.send(&row.Header, row.Body, s.l.sync); err != nil {
			return err
		}
		if s.reached() {
			return nil
		}
		select {
		case <-s.done:
			return errLinkIO{errors.New("the replica is gone")}
		default:
		}
	}
}

// follow sends the transactions of the feed as they are written, and a
// heartbeat whenever nothing was sent for a replication timeout.
func (s *stream) follow(sub *feedSub) error {
	n := s.l.n
	timeout := n.replTimeout()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for !s.reached() {
		select {
		case m := <-s.raftC():
			if err := s.sendRaft(m); err != nil {
				return err
			}
		case rows, ok := <-sub.ch:
			if !ok {
				return errFeedBehind
			}
			// A PROMOTE goes after the RAFT message of its term.
			if err := s.sendPendingRaft(); err != nil {
				return err
			}
			for i := range rows {
				if err := s.send(&rows[i].header, rows[i].body, s.l.sync); err != nil {
					return err
				}
			}
			if len(sub.ch) == 0 {
				if err := s.l.flush(); err != nil {
					return err
				}
			}
		case <-t.C:
			if s.stop == nil && time.Since(s.lastSend) >= timeout {
				if err := s.l.heartbeat(); err != nil {
					return err
				}
				if err := s.l.flush(); err != nil {
					return err
				}
				s.lastSend = time.Now()
			}
			if s.stop != nil {
				t.Reset(timeout)
			} else {
				t.Reset(timeout - time.Since(s.lastSend))
			}
		case <-s.done:
			return errLinkIO{errors.New("the replica is gone")}
		case <-n.stop:
			return errLinkIO{errStopped}
		}
	}
	return s.l.flush()
}
