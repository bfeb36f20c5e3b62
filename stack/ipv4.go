package stack

import (
	"fmt"
	"net/netip"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

// The IPv4 layer (RFC 791, RFC 1122 §3): interfaces with one address each, a
// longest-prefix-match route table, and the input checks that every inbound
// packet passes before TCP sees it. There is no fragmentation or reassembly:
// every packet we send fits the interface MTU (the MSS is derived from it)
// and has DF set unless its connection asked otherwise (SetDontFragment,
// ipopts.go), and fragments we receive are dropped and counted.

type iface struct {
	prefix  netip.Prefix // address and on-link subnet
	link    Link
	mtu     int
	offload OffloadLink // link as an OffloadLink, or nil
	handoff HandoffLink // link as a HandoffLink, or nil
	queue   QueueLink   // link as a QueueLink, or nil
}

type route struct {
	dst     netip.Prefix
	gateway netip.Addr // informational: links are point to point
	ifIndex int
}

// minMTU is the smallest MTU an interface may have: RFC 791's 68 bytes,
// which every IPv4 module must pass without fragmenting. A TCP segment needs
// 40 bytes of headers, so the least MTU leaves a 28-byte MSS; the send MSS
// is never above the interface's MTU − 40 (processSynOptions), and option
// space on bare ACKs shrinks to fit it.
const minMTU = 68

// AddInterface attaches a link with address addr (e.g. 10.0.0.1/24) and the
// given MTU, and returns its index for Deliver and AddRoute. The subnet of
// addr becomes an on-link route; the first interface also becomes the
// default route until AddRoute installs another 0.0.0.0/0.
func (h *Host) AddInterface(addr netip.Prefix, link Link, mtu int) (int, error) {
	if !addr.IsValid() || !addr.Addr().Is4() {
		return 0, fmt.Errorf("stack: host %q: interface address %v is not an IPv4 prefix", h.name, addr)
	}
	a := addr.Addr()
	if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return 0, fmt.Errorf("stack: host %q: interface address %v cannot be a host address", h.name, a)
	}
	if link == nil {
		return 0, fmt.Errorf("stack: host %q: interface %v has a nil Link", h.name, addr)
	}
	if mtu < minMTU || mtu > 65535 {
		return 0, fmt.Errorf("stack: host %q: interface %v mtu %d outside [%d, 65535]", h.name, addr, mtu, minMTU)
	}
	for _, f := range h.ifaces {
		if f.prefix.Addr() == a {
			return 0, fmt.Errorf("stack: host %q: address %v already on an interface", h.name, a)
		}
	}
	idx := len(h.ifaces)
	f := iface{prefix: addr, link: link, mtu: mtu}
	// The optional interfaces are looked up once here, not per packet.
	f.offload, _ = link.(OffloadLink)
	f.handoff, _ = link.(HandoffLink)
	f.queue, _ = link.(QueueLink)
	h.queues = h.queues || f.queue != nil
	h.ifaces = append(h.ifaces, f)
	h.routes = append(h.routes, route{dst: addr.Masked(), ifIndex: idx})
	if idx == 0 {
		h.routes = append(h.routes, route{dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), ifIndex: idx})
	}
	return idx, nil
}

// AddRoute sends packets for dst out of interface ifIndex. gateway is
// recorded for display only (links are point to point); it may be the zero
// Addr. A route to the same prefix replaces the old one.
func (h *Host) AddRoute(dst netip.Prefix, gateway netip.Addr, ifIndex int) error {
	if !dst.IsValid() || !dst.Addr().Is4() {
		return fmt.Errorf("stack: host %q: route destination %v is not an IPv4 prefix", h.name, dst)
	}
	if ifIndex < 0 || ifIndex >= len(h.ifaces) {
		return fmt.Errorf("stack: host %q: route to %v: ifIndex %d does not exist (have %d interfaces)", h.name, dst, ifIndex, len(h.ifaces))
	}
	if gateway.IsValid() && !gateway.Is4() {
		return fmt.Errorf("stack: host %q: route to %v: gateway %v is not IPv4", h.name, dst, gateway)
	}
	dst = dst.Masked()
	for i := range h.routes {
		if h.routes[i].dst == dst {
			h.routes[i] = route{dst: dst, gateway: gateway, ifIndex: ifIndex}
			return nil
		}
	}
	h.routes = append(h.routes, route{dst: dst, gateway: gateway, ifIndex: ifIndex})
	return nil
}

