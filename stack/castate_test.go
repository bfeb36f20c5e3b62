package stack

import (
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// TestCAState follows Info().CAState through Linux's states on a SACK
// connection with RACK (the linux profile's loss detection): Open with
// data in flight, Disorder once the peer SACKs a segment past a hole,
// Recovery once three segments past it are SACKed (RACK marks the hole
// lost), Open again when the recovery's data is acknowledged; then Loss
// after a retransmission timeout, until what was outstanding is
// acknowledged.
func TestCAState(t *testing.T) {
	cfg := scriptCfg()
	cfg.RACK, cfg.InitialWindow = true, 10
	s := newScript(t, cfg)
	s.sackPermitted = true
	// A 10 ms handshake: RACK.min_RTT counts its sample (RFC 8985 §6.2
	// step 1), and an instant one would leave no reordering window for the
	// first SACK.
	var err error
	if s.l, err = s.h.Listen(80, 1); err != nil {
		t.Fatal(err)
	}
	s.inject(seg{flags: segment.FlagSYN, win: 65535, mss: 1000})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.out = nil
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	if s.c, err = s.l.Accept(); err != nil {
		t.Fatal(err)
	}
	want := func(step string, st CAState) {
		t.Helper()
		if got := s.c.Info().CAState; got != st {
			t.Fatalf("%s: CAState %v, want %v", step, got, st)
		}
	}
	if _, err := s.c.Write(data(10000)); err != nil {
		t.Fatal(err)
	}
	want("data in flight", CAOpen)
	s.advance(10 * time.Millisecond)
	s.sack = [][2]uint32{{1001, 2001}}
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	want("one segment SACKed past a hole", CADisorder)
	s.sack = [][2]uint32{{1001, 4001}}
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	want("three segments SACKed past a hole", CARecovery)
	s.sack = nil
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: s.c.sndMax.Sub(s.c.iss), win: 65535})
	want("everything acknowledged", CAOpen)
	if _, err := s.c.Write(data(3000)); err != nil {
		t.Fatal(err)
	}
	s.advance(3 * time.Second) // the probe, then the timeout
	if s.c.Info().Timeouts == 0 {
		t.Fatal("no retransmission timeout")
	}
	want("after the timeout", CALoss)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: s.c.sndMax.Sub(s.c.iss), win: 65535})
	want("everything acknowledged after the timeout", CAOpen)
}

// TestCAStateCWR: an ECN echo reduces cwnd and the sender is in CWR until
// the data outstanding at the reduction is acknowledged.
func TestCAStateCWR(t *testing.T) {
	cfg := scriptCfg()
	cfg.ECN = ECNPassive
	s := newScript(t, cfg)
	s.l, _ = s.h.Listen(80, 1)
	s.inject(seg{flags: S | E | W, win: 65535, mss: 1000})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.c, _ = s.l.Accept()
	s.out = nil
	if _, err := s.c.Write(data(4000)); err != nil {
		t.Fatal(err)
	}
	s.inject(seg{flags: A | E, seq: 1, ack: 1001, win: 65535})
	if got := s.c.Info().CAState; got != CAWindowReduced {
		t.Fatalf("after the echo: CAState %v, want CWR", got)
	}
	s.inject(seg{flags: A, seq: 1, ack: s.c.sndMax.Sub(s.c.iss), win: 65535})
	if got := s.c.Info().CAState; got != CAOpen {
		t.Fatalf("all acknowledged: CAState %v, want Open", got)
	}
}
