package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xlogtool/xlogtool/box"

	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/memtx"
	"github.com/xlogtool/xlogtool/node/raft"
	"github.com/xlogtool/xlogtool/replay"
)

// Node is one running instance.
type Node struct {
	cfg Config
	log *Logger

	// mu orders everything that changes the state: requests apply their
	// statements and queue their rows to the WAL under it, so the WAL
	// holds the rows in the order the state saw them.
	mu            sync.Mutex
	st            *memtx.State
	vclock        format.VClock
	id            uint32
	uuid          string
	rsUUID        string
	schemaVersion atomic.Uint64 // bumped under mu, read without it
	readOnly      bool
	broken        error // a failed WAL write: no further writes
	privGen       uint64
	limbo         *Limbo
	election      *electionDriver
	recovered     raftRecovered
	waiters       map[uint64]*waiter
	nextTx        uint64
	privCache     map[uint32]map[string]uint32
	privCacheGen  uint64
	// rowTime, while a batch of requests holds mu, is the timestamp of
	// the rows they make (as Tarantool stamps rows with its event loop's
	// time); 0: read the clock.
	rowTime float64

	wal  *wal
	srv  *server
	repl replication
	stop chan struct{}
	wg   sync.WaitGroup

	snapMu        sync.Mutex    // one checkpoint at a time
	checkpointCfg chan struct{} // checkpoint_interval changed
}

// Open recovers the instance kept in cfg.Dir, or bootstraps a new replica
// set there when the directory holds no snapshot.
func Open(cfg Config, log *Logger) (*Node, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: log, readOnly: cfg.ReadOnly, stop: make(chan struct{})}
	n.schemaVersion.Store(1)
	n.checkpointCfg = make(chan struct{}, 1)
	log.Critf("xlogtool node, Tarantool %s compatible", cfg.Version)
	snaps, xlogs, err := dirFiles(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if len(snaps) == 0 {
		if len(xlogs) > 0 {
			return nil, fmt.Errorf("%s holds xlogs but no snapshot: cannot recover", cfg.Dir)
		}
		if len(cfg.Replication) > 0 {
			err = n.joinReplicaSet()
		} else {
			err = n.bootstrap()
		}
	} else {
		err = n.recover()
	}
	if err != nil {
		if n.wal != nil {
			n.wal.close()
		}
		return nil, err
	}
	if err := n.startElection(n.recovered.st, n.recovered.queue.Owner, n.recovered.queue.Term); err != nil {
		n.Close()
		return nil, err
	}
	n.startAppliers()
	return n, nil
}

// dirFiles lists the snapshots and xlogs of a directory in signature order.
func dirFiles(dir string) (snaps, xlogs []format.FileRef, err error) {
	files, err := format.ScanDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		switch f.Ext {
		case ".snap":
			snaps = append(snaps, f)
		case ".xlog":
			xlogs = append(xlogs, f)
		}
	}
	return snaps, xlogs, nil
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (n *Node) bootstrap() error {
	n.uuid, n.rsUUID = n.cfg.InstanceUUID, n.cfg.ReplicasetUUID
	if n.uuid == "" {
		n.uuid = newUUID()
	}
	if n.rsUUID == "" {
		n.rsUUID = newUUID()
	}
	n.log.Infof("instance uuid %s", n.uuid)
	n.log.Infof("initializing an empty data directory")
	st := memtx.NewStateWithOptions(n.stateOptions())
	for _, r := range Dictionary(n.uuid, n.rsUUID) {
		if err := st.Apply(memtx.Request{Type: box.TypeInsert, SpaceID: r.space, Tuple: r.tuple}); err != nil {
			return fmt.Errorf("data dictionary: %w", err)
		}
	}
	n.st, n.id = st, 1
	n.log.Infof("assigned id 1 to replica %s", n.uuid)
	n.log.Infof("cluster uuid %s", n.rsUUID)
	path := filepath.Join(n.cfg.Dir, format.FileName(format.TypeSNAP, n.vclock))
	if err := n.writeSnapshotFile(st.ReadView(), path, n.vclock); err != nil {
		return err
	}
	n.startWAL(nil)
	if n.cfg.BootstrapUser != "" {
		name, password, _ := strings.Cut(n.cfg.BootstrapUser, ":")
		s := n.adminSession()
		if err := n.createUser(s, name, password, false); err != nil {
			return fmt.Errorf("bootstrap user: %w", err)
		}
		if err := n.grant(s, name, "role", "super", 0); err != nil {
			return fmt.Errorf("bootstrap user: %w", err)
		}
	}
	return nil
}

