package stack

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// TestMaxSegmentConnect: ConnectOptions.MaxSegment (TCP_MAXSEG) lowers the
// MSS option of the SYN and caps the send MSS below the peer's larger MSS.
func TestMaxSegmentConnect(t *testing.T) {
	cfg := scriptCfg()
	cfg.DisableTimestamps, cfg.DisableSACK = true, true
	s := newScript(t, cfg)
	c, err := s.h.ConnectWith(netipAP(s.local.Addr(), 0), s.peer, ConnectOptions{MaxSegment: 1100})
	if err != nil {
		t.Fatal(err)
	}
	s.c, s.local = c, c.LocalAddr()
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S], seq 0, win 64000, options [mss 1100], length 0")
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: segment.FlagSYN | segment.FlagACK, ack: 1, win: 65535, mss: 1460})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	if i := c.Info(); i.SndMSS != 1100 || i.RcvMSS != 1100 || c.MaxSegment() != 1100 {
		t.Fatalf("SndMSS %d, RcvMSS %d, MaxSegment %d; want 1100 each", i.SndMSS, i.RcvMSS, c.MaxSegment())
	}
	if n, err := c.Write(data(2000)); n != 2000 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	s.expect("Flags [.], seq 1:1101, ack 1, win 64000, length 1100")
	s.expect("Flags [P.], seq 1101:2001, ack 1, win 64000, length 900")
}

// TestMaxSegmentListener: Listener.SetMaxSegment caps the SYN-ACK's MSS
// option and the accepted connection's segments; a peer MSS below the cap
// still wins.
func TestMaxSegmentListener(t *testing.T) {
	cfg := scriptCfg()
	cfg.DisableTimestamps, cfg.DisableSACK = true, true
	s := newScript(t, cfg)
	l, err := s.h.Listen(80, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetMaxSegment(1100); err != nil {
		t.Fatal(err)
	}
	s.inject(seg{flags: segment.FlagSYN, win: 65535, mss: 1300})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1100], length 0")
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if i := c.Info(); i.SndMSS != 1100 || i.RcvMSS != 1100 {
		t.Fatalf("SndMSS %d, RcvMSS %d; want 1100 and 1100", i.SndMSS, i.RcvMSS)
	}
	// A second client with a smaller MSS: its MSS rules the send side.
	s.peer = netipAP(s.peer.Addr(), 40001)
	s.out = nil
	s.inject(seg{flags: segment.FlagSYN, win: 65535, mss: 700})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1100], length 0")
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
	c2, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if got := c2.Info().SndMSS; got != 700 {
		t.Fatalf("SndMSS %d, want the peer's 700", got)
	}
}

// TestMaxSegmentRange: values outside Linux's [88, 32767] are EINVAL.
func TestMaxSegmentRange(t *testing.T) {
	s := newScript(t, scriptCfg())
	l, err := s.h.Listen(80, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{-1, 87, 32768} {
		if err := l.SetMaxSegment(n); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("SetMaxSegment(%d) = %v, want EINVAL", n, err)
		}
		if _, err := s.h.ConnectWith(netipAP(s.local.Addr(), 0), s.peer, ConnectOptions{MaxSegment: n}); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("ConnectWith(MaxSegment %d) = %v, want EINVAL", n, err)
		}
	}
	if err := l.SetMaxSegment(88); err != nil || l.MaxSegment() != 88 {
		t.Errorf("SetMaxSegment(88) = %v, MaxSegment %d", err, l.MaxSegment())
	}
}
