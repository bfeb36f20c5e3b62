package segment

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"

	"github.com/tcpsim/tcpsim/ippacket"
)

var (
	addrA = netip.MustParseAddr("10.0.0.1")
	addrB = netip.MustParseAddr("10.0.0.2")
)

// goldenSYN is a client's SYN as Linux sends it, IPv4 header included, laid
// out field by field as in RFC 791 §3.1 and RFC 9293 §3.1, with the options
// of RFC 9293 §3.2 (MSS), RFC 2018 §2 (SACK-permitted) and RFC 7323 §2.2,
// §3.2 (window scale, timestamps).
//
// IPv4 checksum by hand: 4500 003c 0000 4000 4006 0a00 0001 0a00 0002 sum to
// d945; complement 26ba.
// TCP checksum by hand: the pseudo-header 0a00 0001 0a00 0002 0006 0028 sums
// to 1431; the segment's words (checksum field zero) c000 0050 0000 03e8 0000
// 0000 a002 ffff 0000 0000 0204 05b4 0402 080a 0000 0001 0000 0000 0103 0307
// sum to 7c0a; together 903b, complement 6fc4.
var goldenSYN = []byte{
	// IPv4 header
	0x45, 0x00, // version 4, IHL 5 | DSCP 0, ECN 0
	0x00, 0x3c, // total length 60
	0x00, 0x00, // identification 0
	0x40, 0x00, // flags DF | fragment offset 0
	0x40, 0x06, // TTL 64 | protocol 6 (TCP)
	0x26, 0xba, // header checksum
	10, 0, 0, 1, // source 10.0.0.1
	10, 0, 0, 2, // destination 10.0.0.2
	// TCP header
	0xc0, 0x00, // source port 49152
	0x00, 0x50, // destination port 80
	0x00, 0x00, 0x03, 0xe8, // sequence number 1000
	0x00, 0x00, 0x00, 0x00, // acknowledgment number 0
	0xa0,       // data offset 10 words (40 bytes) | reserved 0
	0x02,       // control bits: SYN
	0xff, 0xff, // window 65535
	0x6f, 0xc4, // checksum
	0x00, 0x00, // urgent pointer 0
	0x02, 0x04, 0x05, 0xb4, // MSS: kind 2, length 4, 1460
	0x04, 0x02, // SACK-permitted: kind 4, length 2
	0x08, 0x0a, // timestamps: kind 8, length 10,
	0x00, 0x00, 0x00, 0x01, // TSval 1
	0x00, 0x00, 0x00, 0x00, // TSecr 0
	0x01,             // NOP
	0x03, 0x03, 0x07, // window scale: kind 3, length 3, shift 7
}

var goldenSYNPacket = Packet{
	IP: ippacket.Header{
		IHL: 5, TotalLen: 60, Flags: ippacket.FlagDF, TTL: 64, Protocol: ippacket.ProtocolTCP,
		Checksum: 0x26ba, Src: addrA, Dst: addrB,
	},
	TCP: Header{
		SrcPort: 49152, DstPort: 80, Seq: 1000, DataOffset: 10, Flags: FlagSYN, Window: 65535,
		Checksum: 0x6fc4,
		Options: Options{
			HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 1,
			HasWindowScale: true, WindowScale: 7,
		},
	},
	Payload: []byte{}, // an empty slice of the parsed buffer
}

// goldenData is a data segment without options: PSH|ACK with 4 bytes of
// payload, urgent pointer and reserved bits exercised.
var goldenData = []byte{
	0x30, 0x39, // source port 12345
	0x01, 0xbb, // destination port 443
	0xff, 0xff, 0xff, 0xfe, // sequence number 4294967294 (wraps within the payload)
	0x12, 0x34, 0x56, 0x78, // acknowledgment number 0x12345678
	0x51,       // data offset 5 | reserved 0001 (the AE bit of RFC 9768, ex-NS)
	0x38,       // control bits: URG ACK PSH
	0x01, 0xf6, // window 502
	0x00, 0x00, // checksum: filled in by the test from the pseudo-header
	0x00, 0x03, // urgent pointer 3
	'd', 'a', 't', 'a', // payload
}

