// Package format reads and writes Tarantool's log files — write-ahead logs
// (.xlog), snapshots (.snap) and vinyl's metadata logs (.vylog) of format
// versions 0.12 and 0.13 — and groups their rows into transactions. Its
// types follow the file from the outside in (FORMAT.md §1–§4):
//
//   - A file is named after the signature of its vclock (FileName,
//     ParseFileName; FileRef, ScanDir and Collect find them in recovery
//     order) and starts with a text header, Meta: the file type, the format
//     version, the instance UUID, the writer's Tarantool version, the
//     VClock of the rows before the file and, from 2.x, the PrevVClock of
//     the file before it.
//   - Blocks follow: each has a fixed header of FixHeaderSize bytes (a
//     magic — MagicPlain or, for zstd-compressed payloads, MagicZstd — the
//     payload length, the previous block's CRC and the payload's CRC-32C)
//     and a payload of rows. MagicEOF ends a file that was closed cleanly;
//     End tells how a file ended and Error names the file, the byte offset
//     and the Kind of damage. Reader reads one file from any io.Reader with
//     bounded memory; Writer writes one, packing rows into blocks as
//     Tarantool does.
//   - A Row is a MessagePack header map (Header: type, replica id, LSN,
//     TSN, COMMIT and WAIT_SYNC/WAIT_ACK flags, group id, timestamp) and
//     an optional body map, with its Position (file, block, offset) in the
//     file. Bodies decode on demand into DML requests, Synchro (CONFIRM,
//     ROLLBACK, PROMOTE, DEMOTE) and Raft; MPCursor walks MessagePack
//     without allocating. Row type and key constants live in package box.
//   - A VClock holds the LSN of each replica id (component 0 counts local
//     rows); Summary and ReplicaRange sum up what a file holds.
//   - Rows form transactions: the rows of one transaction share its TSN
//     (the LSN of its first row) and the last one carries COMMIT; local
//     rows (group 1, replica id 0) may sit inside a global transaction;
//     relayed transactions of different replica ids may interleave.
//     TxAssembler is the one place that knows these rules: fed rows from a
//     file or from the network, it returns each whole transaction (Tx) and
//     how it ended (TxEnd) — committed, interrupted by another transaction,
//     or unfinished at the end of the data — and whether its first rows
//     are missing (Tx.Headless). What to do with a broken transaction is
//     the caller's business.
//
// Filter selects rows as `xlogtool cat` options do, CopyFile copies the rows
// a filter keeps into a new file, keeping transactions whole, and OutFile
// writes a file under a temporary name and links it into place only when it
// is complete.
package format