// writeSnapshotFile writes a read view as a snapshot and closes it.
func (n *Node) writeSnapshotFile(rv *memtx.ReadView, path string, v format.VClock) error {
	defer rv.Close()
	n.log.fiberf("snapshot/101/main", "saving snapshot `%s.inprogress'", path)
	_, err := rv.WriteSnapshot(path, v, memtx.SnapshotOptions{Instance: n.uuid, Version: n.fileVersion(),
		Raft: n.snapshotRaft(), Promote: n.snapshotPromote()})
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	n.log.fiberf("snapshot/101/main", "done")
	return syncDir(n.cfg.Dir)
}

func (n *Node) startWAL(prev *format.VClock) {
	n.limbo = NewLimbo(n.id, n.cfg.ReplicationSynchroQuorum)
	n.limboForElection()
	n.waiters = map[uint64]*waiter{}
	n.wal = openWAL(walOptions{dir: n.cfg.Dir, instance: n.uuid, version: n.fileVersion(),
		fsync: n.cfg.WALMode == "fsync", maxSize: n.cfg.WALMaxSize, log: n.log}, n.vclock, prev)
}

// RecoveryError is damage that stops the start.
type RecoveryError struct {
	Findings []replay.Finding
	Dir      string
}

func (e *RecoveryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cannot recover %s:", e.Dir)
	for i, f := range e.Findings {
		if i == 5 {
			fmt.Fprintf(&b, "\n  ... %d more", len(e.Findings)-i)
			break
		}
		fmt.Fprintf(&b, "\n  %s", f.String())
	}
	fmt.Fprintf(&b, "\nremedy: xlogtool repair --out %s.repaired %s, then start the node on the repaired copy", e.Dir, e.Dir)
	return b.String()
}

func (n *Node) recover() error {
	n.log.Infof("recovering from `%s'", n.cfg.Dir)
	res, err := replay.Recover(context.Background(), replay.RecoverOptions{Paths: []string{n.cfg.Dir},
		State: n.stateOptions()})
	if err != nil {
		return fmt.Errorf("recovery of %s: %w\nremedy: xlogtool repair --out %s.repaired %s", n.cfg.Dir, err, n.cfg.Dir, n.cfg.Dir)
	}
	if res.HasErrors() {
		return &RecoveryError{Findings: res.Findings, Dir: n.cfg.Dir}
	}
	for _, w := range res.Warnings {
		n.log.Warnf("%s", w.String())
	}
	n.st, n.vclock = res.State, res.VClock
	if res.SnapshotMeta == nil || res.SnapshotMeta.Instance == "" {
		return fmt.Errorf("%s: the snapshot names no instance", res.Snapshot)
	}
	n.uuid = res.SnapshotMeta.Instance
	if n.cfg.InstanceUUID != "" && !strings.EqualFold(n.cfg.InstanceUUID, n.uuid) {
		return fmt.Errorf("instance UUID mismatch: expected %s, got %s", n.uuid, n.cfg.InstanceUUID)
	}
	if sp := n.st.Space(272); sp != nil {
		if t := sp.Get([]any{"cluster"}); len(t) > 1 {
			n.rsUUID, _ = t[1].(string)
		}
	}
	if n.cfg.ReplicasetUUID != "" && !strings.EqualFold(n.cfg.ReplicasetUUID, n.rsUUID) {
		return fmt.Errorf("replica set UUID mismatch: expected %s, got %s", n.rsUUID, n.cfg.ReplicasetUUID)
	}
	if sp := n.st.Space(320); sp != nil {
		sp.Ascend(func(t []any) bool {
			if len(t) > 1 {
				if s, _ := t[1].(string); strings.EqualFold(s, n.uuid) {
					id, _ := t[0].(uint64)
					n.id = uint32(id)
					return false
				}
			}
			return true
		})
	}
	if n.id == 0 {
		return fmt.Errorf("replica %s is not registered with replica set %s", n.uuid, n.rsUUID)
	}
	n.log.Infof("instance uuid %s, replica id %d, vclock %s", n.uuid, n.id, n.vclock.String())
	// The next xlog is named by the vclock reached. A file of that name
	// holds no rows past it: an empty one (left by a stop before any
	// write) is reused by removing it, as Tarantool reopens it; one with
	// bytes of a torn transaction is moved aside, never overwritten.
	name := filepath.Join(n.cfg.Dir, format.FileName(format.TypeXLOG, n.vclock))
	if _, err := os.Lstat(name); err == nil {
		if rows, err := countRows(name); err == nil && rows == 0 {
			if err := os.Remove(name); err != nil {
				return err
			}
		} else {
			aside := name + ".torn"
			if err := os.Rename(name, aside); err != nil {
				return err
			}
			n.log.Warnf("moved `%s' aside to `%s': it ends inside its first transaction", name, aside)
		}
	}
	var prev *format.VClock
	if len(res.Xlogs) > 0 {
		if m, err := readMeta(res.Xlogs[len(res.Xlogs)-1]); err == nil {
			prev = &m.VClock
		}
	}
	n.recovered = raftRecovered{st: RecoveredRaft(res.Raft), queue: res.Queue}
	n.startWAL(prev)
	if err := n.restorePending(res); err != nil {
		return err
	}
	n.log.Infof("ready to accept requests")
	return nil
}

