package tarantooltest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/testproc"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// Credentials of the user every Instance creates on first start (it has the
// 'super' role). Eval and replication between instances use it. Creating it
// writes the first six rows of a fresh instance's xlog (LSN 1-6): a REPLACE
// into _schema (272) for the box.once key, an INSERT into _user (304) and
// four REPLACEs into _priv (312). Rows of a test's own spaces (ids >= 512)
// follow.
const (
	AdminUser     = "xlogtool"
	AdminPassword = "xlogtool-test"
)

const (
	// DefaultStartTimeout bounds the wait for an instance to be running.
	DefaultStartTimeout = 60 * time.Second
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
	stopGrace = 5 * time.Second
	// evalTimeout bounds one Eval.
	evalTimeout = 60 * time.Second
	// logTailBytes is how much of the logs a failed test shows.
	logTailBytes = 4096
)

// Files an instance keeps in its directory.
const (
	InitFile   = "init.lua"
	LogFile    = "tarantool.log" // box.cfg log
	StderrFile = "stderr.log"    // output before box.cfg redirects it
)

// InstanceOptions configure Start.
type InstanceOptions struct {
	// Dir holds the WAL, snapshots, logs and init script; default: a new
	// temporary directory.
	Dir string
	// Listen is the IPROTO address; default: a free 127.0.0.1 port.
	Listen string
	// Cfg holds extra box.cfg fields in Lua syntax, e.g.
	// "replication_synchro_quorum = 2, replication_synchro_timeout = 0.3".
	// They override the harness defaults.
	Cfg string
	// Init is Lua run after box.cfg (create spaces, users, grants, ...).
	// It runs on every start, including restarts.
	Init string
	// Replication lists the upstreams. A "host:port" without credentials
	// gets AdminUser's; "user:password@host:port" is used as given.
	Replication []string
	// StartTimeout bounds the wait until the instance is running;
	// default DefaultStartTimeout.
	StartTimeout time.Duration
}

// Instance is a tarantool server started for a test. It is stopped by its
// pid when the test ends, whatever the outcome.
type Instance struct {
	bin  string
	opts InstanceOptions // resolved: Dir and Listen set

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been reaped
	waitErr error
	conn    *client.Conn
}

// Start starts a tarantool server and waits until box.info.status is
// 'running' and opts.Init has run.
func Start(t testing.TB, opts InstanceOptions) *Instance {
	t.Helper()
	inst := launch(t, opts)
	inst.waitReady(t)
	return inst
}

// launch writes the init script and starts the process without waiting for
// it to be ready; the cleanup that stops it is registered first.
func launch(t testing.TB, opts InstanceOptions) *Instance {
	t.Helper()
	bin := Require(t)
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	} else if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	opts.Dir = dir
	if opts.Listen == "" {
		addrs, err := FreeAddrs(1)
		if err != nil {
			t.Fatal(err)
		}
		opts.Listen = addrs[0]
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if err := os.WriteFile(filepath.Join(dir, InitFile), []byte(initScript(opts)), 0o644); err != nil {
		t.Fatal(err)
	}
	inst := &Instance{bin: bin, opts: opts}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tarantool %s (%s) logs:\n%s", inst.opts.Listen, dir, inst.LogTail())
		}
		if err := inst.stop(syscall.SIGTERM); err != nil {
			t.Errorf("stop tarantool %s: %v", inst.opts.Listen, err)
		}
	})
	if err := inst.spawn(); err != nil {
		t.Fatalf("start tarantool: %v", err)
	}
	return inst
}

