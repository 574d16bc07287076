package box

import (
	"fmt"
	"strconv"
)

// ErrorCode is a Tarantool error code (box.error.*). On the wire an error
// response has the type TypeErrorFlag | code.
type ErrorCode uint32

type errorInfo struct {
	name   string // ER_TUPLE_FOUND
	format string // message format for fmt
}

func (c ErrorCode) info() (errorInfo, bool) {
	if uint64(c) < uint64(len(errorTable)) && errorTable[c].name != "" {
		return errorTable[c], true
	}
	return errorInfo{}, false
}

// Known reports whether the code is in the table.
func (c ErrorCode) Known() bool {
	_, ok := c.info()
	return ok
}

// String returns the symbolic name of the code (ER_TUPLE_FOUND for 3), or
// "ER_<code>" for a code the table does not have.
func (c ErrorCode) String() string {
	if e, ok := c.info(); ok {
		return e.name
	}
	return "ER_" + strconv.FormatUint(uint64(c), 10)
}

// MessageFormat returns the format of the code's message, with Go's verbs
// (Tarantool's %u, %lld, ... are %d and %.*s is %s). It is "" for codes
// without a known format.
func (c ErrorCode) MessageFormat() string {
	e, _ := c.info()
	return e.format
}

// Message formats Tarantool's message for the code with args, as the
// server does: Message(ErrNoSuchSpace, "s") is "Space 's' does not exist".
// A code without a known format yields its name followed by the args.
func (c ErrorCode) Message(args ...any) string {
	f := c.MessageFormat()
	if f == "" {
		if len(args) == 0 {
			return c.String()
		}
		return c.String() + ": " + fmt.Sprint(args...)
	}
	return fmt.Sprintf(f, args...)
}

// ErrorCodeByName returns the code of a symbolic name (ER_TUPLE_FOUND).
func ErrorCodeByName(name string) (ErrorCode, bool) {
	c, ok := errorByName[name]
	return c, ok
}

var errorByName = func() map[string]ErrorCode {
	m := make(map[string]ErrorCode, len(errorTable))
	for c, e := range errorTable {
		if e.name != "" {
			m[e.name] = ErrorCode(c)
		}
	}
	return m
}()

// Error is a Tarantool error: a code and its message.
type Error struct {
	Code    ErrorCode
	Message string
}

// NewError returns the error Tarantool raises for code with args, its
// message formatted from the code's format (see ErrorCode.Message).
func NewError(code ErrorCode, args ...any) *Error {
	return &Error{Code: code, Message: code.Message(args...)}
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }
