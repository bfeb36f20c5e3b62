package stack

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"

	"github.com/tcpsim/tcpsim/ippacket"
)

// UDP (RFC 768) for the host: bound and connected datagram sockets, with
// the checks and counters of an ordinary kernel. The engine does not
// fragment (every IPv4 packet it sends has DF set and it drops fragments it
// receives), so a datagram must fit the outgoing interface's MTU less the
// 28 bytes of IPv4 and UDP headers; a larger one fails with EMSGSIZE, as a
// Linux socket with IP_PMTUDISC_DO does.

const (
	udpHeaderLen = 8
	// maxUDPPayload is the largest payload an IPv4 datagram can carry:
	// 65535 less the IPv4 and UDP headers.
	maxUDPPayload = 0xffff - ippacket.HeaderLen - udpHeaderLen
	// DefaultUDPReceiveBuffer is the bytes of payload a UDPConn queues
	// before it drops datagrams (counted in UDPRcvbufErrors); Linux's
	// rmem_default is 212992, though Linux counts buffer overhead too.
	DefaultUDPReceiveBuffer = 212992
)

// UDPConn is a UDP socket of a Host: bound to a local address and port, and
// optionally connected to one remote address (Connect), after which it
// sends there by default, receives only from there, and reports ICMP errors
// for its datagrams (ECONNREFUSED for a port unreachable) on its next Read
// or Write, as Linux does for a connected socket. Like Conn, its methods
// never block: ReadFrom returns ErrWouldBlock when nothing is queued, and
// SetNotify's callback tells when to retry.
type UDPConn struct {
	h      *Host
	local  netip.AddrPort // bound address; Addr() may be unspecified
	remote netip.AddrPort // Connect's peer; invalid when not connected
	q      []udpDatagram
	qBytes int
	limit  int
	err    error // pending asynchronous error (an ICMP report), returned once
	closed bool

	notify func(Event)
	events Event
	queued bool
}

type udpDatagram struct {
	src  netip.AddrPort
	data []byte
}

// ListenUDP opens a UDP socket bound to local. An unspecified address binds
// every address of the host; port 0 picks a free ephemeral port. A port
// already bound on an overlapping address fails with ErrAddrInUse (there is
// no SO_REUSEADDR for UDP here).
func (h *Host) ListenUDP(local netip.AddrPort) (*UDPConn, error) {
	la := local.Addr()
	if !la.IsValid() {
		la = netip.IPv4Unspecified()
	}
	if !la.Is4() {
		return nil, fmt.Errorf("stack: ListenUDP %v: not an IPv4 address", local)
	}
	if !la.IsUnspecified() && !h.isLocal(la) {
		return nil, fmt.Errorf("stack: ListenUDP %v: %w", local, syscall.EADDRNOTAVAIL)
	}
	port := local.Port()
	if port == 0 {
		p, ok := h.pickUDPPort(la)
		if !ok {
			return nil, ErrNoPorts
		}
		port = p
	} else if h.udpBound(la, port) {
		return nil, ErrAddrInUse
	}
	c := &UDPConn{h: h, local: netip.AddrPortFrom(la, port), limit: DefaultUDPReceiveBuffer}
	if h.udp == nil {
		h.udp = make(map[uint16][]*UDPConn)
	}
	h.udp[port] = append(h.udp[port], c)
	return c, nil
}

// udpBound reports whether a socket holds port on an address overlapping la
// (the unspecified address overlaps every address).
func (h *Host) udpBound(la netip.Addr, port uint16) bool {
	for _, c := range h.udp[port] {
		if c.local.Addr() == la || c.local.Addr().IsUnspecified() || la.IsUnspecified() {
			return true
		}
	}
	return false
}

// pickUDPPort chooses a free ephemeral port: a seeded random start, then
// the next free one (RFC 6056 §3.3.2, Algorithm 2's search).
func (h *Host) pickUDPPort(la netip.Addr) (uint16, bool) {
	start := h.rng.Uint32()
	for i := range uint32(h.cfg.EphemeralPorts.Count()) {
		port := h.ephemeralPort(start + i)
		if !h.udpBound(la, port) {
			return port, true
		}
	}
	return 0, false
}

