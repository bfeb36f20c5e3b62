package stack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
)

func udpRun(p *pair) { p.n.run(time.Minute, func() bool { return false }) }

func TestUDPExchange(t *testing.T) {
	p := newPair(t, 1, 5*time.Millisecond, faults{}, TCPConfig{})
	srv, err := p.b.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 53))
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	var from []netip.AddrPort
	srv.SetNotify(func(ev Event) {
		for {
			buf := make([]byte, 2048)
			n, src, err := srv.ReadFrom(buf)
			if errors.Is(err, ErrWouldBlock) {
				return
			}
			if err != nil {
				t.Errorf("server ReadFrom: %v", err)
				return
			}
			got = append(got, buf[:n])
			from = append(from, src)
			if _, err := srv.WriteTo(append([]byte("re:"), buf[:n]...), src); err != nil {
				t.Errorf("server WriteTo: %v", err)
			}
		}
	})
	cl, err := p.a.ListenUDP(netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	if cl.LocalAddr().Port() < ephemeralLow {
		t.Fatalf("ephemeral port %d below %d", cl.LocalAddr().Port(), ephemeralLow)
	}
	if err := cl.Connect(netipAP(addrB, 53)); err != nil {
		t.Fatal(err)
	}
	if cl.LocalAddr().Addr() != addrA {
		t.Fatalf("connected socket's local address %v, want %v", cl.LocalAddr(), addrA)
	}
	for _, m := range []string{"one", "", "three"} {
		if n, err := cl.Write([]byte(m)); err != nil || n != len(m) {
			t.Fatalf("Write(%q) = %d, %v", m, n, err)
		}
	}
	udpRun(p)
	if len(got) != 3 || string(got[0]) != "one" || len(got[1]) != 0 || string(got[2]) != "three" {
		t.Fatalf("server got %q", got)
	}
	if from[0] != cl.LocalAddr() {
		t.Fatalf("source %v, want %v", from[0], cl.LocalAddr())
	}
	var replies []string
	for {
		buf := make([]byte, 64)
		n, src, err := cl.ReadFrom(buf)
		if errors.Is(err, ErrWouldBlock) {
			break
		}
		if err != nil || src != netipAP(addrB, 53) {
			t.Fatalf("client ReadFrom: %v from %v", err, src)
		}
		replies = append(replies, string(buf[:n]))
	}
	if len(replies) != 3 || replies[0] != "re:one" || replies[2] != "re:three" {
		t.Fatalf("client got %q", replies)
	}
	cb := p.b.Counters()
	if cb.UDPInDatagrams != 3 || cb.UDPOutDatagrams != 3 || p.a.Counters().UDPInDatagrams != 3 {
		t.Fatalf("counters b %+v", cb)
	}
}

// A datagram to a closed port draws an ICMP port unreachable, which a
// connected socket reports as ECONNREFUSED on its next call, once.
func TestUDPPortUnreachableRefuses(t *testing.T) {
	p := newPair(t, 2, time.Millisecond, faults{}, TCPConfig{})
	cl, err := p.a.ListenUDP(netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Connect(netipAP(addrB, 9999)); err != nil {
		t.Fatal(err)
	}
	var evs Event
	cl.SetNotify(func(ev Event) { evs |= ev })
	if _, err := cl.Write([]byte("hello?")); err != nil {
		t.Fatal(err)
	}
	udpRun(p)
	if p.b.Counters().UDPNoPorts != 1 || p.b.Counters().ICMPOutDestUnreachs != 1 {
		t.Fatalf("server counters %+v", p.b.Counters())
	}
	if evs&EventError == 0 {
		t.Fatalf("no EventError (events %v)", evs)
	}
	_, _, err = cl.ReadFrom(make([]byte, 10))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("ReadFrom after port unreachable: %v, want ECONNREFUSED", err)
	}
	if _, _, err = cl.ReadFrom(make([]byte, 10)); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("second ReadFrom: %v, want ErrWouldBlock (the error is reported once)", err)
	}
	// An unconnected socket is not told (RFC 1122 §4.1.3.3 leaves it to
	// the application; Linux needs IP_RECVERR).
	un, _ := p.a.ListenUDP(netip.AddrPort{})
	if _, err := un.WriteTo([]byte("x"), netipAP(addrB, 9998)); err != nil {
		t.Fatal(err)
	}
	udpRun(p)
	if _, _, err := un.ReadFrom(make([]byte, 4)); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("unconnected socket: %v, want ErrWouldBlock", err)
	}
}

