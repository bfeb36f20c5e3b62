package stack

import (
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// TestDeliveredGrowth: with TCPConfig.DeliveredGrowth an ACK grows cwnd in
// slow start by what it newly delivers. After two duplicate ACKs (with SACK
// blocks for the second and third segments, or without SACK) the ACK of the
// first three segments delivers one; without the option it counts all three.
func TestDeliveredGrowth(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sack      bool
		delivered bool
		want      uint32 // cwnd after the cumulative ACK
	}{
		{"sack-delivered", true, true, 11000},
		{"sack-acked", true, false, 13000},
		{"nosack-delivered", false, true, 11000},
		{"nosack-acked", false, false, 13000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := scriptCfg()
			cfg.CongestionControl, cfg.InitialWindow = CCCubic, 10
			cfg.DeliveredGrowth = tc.delivered
			s := newScript(t, cfg)
			s.sackPermitted = tc.sack
			s.acceptSilently(seg{flags: segment.FlagSYN, win: 65535, mss: 1000})
			if _, err := s.c.Write(data(15000)); err != nil {
				t.Fatal(err)
			}
			s.advance(50 * time.Millisecond)
			for i := range 2 {
				if tc.sack {
					s.sack = [][2]uint32{{1001, uint32(2001 + 1000*i)}}
				}
				s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535})
			}
			s.sack = nil
			before := s.c.cwnd
			s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 3001, win: 65535})
			if before != 10000 || s.c.cwnd != tc.want {
				t.Fatalf("cwnd %d before the cumulative ACK and %d after, want 10000 and %d", before, s.c.cwnd, tc.want)
			}
		})
	}
}
