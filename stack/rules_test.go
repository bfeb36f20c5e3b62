package stack

import (
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

const (
	S   = segment.FlagSYN
	A   = segment.FlagACK
	F   = segment.FlagFIN
	R   = segment.FlagRST
	P   = segment.FlagPSH
	SA  = S | A
	FA  = F | A
	RA  = R | A
	PA  = P | A
	FPA = F | P | A
)

// ============================================================
// CLOSED (no connection): RFC 9293 §3.10.7.1
// ============================================================

// A SYN to a port nobody listens on draws <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
func TestClosed_SYNGetsRST(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.inject(seg{flags: S, seq: 0, win: 1000})
	s.expect("Flags [R.], seq 0, ack 1, win 0, length 0")
	if s.h.Counters().TCPNoSocket != 1 {
		t.Fatal("TCPNoSocket not counted")
	}
}

// A segment with ACK draws <SEQ=SEG.ACK><CTL=RST>; data counts in SEG.LEN.
func TestClosed_ACKGetsRSTAtAck(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.iss = 0
	s.inject(seg{flags: PA, seq: 5, ack: 777, win: 1000, data: data(10)})
	c := s.out[0]
	if c.pkt.TCP.Flags != R || c.pkt.TCP.Seq != 777 {
		t.Fatalf("got %v", c.pkt)
	}
	s.out = nil
	s.inject(seg{flags: F, seq: 5, win: 1000, data: data(10)})
	s.expect("Flags [R.], seq 0, ack 16, win 0, length 0")
}

// "An incoming segment containing a RST is discarded."
func TestClosed_RSTNeverAnswered(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.inject(seg{flags: R, seq: 5})
	s.inject(seg{flags: RA, seq: 5, ack: 9})
	s.none()
}

// ============================================================
// LISTEN: RFC 9293 §3.10.7.2
// ============================================================

// Passive open: SYN → SYN-ACK with our MSS; ACK → ESTABLISHED, Accept works.
func TestListen_PassiveOpen(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	if s.c.RemoteAddr() != s.peer || s.c.LocalAddr() != s.local {
		t.Fatalf("addrs %v %v", s.c.LocalAddr(), s.c.RemoteAddr())
	}
	if i := s.c.Info(); i.SndMSS != 1460 || i.SndWnd != 65535 || i.SRTT != 10*time.Millisecond {
		t.Fatalf("info %+v", i)
	}
}

// "Any acknowledgment is bad if it arrives on a connection still in the
// LISTEN state": <SEQ=SEG.ACK><CTL=RST>. A RST is ignored.
func TestListen_ACKGetsRST_RSTIgnored(t *testing.T) {
	s := newScript(t, scriptCfg())
	if _, err := s.h.Listen(80, 1); err != nil {
		t.Fatal(err)
	}
	s.inject(seg{flags: A, seq: 1, ack: 5000, win: 100})
	s.expect("Flags [R], seq 5000, win 0, length 0")
	s.inject(seg{flags: R, seq: 1})
	s.none()
}

// Backlog: with SYN cookies off, SYNs beyond the backlog are dropped and
// counted (with cookies, the default, they get a cookie:
// TestSYNCookieModes).
func TestListen_BacklogOverflow(t *testing.T) {
	cfg := scriptCfg()
	cfg.SYNCookies = -1
	s := newScript(t, cfg)
	if _, err := s.h.Listen(80, 1); err != nil {
		t.Fatal(err)
	}
	s.inject(seg{flags: S, win: 100})
	if len(s.out) != 1 {
		t.Fatal("no SYN-ACK")
	}
	s.out = nil
	s.peer = netipAP(s.peer.Addr(), 40001)
	s.inject(seg{flags: S, win: 100})
	s.none()
	if s.h.Counters().TCPListenOverflows != 1 {
		t.Fatal("overflow not counted")
	}
}

// A duplicate SYN in SYN_RECEIVED (our SYN-ACK was lost) gets the SYN-ACK
// again; the SYN-ACK is also retransmitted by its timer, with backoff.
func TestSynReceived_SYNACKRetransmission(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.l, _ = s.h.Listen(80, 8)
	s.inject(seg{flags: S, win: 65535, mss: 1460})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1460], length 0 @0s")
	s.advance(500 * time.Millisecond)
	s.inject(seg{flags: S, win: 65535, mss: 1460})
	s.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1460], length 0 @500ms")
	s.advance(3 * time.Second)
	// The duplicate SYN's answer restarted the timer (1 s); then RFC 6298
	// §5.5 backoff doubles it.
	s.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1460], length 0 @1.5s")
	s.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1460], length 0 @3.5s")
	s.none()
}

