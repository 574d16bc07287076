package node

import (
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/iproto"
)

// FuzzHandle feeds arbitrary packets (header and body, after the length
// prefix) to the request handler of a running node, as the admin user:
// whatever arrives, the node answers with a reply or an error and never
// panics.
func FuzzHandle(f *testing.F) {
	seeds := []iproto.Request{
		iproto.PingRequest{},
		iproto.SelectRequest{Space: 281, Limit: 10, Key: []any{}},
		iproto.SelectRequest{Space: 288, Index: 2, Limit: 1, Key: []any{280, "primary"}, Iterator: box.IterGe},
		iproto.InsertRequest{Space: 512, Tuple: []any{1, "a"}},
		iproto.ReplaceRequest{Space: 272, Tuple: []any{"k", 1}},
		iproto.UpdateRequest{Space: 272, Key: []any{"max_id"}, Ops: []any{[]any{"+", 1, 1}}},
		iproto.UpsertRequest{Space: 272, Tuple: []any{"u"}, Ops: []any{[]any{"=", 1, 2}}},
		iproto.DeleteRequest{Space: 272, Key: []any{"k"}},
		iproto.CallRequest{Function: "box.schema.space.create", Args: []any{"f", map[string]any{"format": []any{[]any{"id", "unsigned"}}}}},
		iproto.CallRequest{Function: "box.space.f:create_index", Args: []any{"pk", map[string]any{"parts": []any{1, "unsigned"}}}},
		iproto.CallRequest{Function: "box.cfg", Args: []any{map[string]any{"read_only": false}}},
		iproto.EvalRequest{Expr: "return 1"},
	}
	for i, r := range seeds {
		pkt, err := iproto.AppendRequest(nil, uint64(i+1), 0, r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pkt[5:])
	}
	n := startNode(f, testConfig(f.TempDir()))
	salt := make([]byte, 32)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		s := n.adminSession()
		rep := n.handle(s, salt, pkt, &s)
		if rep.dml != nil {
			rep.dml.Wait()
		}
	})
}
