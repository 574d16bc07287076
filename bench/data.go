// Package bench makes log files for benchmarks: Synthetic builds, without
// Tarantool, a WAL shaped like the one genxlog.lua makes Tarantool write, so
// that the Go benchmarks run anywhere.
//
// The scripts beside this file measure xlogtool against Tarantool's own
// reader on a real WAL; see docs/performance.md.
package bench

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"syscall"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// SpaceID is the space the synthetic rows go to.
const SpaceID = 512

// Synthetic returns an .xlog with rows REPLACE rows in transactions of batch
// rows, one block per transaction as Tarantool's WAL writer makes them
// (zstd-compressed once a block reaches 2 KiB). The tuples are those of
// genxlog.lua: {id, "user-<id>", id % 1000, id / 7, <84 random hex digits>}.
func Synthetic(rows, batch int) []byte {
	var out bytes.Buffer
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13,
		Tarantool: "2.6.0-0-g47aa4e01e", Instance: "8244848b-532e-4988-b27a-e4326c6ccb1c", HasVClock: true}
	m.VClock.Set(1, 0)
	w, err := format.NewWriter(&out, m, format.WriterOptions{})
	if err != nil {
		panic(err)
	}
	rnd := rand.New(rand.NewPCG(42, 42))
	token := make([]byte, 84)
	var body []byte
	ts := 1.7e9
	for id := 1; id <= rows; {
		tsn, n := uint64(id), min(batch, rows-id+1)
		w.Begin()
		for i := 0; i < n; i, id = i+1, id+1 {
			for j := range token {
				token[j] = "0123456789abcdef"[rnd.IntN(16)]
			}
			tuple, err := msgpack.Marshal([]any{id, "user-" + strconv.Itoa(id), id % 1000, float64(id) / 7, string(token)})
			if err != nil {
				panic(err)
			}
			body = append(body[:0], 0x82, box.KeySpaceID)
			body = format.AppendUint(body, SpaceID)
			body = append(body, box.KeyTuple)
			body = append(body, tuple...)
			h := format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: uint64(id), Timestamp: ts,
				TSN: tsn, Commit: i == n-1}
			if err := w.Write(&h, body); err != nil {
				panic(err)
			}
		}
		if err := w.Commit(); err != nil {
			panic(err)
		}
		if err := w.Flush(); err != nil {
			panic(err)
		}
		ts += 0.0001
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return out.Bytes()
}

// CPUTime returns the CPU time (user and system) the process has used: a
// measure of work that other processes running at the same time disturb
// far less than the wall clock.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BlockOffsets returns the file offsets of the blocks of the log in data
// that hold rows, up to the first damage.
func BlockOffsets(data []byte) ([]int64, error) {
	r, err := format.NewReader(bytes.NewReader(data), format.Options{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var blocks []int64
	for {
		row, err := r.Next()
		if err != nil {
			return blocks, nil
		}
		if row.Pos.Index == 0 {
			blocks = append(blocks, row.Pos.Block)
		}
	}
}
