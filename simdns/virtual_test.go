package simdns

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// Go's own resolver on a virtual loop, outside any bubble: lookups over
// a lossy path are retried on virtual time, and two runs with one seed
// send the same packets.
func TestGoResolverVirtualLoop(t *testing.T) {
	run := func() ([32]byte, time.Duration, ServerStats) {
		w := sim.New(sim.Config{Seed: 11, Log: true})
		ch, err := w.AddHost("client", clientPfx, stack.TCPConfig{})
		if err != nil {
			t.Fatal(err)
		}
		sh, err := w.AddHost("dns", dnsPfx, stack.TCPConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Connect("client", clientPfx, "dns", dnsPfx,
			sim.Symmetric("wire", sim.DirConfig{Delay: 20 * time.Millisecond, Faults: []sim.Fault{sim.Loss{P: 0.1}}})); err != nil {
			t.Fatal(err)
		}
		l, err := w.StartVirtualLoop()
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		cn, sn := sim.NewLoopNet(l, ch), sim.NewLoopNet(l, sh)
		pc, err := sn.ListenPacket("udp", ":53")
		if err != nil {
			t.Fatal(err)
		}
		srv := &Server{Records: map[string]netip.Addr{"www.example.": netip.MustParseAddr("10.0.0.9")}}
		done := make(chan struct{})
		go func() { srv.Serve(pc); close(done) }()
		r := GoResolver(cn, dnsAP)
		start := l.Now()
		for i := range 8 {
			addrs, err := r.LookupNetIP(context.Background(), "ip4", "www.example.")
			if err != nil || len(addrs) != 1 || addrs[0].String() != "10.0.0.9" {
				t.Fatalf("lookup %d: %v, %v", i, addrs, err)
			}
		}
		took := l.Now() - start
		pc.Close()
		<-done
		return w.Log().Hash(), took, srv.Stats()
	}
	h1, t1, s1 := run()
	h2, t2, s2 := run()
	if h1 != h2 || t1 != t2 {
		t.Errorf("two runs with seed 11: %x in %v (%+v) vs %x in %v (%+v)", h1, t1, s1, h2, t2, s2)
	}
	// Without loss 8 lookups take 8 round trips of 40 ms; each lost query
	// or answer costs the resolver's timeout (5 s unless resolv.conf says
	// otherwise) before it asks again.
	if t1 < time.Second {
		t.Errorf("8 lookups over 10%% loss took %v of virtual time: none was retried (server %+v)", t1, s1)
	}
	t.Logf("8 lookups: %v of virtual time, server %+v", t1, s1)
}
