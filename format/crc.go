package format

import "hash/crc32"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum computes the block checksum Tarantool stores: CRC-32C
// (Castagnoli) started from 0 and not inverted at the end, which differs
// from the standard CRC-32C.
func Checksum(p []byte) uint32 { return UpdateChecksum(0, p) }

// UpdateChecksum continues a Checksum over more data.
func UpdateChecksum(crc uint32, p []byte) uint32 {
	return ^crc32.Update(^crc, castagnoli, p)
}
