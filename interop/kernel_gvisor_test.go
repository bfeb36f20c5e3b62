//go:build linux

package interop

import (
	"crypto/sha256"
	"errors"
	"net/netip"
	"os"
	"sync"
	"testing"

	"github.com/tcpsim/tcpsim/sim/gvisorpeer"
	"github.com/tcpsim/tcpsim/sim/tun"
	"github.com/tcpsim/tcpsim/sim/tun/tuntest"
)

func newHashCheck() *hashCheck { return &hashCheck{h: sha256.New()} }

// attachGVisor puts a gVisor host with address addr behind dev: what the
// kernel routes into the device goes to gVisor, what gVisor sends goes back
// into the device. It is the reference that tcpsim's TUN path is compared
// with. Clean-up closes the device and the host.
func attachGVisor(t testing.TB, dev *tun.Device, addr netip.Prefix) *gvisorpeer.Host {
	t.Helper()
	h, err := gvisorpeer.New(gvisorpeer.Config{
		Addr: addr,
		MTU:  dev.MTU(),
		Out: func(p []byte) {
			dev.WritePacket(p) // fails only after Close
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 65536)
		for {
			n, err := dev.ReadPacket(buf)
			if err != nil {
				if !errors.Is(err, os.ErrClosed) {
					t.Errorf("reading %s: %v", dev.Name(), err)
				}
				return
			}
			h.Deliver(buf[:n])
		}
	})
	t.Cleanup(func() {
		dev.Close()
		wg.Wait()
		h.Close()
	})
	return h
}

// gvisorBehindTUN makes a namespace with tun0 (kernel 192.0.2.1, MTU mtu)
// and a gVisor host at 192.0.2.2 behind it.
func gvisorBehindTUN(t testing.TB, mtu int, commands ...string) (*tuntest.Namespace, *gvisorpeer.Host) {
	ns := tuntest.NewNamespace(t, commands...)
	ns.AddTUN("tun0", kernelAddr, mtu)
	dev, err := ns.OpenTUN("tun0")
	if err != nil {
		t.Fatal(err)
	}
	return ns, attachGVisor(t, dev, simPrefix)
}

// TestKernelGVisorHarness checks the kernel harness itself with a peer that
// is not ours: curl and a Go client in the namespace fetch from a gVisor HTTP
// server behind the TUN device, and the kernel sees clean closes.
func TestKernelGVisorHarness(t *testing.T) {
	ns, g := gvisorBehindTUN(t, 0, "curl", "ss", "nstat")
	l, err := g.Listen(8080)
	if err != nil {
		t.Fatal(err)
	}
	startServer(t, l, bodyHandler())
	const n = 1 << 20
	curlBody(t, ns, "http://192.0.2.2:8080"+bodyPath(n, 1), 1, n)
	goClientBody(t, ns, "http://192.0.2.2:8080"+bodyPath(n, 2), 2, n)
	checkKernelClean(t, ns)
}
