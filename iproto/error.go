package iproto

import (
	"errors"
	"fmt"
	"strconv"
)

// Error codes a client commonly has to tell apart (src/box/errcode.h).
const (
	CodeUnknown                    uint32 = 0
	CodeIllegalParams              uint32 = 1
	CodeTupleFound                 uint32 = 3
	CodeTupleNotFound              uint32 = 4
	CodeUnsupported                uint32 = 5
	CodeReadonly                   uint32 = 7
	CodeInvalidMsgpack             uint32 = 20
	CodeFieldType                  uint32 = 23
	CodeProcLua                    uint32 = 32
	CodeNoSuchProc                 uint32 = 33
	CodeNoSuchIndexID              uint32 = 35
	CodeNoSuchSpace                uint32 = 36
	CodeAccessDenied               uint32 = 42
	CodeNoSuchUser                 uint32 = 45
	CodePasswordMismatch           uint32 = 47
	CodeUnknownRequestType         uint32 = 48
	CodeTimeout                    uint32 = 78
	CodeProtocol                   uint32 = 104
	CodeWrongSchemaVersion         uint32 = 109
	CodeLoading                    uint32 = 116
	CodeTransactionYield           uint32 = 154
	CodeUncommittedForeignSyncTxns uint32 = 214
	CodeSyncMasterMismatch         uint32 = 215
	CodeSyncQuorumTimeout          uint32 = 216
	CodeSyncRollback               uint32 = 217
	CodeXlogGap                    uint32 = 219
	CodeInterferingPromote         uint32 = 223
	CodeNotLeader                  uint32 = 226
	CodeSyncQueueUnclaimed         uint32 = 227
	CodeSyncQueueForeign           uint32 = 228
	CodeSplitBrain                 uint32 = 244
	CodeInterferingElections       uint32 = 246
	CodeInAnotherPromote           uint32 = 278
	CodeSyncQueueFull              uint32 = 289
	CodeSyncTimeout                uint32 = 295
)

// ErrClosed is matched (errors.Is) by every error caused by the connection
// being closed, by Close or because it broke.
var ErrClosed = errors.New("iproto: connection closed")

// ErrorName returns the symbolic name of a server error code (ER_TUPLE_FOUND
// for 3), or "ER_<code>" for a code this package does not know.
func ErrorName(code uint32) string {
	if uint64(code) < uint64(len(errorNames)) && errorNames[code] != "" {
		return errorNames[code]
	}
	return "ER_" + strconv.FormatUint(uint64(code), 10)
}

// Error is an error response of the server.
type Error struct {
	Code    uint32       // error code, without the 0x8000 response flag
	Message string       // body key 0x31
	Stack   []ErrorFrame // body key 0x52 (servers 2.4.1+), innermost first
}

// ErrorFrame is one entry of an error stack (body key 0x52).
type ErrorFrame struct {
	Type    string // error class, e.g. ClientError
	File    string
	Line    uint64
	Message string
	Errno   uint64
	Code    uint32
	Fields  map[string]any // extra fields (2.10+), nil when absent
}

// Name returns the symbolic name of the error code.
func (e *Error) Name() string { return ErrorName(e.Code) }

func (e *Error) Error() string {
	return fmt.Sprintf("%s(code %d): %s", e.Name(), e.Code, e.Message)
}

// IsCode reports whether err is (or wraps) a server *Error with that code.
func IsCode(err error, code uint32) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// decodeError builds the *Error of an error response from its body.
// A body that cannot be decoded still yields an Error with the code.
func decodeError(code uint32, body []byte) *Error {
	e := &Error{Code: code}
	if len(body) == 0 {
		return e
	}
	v, err := decodeValue(body)
	if err != nil {
		e.Message = "undecodable error body: " + err.Error()
		return e
	}
	for k, val := range mapEntries(v) {
		switch k {
		case KeyErrorMessage:
			e.Message, _ = val.(string)
		case KeyError:
			e.Stack = decodeStack(val)
		}
	}
	if e.Message == "" && len(e.Stack) > 0 {
		e.Message = e.Stack[0].Message
	}
	return e
}

func decodeStack(v any) []ErrorFrame {
	var frames []ErrorFrame
	for k, list := range mapEntries(v) {
		items, ok := list.([]any)
		if k != 0 || !ok {
			continue
		}
		for _, item := range items {
			var f ErrorFrame
			for fk, fv := range mapEntries(item) {
				switch fk {
				case 0:
					f.Type, _ = fv.(string)
				case 1:
					f.File, _ = fv.(string)
				case 2:
					f.Line, _ = asUint(fv)
				case 3:
					f.Message, _ = fv.(string)
				case 4:
					f.Errno, _ = asUint(fv)
				case 5:
					c, _ := asUint(fv)
					f.Code = uint32(c)
				case 6:
					f.Fields = stringKeyed(fv)
				}
			}
			frames = append(frames, f)
		}
	}
	return frames
}

// mapEntries iterates over the entries of a decoded map whose keys are
// unsigned integers; other maps and values yield nothing.
func mapEntries(v any) func(func(uint64, any) bool) {
	return func(yield func(uint64, any) bool) {
		m, ok := v.(map[any]any)
		if !ok {
			return
		}
		for k, val := range m {
			n, ok := asUint(k)
			if !ok {
				continue
			}
			if !yield(n, val) {
				return
			}
		}
	}
}

func asUint(v any) (uint64, bool) {
	switch n := v.(type) {
	case int64:
		if n >= 0 {
			return uint64(n), true
		}
	case uint64:
		return n, true
	}
	return 0, false
}

func stringKeyed(v any) map[string]any {
	switch m := v.(type) {
	case map[string]any:
		return m
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, val := range m {
			out[fmt.Sprint(k)] = val
		}
		return out
	}
	return nil
}
