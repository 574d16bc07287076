package box

import (
	"fmt"
	"strconv"
)

// RowType is the type of a request, a response or a log row (header key
// 0x00).
type RowType uint32

// Request, response and row types.
const (
	TypeOK          RowType = 0
	TypeSelect      RowType = 1
	TypeInsert      RowType = 2
	TypeReplace     RowType = 3
	TypeUpdate      RowType = 4
	TypeDelete      RowType = 5
	TypeCall16      RowType = 6
	TypeAuth        RowType = 7
	TypeEval        RowType = 8
	TypeUpsert      RowType = 9
	TypeCall        RowType = 10
	TypeExecute     RowType = 11
	TypeNop         RowType = 12
	TypePrepare     RowType = 13
	TypeBegin       RowType = 14
	TypeCommit      RowType = 15
	TypeTxRollback  RowType = 16 // IPROTO stream ROLLBACK, not the synchro one
	TypeInsertArrow RowType = 17
	TypeDeleteRange RowType = 18
	TypeRaft        RowType = 30
	TypePromote     RowType = 31
	TypeDemote      RowType = 32
	TypeConfirm     RowType = 40
	TypeRollback    RowType = 41 // synchronous-queue ROLLBACK
	TypePing        RowType = 64
	TypeJoin        RowType = 65
	TypeSubscribe   RowType = 66
	TypeVoteOld     RowType = 67 // VOTE of 1.10 (deprecated)
	TypeVote        RowType = 68
	TypeFetchSnap   RowType = 69
	TypeRegister    RowType = 70
	TypeJoinMeta    RowType = 71
	TypeJoinSnap    RowType = 72
	TypeID          RowType = 73
	TypeWatch       RowType = 74
	TypeUnwatch     RowType = 75
	TypeEvent       RowType = 76
	TypeWatchOnce   RowType = 77
	TypeRunInfo     RowType = 100 // vylog/run files
	TypePageInfo    RowType = 101
	TypeRowIndex    RowType = 102
	TypeChunk       RowType = 128 // out-of-band push (box.session.push)

	// TypeErrorFlag is set in the type of every error response; the low
	// bits hold the error code.
	TypeErrorFlag RowType = 0x8000
)

// typeName is the name of a type and whether Tarantool's log reader prints
// it (the others are printed as numbers in logs).
type typeName struct {
	name   string
	logged bool
}

var typeNames = map[RowType]typeName{
	TypeOK: {"OK", false}, TypeSelect: {"SELECT", true}, TypeInsert: {"INSERT", true},
	TypeReplace: {"REPLACE", true}, TypeUpdate: {"UPDATE", true}, TypeDelete: {"DELETE", true},
	TypeCall16: {"CALL_16", false}, TypeAuth: {"AUTH", true}, TypeEval: {"EVAL", true},
	TypeUpsert: {"UPSERT", true}, TypeCall: {"CALL", true}, TypeExecute: {"EXECUTE", true},
	TypeNop: {"NOP", true}, TypePrepare: {"PREPARE", true}, TypeBegin: {"BEGIN", false},
	TypeCommit: {"COMMIT", false}, TypeTxRollback: {"ROLLBACK", false},
	TypeInsertArrow: {"INSERT_ARROW", true}, TypeDeleteRange: {"DELETE_RANGE", true},
	TypeRaft: {"RAFT", true}, TypePromote: {"PROMOTE", true}, TypeDemote: {"DEMOTE", true},
	TypeConfirm: {"CONFIRM", true}, TypeRollback: {"ROLLBACK", true},
	TypePing: {"PING", false}, TypeJoin: {"JOIN", false}, TypeSubscribe: {"SUBSCRIBE", false},
	TypeVoteOld: {"VOTE_DEPRECATED", false}, TypeVote: {"VOTE", false},
	TypeFetchSnap: {"FETCH_SNAPSHOT", false}, TypeRegister: {"REGISTER", false},
	TypeJoinMeta: {"JOIN_META", true}, TypeJoinSnap: {"JOIN_SNAPSHOT", true},
	TypeID: {"ID", false}, TypeWatch: {"WATCH", false}, TypeUnwatch: {"UNWATCH", false},
	TypeEvent: {"EVENT", false}, TypeWatchOnce: {"WATCH_ONCE", false},
	TypeRunInfo: {"RUNINFO", true}, TypePageInfo: {"PAGEINFO", true}, TypeRowIndex: {"ROWINDEX", true},
	TypeChunk: {"CHUNK", false},
}

// logNameList holds the names log readers print, as an array for the
// lookup done on every row.
var logNameList = func() (l [128]string) {
	for t, n := range typeNames {
		if n.logged && t < RowType(len(l)) {
			l[t] = n.name
		}
	}
	return l
}()

var typeByName = func() map[string]RowType {
	m := make(map[string]RowType, len(typeNames)+5)
	for t, n := range typeNames {
		if n.logged {
			m[n.name] = t
		}
	}
	for _, t := range []RowType{TypeRaft, TypePromote, TypeDemote, TypeConfirm, TypeRollback} {
		m["RAFT_"+typeNames[t].name] = t
	}
	return m
}()

// Name returns the type's name as log readers print it (INSERT, RAFT,
// CONFIRM, ...), or "" for a type they print as a number (OK, PING and the
// other request types that never reach a log).
func (t RowType) Name() string {
	if t < RowType(len(logNameList)) {
		return logNameList[t]
	}
	if n := typeNames[t]; n.logged {
		return n.name
	}
	return ""
}

// String returns the type's log name, or its number.
func (t RowType) String() string {
	if n := t.Name(); n != "" {
		return n
	}
	return strconv.FormatUint(uint64(t), 10)
}

// RequestName returns the name of any known type, requests and responses
// included (PING, OK, ID, ...), "ERROR" for an error response, or
// "type N" for an unknown type.
func (t RowType) RequestName() string {
	if n, ok := typeNames[t]; ok {
		return n.name
	}
	if t&TypeErrorFlag != 0 {
		return "ERROR"
	}
	return "type " + strconv.FormatUint(uint64(t), 10)
}

// ParseRowType accepts a type name as log readers print it (INSERT,
// PROMOTE, RAFT_PROMOTE, ...; any case) or a number.
func ParseRowType(s string) (RowType, error) {
	if t, ok := typeByName[upper(s)]; ok {
		return t, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("unknown row type %q", s)
	}
	return RowType(n), nil
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// IsDML reports whether rows of this type change data (and carry a space id).
func (t RowType) IsDML() bool {
	switch t {
	case TypeInsert, TypeReplace, TypeUpdate, TypeDelete, TypeUpsert, TypeInsertArrow, TypeDeleteRange:
		return true
	}
	return false
}

// IsSynchro reports whether the type is PROMOTE, DEMOTE, CONFIRM or ROLLBACK.
func (t RowType) IsSynchro() bool {
	switch t {
	case TypePromote, TypeDemote, TypeConfirm, TypeRollback:
		return true
	}
	return false
}

// IsError reports whether the type is an error response.
func (t RowType) IsError() bool { return t&TypeErrorFlag != 0 }

// ErrorCode returns the code of an error response type, 0 for others.
func (t RowType) ErrorCode() ErrorCode {
	if t&TypeErrorFlag == 0 {
		return 0
	}
	return ErrorCode(t &^ TypeErrorFlag)
}

// ErrorType returns the response type of an error with code c.
func ErrorType(c ErrorCode) RowType { return TypeErrorFlag | RowType(c) }
