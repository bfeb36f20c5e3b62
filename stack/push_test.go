package stack

import (
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// pushPattern drains the host's output and spells the data segments' PSH
// bits in order: "P" for PSH, "." without.
func pushPattern(s *script) string {
	var b strings.Builder
	for _, c := range s.out {
		if len(c.pkt.Payload) == 0 {
			continue
		}
		if c.pkt.TCP.Flags&segment.FlagPSH != 0 {
			b.WriteByte('P')
		} else {
			b.WriteByte('.')
		}
	}
	s.out = nil
	return b.String()
}

// TestPushPlacement checks where PSH goes with and without Linux's burst
// rule (TCPConfig.TSOBurst, push.go), on a connection with MSS 1000 that
// writes 15000 bytes, then takes two duplicate ACKs (limited transmit sends
// one segment for each), an ACK of 3000 bytes (slow start lets two
// segments out) and ACKs of everything sent until the data is out.
func TestPushPlacement(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tso, iw  int
		flight   string // the initial window's segments
		limited  string // one segment per duplicate ACK
		afterAck string // what the ACK of 3000 bytes lets out
		rest     string // the rest, one ACK of all that is out at a time
	}{
		// tcpsim's own rule: PSH only where the written data ends.
		{"rfc", 0, 10, "..........", "..", "..", "P"},
		// Linux: bursts of two segments, each ending in PSH; a lone
		// segment short of the end of the data has none, the one that
		// ends it has.
		{"linux", 2, 10, ".P.P.P.P.P", "..", ".P", "P"},
		// Half of a cwnd of 3 is one segment: lone segments, no PSH.
		// Once cwnd reaches 4, bursts of two (cwnd 4, then 5 with a
		// lone last segment that ends the data).
		{"linux-iw2", 2, 2, "..", "..", "..", ".P.P.P.PP"},
		// tcp_min_tso_segs 5 with cwnd 10: two bursts of five; two
		// segments that the ACK lets out make a burst of two.
		{"linux-tso5", 5, 10, "....P....P", "..", ".P", "P"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := scriptCfg()
			cfg.TSOBurst, cfg.InitialWindow = tc.tso, tc.iw
			cfg.DisableSACK = true
			s := newScript(t, cfg)
			s.acceptSilently(seg{flags: segment.FlagSYN, win: 65535, mss: 1000})
			if _, err := s.c.Write(data(15000)); err != nil {
				t.Fatal(err)
			}
			if got := pushPattern(s); got != tc.flight {
				t.Errorf("initial window: PSH %q, want %q", got, tc.flight)
			}
			s.advance(50 * time.Millisecond)
			var lt strings.Builder
			for range 2 {
				s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
				lt.WriteString(pushPattern(s))
			}
			if got := lt.String(); got != tc.limited {
				t.Errorf("limited transmit: PSH %q, want %q", got, tc.limited)
			}
			s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 3001, win: 65535})
			if got := pushPattern(s); got != tc.afterAck {
				t.Errorf("after the ACK of 3000 bytes: PSH %q, want %q", got, tc.afterAck)
			}
			var rest strings.Builder
			for i := 0; i < 20 && s.c.sndUna != s.c.sndMax; i++ {
				s.advance(10 * time.Millisecond)
				s.inject(seg{flags: segment.FlagACK, seq: 1, ack: s.c.sndMax.Sub(s.c.iss), win: 65535})
				rest.WriteString(pushPattern(s))
			}
			if got := rest.String(); got != tc.rest {
				t.Errorf("the rest: PSH %q, want %q", got, tc.rest)
			}
		})
	}
}

// TestPushBurstRejectsNegative: a negative TSOBurst is a configuration
// error, named as such.
func TestPushBurstRejectsNegative(t *testing.T) {
	_, err := NewHost(HostConfig{Name: "h", Env: &script{}, TCP: TCPConfig{TSOBurst: -1}})
	if err == nil || !strings.Contains(err.Error(), "TSOBurst") {
		t.Fatalf("NewHost with TSOBurst -1: %v, want an error naming TSOBurst", err)
	}
}

// TestPushRetransmission checks PSH on retransmissions in the linux
// profile's rule (push.go): a packet of two or more resent segments ends in
// PSH where the first transmission of its last segment did; a lone resent
// segment, and a packet that ends where the first transmission had no PSH,
// carry none. Ten segments of 1000 bytes leave as five bursts of two
// (".P.P.P.P.P"); the peer acknowledges the first and SACKs the fourth and
// the seventh to tenth, so that recovery resends segments 2–3 (ending at
// 3001, no PSH the first time) and 5–6 (ending at 6001, which had it). The
// rfc rule (TSOBurst 0) pushes only the end of the data.
func TestPushRetransmission(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tso       int
		first     string
		resent    string
		resentSeq string
	}{
		{"linux", 2, ".P.P.P.P.P", "...P", "1001 2001 4001 5001"},
		{"rfc", 0, ".........P", "....", "1001 2001 4001 5001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := scriptCfg()
			cfg.RACK, cfg.TSOBurst, cfg.InitialWindow = true, tc.tso, 10
			s := newScript(t, cfg)
			s.sackPermitted = true
			s.acceptSilently(seg{flags: segment.FlagSYN, win: 65535, mss: 1000})
			if _, err := s.c.Write(data(10000)); err != nil {
				t.Fatal(err)
			}
			if got := pushPattern(s); got != tc.first {
				t.Fatalf("first transmission: PSH %q, want %q", got, tc.first)
			}
			s.sack = [][2]uint32{{3001, 4001}, {6001, 10001}}
			s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1001, win: 65535})
			s.advance(10 * time.Millisecond) // RACK's reordering window, if it waits
			var seqs []string
			for _, c := range s.out {
				if len(c.pkt.Payload) > 0 {
					seqs = append(seqs, f("%d", uint32(c.pkt.TCP.Seq)-s.iss))
				}
			}
			got := pushPattern(s)
			if strings.Join(seqs, " ") != tc.resentSeq {
				t.Fatalf("resent %v, want %s", seqs, tc.resentSeq)
			}
			if got != tc.resent {
				t.Errorf("retransmissions: PSH %q, want %q", got, tc.resent)
			}
		})
	}
}
