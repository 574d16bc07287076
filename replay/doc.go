// Package replay rebuilds the content of a Tarantool database from its
// files, without Tarantool: the rows of a snapshot followed by the rows
// of the xlogs written after it are applied to a storage engine state
// (package memtx), which holds the spaces, indexes, schema and DML rules.
//
// Recover reads files: it picks a snapshot, replays the xlogs after it
// as Tarantool's recovery does (LSN rules, transactions, the synchronous
// queue through synchro.Resolver, a point in time to stop at) and
// returns the State with the vclock reached, the fate of the
// transactions and the findings (see docs/replay.md). While a snapshot
// loads, secondary keys are built once all rows are in
// (DeferSecondaryKeys, BuildSecondaryKeys), and INSERT and REPLACE
// requests restore the sequences bound to their space, as Tarantool's
// recovery does. State.WriteSnapshot writes a state back as a snapshot.
package replay
