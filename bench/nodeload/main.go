// Command nodeload measures a server's REPLACE throughput and latency over
// IPROTO: N clients, each on its own connection with a fixed number of
// requests in flight, replace tuples [k, "payload"] into one space for a
// while and report requests per second and the latency percentiles. The
// same load runs against Tarantool and against xlogtool node.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/iproto/client"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3301", "server address")
	user := flag.String("user", "", "user")
	password := flag.String("password", "", "password")
	space := flag.Uint("space", 512, "space id")
	clients := flag.Int("clients", 1, "connections")
	depth := flag.Int("depth", 16, "requests in flight per connection")
	duration := flag.Duration("duration", 5*time.Second, "how long to run")
	keys := flag.Int("keys", 1_000_000, "key range")
	count := flag.Int("count", 0, "replace keys 0..count-1 once each and stop (loading mode)")
	flag.Parse()

	conns := make([]*client.Conn, *clients)
	for i := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := client.Dial(ctx, *addr, client.Options{User: *user, Password: *password})
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		conns[i] = c
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		lat   []time.Duration
		total atomic.Int64
		fails atomic.Int64
	)
	payload := "payload-0123456789abcdef"
	deadline := time.Now().Add(*duration)
	start := time.Now()
	for ci, c := range conns {
		wg.Add(1)
		go func(ci int, c *client.Conn) {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			type inflight struct {
				f  *client.Future
				at time.Time
			}
			queue := make([]inflight, 0, *depth)
			k := ci * 7919
			next := ci
			more := func() bool {
				if *count > 0 {
					return next < *count
				}
				return time.Now().Before(deadline)
			}
			send := func() {
				if *count > 0 {
					k = next
					next += *clients
				} else {
					k = (k + 104729) % *keys
				}
				queue = append(queue, inflight{c.Send(iproto.ReplaceRequest{Space: uint32(*space), Tuple: []any{k, payload}}), time.Now()})
			}
			for len(queue) < *depth && more() {
				send()
			}
			ctx := context.Background()
			for len(queue) > 0 {
				q := queue[0]
				queue = queue[1:]
				resp, err := q.f.Wait(ctx)
				local = append(local, time.Since(q.at))
				if err != nil || resp.Err() != nil {
					fails.Add(1)
				}
				total.Add(1)
				if more() {
					send()
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}(ci, c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(float64(len(lat)-1)*p)]
	}
	fmt.Printf("clients=%d depth=%d requests=%d errors=%d rps=%.0f p50=%.3fms p99=%.3fms\n",
		*clients, *depth, total.Load(), fails.Load(), float64(total.Load())/elapsed.Seconds(),
		float64(pct(0.50).Microseconds())/1000, float64(pct(0.99).Microseconds())/1000)
}