// LocalAddr returns the bound address and port. When bound to the
// unspecified address, a connected socket reports the address its datagrams
// leave from.
func (c *UDPConn) LocalAddr() netip.AddrPort { return c.local }

// RemoteAddr returns Connect's peer, or the zero AddrPort.
func (c *UDPConn) RemoteAddr() netip.AddrPort { return c.remote }

// Host returns the socket's host.
func (c *UDPConn) Host() *Host { return c.h }

// SetNotify installs the readiness callback: EventReadable when a datagram
// was queued, EventError when an ICMP error is pending. It is called from
// inside host calls, after the host's state is consistent.
func (c *UDPConn) SetNotify(f func(Event)) { c.notify = f }

// SetReceiveBuffer sets how many payload bytes may wait in the receive
// queue (at least one datagram is always accepted into an empty queue).
func (c *UDPConn) SetReceiveBuffer(n int) error {
	if n <= 0 {
		return fmt.Errorf("stack: UDP receive buffer %d: must be positive", n)
	}
	c.limit = n
	return nil
}

// Readable returns the number of queued datagrams.
func (c *UDPConn) Readable() int { return len(c.q) }

// Connect sets the socket's peer: WriteTo with an invalid address sends
// there, only its datagrams are received (those queued from others before
// are dropped, as Linux does not), and ICMP errors are reported. A
// socket bound to the unspecified address takes the source address of the
// route to remote, as connect(2) does.
func (c *UDPConn) Connect(remote netip.AddrPort) error {
	if c.closed {
		return ErrClosed
	}
	if !remote.Addr().Is4() || remote.Port() == 0 {
		return fmt.Errorf("stack: UDP connect %v: need an IPv4 address and a non-zero port", remote)
	}
	ifIdx, ok := c.h.lookupRoute(remote.Addr())
	if !ok {
		return ErrNoRoute
	}
	if c.local.Addr().IsUnspecified() {
		c.local = netip.AddrPortFrom(c.h.ifaces[ifIdx].prefix.Addr(), c.local.Port())
	}
	c.remote = remote
	c.err = nil
	return nil
}

// Write sends p to the connected peer. See WriteTo.
func (c *UDPConn) Write(p []byte) (int, error) { return c.WriteTo(p, netip.AddrPort{}) }

// WriteTo sends p as one datagram to dst, or to the connected peer when dst
// is the zero AddrPort. It fails with EMSGSIZE for a datagram that does not
// fit the interface's MTU (no fragmentation), ErrNoRoute, EDESTADDRREQ
// without a destination, or a pending ICMP error of a connected socket
// (returned once, then cleared).
func (c *UDPConn) WriteTo(p []byte, dst netip.AddrPort) (int, error) {
	if c.closed {
		return 0, ErrClosed
	}
	if c.err != nil && c.remote.IsValid() {
		err := c.err
		c.err = nil
		return 0, err
	}
	if !dst.IsValid() {
		if !c.remote.IsValid() {
			return 0, &ConnError{Op: "write", Errno: syscall.EDESTADDRREQ}
		}
		dst = c.remote
	}
	if !dst.Addr().Is4() || dst.Port() == 0 {
		return 0, fmt.Errorf("stack: UDP write to %v: need an IPv4 address and a non-zero port", dst)
	}
	if len(p) > maxUDPPayload {
		return 0, &ConnError{Op: "write", Errno: syscall.EMSGSIZE}
	}
	ifIdx, ok := c.h.lookupRoute(dst.Addr())
	if !ok {
		c.h.counters.IPNoRoute++
		return 0, ErrNoRoute
	}
	f := &c.h.ifaces[ifIdx]
	if ippacket.HeaderLen+udpHeaderLen+len(p) > f.mtu {
		return 0, &ConnError{Op: "write", Errno: syscall.EMSGSIZE}
	}
	src := c.local.Addr()
	if src.IsUnspecified() {
		src = f.prefix.Addr()
	}
	c.h.enter()
	defer c.h.exit()
	var hdr [udpHeaderLen]byte
	binary.BigEndian.PutUint16(hdr[0:], c.local.Port())
	binary.BigEndian.PutUint16(hdr[2:], dst.Port())
	binary.BigEndian.PutUint16(hdr[4:], uint16(udpHeaderLen+len(p)))
	s, d := src.As4(), dst.Addr().As4()
	sum := udpChecksum(addrSum(s[:], d[:]), hdr[:], p)
	binary.BigEndian.PutUint16(hdr[6:], sum)
	drops := c.h.counters.IPLocalDrops
	if !c.h.emitIP(ifIdx, ippacket.ProtocolUDP, src, dst.Addr(), hdr[:], p) {
		if c.h.counters.IPLocalDrops != drops {
			// The host's own queue dropped it (QueueLink): as Linux's
			// udp_send_skb without IP_RECVERR, the send succeeds and the
			// datagram is lost.
			return len(p), nil
		}
		return 0, &ConnError{Op: "write", Errno: syscall.ENOBUFS}
	}
	c.h.counters.UDPOutDatagrams++
	return len(p), nil
}

