package stack

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// ============================================================
// Simultaneous open completed by the peer's SYN,ACK: RFC 9293 §3.5
// Figure 8, line 6
// ============================================================

// simultaneousToSynReceived runs Connect, the crossing SYN at 5 ms and our
// SYN,ACK, leaving the host in SYN_RECEIVED from an active open.
func simultaneousToSynReceived(s *script) {
	s.t.Helper()
	var err error
	s.c, err = s.h.Connect(addrA, s.peer)
	if err != nil {
		s.t.Fatal(err)
	}
	s.c.SetNotify(func(e Event) { s.events = append(s.events, e) })
	s.local = s.c.LocalAddr()
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S], seq 0, win 64000, options [mss 1460,sackOK,TS val 1603323636 ecr 0], length 0 @0s")
	s.advance(5 * time.Millisecond)
	s.inject(seg{flags: S, seq: 0, win: 65535, mss: 1460})
	s.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1460], length 0 @5ms")
	if st := s.c.State(); st != StateSynReceived {
		s.t.Fatalf("state %v, want SYN_RECEIVED", st)
	}
}

// The peer's SYN,ACK (SEG.SEQ = IRS, acknowledging our SYN) enters
// ESTABLISHED, draws an ACK, tells the application, takes the peer's
// unscaled window, and text riding on it is delivered.
func TestSynReceived_SimultaneousSynAckEstablishes(t *testing.T) {
	s := newScript(t, scriptCfg())
	simultaneousToSynReceived(s)
	s.advance(5 * time.Millisecond)
	s.inject(seg{flags: SA | P, seq: 0, ack: 1, win: 30000, mss: 1460, data: []byte("hi")})
	s.expect("Flags [.], ack 3, win 63998, length 0 @10ms")
	s.none()
	if st := s.c.State(); st != StateEstablished {
		t.Fatalf("state %v, want ESTABLISHED", st)
	}
	var ev Event
	for _, e := range s.events {
		ev |= e
	}
	if ev&EventEstablished == 0 || ev&EventReadable == 0 {
		t.Fatalf("events %v: want established and readable", ev)
	}
	if got := s.read(); got != "hi" {
		t.Fatalf("read %q", got)
	}
	if i := s.c.Info(); i.SndWnd != 30000 || i.Backoff != 0 {
		t.Fatalf("info %+v", i)
	}
	// The retransmission timer for our SYN,ACK is off: nothing more is sent.
	s.advance(10 * time.Second)
	s.none()
	// Data flows at once.
	s.c.Write([]byte("ok"))
	s.expect("Flags [P.], seq 1:3, ack 3, win 63998, length 2 @10.01s") // 2 bytes read: below the SWS threshold
}

// A SYN,ACK that acknowledges something we never sent does not complete the
// open: it falls to the ordinary checks (an old sequence number: ACK and
// drop, RFC 9293 §3.10.7.4 first step).
func TestSynReceived_SimultaneousSynAckBadAck(t *testing.T) {
	s := newScript(t, scriptCfg())
	simultaneousToSynReceived(s)
	s.inject(seg{flags: SA, seq: 0, ack: 7, win: 65535, mss: 1460})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	if st := s.c.State(); st != StateSynReceived {
		t.Fatalf("state %v, want SYN_RECEIVED", st)
	}
	// A SYN,ACK with another sequence number is not the peer's SYN again.
	s.inject(seg{flags: SA, seq: 77, ack: 1, win: 65535, mss: 1460})
	if st := s.c.State(); st != StateSynReceived {
		t.Fatalf("state %v, want SYN_RECEIVED", st)
	}
}

// A passive open never sent a bare SYN, so a SYN,ACK in its SYN_RECEIVED
// is not Figure 8's line 6 and does not establish the connection.
func TestSynReceived_PassiveIgnoresSynAck(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.l, _ = s.h.Listen(80, 8)
	s.inject(seg{flags: S, win: 65535, mss: 1460})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.out = nil
	s.inject(seg{flags: SA, seq: 0, ack: 1, win: 65535, mss: 1460})
	s.expect("Flags [.], ack 1, win 64000, length 0")
	if _, err := s.l.Accept(); err != ErrWouldBlock {
		t.Fatalf("accept: %v, want ErrWouldBlock", err)
	}
}