// Addrs returns the interface addresses in interface order.
func (h *Host) Addrs() []netip.Prefix {
	out := make([]netip.Prefix, len(h.ifaces))
	for i, f := range h.ifaces {
		out[i] = f.prefix
	}
	return out
}

// lookupRoute returns the interface index for dst by longest prefix match;
// among equal prefixes the first added wins.
func (h *Host) lookupRoute(dst netip.Addr) (int, bool) {
	best, bestBits := -1, -1
	for _, r := range h.routes {
		if r.dst.Bits() > bestBits && r.dst.Contains(dst) {
			best, bestBits = r.ifIndex, r.dst.Bits()
		}
	}
	return best, best >= 0
}

// isLocal reports whether a is one of the host's addresses.
func (h *Host) isLocal(a netip.Addr) bool {
	for i := range h.ifaces {
		if h.ifaces[i].prefix.Addr() == a {
			return true
		}
	}
	return false
}

// rxScratch holds the decoded header of the packet being delivered, reused
// so that input does not allocate.
type rxScratch struct {
	tcp segment.Header
}

// Deliver hands the host one inbound IPv4 packet that arrived on interface
// ifIndex. The packet is not retained after Deliver returns. Malformed
// packets are dropped and counted in Counters by reason; Deliver never
// panics on any input.
//
// Input flow: IPv4 structure and header checksum → destination is ours →
// not a fragment → protocol TCP (UDP and ICMP: udp.go, icmp.go) → TCP checksum over the pseudo-header →
// TCP header and options → demultiplex (demux.go) → connection input
// (input.go) or listener (listener.go) or RST for a closed port.
func (h *Host) Deliver(ifIndex int, pkt []byte) {
	if h.sending {
		// A Link delivered back into this host from inside Send (a
		// zero-delay loop). Processing it now would change the connection
		// under the segment being sent: keep a copy for exit.
		h.deferred = append(h.deferred, deferredPkt{ifIndex, append([]byte(nil), pkt...)})
		return
	}
	h.enter()
	defer h.exit()
	h.deliver(ifIndex, pkt)
}

// OffloadLink is an optional interface of a Link that can carry the
// sending host's checksum guarantee, as a NIC with checksum offload does.
// The host calls SendVerified instead of Send for every packet it encodes:
// their IPv4 header and TCP checksums were computed just before. A link that
// hands exactly those bytes to another host may deliver them with
// DeliverVerified, which skips summing them a second time. The simulator's
// links implement it; bytes a link changed (a corruption fault) must go
// through Deliver.
type OffloadLink interface {
	Link
	SendVerified(pkt []byte)
}

// HandoffLink is an optional interface of an OffloadLink that keeps the
// packet's buffer instead of copying it. The host calls SendHandoff instead
// of SendVerified and does not touch pkt afterwards; the link returns an
// empty buffer (with room for at least len(pkt) bytes) that the host
// encodes its next packet into. The simulator's links implement it, which
// saves copying every packet once.
type HandoffLink interface {
	OffloadLink
	SendHandoff(pkt []byte) (spare []byte)
}

// QueueLink is an optional interface of a Link with a queue of the host's
// own in front of it, as a queue discipline on a Linux device is: a packet
// it refuses is dropped before it leaves, and the host knows (Linux's
// dev_queue_xmit returns NET_XMIT_DROP to TCP). The host asks before each
// packet; a refused one is counted in IPLocalDrops and not sent, TCP
// treats it as not transmitted (localdrop.go), and a UDP send succeeds with
// its datagram lost (Linux's UDP without IP_RECVERR). A drop further along the
// path, which the sender cannot see, is the Link's own business.
type QueueLink interface {
	Link
	// Refuses reports whether the queue would drop a packet offered now.
	Refuses() bool
}

