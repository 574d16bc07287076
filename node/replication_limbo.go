package node

import (
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/synchro"
)

// The limbo across instances (NODE.md §4): the owner counts its replicas'
// ACKs; a follower queues the synchronous transactions it receives (and
// the asynchronous ones behind them) until the owner's CONFIRM or
// ROLLBACK arrives, decided by the same queue interpreter; and
// box.ctl.clear_synchro_queue lets a follower resolve the queue of a dead
// owner, as 2.6.0 does.

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

// resolveReceived carries out the fate of a received (or recovered)
// transaction: a rolled-back one is undone, newest change first (n.mu
// held).
func (n *Node) resolveReceived(d synchro.Decision) {
	changes, ok := n.repl.received[d.Entry.ID]
	if !ok {
		return
	}
	delete(n.repl.received, d.Entry.ID)
	if d.Fate != synchro.RolledBack {
		return
	}
	if err := UndoChanges(n.st, changes); err != nil {
		n.log.Errorf("rollback of a received transaction: %v", err)
	}
}

// clearSynchroQueue is box.ctl.clear_synchro_queue() of 2.6.0 (NODE.md
// §4.8): on a node whose queue holds another instance's transactions, it
// waits up to twice replication_synchro_timeout for the queue to empty,
// then confirms what a quorum of the connected replicas (and this node)
// have of the old owner and rolls back the rest, with CONFIRM and
// ROLLBACK rows this node signs.
func (n *Node) clearSynchroQueue() error {
	n.mu.Lock()
	if n.limbo.Empty() || n.limbo.Owner() == n.id {
		n.mu.Unlock()
		return nil
	}
	wait := 2 * n.cfg.ReplicationSynchroTimeout
	n.mu.Unlock()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		n.mu.Lock()
		empty := n.limbo.Empty()
		n.mu.Unlock()
		if empty {
			return nil
		}
		select {
		case <-n.stop:
			return errStopped
		case <-time.After(time.Millisecond):
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.limbo.Empty() {
		return nil
	}
	owner := n.limbo.Owner()
	confirmLSN := n.quorumLSN(owner)
	var confirm, rollback uint64
	for _, e := range n.limbo.Entries() {
		if !e.Sync {
			continue
		}
		if e.LSN <= confirmLSN {
			confirm = e.LSN
		} else if rollback == 0 {
			rollback = e.LSN
		}
	}
	n.log.Infof("clear_synchro_queue: owner %d, confirm up to %d, roll back from %d", owner, confirm, rollback)
	if confirm != 0 {
		n.writeSynchro(box.TypeConfirm, format.Synchro{ReplicaID: owner, LSN: confirm})
	}
	if rollback != 0 {
		n.writeSynchro(box.TypeRollback, format.Synchro{ReplicaID: owner, LSN: rollback})
	}
	// Return once the rows are written and the queue no longer holds the
	// old owner's transactions.
	for {
		held := false
		for _, e := range n.limbo.Entries() {
			held = held || e.Origin == owner
		}
		if !held || n.broken != nil {
			return nil
		}
		n.mu.Unlock()
		select {
		case <-n.stop:
			n.mu.Lock()
			return errStopped
		case <-time.After(time.Millisecond):
		}
		n.mu.Lock()
	}
}
