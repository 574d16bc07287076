package memtx

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestDifferentialTarantoolLong runs the differential workload with many
// seeds. It is skipped unless XLOGTOOL_REPLAY_SEEDS sets the number of
// seeds (e.g. XLOGTOOL_REPLAY_SEEDS=60; 30000 requests each).
func TestDifferentialTarantoolLong(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("XLOGTOOL_REPLAY_SEEDS"))
	if n <= 0 {
		t.Skip("set XLOGTOOL_REPLAY_SEEDS to run")
	}
	bin := tarantoolBinary(t)
	script, err := filepath.Abs(filepath.Join("testdata", "differential.lua"))
	if err != nil {
		t.Fatal(err)
	}
	for seed := 100; seed < 100+n; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			out := runTarantoolScript(t, bin, script, t.TempDir(), fmt.Sprint(seed), "30000")
			checkDifferential(t, out)
		})
	}
}

// TestDifferentialSecondaryLong runs the secondary-index workload with
// many seeds, when XLOGTOOL_SECONDARY_SEEDS sets their number (20000
// operations each).
func TestDifferentialSecondaryLong(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("XLOGTOOL_SECONDARY_SEEDS"))
	if n <= 0 {
		t.Skip("set XLOGTOOL_SECONDARY_SEEDS to run")
	}
	bin := tarantoolBinary(t)
	script, err := filepath.Abs(filepath.Join("testdata", "secondary.lua"))
	if err != nil {
		t.Fatal(err)
	}
	for seed := 100; seed < 100+n; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			out := runTarantoolScript(t, bin, script, t.TempDir(), fmt.Sprint(seed), "20000")
			checkSecondary(t, out)
		})
	}
}
