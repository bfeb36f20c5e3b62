package stack

import (
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// TestSendBufferPerChunk: with SendBufferPerChunk a write checks the send
// buffer only before each new chunk, as Linux checks sk_sndbuf before each
// new skb: the first chunk (22 MSS, half the peer's 65535 window) goes out
// as far as cwnd allows, its unsent remainder is refilled to a chunk, and
// with more than SendBuffer then queued no new chunk starts. Without it the
// same write stops at SendBuffer exactly. Either way poll calls the
// connection writable once the free buffer is at least half of what is
// queued.
func TestSendBufferPerChunk(t *testing.T) {
	const sndbuf = 30000
	for _, perChunk := range []bool{false, true} {
		cfg := scriptCfg()
		cfg.SendBuffer = sndbuf
		cfg.SendBufferPerChunk = perChunk
		s := newScript(t, cfg)
		s.passiveOpen()
		c := s.c
		n, err := c.Write(data(100000))
		if err != nil {
			t.Fatal(err)
		}
		want := sndbuf
		if perChunk {
			want = 22*1460 + 14600
		}
		if n != want || c.Info().SendBuffered != want || c.SendBuffer() != sndbuf {
			t.Fatalf("perChunk %v: Write took %d (%d queued, SendBuffer %d), want %d queued and SendBuffer %d",
				perChunk, n, c.Info().SendBuffered, c.SendBuffer(), want, sndbuf)
		}
		if c.Writable() != 0 || c.WriteReady() {
			t.Fatalf("perChunk %v: full buffer, Writable %d and WriteReady %v; want 0 and false", perChunk, c.Writable(), c.WriteReady())
		}
		if k, err := c.Write(data(10)); k != 0 || err != ErrWouldBlock {
			t.Fatalf("perChunk %v: Write on a full buffer took %d, %v; want 0, ErrWouldBlock", perChunk, k, err)
		}
		// The peer acknowledges what was sent, round after round, until
		// poll would call the connection writable: then at most two
		// thirds of the buffer is queued (free at least half of queued).
		for round := 0; !c.WriteReady(); round++ {
			if q := c.Info().SendBuffered; round > 20 || q == 0 {
				t.Fatalf("perChunk %v: not WriteReady after %d rounds with %d queued", perChunk, round, q)
			}
			s.advance(10 * time.Millisecond)
			s.inject(seg{flags: segment.FlagACK, seq: 1, ack: c.Info().SndMax.Sub(c.Info().ISS), win: 60000})
		}
		if q := c.Info().SendBuffered; 3*q > 2*sndbuf || c.Writable() == 0 {
			t.Fatalf("perChunk %v: WriteReady with %d queued, Writable %d", perChunk, q, c.Writable())
		}
	}
}
