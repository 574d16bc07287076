package memtx

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testproc"
)

// tarantoolBinary returns the path of the tarantool executable or skips
// the test (fails it when XLOGTOOL_REQUIRE_TARANTOOL=1).
func tarantoolBinary(t *testing.T) string {
	t.Helper()
	return tarantooltest.Require(t)
}

type diffLine struct {
	K     string `json:"k"`
	Type  uint32 `json:"type"`
	Space uint32 `json:"space"`
	Index uint32 `json:"index"`
	Base  uint32 `json:"base"`
	Mp    string `json:"mp"`
	Ok    *bool  `json:"ok"`
	Code  uint32 `json:"code"`
	Msg   string `json:"msg"`
}

func (l *diffLine) decode() (any, error) {
	raw, err := hex.DecodeString(l.Mp)
	if err != nil {
		return nil, err
	}
	return DecodeMsgpack(raw)
}

func (l *diffLine) request() (Request, error) {
	v, err := l.decode()
	if err != nil {
		return Request{}, err
	}
	m, ok := v.(Map)
	if !ok {
		return Request{}, fmt.Errorf("arguments are %T, not a map", v)
	}
	req := Request{Type: box.RowType(l.Type), SpaceID: l.Space, IndexID: l.Index, IndexBase: l.Base}
	get := func(k string) []any {
		x, _ := m.Get(k)
		a, _ := x.([]any)
		if x != nil && a == nil {
			// Lua encodes an empty table as a map.
			a = []any{}
		}
		return a
	}
	req.Key, req.Tuple, req.Ops = get("key"), get("tuple"), get("ops")
	return req, nil
}

func runTarantoolScript(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = testproc.SysProcAttr()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tarantool %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

func TestDifferentialTarantool(t *testing.T) {
	bin := tarantoolBinary(t)
	script, err := filepath.Abs(filepath.Join("testdata", "differential.lua"))
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			out := runTarantoolScript(t, bin, script, t.TempDir(), fmt.Sprint(seed), "5000")
			checkDifferential(t, out)
		})
	}
}

func checkDifferential(t *testing.T, out []byte) {
	// Tarantool 2.6 rules: 'double' takes only doubles, 'scalar' no uuid.
	st := NewStateWithOptions(Options{TypeRules: Rules2})
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var mismatches []string
	requests, failures, finals := 0, 0, 0
	for n := 1; sc.Scan(); n++ {
		var l diffLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d: %v: %s", n, err, sc.Text())
		}
		switch l.K {
		case "row", "req":
			req, err := l.request()
			if err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			got := st.Apply(req)
			if l.K == "row" {
				if got != nil {
					mismatches = append(mismatches, fmt.Sprintf("line %d: row rejected: %v\n  %s", n, got, describe(req)))
				}
				continue
			}
			requests++
			want := *l.Ok
			if !want {
				failures++
			}
			var ae *ApplyError
			switch {
			case want && got != nil:
				mismatches = append(mismatches, fmt.Sprintf("line %d: Tarantool accepted, engine: %v\n  %s", n, got, describe(req)))
			case !want && got == nil:
				mismatches = append(mismatches, fmt.Sprintf("line %d: engine accepted, Tarantool: %d %s\n  %s", n, l.Code, l.Msg, describe(req)))
			case !want && got != nil:
				if asApplyError(got, &ae) && uint32(ae.Code) != l.Code {
					mismatches = append(mismatches, fmt.Sprintf("line %d: error code %d (%s), Tarantool %d (%s)\n  %s",
						n, ae.Code, ae.Message, l.Code, l.Msg, describe(req)))
				}
			}
		case "final":
			finals++
			v, err := l.decode()
			if err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			want, _ := v.([]any)
			mismatches = append(mismatches, compareSpace(st, l.Space, want)...)
		default:
			t.Fatalf("line %d: unknown kind %q", n, l.K)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if finals == 0 || requests == 0 {
		t.Fatalf("incomplete script output: %d requests, %d final spaces", requests, finals)
	}
	t.Logf("%d requests (%d rejected by Tarantool), %d spaces compared", requests, failures, finals)
	if len(mismatches) > 0 {
		if len(mismatches) > 25 {
			mismatches = append(mismatches[:25], fmt.Sprintf("... and %d more", len(mismatches)-25))
		}
		t.Errorf("%d mismatches:\n%s", len(mismatches), strings.Join(mismatches, "\n"))
	}
}

func asApplyError(err error, target **ApplyError) bool {
	ae, ok := err.(*ApplyError)
	if ok {
		*target = ae
	}
	return ok
}

func describe(req Request) string {
	return fmt.Sprintf("%s space=%d index=%d base=%d key=%s tuple=%s ops=%s", req.Type, req.SpaceID, req.IndexID,
		req.IndexBase, show(req.Key), show(req.Tuple), show(req.Ops))
}

// show formats a canonical value compactly for failure messages.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case Map:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e.Key) + ": " + show(e.Value)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case string:
		return fmt.Sprintf("%q", x)
	case []byte:
		return fmt.Sprintf("bin(%x)", x)
	case float32:
		return fmt.Sprintf("float(%v)", x)
	case float64:
		return fmt.Sprintf("double(%v)", x)
	case Decimal:
		return "dec(" + x.String() + ")"
	case UUID:
		return "uuid(" + x.String() + ")"
	}
	return fmt.Sprintf("%v", v)
}

func compareSpace(st *State, id uint32, want []any) []string {
	sp := st.Space(id)
	if sp == nil {
		return []string{fmt.Sprintf("space %d: missing in the engine", id)}
	}
	got := sp.Tuples()
	wantT := make([][]any, len(want))
	for i, w := range want {
		wantT[i], _ = w.([]any)
	}
	if pk := sp.primary(); pk != nil && pk.Type == "hash" {
		sort.SliceStable(wantT, func(i, j int) bool {
			a, _ := newTuple(wantT[i])
			b, _ := newTuple(wantT[j])
			return pk.kd.compare(a, b) < 0
		})
	}
	var out []string
	if len(got) != len(wantT) {
		out = append(out, fmt.Sprintf("space %d (%s): %d tuples, Tarantool has %d", id, sp.Name, len(got), len(wantT)))
	}
	for i := 0; i < len(got) || i < len(wantT); i++ {
		var g, w []any
		if i < len(got) {
			g = got[i]
		}
		if i < len(wantT) {
			w = wantT[i]
		}
		if !Equal(g, w) {
			out = append(out, fmt.Sprintf("space %d (%s) tuple #%d:\n  engine    %s\n  tarantool %s", id, sp.Name, i, show(g), show(w)))
			if len(out) > 5 {
				break
			}
		}
	}
	return out
}
