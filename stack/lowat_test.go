package stack

import (
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// TestNotSentLowatWrite: under a not-sent low-water mark a write stops
// adding chunks once the mark's bytes are unsent; it fills the unsent tail
// chunk first, chunks are sizeGoal bytes (half the peer's largest window
// in whole MSS here), and poll-writability needs fewer than half the
// mark unsent. Without the mark the same write fills the send buffer.
func TestNotSentLowatWrite(t *testing.T) {
	for _, lowat := range []int{0, 2000} {
		s := newScript(t, scriptCfg())
		s.passiveOpen()
		c := s.c
		s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 20000}) // the peer's window shrinks to 20000
		if err := c.SetNotSentLowat(lowat); err != nil {
			t.Fatal(err)
		}
		if got := c.sizeGoal(); got != 22*1460 {
			t.Fatalf("sizeGoal %d, want 22 MSS (half of a 65535 window)", got)
		}
		n, err := c.Write(data(100000))
		if err != nil {
			t.Fatal(err)
		}
		i := c.Info()
		if lowat == 0 {
			if n != 64000 || c.NotSentLowat() != 0 {
				t.Fatalf("no mark: Write took %d, want the whole 64000-byte buffer", n)
			}
			continue
		}
		// The first chunk (32120 bytes, 22 MSS) goes out as far as cwnd
		// (14600) allows; its unsent remainder is refilled to a chunk, and
		// with 32120 bytes unsent, at least the mark, no new chunk starts.
		if n != 22*1460+14600 || i.NotSent != 22*1460 {
			t.Fatalf("mark %d: Write took %d with %d unsent, want %d with %d", lowat, n, i.NotSent, 22*1460+14600, 22*1460)
		}
		if c.WriteReady() || c.Writable() != 0 {
			t.Fatalf("WriteReady %v, Writable %d with %d unsent; want false and 0", c.WriteReady(), c.Writable(), i.NotSent)
		}
		// The peer acknowledges what was sent, round after round: the
		// connection is writable again only once fewer than 1000 bytes (half
		// the mark) are unsent, and the last round tells the writer so.
		s.events = nil
		for round := 0; c.Info().NotSent > 0; round++ {
			if round > 10 {
				t.Fatalf("%d bytes still unsent after 10 rounds", c.Info().NotSent)
			}
			if c.WriteReady() {
				t.Fatalf("WriteReady with %d unsent", c.Info().NotSent)
			}
			s.events = nil
			s.advance(10 * time.Millisecond)
			s.inject(seg{flags: segment.FlagACK, seq: 1, ack: c.Info().SndMax.Sub(c.Info().ISS), win: 60000})
		}
		if !c.WriteReady() || c.Writable() == 0 {
			t.Fatalf("nothing unsent: WriteReady %v, Writable %d", c.WriteReady(), c.Writable())
		}
		woke := false
		for _, e := range s.events {
			woke = woke || e&EventWritable != 0
		}
		if !woke {
			t.Fatalf("no EventWritable after the unsent data drained (events %v)", s.events)
		}
	}
}

// TestNotSentLowatHostDefault: TCPConfig.NotSentLowat applies to
// connections without their own mark, and WriteReady follows the half-mark
// rule: 2·unsent < mark.
func TestNotSentLowatHostDefault(t *testing.T) {
	cfg := scriptCfg()
	cfg.NotSentLowat = 4000
	s := newScript(t, cfg)
	s.passiveOpen()
	c := s.c
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 0}) // the peer's window closes
	if n, err := c.Write(data(1500)); n != 1500 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if !c.WriteReady() { // 1500 unsent: 3000 < 4000
		t.Fatal("1500 unsent under a 4000 mark: want WriteReady")
	}
	if n, err := c.Write(data(1000)); n != 1000 || err != nil { // the tail chunk's room
		t.Fatalf("Write = %d, %v", n, err)
	}
	if c.WriteReady() { // 2500 unsent: 5000 ≥ 4000
		t.Fatal("2500 unsent under a 4000 mark: want not WriteReady")
	}
	if err := c.SetNotSentLowat(-1); err == nil {
		t.Fatal("SetNotSentLowat(-1) accepted")
	}
	if err := c.SetNotSentLowat(1 << 20); err != nil || !c.WriteReady() {
		t.Fatalf("a 1 MiB mark of its own: err %v, WriteReady %v", err, c.WriteReady())
	}
}
