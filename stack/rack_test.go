package stack

import (
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// With RACK on, transfers over lossy, reordering links arrive intact and
// close cleanly, for many seeds (transfer checks hashes and clean close).
func TestRACKTransfers(t *testing.T) {
	n := uint64(60)
	if testing.Short() || raceEnabled {
		n = 10 // the plain go test ./... runs all 60
	}
	for _, f := range []faults{
		{loss: 0.02},
		{loss: 0.05, reorder: 0.05, reorderDelay: 5 * time.Millisecond},
		{reorder: 0.1, reorderDelay: 3 * time.Millisecond},
		{loss: 0.1, dup: 0.01, reorder: 0.05, reorderDelay: 8 * time.Millisecond},
	} {
		for seed := uint64(1); seed <= n; seed++ {
			p := transfer(t, seed, 300000, f, TCPConfig{RACK: true})
			if f.loss > 0 && seed == 1 && p.a.Counters().TCPRACKLost+p.b.Counters().TCPRACKLost == 0 {
				t.Errorf("%+v: RACK marked nothing lost", f)
			}
		}
	}
}

// Reordering alone, at every degree the link's faults make (2, 5 and
// 10 ms on 5 ms links, for 2 % and 10 % of packets): transfers are intact
// (transfer checks), and RACK costs fewer spurious retransmissions than
// three duplicate ACKs where reordering is common (10 %), and not many
// more where it is rare (2 %: each rare event may come after the window
// has shrunk back; RFC 8985 accepts that). The figures are in docs/tcp.md.
func TestRACKReorderingSpurious(t *testing.T) {
	for _, d := range []time.Duration{2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond} {
		for _, share := range []float64{0.02, 0.1} {
			var dup [2]uint64
			for i, rack := range []bool{false, true} {
				for seed := uint64(1); seed <= 10; seed++ {
					p := transfer(t, seed, 300000, faults{reorder: share, reorderDelay: d}, TCPConfig{RACK: rack})
					dup[i] += p.a.Counters().TCPDuplicateSegments + p.b.Counters().TCPDuplicateSegments
				}
			}
			t.Logf("reorder %.0f%% by %v: spurious retransmissions %d without RACK, %d with", share*100, d, dup[0], dup[1])
			switch {
			case share >= 0.1 && dup[1] >= dup[0]:
				t.Errorf("reorder %.0f%% by %v: RACK made %d spurious retransmissions, dupthresh %d", share*100, d, dup[1], dup[0])
			case dup[1]*4 > dup[0]*5:
				t.Errorf("reorder %.0f%% by %v: RACK made %d spurious retransmissions, more than 25 %% above dupthresh's %d", share*100, d, dup[1], dup[0])
			}
		}
	}
}

// No spurious retransmission where RACK's rules say none: a segment that
// arrives after a later one, but within the reordering window, is not
// resent; one that arrives after the window has passed is (RFC 8985 §6.2).
func TestRACKReorderWithinWindow(t *testing.T) {
	for _, late := range []time.Duration{time.Millisecond, 4 * time.Millisecond} {
		cfg := scriptCfg()
		cfg.RACK = true
		s := acceptSACK(t, cfg, 10*time.Millisecond)
		s.c.Write(data(4 * 1460)) // at 10 ms
		s.out = nil
		seg := func(i int) uint32 { return uint32(1 + 1460*i) }
		s.advance(10 * time.Millisecond)
		s.sack = [][2]uint32{{seg(1), seg(2)}} // segment 0 overtaken at 20 ms
		s.inject(seg2(A, 1, 1, 65535))
		s.sack = nil
		// The window is min_RTT/4 = 2.5 ms: segment 0 is lost at 22.5 ms
		// unless it is delivered before.
		s.advance(late)
		if late < 2500*time.Microsecond {
			s.inject(seg2(A, 1, seg(2), 65535)) // segment 0 arrives: reordering, not loss
			s.advance(20 * time.Millisecond)
			if n := s.h.Counters().TCPRetransSegs; n != 0 {
				t.Fatalf("late by %v, inside the window: %d retransmissions, want 0", late, n)
			}
			if !s.c.rack.reordering {
				t.Fatal("RACK did not see the reordering")
			}
			continue
		}
		s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460 @22.5ms")
	}
}

// RFC 8985's point in one script: three segments sent, the last two
// SACKed. Two SACKed segments are not DupThresh, so without RACK nothing is
// resent until the RTO; with RACK the first is lost once RACK.rtt plus the
// reordering window (min_RTT/4) has passed since it was sent, and the
// reorder timer resends it then.
func TestRACKLossBeforeDupThresh(t *testing.T) {
	for _, rack := range []bool{false, true} {
		cfg := scriptCfg()
		cfg.RACK = rack
		s := acceptSACK(t, cfg, 10*time.Millisecond) // a 10 ms handshake RTT
		s.c.Write(data(3 * 1460))
		s.out = nil
		s.advance(10 * time.Millisecond)
		seg := func(i int) uint32 { return uint32(1 + 1460*i) }
		s.sack = [][2]uint32{{seg(1), seg(2)}}
		s.inject(seg2(A, 1, 1, 65535))
		s.sack = [][2]uint32{{seg(1), seg(3)}}
		s.inject(seg2(A, 1, 1, 65535))
		s.sack = nil
		s.none()
		s.advance(5 * time.Millisecond)
		if !rack {
			s.none() // two SACKed segments: no fast retransmit
			continue
		}
		// RACK.rtt is 10 ms (the last segment's, SACKed 10 ms after it was
		// sent at 10 ms); the window is min_RTT/4 = 2.5 ms: lost at
		// 10 + 10 + 2.5 = 22.5 ms.
		s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460 @22.5ms")
		if n := s.h.Counters().TCPRACKLost; n != 1 {
			t.Fatalf("TCPRACKLost %d, want 1", n)
		}
	}
}

// The tail loss probe (RFC 8985 §7): the whole tail of a flight is lost
// and no ACK comes. After PTO = 2·SRTT the last segment goes again; its
// SACK lets RACK find the others lost, long before the RTO. The recovery
// RACK starts is the one response to the loss (§7.4.1): cwnd is reduced
// once, and the ACK that covers the probe and ends the recovery does not
// count a loss the probe repaired (Linux clears tlp_high_seq on entering
// recovery).
func TestTLPProbesTheTail(t *testing.T) {
	cfg := scriptCfg()
	cfg.RACK = true
	s := acceptSACK(t, cfg, 10*time.Millisecond) // SRTT 10 ms from the handshake
	s.c.Write(data(3 * 1460))                    // at 10 ms; all three are lost
	s.out = nil
	s.advance(20 * time.Millisecond)
	s.expect("Flags [P.], seq 2921:4381, ack 1, win 64000, length 1460 @30ms")
	if c := s.h.Counters(); c.TCPLossProbes != 1 || c.TCPTimeouts != 0 {
		t.Fatalf("probes %d, timeouts %d; want 1, 0", c.TCPLossProbes, c.TCPTimeouts)
	}
	cwnd := s.c.Info().Cwnd
	s.advance(10 * time.Millisecond) // the probe's SACK at 40 ms
	s.sack = [][2]uint32{{2921, 4381}}
	s.inject(seg2(A, 1, 1, 65535))
	s.sack = nil
	// RACK: the first two were sent before the SACKed one; after RACK.rtt
	// (10 ms, the probe's) plus min_RTT/4 (2.5 ms) since they were sent
	// they are lost: at once.
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460 @40ms")
	if c := s.h.Counters(); c.TCPRACKLost != 2 || c.TCPTimeouts != 0 {
		t.Fatalf("RACK lost %d, timeouts %d; want 2, 0", c.TCPRACKLost, c.TCPTimeouts)
	}
	s.inject(seg2(A, 1, 1461, 65535)) // the repair arrives, with the rest
	s.sack = [][2]uint32{{2921, 4381}}
	s.sack = nil
	s.expect("Flags [.], seq 1461:2921, ack 1, win 64000, length 1460")
	ssthresh := s.c.ssthresh
	s.inject(seg2(A, 1, 4381, 65535))
	if c := s.h.Counters(); c.TCPLossProbeRecovery != 0 {
		t.Fatalf("TCPLossProbeRecovery %d, want 0 (the recovery was the response)", c.TCPLossProbeRecovery)
	}
	if got := s.c.Info().Cwnd; got >= cwnd || s.c.ssthresh != ssthresh {
		t.Fatalf("cwnd %d, ssthresh %d after the recovery, want below %d and the recovery's %d", got, s.c.ssthresh, cwnd, ssthresh)
	}
}

// A single tail loss that the probe repairs (RFC 8985 §7.4.2): the ACK
// that covers just the probe (ack = TLP.end_seq) does not yet tell a
// repair from a delayed ACK of the original, so the episode stays open
// and cwnd is kept; the first ACK beyond TLP.end_seq, with no D-SACK for
// the probe in between, counts the repair and reduces cwnd once.
func TestTLPRepairCountedBeyondEndSeq(t *testing.T) {
	cfg := scriptCfg()
	cfg.RACK, cfg.InitialWindow = true, 10
	s := acceptSACK(t, cfg, 10*time.Millisecond)
	s.c.Write(data(3 * 1460)) // at 10 ms; the last is lost
	s.advance(10 * time.Millisecond)
	s.inject(seg2(A, 1, 2921, 65535))
	s.out = nil
	for i := 0; i < 1000 && s.h.Counters().TCPLossProbes == 0; i++ {
		s.advance(time.Millisecond) // the PTO: 2·SRTT + 200 ms, or the RTO if sooner
	}
	if c := s.h.Counters(); c.TCPLossProbes != 1 || c.TCPTimeouts != 0 {
		t.Fatalf("probes %d, timeouts %d; want 1, 0", c.TCPLossProbes, c.TCPTimeouts)
	}
	s.expect("Flags [P.], seq 2921:4381, ack 1, win 64000, length 1460")
	cwnd := s.c.cwnd
	s.inject(seg2(A, 1, 4381, 65535)) // the probe's ACK: ack = TLP.end_seq
	if c := s.h.Counters(); c.TCPLossProbeRecovery != 0 || s.c.cwnd < cwnd || !s.c.tlp.out {
		t.Fatalf("at TLP.end_seq: repairs %d, cwnd %d (was %d), episode open %v; want 0, kept, open",
			c.TCPLossProbeRecovery, s.c.cwnd, cwnd, s.c.tlp.out)
	}
	cwnd = s.c.cwnd
	s.c.Write(data(1460))
	s.advance(10 * time.Millisecond)
	s.inject(seg2(A, 1, 5841, 65535)) // beyond TLP.end_seq
	if c := s.h.Counters(); c.TCPLossProbeRecovery != 1 || s.c.cwnd >= cwnd || s.c.tlp.out {
		t.Fatalf("beyond TLP.end_seq: repairs %d, cwnd %d (was %d), episode open %v; want 1, reduced, closed",
			c.TCPLossProbeRecovery, s.c.cwnd, cwnd, s.c.tlp.out)
	}
}

// RACK.min_RTT takes every RFC 6298 sample, the handshake's included (RFC
// 8985 §6.2 step 1; Linux's tcp_min_rtt): after a 20 ms handshake, a
// flight whose only ACK comes back after 30 ms (queueing) keeps the
// reordering window at 20/4 = 5 ms. Taken from the data alone, min_RTT
// would be 30 ms and the window 7.5 ms: the first segment would be resent
// at 57.5 ms instead of 55 (both before the probe, due at 20 + 2·20).
func TestRACKMinRTTFromHandshake(t *testing.T) {
	cfg := scriptCfg()
	cfg.RACK = true
	s := acceptSACK(t, cfg, 20*time.Millisecond)
	s.c.Write(data(3 * 1460)) // at 20 ms
	s.out = nil
	s.advance(30 * time.Millisecond)
	s.sack = [][2]uint32{{2921, 4381}} // the last segment, at 50 ms
	s.inject(seg2(A, 1, 1, 65535))
	s.sack = nil
	if got := s.c.rackMinRTT(); got != 20*time.Millisecond {
		t.Fatalf("RACK.min_RTT %v, want the handshake's 20ms", got)
	}
	// 20 (sent) + 30 (RACK.rtt) + 5 (min_RTT/4).
	s.advance(10 * time.Millisecond)
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460 @55ms")
}

// A retransmission delivered below the highest SACKed sequence filled a
// hole; it was not reordered (RFC 8985 §6.2 step 3 counts never-
// retransmitted segments only, as Linux does). So after a recovery the
// reordering window stays 0 once three segments are SACKed, and the next
// loss is resent at the SACK that reveals it, not min_RTT/4 later.
func TestRACKRetransmissionIsNotReordering(t *testing.T) {
	cfg := scriptCfg()
	cfg.RACK, cfg.InitialWindow = true, 10
	cfg.RecoveryExitSsthresh = true // cwnd 7 segments after the recovery
	s := acceptSACK(t, cfg, 10*time.Millisecond)
	seg := func(i int) uint32 { return uint32(1 + 1460*i) }
	s.c.Write(data(10 * 1460)) // at 10 ms; the first is lost
	s.out = nil
	s.advance(10 * time.Millisecond)
	s.sack = [][2]uint32{{seg(1), seg(10)}}
	s.inject(seg2(A, 1, 1, 65535))
	s.sack = nil
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460 @20ms")
	s.advance(10 * time.Millisecond)
	s.inject(seg2(A, 1, seg(10), 65535)) // the resend arrives, below SACKed data
	if s.c.rack.reordering {
		t.Fatal("a delivered retransmission was taken as reordering")
	}
	s.c.Write(data(5 * 1460)) // at 30 ms, within cwnd (7 segments); the second is lost
	s.out = nil
	s.advance(10 * time.Millisecond)
	s.sack = [][2]uint32{{seg(12), seg(15)}}
	s.inject(seg2(A, 1, seg(11), 65535))
	s.sack = nil
	s.expect("Flags [.], seq 16061:17521, ack 1, win 64000, length 1460 @40ms")
}

// A D-SACK for a resent segment shows the original was only late: RACK
// counts it as reordering seen (the retransmission hid it from §6.2 step
// 3), so the next loss waits the reordering window instead of being resent
// at the third SACK.
func TestRACKDSACKIsReordering(t *testing.T) {
	cfg := scriptCfg()
	cfg.RACK = true
	s := acceptSACK(t, cfg, 10*time.Millisecond)
	seg := func(i int) uint32 { return uint32(1 + 1460*i) }
	s.c.Write(data(4 * 1460)) // at 10 ms; the first is late, not lost
	s.out = nil
	s.advance(10 * time.Millisecond)
	s.sack = [][2]uint32{{seg(1), seg(4)}}
	s.inject(seg2(A, 1, 1, 65535))
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460 @20ms")
	s.sack = nil
	s.inject(seg2(A, 1, seg(4), 65535)) // the original arrives
	if s.c.rack.reordering {
		t.Fatal("reordering seen before any evidence")
	}
	s.advance(10 * time.Millisecond)
	s.sack = [][2]uint32{{seg(0), seg(1)}} // the resend's D-SACK
	s.inject(seg2(A, 1, seg(4), 65535))
	s.sack = nil
	if !s.c.rack.reordering {
		t.Fatal("a D-SACK for a resent segment did not count as reordering")
	}
}

// acceptSACK opens a connection on the script's host passively: the peer's
// SYN offers SACK (MSS 1460), its ACK comes rtt later, and s.c is the
// accepted connection, with s.iss its initial sequence number.
func acceptSACK(t *testing.T, cfg TCPConfig, rtt time.Duration) *script {
	t.Helper()
	s := newScript(t, cfg)
	s.l, _ = s.h.Listen(80, 1)
	s.injectSYNWithSACK(seg{flags: S, win: 65535, mss: 1460})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.advance(rtt)
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.c, _ = s.l.Accept()
	return s
}

// RFC 8985 §7.4.2, TLP_process_ack's last branch: a duplicate ACK at
// TLP.end_seq without SACK blocks (the receiver held everything and got the
// retransmitted probe as a duplicate) ends the episode without a reduction,
// so that a later ACK beyond TLP.end_seq is not counted as the probe's
// repair. A duplicate ACK that SACKs new data does not end it; one that
// repeats SACK blocks reporting nothing new ends it with LinuxRACK (Linux's
// tcp_process_tlp_ack), not by the RFC's text (it has a SACK option).
func TestTLPDupAckEndsEpisode(t *testing.T) {
	probe := func(t *testing.T, linux bool) *script {
		cfg := scriptCfg()
		cfg.RACK, cfg.LinuxRACK, cfg.InitialWindow = true, linux, 10
		s := acceptSACK(t, cfg, 10*time.Millisecond)
		s.c.Write(data(3 * 1460))
		s.advance(10 * time.Millisecond)
		s.inject(seg2(A, 1, 2921, 65535))
		for i := 0; i < 1000 && s.h.Counters().TCPLossProbes == 0; i++ {
			s.advance(time.Millisecond)
		}
		if c := s.h.Counters(); c.TCPLossProbes != 1 || !s.c.tlp.retrans {
			t.Fatalf("probes %d (retransmission %v); want 1 retransmitted probe", c.TCPLossProbes, s.c.tlp.retrans)
		}
		s.inject(seg2(A, 1, 4381, 65535)) // the original's late ACK: = TLP.end_seq, no verdict
		if !s.c.tlp.out {
			t.Fatal("the ACK at TLP.end_seq ended the episode")
		}
		return s
	}
	for _, linux := range []bool{false, true} {
		t.Run(map[bool]string{false: "rfc", true: "linux"}[linux], func(t *testing.T) {
			s := probe(t, linux)
			cwnd := s.c.cwnd
			s.inject(seg2(A, 1, 4381, 65535)) // the probe's duplicate ACK, no SACK
			if s.c.tlp.out {
				t.Fatal("a duplicate ACK at TLP.end_seq without SACK left the episode open")
			}
			s.c.Write(data(1460))
			s.advance(10 * time.Millisecond)
			s.inject(seg2(A, 1, 5841, 65535)) // beyond TLP.end_seq
			if c := s.h.Counters(); c.TCPLossProbeRecovery != 0 || s.c.cwnd < cwnd {
				t.Fatalf("repairs %d, cwnd %d (was %d); want 0, not reduced", c.TCPLossProbeRecovery, s.c.cwnd, cwnd)
			}

			// Duplicate ACKs with SACK blocks, new data outstanding.
			s = probe(t, linux)
			s.c.Write(data(2 * 1460)) // 4381:7301
			s.advance(time.Millisecond)
			var o segment.Options
			o.AddSACK(segment.SACKBlock{Left: segment.Seq(s.iss + 5841), Right: segment.Seq(s.iss + 7301)})
			s.injectOpts(seg2(A, 1, 4381, 65535), o) // SACKs new data: not the probe's duplicate
			if !s.c.tlp.out {
				t.Fatal("a duplicate ACK SACKing new data ended the episode")
			}
			s.injectOpts(seg2(A, 1, 4381, 65535), o) // the same again: nothing new
			if s.c.tlp.out == linux {
				t.Fatalf("a duplicate ACK repeating its SACK block: episode open %v, want %v", s.c.tlp.out, !linux)
			}
		})
	}
}
