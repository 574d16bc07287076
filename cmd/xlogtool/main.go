// Command xlogtool reads, checks and replays Tarantool write-ahead logs and
// snapshots.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK     = 0
	exitDamage = 1
	exitUsage  = 2
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// damageFound makes the command exit with code 1 after it has printed its
// output; the message has been reported already.
var errDamage = &exitError{code: exitDamage, err: errors.New("damage found")}

func usageError(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "xlogtool",
		Short:         "Read, check and replay Tarantool write-ahead logs and snapshots",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.RunE = func(c *cobra.Command, args []string) error {
		c.SetOut(os.Stderr)
		c.Usage()
		return usageError("no command given")
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	root.AddCommand(newCatCmd())
	for _, add := range extraCommands {
		root.AddCommand(add())
	}
	return root
}

// extraCommands lists the constructors of the other commands; each command
// file registers itself in an init function.
var extraCommands []func() *cobra.Command

// version is the module version the binary was built from (what
// `go install ...@version` records); for a build from a checkout, the
// commit and its time from the build's VCS stamp ("devel" when even that
// is missing, as with -buildvcs=false).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "devel-" + rev
	if dirty {
		v += "+dirty"
	}
	if at != "" {
		v += " (" + at + ")"
	}
	return v
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	root := newRoot()
	if len(args) > 0 && strings.HasPrefix(args[0], "__complete") {
		registerCompletions(root)
	}
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee != errDamage {
			fmt.Fprintln(os.Stderr, "xlogtool:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "xlogtool:", err)
	return exitUsage
}
