package stack

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Keep-alives are off by default: an idle connection sends nothing, even
// after three hours.
func TestKeepAlive_OffByDefault(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.advance(3 * time.Hour)
	s.none()
	if n := s.h.Counters().TCPKeepAlive; n != 0 {
		t.Fatalf("%d keep-alive probes with keep-alives off", n)
	}
}

// With keep-alives on, an idle connection probes after KeepAliveIdle with
// SND.UNA − 1 and no data; an answer restarts the idle time; unanswered
// probes repeat every KeepAliveInterval and, after KeepAliveProbes of them,
// the connection is reset and fails with ETIMEDOUT (RFC 1122 §4.2.3.6,
// Linux tcp_keepalive_timer).
func TestKeepAlive_ProbesAndGivesUp(t *testing.T) {
	cfg := scriptCfg()
	cfg.KeepAlive = true
	cfg.KeepAliveIdle, cfg.KeepAliveInterval, cfg.KeepAliveProbes = 10*time.Second, 2*time.Second, 3
	s := newScript(t, cfg)
	s.passiveOpen() // established at 10 ms
	s.advance(10 * time.Second)
	probe := s.expect("Flags [.], ack 1, win 64000, length 0 @10.01s")
	if probe.pkt.TCP.Seq != segment.Seq(s.iss) {
		t.Fatalf("probe seq %d, want SND.UNA-1 = %d", probe.pkt.TCP.Seq, s.iss)
	}
	s.advance(time.Second)
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535}) // the peer answers at 11.01 s
	s.advance(9 * time.Second)
	s.none() // idle counts from the answer
	s.advance(time.Second)
	s.expect("Flags [.], ack 1, win 64000, length 0 @21.01s")
	s.advance(6 * time.Second)
	s.expect("Flags [.], ack 1, win 64000, length 0 @23.01s")
	s.expect("Flags [.], ack 1, win 64000, length 0 @25.01s")
	s.expect("Flags [R.], seq 1, ack 1, win 0, length 0 @27.01s")
	if !errors.Is(s.c.Err(), syscall.ETIMEDOUT) || s.h.NumConns() != 0 {
		t.Fatalf("err %v, %d conns; want ETIMEDOUT and none", s.c.Err(), s.h.NumConns())
	}
	if c := s.h.Counters(); c.TCPKeepAlive != 4 || c.TCPAbortOnTimeout != 1 {
		t.Fatalf("probes %d, aborts %d; want 4, 1", c.TCPKeepAlive, c.TCPAbortOnTimeout)
	}
}

// Keep-alives wait while data is in flight (the retransmission timer
// watches the peer then), and SetKeepAlive/SetKeepAliveParams work per
// connection.
func TestKeepAlive_PerConnectionAndQuietWithData(t *testing.T) {
	cfg := scriptCfg()
	cfg.DataRetries = 100
	s := newScript(t, cfg)
	s.passiveOpen()
	if err := s.c.SetKeepAliveParams(-1, 0, 0); err == nil {
		t.Fatal("negative keep-alive idle accepted")
	}
	if err := s.c.SetKeepAliveParams(5*time.Second, time.Second, 2); err != nil {
		t.Fatal(err)
	}
	s.c.SetKeepAlive(true)
	s.c.Write(data(100))
	s.expect("Flags [P.], seq 1:101, ack 1, win 64000, length 100 @10ms")
	s.advance(8 * time.Second)
	for _, p := range s.out {
		if p.pkt.TCP.Seq == segment.Seq(s.iss) && p.pkt.TCP.Flags&R == 0 {
			t.Fatalf("keep-alive probe while data is unacknowledged: %s", s.rel(p))
		}
	}
	s.out = nil
	s.inject(seg{flags: A, seq: 1, ack: 101, win: 65535})
	s.advance(5 * time.Second)
	if p := s.expect("Flags [.], ack 1, win 64000, length 0 @13.01s"); p.pkt.TCP.Seq != segment.Seq(s.iss+100) {
		t.Fatalf("probe seq %d, want SND.UNA-1 = %d", p.pkt.TCP.Seq, s.iss+100)
	}
	s.c.SetKeepAlive(false)
	s.advance(time.Minute)
	s.none()
}

// A probe from the peer (its SND.UNA − 1, no data) is answered with an ACK.
func TestKeepAlive_AnswerPeersProbe(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.advance(time.Hour)
	s.inject(seg{flags: A, seq: 0, ack: 1, win: 65535})
	s.expect("Flags [.], ack 1, win 64000, length 0")
}

// The user timeout ends a connection whose data goes unacknowledged for
// that long, whatever DataRetries says, without a RST (Linux
// TCP_USER_TIMEOUT); progress restarts its clock.
func TestUserTimeout(t *testing.T) {
	cfg := scriptCfg()
	cfg.DataRetries = 1 // alone, this would end the connection at the second RTO (3.01 s)
	cfg.UserTimeout = 20 * time.Second
	s := newScript(t, cfg)
	s.passiveOpen()
	s.c.Write(data(100))
	s.advance(5 * time.Second)
	s.inject(seg{flags: A, seq: 1, ack: 51, win: 65535}) // progress at 5.01 s
	s.advance(24900*time.Millisecond - s.now)
	if s.c.Err() != nil {
		t.Fatalf("failed at %v, before the user timeout: %v", s.now, s.c.Err())
	}
	if n := s.h.Counters().TCPTimeouts; n < 4 {
		t.Fatalf("%d RTOs by 24.9 s, want 4 (DataRetries must not end the connection)", n)
	}
	s.out = nil
	s.advance(110 * time.Millisecond) // 25.01 s: 20 s after the progress
	if !errors.Is(s.c.Err(), syscall.ETIMEDOUT) {
		t.Fatalf("err %v at %v, want ETIMEDOUT", s.c.Err(), s.now)
	}
	for _, p := range s.out {
		if p.pkt.TCP.Flags&R != 0 {
			t.Fatalf("user timeout sent a RST: %s", s.rel(p))
		}
	}
	if c := s.h.Counters(); c.TCPAbortOnTimeout != 1 {
		t.Fatalf("aborts %d, want 1", c.TCPAbortOnTimeout)
	}
}

// Without a user timeout, the same connection ends after DataRetries.
func TestUserTimeout_OffKeepsDataRetries(t *testing.T) {
	cfg := scriptCfg()
	cfg.DataRetries = 1
	s := newScript(t, cfg)
	s.passiveOpen()
	s.c.Write(data(100))
	s.advance(5 * time.Second)
	if !errors.Is(s.c.Err(), syscall.ETIMEDOUT) {
		t.Fatalf("err %v at %v, want ETIMEDOUT from DataRetries", s.c.Err(), s.now)
	}
}
