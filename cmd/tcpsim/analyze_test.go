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
