package node

import (
	"time"

	"github.com/xlogtool/xlogtool/format"
)

// limboIdle reports whether no synchronous transaction is pending (n.mu
// held).
func (n *Node) limboIdle() bool { return n.limbo.Empty() }

func (n *Node) synchroTimeout() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg.ReplicationSynchroTimeout
}

// replicaAck counts a replica's ACK in the limbo when this node owns the
// queue.
func (n *Node) replicaAck(id uint32, v format.VClock) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.limbo.Owner() == n.id {
		n.limbo.Ack(id, v.Get(n.id))
		n.driveLimbo()
	}
}

// remoteSynchro applies the CONFIRM and ROLLBACK rows of a received
// transaction (n.mu held).
func (n *Node) remoteSynchro(rows []*format.Row) {}
