package segment

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/tcpsim/tcpsim/ippacket"
)

// tcpWith returns a 20-byte TCP header with the given data offset followed
// by opts (and no payload).
func tcpWith(doff byte, opts ...byte) []byte {
	b := make([]byte, 20, 20+len(opts))
	b[12] = doff << 4
	return append(b, opts...)
}

// TestDecodeErrors: each malformed TCP header and the error it must give.
func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"19 bytes", make([]byte, 19), ErrTruncated},
		{"data offset 0", tcpWith(0), ErrDataOffset},
		{"data offset 4", tcpWith(4), ErrDataOffset},
		{"data offset 6 with no option bytes", tcpWith(6), ErrDataOffset},
		{"data offset 15 in a 40-byte segment", tcpWith(15, make([]byte, 20)...), ErrDataOffset},
		{"option kind in the last byte, no length", tcpWith(6, 1, 1, 1, 0x02), ErrOptionTruncated},
		{"option length 0", tcpWith(6, 0xfd, 0, 0, 0), ErrOptionLen},
		{"option length 1", tcpWith(6, 0xfd, 1, 0, 0), ErrOptionLen},
		{"option runs past the header", tcpWith(6, 0x02, 0x08, 0x05, 0xb4), ErrOptionTruncated},
		{"unknown option runs past the header", tcpWith(6, 1, 1, 0xfd, 3), ErrOptionTruncated},
		{"MSS length 3", tcpWith(6, 0x02, 0x03, 0x05, 0x00), ErrOptionLen},
		{"MSS length 2", tcpWith(6, 0x02, 0x02, 0x00, 0x00), ErrOptionLen},
		{"window scale length 4", tcpWith(6, 0x03, 0x04, 0x07, 0x00), ErrOptionLen},
		{"window scale length 2", tcpWith(6, 0x03, 0x02, 0x00, 0x00), ErrOptionLen},
		{"SACK-permitted length 3", tcpWith(6, 0x04, 0x03, 0x00, 0x00), ErrOptionLen},
		{"SACK-permitted length 4", tcpWith(6, 0x04, 0x04, 0x00, 0x00), ErrOptionLen},
		{"timestamps length 8", tcpWith(8, 0x08, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrOptionLen},
		{"timestamps length 12", tcpWith(8, 0x08, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrOptionLen},
		{"SACK with no block (length 2)", tcpWith(6, 0x05, 0x02, 0, 0), ErrOptionLen},
		{"SACK length 9", tcpWith(8, 0x05, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrOptionLen},
		{"SACK length 11", tcpWith(8, 0x05, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrOptionLen},
		{"SACK of 5 blocks cannot fit (length 42)", tcpWith(15, append([]byte{0x05, 42}, make([]byte, 38)...)...), ErrOptionTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse error = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestPacketDecodeErrors: each malformed IPv4+TCP packet and the error
// Packet.Decode must give, IPv4 errors included.
func TestPacketDecodeErrors(t *testing.T) {
	good := goldenSYN
	// fix re-checksums the IPv4 header after a change, so that the test
	// reaches the check it is aimed at.
	fix := func(b []byte) []byte {
		b[10], b[11] = 0, 0
		c := ippacket.Checksum(b[:20], 0)
		b[10], b[11] = byte(c>>8), byte(c)
		return b
	}
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name   string
		in     []byte
		verify bool
		want   error
	}{
		{"empty", nil, false, ippacket.ErrTruncated},
		{"IPv6 version", mod(func(b []byte) []byte { b[0] = 0x65; return b }), false, ippacket.ErrVersion},
		{"IHL 3", mod(func(b []byte) []byte { b[0] = 0x43; return b }), false, ippacket.ErrHeaderLen},
		{"total length past the buffer", good[:59], false, ippacket.ErrTotalLen},
		{"bad IPv4 checksum", mod(func(b []byte) []byte { b[11] ^= 1; return b }), true, ippacket.ErrChecksum},
		{"UDP, not TCP", mod(func(b []byte) []byte { b[9] = 17; return fix(b) }), false, ErrNotTCP},
		{"more fragments", mod(func(b []byte) []byte { b[6] = 0x20; return fix(b) }), false, ErrFragment},
		{"later fragment", mod(func(b []byte) []byte { b[6], b[7] = 0x00, 0x01; return fix(b) }), false, ErrFragment},
		{"TCP header cut (total length 30)", mod(func(b []byte) []byte { b[3] = 30; return fix(b) }), true, ErrTruncated},
		{"TCP data offset 4", mod(func(b []byte) []byte { b[32] = 0x40; return b }), true, ErrDataOffset},
		{"bad TCP checksum", mod(func(b []byte) []byte { b[37] ^= 1; return b }), true, ErrChecksum},
		{"corrupt option: checksum is reported first", mod(func(b []byte) []byte { b[41] = 1; return b }), true, ErrChecksum},
		{"corrupt option, not verifying", mod(func(b []byte) []byte { b[41] = 1; return b }), false, ErrOptionLen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			if err := p.Decode(tc.in, tc.verify); !errors.Is(err, tc.want) {
				t.Fatalf("Decode(verify=%v) error = %v, want %v", tc.verify, err, tc.want)
			}
		})
	}
	// Without verification a bad TCP checksum is accepted and kept as read.
	bad := mod(func(b []byte) []byte { b[37] ^= 1; return b })
	var p Packet
	if err := p.Decode(bad, false); err != nil || p.TCP.Checksum != 0x6fc5 {
		t.Fatalf("Decode(verify=false) = %v, checksum %#x", err, p.TCP.Checksum)
	}
}

// TestEncodeErrors: each value Header.Encode and Packet.Encode refuse, and
// the field the error names.
func TestEncodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		mod         func(p *Packet)
	}{
		{"NumSACK 5", "NumSACK 5", func(p *Packet) { p.TCP.Options.NumSACK = 5 }},
		{"NumSACK -1", "NumSACK -1", func(p *Packet) { p.TCP.Options.NumSACK = -1 }},
		{"options over 40 bytes", "options need 56 bytes", func(p *Packet) {
			p.TCP.Options.NumSACK = 4 // 4+12+4+36 = 56 in Linux's layout; 4+2+10+3+34 = 53, padded 56, packed
		}},
		{"unknown options over 40 bytes", "options need", func(p *Packet) { p.TCP.Options.Unknown = make([]byte, 30) }},
		{"Reserved 16", "Reserved 0x10", func(p *Packet) { p.TCP.Reserved = 16 }},
		{"Raw DataOffset 16", "DataOffset 16", func(p *Packet) { p.TCP.Raw, p.TCP.DataOffset = true, 16 }},
		{"IPv6 source", "IPv4", func(p *Packet) { p.IP.Src = netip.MustParseAddr("::1") }},
		{"zero destination", "IPv4", func(p *Packet) { p.IP.Dst = netip.Addr{} }},
		{"payload too long", "length", func(p *Packet) { p.Payload = make([]byte, 65500) }},
		{"IP field too wide", "DSCP 64", func(p *Packet) { p.IP.DSCP = 64 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := goldenSYNPacket
			tc.mod(&p)
			dst := []byte{0xee}
			out, err := p.Encode(dst)
			if err == nil {
				t.Fatalf("Encode accepted it")
			}
			if !errors.Is(err, ErrEncode) && !errors.Is(err, ippacket.ErrEncode) {
				t.Fatalf("error %v does not wrap ErrEncode", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %q", err, tc.field)
			}
			if !bytes.Equal(out, dst) {
				t.Errorf("dst changed on error: % x", out)
			}
		})
	}
	// Misuse of the helpers that cannot return an error does not panic.
	_ = PseudoHeaderSum(netip.Addr{}, netip.MustParseAddr("::1"), 20)
	_ = Checksum(addrA, addrB, []byte{1, 2, 3})
	if VerifyChecksum(addrA, addrB, make([]byte, 19)) {
		t.Error("VerifyChecksum accepted a 19-byte segment")
	}
	var o Options
	o.NumSACK = 7
	if len(o.SACKBlocks()) != MaxSACKBlocks || o.AddSACK(SACKBlock{}) {
		t.Error("SACKBlocks/AddSACK with a bad NumSACK")
	}
}

// TestRawEncode builds malformed segments on purpose.
func TestRawEncode(t *testing.T) {
	h := Header{SrcPort: 1, DstPort: 2, Raw: true, DataOffset: 4, Checksum: 0xbeef, Reserved: 0xf}
	b, err := h.Encode(nil, addrA, addrB, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if b[12] != 0x4f || b[16] != 0xbe || b[17] != 0xef || len(b) != 21 || h.Len() != 20 {
		t.Fatalf("Raw encode gave % x (Len %d)", b, h.Len())
	}
	if _, _, err := Parse(b); !errors.Is(err, ErrDataOffset) {
		t.Fatalf("Parse = %v, want ErrDataOffset", err)
	}
	if VerifyChecksum(addrA, addrB, b) {
		t.Fatal("a made-up checksum verified")
	}
	// Raw with DataOffset 0 still computes the offset.
	h = Header{Raw: true, Options: Options{HasMSS: true, MSS: 1}}
	b, _ = h.Encode(nil, addrA, addrB, nil)
	if b[12] != 0x60 || b[16] != 0 || b[17] != 0 {
		t.Fatalf("Raw encode with DataOffset 0 gave % x", b)
	}
}
