package stack

import (
	"testing"
	"time"
)

// Without quick-ACK mode (the zero config) every second full segment is
// acknowledged at once and a lone one waits for the delayed-ACK timer.
func TestQuickAck_Off(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(1000)})
	s.none()
	s.inject(seg{flags: A, seq: 1001, ack: 1, win: 65535, data: data(1000)})
	s.expect("Flags [.], ack 2001, win 62000, length 0 @10ms")
}

// With QuickAcks, the first data segments are each acknowledged at once
// (up to the receive window in segment pairs, at most QuickAcks), then
// delayed ACKs resume; after an idle time above the RTO, quick-ACK mode
// starts again (Linux tcp_event_data_recv).
func TestQuickAck_StartAndAfterIdle(t *testing.T) {
	cfg := scriptCfg()
	cfg.QuickAcks = 3
	s := newScript(t, cfg)
	s.passiveOpen()
	seq := uint32(1)
	send := func() {
		s.inject(seg{flags: A, seq: seq, ack: 1, win: 65535, data: data(1000)})
		seq += 1000
	}
	for i := range 3 {
		send()
		if len(s.out) != 1 {
			t.Fatalf("data segment %d: %d ACKs at once, want 1 (quick-ACK mode)", i+1, len(s.out))
		}
		s.out = nil
	}
	send() // quick ACKs used up: this one waits
	s.none()
	send()
	if len(s.out) != 1 {
		t.Fatalf("after quick-ACK mode, the second segment of a pair drew %d ACKs, want 1", len(s.out))
	}
	s.out = nil
	s.advance(3 * time.Second) // idle, longer than the RTO
	send()
	if len(s.out) != 1 {
		t.Fatalf("after idle: %d ACKs at once, want 1 (quick-ACK mode again)", len(s.out))
	}
	if c := s.h.Counters(); c.TCPDelayedAcks != 0 {
		t.Fatalf("%d delayed ACKs, want 0", c.TCPDelayedAcks)
	}
}

// An interactive connection (we answer within the delayed-ACK time) is in
// ping-pong mode: the ACK rides on our data instead of going alone.
func TestQuickAck_PingPong(t *testing.T) {
	cfg := scriptCfg()
	cfg.QuickAcks = DefaultQuickAcks
	s := newScript(t, cfg)
	s.passiveOpen()
	s.inject(seg{flags: PA, seq: 1, ack: 1, win: 65535, data: data(100)}) // quick-ACKed
	s.expect("Flags [.], ack 101, win 63900, length 0")
	s.c.Write(data(50)) // an answer at once: interactive
	s.expect("Flags [P.], seq 1:51, ack 101, win 63900, length 50")
	s.inject(seg{flags: PA, seq: 101, ack: 51, win: 65535, data: data(100)})
	s.none() // ping-pong: the ACK waits for our data or the timer
	s.c.Write(data(50))
	s.expect("Flags [P.], seq 51:101, ack 201, win 63800, length 50")
}