func TestUDPBindAndMisuse(t *testing.T) {
	p := newPair(t, 3, time.Millisecond, faults{}, TCPConfig{})
	a, err := p.a.ListenUDP(netipAP(addrA, 7))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.a.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 7)); !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("overlapping bind: %v, want ErrAddrInUse", err)
	}
	if _, err := p.a.ListenUDP(netipAP(addrB, 8)); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("bind to a foreign address: %v, want EADDRNOTAVAIL", err)
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, syscall.EDESTADDRREQ) {
		t.Fatalf("Write unconnected: %v, want EDESTADDRREQ", err)
	}
	if _, err := a.WriteTo(make([]byte, 1473), netipAP(addrB, 7)); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("1473 bytes over MTU 1500: %v, want EMSGSIZE", err)
	}
	if _, err := a.WriteTo(make([]byte, 1472), netipAP(addrB, 7)); err != nil {
		t.Fatalf("1472 bytes over MTU 1500: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := p.a.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 7)); err != nil {
		t.Fatalf("port not released by Close: %v", err)
	}
}

// udpPacket builds an IPv4 packet carrying a UDP datagram from b to a.
func udpPacket(t *testing.T, sport, dport uint16, payload []byte, mutate func(udp []byte)) []byte {
	t.Helper()
	udp := make([]byte, udpHeaderLen+len(payload))
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], payload)
	s, d := addrB.As4(), addrA.As4()
	binary.BigEndian.PutUint16(udp[6:], udpChecksum(addrSum(s[:], d[:]), udp[:8], payload))
	if mutate != nil {
		mutate(udp)
	}
	ih := ippacket.Header{TTL: 64, Protocol: ippacket.ProtocolUDP, Src: addrB, Dst: addrA}
	b, err := ih.Encode(nil, len(udp))
	if err != nil {
		t.Fatal(err)
	}
	return append(b, udp...)
}

// Malformed datagrams are dropped and counted by reason; none panics,
// and none reaches the socket.
func TestUDPMalformedCounted(t *testing.T) {
	p := newPair(t, 4, time.Millisecond, faults{}, TCPConfig{})
	sock, err := p.a.ListenUDP(netipAP(addrA, 5000))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		pkt     []byte
		counter func(Counters) uint64
	}{
		{"truncated", ipWrap(t, ippacket.ProtocolUDP, addrB, addrA, []byte{0, 1, 0x13, 0x88}), func(c Counters) uint64 { return c.UDPDropTruncated }},
		{"length 7", udpPacket(t, 1, 5000, []byte("ab"), func(u []byte) { u[5] = 7 }), func(c Counters) uint64 { return c.UDPDropLength }},
		{"length beyond", udpPacket(t, 1, 5000, []byte("ab"), func(u []byte) { u[5] = 99 }), func(c Counters) uint64 { return c.UDPDropLength }},
		{"checksum", udpPacket(t, 1, 5000, []byte("ab"), func(u []byte) { u[8] ^= 1 }), func(c Counters) uint64 { return c.UDPInCsumErrors }},
		{"port 0", udpPacket(t, 1, 0, []byte("ab"), nil), func(c Counters) uint64 { return c.UDPDropBadPort }},
	}
	for _, c := range cases {
		before := c.counter(p.a.Counters())
		p.a.Deliver(0, c.pkt)
		if c.counter(p.a.Counters()) != before+1 {
			t.Errorf("%s: not counted (%+v)", c.name, p.a.Counters())
		}
	}
	if sock.Readable() != 0 {
		t.Fatalf("%d malformed datagrams queued", sock.Readable())
	}
	// Checksum zero means none (RFC 768): accepted.
	p.a.Deliver(0, udpPacket(t, 1, 5000, []byte("nocsum"), func(u []byte) { u[6], u[7] = 0, 0 }))
	// A length shorter than the IP payload: the rest is not the datagram's.
	pk := udpPacket(t, 1, 5000, []byte("abcdef"), nil)
	short := udpPacket(t, 1, 5000, []byte("abc"), nil)
	copy(pk[ippacket.HeaderLen:], short[ippacket.HeaderLen:ippacket.HeaderLen+11])
	p.a.Deliver(0, pk)
	buf := make([]byte, 16)
	n, _, err := sock.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "nocsum" {
		t.Fatalf("zero-checksum datagram: %q, %v", buf[:n], err)
	}
	n, _, err = sock.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "abc" {
		t.Fatalf("padded datagram: %q, %v", buf[:n], err)
	}
}

// A full receive queue drops and counts; a short buffer truncates.
func TestUDPReceiveQueueBound(t *testing.T) {
	p := newPair(t, 5, time.Millisecond, faults{}, TCPConfig{})
	sock, _ := p.a.ListenUDP(netipAP(addrA, 5000))
	if err := sock.SetReceiveBuffer(1000); err != nil {
		t.Fatal(err)
	}
	if err := sock.SetReceiveBuffer(0); err == nil {
		t.Fatal("SetReceiveBuffer(0) accepted")
	}
	for range 5 {
		p.a.Deliver(0, udpPacket(t, 1, 5000, make([]byte, 400), nil))
	}
	if sock.Readable() != 2 || p.a.Counters().UDPRcvbufErrors != 3 {
		t.Fatalf("queued %d, dropped %d; want 2 and 3", sock.Readable(), p.a.Counters().UDPRcvbufErrors)
	}
	n, _, _ := sock.ReadFrom(make([]byte, 10))
	if n != 10 || sock.Readable() != 1 {
		t.Fatalf("truncating read gave %d bytes, %d left", n, sock.Readable())
	}
}

