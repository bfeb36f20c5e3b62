package ippacket

import (
	"net/netip"
	"testing"
)

// benchPacket is a full 1500-byte IPv4 packet (20-byte header).
func benchPacket(b *testing.B) (Header, []byte) {
	h := Header{
		TTL: 64, Flags: FlagDF, Protocol: ProtocolTCP, ID: 7,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
	}
	pkt, err := h.Encode(make([]byte, 0, 1500), 1480)
	if err != nil {
		b.Fatal(err)
	}
	return h, pkt[:1500]
}

// BenchmarkParse decodes the header of a 1500-byte packet, checksum
// verified, into a reused Header.
func BenchmarkParse(b *testing.B) {
	_, pkt := benchPacket(b)
	var h Header
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Decode(pkt, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode encodes the header of a 1500-byte packet into a reused
// buffer.
func BenchmarkEncode(b *testing.B) {
	h, _ := benchPacket(b)
	buf := make([]byte, 0, 1500)
	b.SetBytes(1500)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Encode(buf[:0], 1480); err != nil {
			b.Fatal(err)
		}
	}
}
