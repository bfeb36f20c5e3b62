package stack

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// ============================================================
// Issue 11, loss recovery: SACK blocks on our ACKs (RFC 2018 §4),
// RFC 6675 for the sender, PRR (RFC 6937), D-SACK (RFC 2883).
// ============================================================

// oooAck injects 100 bytes at seq and returns the SACK blocks of the ACK
// that answers.
func oooAck(s *script, seq uint32) [][2]uint32 {
	s.t.Helper()
	s.inject(seg{flags: A, seq: seq, ack: 1, win: 65535, data: data(100)})
	if len(s.out) != 1 {
		s.t.Fatalf("%d segments answer the segment at %d, want one ACK", len(s.out), seq)
	}
	c := s.out[0]
	s.out = nil
	return sackBlocks(s, c)
}

// RFC 2018 §4: after the first block (the segment just received), the
// blocks most recently reported come next, not the highest ones. Six
// segments arriving from the top down with holes between them: when the
// sixth opens a block above all others, the block first reported one ACK
// earlier (101) must be repeated; ordering the rest from the highest down
// dropped it after a single report.
func TestSACK_BlocksRepeatMostRecentlyReported(t *testing.T) {
	s := sackScript(t)
	for _, seq := range []uint32{901, 701, 501, 301, 101} {
		oooAck(s, seq)
	}
	got := oooAck(s, 1101)
	want := [][2]uint32{{1101, 1201}, {101, 201}, {301, 401}, {501, 601}}
	if len(got) != len(want) {
		t.Fatalf("blocks %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("blocks %v, want %v", got, want)
		}
	}
}

// RFC 2018 §4 as a property: whatever the arrival order, a block reported
// first is reported again (at its current extent, which may have grown by
// merging) in each of the next two ACKs, unless RCV.NXT has reached it.
// With timestamps only three blocks fit, and the same holds.
func TestSACK_EachBlockReportedThreeTimes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := 0; round < 400; round++ {
		ts := round%2 == 1
		var s *script
		if ts {
			s = newScript(t, scriptCfg())
			s.l, _ = s.h.Listen(80, 8)
			s.injectSYNWithSACK(seg{flags: S, win: 65535, mss: 1460, ts: true, tsval: 5000})
			s.iss = uint32(s.out[0].pkt.TCP.Seq)
			s.out = nil
			s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, ts: true, tsval: 5000, tsecr: tsAt(0)})
			s.c, _ = s.l.Accept()
		} else {
			s = sackScript(t)
		}
		n := 6 + rng.IntN(10)
		order := rng.Perm(n)
		var firsts [][2]uint32 // first block of each ACK so far
		acked := uint32(1)
		for k, i := range order {
			seq := uint32(1 + 100*i)
			s.inject(seg{flags: A, seq: seq, ack: 1, win: 65535, data: data(100), ts: ts, tsval: 5001})
			if len(s.out) == 0 {
				s.advance(time.Second) // in order, no gap: the delayed ACK
			}
			if len(s.out) != 1 {
				t.Fatalf("round %d: %d segments answer one", round, len(s.out))
			}
			c := s.out[0]
			s.out = nil
			acked = uint32(c.pkt.TCP.Ack) - s.peerISN
			got := sackBlocks(s, c)
			if lim := map[bool]int{false: 4, true: 3}[ts]; len(got) > lim || c.pkt.TCP.Options.HasTimestamps != ts {
				t.Fatalf("round %d: %d blocks, timestamps %v", round, len(got), c.pkt.TCP.Options.HasTimestamps)
			}
			for back := 1; back <= 2 && back <= len(firsts); back++ {
				f := firsts[len(firsts)-back]
				if f[0] < acked {
					continue // delivered in order since
				}
				found := false
				for _, b := range got {
					found = found || (b[0] <= f[0] && f[1] <= b[1])
				}
				if !found {
					t.Fatalf("round %d, arrival %d (order %v): block %v reported %d ACKs ago is missing from %v",
						round, k, order, f, back, got)
				}
			}
			if len(got) > 0 {
				firsts = append(firsts, got[0])
			}
		}
		if acked != uint32(1+100*n) {
			t.Fatalf("round %d: ack %d after all segments", round, acked)
		}
	}
}