// initScript builds the Lua script the server runs.
func initScript(opts InstanceOptions) string {
	var b strings.Builder
	dir := LuaString(opts.Dir)
	fmt.Fprintf(&b, "local cfg = {\n")
	fmt.Fprintf(&b, "    listen = %s,\n", LuaString(opts.Listen))
	fmt.Fprintf(&b, "    wal_dir = %s,\n    memtx_dir = %s,\n    vinyl_dir = %s,\n", dir, dir, dir)
	fmt.Fprintf(&b, "    log = %s,\n", LuaString(filepath.Join(opts.Dir, LogFile)))
	if len(opts.Replication) > 0 {
		b.WriteString("    replication = {")
		for i, uri := range opts.Replication {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(LuaString(replicationURI(uri)))
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "for k, v in pairs({\n%s\n}) do cfg[k] = v end\n", opts.Cfg)
	b.WriteString("box.cfg(cfg)\n")
	fmt.Fprintf(&b, `box.once('xlogtool_test_admin', function()
    box.schema.user.create(%[1]s, {password = %[2]s, if_not_exists = true})
    box.schema.user.grant(%[1]s, 'super', nil, nil, {if_not_exists = true})
end)
`, LuaString(AdminUser), LuaString(AdminPassword))
	b.WriteString("do\n")
	b.WriteString(opts.Init)
	b.WriteString("\nend\n")
	b.WriteString("rawset(_G, 'xlogtool_test_ready', true)\n")
	return b.String()
}

// replicationURI adds the admin credentials to a bare host:port.
func replicationURI(uri string) string {
	if strings.Contains(uri, "@") {
		return uri
	}
	return AdminUser + ":" + AdminPassword + "@" + uri
}

// spawn starts the process and a goroutine that reaps it.
func (inst *Instance) spawn() error {
	stderr, err := os.OpenFile(filepath.Join(inst.opts.Dir, StderrFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer stderr.Close() // the child has its own descriptor
	cmd := exec.Command(inst.bin, InitFile)
	cmd.Dir = inst.opts.Dir
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = testproc.SysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	inst.mu.Lock()
	inst.cmd, inst.exited, inst.waitErr = cmd, exited, nil
	inst.mu.Unlock()
	go func() {
		err := cmd.Wait()
		inst.mu.Lock()
		inst.waitErr = err
		inst.mu.Unlock()
		close(exited)
	}()
	return nil
}

// waitReady waits until the server runs and its init script has finished,
// and keeps the admin connection.
func (inst *Instance) waitReady(t testing.TB) {
	t.Helper()
	if err := inst.awaitReady(); err != nil {
		t.Fatalf("tarantool %s: %v (its logs follow at cleanup)", inst.opts.Listen, err)
	}
}

func (inst *Instance) awaitReady() error {
	inst.mu.Lock()
	exited := inst.exited
	inst.mu.Unlock()
	deadline := time.Now().Add(inst.opts.StartTimeout)
	var last error
	for {
		select {
		case <-exited:
			return fmt.Errorf("process exited during start: %v", inst.exitError())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not running after %v: %v", inst.opts.StartTimeout, last)
		}
		conn, err := inst.readyConn()
		if err == nil {
			inst.mu.Lock()
			inst.conn = conn
			inst.mu.Unlock()
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
}

// readyConn connects as the admin user and checks readiness.
func (inst *Instance) readyConn() (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := inst.dialAdmin(ctx)
	if err != nil {
		return nil, err
	}
	res, err := conn.Eval(ctx, "return box.info.status, rawget(_G, 'xlogtool_test_ready') == true")
	if err == nil && (len(res) != 2 || res[0] != "running" || res[1] != true) {
		err = fmt.Errorf("status %v", res)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (inst *Instance) exitError() error {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.waitErr == nil {
		return errors.New("exit status 0")
	}
	return inst.waitErr
}

// Addr returns the IPROTO address, host:port.
func (inst *Instance) Addr() string { return inst.opts.Listen }

// URI returns the address with the admin credentials, as replication wants.
func (inst *Instance) URI() string { return replicationURI(inst.opts.Listen) }

// Dir returns the instance directory (WAL, snapshots, logs).
func (inst *Instance) Dir() string { return inst.opts.Dir }

// Options returns the options the instance was started with, with Dir and
// Listen filled in.
func (inst *Instance) Options() InstanceOptions { return inst.opts }

// PID returns the process id, or 0 when the instance is not running.
func (inst *Instance) PID() int {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.cmd == nil {
		return 0
	}
	select {
	case <-inst.exited:
		return 0
	default:
		return inst.cmd.Process.Pid
	}
}

// Running reports whether the process is alive.
func (inst *Instance) Running() bool { return inst.PID() != 0 }

// Conn returns the instance's admin connection (do not Close it).
func (inst *Instance) Conn(t testing.TB) *client.Conn {
	t.Helper()
	conn, err := inst.adminConn()
	if err != nil {
		t.Fatalf("tarantool %s: %v", inst.opts.Listen, err)
	}
	return conn
}

// Connect opens a new connection, closed when the test ends.
func (inst *Instance) Connect(t testing.TB, opts client.Options) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), evalTimeout)
	defer cancel()
	conn, err := client.Dial(ctx, inst.opts.Listen, opts)
	if err != nil {
		t.Fatalf("connect to tarantool %s: %v", inst.opts.Listen, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// adminConn returns the admin connection, reconnecting if it broke.
func (inst *Instance) adminConn() (*client.Conn, error) {
	inst.mu.Lock()
	conn := inst.conn
	inst.mu.Unlock()
	if conn != nil && conn.Err() == nil {
		return conn, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), evalTimeout)
	defer cancel()
	conn, err := inst.dialAdmin(ctx)
	if err != nil {
		return nil, err
	}
	inst.mu.Lock()
	old := inst.conn
	inst.conn = conn
	inst.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return conn, nil
}

func (inst *Instance) dialAdmin(ctx context.Context) (*client.Conn, error) {
	return client.Dial(ctx, inst.opts.Listen, client.Options{User: AdminUser, Password: AdminPassword})
}

// Eval runs Lua on the instance as the admin user and returns its results
// (see iproto.Response.Data for the Go types). The test fails on error.
func (inst *Instance) Eval(t testing.TB, lua string, args ...any) []any {
	t.Helper()
	res, err := inst.EvalErr(lua, args...)
	if err != nil {
		t.Fatalf("tarantool %s: eval %q: %v", inst.opts.Listen, lua, err)
	}
	return res
}

// EvalErr is Eval returning the error instead of failing the test.
func (inst *Instance) EvalErr(lua string, args ...any) ([]any, error) {
	conn, err := inst.adminConn()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), evalTimeout)
	defer cancel()
	return conn.Eval(ctx, lua, args...)
}

// WaitFor evaluates the Lua expression cond until it is true, failing the
// test after timeout.
func (inst *Instance) WaitFor(t testing.TB, cond string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		res, err := inst.EvalErr("return (" + cond + ") == true")
		if err == nil && len(res) == 1 && res[0] == true {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tarantool %s: %q not true after %v (last error: %v)", inst.opts.Listen, cond, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the server gracefully (SIGTERM, so the last xlog gets its EOF
// marker), killing it if it has not exited after 5 s.
func (inst *Instance) Stop(t testing.TB) {
	t.Helper()
	if err := inst.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("stop tarantool %s: %v", inst.opts.Listen, err)
	}
}

// Kill kills the server with SIGKILL, leaving the xlog as it is on disk.
func (inst *Instance) Kill(t testing.TB) {
	t.Helper()
	if err := inst.stop(syscall.SIGKILL); err != nil {
		t.Fatalf("kill tarantool %s: %v", inst.opts.Listen, err)
	}
}

// Restart stops the server gracefully and starts it again with the same
// directory, address and options.
func (inst *Instance) Restart(t testing.TB) {
	t.Helper()
	inst.Stop(t)
	inst.Start(t)
}

// Start starts a stopped or killed instance again and waits until it runs.
func (inst *Instance) Start(t testing.TB) {
	t.Helper()
	if inst.Running() {
		t.Fatalf("tarantool %s is already running", inst.opts.Listen)
	}
	if err := inst.spawn(); err != nil {
		t.Fatalf("start tarantool: %v", err)
	}
	inst.waitReady(t)
}

// stop signals the process by its pid and waits until it is reaped; after
// SIGTERM it escalates to SIGKILL when the grace period passes.
func (inst *Instance) stop(sig syscall.Signal) error {
	inst.mu.Lock()
	cmd, exited, conn := inst.cmd, inst.exited, inst.conn
	inst.conn = nil
	inst.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	if cmd == nil {
		return nil
	}
	select {
	case <-exited:
		return nil
	default:
	}
	// The process is not reaped before exited is closed, so its pid
	// cannot have been reused.
	pid := cmd.Process.Pid
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	if sig != syscall.SIGKILL {
		select {
		case <-exited:
			return nil
		case <-time.After(stopGrace):
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	select {
	case <-exited:
		return nil
	case <-time.After(stopGrace):
		return fmt.Errorf("pid %d did not exit after SIGKILL", pid)
	}
}

// LogTail returns the last bytes of the instance's log files, for test
// failure messages.
func (inst *Instance) LogTail() string {
	return fmt.Sprintf("--- %s ---\n%s\n--- %s ---\n%s",
		StderrFile, fileTail(filepath.Join(inst.opts.Dir, StderrFile), logTailBytes),
		LogFile, fileTail(filepath.Join(inst.opts.Dir, LogFile), logTailBytes))
}

// FreeAddrs returns n distinct 127.0.0.1 addresses with ports that were
// free when it returned. The ports lie below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range), which the source ports of outgoing
// connections and every bind to port 0 come from: between this call and
// the server's bind, none of the many connections the tests (and any
// other program) open can take one. Two callers picking the same port at
// once is the remaining, far smaller, chance.
func FreeAddrs(n int) ([]string, error) {
	lo := ephemeralLow()
	if lo-minPort < 1000 {
		return ephemeralAddrs(n)
	}
	addrs := make([]string, 0, n)
	seen := map[int]bool{}
	for tries := 0; len(addrs) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("no free port in %d-%d", minPort, lo-1)
		}
		port := minPort + rand.IntN(lo-minPort)
		if seen[port] {
			continue
		}
		seen[port] = true
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		addrs = append(addrs, addr)
	}
	return addrs, nil
}

// minPort is the lowest port FreeAddrs picks: above the well-known and
// the usual service ports.
const minPort = 10000

// ephemeralLow returns the first port of the kernel's ephemeral range, or
// 0 when it cannot be read (then FreeAddrs asks the kernel for ports).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return lo
}

// ephemeralAddrs has the kernel choose n free ports.
func ephemeralAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}