// ============================================================
// Karn's algorithm and the backed-off RTO: RFC 6298 §3 and §5
// ============================================================

// After a timeout, the ACK of the retransmitted segment gives no RTT sample
// and keeps the backed-off RTO for the next segment (400 ms, not 200 ms);
// a further expiry doubles it again; only a fresh sample (an ACK for a
// segment sent once) collapses it back to the estimator's value.
func TestEstablished_KarnKeepsBackoffUntilFreshSample(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen() // SRTT 10 ms: RTO 200 ms (the floor)
	s.c.Write(data(100))
	s.expect("Flags [P.], seq 1:101, ack 1, win 64000, length 100 @10ms")
	s.advance(250 * time.Millisecond)
	s.expect("Flags [P.], seq 1:101, ack 1, win 64000, length 100 @210ms")
	s.inject(seg{flags: A, seq: 1, ack: 101, win: 65535}) // @260ms: acks a retransmission
	if i := s.c.Info(); i.Backoff != 1 || i.SRTT != 10*time.Millisecond {
		t.Fatalf("after the ambiguous ACK: backoff %d srtt %v, want 1 and 10ms (no sample)", i.Backoff, i.SRTT)
	}
	s.c.Write(data(100))
	s.expect("Flags [P.], seq 101:201, ack 1, win 64000, length 100 @260ms")
	s.advance(410 * time.Millisecond) // to 670 ms
	s.expect("Flags [P.], seq 101:201, ack 1, win 64000, length 100 @660ms")
	s.none()
	s.inject(seg{flags: A, seq: 1, ack: 201, win: 65535}) // @670ms: again a retransmission
	s.c.Write(data(100))
	s.expect("Flags [P.], seq 201:301, ack 1, win 64000, length 100 @670ms")
	// Backoff 2: this segment's timer would run 800 ms. Its ACK (sent
	// once, so a valid sample of 10 ms) arrives first and ends the backoff.
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: A, seq: 1, ack: 301, win: 65535})
	if i := s.c.Info(); i.Backoff != 0 || i.RTO != 200*time.Millisecond {
		t.Fatalf("after a fresh sample: backoff %d rto %v, want 0 and 200ms", i.Backoff, i.RTO)
	}
	s.c.Write(data(100))
	s.expect("Flags [P.], seq 301:401, ack 1, win 64000, length 100 @680ms")
	s.advance(time.Second)
	s.expect("Flags [P.], seq 301:401, ack 1, win 64000, length 100 @880ms")
}

// The same with the second segment timing out while the backoff is kept:
// the timer runs from the backed-off RTO, not from the collapsed one.
func TestEstablished_BackoffKeptAcrossAmbiguousAck(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Write(data(100))
	s.advance(550 * time.Millisecond) // to 560 ms, before the second expiry at 610 ms
	s.expect("Flags [P.], seq 1:101, ack 1, win 64000, length 100 @10ms")
	s.expect("Flags [P.], seq 1:101, ack 1, win 64000, length 100 @210ms")
	s.none()
	s.inject(seg{flags: A, seq: 1, ack: 101, win: 65535}) // @560ms
	s.c.Write(data(100))
	s.expect("Flags [P.], seq 101:201, ack 1, win 64000, length 100 @560ms")
	s.advance(2 * time.Second)
	// 400 ms, then 800 ms: backoff 1 kept, then doubled by the new expiry.
	s.expect("Flags [P.], seq 101:201, ack 1, win 64000, length 100 @960ms")
	s.expect("Flags [P.], seq 101:201, ack 1, win 64000, length 100 @1.76s")
	s.none()
}

