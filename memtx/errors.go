package memtx

import (
	"fmt"

	"github.com/xlogtool/xlogtool/box"
)

// ApplyError describes a request that Tarantool would have rejected. The
// state is left unchanged by such a request. Callers replaying logs
// usually report it as a finding: a log written by Tarantool contains only
// requests that succeeded, so an ApplyError means the replayed state (or
// the log) deviates from what the writer had.
type ApplyError struct {
	Code    box.ErrorCode
	Message string
	// Request context, filled in by State.Apply.
	Type    box.RowType
	SpaceID uint32
}

func (e *ApplyError) Error() string {
	if e.Type != 0 {
		return fmt.Sprintf("%s into space %d: %s: %s", e.Type, e.SpaceID, e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// errorf builds an *ApplyError with a formatted message.
func errorf(code box.ErrorCode, format string, args ...any) *ApplyError {
	return &ApplyError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// boxError builds an *ApplyError with Tarantool's message for the code
// (box's table) formatted with args.
func boxError(code box.ErrorCode, args ...any) *ApplyError {
	return &ApplyError{Code: code, Message: code.Message(args...)}
}
