package interop

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// benchLink is the in-memory link of the bulk benchmarks: no delay,
// unlimited rate, no queue limit, no faults, only the MTU.
func benchLink(mtu int) sim.LinkConfig {
	return sim.Symmetric("ab", sim.DirConfig{MTU: mtu})
}

// addTCPSimHost adds a tcpsim host named name to w (not running).
func addTCPSimHost(b testing.TB, w *sim.World, name string) *stack.Host {
	env := w.NewHostEnv()
	h, err := stack.NewHost(stack.HostConfig{Name: name, Env: env, Seed: w.SeedFor("host", name)})
	if err != nil {
		b.Fatal(err)
	}
	env.Bind(h)
	if err := w.AddNode(name, h); err != nil {
		b.Fatal(err)
	}
	return h
}

// benchGVisorLink is gVisor to gVisor over the simulated link on the
// wall-clock driver: each packet crosses the loop's mailbox, as a tcpsim
// packet from another goroutine would.
func benchGVisorLink(b *testing.B, mtu int) {
	wd := newWorld(b, 1)
	a, z := wd.gvisorNode(b), wd.gvisorNode(b)
	wd.connect(b, a, z, benchLink(mtu))
	l, err := z.Host().Listen(5001)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	benchBulk(b, l, func(ctx context.Context) (net.Conn, error) {
		return a.Host().Dial(ctx, netip.MustParseAddrPort("10.0.0.2:5001"))
	})
}

// benchTCPSimLink is tcpsim to tcpsim over the same link and driver, with
// goroutines using sim's net.Conn.
func benchTCPSimLink(b *testing.B, mtu int) {
	wd := newWorld(b, 1)
	var ha, hz *stack.Host
	var err error
	if cerr := wd.loop.Call(func() {
		ha, hz = addTCPSimHost(b, wd.w, "a"), addTCPSimHost(b, wd.w, "b")
		wd.link, err = wd.w.Connect("a", prefixA, "b", prefixB, benchLink(mtu))
	}); cerr != nil || err != nil {
		b.Fatal(cerr, err)
	}
	na, nz := sim.NewLoopNet(wd.loop, ha), sim.NewLoopNet(wd.loop, hz)
	l, err := nz.Listen("tcp", ":5001")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	benchBulk(b, l, func(ctx context.Context) (net.Conn, error) {
		return na.DialContext(ctx, "tcp", "10.0.0.2:5001")
	})
}

// benchTCPSimVirtual is tcpsim to tcpsim over the same link on the virtual
// driver: blocking-style tasks, no goroutine hand-offs, the clock jumping
// from event to event. It is what the CLI runs.
func benchTCPSimVirtual(b *testing.B, mtu int) {
	w := sim.New(sim.Config{Seed: 1})
	ha, hz := addTCPSimHost(b, w, "a"), addTCPSimHost(b, w, "b")
	if _, err := w.Connect("a", prefixA, "b", prefixB, benchLink(mtu)); err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	na, nz := sim.NewTaskNet(w, ha), sim.NewTaskNet(w, hz)
	buf := fillBlock[:256<<10]
	b.SetBytes(bulkSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		port := fmt.Sprint(5001 + i%1000)
		var got int64
		var srvErr, cliErr error
		w.Spawn("server", func(*sim.Task) {
			l, err := nz.Listen("tcp", ":"+port)
			if err != nil {
				srvErr = err
				return
			}
			defer l.Close()
			c, err := l.Accept()
			if err != nil {
				srvErr = err
				return
			}
			got, srvErr = io.Copy(io.Discard, c)
			c.Close()
		})
		w.Spawn("client", func(*sim.Task) {
			c, err := na.Dial("tcp", "10.0.0.2:"+port)
			if err != nil {
				cliErr = err
				return
			}
			for left := int64(bulkSize); left > 0 && cliErr == nil; left -= int64(len(buf)) {
				_, cliErr = c.Write(buf[:min(left, int64(len(buf)))])
			}
			c.Close()
		})
		if err := w.Run(); err != nil {
			b.Fatal(err)
		}
		if srvErr != nil || cliErr != nil || got != bulkSize {
			b.Fatalf("server got %d bytes (%v), client %v", got, srvErr, cliErr)
		}
	}
}
