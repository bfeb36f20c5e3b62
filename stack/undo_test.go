package stack

import (
	"math/rand/v2"
	"testing"
	"time"
)

// ============================================================
// Issue 11: spurious retransmissions. Eifel detection (RFC 3522), D-SACK
// detection (RFC 3708), F-RTO (RFC 5682) and Linux's undo (undo.go,
// frto.go). The scripted peer is the receiver: it decides which segments
// "arrived" and acknowledges accordingly.
// ============================================================

// undoScript is a passive open with SACK, and timestamps when ts is set,
// on cfg; ten full segments of the 14 written are sent (IW 10).
type undoScript struct {
	*script
	ts    bool
	mss   uint32
	tsval uint32 // the peer's TSval: one more per segment
}

func newUndoScript(t *testing.T, cfg TCPConfig, ts bool) *undoScript {
	t.Helper()
	return newUndoScriptSACK(t, cfg, ts, true)
}

// newUndoScriptSACK is newUndoScript with the peer offering SACK or not.
func newUndoScriptSACK(t *testing.T, cfg TCPConfig, ts, sack bool) *undoScript {
	t.Helper()
	s := &undoScript{script: newScript(t, cfg), ts: ts, mss: 1460, tsval: 5000}
	if ts {
		s.mss = 1460 - tsOptLen
	}
	var err error
	if s.l, err = s.h.Listen(80, 1); err != nil {
		t.Fatal(err)
	}
	s.sackPermitted = sack
	s.inject(seg{flags: S, win: 65535, mss: 1460, ts: ts, tsval: s.tsval})
	s.sackPermitted = false
	if len(s.out) != 1 {
		t.Fatal("no SYN-ACK")
	}
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.out = nil
	s.advance(10 * time.Millisecond)
	s.ack(1, tsAt(0))
	if s.c, err = s.l.Accept(); err != nil {
		t.Fatal(err)
	}
	if s.c.sackOK != sack || s.c.tsOK != ts {
		t.Fatalf("SACK %v, timestamps %v negotiated", s.c.sackOK, s.c.tsOK)
	}
	s.c.Write(data(14 * int(s.mss)))
	if len(s.out) != 10 {
		t.Fatalf("%d segments sent, want 10 (IW)", len(s.out))
	}
	s.out = nil
	return s
}

// sq is the relative sequence number of the i-th full segment.
func (s *undoScript) sq(i int) uint32 { return 1 + s.mss*uint32(i) }

// ack injects a bare ACK of ack echoing tsecr (with timestamps), with
// the given SACK blocks.
func (s *undoScript) ack(ack, tsecr uint32, blocks ...[2]uint32) {
	s.t.Helper()
	s.tsval++
	s.sack = blocks
	s.inject(seg{flags: A, seq: 1, ack: ack, win: 65535, ts: s.ts, tsval: s.tsval, tsecr: tsecr})
	s.sack = nil
}

// sent returns the relative start of every data segment the host sent
// since the last call, and forgets them.
func (s *undoScript) sent() []uint32 {
	var seqs []uint32
	for _, c := range s.out {
		if len(c.pkt.Payload) > 0 {
			seqs = append(seqs, uint32(c.pkt.TCP.Seq)-s.iss)
		}
	}
	s.out = nil
	return seqs
}

// rto waits for the retransmission timer and checks that it resent the
// first segment only.
func (s *undoScript) rto() {
	s.t.Helper()
	timeouts := s.h.Counters().TCPTimeouts
	for s.h.Counters().TCPTimeouts == timeouts {
		s.advance(5 * time.Millisecond)
	}
	if got := s.sent(); len(got) != 1 || got[0] != s.sq(0) {
		s.t.Fatalf("the RTO sent segments at %v, want the first only", got)
	}
}

func (s *undoScript) window(cwnd, ssthresh uint32) {
	s.t.Helper()
	if s.c.cwnd != cwnd || s.c.ssthresh != ssthresh {
		s.t.Fatalf("cwnd %d ssthresh %d, want %d and %d", s.c.cwnd, s.c.ssthresh, cwnd, ssthresh)
	}
}

