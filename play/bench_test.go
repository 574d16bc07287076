package play_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xlogtool/xlogtool/bench"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/tarantooltest"
	"github.com/xlogtool/xlogtool/iproto/client"
	"github.com/xlogtool/xlogtool/play"
)

// benchRows is the size of the benchmark WAL.
const benchRows = 100_000

const benchInit = `box.schema.space.create('bench', {id = 512, if_not_exists = true}):create_index('pk', {if_not_exists = true})`

// benchTarget starts a fresh instance with the benchmark space.
func benchTarget(b *testing.B) *tarantooltest.Instance {
	return tarantooltest.Start(b, tarantooltest.InstanceOptions{
		Init: benchInit,
		Cfg:  "wal_mode = 'write', memtx_memory = 512 * 1024 * 1024",
	})
}

// benchLog writes a WAL of benchRows REPLACE rows, batch rows per
// transaction (see bench.Synthetic).
func benchLog(b *testing.B, batch int) string {
	path := filepath.Join(b.TempDir(), "00000000000000000000.xlog")
	if err := os.WriteFile(path, bench.Synthetic(benchRows, batch), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// rowAtATime plays the file the way tt play does: a Lua loop over
// xlog.pairs sending one request at a time with net.box. It returns the
// time the loop took.
func rowAtATime(b *testing.B, target *tarantooltest.Instance, path string) time.Duration {
	uri := tarantooltest.AdminUser + ":" + tarantooltest.AdminPassword + "@" + target.Addr()
	out := tarantooltest.RunScriptTimeout(b, "", fmt.Sprintf(`
local xlog = require('xlog')
local netbox = require('net.box')
local clock = require('clock')
local conn = netbox.connect(%s)
assert(conn:is_connected(), conn.error)
local t0 = clock.monotonic()
for _, r in xlog.pairs(%s) do
    local sid = r.BODY and r.BODY.space_id
    if sid ~= nil and sid >= 512 then
        conn.space[sid]:replace(r.BODY.tuple)
    end
end
io.stdout:write(clock.monotonic() - t0)
`, tarantooltest.LuaString(uri), tarantooltest.LuaString(path)), 10*time.Minute)
	sec, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	if err != nil {
		b.Fatalf("row-at-a-time script printed %q", out)
	}
	return time.Duration(sec * float64(time.Second))
}

func countOn(b *testing.B, target *tarantooltest.Instance) int64 {
	res := target.Eval(b, "return box.space.bench:count()")
	switch n := res[0].(type) {
	case int64:
		return n
	case uint64:
		return int64(n)
	}
	b.Fatalf("count: %v", res)
	return 0
}

// BenchmarkPlay plays a 100K-row WAL into a fresh instance, and the same
// file row at a time with a net.box loop into another, once per iteration,
// and reports the median rates of both and their ratio (the machine's other
// work makes single runs noisy). Run it with
//
//	go test ./play -run '^$' -bench Play -benchtime 5x
func BenchmarkPlay(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("tx=%d", batch), func(b *testing.B) {
			path := benchLog(b, batch)
			files := []format.FileRef{{Path: path}}
			b.StopTimer()
			var playRates, loopRates []float64
			for i := 0; i < b.N; i++ {
				target := benchTarget(b)
				conn := target.Connect(b, client.Options{User: tarantooltest.AdminUser, Password: tarantooltest.AdminPassword, Timeout: time.Minute})
				p, err := play.New(conn, play.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				sum, err := p.Play(context.Background(), files)
				el := time.Since(start)
				b.StopTimer()
				if err != nil || sum.RowsApplied != benchRows || countOn(b, target) != benchRows {
					b.Fatalf("play: %v, %d rows applied", err, sum.RowsApplied)
				}
				target.Stop(b)
				playRates = append(playRates, benchRows/el.Seconds())

				target = benchTarget(b)
				loop := rowAtATime(b, target, path)
				if n := countOn(b, target); n != benchRows {
					b.Fatalf("row-at-a-time loop left %d rows", n)
				}
				target.Stop(b)
				loopRates = append(loopRates, benchRows/loop.Seconds())
			}
			pr, lr := median(playRates), median(loopRates)
			b.ReportMetric(pr, "rows/s")
			b.ReportMetric(lr, "loop-rows/s")
			b.ReportMetric(pr/lr, "speedup")
		})
	}
}

func median(x []float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
