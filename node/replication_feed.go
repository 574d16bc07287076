package node

import (
	"sync"

	"github.com/xlogtool/xlogtool/format"
)

// walFeed hands every transaction the WAL has written to the relays that
// follow it live. A relay subscribes before it reads the xlog files, so a
// transaction is either complete in the files when they are read or
// arrives through the feed (or both: relays skip rows they have sent). A
// relay that falls too far behind is dropped from the feed and reads the
// files again.
type walFeed struct {
	mu   sync.Mutex
	subs map[*feedSub]struct{}
	// written is the vclock of the rows in the WAL.
	written format.VClock
}

// feedSub is one relay's subscription: whole transactions in WAL order.
// ch is closed when the relay fell behind (or unsubscribed).
type feedSub struct {
	f  *walFeed
	ch chan []walRow
}

// feedDepth is how many transactions a relay may have pending before it
// is sent back to the files.
const feedDepth = 4096

func (f *walFeed) subscribe() *feedSub {
	s := &feedSub{f: f, ch: make(chan []walRow, feedDepth)}
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[*feedSub]struct{}{}
	}
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	return s
}

func (s *feedSub) close() {
	s.f.mu.Lock()
	if _, ok := s.f.subs[s]; ok {
		delete(s.f.subs, s)
		close(s.ch)
	}
	s.f.mu.Unlock()
}

// send passes one transaction on, or drops a subscriber that fell behind.
func (s *feedSub) send(rows []walRow) error {
	select {
	case s.ch <- rows:
		return nil
	default:
		delete(s.f.subs, s)
		close(s.ch)
		return errFeedBehind
	}
}

// publish passes a written batch on; called by the WAL writer after the
// write (and fsync) succeeded.
func (f *walFeed) publish(batch []*walEntry, written format.VClock) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.written = written
	if len(f.subs) == 0 {
		return
	}
	for _, e := range batch {
		e.shared = true
	}
	for s := range f.subs {
		for _, e := range batch {
			if e.eachTx(s.send) != nil {
				break
			}
		}
	}
}

// writtenVClock is the vclock of the rows in the WAL (component 0 left
// out), what ACKs carry.
func (n *Node) writtenVClock() format.VClock {
	f := &n.wal.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.written.WithoutLocal()
}
