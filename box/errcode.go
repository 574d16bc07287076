package box

// Error codes: codes 0-218 with the names of Tarantool 2.6 (src/box/errcode.h),
// 219 and above as newer releases number them. Newer releases renamed two of
// the old codes: 47 is ER_CREDS_MISMATCH and 134 ER_CASCADE_ROLLBACK there.
// Codes 219-247 and 249-266 have 2.11's numbers, names and messages (the
// election and synchronous-queue errors 222-228 and 242-246 as 2.11
// raises them from box.ctl.promote/demote and the appliers, ER_IN_ANOTHER_PROMOTE
// 278 too); 2.11 leaves 248 and 267-293 unused, which later releases
// fill.
const (
	ErrUnknown                       ErrorCode = 0
	ErrIllegalParams                 ErrorCode = 1
	ErrMemoryIssue                   ErrorCode = 2
	ErrTupleFound                    ErrorCode = 3
	ErrTupleNotFound                 ErrorCode = 4
	ErrUnsupported                   ErrorCode = 5
	ErrNonmaster                     ErrorCode = 6
	ErrReadonly                      ErrorCode = 7
	ErrInjection                     ErrorCode = 8
	ErrCreateSpace                   ErrorCode = 9
	ErrSpaceExists                   ErrorCode = 10
	ErrDropSpace                     ErrorCode = 11
	ErrAlterSpace                    ErrorCode = 12
	ErrIndexType                     ErrorCode = 13
	ErrModifyIndex                   ErrorCode = 14
	ErrLastDrop                      ErrorCode = 15
	ErrTupleFormatLimit              ErrorCode = 16
	ErrDropPrimaryKey                ErrorCode = 17
	ErrKeyPartType                   ErrorCode = 18
	ErrExactMatch                    ErrorCode = 19
	ErrInvalidMsgpack                ErrorCode = 20
	ErrProcRet                       ErrorCode = 21
	ErrTupleNotArray                 ErrorCode = 22
	ErrFieldType                     ErrorCode = 23
	ErrIndexPartTypeMismatch         ErrorCode = 24
	ErrUpdateSplice                  ErrorCode = 25
	ErrUpdateArgType                 ErrorCode = 26
	ErrFormatMismatchIndexPart       ErrorCode = 27
	ErrUnknownUpdateOp               ErrorCode = 28
	ErrUpdateField                   ErrorCode = 29
	ErrFunctionTxActive              ErrorCode = 30
	ErrKeyPartCount                  ErrorCode = 31
	ErrProcLua                       ErrorCode = 32
	ErrNoSuchProc                    ErrorCode = 33
	ErrNoSuchTrigger                 ErrorCode = 34
	ErrNoSuchIndexID                 ErrorCode = 35
	ErrNoSuchSpace                   ErrorCode = 36
	ErrNoSuchFieldNo                 ErrorCode = 37
	ErrExactFieldCount               ErrorCode = 38
	ErrFieldMissing                  ErrorCode = 39
	ErrWALIO                         ErrorCode = 40
	ErrMoreThanOneTuple              ErrorCode = 41
	ErrAccessDenied                  ErrorCode = 42
	ErrCreateUser                    ErrorCode = 43
	ErrDropUser                      ErrorCode = 44
	ErrNoSuchUser                    ErrorCode = 45
	ErrUserExists                    ErrorCode = 46
	ErrPasswordMismatch              ErrorCode = 47
	ErrUnknownRequestType            ErrorCode = 48
	ErrUnknownSchemaObject           ErrorCode = 49
	ErrCreateFunction                ErrorCode = 50
	ErrNoSuchFunction                ErrorCode = 51
	ErrFunctionExists                ErrorCode = 52
	ErrBeforeReplaceRet              ErrorCode = 53
	ErrMultistatementTransaction     ErrorCode = 54
	ErrTriggerExists                 ErrorCode = 55
	ErrUserMax                       ErrorCode = 56
	ErrNoSuchEngine                  ErrorCode = 57
	ErrReloadCfg                     ErrorCode = 58
	ErrCfg                           ErrorCode = 59
	ErrSavepointEmptyTx              ErrorCode = 60
	ErrNoSuchSavepoint               ErrorCode = 61
	ErrUnknownReplica                ErrorCode = 62
	ErrReplicasetUUIDMismatch        ErrorCode = 63
	ErrInvalidUUID                   ErrorCode = 64
	ErrReplicasetUUIDIsRO            ErrorCode = 65
	ErrInstanceUUIDMismatch          ErrorCode = 66
	ErrReplicaIDIsReserved           ErrorCode = 67
	ErrInvalidOrder                  ErrorCode = 68
	ErrMissingRequestField           ErrorCode = 69
	ErrIdentifier                    ErrorCode = 70
	ErrDropFunction                  ErrorCode = 71
	ErrIteratorType                  ErrorCode = 72
	ErrReplicaMax                    ErrorCode = 73
	ErrInvalidXlog                   ErrorCode = 74
	ErrInvalidXlogName               ErrorCode = 75
	ErrInvalidXlogOrder              ErrorCode = 76
	ErrNoConnection                  ErrorCode = 77
	ErrTimeout                       ErrorCode = 78
	ErrActiveTransaction             ErrorCode = 79
	ErrCursorNoTransaction           ErrorCode = 80
	ErrCrossEngineTransaction        ErrorCode = 81
	ErrNoSuchRole                    ErrorCode = 82
	ErrRoleExists                    ErrorCode = 83
	ErrCreateRole                    ErrorCode = 84
	ErrIndexExists                   ErrorCode = 85
	ErrSessionClosed                 ErrorCode = 86
	ErrRoleLoop                      ErrorCode = 87
	ErrGrant                         ErrorCode = 88
	ErrPrivGranted                   ErrorCode = 89
	ErrRoleGranted                   ErrorCode = 90
	ErrPrivNotGranted                ErrorCode = 91
	ErrRoleNotGranted                ErrorCode = 92
	ErrMissingSnapshot               ErrorCode = 93
	ErrCantUpdatePrimaryKey          ErrorCode = 94
	ErrUpdateIntegerOverflow         ErrorCode = 95
	ErrGuestUserPassword             ErrorCode = 96
	ErrTransactionConflict           ErrorCode = 97
	ErrUnsupportedPriv               ErrorCode = 98
	ErrLoadFunction                  ErrorCode = 99
	ErrFunctionLanguage              ErrorCode = 100
	ErrRtreeRect                     ErrorCode = 101
	ErrProcC                         ErrorCode = 102
	ErrUnknownRtreeIndexDistanceType ErrorCode = 103
	ErrProtocol                      ErrorCode = 104
	ErrUpsertUniqueSecondaryKey      ErrorCode = 105
	ErrWrongIndexRecord              ErrorCode = 106
	ErrWrongIndexParts               ErrorCode = 107
	ErrWrongIndexOptions             ErrorCode = 108
	ErrWrongSchemaVersion            ErrorCode = 109
	ErrMemtxMaxTupleSize             ErrorCode = 110
	ErrWrongSpaceOptions             ErrorCode = 111
	ErrUnsupportedIndexFeature       ErrorCode = 112
	ErrViewIsRO                      ErrorCode = 113
	ErrNoTransaction                 ErrorCode = 114
	ErrSystem                        ErrorCode = 115
	ErrLoading                       ErrorCode = 116
	ErrConnectionToSelf              ErrorCode = 117
	ErrKeyPartIsTooLong              ErrorCode = 118
	ErrCompression                   ErrorCode = 119
	ErrCheckpointInProgress          ErrorCode = 120
	ErrSubStmtMax                    ErrorCode = 121
	ErrCommitInSubStmt               ErrorCode = 122
	ErrRollbackInSubStmt             ErrorCode = 123
	ErrDecompression                 ErrorCode = 124
	ErrInvalidXlogType               ErrorCode = 125
	ErrAlreadyRunning                ErrorCode = 126
	ErrIndexFieldCountLimit          ErrorCode = 127
	ErrLocalInstanceIDIsReadOnly     ErrorCode = 128
	ErrBackupInProgress              ErrorCode = 129
	ErrReadViewAborted               ErrorCode = 130
	ErrInvalidIndexFile              ErrorCode = 131
	ErrInvalidRunFile                ErrorCode = 132
	ErrInvalidVylogFile              ErrorCode = 133
	ErrCheckpointRollback            ErrorCode = 134
	ErrVyQuotaTimeout                ErrorCode = 135
	ErrPartialKey                    ErrorCode = 136
	ErrTruncateSystemSpace           ErrorCode = 137
	ErrLoadModule                    ErrorCode = 138
	ErrVinylMaxTupleSize             ErrorCode = 139
	ErrWrongDDVersion                ErrorCode = 140
	ErrWrongSpaceFormat              ErrorCode = 141
	ErrCreateSequence                ErrorCode = 142
	ErrAlterSequence                 ErrorCode = 143
	ErrDropSequence                  ErrorCode = 144
	ErrNoSuchSequence                ErrorCode = 145
	ErrSequenceExists                ErrorCode = 146
	ErrSequenceOverflow              ErrorCode = 147
	ErrNoSuchIndexName               ErrorCode = 148
	ErrSpaceFieldIsDuplicate         ErrorCode = 149
	ErrCantCreateCollation           ErrorCode = 150
	ErrWrongCollationOptions         ErrorCode = 151
	ErrNullablePrimary               ErrorCode = 152
	ErrNoSuchFieldNameInSpace        ErrorCode = 153
	ErrTransactionYield              ErrorCode = 154
	ErrNoSuchGroup                   ErrorCode = 155
	ErrSQLBindValue                  ErrorCode = 156
	ErrSQLBindType                   ErrorCode = 157
	ErrSQLBindParameterMax           ErrorCode = 158
	ErrSQLExecute                    ErrorCode = 159
	ErrUpdateDecimalOverflow         ErrorCode = 160
	ErrSQLBindNotFound               ErrorCode = 161
	ErrActionMismatch                ErrorCode = 162
	ErrViewMissingSQL                ErrorCode = 163
	ErrForeignKeyConstraint          ErrorCode = 164
	ErrNoSuchModule                  ErrorCode = 165
	ErrNoSuchCollation               ErrorCode = 166
	ErrCreateFKConstraint            ErrorCode = 167
	ErrDropFKConstraint              ErrorCode = 168
	ErrNoSuchConstraint              ErrorCode = 169
	ErrConstraintExists              ErrorCode = 170
	ErrSQLTypeMismatch               ErrorCode = 171
	ErrRowidOverflow                 ErrorCode = 172
	ErrDropCollation                 ErrorCode = 173
	ErrIllegalCollationMix           ErrorCode = 174
	ErrSQLNoSuchPragma               ErrorCode = 175
	ErrSQLCantResolveField           ErrorCode = 176
	ErrIndexExistsInSpace            ErrorCode = 177
	ErrInconsistentTypes             ErrorCode = 178
	ErrSQLSyntaxWithPos              ErrorCode = 179
	ErrSQLStackOverflow              ErrorCode = 180
	ErrSQLSelectWildcard             ErrorCode = 181
	ErrSQLStatementEmpty             ErrorCode = 182
	ErrSQLKeywordIsReserved          ErrorCode = 183
	ErrSQLSyntaxNearToken            ErrorCode = 184
	ErrSQLUnknownToken               ErrorCode = 185
	ErrSQLParserGeneric              ErrorCode = 186
	ErrSQLAnalyzeArgument            ErrorCode = 187
	ErrSQLColumnCountMax             ErrorCode = 188
	ErrHexLiteralMax                 ErrorCode = 189
	ErrIntLiteralMax                 ErrorCode = 190
	ErrSQLParserLimit                ErrorCode = 191
	ErrIndexDefUnsupported           ErrorCode = 192
	ErrCKDefUnsupported              ErrorCode = 193
	ErrMultikeyIndexMismatch         ErrorCode = 194
	ErrCreateCKConstraint            ErrorCode = 195
	ErrCKConstraintFailed            ErrorCode = 196
	ErrSQLColumnCount                ErrorCode = 197
	ErrFuncIndexFunc                 ErrorCode = 198
	ErrFuncIndexFormat               ErrorCode = 199
	ErrFuncIndexParts                ErrorCode = 200
	ErrNoSuchFieldName               ErrorCode = 201
	ErrFuncWrongArgCount             ErrorCode = 202
	ErrBootstrapReadonly             ErrorCode = 203
	ErrSQLFuncWrongRetCount          ErrorCode = 204
	ErrFuncInvalidReturnType         ErrorCode = 205
	ErrSQLParserGenericWithPos       ErrorCode = 206
	ErrReplicaNotAnon                ErrorCode = 207
	ErrCannotRegister                ErrorCode = 208
	ErrSessionSettingInvalidValue    ErrorCode = 209
	ErrSQLPrepare                    ErrorCode = 210
	ErrWrongQueryID                  ErrorCode = 211
	ErrSequenceNotStarted            ErrorCode = 212
	ErrNoSuchSessionSetting          ErrorCode = 213
	ErrUncommittedForeignSyncTxns    ErrorCode = 214
	ErrSyncMasterMismatch            ErrorCode = 215
	ErrSyncQuorumTimeout             ErrorCode = 216
	ErrSyncRollback                  ErrorCode = 217
	ErrTupleMetadataIsTooBig         ErrorCode = 218
	ErrXlogGap                       ErrorCode = 219
	ErrTooEarlySubscribe             ErrorCode = 220
	ErrSQLCantAddAutoinc             ErrorCode = 221
	ErrQuorumWait                    ErrorCode = 222
	ErrInterferingPromote            ErrorCode = 223
	ErrElectionDisabled              ErrorCode = 224
	ErrTxnRollback                   ErrorCode = 225
	ErrNotLeader                     ErrorCode = 226
	ErrSyncQueueUnclaimed            ErrorCode = 227
	ErrSyncQueueForeign              ErrorCode = 228
	ErrUnableToProcessInStream       ErrorCode = 229
	ErrUnableToProcessOutOfStream    ErrorCode = 230
	ErrTransactionTimeout            ErrorCode = 231
	ErrActiveTimer                   ErrorCode = 232
	ErrTupleFieldCountLimit          ErrorCode = 233
	ErrCreateConstraint              ErrorCode = 234
	ErrFieldConstraintFailed         ErrorCode = 235
	ErrTupleConstraintFailed         ErrorCode = 236
	ErrCreateForeignKey              ErrorCode = 237
	ErrForeignKeyIntegrity           ErrorCode = 238
	ErrFieldForeignKeyFailed         ErrorCode = 239
	ErrComplexForeignKeyFailed       ErrorCode = 240
	ErrWrongSpaceUpgradeOptions      ErrorCode = 241
	ErrNoElectionQuorum              ErrorCode = 242
	ErrSSL                           ErrorCode = 243
	ErrSplitBrain                    ErrorCode = 244
	ErrOldTerm                       ErrorCode = 245
	ErrInterferingElections          ErrorCode = 246
	ErrIteratorPosition              ErrorCode = 247
	ErrDefaultValueType              ErrorCode = 248
	ErrUnknownAuthMethod             ErrorCode = 249
	ErrInvalidAuthData               ErrorCode = 250
	ErrInvalidAuthRequest            ErrorCode = 251
	ErrWeakPassword                  ErrorCode = 252
	ErrOldPassword                   ErrorCode = 253
	ErrNoSuchSession                 ErrorCode = 254
	ErrWrongSessionType              ErrorCode = 255
	ErrPasswordExpired               ErrorCode = 256
	ErrAuthDelay                     ErrorCode = 257
	ErrAuthRequired                  ErrorCode = 258
	ErrSQLSeqScan                    ErrorCode = 259
	ErrNoSuchEvent                   ErrorCode = 260
	ErrBootstrapNotUnanimous         ErrorCode = 261
	ErrCantCheckBootstrapLeader      ErrorCode = 262
	ErrBootstrapConnectionNotToAll   ErrorCode = 263
	ErrNilUUID                       ErrorCode = 264
	ErrWrongFunctionOptions          ErrorCode = 265
	ErrMissingSystemSpaces           ErrorCode = 266
	ErrClusterNameMismatch           ErrorCode = 267
	ErrReplicasetNameMismatch        ErrorCode = 268
	ErrInstanceNameDuplicate         ErrorCode = 269
	ErrInstanceNameMismatch          ErrorCode = 270
	ErrSchemaNeedsUpgrade            ErrorCode = 271
	ErrSchemaUpgradeInProgress       ErrorCode = 272
	ErrDeprecated                    ErrorCode = 273
	ErrUnconfigured                  ErrorCode = 274
	ErrCreateDefaultFunc             ErrorCode = 275
	ErrDefaultFuncFailed             ErrorCode = 276
	ErrInvalidDec                    ErrorCode = 277
	ErrInAnotherPromote              ErrorCode = 278
	ErrShutdown                      ErrorCode = 279
	ErrFieldValueOutOfRange          ErrorCode = 280
	ErrReplicasetNotFound            ErrorCode = 281
	ErrReplicasetNoWritable          ErrorCode = 282
	ErrReplicasetMoreThanOneWritable ErrorCode = 283
	ErrTxnCommit                     ErrorCode = 284
	ErrReadViewBusy                  ErrorCode = 285
	ErrReadViewClosed                ErrorCode = 286
	ErrWALQueueFull                  ErrorCode = 287
	ErrInvalidVclock                 ErrorCode = 288
	ErrSyncQueueFull                 ErrorCode = 289
	ErrKeyPartValueOutOfRange        ErrorCode = 290
	ErrReplicaGC                     ErrorCode = 291
	ErrAlienEngine                   ErrorCode = 292
	ErrMVCCUnavailable               ErrorCode = 293
	ErrCantUpgradeIndexedField       ErrorCode = 294
	ErrSyncTimeout                   ErrorCode = 295
	ErrFieldIrrepresentableValue     ErrorCode = 296
	ErrKeyPartIrrepresentableValue   ErrorCode = 297
	ErrInvalidSortdataFile           ErrorCode = 298
	ErrNoSuchThread                  ErrorCode = 299
	ErrUnableToProcessInThread       ErrorCode = 300
	ErrDictOverflow                  ErrorCode = 301
	ErrNoSuchThreadGroup             ErrorCode = 302
	ErrXlogNotFound                  ErrorCode = 303
	ErrRecoveryPointTxnLastRow       ErrorCode = 304
	ErrNoSuchReadView                ErrorCode = 305
)

