// Package node will hold a Tarantool-style node: storage, WAL and snapshots
// in the real file format, a synchronous transaction queue with quorum,
// Raft election and replication over TCP. Work on it has not started.
package node