// undoCounts is the five undo counters of a host.
func undoCounts(h *Host) [5]uint64 {
	k := h.Counters()
	return [5]uint64{k.TCPFullUndo, k.TCPPartialUndo, k.TCPDSACKUndo, k.TCPLossUndo, k.TCPSpuriousRTOs}
}

const iw10 = 1 << 30 // ssthresh "arbitrarily high" (RFC 5681 §3.1): slow start

// RFC 5682 §3 (SACK-enhanced F-RTO), no timestamps: a delay spike holds
// every ACK of the window past the RTO. The timer resends segment 0 and
// cuts cwnd to one segment. The ACK of segment 0 comes, and F-RTO sends two
// new segments (10 and 11) instead of resending segment 1; the next ACK
// acknowledges segment 1, which was never retransmitted: the timeout was
// spurious. cwnd and ssthresh return to their values before it (slow start,
// cwnd 10 segments), nothing more is resent, and Linux's counters say so.
func TestFRTO_SpuriousTimeoutFromDelaySpike(t *testing.T) {
	cfg := scriptCfg()
	cfg.FRTO = true
	s := newUndoScript(t, cfg, false)
	s.rto()
	s.window(s.mss, 5*s.mss) // RFC 5681 eq. (4): FlightSize/2
	s.ack(s.sq(1), 0)
	if got := s.sent(); len(got) != 2 || got[0] != s.sq(10) || got[1] != s.sq(11) {
		t.Fatalf("after the first ACK: segments at %v, want new data at %d and %d", got, s.sq(10), s.sq(11))
	}
	s.ack(s.sq(2), 0)
	if got := undoCounts(s.h); got != [5]uint64{0, 0, 0, 1, 1} {
		t.Fatalf("full, partial, D-SACK, loss undos, spurious RTOs = %v, want [0 0 0 1 1]", got)
	}
	s.window(10*s.mss, iw10)
	// The rest of the delayed ACKs: slow start goes on, nothing is resent.
	for i := 3; i <= 12; i++ {
		s.ack(s.sq(i), 0)
	}
	for _, q := range s.sent() {
		if q < s.sq(12) {
			t.Fatalf("segment at %d resent after the spurious timeout was undone", q)
		}
	}
	if n := s.h.Counters().TCPRetransSegs; n != 1 {
		t.Fatalf("%d retransmissions, want the timeout's one", n)
	}
}

// The same delay spike without F-RTO: the RTO's go-back-N resends segment
// 1 and the following ones as the ACKs of the originals come in, and cwnd
// stays reduced. (The contrast shows the test above measures F-RTO.)
func TestFRTO_OffResendsTheWindow(t *testing.T) {
	s := newUndoScript(t, scriptCfg(), false)
	s.rto()
	s.ack(s.sq(1), 0)
	if got := s.sent(); len(got) == 0 || got[0] != s.sq(1) {
		t.Fatalf("after the first ACK: segments at %v, want segment 1 resent", got)
	}
	s.ack(s.sq(2), 0)
	if got := undoCounts(s.h); got != [5]uint64{} {
		t.Fatalf("undo counters %v without Undo or FRTO", got)
	}
	if s.c.ssthresh != 5*s.mss {
		t.Fatalf("ssthresh %d, want %d", s.c.ssthresh, 5*s.mss)
	}
}

// RFC 5682 §3 step 3.a: a genuine loss of the whole window but segment 0's
// retransmission. After its ACK F-RTO sends segments 10 and 11; the
// receiver SACKs them, still missing segment 1: the loss was real. The
// go-back-N resending starts at segment 1 (skipping the SACKed new data),
// the reduction stands, and no undo counter moves.
func TestFRTO_GenuineLossNotUndone(t *testing.T) {
	cfg := scriptCfg()
	cfg.FRTO = true
	cfg.Undo = true
	s := newUndoScript(t, cfg, false)
	s.rto()
	s.ack(s.sq(1), 0)
	if got := s.sent(); len(got) != 2 || got[0] != s.sq(10) {
		t.Fatalf("after the first ACK: segments at %v, want new data at %d", got, s.sq(10))
	}
	s.ack(s.sq(1), 0, [2]uint32{s.sq(10), s.sq(12)})
	if got := s.sent(); len(got) == 0 || got[0] != s.sq(1) {
		t.Fatalf("after the SACK of the new data: segments at %v, want segment 1 resent", got)
	}
	// The rest of the window is repaired one ACK at a time.
	for i := 2; i <= 10; i++ {
		s.ack(s.sq(i), 0, [2]uint32{s.sq(10), s.sq(12)})
		s.sent()
	}
	if got := undoCounts(s.h); got != [5]uint64{} {
		t.Fatalf("undo counters %v after a genuine loss, want none", got)
	}
	if s.c.ssthresh != 5*s.mss {
		t.Fatalf("ssthresh %d, want %d (the reduction stands)", s.c.ssthresh, 5*s.mss)
	}
}