// A RST in SYN_RECEIVED from a passive open returns to LISTEN: the
// embryonic connection disappears without error to anyone.
func TestSynReceived_RSTReturnsToListen(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.l, _ = s.h.Listen(80, 8)
	s.inject(seg{flags: S, win: 65535})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.out = nil
	s.inject(seg{flags: R, seq: 1})
	s.none()
	if s.h.NumConns() != 0 {
		t.Fatal("embryonic connection left")
	}
	if _, err := s.l.Accept(); err != ErrWouldBlock {
		t.Fatalf("accept: %v", err)
	}
}

// An unacceptable ACK in SYN_RECEIVED draws <SEQ=SEG.ACK><CTL=RST>.
func TestSynReceived_BadACKGetsRST(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.l, _ = s.h.Listen(80, 8)
	s.inject(seg{flags: S, win: 65535})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.out = nil
	s.inject(seg{flags: A, seq: 1, ack: 50, win: 100})
	s.expect("Flags [R], seq 50, win 0, length 0")
}

// ============================================================
// SYN_SENT: RFC 9293 §3.10.7.3
// ============================================================

func TestSynSent_ActiveOpen(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.activeOpen()
	p := s.c.LocalAddr().Port()
	if p < ephemeralLow {
		t.Fatalf("ephemeral port %d outside the IANA range", p)
	}
	if len(s.events) == 0 || s.events[0]&EventEstablished == 0 {
		t.Fatalf("events %v", s.events)
	}
}

// SYN retransmission: RTO 1 s initial, doubled per retry (RFC 6298 §5.5);
// after SYNRetries the connect fails with ETIMEDOUT.
func TestSynSent_RetransmitBackoffTimeout(t *testing.T) {
	cfg := scriptCfg()
	cfg.SYNRetries = 2
	s := newScript(t, cfg)
	var err error
	s.c, err = s.h.Connect(netipAP(addrA, 0).Addr(), s.peer)
	if err != nil {
		t.Fatal(err)
	}
	s.local = s.c.LocalAddr()
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.advance(10 * time.Second)
	s.expect("Flags [S], seq 0, win 64000, options [mss 1460,sackOK,TS val 1603323636 ecr 0], length 0 @0s")
	s.expect("Flags [S], seq 0, win 64000, options [mss 1460,sackOK,TS val 1603324636 ecr 0], length 0 @1s")
	s.expect("Flags [S], seq 0, win 64000, options [mss 1460,sackOK,TS val 1603326636 ecr 0], length 0 @3s")
	s.none()
	if !errors.Is(s.c.Err(), syscall.ETIMEDOUT) || s.c.State() != StateClosed {
		t.Fatalf("err %v state %v", s.c.Err(), s.c.State())
	}
	if _, err := s.c.Read(make([]byte, 1)); !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("read: %v", err)
	}
}

// "If the RST bit is set: if the ACK was acceptable, then signal to the
// user 'error: connection reset'": ECONNREFUSED. A RST without an
// acceptable ACK is dropped; an unacceptable ACK draws a RST.
func TestSynSent_RSTRefused(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.c, _ = s.h.Connect(addrA, s.peer)
	s.local = s.c.LocalAddr()
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.out = nil
	s.inject(seg{flags: R, seq: 0})
	s.none()
	s.inject(seg{flags: SA, seq: 0, ack: 7, win: 100})
	s.expect("Flags [R], seq 7, win 0, length 0")
	if s.c.State() != StateSynSent {
		t.Fatal("state changed")
	}
	s.inject(seg{flags: RA, seq: 0, ack: 1})
	s.none()
	if !errors.Is(s.c.Err(), syscall.ECONNREFUSED) {
		t.Fatalf("err %v", s.c.Err())
	}
}

