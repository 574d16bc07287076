//go:build !linux

package format

func renameNoReplace(oldpath, newpath string) error { return errNoRenameNoReplace }
