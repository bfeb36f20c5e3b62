package stack

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// RFC 7323 timestamps, as scripts: negotiation, TS.Recent, PAWS, RTTM.

// scriptTS0 is the script host's TSval at time 0: its TSval clock offset
// for 10.0.0.1 → 10.0.0.2 with seed 1, as its first SYN shows it. Every
// TSval it sends is scriptTS0 plus the virtual time in milliseconds.
const scriptTS0 = 1603323636

func tsAt(d time.Duration) uint32 { return scriptTS0 + uint32(d/time.Millisecond) }

// tsOpen is passiveOpen with a peer that offers timestamps: SYN with TSval
// 5000 at 0, the ACK with TSval 5010 at 10 ms.
func (s *script) tsOpen() {
	s.t.Helper()
	var err error
	if s.l, err = s.h.Listen(80, 8); err != nil {
		s.t.Fatal(err)
	}
	s.inject(seg{flags: S, win: 65535, mss: 1460, ts: true, tsval: 5000})
	if len(s.out) != 1 {
		s.t.Fatal("no SYN-ACK")
	}
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	// RFC 7323 §3.2: the SYN-ACK answers TSopt with TSopt, TSecr echoing
	// the SYN's TSval.
	opts := "mss 1460,nop,nop"
	if s.sackPermitted {
		opts = "mss 1460,sackOK" // the SYN offered SACK too
	}
	s.expect(f("Flags [S.], seq 0, ack 1, win 64000, options [%s,TS val %d ecr 5000], length 0 @0s", opts, tsAt(0)))
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, ts: true, tsval: 5010, tsecr: tsAt(0)})
	s.none()
	if s.c, err = s.l.Accept(); err != nil {
		s.t.Fatalf("accept: %v", err)
	}
	s.c.SetNotify(func(e Event) { s.events = append(s.events, e) })
}

// Both SYNs carry TSopt: timestamps are in use, every segment carries
// them, and a full segment holds MSS − 12 bytes (as Linux).
func TestTimestamps_PassiveNegotiated(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.tsOpen()
	in := s.c.Info()
	if !in.Timestamps || in.TSRecent != 5010 || in.SndMSS != 1448 {
		t.Fatalf("Timestamps %v TSRecent %d SndMSS %d, want true, 5010, 1448", in.Timestamps, in.TSRecent, in.SndMSS)
	}
	if _, err := s.c.Write(data(3000)); err != nil {
		t.Fatal(err)
	}
	opts := f("options [nop,nop,TS val %d ecr 5010]", tsAt(10*time.Millisecond))
	s.expect("Flags [.], seq 1:1449, ack 1, win 64000, " + opts + ", length 1448")
	s.expect("Flags [.], seq 1449:2897, ack 1, win 64000, " + opts + ", length 1448")
	s.expect("Flags [P.], seq 2897:3001, ack 1, win 64000, " + opts + ", length 104")
	s.none()
}

// The peer's SYN has no TSopt: none is sent, the MSS is whole, and a TSopt
// arriving later is ignored (RFC 7323 §3.2: "MUST be ignored"), PAWS
// included.
func TestTimestamps_PeerWithout(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.passiveOpen() // its expectations: a SYN-ACK without TSopt
	if in := s.c.Info(); in.Timestamps || in.SndMSS != 1460 {
		t.Fatalf("Timestamps %v SndMSS %d, want false, 1460", in.Timestamps, in.SndMSS)
	}
	s.inject(seg{flags: PA, seq: 1, ack: 1, win: 65535, data: data(10), ts: true, tsval: 9000})
	s.inject(seg{flags: PA, seq: 11, ack: 1, win: 65535, data: data(10), ts: true, tsval: 1}) // "older": no PAWS
	s.expect("Flags [.], ack 21, win 63980, length 0")
	if got := s.read(); len(got) != 20 {
		t.Fatalf("read %q, want 20 bytes", got)
	}
	if c := s.h.Counters(); c.PAWSEstabRejected != 0 {
		t.Fatalf("PAWSEstabRejected %d without timestamps", c.PAWSEstabRejected)
	}
}

