// Package node is a Tarantool-compatible instance: it keeps its data in a
// directory of snapshots and write-ahead logs in Tarantool's own format,
// answers Tarantool's binary protocol (IPROTO) and behaves, for the
// clients that talk to it and for a Tarantool 2.6.0 started from its
// files, like a Tarantool 2.6.0 instance.
//
// # Startup
//
// An empty directory is bootstrapped: the 2.6.0 data dictionary (Dictionary)
// is written as the first snapshot, 00000000000000000000.snap with an empty
// vclock, the instance registered as replica 1 of a new replica set; an
// optional bootstrap user with the super role is then created through the
// WAL as Tarantool's box.schema.user.create and grant do. A directory with
// a snapshot is recovered with replay.Recover (newest snapshot, then the
// xlogs after it, synchronous transactions resolved by the one queue
// interpreter); damage other than a torn tail in the newest xlog stops the
// start with the file, the offset and the remedy.
//
// # Writes
//
// Requests run in arrival order against the storage engine under one
// lock; a transaction gets its LSNs and goes to the WAL writer (wal.go)
// before the lock is let go. Whoever writes — the WAL's goroutine or,
// when no write is going on, the connection that queued — writes whatever
// has queued up in one batch, one write and, with wal_mode fsync, one
// fsync, and only then lets the requests answer. The WAL rotates between
// transactions, each new file carrying the previous one's vclock.
//
// # Clients
//
// The IPROTO server (server.go) sends the greeting, authenticates with
// chap-sha1 against _user, checks privileges from _priv, executes SELECT
// and DML and the built-in functions clients call remotely (call.go), and
// answers everything else with Tarantool's error codes and messages. A
// connection is served by one goroutine that takes the pipelined requests
// that have arrived as a batch: the batch's DML requests are applied in
// one hold of the lock and logged as one WAL entry, and the replies go
// out in request order with one write once the WAL has them.
//
// # Synchronous transactions and checkpoints
//
// Transactions on synchronous spaces wait in the Limbo, a pure state
// machine over synchro.Queue with 2.6.0's rules: the own WAL write and the
// replicas' acks count against replication_synchro_quorum, CONFIRM and
// ROLLBACK rows are written as Tarantool writes them, rolled-back changes
// are undone in the state (sync.go). Snapshots are written from a read
// view while writes go on (snapshot.go). See docs/node.md.
package node