// DataRetries (RFC 9293 §3.8.3, R2) counts retransmissions of the segment
// at SND.UNA: forward progress restarts the count even though it keeps the
// timer's backoff.
func TestEstablished_DataRetriesRestartOnProgress(t *testing.T) {
	cfg := scriptCfg()
	cfg.DataRetries = 1
	s := newScript(t, cfg)
	s.passiveOpen()
	s.c.Write(data(100))
	s.advance(300 * time.Millisecond)
	s.expect("Flags [P.], seq 1:101, ack 1, win 64000, length 100 @10ms")
	s.expect("Flags [P.], seq 1:101, ack 1, win 64000, length 100 @210ms")
	s.inject(seg{flags: A, seq: 1, ack: 101, win: 65535}) // @310ms
	s.c.Write(data(100))
	s.expect("Flags [P.], seq 101:201, ack 1, win 64000, length 100 @310ms")
	s.advance(500 * time.Millisecond) // to 810 ms
	// One retransmission of the new segment is allowed (400 ms, backoff kept).
	s.expect("Flags [P.], seq 101:201, ack 1, win 64000, length 100 @710ms")
	if s.c.Err() != nil {
		t.Fatalf("failed after one retransmission of a new segment: %v", s.c.Err())
	}
	s.advance(2 * time.Second)
	s.none()
	if !errors.Is(s.c.Err(), syscall.ETIMEDOUT) || s.h.NumConns() != 0 {
		t.Fatalf("err %v conns %d, want ETIMEDOUT and none", s.c.Err(), s.h.NumConns())
	}
}

// ============================================================
// Zero-window probing gives up only on a silent peer: RFC 1122 §4.2.2.17
// ============================================================

// Probes answered with a zero window keep the connection open however many
// there are (RFC 9293 §3.8.6.1); the interval doubles each time. Once
// DataRetries probes in a row draw no ACK the connection times out.
func TestEstablished_ZeroWindowProbesGiveUpWhenUnanswered(t *testing.T) {
	cfg := scriptCfg()
	cfg.DataRetries = 2
	s := newScript(t, cfg)
	s.passiveOpen()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 0})
	s.c.Write(data(100))
	s.none()
	// Three probes, each answered (the window stays closed): more than
	// DataRetries, and the connection lives on.
	for _, at := range []time.Duration{210 * time.Millisecond, 610 * time.Millisecond, 1410 * time.Millisecond} {
		s.advance(at - s.now)
		s.expect(f("Flags [.], ack 1, win 64000, length 0 @%v", at))
		s.inject(seg{flags: A, seq: 1, ack: 1, win: 0})
		s.none()
	}
	if s.c.Err() != nil || s.c.State() != StateEstablished {
		t.Fatalf("answered probes ended the connection: %v %v", s.c.State(), s.c.Err())
	}
	// Then silence: two unanswered probes (1.6 s and 3.2 s later), and at
	// the next expiry (6.4 s later) ETIMEDOUT.
	s.advance(12 * time.Second) // to 13.41 s
	s.expect("Flags [.], ack 1, win 64000, length 0 @3.01s")
	s.expect("Flags [.], ack 1, win 64000, length 0 @6.21s")
	s.none()
	if !errors.Is(s.c.Err(), syscall.ETIMEDOUT) || s.h.NumConns() != 0 {
		t.Fatalf("err %v conns %d, want ETIMEDOUT and none", s.c.Err(), s.h.NumConns())
	}
	if n := s.h.Counters().TCPZeroWindowProbes; n != 5 {
		t.Fatalf("%d probes counted, want 5", n)
	}
}

// ============================================================
// TIME_WAIT reuse: RFC 1122 §4.2.2.13
// ============================================================

