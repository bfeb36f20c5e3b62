package stack

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
)

// ICMP (RFC 792) as far as a host needs it: echo request and reply (for a
// ping), and destination unreachable both ways: sent for a datagram to a
// closed UDP port or an unknown protocol, and received as an error for the
// connected UDP socket whose datagram it quotes (RFC 1122 §3.2.2.1 and
// §4.1.3.3). Messages a host sends about a packet are rate-limited as Linux
// limits them: a host-wide token bucket (icmp_msgs_per_sec 1000, burst 50)
// and, per destination, one per second with a burst of six
// (icmp_ratelimit 1000 ms, XRLIM_BURST_FACTOR 6). Echo replies are not
// limited, as Linux's icmp_ratemask leaves them out.

const (
	icmpEchoReply   = 0
	icmpUnreachable = 3
	icmpEcho        = 8

	icmpCodeNetUnreachable      = 0
	icmpCodeHostUnreachable     = 1
	icmpCodeProtocolUnreachable = 2
	icmpCodePortUnreachable     = 3

	icmpHeaderLen = 8
	// icmpQuoteLen is how much of the offending packet an error quotes
	// beyond its IPv4 header: RFC 792's 64 bits, the UDP header.
	icmpQuoteLen = 8

	icmpGlobalPerSec = 1000
	icmpGlobalBurst  = 50
	icmpPeerInterval = time.Second
	icmpPeerBurst    = 6
	icmpPeerTableMax = 4096
)

// EchoReply is an ICMP echo reply the host received.
type EchoReply struct {
	Src     netip.Addr
	ID, Seq uint16
	Data    []byte        // the reply's data, a copy
	TTL     uint8         // of the reply's IPv4 header
	At      time.Duration // the host's clock when it arrived
}

// icmpLimiter is the state of the two rate limits.
type icmpLimiter struct {
	tokens  int           // host-wide tokens
	last    time.Duration // when tokens was last refilled
	started bool
	peers   map[netip.Addr]time.Duration // per destination: when its credit was last full
}

// allow reports whether an ICMP error to dst may be sent now, and takes
// its tokens.
func (l *icmpLimiter) allow(now time.Duration, dst netip.Addr) bool {
	if !l.started {
		l.tokens, l.last, l.started = icmpGlobalBurst, now, true
	}
	if n := int((now - l.last) * icmpGlobalPerSec / time.Second); n > 0 {
		l.tokens = min(icmpGlobalBurst, l.tokens+n)
		l.last += time.Duration(n) * time.Second / icmpGlobalPerSec
	}
	if l.tokens == 0 {
		return false
	}
	// Per destination: credit accrues with time up to icmpPeerBurst
	// intervals; each message spends one interval. Stored as the instant at
	// which the credit would be empty.
	if l.peers == nil {
		l.peers = make(map[netip.Addr]time.Duration)
	}
	empty, seen := l.peers[dst]
	floor := now - icmpPeerBurst*icmpPeerInterval
	if !seen || empty < floor {
		empty = floor
	}
	if now-empty < icmpPeerInterval {
		return false
	}
	if !seen && len(l.peers) >= icmpPeerTableMax {
		// Forget peers whose credit is full again: they behave as new.
		for a, e := range l.peers {
			if e <= floor {
				delete(l.peers, a)
			}
		}
		if len(l.peers) >= icmpPeerTableMax {
			return false
		}
	}
	l.peers[dst] = empty + icmpPeerInterval
	l.tokens--
	return true
}

// SendEcho sends an ICMP echo request to dst with identifier id, sequence
// number seq and data. Replies go to the handler given to OnEchoReply.
func (h *Host) SendEcho(dst netip.Addr, id, seq uint16, data []byte) error {
	if !dst.Is4() {
		return &ConnError{Op: "ping", Errno: syscall.EINVAL}
	}
	ifIdx, ok := h.lookupRoute(dst)
	if !ok {
		h.counters.IPNoRoute++
		return ErrNoRoute
	}
	if ippacket.HeaderLen+icmpHeaderLen+len(data) > h.ifaces[ifIdx].mtu {
		return &ConnError{Op: "ping", Errno: syscall.EMSGSIZE}
	}
	h.enter()
	defer h.exit()
	h.sendICMP(ifIdx, dst, icmpEcho, 0, uint32(id)<<16|uint32(seq), data)
	h.counters.ICMPOutEchos++
	return nil
}

// OnEchoReply installs the handler called for every echo reply the host
// receives (nil removes it). It runs inside the host call that delivered
// the reply.
func (h *Host) OnEchoReply(f func(EchoReply)) { h.echoReply = f }

