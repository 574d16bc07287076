package client

import (
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	for _, c := range []struct {
		in, addr, user, password string
		hasPassword              bool
	}{
		{"localhost:3301", "localhost:3301", "", "", false},
		{"3301", "localhost:3301", "", "", false},
		{"10.0.0.1:3301", "10.0.0.1:3301", "", "", false},
		{"[::1]:3301", "[::1]:3301", "", "", false},
		{":3301", "localhost:3301", "", "", false},
		{"admin:secret@host:3301", "host:3301", "admin", "secret", true},
		{"admin:@host:3301", "host:3301", "admin", "", true},
		{"admin@host:3301", "host:3301", "admin", "", false},
		{"admin:p@ss@host:3301", "host:3301", "admin", "p@ss", true},
		{"tcp://host:3301", "host:3301", "", "", false},
		{"tcp://u:p@host:3301", "host:3301", "u", "p", true},
		{"/var/run/t.sock", "unix/:/var/run/t.sock", "", "", false},
		{"./t.sock", "unix/:./t.sock", "", "", false},
		{"unix/:/var/run/t.sock", "unix/:/var/run/t.sock", "", "", false},
		{"u:p@unix/:/var/run/t.sock", "unix/:/var/run/t.sock", "u", "p", true},
		{"u:p@/run/a@b.sock", "unix/:/run/a@b.sock", "u", "p", true},
		{"/run/a@b.sock", "unix/:/run/a@b.sock", "", "", false},
		{"unix:///var/run/t.sock", "unix/:/var/run/t.sock", "", "", false},
	} {
		got, err := ParseURI(c.in)
		if err != nil {
			t.Errorf("ParseURI(%q): %v", c.in, err)
			continue
		}
		if got.Addr != c.addr || got.User != c.user || got.Password != c.password || got.HasPassword != c.hasPassword ||
			got.HasUser != (c.user != "") {
			t.Errorf("ParseURI(%q) = %+v, want %s %q %q", c.in, got, c.addr, c.user, c.password)
		}
		if strings.Contains(got.String(), "secret") {
			t.Errorf("%+v prints its password: %s", got, got)
		}
	}
	for _, bad := range []string{"", "host", "host:port", "host:0", "@host:1", "host:70000", "unix/:"} {
		if got, err := ParseURI(bad); err == nil {
			t.Errorf("ParseURI(%q) = %+v, want an error", bad, got)
		}
	}
}
