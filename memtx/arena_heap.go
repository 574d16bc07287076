//go:build !unix

package memtx

func mapSlab(n int) []byte { return make([]byte, n) }

func unmapSlab([]byte) {}
