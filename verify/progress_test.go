package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/xlogtool/xlogtool/verify"
)

// Progress is told about every byte of the files, once.
func TestProgressCountsEveryByte(t *testing.T) {
	dir := filepath.Join("..", "testdata", "sample")
	var want int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if info, err := e.Info(); err == nil && (filepath.Ext(e.Name()) == ".xlog" || filepath.Ext(e.Name()) == ".snap") {
			want += info.Size()
		}
	}
	var got atomic.Int64
	srcs := []verify.Source{{Name: "a", Dir: dir}, {Name: "b", Dir: dir}}
	if _, err := verify.Run(context.Background(), srcs, verify.Options{Progress: func(n int64) { got.Add(n) }}); err != nil {
		t.Fatal(err)
	}
	if got.Load() != 2*want {
		t.Errorf("progress told %d bytes, the files hold %d", got.Load(), 2*want)
	}
}
