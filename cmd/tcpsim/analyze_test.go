package main

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
)

func testPacket(t *testing.T, flags segment.Flags, seq uint32) []byte {
	t.Helper()
	p := segment.Packet{
		IP:  ippacket.Header{TTL: 64, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
		TCP: segment.Header{SrcPort: 50000, DstPort: 80, Seq: segment.Seq(seq), Flags: flags, Window: 1000},
	}
	b, err := p.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A corrupted packet is counted with its flow even when the flipped bit is
// in an address, and one whose header no longer decodes prints as a
// one-line verdict with its length.
func TestAnalyzerCorruptedHeaders(t *testing.T) {
	var out bytes.Buffer
	a := newAnalyzer(&out)
	syn := testPacket(t, segment.FlagSYN, 100)
	a.event(&sim.Event{Verdict: sim.Sent, Node: "client", Data: syn, Len: len(syn)})

	hitAddr := bytes.Clone(syn)
	hitAddr[19] ^= 0x01 // the last bit of the destination address (10.0.0.2 -> 10.0.0.3)
	a.event(&sim.Event{Verdict: sim.Corrupted, Reason: "corrupt", Bit: 19*8 + 7, Data: hitAddr, Len: len(syn)})

	hitOffset := bytes.Clone(syn)
	hitOffset[32] ^= 0x80 // TCP data offset 5 -> 13 words: longer than the packet
	a.event(&sim.Event{Verdict: sim.Corrupted, Reason: "corrupt", Bit: 32 * 8, Data: hitOffset, Len: len(syn)})

	if len(a.Flows()) != 1 {
		t.Fatalf("%d flows, want 1", len(a.Flows()))
	}
	if got := a.Flows()[0].Dir[0].Corrupted; got != 2 {
		t.Errorf("corrupted count %d, want 2 (both flips belong to the flow)", got)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[1], "link   CORRUPTED (corrupt, bit 159): 10.0.0.1.50000 > 10.0.0.3.80") {
		t.Errorf("corrupted address line %q", lines[1])
	}
	if want := "  0.000000 link   CORRUPTED (corrupt, bit 256): 40 bytes, not decodable as IPv4+TCP"; lines[2] != want {
		t.Errorf("undecodable line\n%q, want\n%q", lines[2], want)
	}
}

// -v numbers each side's bytes from its initial sequence number, as
// tcpdump does (SYNs keep the wire's numbers, SACK blocks are relative
// too); -S prints them as on the wire.
func TestVerboseRelativeSeq(t *testing.T) {
	args := []string{"get", "http://server.example/", "--dns", "off", "--size", "3000", "--loss", "5%", "--seed", "4", "-v"}
	rel := runOK(t, args...)
	abs := runOK(t, append(args, "-S")...)
	for _, want := range []string{"Flags [S], seq 2291908928,", "Flags [S.], seq 2650635173, ack 2291908929,", "Flags [P.], seq 1:80, ack 1,", "sack 1 {1449:2897}"} {
		if !strings.Contains(rel, want) {
			t.Errorf("-v lacks %q", want)
		}
	}
	for _, want := range []string{"Flags [S], seq 2291908928,", "seq 2291908929:2291909008, ack 2650635174,", "sack 1 {2650636622:2650638070}"} {
		if !strings.Contains(abs, want) {
			t.Errorf("-v -S lacks %q", want)
		}
	}
	if strings.Contains(abs, "seq 1:80,") {
		t.Error("-v -S printed a relative sequence number")
	}
}
