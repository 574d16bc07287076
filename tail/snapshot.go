package tail

import (
	"context"
	"fmt"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// fetchSnapshot reads the server's data (FETCH_SNAPSHOT), hands it over as
// KindSnapshot batches and moves the stream's position to the vclock of
// the data's read view.
func (s *Stream) fetchSnapshot(ctx context.Context, conn *client.ReplicationConn) error {
	sync, err := conn.Send(iproto.FetchSnapshotRequest{})
	if err != nil {
		return classify(s.src.Name, err)
	}
	var row format.Row
	var start format.VClock
	started := false
	tx := Tx{Kind: KindSnapshot, Rows: make([]*format.Row, 1)}
	for {
		conn.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
		if err := conn.ReadRow(&row); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return classify(s.src.Name, err)
		}
		if err := iproto.RowError(&row); err != nil {
			return s.subscribeError(fmt.Errorf("FETCH_SNAPSHOT: %w", err))
		}
		if row.Sync != sync {
			return &ProtocolError{Source: s.src.Name, Err: fmt.Errorf("FETCH_SNAPSHOT stream row with sync %d, want %d", row.Sync, sync)}
		}
		switch row.Type {
		case box.TypeOK:
			vr, err := iproto.DecodeVClockResponse(row.Body)
			if err != nil {
				return &ProtocolError{Source: s.src.Name, Err: err}
			}
			if started {
				s.vclock, s.known = start, true
				if err := s.h.Tx(&Tx{Kind: KindSnapshotEnd, VClock: start, Info: &s.info}); err != nil {
					return &HandlerError{Err: err}
				}
				return nil
			}
			start, started = vr.VClock.WithoutLocal(), true
		case box.TypeJoinMeta, box.TypeJoinSnap, box.TypeRaft, box.TypePromote:
			// the 3.x META stage: nothing to print
		default:
			if !started {
				return &ProtocolError{Source: s.src.Name, Err: fmt.Errorf("FETCH_SNAPSHOT stream starts with a %s row", row.Type)}
			}
			row.Sync = 0
			if s.info.ReplicasetUUID == "" {
				s.info.ReplicasetUUID = clusterUUID(&row)
			}
			tx.Rows[0] = &row
			tx.VClock = start
			tx.Info = &s.info
			if err := s.h.Tx(&tx); err != nil {
				return &HandlerError{Err: err}
			}
		}
	}
}

// clusterUUID returns the replica set UUID if row is _schema's "cluster"
// (or "replicaset_uuid") entry.
func clusterUUID(row *format.Row) string {
	d, err := row.DML()
	if err != nil || d.SpaceID != box.SpaceSchema || d.Tuple == nil {
		return ""
	}
	c := format.NewMPCursor(d.Tuple)
	if n, err := c.ArrayLen(); err != nil || n < 2 {
		return ""
	}
	k, err := c.Bytes()
	if err != nil || (string(k) != "cluster" && string(k) != "replicaset_uuid") {
		return ""
	}
	v, err := c.Bytes()
	if err != nil {
		return ""
	}
	return string(v)
}
