package segment

import (
	"fmt"
	"strconv"

	"github.com/tcpsim/tcpsim/ippacket"
)

// Packet is a whole IPv4 packet carrying one TCP segment: what travels on a
// tcpsim link.
type Packet struct {
	IP  ippacket.Header
	TCP Header
	// Payload is the TCP payload. After Decode it aliases the parsed buffer.
	Payload []byte
}

// ParsePacket decodes an IPv4+TCP packet and verifies both checksums.
func ParsePacket(b []byte) (Packet, error) {
	var p Packet
	err := p.Decode(b, true)
	return p, err
}

// Decode parses b into p, reusing p without allocating. With verify set, the
// IPv4 header checksum and the TCP checksum must be correct. Errors are the
// ippacket errors for the IPv4 header, ErrNotTCP, ErrFragment, ErrChecksum,
// and the errors of Header.Decode for the TCP header.
func (p *Packet) Decode(b []byte, verify bool) error {
	tcp, err := p.IP.Decode(b, verify)
	if err != nil {
		return err
	}
	if p.IP.Protocol != ippacket.ProtocolTCP {
		return fmt.Errorf("%w: protocol %d", ErrNotTCP, p.IP.Protocol)
	}
	if p.IP.Flags&ippacket.FlagMF != 0 || p.IP.FragOffset != 0 {
		return fmt.Errorf("%w: MF %v, offset %d", ErrFragment, p.IP.Flags&ippacket.FlagMF != 0, p.IP.FragOffset)
	}
	// A header too short to hold its fields is reported as such; otherwise a
	// bad checksum is reported before any option error, since corruption is
	// the likelier cause of both.
	if err := checkDataOffset(tcp); err != nil {
		return err
	}
	if verify && !VerifyChecksum(p.IP.Src, p.IP.Dst, tcp) {
		return ErrChecksum
	}
	p.Payload, err = p.TCP.Decode(tcp)
	return err
}

// Len returns the encoded length of the whole packet.
func (p *Packet) Len() int { return p.IP.Len() + p.TCP.Len() + len(p.Payload) }

// Encode appends the packet to dst. Lengths and checksums are computed
// unless the IP or TCP header has Raw set. An IP protocol of 0 is written as
// 6 (TCP); p is not modified. It does not allocate when dst has room.
func (p *Packet) Encode(dst []byte) ([]byte, error) {
	ip := p.IP
	if ip.Protocol == 0 {
		ip.Protocol = ippacket.ProtocolTCP
	}
	start := len(dst)
	dst, err := ip.Encode(dst, p.TCP.Len()+len(p.Payload))
	if err != nil {
		return dst[:start], err
	}
	dst, err = p.TCP.Encode(dst, p.IP.Src, p.IP.Dst, p.Payload)
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// String formats the packet on one line as tcpdump -nS does, without the
// leading "IP" and timestamp:
//
//	10.0.0.1.49152 > 10.0.0.2.80: Flags [S], seq 1000, win 65535, options [mss 1460], length 0
//
// Options print in the order Encode lays them out (see Options), which is
// the wire order for packets tcpsim built but may differ from the order of
// a parsed packet another stack sent.
func (p Packet) String() string {
	return string(p.AppendString(make([]byte, 0, 128)))
}

// AppendString appends the String form to b.
func (p *Packet) AppendString(b []byte) []byte {
	b = p.IP.Src.AppendTo(b)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(p.TCP.SrcPort), 10)
	b = append(b, " > "...)
	b = p.IP.Dst.AppendTo(b)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(p.TCP.DstPort), 10)
	b = append(b, ": "...)
	return p.TCP.AppendString(b, len(p.Payload))
}

// AppendString appends the TCP part of a tcpdump line for a segment with
// payloadLen bytes of data: "Flags [P.], seq 1:101, ack 1, win 502, length 100".
func (h *Header) AppendString(b []byte, payloadLen int) []byte {
	b = append(b, "Flags "...)
	b = h.Flags.appendTo(b)
	// tcpdump prints the sequence number only for segments that occupy
	// sequence space or carry a reset.
	if payloadLen > 0 || h.Flags&(FlagSYN|FlagFIN|FlagRST) != 0 {
		b = append(b, ", seq "...)
		b = strconv.AppendUint(b, uint64(h.Seq), 10)
		if payloadLen > 0 {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(h.Seq.Add(uint32(payloadLen))), 10)
		}
	}
	if h.Flags&FlagACK != 0 {
		b = append(b, ", ack "...)
		b = strconv.AppendUint(b, uint64(h.Ack), 10)
	}
	b = append(b, ", win "...)
	b = strconv.AppendUint(b, uint64(h.Window), 10)
	if h.Flags&FlagURG != 0 {
		b = append(b, ", urg "...)
		b = strconv.AppendUint(b, uint64(h.Urgent), 10)
	}
	if h.Options.Len() > 0 {
		b = append(b, ", options ["...)
		b = h.Options.appendString(b)
		b = append(b, ']')
	}
	b = append(b, ", length "...)
	return strconv.AppendInt(b, int64(payloadLen), 10)
}