// A SYN that ends TIME_WAIT opens the new incarnation with an ISS above
// every sequence number the old one used (old SND.NXT + 65537, as Linux),
// even when the clock-driven RFC 6528 ISN has not moved that far.
func TestTimeWait_ReuseISSAboveOldSequenceSpace(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.c.Write(data(10000))
	s.out = nil
	s.inject(seg{flags: A, seq: 1, ack: 10001, win: 65535})
	s.c.Close()
	s.expect("Flags [F.], seq 10001, ack 1, win 64000, length 0")
	s.inject(seg{flags: FA, seq: 1, ack: 10002, win: 65535})
	s.expect("Flags [.], ack 2, win 64000, length 0")
	if s.c.State() != StateTimeWait {
		t.Fatalf("state %v", s.c.State())
	}
	s.advance(time.Millisecond)
	s.inject(seg{flags: S, seq: 100000, win: 65535, mss: 1460})
	// Relative to the old ISS: old SND.NXT is 10002 (data and FIN).
	s.expect("Flags [S.], seq 75539, ack 100001, win 64000, options [mss 1460], length 0")
	if s.h.Counters().TCPTimeWaitReuse != 1 {
		t.Fatal("reuse not counted")
	}
	// The override is used once: the next connection gets its RFC 6528 ISN.
	s.peer = netipAP(s.peer.Addr(), 40001)
	s.inject(seg{flags: S, seq: 0, win: 65535, mss: 1460})
	if got := uint32(s.out[0].pkt.TCP.Seq) - s.iss; got == 10002+65537 {
		t.Fatalf("the TIME_WAIT ISS leaked into an unrelated connection")
	}
}

// ============================================================
// Restarting an idle connection: RFC 5681 §4.1
// ============================================================

// growCwnd opens a passive connection, sends 10 segments (the initial
// window) and acknowledges them one by one, so slow start doubles cwnd to
// 20 segments.
func growCwnd(s *script) {
	s.t.Helper()
	s.passiveOpen()
	s.c.Write(data(10 * 1460))
	s.out = nil
	s.advance(10 * time.Millisecond)
	for k := uint32(1); k <= 10; k++ { // RFC 5681 eq. (2): one SMSS per ACK
		s.inject(seg{flags: A, seq: 1, ack: k*1460 + 1, win: 65535})
	}
	if i := s.c.Info(); i.Cwnd != 20*1460 {
		s.t.Fatalf("cwnd %d, want %d", i.Cwnd, 20*1460)
	}
}

// After sending nothing for longer than the RTO, cwnd falls back to the
// restart window (the initial window, 10 segments) before new data leaves;
// without the pause the grown window is used, and so it is after any pause
// with NoSlowStartAfterIdle.
func TestEstablished_IdleRestartWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		idle   time.Duration
		noSSAI bool // NoSlowStartAfterIdle: Linux's tcp_slow_start_after_idle=0
		want   int  // segments sent at once
	}{
		{"busy", 0, false, 20},
		{"idle-below-rto", 150 * time.Millisecond, false, 20},
		{"idle-above-rto", 300 * time.Millisecond, false, 10},
		{"idle-above-rto-no-restart", 300 * time.Millisecond, true, 20},
		{"idle-long-no-restart", 30 * time.Second, true, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := scriptCfg()
			cfg.NoSlowStartAfterIdle = tc.noSSAI
			s := newScript(t, cfg)
			growCwnd(s) // RTO 200 ms; last data sent at 10 ms, ACK at 20 ms
			s.advance(tc.idle)
			s.c.Write(data(30 * 1460))
			if len(s.out) != tc.want {
				t.Fatalf("%d segments sent after %v idle, want %d", len(s.out), tc.idle, tc.want)
			}
		})
	}
}

// ============================================================
// Sequence acceptability: RFC 9293 §3.10.7.4 first step
// ============================================================

// The four cases of the acceptability table, at and around the window's
// edges, and across the 2^32 wrap.
func TestAcceptable_Table(t *testing.T) {
	const top = ^uint32(0)
	for _, tc := range []struct {
		seq, segLen, rcvNxt, rcvWnd uint32
		want                        bool
	}{
		// SEG.LEN = 0, RCV.WND = 0: only SEG.SEQ = RCV.NXT.
		{100, 0, 100, 0, true},
		{101, 0, 100, 0, false},
		{99, 0, 100, 0, false},
		// SEG.LEN = 0, RCV.WND > 0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND.
		{100, 0, 100, 10, true},
		{109, 0, 100, 10, true},
		{110, 0, 100, 10, false},
		{99, 0, 100, 10, false},
		// SEG.LEN > 0, RCV.WND = 0: never.
		{100, 1, 100, 0, false},
		// SEG.LEN > 0, RCV.WND > 0: the first or the last octet in the window.
		{100, 5, 100, 10, true},
		{95, 6, 100, 10, true},   // last octet 100: straddles the left edge
		{95, 5, 100, 10, false},  // last octet 99: entirely old
		{109, 50, 100, 10, true}, // first octet in, the rest beyond
		{110, 5, 100, 10, false}, // entirely beyond
		// Across the wrap.
		{top - 1, 4, top - 2, 10, true},
		{3, 1, top - 2, 10, true},
		{8, 1, top - 2, 10, false},
		{top - 5, 4, top - 2, 10, true}, // octets top-5..top-2: the last is RCV.NXT
		{top - 6, 4, top - 2, 10, false},
	} {
		got := acceptable(segment.Seq(tc.seq), tc.segLen, segment.Seq(tc.rcvNxt), tc.rcvWnd)
		if got != tc.want {
			t.Errorf("acceptable(seq %d, len %d, rcv.nxt %d, rcv.wnd %d) = %v, want %v",
				tc.seq, tc.segLen, tc.rcvNxt, tc.rcvWnd, got, tc.want)
		}
	}
}