// Simultaneous open (RFC 9293 §3.5 Figure 8): SYN in SYN_SENT → SYN_RECEIVED
// and SYN,ACK with the same ISS; the peer's SYN,ACK (line 6) completes the
// handshake at once and is answered by an ACK; a later bare ACK changes
// nothing.
func TestSynSent_SimultaneousOpen(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.c, _ = s.h.Connect(addrA, s.peer)
	s.local = s.c.LocalAddr()
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S], seq 0, win 64000, options [mss 1460,sackOK,TS val 1603323636 ecr 0], length 0")
	s.advance(5 * time.Millisecond)
	s.inject(seg{flags: S, seq: 0, win: 65535, mss: 1460})
	s.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1460], length 0 @5ms")
	if s.c.State() != StateSynReceived {
		t.Fatalf("state %v", s.c.State())
	}
	s.inject(seg{flags: SA, seq: 0, ack: 1, win: 65535, mss: 1460})
	s.expect("Flags [.], ack 1, win 64000, length 0 @5ms")
	if s.c.State() != StateEstablished {
		t.Fatalf("state after the peer's SYN,ACK %v, want ESTABLISHED", s.c.State())
	}
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.none()
	if s.c.State() != StateEstablished {
		t.Fatalf("state %v", s.c.State())
	}
}

// Window scale (RFC 7323 §2): offered on SYN; in use when both sides offer.
func TestSynSent_WindowScale(t *testing.T) {
	cfg := scriptCfg()
	cfg.DisableWindowScale = false
	cfg.RecvBuffer = 256 << 10
	s := newScript(t, cfg)
	s.c, _ = s.h.Connect(addrA, s.peer)
	s.local = s.c.LocalAddr()
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S], seq 0, win 65535, options [mss 1460,sackOK,TS val 1603323636 ecr 0,nop,wscale 3], length 0")
	s.inject(seg{flags: SA, seq: 0, ack: 1, win: 65535, mss: 1000, hasWS: true, wscale: 3})
	s.expect("Flags [.], ack 1, win 32768, length 0")
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 100})
	if i := s.c.Info(); i.SndWnd != 800 || i.SndMSS != 1000 || i.SndWndScale != 3 || i.RcvWndScale != 3 {
		t.Fatalf("info %+v", i)
	}
}

// ============================================================
// ESTABLISHED: receiving (RFC 9293 §3.10.7.4, RFC 5681 §4.2)
// ============================================================

// One segment: ACK delayed by the 40 ms timer. Two full segments: ACK at once.
func TestEstablished_DelayedAck(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: PA, seq: 1, ack: 1, win: 65535, data: data(100)})
	s.none()
	s.advance(100 * time.Millisecond)
	s.expect("Flags [.], ack 101, win 63900, length 0 @50ms")
	if got := s.read(); len(got) != 100 {
		t.Fatalf("read %d", len(got))
	}
	s.inject(seg{flags: A, seq: 101, ack: 1, win: 65535, data: data(1460)})
	s.none()
	s.inject(seg{flags: A, seq: 1561, ack: 1, win: 65535, data: data(1460)})
	// Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): reading 100 bytes did
	// not move the right edge (less than one MSS), so the window shrinks
	// by what arrived.
	s.expect("Flags [.], ack 3021, win 60980, length 0 @110ms")
}

// Out-of-order data: immediate duplicate ACK, data held; the segment that
// fills the gap is acknowledged at once and everything becomes readable.
func TestEstablished_OutOfOrderReassembly(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: A, seq: 201, ack: 1, win: 65535, data: data(100)})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	s.inject(seg{flags: A, seq: 401, ack: 1, win: 65535, data: data(100)})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	if i := s.c.Info(); i.OutOfOrderBlocks != 2 || i.OutOfOrderBytes != 200 {
		t.Fatalf("info %+v", i)
	}
	if s.c.Readable() != 0 {
		t.Fatal("out-of-order data readable")
	}
	// Overlapping fill of the first gap and part of the first block.
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(250)})
	s.expect("Flags [.], ack 301, win 63700, length 0")
	s.inject(seg{flags: A, seq: 301, ack: 1, win: 65535, data: data(100)})
	s.expect("Flags [.], ack 501, win 63500, length 0")
	if s.c.Readable() != 500 || s.c.Info().OutOfOrderBlocks != 0 {
		t.Fatalf("readable %d", s.c.Readable())
	}
}

// Unacceptable segments (beyond the window, or old duplicates) get an ACK
// and are dropped (RFC 9293 §3.10.7.4 first step).
func TestEstablished_OutOfWindow(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: A, seq: 64001, ack: 1, win: 65535, data: data(10)})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(10)})
	s.advance(time.Second)
	s.expect("Flags [.], ack 11, win 63990, length 0")
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(10)}) // duplicate
	s.expect("Flags [.], ack 11, win 63990, length 0")
	if c := s.h.Counters(); c.TCPOutOfWindow != 2 {
		t.Fatalf("out of window %d", c.TCPOutOfWindow)
	}
}

