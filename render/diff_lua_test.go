package render_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/render"
)

// The spaces of the Lua differential test: an unsigned primary key, a
// string primary key, and an unsigned primary key with a unique secondary
// index on field 2 (field 2 is always the primary key + luaSecondary).
const (
	luaSpaceUint   = 512
	luaSpaceStr    = 513
	luaSpaceTwoIdx = 514
	luaSecondary   = 1000
)

var luaStrKeys = []string{"", "a", "b", "'", "\"", "\\", "\n", "\x00", "a\x00b", "\xff\xfe", "é", "日本", "key'\\\"\n", "\r\t", "]]", "--"}

// luaDMLRow makes one data row that Tarantool 2.6.0 applies, or rejects for
// a reason it shares with the Lua statement (a duplicate key, an update of
// a missing field ...).
func (g *rowGen) luaDMLRow() (box.RowType, []byte) {
	space := []uint64{luaSpaceUint, luaSpaceStr, luaSpaceTwoIdx}[g.n(3)]
	pkNum := uint64(g.n(24))
	pkStr := luaStrKeys[g.n(len(luaStrKeys))]
	pk := func(b []byte) []byte {
		if space == luaSpaceStr {
			return mpStr(b, []byte(pkStr), g.strClass())
		}
		// Minimal: Tarantool 2.6.0 takes an unsigned key written in a wider
		// encoding for another key than the same number written minimally
		// (recovery then keeps both tuples).
		return mpUint(b, pkNum, 0)
	}
	tuple := func() []byte {
		n := g.n(6)
		extra := 2
		b := mpArray(nil, 1+extra+n, g.chance(0.1))
		b = pk(b)
		if space == luaSpaceTwoIdx {
			b = mpUint(b, pkNum+luaSecondary, 0)
		} else if g.chance(0.7) {
			b = mpUint(b, uint64(g.n(1000)), g.width())
		} else {
			b = g.value(b, 1)
		}
		if g.chance(0.7) {
			b = mpStr(b, g.str(4), g.strClass())
		} else {
			b = g.value(b, 1)
		}
		for i := 0; i < n; i++ {
			if g.chance(0.02) {
				b = g.deep(b, 20+g.n(120))
				continue
			}
			b = g.value(b, 1)
		}
		return b
	}
	key := func() (uint64, []byte) {
		if space == luaSpaceTwoIdx && g.chance(0.4) {
			return 1, mpUint(mpArray(nil, 1, false), pkNum+luaSecondary, 0)
		}
		return 0, pk(mpArray(nil, 1, false))
	}
	base := uint64(g.n(2))
	kvs := []kv{{box.KeySpaceID, mpUint(nil, space, g.width())}}
	baseKV := func() {
		if base == 1 || g.chance(0.5) {
			kvs = append(kvs, kv{box.KeyIndexBase, mpUint(nil, base, 0)})
		}
	}
	var t box.RowType
	switch g.n(7) {
	case 0, 1:
		t = box.TypeInsert
		kvs = append(kvs, kv{box.KeyTuple, tuple()})
	case 2, 3:
		t = box.TypeReplace
		kvs = append(kvs, kv{box.KeyTuple, tuple()})
	case 4:
		t = box.TypeDelete
		id, k := key()
		kvs = append(kvs, kv{box.KeyIndexID, mpUint(nil, id, 0)}, kv{box.KeyKey, k})
	case 5:
		t = box.TypeUpdate
		id, k := key()
		kvs = append(kvs, kv{box.KeyIndexID, mpUint(nil, id, 0)}, kv{box.KeyKey, k},
			kv{box.KeyTuple, g.luaOps(base)})
		baseKV()
	case 6:
		t = box.TypeUpsert
		kvs = append(kvs, kv{box.KeyTuple, tuple()}, kv{box.KeyOps, g.luaOps(base)})
		baseKV()
	}
	// Body keys in their one-byte form: Tarantool 2.6.0 finds the keys of a
	// request body by their first byte, and passes over wider encodings.
	g.r.Shuffle(len(kvs), func(i, j int) { kvs[i], kvs[j] = kvs[j], kvs[i] })
	b := mpMap(nil, len(kvs), false)
	for _, e := range kvs {
		b = append(mpUint(b, e.key, 0), e.val...)
	}
	return t, b
}

