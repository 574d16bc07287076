package replay

import (
	"context"
	"errors"
	"fmt"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/memtx"

	"github.com/xlogtool/xlogtool/format"
)

// loadSnapshotRows applies the rows of a snapshot, read and decoded
// ahead by a pipeline. It reports false when the snapshot could not be
// read to its end.
func (rc *recoverer) loadSnapshotRows(ctx context.Context, r *format.Reader) (bool, error) {
	var n int64
	// Snapshot rows are applied as their batch arrives: the state copies
	// the tuples straight out of the batch.
	err := pipeline(ctx, r, true, func(b *pipeBatch) bool {
		for i := range b.rows {
			rc.snapshotRow(b, &b.rows[i])
		}
		n += int64(len(b.rows))
		if len(b.rows) > 0 && n&(1<<14-1) < pipeBatchRows && rc.opts.Progress != nil {
			rc.opts.Progress(b.rows[len(b.rows)-1].pos.Block, rc.total)
		}
		return true
	})
	if err != nil {
		fe, ok := format.AsError(err)
		if !ok {
			return false, err
		}
		rc.fileIssue(fe)
		return false, nil
	}
	return true, nil
}

// snapshotRow applies one snapshot row.
func (rc *recoverer) snapshotRow(b *pipeBatch, p *pipeRow) {
	rc.res.Counts.SnapshotRows++
	file := rc.snap.path
	row := p.row(b)
	switch {
	case p.dec.ok:
		err := p.dec.err
		if err == nil {
			err = rc.state.Apply(p.dec.req)
		}
		if err != nil {
			f := Finding{Kind: FindingApply, File: file, Offset: row.Pos.FileOffset(), Type: row.Type.String(),
				SpaceID: p.dec.req.SpaceID, Message: err.Error()}
			var ae *memtx.ApplyError
			if errors.As(err, &ae) {
				f.Code, f.Message = ae.Code, ae.Message
			}
			rc.finding(f)
		}
	case row.Type == box.TypePromote:
		s, err := row.Synchro()
		if err != nil {
			rc.finding(Finding{Kind: FindingSynchro, File: file, Offset: row.Pos.FileOffset(), Type: row.Type.String(), Message: err.Error()})
			return
		}
		// The snapshot form restores the queue: owner, confirmed LSN
		// and term.
		rc.resolver.Restore(&s)
		rc.res.SnapshotHad.Promote = true
	case row.Type == box.TypeRaft:
		rc.raft(&row)
		rc.res.SnapshotHad.Raft = true
	default:
		rc.warn(Finding{Kind: FindingBadRow, File: file, Offset: row.Pos.FileOffset(), Type: row.Type.String(),
			Message: fmt.Sprintf("%s row in a snapshot; ignored", row.Type)})
	}
}