func TestGoldenSYN(t *testing.T) {
	p, err := ParsePacket(goldenSYN)
	if err != nil {
		t.Fatalf("ParsePacket: %v", err)
	}
	if !reflect.DeepEqual(p, goldenSYNPacket) {
		t.Errorf("ParsePacket\n got %+v\nwant %+v", p, goldenSYNPacket)
	}
	in := goldenSYNPacket
	in.IP.IHL, in.IP.TotalLen, in.IP.Checksum, in.IP.Protocol = 0, 0, 0, 0
	in.TCP.DataOffset, in.TCP.Checksum = 0, 0
	got, err := in.Encode(nil)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if !bytes.Equal(got, goldenSYN) {
		t.Errorf("Encode\n got % x\nwant % x", got, goldenSYN)
	}
	if in.IP.Protocol != 0 || in.Len() != 60 {
		t.Errorf("Encode modified its packet (protocol %d) or Len %d != 60", in.IP.Protocol, in.Len())
	}
	const want = "10.0.0.1.49152 > 10.0.0.2.80: Flags [S], seq 1000, win 65535, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"
	if s := p.String(); s != want {
		t.Errorf("String\n got %s\nwant %s", s, want)
	}
}

func TestGoldenData(t *testing.T) {
	wire := append([]byte(nil), goldenData...)
	cs := Checksum(addrB, addrA, wire)
	wire[16], wire[17] = byte(cs>>8), byte(cs)
	if !VerifyChecksum(addrB, addrA, wire) || VerifyChecksum(addrA, netip.MustParseAddr("10.0.0.3"), wire) {
		t.Fatal("VerifyChecksum does not depend on the pseudo-header as it should")
	}
	h, payload, err := Parse(wire)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{
		SrcPort: 12345, DstPort: 443, Seq: 0xfffffffe, Ack: 0x12345678, DataOffset: 5, Reserved: 1,
		Flags: FlagURG | FlagACK | FlagPSH, Window: 502, Checksum: cs, Urgent: 3,
	}
	if !reflect.DeepEqual(h, want) || string(payload) != "data" {
		t.Errorf("Parse\n got %+v %q\nwant %+v \"data\"", h, payload, want)
	}
	got, err := want.Encode(nil, addrB, addrA, []byte("data"))
	if err != nil || !bytes.Equal(got, wire) {
		t.Errorf("Encode = % x, %v\nwant % x", got, err, wire)
	}
	const line = "Flags [P.U], seq 4294967294:2, ack 305419896, win 502, urg 3, length 4"
	if s := string(h.AppendString(nil, len(payload))); s != line {
		t.Errorf("AppendString\n got %s\nwant %s", s, line)
	}
}