// DisableTimestamps: the SYN offers none, and a SYN offering them is
// answered without.
func TestTimestamps_DisabledLocally(t *testing.T) {
	cfg := scriptCfg()
	cfg.DisableTimestamps = true
	s := newScript(t, cfg)
	c, err := s.h.Connect(netip.Addr{}, s.peer)
	if err != nil {
		t.Fatal(err)
	}
	s.local = c.LocalAddr()
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect("Flags [S], seq 0, win 64000, options [mss 1460,nop,nop,sackOK], length 0")

	s = newScript(t, cfg)
	s.acceptSilently(seg{flags: S, win: 65535, mss: 1460, ts: true, tsval: 5000})
	if in := s.c.Info(); in.Timestamps || in.SndMSS != 1460 {
		t.Fatalf("Timestamps %v SndMSS %d, want false, 1460", in.Timestamps, in.SndMSS)
	}
	s2 := newScript(t, cfg)
	if _, err := s2.h.Listen(80, 1); err != nil {
		t.Fatal(err)
	}
	s2.inject(seg{flags: S, win: 65535, mss: 1460, ts: true, tsval: 5000})
	s2.iss = uint32(s2.out[0].pkt.TCP.Seq)
	s2.expect("Flags [S.], seq 0, ack 1, win 64000, options [mss 1460], length 0")
}

// Active open with both on: the SYN's TSecr is zero (no ACK bit), the
// SYN-ACK's TSval becomes TS.Recent and is echoed at once.
func TestTimestamps_ActiveNegotiated(t *testing.T) {
	s := newScript(t, scriptCfg())
	c, err := s.h.Connect(netip.Addr{}, s.peer)
	if err != nil {
		t.Fatal(err)
	}
	s.c, s.local = c, c.LocalAddr()
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.expect(f("Flags [S], seq 0, win 64000, options [mss 1460,sackOK,TS val %d ecr 0], length 0 @0s", tsAt(0)))
	s.advance(10 * time.Millisecond)
	s.inject(seg{flags: SA, ack: 1, win: 65535, mss: 1460, ts: true, tsval: 7000, tsecr: tsAt(0)})
	s.expect(f("Flags [.], ack 1, win 64000, options [nop,nop,TS val %d ecr 7000], length 0 @10ms", tsAt(10*time.Millisecond)))
	if in := c.Info(); in.State != StateEstablished || !in.Timestamps || in.SndMSS != 1448 || in.SRTT != 10*time.Millisecond {
		t.Fatalf("info %+v", in)
	}
}

// Linux's PAWSActiveRejected: a SYN-ACK whose TSecr is no TSval of ours
// (before the connection began, or in the future) answers some other SYN:
// RST, counted, and the connection stays in SYN_SENT.
func TestTimestamps_PAWSActiveRejected(t *testing.T) {
	for _, ecr := range []uint32{tsAt(0) - 1, tsAt(time.Hour)} {
		s := newScript(t, scriptCfg())
		c, err := s.h.Connect(netip.Addr{}, s.peer)
		if err != nil {
			t.Fatal(err)
		}
		s.c, s.local = c, c.LocalAddr()
		s.iss = uint32(s.out[0].pkt.TCP.Seq)
		s.out = nil
		s.advance(10 * time.Millisecond)
		s.inject(seg{flags: SA, ack: 1, win: 65535, mss: 1460, ts: true, tsval: 7000, tsecr: ecr})
		s.expect("Flags [R], seq 1, win 0, length 0")
		if c.State() != StateSynSent || s.h.Counters().PAWSActiveRejected != 1 {
			t.Fatalf("ecr %d: state %v, PAWSActiveRejected %d", ecr, c.State(), s.h.Counters().PAWSActiveRejected)
		}
		// The right SYN-ACK still completes the handshake.
		s.inject(seg{flags: SA, ack: 1, win: 65535, mss: 1460, ts: true, tsval: 7001, tsecr: tsAt(0)})
		if c.State() != StateEstablished {
			t.Fatalf("state %v after a good SYN-ACK", c.State())
		}
	}
}

