package node

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
)

// BenchmarkReplace measures pipelined REPLACE requests from 10
// connections against an in-process node (wal_mode write); run with
// -cpuprofile to see where a request's time goes.
func BenchmarkReplace(b *testing.B) {
	cfg := testConfig(b.TempDir())
	n := startNode(b, cfg)
	c0 := dial(b, n.Addr())
	call(b, c0, "box.schema.space.create", "b")
	call(b, c0, "box.space.b:create_index", "pk")
	id := spaceID(b, c0, "b")
	const conns, depth = 10, 16
	cs := make([]*client.Conn, conns)
	for i := range cs {
		cs[i] = dial(b, n.Addr())
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := b.N/conns + 1
	for ci, c := range cs {
		wg.Add(1)
		go func(ci int, c *client.Conn) {
			defer wg.Done()
			var q []*client.Future
			for i := 0; i < per; i++ {
				q = append(q, c.Send(iproto.ReplaceRequest{Space: id, Tuple: []any{ci*per + i, "payload-0123456789abcdef"}}))
				if len(q) >= depth {
					q[0].Wait(ctx(b))
					q = q[1:]
				}
			}
			for _, f := range q {
				f.Wait(ctx(b))
			}
		}(ci, c)
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	_ = os.Getenv
}

// BenchmarkRequestPath measures the server's side of a pipelined REPLACE
// without the network: batches of 16 requests are read from a buffer,
// executed and answered into io.Discard, with the WAL writing to disk
// (wal_mode write). Run with -benchmem: the path allocates nothing per
// request but the tuple it stores.
func BenchmarkRequestPath(b *testing.B) {
	n := startNode(b, testConfig(b.TempDir()))
	c0 := dial(b, n.Addr())
	call(b, c0, "box.schema.space.create", "b")
	call(b, c0, "box.space.b:create_index", "pk")
	id := spaceID(b, c0, "b")
	const depth = 16
	var pkts []byte
	for i := 0; i < depth; i++ {
		var err error
		if pkts, err = iproto.AppendRequest(pkts, uint64(i+1), 0, iproto.ReplaceRequest{Space: id, Tuple: []any{i, "payload-0123456789abcdef"}}); err != nil {
			b.Fatal(err)
		}
	}
	src := bytes.NewReader(pkts)
	br := bufio.NewReaderSize(src, 16<<10)
	r := &replier{n: n, c: io.Discard}
	sess := n.adminSession()
	bt := &batch{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		src.Reset(pkts)
		br.Reset(src)
		var err error
		if _, _, err = readBatch(br, bt, nil); err != nil || len(bt.items) != depth {
			b.Fatalf("read %d requests: %v", len(bt.items), err)
		}
		n.execBatch(bt, nil, &sess)
		r.answer(bt)
		r.flush()
	}
}
