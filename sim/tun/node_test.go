//go:build linux

package tun_test

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/sim/tun"
	"github.com/tcpsim/tcpsim/sim/tun/tuntest"
)

// recorder is a stand-in link end: it records what the node sends.
type recorder struct {
	mu   sync.Mutex
	pkts [][]byte
	got  chan struct{}
}

func (r *recorder) Send(p []byte) {
	r.mu.Lock()
	r.pkts = append(r.pkts, append([]byte(nil), p...))
	r.mu.Unlock()
	r.got <- struct{}{}
}

// TestNode checks both directions of a Node with a serial executor standing
// in for the scheduler, and its MTU check.
func TestNode(t *testing.T) {
	ns := tuntest.NewNamespace(t)
	ns.AddTUN("tun0", kernelPrefix, 1400)
	dev, err := ns.OpenTUN("tun0")
	if err != nil {
		t.Fatal(err)
	}
	work := make(chan func(), 64)
	var wg sync.WaitGroup
	wg.Go(func() {
		for f := range work {
			f()
		}
	})
	defer func() { close(work); wg.Wait() }()
	n, err := tun.NewNode(dev, func(f func()) { work <- f })
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{got: make(chan struct{}, 16)}
	if _, err := n.AddInterface(kernelPrefix, rec, 1500); err == nil || !strings.Contains(err.Error(), "link MTU 1500 exceeds the MTU 1400 of tun0") {
		t.Errorf("AddInterface with MTU 1500 = %v, want the MTU error", err)
	}
	if _, err := n.AddInterface(kernelPrefix, rec, 1400); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddInterface(kernelPrefix, rec, 1400); err == nil {
		t.Error("second AddInterface succeeded")
	}

	pc, err := ns.ListenPacket("udp4", "192.0.2.1:7000")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// Kernel → link. The kernel turns the device's carrier on shortly after
	// the device is opened, and drops what it sends before that, so the
	// datagram is sent again until one arrives (under load the first one is
	// lost about one run in four).
	delivered := false
	for try := 0; try < 100 && !delivered; try++ {
		if _, err := pc.WriteTo([]byte("to tcpsim"), net.UDPAddrFromAddrPort(netip.AddrPortFrom(simAddr, 9))); err != nil {
			t.Fatal(err)
		}
		select {
		case <-rec.got:
			delivered = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	if !delivered {
		t.Fatal("the node did not pass the kernel's packet to the link in 10 s")
	}
	rec.mu.Lock()
	h, payload, err := ippacket.Parse(rec.pkts[0])
	rec.mu.Unlock()
	if err != nil || h.Dst != simAddr || string(payload[8:]) != "to tcpsim" {
		t.Fatalf("link got %v %q (%v)", h, payload, err)
	}
	// Link → kernel. The counter is raised after the write returns, so the
	// kernel can hand the datagram to the socket before Written is 1: the
	// test waits for Deliver itself to return before reading the stats.
	delivered2 := make(chan struct{})
	work <- func() {
		n.Deliver(0, udpPacket(t, netip.AddrPortFrom(simAddr, 9), netip.MustParseAddrPort("192.0.2.1:7000"), []byte("to kernel")))
		close(delivered2)
	}
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 100)
	k, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:k]) != "to kernel" {
		t.Fatalf("kernel got %q, %v; want \"to kernel\"", buf[:k], err)
	}
	<-delivered2
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	n.Close()
	st := n.Stats()
	if st.Read < 1 || st.Written != 1 || n.Err() != nil {
		t.Errorf("stats %+v, err %v; want at least 1 read, 1 written, no error", st, n.Err())
	}
}
