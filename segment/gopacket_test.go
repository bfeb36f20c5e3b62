package segment

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// optionsFromGopacket reads gopacket's option list into our Options, by
// the RFC layouts, independently of our parser.
func optionsFromGopacket(t *testing.T, list []layers.TCPOption) Options {
	t.Helper()
	var o Options
	for _, opt := range list {
		d := opt.OptionData
		switch opt.OptionType {
		case layers.TCPOptionKindEndList, layers.TCPOptionKindNop:
		case layers.TCPOptionKindMSS:
			o.HasMSS, o.MSS = true, binary.BigEndian.Uint16(d)
		case layers.TCPOptionKindWindowScale:
			o.HasWindowScale, o.WindowScale = true, d[0]
		case layers.TCPOptionKindSACKPermitted:
			o.SACKPermitted = true
		case layers.TCPOptionKindSACK:
			o.NumSACK = 0
			o.SACK = [MaxSACKBlocks]SACKBlock{}
			for i := 0; i+8 <= len(d); i += 8 {
				o.AddSACK(SACKBlock{Seq(binary.BigEndian.Uint32(d[i:])), Seq(binary.BigEndian.Uint32(d[i+4:]))})
			}
		case layers.TCPOptionKindTimestamps:
			o.HasTimestamps, o.TSVal, o.TSEcr = true, binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
		default:
			o.Unknown = append(o.Unknown, byte(opt.OptionType), opt.OptionLength)
			o.Unknown = append(o.Unknown, d...)
		}
	}
	return o
}

// TestGopacketDecodesOurs: we encode random packets (with and without IP and
// TCP options and payload); gopacket decodes the same field values and
// finds both checksums correct.
func TestGopacketDecodesOurs(t *testing.T) {
	for seed := uint64(0); seed < 1000; seed++ {
		rng := rand.New(rand.NewPCG(seed, 31))
		p := randPacket(rng)
		p.IP.Options = nil // IPv4 option decoding is cross-checked in ippacket
		b, err := p.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		pkt := gopacket.NewPacket(b, layers.LayerTypeIPv4, gopacket.DecodeOptions{NoCopy: true})
		if el := pkt.ErrorLayer(); el != nil {
			t.Fatalf("seed %d: gopacket: %v\n% x", seed, el.Error(), b)
		}
		ip := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			t.Fatalf("seed %d: gopacket found no TCP layer", seed)
		}
		if ip.Protocol != layers.IPProtocolTCP || int(ip.Length) != len(b) || int(ip.IHL) != 5 {
			t.Errorf("seed %d: gopacket IPv4 protocol %d, length %d, IHL %d", seed, ip.Protocol, ip.Length, ip.IHL)
		}
		if src, _ := netip.AddrFromSlice(ip.SrcIP); src != p.IP.Src {
			t.Errorf("seed %d: src %v, want %v", seed, ip.SrcIP, p.IP.Src)
		}
		if dst, _ := netip.AddrFromSlice(ip.DstIP); dst != p.IP.Dst {
			t.Errorf("seed %d: dst %v, want %v", seed, ip.DstIP, p.IP.Dst)
		}
		h := &p.TCP
		fl := h.Flags
		got := []uint64{uint64(tcp.SrcPort), uint64(tcp.DstPort), uint64(tcp.Seq), uint64(tcp.Ack),
			uint64(tcp.DataOffset), uint64(tcp.Window), uint64(tcp.Urgent)}
		want := []uint64{uint64(h.SrcPort), uint64(h.DstPort), uint64(h.Seq), uint64(h.Ack),
			uint64(5 + h.Options.Len()/4), uint64(h.Window), uint64(h.Urgent)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("seed %d: gopacket ports, seq, ack, offset, window, urgent = %v, want %v", seed, got, want)
		}
		gotFlags := [9]bool{tcp.FIN, tcp.SYN, tcp.RST, tcp.PSH, tcp.ACK, tcp.URG, tcp.ECE, tcp.CWR, tcp.NS}
		wantFlags := [9]bool{fl.Has(FlagFIN), fl.Has(FlagSYN), fl.Has(FlagRST), fl.Has(FlagPSH), fl.Has(FlagACK),
			fl.Has(FlagURG), fl.Has(FlagECE), fl.Has(FlagCWR), h.Reserved&1 != 0}
		if gotFlags != wantFlags {
			t.Errorf("seed %d: gopacket flags %v, want %v", seed, gotFlags, wantFlags)
		}
		if o := optionsFromGopacket(t, tcp.Options); !reflect.DeepEqual(o, h.Options) {
			t.Errorf("seed %d: gopacket options\n got %+v\nwant %+v", seed, o, h.Options)
		}
		if !bytes.Equal(tcp.Payload, p.Payload) {
			t.Errorf("seed %d: gopacket payload differs", seed)
		}
		// Checksums: gopacket's TCP checksum over our bytes (checksum field
		// included) must come out as zero; its IPv4 checksum, recomputed,
		// must equal ours.
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		if c, err := tcp.ComputeChecksum(); err != nil || c != 0 {
			t.Errorf("seed %d: gopacket finds the TCP checksum wrong (residue %#04x, %v)", seed, c, err)
		}
		ours := ip.Checksum
		sb := gopacket.NewSerializeBuffer()
		if err := ip.SerializeTo(sb, gopacket.SerializeOptions{ComputeChecksums: true}); err != nil {
			t.Fatal(err)
		}
		if ip.Checksum != ours {
			t.Errorf("seed %d: gopacket IPv4 checksum %#04x, ours %#04x", seed, ip.Checksum, ours)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
}

// gopacketOptions lists o as gopacket options in a random order, with NOPs
// sprinkled in while they fit, as other stacks lay them out.
func gopacketOptions(rng *rand.Rand, o Options) []layers.TCPOption {
	var list []layers.TCPOption
	add := func(kind layers.TCPOptionKind, data []byte) {
		list = append(list, layers.TCPOption{OptionType: kind, OptionLength: uint8(2 + len(data)), OptionData: data})
	}
	if o.HasMSS {
		add(layers.TCPOptionKindMSS, binary.BigEndian.AppendUint16(nil, o.MSS))
	}
	if o.HasWindowScale {
		add(layers.TCPOptionKindWindowScale, []byte{o.WindowScale})
	}
	if o.SACKPermitted {
		add(layers.TCPOptionKindSACKPermitted, nil)
	}
	if o.HasTimestamps {
		add(layers.TCPOptionKindTimestamps, binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, o.TSVal), o.TSEcr))
	}
	if o.NumSACK > 0 {
		var d []byte
		for _, blk := range o.SACKBlocks() {
			d = binary.BigEndian.AppendUint32(d, uint32(blk.Left))
			d = binary.BigEndian.AppendUint32(d, uint32(blk.Right))
		}
		add(layers.TCPOptionKindSACK, d)
	}
	for u := o.Unknown; len(u) > 0; u = u[u[1]:] {
		add(layers.TCPOptionKind(u[0]), u[2:u[1]])
	}
	rng.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	size := 0
	for _, opt := range list {
		size += int(opt.OptionLength)
	}
	for size < MaxOptionsLen && rng.IntN(3) != 0 {
		i := rng.IntN(len(list) + 1)
		list = append(list[:i], append([]layers.TCPOption{{OptionType: layers.TCPOptionKindNop, OptionLength: 1}}, list[i:]...)...)
		size++
	}
	return list
}

