package memtx

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"github.com/xlogtool/xlogtool/box"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/xlogtool/xlogtool/format"
)

// SnapshotOptions configure WriteSnapshot.
type SnapshotOptions struct {
	// Instance is the instance UUID written in the header. Tarantool
	// takes its own UUID from the snapshot it starts from and looks it up
	// in _cluster, so it should be the UUID of the instance the data
	// comes from.
	Instance string
	// Version is the Version line of the header (informational).
	Version string
	// Timestamp is the timestamp of every row (default: now).
	Timestamp float64
	// NoSync skips the fsync before the rename.
	NoSync bool
	// Raft and Promote, when set, are written after the data as a RAFT
	// row (term and vote) and a PROMOTE row (the queue owner, confirmed
	// LSN and term), as Tarantool 2.6.1 to 2.11.3 place them. Tarantool
	// 2.6.0 rejects snapshots with such rows.
	Raft    *format.Raft
	Promote *format.Synchro
}

// SnapshotSpaces returns the spaces whose tuples a Tarantool snapshot
// holds, in the order Tarantool writes them: system spaces by id, then
// the others by id. Only memtx spaces with a primary key are written;
// the data of temporary spaces is not.
func (s *State) SnapshotSpaces() []*Space {
	var sys, user []*Space
	for _, sp := range s.Spaces() {
		if !strings.EqualFold(sp.Engine, "memtx") || sp.Temporary || sp.primary() == nil {
			continue
		}
		if box.IsSystemSpace(sp.ID) {
			sys = append(sys, sp)
		} else {
			user = append(user, sp)
		}
	}
	return append(sys, user...)
}

// ReadView is the content of the snapshot spaces of a state at one
// moment (see State.ReadView). It shares the stored tuples and the
// primary-key B-trees, copy on write: it stays unchanged while the state
// goes on changing, and may be read on another goroutine than the
// state's. While it is open the arena keeps the tuples it sees: Close
// it when done (a view that is garbage is closed too, later).
type ReadView struct {
	spaces  []ViewSpace
	closeMu sync.Mutex
	handle  *viewHandle
	cleanup runtime.Cleanup
}

// viewHandle is what closing a view needs (kept apart from the view so
// that a view that is garbage can be closed by a cleanup).
type viewHandle struct {
	views  *viewSet
	epoch  uint64
	closed bool
}

func (h *viewHandle) close() {
	if !h.closed {
		h.closed = true
		h.views.close(h.epoch)
	}
}

// ViewSpace is one space of a read view.
type ViewSpace struct {
	ID      uint32
	Name    string
	IsLocal bool
	tree    *btree[tref] // the primary key's
	ar      *arena       // keeps the slabs mapped
	slabs   [][]byte     // the arena's slabs when the view was taken
}

// Len returns the number of tuples.
func (vs *ViewSpace) Len() int { return vs.tree.Len() }

// Ascend calls fn for the tuples in primary-key order until it returns
// false. A tuple is valid until the view is closed.
func (vs *ViewSpace) Ascend(fn func(Tuple) bool) {
	slabs := vs.slabs
	vs.tree.ascend(func(r tref) bool { return fn(slabBytes(slabs, r)) })
}

// ReadView takes a read view of the spaces a snapshot holds
// (SnapshotSpaces), in their order, in O(1) per space: the primary keys
// are cloned copy on write, so the state copies only the B-tree nodes it
// changes while the view lives (see btree.clone), and the tuples the
// state replaces or deletes meanwhile stay in the arena until the view is
// closed.
func (s *State) ReadView() *ReadView {
	ar := s.env.arena
	h := &viewHandle{views: ar.views, epoch: ar.openView()}
	v := &ReadView{handle: h}
	for _, sp := range s.SnapshotSpaces() {
		v.spaces = append(v.spaces, ViewSpace{ID: sp.ID, Name: sp.Name, IsLocal: sp.IsLocal,
			tree: sp.primary().tree.clone(), ar: ar, slabs: ar.slabs})
	}
	v.cleanup = runtime.AddCleanup(v, func(h *viewHandle) { h.close() }, h)
	return v
}

