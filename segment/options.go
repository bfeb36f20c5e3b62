package segment

import (
	"fmt"
	"strconv"
)

// Option kinds (IANA "TCP Option Kind Numbers").
const (
	OptEOL           = 0 // RFC 9293
	OptNOP           = 1 // RFC 9293
	OptMSS           = 2 // RFC 9293, length 4
	OptWindowScale   = 3 // RFC 7323, length 3
	OptSACKPermitted = 4 // RFC 2018, length 2
	OptSACK          = 5 // RFC 2018, length 2+8n
	OptTimestamps    = 8 // RFC 7323, length 10
)

// MaxWindowShift is the largest window-scale shift a receiver may apply.
// RFC 7323 §2.3: a shift count above 14 must be treated as 14.
const MaxWindowShift = 14

// MaxSACKBlocks is the most SACK blocks that fit in the option space.
const MaxSACKBlocks = 4

// MaxOptionsLen is the room for options: a data offset of 15 words less the
// 20-byte fixed header.
const MaxOptionsLen = 40

// SACKBlock is one block of a SACK option: the octets Left..Right-1 have been
// received (RFC 2018 §3).
type SACKBlock struct {
	Left, Right Seq
}

// Options holds the TCP options of one segment as values. Recognised
// options each have a presence flag; unrecognised ones are kept verbatim in
// Unknown so that re-encoding preserves them. The zero value means "no
// options".
type Options struct {
	HasMSS bool
	MSS    uint16 // maximum segment size the sender can receive

	HasWindowScale bool
	WindowScale    uint8 // shift count, at most MaxWindowShift after Parse

	SACKPermitted bool

	NumSACK int // number of valid entries in SACK
	SACK    [MaxSACKBlocks]SACKBlock

	HasTimestamps bool
	TSVal, TSEcr  uint32

	// Unknown holds the unrecognised options, each as kind, length and data,
	// concatenated in wire order. After Parse it aliases the parsed buffer.
	// Encode writes it verbatim after the known options, even if malformed,
	// so that tests and fault injectors can send bad options.
	Unknown []byte
}

// IsZero reports whether no option is present.
func (o *Options) IsZero() bool {
	return !o.HasMSS && !o.HasWindowScale && !o.SACKPermitted && o.NumSACK == 0 &&
		!o.HasTimestamps && len(o.Unknown) == 0
}

// nsack is NumSACK clamped to 0..MaxSACKBlocks, so that a bad count set by
// hand cannot make Len, String or SACKBlocks index out of range. Encode
// rejects such a count with an error.
func (o *Options) nsack() int { return min(max(o.NumSACK, 0), MaxSACKBlocks) }

// SACKBlocks returns the valid SACK blocks. It aliases o.
func (o *Options) SACKBlocks() []SACKBlock { return o.SACK[:o.nsack()] }

// AddSACK appends a block; it reports false when all MaxSACKBlocks are used.
func (o *Options) AddSACK(b SACKBlock) bool {
	if o.NumSACK >= MaxSACKBlocks || o.NumSACK < 0 {
		return false
	}
	o.SACK[o.NumSACK] = b
	o.NumSACK++
	return true
}

// Len returns the encoded length of the options, padded to a multiple of 4:
// Linux's layout, or the packed one when that would exceed MaxOptionsLen
// (see encode). A result above MaxOptionsLen means Encode will refuse them.
func (o *Options) Len() int {
	n, _ := o.layout()
	return (n + 3) &^ 3
}

// layout returns the length before padding and whether the options are
// packed (written without NOPs) because Linux's layout does not fit; encode
// takes both, so that each is worked out once per header.
func (o *Options) layout() (n int, packed bool) {
	if o.tsOnly() {
		return 12, false // nop, nop, TS
	}
	n = o.linuxLen()
	if n > MaxOptionsLen {
		return o.packedLen(), true
	}
	return n, false
}

// tsOnly reports whether the timestamps are the only option.
func (o *Options) tsOnly() bool {
	return o.HasTimestamps && !o.HasMSS && !o.HasWindowScale && !o.SACKPermitted && o.NumSACK == 0 && len(o.Unknown) == 0
}

// linuxLen is the length before padding in the layout Linux uses, with NOPs
// aligning the 32-bit fields (see encode).
func (o *Options) linuxLen() int {
	n := 0
	if o.HasMSS {
		n += 4
	}
	switch {
	case o.SACKPermitted && o.HasTimestamps:
		n += 12 // SACK-permitted(2) + TS(10)
	case o.HasTimestamps:
		n += 12 // nop, nop, TS
	case o.SACKPermitted:
		n += 4 // nop, nop, SACK-permitted
	}
	if o.HasWindowScale {
		n += 4 // nop, WS
	}
	if k := o.nsack(); k > 0 {
		n += 2 + 2 + 8*k // nop, nop, SACK
	}
	return n + len(o.Unknown)
}

