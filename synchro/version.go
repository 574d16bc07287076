package synchro

import "github.com/xlogtool/xlogtool/box"

// Rules are the synchronous-replication rules of one writer version
// (FORMAT.md §6.2, §6.5, §6.6).
type Rules struct {
	Version box.Version
	// Flags: WAIT_SYNC/WAIT_ACK are written (2.6.3/2.7.2/2.8.1+); before,
	// synchronous transactions are known only by their spaces.
	Flags bool
	// ImplicitOwner: the origin of a synchronous transaction entering an
	// empty queue becomes its owner (2.5.1 – 2.8.1, all of 2.6.x).
	ImplicitOwner bool
	// MasterMismatch: a CONFIRM/ROLLBACK for another owner's queue fails
	// with ER_SYNC_MASTER_MISMATCH (2.5.x, 2.6.0, 2.6.1, 2.7.0); later
	// versions ignore it.
	MasterMismatch bool
	// Filters: a receiver checks synchro rows and transactions for
	// split-brain (2.10.1+); FiltersB: generation B (3.5.2, 3.6.3+,
	// 3.7.0+), otherwise generation A.
	Filters, FiltersB bool
	// OutdatedConfirmOK: generation A skips the queue-boundary check for
	// CONFIRM/ROLLBACK (3.5.0 / 2.11.8+, commit e454545e53).
	OutdatedConfirmOK bool
	// LastRowFilter: the applier pre-filter looks at the last row of a
	// transaction (2.11.2+, 3.0.0+); before, at the first one.
	LastRowFilter bool
	// SynchroAlwaysFiltered: generation A's applier examines synchro rows
	// from origins of the current term too (2.11.8+, 3.5.0 – 3.6.2);
	// 2.11.2 – 2.11.7 and 3.0.0 – 3.4.x only from outdated origins.
	SynchroAlwaysFiltered bool
	// ConfirmedVClock: the confirmed LSN is kept per owner (2.11.2 /
	// 3.0.0+); before, only the current owner's, reset on owner change.
	ConfirmedVClock bool
	// SnapshotLimbo: snapshots carry the queue state in a PROMOTE row
	// (2.7.3/2.8.2/2.10.0+).
	SnapshotLimbo bool
	// TermStart is the initial queue term (1 since 3.8.0).
	TermStart uint64
	// Lenient is for rows whose writer is not known: a synchronous
	// transaction claims an unclaimed empty queue, no transaction is
	// refused the queue, and a claimed queue's owner stays until a
	// PROMOTE or DEMOTE.
	Lenient bool
}

// LenientRules are the rules for rows of an unknown writer (see
// Rules.Lenient).
func LenientRules() Rules { return Rules{Lenient: true} }

// RulesFor returns the rules of the Tarantool version a file header
// names ("" for files without a Version line: no synchronous
// replication).
func RulesFor(s string) Rules {
	v := box.VersionOf(s)
	r := Rules{Version: v}
	if !v.Known() {
		return r
	}
	r.Flags = v.Since("2.8.1", "2.6.3", "2.7.2")
	r.ImplicitOwner = !v.Since("2.10.0", "2.7.3", "2.8.2") || (v.Major == 2 && v.Minor == 6)
	r.MasterMismatch = v.Major == 2 && (v.Minor == 5 || (v.Minor == 6 && v.Patch <= 1) || (v.Minor == 7 && v.Patch == 0))
	r.Filters = v.Since("2.10.1")
	r.FiltersB = v.Since("3.7.0", "3.5.2", "3.6.3")
	r.OutdatedConfirmOK = v.Since("3.5.0", "2.11.8")
	r.LastRowFilter = v.Since("3.0.0", "2.11.2")
	r.SynchroAlwaysFiltered = v.Since("3.5.0", "2.11.8")
	r.ConfirmedVClock = v.Since("3.0.0", "2.11.2")
	r.SnapshotLimbo = v.Since("2.10.0", "2.7.3", "2.8.2") && !(v.Major == 2 && v.Minor == 6)
	if v.Since("3.8.0") {
		r.TermStart = 1
	}
	return r
}
