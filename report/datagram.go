package report

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/sim"
)

// Packets that are not TCP (get's DNS lookup, a ping, the ICMP errors a
// host sends) are drawn on the ladder too, each as one arrow from its
// sender to where it arrived, labelled by DatagramLabel.

// dnsPort is the port a DNS server answers on (RFC 1035 §4.2.1).
const dnsPort = 53

// DatagramLabel is how the ladders label an IPv4 packet that is not TCP,
// and its colour class: "udp" for UDP, with a DNS message on port 53
// decoded ("UDP 53 DNS A? server.example", "UDP 53 DNS A server.example =
// 10.0.0.2"), otherwise its ports and length; "icmp" for ICMP, named with
// its type and code ("ICMP 8/0 echo request id 1 seq 1 len 56", "ICMP 3/3
// port unreachable (udp 53)"). ok is false for TCP, a fragment and bytes
// that are not an IPv4 packet of either protocol. The label is ASCII.
func DatagramLabel(pkt []byte) (label, class string, ok bool) {
	var h ippacket.Header
	payload, err := h.Decode(pkt, false)
	if err != nil || h.FragOffset != 0 || h.Flags&ippacket.FlagMF != 0 {
		return "", "", false
	}
	switch h.Protocol {
	case ippacket.ProtocolUDP:
		if len(payload) < 8 {
			return "", "", false
		}
		sport, dport := binary.BigEndian.Uint16(payload[0:]), binary.BigEndian.Uint16(payload[2:])
		data := payload[8:]
		if sport == dnsPort || dport == dnsPort {
			var m dns.Msg
			if m.Unpack(data) == nil && len(m.Question) == 1 {
				return "UDP 53 " + dnsLabel(&m), "udp", true
			}
		}
		return fmt.Sprintf("UDP %d > %d len %d", sport, dport, len(data)), "udp", true
	case ippacket.ProtocolICMP:
		if len(payload) < 8 {
			return "", "", false
		}
		return icmpLabel(payload), "icmp", true
	}
	return "", "", false
}

// dnsLabel is a DNS query ("DNS A? name") or answer ("DNS A name =
// addr", or the response code when it is not NOERROR).
func dnsLabel(m *dns.Msg) string {
	q := m.Question[0]
	name := strings.TrimSuffix(q.Name, ".")
	if name == "" {
		name = "."
	}
	typ := dns.TypeToString[q.Qtype]
	if typ == "" {
		typ = fmt.Sprintf("TYPE%d", q.Qtype)
	}
	if !m.Response {
		return "DNS " + typ + "? " + name
	}
	if m.Rcode != dns.RcodeSuccess {
		rc := dns.RcodeToString[m.Rcode]
		if rc == "" {
			rc = fmt.Sprintf("rcode %d", m.Rcode)
		}
		return "DNS " + typ + " " + name + ": " + rc
	}
	var addrs []string
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			addrs = append(addrs, a.A.String())
		}
	}
	if len(addrs) == 0 {
		return fmt.Sprintf("DNS %s %s: %d answers, no address", typ, name, len(m.Answer))
	}
	return "DNS " + typ + " " + name + " = " + strings.Join(addrs, ", ")
}

// icmpNames are the ICMP types a host meets (RFC 792), and the codes of
// destination unreachable.
var (
	icmpNames = map[uint8]string{0: "echo reply", 3: "unreachable", 4: "source quench", 5: "redirect",
		8: "echo request", 11: "time exceeded", 12: "parameter problem", 13: "timestamp", 14: "timestamp reply"}
	unreachNames = map[uint8]string{0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable",
		3: "port unreachable", 4: "fragmentation needed"}
)

// icmpLabel names an ICMP message with its type and code; an echo with its
// identifier, sequence number and data length; an error with the protocol
// and port of the datagram it quotes.
func icmpLabel(msg []byte) string {
	typ, code := msg[0], msg[1]
	name := icmpNames[typ]
	if typ == 3 {
		if n, ok := unreachNames[code]; ok {
			name = n
		}
	}
	if name == "" {
		return fmt.Sprintf("ICMP type %d code %d len %d", typ, code, len(msg))
	}
	s := fmt.Sprintf("ICMP %d/%d %s", typ, code, name)
	switch typ {
	case 0, 8:
		return s + fmt.Sprintf(" id %d seq %d len %d", binary.BigEndian.Uint16(msg[4:]), binary.BigEndian.Uint16(msg[6:]), len(msg)-8)
	case 3, 11, 12:
		// The quoted header's total length counts more than the quote
		// holds: read the fields directly.
		q := ippacket.View(msg[8:])
		if len(q) < ippacket.HeaderLen || q.Version() != 4 {
			return s
		}
		ihl := q.HeaderLen()
		if ihl < ippacket.HeaderLen || len(q) < ihl+4 {
			return s
		}
		port := binary.BigEndian.Uint16(q[ihl+2:])
		switch q.Protocol() {
		case ippacket.ProtocolUDP:
			return s + fmt.Sprintf(" (udp %d)", port)
		case ippacket.ProtocolTCP:
			return s + fmt.Sprintf(" (tcp %d)", port)
		}
		return s + fmt.Sprintf(" (proto %d to %v)", q.Protocol(), q.Dst())
	}
	return s
}

// datagram is the ladder's label and colour class of a packet that is not
// TCP.
type datagram struct {
	label, class string
}

// sentDatagram records a packet that is not TCP (its Sent event) for the
// ladder: UDP and ICMP, by every node that sends one, a router's
// forwarding included (each hop is an arrow, as for TCP).
//
// Only the ladder draws them, and it draws at most LadderMax packets of
// those sent within [LadderFrom, LadderUntil]: datagrams outside the window,
// or after LadderMax of them within it, could not be drawn, so they are
// only counted (a long ping keeps no memory).
func (r *Recorder) sentDatagram(e *sim.Event) {
	label, class, ok := DatagramLabel(e.Data)
	if !ok {
		return
	}
	switch {
	case e.Time < r.opt.LadderFrom:
		r.dgramsBefore++
		return
	case r.opt.LadderUntil > 0 && e.Time > r.opt.LadderUntil:
		r.dgramsAfter++
		return
	case r.dgrams >= r.opt.LadderMax:
		r.dgramsLeft++
		return
	}
	r.dgrams++
	i := int32(len(r.pkts))
	r.pkts = append(r.pkts, pkt{flow: -1, from: e.Node, link: e.Link, end: uint8(e.End), sentAt: e.Time, sentN: r.evn})
	r.other[i] = datagram{label, class}
	r.pending[pendingKey{e.Link, e.End, e.PktSeq}] = i
}
