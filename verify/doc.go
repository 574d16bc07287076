// Package verify checks the write-ahead logs and snapshots of one or more
// instances of Tarantool replica sets, offline, and compares them.
//
// Each instance's directory is read once, in file order (Run reads the
// instances in parallel). Within an instance verify reports damage (as
// format's reader finds it, reading past it like force_recovery), breaks
// in the chain of files and in the order of LSNs, transactions whose first
// row is absent or which never commit, and replays the synchronous queue
// (limbo) and the persisted Raft state with the rules of the version that
// wrote each file, as described in FORMAT.md section 6.
//
// It groups the instances by replica set (the replica set UUID of their
// _schema rows, or their _cluster rows when that is missing) and compares
// each instance only with the others of its replica set. Across those
// instances it builds the vclock table, finds rows with the same
// replica id and LSN but different content (comparing per-chunk digests
// and re-reading only the chunks that differ), and finds split-brain:
// transactions confirmed on some instances and rolled back on others,
// rows an old queue owner committed without knowing that another instance
// had taken the queue over (while that one had not seen them either), and
// two instances taking the queue in one term.
//
// The state kept per instance is bounded: LSN ranges and runs, chunk
// digests (a few dozen bytes per thousand rows), and the few points where
// the instance's knowledge of the others changed; never per-row state for
// the whole log. See docs/verify.md for the checks, the rules by version
// and measurements.
package verify
