package memtx

import "fmt"

// ErrorCode is a Tarantool box error code. The engine reports rejected
// requests with the code Tarantool would have raised for them, so that a
// finding can be matched against Tarantool's own error log.
type ErrorCode uint32

// Error codes used by the engine (numbering of Tarantool's errcode.h).
const (
	ErrIllegalParams         ErrorCode = 1
	ErrTupleFound            ErrorCode = 3
	ErrTupleNotFound         ErrorCode = 4
	ErrCreateSpace           ErrorCode = 9
	ErrDropSpace             ErrorCode = 11
	ErrAlterSpace            ErrorCode = 12
	ErrIndexType             ErrorCode = 13
	ErrModifyIndex           ErrorCode = 14
	ErrLastDrop              ErrorCode = 15
	ErrDropPrimaryKey        ErrorCode = 17
	ErrKeyPartType           ErrorCode = 18
	ErrExactMatch            ErrorCode = 19
	ErrInvalidMsgpack        ErrorCode = 20
	ErrFieldType             ErrorCode = 23
	ErrUpdateSplice          ErrorCode = 25
	ErrUpdateArgType         ErrorCode = 26
	ErrUnknownUpdateOp       ErrorCode = 28
	ErrUpdateField           ErrorCode = 29
	ErrNoSuchIndexID         ErrorCode = 35
	ErrNoSuchSpace           ErrorCode = 36
	ErrNoSuchFieldNo         ErrorCode = 37
	ErrExactFieldCount       ErrorCode = 38
	ErrFieldMissing          ErrorCode = 39
	ErrMoreThanOneTuple      ErrorCode = 41
	ErrUnknownRequestType    ErrorCode = 48
	ErrMissingRequestField   ErrorCode = 69
	ErrCantUpdatePrimaryKey  ErrorCode = 94
	ErrUpdateIntegerOverflow ErrorCode = 95
	ErrWrongIndexRecord      ErrorCode = 106
	ErrWrongIndexParts       ErrorCode = 107
	ErrWrongIndexOptions     ErrorCode = 108
	ErrWrongSpaceOptions     ErrorCode = 111
	ErrTruncateSystemSpace   ErrorCode = 137
	ErrWrongSpaceFormat      ErrorCode = 141
	ErrUpdateDecimalOverflow ErrorCode = 160
	ErrNoSuchFieldName       ErrorCode = 201
	ErrFieldValueOutOfRange  ErrorCode = 280 // fixed-size numeric types (3.x)
)

var errorCodeNames = map[ErrorCode]string{
	ErrIllegalParams:         "ER_ILLEGAL_PARAMS",
	ErrTupleFound:            "ER_TUPLE_FOUND",
	ErrTupleNotFound:         "ER_TUPLE_NOT_FOUND",
	ErrCreateSpace:           "ER_CREATE_SPACE",
	ErrDropSpace:             "ER_DROP_SPACE",
	ErrAlterSpace:            "ER_ALTER_SPACE",
	ErrIndexType:             "ER_INDEX_TYPE",
	ErrModifyIndex:           "ER_MODIFY_INDEX",
	ErrLastDrop:              "ER_LAST_DROP",
	ErrDropPrimaryKey:        "ER_DROP_PRIMARY_KEY",
	ErrKeyPartType:           "ER_KEY_PART_TYPE",
	ErrExactMatch:            "ER_EXACT_MATCH",
	ErrInvalidMsgpack:        "ER_INVALID_MSGPACK",
	ErrFieldType:             "ER_FIELD_TYPE",
	ErrUpdateSplice:          "ER_UPDATE_SPLICE",
	ErrUpdateArgType:         "ER_UPDATE_ARG_TYPE",
	ErrUnknownUpdateOp:       "ER_UNKNOWN_UPDATE_OP",
	ErrUpdateField:           "ER_UPDATE_FIELD",
	ErrNoSuchIndexID:         "ER_NO_SUCH_INDEX_ID",
	ErrNoSuchSpace:           "ER_NO_SUCH_SPACE",
	ErrNoSuchFieldNo:         "ER_NO_SUCH_FIELD_NO",
	ErrExactFieldCount:       "ER_EXACT_FIELD_COUNT",
	ErrFieldMissing:          "ER_FIELD_MISSING",
	ErrMoreThanOneTuple:      "ER_MORE_THAN_ONE_TUPLE",
	ErrUnknownRequestType:    "ER_UNKNOWN_REQUEST_TYPE",
	ErrMissingRequestField:   "ER_MISSING_REQUEST_FIELD",
	ErrCantUpdatePrimaryKey:  "ER_CANT_UPDATE_PRIMARY_KEY",
	ErrUpdateIntegerOverflow: "ER_UPDATE_INTEGER_OVERFLOW",
	ErrWrongIndexRecord:      "ER_WRONG_INDEX_RECORD",
	ErrWrongIndexParts:       "ER_WRONG_INDEX_PARTS",
	ErrWrongIndexOptions:     "ER_WRONG_INDEX_OPTIONS",
	ErrWrongSpaceOptions:     "ER_WRONG_SPACE_OPTIONS",
	ErrTruncateSystemSpace:   "ER_TRUNCATE_SYSTEM_SPACE",
	ErrWrongSpaceFormat:      "ER_WRONG_SPACE_FORMAT",
	ErrUpdateDecimalOverflow: "ER_UPDATE_DECIMAL_OVERFLOW",
	ErrNoSuchFieldName:       "ER_NO_SUCH_FIELD_NAME",
	ErrFieldValueOutOfRange:  "ER_FIELD_VALUE_OUT_OF_RANGE",
}

// String returns the symbolic Tarantool name of the code, e.g. "ER_TUPLE_FOUND".
func (c ErrorCode) String() string {
	if n, ok := errorCodeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("ER_%d", uint32(c))
}

// ApplyError describes a request that Tarantool would have rejected. The
// state is left unchanged by such a request. Callers replaying logs
// usually report it as a finding: a log written by Tarantool contains only
// requests that succeeded, so an ApplyError means the replayed state (or
// the log) deviates from what the writer had.
type ApplyError struct {
	Code    ErrorCode
	Message string
	// Request context, filled in by State.Apply.
	Type    RequestType
	SpaceID uint32
}

func (e *ApplyError) Error() string {
	if e.Type != 0 {
		return fmt.Sprintf("%s into space %d: %s: %s", e.Type, e.SpaceID, e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// errorf builds an *ApplyError with a formatted message.
func errorf(code ErrorCode, format string, args ...any) *ApplyError {
	return &ApplyError{Code: code, Message: fmt.Sprintf(format, args...)}
}
