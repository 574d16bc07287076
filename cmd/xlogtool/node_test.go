package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// xlogtool node with options from a YAML file: it serves, logs in
// Tarantool's format, and SIGTERM stops it cleanly (exit 0, the last xlog
// closed with its EOF marker).
func TestNodeCommand(t *testing.T) {
	dir := t.TempDir()
	addrs, err := tarantooltest.FreeAddrs(1)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "node.yml")
	logFile := filepath.Join(dir, "node.log")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf("dir: %s\nlisten: %s\nwal_mode: fsync\ncheckpoint-count: 3\nbootstrap_user: ann:pw\n",
		filepath.Join(dir, "data"), addrs[0])), 0o644)
	cmd := startChild(t, nil, "node", "--config", cfgFile, "--log", logFile)
	var c *client.Conn
	waitUntil(t, "node listening", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err = client.Dial(ctx, addrs[0], client.Options{User: "ann", Password: "pw"})
		return err == nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, "box.schema.space.create", "cli"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node exit: %v", err)
	}
	log, _ := os.ReadFile(logFile)
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[\d+\] \S+ [CIWE]> `)
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(lines) < 3 {
		t.Fatalf("log: %q", log)
	}
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("log line not in Tarantool's format: %q", l)
		}
	}
	xlogs, _ := filepath.Glob(filepath.Join(dir, "data", "*.xlog"))
	if len(xlogs) != 1 {
		t.Fatalf("xlogs: %v", xlogs)
	}
	b, _ := os.ReadFile(xlogs[0])
	if !strings.HasSuffix(string(b), "\xd5\x10\xad\xed") {
		t.Errorf("the xlog has no EOF marker")
	}
}
