package iproto

import "strconv"

// Request and response type codes (header key 0x00).
const (
	TypeOK       uint32 = 0
	TypeSelect   uint32 = 1
	TypeInsert   uint32 = 2
	TypeReplace  uint32 = 3
	TypeUpdate   uint32 = 4
	TypeDelete   uint32 = 5
	TypeCall16   uint32 = 6
	TypeAuth     uint32 = 7
	TypeEval     uint32 = 8
	TypeUpsert   uint32 = 9
	TypeCall     uint32 = 10
	TypeExecute  uint32 = 11
	TypeNop      uint32 = 12
	TypePrepare  uint32 = 13
	TypeBegin    uint32 = 14
	TypeCommit   uint32 = 15
	TypeRollback uint32 = 16
	TypePing     uint32 = 64
	TypeVote     uint32 = 68
	TypeID       uint32 = 73

	// TypeErrorFlag is set in the type of every error response; the low
	// bits hold the error code.
	TypeErrorFlag uint32 = 0x8000
)

// Header keys.
const (
	KeyRequestType   = 0x00
	KeySync          = 0x01
	KeySchemaVersion = 0x05
	KeyStreamID      = 0x0a
)

// Body keys.
const (
	KeySpaceID      = 0x10
	KeyIndexID      = 0x11
	KeyLimit        = 0x12
	KeyOffset       = 0x13
	KeyIterator     = 0x14
	KeyIndexBase    = 0x15
	KeyKey          = 0x20
	KeyTuple        = 0x21
	KeyFunctionName = 0x22
	KeyUserName     = 0x23
	KeyExpr         = 0x27
	KeyOps          = 0x28
	KeyData         = 0x30
	KeyErrorMessage = 0x31
	KeyError        = 0x52
	KeyTimeout      = 0x56
	KeyIsolation    = 0x59
)

// Iterator selects how an index is scanned by Select.
type Iterator uint32

// Index iterators.
const (
	IterEq            Iterator = 0
	IterReq           Iterator = 1
	IterAll           Iterator = 2
	IterLt            Iterator = 3
	IterLe            Iterator = 4
	IterGe            Iterator = 5
	IterGt            Iterator = 6
	IterBitsAllSet    Iterator = 7
	IterBitsAnySet    Iterator = 8
	IterBitsAllNotSet Iterator = 9
	IterOverlaps      Iterator = 10
	IterNeighbor      Iterator = 11
)

// Isolation is a transaction isolation level for Begin (2.10+ servers).
type Isolation uint32

// Isolation levels; IsolationDefault leaves the choice to the server.
const (
	IsolationDefault       Isolation = 0
	IsolationReadCommitted Isolation = 1
	IsolationReadConfirmed Isolation = 2
	IsolationBestEffort    Isolation = 3
)

var typeNames = map[uint32]string{
	TypeOK: "OK", TypeSelect: "SELECT", TypeInsert: "INSERT",
	TypeReplace: "REPLACE", TypeUpdate: "UPDATE", TypeDelete: "DELETE",
	TypeCall16: "CALL_16", TypeAuth: "AUTH", TypeEval: "EVAL",
	TypeUpsert: "UPSERT", TypeCall: "CALL", TypeExecute: "EXECUTE",
	TypeNop: "NOP", TypePrepare: "PREPARE", TypeBegin: "BEGIN",
	TypeCommit: "COMMIT", TypeRollback: "ROLLBACK", TypePing: "PING",
	TypeVote: "VOTE", TypeID: "ID",
}

// TypeName returns the name of a request type code, or "type N" for codes
// this package does not name.
func TypeName(t uint32) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "type " + strconv.FormatUint(uint64(t), 10)
}
