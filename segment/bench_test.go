package segment

import (
	"testing"

	"github.com/tcpsim/tcpsim/ippacket"
)

// benchPacket is a full 1500-byte IPv4+TCP data packet: 20 bytes of IPv4,
// 20 of TCP, 12 of timestamps, 1448 of payload (what Linux sends at MTU
// 1500 with timestamps on).
func benchPacket() Packet {
	payload := make([]byte, 1448)
	for i := range payload {
		payload[i] = byte(i)
	}
	return Packet{
		IP: ippacket.Header{TTL: 64, Flags: ippacket.FlagDF, ID: 1, Src: addrA, Dst: addrB},
		TCP: Header{
			SrcPort: 49152, DstPort: 80, Seq: 1, Ack: 1, Flags: FlagACK | FlagPSH, Window: 502,
			Options: Options{HasTimestamps: true, TSVal: 100, TSEcr: 200},
		},
		Payload: payload,
	}
}

// BenchmarkParse decodes a 1500-byte packet into a reused Packet with both
// checksums verified. It must not allocate.
func BenchmarkParse(b *testing.B) {
	p := benchPacket()
	wire, err := p.Encode(make([]byte, 0, 1500))
	if err != nil || len(wire) != 1500 {
		b.Fatalf("%d bytes, %v", len(wire), err)
	}
	var q Packet
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Decode(wire, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode encodes a 1500-byte packet, both checksums computed, into
// a reused buffer. It must not allocate.
func BenchmarkEncode(b *testing.B) {
	p := benchPacket()
	buf := make([]byte, 0, 1500)
	b.SetBytes(1500)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Encode(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendString formats a packet's tcpdump line into a reused
// buffer.
func BenchmarkAppendString(b *testing.B) {
	p := benchPacket()
	p.TCP.Options.SACKPermitted = true
	p.TCP.Options.HasMSS, p.TCP.Options.MSS = true, 1460
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = p.AppendString(buf[:0])
	}
}

// TestNoAllocs states the zero-allocation guarantee as a test, so that a
// regression fails `go test` and not only a benchmark someone must read.
func TestNoAllocs(t *testing.T) {
	p := benchPacket()
	buf := make([]byte, 0, 1500)
	wire, _ := p.Encode(make([]byte, 0, 1500))
	var q Packet
	if n := testing.AllocsPerRun(100, func() { _, _ = p.Encode(buf[:0]) }); n != 0 {
		t.Errorf("Encode: %v allocs per run", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = q.Decode(wire, true) }); n != 0 {
		t.Errorf("Decode: %v allocs per run", n)
	}
	line := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { line = p.AppendString(line[:0]) }); n != 0 {
		t.Errorf("AppendString: %v allocs per run", n)
	}
}