// refuses reports whether interface ifIndex (or, if negative, the one that
// routes to dst) would drop a packet offered now at the host's own queue.
func (h *Host) refuses(ifIndex int, dst netip.Addr) bool {
	if ifIndex < 0 {
		var ok bool
		if ifIndex, ok = h.lookupRoute(dst); !ok {
			return false
		}
	}
	q := h.ifaces[ifIndex].queue
	return q != nil && q.Refuses()
}

// DeliverVerified is Deliver for a packet whose IPv4 header and TCP
// checksums are known to be correct: a host computed them (see OffloadLink)
// and nothing changed the bytes since. Every check but the two checksum sums
// is the same as Deliver's, with the same counters. A packet with a wrong
// checksum given to DeliverVerified is accepted: use Deliver for anything
// not known to be intact.
func (h *Host) DeliverVerified(ifIndex int, pkt []byte) {
	if h.sending {
		h.Deliver(ifIndex, pkt) // deferred, then verified as usual
		return
	}
	h.enter()
	defer h.exit()
	h.deliverOpt(ifIndex, pkt, true)
}

func (h *Host) deliver(ifIndex int, pkt []byte) { h.deliverOpt(ifIndex, pkt, false) }

// deliverOpt is deliver; intact skips the checksum sums (DeliverVerified).
func (h *Host) deliverOpt(ifIndex int, pkt []byte, intact bool) {
	h.counters.IPReceived++
	if ifIndex < 0 || ifIndex >= len(h.ifaces) {
		h.counters.IPDropNoInterface++
		return
	}
	v := ippacket.View(pkt)
	if err := v.Check(!intact); err != nil {
		switch err {
		case ippacket.ErrTruncated:
			h.counters.IPDropTruncated++
		case ippacket.ErrVersion:
			h.counters.IPDropVersion++
		case ippacket.ErrHeaderLen, ippacket.ErrHeaderBeyondEnd:
			h.counters.IPDropHeaderLen++
		case ippacket.ErrTotalLen:
			h.counters.IPDropTotalLen++
		case ippacket.ErrChecksum:
			h.counters.IPDropChecksum++
		default:
			h.counters.IPDropOther++
		}
		return
	}
	dst, src := v.Dst(), v.Src()
	// RFC 1122 §3.2.1.3: a host silently discards datagrams not addressed
	// to it (we keep the weak host model: any of our addresses on any
	// interface).
	if !h.isLocal(dst) {
		h.counters.IPDropNotForUs++
		return
	}
	// RFC 1122 §3.2.1.3: a source address must not be broadcast, multicast
	// or unspecified; a segment "from" one of our own addresses arriving on
	// a link is a spoof.
	if src.IsUnspecified() || src.IsMulticast() || src == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || h.isLocal(src) {
		h.counters.IPDropBadSource++
		return
	}
	if v.Flags()&ippacket.FlagMF != 0 || v.FragOffset() != 0 {
		h.counters.IPDropFragment++
		return
	}
	switch v.Protocol() {
	case ippacket.ProtocolTCP:
	case ippacket.ProtocolUDP:
		h.counters.IPDelivered++
		h.udpInput(ifIndex, pkt[:v.TotalLen()], src, dst, addrSum(v[12:16], v[16:20]), v.Payload(), intact)
		return
	case ippacket.ProtocolICMP:
		h.counters.IPDelivered++
		h.icmpInput(ifIndex, src, v, v.Payload())
		return
	default:
		h.counters.IPDropProtocol++
		h.sendUnreachable(ifIndex, icmpCodeProtocolUnreachable, pkt[:v.TotalLen()])
		return
	}
	h.counters.IPDelivered++
	h.rxECN = v[1] & 3 // the IP ECN field, for ecn.go
	h.tcpInput(ifIndex, src, dst, addrSum(v[12:16], v[16:20]), v.Payload(), intact)
}

