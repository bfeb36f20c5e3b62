package stack

import (
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// TestChronoRwndLimited: data held back by a zero window counts as
// receive-window-limited time, inside busy time, which runs from the write
// to the ACK of everything.
func TestChronoRwndLimited(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	c := s.c
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 0})
	if i := c.Info(); i.BusyTime != 0 || i.RwndLimited != 0 {
		t.Fatalf("idle: busy %v, rwnd-limited %v", i.BusyTime, i.RwndLimited)
	}
	if n, err := c.Write(data(1000)); n != 1000 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	s.none()
	s.advance(50 * time.Millisecond)
	if i := c.Info(); i.RwndLimited != 50*time.Millisecond || i.BusyTime != 50*time.Millisecond {
		t.Fatalf("zero window for 50ms: busy %v, rwnd-limited %v", i.BusyTime, i.RwndLimited)
	}
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	s.expect("Flags [P.], seq 1:1001, ack 1, win 64000, length 1000")
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1001, win: 65535})
	s.advance(100 * time.Millisecond) // idle: no more busy time
	if i := c.Info(); i.RwndLimited != 50*time.Millisecond || i.BusyTime != 60*time.Millisecond || i.SndbufLimited != 0 {
		t.Fatalf("after the ACK: busy %v (want 60ms), rwnd-limited %v (want 50ms), sndbuf-limited %v", i.BusyTime, i.RwndLimited, i.SndbufLimited)
	}
}

// TestChronoSndbufLimited: with everything written sent, cwnd not full and
// the writer refused space, the sender is send-buffer limited until the
// ACK hands space back.
func TestChronoSndbufLimited(t *testing.T) {
	cfg := scriptCfg()
	cfg.SendBuffer = 2000
	s := newScript(t, cfg)
	s.passiveOpen()
	c := s.c
	if n, err := c.Write(data(5000)); n != 2000 || err != nil {
		t.Fatalf("Write = %d, %v; want 2000 of 5000", n, err)
	}
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460")
	s.expect("Flags [P.], seq 1461:2001, ack 1, win 64000, length 540")
	s.advance(20 * time.Millisecond)
	if i := c.Info(); i.SndbufLimited != 20*time.Millisecond {
		t.Fatalf("sndbuf-limited %v, want 20ms", i.SndbufLimited)
	}
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 2001, win: 65535})
	s.advance(30 * time.Millisecond)
	if i := c.Info(); i.SndbufLimited != 20*time.Millisecond || i.BusyTime != 20*time.Millisecond {
		t.Fatalf("after the ACK: sndbuf-limited %v, busy %v; want 20ms each", i.SndbufLimited, i.BusyTime)
	}
}

// TestInfoLastAndProbes: tcpi_last_data_recv counts from the handshake and
// then from the last in-order data; zero-window probes count in Probes
// until the peer answers.
func TestInfoLastAndProbes(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen() // established at 10ms
	c := s.c
	s.advance(90 * time.Millisecond)
	if i := c.Info(); i.LastDataRecv != 90*time.Millisecond || i.LastAckRecv != 90*time.Millisecond {
		t.Fatalf("last data received %v, last ACK %v; want 90ms each", i.LastDataRecv, i.LastAckRecv)
	}
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535, data: data(100)})
	s.advance(5 * time.Millisecond)
	if i := c.Info(); i.LastDataRecv != 5*time.Millisecond {
		t.Fatalf("last data received %v, want 5ms", i.LastDataRecv)
	}
	s.out = nil
	s.inject(seg{flags: segment.FlagACK, seq: 101, ack: 1, win: 0})
	if n, err := c.Write(data(10)); n != 10 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if got := c.Info().Probes; got != 0 {
		t.Fatalf("Probes %d before any probe", got)
	}
	s.advance(2 * time.Second) // the persist timer probes the closed window
	if got := c.Info().Probes; got < 1 {
		t.Fatalf("Probes %d after 2s of a zero window, want at least 1", got)
	}
	s.inject(seg{flags: segment.FlagACK, seq: 101, ack: 1, win: 65535})
	if got := c.Info().Probes; got != 0 {
		t.Fatalf("Probes %d after the peer answered, want 0", got)
	}
	s.advance(7 * time.Millisecond) // the window opened: the rest went at once
	if got := c.Info().LastDataSent; got != 7*time.Millisecond {
		t.Fatalf("LastDataSent %v, want 7ms", got)
	}
}

