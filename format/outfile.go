package format

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// OutFile is an output file written as PATH.inprogress and linked into
// place under PATH only when it is complete, as Tarantool writes its files:
// a reader never sees a half-written file under the final name, and a file
// that exists at PATH, or appears there while the output is written, is
// never replaced. Every command that writes log files goes through it.
type OutFile struct {
	*os.File
	path, tmp string
}

// CreateOutFile creates PATH.inprogress (failing if it exists) after
// checking that PATH does not exist.
func CreateOutFile(path string) (*OutFile, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("%s already exists", path)
	}
	tmp := path + ".inprogress"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	return &OutFile{File: f, path: path, tmp: tmp}, nil
}

// Path is the final name of the file.
func (o *OutFile) Path() string { return o.path }

// Commit syncs the file (unless noSync), closes it and links it into
// place. If PATH exists by then, the output is removed and an error names
// PATH: nothing is overwritten.
func (o *OutFile) Commit(noSync bool) error {
	var err error
	if !noSync {
		err = o.File.Sync()
	}
	if cerr := o.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = LinkNoReplace(o.tmp, o.path)
	}
	if err != nil {
		os.Remove(o.tmp)
	}
	return err
}

// Abort closes and removes the unfinished file.
func (o *OutFile) Abort() error {
	o.File.Close()
	return os.Remove(o.tmp)
}

// ErrExists is returned (wrapped) by LinkNoReplace when the destination
// exists.
var ErrExists = fs.ErrExist

// LinkNoReplace renames oldpath to newpath unless newpath exists, in one
// step: renameat2(RENAME_NOREPLACE) where the system has it, else a hard
// link and the removal of oldpath. An existing newpath is an error that
// wraps ErrExists, and oldpath is left as it was.
func LinkNoReplace(oldpath, newpath string) error {
	err := renameNoReplace(oldpath, newpath)
	if err == nil || !errors.Is(err, errNoRenameNoReplace) {
		return wrapExists(err, newpath)
	}
	if err := os.Link(oldpath, newpath); err != nil {
		return wrapExists(err, newpath)
	}
	return os.Remove(oldpath)
}

func wrapExists(err error, path string) error {
	if err != nil && errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s appeared while the output was written; it is not replaced: %w", path, ErrExists)
	}
	return err
}

// errNoRenameNoReplace: the system or file system cannot rename without
// replacing; link and unlink instead.
var errNoRenameNoReplace = errors.New("rename without replacing is not supported")