// An ACK of data never sent: "send an ACK, drop the segment".
func TestEstablished_AckOfUnsentData(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: A, seq: 1, ack: 100, win: 65535, data: data(10)})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	if s.c.Readable() != 0 {
		t.Fatal("data of a dropped segment was kept")
	}
}

// ============================================================
// RST and SYN in synchronized states: RFC 9293 §3.10.7.4 / RFC 5961
// ============================================================

func TestEstablished_RSTRules(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: R, seq: 100000}) // outside the window: dropped
	s.none()
	s.inject(seg{flags: R, seq: 5}) // in window, not RCV.NXT: challenge ACK
	s.expect("Flags [.], ack 1, win 64000, length 0")
	if s.c.State() != StateEstablished {
		t.Fatal("in-window RST reset the connection")
	}
	s.inject(seg{flags: R, seq: 1}) // exact: reset
	s.none()
	if !errors.Is(s.c.Err(), syscall.ECONNRESET) || s.c.State() != StateClosed || s.h.NumConns() != 0 {
		t.Fatalf("err %v state %v", s.c.Err(), s.c.State())
	}
	if _, err := s.c.Write([]byte("x")); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("write after reset: %v", err)
	}
}

func TestEstablished_SYNChallengeACK(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: S, seq: 500, win: 100})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	if s.c.State() != StateEstablished || s.h.Counters().TCPChallengeACKs != 1 {
		t.Fatal("SYN not answered by a challenge ACK")
	}
}

// ============================================================
// ESTABLISHED: sending
// ============================================================

// Writes are cut into MSS-sized segments, PSH on the last; the initial
// window is 10 segments (RFC 6928); the retransmission timer then fires at
// the RTO (200 ms floor) and backs off (RFC 6298 §5.4-5.6).
func TestEstablished_SegmentationAndRTO(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	if n, err := s.c.Write(data(3000)); n != 3000 || err != nil {
		t.Fatal(n, err)
	}
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460 @10ms")
	s.expect("Flags [.], seq 1461:2921, ack 1, win 64000, length 1460 @10ms")
	s.expect("Flags [P.], seq 2921:3001, ack 1, win 64000, length 80 @10ms")
	s.advance(time.Second)
	// SRTT 10 ms from the handshake: RTO = max(200 ms, 10 + 4×5 ms).
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460 @210ms")
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460 @610ms")
	s.none()
	s.inject(seg{flags: A, seq: 1, ack: 1461, win: 65535})
	// cwnd is 1 MSS after the timeout, +1 for the ACK: two segments.
	s.expect("Flags [.], seq 1461:2921, ack 1, win 64000, length 1460 @1.01s")
	s.expect("Flags [P.], seq 2921:3001, ack 1, win 64000, length 80 @1.01s")
	if i := s.c.Info(); i.Timeouts != 2 || i.Cwnd != 2*1460 || i.Ssthresh != 2*1460 {
		t.Fatalf("info %+v", i)
	}
}

// Fast retransmit after the third duplicate ACK (RFC 5681 §3.2), NewReno
// partial ACK retransmission (RFC 6582 §3.2 step 4), full ACK exits.
func TestEstablished_FastRetransmit(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Write(data(8 * 1000))
	for range 6 {
		s.out = s.out[1:] // 1460 × 5 + 700
	}
	s.none()
	s.advance(10 * time.Millisecond)
	for range 2 {
		s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
		s.none()
	}
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460 @20ms")
	if i := s.c.Info(); !i.InRecovery || i.FastRetransmits != 1 || i.Ssthresh != 4000 || i.Cwnd != 4000+3*1460 {
		t.Fatalf("info %+v", i)
	}
	// Partial ACK: segments 2 was lost too.
	s.inject(seg{flags: A, seq: 1, ack: 1461, win: 65535})
	s.expect("Flags [.], seq 1461:2921, ack 1, win 64000, length 1460")
	s.inject(seg{flags: A, seq: 1, ack: 8001, win: 65535})
	// RFC 6582 step 3 option (1): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
	if i := s.c.Info(); i.InRecovery || i.Cwnd != 2920 {
		t.Fatalf("info after full ACK %+v", i)
	}
}