// luaOps makes update operations on fields 2 and beyond (1-based), written
// with index base base: field numbers and splice offsets of 0 and above are
// base-relative, negative ones count from the end.
func (g *rowGen) luaOps(base uint64) []byte {
	n := 1 + g.n(3)
	b := mpArray(nil, n, false)
	// Field numbers and splice arguments in every encoding of at most 32
	// bits, signed ones of values >= 0 too: Tarantool reads them as int32
	// and rejects 64-bit encodings.
	w32 := func() int { return []int{0, 0, 1, 2, 4}[g.n(5)] }
	num := func(b []byte, v int64) []byte {
		if v >= 0 && g.chance(0.7) {
			return mpUint(b, uint64(v), w32())
		}
		return mpInt(b, v, w32())
	}
	for i := 0; i < n; i++ {
		op := []string{"=", "=", "+", "-", "!", "#", "&", "|", "^", ":", ":"}[g.n(11)]
		args := 1
		if op == ":" {
			args = 3
		}
		b = mpArray(b, 2+args, false)
		b = mpStr(b, []byte(op), 0)
		field := int64(2 + g.n(3))
		if op == ":" {
			field = 3
		}
		if g.chance(0.2) {
			b = num(b, -1-int64(g.n(2)))
		} else {
			b = num(b, field-1+int64(base))
		}
		switch op {
		case "=", "!":
			b = g.value(b, 2)
		case "+", "-":
			switch g.n(4) {
			case 0:
				b = mpFloat64(b, g.float64Value())
			case 1:
				b = mpInt(b, g.negValue(), g.width())
			default:
				b = mpUint(b, uint64(g.n(100)), g.width())
			}
		case "&", "|", "^":
			b = mpUint(b, uint64(g.n(1<<16)), g.width())
		case "#":
			b = mpUint(b, uint64(1+g.n(2)), w32())
		case ":":
			if g.chance(0.2) {
				b = num(b, -1-int64(g.n(3)))
			} else {
				b = num(b, int64(g.n(3))+int64(base)) // offsets 1..3, 1-based
			}
			b = mpUint(b, uint64(g.n(3)), w32())
			b = mpStr(b, g.str(3), g.strClass())
		}
	}
	return b
}

// luaDump prints each test space as one line "SPACE id [tuples]": the
// tuples in primary key order as JSON, maps with sorted keys, decimals and
// uuids as tagged objects (so that a string never passes for them), cdata
// integers as their digits.
const luaDump = `
local json, decimal, msgpack, ffi = require('json'), require('decimal'), require('msgpack'), require('ffi')
local uuid_t = ffi.typeof(require('uuid').NULL)
local render
local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
local function num(x)
    if math.floor(x) == x and math.abs(x) < 2^53 then return string.format('%d', x) end
    return string.format('%.17g', x)
end
render = function(v)
    if v == nil then return 'null' end
    local k = type(v)
    if k == 'number' then return num(v)
    elseif k == 'string' then return json.encode(v)
    elseif k == 'boolean' then return tostring(v)
    elseif k == 'cdata' then
        if decimal.is_decimal(v) then
            return '{"$decimal":' .. json.encode(tostring(v)) .. ',"mp":"' .. hex(msgpack.encode(v)) .. '"}'
        elseif ffi.istype(uuid_t, v) then
            return '{"$uuid":' .. json.encode(tostring(v)) .. '}'
        elseif box.tuple.is(v) then
            return render(v:totable())
        end
        local d = tostring(v):match('^(%-?%d+)U?LL$')
        if d then return d end
        return json.encode('?' .. tostring(v))
    elseif k == 'table' then
        local mt = getmetatable(v)
        if mt and mt.__serialize == 'map' then
            local keys, out = {}, {}
            for key in pairs(v) do keys[#keys + 1] = key end
            table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
            for _, key in ipairs(keys) do
                local ks = type(key) == 'number' and num(key) or tostring(key)
                out[#out + 1] = json.encode(ks) .. ':' .. render(v[key])
            end
            return '{' .. table.concat(out, ',') .. '}'
        end
        local out = {}
        for i = 1, table.maxn(v) do out[i] = render(v[i]) end
        return '[' .. table.concat(out, ',') .. ']'
    end
    return json.encode('?' .. tostring(v))
end
local function dump()
    for _, id in ipairs({512, 513, 514}) do
        local out = {}
        for _, t in box.space[id]:pairs() do out[#out + 1] = render(t) end
        print('SPACE ' .. id .. ' [' .. table.concat(out, ',') .. ']')
    end
end
`

const luaInstanceUUID = "8244848b-532e-4988-b27a-e4326c6ccb1c"