// sendICMP sends one ICMP message: type, code, the 32-bit rest of the
// header and the body.
func (h *Host) sendICMP(ifIdx int, dst netip.Addr, typ, code uint8, rest uint32, body []byte) {
	var hdr [icmpHeaderLen]byte
	hdr[0], hdr[1] = typ, code
	binary.BigEndian.PutUint32(hdr[4:], rest)
	sum := ^ippacket.Checksum(hdr[:], 0)
	sum = ippacket.Checksum(body, sum)
	binary.BigEndian.PutUint16(hdr[2:], sum)
	src := h.ifaces[ifIdx].prefix.Addr()
	if h.emitIP(ifIdx, ippacket.ProtocolICMP, src, dst, hdr[:], body) {
		h.counters.ICMPOutMsgs++
	}
}

// sendUnreachable answers the IPv4 packet pkt with a destination
// unreachable of the given code, quoting its header and first 8 bytes, if
// the rate limits allow.
func (h *Host) sendUnreachable(ifIndex int, code uint8, pkt []byte) {
	v := ippacket.View(pkt)
	src := v.Src()
	if !h.icmp.allow(h.env.Now(), src) {
		h.counters.ICMPOutRateLimited++
		return
	}
	ifIdx, ok := h.lookupRoute(src)
	if !ok {
		ifIdx = ifIndex
	}
	quote := pkt[:min(len(pkt), v.HeaderLen()+icmpQuoteLen)]
	h.sendICMP(ifIdx, src, icmpUnreachable, code, 0, quote)
	h.counters.ICMPOutDestUnreachs++
}

// icmpInput handles one ICMP message from src (RFC 792; RFC 1122 §3.2.2).
func (h *Host) icmpInput(ifIndex int, src netip.Addr, v ippacket.View, msg []byte) {
	h.counters.ICMPInMsgs++
	if len(msg) < icmpHeaderLen {
		h.counters.ICMPDropTruncated++
		return
	}
	if ippacket.Checksum(msg, 0) != 0 {
		h.counters.ICMPInCsumErrors++
		return
	}
	typ, code := msg[0], msg[1]
	rest := binary.BigEndian.Uint32(msg[4:])
	body := msg[icmpHeaderLen:]
	switch typ {
	case icmpEcho:
		h.counters.ICMPInEchos++
		ifIdx, ok := h.lookupRoute(src)
		if !ok {
			ifIdx = ifIndex
		}
		h.sendICMP(ifIdx, src, icmpEchoReply, 0, rest, body)
		h.counters.ICMPOutEchoReps++
	case icmpEchoReply:
		h.counters.ICMPInEchoReps++
		if h.echoReply != nil {
			h.echoReply(EchoReply{
				Src: src, ID: uint16(rest >> 16), Seq: uint16(rest),
				Data: append([]byte(nil), body...), TTL: v.TTL(), At: h.env.Now(),
			})
		}
	case icmpUnreachable:
		h.counters.ICMPInDestUnreachs++
		h.icmpError(code, body)
	default:
		h.counters.ICMPInOther++
	}
}

// icmpError reports a destination unreachable to the socket whose packet
// it quotes. Only a connected UDP socket hears of it (RFC 1122 §4.1.3.3
// leaves unconnected ones to the application; Linux needs IP_RECVERR for
// them). TCP takes these as soft errors, which tcpsim does not act on.
func (h *Host) icmpError(code uint8, quote []byte) {
	q := ippacket.View(quote)
	if len(quote) < ippacket.HeaderLen || q.Version() != 4 {
		h.counters.ICMPDropQuote++
		return
	}
	ihl := q.HeaderLen()
	if ihl < ippacket.HeaderLen || len(quote) < ihl+icmpQuoteLen {
		h.counters.ICMPDropQuote++
		return
	}
	if q.Protocol() != ippacket.ProtocolUDP {
		return
	}
	inner := quote[ihl:]
	local := netip.AddrPortFrom(q.Src(), binary.BigEndian.Uint16(inner[0:]))
	remote := netip.AddrPortFrom(q.Dst(), binary.BigEndian.Uint16(inner[2:]))
	if !h.isLocal(local.Addr()) {
		h.counters.ICMPDropQuote++
		return
	}
	var errno syscall.Errno
	switch code {
	case icmpCodeNetUnreachable:
		errno = syscall.ENETUNREACH
	case icmpCodeHostUnreachable:
		errno = syscall.EHOSTUNREACH
	case icmpCodeProtocolUnreachable:
		errno = syscall.ENOPROTOOPT
	case icmpCodePortUnreachable:
		errno = syscall.ECONNREFUSED
	default:
		errno = syscall.EHOSTUNREACH
	}
	for _, c := range h.udp[local.Port()] {
		if c.remote == remote && (c.local.Addr() == local.Addr() || c.local.Addr().IsUnspecified()) {
			c.err = &ConnError{Op: "udp", Errno: errno}
			h.counters.UDPInICMPErrors++
			c.signal(EventError | EventReadable)
			return
		}
	}
}
