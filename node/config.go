package node

import (
	"fmt"
	"strings"
	"time"
)

// Config holds the box.cfg options the node supports. Dir serves as
// memtx_dir and wal_dir.
type Config struct {
	Dir    string
	Listen string

	// WALMode is "write" (write(2) before acknowledging), "fsync"
	// (fsync before acknowledging) or "none" is refused.
	WALMode string
	// WALMaxSize is the size after which the WAL moves to a new file.
	WALMaxSize int64
	// CheckpointInterval is the time between automatic snapshots; 0 turns
	// them off.
	CheckpointInterval time.Duration
	// CheckpointCount is how many snapshots are kept.
	CheckpointCount int
	ReadOnly        bool
	InstanceUUID    string
	ReplicasetUUID  string

	ReplicationSynchroQuorum  int
	ReplicationSynchroTimeout time.Duration
	// MemtxMemory bounds the memory of the tuples stored.
	MemtxMemory int64

	// BootstrapUser is "NAME:PASSWORD": a user with the super role created
	// when this instance bootstraps a new replica set.
	BootstrapUser string
	// Version is announced in the greeting and written into file headers.
	Version string

	ReplicationOptions
	ElectionOptions
}

// Defaults are Tarantool 2.6.0's defaults.
func Defaults() Config {
	return Config{
		WALMode:                   "write",
		WALMaxSize:                256 << 20,
		CheckpointInterval:        3600 * time.Second,
		CheckpointCount:           2,
		ReplicationSynchroQuorum:  1,
		ReplicationSynchroTimeout: 5 * time.Second,
		MemtxMemory:               256 << 20,
		Version:                   "2.6.0",
	}
}

// check validates a configuration.
func (c *Config) check() error {
	if c.Dir == "" {
		return fmt.Errorf("no data directory (--dir)")
	}
	switch c.WALMode {
	case "write", "fsync":
	case "none":
		return fmt.Errorf("wal_mode 'none' is not supported: the node acknowledges only written transactions")
	default:
		return fmt.Errorf("incorrect value for option 'wal_mode': %q (write or fsync)", c.WALMode)
	}
	if c.CheckpointCount < 1 {
		return fmt.Errorf("incorrect value for option 'checkpoint_count': must be at least 1")
	}
	if c.ReplicationSynchroQuorum < 1 || c.ReplicationSynchroQuorum > 31 {
		return fmt.Errorf("incorrect value for option 'replication_synchro_quorum': must be in 1..31")
	}
	if c.WALMaxSize <= 0 {
		c.WALMaxSize = Defaults().WALMaxSize
	}
	if c.BootstrapUser != "" {
		name, _, ok := strings.Cut(c.BootstrapUser, ":")
		if !ok || name == "" {
			return fmt.Errorf("--bootstrap-user wants NAME:PASSWORD")
		}
	}
	if c.Version == "" {
		c.Version = Defaults().Version
	}
	return c.checkElection()
}
