package node

import (
	"fmt"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
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
// it asks for the queue state (sendQueueState); otherwise none, as 2.6.0.
func (n *Node) joinVersion() uint32 {
	if n.cfg.electionOn() {
		return n.announcedVersion()
	}
	return 0
}

// sendQueueState ends the initial data of a JOIN from a replica that
// understands PROMOTE with the queue's PROMOTE row (owner, confirmed LSN,
// term; no LSN of its own), as a snapshot holds it: the replica's queue
// then knows the owner whose transactions follow.
func (l *link) sendQueueState(req iproto.JoinRequest) error {
	if req.ServerVersion < raftVersion {
		return nil
	}
	p := l.n.snapshotPromote()
	if p == nil {
		return nil
	}
	h := format.Header{Type: box.TypePromote, Sync: l.sync, Commit: true}
	return l.sendRow(&h, format.AppendSynchroBody(nil, p))
}

// joinedQueueState takes the queue state from a PROMOTE row of a JOIN's
// initial data.
func (n *Node) joinedQueueState(row *format.Row) bool {
	if row.Type != box.TypePromote {
		return false
	}
	if s, err := row.Synchro(); err == nil {
		n.recovered.queue = synchro.State{Owner: s.ReplicaID, OwnerKnown: true, Term: s.Term, TermKnown: true, ConfirmedLSN: s.LSN}
	}
	return true
}