// sg is the relative sequence number of the i-th full-sized segment.
func sg(i int) uint32 { return uint32(1 + 1460*i) }

// sackAck injects a bare ACK with the given window and SACK blocks.
func sackAck(s *script, ack uint32, win uint16, blocks ...[2]uint32) {
	s.t.Helper()
	s.sack = blocks
	s.inject(seg{flags: A, seq: 1, ack: ack, win: win})
	s.sack = nil
}

// RFC 6675 §2: an ACK that moves SND.UNA and SACKs new data is also a
// DupAck, and §5 (2.a) counts DupThresh of them even when the SACKed
// segments are too small for IsLost's byte rule. Here 500-byte segments:
// the first ACK acknowledges segment 0 and SACKs segment 2, the next two
// SACK segments 4 and 6; the third starts recovery. Counting only RFC 5681
// duplicates, the first did not count and nothing was sent.
func TestRFC6675_DupAckThatMovesSndUna(t *testing.T) {
	s := sackScript(t)
	s.c.SetNoDelay(true)
	for i := 0; i < 10; i++ {
		s.c.Write(data(500))
	}
	if len(s.out) != 10 {
		t.Fatalf("%d segments sent, want 10", len(s.out))
	}
	s.out = nil
	sackAck(s, 501, 65535, [2]uint32{1001, 1501})
	sackAck(s, 501, 65535, [2]uint32{2001, 2501}, [2]uint32{1001, 1501})
	s.none()
	sackAck(s, 501, 65535, [2]uint32{3001, 3501}, [2]uint32{2001, 2501}, [2]uint32{1001, 1501})
	s.expect("Flags [.], seq 501:1001, ack 1, win 64000, length 500")
	s.none()
	if !s.c.Info().InRecovery || s.h.Counters().TCPSackRecovery != 1 {
		t.Fatal("not in SACK recovery")
	}
}

// RFC 6675 §2: a SACKing ACK is a DupAck even if its window differs from
// the last one (RFC 5681's duplicate must not change it). Three ACKs, each
// SACKing one more segment and each advertising another window.
func TestRFC6675_DupAcksWithChangingWindow(t *testing.T) {
	s := sackScript(t)
	s.c.Write(data(10 * 1460))
	s.out = nil
	sackAck(s, 1, 60000, [2]uint32{sg(1), sg(2)})
	sackAck(s, 1, 61000, [2]uint32{sg(3), sg(4)}, [2]uint32{sg(1), sg(2)})
	s.none()
	sackAck(s, 1, 62000, [2]uint32{sg(5), sg(6)}, [2]uint32{sg(3), sg(4)}, [2]uint32{sg(1), sg(2)})
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460")
	s.none()
	if i := s.c.Info(); !i.InRecovery || i.SndWnd != 62000 {
		t.Fatalf("in recovery %v, window %d", i.InRecovery, i.SndWnd)
	}
}

// RFC 6675 §5 (B): during recovery every ACK's SACK information is used,
// even an old ACK below SND.UNA (reordered on the way back). Segments 1
// and 5 are lost; in recovery, an old ACK (ACK 1, below SND.UNA = segment
// 1) SACKs segments 6-8: the hole at segment 5 is lost now (three segments
// SACKed above it) and pipe has room, so it is retransmitted at once.
// Ignoring the old ACK's blocks left it to a later ACK.
func TestRFC6675_AckBelowSndUnaInRecovery(t *testing.T) {
	s := sackScript(t)
	s.c.Write(data(10 * 1460))
	s.out = nil
	sackAck(s, sg(1), 65535)
	s.none()
	for k := 3; k <= 5; k++ {
		sackAck(s, sg(1), 65535, [2]uint32{sg(2), sg(k)})
	}
	s.expect(f("Flags [.], seq %d:%d, ack 1, win 64000, length 1460", sg(1), sg(2)))
	s.none()
	sackAck(s, 1, 65535, [2]uint32{sg(6), sg(9)}, [2]uint32{sg(2), sg(5)})
	s.expect(f("Flags [.], seq %d:%d, ack 1, win 64000, length 1460", sg(5), sg(6)))
	s.none()
	if i := s.c.Info(); !i.InRecovery || i.SndUna != s.c.iss+segment.Seq(sg(1)) {
		t.Fatalf("in recovery %v, SND.UNA %d", i.InRecovery, i.SndUna-s.c.iss)
	}
}

