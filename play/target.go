package play

import (
	"context"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// Exactly-once resume after a lost connection (docs/play.md, "Resuming").
//
// Requests whose answers were lost may or may not have been executed. The
// target itself counts what it executed: every request that changes data
// is one WAL row, one LSN. The state file keeps, with the position, the
// target's instance UUID and the signature of its vclock (component 0
// left out, as the ballot reports it) at the moment every request recorded
// as applied had been executed. The server executes the requests of a
// connection in order, so when the next run finds the signature d higher,
// the first d rows it would send are the ones executed without an answer:
// they are recorded as applied and not sent again.

// TargetMark identifies the target and how far its vclock had got.
type TargetMark struct {
	UUID string `json:"uuid"`
	// Signature is the sum of the target's vclock components (component 0
	// left out) once the requests recorded as applied were executed.
	Signature uint64 `json:"signature"`
	// Unanswered is the number of requests that were sent and got no
	// answer when the state was written; -1 when requests were in flight
	// (a state written while playing: the process may have been killed).
	// 0: every request sent is accounted for, and the target's vclock is
	// not looked at when resuming (the user may have written to the
	// target to settle a rejected row).
	Unanswered int64 `json:"unanswered"`
}

// targetSignature asks the server for its ballot (IPROTO_VOTE, which
// needs no privileges) and sums its vclock.
func targetSignature(ctx context.Context, conn *client.Conn) (uint64, error) {
	resp, err := conn.Do(ctx, iproto.RawRequest{Code: box.TypeVote})
	if err != nil {
		return 0, err
	}
	raw, ok, err := resp.Field(box.KeyBallot)
	if err != nil || !ok {
		return 0, fmt.Errorf("no ballot in the answer to VOTE (%v)", err)
	}
	var ballot map[uint64]msgpack.RawMessage
	if err := msgpack.Unmarshal(raw, &ballot); err != nil {
		return 0, fmt.Errorf("ballot: %w", err)
	}
	var vc map[uint32]uint64
	if err := msgpack.Unmarshal(ballot[ballotVClock], &vc); err != nil {
		return 0, fmt.Errorf("ballot vclock: %w", err)
	}
	var sig uint64
	for id, lsn := range vc {
		if id != 0 {
			sig += lsn
		}
	}
	return sig, nil
}

// ballotVClock is the ballot key of the vclock (every version).
const ballotVClock = 2

// startTarget reads the target's vclock and, when the state file was
// written by a run into the same target, how many rows that run had
// executed without an answer.
func (p *Player) startTarget(ctx context.Context, st *State) error {
	sig, err := targetSignature(ctx, p.conn)
	if err != nil {
		p.notice(fmt.Sprintf("cannot read the target's vclock (%v): after a lost connection, a request executed without an answer would be sent again", err))
		// A mark this run cannot keep up to date would mislead the next.
		st.Target = nil
		return nil
	}
	uuid := p.conn.InstanceUUID()
	if m := st.Target; m != nil {
		switch {
		case m.UUID != uuid:
			return fmt.Errorf("the state file was written for the instance %s, the target is %s", m.UUID, uuid)
		case sig < m.Signature:
			return fmt.Errorf("the target's vclock signature is %d, below the %d the state file recorded: it is not the data the state describes (restored from a backup?)", sig, m.Signature)
		}
		d := sig - m.Signature
		switch {
		case m.Unanswered == 0:
			d = 0
		case m.Unanswered > 0 && d > uint64(m.Unanswered):
			return fmt.Errorf("the target wrote %d rows since the state was saved, more than the %d requests left without an answer: "+
				"it was written by someone else, and which of those requests were executed cannot be told "+
				"(remove the \"target\" entry of the state file to send them all again)", d, m.Unanswered)
		}
		p.resumeSkip = d
		if p.resumeSkip > 0 {
			p.notice(fmt.Sprintf("the target executed %d rows of the previous run whose answers were lost: they are not sent again", p.resumeSkip))
		}
	}
	p.tracking, p.tgtBase, p.tgtUUID = true, sig, uuid
	return nil
}

// markTarget sets the state's target mark before the state is written:
// the signature the target had once the rows the state records as applied
// were executed (the rows of the previous run still to pass are not
// recorded yet), and how many requests are unaccounted for (-1: unknown).
func (p *Player) markTarget(st *State, unanswered int64) {
	if !p.tracking {
		return
	}
	if p.resumeSkip > 0 {
		unanswered = -1
	}
	st.Target = &TargetMark{UUID: p.tgtUUID, Signature: p.tgtBase - p.resumeSkip + p.written, Unanswered: unanswered}
}

// resumeRows takes out of it the rows the previous run had executed
// without an answer, recording them as applied. A replica-local row is
// executed too when a global row after it was (the target's vclock does
// not count local rows).
func (p *Player) resumeRows(it *item) error {
	if p.resumeSkip == 0 {
		return nil
	}
	n, first := len(it.rows), it.rows[0]
	kept := it.rows[:0]
	for _, r := range it.rows {
		if p.resumeSkip == 0 {
			kept = append(kept, r)
			continue
		}
		if r.GroupID != box.GroupLocal {
			p.resumeSkip--
		}
		p.sum.RowsResumed++
		if it.snap {
			if s := p.st.Snapshot; s != nil && s.VClock.Equal(it.snapV) && it.ord > s.Rows {
				s.Applied.Add(it.ord)
			}
			continue
		}
		p.st.addApplied(r.ReplicaID, r.LSN)
	}
	it.rows = kept
	if p.atomic && n > 1 && len(kept) > 0 && len(kept) < n {
		return fmt.Errorf("the target's vclock says %d of the %d rows of a transaction (replica %d, LSN %d) were executed, but a transaction in a stream is all or nothing: the target was written by someone else",
			n-len(kept), n, first.ReplicaID, first.LSN)
	}
	return nil
}

// wrote reports whether the target wrote a WAL row for a row it accepted
// (component 0 rows are not counted: the ballot leaves them out).
func wrote(r *format.Row, resp *iproto.Response) bool {
	if r.GroupID == box.GroupLocal {
		return false
	}
	switch r.Type {
	case box.TypeUpdate, box.TypeDelete:
		// Nothing to update or delete: nothing written.
		if resp == nil {
			return true
		}
		raw, ok, err := resp.Field(box.KeyData)
		return err != nil || !ok || len(raw) == 0 || raw[0] != 0x90
	}
	return true
}

// noteWritten adds the rows the target wrote to the state's mark.
func (p *Player) noteWritten(n uint64) {
	if p.tracking {
		p.written += n
	}
}