// tcpInput validates the TCP header of an IPv4 payload and demultiplexes it.
// addrs is addrSum of src and dst, for the pseudo-header; intact skips
// summing the segment (DeliverVerified).
func (h *Host) tcpInput(ifIndex int, src, dst netip.Addr, addrs uint32, seg []byte, intact bool) {
	h.counters.TCPReceived++
	if len(seg) < segment.HeaderLen {
		h.counters.TCPDropTruncated++
		return
	}
	// len(seg) >= segment.HeaderLen: the same test as segment.VerifyChecksum,
	// with the pseudo-header summed inline (this runs for every segment).
	if !intact && ippacket.Checksum(seg, pseudoHeaderSum(addrs, len(seg))) != 0 {
		h.counters.TCPDropChecksum++
		return
	}
	th := &h.rx.tcp
	payload, err := th.Decode(seg)
	if err != nil {
		h.counters.TCPDropHeader++
		return
	}
	if th.SrcPort == 0 || th.DstPort == 0 {
		h.counters.TCPDropBadPort++
		return
	}
	h.demux(ifIndex, src, dst, th, payload)
}

// emit encodes one IPv4+TCP packet from key.local to key.remote with header th and a
// payload in up to two pieces (a ring buffer may wrap), and sends it on the
// interface that routes to remote. It returns false when there is no route
// or the interface's own queue refused the packet (QueueLink).
// The header's Raw, DataOffset and Checksum fields are overwritten.
func (h *Host) emit(ifIndex int, key *connKey, th *segment.Header, p1, p2 []byte) bool {
	local, remote := key.local, key.remote
	if ifIndex < 0 {
		var ok bool
		if ifIndex, ok = h.lookupRoute(remote.Addr()); !ok {
			h.counters.IPNoRoute++
			return false
		}
	}
	f := &h.ifaces[ifIndex]
	th.SrcPort, th.DstPort = local.Port(), remote.Port()
	th.Raw, th.DataOffset, th.Checksum = true, 0, 0
	if !local.Addr().Is4() || !remote.Addr().Is4() {
		// Not reachable through the socket API, whose addresses are IPv4;
		// the IP ID is used up as it would be for a packet that was built.
		h.nextIPID()
		h.counters.IPSendErrors++
		return false
	}
	s, d := local.Addr().As4(), remote.Addr().As4()
	addrs := addrSum(s[:], d[:])
	id := h.nextIPID()
	// The TCP segment goes in after room for the IPv4 header, which is
	// filled in once the segment's length is known.
	b := append(h.out[:0], make([]byte, ippacket.HeaderLen)...)
	b, err := th.Encode(b, local.Addr(), remote.Addr(), nil)
	if err != nil {
		h.counters.IPSendErrors++
		return false
	}
	b = append(b, p1...)
	b = append(b, p2...)
	if len(b) > 0xffff {
		h.counters.IPSendErrors++
		return false
	}
	putIPv4Header(b[:ippacket.HeaderLen], id, h.cfg.TTL, h.txTOS|h.txECN&3, !h.txNoDF, s, d, addrs, len(b)-ippacket.HeaderLen)
	h.txECN, h.txTOS, h.txNoDF = 0, 0, false // one packet only (ecn.go and Conn.emit set them before emit)
	seg := b[ippacket.HeaderLen:]
	// The checksum field is zero (th.Checksum above), so summing the whole
	// segment gives the same value as segment.Checksum.
	cs := ippacket.Checksum(seg, pseudoHeaderSum(addrs, len(seg)))
	seg[16], seg[17] = byte(cs>>8), byte(cs)
	h.out = b[:0]
	if f.queue != nil && f.queue.Refuses() {
		// Dropped by the host's own queue: the IP ID is used, nothing
		// leaves, and the caller learns it (QueueLink).
		h.counters.IPLocalDrops++
		return false
	}
	h.counters.IPSent++
	h.counters.TCPSent++
	h.sending = true
	switch {
	case f.handoff != nil:
		h.out = f.handoff.SendHandoff(b)
	case f.offload != nil:
		f.offload.SendVerified(b)
	default:
		f.link.Send(b)
	}
	h.sending = false
	return true
}

