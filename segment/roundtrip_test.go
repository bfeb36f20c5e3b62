package segment

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"os"
	"reflect"
	"testing"

	"github.com/tcpsim/tcpsim/ippacket"
)

// knownKind reports whether Options parses kind into a typed field.
func knownKind(kind byte) bool {
	switch kind {
	case OptEOL, OptNOP, OptMSS, OptWindowScale, OptSACKPermitted, OptSACK, OptTimestamps:
		return true
	}
	return false
}

// randUnknown returns one well-formed option of a kind Options does not
// know, 2 to 9 bytes long.
func randUnknown(rng *rand.Rand) []byte {
	kind := byte(rng.IntN(256))
	for knownKind(kind) {
		kind = byte(rng.IntN(256))
	}
	l := 2 + rng.IntN(8)
	b := []byte{kind, byte(l)}
	for i := 2; i < l; i++ {
		b = append(b, byte(rng.Uint32()))
	}
	return b
}

// randOptions draws a random set of options that fits in 40 bytes.
func randOptions(rng *rand.Rand) Options {
	var o Options
	if rng.IntN(2) == 0 {
		o.HasMSS, o.MSS = true, uint16(rng.Uint32())
	}
	if rng.IntN(2) == 0 {
		o.HasWindowScale, o.WindowScale = true, uint8(rng.IntN(MaxWindowShift+1))
	}
	o.SACKPermitted = rng.IntN(2) == 0
	if rng.IntN(2) == 0 {
		o.HasTimestamps, o.TSVal, o.TSEcr = true, rng.Uint32(), rng.Uint32()
	}
	for k := rng.IntN(MaxSACKBlocks + 1); k > 0; k-- {
		o.AddSACK(SACKBlock{Seq(rng.Uint32()), Seq(rng.Uint32())})
	}
	for n := rng.IntN(4) - 1; n > 0; n-- {
		o.Unknown = append(o.Unknown, randUnknown(rng)...)
	}
	for o.Len() > MaxOptionsLen && o.NumSACK > 0 {
		o.NumSACK--
		o.SACK[o.NumSACK] = SACKBlock{}
	}
	if o.Len() > MaxOptionsLen {
		o.Unknown = nil
	}
	return o
}

// randPacket draws a random, encodable, unfragmented IPv4+TCP packet with
// fields across their whole ranges.
func randPacket(rng *rand.Rand) Packet {
	addr := func() netip.Addr {
		return netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
	}
	p := Packet{
		IP: ippacket.Header{
			DSCP: uint8(rng.IntN(64)), ECN: uint8(rng.IntN(4)), ID: uint16(rng.Uint32()),
			Flags: uint8(rng.IntN(8)) &^ ippacket.FlagMF, TTL: uint8(rng.Uint32()),
			Protocol: ippacket.ProtocolTCP, Src: addr(), Dst: addr(),
		},
		TCP: Header{
			SrcPort: uint16(rng.Uint32()), DstPort: uint16(rng.Uint32()),
			Seq: Seq(rng.Uint32()), Ack: Seq(rng.Uint32()), Reserved: uint8(rng.IntN(16)),
			Flags: Flags(rng.Uint32()), Window: uint16(rng.Uint32()), Urgent: uint16(rng.Uint32()),
			Options: randOptions(rng),
		},
	}
	if rng.IntN(4) == 0 {
		p.IP.Options = make([]byte, 4*(1+rng.IntN(10)))
		for i := range p.IP.Options {
			p.IP.Options[i] = byte(rng.Uint32())
		}
	}
	if n := rng.IntN(3) * rng.IntN(1400); n > 0 {
		p.Payload = make([]byte, n)
		for i := range p.Payload {
			p.Payload[i] = byte(rng.Uint32())
		}
	}
	return p
}

// normalized returns what parsing the encoding of p must give: p with the
// computed fields (IHL, total length, data offset, checksums) taken from
// the encoded bytes b.
func normalized(p Packet, b []byte) Packet {
	v := ippacket.View(b)
	p.IP.IHL = uint8(v.HeaderLen() / 4)
	p.IP.TotalLen = uint16(v.TotalLen())
	p.IP.Checksum = v.Checksum()
	seg := v.Payload()
	p.TCP.DataOffset = seg[12] >> 4
	p.TCP.Checksum = uint16(seg[16])<<8 | uint16(seg[17])
	p.Payload = nil
	return p
}

// TestRoundTrip: ParsePacket(Encode(x)) == x over many seeds.
func TestRoundTrip(t *testing.T) {
	seeds := 5000
	if testing.Short() {
		seeds = 500
	}
	if os.Getenv("TCPSIM_LONG") == "1" {
		seeds = 500000
	}
	buf := make([]byte, 0, 1600)
	for seed := 0; seed < seeds; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 2026))
		x := randPacket(rng)
		b, err := x.Encode(buf[:0])
		if err != nil {
			t.Fatalf("seed %d: Encode: %v", seed, err)
		}
		if len(b) != x.Len() {
			t.Fatalf("seed %d: %d bytes, Len %d", seed, len(b), x.Len())
		}
		got, err := ParsePacket(b)
		if err != nil {
			t.Fatalf("seed %d: ParsePacket: %v\n% x", seed, err, b)
		}
		want := normalized(x, b)
		gotPayload := got.Payload
		got.Payload = nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d:\n got %+v\nwant %+v", seed, got, want)
		}
		if !bytes.Equal(gotPayload, x.Payload) {
			t.Fatalf("seed %d: payload differs", seed)
		}
		// Encoding the parsed value again gives the same bytes.
		got.Payload = gotPayload
		b2, err := got.Encode(nil)
		if err != nil || !bytes.Equal(b2, b) {
			t.Fatalf("seed %d: re-encode differs (%v)\n% x\n% x", seed, err, b2, b)
		}
	}
}