// RFC 7323 §4.3: TS.Recent is set only by a segment that holds
// Last.ACK.sent. With an ACK delayed, the earliest segment's TSval is
// echoed (case A); a segment after a hole does not set it, the one filling
// the hole does (cases B, C); a pure ACK at Last.ACK.sent sets it, one
// beyond does not.
func TestTimestamps_TSRecentUpdateRule(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.tsOpen()
	s.advance(10 * time.Millisecond) // 20 ms
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(100), ts: true, tsval: 6000})
	s.none() // delayed
	s.advance(time.Millisecond)
	s.inject(seg{flags: A, seq: 101, ack: 1, win: 65535, data: data(100), ts: true, tsval: 6001})
	at := tsAt(21 * time.Millisecond)
	s.expect(f("Flags [.], ack 201, win 63800, options [nop,nop,TS val %d ecr 6000], length 0", at))

	s.inject(seg{flags: A, seq: 301, ack: 1, win: 65535, data: data(100), ts: true, tsval: 6003}) // after a hole
	s.expect(f("Flags [.], ack 201, win 63800, options [nop,nop,TS val %d ecr 6000], length 0", at))
	s.inject(seg{flags: A, seq: 201, ack: 1, win: 65535, data: data(100), ts: true, tsval: 6004}) // fills it
	s.expect(f("Flags [.], ack 401, win 63600, options [nop,nop,TS val %d ecr 6004], length 0", at))

	s.inject(seg{flags: A, seq: 401, ack: 1, win: 65535, ts: true, tsval: 6010}) // pure ACK at Last.ACK.sent
	s.inject(seg{flags: A, seq: 450, ack: 1, win: 65535, ts: true, tsval: 6020}) // pure ACK beyond it
	s.none()
	if got := s.c.Info().TSRecent; got != 6010 {
		t.Fatalf("TS.Recent %d, want 6010", got)
	}
	if _, err := s.c.Write(data(10)); err != nil {
		t.Fatal(err)
	}
	s.expect(f("Flags [P.], seq 1:11, ack 401, win 63600, options [nop,nop,TS val %d ecr 6010], length 10", at))
}

// RFC 7323 §5.3 R1: an in-window segment whose TSval is older than
// TS.Recent is an old duplicate: dropped, counted, answered with an ACK.
// The segment with the same sequence numbers and a current TSval is then
// taken. Without timestamps the same old segment is taken as data.
func TestTimestamps_PAWSRejectsOldDuplicate(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.tsOpen()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(100), ts: true, tsval: 6000})
	s.none()
	s.advance(time.Millisecond)
	at := tsAt(11 * time.Millisecond)
	old := seg{flags: A, seq: 101, ack: 1, win: 65535, data: []byte("stale bytes from an earlier wrap!"), ts: true, tsval: 5500}
	s.inject(old)
	s.expect(f("Flags [.], ack 101, win 63900, options [nop,nop,TS val %d ecr 6000], length 0", at))
	if c := s.h.Counters(); c.PAWSEstabRejected != 1 {
		t.Fatalf("PAWSEstabRejected %d, want 1", c.PAWSEstabRejected)
	}
	if n := s.c.Readable(); n != 100 {
		t.Fatalf("readable %d, want 100: the old duplicate was taken", n)
	}
	s.inject(seg{flags: A, seq: 101, ack: 1, win: 65535, data: data(33), ts: true, tsval: 6001})
	s.none() // an ACK is owed, delayed
	s.advance(DefaultDelayedAck)
	s.expect(f("Flags [.], ack 134, win 63867, options [nop,nop,TS val %d ecr 6001], length 0 @51ms", tsAt(51*time.Millisecond)))
	if got := s.read(); got != string(data(100))+string(data(33)) {
		t.Fatalf("read %q", got)
	}
	// The same old segment on a connection without timestamps is data.
	s = newScript(t, scriptCfg())
	s.passiveOpen()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(100)})
	old.ts = false
	s.inject(old)
	if n := s.c.Readable(); n != 133 {
		t.Fatalf("without timestamps: readable %d, want 133", n)
	}
}

// PAWS never stops a RST (R1 "and the RST bit is not set"): an old TSval
// on a RST at RCV.NXT still resets.
func TestTimestamps_PAWSPassesRST(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.tsOpen()
	s.inject(seg{flags: R, seq: 1, ts: true, tsval: 1})
	if !errors.Is(s.c.Err(), syscall.ECONNRESET) {
		t.Fatalf("err %v after a RST with an old TSval, want ECONNRESET", s.c.Err())
	}
	if c := s.h.Counters(); c.PAWSEstabRejected != 0 || c.TCPRstReceived != 1 {
		t.Fatalf("PAWSEstabRejected %d TCPRstReceived %d", c.PAWSEstabRejected, c.TCPRstReceived)
	}
}

