package simdns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

var (
	clientPfx = netip.MustParsePrefix("10.0.0.1/24")
	dnsPfx    = netip.MustParsePrefix("10.0.0.53/24")
	webAddr   = netip.MustParseAddr("10.0.0.80")
	dnsAP     = netip.AddrPortFrom(dnsPfx.Addr(), Port)
)

// world is a client and a DNS server host on one 10 ms link; faults apply
// to the client's direction.
func world(t *testing.T, seed uint64, faults ...sim.Fault) (*sim.World, *stack.Host, *stack.Host) {
	t.Helper()
	w := sim.New(sim.Config{Seed: seed})
	c, err := w.AddHost("client", clientPfx, stack.TCPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := w.AddHost("dns", dnsPfx, stack.TCPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	up := sim.DirConfig{Delay: 10 * time.Millisecond, Faults: faults}
	down := sim.DirConfig{Delay: 10 * time.Millisecond}
	if _, err := w.Connect("client", clientPfx, "dns", dnsPfx, sim.LinkConfig{Name: "wire", AB: up, BA: down}); err != nil {
		t.Fatal(err)
	}
	return w, c, s
}

func records() map[string]netip.Addr {
	return map[string]netip.Addr{"www.example.": webAddr}
}

// serveTask starts srv on the DNS host and returns a func that stops it.
func serveTask(t *testing.T, w *sim.World, h *stack.Host, srv *Server) func() {
	n := sim.NewTaskNet(w, h)
	var pc net.PacketConn
	w.Spawn("dns", func(*sim.Task) {
		var err error
		if pc, err = n.ListenPacket("udp", ":53"); err != nil {
			t.Error(err)
			return
		}
		if err := srv.Serve(pc); err != nil {
			t.Error(err)
		}
	})
	return func() {
		if pc != nil {
			pc.Close()
		}
	}
}

func TestLookupVirtual(t *testing.T) {
	w, c, s := world(t, 1)
	srv := &Server{Records: records()}
	stop := serveTask(t, w, s, srv)
	n := sim.NewTaskNet(w, c)
	w.Spawn("client", func(tk *sim.Task) {
		defer stop()
		addr, tries, err := Lookup(context.Background(), n, dnsAP, "WWW.Example", LookupOptions{ID: 7})
		if err != nil || addr != webAddr {
			t.Errorf("Lookup = %v, %v; want %v", addr, err, webAddr)
		}
		if len(tries) != 1 || !tries[0].Replied || tk.Now() != 20*time.Millisecond {
			t.Errorf("attempts %+v, done at %v; want one answered attempt after 20ms", tries, tk.Now())
		}
		_, _, err = Lookup(context.Background(), n, dnsAP, "nowhere.example", LookupOptions{})
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsNotFound || de.Server != dnsAP.String() {
			t.Errorf("unknown name: %v, want a not-found *net.DNSError from %v", err, dnsAP)
		}
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Queries != 2 || st.Answers != 1 || st.NXDomain != 1 {
		t.Errorf("server stats %+v", st)
	}
}

// A lost query is sent again after the timeout.
func TestLookupRetriesLostQuery(t *testing.T) {
	drop := sim.Rule{Name: "lose-first-query", Nth: 1, Action: sim.RuleDrop}
	w, c, s := world(t, 2, drop)
	stop := serveTask(t, w, s, &Server{Records: records()})
	n := sim.NewTaskNet(w, c)
	w.Spawn("client", func(tk *sim.Task) {
		defer stop()
		addr, tries, err := Lookup(context.Background(), n, dnsAP, "www.example", LookupOptions{})
		if err != nil || addr != webAddr {
			t.Errorf("Lookup = %v, %v", addr, err)
		}
		if len(tries) != 2 || tries[0].Replied || !tries[1].Replied {
			t.Errorf("attempts %+v: want a lost one, then an answered one", tries)
		}
		if want := 5*time.Second + 20*time.Millisecond; tk.Now() != want {
			t.Errorf("answered at %v, want %v (5 s timeout, then a round trip)", tk.Now(), want)
		}
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
}

// Every query lost: a timeout error after Attempts tries; no server: the
// ICMP port unreachable ends the lookup at once.
func TestLookupFailures(t *testing.T) {
	w, c, _ := world(t, 3, sim.Loss{P: 1})
	n := sim.NewTaskNet(w, c)
	w.Spawn("client", func(tk *sim.Task) {
		_, tries, err := Lookup(context.Background(), n, dnsAP, "www.example", LookupOptions{Timeout: time.Second, Attempts: 3})
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsTimeout || len(tries) != 3 || tk.Now() != 3*time.Second {
			t.Errorf("dead link: %v after %d attempts at %v; want a timeout after 3 at 3s", err, len(tries), tk.Now())
		}
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	w, c, _ = world(t, 4)
	n = sim.NewTaskNet(w, c)
	w.Spawn("client", func(tk *sim.Task) {
		_, _, err := Lookup(context.Background(), n, dnsAP, "www.example", LookupOptions{})
		if err == nil || !strings.Contains(err.Error(), "refused") || tk.Now() != 20*time.Millisecond {
			t.Errorf("no server: %v at %v; want refused after one round trip", err, tk.Now())
		}
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
}

// Garbage sent to the server is dropped and counted; it keeps serving.
func TestServerMalformed(t *testing.T) {
	w, c, s := world(t, 5)
	srv := &Server{Records: records()}
	stop := serveTask(t, w, s, srv)
	n := sim.NewTaskNet(w, c)
	w.Spawn("client", func(tk *sim.Task) {
		defer stop()
		g, err := n.Dial("udp", dnsAP.String())
		if err != nil {
			t.Error(err)
			return
		}
		g.Write([]byte("not dns"))
		g.Write(make([]byte, 12)) // a header with no question
		g.Close()
		if _, _, err := Lookup(context.Background(), n, dnsAP, "www.example", LookupOptions{}); err != nil {
			t.Error(err)
		}
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Malformed != 2 || st.Answers != 1 {
		t.Errorf("server stats %+v, want 2 malformed and 1 answer", st)
	}
}

// Go's own resolver over simulated UDP, on the wall-clock driver.
func TestGoResolver(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		w, c, s := world(t, 6)
		loop, err := w.StartLoop()
		if err != nil {
			t.Fatal(err)
		}
		defer loop.Close()
		sn, cn := sim.NewLoopNet(loop, s), sim.NewLoopNet(loop, c)
		pc, err := sn.ListenPacket("udp", ":53")
		if err != nil {
			t.Fatal(err)
		}
		srv := &Server{Records: records()}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(pc) }()
		r := GoResolver(cn, dnsAP)
		start := time.Now()
		addrs, err := r.LookupHost(context.Background(), "www.example.") // absolute: no search domains from resolv.conf
		if err != nil || len(addrs) != 1 || addrs[0] != webAddr.String() {
			t.Errorf("LookupHost = %v, %v; want [%v]", addrs, err, webAddr)
		}
		if took := time.Since(start); took < 20*time.Millisecond || took > 21*time.Millisecond {
			t.Errorf("lookup took %v of fake time, want one 20 ms round trip (A and AAAA in parallel)", took)
		}
		_, err = r.LookupHost(context.Background(), "nowhere.example.")
		var de *net.DNSError
		if !errors.As(err, &de) || !de.IsNotFound {
			t.Errorf("unknown name: %v, want not found", err)
		}
		pc.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if st := srv.Stats(); st.Answers != 1 || st.NXDomain < 1 {
			t.Errorf("server stats %+v", st)
		}
	})
}

// TestMain loads Go's resolver configuration outside any synctest bubble.
func TestMain(m *testing.M) {
	PrepareGoResolver()
	os.Exit(m.Run())
}
