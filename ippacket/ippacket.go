// Package ippacket is the IPv4 wire format (RFC 791) used by tcpsim: a checked
// view over header bytes, a value type with Parse and Encode, and the Internet
// checksum (RFC 1071).
//
// It is a codec only. It does no routing, fragmentation or reassembly, and it
// imports nothing but the standard library. Parsing never panics: every
// malformed input returns one of the named errors below. Header.Encode with
// Raw set writes lengths and checksum as given, to build malformed packets on
// purpose. docs/wire.md describes the design and its figures.
package ippacket

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// Field offsets of the fixed IPv4 header (RFC 791 §3.1).
const (
	offVersionIHL = 0  // version (4 bits) | IHL (4 bits)
	offTOS        = 1  // DSCP (6 bits) | ECN (2 bits)
	offTotalLen   = 2  // 16 bits
	offID         = 4  // 16 bits
	offFlagsFrag  = 6  // flags (3 bits) | fragment offset (13 bits)
	offTTL        = 8  // 8 bits
	offProtocol   = 9  // 8 bits
	offChecksum   = 10 // 16 bits
	offSrc        = 12 // 32 bits
	offDst        = 16 // 32 bits

	// HeaderLen is the length of an IPv4 header without options.
	HeaderLen = 20
	// MaxHeaderLen is the longest header IHL can describe (15 words).
	MaxHeaderLen = 60
	// Version is the only IP version this package understands.
	Version = 4
)

// Protocol numbers (IANA "Assigned Internet Protocol Numbers").
const (
	ProtocolICMP = 1
	ProtocolTCP  = 6
	ProtocolUDP  = 17
)

// Flags in the 3-bit flags field.
const (
	FlagMF = 1 << 0 // more fragments
	FlagDF = 1 << 1 // don't fragment
	// bit 2 is reserved and must be zero (RFC 791); it is kept as read.
	flagReserved = 1 << 2
)

// Errors returned by Parse and Check. Each names one way a packet can be
// malformed, so that a receiver can count drops by reason.
var (
	ErrTruncated       = errors.New("ippacket: truncated header")
	ErrVersion         = errors.New("ippacket: version is not 4")
	ErrHeaderLen       = errors.New("ippacket: header length (IHL) below 5 words")
	ErrHeaderBeyondEnd = errors.New("ippacket: header length exceeds the packet")
	ErrTotalLen        = errors.New("ippacket: total length inconsistent with the buffer")
	ErrChecksum        = errors.New("ippacket: bad header checksum")
	ErrEncode          = errors.New("ippacket: header cannot be encoded")
)

// View is an IPv4 packet in wire form. Once Check has returned nil, every
// getter is safe: none of them can index out of range.
type View []byte

// Check validates the structure of v: length, version, IHL, total length and
// (when verifyChecksum is set) the header checksum. The buffer may be longer
// than the total length (link padding); the extra bytes are ignored.
func (v View) Check(verifyChecksum bool) error {
	if len(v) < HeaderLen {
		return ErrTruncated
	}
	if v[offVersionIHL]>>4 != Version {
		return ErrVersion
	}
	ihl := int(v[offVersionIHL]&0x0f) * 4
	if ihl < HeaderLen {
		return ErrHeaderLen
	}
	if ihl > len(v) {
		return ErrHeaderBeyondEnd
	}
	total := int(be16(v[offTotalLen:]))
	if total < ihl || total > len(v) {
		return ErrTotalLen
	}
	if verifyChecksum && Checksum(v[:ihl], 0) != 0 {
		return ErrChecksum
	}
	return nil
}

// HeaderLen returns the header length in bytes (IHL × 4).
func (v View) HeaderLen() int { return int(v[offVersionIHL]&0x0f) * 4 }

// Version returns the version field.
func (v View) Version() uint8 { return v[offVersionIHL] >> 4 }

// DSCP returns the Differentiated Services code point (RFC 2474).
func (v View) DSCP() uint8 { return v[offTOS] >> 2 }

// ECN returns the two ECN bits (RFC 3168).
func (v View) ECN() uint8 { return v[offTOS] & 3 }

// TotalLen returns the total length field.
func (v View) TotalLen() int { return int(be16(v[offTotalLen:])) }

// ID returns the identification field.
func (v View) ID() uint16 { return be16(v[offID:]) }

// Flags returns the 3-bit flags field (FlagDF, FlagMF).
func (v View) Flags() uint8 { return v[offFlagsFrag] >> 5 }

// FragOffset returns the fragment offset in 8-byte units.
func (v View) FragOffset() uint16 { return be16(v[offFlagsFrag:]) & 0x1fff }

// TTL returns the time-to-live field.
func (v View) TTL() uint8 { return v[offTTL] }

