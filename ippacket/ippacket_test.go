package ippacket

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// goldenPlain is the IPv4 header often used to teach the checksum (it is the
// worked example of Wikipedia's "IPv4 header checksum"), laid out field by
// field as in RFC 791 §3.1, followed by its 95-byte payload.
var goldenPlain = []byte{
	0x45,       // version 4 | IHL 5 (20 bytes)
	0x00,       // DSCP 0 | ECN 0
	0x00, 0x73, // total length 115
	0x00, 0x00, // identification 0
	0x40, 0x00, // flags 010 (DF) | fragment offset 0
	0x40,       // TTL 64
	0x11,       // protocol 17 (UDP)
	0xb8, 0x61, // header checksum
	192, 168, 0, 1, // source 192.168.0.1
	192, 168, 0, 199, // destination 192.168.0.199
}

var goldenPlainHeader = Header{
	IHL: 5, TotalLen: 115, Flags: FlagDF, TTL: 64, Protocol: ProtocolUDP, Checksum: 0xb861,
	Src: netip.MustParseAddr("192.168.0.1"), Dst: netip.MustParseAddr("192.168.0.199"),
}

// goldenOptions exercises every sub-byte field and carries one option word.
// Checksum by hand: the 16-bit words 46b9 0020 abcd 20b9 0106 0000 0a00 0001
// 0a00 0002 9404 0000 add up (with end-around carry) to bc6d, whose
// complement is 4392.
var goldenOptions = []byte{
	0x46,       // version 4 | IHL 6 (24 bytes)
	0xb9,       // DSCP 46 (EF, 101110) | ECN 01 (ECT(1))
	0x00, 0x20, // total length 32 (24 header + 8 payload)
	0xab, 0xcd, // identification 0xabcd
	0x20, 0xb9, // flags 001 (MF) | fragment offset 185 (1480 bytes)
	0x01,       // TTL 1
	0x06,       // protocol 6 (TCP)
	0x43, 0x92, // header checksum
	10, 0, 0, 1, // source 10.0.0.1
	10, 0, 0, 2, // destination 10.0.0.2
	0x94, 0x04, 0x00, 0x00, // option: Router Alert (RFC 2113), type 148, length 4, value 0
	1, 2, 3, 4, 5, 6, 7, 8, // payload
}

var goldenOptionsHeader = Header{
	IHL: 6, DSCP: 46, ECN: 1, TotalLen: 32, ID: 0xabcd, Flags: FlagMF, FragOffset: 185,
	TTL: 1, Protocol: ProtocolTCP, Checksum: 0x4392,
	Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
	Options: []byte{0x94, 0x04, 0x00, 0x00},
}

func TestGolden(t *testing.T) {
	plainPayload := bytes.Repeat([]byte{0x5a}, 95)
	for _, tc := range []struct {
		name    string
		wire    []byte
		header  Header
		payload []byte
	}{
		{"plain", append(append([]byte(nil), goldenPlain...), plainPayload...), goldenPlainHeader, plainPayload},
		{"options", goldenOptions, goldenOptionsHeader, goldenOptions[24:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Parse the literal bytes.
			h, payload, err := Parse(tc.wire)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(h, tc.header) {
				t.Errorf("Parse header\n got %+v\nwant %+v", h, tc.header)
			}
			if !bytes.Equal(payload, tc.payload) {
				t.Errorf("payload % x, want % x", payload, tc.payload)
			}
			// Encode the values with lengths and checksum computed.
			in := tc.header
			in.IHL, in.TotalLen, in.Checksum = 0, 0, 0
			got, err := in.Encode(nil, len(tc.payload))
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			hl := int(tc.header.IHL) * 4
			if !bytes.Equal(got, tc.wire[:hl]) {
				t.Errorf("Encode\n got % x\nwant % x", got, tc.wire[:hl])
			}
			if in.Len() != hl {
				t.Errorf("Len = %d, want %d", in.Len(), hl)
			}
			// Raw writes the given values back byte for byte.
			raw := tc.header
			raw.Raw = true
			got, err = raw.Encode(nil, 0)
			if err != nil || !bytes.Equal(got, tc.wire[:hl]) {
				t.Errorf("Raw Encode = % x, %v; want % x", got, err, tc.wire[:hl])
			}
		})
	}
}

