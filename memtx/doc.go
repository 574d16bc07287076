// Package memtx is xlogtool's storage engine: spaces with their tuples
// and indexes, schema from the system spaces, DML with the semantics of
// Tarantool's memtx engine and its error codes. Recovery (package replay)
// feeds it the rows of snapshots and logs; a server can use it as its
// storage.
//
// # Requests and results
//
// A row reader hands the raw MessagePack values of a DML body to
// RawRequest.Decode, or builds a Request from values it decoded itself.
// State.Apply executes one DML request (INSERT, REPLACE, UPDATE, DELETE,
// UPSERT; NOP is accepted and ignored) with the semantics of the memtx
// engine. A request Tarantool would have rejected leaves the state
// unchanged and is reported as an *ApplyError carrying the Tarantool error
// code (ER_TUPLE_FOUND, ER_FIELD_TYPE, ...). Logs written by Tarantool
// contain only successful requests, so such an error is a finding: the log
// does not match the state it is applied to.
//
// # Schema
//
// The schema is read from the system spaces themselves: rows of _space
// (280) create, alter and drop spaces, rows of _index (288) create, alter
// and drop indexes, and any request but INSERT storing a row in _truncate
// (330) empties the space it names. All other system spaces (_schema,
// _sequence, _sequence_data, _user, _priv, _cluster, _func, ...) are kept
// as ordinary spaces. Because the first rows of a snapshot (_schema, then
// _collation, then _space) precede the _index rows defining them, the
// primary keys of the system spaces are built in; a system space's own
// _index rows replace the built-in definition when they arrive. Rows of
// an unknown system space (ids 257..510) wait until its primary key is
// defined (see PendingRows).
//
// Rows of every format are accepted: _space rows of 1.6 (flags as a
// string, no format) and 1.7+ (options map, format list), _index rows of
// 1.6.5 and older (flat [field, type, ...] parts after a part count),
// 1.6.6+ ([[field, 'type'], ...]) and 1.7+ ([{field=, type=, ...}]), type
// names of every version ('num', 'str', 'NUM', 'STR', 'int', '*', and the
// current names). Following Tarantool, space formats are enforced only
// when the data dictionary version found in the _schema 'version' row is
// 1.7.6 or newer; older schemas only had their indexed fields checked.
//
// Tuples are validated like Tarantool's tuple formats: exact field count,
// field types and nullability from the space format and from every index
// part (including parts with JSON paths), and required fields. The type
// compatibility rules default to those of Tarantool 3.x, which accept
// everything older versions accepted; Options.TypeRules selects older,
// stricter rules ('double' taking only MsgPack doubles before 3.0,
// 'scalar' taking no uuid nor datetime before 2.10).
//
// Engines: memtx and vinyl spaces keep their tuples (for vinyl only the
// changes seen in the logs are known, its data files are not read);
// blackhole, sysview and service spaces store nothing.
//
// # Canonical values
//
// Request values may come from any MsgPack decoder (see Normalize, and
// RegisterExtensions for github.com/vmihailenco/msgpack/v5); DecodeMsgpack
// decodes raw MsgPack directly. Stored tuples use one representation per
// MsgPack type:
//
//	nil           nil
//	boolean       bool
//	unsigned      uint64 (every non-negative integer)
//	negative int  int64  (always < 0)
//	float         float32 (MsgPack float 32, kept distinct from double)
//	double        float64
//	string        string
//	binary        []byte
//	array         []any
//	map           Map (entries in encoding order)
//	ext 1         Decimal
//	ext 2         UUID
//	ext 4         Datetime
//	ext 6         Interval (raw payload)
//	other ext     Ext{Type, Data}
//
// Stored tuples are kept as they arrived, one MessagePack array each
// (Tuple), as Tarantool's memtx keeps them: indexes read only the fields
// of their key parts when they compare tuples, and Tuple.Decode gives the
// canonical values. The bytes live in the state's arena (large slabs
// carved in size classes, freed blocks reused) and the indexes hold
// 8-byte references to them, so the garbage collector has nothing to
// scan in either. Tuples handed out by Select and in a Change are the
// caller's; those GetTuple, Iterate, AscendTuples and Index.Ascend give
// are the arena's, valid until the state changes (Tuple.Clone keeps
// one), and must not be modified. The decoded values Ascend, Tuples and
// Get return are the caller's. Equal compares canonical values.
//
// # Ordering
//
// Each space keeps its tuples in a B-tree ordered by the primary key,
// compared like Tarantool's tree indexes: unsigned, integer, number and
// double fields numerically and exactly across integer and floating
// point representations (NaN below all numbers), decimals by value
// (other numbers are converted to decimal for the comparison, doubles
// through 15 significant digits as Tarantool does), strings and varbinary
// byte-wise, booleans false < true, uuids byte-wise, and 'scalar'/'any'
// values first by class: nil < boolean < number < string < varbinary <
// uuid < datetime < interval < array < map. Nil sorts first in nullable
// parts; sort_order 'desc' parts (Tarantool 3.x) are honoured. Hash
// indexes are iterated in key order too. Secondary tree and hash indexes,
// unique or not, are maintained on every change: non-unique ones are
// ordered by their key, then the primary key; unique ones reject
// conflicting tuples with ER_TUPLE_FOUND (a key with a nil part never
// conflicts) and serve UPDATE and DELETE requests addressed to them. As
// in Tarantool, HASH indexes are unique and have no nullable parts.
// Bitset, rtree, multikey and functional indexes only contribute type
// constraints.
//
// Collations are approximated: binary ('none', 'binary') is exact;
// 'unicode' and ICU collations of tertiary strength compare case-folded
// code points first, then lower case before upper case, then bytes;
// 'unicode_ci' and collations of primary or secondary strength compare
// case-folded code points only (so "a" and "A" are equal keys). Real ICU
// ordering differs for punctuation, accents and many scripts.
//
// # Update operations
//
// UPDATE and UPSERT operations follow Tarantool (xrow_update_*.c): '='
// (assigning field count+1 appends), '+' and '-' (integers exactly within
// [-2^63, 2^64) else ER_UPDATE_INTEGER_OVERFLOW; with a float or double
// the result is a float when exactly representable as one, else a double,
// and a double in fields of type double; with a decimal operand the
// result is a decimal of 38 digits), '&' '|' '^' on unsigned values, ':'
// splice on bytes of a string (negative positions count from the end),
// '#' (deleting past the end deletes what exists), '!' (inserting at
// count+1 appends). Field numbers are relative to the request's index
// base, negative numbers count from the end, and strings are field names
// of the space format or JSON paths ('[2]', 'name.key', '[3].a[1]') which
// reach into arrays and maps. All operations are decoded before any is
// applied; an error rejects the whole UPDATE. Operations touching a field
// already changed by another operation of the request are rejected or
// accepted as Tarantool does ("double update of the same field").
// UPSERT inserts its tuple when the key is absent; otherwise operations
// that fail on the stored tuple are skipped, and a result with a changed
// primary key is dropped, except when the operations reached the key
// only through negative field numbers Tarantool resolves against a stale
// field count, in which case the tuple moves to its new key as it does in
// Tarantool.
//
// # Snapshots
//
// State.WriteSnapshot writes a state as a snapshot file that Tarantool
// starts from (SnapshotSpaces gives the spaces and their order).
// State.ReadView takes the tuples of those spaces at one moment in O(1):
// the primary-key B-trees are copy on write, so while a view lives the
// state copies the nodes it changes instead of changing them, and the
// tuples it replaces or deletes stay in the arena until every view that
// may see them is closed (ReadView.Close). The view can be written with
// ReadView.WriteSnapshot on another goroutine while the state goes on
// changing.
//
// # A server on top
//
// The State is not safe for concurrent use: one goroutine executes the
// requests, as Tarantool's transaction thread does.
//
//   - Spaces: State.Space(id), State.SpaceByName(name), Space.Index(id),
//     Space.IndexByName(name); their definitions are the exported fields.
//   - Reads: State.Select(space, index, iterator, key, offset, limit) with
//     box's iterators EQ, REQ, ALL, LT, LE, GE, GT on TREE indexes and
//     EQ, GT, ALL on HASH ones, returning stored tuples; Space.Iterate
//     streams them; Space.GetTuple looks up a primary key. Errors are
//     Tarantool's: ER_NO_SUCH_SPACE, ER_NO_SUCH_INDEX_ID,
//     ER_KEY_PART_COUNT, ER_KEY_PART_TYPE, ER_PARTIAL_KEY,
//     ER_UNSUPPORTED_INDEX_FEATURE, checked in Tarantool's order.
//   - Writes: State.Execute(Request) returns the Change (the old and the
//     new tuple) or an *ApplyError with the code and message Tarantool
//     2.6 gives (ER_TUPLE_FOUND "Duplicate key exists in unique index
//     'primary' in space 'x'", ER_NO_SUCH_SPACE, ER_FIELD_TYPE, ...).
//     RawRequest.Decode takes the request's MessagePack as it came off
//     the wire and copies the tuple once, into the bytes it is stored in.
//   - DDL: rows of _space, _index and _truncate written like any other
//     (their effect follows, or the row is refused with Tarantool's
//     error); SchemaVersion counts the schema changes.
//   - Transactions: Begin, Commit, Rollback, Savepoint and RollbackTo;
//     until Commit every change of tuples, indexes and schema is undone
//     by Rollback. Each request is atomic by itself.
//   - Memory: MemoryUsed counts the arena's blocks holding tuples (and
//     those kept for open read views); Options.MemoryLimit makes a
//     request that would store a tuple beyond it fail with
//     ER_MEMORY_ISSUE, as memtx_memory does. MemoryStats adds the size
//     of the arena itself.
package memtx
