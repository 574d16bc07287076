package node

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// Snapshot makes a checkpoint: the WAL moves to a new file starting at the
// snapshot's vclock, the state is written as <signature>.snap, and files
// no longer needed by the newest checkpoint_count snapshots are removed.
func (n *Node) Snapshot() error {
	n.snapMu.Lock()
	defer n.snapMu.Unlock()
	// A snapshot never holds unconfirmed synchronous data: wait until the
	// transactions waiting now are decided (NODE.md §6.4).
	// A read view of the state at this vclock is then taken; writes go
	// on while it is written (stored tuples are never changed in place).
	if err := n.lockLimboEmpty(); err != nil {
		return err
	}
	v := n.vclock
	path := filepath.Join(n.cfg.Dir, format.FileName(format.TypeSNAP, v))
	if _, err := os.Lstat(path); err == nil {
		n.mu.Unlock()
		return nil // nothing changed since the last checkpoint
	}
	rv := n.st.ReadView()
	n.mu.Unlock()
	// The rows up to v must be in the WAL before the snapshot that
	// covers them exists.
	if err := n.wal.sync(); err != nil {
		return boxErr(box.ErrWALIO, "%v", err)
	}
	if err := n.writeSnapshotFile(rv, path, v); err != nil {
		return boxErr(box.ErrWALIO, "%v", err)
	}
	if err := n.wal.rotateNow(); err != nil {
		return boxErr(box.ErrWALIO, "%v", err)
	}
	n.gc()
	return nil
}

// lockLimboEmpty takes n.mu at a moment the limbo is empty, waiting up
// to twice replication_synchro_timeout for one.
func (n *Node) lockLimboEmpty() error {
	n.mu.Lock()
	deadline := time.Now().Add(2 * n.cfg.ReplicationSynchroTimeout)
	for !n.limbo.Empty() {
		n.mu.Unlock()
		if time.Now().After(deadline) {
			return box.NewError(box.ErrSyncQuorumTimeout)
		}
		time.Sleep(time.Millisecond)
		n.mu.Lock()
	}
	return nil
}

// gc removes the snapshots beyond checkpoint_count and the xlogs that hold
// only rows older than the oldest snapshot kept.
func (n *Node) gc() {
	n.mu.Lock()
	keep := n.cfg.CheckpointCount
	n.mu.Unlock()
	snaps, xlogs, err := dirFiles(n.cfg.Dir)
	if err != nil || len(snaps) <= keep {
		return
	}
	for _, s := range snaps[:len(snaps)-keep] {
		n.remove(s.Path)
	}
	oldest := snaps[len(snaps)-keep].Signature
	if sig, ok := n.repl.gcBound(); ok && sig < oldest {
		oldest = sig // a replica still needs these rows
	}
	// An xlog is needed if the next one starts after the oldest kept
	// snapshot: rows after it may be in it.
	for i, x := range xlogs {
		if i+1 < len(xlogs) && xlogs[i+1].Signature <= oldest {
			n.remove(x.Path)
		}
	}
	// Leftovers of interrupted writes.
	entries, _ := os.ReadDir(n.cfg.Dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".snap.inprogress") {
			n.remove(filepath.Join(n.cfg.Dir, e.Name()))
		}
	}
}

func (n *Node) remove(path string) {
	if err := os.Remove(path); err != nil {
		n.log.Warnf("gc: %v", err)
		return
	}
	n.log.fiberf("main/104/gc", "removed `%s'", path)
}
