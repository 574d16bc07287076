package iproto

import (
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// Error is an error response of the server.
type Error struct {
	Code    box.ErrorCode // error code, without the 0x8000 response flag
	Message string        // body key 0x31
	Stack   []ErrorFrame  // body key 0x52 (servers 2.4.1+), innermost first
}

// ErrorFrame is one entry of an error stack (body key 0x52).
type ErrorFrame struct {
	Type    string // error class, e.g. ClientError
	File    string
	Line    uint64
	Message string
	Errno   uint64
	Code    box.ErrorCode
	Fields  map[string]any // extra fields (2.10+), nil when absent
}

// Name returns the symbolic name of the error code.
func (e *Error) Name() string { return e.Code.String() }

func (e *Error) Error() string {
	return fmt.Sprintf("%s(code %d): %s", e.Name(), e.Code, e.Message)
}

// IsCode reports whether err is (or wraps) a server *Error, or a
// *box.Error, with that code.
func IsCode(err error, code box.ErrorCode) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Code == code
	}
	var be *box.Error
	return errors.As(err, &be) && be.Code == code
}

// NewError returns the error Tarantool raises for code with args: its
// message formatted as the server does and a one-entry stack of type
// ClientError.
func NewError(code box.ErrorCode, args ...any) *Error {
	return ErrorOf(box.NewError(code, args...))
}

// ErrorOf turns a Tarantool error into an error response (ClientError).
func ErrorOf(e *box.Error) *Error {
	return &Error{Code: e.Code, Message: e.Message,
		Stack: []ErrorFrame{{Type: "ClientError", Message: e.Message, Code: e.Code}}}
}

// AppendErrorBody appends the body of an error response as Tarantool 2.6.0
// writes it: {ERROR_24: message, ERROR: {STACK: [frames]}} (a stack of
// one ClientError entry when e has none), each frame's keys in the
// server's order: type, line, file, message, errno, code, fields.
func AppendErrorBody(b []byte, e *Error) []byte {
	stack := e.Stack
	if len(stack) == 0 {
		stack = []ErrorFrame{{Type: "ClientError", Message: e.Message, Code: e.Code}}
	}
	b = format.AppendMapLen(b, 2)
	b = format.AppendString(append(b, box.KeyErrorMessage), e.Message)
	b = format.AppendMapLen(append(b, box.KeyError), 1)
	b = format.AppendArrayLen(append(b, box.ErrorKeyStack), len(stack))
	for _, f := range stack {
		n := 6
		var fields []byte
		if len(f.Fields) > 0 {
			if raw, err := msgpack.Marshal(f.Fields); err == nil {
				fields = raw
				n++
			}
		}
		typ := f.Type
		if typ == "" {
			typ = "ClientError"
		}
		b = format.AppendMapLen(b, n)
		b = format.AppendString(append(b, box.ErrorKeyType), typ)
		b = format.AppendUint(append(b, box.ErrorKeyLine), f.Line)
		b = format.AppendString(append(b, box.ErrorKeyFile), f.File)
		b = format.AppendString(append(b, box.ErrorKeyMessage), f.Message)
		b = format.AppendUint(append(b, box.ErrorKeyErrno), f.Errno)
		b = format.AppendUint(append(b, box.ErrorKeyCode), uint64(f.Code))
		if fields != nil {
			b = append(append(b, box.ErrorKeyFields), fields...)
		}
	}
	return b
}

// AppendError appends a whole error response (type 0x8000 | code).
func AppendError(b []byte, sync, schemaVersion uint64, e *Error) []byte {
	start := len(b)
	b = AppendResponseHeader(b, box.ErrorType(e.Code), sync, schemaVersion, 0)
	body := len(b)
	b = AppendErrorBody(b, e)
	return fixResponseLength(b, start, len(b)-body)
}

// DecodeError builds the *Error of an error response from its code and
// body. A body that cannot be decoded still yields an Error with the code.
func DecodeError(code box.ErrorCode, body []byte) *Error {
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
		case box.KeyErrorMessage:
			e.Message, _ = val.(string)
		case box.KeyError:
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
					f.Code = box.ErrorCode(c)
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