// RFC 3522 (Eifel) after an RTO, F-RTO off: the first ACK after the
// timeout echoes the TSval of segment 0's original transmission, older
// than the retransmission's, so the original arrived and the timeout was
// spurious. cwnd and ssthresh are restored at once and the go-back-N
// resending stops (TCPLossUndo, not TCPSpuriousRTOs, which is F-RTO's).
func TestEifel_SpuriousTimeout(t *testing.T) {
	cfg := scriptCfg()
	cfg.Undo = true
	s := newUndoScript(t, cfg, true)
	sentAt := tsAt(10 * time.Millisecond) // the window left at 10 ms
	s.rto()
	s.window(s.mss, 5*s.mss)
	s.ack(s.sq(1), sentAt)
	if got := undoCounts(s.h); got != [5]uint64{0, 0, 0, 1, 0} {
		t.Fatalf("undo counters %v, want one loss undo", got)
	}
	if s.c.sndNxt != s.c.sndMax {
		t.Fatal("go-back-N still under way after the undo")
	}
	// The ACK grew cwnd from 1 to 2 segments first; undo takes the larger
	// of that and the 10 before the timeout.
	s.window(10*s.mss, iw10)
	for _, q := range s.sent() {
		if q < s.sq(10) {
			t.Fatalf("segment at %d resent after the undo", q)
		}
	}
}

// RFC 3522 after an RTO, genuine loss: the ACK echoes the retransmission's
// TSval (the receiver took TS.Recent from the segment that filled the
// hole), so nothing is undone and the window is resent.
func TestEifel_GenuineTimeoutNotUndone(t *testing.T) {
	cfg := scriptCfg()
	cfg.Undo = true
	s := newUndoScript(t, cfg, true)
	s.rto()
	s.ack(s.sq(1), tsAt(s.now))
	if got := undoCounts(s.h); got != [5]uint64{} {
		t.Fatalf("undo counters %v, want none", got)
	}
	if got := s.sent(); len(got) == 0 || got[0] != s.sq(1) {
		t.Fatalf("segments at %v, want segment 1 resent", got)
	}
	if s.c.ssthresh != 5*s.mss {
		t.Fatalf("ssthresh %d, want %d", s.c.ssthresh, 5*s.mss)
	}
}

// reorderRecovery makes segment 0 late: the receiver SACKs segments 1-3
// and the sender starts a fast recovery (RFC 6675 §5) and resends it.
func reorderRecovery(t *testing.T, s *undoScript) {
	t.Helper()
	s.advance(10 * time.Millisecond) // the window left at 10 ms; the SACKs come at 20 ms
	for i := 1; i <= 3; i++ {
		s.ack(1, tsAt(10*time.Millisecond), [2]uint32{s.sq(1), s.sq(i + 1)})
	}
	if !s.c.cc.inRecovery() {
		t.Fatal("no fast recovery after three SACKs")
	}
	// Limited transmit (RFC 3042) sent segments 10 and 11 on the first two.
	if got := s.sent(); len(got) != 3 || got[2] != s.sq(0) {
		t.Fatalf("sent %v, want two new segments and segment 0 resent", got)
	}
}

