// Command xlogtool reads, checks and replays Tarantool write-ahead logs and
// snapshots.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"

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

// version is the module version the binary was built from ("(devel)" for
// a build from a checkout).
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	root := newRoot()
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
