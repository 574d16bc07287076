package box

// MessagePack extension types Tarantool defines.
const (
	ExtDecimal  int8 = 1
	ExtUUID     int8 = 2
	ExtError    int8 = 3
	ExtDatetime int8 = 4
	ExtCompress int8 = 5
	ExtInterval int8 = 6
	ExtTuple    int8 = 7
	ExtArrow    int8 = 8
)
