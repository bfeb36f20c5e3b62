//go:build linux

package interop

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/sim/gvisorpeer"
	"github.com/tcpsim/tcpsim/sim/tun"
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
// a simulated link with no impairment, wall-clock driver), gVisor on the same
// kind of link (gvisor-link) and gVisor fed straight from the device
// (gvisor), in one run:
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
		b.Run("gvisor-link/mtu"+strconv.Itoa(mtu), func(b *testing.B) {
			ns, g := gvisorOnTUNLink(b, mtu)
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

// gvisorOnTUNLink puts a gVisor host behind the TUN device the way tcpsim
// sits there: on a simulated link (no impairment) to the device's node, on
// the wall-clock driver, so both pay for the same loop and link.
func gvisorOnTUNLink(b *testing.B, mtu int) (*tuntest.Namespace, *gvisorpeer.Host) {
	ns := tuntest.NewNamespace(b, "curl")
	ns.AddTUN("tun0", kernelAddr, mtu)
	dev, err := ns.OpenTUN("tun0")
	if err != nil {
		b.Fatal(err)
	}
	wd := newWorld(b, 1)
	node, err := tun.NewNode(dev, wd.loop.Do)
	if err != nil {
		b.Fatal(err)
	}
	wd.onClose(func() { node.Close() })
	g := wd.gvisorNode(b)
	var cerr error
	if err := wd.loop.Call(func() {
		if cerr = wd.w.AddNode("gvisor", g); cerr != nil {
			return
		}
		if cerr = wd.w.AddNode("kernel", node); cerr != nil {
			return
		}
		_, cerr = wd.w.Connect("gvisor", simPrefix, "kernel", kernelAddr, sim.Symmetric("gvisor-kernel", sim.DirConfig{MTU: dev.MTU()}))
	}); err != nil || cerr != nil {
		b.Fatal(err, cerr)
	}
	return ns, g.Host()
}
