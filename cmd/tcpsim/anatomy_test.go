package main

import (
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

// -X shows the 20 + 20 + data layout: each header's bytes with its fields
// named, every option, and an HTTP payload's header lines.
func TestAnatomyLayout(t *testing.T) {
	p := segment.Packet{
		IP: ippacket.Header{TTL: 64, ID: 7, Flags: ippacket.FlagDF, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
		TCP: segment.Header{SrcPort: 50000, DstPort: 80, Seq: 1000, Ack: 2000, Flags: segment.FlagACK | segment.FlagPSH, Window: 512,
			Options: segment.Options{HasTimestamps: true, TSVal: 11, TSEcr: 22}},
		Payload: []byte("GET /index.html HTTP/1.1\r\nHost: server.example\r\n\r\n"),
	}
	p.TCP.Options.AddSACK(segment.SACKBlock{Left: 3000, Right: 4000})
	pkt, err := p.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	out := string(appendAnatomy(nil, pkt))
	for _, want := range []string{
		"IPv4 header, 20 bytes\n    0000  45 00 ",
		"version 4 · header length 5 words (20 bytes) · DSCP 0 · ECN 0 (not ECT)",
		"identification 7 · flags DF · fragment offset 0",
		"TTL 64 · protocol 6 (TCP)",
		"source 10.0.0.1 · destination 10.0.0.2",
		"    0014  c3 50 00 50 ", // the TCP header starts at byte 20
		"source port 50000 · destination port 80",
		"sequence number 1000 · acknowledgment number 2000",
		"flags PSH ACK · window 512",
		"timestamps TSval 11 TSecr 22 (10 bytes)",
		"SACK 3000:4000 (10 bytes)",
		"payload, 50 bytes, HTTP",
		"| GET /index.html HTTP/1.1\n",
		"| Host: server.example\n",
		"(blank line: end of the header; 0 bytes of body follow in this segment)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("anatomy lacks %q:\n%s", want, out)
		}
	}
	hdr := "TCP header, " + strconv.Itoa(p.TCP.Len()) + " bytes (20 fixed + " + strconv.Itoa(p.TCP.Len()-20) + " of options)"
	if !strings.Contains(out, hdr) {
		t.Errorf("anatomy lacks %q:\n%s", hdr, out)
	}
	// Short and broken packets are described, never a panic.
	if s := string(appendAnatomy(nil, pkt[:30])); !strings.Contains(s, "cut short") {
		t.Errorf("a packet cut inside the TCP header:\n%s", s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := append([]byte(nil), pkt[:r.IntN(len(pkt)+1)]...)
		for range 3 {
			if len(b) > 0 {
				b[r.IntN(len(b))] = byte(r.Uint32())
			}
		}
		appendAnatomy(nil, b)
	}
}

// get -X prints every sent packet's anatomy under its line, the DNS
// datagrams' included.
func TestGetHexFlag(t *testing.T) {
	out := runOK(t, "get", "http://server.example/", "--size", "300", "-X")
	sent := strings.Count(out, "\n    IPv4 header, 20 bytes\n")
	lines := regexp.MustCompile(`(?m)^ +\d+\.\d{6} (client|server) `).FindAllString(out, -1)
	if sent == 0 || sent != len(lines) {
		t.Errorf("%d anatomies for %d sent packets, want one each", sent, len(lines))
	}
	for _, want := range []string{"| GET / HTTP/1.1", "| HTTP/1.1 200 OK", "MSS 1460 (4 bytes)",
		"protocol 17 (UDP)", "\n    UDP header, 8 bytes\n", "destination port 53\n          length 51 · checksum 0x", "\n    payload, 43 bytes, DNS\n", "\n    payload, 62 bytes, DNS\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("get -X lacks %q", want)
		}
	}
}
