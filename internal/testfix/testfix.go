// Package testfix finds the real Tarantool files shared beside the
// repository (../shared/fixtures) and compares decoded rows with what
// Tarantool's own reader printed for them (fixtures/oracle).
package testfix

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Dir returns the fixtures directory: $XLOGTOOL_FIXTURES, or shared/fixtures
// found next to an ancestor of the working directory. Without it the test
// is skipped, or fails when XLOGTOOL_REQUIRE_FIXTURES=1.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("XLOGTOOL_FIXTURES"); d != "" {
		return d
	}
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		c := filepath.Join(d, "shared", "fixtures")
		if st, err := os.Stat(filepath.Join(c, "oracle")); err == nil && st.IsDir() {
			return c
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if os.Getenv("XLOGTOOL_REQUIRE_FIXTURES") == "1" {
		t.Fatal("fixtures not found: set XLOGTOOL_FIXTURES or place shared/fixtures beside the repository")
	}
	t.Skip("fixtures not found (../shared/fixtures)")
	return ""
}

// Files lists every .xlog, .snap and .vylog fixture, relative to Dir.
func Files(t testing.TB) []string {
	dir := Dir(t)
	var out []string
	for _, sub := range []string{"tarantool", "tt"} {
		filepath.Walk(filepath.Join(dir, sub), func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return nil
			}
			switch filepath.Ext(p) {
			case ".xlog", ".snap", ".vylog":
				rel, _ := filepath.Rel(dir, p)
				out = append(out, rel)
			}
			return nil
		})
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatalf("no fixtures under %s", dir)
	}
	return out
}

// Oracle returns the rows Tarantool's reader decoded from a fixture, and
// its error line if it stopped.
func Oracle(t testing.TB, rel string) (rows []map[string]any, errLine string) {
	t.Helper()
	f, err := os.Open(filepath.Join(Dir(t), "oracle", rel+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ParseRows(t, f.Name(), mustRead(t, f))
}

func mustRead(t testing.TB, f *os.File) []byte {
	var b bytes.Buffer
	if _, err := b.ReadFrom(f); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ParseRows parses JSON lines; numbers are kept exact.
func ParseRows(t testing.TB, name string, data []byte) (rows []map[string]any, errLine string) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(bytes.ToValidUTF8(line, []byte("\uFFFD"))))
		dec.UseNumber()
		var o map[string]any
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("%s:%d: not JSON: %v", name, n, err)
		}
		if e, ok := o["ERROR"]; ok && o["HEADER"] == nil {
			errLine = fmt.Sprint(e)
			continue
		}
		rows = append(rows, RawStrings(o).(map[string]any))
	}
	return rows, errLine
}

// RawStrings replaces the lossless JSON forms of binary data and of
// strings that are not UTF-8 ({"$binary": BASE64}, {"$string": BASE64},
// also as map keys) by the string Tarantool's reader prints for them: the
// bytes, with each run of bytes that are not UTF-8 as one U+FFFD (as JSON
// decoding turns Tarantool's raw bytes into).
func RawStrings(v any) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = RawStrings(x[i])
		}
		return x
	case map[string]any:
		if s, ok := rawString(x); ok {
			return s
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if strings.HasPrefix(k, `{"$`) {
				var m map[string]any
				if json.Unmarshal([]byte(k), &m) == nil {
					if s, ok := rawString(m); ok {
						k = s
					}
				}
			}
			out[k] = RawStrings(e)
		}
		return out
	}
	return v
}

func rawString(m map[string]any) (string, bool) {
	if len(m) != 1 {
		return "", false
	}
	for k, e := range m {
		s, ok := e.(string)
		if !ok || (k != "$binary" && k != "$string") {
			return "", false
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", false
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), true
	}
	return "", false
}