// luaSetup creates the spaces, writes a snapshot and prints its vclock
// signature; then it runs each statement of the Lua file with pcall and
// dumps the spaces.
const luaRunScript = `
box.cfg{instance_uuid = '` + luaInstanceUUID + `', log = 'tarantool.log'}
local u = box.schema.space.create('u', {id = 512})
u:create_index('pk', {parts = {1, 'unsigned'}})
local s = box.schema.space.create('s', {id = 513})
s:create_index('pk', {parts = {1, 'string'}})
local w = box.schema.space.create('w', {id = 514})
w:create_index('pk', {parts = {1, 'unsigned'}})
w:create_index('sk', {parts = {2, 'unsigned'}, unique = true})
box.snapshot()
print('SIGNATURE ' .. box.info.signature)
local n = 0
for line in io.lines(statements) do
    if line:sub(1, 2) ~= '--' and line ~= '' then
        n = n + 1
        local f, err = loadstring(line)
        if f == nil then
            print('PARSE ' .. n .. ' ' .. json.encode(err))
        else
            local ok, e = pcall(f)
            if not ok then print('FAIL ' .. n .. ' ' .. json.encode(tostring(e))) end
        end
    end
end
print('STATEMENTS ' .. n)
dump()
`

// luaRecoverScript lets Tarantool recover the snapshot and our WAL and dumps
// the spaces. Rows it rejects are skipped (force_recovery) and logged.
const luaRecoverScript = `
box.cfg{instance_uuid = '` + luaInstanceUUID + `', force_recovery = true, log = 'tarantool.log'}
print('SIGNATURE ' .. box.info.signature)
dump()
`

type luaRun struct {
	signature uint64
	spaces    map[string]string
	fails     map[int]string
	parse     map[int]string
	stmts     int
}

func parseLuaRun(t *testing.T, out string) luaRun {
	t.Helper()
	r := luaRun{spaces: map[string]string{}, fails: map[int]string{}, parse: map[int]string{}}
	for _, line := range strings.Split(out, "\n") {
		word, rest, _ := strings.Cut(line, " ")
		switch word {
		case "SIGNATURE":
			r.signature, _ = strconv.ParseUint(rest, 10, 64)
		case "SPACE":
			id, tuples, _ := strings.Cut(rest, " ")
			r.spaces[id] = tuples
		case "FAIL", "PARSE":
			ns, msg, _ := strings.Cut(rest, " ")
			n, _ := strconv.Atoi(ns)
			if word == "FAIL" {
				r.fails[n] = msg
			} else {
				r.parse[n] = msg
			}
		case "STATEMENTS":
			r.stmts, _ = strconv.Atoi(rest)
		}
	}
	if len(r.spaces) != 3 {
		t.Fatalf("no dump of the spaces in the output:\n%.3000s", out)
	}
	return r
}

var skippedRowRE = regexp.MustCompile(`skipping row \{(\d+): (\d+)\}`)