// TestGoldenOptions gives the exact bytes each option encodes to (our
// layout: Linux's, with NOPs aligning 32-bit fields), that those bytes
// parse back to the same options, and how tcpdump would print them.
func TestGoldenOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		wire  []byte
		print string
	}{
		{"none", Options{}, nil, ""},
		{"MSS (RFC 9293 §3.2)", Options{HasMSS: true, MSS: 1460},
			[]byte{
				0x02, 0x04, 0x05, 0xb4, // kind 2, length 4, MSS 1460
			}, "mss 1460"},
		{"window scale (RFC 7323 §2.2)", Options{HasWindowScale: true, WindowScale: 14},
			[]byte{
				0x01,             // NOP
				0x03, 0x03, 0x0e, // kind 3, length 3, shift 14
			}, "nop,wscale 14"},
		{"SACK-permitted (RFC 2018 §2)", Options{SACKPermitted: true},
			[]byte{
				0x01, 0x01, // NOP NOP
				0x04, 0x02, // kind 4, length 2
			}, "nop,nop,sackOK"},
		{"timestamps (RFC 7323 §3.2)", Options{HasTimestamps: true, TSVal: 0x01020304, TSEcr: 0xa0b0c0d0},
			[]byte{
				0x01, 0x01, // NOP NOP
				0x08, 0x0a, // kind 8, length 10
				0x01, 0x02, 0x03, 0x04, // TSval 16909060
				0xa0, 0xb0, 0xc0, 0xd0, // TSecr 2695938256
			}, "nop,nop,TS val 16909060 ecr 2695938256"},
		{"SACK-permitted with timestamps", Options{SACKPermitted: true, HasTimestamps: true, TSVal: 5, TSEcr: 6},
			[]byte{
				0x04, 0x02, // SACK-permitted in place of the two NOPs
				0x08, 0x0a, 0, 0, 0, 5, 0, 0, 0, 6, // timestamps 5, 6
			}, "sackOK,TS val 5 ecr 6"},
		{"one SACK block (RFC 2018 §3)", Options{NumSACK: 1, SACK: [4]SACKBlock{{1000, 2000}}},
			[]byte{
				0x01, 0x01, // NOP NOP
				0x05, 0x0a, // kind 5, length 2+8
				0x00, 0x00, 0x03, 0xe8, // left edge 1000
				0x00, 0x00, 0x07, 0xd0, // right edge 2000
			}, "nop,nop,sack 1 {1000:2000}"},
		{"four SACK blocks", Options{NumSACK: 4, SACK: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {0xfffffff0, 0x10}}},
			[]byte{
				0x01, 0x01, // NOP NOP
				0x05, 0x22, // kind 5, length 2+4*8 = 34
				0, 0, 0, 1, 0, 0, 0, 2, // {1:2}
				0, 0, 0, 3, 0, 0, 0, 4, // {3:4}
				0, 0, 0, 5, 0, 0, 0, 6, // {5:6}
				0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10, // a block across the wrap
			}, "nop,nop,sack 4 {1:2}{3:4}{5:6}{4294967280:16}"},
		{"timestamps with SACK blocks (an ACK)", Options{HasTimestamps: true, TSVal: 9, TSEcr: 8, NumSACK: 1, SACK: [4]SACKBlock{{1, 2}}},
			[]byte{
				0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 9, 0, 0, 0, 8, // NOP NOP timestamps 9, 8
				0x01, 0x01, 0x05, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2, // NOP NOP SACK {1:2}
			}, "nop,nop,TS val 9 ecr 8,nop,nop,sack 1 {1:2}"},
		{"timestamps with three SACK blocks: all 40 bytes, as an ACK of ours with timestamps on",
			Options{HasTimestamps: true, TSVal: 0xfffffffe, TSEcr: 1, NumSACK: 3, SACK: [4]SACKBlock{{1, 2}, {3, 4}, {0xfffffff0, 0x10}}},
			[]byte{
				0x01, 0x01, 0x08, 0x0a, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 1, // NOP NOP timestamps 4294967294, 1
				0x01, 0x01, 0x05, 0x1a, // NOP NOP SACK, length 2+3*8 = 26
				0, 0, 0, 1, 0, 0, 0, 2, // {1:2}
				0, 0, 0, 3, 0, 0, 0, 4, // {3:4}
				0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 0x10, // a block across the wrap
			}, "nop,nop,TS val 4294967294 ecr 1,nop,nop,sack 3 {1:2}{3:4}{4294967280:16}"},
		{"unknown option kept verbatim", Options{Unknown: []byte{0xfd, 0x04, 0xab, 0xcd}},
			[]byte{
				0xfd, 0x04, 0xab, 0xcd, // kind 253 (RFC 6994 experiment), length 4, data abcd
			}, "unknown-253 0xabcd"},
		{"unknown option padded with EOL", Options{HasMSS: true, MSS: 536, Unknown: []byte{0xfe, 0x03, 0x42}},
			[]byte{
				0x02, 0x04, 0x02, 0x18, // MSS 536
				0xfe, 0x03, 0x42, // kind 254, length 3, data 42
				0x00, // EOL pads to a 32-bit boundary (RFC 9293 §3.1)
			}, "mss 536,unknown-254 0x42,eol"},
		{"too long for Linux's layout: packed without NOPs", Options{
			HasMSS: true, MSS: 1460, SACKPermitted: true, HasTimestamps: true, TSVal: 1, TSEcr: 2,
			HasWindowScale: true, WindowScale: 7,
			Unknown: []byte{0xfe, 21, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19},
		},
			[]byte{
				0x02, 0x04, 0x05, 0xb4, // MSS 1460
				0x04, 0x02, // SACK-permitted
				0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2, // timestamps 1, 2
				0x03, 0x03, 0x07, // window scale 7
				0xfe, 21, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, // kind 254, 21 bytes
			}, "mss 1460,sackOK,TS val 1 ecr 2,wscale 7,unknown-254 0x0102030405060708090a0b0c0d0e0f10111213"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			if got := o.encode(nil); !bytes.Equal(got, tc.wire) {
				t.Errorf("encode\n got % x\nwant % x", got, tc.wire)
			}
			if o.Len() != len(tc.wire) {
				t.Errorf("Len = %d, want %d", o.Len(), len(tc.wire))
			}
			var back Options
			if err := back.parse(tc.wire); err != nil {
				t.Fatalf("parse: %v", err)
			}
			if len(back.Unknown) == 0 {
				back.Unknown = o.Unknown[:0:0]
				if o.Unknown == nil {
					back.Unknown = nil
				}
			}
			if !reflect.DeepEqual(back, o) {
				t.Errorf("parse\n got %+v\nwant %+v", back, o)
			}
			if s := string(o.appendString(nil)); s != tc.print {
				t.Errorf("appendString\n got %s\nwant %s", s, tc.print)
			}
			// The same options inside a whole header: data offset and
			// placement.
			h := Header{SrcPort: 1, DstPort: 2, Options: o}
			b, err := h.Encode(nil, addrA, addrB, nil)
			if err != nil {
				t.Fatal(err)
			}
			if int(b[12]>>4)*4 != 20+len(tc.wire) || !bytes.Equal(b[20:], tc.wire) {
				t.Errorf("in a header: data offset %d, options % x", b[12]>>4, b[20:])
			}
		})
	}
}