// packedLen is the length before padding with no NOPs at all.
func (o *Options) packedLen() int {
	n := 0
	if o.HasMSS {
		n += 4
	}
	if o.SACKPermitted {
		n += 2
	}
	if o.HasTimestamps {
		n += 10
	}
	if o.HasWindowScale {
		n += 3
	}
	if k := o.nsack(); k > 0 {
		n += 2 + 8*k
	}
	return n + len(o.Unknown)
}

// encode appends the options to b, then EOL (zero) bytes up to a 4-byte
// boundary (RFC 9293 §3.1: "The TCP header padding is used to ensure that
// the TCP header ends ... on a 32-bit boundary. The padding is composed of
// zeros.").
//
// The layout is the one Linux's tcp_options_write produces, so that our
// segments look like a Linux host's in a capture: MSS; then SACK-permitted
// and timestamps together, or either one after two NOPs; NOP + window scale;
// NOP NOP + SACK blocks. The unknown options follow, verbatim. Every 32-bit
// field then sits on a 32-bit boundary. When that layout would not fit in
// the 40 bytes of option space (possible only with unknown options, e.g.
// when re-encoding a packed header another stack sent), the same options are
// written in the same order without any NOP, which always fits if the parsed
// original did.
func (o *Options) encode(b []byte) []byte {
	n, packed := o.layout()
	return o.encodeAs(b, n, packed)
}

// encodeAs is encode with n and packed as layout returns them, for a caller
// that has them already.
func (o *Options) encodeAs(b []byte, n int, packed bool) []byte {
	if o.tsOnly() {
		// The common case: NOP, NOP, TS, already 4-byte aligned.
		v, e := o.TSVal, o.TSEcr
		return append(b, OptNOP, OptNOP, OptTimestamps, 10,
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v),
			byte(e>>24), byte(e>>16), byte(e>>8), byte(e))
	}
	k := o.nsack()
	if packed {
		if o.HasMSS {
			b = append(b, OptMSS, 4, byte(o.MSS>>8), byte(o.MSS))
		}
		if o.SACKPermitted {
			b = append(b, OptSACKPermitted, 2)
		}
		if o.HasTimestamps {
			b = appendTS(b, o.TSVal, o.TSEcr)
		}
		if o.HasWindowScale {
			b = append(b, OptWindowScale, 3, o.WindowScale)
		}
		if k > 0 {
			b = appendSACK(b, o.SACK[:k])
		}
	} else {
		if o.HasMSS {
			b = append(b, OptMSS, 4, byte(o.MSS>>8), byte(o.MSS))
		}
		switch {
		case o.SACKPermitted && o.HasTimestamps:
			b = append(b, OptSACKPermitted, 2)
			b = appendTS(b, o.TSVal, o.TSEcr)
		case o.HasTimestamps:
			b = append(b, OptNOP, OptNOP)
			b = appendTS(b, o.TSVal, o.TSEcr)
		case o.SACKPermitted:
			b = append(b, OptNOP, OptNOP, OptSACKPermitted, 2)
		}
		if o.HasWindowScale {
			b = append(b, OptNOP, OptWindowScale, 3, o.WindowScale)
		}
		if k > 0 {
			b = append(b, OptNOP, OptNOP)
			b = appendSACK(b, o.SACK[:k])
		}
	}
	b = append(b, o.Unknown...)
	for range (4 - n%4) % 4 {
		b = append(b, OptEOL)
	}
	return b
}

func appendTS(b []byte, val, ecr uint32) []byte {
	b = append(b, OptTimestamps, 10)
	b = append32(b, val)
	return append32(b, ecr)
}

func appendSACK(b []byte, blocks []SACKBlock) []byte {
	b = append(b, OptSACK, byte(2+8*len(blocks)))
	for _, blk := range blocks {
		b = append32(b, uint32(blk.Left))
		b = append32(b, uint32(blk.Right))
	}
	return b
}