// TestInfoScoreboard: Sacked, Lost and Retrans count segments as Linux's
// sacked_out, lost_out and retrans_out: a segment RACK marked lost stays
// lost when resent, until it is delivered.
func TestInfoScoreboard(t *testing.T) {
	for _, rack := range []bool{false, true} {
		cfg := scriptCfg()
		cfg.RACK = rack
		cfg.NoDelay = true
		s := newScript(t, cfg)
		l, err := s.h.Listen(80, 4)
		if err != nil {
			t.Fatal(err)
		}
		s.injectSYNWithSACK(seg{flags: segment.FlagSYN, win: 65535, mss: 1000})
		s.iss = uint32(s.out[0].pkt.TCP.Seq)
		s.out = nil
		s.advance(10 * time.Millisecond)
		s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := c.Write(data(6000)); n != 6000 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		s.out = nil
		s.advance(10 * time.Millisecond)
		// Segments 4, 5 and 6 arrive, 1 to 3 do not: three SACKs.
		for i, right := range []uint32{4001, 5001, 6001} {
			s.sack = [][2]uint32{{3001, right}}
			s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
			if got := c.Info().Sacked; got != i+1 {
				t.Fatalf("rack %v: Sacked %d after %d SACKed segments", rack, got, i+1)
			}
		}
		s.advance(5 * time.Millisecond) // RACK's reorder window passes
		i := c.Info()
		if i.Lost != 3 || i.Retrans < 1 || i.Retrans > i.Lost {
			t.Fatalf("rack %v: Lost %d, Retrans %d; want 3 lost, of them at least one resent", rack, i.Lost, i.Retrans)
		}
		s.sack = nil
		s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 6001, win: 65535})
		if i := c.Info(); i.Sacked != 0 || i.Lost != 0 || i.Retrans != 0 {
			t.Fatalf("rack %v: all acknowledged: Sacked %d, Lost %d, Retrans %d", rack, i.Sacked, i.Lost, i.Retrans)
		}
	}
}

// TestInfoReordering: the reordering degree grows, as Linux's, when data
// sent once is delivered below the highest SACKed segment: by SACK, and by
// the cumulative ACK.
func TestInfoReordering(t *testing.T) {
	cfg := scriptCfg()
	cfg.RACK, cfg.NoDelay = true, true
	s := newScript(t, cfg)
	l, err := s.h.Listen(80, 4)
	if err != nil {
		t.Fatal(err)
	}
	s.injectSYNWithSACK(seg{flags: segment.FlagSYN, win: 65535, mss: 1000})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.Write(data(6000)); n != 6000 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	s.advance(10 * time.Millisecond)
	check := func(when string, degree, seen int) {
		t.Helper()
		if i := c.Info(); i.Reordering != degree || i.ReorderSeen != seen {
			t.Fatalf("%s: Reordering %d, ReorderSeen %d; want %d and %d", when, i.Reordering, i.ReorderSeen, degree, seen)
		}
	}
	check("before any SACK", 3, 0)
	s.sack = [][2]uint32{{4001, 5001}}
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	check("first SACK", 3, 0) // nothing below it was delivered yet
	s.sack = [][2]uint32{{1001, 2001}, {4001, 5001}}
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	check("1001:2001 SACKed below 5001", 4, 1) // 4000 bytes: 4 segments
	s.sack = [][2]uint32{{4001, 5001}}
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 3001, win: 65535})
	check("1:1001 acknowledged below 5001", 5, 2) // 5000 bytes
}
