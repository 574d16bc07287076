package repair

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/format"
)

// The output check insists on names Tarantool reads: the signature of the
// header's vclock.
func TestCheckOutputNames(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "sample", "00000000000000000000.snap"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "00000000000000000007.snap"), b, 0o644)
	m, _, err := format.ReadAll(filepath.Join(dir, "00000000000000000007.snap"), format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	probs := checkOutput(dir, dir, m.VClock, m.Instance)
	if !strings.Contains(strings.Join(probs, "; "), "header does not match") {
		t.Errorf("a misnamed snapshot passes the check: %v", probs)
	}
}