func append32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// parse decodes the option bytes of a header into o. Unknown options
// are kept; a length that is short, long or past the end is an error.
func (o *Options) parse(b []byte) error {
	// The options of nearly every segment of an established connection
	// with timestamps: NOP, NOP, TS. Decoded here directly, to the same
	// result the loop below gives.
	if len(b) == 12 && b[0] == OptNOP && b[1] == OptNOP && b[2] == OptTimestamps && b[3] == 10 {
		*o = Options{HasTimestamps: true, TSVal: be32(b[4:8]), TSEcr: be32(b[8:12])}
		return nil
	}
	*o = Options{}
	unknownEnd, aliased := -1, false
	for i := 0; i < len(b); {
		kind := b[i]
		switch kind {
		case OptEOL:
			// RFC 9293 §3.1: end of the option list; the rest is padding.
			return nil
		case OptNOP:
			i++
			continue
		}
		if i+1 >= len(b) {
			return fmt.Errorf("%w: kind %d at offset %d has no length octet", ErrOptionTruncated, kind, i)
		}
		l := int(b[i+1])
		if l < 2 {
			return fmt.Errorf("%w: kind %d has length %d", ErrOptionLen, kind, l)
		}
		if i+l > len(b) {
			return fmt.Errorf("%w: kind %d of length %d runs past the header", ErrOptionTruncated, kind, l)
		}
		data := b[i+2 : i+l]
		switch kind {
		case OptMSS:
			if l != 4 {
				return fmt.Errorf("%w: mss length %d, want 4", ErrOptionLen, l)
			}
			o.HasMSS, o.MSS = true, be16(data)
		case OptWindowScale:
			if l != 3 {
				return fmt.Errorf("%w: wscale length %d, want 3", ErrOptionLen, l)
			}
			o.HasWindowScale, o.WindowScale = true, data[0]
			// RFC 7323 §2.3: "If a Window Scale option is received with a
			// shift.cnt value larger than 14, the TCP SHOULD log the error but
			// MUST use 14 instead of the specified value."
			if o.WindowScale > MaxWindowShift {
				o.WindowScale = MaxWindowShift
			}
		case OptSACKPermitted:
			if l != 2 {
				return fmt.Errorf("%w: sackOK length %d, want 2", ErrOptionLen, l)
			}
			o.SACKPermitted = true
		case OptSACK:
			n := (l - 2) / 8
			if (l-2)%8 != 0 || n < 1 || n > MaxSACKBlocks {
				return fmt.Errorf("%w: sack length %d, want 2+8n with n in 1..4", ErrOptionLen, l)
			}
			// A later SACK option replaces an earlier one entirely.
			o.NumSACK, o.SACK = n, [MaxSACKBlocks]SACKBlock{}
			for k := 0; k < n; k++ {
				o.SACK[k] = SACKBlock{Seq(be32(data[8*k:])), Seq(be32(data[8*k+4:]))}
			}
		case OptTimestamps:
			if l != 10 {
				return fmt.Errorf("%w: timestamps length %d, want 10", ErrOptionLen, l)
			}
			o.HasTimestamps, o.TSVal, o.TSEcr = true, be32(data), be32(data[4:])
		default:
			// Unknown options are kept in wire order. A contiguous run aliases
			// b; options separated by known ones are copied together.
			opt := b[i : i+l]
			switch {
			case o.Unknown == nil:
				o.Unknown, aliased = opt, true
			case aliased && unknownEnd == i:
				o.Unknown = b[i-len(o.Unknown) : i+l]
			default:
				o.Unknown = append(o.Unknown[:len(o.Unknown):len(o.Unknown)], opt...)
				aliased = false
			}
			unknownEnd = i + l
		}
		i += l
	}
	return nil
}

// appendString appends the options as tcpdump prints them between
// "options [" and "]". It prints the bytes encode produces, so the order is
// our encoded order (not necessarily the order a parsed packet had on the
// wire), NOPs and the first padding EOL included, as tcpdump shows them:
// "mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7". SACK blocks print as
// "sack 2 {1000:2000}{3000:4000}" (absolute numbers, as with tcpdump -S);
// unknown options as "unknown-KIND 0xDATA". A malformed unknown option ends
// the list with "bad opt".
func (o *Options) appendString(b []byte) []byte {
	var buf [MaxOptionsLen]byte
	enc := o.encode(buf[:0])
	for i := 0; i < len(enc); {
		if i > 0 {
			b = append(b, ',')
		}
		kind := enc[i]
		switch kind {
		case OptEOL:
			return append(b, "eol"...) // tcpdump stops at the first EOL
		case OptNOP:
			b = append(b, "nop"...)
			i++
			continue
		}
		if i+1 >= len(enc) || enc[i+1] < 2 || i+int(enc[i+1]) > len(enc) {
			return append(b, "bad opt"...)
		}
		l := int(enc[i+1])
		data := enc[i+2 : i+l]
		switch {
		case kind == OptMSS && l == 4:
			b = append(b, "mss "...)
			b = strconv.AppendUint(b, uint64(be16(data)), 10)
		case kind == OptWindowScale && l == 3:
			b = append(b, "wscale "...)
			b = strconv.AppendUint(b, uint64(data[0]), 10)
		case kind == OptSACKPermitted && l == 2:
			b = append(b, "sackOK"...)
		case kind == OptTimestamps && l == 10:
			b = append(b, "TS val "...)
			b = strconv.AppendUint(b, uint64(be32(data)), 10)
			b = append(b, " ecr "...)
			b = strconv.AppendUint(b, uint64(be32(data[4:])), 10)
		case kind == OptSACK && (l-2)%8 == 0:
			b = append(b, "sack "...)
			b = strconv.AppendInt(b, int64((l-2)/8), 10)
			b = append(b, ' ')
			for k := 0; k+8 <= len(data); k += 8 {
				b = append(b, '{')
				b = strconv.AppendUint(b, uint64(be32(data[k:])), 10)
				b = append(b, ':')
				b = strconv.AppendUint(b, uint64(be32(data[k+4:])), 10)
				b = append(b, '}')
			}
		default:
			b = append(b, "unknown-"...)
			b = strconv.AppendUint(b, uint64(kind), 10)
			if len(data) > 0 {
				b = append(b, " 0x"...)
				for _, c := range data {
					b = append(b, hexDigits[c>>4], hexDigits[c&15])
				}
			}
		}
		i += l
	}
	return b
}

const hexDigits = "0123456789abcdef"