// TestParseOptionLayouts parses layouts other stacks send (their orders,
// their padding) and the rules that apply on receipt.
func TestParseOptionLayouts(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire []byte
		want Options
	}{
		{"BSD-style SYN: MSS, NOP WS, NOP NOP TS, SACK-permitted, EOL EOL",
			[]byte{
				0x02, 0x04, 0x05, 0xb4, // MSS 1460
				0x01, 0x03, 0x03, 0x06, // NOP, window scale 6
				0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 7, 0, 0, 0, 0, // NOP NOP, timestamps 7, 0
				0x04, 0x02, // SACK-permitted
				0x00, 0x00, // EOL, padding
			},
			Options{HasMSS: true, MSS: 1460, HasWindowScale: true, WindowScale: 6, HasTimestamps: true, TSVal: 7, SACKPermitted: true}},
		{"window scale 15 is taken as 14 (RFC 7323 §2.3)",
			[]byte{0x03, 0x03, 0x0f, 0x00},
			Options{HasWindowScale: true, WindowScale: 14}},
		{"window scale 255 is taken as 14",
			[]byte{0x03, 0x03, 0xff, 0x00},
			Options{HasWindowScale: true, WindowScale: 14}},
		{"bytes after EOL are ignored, even malformed ones",
			[]byte{0x02, 0x04, 0x01, 0x00, 0x00, 0x05, 0x01, 0xff},
			Options{HasMSS: true, MSS: 256}},
		{"only NOPs", []byte{1, 1, 1, 1}, Options{}},
		{"a repeated option: the last one counts",
			[]byte{0x02, 0x04, 0x00, 0x01, 0x02, 0x04, 0x00, 0x02},
			Options{HasMSS: true, MSS: 2}},
		{"a second SACK option replaces the first, blocks and all",
			[]byte{
				0x05, 0x1a, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, // 3 blocks
				0x05, 0x0a, 0, 0, 0, 7, 0, 0, 0, 8, // 1 block
			},
			Options{NumSACK: 1, SACK: [4]SACKBlock{{7, 8}}}},
		{"unknown options apart are gathered in wire order",
			[]byte{0x1e, 0x03, 0xaa, 0x02, 0x04, 0x00, 0x09, 0x22, 0x02, 0x01, 0x01, 0x01, 0x00},
			Options{HasMSS: true, MSS: 9, Unknown: []byte{0x1e, 0x03, 0xaa, 0x22, 0x02}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o Options
			if err := o.parse(tc.wire); err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !reflect.DeepEqual(o, tc.want) {
				t.Errorf("parse\n got %+v\nwant %+v", o, tc.want)
			}
		})
	}
}

