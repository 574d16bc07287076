package node

import (
	"errors"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/memtx"
	"github.com/xlogtool/xlogtool/synchro"
)

// The node's side of the limbo: transactions that wait in it, the
// CONFIRM and ROLLBACK rows it asks for, and what their decisions do.

// waiter is a transaction waiting in the limbo.
type waiter struct {
	lsn   uint64
	space uint32
	ch    memtx.Change
	done  chan error
}

// enqueue puts a transaction being written into the limbo when it has to
// wait there (n.mu held). lsn is the LSN its row gets.
func (n *Node) enqueue(sp *memtx.Space, ch memtx.Change, lsn uint64) (*waiter, *box.Error) {
	if !n.limbo.Queued(sp.IsSync) {
		return nil, nil
	}
	n.nextTx++
	id := n.nextTx
	if err := n.limbo.Append(id, lsn, lsn, sp.IsSync); err != nil {
		return nil, err
	}
	// The waiter outlives the request's buffers: it keeps its own copy.
	ch.New = ch.New.Clone()
	w := &waiter{lsn: lsn, space: sp.ID, ch: ch, done: make(chan error, 1)}
	n.waiters[id] = w
	return w, nil
}

// awaitLimbo runs after the transaction's WAL write: it acknowledges the
// write and waits for the transaction's fate, writing a ROLLBACK when the
// oldest entry waits longer than replication_synchro_timeout.
func (n *Node) awaitLimbo(w *waiter) error {
	n.mu.Lock()
	n.limbo.Written(w.lsn, now())
	n.driveLimbo()
	timeout := n.cfg.ReplicationSynchroTimeout
	n.mu.Unlock()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case err := <-w.done:
			return err
		case <-n.stop:
			// The transaction is in the WAL; a restart finds it pending.
			return box.NewError(box.ErrSystem, "the node is stopping; the transaction is in the WAL, still waiting for its quorum")
		case <-timer.C:
			n.mu.Lock()
			timeout = n.cfg.ReplicationSynchroTimeout
			if n.electionFrozen() {
				// Fenced: the queue waits for a new PROMOTE.
			} else if body, ok := n.limbo.Timeout(now(), timeout.Seconds()); ok {
				n.writeSynchro(box.TypeRollback, body)
			}
			n.mu.Unlock()
			// Not the oldest, or a decision is being written: look again.
			timer.Reset(10 * time.Millisecond)
		}
	}
}

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }

// driveLimbo writes the CONFIRM the limbo asks for, if any (n.mu held).
func (n *Node) driveLimbo() {
	if n.electionFrozen() {
		return
	}
	if typ, body, ok := n.limbo.NextWrite(); ok {
		n.writeSynchro(typ, body)
	}
}

// writeSynchro queues a CONFIRM or ROLLBACK row; once it is written the
// limbo's decisions take effect (n.mu held).
func (n *Node) writeSynchro(typ box.RowType, body format.Synchro) {
	done := n.logRow(typ, format.AppendSynchroBody(nil, &body), false)
	go func() {
		err := <-done
		n.mu.Lock()
		defer n.mu.Unlock()
		if err != nil {
			n.broken = err
			n.log.Errorf("%s write failed: %v", typ, err)
			return
		}
		n.resolve(n.limbo.Applied(typ, body), body.LSN)
		n.driveLimbo()
	}()
}

// resolve wakes the transactions the limbo decided on; rolled-back ones
// are undone first, newest first (n.mu held). rollbackLSN is the entry a
// ROLLBACK named: its client gets the timeout error, the others
// ER_SYNC_ROLLBACK.
func (n *Node) resolve(ds []synchro.Decision, rollbackLSN uint64) {
	for _, d := range ds {
		w := n.waiters[d.Entry.ID]
		if w == nil {
			n.resolveReceived(d)
			continue
		}
		delete(n.waiters, d.Entry.ID)
		switch d.Fate {
		case synchro.Confirmed, synchro.Committed:
			w.done <- nil
		case synchro.RolledBack:
			n.undo(w.space, w.ch)
			if w.lsn == rollbackLSN {
				w.done <- box.NewError(box.ErrSyncQuorumTimeout)
			} else {
				w.done <- box.NewError(box.ErrSyncRollback)
			}
		}
	}
}

// undo reverts one change of a rolled-back transaction in the state (the
// rows stay in the WAL, followed by the ROLLBACK).
func (n *Node) undo(spaceID uint32, ch memtx.Change) {
	if err := Undo(n.st, spaceID, ch); err != nil {
		n.log.Errorf("rollback of space %d: %v", spaceID, err)
	}
}

// Undo reverts one change of a rolled-back transaction in st: the tuple
// it stored is deleted by its primary key, the tuple it replaced put
// back.
func Undo(st *memtx.State, spaceID uint32, ch memtx.Change) error {
	sp := st.Space(spaceID)
	if sp == nil {
		return nil
	}
	var errs []error
	if ch.New != nil {
		if pk := sp.Index(0); pk != nil {
			t := ch.New.Decode()
			key := make([]any, len(pk.Parts))
			for i, p := range pk.Parts {
				if int(p.Field) < len(t) {
					key[i] = t[p.Field]
				}
			}
			if _, err := st.Execute(memtx.Request{Type: box.TypeDelete, SpaceID: spaceID, Key: key}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if ch.Old != nil {
		if _, err := st.Execute(memtx.Request{Type: box.TypeReplace, SpaceID: spaceID, Tuple: ch.Old.Decode()}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