// RecoveredRaft is the term and vote the election starts from after
// recovery: the vote only when it was given in the recovered term. A vote
// of an older term that Tarantool's recovery keeps after a term-only row
// would be a vote never checked against the candidate's vclock, which
// raft.Raft.Recover forgets too (docs/raft.md).
func RecoveredRaft(s replay.RaftState) raft.Persistent {
	p := raft.Persistent{Term: s.Term}
	if s.VoteTerm == s.Term {
		p.Vote = s.Vote
	}
	return p
}

// restorePending applies the transactions recovery found waiting for a
// CONFIRM (2.6.0 shows their data) and queues them in the limbo again with
// the records that undo them, should a ROLLBACK come (PendingRows).
func (n *Node) restorePending(res *replay.Result) error {
	if len(res.Pending) == 0 {
		return nil
	}
	p := NewPendingRows(res.Pending)
	for _, path := range res.Xlogs {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		r, err := format.NewReader(f, format.Options{Name: path})
		if err != nil {
			f.Close()
			return err
		}
		for {
			row, err := r.Next()
			if err != nil {
				break // damage was reported by recovery; a torn tail ends here
			}
			p.Add(row)
		}
		f.Close()
	}
	if n.repl.received == nil {
		n.repl.received = map[uint64][]Change{}
	}
	err := p.Restore(n.receiver(), func(id uint64, changes []Change) { n.repl.received[id] = changes })
	if err != nil {
		return err
	}
	n.log.Warnf("%d synchronous transaction(s) wait for a CONFIRM", len(res.Pending))
	return nil
}

func readMeta(path string) (*format.Meta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := format.NewReader(f, format.Options{Name: path})
	if err != nil {
		return nil, err
	}
	return r.Meta(), nil
}

// countRows counts the rows of a file; damage is an error.
func countRows(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := format.NewReader(f, format.Options{Name: path})
	if err != nil {
		return 0, err
	}
	rows := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rows, err
		}
		rows++
	}
	if len(r.Issues()) > 0 {
		return rows, r.Issues()[0]
	}
	return rows, nil
}

// stateOptions configure the storage engine: memtx_memory bounds the
// tuples stored.
func (n *Node) stateOptions() memtx.Options {
	return memtx.Options{MemoryLimit: uint64(n.cfg.MemtxMemory)}
}

// Close stops the server and the WAL; the last xlog gets its EOF marker.
func (n *Node) Close() error {
	select {
	case <-n.stop:
		return nil
	default:
	}
	close(n.stop)
	if n.srv != nil {
		n.srv.close()
	}
	n.wg.Wait()
	err := n.wal.close()
	n.log.Infof("stopped")
	return err
}

// UUID returns the instance UUID.
func (n *Node) UUID() string { return n.uuid }

// VClock returns the vclock of the rows handed to the WAL.
func (n *Node) VClock() format.VClock {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.vclock
}

var errStopped = errors.New("the node is stopping")

// checkpointLoop makes a snapshot every checkpoint_interval (0: none); a
// change of the option restarts the wait.
func (n *Node) checkpointLoop() {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		interval := n.cfg.CheckpointInterval
		n.mu.Unlock()
		var tick <-chan time.Time
		var t *time.Timer
		if interval > 0 {
			t = time.NewTimer(interval)
			tick = t.C
		}
		select {
		case <-n.stop:
		case <-n.checkpointCfg:
		case <-tick:
			if err := n.Snapshot(); err != nil {
				n.log.Errorf("checkpoint: %v", err)
			}
		}
		if t != nil {
			t.Stop()
		}
		select {
		case <-n.stop:
			return
		default:
		}
	}
}
