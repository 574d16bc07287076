package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/box"

	"github.com/tarantool/go-tarantool/v3"
)

// github.com/tarantool/go-tarantool/v3 connects (its IPROTO_ID gets
// ER_UNKNOWN_REQUEST_TYPE, as from 2.6.0), loads the schema, runs every
// request from many goroutines at once and gets Tarantool's error codes.
func TestGoTarantool(t *testing.T) {
	n := startNode(t, testConfig(t.TempDir()))
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := tarantool.Connect(cctx, tarantool.NetDialer{Address: n.Addr(), User: testUser, Password: testPassword},
		tarantool.Opts{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	do := func(req tarantool.Request) []any {
		t.Helper()
		data, err := conn.Do(req).Get()
		if err != nil {
			t.Fatalf("%T: %v", req, err)
		}
		return data
	}
	do(tarantool.NewPingRequest())
	do(tarantool.NewCallRequest("box.schema.space.create").Args([]any{"gt", map[string]any{"format": []any{
		map[string]any{"name": "id", "type": "unsigned"}, map[string]any{"name": "v", "type": "string"}}}}))
	do(tarantool.NewCallRequest("box.space.gt:create_index").Args([]any{"pk"}))
	do(tarantool.NewCallRequest("box.space.gt:create_index").Args([]any{"v", map[string]any{"parts": []any{"v"}}}))
	schema, err := tarantool.GetSchema(conn)
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := schema.Spaces["gt"]
	if !ok || len(sp.Indexes) != 2 || sp.Indexes["v"].Id != 1 {
		t.Fatalf("schema: %+v", sp)
	}
	id := sp.Id

	// Concurrency: 20 goroutines, 50 inserts each, on one connection.
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			futs := make([]tarantool.Future, 0, 50)
			for i := 0; i < 50; i++ {
				k := g*50 + i
				futs = append(futs, conn.Do(tarantool.NewInsertRequest(id).Tuple([]any{uint(k), fmt.Sprintf("v%04d", k)})))
			}
			for _, f := range futs {
				if _, err := f.Get(); err != nil {
					errs <- err
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	data := do(tarantool.NewSelectRequest(id).Iterator(tarantool.IterGe).Key([]any{uint(995)}).Limit(100))
	if len(data) != 5 {
		t.Errorf("GE 995: %v", data)
	}
	data = do(tarantool.NewSelectRequest(id).Index(uint32(1)).Iterator(tarantool.IterEq).Key([]any{"v0007"}).Limit(1))
	if len(data) != 1 || fmt.Sprint(data[0]) != "[7 v0007]" {
		t.Errorf("by v: %v", data)
	}
	data = do(tarantool.NewUpdateRequest(id).Key([]any{uint(7)}).Operations(tarantool.NewOperations().Assign(1, "seven")))
	if fmt.Sprint(data) != "[[7 seven]]" {
		t.Errorf("update: %v", data)
	}
	do(tarantool.NewUpsertRequest(id).Tuple([]any{uint(7), "x"}).Operations(tarantool.NewOperations().Assign(1, "SEVEN")))
	data = do(tarantool.NewDeleteRequest(id).Key([]any{uint(7)}))
	if fmt.Sprint(data) != "[[7 SEVEN]]" {
		t.Errorf("delete: %v", data)
	}
	codeOf := func(req tarantool.Request) box.ErrorCode {
		_, err := conn.Do(req).Get()
		var se tarantool.ServerError
		if !errors.As(err, &se) {
			t.Fatalf("%T: want a server error, got %v", req, err)
		}
		return box.ErrorCode(se.Code)
	}
	for _, tc := range []struct {
		req  tarantool.Request
		code box.ErrorCode
	}{
		{tarantool.NewInsertRequest(id).Tuple([]any{uint(1), "dup"}), box.ErrTupleFound},
		{tarantool.NewInsertRequest(uint32(9999)).Tuple([]any{uint(1)}), box.ErrNoSuchSpace},
		{tarantool.NewSelectRequest(id).Index(uint32(7)), box.ErrNoSuchIndexID},
		{tarantool.NewCallRequest("nosuch"), box.ErrNoSuchProc},
		{tarantool.NewEvalRequest("return 1"), box.ErrUnsupported},
	} {
		if got := codeOf(tc.req); got != tc.code {
			t.Errorf("%T: code %d, want %d", tc.req, got, tc.code)
		}
	}
}
