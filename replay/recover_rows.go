package replay

import (
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/memtx"
	"github.com/xlogtool/xlogtool/synchro"
)

// RecoverRows replays the rows of a WAL held in memory, in order, onto st
// (a state at vclock from, as a snapshot leaves it) exactly as Recover
// replays an xlog: the same transactions, queue, fates, Raft state and
// findings, for rows written by Tarantool version. It reads no file; the
// Result's file fields stay empty. The rows must stay unchanged while it
// runs.
func RecoverRows(st *memtx.State, from format.VClock, version string, rows []*format.Row) *Result {
	rc := &recoverer{opts: RecoverOptions{MaxFindings: 1000}, res: &Result{State: st}, state: st,
		asm: format.NewTxAssembler(format.TxOptions{Retain: format.RetainBorrow})}
	rc.resolver = synchro.New(synchro.Options{IsSync: func(id uint32) bool {
		sp := st.Space(id)
		return sp != nil && sp.IsSync
	}})
	rc.resolver.SetVersion(version)
	rc.snapVClock, rc.seen, rc.reached = from, from, from
	for _, row := range rows {
		rc.xlogRow(row, &decoded{})
		if rc.stopped {
			break
		}
	}
	rc.finish()
	return rc.res
}
