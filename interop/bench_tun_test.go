//go:build linux

package interop

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim/tun/tuntest"
	"github.com/tcpsim/tcpsim/stack"
)

// fillBlock is what fillHandler repeats: cheap to produce, so that the
// benchmarks measure TCP, not the body generator.
var fillBlock = func() []byte {
	b := make([]byte, 1<<20)
	bodyReader(99, int64(len(b))).Read(b)
	return b
}()

// fillHandler serves GET /fill/<size>: size bytes made of fillBlock.
func fillHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/fill/"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "want /fill/<size>", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		for n > 0 {
			k := min(n, int64(len(fillBlock)))
			if _, err := w.Write(fillBlock[:k]); err != nil {
				return
			}
			n -= k
		}
	})
}

// benchTCP are tcpsim's TCP settings in the TUN benchmark: 1 MiB buffers,
// gVisor's default send buffer (tcpsim's default is 256 KiB, which at MTU
// 65535 holds only four segments).
var benchTCP = stack.TCPConfig{SendBuffer: 1 << 20, RecvBuffer: 1 << 20}

// tunBenchSize is the body curl fetches in the TUN benchmarks.
const tunBenchSize = 200 << 20

// curlDiscard fetches url into /dev/null with curl in the namespace and
// fails b unless it got size bytes.
func curlDiscard(b *testing.B, ns *tuntest.Namespace, url string, size int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := ns.Run(ctx, "curl", "--silent", "--show-error", "--fail", "--output", "/dev/null", "--write-out", "%{size_download}", url)
	if err != nil {
		b.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.FormatInt(size, 10) {
		b.Fatalf("curl downloaded %s bytes, want %d", got, size)
	}
}

// BenchmarkTUNCurl measures curl in the kernel fetching 200 MB over a TUN
// device from a server behind it, at MTU 1500 and 65535: tcpsim (its host on
// a simulated link with no impairment, wall-clock driver) and gVisor (fed
// straight from the device), in one run:
//
//	go test ./interop -run '^$' -bench TUNCurl -benchtime 1x
//
// It needs root.
func BenchmarkTUNCurl(b *testing.B) {
	for _, mtu := range []int{1500, 65535} {
		b.Run("tcpsim/mtu"+strconv.Itoa(mtu), func(b *testing.B) {
			ns, a := tcpsimBehindTUN(b, mtu, kernelCases[0], 1, benchTCP, "curl")
			l, err := a.Net.Listen("tcp", ":8080")
			if err != nil {
				b.Fatal(err)
			}
			startServer(b, l, fillHandler())
			url := "http://192.0.2.2:8080/fill/" + strconv.Itoa(tunBenchSize)
			b.SetBytes(tunBenchSize)
			b.ResetTimer()
			for range b.N {
				curlDiscard(b, ns, url, tunBenchSize)
			}
		})
		b.Run("gvisor/mtu"+strconv.Itoa(mtu), func(b *testing.B) {
			ns, g := gvisorBehindTUN(b, mtu, "curl")
			l, err := g.Listen(8080)
			if err != nil {
				b.Fatal(err)
			}
			startServer(b, l, fillHandler())
			url := "http://192.0.2.2:8080/fill/" + strconv.Itoa(tunBenchSize)
			b.SetBytes(tunBenchSize)
			b.ResetTimer()
			for range b.N {
				curlDiscard(b, ns, url, tunBenchSize)
			}
		})
	}
}
