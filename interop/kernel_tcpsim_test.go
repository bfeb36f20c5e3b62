//go:build linux

package interop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/sim/tun"
	"github.com/tcpsim/tcpsim/sim/tun/tuntest"
	"github.com/tcpsim/tcpsim/stack"
)

// kernelFaults are the impairments the kernel tests inject on tcpsim's side
// of the TUN device, in both directions.
type kernelFaults struct {
	name          string
	loss, reorder float64
}

var kernelCases = []kernelFaults{
	{"clean", 0, 0},
	{"loss5%+reorder", 0.05, 0.10},
}

// dirConfig turns the faults into a link direction. Reordering needs a
// delay to overtake, so a faulty link gets 1 ms.
func (f kernelFaults) dirConfig() sim.DirConfig {
	var d sim.DirConfig
	if f.loss > 0 {
		d.Faults = append(d.Faults, sim.Loss{P: f.loss})
	}
	if f.reorder > 0 {
		d.Delay = time.Millisecond
		d.Faults = append(d.Faults, sim.Reorder{P: f.reorder})
	}
	return d
}

// tcpsimBehindTUN makes a namespace with tun0 (kernel 192.0.2.1, MTU mtu)
// and a tcpsim host at 192.0.2.2 behind it, with faults f on the link and
// TCP tunables tcp.
func tcpsimBehindTUN(t testing.TB, mtu int, f kernelFaults, seed uint64, tcp stack.TCPConfig, commands ...string) (*tuntest.Namespace, *tun.Attachment) {
	t.Helper()
	ns := tuntest.NewNamespace(t, commands...)
	ns.AddTUN("tun0", kernelAddr, mtu)
	dev, err := ns.OpenTUN("tun0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := tun.Attach(dev, tun.AttachConfig{
		Addr:       simPrefix,
		Kernel:     kernelAddr,
		World:      sim.Config{Seed: seed},
		TCP:        tcp,
		ToKernel:   f.dirConfig(),
		FromKernel: f.dirConfig(),
	})
	if err != nil {
		t.Fatal(err)
	}
	closeCapture := capture(t, a)
	t.Cleanup(func() {
		closeCapture()
		if err := a.Close(); err != nil {
			t.Errorf("closing the attachment: %v", err)
		}
	})
	return ns, a
}

// capture writes a pcap of tcpsim's end of the link to
// $TCPSIM_PCAP_DIR/<test name>.pcap when that variable is set (for
// debugging a failure), and returns the function that closes it.
func capture(t testing.TB, a *tun.Attachment) func() {
	dir := os.Getenv("TCPSIM_PCAP_DIR")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var c *sim.Capture
	if cerr := a.Loop.Call(func() { c, err = a.World.Capture(a.Link.End(0), f) }); cerr != nil || err != nil {
		t.Fatal(cerr, err)
	}
	t.Logf("capturing to %s", f.Name())
	return func() {
		a.Loop.Call(func() { c.Close() })
		f.Close()
	}
}

// counters reads the tcpsim host's counters in scheduler context.
func counters(t testing.TB, a *tun.Attachment) stack.Counters {
	var c stack.Counters
	if err := a.Loop.Call(func() { c = a.Host.Counters() }); err != nil {
		t.Fatal(err)
	}
	return c
}

// checkTCPSimClean fails t if a connection of tcpsim was reset: tcpsim
// must accept no RST and reset no synchronized connection. Without faults it
// must send no RST at all. With reordering it may answer a stray segment
// that arrives after a connection has fully closed with a RST (RFC 9293
// §3.10.7.1, as Linux does): seen when the reorder fault lets tcpsim's FIN
// overtake its own earlier ACK, the kernel, already in TIME_WAIT, answers the
// late ACK with an ACK (§3.10.7.4), and tcpsim, CLOSED by then, resets. Such
// RSTs are counted under TCPNoSocket and never exceed it; on a port that
// still listens the late segment reaches the listener instead, which
// answers an ACK with a RST (§3.10.7.2) and counts it under TCPListenDrops.
func checkTCPSimClean(t testing.TB, a *tun.Attachment, f kernelFaults) {
	t.Helper()
	c := counters(t, a)
	if c.TCPRstReceived != 0 || c.TCPEstabResets != 0 {
		t.Errorf("tcpsim saw resets: received %d, established connections reset %d", c.TCPRstReceived, c.TCPEstabResets)
	}
	if f.reorder == 0 && c.TCPRstSent != 0 {
		t.Errorf("tcpsim sent %d RST(s) with no fault on the link", c.TCPRstSent)
	}
	if c.TCPRstSent > c.TCPNoSocket+c.TCPListenDrops {
		t.Errorf("tcpsim sent %d RSTs but only %d segments arrived for no connection (%d to a listener)", c.TCPRstSent, c.TCPNoSocket, c.TCPListenDrops)
	}
	if c.TCPRstSent > 0 {
		t.Logf("tcpsim answered %d stray segment(s) after close with a RST", c.TCPRstSent)
	}
}

