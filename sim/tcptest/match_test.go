package tcptest

import (
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

var (
	hostAP = netip.MustParseAddrPort("192.0.2.1:8080")
	peerAP = netip.MustParseAddrPort("192.0.2.2:40000")
)

// synAck is the host's SYN-ACK to a peer whose ISN is 5000; the host's ISN
// is 1000.
func synAck() *segment.Packet {
	return &segment.Packet{
		IP: ippacket.Header{IHL: 5, TTL: 64, ID: 7, Flags: ippacket.FlagDF, Protocol: ippacket.ProtocolTCP,
			Src: hostAP.Addr(), Dst: peerAP.Addr(), TotalLen: 60},
		TCP: segment.Header{SrcPort: 8080, DstPort: 40000, Seq: 1000, Ack: 5001,
			Flags: segment.FlagSYN | segment.FlagACK, Window: 29200,
			Options: segment.Options{HasMSS: true, MSS: 1460, SACKPermitted: true,
				HasTimestamps: true, TSVal: 77, TSEcr: 100, HasWindowScale: true, WindowScale: 7}},
	}
}

func dataSeg() *segment.Packet {
	return &segment.Packet{
		IP: ippacket.Header{IHL: 5, TTL: 64, ID: 9, Protocol: ippacket.ProtocolTCP,
			Src: peerAP.Addr(), Dst: hostAP.Addr()},
		TCP: segment.Header{SrcPort: 40000, DstPort: 8080, Seq: 5001, Ack: 1001,
			Flags: segment.FlagPSH | segment.FlagACK, Window: 502,
			Options: segment.Options{NumSACK: 1, SACK: [4]segment.SACKBlock{{Left: 1101, Right: 1201}}}},
		Payload: []byte("hello"),
	}
}

var isnHost = ISN{Src: 1000, Dst: 5000, SrcKnown: true, DstKnown: true}
var isnPeer = ISN{Src: 5000, Dst: 1000, SrcKnown: true, DstKnown: true}

func TestMatchAccepts(t *testing.T) {
	cases := []struct {
		name string
		p    *segment.Packet
		isn  ISN
		m    *Matcher
	}{
		{"empty matcher matches anything", synAck(), ISN{}, Match()},
		{"flags, relative seq and ack", synAck(), isnHost, Match(Flags(segment.FlagSYN|segment.FlagACK), RelSeq(0), RelAck(1))},
		{"absolute seq and ack", synAck(), ISN{}, Match(Seq(1000), Ack(5001))},
		{"every option exactly", synAck(), ISN{}, Match(ExactOptions(), MSS(1460), SACKPermitted(true), Timestamps(77, 100), WindowScale(7))},
		{"TS ecr alone", synAck(), ISN{}, Match(TSEcr(100))},
		{"TS val alone", synAck(), ISN{}, Match(TSVal(77), HasTimestamps())},
		{"IP fields", synAck(), ISN{}, Match(IPHeaderLen(20), TTL(64), DF(true), IPID(7), TotalLen(60))},
		{"addresses and ports", synAck(), ISN{}, Match(From(hostAP), To(peerAP))},
		{"addresses and ports one by one", synAck(), ISN{}, Match(SrcAddr(hostAP.Addr()), DstAddr(peerAP.Addr()), SrcPort(8080), DstPort(40000))},
		{"window", synAck(), ISN{}, Match(Window(29200), PayloadLen(0))},
		{"payload bytes", dataSeg(), isnPeer, Match(Payload([]byte("hello")), RelSeq(1), RelAck(1), DF(false))},
		{"relative SACK blocks", dataSeg(), isnPeer, Match(RelSACKBlocks(segment.SACKBlock{Left: 101, Right: 201}))},
		{"absolute SACK blocks", dataSeg(), ISN{}, Match(SACKBlocks(segment.SACKBlock{Left: 1101, Right: 1201}), NoMSS(), NoWindowScale(), NoTimestamps(), SACKPermitted(false))},
		{"total length computed when not decoded", dataSeg(), ISN{}, Match(TotalLen(20 + 32 + 5))},
		{"With adds to a copy", dataSeg(), ISN{}, Match(Seq(5001)).With(Ack(1001))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.m.CheckISN(c.p, c.isn); err != nil {
				t.Fatalf("want a match, got:\n%v", err)
			}
		})
	}
}