// RFC 6675 §5.1: after an RTO the scoreboard is kept, and the go-back-N
// resending skips what the peer SACKed, before the timeout (segment 8) or
// after it (segments 2-5).
func TestRFC6675_NoResendOfSACKedDataAfterRTO(t *testing.T) {
	s := sackScript(t)
	s.c.Write(data(10 * 1460))
	s.out = nil
	sackAck(s, 1, 65535, [2]uint32{sg(8), sg(9)})
	s.none()
	for len(s.out) == 0 {
		s.advance(10 * time.Millisecond)
	}
	s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460")
	if s.h.Counters().TCPTimeouts != 1 {
		t.Fatal("no RTO")
	}
	sackAck(s, sg(1), 65535, [2]uint32{sg(2), sg(6)}, [2]uint32{sg(8), sg(9)})
	s.expect(f("Flags [.], seq %d:%d, ack 1, win 64000, length 1460", sg(1), sg(2)))
	s.expect(f("Flags [.], seq %d:%d, ack 1, win 64000, length 1460", sg(6), sg(7)))
	s.none()
	sackAck(s, sg(6), 65535, [2]uint32{sg(8), sg(9)})
	s.expect(f("Flags [.], seq %d:%d, ack 1, win 64000, length 1460", sg(7), sg(8)))
	s.expect(f("Flags [P.], seq %d:%d, ack 1, win 64000, length 1460", sg(9), sg(10)))
	s.none()
}

// RFC 6675 NextSeg rule (4): segments 0, 8 and 9 are lost. Once the
// retransmission of segment 0 is acknowledged (SND.UNA passes RescueRxt)
// and nothing else may go, one rescue retransmission carries the highest
// unSACKed segment (9, not 8 as NewReno's partial ACK would). Its SACK then
// lets rule (3) resend segment 8.
func TestRFC6675_RescueRetransmission(t *testing.T) {
	s := sackScript(t)
	s.c.Write(data(10 * 1460))
	s.out = nil
	for k := 2; k <= 8; k++ {
		sackAck(s, 1, 65535, [2]uint32{sg(1), sg(k)})
		if k == 4 {
			s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460")
		}
		s.none()
	}
	sackAck(s, sg(8), 65535)
	s.expect(f("Flags [P.], seq %d:%d, ack 1, win 64000, length 1460", sg(9), sg(10)))
	s.none()
	if n := s.h.Counters().TCPRescueRetrans; n != 1 {
		t.Fatalf("TCPRescueRetrans = %d", n)
	}
	sackAck(s, sg(8), 65535, [2]uint32{sg(9), sg(10)})
	s.expect(f("Flags [.], seq %d:%d, ack 1, win 64000, length 1460", sg(8), sg(9)))
	s.none()
	sackAck(s, sg(10), 65535)
	if s.c.Info().InRecovery {
		t.Fatal("still in recovery after the full ACK")
	}
}