// RFC 3708 §3: a spurious fast retransmit caused by reordering. Segment 0
// arrives late, after segments 1-3; the sender resends it; then the
// original arrives (ACK of segment 4) and the retransmission after it,
// which the receiver reports as a D-SACK. Every retransmission of the
// recovery was a duplicate: the reduction is undone (TCPDSACKUndo), the
// recovery ends, cwnd and ssthresh are what they were (slow start at 10
// segments) and the undo leaves NewReno nothing else to restore.
func TestDSACKUndo_ReorderedFastRetransmit(t *testing.T) {
	cfg := scriptCfg()
	cfg.Undo = true
	s := newUndoScript(t, cfg, false)
	reorderRecovery(t, s)
	if s.c.ssthresh != 6*s.mss { // RFC 5681 eq. (4): half of 12 segments in flight
		t.Fatalf("ssthresh %d in recovery, want %d", s.c.ssthresh, 6*s.mss)
	}
	s.ack(s.sq(4), 0)
	if got := undoCounts(s.h); got != [5]uint64{} {
		t.Fatalf("undo counters %v before the D-SACK, want none", got)
	}
	s.ack(s.sq(4), 0, [2]uint32{s.sq(0), s.sq(1)}) // D-SACK: below the cumulative ACK
	if got := undoCounts(s.h); got != [5]uint64{0, 0, 1, 0, 0} {
		t.Fatalf("undo counters %v, want one D-SACK undo", got)
	}
	if s.c.cc.inRecovery() {
		t.Fatal("still in recovery after the undo")
	}
	if s.c.cwnd < 10*s.mss || s.c.ssthresh != iw10 {
		t.Fatalf("cwnd %d ssthresh %d, want at least %d and %d", s.c.cwnd, s.c.ssthresh, 10*s.mss, iw10)
	}
}

// The same reordering with timestamps: the ACK for the late original
// echoes its TSval, older than the retransmission's, and advances SND.UNA
// while no retransmission is unacknowledged: a partial undo (Linux's
// tcp_try_undo_partial), before any D-SACK.
func TestEifel_PartialUndoInRecovery(t *testing.T) {
	cfg := scriptCfg()
	cfg.Undo = true
	s := newUndoScript(t, cfg, true)
	reorderRecovery(t, s)
	s.ack(s.sq(4), tsAt(10*time.Millisecond))
	if got := undoCounts(s.h); got != [5]uint64{0, 1, 0, 0, 0} {
		t.Fatalf("undo counters %v, want one partial undo", got)
	}
	if s.c.cc.inRecovery() || s.c.ssthresh != iw10 || s.c.cwnd < 10*s.mss {
		t.Fatalf("in recovery %v, cwnd %d, ssthresh %d after the undo", s.c.cc.inRecovery(), s.c.cwnd, s.c.ssthresh)
	}
}

// A genuine loss in fast recovery must not be undone: segment 0 is lost,
// its retransmission fills the hole, and the ACK of everything echoes the
// retransmission's TSval and carries no D-SACK. The recovery ends with
// NewReno's window (RFC 6582 §3.2 step 3), ssthresh halved.
func TestUndo_GenuineFastRetransmitNotUndone(t *testing.T) {
	cfg := scriptCfg()
	cfg.Undo = true
	s := newUndoScript(t, cfg, true)
	reorderRecovery(t, s)
	s.advance(10 * time.Millisecond)
	rtxTS := s.c.undo.rtxTS
	s.ack(s.sq(12), rtxTS) // everything, limited transmit's two segments included
	if got := undoCounts(s.h); got != [5]uint64{} {
		t.Fatalf("undo counters %v, want none", got)
	}
	if s.c.cc.inRecovery() {
		t.Fatal("recovery did not end at the full ACK")
	}
	if s.c.ssthresh != 6*s.mss || s.c.cwnd > 6*s.mss {
		t.Fatalf("cwnd %d ssthresh %d, want ssthresh %d and cwnd no larger", s.c.cwnd, s.c.ssthresh, 6*s.mss)
	}
}