// addrSum adds the four 16-bit words of an IPv4 source and destination
// address (4 bytes each), unfolded: both the IPv4 header checksum and the
// TCP pseudo-header (RFC 9293 §3.1) include them.
func addrSum(src, dst []byte) uint32 {
	_, _ = src[3], dst[3]
	return (uint32(src[0])<<8 | uint32(src[1])) + (uint32(src[2])<<8 | uint32(src[3])) +
		(uint32(dst[0])<<8 | uint32(dst[1])) + (uint32(dst[2])<<8 | uint32(dst[3]))
}

// fold16 folds a 32-bit sum of at most a few hundred 16-bit words into their
// 16-bit ones' complement sum (end-around carry, RFC 1071 §2).
func fold16(sum uint32) uint16 {
	sum = sum>>16 + sum&0xffff
	sum = sum>>16 + sum&0xffff
	return uint16(sum)
}

// pseudoHeaderSum is segment.PseudoHeaderSum (RFC 9293 §3.1) for addresses
// already summed by addrSum: the addresses, the protocol and the length.
// The result is the same uint16 (a non-zero ones' complement sum has one
// representation in 1..0xffff, and the protocol word makes it non-zero).
func pseudoHeaderSum(addrs uint32, length int) uint16 {
	return fold16(addrs + uint32(ippacket.ProtocolTCP) + uint32(uint16(length)))
}

// appendIPv4Header appends the 20-byte IPv4 header (RFC 791 §3.1) of every
// packet the host sends: no options, DF set (RFC 1191: we never fragment),
// protocol TCP, header checksum computed. The bytes are those that
// ippacket.Header.Encode writes for the same fields; this runs for every
// packet, without the codec's generic checks (the total length must fit,
// which emit checks). addrs is addrSum(s, d).
func appendIPv4Header(dst []byte, id uint16, ttl, ecn uint8, s, d [4]byte, addrs uint32, payloadLen int) []byte {
	dst = append(dst, make([]byte, ippacket.HeaderLen)...)
	putIPv4Header(dst[len(dst)-ippacket.HeaderLen:], id, ttl, ecn&3, true, s, d, addrs, payloadLen)
	return dst
}

// putIPv4Header writes appendIPv4Header's 20 bytes into b[:20], in place,
// with the whole TOS byte tos (DSCP and ECN) and DF set if df.
func putIPv4Header(b []byte, id uint16, ttl, tos uint8, df bool, s, d [4]byte, addrs uint32, payloadLen int) {
	total := uint16(ippacket.HeaderLen + payloadLen)
	const verIHL = ippacket.Version<<4 | ippacket.HeaderLen/4
	var flags uint32
	if df {
		flags = ippacket.FlagDF << 5
	}
	// RFC 1071: the ones' complement sum of the header's ten 16-bit words
	// (the checksum word is zero), complemented. The version word makes the
	// sum non-zero, so the result is the same as ippacket.Checksum's.
	cs := ^fold16(verIHL<<8 + uint32(tos) + uint32(total) + uint32(id) + flags<<8 +
		(uint32(ttl)<<8 | ippacket.ProtocolTCP) + addrs)
	b = b[:ippacket.HeaderLen]
	b[0], b[1], b[2], b[3] = verIHL, tos, byte(total>>8), byte(total)
	b[4], b[5], b[6], b[7] = byte(id>>8), byte(id), byte(flags), 0
	b[8], b[9], b[10], b[11] = ttl, ippacket.ProtocolTCP, byte(cs>>8), byte(cs)
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
}