// Close ends the view: the tuples only it saw may be reused. The view
// must not be read after Close; closing it again does nothing.
func (v *ReadView) Close() {
	v.closeMu.Lock()
	defer v.closeMu.Unlock()
	v.cleanup.Stop()
	v.handle.close()
	v.spaces = nil
}

// Spaces returns the spaces of the view in snapshot order.
func (v *ReadView) Spaces() []ViewSpace { return v.spaces }

// WriteSnapshot writes the state as a Tarantool snapshot file (see
// ReadView.WriteSnapshot).
func (s *State) WriteSnapshot(path string, v format.VClock, opts SnapshotOptions) (int64, error) {
	rv := s.ReadView()
	defer rv.Close()
	return rv.WriteSnapshot(path, v, opts)
}

// WriteSnapshot writes the view as a Tarantool snapshot file with the
// vclock v in its header. The file is written as path.inprogress and
// linked into place when complete (format.OutFile); an existing file is
// not replaced, nor one that appears meanwhile. Tarantool
// loads a snapshot only under the name format.FileName(format.TypeSNAP,
// v). It returns the number of rows. Data rows are INSERTs numbered from
// 0 (the LSN of a snapshot row is its ordinal), with GROUP_ID 1 for
// replica-local spaces.
func (rv *ReadView) WriteSnapshot(path string, v format.VClock, opts SnapshotOptions) (int64, error) {
	if opts.Timestamp == 0 {
		opts.Timestamp = float64(time.Now().UnixMicro()) / 1e6
	}
	meta := &format.Meta{FileType: format.TypeSNAP, Version: format.Version13, Tarantool: opts.Version,
		Instance: opts.Instance, VClock: v, HasVClock: true}
	f, err := format.CreateOutFile(path)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	// Blocks are compressed on every core while the rows of the next
	// ones are encoded.
	w, err := format.NewWriter(bw, meta, format.WriterOptions{Workers: min(runtime.GOMAXPROCS(0), 4)})
	if err != nil {
		f.Abort()
		return 0, err
	}
	fail := func(err error) (int64, error) {
		w.Abort()
		f.Abort()
		return 0, err
	}
	var body []byte
	var lsn uint64
	for _, sp := range rv.spaces {
		var group uint32
		if sp.IsLocal {
			group = box.GroupLocal
		}
		var werr error
		sp.Ascend(func(t Tuple) bool {
			// {0x10: space id as uint32, 0x21: tuple}, as Tarantool's
			// checkpoint writer encodes it.
			body = append(body[:0], 0x82, box.KeySpaceID, 0xce)
			body = binary.BigEndian.AppendUint32(body, sp.ID)
			body = append(body, box.KeyTuple)
			body = append(body, t...)
			h := format.Header{Type: box.TypeInsert, LSN: lsn, TSN: lsn, Commit: true,
				GroupID: group, Timestamp: opts.Timestamp}
			if werr = w.Write(&h, body); werr != nil {
				return false
			}
			lsn++
			return true
		})
		if werr != nil {
			return fail(fmt.Errorf("space %d: %w", sp.ID, werr))
		}
	}
	if opts.Raft != nil {
		h := format.Header{Type: box.TypeRaft, GroupID: box.GroupLocal, LSN: lsn, TSN: lsn, Commit: true,
			Timestamp: opts.Timestamp}
		if err := w.Write(&h, format.AppendRaftBody(nil, opts.Raft)); err != nil {
			return fail(err)
		}
		lsn++
	}
	if opts.Promote != nil {
		h := format.Header{Type: box.TypePromote, LSN: lsn, TSN: lsn, Commit: true, Timestamp: opts.Timestamp}
		if err := w.Write(&h, format.AppendSynchroBody(nil, opts.Promote)); err != nil {
			return fail(err)
		}
		lsn++
	}
	if err := w.Close(); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Commit(opts.NoSync); err != nil {
		return 0, err
	}
	return int64(lsn), nil
}
