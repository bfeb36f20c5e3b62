package main

import (
	"bytes"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
)

// With a terminal the progress line is drawn and cleared; without one
// (every test, every pipe) progress hooks nothing. It counts payload the
// receiver acknowledged, not bytes on the wire.
func TestProgress(t *testing.T) {
	an := newAnalyzer(nil)
	if newProgress(nil, 100).hook(an) != nil {
		t.Error("progress without a terminal installs a hook")
	}
	if progressWriter(&bytes.Buffer{}) != nil {
		t.Error("a bytes.Buffer is treated as a terminal")
	}
	// One flow: 3000 bytes sent after a SYN at sequence number 1000, the
	// first 1500 acknowledged.
	pkt := func(from, to string, fl segment.Flags, seq, ack uint32, n int) []byte {
		p := segment.Packet{
			IP:      ippacket.Header{TTL: 64, Src: netip.MustParseAddr(from), Dst: netip.MustParseAddr(to)},
			TCP:     segment.Header{SrcPort: 50000, DstPort: 80, Seq: segment.Seq(seq), Ack: segment.Seq(ack), Flags: fl, Window: 1000},
			Payload: make([]byte, n),
		}
		if from != "10.0.0.1" {
			p.TCP.SrcPort, p.TCP.DstPort = 80, 50000
		}
		b, err := p.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	feed := func(v sim.Verdict, b []byte) { an.event(&sim.Event{Verdict: v, Node: "client", Data: b, Len: len(b)}) }
	feed(sim.Sent, pkt("10.0.0.1", "10.0.0.2", segment.FlagSYN, 1000, 0, 0))
	feed(sim.Sent, pkt("10.0.0.1", "10.0.0.2", segment.FlagACK, 1001, 1, 3000))
	ack := func(n uint32) {
		feed(sim.Delivered, pkt("10.0.0.2", "10.0.0.1", segment.FlagACK, 1, 1000+1+n, 0))
	}
	ack(1500)

	var b bytes.Buffer
	p := newProgress(&b, 3000)
	h := p.hook(an)
	h(&sim.Event{Verdict: sim.Sent, Len: 1500, Time: 500 * time.Millisecond}) // not a delivery: no redraw
	h(&sim.Event{Verdict: sim.Delivered, Len: 1500, Time: time.Second})
	feed(sim.Sent, pkt("10.0.0.1", "10.0.0.2", segment.FlagACK|segment.FlagFIN, 4001, 1, 0))
	ack(3000 + 1) // the FIN's acknowledgement is not payload
	p.draw(an.acked(), 2*time.Second)
	p.done()
	want := "\r 50.0%  1.50 kB of 3.00 kB acknowledged, 1.000 s of virtual time " +
		"\r100.0%  3.00 kB of 3.00 kB acknowledged, 2.000 s of virtual time \r\033[K"
	if got := b.String(); got != want {
		t.Errorf("progress output\n%q, want\n%q", got, want)
	}
}

// The generated page streams pageLine repeated, in any read sizes, and the
// client's compareWriter finds the first differing byte.
func TestPageStreamAndCompare(t *testing.T) {
	o := defaultOptions()
	o.size = 1000
	p, err := o.pageSource()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := o.page()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat(pageLine, 1000/len(pageLine)+1)[:1000]
	if string(whole) != want {
		t.Fatalf("page differs from pageLine repeated:\n%q", whole)
	}
	r, _ := p.open()
	var got []byte
	buf := make([]byte, 7) // odd read size: crosses line boundaries
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if string(got) != want {
		t.Errorf("7-byte reads give a different page")
	}
	for _, c := range []struct {
		body     string
		mismatch int64
	}{
		{want, -1},
		{want[:500], -1}, // short, but equal as far as it goes (the length is checked apart)
		{want[:123] + "X" + want[124:], 123},
		{want + "extra", 1000},
	} {
		ref, _ := p.open()
		cw := newCompareWriter(ref)
		io.Copy(cw, strings.NewReader(c.body))
		if cw.mismatch != c.mismatch || cw.n != int64(len(c.body)) {
			t.Errorf("compare %d bytes: mismatch at %d, counted %d; want %d, %d", len(c.body), cw.mismatch, cw.n, c.mismatch, len(c.body))
		}
	}
}