// RFC 3522 at the end of a recovery: the full ACK echoes the original's
// TSval (the late original filled the hole, and the retransmission is still
// on its way): full undo (Linux's tcp_try_undo_recovery, TCPFullUndo).
// A retransmission still outstanding rules out the partial undo before.
func TestEifel_FullUndoAtRecoveryEnd(t *testing.T) {
	cfg := scriptCfg()
	cfg.Undo = true
	s := newUndoScript(t, cfg, true)
	// Segments 0 and 5 are late; segment 5 is resent too once IsLost
	// holds for it (RFC 6675 §4).
	reorderRecovery(t, s)
	s.ack(1, tsAt(10*time.Millisecond), [2]uint32{s.sq(6), s.sq(12)}, [2]uint32{s.sq(1), s.sq(5)})
	if got := s.sent(); len(got) == 0 || got[0] != s.sq(5) {
		t.Fatalf("sent %v, want segment 5 resent", got)
	}
	s.ack(s.sq(5), tsAt(10*time.Millisecond), [2]uint32{s.sq(6), s.sq(12)})
	if !s.c.rtxOutstanding() || !s.c.cc.inRecovery() {
		t.Fatal("no retransmission outstanding in recovery")
	}
	if got := undoCounts(s.h); got != [5]uint64{} {
		t.Fatalf("undo counters %v with a retransmission outstanding, want none", got)
	}
	s.ack(s.sq(12), tsAt(10*time.Millisecond))
	if got := undoCounts(s.h); got != [5]uint64{1, 0, 0, 0, 0} {
		t.Fatalf("undo counters %v, want one full undo", got)
	}
	if s.c.ssthresh != iw10 || s.c.cwnd < 10*s.mss {
		t.Fatalf("cwnd %d ssthresh %d after the undo", s.c.cwnd, s.c.ssthresh)
	}
}

// CUBIC's undo (RFC 9438 §4.9) restores the state from before the
// reduction: W_max, cwnd_prior and the epoch, not only cwnd and ssthresh,
// and HyStart++ runs the resumed slow start.
// A first congestion-avoidance epoch is set up by hand, then a reordering
// makes a spurious fast retransmit that a D-SACK undoes.
func TestDSACKUndo_CubicRestoresItsState(t *testing.T) {
	cfg := scriptCfg()
	cfg.Undo = true
	cfg.CongestionControl = CCCubic
	s := newUndoScript(t, cfg, false)
	w := s.c.ccx.alg.(*cubic)
	w.wMax, w.cwndPrior, w.k, w.inEpoch, w.epochStart = 14, 12, 1.5, true, 5*time.Millisecond
	s.c.ssthresh = 12 * s.mss
	before := *w
	reorderRecovery(t, s)
	if w.wMax == before.wMax && w.inEpoch == before.inEpoch {
		t.Fatal("the reduction did not change CUBIC's state")
	}
	s.ack(s.sq(4), 0, [2]uint32{s.sq(0), s.sq(1)})
	if got := undoCounts(s.h); got != [5]uint64{0, 0, 1, 0, 0} {
		t.Fatalf("undo counters %v, want one D-SACK undo", got)
	}
	if w.wMax != before.wMax || w.cwndPrior != before.cwndPrior || w.k != before.k ||
		w.inEpoch != before.inEpoch || w.epochStart != before.epochStart {
		t.Fatalf("CUBIC after undo: W_max %v cwnd_prior %v K %v epoch %v@%v; before: %v %v %v %v@%v",
			w.wMax, w.cwndPrior, w.k, w.inEpoch, w.epochStart,
			before.wMax, before.cwndPrior, before.k, before.inEpoch, before.epochStart)
	}
	// The reduction came in slow start under HyStart++: it runs again.
	if !before.hs.active || !w.hs.active {
		t.Fatalf("HyStart++ active %v before the reduction, %v after the undo; want both", before.hs.active, w.hs.active)
	}
	// prior ssthresh is max(ssthresh, ¾·cwnd) = max(12, 7.5) segments,
	// above CUBIC's β·FlightSize (8.4 segments).
	if s.c.ssthresh != 12*s.mss || s.c.cwnd < 10*s.mss {
		t.Fatalf("cwnd %d ssthresh %d, want at least %d and %d", s.c.cwnd, s.c.ssthresh, 10*s.mss, 12*s.mss)
	}
}

// F-RTO without SACK (RFC 5682 §2, the basic algorithm, which Linux runs
// with the same code): the delay spike of the SACK test, and the same
// verdict from cumulative ACKs alone.
func TestFRTO_SpuriousTimeoutWithoutSACK(t *testing.T) {
	cfg := scriptCfg()
	cfg.FRTO = true
	s := newUndoScriptSACK(t, cfg, false, false)
	s.rto()
	s.ack(s.sq(1), 0)
	if got := s.sent(); len(got) != 2 || got[0] != s.sq(10) || got[1] != s.sq(11) {
		t.Fatalf("after the first ACK: segments at %v, want new data at %d and %d", got, s.sq(10), s.sq(11))
	}
	s.ack(s.sq(2), 0)
	if got := undoCounts(s.h); got != [5]uint64{0, 0, 0, 1, 1} {
		t.Fatalf("undo counters %v, want one loss undo found by F-RTO", got)
	}
	s.window(10*s.mss, iw10)
	if got := s.sent(); len(got) != 0 {
		t.Fatalf("segments at %v after the undo, want none (the flight fills cwnd)", got)
	}
}