// PRR's arithmetic (RFC 6937 §3) on the RFC's §4 examples, in segments:
// cwnd = FlightSize = RecoverFS = 20, ssthresh = 10. With a single loss
// pipe stays above ssthresh and every ACK delivers one segment: the
// proportional part sends one segment for every second ACK, ssthresh in
// all by the time RecoverFS has been delivered. After a burst of losses
// pipe is far below ssthresh: PRR-SSRB sends what was delivered plus one
// segment on each ACK that advances SND.UNA without new loss (SafeACK), so
// pipe grows by one per ACK up to ssthresh and no further; other ACKs and
// PRR-CRB only keep pipe level (packet conservation).
func TestPRR_RFC6937Examples(t *testing.T) {
	const mss = 1
	// Single loss.
	var prrDelivered, prrOut uint64
	pipe := uint64(19)
	var sends []uint64
	for ack := 0; ack < 19; ack++ { // the 19 segments not lost, each a DupAck
		prrDelivered++
		pipe--
		n := prrSndcnt(prrDelivered, prrOut, 1, pipe, 10, 20, mss, false, false)
		if prrOut == 0 {
			n = max(n, mss)
		}
		sends = append(sends, n)
		prrOut += n
		pipe += n
	}
	// Once pipe is down to ssthresh (after 17 ACKs) the reduction bound
	// holds it there.
	want := []uint64{1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1}
	for i := range want {
		if sends[i] != want[i] {
			t.Fatalf("single loss: sndcnt %v, want %v", sends, want)
		}
	}
	if prrOut != 10 || pipe != 10 {
		t.Fatalf("single loss: sent %d, pipe %d at the end; want ssthresh, 10, for both", prrOut, pipe)
	}
	// Burst loss: pipe 4 after the losses are detected, sending balanced.
	for _, tc := range []struct {
		name      string
		safe, crb bool
		want      []uint64 // pipe after each ACK
	}{
		{"SSRB, SND.UNA advancing", true, false, []uint64{5, 6, 7, 8, 9, 10, 10, 10}},
		{"SSRB, duplicate ACKs", false, false, []uint64{4, 4, 4, 4, 4, 4, 4, 4}},
		{"CRB", true, true, []uint64{4, 4, 4, 4, 4, 4, 4, 4}},
	} {
		prrDelivered, prrOut, pipe = 16, 16, 4
		var got []uint64
		for ack := 0; ack < 8; ack++ {
			prrDelivered++
			pipe--
			n := prrSndcnt(prrDelivered, prrOut, 1, pipe, 10, 20, mss, tc.safe, tc.crb)
			prrOut += n
			pipe += n
			got = append(got, pipe)
		}
		for i := range tc.want {
			if got[i] != tc.want[i] {
				t.Fatalf("%s: pipe %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

// PRR in a connection: 20 segments in flight (initial window 20), segment
// 0 lost, more data queued. Limited transmit sends segments 20 and 21 on
// the first two DupAcks; the third starts recovery with ssthresh =
// FlightSize/2 = 11 segments and RecoverFS = 22: the fast retransmit goes
// at once, and then one new segment for every second ACK (11/22) until
// pipe is down to ssthresh, then one per ACK. RFC 6675 alone (cwnd =
// ssthresh) sent nothing for the next 7 ACKs and then one per ACK.
func TestPRR_SpreadsSendingOverRecovery(t *testing.T) {
	cfg := scriptCfg()
	cfg.InitialWindow = 20
	s := newScript(t, cfg)
	s.l, _ = s.h.Listen(80, 1)
	s.injectSYNWithSACK(seg{flags: S, win: 65535, mss: 1460})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.out = nil
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.c, _ = s.l.Accept()
	s.c.Write(data(40 * 1460))
	if len(s.out) != 20 {
		t.Fatalf("%d segments in the initial window", len(s.out))
	}
	s.out = nil
	var pattern []int
	for k := 2; k <= 21; k++ {
		sackAck(s, 1, 65535, [2]uint32{sg(1), sg(k)})
		pattern = append(pattern, len(s.out))
		if k == 4 {
			s.expect("Flags [.], seq 1:1461, ack 1, win 64000, length 1460")
		}
		s.out = nil
	}
	want := []int{1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1}
	for i := range want {
		if pattern[i] != want[i] {
			t.Fatalf("segments sent per ACK %v, want %v", pattern, want)
		}
	}
}

// RFC 2883 §4, as the receiver: a duplicate below RCV.NXT is reported in
// the first block of the ACK it draws, once; a duplicate of held
// out-of-order data comes first with the block holding it second; the part
// of a segment below RCV.NXT is reported when the rest is new.
func TestDSACK_Receiver(t *testing.T) {
	s := sackScript(t)
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(100)})
	s.advance(time.Second) // the delayed ACK
	s.expect("Flags [.], ack 101, win 63900, length 0")
	// 4.1.1: a retransmitted segment that had arrived.
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(100)})
	s.expect("Flags [.], ack 101, win 63900, options [nop,nop,sack 1 {1001:1101}], length 0")
	// Out of order, then the same again: D-SACK, then the block.
	s.inject(seg{flags: A, seq: 201, ack: 1, win: 65535, data: data(100)})
	s.expect("Flags [.], ack 101, win 63900, options [nop,nop,sack 1 {1201:1301}], length 0")
	s.inject(seg{flags: A, seq: 201, ack: 1, win: 65535, data: data(100)})
	s.expect("Flags [.], ack 101, win 63900, options [nop,nop,sack 2 {1201:1301}{1201:1301}], length 0")
	// Once only: the next ACK has the plain block.
	s.inject(seg{flags: A, seq: 401, ack: 1, win: 65535, data: data(100)})
	s.expect("Flags [.], ack 101, win 63900, options [nop,nop,sack 2 {1401:1501}{1201:1301}], length 0")
	// Bytes 51-100 again with 101-200 new: the new part fills the gap.
	s.inject(seg{flags: A, seq: 51, ack: 1, win: 65535, data: data(150)})
	s.expect("Flags [.], ack 301, win 63700, options [nop,nop,sack 2 {1051:1101}{1401:1501}], length 0")
	c := s.h.Counters()
	if c.TCPDSACKOldSent != 2 || c.TCPDSACKOfoSent != 1 {
		t.Fatalf("TCPDSACKOldSent %d, TCPDSACKOfoSent %d; want 2 and 1", c.TCPDSACKOldSent, c.TCPDSACKOfoSent)
	}
}

// With DisableDSACK, duplicates are acknowledged without D-SACK blocks.
func TestDSACK_Disabled(t *testing.T) {
	cfg := scriptCfg()
	cfg.DisableDSACK = true
	s := newScript(t, cfg)
	s.l, _ = s.h.Listen(80, 1)
	s.injectSYNWithSACK(seg{flags: S, win: 65535, mss: 1460})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.out = nil
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(100)})
	s.advance(time.Second)
	s.expect("Flags [.], ack 101, win 63900, length 0")
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535, data: data(100)})
	s.expect("Flags [.], ack 101, win 63900, length 0")
}

