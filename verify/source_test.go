package verify

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseSourceNames(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ arg, name, dir string }{
		{"i1", "i1", "i1"},
		{"/data/i1/", "i1", "/data/i1/"},
		{"a=/data/i1", "a", "/data/i1"},
		{".", filepath.Base(wd), "."},
		{"..", filepath.Base(filepath.Dir(wd)), ".."},
		{"./", filepath.Base(wd), "./"},
		// A path with "=" in a directory name is a DIR, not NAME=DIR.
		{"/data/x=1/i1", "i1", "/data/x=1/i1"},
		{"a=x=1/i1", "a", "x=1/i1"},
	} {
		s, err := ParseSource(c.arg)
		if err != nil || s.Name != c.name || s.Dir != c.dir {
			t.Errorf("ParseSource(%q) = %+v, %v; want name %q, dir %q", c.arg, s, err, c.name, c.dir)
		}
	}
	for _, bad := range []string{"=dir", "a="} {
		if _, err := ParseSource(bad); err == nil {
			t.Errorf("ParseSource(%q): no error", bad)
		}
	}
}