func TestICMPEcho(t *testing.T) {
	p := newPair(t, 6, 3*time.Millisecond, faults{}, TCPConfig{})
	var replies []EchoReply
	p.a.OnEchoReply(func(r EchoReply) { replies = append(replies, r) })
	if err := p.a.SendEcho(addrB, 77, 1, []byte("ping data")); err != nil {
		t.Fatal(err)
	}
	udpRun(p)
	if len(replies) != 1 {
		t.Fatalf("%d replies", len(replies))
	}
	r := replies[0]
	if r.Src != addrB || r.ID != 77 || r.Seq != 1 || !bytes.Equal(r.Data, []byte("ping data")) || r.At != 6*time.Millisecond {
		t.Fatalf("reply %+v", r)
	}
	if p.b.Counters().ICMPInEchos != 1 || p.b.Counters().ICMPOutEchoReps != 1 {
		t.Fatalf("counters %+v", p.b.Counters())
	}
	// A corrupted echo is dropped and counted.
	ih := ippacket.Header{TTL: 64, Protocol: ippacket.ProtocolICMP, Src: addrA, Dst: addrB}
	b, _ := ih.Encode(nil, 8)
	b = append(b, 8, 0, 0, 1, 0, 0, 0, 0)
	p.b.Deliver(0, b)
	if p.b.Counters().ICMPInCsumErrors != 1 {
		t.Fatalf("bad ICMP checksum not counted: %+v", p.b.Counters())
	}
	p.b.Deliver(0, ipWrap(t, ippacket.ProtocolICMP, addrA, addrB, []byte{8, 0, 0xf7, 0xff}))
	if p.b.Counters().ICMPDropTruncated != 1 {
		t.Fatalf("short ICMP not counted: %+v", p.b.Counters())
	}
}

// Errors the host sends are limited as Linux limits them: per destination
// a burst of six, then one a second.
func TestICMPRateLimit(t *testing.T) {
	p := newPair(t, 7, time.Millisecond, faults{}, TCPConfig{})
	for range 20 {
		p.a.Deliver(0, udpPacket(t, 1, 4444, []byte("x"), nil))
	}
	c := p.a.Counters()
	if c.UDPNoPorts != 20 || c.ICMPOutDestUnreachs != icmpPeerBurst || c.ICMPOutRateLimited != 20-icmpPeerBurst {
		t.Fatalf("sent %d, limited %d of %d; want %d sent", c.ICMPOutDestUnreachs, c.ICMPOutRateLimited, c.UDPNoPorts, icmpPeerBurst)
	}
	p.n.now += 1500 * time.Millisecond
	for range 3 {
		p.a.Deliver(0, udpPacket(t, 1, 4444, []byte("x"), nil))
	}
	if got := p.a.Counters().ICMPOutDestUnreachs; got != icmpPeerBurst+1 {
		t.Fatalf("after 1.5 s: %d sent, want %d", got, icmpPeerBurst+1)
	}
}

// An unknown protocol draws a protocol unreachable.
func TestIPProtocolUnreachable(t *testing.T) {
	p := newPair(t, 8, time.Millisecond, faults{}, TCPConfig{})
	var icmp []byte
	p.ab.tap = func(pkt []byte) { icmp = append([]byte(nil), pkt...) }
	ih := ippacket.Header{TTL: 64, Protocol: 47, Src: addrB, Dst: addrA}
	b, _ := ih.Encode(nil, 4)
	b = append(b, 1, 2, 3, 4)
	p.a.Deliver(0, b)
	if p.a.Counters().IPDropProtocol != 1 {
		t.Fatalf("not counted: %+v", p.a.Counters())
	}
	v := ippacket.View(icmp)
	if len(icmp) < 28 || v.Protocol() != ippacket.ProtocolICMP || icmp[20] != icmpUnreachable || icmp[21] != icmpCodeProtocolUnreachable {
		t.Fatalf("sent % x, want an ICMP protocol unreachable", icmp)
	}
	if !bytes.Equal(icmp[28:], b) {
		t.Fatalf("quote % x, want the packet % x", icmp[28:], b)
	}
}

// ipWrap puts payload in an IPv4 packet of protocol proto.
func ipWrap(t *testing.T, proto uint8, src, dst netip.Addr, payload []byte) []byte {
	t.Helper()
	ih := ippacket.Header{TTL: 64, Protocol: proto, Src: src, Dst: dst}
	b, err := ih.Encode(nil, len(payload))
	if err != nil {
		t.Fatal(err)
	}
	return append(b, payload...)
}
