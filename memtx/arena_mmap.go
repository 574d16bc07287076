//go:build unix

package memtx

import "syscall"

// mapSlab maps a slab outside the Go heap: the collector neither scans
// it nor counts it towards its next cycle.
func mapSlab(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]byte, n)
	}
	return b
}

func unmapSlab(b []byte) { _ = syscall.Munmap(b) }