// TestPacketString covers the shapes of tcpdump's line: which fields appear
// for which flags.
func TestPacketString(t *testing.T) {
	p := func(f Flags, seq, ack Seq, payload int, o Options) Packet {
		return Packet{
			IP:      ippacket.Header{Src: addrA, Dst: addrB},
			TCP:     Header{SrcPort: 80, DstPort: 49152, Seq: seq, Ack: ack, Flags: f, Window: 502, Options: o},
			Payload: make([]byte, payload),
		}
	}
	ts := Options{HasTimestamps: true, TSVal: 10, TSEcr: 20}
	for _, tc := range []struct {
		p    Packet
		want string
	}{
		{p(FlagSYN|FlagACK, 5000, 1001, 0, Options{HasMSS: true, MSS: 1460}),
			"10.0.0.1.80 > 10.0.0.2.49152: Flags [S.], seq 5000, ack 1001, win 502, options [mss 1460], length 0"},
		{p(FlagACK, 5001, 1001, 0, ts),
			"10.0.0.1.80 > 10.0.0.2.49152: Flags [.], ack 1001, win 502, options [nop,nop,TS val 10 ecr 20], length 0"},
		{p(FlagPSH|FlagACK, 5001, 1001, 100, Options{}),
			"10.0.0.1.80 > 10.0.0.2.49152: Flags [P.], seq 5001:5101, ack 1001, win 502, length 100"},
		{p(FlagFIN|FlagACK, 5101, 1001, 0, Options{}),
			"10.0.0.1.80 > 10.0.0.2.49152: Flags [F.], seq 5101, ack 1001, win 502, length 0"},
		{p(FlagFIN|FlagPSH|FlagACK, 0xfffffffe, 1, 4, Options{}),
			"10.0.0.1.80 > 10.0.0.2.49152: Flags [FP.], seq 4294967294:2, ack 1, win 502, length 4"},
		{p(FlagRST, 5101, 0, 0, Options{}),
			"10.0.0.1.80 > 10.0.0.2.49152: Flags [R], seq 5101, win 502, length 0"},
		{p(FlagRST|FlagACK, 0, 1001, 0, Options{}),
			"10.0.0.1.80 > 10.0.0.2.49152: Flags [R.], seq 0, ack 1001, win 502, length 0"},
		{p(0, 7, 0, 0, Options{}),
			"10.0.0.1.80 > 10.0.0.2.49152: Flags [none], win 502, length 0"},
		{p(FlagACK, 1, 1, 0, Options{NumSACK: 9}), // a bad count prints clamped, no panic
			"10.0.0.1.80 > 10.0.0.2.49152: Flags [.], ack 1, win 502, options [nop,nop,sack 4 {0:0}{0:0}{0:0}{0:0}], length 0"},
		{p(FlagACK, 1, 1, 0, Options{Unknown: []byte{0xfd, 9}}), // malformed unknown option
			"10.0.0.1.80 > 10.0.0.2.49152: Flags [.], ack 1, win 502, options [bad opt], length 0"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("String\n got %s\nwant %s", got, tc.want)
		}
	}
	_ = Packet{}.String() // the zero value prints without panicking
}
