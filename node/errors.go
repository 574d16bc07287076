package node

import (
	"errors"
	"fmt"

	"github.com/xlogtool/xlogtool/box"

	"github.com/xlogtool/xlogtool/memtx"
)

func boxErr(code box.ErrorCode, f string, args ...any) *box.Error {
	return &box.Error{Code: code, Message: fmt.Sprintf(f, args...)}
}

// asBoxError turns any error into the error a client gets.
func asBoxError(err error) *box.Error {
	var be *box.Error
	if errors.As(err, &be) {
		return be
	}
	var ae *memtx.ApplyError
	if errors.As(err, &ae) {
		return &box.Error{Code: ae.Code, Message: ae.Message}
	}
	return &box.Error{Code: box.ErrWALIO, Message: err.Error()}
}