// Nagle (RFC 9293 §3.7.4): a small segment waits while data is
// unacknowledged; SetNoDelay sends it at once.
func TestEstablished_Nagle(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Write(data(10))
	s.expect("Flags [P.], seq 1:11, ack 1, win 64000, length 10 @10ms")
	s.c.Write(data(10))
	s.none()
	s.advance(5 * time.Millisecond)
	s.inject(seg{flags: A, seq: 1, ack: 11, win: 65535})
	s.expect("Flags [P.], seq 11:21, ack 1, win 64000, length 10 @15ms")
	s.c.SetNoDelay(true)
	s.c.Write(data(10))
	s.expect("Flags [P.], seq 21:31, ack 1, win 64000, length 10 @15ms")
}

// Zero window (RFC 9293 §3.8.6.1): data waits, the persist timer probes
// with backoff; the window update restarts sending.
func TestEstablished_ZeroWindowProbe(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 0})
	s.c.Write(data(100))
	s.none()
	s.advance(700 * time.Millisecond)
	s.expect("Flags [.], ack 1, win 64000, length 0 @210ms")
	s.expect("Flags [.], ack 1, win 64000, length 0 @610ms")
	s.none()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 0})
	s.none()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 1000})
	s.expect("Flags [P.], seq 1:101, ack 1, win 64000, length 100 @710ms")
	if s.h.Counters().TCPZeroWindowProbes != 2 {
		t.Fatal("probes not counted")
	}
}

// Receiver side of a zero window: when the buffer is full the host
// advertises 0; reading opens it with a window update.
func TestEstablished_ReceiverWindowUpdate(t *testing.T) {
	cfg := scriptCfg()
	cfg.RecvBuffer = 4000
	s := newScript(t, cfg)
	s.l, _ = s.h.Listen(80, 1)
	s.inject(seg{flags: S, win: 65535, mss: 1000})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S.], seq 0, ack 1, win 4000, options [mss 1460], length 0")
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.c, _ = s.l.Accept()
	for i := range 4 {
		s.inject(seg{flags: A, seq: uint32(1 + 1000*i), ack: 1, win: 65535, data: data(1000)})
	}
	s.expect("Flags [.], ack 2001, win 2000, length 0")
	s.expect("Flags [.], ack 4001, win 0, length 0")
	s.inject(seg{flags: A, seq: 4001, ack: 1, win: 65535, data: data(1)})
	s.expect("Flags [.], ack 4001, win 0, length 0")
	s.read()
	s.expect("Flags [.], ack 4001, win 4000, length 0")
}

// ============================================================
// Closing: RFC 9293 §3.10.4 and §3.10.7.4 (FIN processing)
// ============================================================

// Active close: FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT → CLOSED after 2×MSL.
func TestClose_Active(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Close()
	s.expect("Flags [F.], seq 1, ack 1, win 64000, length 0 @10ms")
	if s.c.State() != StateFinWait1 {
		t.Fatal(s.c.State())
	}
	s.inject(seg{flags: A, seq: 1, ack: 2, win: 65535})
	if s.c.State() != StateFinWait2 {
		t.Fatal(s.c.State())
	}
	s.advance(time.Second)
	s.inject(seg{flags: FA, seq: 1, ack: 2, win: 65535})
	s.expect("Flags [.], ack 2, win 64000, length 0 @1.01s")
	if s.c.State() != StateTimeWait {
		t.Fatal(s.c.State())
	}
	// A retransmitted FIN is acknowledged again and restarts the 2 MSL timer.
	s.advance(10 * time.Second)
	s.inject(seg{flags: FA, seq: 1, ack: 2, win: 65535})
	s.expect("Flags [.], ack 2, win 64000, length 0 @11.01s")
	s.advance(20*time.Second - time.Millisecond)
	if s.c.State() != StateTimeWait {
		t.Fatal("TIME_WAIT ended early")
	}
	s.advance(time.Millisecond)
	if s.c.State() != StateClosed || s.h.NumConns() != 0 {
		t.Fatal("TIME_WAIT did not end after 2×MSL")
	}
}

