package iproto

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
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

// scrambleSize is the size of a chap-sha1 scramble.
const scrambleSize = sha1.Size

// SaltSize is the size of the salt a server puts into its greeting.
const SaltSize = 32

// EncodeGreeting returns the 128-byte greeting of g as a server sends it:
// "Tarantool X.Y.Z (Binary) UUID" and the base64 salt, each line padded
// with spaces to 63 bytes and ended by a newline. An empty Protocol is
// Binary.
func EncodeGreeting(g Greeting) ([]byte, error) {
	proto := g.Protocol
	if proto == "" {
		proto = "Binary"
	}
	line1 := fmt.Sprintf("Tarantool %s (%s) %s", g.Version, proto, g.InstanceUUID)
	line2 := base64.StdEncoding.EncodeToString(g.Salt)
	if len(line1) > 63 || len(line2) > 63 {
		return nil, fmt.Errorf("iproto: greeting %q / %q does not fit 63 bytes", line1, line2)
	}
	if len(g.Salt) < scrambleSaltSize {
		return nil, fmt.Errorf("iproto: salt is %d bytes, want at least %d", len(g.Salt), scrambleSaltSize)
	}
	b := bytes.Repeat([]byte{' '}, GreetingSize)
	copy(b, line1)
	copy(b[64:], line2)
	b[63], b[127] = '\n', '\n'
	return b, nil
}

// Scramble computes the chap-sha1 scramble of password for the greeting salt:
// SHA1(password) XOR SHA1(salt[:20] + SHA1(SHA1(password))).
func Scramble(salt []byte, password string) ([]byte, error) {
	if len(salt) < scrambleSaltSize {
		return nil, fmt.Errorf("iproto: salt is %d bytes, want at least %d", len(salt), scrambleSaltSize)
	}
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	h3 := saltedHash(salt, h2[:])
	out := make([]byte, sha1.Size)
	for i := range out {
		out[i] = h1[i] ^ h3[i]
	}
	return out, nil
}

func saltedHash(salt, h2 []byte) []byte {
	h := sha1.New()
	h.Write(salt[:scrambleSaltSize])
	h.Write(h2)
	return h.Sum(nil)
}

// PasswordHash returns what Tarantool stores for a chap-sha1 password in
// _user (auth {"chap-sha1": ...}): base64(SHA1(SHA1(password))).
func PasswordHash(password string) string {
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	return base64.StdEncoding.EncodeToString(h2[:])
}

// CheckScramble verifies a chap-sha1 scramble a client sent for the salt
// of the greeting against the stored hash (PasswordHash): with
// h1 = scramble XOR SHA1(salt[:20] + SHA1(SHA1(password))), the scramble
// is right when SHA1(h1) is the stored SHA1(SHA1(password)).
func CheckScramble(salt, scramble []byte, stored string) bool {
	h2, err := base64.StdEncoding.DecodeString(stored)
	if err != nil || len(h2) != sha1.Size || len(scramble) != scrambleSize || len(salt) < scrambleSaltSize {
		return false
	}
	h3 := saltedHash(salt, h2)
	h1 := make([]byte, sha1.Size)
	for i := range h1 {
		h1[i] = scramble[i] ^ h3[i]
	}
	got := sha1.Sum(h1)
	return subtle.ConstantTimeCompare(got[:], h2) == 1
}
