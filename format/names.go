package format

import "strconv"

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
