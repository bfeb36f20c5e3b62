package sim

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// star builds h1, h2 — router — server; the router→server direction is an
// 8 Mbit/s bottleneck with 5 ms delay.
func star(t *testing.T, cfg Config) (w *World, r *Router, h1, h2, srv *testNode) {
	t.Helper()
	w = New(cfg)
	r, err := w.AddRouter("r")
	if err != nil {
		t.Fatal(err)
	}
	h1, h2, srv = &testNode{w: w, keep: true}, &testNode{w: w, keep: true}, &testNode{w: w, keep: true}
	for i, n := range []*testNode{h1, h2, srv} {
		if err := w.AddNode([]string{"h1", "h2", "srv"}[i], n); err != nil {
			t.Fatal(err)
		}
	}
	access := Symmetric("", DirConfig{Delay: time.Millisecond})
	mp := netip.MustParsePrefix
	if _, err := w.Connect("h1", mp("10.0.1.2/24"), "r", mp("10.0.1.1/24"), access); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Connect("h2", mp("10.0.2.2/24"), "r", mp("10.0.2.1/24"), access); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Connect("r", mp("10.0.9.1/24"), "srv", mp("10.0.9.2/24"), LinkConfig{
		AB: DirConfig{Delay: 5 * time.Millisecond, Rate: 8_000_000},
		BA: DirConfig{Delay: 5 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	// A less specific route that must lose to the connected /24.
	if err := r.AddRoute(mp("10.0.0.0/8"), 0); err != nil {
		t.Fatal(err)
	}
	return
}

var srvAddr = netip.MustParseAddr("10.0.9.2")

func TestRouterStarBottleneck(t *testing.T) {
	w, r, h1, h2, srv := star(t, Config{Log: true})
	p1 := tcpPacket(t, netip.MustParseAddr("10.0.1.2"), srvAddr, segment.FlagACK, 1, 960)
	p2 := tcpPacket(t, netip.MustParseAddr("10.0.2.2"), srvAddr, segment.FlagACK, 2, 960)
	w.At(0, func() {
		h1.ifaces[0].Send(p1)
		h2.ifaces[0].Send(p2)
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	// Both reach the router at 1 ms; the bottleneck serialises them 1 ms
	// apart, then 5 ms of delay.
	sameTimes(t, "server arrivals", arrivals(srv), []time.Duration{7 * time.Millisecond, 8 * time.Millisecond})
	for i, g := range srv.got {
		pk, err := segment.ParsePacket(g.data) // verifies both checksums
		if err != nil {
			t.Fatalf("forwarded packet %d: %v", i, err)
		}
		if pk.IP.TTL != 63 || uint32(pk.TCP.Seq) != uint32(i+1) {
			t.Fatalf("packet %d: TTL %d seq %d", i, pk.IP.TTL, pk.TCP.Seq)
		}
	}
	if r.Stats().Forwarded != 2 {
		t.Fatalf("stats %+v", r.Stats())
	}
	// Replies route back to the right host.
	w.At(w.Now(), func() {
		srv.ifaces[0].Send(tcpPacket(t, srvAddr, netip.MustParseAddr("10.0.2.2"), segment.FlagACK, 9, 0))
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if len(h2.got) != 1 || len(h1.got) != 0 {
		t.Fatalf("reply reached h1 %d times, h2 %d times", len(h1.got), len(h2.got))
	}
}

func TestRouterDrops(t *testing.T) {
	w, r, h1, _, srv := star(t, Config{Log: true})
	src := netip.MustParseAddr("10.0.1.2")
	ttl1 := tcpPacket(t, src, srvAddr, segment.FlagACK, 1, 0)
	ttl1[8] = 1
	fixChecksum(ttl1)
	noRoute := tcpPacket(t, src, netip.MustParseAddr("192.168.1.1"), segment.FlagACK, 2, 0)
	bad := tcpPacket(t, src, srvAddr, segment.FlagACK, 3, 0)
	bad[10] ^= 0xff // header checksum
	local := tcpPacket(t, src, netip.MustParseAddr("10.0.9.1"), segment.FlagACK, 4, 0)
	w.At(0, func() {
		for _, p := range [][]byte{ttl1, noRoute, bad, local} {
			h1.ifaces[0].Send(p)
		}
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if len(srv.got) != 0 {
		t.Fatal("a bad packet was forwarded")
	}
	want := RouterStats{DropTTL: 1, DropNoRoute: 1, DropMalformed: 1, DropLocal: 1}
	if r.Stats() != want {
		t.Fatalf("stats %+v, want %+v", r.Stats(), want)
	}
	drops := w.Log().Filter(func(e *Event) bool { return e.Verdict == Dropped })
	reasons := ""
	for _, d := range drops {
		if d.Node != "r" || d.Link != "h1-r" || d.End != 1 || d.Time != time.Millisecond {
			t.Fatalf("drop event place: %+v", d)
		}
		reasons += d.Reason + " "
	}
	if reasons != "ttl no-route malformed local " {
		t.Fatalf("drop reasons %q", reasons)
	}
}

func TestRouterRouteErrors(t *testing.T) {
	w := New(Config{})
	r, _ := w.AddRouter("r")
	if err := r.AddRoute(netip.MustParsePrefix("10.0.0.0/8"), 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("route to a missing interface: %v", err)
	}
	if _, err := w.AddRouter("r"); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate router name: %v", err)
	}
}

// fixChecksum recomputes an IPv4 header checksum after a test edits it.
func fixChecksum(p []byte) {
	p[10], p[11] = 0, 0
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(p[i])<<8 | uint32(p[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	p[10], p[11] = byte(c>>8), byte(c)
}

// Lookup remembers destinations, and a route added later still wins where
// it is more specific.
func TestRouterLookupCacheFollowsRoutes(t *testing.T) {
	_, r, _, _, _ := star(t, Config{})
	dst := netip.MustParseAddr("10.7.0.1")
	if i, ok := r.Lookup(dst); !ok || i != 0 {
		t.Fatalf("Lookup(%v) = %d, %v; want 0 (the /8)", dst, i, ok)
	}
	if err := r.AddRoute(netip.MustParsePrefix("10.7.0.0/16"), 2); err != nil {
		t.Fatal(err)
	}
	if i, ok := r.Lookup(dst); !ok || i != 2 {
		t.Fatalf("after AddRoute, Lookup(%v) = %d, %v; want 2", dst, i, ok)
	}
	if _, ok := r.Lookup(netip.MustParseAddr("192.168.0.1")); ok {
		t.Fatal("a destination without a route was found")
	}
}