// Protocol returns the protocol field.
func (v View) Protocol() uint8 { return v[offProtocol] }

// Checksum returns the header checksum field as stored.
func (v View) Checksum() uint16 { return be16(v[offChecksum:]) }

// Src returns the source address.
func (v View) Src() netip.Addr { return netip.AddrFrom4([4]byte(v[offSrc : offSrc+4])) }

// Dst returns the destination address.
func (v View) Dst() netip.Addr { return netip.AddrFrom4([4]byte(v[offDst : offDst+4])) }

// Options returns the option bytes between the fixed header and the payload.
// The slice aliases v.
func (v View) Options() []byte { return v[HeaderLen:v.HeaderLen()] }

// Payload returns the bytes after the header up to the total length. The
// slice aliases v.
func (v View) Payload() []byte { return v[v.HeaderLen():v.TotalLen()] }

// SetTTL stores ttl. It does not update the checksum; see DecTTL.
func (v View) SetTTL(ttl uint8) { v[offTTL] = ttl }

// SetChecksum stores c in the checksum field.
func (v View) SetChecksum(c uint16) { put16(v[offChecksum:], c) }

// DecTTL decrements the TTL and patches the header checksum incrementally
// (RFC 1624, equation 3), as a router does. It returns the new TTL. A TTL of
// zero is left as it is (a router drops such a packet rather than forward it)
// and 0 is returned. The result equals a full recomputation of the checksum
// whenever the stored checksum was correct.
func (v View) DecTTL() uint8 {
	if v[offTTL] == 0 {
		return 0
	}
	old := be16(v[offTTL:]) // TTL | protocol word
	v[offTTL]--
	upd := be16(v[offTTL:])
	// HC' = ~(~HC + ~m + m')
	sum := uint32(^v.Checksum()) + uint32(^old) + uint32(upd)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	v.SetChecksum(^uint16(sum))
	return v[offTTL]
}

// Header is an IPv4 header as values. The zero value is not a valid header;
// use Parse, or fill the fields and call Encode.
type Header struct {
	// IHL is the header length in 32-bit words as read. Encode computes it
	// from len(Options) unless Raw is set and IHL is non-zero.
	IHL  uint8
	DSCP uint8 // Differentiated Services code point (RFC 2474), 0–63
	ECN  uint8 // ECN field (RFC 3168), 0–3
	// TotalLen is the total length as read. Encode computes it (header plus
	// payloadLen) unless Raw is set, in which case it is written as given.
	TotalLen   uint16
	ID         uint16
	Flags      uint8  // FlagDF | FlagMF (and the reserved bit, kept as read), 0–7
	FragOffset uint16 // in 8-byte units, 0–8191
	TTL        uint8
	Protocol   uint8
	Checksum   uint16 // as read by Parse; written by Encode unless Raw is set
	Src, Dst   netip.Addr
	// Options holds the raw option bytes, a multiple of 4 bytes long. After
	// Parse it aliases the parsed buffer.
	Options []byte
	// Raw, when set, makes Encode write IHL, TotalLen and Checksum exactly as
	// given instead of computing them, so that tests and fault injectors can
	// build malformed packets on purpose.
	Raw bool
}

// Parse decodes the header at the start of b and returns it with the payload
// (the bytes after the header, up to the total length). The payload and the
// header's Options alias b. The checksum is verified.
func Parse(b []byte) (Header, []byte, error) {
	var h Header
	payload, err := h.Decode(b, true)
	return h, payload, err
}

// Decode is Parse into an existing Header, reusing it without allocation.
// When verifyChecksum is false a wrong checksum is accepted (as captured).
func (h *Header) Decode(b []byte, verifyChecksum bool) ([]byte, error) {
	v := View(b)
	if err := v.Check(verifyChecksum); err != nil {
		return nil, err
	}
	*h = Header{
		IHL:        v[offVersionIHL] & 0x0f,
		DSCP:       v.DSCP(),
		ECN:        v.ECN(),
		TotalLen:   uint16(v.TotalLen()),
		ID:         v.ID(),
		Flags:      v.Flags(),
		FragOffset: v.FragOffset(),
		TTL:        v.TTL(),
		Protocol:   v.Protocol(),
		Checksum:   v.Checksum(),
		Src:        v.Src(),
		Dst:        v.Dst(),
	}
	if opts := v.Options(); len(opts) > 0 {
		h.Options = opts
	}
	return v.Payload(), nil
}

// Len returns the number of bytes Encode writes: the fixed header plus the
// options. (With Raw set, the IHL field written may claim otherwise.)
func (h *Header) Len() int { return HeaderLen + len(h.Options) }