// A repeated timeout restarts F-RTO (as Linux; RFC 5682 §3 would not):
// the first ACK after the second expiry still draws new data, and the ACK
// of an original still undoes both expiries' reduction, ssthresh included
// (held across the repeated expiry by RFC 5681 §3.1).
func TestFRTO_RepeatedTimeout(t *testing.T) {
	cfg := scriptCfg()
	cfg.FRTO = true
	s := newUndoScript(t, cfg, false)
	s.rto()
	s.rto()
	if s.h.Counters().TCPTimeouts != 2 {
		t.Fatal("no second timeout")
	}
	s.ack(s.sq(1), 0)
	if got := s.sent(); len(got) != 2 || got[0] != s.sq(10) {
		t.Fatalf("after the first ACK: segments at %v, want new data at %d", got, s.sq(10))
	}
	s.ack(s.sq(2), 0)
	if got := undoCounts(s.h); got != [5]uint64{0, 0, 0, 1, 1} {
		t.Fatalf("undo counters %v, want one loss undo found by F-RTO", got)
	}
	s.window(10*s.mss, iw10)
}

// RFC 3522 in a NewReno fast recovery without SACK (RFC 6582): segment 0
// is late, three duplicate ACKs resend it, and the ACK of everything
// echoes the original's TSval: the recovery's reduction is undone when it
// ends (TCPFullUndo).
func TestEifel_FullUndoWithoutSACK(t *testing.T) {
	cfg := scriptCfg()
	cfg.Undo = true
	s := newUndoScriptSACK(t, cfg, true, false)
	s.advance(10 * time.Millisecond)
	for i := 0; i < 3; i++ {
		s.ack(1, tsAt(10*time.Millisecond))
	}
	if !s.c.cc.inRecovery() {
		t.Fatal("no fast recovery after three duplicate ACKs")
	}
	if got := s.sent(); len(got) != 3 || got[2] != s.sq(0) {
		t.Fatalf("sent %v, want two segments by limited transmit and segment 0 resent", got)
	}
	s.ack(s.sq(12), tsAt(10*time.Millisecond))
	if got := undoCounts(s.h); got != [5]uint64{1, 0, 0, 0, 0} {
		t.Fatalf("undo counters %v, want one full undo", got)
	}
	s.window(10*s.mss, iw10)
}

