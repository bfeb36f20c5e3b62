package stack

import (
	"testing"

	"github.com/tcpsim/tcpsim/segment"
)

// TestWindowUpdateAgainstClamp: a read sends a window update only while the
// peer sees less than half of the largest window we can offer. Without
// window scaling that is 65535 bytes, not the 200000-byte buffer (Linux's
// tcp_cleanup_rbuf compares with its window_clamp): after 1000 bytes the
// peer is still offered 65535 and the read sends nothing; once 171000
// unread bytes leave under 29000 offered, reading them sends the update.
func TestWindowUpdateAgainstClamp(t *testing.T) {
	cfg := scriptCfg()
	cfg.RecvBuffer, cfg.DelayedAck = 200000, -1 // every segment acknowledged at once
	s := newScript(t, cfg)
	s.acceptSilently(seg{flags: segment.FlagSYN, win: 65535, mss: 1000})
	s.inject(seg{flags: segment.FlagACK | segment.FlagPSH, seq: 1, ack: 1, win: 65535, data: data(1000)})
	s.expect("Flags [.], ack 1001, win 65535, length 0")
	if got := s.read(); len(got) != 1000 {
		t.Fatalf("read %d bytes, want 1000", len(got))
	}
	s.none() // the whole 65535 still offered: no update
	seq := uint32(1001)
	for i := 0; i < 171; i++ {
		s.inject(seg{flags: segment.FlagACK, seq: seq, ack: 1, win: 65535, data: data(1000)})
		seq += 1000
	}
	last := s.out[len(s.out)-1]
	s.out = nil
	if w := last.pkt.TCP.Window; w >= 65535/2 {
		t.Fatalf("window offered with 171000 bytes unread: %d, want less than half of 65535", w)
	}
	for n := 0; n < 171000; {
		got := s.read()
		if len(got) == 0 || got[:4] == "err:" {
			t.Fatalf("read after %d bytes: %q", n, got)
		}
		n += len(got)
	}
	s.expect("Flags [.], ack 172001, win 65535, length 0") // under half was offered: the update
}