// Encode appends the header to dst, followed by nothing: the caller appends
// the payload of payloadLen bytes afterwards. Unless h.Raw is set, IHL, total
// length and checksum are computed (TotalLen = header + payloadLen) and the
// fields of h are left untouched. A field too wide for its bits, a non-IPv4
// address or badly sized options give an error wrapping ErrEncode that names
// the field, and dst is returned unchanged. It does not allocate when dst has
// room.
func (h *Header) Encode(dst []byte, payloadLen int) ([]byte, error) {
	if !h.Src.Is4() || !h.Dst.Is4() {
		return dst, fmt.Errorf("%w: source %v and destination %v must be IPv4", ErrEncode, h.Src, h.Dst)
	}
	if len(h.Options)%4 != 0 || len(h.Options) > MaxHeaderLen-HeaderLen {
		return dst, fmt.Errorf("%w: %d option bytes (want a multiple of 4, at most 40)", ErrEncode, len(h.Options))
	}
	switch {
	case h.DSCP > 63:
		return dst, fmt.Errorf("%w: DSCP %d does not fit in 6 bits", ErrEncode, h.DSCP)
	case h.ECN > 3:
		return dst, fmt.Errorf("%w: ECN %d does not fit in 2 bits", ErrEncode, h.ECN)
	case h.Flags > 7:
		return dst, fmt.Errorf("%w: Flags %#x does not fit in 3 bits", ErrEncode, h.Flags)
	case h.FragOffset > 0x1fff:
		return dst, fmt.Errorf("%w: FragOffset %d does not fit in 13 bits", ErrEncode, h.FragOffset)
	case h.Raw && h.IHL > 15:
		return dst, fmt.Errorf("%w: IHL %d does not fit in 4 bits", ErrEncode, h.IHL)
	}
	hl := HeaderLen + len(h.Options)
	ihl := uint8(hl / 4)
	total := hl + payloadLen
	if !h.Raw && total > 0xffff {
		return dst, fmt.Errorf("%w: total length %d exceeds 65535", ErrEncode, total)
	}
	if h.Raw {
		if h.IHL != 0 {
			ihl = h.IHL
		}
		total = int(h.TotalLen)
	}
	start := len(dst)
	dst = append(dst, make([]byte, HeaderLen)...) // does not allocate when cap suffices
	b := dst[start:]
	b[offVersionIHL] = Version<<4 | ihl
	b[offTOS] = h.DSCP<<2 | h.ECN
	put16(b[offTotalLen:], uint16(total))
	put16(b[offID:], h.ID)
	put16(b[offFlagsFrag:], uint16(h.Flags)<<13|h.FragOffset)
	b[offTTL] = h.TTL
	b[offProtocol] = h.Protocol
	src, dstA := h.Src.As4(), h.Dst.As4()
	copy(b[offSrc:], src[:])
	copy(b[offDst:], dstA[:])
	dst = append(dst, h.Options...)
	hdr := dst[start:]
	if h.Raw {
		put16(hdr[offChecksum:], h.Checksum)
	} else {
		put16(hdr[offChecksum:], Checksum(hdr, 0))
	}
	return dst, nil
}

// String returns a one-line summary in tcpdump's spirit:
// "IP 10.0.0.1 > 10.0.0.2: proto 6, ttl 64, id 1, DF, length 60". The flags
// print as DF, MF and rsvd (the reserved bit, as tcpdump names it); a
// fragment offset prints in bytes ("offset 1480"); options are not shown.
func (h Header) String() string {
	b := make([]byte, 0, 96)
	b = append(b, "IP "...)
	b = h.Src.AppendTo(b)
	b = append(b, " > "...)
	b = h.Dst.AppendTo(b)
	b = append(b, ": proto "...)
	b = strconv.AppendUint(b, uint64(h.Protocol), 10)
	b = append(b, ", ttl "...)
	b = strconv.AppendUint(b, uint64(h.TTL), 10)
	b = append(b, ", id "...)
	b = strconv.AppendUint(b, uint64(h.ID), 10)
	if h.Flags&FlagDF != 0 {
		b = append(b, ", DF"...)
	}
	if h.Flags&FlagMF != 0 {
		b = append(b, ", MF"...)
	}
	if h.Flags&flagReserved != 0 {
		b = append(b, ", rsvd"...)
	}
	if h.FragOffset != 0 {
		b = append(b, ", offset "...)
		b = strconv.AppendUint(b, uint64(h.FragOffset)*8, 10)
	}
	b = append(b, ", length "...)
	b = strconv.AppendUint(b, uint64(h.TotalLen), 10)
	return string(b)
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

func put16(b []byte, v uint16) { b[0] = byte(v >> 8); b[1] = byte(v) }