// logFaults logs what the faults did and, when f has loss, checks that
// they acted in both directions (on the kernel's packets as on tcpsim's).
func logFaults(t testing.TB, a *tun.Attachment, f kernelFaults) {
	t.Helper()
	var out, in sim.DirStats
	a.Loop.Call(func() { out, in = a.Link.Stats(0), a.Link.Stats(1) })
	if f.loss > 0 && (out.DropFault == 0 || in.DropFault == 0) {
		t.Errorf("faults did not act both ways: tcpsim→kernel %+v, kernel→tcpsim %+v", out, in)
	}
	c := counters(t, a)
	t.Logf("tcpsim→kernel: %d sent, %d dropped by faults, %d delayed; kernel→tcpsim: %d sent, %d dropped, %d delayed; tcpsim retransmitted %d (fast %d, timeouts %d)",
		out.Sent, out.DropFault, out.Delayed, in.Sent, in.DropFault, in.Delayed, c.TCPRetransSegs, c.TCPFastRetrans, c.TCPTimeouts)
}

// kernelSizes are the body sizes of the kernel tests: 1 MB and 20 MB. With
// faults, tcpsim (NewReno with a subset of RFC 6675 SACK recovery, see
// docs/tcp.md) recovers many losses by timeout, so the 20 MB runs take
// minutes: they run only with TCPSIM_LONG=1.
func kernelSizes(f kernelFaults) []int64 {
	if f.loss > 0 && !long() {
		return []int64{1 << 20}
	}
	return []int64{1 << 20, 20 << 20}
}

// TestKernelFetchesFromTCPSim: curl and a Go client on kernel sockets fetch
// 1 MB and 20 MB from tcpsim's HTTP server behind the TUN device, with no
// fault and with 5% loss and reordering on tcpsim's side; bodies are checked
// by hash, and both sides must close without a reset.
func TestKernelFetchesFromTCPSim(t *testing.T) {
	for _, f := range kernelCases {
		t.Run(f.name, func(t *testing.T) {
			ns, a := tcpsimBehindTUN(t, 0, f, 1, stack.TCPConfig{}, "curl", "ss", "nstat")
			l, err := a.Net.Listen("tcp", ":8080")
			if err != nil {
				t.Fatal(err)
			}
			startServer(t, l, bodyHandler())
			for i, n := range kernelSizes(f) {
				seed := uint64(10 + i)
				curlBody(t, ns, fmt.Sprintf("http://192.0.2.2:8080%s", bodyPath(n, seed)), seed, n)
				goClientBody(t, ns, fmt.Sprintf("http://192.0.2.2:8080%s", bodyPath(n, seed+100)), seed+100, n)
			}
			checkKernelClean(t, ns)
			checkTCPSimClean(t, a, f)
			logFaults(t, a, f)
		})
	}
}

// TestTCPSimFetchesFromKernel: tcpsim's HTTP client fetches 1 MB and 20 MB
// from a Go HTTP server on kernel sockets in the namespace, with and without
// faults, and both sides close cleanly.
func TestTCPSimFetchesFromKernel(t *testing.T) {
	for _, f := range kernelCases {
		t.Run(f.name, func(t *testing.T) {
			ns, a := tcpsimBehindTUN(t, 0, f, 2, stack.TCPConfig{}, "ss", "nstat")
			kl, err := ns.Listen("tcp4", "192.0.2.1:8000")
			if err != nil {
				t.Fatal(err)
			}
			startServer(t, kl, bodyHandler())
			tr := &http.Transport{DialContext: a.Net.DialContext, DisableCompression: true}
			cl := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
			for i, n := range kernelSizes(f) {
				seed := uint64(20 + i)
				resp, err := cl.Get("http://192.0.2.1:8000" + bodyPath(n, seed))
				if err != nil {
					t.Fatalf("tcpsim client: %v\n%s", err, ns.Sockets())
				}
				checkBody(t, "tcpsim client", resp.Body, seed, n)
				resp.Body.Close()
			}
			tr.CloseIdleConnections()
			checkKernelClean(t, ns)
			checkTCPSimClean(t, a, f)
			logFaults(t, a, f)
		})
	}
}

// TestKernelSeesProvokedReset checks that the clean-close checks can fail:
// tcpsim aborts an established connection and the kernel must count the
// reset.
func TestKernelSeesProvokedReset(t *testing.T) {
	ns, a := tcpsimBehindTUN(t, 0, kernelCases[0], 3, stack.TCPConfig{}, "nstat")
	kl, err := ns.Listen("tcp4", "192.0.2.1:8001")
	if err != nil {
		t.Fatal(err)
	}
	defer kl.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := kl.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := a.Net.DialContext(ctx, "tcp", "192.0.2.1:8001")
	if err != nil {
		t.Fatal(err)
	}
	kc := <-accepted
	defer kc.Close()
	c.(interface{ Abort() error }).Abort()
	kc.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = kc.Read(make([]byte, 1))
	if !errors.Is(err, errConnReset) {
		t.Fatalf("kernel read after tcpsim's abort = %v, want ECONNRESET", err)
	}
	if v, err := ns.Counter("TcpEstabResets"); err != nil || v != 1 {
		t.Fatalf("kernel TcpEstabResets = %d (%v), want 1", v, err)
	}
	if c := counters(t, a); c.TCPRstSent != 1 {
		t.Fatalf("tcpsim TCPRstSent = %d, want 1", c.TCPRstSent)
	}
}