// RFC 7323 §5.5: after 24 days idle TS.Recent is invalid, so an "old"
// TSval (the peer's clock may have wrapped its sign bit) is accepted and
// becomes TS.Recent; a day less and it is still rejected.
func TestTimestamps_PAWS24DayIdle(t *testing.T) {
	for _, idle := range []time.Duration{23 * 24 * time.Hour, 25 * 24 * time.Hour} {
		s := newScript(t, scriptCfg())
		s.tsOpen()
		s.advance(idle)
		s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(10), ts: true, tsval: 4000})
		taken := s.c.Readable() == 10
		if want := idle > pawsIdle; taken != want {
			t.Fatalf("idle %v: segment taken %v, want %v", idle, taken, want)
		}
		if taken && s.c.Info().TSRecent != 4000 {
			t.Fatalf("idle %v: TS.Recent %d, want 4000", idle, s.c.Info().TSRecent)
		}
		if !taken && s.h.Counters().PAWSEstabRejected != 1 {
			t.Fatalf("idle %v: PAWSEstabRejected %d", idle, s.h.Counters().PAWSEstabRejected)
		}
	}
}

// RFC 7323 §4.1 with RFC 6298 §3: with timestamps an ACK of retransmitted
// data gives an RTT sample when its TSecr echoes the retransmission, which
// ends the backoff; an echo of the first transmission gives none (it may
// be the TS.Recent of a peer that saw duplicates, long ago), nor does any
// ACK without timestamps (Karn). With SACK as without (the SACK ACK path
// once skipped TSecr samples, so a backoff outlived the progress after it).
func TestTimestamps_RTTSampleAfterRetransmission(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sack        bool
		ecr         uint32
		wantBackoff uint
		wantSRTT    time.Duration
	}{
		{"echo of the retransmission", false, tsAt(210 * time.Millisecond), 0, 10*time.Millisecond - 10*time.Millisecond/8 + 20*time.Millisecond/8},
		{"echo of the original", false, tsAt(10 * time.Millisecond), 1, 10 * time.Millisecond},
		{"SACK, echo of the retransmission", true, tsAt(210 * time.Millisecond), 0, 10*time.Millisecond - 10*time.Millisecond/8 + 20*time.Millisecond/8},
		{"SACK, echo of the original", true, tsAt(10 * time.Millisecond), 1, 10 * time.Millisecond},
	} {
		s := newScript(t, scriptCfg())
		s.sackPermitted = tc.sack
		s.tsOpen()
		if s.c.sackOK != tc.sack {
			t.Fatalf("%s: SACK in use %v, want %v", tc.name, s.c.sackOK, tc.sack)
		}
		if got := s.c.Info().SRTT; got != 10*time.Millisecond {
			t.Fatalf("SRTT after the handshake %v, want 10ms", got)
		}
		if _, err := s.c.Write(data(100)); err != nil {
			t.Fatal(err)
		}
		s.expect(f("Flags [P.], seq 1:101, ack 1, win 64000, options [nop,nop,TS val %d ecr 5010], length 100 @10ms", tsAt(10*time.Millisecond)))
		s.advance(200 * time.Millisecond)
		s.expect(f("Flags [P.], seq 1:101, ack 1, win 64000, options [nop,nop,TS val %d ecr 5010], length 100 @210ms", tsAt(210*time.Millisecond)))
		s.advance(20 * time.Millisecond)
		s.inject(seg{flags: A, seq: 1, ack: 101, win: 65535, ts: true, tsval: 5300, tsecr: tc.ecr})
		if in := s.c.Info(); in.Backoff != tc.wantBackoff || in.SRTT != tc.wantSRTT {
			t.Fatalf("%s: Backoff %d SRTT %v, want %d, %v", tc.name, in.Backoff, in.SRTT, tc.wantBackoff, tc.wantSRTT)
		}
	}
}

