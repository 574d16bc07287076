package memtx

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
)

// TestDifferentialSecondary runs a seeded workload of DML through every
// kind of index, selects with every iterator and transactions that
// commit or roll back in Tarantool 2.6.0 and in the engine, and compares
// every outcome: error codes and messages, the tuples returned, the
// tuples selected and the final content of every TREE index.
func TestDifferentialSecondary(t *testing.T) {
	bin := tarantoolBinary(t)
	script, err := filepath.Abs(filepath.Join("testdata", "secondary.lua"))
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			out := runTarantoolScript(t, bin, script, t.TempDir(), fmt.Sprint(seed), "3000")
			checkSecondary(t, out)
		})
	}
}

// secLine is a line of secondary.lua's output (see the script).
type secLine struct {
	diffLine
	Res    string `json:"res"`
	It     uint32 `json:"it"`
	Offset uint32 `json:"offset"`
	Limit  uint32 `json:"limit"`
}

func decodeHex(t *testing.T, s string) any {
	t.Helper()
	if s == "" {
		return nil
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeMsgpack(raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func decodedTuples(ts []Tuple) []any {
	out := []any{}
	for _, tu := range ts {
		out = append(out, tu.Decode())
	}
	return out
}

func checkSecondary(t *testing.T, out []byte) {
	st := NewStateWithOptions(Options{TypeRules: Rules2})
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var bad []string
	mismatch := func(n int, format string, args ...any) {
		bad = append(bad, fmt.Sprintf("line %d: ", n)+fmt.Sprintf(format, args...))
	}
	// outcome compares an engine error with Tarantool's.
	outcome := func(n int, l *secLine, err error, what string) bool {
		var ae *ApplyError
		switch {
		case *l.Ok && err != nil:
			mismatch(n, "%s: Tarantool accepted, engine: %v", what, err)
		case !*l.Ok && err == nil:
			mismatch(n, "%s: engine accepted, Tarantool: %d %s", what, l.Code, l.Msg)
		case !*l.Ok:
			if !asApplyError(err, &ae) || uint32(ae.Code) != l.Code || ae.Message != l.Msg {
				mismatch(n, "%s: engine %v, Tarantool %d %q", what, err, l.Code, l.Msg)
			}
		}
		return *l.Ok && err == nil
	}
	counts := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		var l secLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d: %v: %s", n, err, sc.Text())
		}
		counts[l.K]++
		switch l.K {
		case "row":
			req, err := l.request()
			if err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			if err := st.Apply(req); err != nil {
				t.Fatalf("line %d: schema row rejected: %v", n, err)
			}
		case "req":
			req, err := l.request()
			if err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			ch, err := st.Execute(req)
			if !outcome(n, &l, err, describe(req)) {
				continue
			}
			var got Tuple
			switch req.Type {
			case box.TypeDelete:
				got = ch.Old
			case box.TypeUpsert:
				continue // Tarantool 2.6 returns nothing
			default:
				got = ch.New
			}
			if want := decodeHex(t, l.Res); !reflect.DeepEqual(got.Decode(), want) && !(got == nil && want == nil) {
				mismatch(n, "%s returned %s, Tarantool %s", describe(req), show(got.Decode()), show(want))
			}
		case "sel":
			args, _ := decodeHex(t, l.Mp).(Map)
			kv, _ := args.Get("key")
			key, _ := kv.([]any)
			got, err := st.Select(l.Space, l.Index, box.Iterator(l.It), key, l.Offset, l.Limit)
			what := fmt.Sprintf("select space %d index %d iterator %d key %s offset %d limit %d",
				l.Space, l.Index, l.It, show(key), l.Offset, l.Limit)
			if !outcome(n, &l, err, what) {
				continue
			}
			want, _ := decodeHex(t, l.Res).([]any)
			if want == nil {
				want = []any{}
			}
			if g := decodedTuples(got); !reflect.DeepEqual(g, want) {
				mismatch(n, "%s: %s, Tarantool %s", what, show(g), show(want))
			}
		case "begin":
			if err := st.Begin(); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
		case "commit":
			st.Commit()
		case "rollback":
			st.Rollback()
		case "final":
			want, _ := decodeHex(t, l.Res).([]any)
			var got []any
			st.Space(l.Space).Index(l.Index).Ascend(func(tu Tuple) bool {
				got = append(got, tu.Decode())
				return true
			})
			if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
				mismatch(n, "space %d index %d holds %s, Tarantool %s", l.Space, l.Index, show(got), show(want))
			}
		default:
			t.Fatalf("line %d: unknown kind %q", n, l.K)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if counts["req"] == 0 || counts["sel"] == 0 || counts["final"] == 0 || counts["rollback"] == 0 {
		t.Fatalf("incomplete script output: %v", counts)
	}
	t.Logf("%v", counts)
	if len(bad) > 0 {
		if len(bad) > 25 {
			bad = append(bad[:25], fmt.Sprintf("... and %d more", len(bad)-25))
		}
		t.Errorf("%d mismatches:\n%s", len(bad), strings.Join(bad, "\n"))
	}
}
