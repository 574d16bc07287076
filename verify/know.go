package verify

import (
	"encoding/json"

	"github.com/xlogtool/xlogtool/format"
)

// segment is a run of an instance's own rows written with the same
// knowledge of the other replica components and the same view of who owns
// the synchronous queue. Segments change only when the instance receives
// rows of others between its own writes, so a single-leader log has few.
type segment struct {
	from, to uint64        // own LSNs
	know     format.VClock // what the instance had of the others (own and local components cleared)
	asOwner  bool          // the instance saw itself as the queue owner
	term     uint64        // the queue term it saw (0: unknown)
	ts       float64       // timestamp of the first row
}

// claim is an own row by which an instance took the queue over.
type claim struct {
	lsn       uint64
	prevOwner uint32
	how       string
	term      uint64
	know      format.VClock // what the instance had of the others when it took over
	ts        float64
	file      string
	off       int64
	row       json.RawMessage
}

// Limits on kept write-order state.
const (
	segmentLimit = 1 << 15
	claimLimit   = 1 << 12
)

// knowledge records, for an instance's own rows, what it knew when writing
// them: enough to tell later whether two instances wrote concurrently.
type knowledge struct {
	own       uint32
	segs      []segment
	claims    []claim
	truncated bool
}

func (k *knowledge) strip(v format.VClock) format.VClock {
	v.Reset(0)
	v.Reset(k.own)
	return v
}

// add records own rows from..to written with knowledge v, as the queue
// owner or not, in queue term term.
func (k *knowledge) add(from, to uint64, v format.VClock, asOwner bool, term uint64, ts float64) {
	v = k.strip(v)
	if n := len(k.segs); n > 0 {
		last := &k.segs[n-1]
		if last.asOwner == asOwner && last.term == term && last.know.Equal(v) {
			last.to = max(last.to, to)
			return
		}
		if n >= segmentLimit {
			// Keep going coarsely: the run takes the newer knowledge,
			// which can only hide concurrency, never invent it.
			last.to = max(last.to, to)
			last.know = last.know.Max(v)
			last.asOwner = last.asOwner && asOwner
			last.term = min(last.term, term)
			k.truncated = true
			return
		}
	}
	k.segs = append(k.segs, segment{from: from, to: to, know: v, asOwner: asOwner, term: term, ts: ts})
}

func (k *knowledge) addClaim(c claim) {
	if len(k.claims) >= claimLimit {
		k.truncated = true
		return
	}
	c.know = k.strip(c.know)
	k.claims = append(k.claims, c)
}

// knownAt returns what the instance knew of component id when it wrote
// its own row lsn (false when it wrote no such row).
func (k *knowledge) knownAt(lsn uint64, id uint32) (uint64, bool) {
	for i := range k.segs {
		s := &k.segs[i]
		if lsn >= s.from && lsn <= s.to {
			return s.know.Get(id), true
		}
	}
	return 0, false
}
