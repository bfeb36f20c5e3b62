package stack

import (
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// TCPConfig.LinuxRTTSamples (rttlinux.go): every ACK of new data gives an
// RTT sample from the oldest segment it covers, not one timed segment per
// round trip. Ten segments leave at 10 ms; the peer acknowledges two at a
// time every 10 ms, as if they queued behind a slow link, so the samples
// are 10, 20, 30, 40 and 50 ms. SRTT starts at the handshake's 10 ms and
// moves by 1/8 of each: 10, 11.25, 13.59, 16.89, 21.03 ms. RFC 6298's
// timing takes only the first (the timed segment is the first sent) and
// stays at 10 ms. Then a segment that the RTO sends again gives no sample
// when it is acknowledged (Karn).
func TestLinuxRTTSamples(t *testing.T) {
	for _, tc := range []struct {
		on   bool
		want time.Duration
	}{
		{false, 10 * time.Millisecond},
		{true, 21032714 * time.Nanosecond},
	} {
		cfg := scriptCfg()
		cfg.LinuxRTTSamples = tc.on
		s := newScript(t, cfg)
		s.passiveOpen()
		if _, err := s.c.Write(data(10 * 1460)); err != nil {
			t.Fatal(err)
		}
		if n := len(s.out); n != 10 {
			t.Fatalf("on=%v: %d segments sent, want the initial window of 10", tc.on, n)
		}
		s.out = nil
		for i := 1; i <= 5; i++ {
			s.advance(10 * time.Millisecond)
			s.inject(seg{flags: segment.FlagACK, seq: 1, ack: uint32(1 + 2*1460*i), win: 65535})
		}
		if d := s.c.srtt - tc.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("on=%v: SRTT %v after the five ACKs, want %v", tc.on, s.c.srtt, tc.want)
		}
		if !tc.on {
			continue
		}
		s.out = nil
		if _, err := s.c.Write(data(1460)); err != nil {
			t.Fatal(err)
		}
		s.advance(5 * time.Second) // the RTO sends it again
		if len(s.out) < 2 {
			t.Fatalf("on=%v: %d segments, want the new one and its retransmission", tc.on, len(s.out))
		}
		before := s.c.srtt
		s.inject(seg{flags: segment.FlagACK, seq: 1, ack: uint32(1 + 11*1460), win: 65535})
		if s.c.srtt != before {
			t.Errorf("on=%v: SRTT %v after the ACK of a retransmitted segment, want %v (no sample)", tc.on, s.c.srtt, before)
		}
	}
}

// With timestamps, an ACK that covers retransmitted data gives no sample
// from the send times, so the echo of the retransmission's TSval does:
// 20 ms after the RTO's resend, SRTT 10 ms → 11.25 ms.
func TestLinuxRTTSamplesTimestampFallback(t *testing.T) {
	cfg := scriptCfg()
	cfg.LinuxRTTSamples = true
	s := newScript(t, cfg)
	s.tsOpen()
	if s.c.srtt != 10*time.Millisecond {
		t.Fatalf("SRTT %v after the handshake, want 10ms", s.c.srtt)
	}
	if _, err := s.c.Write(data(1448)); err != nil {
		t.Fatal(err)
	}
	s.advance(300 * time.Millisecond) // the RTO (200 ms) sends it again once
	if len(s.out) != 2 {
		t.Fatalf("%d segments, want the new one and its retransmission", len(s.out))
	}
	rtx := s.out[1].at
	s.advance(rtx + 20*time.Millisecond - s.now)
	s.inject(seg{flags: A, seq: 1, ack: 1449, win: 65535, ts: true, tsval: 6000, tsecr: tsAt(rtx)})
	if want := 11250 * time.Microsecond; s.c.srtt != want {
		t.Errorf("SRTT %v after the ACK of the retransmission, want %v (the echo's 20 ms)", s.c.srtt, want)
	}
}
