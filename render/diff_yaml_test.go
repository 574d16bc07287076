package render_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/render"
)

// docSep separates YAML documents in the file the decoding script reads;
// our YAML never holds a NUL byte.
const docSep = "\x00\n"

// yamlToJSON decodes each YAML document with Tarantool's yaml.decode and
// prints it as one JSON line, with the oracle's rules for numbers, tables
// and strings; a document it cannot decode gives {"ERROR": "..."}.
const yamlToJSON = `
local yaml = require('yaml')
local json = require('json')
local render
local function render_table(v)
    local mt = getmetatable(v)
    local ser = mt and mt.__serialize
    local n, last, dense = 0, 0, true
    for k in pairs(v) do
        n = n + 1
        if type(k) ~= 'number' or k < 1 or math.floor(k) ~= k then dense = false
        elseif k > last then last = k end
    end
    dense = dense and last == n
    if ser == 'map' or ser == 'mapping' then dense = false end
    if ser == 'seq' or ser == 'sequence' or ser == 'array' then dense = true end
    if n == 0 then
        if ser == 'map' or ser == 'mapping' then return '{}' end
        return '[]'
    end
    local out = {}
    if dense then
        for i = 1, last do out[i] = render(v[i]) end
        return '[' .. table.concat(out, ',') .. ']'
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for i, k in ipairs(keys) do out[i] = json.encode(tostring(k)) .. ':' .. render(v[k]) end
    return '{' .. table.concat(out, ',') .. '}'
end
render = function(v)
    if v == nil then return 'null' end
    local t = type(v)
    if t == 'number' then
        if math.abs(v) < 2^53 and math.floor(v) == v then return string.format('%d', v) end
        return string.format('%.17g', v)
    elseif t == 'string' then return json.encode(v)
    elseif t == 'boolean' then return v and 'true' or 'false'
    elseif t == 'table' then return render_table(v)
    elseif t == 'cdata' then
        local s = tostring(v)
        local d = s:match('^(%-?%d+)U?LL$')
        if d then return d end
        return json.encode(s)
    end
    return json.encode(tostring(v))
end
local f = assert(io.open(arg_in, 'rb'))
local data = f:read('*a')
f:close()
local out = assert(io.open(arg_out, 'wb'))
local pos = 1
while pos <= #data do
    local s, e = data:find(sep, pos, true)
    local doc = data:sub(pos, (s or #data + 1) - 1)
    pos = (e or #data) + 1
    local ok, v = pcall(yaml.decode, doc)
    if ok then out:write(render(v), '\n')
    else out:write(render({ERROR = tostring(v) .. ' in ' .. doc}), '\n') end
end
out:close()
`

// Our YAML documents of random rows decode (with Tarantool's YAML decoder)
// to what our JSON lines say, which match Tarantool's reader.
func TestDiffRandomRowsYAML(t *testing.T) {
	tarantooltest.Require(t)
	dir := t.TempDir()
	var docs, jsonOut bytes.Buffer
	for _, seed := range diffSeeds {
		for _, f := range genFiles(t, seed, dir) {
			yamlRows(t, f.path, &docs)
			jsonOut.Write(printFile(t, f.path, render.JSON))
		}
	}
	in, out := filepath.Join(dir, "docs.yaml"), filepath.Join(dir, "docs.jsonl")
	writeFile(t, in, docs.Bytes())
	tarantooltest.RunScript(t, dir, "local arg_in, arg_out, sep = "+tarantooltest.LuaString(in)+", "+
		tarantooltest.LuaString(out)+", "+tarantooltest.LuaString(docSep)+"\n"+yamlToJSON)
	decoded, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := testfix.ParseRows(t, "json", jsonOut.Bytes())
	var got []map[string]any
	for i, line := range bytes.Split(bytes.TrimSuffix(decoded, []byte("\n")), []byte("\n")) {
		rows, errLine := testfix.ParseRows(t, "yaml", line)
		if errLine != "" {
			t.Errorf("document %d: not readable: %.600q", i+1, errLine)
			rows = []map[string]any{{"ERROR": errLine}}
		}
		got = append(got, rows...)
	}
	want, got = collapseRows(want), collapseRows(got)
	fails := 0
	for i := 0; i < len(want) && i < len(got); i++ {
		if got[i]["ERROR"] != nil {
			continue
		}
		// YAML numbers have 14 significant digits, as tt cat prints them.
		reconcile(want[i], got[i], 1e-13)
		if d := testfix.CompareRows(want[i:i+1], got[i:i+1]); d != "" {
			t.Errorf("document %d: %.500s", i+1, d)
			if fails++; fails > 10 {
				break
			}
		}
	}
	if len(want) != len(got) {
		t.Errorf("%d documents decoded, %d rows printed", len(got), len(want))
	}
}