// With timestamps the option space left for SACK is 28 bytes: three
// blocks (as Linux), and the ACK still fits.
func TestTimestamps_ThreeSACKBlocks(t *testing.T) {
	s := newScript(t, scriptCfg())
	var err error
	if s.l, err = s.h.Listen(80, 8); err != nil {
		t.Fatal(err)
	}
	s.sackPermitted = true
	s.inject(seg{flags: S, win: 65535, mss: 1460, ts: true, tsval: 5000})
	s.sackPermitted = false
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.out = nil
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, ts: true, tsval: 5000, tsecr: tsAt(0)})
	if s.c, err = s.l.Accept(); err != nil {
		t.Fatal(err)
	}
	for i := range 4 { // four holes' worth of out-of-order segments
		s.inject(seg{flags: A, seq: uint32(101 + 200*i), ack: 1, win: 65535, data: data(100), ts: true, tsval: 5001})
	}
	var last captured
	for range 4 {
		last = s.out[0]
		s.out = s.out[1:]
	}
	if o := last.pkt.TCP.Options; o.NumSACK != 3 || !o.HasTimestamps || last.pkt.TCP.Options.Len() != 40 {
		t.Fatalf("last ACK options %+v, want timestamps and 3 SACK blocks in 40 bytes", o)
	}
}

// The same for a retransmitted SYN: a SYN-ACK echoing the retransmission
// gives the first RTT sample; one echoing the first SYN gives none, and
// RFC 6298 §5.7's 3 s RTO follows.
func TestTimestamps_RTTSampleAfterSYNRetransmission(t *testing.T) {
	for _, tc := range []struct {
		ecr      uint32
		wantSRTT time.Duration
		wantRTO  time.Duration
	}{
		{tsAt(time.Second), 10 * time.Millisecond, DefaultRTOMin},
		{tsAt(0), 0, 3 * time.Second},
	} {
		s := newScript(t, scriptCfg())
		c, err := s.h.Connect(netip.Addr{}, s.peer)
		if err != nil {
			t.Fatal(err)
		}
		s.c, s.local = c, c.LocalAddr()
		s.iss = uint32(s.out[0].pkt.TCP.Seq)
		s.advance(time.Second + 10*time.Millisecond)
		s.expect(f("Flags [S], seq 0, win 64000, options [mss 1460,sackOK,TS val %d ecr 0], length 0 @0s", tsAt(0)))
		s.expect(f("Flags [S], seq 0, win 64000, options [mss 1460,sackOK,TS val %d ecr 0], length 0 @1s", tsAt(time.Second)))
		s.inject(seg{flags: SA, ack: 1, win: 65535, mss: 1460, ts: true, tsval: 7000, tsecr: tc.ecr})
		if in := c.Info(); in.State != StateEstablished || in.SRTT != tc.wantSRTT || in.RTO != tc.wantRTO {
			t.Fatalf("echo %d: state %v SRTT %v RTO %v, want ESTABLISHED, %v, %v", tc.ecr, in.State, in.SRTT, in.RTO, tc.wantSRTT, tc.wantRTO)
		}
	}
}

// The ACK for a segment PAWS rejects goes through the invalid-ACK limiter,
// as Linux's does (TCPACKSkippedPAWS), unless the segment carries text or
// a FIN: two old pure ACKs in a row draw one ACK, old data always draws one.
func TestTimestamps_PAWSAckRateLimited(t *testing.T) {
	s := newScript(t, scriptCfg())
	s.tsOpen()
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(100), ts: true, tsval: 6000})
	s.advance(DefaultDelayedAck)
	s.out = nil
	for range 2 {
		s.inject(seg{flags: A, seq: 101, ack: 1, win: 65535, ts: true, tsval: 5500})
	}
	if len(s.out) != 1 {
		t.Fatalf("two old pure ACKs drew %d ACKs, want 1", len(s.out))
	}
	for range 2 {
		s.inject(seg{flags: A, seq: 101, ack: 1, win: 65535, data: data(10), ts: true, tsval: 5500})
	}
	if len(s.out) != 3 {
		t.Fatalf("two old data segments drew %d more ACKs, want 2", len(s.out)-1)
	}
	if c := s.h.Counters(); c.PAWSEstabRejected != 4 || c.TCPACKSkippedPAWS != 1 {
		t.Fatalf("PAWS rejected %d, ACKs skipped %d; want 4, 1", c.PAWSEstabRejected, c.TCPACKSkippedPAWS)
	}
}
