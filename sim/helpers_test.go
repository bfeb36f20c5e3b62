package sim

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/stack"
)

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
)

// arrival is one packet a testNode received.
type arrival struct {
	at    time.Duration
	ifIdx int
	data  []byte
}

// testNode records what it receives; it can own interfaces.
type testNode struct {
	w      *World
	ifaces []stack.Link
	got    []arrival
	keep   bool // copy packet bytes
	count  int
	onRecv func(ifIdx int, pkt []byte)
}

func (n *testNode) Deliver(ifIndex int, pkt []byte) {
	n.count++
	if n.keep {
		n.got = append(n.got, arrival{n.w.Now(), ifIndex, append([]byte(nil), pkt...)})
	}
	if n.onRecv != nil {
		n.onRecv(ifIndex, pkt)
	}
}

func (n *testNode) AddInterface(addr netip.Prefix, link stack.Link, mtu int) (int, error) {
	n.ifaces = append(n.ifaces, link)
	return len(n.ifaces) - 1, nil
}

// tcpPacket builds an IPv4+TCP packet with n bytes of payload.
func tcpPacket(t testing.TB, src, dst netip.Addr, flags segment.Flags, seq uint32, n int) []byte {
	t.Helper()
	p := segment.Packet{Payload: make([]byte, n)}
	p.IP.TTL = 64
	p.IP.Src, p.IP.Dst = src, dst
	p.TCP.SrcPort, p.TCP.DstPort = 49152, 80
	p.TCP.Seq = segment.Seq(seq)
	p.TCP.Flags = flags
	p.TCP.Window = 65535
	for i := range p.Payload {
		p.Payload[i] = byte(i)
	}
	b, err := p.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pair builds a world with two test nodes a and b joined by one link.
func pair(t testing.TB, cfg Config, lc LinkConfig) (*World, *Link, *testNode, *testNode) {
	t.Helper()
	w := New(cfg)
	a := &testNode{w: w, keep: true}
	b := &testNode{w: w, keep: true}
	if err := w.AddNode("a", a); err != nil {
		t.Fatal(err)
	}
	if err := w.AddNode("b", b); err != nil {
		t.Fatal(err)
	}
	l, err := w.Connect("a", netip.PrefixFrom(addrA, 24), "b", netip.PrefixFrom(addrB, 24), lc)
	if err != nil {
		t.Fatal(err)
	}
	return w, l, a, b
}
