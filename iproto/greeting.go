package iproto

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/xlogtool/xlogtool/box"
)

// GreetingSize is the size of the greeting a server sends on connect.
const GreetingSize = 128

// Greeting is the parsed server greeting.
type Greeting struct {
	Version      box.Version
	Protocol     string // "Binary" for IPROTO
	InstanceUUID string // empty for servers older than 1.6.7
	Salt         []byte // decoded salt, at least 20 bytes
}

// ParseGreeting parses the 128-byte greeting of an IPROTO server.
func ParseGreeting(b []byte) (Greeting, error) {
	g, err := parseGreeting(b)
	if err != nil {
		return Greeting{}, fmt.Errorf("iproto: %w", err)
	}
	return g, nil
}

func parseGreeting(b []byte) (Greeting, error) {
	var g Greeting
	if len(b) != GreetingSize {
		return g, fmt.Errorf("greeting is %d bytes, want %d", len(b), GreetingSize)
	}
	if b[63] != '\n' || b[127] != '\n' {
		return g, errors.New("greeting lines are not newline-terminated")
	}
	line := string(b[:63])
	rest, ok := strings.CutPrefix(line, "Tarantool ")
	if !ok {
		return g, fmt.Errorf("not a Tarantool greeting: %q", strings.TrimRight(line, " "))
	}
	ver, rest, _ := strings.Cut(rest, " ")
	v, err := box.ParseVersion(ver)
	if err != nil {
		return g, fmt.Errorf("%w in greeting", err)
	}
	g.Version = v
	rest = strings.TrimLeft(rest, " ")
	proto, after, ok := strings.Cut(rest, ")")
	if !strings.HasPrefix(proto, "(") || !ok {
		return g, fmt.Errorf("no protocol in greeting %q", strings.TrimRight(line, " "))
	}
	g.Protocol = proto[1:]
	if g.Protocol != "Binary" {
		return g, fmt.Errorf("server speaks %q, not the binary protocol", g.Protocol)
	}
	if uuid := strings.Fields(after); len(uuid) > 0 {
		g.InstanceUUID = uuid[0]
	}
	salt64 := bytes.TrimRight(b[64:127], " ")
	salt := make([]byte, base64.StdEncoding.DecodedLen(len(salt64)))
	n, err := base64.StdEncoding.Decode(salt, salt64)
	if err != nil {
		return g, fmt.Errorf("greeting salt: %w", err)
	}
	if n < scrambleSaltSize {
		return g, fmt.Errorf("greeting salt is %d bytes, want at least %d", n, scrambleSaltSize)
	}
	g.Salt = salt[:n]
	return g, nil
}

// scrambleSaltSize is how much of the salt chap-sha1 uses.
const scrambleSaltSize = 20

// Scramble computes the chap-sha1 scramble of password for the greeting salt:
// SHA1(password) XOR SHA1(salt[:20] + SHA1(SHA1(password))).
func Scramble(salt []byte, password string) ([]byte, error) {
	if len(salt) < scrambleSaltSize {
		return nil, fmt.Errorf("iproto: salt is %d bytes, want at least %d", len(salt), scrambleSaltSize)
	}
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	h := sha1.New()
	h.Write(salt[:scrambleSaltSize])
	h.Write(h2[:])
	h3 := h.Sum(nil)
	out := make([]byte, sha1.Size)
	for i := range out {
		out[i] = h1[i] ^ h3[i]
	}
	return out, nil
}