func TestViewGetters(t *testing.T) {
	v := View(goldenOptions)
	if err := v.Check(true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Version", v.Version(), uint8(4)},
		{"HeaderLen", v.HeaderLen(), 24},
		{"DSCP", v.DSCP(), uint8(46)},
		{"ECN", v.ECN(), uint8(1)},
		{"TotalLen", v.TotalLen(), 32},
		{"ID", v.ID(), uint16(0xabcd)},
		{"Flags", v.Flags(), uint8(FlagMF)},
		{"FragOffset", v.FragOffset(), uint16(185)},
		{"TTL", v.TTL(), uint8(1)},
		{"Protocol", v.Protocol(), uint8(6)},
		{"Checksum", v.Checksum(), uint16(0x4392)},
		{"Src", v.Src(), netip.MustParseAddr("10.0.0.1")},
		{"Dst", v.Dst(), netip.MustParseAddr("10.0.0.2")},
		{"Options", v.Options(), []byte{0x94, 4, 0, 0}},
		{"Payload", v.Payload(), []byte{1, 2, 3, 4, 5, 6, 7, 8}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestParseErrors lists every way Parse rejects input, one malformed packet
// per line, with the error it must give.
func TestParseErrors(t *testing.T) {
	good := append([]byte(nil), goldenOptions...)
	mod := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty buffer", nil, ErrTruncated},
		{"19 bytes, one short of a header", good[:19], ErrTruncated},
		{"version 6", mod(func(b []byte) []byte { b[0] = 0x66; return b }), ErrVersion},
		{"version 0", mod(func(b []byte) []byte { b[0] = 0x06; return b }), ErrVersion},
		{"IHL 4", mod(func(b []byte) []byte { b[0] = 0x44; return b }), ErrHeaderLen},
		{"IHL 0", mod(func(b []byte) []byte { b[0] = 0x40; return b }), ErrHeaderLen},
		{"IHL 15 in a 32-byte buffer", mod(func(b []byte) []byte { b[0] = 0x4f; return b }), ErrHeaderBeyondEnd},
		{"IHL 6 in a 20-byte buffer", good[:20], ErrHeaderBeyondEnd},
		{"total length beyond the buffer", mod(func(b []byte) []byte { b[3] = 33; return b }), ErrTotalLen},
		{"total length shorter than the header", mod(func(b []byte) []byte { b[3] = 23; return b }), ErrTotalLen},
		{"total length zero", mod(func(b []byte) []byte { b[2], b[3] = 0, 0; return b }), ErrTotalLen},
		{"buffer cut inside the payload", good[:31], ErrTotalLen},
		{"checksum off by one", mod(func(b []byte) []byte { b[11]++; return b }), ErrChecksum},
		{"a header bit flipped", mod(func(b []byte) []byte { b[8] ^= 0x10; return b }), ErrChecksum},
		{"an option bit flipped", mod(func(b []byte) []byte { b[21] ^= 1; return b }), ErrChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse error = %v, want %v", err, tc.want)
			}
			if err2 := View(tc.in).Check(true); !errors.Is(err2, tc.want) {
				t.Fatalf("Check error = %v, want %v", err2, tc.want)
			}
		})
	}
	// A bad checksum is accepted when verification is off, as for captures.
	bad := mod(func(b []byte) []byte { b[11]++; return b })
	var h Header
	if _, err := h.Decode(bad, false); err != nil || h.Checksum != 0x4393 {
		t.Fatalf("Decode(verify=false) = %v, checksum %#x; want nil, 0x4393", err, h.Checksum)
	}
	// Link-layer padding after the total length is ignored.
	padded := append(append([]byte(nil), good...), 0, 0, 0, 0)
	if _, p, err := Parse(padded); err != nil || len(p) != 8 {
		t.Fatalf("Parse of padded packet = %d-byte payload, %v; want 8, nil", len(p), err)
	}
}

// TestEncodeErrors: every value Encode refuses, and the field it names.
func TestEncodeErrors(t *testing.T) {
	base := goldenOptionsHeader
	for _, tc := range []struct {
		name, field string
		mod         func(h *Header)
		payload     int
	}{
		{"zero source", "source", func(h *Header) { h.Src = netip.Addr{} }, 0},
		{"IPv6 destination", "destination", func(h *Header) { h.Dst = netip.MustParseAddr("::1") }, 0},
		{"3 option bytes", "option bytes", func(h *Header) { h.Options = []byte{1, 1, 1} }, 0},
		{"44 option bytes", "option bytes", func(h *Header) { h.Options = make([]byte, 44) }, 0},
		{"DSCP 64", "DSCP 64", func(h *Header) { h.DSCP = 64 }, 0},
		{"ECN 4", "ECN 4", func(h *Header) { h.ECN = 4 }, 0},
		{"Flags 8", "Flags 0x8", func(h *Header) { h.Flags = 8 }, 0},
		{"FragOffset 8192", "FragOffset 8192", func(h *Header) { h.FragOffset = 8192 }, 0},
		{"Raw IHL 16", "IHL 16", func(h *Header) { h.Raw, h.IHL = true, 16 }, 0},
		{"payload too long", "total length 65536", func(h *Header) {}, 65536 - 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := base
			tc.mod(&h)
			dst := []byte{0xee}
			out, err := h.Encode(dst, tc.payload)
			if !errors.Is(err, ErrEncode) {
				t.Fatalf("Encode error = %v, want ErrEncode", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %q", err, tc.field)
			}
			if !bytes.Equal(out, dst) {
				t.Errorf("dst changed on error: % x", out)
			}
		})
	}
}

