package stats

import (
	"cmp"
	"slices"

	"github.com/xlogtool/xlogtool/box"
)

// Report is the result of a count, ready to print or encode as JSON; lists
// are in ascending key order.
type Report struct {
	Files      int   `json:"files"`
	Blocks     int   `json:"blocks"`
	ZstdBlocks int   `json:"zstd_blocks"`
	BlockBytes int64 `json:"block_bytes"` // stored bytes of the blocks, fixed headers included
	RawBytes   int64 `json:"raw_bytes"`   // row bytes of the blocks after decompression
	RowsRead   int64 `json:"rows_read"`   // every row read, selected or not
	// Rows and Bytes are those of the selected rows.
	Rows           int64   `json:"rows"`
	Bytes          int64   `json:"bytes"`
	FirstTimestamp float64 `json:"first_timestamp,omitempty"`
	LastTimestamp  float64 `json:"last_timestamp,omitempty"`

	Types    []TypeCount    `json:"types"`
	Spaces   []SpaceCount   `json:"spaces"`
	Replicas []ReplicaCount `json:"replicas"`

	// Transactions are counted in WAL files: rows sharing a TSN up to the
	// one with the COMMIT flag (a row without TSN is a transaction by
	// itself). A transaction counts when at least one of its rows is
	// selected, with its selected rows.
	Transactions TxReport `json:"transactions"`
	// SyncTransactions are those the writer's rules make synchronous
	// (synchro.Queue.Classify): the last row has the WAIT_ACK flag
	// (written by Tarantool 2.6.3/2.7.2/2.8.1 and later) or, for older
	// writers that flag nothing, a row writes a space whose _space row
	// says is_sync; WaitSync counts those with WAIT_SYNC (they waited in
	// the synchronous queue).
	SyncTransactions TxReport `json:"sync_transactions"`
	WaitSync         int64    `json:"wait_sync_transactions"`
	// Synchro counts the synchronous-replication rows selected.
	Synchro Synchro `json:"synchro"`

	DamagedFiles int `json:"damaged_files"`
	Warnings     int `json:"warnings"`
}

// TypeCount is the count of one row type.
type TypeCount struct {
	Type string `json:"type"` // name, or the number when it has none
	Code uint32 `json:"code"`
	Counter
}

// SpaceCount is the count of one space.
type SpaceCount struct {
	SpaceID uint32 `json:"space_id"`
	// Name is taken from rows of _space read in the same run (a snapshot
	// names them all), else empty.
	Name string `json:"name,omitempty"`
	Counter
}

// ReplicaCount is the count of one replica id (0: local rows).
type ReplicaCount struct {
	ReplicaID uint32 `json:"replica_id"`
	Counter
	// FirstLSN and LastLSN are the first and the highest LSN of the rows
	// of WAL files (snapshot rows carry ordinals, not LSNs).
	FirstLSN uint64 `json:"first_lsn,omitempty"`
	LastLSN  uint64 `json:"last_lsn,omitempty"`
}

// TxReport sums up transactions.
type TxReport struct {
	TxStats
	AvgRows  float64 `json:"avg_rows"`
	AvgBytes float64 `json:"avg_bytes"`
}

// Synchro counts the synchronous-replication rows.
type Synchro struct {
	Confirm  int64 `json:"confirm"`
	Rollback int64 `json:"rollback"`
	Promote  int64 `json:"promote"`
	Demote   int64 `json:"demote"`
}

func txReport(t TxStats) TxReport {
	return TxReport{TxStats: t, AvgRows: t.AvgRows(), AvgBytes: t.AvgBytes()}
}

// Report returns what was counted so far.
func (c *Collector) Report() *Report {
	r := &Report{
		Files: c.files, Blocks: c.blocks, ZstdBlocks: c.zblocks, BlockBytes: c.blockBytes,
		RawBytes: c.rawBytes, RowsRead: c.rowsRead, Rows: c.total.Rows, Bytes: c.total.Bytes,
		FirstTimestamp: c.firstTS, LastTimestamp: c.lastTS,
		Types: []TypeCount{}, Spaces: []SpaceCount{}, Replicas: []ReplicaCount{},
		Transactions: txReport(c.txs), SyncTransactions: txReport(c.syncTxs), WaitSync: c.waitSync,
	}
	addType := func(t box.RowType, ct Counter) {
		if ct.Rows > 0 {
			r.Types = append(r.Types, TypeCount{Type: t.String(), Code: uint32(t), Counter: ct})
		}
	}
	for t, ct := range c.types {
		addType(box.RowType(t), ct)
	}
	for t, ct := range c.typesOther {
		addType(t, *ct)
	}
	slices.SortFunc(r.Types, func(a, b TypeCount) int { return cmp.Compare(a.Code, b.Code) })
	for id, ct := range c.spaceCount {
		r.Spaces = append(r.Spaces, SpaceCount{SpaceID: id, Name: c.names[id], Counter: *ct})
	}
	slices.SortFunc(r.Spaces, func(a, b SpaceCount) int { return cmp.Compare(a.SpaceID, b.SpaceID) })
	addReplica := func(id uint32, rc *replicaCounter) {
		if rc.Rows > 0 {
			r.Replicas = append(r.Replicas, ReplicaCount{ReplicaID: id, Counter: rc.Counter,
				FirstLSN: rc.firstLSN, LastLSN: rc.lsnHi})
		}
	}
	for id := range c.replicas {
		addReplica(uint32(id), &c.replicas[id])
	}
	for id, rc := range c.replicasOther {
		addReplica(id, rc)
	}
	slices.SortFunc(r.Replicas, func(a, b ReplicaCount) int { return cmp.Compare(a.ReplicaID, b.ReplicaID) })
	r.Synchro = Synchro{
		Confirm: c.types[box.TypeConfirm].Rows, Rollback: c.types[box.TypeRollback].Rows,
		Promote: c.types[box.TypePromote].Rows, Demote: c.types[box.TypeDemote].Rows,
	}
	return r
}
