package node

import (
	"fmt"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/node/raft"
	"github.com/xlogtool/xlogtool/synchro"
)

// RAFT on the relay (NODE.md §2.5, §5.3): a replica that announced a
// version that understands them gets the node's RAFT messages, the latest
// state only, a PROMOTE always after the RAFT message of its term. A
// replica of an older version (2.6.0) gets neither: a PROMOTE would stop
// its applier for good, so the relay ends the link instead and says why.

// relayRaft subscribes the relay of replica id to the RAFT messages, or
// says why it gets none.
func (n *Node) relayRaft(req iproto.SubscribeRequest, id uint32) (*raftSub, string) {
	if n.election == nil || req.Anon || id == 0 {
		return nil, ""
	}
	if req.ServerVersion < raftVersion {
		if n.electionOnNow() {
			why := fmt.Sprintf("replica %s announced version %s, which does not understand RAFT messages and PROMOTE rows: it gets no election traffic", req.InstanceUUID, versionString(req.ServerVersion))
			n.log.Warnf("%s", why)
			return nil, why
		}
		return nil, ""
	}
	return n.election.subscribe(), ""
}

func versionString(v uint32) string {
	if v == 0 {
		return "none"
	}
	return box.VersionFromID(v).String()
}

func (s *stream) raftC() <-chan format.Raft {
	if s.raft == nil {
		return nil
	}
	return s.raft.ch
}

// sendRaft writes a RAFT message: a row with no LSN and no replica id,
// group local as 2.11 sends it.
func (s *stream) sendRaft(m format.Raft) error {
	h := format.Header{Type: box.TypeRaft, Sync: s.l.sync, GroupID: box.GroupLocal, Commit: true}
	if err := s.l.sendRow(&h, format.AppendRaftMessage(nil, &m)); err != nil {
		return err
	}
	return s.l.flush()
}

func (s *stream) sendPendingRaft() error {
	select {
	case m := <-s.raftC():
		return s.sendRaft(m)
	default:
		return nil
	}
}

// checkSynchro refuses to send a PROMOTE or DEMOTE to a replica that does
// not understand it.
func (s *stream) checkSynchro(h *format.Header) error {
	if (h.Type != box.TypePromote && h.Type != box.TypeDemote) || s.stop != nil || s.raftRefused == "" {
		return nil
	}
	err := box.NewError(box.ErrUnsupported, "Replication", fmt.Sprintf("%s towards this replica (%s; it would stop its applier)", h.Type, s.raftRefused))
	// The subscription closes the socket as it ends: the replica is told
	// here.
	s.l.fail(err)
	return errLinkIO{err}
}

// joinVersion is the SERVER_VERSION of the node's JOIN: with elections on
// it asks for the META stage (joinMeta); otherwise none, as 2.6.0.
func (n *Node) joinVersion() uint32 {
	if n.cfg.electionOn() {
		return n.announcedVersion()
	}
	return 0
}

// joinMeta is the META stage of an initial join (2.7.3/2.8.2/2.10+, NODE.md
// §2.3, FORMAT.md §7.5): the Raft state (term, vote, leader; no role) and
// the queue (a PROMOTE naming the owner, its confirmed LSN and the term)
// as the read view was taken. Only a replica that sent SERVER_VERSION gets
// it: 2.6.0 sends none and stops on a JOIN_META row.
type joinMeta struct {
	raft  format.Raft
	queue format.Synchro
}

// joinMetaFor returns the META stage for a joiner that announced version
// (nil: none); taken right after the read view.
func (n *Node) joinMetaFor(version uint32) *joinMeta {
	if version == 0 {
		return nil
	}
	m := &joinMeta{}
	if d := n.election; d != nil {
		d.mu.Lock()
		m.raft = d.e.Raft.CheckpointRemote()
		d.mu.Unlock()
		m.raft.State, m.raft.VClock, m.raft.HasVClock = 0, format.VClock{}, false
	}
	n.mu.Lock()
	qs := n.limbo.q.State()
	n.mu.Unlock()
	m.queue = format.Synchro{ReplicaID: qs.Owner, LSN: qs.ConfirmedLSN, Term: qs.Term, HasTerm: true}
	return m
}

// sendJoinMeta writes the META stage: JOIN_META, the RAFT row, the
// PROMOTE row (header replica id = the owner, as 2.11 sends it) and
// JOIN_SNAPSHOT, each a header with the request's sync.
func (l *link) sendJoinMeta(m *joinMeta) error {
	if m == nil {
		return nil
	}
	if err := l.sendRow(&format.Header{Type: box.TypeJoinMeta, Sync: l.sync, Commit: true}, nil); err != nil {
		return err
	}
	if err := l.sendRow(&format.Header{Type: box.TypeRaft, Sync: l.sync, Commit: true}, format.AppendRaftMessage(nil, &m.raft)); err != nil {
		return err
	}
	h := format.Header{Type: box.TypePromote, ReplicaID: m.queue.ReplicaID, Sync: l.sync, Commit: true}
	if err := l.sendRow(&h, format.AppendSynchroBody(nil, &m.queue)); err != nil {
		return err
	}
	return l.sendRow(&format.Header{Type: box.TypeJoinSnap, Sync: l.sync, Commit: true}, nil)
}

// joinedMeta reads the META stage of a master's initial join, after its
// JOIN_META row: the Raft term and vote and the queue state are taken as
// recovered ones (2.11's applier_wait_snapshot: box_raft_recover and the
// PROMOTE applied to the queue); next reads the following row.
func (n *Node) joinedMeta(row *format.Row, next func() error) error {
	for {
		if err := next(); err != nil {
			return err
		}
		switch row.Type {
		case box.TypeJoinSnap:
			return nil
		case box.TypePromote, box.TypeDemote:
			s, err := row.Synchro()
			if err != nil {
				return fmt.Errorf("JOIN_META %s: %w", row.Type, err)
			}
			n.recovered.queue = synchro.State{Owner: s.ReplicaID, OwnerKnown: true, Term: s.Term, TermKnown: true, ConfirmedLSN: s.LSN}
		case box.TypeRaft:
			m, err := row.Raft()
			if err != nil {
				return fmt.Errorf("JOIN_META RAFT: %w", err)
			}
			if m.Term > n.recovered.st.Term {
				n.recovered.st = raft.Persistent{Term: m.Term, Vote: m.Vote}
			}
		default:
			return box.NewError(box.ErrUnknownRequestType, uint32(row.Type))
		}
	}
}