// Passive close: the peer's FIN is acknowledged at once, Read returns EOF,
// CLOSE_WAIT; our Close sends FIN → LAST_ACK → CLOSED on its ACK.
func TestClose_Passive(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: FA, seq: 1, ack: 1, win: 65535, data: data(5)})
	s.expect("Flags [.], ack 7, win 63995, length 0 @10ms")
	if s.c.State() != StateCloseWait || s.read() != "abcde" {
		t.Fatal(s.c.State())
	}
	if _, err := s.c.Read(make([]byte, 10)); err != io.EOF {
		t.Fatalf("read after FIN: %v", err)
	}
	// Half-close: we may still send.
	s.c.Write(data(3))
	s.expect("Flags [P.], seq 1:4, ack 7, win 63995, length 3")
	s.c.Close()
	s.expect("Flags [F.], seq 4, ack 7, win 63995, length 0")
	if s.c.State() != StateLastAck {
		t.Fatal(s.c.State())
	}
	s.inject(seg{flags: A, seq: 7, ack: 5, win: 65535})
	if s.c.State() != StateClosed || s.h.NumConns() != 0 {
		t.Fatal(s.c.State())
	}
}

// Simultaneous close: FIN crosses FIN → CLOSING → TIME_WAIT.
func TestClose_Simultaneous(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Close()
	s.expect("Flags [F.], seq 1, ack 1, win 64000, length 0")
	s.inject(seg{flags: FA, seq: 1, ack: 1, win: 65535})
	s.expect("Flags [.], ack 2, win 64000, length 0")
	if s.c.State() != StateClosing {
		t.Fatal(s.c.State())
	}
	s.inject(seg{flags: A, seq: 2, ack: 2, win: 65535})
	if s.c.State() != StateTimeWait {
		t.Fatal(s.c.State())
	}
}

// FIN_WAIT_1 receiving FIN+ACK of our FIN goes straight to TIME_WAIT.
func TestClose_FinWait1ToTimeWait(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Close()
	s.expect("Flags [F.], seq 1, ack 1, win 64000, length 0")
	s.inject(seg{flags: FA, seq: 1, ack: 2, win: 65535})
	s.expect("Flags [.], ack 2, win 64000, length 0")
	if s.c.State() != StateTimeWait {
		t.Fatal(s.c.State())
	}
}

// The FIN is retransmitted by the RTO like data.
func TestClose_FINRetransmission(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Close()
	s.expect("Flags [F.], seq 1, ack 1, win 64000, length 0 @10ms")
	s.advance(time.Second)
	s.expect("Flags [F.], seq 1, ack 1, win 64000, length 0 @210ms")
	s.expect("Flags [F.], seq 1, ack 1, win 64000, length 0 @610ms")
}

// RST in LAST_ACK, CLOSING or TIME_WAIT: enter CLOSED (RFC 9293 §3.10.7.4 second step).
func TestClose_RSTInLastAckAndTimeWait(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: FA, seq: 1, ack: 1, win: 65535})
	s.c.Close()
	s.out = nil
	s.inject(seg{flags: R, seq: 2})
	if s.c.State() != StateClosed || s.h.NumConns() != 0 {
		t.Fatal(s.c.State())
	}
	s2 := newScript(t, scriptCfg())
	s2.passiveOpen()
	s2.c.Close()
	s2.inject(seg{flags: FA, seq: 1, ack: 2, win: 65535})
	s2.inject(seg{flags: R, seq: 2})
	if s2.c.State() != StateClosed {
		t.Fatal(s2.c.State())
	}
}

// Close with unread data resets (RFC 2525 §2.17); Abort resets.
func TestClose_UnreadDataAndAbortReset(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: PA, seq: 1, ack: 1, win: 65535, data: data(5)})
	s.c.Close()
	s.expect("Flags [R.], seq 1, ack 6, win 0, length 0")
	s2 := newScript(t, scriptCfg())
	s2.passiveOpen()
	s2.c.Abort()
	s2.expect("Flags [R.], seq 1, ack 1, win 0, length 0")
	if s2.h.NumConns() != 0 {
		t.Fatal("abort left the connection")
	}
}

// A new SYN in TIME_WAIT with a higher sequence number reopens the 4-tuple
// (RFC 6191 / RFC 1122 §4.2.2.13).
func TestTimeWait_SYNReuse(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Close()
	s.inject(seg{flags: FA, seq: 1, ack: 2, win: 65535})
	s.out = nil
	s.inject(seg{flags: S, seq: 100000, win: 65535})
	if len(s.out) != 1 || s.out[0].pkt.TCP.Flags != SA {
		t.Fatalf("no SYN-ACK for the new incarnation: %v", s.out)
	}
	if s.h.Counters().TCPTimeWaitReuse != 1 {
		t.Fatal("reuse not counted")
	}
}