// F-RTO's originals are data sent once and never retransmitted (Linux's
// TCPCB_EVER_RETRANS): a SACK, after the timeout, of a segment the
// go-back-N resending of an earlier timeout had sent again is no evidence
// that the new timeout was spurious. Segment 0 is lost and resent by a
// fast recovery whose retransmission is lost too; the first RTO (in the
// recovery: no F-RTO) resends it and, once it is acknowledged, segments 4
// and 5; a second RTO resends segment 4, and F-RTO starts. The SACK of
// segment 5's second copy comes after it: no verdict. The ACK of segment 4
// then draws new data, and a SACK of the new data alone shows the loss was
// real.
func TestFRTO_RetransmittedDataIsNotOriginal(t *testing.T) {
	cfg := scriptCfg()
	cfg.FRTO = true
	s := newUndoScript(t, cfg, false)
	for i := 1; i <= 3; i++ {
		s.ack(1, 0, [2]uint32{s.sq(1), s.sq(i + 1)})
	}
	s.sent() // limited transmit, the fast retransmit of segment 0
	s.rto()
	if s.c.frto.phase != 0 {
		t.Fatal("F-RTO started at a timeout during a fast recovery")
	}
	s.ack(s.sq(4), 0, [2]uint32{s.sq(10), s.sq(12)})
	if got := s.sent(); len(got) != 2 || got[0] != s.sq(4) || got[1] != s.sq(5) {
		t.Fatalf("go-back-N sent %v, want segments 4 and 5", got)
	}
	timeouts := s.h.Counters().TCPTimeouts
	for s.h.Counters().TCPTimeouts == timeouts {
		s.advance(5 * time.Millisecond)
	}
	if got := s.sent(); len(got) != 1 || got[0] != s.sq(4) {
		t.Fatalf("the second RTO sent %v, want segment 4", got)
	}
	if s.c.frto.phase != 1 {
		t.Fatal("F-RTO did not start at the second timeout")
	}
	s.ack(s.sq(4), 0, [2]uint32{s.sq(5), s.sq(6)}, [2]uint32{s.sq(10), s.sq(12)})
	if got := undoCounts(s.h); got != [5]uint64{} || s.c.frto.phase != 1 {
		t.Fatalf("undo counters %v, F-RTO step %d after the SACK of a retransmitted segment; want none, still step 2", got, s.c.frto.phase+1)
	}
	s.ack(s.sq(6), 0, [2]uint32{s.sq(10), s.sq(12)})
	if got := s.sent(); len(got) != 2 || got[0] != s.sq(12) {
		t.Fatalf("after segment 4's ACK: %v, want new data at %d", got, s.sq(12))
	}
	s.ack(s.sq(6), 0, [2]uint32{s.sq(10), s.sq(14)})
	if got := undoCounts(s.h); got != [5]uint64{} {
		t.Fatalf("undo counters %v, want none", got)
	}
	if got := s.sent(); len(got) == 0 || got[0] != s.sq(6) {
		t.Fatalf("after the SACK of the new data: %v, want the resending from segment 6", got)
	}
}

// A D-SACK that comes after the recovery ended still undoes it (Linux
// undoes in the Open state too): the ACK of everything ends the recovery
// with no evidence yet, then the retransmission's duplicate is reported.
func TestDSACKUndo_AfterRecoveryEnded(t *testing.T) {
	cfg := scriptCfg()
	cfg.Undo = true
	s := newUndoScript(t, cfg, false)
	reorderRecovery(t, s)
	s.ack(s.sq(12), 0)
	if s.c.cc.inRecovery() || undoCounts(s.h) != [5]uint64{} {
		t.Fatalf("in recovery %v, undo counters %v after the full ACK; want out, none", s.c.cc.inRecovery(), undoCounts(s.h))
	}
	if s.c.ssthresh != 6*s.mss {
		t.Fatalf("ssthresh %d, want %d", s.c.ssthresh, 6*s.mss)
	}
	s.ack(s.sq(12), 0, [2]uint32{s.sq(0), s.sq(1)})
	if got := undoCounts(s.h); got != [5]uint64{0, 0, 1, 0, 0} {
		t.Fatalf("undo counters %v, want one D-SACK undo", got)
	}
	if s.c.ssthresh != iw10 || s.c.cwnd < 10*s.mss {
		t.Fatalf("cwnd %d ssthresh %d after the undo", s.c.cwnd, s.c.ssthresh)
	}
}

// Undo and F-RTO end to end: transfers over loss, reordering, duplication
// and corruption with both on, with SACK, RACK and timestamps each on or
// off, arrive intact and close cleanly (transfer checks hashes and state),
// and the reductions undone are many (the reordering makes spurious fast
// retransmits) but the data never suffers for it.
func TestUndoTransfers(t *testing.T) {
	seeds := 48
	if testing.Short() || raceEnabled {
		seeds = 8
	}
	var undone uint64
	for s := range seeds {
		seed := uint64(s + 7000)
		r := rand.New(rand.NewPCG(seed, 3))
		f := faults{
			loss:         r.Float64() * 0.1,
			dup:          r.Float64() * 0.02,
			corrupt:      r.Float64() * 0.02,
			reorder:      r.Float64() * 0.1,
			reorderDelay: time.Duration(2+r.IntN(10)) * time.Millisecond,
		}
		cfg := TCPConfig{
			MSL:               time.Second,
			Undo:              true,
			FRTO:              true,
			DisableSACK:       s%2 == 1,
			RACK:              s%4 < 2,
			DisableTimestamps: s%8 >= 4,
		}
		if s%3 == 0 {
			cfg.CongestionControl = CCCubic
		}
		p := transfer(t, seed, 300_000, f, cfg)
		for _, k := range []Counters{p.a.Counters(), p.b.Counters()} {
			undone += k.TCPFullUndo + k.TCPPartialUndo + k.TCPDSACKUndo + k.TCPLossUndo
		}
	}
	if undone == 0 {
		t.Errorf("no reduction undone in %d transfers with reordering", seeds)
	}
	t.Logf("%d reductions undone in %d transfers", undone, seeds)
}

