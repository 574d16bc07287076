package iproto

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
)

// greetingOf builds a greeting from its two lines, padded as servers do.
func greetingOf(line1, line2 string) []byte {
	pad := func(s string) string { return s + strings.Repeat(" ", 63-len(s)) + "\n" }
	return []byte(pad(line1) + pad(line2))
}

// The greeting of a Tarantool 2.6.0 server (FORMAT.md §7.2).
var sample = greetingOf(
	"Tarantool 2.6.0 (Binary) 79262056-f30f-43dc-9b1e-962a614b3799",
	"yIaS2a+Z/u0KT8yDbPZodxh8aaOfxJXnftQPVhTNjZg=")

func TestParseGreeting(t *testing.T) {
	g, err := ParseGreeting(sample)
	if err != nil {
		t.Fatal(err)
	}
	if g.Version != (box.Version{Major: 2, Minor: 6, Patch: 0}) || g.Version.ID() != 0x020600 || g.Version.String() != "2.6.0" {
		t.Errorf("version %+v id %#x", g.Version, g.Version.ID())
	}
	if g.Protocol != "Binary" || g.InstanceUUID != "79262056-f30f-43dc-9b1e-962a614b3799" || len(g.Salt) != 32 {
		t.Errorf("greeting %+v", g)
	}

	old, err := ParseGreeting(greetingOf("Tarantool 1.6.6-191-g82d1bc3 (Binary)", "yIaS2a+Z/u0KT8yDbPZodxh8aaOfxJXnftQPVhTNjZg="))
	if err != nil || old.Version != (box.Version{Major: 1, Minor: 6, Patch: 6}) || old.InstanceUUID != "" {
		t.Errorf("old greeting: %+v, %v", old, err)
	}
	newer, err := ParseGreeting(greetingOf("Tarantool 3.2.1 (Binary) 79262056-f30f-43dc-9b1e-962a614b3799", "yIaS2a+Z/u0KT8yDbPZodxh8aaOfxJXnftQPVhTNjZg="))
	if err != nil || !newer.Version.AtLeast(2, 10, 0) || newer.Version.AtLeast(3, 2, 2) {
		t.Errorf("3.2.1 greeting: %+v, %v", newer, err)
	}
	beta, err := ParseGreeting(greetingOf("Tarantool 2.10.0-beta1 (Binary)", "yIaS2a+Z/u0KT8yDbPZodxh8aaOfxJXnftQPVhTNjZg="))
	if err != nil || beta.Version != (box.Version{Major: 2, Minor: 10, Patch: 0}) {
		t.Errorf("2.10.0-beta1 greeting: %+v, %v", beta, err)
	}
}

func TestParseGreetingErrors(t *testing.T) {
	salt := "yIaS2a+Z/u0KT8yDbPZodxh8aaOfxJXnftQPVhTNjZg="
	cases := map[string][]byte{
		"short":       sample[:127],
		"no newline":  append(append([]byte{}, sample[:127]...), ' '),
		"not tnt":     greetingOf("Redis 2.6.0 (Binary) x", salt),
		"console":     greetingOf("Tarantool 2.6.0 (Lua console)", "type 'help' for interactive help"),
		"bad version": greetingOf("Tarantool 2.x.0 (Binary) x", salt),
		"no version":  greetingOf("Tarantool ", salt),
		"bad salt":    greetingOf("Tarantool 2.6.0 (Binary) x", "!!!!"),
		"short salt":  greetingOf("Tarantool 2.6.0 (Binary) x", "c2hvcnQ="),
	}
	for name, b := range cases {
		if _, err := ParseGreeting(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The vector was computed with Tarantool's digest module from the formula
// SHA1(pw) XOR SHA1(salt[:20] .. SHA1(SHA1(pw))).
func TestScramble(t *testing.T) {
	g, err := ParseGreeting(sample)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Scramble(g.Salt, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(s); got != "de3245fc6a7120b4da9b7c9d262112cf584b8005" {
		t.Fatalf("scramble %s", got)
	}
	if _, err := Scramble(g.Salt[:19], "secret"); err == nil {
		t.Fatal("short salt accepted")
	}
}

func FuzzParseGreeting(f *testing.F) {
	f.Add(sample)
	f.Add(greetingOf("Tarantool 1.6.6 (Binary)", "c2hvcnQ="))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseGreeting(b)
		if err == nil && len(g.Salt) < 20 {
			t.Fatalf("accepted salt of %d bytes", len(g.Salt))
		}
	})
}
