package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/xlogtool/xlogtool/format"
)

// requireFiles fails with a usage error when the arguments hold no log
// file at all (an empty directory, one with only .inprogress files, a
// wrong path): a command that reads nothing would otherwise print an
// empty result and report success.
func requireFiles(args []string, files []format.FileRef) error {
	if len(files) > 0 {
		return nil
	}
	return usageError("no .xlog, .snap or .vylog files in %s", strings.Join(args, " "))
}

// collect expands the arguments into log files (format.CollectFiles),
// with a warning on stderr for every entry of a directory that is not
// read because it is not a regular file.
func collect(args []string, recursive bool) ([]format.FileRef, error) {
	return format.CollectFiles(args, format.CollectOptions{Recursive: recursive, OnSkip: func(path, why string) {
		fmt.Fprintf(os.Stderr, "warning: %s: %s, skipped\n", path, why)
	}})
}
