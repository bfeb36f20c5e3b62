package stack

import (
	"io"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// TestCork: TCP_CORK holds a partial segment, not full ones; uncorking
// sends it at once.
func TestCork(t *testing.T) {
	cfg := scriptCfg()
	cfg.NoDelay = true
	s := newScript(t, cfg)
	s.passiveOpen()
	c := s.c
	c.SetCork(true)
	if !c.Cork() {
		t.Fatal("Cork() false after SetCork(true)")
	}
	if n, err := c.Write(data(40)); n != 40 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	s.none() // corked: NoDelay does not matter
	if n, err := c.Write(data(1500)); n != 1500 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460") // a full segment goes
	s.none()                                                         // the 80-byte tail waits
	s.advance(50 * time.Millisecond)
	c.SetCork(false)
	s.expect("Flags [P.], seq 1461:1541, ack 1, win 64000, length 80 @60ms")
}

// TestCorkCeiling: a corked partial segment with nothing in flight goes
// when the persist timer fires (one RTO: the "200 ms ceiling"), with PSH.
func TestCorkCeiling(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	c := s.c
	c.SetCork(true)
	if n, err := c.Write(data(40)); n != 40 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	s.none()
	rto := c.Info().RTO
	s.advance(rto - time.Millisecond)
	s.none()
	s.advance(2 * time.Millisecond)
	s.expect("Flags [P.], seq 1:41, ack 1, win 64000, length 40")
}

// TestWriteMore: MSG_MORE corks only the write's own sending and leaves
// no push point: the ACK-driven send of the tail carries no PSH, a plain
// write afterwards does; SetNoDelay(true) pushes a corked tail at once.
func TestWriteMore(t *testing.T) {
	cfg := scriptCfg()
	cfg.NoDelay = true
	s := newScript(t, cfg)
	s.passiveOpen()
	c := s.c
	if n, err := c.WriteMore(data(1500)); n != 1500 || err != nil {
		t.Fatalf("WriteMore = %d, %v", n, err)
	}
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460")
	s.none() // 40 bytes held by MSG_MORE
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1461, win: 65535})
	s.expect("Flags [.], seq 1461:1501, ack 1, win 64000, length 40") // the ACK's send is not corked; no PSH
	if n, err := c.WriteMore(data(10)); n != 10 || err != nil {
		t.Fatalf("WriteMore = %d, %v", n, err)
	}
	s.none()
	if n, err := c.Write(data(10)); n != 10 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	s.expect("Flags [P.], seq 1501:1521, ack 1, win 64000, length 20")
	// TCP_CORK on, then TCP_NODELAY again: the corked tail goes.
	c.SetCork(true)
	if n, err := c.Write(data(30)); n != 30 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	s.none()
	c.SetNoDelay(true)
	s.expect("Flags [P.], seq 1521:1551, ack 1, win 64000, length 30")
	// New data re-arms the cork.
	if n, err := c.Write(data(30)); n != 30 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	s.none()
}

// TestInQueue: the TCP_INQ hint is the readable byte count, and 1 once
// all is read and the FIN has come (the next read returns io.EOF).
func TestInQueue(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	c := s.c
	s.inject(seg{flags: segment.FlagACK, seq: 1, ack: 1, win: 65535, data: data(1000)})
	if got := c.InQueue(); got != 1000 {
		t.Fatalf("InQueue %d, want 1000", got)
	}
	buf := make([]byte, 300)
	if n, _ := c.Read(buf); n != 300 || c.InQueue() != 700 {
		t.Fatalf("Read %d, InQueue %d; want 300 and 700", n, c.InQueue())
	}
	s.inject(seg{flags: segment.FlagACK | segment.FlagFIN, seq: 1001, ack: 1, win: 65535})
	if got := c.InQueue(); got != 700 {
		t.Fatalf("InQueue %d with the FIN behind 700 bytes, want 700", got)
	}
	buf = make([]byte, 1000)
	if n, _ := c.Read(buf); n != 700 {
		t.Fatalf("Read %d, want 700", n)
	}
	if got := c.InQueue(); got != 1 {
		t.Fatalf("InQueue %d after reading all before the FIN, want 1", got)
	}
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("Read: %v, want io.EOF", err)
	}
}
