package verify

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Kind names a class of finding.
type Kind string

// Finding kinds. Within one instance: damage, the file chain, LSN order,
// transactions, the synchronous queue and Raft. Across instances: divergent
// rows and split-brain.
const (
	KindCRCMismatch     Kind = "crc-mismatch"      // a block's checksum does not match
	KindTornTail        Kind = "torn-tail"         // a file ends inside a block
	KindMissingEOF      Kind = "missing-eof"       // a file ends without the EOF marker
	KindBadHeader       Kind = "bad-header"        // text header, block header or block marker damaged
	KindBadRow          Kind = "bad-row"           // a block's rows do not decode (or it does not decompress)
	KindTrailingGarbage Kind = "trailing-garbage"  // bytes after the EOF marker or after the last block
	KindUnreadable      Kind = "unreadable"        // a file could not be read at all
	KindFileName        Kind = "file-name"         // name does not match the header vclock, or wrong file type
	KindForeignFile     Kind = "foreign-file"      // a file of another instance in the directory
	KindLSNGap          Kind = "lsn-gap"           // LSNs missing between or inside files
	KindLSNOrder        Kind = "lsn-order"         // an LSN not above the previous one of its component
	KindSnapshot        Kind = "snapshot-mismatch" // a snapshot's vclock does not fit the WAL around it
	KindBrokenTx        Kind = "broken-tx"         // a transaction whose first row is absent
	KindIncompleteTx    Kind = "incomplete-tx"     // a transaction that never commits
	KindForeignSynchro  Kind = "foreign-synchro"   // CONFIRM/ROLLBACK for a queue the instance did not see owned
	KindOutdatedSynchro Kind = "outdated-synchro"  // CONFIRM/ROLLBACK for LSNs already confirmed
	KindQueueConflict   Kind = "queue-conflict"    // a queued transaction of a replica that does not own the queue
	KindPromoteTerm     Kind = "promote-term"      // PROMOTE/DEMOTE whose term does not grow
	KindPromoteLSN      Kind = "promote-lsn"       // PROMOTE/DEMOTE that would undo confirmed transactions
	KindStaleTerm       Kind = "stale-term"        // rows of an old queue owner after the queue moved on
	KindSyncPending     Kind = "sync-pending"      // synchronous transactions unresolved at the end of the log
	KindRaftTerm        Kind = "raft-term"         // the persisted Raft term decreases
	KindVoteConflict    Kind = "vote-conflict"     // two different votes in one term
	KindUnknownID       Kind = "unknown-replica-id"
	KindDivergentRow    Kind = "divergent-row" // the same (replica id, LSN) with different content
	KindSplitBrain      Kind = "split-brain"   // histories that cannot both be true
	// KindForeignReplicaset: instances of several replica sets were given;
	// each is compared only with the others of its replica set.
	KindForeignReplicaset Kind = "foreign-replicaset"
	// KindReplicaIDConflict: one replica id given to different instances
	// in the _cluster rows of instances of one replica set.
	KindReplicaIDConflict Kind = "replica-id-conflict"
	// KindDuplicateInstance: two sources hold the same instance (the same
	// instance UUID): one directory given under two names, or a copy.
	KindDuplicateInstance Kind = "duplicate-instance"
	KindTruncated         Kind = "truncated" // a limit on kept state was reached; later checks are coarser
)

// Severity of a finding.
type Severity string

// Severities: errors make verify exit with status 1.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Evidence is one row that shows a finding, as printed by `xlogtool cat
// --format json --show-pos`.
type Evidence struct {
	Instance string          `json:"instance"`
	Note     string          `json:"note,omitempty"`
	Row      json.RawMessage `json:"row"`
}

// Side is one side of a cross-instance finding: the instances that hold a
// version of history, and the rows of one replica component it consists of.
type Side struct {
	Instances []string `json:"instances"`
	ReplicaID uint32   `json:"replica_id"`
	LSNFrom   uint64   `json:"lsn_from,omitempty"`
	LSNTo     uint64   `json:"lsn_to,omitempty"`
	What      string   `json:"what"`
}

// Finding is one problem found in the logs.
type Finding struct {
	Kind      Kind
	Severity  Severity
	Instance  string   // set for findings of one instance
	Instances []string // set for findings across instances
	UUID      string
	File      string
	Offset    int64 // -1 when no position applies
	ReplicaID int   // -1 when no replica component applies
	LSNFrom   uint64
	LSNTo     uint64
	Term      uint64
	Message   string
	Evidence  []Evidence
	Sides     []Side
	// Followed names the side the rest of the replica set followed.
	Followed string
}

func newFinding(kind Kind, sev Severity, format string, a ...any) *Finding {
	return &Finding{Kind: kind, Severity: sev, Offset: -1, ReplicaID: -1, Message: fmt.Sprintf(format, a...)}
}

func (f *Finding) at(file string, off int64) *Finding {
	f.File, f.Offset = file, off
	return f
}

func (f *Finding) lsns(id uint32, from, to uint64) *Finding {
	f.ReplicaID, f.LSNFrom, f.LSNTo = int(id), from, to
	return f
}

// MarshalJSON writes the finding with the keys kind, severity, instance or
// instances, instance_uuid, file, offset, replica_id, lsn_from, lsn_to,
// term, message and evidence; keys that do not apply are null.
func (f *Finding) MarshalJSON() ([]byte, error) {
	type out struct {
		Kind      Kind       `json:"kind"`
		Severity  Severity   `json:"severity"`
		Instance  string     `json:"instance,omitempty"`
		Instances []string   `json:"instances,omitempty"`
		UUID      *string    `json:"instance_uuid"`
		File      *string    `json:"file"`
		Offset    *int64     `json:"offset"`
		ReplicaID *int       `json:"replica_id"`
		LSNFrom   *uint64    `json:"lsn_from"`
		LSNTo     *uint64    `json:"lsn_to"`
		Term      *uint64    `json:"term"`
		Message   string     `json:"message"`
		Evidence  []Evidence `json:"evidence"`
		Sides     []Side     `json:"sides,omitempty"`
		Followed  string     `json:"followed,omitempty"`
	}
	o := out{Kind: f.Kind, Severity: f.Severity, Instance: f.Instance, Instances: f.Instances,
		Message: f.Message, Evidence: f.Evidence, Sides: f.Sides, Followed: f.Followed}
	if o.Evidence == nil {
		o.Evidence = []Evidence{}
	}
	if f.UUID != "" {
		o.UUID = &f.UUID
	}
	if f.File != "" {
		o.File = &f.File
	}
	if f.Offset >= 0 {
		o.Offset = &f.Offset
	}
	if f.ReplicaID >= 0 {
		o.ReplicaID = &f.ReplicaID
	}
	if f.LSNFrom != 0 || f.LSNTo != 0 {
		o.LSNFrom, o.LSNTo = &f.LSNFrom, &f.LSNTo
	}
	if f.Term != 0 {
		o.Term = &f.Term
	}
	return json.Marshal(o)
}

// sortFindings orders findings: errors first, then by instance, file,
// offset and kind.
func sortFindings(fs []*Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity == Error
		}
		if a.Instance != b.Instance {
			return a.Instance < b.Instance
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Offset != b.Offset {
			return a.Offset < b.Offset
		}
		return a.Kind < b.Kind
	})
}
