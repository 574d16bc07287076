package node

import (
	"errors"
	"fmt"

	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/memtx"
)

// Error codes the node returns (NODE.md §7).
const (
	erUnsupported        = 5
	erReadonly           = 7
	erMemoryIssue        = 2
	erTupleFound         = 3
	erProcLua            = 32
	erNoSuchProc         = 33
	erNoSuchIndexID      = 35
	erNoSuchSpace        = 36
	erInvalidMsgpack     = 20
	erAccessDenied       = 42
	erNoSuchUser         = 45
	erPasswordMismatch   = 47
	erUnknownRequestType = 48
	erMissingRequestFld  = 69
	erIllegalParams      = 1
	erUserExists         = 46
	erSpaceExists        = 10
	erIndexExists        = 85
	erWrongSchemaVersion = 109
	erLoading            = 116
	erWALIO              = 40
	erNoSuchIndexName    = 148
	erProtocol           = 104
)

// BoxError is an error with a Tarantool error code, as a client sees it.
type BoxError struct {
	Code    uint32
	Message string
}

func (e *BoxError) Error() string { return e.Message }

// Name is the error's name, e.g. ER_TUPLE_FOUND.
func (e *BoxError) Name() string { return iproto.ErrorName(e.Code) }

func boxErr(code uint32, f string, args ...any) *BoxError {
	return &BoxError{Code: code, Message: fmt.Sprintf(f, args...)}
}

// asBoxError turns any error into the error a client gets.
func asBoxError(err error) *BoxError {
	var be *BoxError
	if errors.As(err, &be) {
		return be
	}
	var ae *memtx.ApplyError
	if errors.As(err, &ae) {
		return &BoxError{Code: uint32(ae.Code), Message: ae.Message}
	}
	return &BoxError{Code: erWALIO, Message: err.Error()}
}
