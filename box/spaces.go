package box

// Ids of Tarantool's system spaces.
const (
	SpaceVinylDeferredDelete uint32 = 257
	SpaceSchema              uint32 = 272
	SpaceCollation           uint32 = 276
	SpaceVCollation          uint32 = 277
	SpaceSpace               uint32 = 280
	SpaceVSpace              uint32 = 281
	SpaceSequence            uint32 = 284
	SpaceSequenceData        uint32 = 285
	SpaceVSequence           uint32 = 286
	SpaceIndex               uint32 = 288
	SpaceVIndex              uint32 = 289
	SpaceFunc                uint32 = 296
	SpaceVFunc               uint32 = 297
	SpaceUser                uint32 = 304
	SpaceVUser               uint32 = 305
	SpacePriv                uint32 = 312
	SpaceVPriv               uint32 = 313
	SpaceCluster             uint32 = 320
	SpaceTrigger             uint32 = 328
	SpaceTruncate            uint32 = 330
	SpaceSpaceSequence       uint32 = 340
	SpaceFkConstraint        uint32 = 356
	SpaceCkConstraint        uint32 = 364
	SpaceFuncIndex           uint32 = 372
	SpaceSessionSettings     uint32 = 380
	SpaceGcConsumers         uint32 = 388
	SpaceRecoveryPoint       uint32 = 396

	// System spaces have ids strictly between these bounds.
	SystemIDMin uint32 = 256
	SystemIDMax uint32 = 511

	// SystemSpaceMax: spaces with smaller ids are system spaces (and ids
	// below 256 that are not system are rare user spaces created with
	// explicit ids; `tt cat` hides every id below 512 unless asked).
	SystemSpaceMax = 512
)

// spaceNames are the system spaces' names.
var spaceNames = map[uint32]string{
	SpaceVinylDeferredDelete: "_vinyl_deferred_delete", SpaceSchema: "_schema",
	SpaceCollation: "_collation", SpaceVCollation: "_vcollation", SpaceSpace: "_space",
	SpaceVSpace: "_vspace", SpaceSequence: "_sequence", SpaceSequenceData: "_sequence_data",
	SpaceVSequence: "_vsequence", SpaceIndex: "_index", SpaceVIndex: "_vindex",
	SpaceFunc: "_func", SpaceVFunc: "_vfunc", SpaceUser: "_user", SpaceVUser: "_vuser",
	SpacePriv: "_priv", SpaceVPriv: "_vpriv", SpaceCluster: "_cluster",
	SpaceTrigger: "_trigger", SpaceTruncate: "_truncate", SpaceSpaceSequence: "_space_sequence",
	SpaceFkConstraint: "_fk_constraint", SpaceCkConstraint: "_ck_constraint",
	SpaceFuncIndex: "_func_index", SpaceSessionSettings: "_session_settings",
	SpaceGcConsumers: "_gc_consumers", SpaceRecoveryPoint: "_recovery_point",
}

// SpaceName returns the name of a system space, or "" for another id.
func SpaceName(id uint32) string { return spaceNames[id] }

// IsSystemSpace reports whether id is in the system space range.
func IsSystemSpace(id uint32) bool { return id > SystemIDMin && id < SystemIDMax }
