package synchro_test

import (
	"testing"

	"github.com/xlogtool/xlogtool/synchro"
)

func TestRulesFor(t *testing.T) {
	for _, c := range []struct {
		v                                      string
		flags, implicit, mismatch, filters, gB bool
		outdatedOK, snapLimbo                  bool
	}{
		{"2.5.1-0-g1", false, true, true, false, false, false, false},
		{"2.6.0-0-g47aa4e01e", false, true, true, false, false, false, false},
		{"2.6.2-0-g1", false, true, false, false, false, false, false},
		{"2.6.3-0-g1", true, true, false, false, false, false, false},
		{"2.7.0-0-g1", false, true, true, false, false, false, false},
		{"2.7.2-0-g1", true, true, false, false, false, false, false},
		{"2.7.3-0-g1", true, false, false, false, false, false, true},
		{"2.8.1-0-g1", true, true, false, false, false, false, false},
		{"2.8.2-0-g1", true, false, false, false, false, false, true},
		{"2.10.0-0-g1", true, false, false, false, false, false, true},
		{"2.10.1-0-g1", true, false, false, true, false, false, true},
		{"2.11.7-0-g1", true, false, false, true, false, false, true},
		{"2.11.8-0-g1", true, false, false, true, false, true, true},
		{"3.4.1-0-g1", true, false, false, true, false, false, true},
		{"3.5.0-0-g1", true, false, false, true, false, true, true},
		{"3.5.2-0-g1", true, false, false, true, true, true, true},
		{"3.6.2-0-g1", true, false, false, true, false, true, true},
		{"3.6.3-0-g1", true, false, false, true, true, true, true},
		{"3.8.0-0-g1", true, false, false, true, true, true, true},
		{"", false, false, false, false, false, false, false},
	} {
		r := synchro.RulesFor(c.v)
		got := [7]bool{r.Flags, r.ImplicitOwner, r.MasterMismatch, r.Filters, r.FiltersB, r.OutdatedConfirmOK, r.SnapshotLimbo}
		want := [7]bool{c.flags, c.implicit, c.mismatch, c.filters, c.gB, c.outdatedOK, c.snapLimbo}
		if got != want {
			t.Errorf("%q: got %v, want %v", c.v, got, want)
		}
	}
	if synchro.RulesFor("3.8.0").TermStart != 1 || synchro.RulesFor("3.7.1").TermStart != 0 {
		t.Error("termStart")
	}
}
