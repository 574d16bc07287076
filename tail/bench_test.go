package tail_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
	"github.com/xlogtool/xlogtool/tail"
)

// streamServer answers VOTE, SELECT and SUBSCRIBE and then sends a
// prepared stream of rows at once, as fast as the socket takes them.
func streamServer(b *testing.B, rows int, perTx int) (addr string, target format.VClock) {
	var stream []byte
	tuple := []byte{0x95, 0x01, 0xa8, 'u', 's', 'e', 'r', '-', '0', '0', '1', 0xcd, 0x03, 0xe7, 0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, 0xd9, 0x54}
	tuple = append(tuple, make([]byte, 84)...)
	for i := range 84 {
		tuple[len(tuple)-84+i] = "0123456789abcdef"[i%16]
	}
	body := append([]byte{0x82, 0x10, 0xcd, 0x02, 0x00, 0x21}, tuple...)
	for lsn := uint64(1); lsn <= uint64(rows); lsn++ {
		first := lsn - (lsn-1)%uint64(perTx)
		h := format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn, TSN: first, Timestamp: 1.5,
			Commit: lsn%uint64(perTx) == 0 || lsn == uint64(rows), Sync: 7}
		stream, _ = iproto.AppendRow(stream, &h, body)
	}
	target.Set(1, uint64(rows))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write(greeting())
				br := bufio.NewReader(c)
				for {
					pkt, err := readFramed(br)
					if err != nil {
						return
					}
					var req format.Row
					if _, err := format.DecodeRow(pkt, &req); err != nil {
						return
					}
					switch req.Type {
					case box.TypeVote:
						bl := iproto.Ballot{}
						writeRow(c, format.Header{Type: box.TypeOK, Sync: req.Sync, Commit: true}, bl.AppendBody(nil, box.Version{Major: 2, Minor: 6}))
					case box.TypeSubscribe:
						resp := iproto.SubscribeResponse{VClock: target, ReplicasetUUID: "22222222-2222-4333-8444-555555555555"}
						writeRow(c, format.Header{Type: box.TypeOK, Sync: req.Sync, ReplicaID: 1, Commit: true}, resp.AppendBody(nil))
						c.Write(stream)
						// Drain the ACKs until the client goes.
						for {
							if _, err := readFramed(br); err != nil {
								return
							}
						}
					default:
						writeRow(c, format.Header{Type: box.TypeOK, Sync: req.Sync, Commit: true}, []byte{0x81, 0x30, 0x90})
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), target
}

type countHandler struct{ rows int }

func (h *countHandler) Connected(tail.Info, bool) error { return nil }
func (h *countHandler) Tx(tx *tail.Tx) error {
	h.rows += len(tx.Rows)
	return nil
}

// BenchmarkStream measures receiving: rows decoded and assembled into
// transactions per second, and allocations per row (none in the steady
// state: the figure is the connection's setup spread over the rows).
func BenchmarkStream(b *testing.B) {
	for _, perTx := range []int{1, 100} {
		b.Run(fmt.Sprintf("tx%d", perTx), func(b *testing.B) {
			const rows = 200000
			addr, _ := streamServer(b, rows, perTx)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h := &countHandler{}
				if err := tail.New(tail.Source{Name: "bench", Addr: addr}, tail.Options{From: &format.VClock{}}, h).Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				if h.rows != rows {
					b.Fatalf("%d rows", h.rows)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
