package stack

import (
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Issue 10 item 8: a SYN that may reopen a TIME_WAIT 4-tuple but is dropped
// because the listener's backlog is full must leave TIME_WAIT in place.
// Ending it anyway lost the old sequence space: the retransmitted SYN then
// opened the new incarnation with a clock-driven ISS that may lie below the
// old SND.NXT (RFC 1122 §4.2.2.13). When the backlog has room again, the
// retransmitted SYN ends TIME_WAIT and gets the ISS above the old space.
func TestTimeWait_SYNDroppedForBacklogKeepsTimeWait(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen() // backlog 8; the accepted connection no longer counts
	s.c.Write(data(10000))
	s.inject(seg{flags: A, seq: 1, ack: 10001, win: 65535})
	s.c.Close()
	s.inject(seg{flags: FA, seq: 1, ack: 10002, win: 65535})
	if s.c.State() != StateTimeWait {
		t.Fatalf("state %v", s.c.State())
	}
	tw, port := s.c, s.peer
	// Fill the backlog with eight connections from other ports waiting to
	// be accepted. (A full SYN queue alone would not do: a SYN taking over
	// TIME_WAIT gets an embryo beyond it, see Listener.input.)
	for i := range 8 {
		s.peer = netipAP(s.peer.Addr(), uint16(41000+i))
		s.out = nil
		s.inject(seg{flags: S, win: 65535})
		if len(s.out) != 1 {
			t.Fatalf("SYN %d: no SYN-ACK", i)
		}
		iss := s.iss
		s.iss = uint32(s.out[0].pkt.TCP.Seq)
		s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
		s.iss = iss
	}
	if s.l.Pending() != 8 {
		t.Fatalf("%d connections wait to be accepted, want 8", s.l.Pending())
	}
	s.out = nil
	s.peer = port
	s.advance(time.Millisecond)
	s.inject(seg{flags: S, seq: 100000, win: 65535, mss: 1460})
	s.none()
	c := s.h.Counters()
	if c.TCPListenOverflows != 1 || c.TCPTimeWaitReuse != 0 {
		t.Fatalf("overflows %d, reuse %d; want 1, 0", c.TCPListenOverflows, c.TCPTimeWaitReuse)
	}
	if tw.State() != StateTimeWait || s.h.NumConns() != 9 {
		t.Fatalf("TIME_WAIT connection is %v, %d conns; a dropped SYN ended it", tw.State(), s.h.NumConns())
	}
	// TIME_WAIT still does its job: a retransmitted FIN is acknowledged.
	s.inject(seg{flags: FA, seq: 1, ack: 10002, win: 65535})
	s.expect("Flags [.], ack 2, win 64000, length 0")
	// Free one slot: the first waiting connection is reset.
	s.peer = netipAP(s.peer.Addr(), 41000)
	s.inject(seg{flags: R, seq: 1})
	s.peer = port
	s.advance(time.Second)
	s.out = nil // the embryos' SYN-ACK retransmissions
	s.inject(seg{flags: S, seq: 100000, win: 65535, mss: 1460})
	// Relative to the old ISS: old SND.NXT is 10002, + 65537.
	s.expect("Flags [S.], seq 75539, ack 100001, win 64000, options [mss 1460], length 0")
	if c := s.h.Counters(); c.TCPTimeWaitReuse != 1 || tw.State() != StateClosed {
		t.Fatalf("reuse %d, old connection %v", c.TCPTimeWaitReuse, tw.State())
	}
}

// Issue 10 item 9: SYN with FIN to a listener is dropped and counted
// (Linux), not answered with a SYN-ACK; it must not end TIME_WAIT either.
func TestListen_SYNFINDropped(t *testing.T) {
	s := newScript(t, scriptCfg())
	l, err := s.h.Listen(80, 8)
	if err != nil {
		t.Fatal(err)
	}
	for i, fl := range []segment.Flags{S | F, S | F | P, S | F | P | segment.FlagURG} {
		s.peer = netipAP(s.peer.Addr(), uint16(41000+i))
		s.inject(seg{flags: fl, win: 65535, mss: 1460, data: data(3 * i)})
	}
	s.none()
	if c := s.h.Counters(); c.TCPDropSynFin != 3 || c.TCPPassiveOpens != 0 || s.h.NumConns() != 0 || l.Pending() != 0 {
		t.Fatalf("SYN+FIN: drops %d, passive opens %d, conns %d", c.TCPDropSynFin, c.TCPPassiveOpens, s.h.NumConns())
	}
	// A plain SYN still opens.
	s.inject(seg{flags: S, win: 65535, mss: 1460})
	if len(s.out) != 1 || s.out[0].pkt.TCP.Flags != SA {
		t.Fatalf("plain SYN not answered: %v", s.out)
	}

	// On a TIME_WAIT 4-tuple.
	s = newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Close()
	s.inject(seg{flags: FA, seq: 1, ack: 2, win: 65535})
	s.out = nil
	s.inject(seg{flags: S | F, seq: 100000, win: 65535})
	s.none()
	if s.c.State() != StateTimeWait || s.h.Counters().TCPDropSynFin != 1 || s.h.Counters().TCPTimeWaitReuse != 0 {
		t.Fatalf("state %v counters %+v", s.c.State(), s.h.Counters())
	}
}

// A SYN that takes over TIME_WAIT while the SYN queue is full (a flood of
// half-open connections) gets a real embryo with the ISS above the old
// sequence space, not a SYN cookie: a cookie's ISS ignores RFC 1122
// §4.2.2.13, and TIME_WAIT, left in place, would catch the cookie's ACK.
func TestTimeWait_SYNQueueFullNoCookie(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Write(data(10000))
	s.inject(seg{flags: A, seq: 1, ack: 10001, win: 65535})
	s.c.Close()
	s.inject(seg{flags: FA, seq: 1, ack: 10002, win: 65535})
	tw, port := s.c, s.peer
	for i := range 8 { // eight half-open connections fill the SYN queue
		s.peer = netipAP(s.peer.Addr(), uint16(41000+i))
		s.inject(seg{flags: S, win: 65535})
	}
	s.peer = netipAP(s.peer.Addr(), 42000)
	s.out = nil
	s.inject(seg{flags: S, win: 65535, mss: 1460}) // a ninth SYN gets a cookie
	if c := s.h.Counters(); c.TCPSyncookiesSent != 1 || len(s.out) != 1 {
		t.Fatalf("a SYN beyond the full SYN queue: %d cookies, %d packets; want 1, 1", c.TCPSyncookiesSent, len(s.out))
	}
	s.out = nil
	s.peer = port
	s.advance(time.Millisecond)
	s.inject(seg{flags: S, seq: 100000, win: 65535, mss: 1460})
	s.expect("Flags [S.], seq 75539, ack 100001, win 64000, options [mss 1460], length 0")
	c := s.h.Counters()
	if c.TCPSyncookiesSent != 1 || c.TCPTimeWaitReuse != 1 || tw.State() != StateClosed {
		t.Fatalf("cookies %d, reuse %d, old connection %v; want 1, 1, CLOSED", c.TCPSyncookiesSent, c.TCPTimeWaitReuse, tw.State())
	}
}
