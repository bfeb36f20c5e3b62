package ippacket

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/checksum"
)

// refSum is RFC 1071's definition written as plainly as possible: 16-bit
// big-endian words added one at a time with end-around carry, an odd last
// byte padded with a zero.
func refSum(b []byte, initial uint16) uint16 {
	s := uint32(initial)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
		s = s&0xffff + s>>16
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// TestSumMatchesGVisor compares Sum with gVisor's optimised checksum and with
// the plain reference over random buffers of every length up to 300 bytes
// (odd and even), at every starting offset modulo 8 (so every alignment of
// the word loads), with random initial values.
func TestSumMatchesGVisor(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	backing := make([]byte, 3100)
	maxLen := 300
	if testing.Short() {
		maxLen = 80
	}
	if os.Getenv("TCPSIM_LONG") == "1" {
		maxLen = 3000
	}
	for off := 0; off < 8; off++ {
		for n := 0; n <= maxLen; n++ {
			for rep := 0; rep < 4; rep++ {
				for i := range backing[:off+n] {
					backing[i] = byte(rng.Uint32())
				}
				if rep == 3 { // all ones stresses the carries
					for i := range backing[:off+n] {
						backing[i] = 0xff
					}
				}
				b := backing[off : off+n]
				init := uint16(rng.Uint32())
				if rep == 0 {
					init = 0
				}
				got, gv, ref := Sum(b, init), checksum.Checksum(b, init), refSum(b, init)
				if got != gv || got != ref {
					t.Fatalf("off %d len %d init %#04x: Sum %#04x, gVisor %#04x, reference %#04x", off, n, init, got, gv, ref)
				}
			}
		}
	}
	// Longer buffers, including jumbo sizes, at random lengths and offsets.
	big := make([]byte, 70000)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	for k := 0; k < 200; k++ {
		off := rng.IntN(8)
		n := rng.IntN(len(big) - off)
		b := big[off : off+n]
		init := uint16(rng.Uint32())
		if got, gv := Sum(b, init), checksum.Checksum(b, init); got != gv {
			t.Fatalf("off %d len %d: Sum %#04x, gVisor %#04x", off, n, got, gv)
		}
	}
}

// TestSumChains checks the documented chaining rule: summing an even-length
// prefix, then the rest starting from that partial sum, equals one sum.
func TestSumChains(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 200)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for cut := 0; cut <= len(b); cut += 2 {
		if got, want := Sum(b[cut:], Sum(b[:cut], 0)), Sum(b, 0); got != want {
			t.Fatalf("cut %d: chained %#04x, whole %#04x", cut, got, want)
		}
	}
}

// TestChecksumRFC1071Example uses the worked example of RFC 1071 §3: the
// words 0001 f203 f4f5 f6f7 sum to ddf2 (with carries folded).
func TestChecksumRFC1071Example(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Sum(b, 0); got != 0xddf2 {
		t.Fatalf("Sum = %#04x, want 0xddf2", got)
	}
	if got := Checksum(b, 0); got != 0x220d {
		t.Fatalf("Checksum = %#04x, want 0x220d", got)
	}
	if got := Sum(nil, 0); got != 0 {
		t.Fatalf("Sum(nil) = %#04x, want 0", got)
	}
	if got := Sum([]byte{0xab}, 0); got != 0xab00 {
		t.Fatalf("Sum of one byte = %#04x, want 0xab00 (zero-padded)", got)
	}
}

// BenchmarkChecksum measures ours against gVisor's optimised checksum in the
// same run, on a 1460-byte TCP payload (the MSS at MTU 1500) and a few other
// sizes. Compare the ns/op (or MB/s) of the ours and gvisor sub-benchmarks.
func BenchmarkChecksum(b *testing.B) {
	for _, n := range []int{1460, 20, 64, 9000} {
		buf := make([]byte, n)
		rng := rand.New(rand.NewPCG(5, 6))
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		name := func(s string) string {
			if n == 1460 {
				return s
			}
			return s + "/" + itoa(n)
		}
		var sink uint16
		b.Run(name("ours"), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				sink += Sum(buf, 0)
			}
		})
		b.Run(name("gvisor"), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				sink += checksum.Checksum(buf, 0)
			}
		})
		_ = sink
	}
}

// BenchmarkChecksumRatio times ours and gVisor's checksum alternately, in
// batches of 100 calls on the same buffer (1460 bytes, the MSS at MTU 1500,
// and 9000, a jumbo frame), and reports the speed ratio (gVisor's time ÷
// ours; above 1 means ours is faster). Interleaving keeps the ratio honest
// when the load of a shared machine changes during the run, which
// sequential sub-benchmarks do not.
func BenchmarkChecksumRatio(b *testing.B) {
	for _, n := range []int{1460, 9000} {
		b.Run(itoa(n), func(b *testing.B) { benchRatio(b, n) })
	}
}

func benchRatio(b *testing.B, n int) {
	buf := make([]byte, n)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	const batch = 100
	var ours, gv time.Duration
	var sink uint16
	b.SetBytes(2 * batch * int64(len(buf)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if i%2 == 0 {
			for range batch {
				sink += Sum(buf, 0)
			}
			t1 := time.Now()
			for range batch {
				sink += checksum.Checksum(buf, 0)
			}
			ours, gv = ours+t1.Sub(t0), gv+time.Since(t1)
		} else {
			for range batch {
				sink += checksum.Checksum(buf, 0)
			}
			t1 := time.Now()
			for range batch {
				sink += Sum(buf, 0)
			}
			gv, ours = gv+t1.Sub(t0), ours+time.Since(t1)
		}
	}
	_ = sink
	b.ReportMetric(float64(gv)/float64(ours), "speed-ratio")
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N*batch), "ours-ns/sum")
	b.ReportMetric(float64(gv.Nanoseconds())/float64(b.N*batch), "gvisor-ns/sum")
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