// RFC 2883 §4, as the sender: a first block below the cumulative ACK, or
// inside the second block, is a D-SACK. It is counted and is no new SACK
// information: three ACKs carrying only D-SACKs are no DupAcks and start
// no recovery, and the scoreboard does not grow.
func TestDSACK_SenderRecognises(t *testing.T) {
	s := sackScript(t)
	s.c.Write(data(10 * 1460))
	s.out = nil
	sackAck(s, sg(1), 65535)
	for i := 0; i < 3; i++ {
		sackAck(s, sg(1), 65535, [2]uint32{1, sg(1)}) // below the ACK
	}
	sackAck(s, sg(1), 65535, [2]uint32{sg(3), sg(4)})
	for i := 0; i < 3; i++ {
		sackAck(s, sg(1), 65535, [2]uint32{sg(3), sg(4)}, [2]uint32{sg(3), sg(4)}) // inside the second
	}
	s.none()
	c := s.h.Counters()
	if c.TCPDSACKRecv != 6 || c.TCPDSACKOfoRecv != 3 {
		t.Fatalf("TCPDSACKRecv %d, TCPDSACKOfoRecv %d; want 6 and 3", c.TCPDSACKRecv, c.TCPDSACKOfoRecv)
	}
	if i := s.c.Info(); i.InRecovery || s.c.dupAcks != 1 || s.c.sacked.bytes != 1460 {
		t.Fatalf("in recovery %v, DupAcks %d, SACKed %d", i.InRecovery, s.c.dupAcks, s.c.sacked.bytes)
	}
}
