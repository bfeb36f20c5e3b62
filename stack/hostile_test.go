package stack

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// feedHostile interprets b as a program against an established
// connection: either raw bytes delivered as a packet, or a series of
// valid-looking segments on the connection's 4-tuple (checksums right,
// fields from b), with time advancing between them.
func feedHostile(s *script, b []byte) {
	if len(b) == 0 {
		return
	}
	mode, b := b[0], b[1:]
	if mode&1 == 0 {
		s.h.Deliver(0, b)
		if mode&2 != 0 && len(b) > 0 {
			s.h.Deliver(-1, b)
			s.h.Deliver(5, b)
		}
		return
	}
	for len(b) >= 12 {
		g := seg{
			flags: segment.Flags(b[0]),
			seq:   binary.BigEndian.Uint32(b[1:5]),
			ack:   uint32(binary.BigEndian.Uint16(b[5:7])) - 0x100,
			win:   binary.BigEndian.Uint16(b[7:9]),
		}
		n := int(b[9]) * 8
		if b[10]&1 != 0 {
			g.seq = s.c.Info().RcvNxt.Sub(segment.Seq(s.peerISN)) + uint32(b[10]>>1)*100
		}
		if b[10]&2 != 0 {
			g.mss = uint16(b[11])
		}
		g.data = data(n)
		if b[10]&8 != 0 {
			// random SACK blocks around the send window
			s.sack = [][2]uint32{{uint32(b[5]) * 300, uint32(b[5])*300 + uint32(b[6])*50}, {uint32(b[11]) * 1000, uint32(b[8]) * 1000}}
		}
		s.inject(g)
		s.sack = nil
		s.advance(time.Duration(b[11]) * time.Millisecond)
		if s.c.State() != StateClosed {
			s.c.Read(make([]byte, 512))
			if b[10]&4 != 0 {
				s.c.Write(data(int(b[11]) * 10))
			}
		}
		b = b[12:]
	}
	s.advance(time.Minute)
}

func checkBounded(t *testing.T, s *script) {
	t.Helper()
	c := s.c
	if c.rcvBuf.n > c.rcvBuf.limit || len(c.rcvBuf.buf) > c.rcvBuf.limit || c.reasm.bytes > c.rcvBuf.limit ||
		len(c.reasm.blocks) > maxReasmBlocks || len(c.sacked.blocks) > maxReasmBlocks || c.sndBuf.n > c.sndBuf.limit || len(s.h.timers) > 64 {
		t.Fatalf("unbounded state: rcv %d/%d buf %d, reasm %d bytes %d blocks, timers %d",
			c.rcvBuf.n, c.rcvBuf.limit, len(c.rcvBuf.buf), c.reasm.bytes, len(c.reasm.blocks), len(s.h.timers))
	}
}

// FuzzDeliver feeds a host with an established connection random packets
// and random valid-looking segments. It must never panic, never send a
// malformed packet (the capture link parses every one), and keep its
// memory bounded.
func FuzzDeliver(f *testing.F) {
	f.Add([]byte{0, 0x45, 0, 0, 20})
	f.Add([]byte{1, byte(A), 0, 0, 0, 1, 0x01, 0x01, 0xff, 0xff, 4, 0, 10})
	f.Add([]byte{1, byte(PA), 0, 0, 0, 1, 0x01, 0x01, 0, 0, 4, 1, 1, byte(R), 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0})
	f.Add([]byte{1, byte(S), 0, 0, 9, 1, 0, 0, 0, 0, 0, 2, 0})
	f.Add([]byte{1, byte(FA), 0, 0, 0, 1, 0x01, 0x01, 1, 0, 0, 5, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s *script
		if len(b) > 0 && b[len(b)-1]&0x80 != 0 {
			s = sackScript(t)
			s.c.Write(data(20000))
		} else {
			s = newScript(t, scriptCfg())
			s.passiveOpen()
		}
		feedHostile(s, b)
		checkBounded(t, s)
	})
}

// TestHostileRandom runs the fuzz target's body on seeded random programs
// in the default test run.
func TestHostileRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for i := range 300 {
		b := make([]byte, 1+r.IntN(400))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if i%3 == 0 {
			// a mutated valid packet
			s := newScript(t, scriptCfg())
			s.passiveOpen()
			s.c.Write(data(100))
			if len(s.out) > 0 {
				pkt, _ := s.out[len(s.out)-1].pkt.Encode(nil)
				for range 1 + r.IntN(4) {
					pkt[r.IntN(len(pkt))] ^= byte(1 + r.IntN(255))
				}
				s.h.Deliver(0, pkt)
			}
			checkBounded(t, s)
			continue
		}
		var s *script
		if i%2 == 0 {
			s = sackScript(t)
			s.c.Write(data(20000)) // give SACK blocks something to refer to
		} else {
			s = newScript(t, scriptCfg())
			s.passiveOpen()
		}
		feedHostile(s, b)
		checkBounded(t, s)
	}
}

// TestOutOfOrderFlood: thousands of one-byte segments with holes between
// them, inside and outside the window. Held data stays within the receive
// buffer and the gap list within its bound; extra segments are counted as
// dropped; the connection still works afterwards.
func TestOutOfOrderFlood(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	for i := range 40000 {
		s.inject(seg{flags: A, seq: uint32(3 + 2*i), ack: 1, win: 65535, data: []byte{'x'}})
	}
	checkBounded(t, s)
	i := s.c.Info()
	if i.OutOfOrderBlocks != maxReasmBlocks || s.h.Counters().TCPReassemblyDrops == 0 || s.h.Counters().TCPOutOfWindow == 0 {
		t.Fatalf("info %+v counters %+v", i, s.h.Counters())
	}
	s.out = nil
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(2)})
	if got := s.c.Readable(); got != 3 {
		t.Fatalf("readable %d after filling the first gap", got)
	}
}
