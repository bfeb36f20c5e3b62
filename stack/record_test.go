package stack

import (
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// TestWriteEORSegments: a record end (WriteEOR) is never crossed by a
// segment, carries PSH, and a short segment ending a record with data
// behind it is not held by Nagle's algorithm; the tail after the last
// record is (Minshall: a small segment is outstanding).
func TestWriteEORSegments(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	c := s.c
	if n, err := c.Write(data(1460)); n != 1460 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	s.expect("Flags [P.], seq 1:1461, ack 1, win 64000, length 1460")
	if n, err := c.WriteEOR(data(600)); n != 600 || err != nil {
		t.Fatalf("WriteEOR = %d, %v", n, err)
	}
	s.expect("Flags [P.], seq 1461:2061, ack 1, win 64000, length 600")
	if got := c.RecordEnds(); got != 1 {
		t.Fatalf("RecordEnds = %d, want 1", got)
	}
	// A short record at the tail of the queue waits (Nagle: 1461:2061 is
	// a small segment outstanding) ...
	write := func(eor bool, n int) {
		t.Helper()
		w := c.Write
		if eor {
			w = c.WriteEOR
		}
		if k, err := w(data(n)); k != n || err != nil {
			t.Fatalf("write of %d = %d, %v", n, k, err)
		}
	}
	write(true, 100)
	s.none()
	// ... until data follows it: a record end is not the queue's last
	// segment any more, and goes at once, cut at the mark.
	write(true, 100)
	s.expect("Flags [P.], seq 2061:2161, ack 1, win 64000, length 100")
	s.none()
	write(false, 1000)
	s.expect("Flags [P.], seq 2161:2261, ack 1, win 64000, length 100")
	s.none() // the unmarked tail waits for the ACK of the small segments
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 2261, win: 65535})
	s.expect("Flags [P.], seq 2261:3261, ack 1, win 64000, length 1000")
	if got := c.RecordEnds(); got != 0 {
		t.Fatalf("RecordEnds after the ACK = %d, want 0", got)
	}
}

// TestWriteEORRetransmit: after an RTO the go-back-N resend stops at the
// record end as the first transmission did, instead of refilling a full
// segment across it.
func TestWriteEORRetransmit(t *testing.T) {
	cfg := scriptCfg()
	cfg.NoDelay = true
	s := newScript(t, cfg)
	s.passiveOpen()
	c := s.c
	if n, err := c.WriteEOR(data(300)); n != 300 || err != nil {
		t.Fatalf("WriteEOR = %d, %v", n, err)
	}
	if n, err := c.Write(data(300)); n != 300 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	s.expect("Flags [P.], seq 1:301, ack 1, win 64000, length 300")
	s.expect("Flags [P.], seq 301:601, ack 1, win 64000, length 300")
	s.none()
	s.advance(300 * time.Millisecond) // the RTO (200 ms after the first send) fires
	// cwnd is one SMSS (1460 bytes) after the RTO: without the mark the
	// resend would be one segment of 600 bytes.
	first := s.expect("Flags [P.], seq 1:301, ack 1, win 64000, length 300")
	second := s.expect("Flags [P.], seq 301:601, ack 1, win 64000, length 300")
	if first.at != second.at || first.at == 0 {
		t.Fatalf("resends at %v and %v, want both at the RTO", first.at, second.at)
	}
	s.none()
}

// TestWriteEORPartial: a WriteEOR that does not fit sets no record end.
func TestWriteEORPartial(t *testing.T) {
	cfg := scriptCfg()
	cfg.SendBuffer = 2000
	s := newScript(t, cfg)
	s.passiveOpen()
	c := s.c
	if n, err := c.WriteEOR(data(3000)); n != 2000 || err != nil {
		t.Fatalf("WriteEOR = %d, %v; want a partial write of 2000", n, err)
	}
	if got := c.RecordEnds(); got != 0 {
		t.Fatalf("RecordEnds = %d after a partial WriteEOR, want 0", got)
	}
}
