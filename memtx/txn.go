package memtx

import "github.com/xlogtool/xlogtool/box"

// Transactions: between Begin and Commit every change to the state is
// written to an undo log, so that Rollback (or RollbackTo a savepoint)
// restores every index and every schema object as it was. As in
// Tarantool's memtx without MVCC, one transaction is open at a time and
// its changes are visible as soon as they are made; each request is
// atomic on its own (a failing request changes nothing).

// undo is one entry of the undo log: a change of a space's tuples, the
// state of a space before a schema change, or a primary key whose tuples
// left the state (freed at commit).
type undo struct {
	sp      *Space
	ch      change
	saved   *savedSpace
	dropped *btree[tref]
}

// savedSpace is a space as it was before a schema change.
type savedSpace struct {
	id      uint32
	ptr     *Space // nil when the space did not exist
	val     Space
	pending []Request
}

type txnLog struct {
	entries []undo
}

// Begin starts a transaction. It fails with ER_ACTIVE_TRANSACTION when
// one is open.
func (s *State) Begin() error {
	if s.txn != nil {
		return boxError(box.ErrActiveTransaction)
	}
	s.txn = &txnLog{}
	return nil
}

// InTransaction reports whether a transaction is open.
func (s *State) InTransaction() bool { return s.txn != nil }

// Commit ends the open transaction keeping its changes.
func (s *State) Commit() {
	if s.txn == nil {
		return
	}
	for _, u := range s.txn.entries {
		switch {
		case u.dropped != nil:
			s.retireTree(u.dropped)
		case u.saved == nil:
			s.retire(u.sp, u.ch.old)
		}
	}
	s.txn = nil
}

// dropTuples retires the tuples of a primary key that leaves the state
// (a truncation, a dropped primary key): at once, or when the open
// transaction commits.
func (s *State) dropTuples(t *btree[tref]) {
	if t == nil {
		return
	}
	if s.txn != nil {
		s.record(undo{dropped: t})
		return
	}
	s.retireTree(t)
}

func (s *State) retireTree(t *btree[tref]) {
	ar := s.env.arena
	t.ascend(func(r tref) bool {
		ar.retire(r)
		return true
	})
}

// Rollback ends the open transaction undoing all its changes.
func (s *State) Rollback() {
	s.RollbackTo(0)
	s.txn = nil
}

// Savepoint returns a position in the open transaction that RollbackTo
// returns to (0 outside a transaction).
func (s *State) Savepoint() int {
	if s.txn == nil {
		return 0
	}
	return len(s.txn.entries)
}

// RollbackTo undoes the changes of the open transaction made after the
// savepoint, newest first; the transaction stays open.
func (s *State) RollbackTo(savepoint int) {
	if s.txn == nil {
		return
	}
	e := s.txn.entries
	for i := len(e) - 1; i >= savepoint && i >= 0; i-- {
		u := &e[i]
		switch {
		case u.dropped != nil:
		case u.saved != nil:
			s.restoreSpace(u.saved)
		default:
			u.sp.commit(u.ch.new, u.ch.old)
			s.retire(u.sp, u.ch.new)
			if u.sp.ID == box.SpaceSchema && u.ch.old != 0 {
				s.trackVersion(s.env.arena.bytes(u.ch.old))
			}
		}
		e[i] = undo{}
	}
	if savepoint < len(e) {
		s.txn.entries = e[:max(savepoint, 0)]
		s.seqCache, s.seqIdle = nil, false
	}
}

// record adds a change to the undo log of the open transaction.
func (s *State) record(u undo) {
	if s.txn != nil {
		s.txn.entries = append(s.txn.entries, u)
	}
}

// saveSpace is called before a schema change of space id: it counts the
// change and keeps the space as it is for a rollback.
func (s *State) saveSpace(id uint32) {
	s.schemaVersion++
	if s.txn == nil {
		return
	}
	sv := &savedSpace{id: id, ptr: s.spaces[id], pending: s.pending[id]}
	if sv.ptr != nil {
		sv.val = *sv.ptr
	}
	s.record(undo{saved: sv})
}

func (s *State) restoreSpace(sv *savedSpace) {
	s.schemaVersion++
	if sv.ptr == nil {
		delete(s.spaces, sv.id)
	} else {
		*sv.ptr = sv.val
		s.spaces[sv.id] = sv.ptr
	}
	if sv.pending != nil {
		s.pending[sv.id] = sv.pending
	}
}

// SchemaVersion counts the schema changes applied (creating, altering and
// dropping spaces and indexes, truncations), as Tarantool's
// schema_version does: a client that cached the schema compares it.
func (s *State) SchemaVersion() uint64 { return s.schemaVersion }

// tupleOverhead is what memtx adds to a tuple's MessagePack data in the
// size its allocation errors name (the tuple header).
const tupleOverhead = 16

// MemoryUsed returns the memory the stored tuples take, as memtx_memory
// counts it: the arena's blocks holding tuples (each tuple's size
// rounded up to its size class), including those replaced or deleted
// while a read view that still sees them is open.
func (s *State) MemoryUsed() uint64 { return uint64(s.env.arena.used) }

// checkMemory fails a request storing t when the state is at its memory
// limit.
// SetMemoryLimit changes Options.MemoryLimit (a server's memtx_memory
// raised at run time).
func (s *State) SetMemoryLimit(limit uint64) { s.opts.MemoryLimit = limit }

func (s *State) checkMemory(t Tuple) *ApplyError {
	if s.opts.MemoryLimit == 0 || t == nil {
		return nil
	}
	need := uint64(blockSize(len(t)))
	if s.MemoryUsed()+need > s.opts.MemoryLimit {
		s.env.arena.reclaim()
		if s.MemoryUsed()+need > s.opts.MemoryLimit {
			return boxError(box.ErrMemoryIssue, len(t)+tupleOverhead, "slab allocator", "memtx_tuple")
		}
	}
	return nil
}
