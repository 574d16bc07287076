package verify

// Event is one point on an instance's timeline: a change of Raft term or
// vote, of the synchronous queue's owner or term, a rollback, or a place
// where history splits.
type Event struct {
	// Time is the row's timestamp (seconds since the epoch, written by
	// this instance; 0 when the row has none).
	Time float64 `json:"time,omitempty"`
	// Signature is the instance's vclock signature after the row: its
	// position in the log.
	Signature uint64 `json:"signature"`
	Kind      string `json:"kind"`
	ReplicaID uint32 `json:"replica_id,omitempty"` // the row's origin
	LSN       uint64 `json:"lsn,omitempty"`
	Term      uint64 `json:"term,omitempty"`
	Owner     uint32 `json:"owner"` // queue owner after the event (0 = none)
	Text      string `json:"text"`
}

// Event kinds.
const (
	EventRaftTerm = "raft-term"
	EventVote     = "vote"
	EventPromote  = "promote"
	EventDemote   = "demote"
	EventOwner    = "owner" // implicit owner change (2.5–2.8)
	EventClear    = "clear-queue"
	EventRollback = "rollback"
	EventSplit    = "split"
	EventGap      = "gap"
	EventStart    = "start"
	EventEnd      = "end"
)

// timelineLimit bounds the events kept per instance: the first half and
// the last half are kept when there are more.
const timelineLimit = 4096

type timeline struct {
	events  []Event
	tail    []Event // ring of the newest events once events is full
	next    int
	dropped int
}

func (t *timeline) add(e Event) {
	if len(t.events) < timelineLimit/2 {
		t.events = append(t.events, e)
		return
	}
	if len(t.tail) < timelineLimit/2 {
		t.tail = append(t.tail, e)
		return
	}
	t.tail[t.next] = e
	t.next = (t.next + 1) % len(t.tail)
	t.dropped++
}

func (t *timeline) list() []Event {
	out := append([]Event(nil), t.events...)
	out = append(out, t.tail[t.next:]...)
	return append(out, t.tail[:t.next]...)
}
