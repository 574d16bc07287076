package client

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// URI is a parsed server URI.
type URI struct {
	// Addr is the address in Dial form: "host:port" or
	// "unix/:/path/to/socket".
	Addr string
	// User and Password come from the URI's user info; HasUser tells
	// whether the URI named a user at all, HasPassword whether it gave a
	// password (an empty one counts).
	User, Password       string
	HasUser, HasPassword bool
}

// String returns the address with the user name but never the password.
func (t URI) String() string {
	if t.HasUser {
		return t.User + "@" + t.Addr
	}
	return t.Addr
}

// ParseURI parses the server URI forms Tarantool's tools accept:
//
//	host:port                     localhost:3301, 10.0.0.1:3301, [::1]:3301
//	port                          3301 (on localhost)
//	user:password@host:port       user@host:port (no password)
//	tcp://[user:password@]host:port
//	/path/to/socket, ./sock       a Unix socket (any path with a slash)
//	unix/:/path/to/socket         Tarantool's own form, also after user@
//	unix:///path/to/socket        also unix:/path/to/socket
//
// The user info ends at the last '@', so a password may contain '@'.
func ParseURI(uri string) (URI, error) {
	var t URI
	s := strings.TrimSpace(uri)
	if s == "" {
		return t, fmt.Errorf("empty server URI")
	}
	unix := false
	switch {
	case strings.HasPrefix(s, "tcp://"):
		s = s[len("tcp://"):]
	case strings.HasPrefix(s, "unix://"):
		s, unix = s[len("unix://"):], true
	}
	if at := userInfoEnd(s); at >= 0 {
		info := s[:at]
		s = s[at+1:]
		t.HasUser = true
		if user, pass, ok := strings.Cut(info, ":"); ok {
			t.User, t.Password, t.HasPassword = user, pass, true
		} else {
			t.User = info
		}
		if t.User == "" {
			return t, fmt.Errorf("server URI %q: empty user name before '@'", uri)
		}
	}
	switch {
	case strings.HasPrefix(s, "unix/:"):
		s, unix = s[len("unix/:"):], true
	case strings.HasPrefix(s, "unix:"):
		s, unix = s[len("unix:"):], true
	}
	if unix || looksLikePath(s) {
		if s == "" {
			return t, fmt.Errorf("server URI %q: empty socket path", uri)
		}
		t.Addr = "unix/:" + s
		return t, nil
	}
	if n, err := strconv.ParseUint(s, 10, 16); err == nil && n > 0 {
		t.Addr = net.JoinHostPort("localhost", s)
		return t, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return t, fmt.Errorf("server URI %q: want host:port, a port, or a Unix socket path", uri)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return t, fmt.Errorf("server URI %q: bad port %q", uri, port)
	}
	if host == "" {
		host = "localhost"
	}
	t.Addr = net.JoinHostPort(host, port)
	return t, nil
}

// userInfoEnd returns the index of the '@' that ends the user info, or -1:
// the first '@' followed by a socket path, else the last '@' unless what
// precedes it is a path itself.
func userInfoEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '@' && (looksLikePath(s[i+1:]) || strings.HasPrefix(s[i+1:], "unix/:")) {
			if looksLikePath(s[:i]) {
				return -1
			}
			return i
		}
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 || looksLikePath(s[:at]) {
		return -1
	}
	return at
}

// looksLikePath reports whether s names a file rather than host:port.
func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		strings.HasPrefix(s, "~/")
}
