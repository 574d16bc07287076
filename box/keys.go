package box

import "strconv"

// Header keys.
const (
	KeyType          = 0x00
	KeySync          = 0x01
	KeyReplicaID     = 0x02
	KeyLSN           = 0x03
	KeyTimestamp     = 0x04
	KeySchemaVersion = 0x05
	KeyServerVersion = 0x06
	KeyGroupID       = 0x07
	KeyTSN           = 0x08
	KeyFlags         = 0x09
	KeyStreamID      = 0x0a
)

// Body keys.
const (
	KeySpaceID        = 0x10
	KeyIndexID        = 0x11
	KeyLimit          = 0x12
	KeyOffset         = 0x13
	KeyIterator       = 0x14
	KeyIndexBase      = 0x15
	KeyFetchPosition  = 0x1f
	KeyKey            = 0x20
	KeyTuple          = 0x21 // UPDATE: the operations
	KeyFunctionName   = 0x22
	KeyUserName       = 0x23
	KeyInstanceUUID   = 0x24
	KeyReplicasetUUID = 0x25 // CLUSTER_UUID in old releases
	KeyVClock         = 0x26
	KeyExpr           = 0x27
	KeyOps            = 0x28 // UPSERT operations
	KeyBallot         = 0x29
	KeyTupleMeta      = 0x2a
	KeyOptions        = 0x2b
	KeyOldTuple       = 0x2c
	KeyNewTuple       = 0x2d
	KeyAfterPosition  = 0x2e
	KeyAfterTuple     = 0x2f
	KeyData           = 0x30
	KeyErrorMessage   = 0x31 // ERROR_24: the message of an error response
	KeyMetadata       = 0x32
	KeyBindMetadata   = 0x33
	KeyBindCount      = 0x34
	KeyPosition       = 0x35
	KeyArrow          = 0x36
	KeyBeginKey       = 0x37
	KeyEndKey         = 0x38
	KeySQLText        = 0x40
	KeySQLBind        = 0x41
	KeySQLInfo        = 0x42
	KeyStmtID         = 0x43
	KeyReplicaAnon    = 0x50
	KeyIDFilter       = 0x51
	KeyError          = 0x52 // the error stack (2.4.1+)
	KeyTerm           = 0x53
	KeyVersion        = 0x54
	KeyFeatures       = 0x55
	KeyTimeout        = 0x56
	KeyEventKey       = 0x57
	KeyEventData      = 0x58
	KeyIsolation      = 0x59 // TXN_ISOLATION
	KeyVClockSync     = 0x5a
	KeyAuthType       = 0x5b
	KeyReplicasetName = 0x5c
	KeyInstanceName   = 0x5d
	KeyIsSync         = 0x61
	KeyIsCheckpoint   = 0x62 // IS_CHECKPOINT_JOIN
	KeyCheckpointVC   = 0x63 // CHECKPOINT_VCLOCK
	KeyCheckpointLSN  = 0x64

	// Synchro bodies reuse the header codes for the queue owner and LSN.
	KeySynchroReplicaID = 0x02
	KeySynchroLSN       = 0x03
)

// RAFT body keys.
const (
	RaftKeyTerm         = 0
	RaftKeyVote         = 1
	RaftKeyState        = 2
	RaftKeyVClock       = 3
	RaftKeyLeaderID     = 4
	RaftKeyIsLeaderSeen = 5
)

// Keys of an error stack entry (inside KeyError's array under key 0).
const (
	ErrorKeyStack   = 0x00
	ErrorKeyType    = 0x00
	ErrorKeyFile    = 0x01
	ErrorKeyLine    = 0x02
	ErrorKeyMessage = 0x03
	ErrorKeyErrno   = 0x04
	ErrorKeyCode    = 0x05
	ErrorKeyFields  = 0x06
)

// Row flags (header key 0x09).
const (
	FlagCommit   = 0x01
	FlagWaitSync = 0x02
	FlagWaitAck  = 0x04
)

// Group ids (header key 0x07).
const (
	GroupDefault = 0
	GroupLocal   = 1
)