var typeNames = map[string]string{"30": "RAFT", "31": "PROMOTE", "32": "DEMOTE", "40": "CONFIRM", "41": "ROLLBACK", "12": "NOP"}
var synchroKeys = map[string]string{"2": "replica_id", "3": "lsn", "83": "term", "38": "vclock"}
var raftKeys = map[string]string{"0": "term", "1": "vote", "2": "state", "3": "vclock", "4": "leader_id", "5": "is_leader_seen"}

// Normalize maps the numeric type codes and body keys the oracle prints for
// RAFT and synchronous-replication rows to our names, and drops an empty
// body (the oracle prints an empty Lua table as [], we print {}: either is
// dropped) and any top-level key but HEADER and BODY.
func Normalize(r map[string]any) map[string]any {
	h, _ := r["HEADER"].(map[string]any)
	nh := map[string]any{}
	for k, v := range h {
		nh[k] = v
	}
	if n, ok := nh["type"].(json.Number); ok {
		if name, ok := typeNames[n.String()]; ok {
			nh["type"] = name
		}
	}
	if s, ok := nh["type"].(string); ok {
		nh["type"] = strings.TrimPrefix(s, "RAFT_")
	}
	out := map[string]any{"HEADER": nh}
	body, ok := r["BODY"].(map[string]any)
	if !ok || len(body) == 0 {
		if arr, isArr := r["BODY"].([]any); r["BODY"] != nil && !ok && !(isArr && len(arr) == 0) {
			out["BODY"] = r["BODY"]
		}
		return out
	}
	var keys map[string]string
	switch nh["type"] {
	case "RAFT":
		keys = raftKeys
	case "PROMOTE", "DEMOTE", "CONFIRM", "ROLLBACK":
		keys = synchroKeys
	}
	nb := map[string]any{}
	for k, v := range body {
		if n, ok := keys[k]; ok {
			k = n
		}
		nb[k] = v
	}
	out["BODY"] = nb
	return out
}

// Diff returns "" when a and b are equal (integers exactly, floats within
// 1e-12 relative), or a description of the first difference.
func Diff(a, b any, path string) string {
	na, aNum := a.(json.Number)
	nb, bNum := b.(json.Number)
	if aNum && bNum {
		if na == nb {
			return ""
		}
		if strings.ContainsAny(string(na)+string(nb), ".eE") {
			fa, _ := na.Float64()
			fb, _ := nb.Float64()
			if fa == fb || math.Abs(fa-fb) <= 1e-12*math.Max(math.Abs(fa), math.Abs(fb)) || math.Abs(fa-fb) <= 1e-9 {
				return ""
			}
		}
		return fmt.Sprintf("%s: %v != %v", path, a, b)
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: %v != %v", path, a, b)
		}
		if len(av) != len(bv) {
			return fmt.Sprintf("%s: keys %v vs %v", path, keysOf(av), keysOf(bv))
		}
		for _, k := range keysOf(av) {
			bx, ok := bv[k]
			if !ok {
				return fmt.Sprintf("%s: key %q missing (%v vs %v)", path, k, keysOf(av), keysOf(bv))
			}
			if d := Diff(av[k], bx, path+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return fmt.Sprintf("%s: %v != %v", path, a, b)
		}
		for i := range av {
			if d := Diff(av[i], bv[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if fmt.Sprint(a) != fmt.Sprint(b) || fmt.Sprintf("%T", a) != fmt.Sprintf("%T", b) {
		return fmt.Sprintf("%s: %v (%T) != %v (%T)", path, a, a, b, b)
	}
	return ""
}

func keysOf(m map[string]any) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// CompareRows compares our rows with the oracle's, row for row.
func CompareRows(oracle, ours []map[string]any) string {
	for i := 0; i < len(oracle) && i < len(ours); i++ {
		if d := Diff(Normalize(oracle[i]), Normalize(ours[i]), "$"); d != "" {
			return fmt.Sprintf("row %d: %s", i+1, d)
		}
	}
	if len(oracle) != len(ours) {
		return fmt.Sprintf("row count %d, oracle %d", len(ours), len(oracle))
	}
	return ""
}

// CopyFile copies the file from into to (mode 0644).
func CopyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