// errorTable holds each code's name and message format: the message of
// Tarantool 2.6.0 for codes 0-218, of newer releases above (empty where the
// release writes a message without a format). The formats are Go's: C's %u,
// %lld and the like are %d, and %.*s is %s.
var errorTable = [...]errorInfo{
	ErrUnknown:                       {"ER_UNKNOWN", "Unknown error"},
	ErrIllegalParams:                 {"ER_ILLEGAL_PARAMS", "Illegal parameters, %s"},
	ErrMemoryIssue:                   {"ER_MEMORY_ISSUE", "Failed to allocate %d bytes in %s for %s"},
	ErrTupleFound:                    {"ER_TUPLE_FOUND", "Duplicate key exists in unique index '%s' in space '%s'"},
	ErrTupleNotFound:                 {"ER_TUPLE_NOT_FOUND", "Tuple doesn't exist in index '%s' in space '%s'"},
	ErrUnsupported:                   {"ER_UNSUPPORTED", "%s does not support %s"},
	ErrNonmaster:                     {"ER_NONMASTER", "Can't modify data on a replication slave. My master is: %s"},
	ErrReadonly:                      {"ER_READONLY", "Can't modify data because this instance is in read-only mode."},
	ErrInjection:                     {"ER_INJECTION", "Error injection '%s'"},
	ErrCreateSpace:                   {"ER_CREATE_SPACE", "Failed to create space '%s': %s"},
	ErrSpaceExists:                   {"ER_SPACE_EXISTS", "Space '%s' already exists"},
	ErrDropSpace:                     {"ER_DROP_SPACE", "Can't drop space '%s': %s"},
	ErrAlterSpace:                    {"ER_ALTER_SPACE", "Can't modify space '%s': %s"},
	ErrIndexType:                     {"ER_INDEX_TYPE", "Unsupported index type supplied for index '%s' in space '%s'"},
	ErrModifyIndex:                   {"ER_MODIFY_INDEX", "Can't create or modify index '%s' in space '%s': %s"},
	ErrLastDrop:                      {"ER_LAST_DROP", "Can't drop the primary key in a system space, space '%s'"},
	ErrTupleFormatLimit:              {"ER_TUPLE_FORMAT_LIMIT", "Tuple format limit reached: %d"},
	ErrDropPrimaryKey:                {"ER_DROP_PRIMARY_KEY", "Can't drop primary key in space '%s' while secondary keys exist"},
	ErrKeyPartType:                   {"ER_KEY_PART_TYPE", "Supplied key type of part %d does not match index part type: expected %s"},
	ErrExactMatch:                    {"ER_EXACT_MATCH", "Invalid key part count in an exact match (expected %d, got %d)"},
	ErrInvalidMsgpack:                {"ER_INVALID_MSGPACK", "Invalid MsgPack - %s"},
	ErrProcRet:                       {"ER_PROC_RET", "msgpack.encode: can not encode Lua type '%s'"},
	ErrTupleNotArray:                 {"ER_TUPLE_NOT_ARRAY", "Tuple/Key must be MsgPack array"},
	ErrFieldType:                     {"ER_FIELD_TYPE", "Tuple field %s type does not match one required by operation: expected %s"},
	ErrIndexPartTypeMismatch:         {"ER_INDEX_PART_TYPE_MISMATCH", "Field %s has type '%s' in one index, but type '%s' in another"},
	ErrUpdateSplice:                  {"ER_UPDATE_SPLICE", "SPLICE error on field %s: %s"},
	ErrUpdateArgType:                 {"ER_UPDATE_ARG_TYPE", "Argument type in operation '%c' on field %s does not match field type: expected %s"},
	ErrFormatMismatchIndexPart:       {"ER_FORMAT_MISMATCH_INDEX_PART", "Field %s has type '%s' in space format, but type '%s' in index definition"},
	ErrUnknownUpdateOp:               {"ER_UNKNOWN_UPDATE_OP", "Unknown UPDATE operation #%d: %s"},
	ErrUpdateField:                   {"ER_UPDATE_FIELD", "Field %s UPDATE error: %s"},
	ErrFunctionTxActive:              {"ER_FUNCTION_TX_ACTIVE", "Transaction is active at return from function"},
	ErrKeyPartCount:                  {"ER_KEY_PART_COUNT", "Invalid key part count (expected [0..%d], got %d)"},
	ErrProcLua:                       {"ER_PROC_LUA", "%s"},
	ErrNoSuchProc:                    {"ER_NO_SUCH_PROC", "Procedure '%s' is not defined"},
	ErrNoSuchTrigger:                 {"ER_NO_SUCH_TRIGGER", "Trigger '%s' doesn't exist"},
	ErrNoSuchIndexID:                 {"ER_NO_SUCH_INDEX_ID", "No index #%d is defined in space '%s'"},
	ErrNoSuchSpace:                   {"ER_NO_SUCH_SPACE", "Space '%s' does not exist"},
	ErrNoSuchFieldNo:                 {"ER_NO_SUCH_FIELD_NO", "Field %d was not found in the tuple"},
	ErrExactFieldCount:               {"ER_EXACT_FIELD_COUNT", "Tuple field count %d does not match space field count %d"},
	ErrFieldMissing:                  {"ER_FIELD_MISSING", "Tuple field %s required by space format is missing"},
	ErrWALIO:                         {"ER_WAL_IO", "Failed to write to disk"},
	ErrMoreThanOneTuple:              {"ER_MORE_THAN_ONE_TUPLE", "Get() doesn't support partial keys and non-unique indexes"},
	ErrAccessDenied:                  {"ER_ACCESS_DENIED", "%s access to %s '%s' is denied for user '%s'"},
	ErrCreateUser:                    {"ER_CREATE_USER", "Failed to create user '%s': %s"},
	ErrDropUser:                      {"ER_DROP_USER", "Failed to drop user or role '%s': %s"},
	ErrNoSuchUser:                    {"ER_NO_SUCH_USER", "User '%s' is not found"},
	ErrUserExists:                    {"ER_USER_EXISTS", "User '%s' already exists"},
	ErrPasswordMismatch:              {"ER_PASSWORD_MISMATCH", "Incorrect password supplied for user '%s'"},
	ErrUnknownRequestType:            {"ER_UNKNOWN_REQUEST_TYPE", "Unknown request type %d"},
	ErrUnknownSchemaObject:           {"ER_UNKNOWN_SCHEMA_OBJECT", "Unknown object type '%s'"},
	ErrCreateFunction:                {"ER_CREATE_FUNCTION", "Failed to create function '%s': %s"},
	ErrNoSuchFunction:                {"ER_NO_SUCH_FUNCTION", "Function '%s' does not exist"},
	ErrFunctionExists:                {"ER_FUNCTION_EXISTS", "Function '%s' already exists"},
	ErrBeforeReplaceRet:              {"ER_BEFORE_REPLACE_RET", "Invalid return value of space:before_replace trigger: expected tuple or nil, got %s"},
	ErrMultistatementTransaction:     {"ER_MULTISTATEMENT_TRANSACTION", "Can not perform %s in a multi-statement transaction"},
	ErrTriggerExists:                 {"ER_TRIGGER_EXISTS", "Trigger '%s' already exists"},
	ErrUserMax:                       {"ER_USER_MAX", "A limit on the total number of users has been reached: %d"},
	ErrNoSuchEngine:                  {"ER_NO_SUCH_ENGINE", "Space engine '%s' does not exist"},
	ErrReloadCfg:                     {"ER_RELOAD_CFG", "Can't set option '%s' dynamically"},
	ErrCfg:                           {"ER_CFG", "Incorrect value for option '%s': %s"},
	ErrSavepointEmptyTx:              {"ER_SAVEPOINT_EMPTY_TX", "Can not set a savepoint in an empty transaction"},
	ErrNoSuchSavepoint:               {"ER_NO_SUCH_SAVEPOINT", "Can not rollback to savepoint: the savepoint does not exist"},
	ErrUnknownReplica:                {"ER_UNKNOWN_REPLICA", "Replica %s is not registered with replica set %s"},
	ErrReplicasetUUIDMismatch:        {"ER_REPLICASET_UUID_MISMATCH", "Replica set UUID mismatch: expected %s, got %s"},
	ErrInvalidUUID:                   {"ER_INVALID_UUID", "Invalid UUID: %s"},
	ErrReplicasetUUIDIsRO:            {"ER_REPLICASET_UUID_IS_RO", "Can't reset replica set UUID: it is already assigned"},
	ErrInstanceUUIDMismatch:          {"ER_INSTANCE_UUID_MISMATCH", "Instance UUID mismatch: expected %s, got %s"},
	ErrReplicaIDIsReserved:           {"ER_REPLICA_ID_IS_RESERVED", "Can't initialize replica id with a reserved value %d"},
	ErrInvalidOrder:                  {"ER_INVALID_ORDER", "Invalid LSN order for instance %d: previous LSN = %d, new lsn = %d"},
	ErrMissingRequestField:           {"ER_MISSING_REQUEST_FIELD", "Missing mandatory field '%s' in request"},
	ErrIdentifier:                    {"ER_IDENTIFIER", "Invalid identifier '%s' (expected printable symbols only or it is too long)"},
	ErrDropFunction:                  {"ER_DROP_FUNCTION", "Can't drop function %d: %s"},
	ErrIteratorType:                  {"ER_ITERATOR_TYPE", "Unknown iterator type '%s'"},
	ErrReplicaMax:                    {"ER_REPLICA_MAX", "Replica count limit reached: %d"},
	ErrInvalidXlog:                   {"ER_INVALID_XLOG", "Failed to read xlog: %d"},
	ErrInvalidXlogName:               {"ER_INVALID_XLOG_NAME", "Invalid xlog name: expected %d got %d"},
	ErrInvalidXlogOrder:              {"ER_INVALID_XLOG_ORDER", "Invalid xlog order: %d and %d"},
	ErrNoConnection:                  {"ER_NO_CONNECTION", "Connection is not established"},
	ErrTimeout:                       {"ER_TIMEOUT", "Timeout exceeded"},
	ErrActiveTransaction:             {"ER_ACTIVE_TRANSACTION", "Operation is not permitted when there is an active transaction "},
	ErrCursorNoTransaction:           {"ER_CURSOR_NO_TRANSACTION", "The transaction the cursor belongs to has ended"},
	ErrCrossEngineTransaction:        {"ER_CROSS_ENGINE_TRANSACTION", "A multi-statement transaction can not use multiple storage engines"},
	ErrNoSuchRole:                    {"ER_NO_SUCH_ROLE", "Role '%s' is not found"},
	ErrRoleExists:                    {"ER_ROLE_EXISTS", "Role '%s' already exists"},
	ErrCreateRole:                    {"ER_CREATE_ROLE", "Failed to create role '%s': %s"},
	ErrIndexExists:                   {"ER_INDEX_EXISTS", "Index '%s' already exists"},
	ErrSessionClosed:                 {"ER_SESSION_CLOSED", "Session is closed"},
	ErrRoleLoop:                      {"ER_ROLE_LOOP", "Granting role '%s' to role '%s' would create a loop"},
	ErrGrant:                         {"ER_GRANT", "Incorrect grant arguments: %s"},
	ErrPrivGranted:                   {"ER_PRIV_GRANTED", "User '%s' already has %s access on %s%s"},
	ErrRoleGranted:                   {"ER_ROLE_GRANTED", "User '%s' already has role '%s'"},
	ErrPrivNotGranted:                {"ER_PRIV_NOT_GRANTED", "User '%s' does not have %s access on %s '%s'"},
	ErrRoleNotGranted:                {"ER_ROLE_NOT_GRANTED", "User '%s' does not have role '%s'"},
	ErrMissingSnapshot:               {"ER_MISSING_SNAPSHOT", "Can't find snapshot"},
	ErrCantUpdatePrimaryKey:          {"ER_CANT_UPDATE_PRIMARY_KEY", "Attempt to modify a tuple field which is part of index '%s' in space '%s'"},
	ErrUpdateIntegerOverflow:         {"ER_UPDATE_INTEGER_OVERFLOW", "Integer overflow when performing '%c' operation on field %s"},
	ErrGuestUserPassword:             {"ER_GUEST_USER_PASSWORD", "Setting password for guest user has no effect"},
	ErrTransactionConflict:           {"ER_TRANSACTION_CONFLICT", "Transaction has been aborted by conflict"},
	ErrUnsupportedPriv:               {"ER_UNSUPPORTED_PRIV", "Unsupported %s privilege '%s'"},
	ErrLoadFunction:                  {"ER_LOAD_FUNCTION", "Failed to dynamically load function '%s': %s"},
	ErrFunctionLanguage:              {"ER_FUNCTION_LANGUAGE", "Unsupported language '%s' specified for function '%s'"},
	ErrRtreeRect:                     {"ER_RTREE_RECT", "RTree: %s must be an array with %d (point) or %d (rectangle/box) numeric coordinates"},
	ErrProcC:                         {"ER_PROC_C", "%s"},
	ErrUnknownRtreeIndexDistanceType: {"ER_UNKNOWN_RTREE_INDEX_DISTANCE_TYPE", "Unknown RTREE index distance type %s"},
	ErrProtocol:                      {"ER_PROTOCOL", "%s"},
	ErrUpsertUniqueSecondaryKey:      {"ER_UPSERT_UNIQUE_SECONDARY_KEY", "Space %s has a unique secondary index and does not support UPSERT"},
	ErrWrongIndexRecord:              {"ER_WRONG_INDEX_RECORD", "Wrong record in _index space: got {%s}, expected {%s}"},
	ErrWrongIndexParts:               {"ER_WRONG_INDEX_PARTS", "Wrong index parts: %s; expected field1 id (number), field1 type (string), ..."},
	ErrWrongIndexOptions:             {"ER_WRONG_INDEX_OPTIONS", "Wrong index options (field %d): %s"},
	ErrWrongSchemaVersion:            {"ER_WRONG_SCHEMA_VERSION", "Wrong schema version, current: %d, in request: %d"},
	ErrMemtxMaxTupleSize:             {"ER_MEMTX_MAX_TUPLE_SIZE", "Failed to allocate %d bytes for tuple: tuple is too large. Check 'memtx_max_tuple_size' configuration option."},
	ErrWrongSpaceOptions:             {"ER_WRONG_SPACE_OPTIONS", "Wrong space options (field %d): %s"},
	ErrUnsupportedIndexFeature:       {"ER_UNSUPPORTED_INDEX_FEATURE", "Index '%s' (%s) of space '%s' (%s) does not support %s"},
	ErrViewIsRO:                      {"ER_VIEW_IS_RO", "View '%s' is read-only"},
	ErrNoTransaction:                 {"ER_NO_TRANSACTION", "No active transaction"},
	ErrSystem:                        {"ER_SYSTEM", "%s"},
	ErrLoading:                       {"ER_LOADING", "Instance bootstrap hasn't finished yet"},
	ErrConnectionToSelf:              {"ER_CONNECTION_TO_SELF", "Connection to self"},
	ErrKeyPartIsTooLong:              {"ER_KEY_PART_IS_TOO_LONG", "Key part is too long: %d of %d bytes"},
	ErrCompression:                   {"ER_COMPRESSION", "Compression error: %s"},
	ErrCheckpointInProgress:          {"ER_CHECKPOINT_IN_PROGRESS", "Snapshot is already in progress"},
	ErrSubStmtMax:                    {"ER_SUB_STMT_MAX", "Can not execute a nested statement: nesting limit reached"},
	ErrCommitInSubStmt:               {"ER_COMMIT_IN_SUB_STMT", "Can not commit transaction in a nested statement"},
	ErrRollbackInSubStmt:             {"ER_ROLLBACK_IN_SUB_STMT", "Rollback called in a nested statement"},
	ErrDecompression:                 {"ER_DECOMPRESSION", "Decompression error: %s"},
	ErrInvalidXlogType:               {"ER_INVALID_XLOG_TYPE", "Invalid xlog type: expected %s, got %s"},
	ErrAlreadyRunning:                {"ER_ALREADY_RUNNING", "Failed to lock WAL directory %s and hot_standby mode is off"},
	ErrIndexFieldCountLimit:          {"ER_INDEX_FIELD_COUNT_LIMIT", "Indexed field count limit reached: %d indexed fields"},
	ErrLocalInstanceIDIsReadOnly:     {"ER_LOCAL_INSTANCE_ID_IS_READ_ONLY", "The local instance id %d is read-only"},
	ErrBackupInProgress:              {"ER_BACKUP_IN_PROGRESS", "Backup is already in progress"},
	ErrReadViewAborted:               {"ER_READ_VIEW_ABORTED", "The read view is aborted"},
	ErrInvalidIndexFile:              {"ER_INVALID_INDEX_FILE", "Invalid INDEX file %s: %s"},
	ErrInvalidRunFile:                {"ER_INVALID_RUN_FILE", "Invalid RUN file: %s"},
	ErrInvalidVylogFile:              {"ER_INVALID_VYLOG_FILE", "Invalid VYLOG file: %s"},
	ErrCheckpointRollback:            {"ER_CHECKPOINT_ROLLBACK", "Can't start a checkpoint while in cascading rollback"},
	ErrVyQuotaTimeout:                {"ER_VY_QUOTA_TIMEOUT", "Timed out waiting for Vinyl memory quota"},
	ErrPartialKey:                    {"ER_PARTIAL_KEY", "%s index  does not support selects via a partial key (expected %d parts, got %d). Please Consider changing index type to TREE."},
	ErrTruncateSystemSpace:           {"ER_TRUNCATE_SYSTEM_SPACE", "Can't truncate a system space, space '%s'"},
	ErrLoadModule:                    {"ER_LOAD_MODULE", "Failed to dynamically load module '%s': %s"},
	ErrVinylMaxTupleSize:             {"ER_VINYL_MAX_TUPLE_SIZE", "Failed to allocate %d bytes for tuple: tuple is too large. Check 'vinyl_max_tuple_size' configuration option."},
	ErrWrongDDVersion:                {"ER_WRONG_DD_VERSION", "Wrong _schema version: expected 'major.minor[.patch]'"},
	ErrWrongSpaceFormat:              {"ER_WRONG_SPACE_FORMAT", "Wrong space format (field %d): %s"},
	ErrCreateSequence:                {"ER_CREATE_SEQUENCE", "Failed to create sequence '%s': %s"},
	ErrAlterSequence:                 {"ER_ALTER_SEQUENCE", "Can't modify sequence '%s': %s"},
	ErrDropSequence:                  {"ER_DROP_SEQUENCE", "Can't drop sequence '%s': %s"},
	ErrNoSuchSequence:                {"ER_NO_SUCH_SEQUENCE", "Sequence '%s' does not exist"},
	ErrSequenceExists:                {"ER_SEQUENCE_EXISTS", "Sequence '%s' already exists"},
	ErrSequenceOverflow:              {"ER_SEQUENCE_OVERFLOW", "Sequence '%s' has overflowed"},
	ErrNoSuchIndexName:               {"ER_NO_SUCH_INDEX_NAME", "No index '%s' is defined in space '%s'"},
	ErrSpaceFieldIsDuplicate:         {"ER_SPACE_FIELD_IS_DUPLICATE", "Space field '%s' is duplicate"},
	ErrCantCreateCollation:           {"ER_CANT_CREATE_COLLATION", "Failed to initialize collation: %s."},
	ErrWrongCollationOptions:         {"ER_WRONG_COLLATION_OPTIONS", "Wrong collation options (field %d): %s"},
	ErrNullablePrimary:               {"ER_NULLABLE_PRIMARY", "Primary index of space '%s' can not contain nullable parts"},
	ErrNoSuchFieldNameInSpace:        {"ER_NO_SUCH_FIELD_NAME_IN_SPACE", "Field '%s' was not found in space '%s' format"},
	ErrTransactionYield:              {"ER_TRANSACTION_YIELD", "Transaction has been aborted by a fiber yield"},
	ErrNoSuchGroup:                   {"ER_NO_SUCH_GROUP", "Replication group '%s' does not exist"},
	ErrSQLBindValue:                  {"ER_SQL_BIND_VALUE", "Bind value for parameter %s is out of range for type %s"},
	ErrSQLBindType:                   {"ER_SQL_BIND_TYPE", "Bind value type %s for parameter %s is not supported"},
	ErrSQLBindParameterMax:           {"ER_SQL_BIND_PARAMETER_MAX", "SQL bind parameter limit reached: %d"},
	ErrSQLExecute:                    {"ER_SQL_EXECUTE", "Failed to execute SQL statement: %s"},
	ErrUpdateDecimalOverflow:         {"ER_UPDATE_DECIMAL_OVERFLOW", "Decimal overflow when performing operation '%c' on field %s"},
	ErrSQLBindNotFound:               {"ER_SQL_BIND_NOT_FOUND", "Parameter %s was not found in the statement"},
	ErrActionMismatch:                {"ER_ACTION_MISMATCH", "Field %s contains %s on conflict action, but %s in index parts"},
	ErrViewMissingSQL:                {"ER_VIEW_MISSING_SQL", "Space declared as a view must have SQL statement"},
	ErrForeignKeyConstraint:          {"ER_FOREIGN_KEY_CONSTRAINT", "Can not commit transaction: deferred foreign keys violations are not resolved"},
	ErrNoSuchModule:                  {"ER_NO_SUCH_MODULE", "Module '%s' does not exist"},
	ErrNoSuchCollation:               {"ER_NO_SUCH_COLLATION", "Collation '%s' does not exist"},
	ErrCreateFKConstraint:            {"ER_CREATE_FK_CONSTRAINT", "Failed to create foreign key constraint '%s': %s"},
	ErrDropFKConstraint:              {"ER_DROP_FK_CONSTRAINT", "Failed to drop foreign key constraint '%s': %s"},
	ErrNoSuchConstraint:              {"ER_NO_SUCH_CONSTRAINT", "Constraint '%s' does not exist in space '%s'"},
	ErrConstraintExists:              {"ER_CONSTRAINT_EXISTS", "%s constraint '%s' already exists in space '%s'"},
	ErrSQLTypeMismatch:               {"ER_SQL_TYPE_MISMATCH", "Type mismatch: can not convert %s to %s"},
	ErrRowidOverflow:                 {"ER_ROWID_OVERFLOW", "Rowid is overflowed: too many entries in ephemeral space"},
	ErrDropCollation:                 {"ER_DROP_COLLATION", "Can't drop collation %s : %s"},
	ErrIllegalCollationMix:           {"ER_ILLEGAL_COLLATION_MIX", "Illegal mix of collations"},
	ErrSQLNoSuchPragma:               {"ER_SQL_NO_SUCH_PRAGMA", "Pragma '%s' does not exist"},
	ErrSQLCantResolveField:           {"ER_SQL_CANT_RESOLVE_FIELD", "Can’t resolve field '%s'"},
	ErrIndexExistsInSpace:            {"ER_INDEX_EXISTS_IN_SPACE", "Index '%s' already exists in space '%s'"},
	ErrInconsistentTypes:             {"ER_INCONSISTENT_TYPES", "Inconsistent types: expected %s got %s"},
	ErrSQLSyntaxWithPos:              {"ER_SQL_SYNTAX_WITH_POS", "Syntax error at line %d at or near position %d: %s"},
	ErrSQLStackOverflow:              {"ER_SQL_STACK_OVERFLOW", "Failed to parse SQL statement: parser stack limit reached"},
	ErrSQLSelectWildcard:             {"ER_SQL_SELECT_WILDCARD", "Failed to expand '*' in SELECT statement without FROM clause"},
	ErrSQLStatementEmpty:             {"ER_SQL_STATEMENT_EMPTY", "Failed to execute an empty SQL statement"},
	ErrSQLKeywordIsReserved:          {"ER_SQL_KEYWORD_IS_RESERVED", "At line %d at or near position %d: keyword '%s' is reserved. Please use double quotes if '%s' is an identifier."},
	ErrSQLSyntaxNearToken:            {"ER_SQL_SYNTAX_NEAR_TOKEN", "Syntax error at line %d near '%s'"},
	ErrSQLUnknownToken:               {"ER_SQL_UNKNOWN_TOKEN", "At line %d at or near position %d: unrecognized token '%s'"},
	ErrSQLParserGeneric:              {"ER_SQL_PARSER_GENERIC", "%s"},
	ErrSQLAnalyzeArgument:            {"ER_SQL_ANALYZE_ARGUMENT", "ANALYZE statement argument %s is not a base table"},
	ErrSQLColumnCountMax:             {"ER_SQL_COLUMN_COUNT_MAX", "Failed to create space '%s': space column count %d exceeds the limit (%d)"},
	ErrHexLiteralMax:                 {"ER_HEX_LITERAL_MAX", "Hex literal %s%s length %d exceeds the supported limit (%d)"},
	ErrIntLiteralMax:                 {"ER_INT_LITERAL_MAX", "Integer literal %s%s exceeds the supported range [-9223372036854775808, 18446744073709551615]"},
	ErrSQLParserLimit:                {"ER_SQL_PARSER_LIMIT", "%s %d exceeds the limit (%d)"},
	ErrIndexDefUnsupported:           {"ER_INDEX_DEF_UNSUPPORTED", "%s are prohibited in an index definition"},
	ErrCKDefUnsupported:              {"ER_CK_DEF_UNSUPPORTED", "%s are prohibited in a ck constraint definition"},
	ErrMultikeyIndexMismatch:         {"ER_MULTIKEY_INDEX_MISMATCH", "Field %s is used as multikey in one index and as single key in another"},
	ErrCreateCKConstraint:            {"ER_CREATE_CK_CONSTRAINT", "Failed to create check constraint '%s': %s"},
	ErrCKConstraintFailed:            {"ER_CK_CONSTRAINT_FAILED", "Check constraint failed '%s': %s"},
	ErrSQLColumnCount:                {"ER_SQL_COLUMN_COUNT", "Unequal number of entries in row expression: left side has %d, but right side - %d"},
	ErrFuncIndexFunc:                 {"ER_FUNC_INDEX_FUNC", "Failed to build a key for functional index '%s' of space '%s': %s"},
	ErrFuncIndexFormat:               {"ER_FUNC_INDEX_FORMAT", "Key format doesn't match one defined in functional index '%s' of space '%s': %s"},
	ErrFuncIndexParts:                {"ER_FUNC_INDEX_PARTS", "Wrong functional index definition: %s"},
	ErrNoSuchFieldName:               {"ER_NO_SUCH_FIELD_NAME", "Field '%s' was not found in the tuple"},
	ErrFuncWrongArgCount:             {"ER_FUNC_WRONG_ARG_COUNT", "Wrong number of arguments is passed to %s(): expected %s, got %d"},
	ErrBootstrapReadonly:             {"ER_BOOTSTRAP_READONLY", "Trying to bootstrap a local read-only instance as master"},
	ErrSQLFuncWrongRetCount:          {"ER_SQL_FUNC_WRONG_RET_COUNT", "SQL expects exactly one argument returned from %s, got %d"},
	ErrFuncInvalidReturnType:         {"ER_FUNC_INVALID_RETURN_TYPE", "Function '%s' returned value of invalid type: expected %s got %s"},
	ErrSQLParserGenericWithPos:       {"ER_SQL_PARSER_GENERIC_WITH_POS", "At line %d at or near position %d: %s"},
	ErrReplicaNotAnon:                {"ER_REPLICA_NOT_ANON", "Replica '%s' is not anonymous and cannot register."},
	ErrCannotRegister:                {"ER_CANNOT_REGISTER", "Couldn't find an instance to register this replica on."},
	ErrSessionSettingInvalidValue:    {"ER_SESSION_SETTING_INVALID_VALUE", "Session setting %s expected a value of type %s"},
	ErrSQLPrepare:                    {"ER_SQL_PREPARE", "Failed to prepare SQL statement: %s"},
	ErrWrongQueryID:                  {"ER_WRONG_QUERY_ID", "Prepared statement with id %d does not exist"},
	ErrSequenceNotStarted:            {"ER_SEQUENCE_NOT_STARTED", "Sequence '%s' is not started"},
	ErrNoSuchSessionSetting:          {"ER_NO_SUCH_SESSION_SETTING", "Session setting %s doesn't exist"},
	ErrUncommittedForeignSyncTxns:    {"ER_UNCOMMITTED_FOREIGN_SYNC_TXNS", "Found uncommitted sync transactions from other instance with id %d"},
	ErrSyncMasterMismatch:            {"ER_SYNC_MASTER_MISMATCH", "CONFIRM message arrived for an unknown master id %d, expected %d"},
	ErrSyncQuorumTimeout:             {"ER_SYNC_QUORUM_TIMEOUT", "Quorum collection for a synchronous transaction is timed out"},
	ErrSyncRollback:                  {"ER_SYNC_ROLLBACK", "A rollback for a synchronous transaction is received"},
	ErrTupleMetadataIsTooBig:         {"ER_TUPLE_METADATA_IS_TOO_BIG", "Can't create tuple: metadata size %d is too big"},
	ErrXlogGap:                       {"ER_XLOG_GAP", "%s"},
	ErrTooEarlySubscribe:             {"ER_TOO_EARLY_SUBSCRIBE", "Can't subscribe non-anonymous replica %s until join is done"},
	ErrSQLCantAddAutoinc:             {"ER_SQL_CANT_ADD_AUTOINC", "Can't add AUTOINCREMENT: space %s can't feature more than one AUTOINCREMENT field"},
	ErrQuorumWait:                    {"ER_QUORUM_WAIT", "Couldn't wait for quorum %d: %s"},
	ErrInterferingPromote:            {"ER_INTERFERING_PROMOTE", "Instance with replica id %d was promoted first"},
	ErrElectionDisabled:              {"ER_ELECTION_DISABLED", "Elections were turned off"},
	ErrTxnRollback:                   {"ER_TXN_ROLLBACK", "Transaction was rolled back"},
	ErrNotLeader:                     {"ER_NOT_LEADER", "The instance is not a leader. New leader is %d"},
	ErrSyncQueueUnclaimed:            {"ER_SYNC_QUEUE_UNCLAIMED", "The synchronous transaction queue doesn't belong to any instance"},
	ErrSyncQueueForeign:              {"ER_SYNC_QUEUE_FOREIGN", "The synchronous transaction queue belongs to other instance with id %d"},
	ErrUnableToProcessInStream:       {"ER_UNABLE_TO_PROCESS_IN_STREAM", "Unable to process %s request in stream"},
	ErrUnableToProcessOutOfStream:    {"ER_UNABLE_TO_PROCESS_OUT_OF_STREAM", "Unable to process %s request out of stream"},
	ErrTransactionTimeout:            {"ER_TRANSACTION_TIMEOUT", "Transaction has been aborted by timeout"},
	ErrActiveTimer:                   {"ER_ACTIVE_TIMER", "Operation is not permitted if timer is already running"},
	ErrTupleFieldCountLimit:          {"ER_TUPLE_FIELD_COUNT_LIMIT", "Tuple field count limit reached: see box.schema.FIELD_MAX"},
	ErrCreateConstraint:              {"ER_CREATE_CONSTRAINT", "Failed to create constraint '%s' in space '%s': %s"},
	ErrFieldConstraintFailed:         {"ER_FIELD_CONSTRAINT_FAILED", "Check constraint '%s' failed for field '%s'"},
	ErrTupleConstraintFailed:         {"ER_TUPLE_CONSTRAINT_FAILED", "Check constraint '%s' failed for a tuple"},
	ErrCreateForeignKey:              {"ER_CREATE_FOREIGN_KEY", "Failed to create foreign key '%s' in space '%s': %s"},
	ErrForeignKeyIntegrity:           {"ER_FOREIGN_KEY_INTEGRITY", "Foreign key '%s' integrity check failed: %s"},
	ErrFieldForeignKeyFailed:         {"ER_FIELD_FOREIGN_KEY_FAILED", "Foreign key constraint '%s' failed for field '%s': %s"},
	ErrComplexForeignKeyFailed:       {"ER_COMPLEX_FOREIGN_KEY_FAILED", "Foreign key constraint '%s' failed: %s"},
	ErrWrongSpaceUpgradeOptions:      {"ER_WRONG_SPACE_UPGRADE_OPTIONS", "Wrong space upgrade options: %s"},
	ErrNoElectionQuorum:              {"ER_NO_ELECTION_QUORUM", "Not enough peers connected to start elections: %d out of minimal required %d"},
	ErrSSL:                           {"ER_SSL", "%s"},
	ErrSplitBrain:                    {"ER_SPLIT_BRAIN", "Split-Brain discovered: %s"},
	ErrOldTerm:                       {"ER_OLD_TERM", "The term is outdated: old - %d, new - %d"},
	ErrInterferingElections:          {"ER_INTERFERING_ELECTIONS", "Interfering elections started"},
	ErrIteratorPosition:              {"ER_ITERATOR_POSITION", "Iterator position is invalid"},
	ErrDefaultValueType:              {"ER_DEFAULT_VALUE_TYPE", "Type of the default value does not match tuple field %s type: expected %s, got %s"},
	ErrUnknownAuthMethod:             {"ER_UNKNOWN_AUTH_METHOD", "Unknown authentication method '%s'"},
	ErrInvalidAuthData:               {"ER_INVALID_AUTH_DATA", "Invalid '%s' data: %s"},
	ErrInvalidAuthRequest:            {"ER_INVALID_AUTH_REQUEST", "Invalid '%s' request: %s"},
	ErrWeakPassword:                  {"ER_WEAK_PASSWORD", "Password doesn't meet security requirements: %s"},
	ErrOldPassword:                   {"ER_OLD_PASSWORD", "Password must differ from last %d passwords"},
	ErrNoSuchSession:                 {"ER_NO_SUCH_SESSION", "Session %d does not exist"},
	ErrWrongSessionType:              {"ER_WRONG_SESSION_TYPE", "Session '%s' is not supported"},
	ErrPasswordExpired:               {"ER_PASSWORD_EXPIRED", "Password expired"},
	ErrAuthDelay:                     {"ER_AUTH_DELAY", "Too many authentication attempts"},
	ErrAuthRequired:                  {"ER_AUTH_REQUIRED", "Authentication required"},
	ErrSQLSeqScan:                    {"ER_SQL_SEQ_SCAN", "Scanning is not allowed for %s"},
	ErrNoSuchEvent:                   {"ER_NO_SUCH_EVENT", "Unknown event %s"},
	ErrBootstrapNotUnanimous:         {"ER_BOOTSTRAP_NOT_UNANIMOUS", "Replica %s chose a different bootstrap leader %s"},
	ErrCantCheckBootstrapLeader:      {"ER_CANT_CHECK_BOOTSTRAP_LEADER", "Can't check who replica %s chose its bootstrap leader"},
	ErrBootstrapConnectionNotToAll:   {"ER_BOOTSTRAP_CONNECTION_NOT_TO_ALL", "Some replica set members were not specified in box.cfg.replication"},
	ErrNilUUID:                       {"ER_NIL_UUID", "Nil UUID is reserved and can't be used in replication"},
	ErrWrongFunctionOptions:          {"ER_WRONG_FUNCTION_OPTIONS", "Wrong function options: %s"},
	ErrMissingSystemSpaces:           {"ER_MISSING_SYSTEM_SPACES", "Snapshot has no system spaces"},
	ErrClusterNameMismatch:           {"ER_CLUSTER_NAME_MISMATCH", "Cluster name mismatch: name '%s' provided in config confilcts with the instance one '%s'"},
	ErrReplicasetNameMismatch:        {"ER_REPLICASET_NAME_MISMATCH", "Replicaset name mismatch: name '%s' provided in config confilcts with the instance one '%s'"},
	ErrInstanceNameDuplicate:         {"ER_INSTANCE_NAME_DUPLICATE", "Duplicate replica name %s, already occupied by %s"},
	ErrInstanceNameMismatch:          {"ER_INSTANCE_NAME_MISMATCH", "Instance name mismatch: name '%s' provided in config confilcts with the instance one '%s'"},
	ErrSchemaNeedsUpgrade:            {"ER_SCHEMA_NEEDS_UPGRADE", "Your schema version is %s while Tarantool %s requires a more recent schema version. Please, consider using box.schema.upgrade()."},
	ErrSchemaUpgradeInProgress:       {"ER_SCHEMA_UPGRADE_IN_PROGRESS", "Schema upgrade is already in progress"},
	ErrDeprecated:                    {"ER_DEPRECATED", "%s is deprecated"},
	ErrUnconfigured:                  {"ER_UNCONFIGURED", "Please call box.cfg{} first"},
	ErrCreateDefaultFunc:             {"ER_CREATE_DEFAULT_FUNC", "Failed to create field default function '%s': %s"},
	ErrDefaultFuncFailed:             {"ER_DEFAULT_FUNC_FAILED", "Error calling field default function '%s': %s"},
	ErrInvalidDec:                    {"ER_INVALID_DEC", "Invalid decimal: '%s'"},
	ErrInAnotherPromote:              {"ER_IN_ANOTHER_PROMOTE", "box.ctl.promote() is already running"},
	ErrShutdown:                      {"ER_SHUTDOWN", "Server is shutting down"},
	ErrFieldValueOutOfRange:          {"ER_FIELD_VALUE_OUT_OF_RANGE", "The value of field %s exceeds the supported range for type '%s': %s"},
	ErrReplicasetNotFound:            {"ER_REPLICASET_NOT_FOUND", "The replicaset was not found by its name"},
	ErrReplicasetNoWritable:          {"ER_REPLICASET_NO_WRITABLE", "Writable instance was not found in replicaset"},
	ErrReplicasetMoreThanOneWritable: {"ER_REPLICASET_MORE_THAN_ONE_WRITABLE", "More than one writable was found in replicaset"},
	ErrTxnCommit:                     {"ER_TXN_COMMIT", "Transaction was committed"},
	ErrReadViewBusy:                  {"ER_READ_VIEW_BUSY", ""},
	ErrReadViewClosed:                {"ER_READ_VIEW_CLOSED", ""},
	ErrWALQueueFull:                  {"ER_WAL_QUEUE_FULL", ""},
	ErrInvalidVclock:                 {"ER_INVALID_VCLOCK", ""},
	ErrSyncQueueFull:                 {"ER_SYNC_QUEUE_FULL", "The synchronous transaction queue is full"},
	ErrKeyPartValueOutOfRange:        {"ER_KEY_PART_VALUE_OUT_OF_RANGE", ""},
	ErrReplicaGC:                     {"ER_REPLICA_GC", ""},
	ErrAlienEngine:                   {"ER_ALIEN_ENGINE", ""},
	ErrMVCCUnavailable:               {"ER_MVCC_UNAVAILABLE", ""},
	ErrCantUpgradeIndexedField:       {"ER_CANT_UPGRADE_INDEXED_FIELD", ""},
	ErrSyncTimeout:                   {"ER_SYNC_TIMEOUT", ""},
	ErrFieldIrrepresentableValue:     {"ER_FIELD_IRREPRESENTABLE_VALUE", ""},
	ErrKeyPartIrrepresentableValue:   {"ER_KEY_PART_IRREPRESENTABLE_VALUE", ""},
	ErrInvalidSortdataFile:           {"ER_INVALID_SORTDATA_FILE", ""},
	ErrNoSuchThread:                  {"ER_NO_SUCH_THREAD", ""},
	ErrUnableToProcessInThread:       {"ER_UNABLE_TO_PROCESS_IN_THREAD", ""},
	ErrDictOverflow:                  {"ER_DICT_OVERFLOW", ""},
	ErrNoSuchThreadGroup:             {"ER_NO_SUCH_THREAD_GROUP", ""},
	ErrXlogNotFound:                  {"ER_XLOG_NOT_FOUND", ""},
	ErrRecoveryPointTxnLastRow:       {"ER_RECOVERY_POINT_TXN_LAST_ROW", ""},
	ErrNoSuchReadView:                {"ER_NO_SUCH_READ_VIEW", ""},
}
