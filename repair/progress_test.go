package repair_test

import (
	"path/filepath"
	"testing"

	"github.com/xlogtool/xlogtool/repair"
)

// Progress climbs to its total.
func TestProgressReachesTotal(t *testing.T) {
	var last, total int64
	calls := 0
	_, err := repair.Run(repair.Options{WALDir: filepath.Join("..", "testdata", "sample"), OutDir: filepath.Join(t.TempDir(), "out"),
		NoSync: true, Progress: func(d, tot int64) {
			if d < last {
				t.Errorf("progress went back: %d after %d", d, last)
			}
			last, total = d, tot
			calls++
		}})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 4 || total == 0 || last != total {
		t.Errorf("%d calls, last %d of %d", calls, last, total)
	}
}
