// Package repair turns a damaged Tarantool data directory into a new one
// that Tarantool recovers from without force_recovery, and reports exactly
// which LSNs could not be saved.
//
// Run reads the WAL and snapshot files (never writing to the input), and:
//
//   - cuts torn tails, writes missing EOF markers, drops bytes after the EOF
//     marker, garbage between blocks, blocks that fail their checksum or do
//     not decompress (keeping every intact block around them);
//   - trusts nothing of a broken block: rows that still decode from it go to
//     an unverified side file only;
//   - writes a transaction only when it is whole (no damage inside, first
//     global row with LSN == TSN, COMMIT row present); otherwise drops all
//     its rows, reports them lost and saves them to a side file;
//   - keeps valid file headers (and names), rebuilds damaged ones from the
//     file name and the neighbouring files, and sets every PrevVClock to the
//     VClock of the output file before it, so recovery meets no gap where
//     rows or files were lost; a file whose VClock signature changes is
//     renamed;
//   - uses the newest snapshot that is complete and intact, falling back to
//     an older one;
//   - checks the output with the rules of Tarantool's recovery.
//
// The rules are described in docs/repair.md.
package repair
