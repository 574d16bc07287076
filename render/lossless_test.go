package render_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/render"
)

// JSON loses no byte: binary data is {"$binary": BASE64}, a string that is
// not UTF-8 is {"$string": BASE64}, values and map keys alike.
func TestJSONLossless(t *testing.T) {
	bin := []byte{0x00, 0xff, 0x80, 'a', 0xc3}
	bad := []byte{'x', 0xff, 'y'}
	// {tuple: [bin, bad, "ok", {bin: 1, bad: 2}]}
	body := []byte{0x81, box.KeyTuple, 0x94}
	body = append(body, 0xc4, byte(len(bin)))
	body = append(body, bin...)
	body = append(body, 0xa0|byte(len(bad)))
	body = append(body, bad...)
	body = append(body, 0xa2, 'o', 'k', 0x82, 0xc4, byte(len(bin)))
	body = append(body, bin...)
	body = append(body, 0x01, 0xa0|byte(len(bad)))
	body = append(body, bad...)
	body = append(body, 0x02)
	var out bytes.Buffer
	p := render.NewPrinter(&out, render.Options{Format: render.JSON})
	if err := p.Row("x", &format.Row{Header: format.Header{Type: box.TypeReplace, Commit: true}, Body: body}); err != nil {
		t.Fatal(err)
	}
	var row struct {
		BODY struct {
			Tuple []json.RawMessage `json:"tuple"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &row); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	b64 := base64.StdEncoding.EncodeToString
	want := []string{
		`{"$binary":"` + b64(bin) + `"}`,
		`{"$string":"` + b64(bad) + `"}`,
		`"ok"`,
	}
	for i, w := range want {
		if string(row.BODY.Tuple[i]) != w {
			t.Errorf("field %d: %s, want %s", i, row.BODY.Tuple[i], w)
		}
	}
	var m map[string]int
	if err := json.Unmarshal(row.BODY.Tuple[3], &m); err != nil {
		t.Fatal(err)
	}
	if m[`{"$binary":"`+b64(bin)+`"}`] != 1 || m[`{"$string":"`+b64(bad)+`"}`] != 2 {
		t.Errorf("keys: %s", row.BODY.Tuple[3])
	}
}

// Lua output recreates the MessagePack: MP_BIN as a varbinary where Lua has
// one, datetime, interval and other extensions through msgpack.decode of
// their own bytes.
func TestLuaBinaryAndExtensions(t *testing.T) {
	dt := []byte{0xd7, 4, 1, 2, 3, 4, 0, 0, 0, 0} // datetime: seconds only
	iv := []byte{0xc7, 3, 6, 1, 0, 1}             // interval: one field (year 1)
	body := []byte{0x82, box.KeySpaceID, 0xcd, 0x02, 0x00, box.KeyTuple, 0x93, 0xc4, 3, 'a', 0, 0xff}
	body = append(append(body, dt...), iv...)
	var out bytes.Buffer
	p := render.NewPrinter(&out, render.Options{Format: render.Lua})
	if err := p.Row("x", &format.Row{Header: format.Header{Type: box.TypeInsert, Commit: true}, Body: body}); err != nil {
		t.Fatal(err)
	}
	want := `box.space[512]:insert({(function(s) local ok, vb = pcall(require, 'varbinary') return ok and vb.new(s) or s end)('a\000\255'), ` +
		`(require('msgpack').decode('\215\004\001\002\003\004\000\000\000\000')), (require('msgpack').decode('\199\003\006\001\000\001'))})`
	if got := strings.TrimSpace(out.String()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// The statement's values evaluate in Tarantool: the bin as the bytes
	// (a varbinary on 3.0+), the extensions as their own bytes again on
	// versions that have them (2.10+; 2.6 refuses them).
	script := `local msgpack = require('msgpack')
local v = (function(s) local ok, vb = pcall(require, 'varbinary') return ok and vb.new(s) or s end)('a\000\255')
local ok = pcall(require, 'varbinary')
print(ok and msgpack.encode(v) == '\196\003a\000\255' or msgpack.encode(v) == '\163a\000\255')
local dok, d = pcall(msgpack.decode, '\215\004\001\002\003\004\000\000\000\000')
print(not dok or msgpack.encode(d) == '\215\004\001\002\003\004\000\000\000\000')
os.exit(0)`
	if out := tarantooltest.RunScript(t, t.TempDir(), script); strings.TrimSpace(out) != "true\ntrue" {
		t.Errorf("Tarantool evaluates the Lua values to %q", out)
	}
}