// yamlRows prints every row of a file as a YAML document, each followed by
// docSep.
func yamlRows(t *testing.T, path string, dst *bytes.Buffer) {
	t.Helper()
	r, err := format.Open(path, format.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		p := render.NewPrinter(&b, render.Options{Format: render.YAML})
		if err := p.Row(path, row); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), docSep) {
			t.Fatalf("YAML with a NUL byte: %q", b.String())
		}
		dst.Write(b.Bytes())
		dst.WriteString(docSep)
	}
}

// Characters YAML does not allow in a document (DEL, the C1 controls,
// U+FEFF, U+FFFE, U+FFFF) or reads as line breaks (U+0085, U+2028, U+2029)
// are escaped in a double-quoted scalar; plain keys never spell a YAML 1.1
// boolean or null in any case.
func TestDiffYAMLStrings(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a\x7fb", `"a\u007fb"`},
		{"a\u0085b", `"a\u0085b"`},
		{"a\u0080b", `"a\u0080b"`},
		{"a\u2028b", `"a\u2028b"`},
		{"a\u2029b", `"a\u2029b"`},
		{"\ufeffa", `"\ufeffa"`},
		{"a\uffffb", `"a\uffffb"`},
		{"é\tж", `"é\tж"`},
		{"日本'", `'日本'''`},
	}
	for _, c := range cases {
		body := mpMap(nil, 2, false)
		body = mpUint(body, box.KeySpaceID, 0)
		body = mpUint(body, 512, 0)
		body = mpUint(body, box.KeyTuple, 0)
		body = mpArray(body, 1, false)
		body = mpStr(body, []byte(c.in), 0)
		out := yamlOf(t, box.TypeInsert, body)
		if !strings.Contains(out, "tuple: ["+c.want+"]\n") {
			t.Errorf("%q printed as\n%s\nwant tuple: [%s]", c.in, out, c.want)
		}
	}
	for _, k := range []string{"TRUE", "On", "OFF", "y", "N", "Yes", "NO", "Null", "False"} {
		body := mpMap(nil, 1, false)
		body = mpUint(body, 0x30, 0)
		body = mpMap(body, 1, false)
		body = mpStr(body, []byte(k), 0)
		body = mpUint(body, 1, 0)
		out := yamlOf(t, box.TypeInsert, body)
		if !strings.Contains(out, "data: {'"+k+"': 1}\n") {
			t.Errorf("key %q printed as\n%s", k, out)
		}
	}
}

func yamlOf(t *testing.T, typ box.RowType, body []byte) string {
	t.Helper()
	var buf bytes.Buffer
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, HasVClock: true}
	w, err := format.NewWriter(&buf, m, format.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&format.Header{Type: typ, ReplicaID: 1, LSN: 1, TSN: 1, Commit: true}, body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := format.NewReader(&buf, format.Options{Name: "x.xlog"})
	if err != nil {
		t.Fatal(err)
	}
	row, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := render.NewPrinter(&out, render.Options{Format: render.YAML}).Row("x.xlog", row); err != nil {
		t.Fatal(err)
	}
	return out.String()
}
