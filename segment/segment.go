// Package segment is the TCP wire format used by tcpsim (RFC 9293 §3.1): the
// header with its control bits and options (RFC 7323 window scale and
// timestamps, RFC 2018 SACK), the checksum over the IPv4 pseudo-header, the
// wraparound-safe sequence-number type Seq, and a tcpdump-style one-line
// String for a whole IPv4+TCP packet.
//
// It is a codec only: it keeps no connection state. It imports the standard
// library and ippacket (for the Internet checksum and the IPv4 header of a
// whole packet). Parsing never panics: every malformed input returns one of
// the named errors below. It does not judge flag combinations (SYN with FIN,
// RST with data): those are kept as read, for the TCP engine to handle as
// RFC 9293 §3.10.7 says and for tests and fault injectors to send on purpose.
//
// Options are encoded in the layout Linux uses (see Options.Len), so a
// capture of tcpsim looks like one of a Linux host; String prints them in
// that encoded order. docs/wire.md describes the design and its figures.
package segment

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/tcpsim/tcpsim/ippacket"
)

// Field offsets of the fixed TCP header (RFC 9293 §3.1, Figure 1).
const (
	offSrcPort    = 0  // 16 bits
	offDstPort    = 2  // 16 bits
	offSeq        = 4  // 32 bits
	offAck        = 8  // 32 bits
	offDataOffset = 12 // data offset (4 bits) | reserved (4 bits)
	offFlags      = 13 // control bits, CWR..FIN
	offWindow     = 14 // 16 bits
	offChecksum   = 16 // 16 bits
	offUrgent     = 18 // 16 bits

	// HeaderLen is the length of a TCP header without options.
	HeaderLen = 20
	// MaxHeaderLen is the longest header the data offset can describe.
	MaxHeaderLen = 60
)

// Errors returned by Parse and Decode.
var (
	ErrTruncated       = errors.New("segment: truncated header")
	ErrDataOffset      = errors.New("segment: bad data offset")
	ErrOptionLen       = errors.New("segment: bad option length")
	ErrOptionTruncated = errors.New("segment: option runs past the header")
	ErrChecksum        = errors.New("segment: bad checksum")
	ErrNotTCP          = errors.New("segment: IP protocol is not TCP")
	ErrEncode          = errors.New("segment: header cannot be encoded")
	// ErrFragment: Packet.Decode met an IPv4 fragment (MF set or a non-zero
	// fragment offset), whose payload is not a whole TCP segment. tcpsim
	// never fragments (it sets DF) and does no reassembly.
	ErrFragment = errors.New("segment: IPv4 fragment")
)

// Header is a TCP header as values.
type Header struct {
	SrcPort, DstPort uint16
	Seq              Seq
	Ack              Seq
	// DataOffset is the header length in 32-bit words as read. Encode
	// computes it from the options unless Raw is set and DataOffset is
	// non-zero.
	DataOffset uint8
	// Reserved holds the 4 reserved bits as read (RFC 9293: must be zero
	// when sent, ignored when received).
	Reserved uint8
	Flags    Flags
	Window   uint16
	// Checksum is the checksum field as read. Encode computes it unless Raw
	// is set.
	Checksum uint16
	Urgent   uint16
	Options  Options
	// Raw makes Encode write DataOffset and Checksum as given, so that tests
	// and fault injectors can build malformed segments on purpose.
	Raw bool
}

// Len returns the number of header bytes Encode writes, options and padding
// included. (With Raw set, the DataOffset field written may claim otherwise.)
func (h *Header) Len() int { return HeaderLen + h.Options.Len() }

// Parse decodes the TCP segment in b (header and payload, as carried in an
// IPv4 packet) and returns the header and the payload. The payload and the
// header's unknown options alias b. The checksum is not verified here,
// because it needs the addresses; see VerifyChecksum and ParsePacket.
func Parse(b []byte) (Header, []byte, error) {
	var h Header
	payload, err := h.Decode(b)
	return h, payload, err
}

// Decode is Parse into an existing Header, without allocating (unless
// unknown options separated by known ones must be gathered into Unknown). It
// returns ErrTruncated, ErrDataOffset, ErrOptionLen or ErrOptionTruncated
// (wrapped with details) for malformed input.
func (h *Header) Decode(b []byte) ([]byte, error) {
	if err := checkDataOffset(b); err != nil {
		return nil, err
	}
	off := int(b[offDataOffset]>>4) * 4
	h.SrcPort = be16(b[offSrcPort:])
	h.DstPort = be16(b[offDstPort:])
	h.Seq = Seq(be32(b[offSeq:]))
	h.Ack = Seq(be32(b[offAck:]))
	h.DataOffset = uint8(off / 4)
	h.Reserved = b[offDataOffset] & 0x0f
	h.Flags = Flags(b[offFlags])
	h.Window = be16(b[offWindow:])
	h.Checksum = be16(b[offChecksum:])
	h.Urgent = be16(b[offUrgent:])
	h.Raw = false
	if err := h.Options.parse(b[HeaderLen:off]); err != nil {
		return nil, err
	}
	return b[off:], nil
}

