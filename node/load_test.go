package node

import (
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
