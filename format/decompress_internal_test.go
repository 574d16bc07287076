package format

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// Frames of every size around the buffer steps (without a content size, as
// Tarantool writes them, except the small ones the encoder sizes)
// decompress whole and exactly, whatever buffer they start from; past the
// limit they are errInflate; ahead, beyond aheadMaxRaw, errRedo.
func TestDecompressSizes(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var enc bytes.Buffer
	frame := func(raw []byte) []byte {
		enc.Reset()
		w, err := zstd.NewWriter(&enc, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(false),
			zstd.WithWindowSize(2<<20), zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(raw)
		w.Close()
		return bytes.Clone(enc.Bytes())
	}
	r, err := NewReader(bytes.NewReader([]byte("XLOG\n0.13\n\n")), Options{MaxBlockSize: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.initDecoder(); err != nil {
		t.Fatal(err)
	}
	d, ahead := r.zdec, r.zdec.fast
	for _, n := range []int{100, 4 << 10, 100 << 10, 128<<10 + 1, 200 << 10, 256<<10 - 1, 256<<10 + 7, 300 << 10, 1 << 20, 2<<20 + 3, 5 << 20} {
		for _, kind := range []string{"text", "random", "zeros"} {
			raw := make([]byte, n)
			for i := range raw {
				switch kind {
				case "text":
					raw[i] = "abcdefgh ijklmnop"[rnd.IntN(17)]
				case "random":
					raw[i] = byte(rnd.Uint32())
				}
			}
			data := frame(raw)
			for _, dst := range [][]byte{nil, make([]byte, 0, 300<<10), make([]byte, 0, 2<<20)} {
				out, err := d.decompress(data, dst, 8<<20)
				if err != nil || !bytes.Equal(out, raw) {
					t.Fatalf("%s %d from a buffer of %d: %d bytes, %v", kind, n, cap(dst), len(out), err)
				}
			}
			if n > 1<<20 {
				if _, err := d.decompress(data, nil, 1<<20); err != errInflate {
					t.Fatalf("%s %d over a limit of 1 MiB: %v", kind, n, err)
				}
			}
			// Ahead: done up to aheadMaxRaw, else left to the reader.
			for _, dst := range [][]byte{nil, make([]byte, 0, 300<<10)} {
				out, err := decompressAhead(ahead, data, dst)
				switch {
				case n <= aheadMaxRaw && (err != nil || !bytes.Equal(out, raw)):
					t.Fatalf("ahead: %s %d from a buffer of %d: %d bytes, %v", kind, n, cap(dst), len(out), err)
				case n > aheadMaxRaw+zstdBlockMax && err != errRedo:
					t.Fatalf("ahead: %s %d: %v", kind, n, err)
				}
			}
		}
	}
}
