package box

// Ids of the built-in users and roles.
const (
	UserGuest       = 0
	UserAdmin       = 1
	RolePublic      = 2
	RoleReplication = 3
	RoleSuper       = 31
)

// Privilege bits (_priv field 4).
const (
	PrivRead      = 1
	PrivWrite     = 2
	PrivExecute   = 4
	PrivSession   = 8
	PrivUsage     = 16
	PrivCreate    = 32
	PrivDrop      = 64
	PrivAlter     = 128
	PrivReference = 256
	PrivTrigger   = 512
	PrivInsert    = 1024
	PrivUpdate    = 2048
	PrivDelete    = 4096
	PrivAll       = 0xffffffff
)