// D-SACKs count against every retransmission of the episode, those below
// SND.UNA included: segment 0 is resent, then segment 5, then RFC 6675's
// rescue retransmission resends segment 13; all three were only late. One
// D-SACK each (segment 0's after SND.UNA passed it, the last after the
// recovery ended): the third undoes the recovery.
func TestDSACKUndo_EveryRetransmission(t *testing.T) {
	cfg := scriptCfg()
	cfg.Undo = true
	s := newUndoScript(t, cfg, false)
	reorderRecovery(t, s)
	s.ack(s.sq(5), 0, [2]uint32{s.sq(6), s.sq(12)})
	got := s.sent()
	if len(got) != 4 || got[0] != s.sq(5) || got[3] != s.sq(13) {
		t.Fatalf("sent %v, want segment 5 resent, 12 and 13 new, 13 again (rescue)", got)
	}
	if s.c.undo.retrans != 3 {
		t.Fatalf("%d retransmissions counted, want 3", s.c.undo.retrans)
	}
	s.ack(s.sq(5), 0, [2]uint32{s.sq(0), s.sq(1)}, [2]uint32{s.sq(6), s.sq(14)})
	// The late segment 5 arrives: everything is acknowledged, which ends
	// the recovery with one retransmission not yet reported.
	s.ack(s.sq(14), 0, [2]uint32{s.sq(5), s.sq(6)})
	if got := undoCounts(s.h); got != [5]uint64{} || s.c.undo.retrans != 1 {
		t.Fatalf("undo counters %v, %d retransmissions not D-SACKed; want none, 1", got, s.c.undo.retrans)
	}
	s.ack(s.sq(14), 0, [2]uint32{s.sq(13), s.sq(14)})
	if got := undoCounts(s.h); got != [5]uint64{0, 0, 1, 0, 0} {
		t.Fatalf("undo counters %v, want one D-SACK undo", got)
	}
	if s.c.cc.inRecovery() || s.c.ssthresh != iw10 {
		t.Fatalf("in recovery %v, ssthresh %d after the undo", s.c.cc.inRecovery(), s.c.ssthresh)
	}
}

// An ECN congestion signal (RFC 3168 §6.1.2) is real: ECE in the middle
// of a spurious recovery ends its episode, and the D-SACK that would have
// undone the recovery undoes nothing (Linux's CWR state clears the undo
// marker too).
func TestUndo_NotAfterECN(t *testing.T) {
	for _, ece := range []bool{false, true} {
		cfg := scriptCfg()
		cfg.Undo = true
		cfg.ECN = ECNPassive
		s := &undoScript{script: newScript(t, cfg), mss: 1460, tsval: 5000}
		s.l, _ = s.h.Listen(80, 1)
		s.sackPermitted = true
		s.inject(seg{flags: S | E | W, win: 65535, mss: 1460})
		s.sackPermitted = false
		s.iss = uint32(s.out[0].pkt.TCP.Seq)
		s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
		s.c, _ = s.l.Accept()
		if !s.c.ecn.ok || !s.c.sackOK {
			t.Fatal("ECN and SACK not negotiated")
		}
		s.c.Write(data(14 * 1460))
		s.out = nil
		reorderRecovery(t, s)
		flags := A
		if ece {
			flags |= E
		}
		s.sack = [][2]uint32{{s.sq(0), s.sq(1)}}
		s.inject(seg{flags: flags, seq: 1, ack: s.sq(4), win: 65535})
		s.sack = nil
		want := [5]uint64{0, 0, 1, 0, 0}
		if ece {
			want = [5]uint64{}
		}
		if got := undoCounts(s.h); got != want {
			t.Errorf("ECE %v: undo counters %v, want %v", ece, got, want)
		}
	}
}