// writeLuaWAL writes the rows as a WAL following a snapshot of signature
// sig, one row a transaction, and returns its path.
func writeLuaWAL(t *testing.T, dir string, sig uint64, rows []genRow) string {
	t.Helper()
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, Tarantool: "2.6.0-0-g47aa4e01e",
		Instance: luaInstanceUUID, HasVClock: true}
	m.VClock.Set(1, sig)
	var buf bytes.Buffer
	w, err := format.NewWriter(&buf, m, format.WriterOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		h := rows[i].h
		h.ReplicaID, h.LSN = 1, sig+uint64(i)+1
		h.TSN, h.Commit = h.LSN, true
		if err := w.Write(&h, rows[i].body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%020d.xlog", sig))
	writeFile(t, path, buf.Bytes())
	return path
}

// Data rows of every kind, on spaces with unsigned and string keys, with
// tuples of every value kind Tarantool 2.6.0 stores, printed as Lua by us
// and run by Tarantool, leave the spaces exactly as Tarantool's own
// recovery of the same rows does; and each statement fails exactly when
// recovery skips its row.
//
// What a Lua value cannot carry is compared as the value Lua sees: a double
// with an integral value is stored back as an integer, a float32 as a
// double, a bin as a str.
func TestDiffLuaStatements(t *testing.T) {
	tarantooltest.Require(t)
	start := time.Now()
	for _, seed := range []int64{7, 8, 9, 10} {
		t.Run(strconv.FormatInt(seed, 10), func(t *testing.T) { luaDiffSeed(t, seed) })
	}
	t.Logf("done in %v", time.Since(start))
}

func luaDiffSeed(t *testing.T, seed int64) {
	g := newRowGen(seed)
	g.tupleSafe = true
	var rows []genRow
	for i := 0; i < 400; i++ {
		typ, body := g.luaDMLRow()
		rows = append(rows, genRow{h: format.Header{Type: typ, Timestamp: 1.7e9 + float64(i)}, body: body})
	}
	work := t.TempDir()
	// The Lua statements do not depend on the LSNs: print them from a WAL
	// written before the snapshot's signature is known.
	pre := writeLuaWAL(t, work, 0, rows)
	lua := printFile(t, pre, render.Lua)
	stmts := filepath.Join(work, "statements.lua")
	writeFile(t, stmts, lua)
	os.Remove(pre)

	runDir, recDir := filepath.Join(work, "run"), filepath.Join(work, "recover")
	for _, d := range []string{runDir, recDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ran := parseLuaRun(t, tarantooltest.RunScript(t, runDir,
		"local statements = "+tarantooltest.LuaString(stmts)+"\n"+luaDump+luaRunScript))
	if ran.stmts != len(rows) {
		t.Errorf("%d statements in the Lua output, %d rows", ran.stmts, len(rows))
	}
	for n, msg := range ran.parse {
		t.Errorf("statement %d does not parse: %s\n%.600s", n, msg, luaLine(lua, n))
	}

	snap := fmt.Sprintf("%020d.snap", ran.signature)
	data, err := os.ReadFile(filepath.Join(runDir, snap))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(recDir, snap), data)
	writeLuaWAL(t, recDir, ran.signature, rows)
	rec := parseLuaRun(t, tarantooltest.RunScript(t, recDir, "local json = require('json')\n"+luaDump+luaRecoverScript))
	if want := ran.signature + uint64(len(rows)); rec.signature != want {
		t.Errorf("recovery ended at signature %d, want %d", rec.signature, want)
	}

	// Which rows failed: recovery logs the rows it skipped.
	logText, _ := os.ReadFile(filepath.Join(recDir, "tarantool.log"))
	skipped := map[int]bool{}
	for _, m := range skippedRowRE.FindAllStringSubmatch(string(logText), -1) {
		lsn, _ := strconv.ParseUint(m[2], 10, 64)
		skipped[int(lsn-ran.signature)] = true
	}
	var mismatch []string
	for n := 1; n <= len(rows); n++ {
		_, failed := ran.fails[n]
		if failed != skipped[n] && ran.parse[n] == "" {
			mismatch = append(mismatch, fmt.Sprintf("statement %d: Lua failed %v (%s), recovery skipped %v\n  %.400s\n  body %.300x",
				n, failed, ran.fails[n], skipped[n], luaLine(lua, n), rows[n-1].body))
		}
	}
	if len(mismatch) > 0 {
		t.Logf("recovery log:\n%.3000s", luaLogErrors(string(logText)))
	}
	sort.Strings(mismatch)
	for i, m := range mismatch {
		if i == 10 {
			t.Errorf("... %d more", len(mismatch)-10)
			break
		}
		t.Error(m)
	}

	for _, id := range []string{"512", "513", "514"} {
		want := parseTuples(t, rec.spaces[id])
		got := parseTuples(t, ran.spaces[id])
		if len(want) != len(got) {
			t.Errorf("space %s: %d tuples after our statements, %d after recovery", id, len(got), len(want))
		}
		for i := 0; i < len(want) && i < len(got); i++ {
			if d := testfix.Diff(want[i], got[i], fmt.Sprintf("space %s tuple %d", id, i+1)); d != "" {
				w, _ := json.Marshal(want[i])
				gg, _ := json.Marshal(got[i])
				t.Errorf("%s\nrecovery: %.1500s\nours:     %.1500s", d, w, gg)
			}
		}
	}
	t.Logf("seed %d: %d statements, %d failed in both, %d bytes of Lua", seed, len(rows), len(skipped), len(lua))
}

func parseTuples(t *testing.T, s string) []any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(strings.ToValidUTF8(s, "\uFFFD")))
	dec.UseNumber()
	var v []any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("dump is not JSON: %v\n%.500s", err, s)
	}
	return v
}

// luaLine returns the n-th statement (not a comment) of the Lua output.
func luaLine(lua []byte, n int) string {
	k := 0
	for _, line := range strings.Split(string(lua), "\n") {
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		if k++; k == n {
			return line
		}
	}
	return ""
}

// luaLogErrors returns the error lines of a Tarantool log.
func luaLogErrors(log string) string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, " E> ") || strings.Contains(line, "skipping") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