// Read reads one datagram into p; see ReadFrom.
func (c *UDPConn) Read(p []byte) (int, error) {
	n, _, err := c.ReadFrom(p)
	return n, err
}

// ReadFrom takes the oldest queued datagram, copies as much of it as fits
// in p (the rest of a longer datagram is lost, as with recvfrom without
// MSG_PEEK) and returns its length copied and its source. With nothing
// queued it returns a pending ICMP error of a connected socket (once), or
// ErrWouldBlock.
func (c *UDPConn) ReadFrom(p []byte) (int, netip.AddrPort, error) {
	if c.closed {
		return 0, netip.AddrPort{}, ErrClosed
	}
	if c.err != nil && c.remote.IsValid() {
		err := c.err
		c.err = nil
		return 0, netip.AddrPort{}, err
	}
	if len(c.q) == 0 {
		return 0, netip.AddrPort{}, ErrWouldBlock
	}
	d := c.q[0]
	c.q[0] = udpDatagram{}
	c.q = c.q[1:]
	c.qBytes -= len(d.data)
	return copy(p, d.data), d.src, nil
}

// Close releases the port and drops the queue. Further calls fail with
// ErrClosed.
func (c *UDPConn) Close() error {
	if c.closed {
		return ErrClosed
	}
	c.closed = true
	c.q, c.qBytes = nil, 0
	port := c.local.Port()
	list := c.h.udp[port]
	for i, o := range list {
		if o == c {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(c.h.udp, port)
	} else {
		c.h.udp[port] = list
	}
	return nil
}

func (c *UDPConn) String() string {
	if c.remote.IsValid() {
		return "udp " + c.local.String() + "->" + c.remote.String()
	}
	return "udp " + c.local.String()
}

// signal queues ev for delivery when the host call ends (Host.exit).
func (c *UDPConn) signal(ev Event) {
	c.events |= ev
	if !c.queued {
		c.queued = true
		c.h.pendU = append(c.h.pendU, c)
	}
}

// udpChecksum is the UDP checksum (RFC 768) of header hdr (checksum field
// zero) and payload p, addrs being addrSum of the addresses. A computed
// zero is sent as 0xffff, zero meaning "no checksum".
func udpChecksum(addrs uint32, hdr, p []byte) uint16 {
	length := len(hdr) + len(p)
	pseudo := fold16(addrs + uint32(ippacket.ProtocolUDP) + uint32(uint16(length)))
	sum := ^ippacket.Checksum(hdr, pseudo)
	sum = ippacket.Checksum(p, sum)
	if sum == 0 {
		return 0xffff
	}
	return sum
}

// findUDP returns the socket a datagram from src to dst belongs to: a
// socket connected to src first, then one bound to dst's address, then one
// bound to every address; a connected socket never takes another peer's
// datagram.
func (h *Host) findUDP(src, dst netip.AddrPort) *UDPConn {
	var exact, wild *UDPConn
	for _, c := range h.udp[dst.Port()] {
		if c.remote.IsValid() {
			if c.remote == src && (c.local.Addr() == dst.Addr() || c.local.Addr().IsUnspecified()) {
				return c
			}
			continue
		}
		switch c.local.Addr() {
		case dst.Addr():
			exact = c
		case netip.IPv4Unspecified():
			wild = c
		}
	}
	if exact != nil {
		return exact
	}
	return wild
}

// udpInput validates a UDP datagram (RFC 768; RFC 1122 §4.1.3) and queues
// it on its socket, or answers with an ICMP port unreachable. pkt is the
// whole IPv4 packet (for the ICMP quote), dgram its payload.
func (h *Host) udpInput(ifIndex int, pkt []byte, src, dst netip.Addr, addrs uint32, dgram []byte, intact bool) {
	h.counters.UDPReceived++
	if len(dgram) < udpHeaderLen {
		h.counters.UDPDropTruncated++
		return
	}
	length := int(binary.BigEndian.Uint16(dgram[4:]))
	if length < udpHeaderLen || length > len(dgram) {
		h.counters.UDPDropLength++
		return
	}
	dgram = dgram[:length] // octets beyond the UDP length are not the datagram's
	if cs := binary.BigEndian.Uint16(dgram[6:]); cs != 0 && !intact {
		pseudo := fold16(addrs + uint32(ippacket.ProtocolUDP) + uint32(uint16(length)))
		if ippacket.Checksum(dgram, pseudo) != 0 {
			h.counters.UDPInCsumErrors++
			return
		}
	}
	sport, dport := binary.BigEndian.Uint16(dgram[0:]), binary.BigEndian.Uint16(dgram[2:])
	if dport == 0 {
		h.counters.UDPDropBadPort++
		return
	}
	from, to := netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	c := h.findUDP(from, to)
	if c == nil {
		h.counters.UDPNoPorts++
		h.sendUnreachable(ifIndex, icmpCodePortUnreachable, pkt)
		return
	}
	payload := dgram[udpHeaderLen:]
	if len(c.q) > 0 && c.qBytes+len(payload) > c.limit {
		h.counters.UDPRcvbufErrors++
		return
	}
	c.q = append(c.q, udpDatagram{src: from, data: append([]byte(nil), payload...)})
	c.qBytes += len(payload)
	h.counters.UDPInDatagrams++
	c.signal(EventReadable)
}

// emitIP sends one IPv4 packet of protocol proto, its payload in two pieces,
// on interface ifIndex. It returns false when it could not be encoded or
// the interface's own queue refused it.
func (h *Host) emitIP(ifIndex int, proto uint8, src, dst netip.Addr, p1, p2 []byte) bool {
	f := &h.ifaces[ifIndex]
	total := ippacket.HeaderLen + len(p1) + len(p2)
	if total > 0xffff {
		h.counters.IPSendErrors++
		return false
	}
	ih := ippacket.Header{
		ID: h.nextIPID(), Flags: ippacket.FlagDF, TTL: h.cfg.TTL,
		Protocol: proto, Src: src, Dst: dst,
	}
	b, err := ih.Encode(make([]byte, 0, total), len(p1)+len(p2))
	if err != nil {
		h.counters.IPSendErrors++
		return false
	}
	b = append(b, p1...)
	b = append(b, p2...)
	if f.queue != nil && f.queue.Refuses() {
		h.counters.IPLocalDrops++ // the host's own queue is full (QueueLink)
		return false
	}
	h.counters.IPSent++
	h.sending = true
	f.link.Send(b)
	h.sending = false
	return true
}