// A segment straddling the left edge (old octets, then new ones) is
// acceptable; only the new part is taken ("only the new parts are
// processed") and the application reads each octet once.
func TestEstablished_StraddlingSegmentTrimmed(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: []byte("abcdef")})
	s.inject(seg{flags: PA, seq: 4, ack: 1, win: 65535, data: []byte("defghi")})
	s.advance(100 * time.Millisecond)
	s.expect("Flags [.], ack 10, win 63991, length 0 @50ms") // the delayed ACK: 9 octets, less than two segments
	if got := s.read(); got != "abcdefghi" {
		t.Fatalf("read %q", got)
	}
	if c := s.h.Counters(); c.TCPOutOfWindow != 0 {
		t.Fatalf("a straddling segment counted out of window: %d", c.TCPOutOfWindow)
	}
}

// ============================================================
// Receiver SWS avoidance: RFC 9293 §3.8.6.2.2
// ============================================================

// After a zero window, small reads do not move the right edge: the window
// is reopened only when it can grow by min(RCV.BUFF/2, MSS); a segment sent
// meanwhile still shows the old right edge (the window never shrinks and
// never creeps).
func TestEstablished_ReceiverSWSAvoidance(t *testing.T) {
	cfg := scriptCfg()
	cfg.RecvBuffer = 4000
	s := newScript(t, cfg)
	s.acceptSilently(seg{flags: S, win: 65535, mss: 1460})
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(2000)})
	s.inject(seg{flags: A, seq: 2001, ack: 1, win: 65535, data: data(2000)})
	s.expect("Flags [.], ack 4001, win 0, length 0")
	buf := make([]byte, 500)
	if n, _ := s.c.Read(buf); n != 500 {
		t.Fatal(n)
	}
	s.none() // 500 < min(2000, 1460): no window update
	s.c.SetNoDelay(true)
	s.c.Write([]byte("x")) // our data shows the old right edge: window 0
	s.expect("Flags [P.], seq 1:2, ack 4001, win 0, length 1")
	if n, _ := s.c.Read(buf); n != 500 {
		t.Fatal(n)
	}
	s.none() // 1000 free: still below 1460
	if n, _ := s.c.Read(buf); n != 500 {
		t.Fatal(n)
	}
	s.expect("Flags [.], ack 4001, win 1500, length 0") // 1500 ≥ 1460: update
}

// RFC 9293 §3.8.6.3 (MUST-40): an ACK must not be delayed by 0.5 s or more;
// the configuration says so by name and value. 499 ms is accepted.
func TestConfig_DelayedAckBound(t *testing.T) {
	_, err := NewHost(HostConfig{Env: &script{}, TCP: TCPConfig{DelayedAck: 500 * time.Millisecond}})
	if err == nil || !strings.Contains(err.Error(), "DelayedAck is 500ms") {
		t.Errorf("DelayedAck 500ms: %v", err)
	}
	if _, err := NewHost(HostConfig{Env: &script{}, TCP: TCPConfig{DelayedAck: 499 * time.Millisecond}}); err != nil {
		t.Errorf("DelayedAck 499ms: %v", err)
	}
}
