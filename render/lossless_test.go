package render_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
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
