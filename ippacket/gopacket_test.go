package ippacket

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// randWellFormedOptions returns IPv4 option bytes that gopacket's decoder
// accepts too (it rejects option lengths of 2 or less): NOPs, options of
// length 3..10 with random kinds, and an EOL padding the list to a multiple
// of 4. Empty about a third of the time.
func randWellFormedOptions(rng *rand.Rand) []byte {
	if rng.IntN(3) == 0 {
		return nil
	}
	var b []byte
	for len(b) < 28 && rng.IntN(4) != 0 {
		if rng.IntN(3) == 0 {
			b = append(b, 1) // NOP
			continue
		}
		l := 3 + rng.IntN(8)
		b = append(b, byte(2+rng.IntN(250)), byte(l))
		for i := 2; i < l; i++ {
			b = append(b, byte(rng.Uint32()))
		}
	}
	for len(b)%4 != 0 || len(b) == 0 {
		b = append(b, 0) // EOL, then zero padding
	}
	return b
}

// gopacketOptionBytes turns gopacket's decoded option list (and padding)
// back into the raw bytes it came from.
func gopacketOptionBytes(ip *layers.IPv4) []byte {
	var b []byte
	for _, o := range ip.Options {
		switch o.OptionType {
		case 0, 1:
			b = append(b, o.OptionType)
		default:
			b = append(b, o.OptionType, o.OptionLength)
			b = append(b, o.OptionData...)
		}
	}
	return append(b, ip.Padding...)
}

// TestGopacketDecodesOurs: we encode random headers (with and without
// options and payload); gopacket decodes the same field values, and
// gopacket's own checksum over our header equals ours.
func TestGopacketDecodesOurs(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		h := randHeader(rng)
		h.Options = randWellFormedOptions(rng)
		payload := make([]byte, rng.IntN(3)*rng.IntN(700))
		for i := range payload {
			payload[i] = byte(rng.Uint32())
		}
		b, err := h.Encode(nil, len(payload))
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, payload...)

		var ip layers.IPv4
		if err := ip.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
			t.Fatalf("seed %d: gopacket: %v", seed, err)
		}
		want := []struct {
			name      string
			got, want uint64
		}{
			{"version", uint64(ip.Version), 4},
			{"IHL", uint64(ip.IHL), uint64(5 + len(h.Options)/4)},
			{"TOS", uint64(ip.TOS), uint64(h.DSCP<<2 | h.ECN)},
			{"length", uint64(ip.Length), uint64(len(b))},
			{"id", uint64(ip.Id), uint64(h.ID)},
			{"flags", uint64(ip.Flags), uint64(h.Flags)},
			{"fragment offset", uint64(ip.FragOffset), uint64(h.FragOffset)},
			{"TTL", uint64(ip.TTL), uint64(h.TTL)},
			{"protocol", uint64(ip.Protocol), uint64(h.Protocol)},
		}
		for _, w := range want {
			if w.got != w.want {
				t.Errorf("seed %d: gopacket %s = %d, want %d", seed, w.name, w.got, w.want)
			}
		}
		if s, _ := netip.AddrFromSlice(ip.SrcIP); s != h.Src {
			t.Errorf("seed %d: gopacket src %v, want %v", seed, ip.SrcIP, h.Src)
		}
		if d, _ := netip.AddrFromSlice(ip.DstIP); d != h.Dst {
			t.Errorf("seed %d: gopacket dst %v, want %v", seed, ip.DstIP, h.Dst)
		}
		if got := gopacketOptionBytes(&ip); !bytes.Equal(got, h.Options) {
			t.Errorf("seed %d: gopacket options % x, want % x", seed, got, h.Options)
		}
		if !bytes.Equal(ip.Payload, payload) {
			t.Errorf("seed %d: gopacket payload differs", seed)
		}
		// gopacket recomputes the checksum of the same header: same value,
		// same bytes.
		ours := ip.Checksum
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, &ip, gopacket.Payload(payload)); err != nil {
			t.Fatalf("seed %d: gopacket serialize: %v", seed, err)
		}
		if ip.Checksum != ours || !bytes.Equal(buf.Bytes(), b) {
			t.Fatalf("seed %d: gopacket checksum %#04x, ours %#04x\ngopacket % x\nours     % x", seed, ip.Checksum, ours, buf.Bytes(), b)
		}
	}
}

// TestWeDecodeGopacket: gopacket serializes random headers with FixLengths
// and ComputeChecksums; Parse (which verifies the checksum) reads the same
// values back.
func TestWeDecodeGopacket(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 12))
		r := randHeader(rng)
		opts := randWellFormedOptions(rng)
		ip := layers.IPv4{
			Version: 4, TOS: r.DSCP<<2 | r.ECN, Id: r.ID, Flags: layers.IPv4Flag(r.Flags),
			FragOffset: r.FragOffset, TTL: r.TTL, Protocol: layers.IPProtocol(r.Protocol),
			SrcIP: net.IP(r.Src.AsSlice()), DstIP: net.IP(r.Dst.AsSlice()),
		}
		// Describe the same option bytes as gopacket's option list.
		for o := opts; len(o) > 0; {
			switch o[0] {
			case 0, 1:
				ip.Options = append(ip.Options, layers.IPv4Option{OptionType: o[0], OptionLength: 1})
				o = o[1:]
			default:
				ip.Options = append(ip.Options, layers.IPv4Option{OptionType: o[0], OptionLength: o[1], OptionData: o[2:o[1]]})
				o = o[o[1]:]
			}
		}
		payload := make([]byte, rng.IntN(3)*rng.IntN(700))
		for i := range payload {
			payload[i] = byte(rng.Uint32())
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, &ip, gopacket.Payload(payload)); err != nil {
			t.Fatalf("seed %d: gopacket serialize: %v", seed, err)
		}
		h, gotPayload, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("seed %d: Parse of gopacket's bytes: %v\n% x", seed, err, buf.Bytes())
		}
		want := r
		want.IHL = ip.IHL
		want.TotalLen = ip.Length
		want.Checksum = ip.Checksum
		want.Options = opts
		if h.IHL != uint8(5+len(opts)/4) || h.TotalLen != uint16(20+len(opts)+len(payload)) {
			t.Errorf("seed %d: IHL %d, total %d for %d option and %d payload bytes", seed, h.IHL, h.TotalLen, len(opts), len(payload))
		}
		if h.DSCP != want.DSCP || h.ECN != want.ECN || h.ID != want.ID || h.Flags != want.Flags ||
			h.FragOffset != want.FragOffset || h.TTL != want.TTL || h.Protocol != want.Protocol ||
			h.Checksum != want.Checksum || h.Src != want.Src || h.Dst != want.Dst ||
			!bytes.Equal(h.Options, want.Options) {
			t.Errorf("seed %d:\n got %+v\nwant %+v", seed, h, want)
		}
		if !bytes.Equal(gotPayload, payload) {
			t.Errorf("seed %d: payload differs", seed)
		}
	}
}