// TestWeDecodeGopacket: gopacket serializes random packets, options in a
// random order with NOPs between them, with FixLengths and
// ComputeChecksums; ParsePacket (checksums verified) reads the same values.
func TestWeDecodeGopacket(t *testing.T) {
	for seed := uint64(0); seed < 1000; seed++ {
		rng := rand.New(rand.NewPCG(seed, 32))
		p := randPacket(rng)
		p.IP.Options = nil
		p.TCP.Reserved &= 1 // gopacket writes only the NS bit of the reserved four
		// The shuffled order must gather unknown options in the order gopacket
		// writes them, which is what we compare against below.
		list := gopacketOptions(rng, p.TCP.Options)
		ip := &layers.IPv4{
			Version: 4, TOS: p.IP.DSCP<<2 | p.IP.ECN, Id: p.IP.ID, Flags: layers.IPv4Flag(p.IP.Flags),
			TTL: p.IP.TTL, Protocol: layers.IPProtocolTCP,
			SrcIP: net.IP(p.IP.Src.AsSlice()), DstIP: net.IP(p.IP.Dst.AsSlice()),
		}
		fl := p.TCP.Flags
		tcp := &layers.TCP{
			SrcPort: layers.TCPPort(p.TCP.SrcPort), DstPort: layers.TCPPort(p.TCP.DstPort),
			Seq: uint32(p.TCP.Seq), Ack: uint32(p.TCP.Ack), Window: p.TCP.Window, Urgent: p.TCP.Urgent,
			FIN: fl.Has(FlagFIN), SYN: fl.Has(FlagSYN), RST: fl.Has(FlagRST), PSH: fl.Has(FlagPSH),
			ACK: fl.Has(FlagACK), URG: fl.Has(FlagURG), ECE: fl.Has(FlagECE), CWR: fl.Has(FlagCWR),
			NS: p.TCP.Reserved == 1, Options: list,
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			ip, tcp, gopacket.Payload(p.Payload)); err != nil {
			t.Fatalf("seed %d: gopacket serialize: %v", seed, err)
		}
		b := sb.Bytes()
		got, err := ParsePacket(b)
		if err != nil {
			t.Fatalf("seed %d: ParsePacket of gopacket's bytes: %v\n% x", seed, err, b)
		}
		want := p
		want.IP.IHL, want.IP.TotalLen, want.IP.Checksum = 5, uint16(len(b)), ip.Checksum
		want.TCP.DataOffset, want.TCP.Checksum = tcp.DataOffset, tcp.Checksum
		want.TCP.Options = optionsFromGopacket(t, list) // unknown options in gopacket's order
		want.Payload = nil
		gotPayload := got.Payload
		got.Payload = nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d:\n got %+v\nwant %+v\n% x", seed, got, want, b)
		}
		if !bytes.Equal(gotPayload, p.Payload) {
			t.Fatalf("seed %d: payload differs", seed)
		}
	}
}
