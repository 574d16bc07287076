package verify

import "github.com/xlogtool/xlogtool/box"

// rules are the synchronous-replication rules of one writer version
// (FORMAT.md 6.5, 6.6).
type rules struct {
	v box.Version
	// flags: WAIT_SYNC/WAIT_ACK are written (2.6.3/2.7.2/2.8.1+); before,
	// synchronous transactions are found by their spaces.
	flags bool
	// implicitOwner: the origin of the first transaction entering an empty
	// queue becomes its owner (before 2.7.3/2.8.2/2.10.0).
	implicitOwner bool
	// masterMismatch: a CONFIRM/ROLLBACK for another owner is an error
	// (ER_SYNC_MASTER_MISMATCH: 2.5.x, 2.6.0, 2.6.1, 2.7.0).
	masterMismatch bool
	// filters: the receiver checks synchro rows for split-brain
	// (2.10.1+), generation B from 3.5.2/3.6.3/3.7.0.
	filters, filtersB bool
	// outdatedConfirmOK: a CONFIRM for an already confirmed LSN is not an
	// error (3.5.0/2.11.8+, commit e454545e53).
	outdatedConfirmOK bool
	// staleAsyncChecked: an async transaction from an old term is
	// refused (2.10.1+); before, it was applied.
	staleAsyncChecked bool
	// snapshotLimbo: snapshots carry the queue state in a PROMOTE row
	// (2.7.3/2.8.2/2.10.0+).
	snapshotLimbo bool
	// termStart is the initial queue term (1 since 3.8.0).
	termStart uint64
}

func rulesFor(s string) rules {
	v := box.VersionOf(s)
	r := rules{v: v}
	if !v.Known() {
		// Very old writer (no Version line): no synchronous replication.
		return r
	}
	r.flags = v.Since("2.8.1", "2.6.3", "2.7.2")
	r.implicitOwner = !v.Since("2.10.0", "2.7.3", "2.8.2") || (v.Major == 2 && v.Minor == 6)
	r.masterMismatch = v.Major == 2 && (v.Minor == 5 || (v.Minor == 6 && v.Patch <= 1) || (v.Minor == 7 && v.Patch == 0))
	r.filters = v.Since("2.10.1")
	r.filtersB = v.Since("3.7.0", "3.5.2", "3.6.3")
	r.outdatedConfirmOK = v.Since("3.5.0", "2.11.8")
	r.staleAsyncChecked = r.filters
	r.snapshotLimbo = v.Since("2.10.0", "2.7.3", "2.8.2") && !(v.Major == 2 && v.Minor == 6)
	if v.Since("3.8.0") {
		r.termStart = 1
	}
	return r
}
