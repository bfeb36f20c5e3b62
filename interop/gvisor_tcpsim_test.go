package interop

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/sim/gvisorpeer"
	"github.com/tcpsim/tcpsim/stack"
)

// mixed is a world with a tcpsim host (node "a", 10.0.0.1) and a gVisor host
// (node "b", 10.0.0.2) on one simulated link, on the wall-clock driver.
type mixed struct {
	*world
	host *stack.Host
	net  *sim.Net
	gv   *gvisorpeer.Node
}

func newMixed(t testing.TB, seed uint64, cfg sim.LinkConfig, tcp stack.TCPConfig) *mixed {
	t.Helper()
	wd := newWorld(t, seed)
	m := &mixed{world: wd}
	var err error
	cerr := wd.loop.Call(func() {
		env := wd.w.NewHostEnv()
		m.host, err = stack.NewHost(stack.HostConfig{Name: "tcpsim", Env: env, Seed: wd.w.SeedFor("host", "tcpsim"), TCP: tcp})
		if err == nil {
			env.Bind(m.host)
		}
	})
	if cerr != nil || err != nil {
		t.Fatal(cerr, err)
	}
	m.gv = wd.gvisorNode(t)
	wd.connect(t, m.host, m.gv, cfg)
	m.net = sim.NewLoopNet(wd.loop, m.host)
	return m
}

func (m *mixed) counters(t testing.TB) stack.Counters {
	var c stack.Counters
	m.loop.Call(func() { c = m.host.Counters() })
	return c
}

func (m *mixed) linkStats() (ab, ba sim.DirStats) {
	m.loop.Call(func() { ab, ba = m.link.Stats(0), m.link.Stats(1) })
	return
}

// TestHTTPTCPSimClientGVisorServer: net/http on tcpsim fetches from
// net/http on gVisor.
func TestHTTPTCPSimClientGVisorServer(t *testing.T) {
	m := newMixed(t, 1, impaired(0, 0), stack.TCPConfig{})
	l, err := m.gv.Host().Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	startServer(t, l, bodyHandler())
	tr := &http.Transport{DialContext: m.net.DialContext, DisableCompression: true}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: time.Minute}
	for i, n := range []int64{0, 1, 100 << 10, 4 << 20} {
		resp, err := cl.Get("http://10.0.0.2" + bodyPath(n, uint64(i)))
		if err != nil {
			t.Fatal(err)
		}
		checkBody(t, fmt.Sprintf("GET %d bytes", n), resp.Body, uint64(i), n)
		resp.Body.Close()
	}
}

// TestHTTPGVisorClientTCPSimServer: net/http on gVisor fetches from
// net/http on tcpsim.
func TestHTTPGVisorClientTCPSimServer(t *testing.T) {
	m := newMixed(t, 1, impaired(0, 0), stack.TCPConfig{})
	l, err := m.net.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	startServer(t, l, bodyHandler())
	cl := m.gv.Host().HTTPClient()
	cl.Timeout = time.Minute
	defer cl.CloseIdleConnections()
	for i, n := range []int64{0, 1, 100 << 10, 4 << 20} {
		resp, err := cl.Get("http://10.0.0.1:80" + bodyPath(n, uint64(i)))
		if err != nil {
			t.Fatal(err)
		}
		checkBody(t, fmt.Sprintf("GET %d bytes", n), resp.Body, uint64(i), n)
		resp.Body.Close()
	}
}

// gvisorSweep is the fault sweep of TestBulkWithGVisor: the default run is
// a meaningful slice; TCPSIM_LONG=1 sends more under heavier loss.
func gvisorSweep() (size int, loss, reorder float64) {
	if long() {
		return 1 << 20, 0.05, 0.10
	}
	return 200 << 10, 0.02, 0.05
}

// TestBulkWithGVisor moves a body each way between tcpsim and gVisor under
// loss and reordering (both directions of the link), over 20 seeds, and
// checks it byte for byte: tcpsim sending to gVisor (tcpsim dials and
// uploads) and gVisor sending to tcpsim (gVisor dials and uploads).
func TestBulkWithGVisor(t *testing.T) {
	size, loss, reorder := gvisorSweep()
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			t.Parallel()
			m := newMixed(t, seed, impaired(loss, reorder), stack.TCPConfig{})
			body := randomBody(seed, size)

			// tcpsim → gVisor.
			gl, err := m.gv.Host().Listen(5001)
			if err != nil {
				t.Fatal(err)
			}
			defer gl.Close()
			transfer(t, gl, func(ctx context.Context) (net.Conn, error) {
				return m.net.DialContext(ctx, "tcp", "10.0.0.2:5001")
			}, body)

			// gVisor → tcpsim.
			tl, err := m.net.Listen("tcp", ":5002")
			if err != nil {
				t.Fatal(err)
			}
			defer tl.Close()
			transfer(t, tl, func(ctx context.Context) (net.Conn, error) {
				return m.gv.Host().Dial(ctx, netip.MustParseAddrPort("10.0.0.1:5002"))
			}, body)

			ab, ba := m.linkStats()
			if ab.DropFault+ba.DropFault == 0 {
				t.Errorf("no packet was dropped (a→b %+v, b→a %+v): the faults did not act", ab, ba)
			}
			c := m.counters(t)
			// No reset may cut a connection short. A reset that reaches a
			// tcpsim connection already past both FINs (TIME_WAIT) is
			// allowed: with SACK negotiated gVisor runs RACK-TLP on the wall
			// clock, and on a loaded machine its tail-loss probe can resend
			// its FIN before it has processed our ACK; we ACK the copy from
			// TIME_WAIT (RFC 9293 §3.10.7.4), and gVisor, closed by then,
			// answers with a reset (§3.10.7.1). Both ends are right.
			if c.TCPRstSent != 0 || c.TCPEstabResets != 0 || c.TCPAttemptFails != 0 {
				t.Errorf("resets: tcpsim sent %d, received %d (%d in synchronized states, %d failed attempts)",
					c.TCPRstSent, c.TCPRstReceived, c.TCPEstabResets, c.TCPAttemptFails)
			}
		})
	}
}