// Names of body keys as Tarantool's own log reader prints them for data
// rows (its key table, with blanks turned into underscores), extended with
// the keys of newer row types.
var dmlKeyNames = map[uint64]string{
	0x00: "type", 0x01: "sync", 0x02: "replica_id", 0x03: "lsn", 0x04: "timestamp",
	0x05: "schema_version", 0x06: "server_version", 0x07: "group_id", 0x08: "tsn", 0x09: "flags",
	0x10: "space_id", 0x11: "index_id", 0x12: "limit", 0x13: "offset", 0x14: "iterator",
	0x15: "index_base",
	0x20: "key", 0x21: "tuple", 0x22: "function_name", 0x23: "user_name", 0x24: "instance_uuid",
	0x25: "cluster_uuid", 0x26: "vector_clock", 0x27: "expression", 0x28: "operations",
	0x29: "ballot", 0x2a: "tuple_meta", 0x2b: "options",
	0x30: "data", 0x31: "error", 0x32: "metadata", 0x33: "bind_meta", 0x34: "bind_count",
	0x40: "SQL_text", 0x41: "SQL_bind", 0x42: "SQL_info", 0x43: "stmt_id",
}

// Keys that only newer row types use; named only for those types so that
// rows of the classic types print as Tarantool's reader prints them (the
// old/new tuple images excepted: they are named for every data row).
var newDMLKeyNames = map[uint64]string{
	KeyOldTuple: "old_tuple", KeyNewTuple: "new_tuple", KeyArrow: "arrow",
	KeyBeginKey: "begin_key", KeyEndKey: "end_key",
}

var synchroKeyNames = map[uint64]string{
	KeySynchroReplicaID: "replica_id", KeySynchroLSN: "lsn", KeyTerm: "term", KeyVClock: "vclock",
}

var raftKeyNames = map[uint64]string{
	RaftKeyTerm: "term", RaftKeyVote: "vote", RaftKeyState: "state", RaftKeyVClock: "vclock",
	RaftKeyLeaderID: "leader_id", RaftKeyIsLeaderSeen: "is_leader_seen",
}

var runInfoKeyNames = map[uint64]string{
	1: "min_key", 2: "max_key", 3: "min_lsn", 4: "max_lsn", 5: "page_count",
	6: "bloom_filter_legacy", 7: "bloom_filter", 8: "stmt_stat",
}

var pageInfoKeyNames = map[uint64]string{
	1: "offset", 2: "size", 3: "unpacked_size", 4: "row_count", 5: "min_key", 6: "row_index_offset",
}

var rowIndexKeyNames = map[uint64]string{1: "row_index"}

// isClassicDML lists the types whose bodies Tarantool's reader names keys for.
func isClassicDML(t RowType) bool {
	return (t >= TypeSelect && t <= TypeDelete) || t == TypeUpsert || t == TypeNop
}

// BodyKeyName returns the printed name of body key k of a row of type t, or
// "" when the key has no name for that type.
func BodyKeyName(t RowType, k uint64) string {
	switch {
	case k == KeyOldTuple && (t.IsDML() || isClassicDML(t)):
		return "old_tuple"
	case k == KeyNewTuple && (t.IsDML() || isClassicDML(t)):
		return "new_tuple"
	case isClassicDML(t):
		return dmlKeyNames[k]
	case t == TypeInsertArrow || t == TypeDeleteRange:
		if n, ok := newDMLKeyNames[k]; ok {
			return n
		}
		return dmlKeyNames[k]
	case t.IsSynchro():
		return synchroKeyNames[k]
	case t == TypeRaft:
		return raftKeyNames[k]
	case t == TypeRunInfo:
		return runInfoKeyNames[k]
	case t == TypePageInfo:
		return pageInfoKeyNames[k]
	case t == TypeRowIndex:
		return rowIndexKeyNames[k]
	}
	return ""
}

// BodyKeyLabel is BodyKeyName, or the key as a decimal string.
func BodyKeyLabel(t RowType, k uint64) string {
	if n := BodyKeyName(t, k); n != "" {
		return n
	}
	return strconv.FormatUint(k, 10)
}
