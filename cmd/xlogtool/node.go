package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/xlogtool/xlogtool/node"
)

func init() { extraCommands = append(extraCommands, newNodeCmd) }

func newNodeCmd() *cobra.Command {
	cfg := node.Defaults()
	var configFile, logFile string
	var checkpointInterval, synchroTimeout, replTimeout, replConnectTimeout, electionTimeout float64
	cmd := &cobra.Command{
		Use:   "node --dir DIR --listen HOST:PORT [options]",
		Short: "Run a Tarantool-compatible instance",
		Long: `Run one Tarantool-compatible instance in the foreground: its snapshots and
write-ahead logs are kept in --dir in Tarantool's format, clients connect over
IPROTO on --listen. An empty directory is bootstrapped as a new replica set
(Tarantool 2.6.0 data dictionary), a directory with a snapshot is recovered.
SIGINT and SIGTERM stop the instance cleanly.

Options are box.cfg options with dashes; --config FILE reads the same options
from a YAML file (names with dashes or underscores); flags given on the
command line win.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if configFile != "" {
				if err := loadNodeConfig(cmd.Flags(), configFile); err != nil {
					return usageError("%v", err)
				}
			}
			cfg.CheckpointInterval = secondsDuration(checkpointInterval)
			cfg.ReplicationSynchroTimeout = secondsDuration(synchroTimeout)
			cfg.ReplicationTimeout = secondsDuration(replTimeout)
			cfg.ReplicationConnectTimeout = secondsDuration(replConnectTimeout)
			cfg.ElectionTimeout = secondsDuration(electionTimeout)
			var logw io.Writer = os.Stderr
			if logFile != "" {
				f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
				if err != nil {
					return usageError("%v", err)
				}
				defer f.Close()
				logw = f
			}
			log := node.NewLogger(logw)
			if cfg.Listen == "" {
				return usageError("--listen is required")
			}
			n, err := node.Open(cfg, log)
			if err != nil {
				log.Critf("%v", err)
				return err
			}
			if err := n.Listen(cfg.Listen); err != nil {
				n.Close()
				return err
			}
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
			s := <-sig
			log.Infof("got signal %v, stopping", s)
			return n.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "read options from this YAML file")
	f.StringVar(&logFile, "log", "", "write the log to this file instead of stderr")
	f.StringVar(&cfg.Dir, "dir", "", "data directory (memtx_dir and wal_dir)")
	f.StringVar(&cfg.Listen, "listen", "", "IPROTO address HOST:PORT")
	f.StringVar(&cfg.WALMode, "wal-mode", cfg.WALMode, "write or fsync")
	f.Int64Var(&cfg.WALMaxSize, "wal-max-size", cfg.WALMaxSize, "bytes after which the WAL moves to a new file")
	f.Float64Var(&checkpointInterval, "checkpoint-interval", cfg.CheckpointInterval.Seconds(), "seconds between snapshots (0: none)")
	f.IntVar(&cfg.CheckpointCount, "checkpoint-count", cfg.CheckpointCount, "snapshots kept")
	f.BoolVar(&cfg.ReadOnly, "read-only", false, "refuse writes")
	f.StringVar(&cfg.InstanceUUID, "instance-uuid", "", "instance UUID (bootstrap) or the one expected")
	f.StringVar(&cfg.ReplicasetUUID, "replicaset-uuid", "", "replica set UUID (bootstrap) or the one expected")
	f.IntVar(&cfg.ReplicationSynchroQuorum, "replication-synchro-quorum", cfg.ReplicationSynchroQuorum, "acks a synchronous transaction needs")
	f.Float64Var(&synchroTimeout, "replication-synchro-timeout", cfg.ReplicationSynchroTimeout.Seconds(), "seconds a synchronous transaction waits for its quorum")
	f.Int64Var(&cfg.MemtxMemory, "memtx-memory", cfg.MemtxMemory, "bytes of tuple memory")
	f.StringArrayVar(&cfg.Replication, "replication", nil, "[USER:PASSWORD@]HOST:PORT of a peer to replicate from (repeatable; an empty dir joins the replica set)")
	f.Float64Var(&replTimeout, "replication-timeout", 1, "seconds between heartbeats; a peer silent 4 times as long is disconnected")
	f.Float64Var(&replConnectTimeout, "replication-connect-timeout", 30, "seconds an empty node waits for its peers' ballots before it bootstraps")
	f.StringVar(&cfg.ElectionMode, "election-mode", "off", "Raft leader election: off, voter, candidate or manual (not off: replication speaks 2.11, no 2.6.0 peers)")
	f.Float64Var(&electionTimeout, "election-timeout", 5, "seconds an election round lasts before a new one")
	f.StringVar(&cfg.ElectionFencingMode, "election-fencing-mode", "soft", "off, soft or strict: a leader without a quorum of peers steps down (strict: after 2 replication timeouts)")
	f.StringVar(&cfg.BootstrapUser, "bootstrap-user", "", "NAME:PASSWORD of a user with the super role created at bootstrap")
	return cmd
}

// loadNodeConfig sets the flags not given on the command line from a YAML
// file of option: value pairs.
func loadNodeConfig(fs *pflag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	for k, v := range m {
		name := strings.ReplaceAll(k, "_", "-")
		if name == "config" {
			continue
		}
		fl := fs.Lookup(name)
		if fl == nil {
			return fmt.Errorf("%s: unknown option %q", path, k)
		}
		if fl.Changed {
			continue
		}
		if list, ok := v.([]any); ok {
			for _, e := range list {
				if err := fs.Set(name, fmt.Sprint(e)); err != nil {
					return fmt.Errorf("%s: option %q: %v", path, k, err)
				}
			}
			continue
		}
		if err := fs.Set(name, fmt.Sprint(v)); err != nil {
			return fmt.Errorf("%s: option %q: %v", path, k, err)
		}
	}
	return nil
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
