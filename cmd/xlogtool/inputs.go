package main

import (
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
