package tail

import (
	"sync"
	"time"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// ackGap is the least time between two ACKs sent as transactions arrive.
// While a backlog streams the server sends no heartbeats, and it drops a
// replica silent for four replication_timeouts (0.8 s with 0.2): like
// Tarantool's applier, the stream acknowledges what it received as it
// goes, not only on the timer.
const ackGap = 100 * time.Millisecond

// acker acknowledges the stream: after every heartbeat (as Tarantool's
// applier does), as transactions arrive (at most every ackGap) and on a
// timer, so that a slow consumer of the rows never lets the server's
// disconnect timeout expire.
type acker struct {
	conn     *client.ReplicationConn
	serverID uint32

	mu   sync.Mutex
	ack  iproto.Ack
	sent time.Time // when the last ACK was sent
	done chan struct{}
	wg   sync.WaitGroup
}

func newAcker(conn *client.ReplicationConn, every time.Duration, serverID uint32) *acker {
	a := &acker{conn: conn, serverID: serverID, done: make(chan struct{})}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-a.done:
				return
			case <-t.C:
				a.send()
			}
		}
	}()
	return a
}

// Ack returns the ACK a tail sends for a stream position: the vclock
// without the server's own component. A 2.6 master counts the
// acknowledged LSN of its own component toward the synchronous quorum
// even for an anonymous replica; leaving it out keeps the inspector out of
// the quorum. No TERM is sent (2.11+ servers adopt a greater one).
func Ack(vc format.VClock, serverID uint32) iproto.Ack {
	vc = vc.WithoutLocal()
	vc.Reset(serverID)
	return iproto.Ack{VClock: vc}
}

// set records the position to acknowledge and sends it unless an ACK
// went out less than ackGap ago.
func (a *acker) set(vc format.VClock) {
	ack := Ack(vc, a.serverID)
	a.mu.Lock()
	ack.VClockSync, ack.HasVClockSync = a.ack.VClockSync, a.ack.HasVClockSync
	a.ack = ack
	due := time.Since(a.sent) >= ackGap
	a.mu.Unlock()
	if due {
		a.send()
	}
}

// heartbeat acknowledges a heartbeat, echoing its number (2.11+).
func (a *acker) heartbeat(hb iproto.Heartbeat) {
	a.mu.Lock()
	if hb.HasVClockSync {
		a.ack.VClockSync, a.ack.HasVClockSync = hb.VClockSync, true
	}
	a.mu.Unlock()
	a.send()
}

func (a *acker) send() {
	a.mu.Lock()
	ack := a.ack
	a.sent = time.Now()
	a.mu.Unlock()
	a.conn.SendAck(ack) // a broken connection shows on the reading side
}

func (a *acker) stop() {
	close(a.done)
	a.wg.Wait()
}