// checkDataOffset checks that b holds a fixed header and that the data
// offset lies between it and the end of b.
func checkDataOffset(b []byte) error {
	if len(b) < HeaderLen {
		return fmt.Errorf("%w: %d bytes, want at least %d", ErrTruncated, len(b), HeaderLen)
	}
	off := int(b[offDataOffset]>>4) * 4
	if off < HeaderLen {
		return fmt.Errorf("%w: %d words, below 5", ErrDataOffset, off/4)
	}
	if off > len(b) {
		return fmt.Errorf("%w: %d bytes of header in a %d-byte segment", ErrDataOffset, off, len(b))
	}
	return nil
}

// Encode appends the header and payload to dst and fills in the checksum
// over the IPv4 pseudo-header of src and dst (unless h.Raw is set). The data
// offset is computed from the options unless h.Raw is set with a non-zero
// DataOffset; h itself is not modified. Options are laid out as described on
// Options.Len and encode: Linux's layout, padded with EOL to 4 bytes. A value
// that cannot be encoded gives an error wrapping ErrEncode that names the
// field, and dst is returned unchanged. It does not allocate when dst has
// room.
func (h *Header) Encode(dst []byte, src, dstAddr netip.Addr, payload []byte) ([]byte, error) {
	if h.Options.NumSACK < 0 || h.Options.NumSACK > MaxSACKBlocks {
		return dst, fmt.Errorf("%w: NumSACK %d, want 0..%d", ErrEncode, h.Options.NumSACK, MaxSACKBlocks)
	}
	on, packed := h.Options.layout()
	olen := (on + 3) &^ 3
	if olen > MaxOptionsLen {
		return dst, fmt.Errorf("%w: options need %d bytes, at most %d fit", ErrEncode, olen, MaxOptionsLen)
	}
	if !src.Is4() || !dstAddr.Is4() {
		return dst, fmt.Errorf("%w: pseudo-header addresses %v and %v must be IPv4", ErrEncode, src, dstAddr)
	}
	if h.Reserved > 15 {
		return dst, fmt.Errorf("%w: Reserved %#x does not fit in 4 bits", ErrEncode, h.Reserved)
	}
	if h.Raw && h.DataOffset > 15 {
		return dst, fmt.Errorf("%w: DataOffset %d does not fit in 4 bits", ErrEncode, h.DataOffset)
	}
	if n := HeaderLen + olen + len(payload); n > 0xffff-ippacket.HeaderLen {
		return dst, fmt.Errorf("%w: segment length %d does not fit in an IPv4 packet", ErrEncode, n)
	}
	doff := uint8((HeaderLen + olen) / 4)
	if h.Raw && h.DataOffset != 0 {
		doff = h.DataOffset
	}
	start := len(dst)
	seq, ack := uint32(h.Seq), uint32(h.Ack)
	// The fixed header in RFC 9293 §3.1 order; the checksum goes in below.
	dst = append(dst,
		byte(h.SrcPort>>8), byte(h.SrcPort), byte(h.DstPort>>8), byte(h.DstPort),
		byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq),
		byte(ack>>24), byte(ack>>16), byte(ack>>8), byte(ack),
		doff<<4|h.Reserved, byte(h.Flags), byte(h.Window>>8), byte(h.Window),
		0, 0, byte(h.Urgent>>8), byte(h.Urgent))
	dst = h.Options.encodeAs(dst, on, packed)
	dst = append(dst, payload...)
	seg := dst[start:]
	if h.Raw {
		put16(seg[offChecksum:], h.Checksum)
	} else {
		put16(seg[offChecksum:], Checksum(src, dstAddr, seg))
	}
	return dst, nil
}

// PseudoHeaderSum returns the ones' complement sum of the IPv4 pseudo-header
// for a TCP segment of length bytes (RFC 9293 §3.1: source, destination,
// zero, protocol, TCP length). An address that is not IPv4 (or IPv4-mapped
// IPv6) is summed as 0.0.0.0; Encode rejects such addresses.
func PseudoHeaderSum(src, dst netip.Addr, length int) uint16 {
	s, d := as4(src), as4(dst)
	var ph [12]byte
	copy(ph[0:], s[:])
	copy(ph[4:], d[:])
	ph[9] = ippacket.ProtocolTCP
	put16(ph[10:], uint16(length))
	return ippacket.Sum(ph[:], 0)
}

// as4 is a.As4 without the panic on addresses that are not IPv4.
func as4(a netip.Addr) [4]byte {
	if a.Is4() || a.Is4In6() {
		return a.As4()
	}
	return [4]byte{}
}

// Checksum computes the TCP checksum of seg (header and payload, with its
// checksum field taken as zero) between src and dst. A seg too short to hold
// the checksum field is summed whole.
func Checksum(src, dst netip.Addr, seg []byte) uint16 {
	sum := PseudoHeaderSum(src, dst, len(seg))
	if len(seg) < offChecksum+2 {
		return ippacket.Checksum(seg, sum)
	}
	sum = ippacket.Sum(seg[:offChecksum], sum)
	return ippacket.Checksum(seg[offChecksum+2:], sum)
}

// VerifyChecksum reports whether the checksum stored in seg is correct for a
// segment between src and dst.
func VerifyChecksum(src, dst netip.Addr, seg []byte) bool {
	if len(seg) < HeaderLen {
		return false
	}
	return ippacket.Checksum(seg, PseudoHeaderSum(src, dst, len(seg))) == 0
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func put16(b []byte, v uint16) { b[0] = byte(v >> 8); b[1] = byte(v) }

func put32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}