// TestRawEncode builds malformed headers on purpose and checks that Parse
// rejects them for the right reason.
func TestRawEncode(t *testing.T) {
	h := goldenOptionsHeader
	h.Raw = true
	h.IHL = 4
	b, err := h.Encode(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0x44 || len(b) != h.Len() || h.Len() != 24 {
		t.Fatalf("Raw IHL 4 gave first byte %#x, %d bytes, Len %d", b[0], len(b), h.Len())
	}
	if _, _, err := Parse(b); !errors.Is(err, ErrHeaderLen) {
		t.Fatalf("Parse = %v, want ErrHeaderLen", err)
	}
	h.IHL, h.Checksum, h.TotalLen = 6, 0xdead, 24
	b, _ = h.Encode(nil, 0)
	if _, _, err := Parse(b); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Parse = %v, want ErrChecksum", err)
	}
	h.Checksum, h.TotalLen = 0, 9999
	b, _ = h.Encode(nil, 0)
	if _, _, err := Parse(b); !errors.Is(err, ErrTotalLen) {
		t.Fatalf("Parse = %v, want ErrTotalLen", err)
	}
}

// randHeader returns a header with every field drawn at random within its
// range, options included (IPv4 options are kept raw, so any bytes do).
func randHeader(rng *rand.Rand) Header {
	h := Header{
		DSCP: uint8(rng.IntN(64)), ECN: uint8(rng.IntN(4)), ID: uint16(rng.Uint32()),
		Flags: uint8(rng.IntN(8)), FragOffset: uint16(rng.IntN(8192)), TTL: uint8(rng.Uint32()),
		Protocol: uint8(rng.Uint32()),
		Src:      netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}),
		Dst:      netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())}),
	}
	if n := 4 * rng.IntN(11); n > 0 {
		h.Options = make([]byte, n)
		for i := range h.Options {
			h.Options[i] = byte(rng.Uint32())
		}
	}
	return h
}

// TestRoundTrip: Parse(Encode(x)) == x for random headers over many seeds,
// once the computed fields (IHL, TotalLen, Checksum) are filled in.
func TestRoundTrip(t *testing.T) {
	seeds := 2000
	if testing.Short() {
		seeds = 200
	}
	buf := make([]byte, 0, 2000)
	for seed := 0; seed < seeds; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 99))
		x := randHeader(rng)
		payload := make([]byte, rng.IntN(1500))
		for i := range payload {
			payload[i] = byte(rng.Uint32())
		}
		b, err := x.Encode(buf[:0], len(payload))
		if err != nil {
			t.Fatalf("seed %d: Encode: %v", seed, err)
		}
		b = append(b, payload...)
		got, gotPayload, err := Parse(b)
		if err != nil {
			t.Fatalf("seed %d: Parse: %v", seed, err)
		}
		want := x
		want.IHL = uint8(5 + len(x.Options)/4)
		want.TotalLen = uint16(len(b))
		want.Checksum = View(b).Checksum()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d:\n got %+v\nwant %+v", seed, got, want)
		}
		if !bytes.Equal(gotPayload, payload) {
			t.Fatalf("seed %d: payload differs", seed)
		}
		if Checksum(b[:x.Len()], 0) != 0 {
			t.Fatalf("seed %d: encoded header does not verify", seed)
		}
	}
}

// TestDecTTL compares the incremental update of RFC 1624 with a full
// recomputation, for every TTL of many random headers.
func TestDecTTL(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		h := randHeader(rng)
		h.TTL = 255
		b, err := h.Encode(nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		v := View(b)
		for want := 254; want >= 0; want-- {
			if got := v.DecTTL(); int(got) != want || int(v.TTL()) != want {
				t.Fatalf("seed %d: DecTTL returned %d, TTL %d; want %d", seed, got, v.TTL(), want)
			}
			inc := v.Checksum()
			v.SetChecksum(0)
			full := Checksum(v[:v.HeaderLen()], 0)
			if inc != full {
				t.Fatalf("seed %d ttl %d: incremental checksum %#04x, recomputed %#04x", seed, want, inc, full)
			}
			v.SetChecksum(inc)
			if err := v.Check(true); err != nil {
				t.Fatalf("seed %d ttl %d: %v", seed, want, err)
			}
		}
		// At zero it stays zero and the checksum stays right.
		if got := v.DecTTL(); got != 0 || v.TTL() != 0 || v.Check(true) != nil {
			t.Fatalf("seed %d: DecTTL at 0 gave %d, TTL %d, check %v", seed, got, v.TTL(), v.Check(true))
		}
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		h    Header
		want string
	}{
		{goldenPlainHeader, "IP 192.168.0.1 > 192.168.0.199: proto 17, ttl 64, id 0, DF, length 115"},
		{goldenOptionsHeader, "IP 10.0.0.1 > 10.0.0.2: proto 6, ttl 1, id 43981, MF, offset 1480, length 32"},
		{Header{Flags: 4, Src: netip.MustParseAddr("1.2.3.4"), Dst: netip.MustParseAddr("5.6.7.8"), TotalLen: 20},
			"IP 1.2.3.4 > 5.6.7.8: proto 0, ttl 0, id 0, rsvd, length 20"},
	} {
		if got := tc.h.String(); got != tc.want {
			t.Errorf("String()\n got %q\nwant %q", got, tc.want)
		}
	}
	// The zero value prints without panicking.
	_ = Header{}.String()
}