// TestMatchRejects checks that each constraint can fail, that the failure
// names exactly the differing fields, and (golden files) how it reads.
func TestMatchRejects(t *testing.T) {
	cases := []struct {
		name   string
		p      *segment.Packet
		isn    ISN
		m      *Matcher
		fields []string
	}{
		{"flags", synAck(), isnHost, Match(Flags(segment.FlagSYN)), []string{"flags"}},
		{"seq_ack_win", synAck(), isnHost, Match(Flags(segment.FlagSYN|segment.FlagACK), RelSeq(0), RelAck(2), Window(65535)), []string{"ack", "win"}},
		{"absolute_seq", synAck(), ISN{}, Match(Seq(999)), []string{"seq"}},
		{"relative_without_isn", synAck(), ISN{}, Match(RelSeq(0), RelAck(1)), []string{"seq", "ack"}},
		{"options_exact", synAck(), isnHost, Match(Flags(segment.FlagSYN|segment.FlagACK), ExactOptions(), MSS(536), WindowScale(7)), []string{"mss", "sackOK", "TS"}},
		{"options_absent", dataSeg(), isnPeer, Match(MSS(1460), WindowScale(2), SACKPermitted(true), TSEcr(3)), []string{"mss", "sackOK", "TS", "wscale"}},
		{"options_present_unwanted", synAck(), isnHost, Match(NoMSS(), NoWindowScale(), NoTimestamps(), SACKPermitted(false)), []string{"mss", "sackOK", "TS", "wscale"}},
		{"timestamps", synAck(), isnHost, Match(Timestamps(78, 99)), []string{"TS val", "TS ecr"}},
		{"no_options", synAck(), isnHost, Match(NoOptions()), []string{"mss", "sackOK", "TS", "wscale"}},
		{"sack_blocks", dataSeg(), isnPeer, Match(RelSACKBlocks(segment.SACKBlock{Left: 101, Right: 301})), []string{"sack"}},
		{"sack_none_wanted", dataSeg(), isnPeer, Match(SACKBlocks()), []string{"sack"}},
		{"payload_len", dataSeg(), isnPeer, Match(RelSeq(1), PayloadLen(100)), []string{"length"}},
		{"payload_bytes", dataSeg(), isnPeer, Match(Payload([]byte("help!"))), []string{"payload"}},
		{"ip_fields", synAck(), isnHost, Match(IPHeaderLen(24), TTL(63), DF(false), IPID(8), TotalLen(52)), []string{"ihl", "ttl", "DF", "id", "total length"}},
		{"endpoints", synAck(), isnHost, Match(From(peerAP), To(hostAP)), []string{"src", "sport", "dst", "dport"}},
		{"unknown_option", func() *segment.Packet {
			p := dataSeg()
			p.TCP.Options = segment.Options{Unknown: []byte{30, 4, 0, 0}}
			return p
		}(), isnPeer, Match(ExactOptions()), []string{"options"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.m.CheckISN(c.p, c.isn)
			var mm *Mismatch
			if !errors.As(err, &mm) {
				t.Fatalf("want a *Mismatch, got %v", err)
			}
			var got []string
			for _, d := range mm.Diffs {
				got = append(got, d.Field)
			}
			if strings.Join(got, ",") != strings.Join(c.fields, ",") {
				t.Errorf("differing fields = %v, want %v\n%v", got, c.fields, err)
			}
			golden(t, filepath.Join("testdata", "golden", "match_"+c.name+".txt"), err.Error()+"\n")
		})
	}
}

// golden compares got with the file at path, or rewrites it under -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\n--- want\n%s--- got\n%s", path, want, got)
	}
}

func TestMatcherString(t *testing.T) {
	cases := []struct {
		m    *Matcher
		want string
	}{
		{Match(), "*.* > *.*: Flags [*]"},
		{Match(Flags(segment.FlagSYN), RelSeq(0), Window(65535), ExactOptions(), MSS(1460), SACKPermitted(true), TSEcr(0), WindowScale(7)),
			"*.* > *.*: Flags [S], seq 0, win 65535, options [mss 1460,sackOK,TS val * ecr 0,wscale 7]"},
		{Match(From(hostAP), Flags(segment.FlagPSH|segment.FlagACK), RelSeq(1), PayloadLen(100), RelAck(1), MSS(1)),
			"192.0.2.1.8080 > *.*: Flags [P.], seq 1:101, ack 1, options [mss 1,...], length 100"},
		{Match(TTL(64), DF(true), NoOptions()), "IP (ttl 64, flags [DF]) *.* > *.*: Flags [*], options []"},
		{Match(NoMSS(), SACKBlocks()), "*.* > *.*: Flags [*], options [no mss,no sack,...]"},
	}
	for _, c := range cases {
		if got := c.m.String(); got != c.want {
			t.Errorf("String() =\n %s\nwant\n %s", got, c.want)
		}
	}
}

func TestFormatPacket(t *testing.T) {
	got := FormatPacket(dataSeg(), isnPeer)
	want := "192.0.2.2.40000 > 192.0.2.1.8080: Flags [P.], seq 1:6, ack 1, win 502, options [sack 1 {101:201}], length 5"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got = FormatPacket(synAck(), ISN{})
	want = "192.0.2.1.8080 > 192.0.2.2.40000: Flags [S.], seq 1000, ack 5001, win 29200, options [mss 1460,sackOK,TS val 77 ecr 100,wscale 7], length 0"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
