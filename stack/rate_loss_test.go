package stack

import (
	"testing"
	"time"
)

// The loss and CE counts of the rate samples (RateSample.Lost, NewlyLost,
// TxInFlight, DeliveredCE), by hand. With RACK: ten 1000-byte segments
// leave (the first with 1000 B in flight once it left); RACK marks the
// second lost; the ACK of the first counts it (NewlyLost 1000, Lost 1000
// since the first was sent). An eleventh segment leaves with 8000 B in
// flight before it (ten sent, one delivered, one lost) and 9000 B after;
// resending the second (at the same instant) does not count it again; the
// ACK of all, its sample the eleventh's (sent last, with the resend, and
// not a retransmission), has Lost 0 (nothing lost since it was sent) and
// TxInFlight 9000. Without SACK, a segment resent without
// being found lost (a timeout) counts when resent and is reported by the
// next sample, in NewlyLost but not NewlyFoundLost (and no OnLost; the
// RACK loss had one, with the second's 2000 B tx_in_flight). CE: with the per-segment echo an ACK with ECE counts what
// it delivered; with RFC 3168's echo nothing.
func TestRateSampleLossAndCE(t *testing.T) {
	c, _ := newCCConn(t, CCNewReno, ECNOff, 0)
	rec := &rateRecorder{}
	c.ccx.rateObs, c.ccx.lossObs = rec, rec
	c.sackOK, c.h.cfg.RACK = true, true
	env := c.h.env.(*script)
	c.cwnd = 100 * ccMSS
	c.sndBufStart = c.sndUna.Add(1 << 20)
	send := func(n int) {
		for range n {
			next := c.sndMax.Add(ccMSS)
			c.rackSent(c.sndMax, next, false)
			c.rateSent(c.sndMax, next)
			c.sndMax, c.sndNxt = next, next
		}
	}
	ack := func(at time.Duration, una uint32) RateSample {
		t.Helper()
		env.now = at
		c.sndUna = c.sndUna.Add(una)
		if k := int(una / ccMSS); k <= len(c.rack.segs) {
			c.rack.segs = c.rack.segs[:copy(c.rack.segs, c.rack.segs[k:])]
		}
		n := len(rec.got)
		c.rateOnAck()
		if len(rec.got) != n+1 {
			t.Fatalf("ACK at %v: %d samples, want one", at, len(rec.got)-n)
		}
		return rec.got[n]
	}
	send(10)
	if s := c.ccx.rate.segs[0]; s.txInFlight != 1000 || c.ccx.rate.segs[9].txInFlight != 10_000 {
		t.Fatalf("tx_in_flight of the first and tenth %d, %d; want 1000, 10000", s.txInFlight, c.ccx.rate.segs[9].txInFlight)
	}
	c.rack.segs[1].lost, c.rack.segs[1].marked = true, true
	second := c.sndUna.Add(ccMSS)
	rs := ack(100*time.Millisecond, ccMSS)
	if rs.NewlyLost != 1000 || rs.NewlyFoundLost != 1000 || rs.Lost != 1000 || rs.TxInFlight != 1000 || rs.InFlight != 8000 {
		t.Fatalf("ACK of the first: %+v; want NewlyLost and NewlyFoundLost 1000, Lost 1000, TxInFlight 1000, InFlight 8000", rs)
	}
	if want := []LostSegment{{Bytes: 1000, TxInFlight: 2000, Lost: 1000}}; len(rec.lost) != 1 || rec.lost[0] != want[0] {
		t.Fatalf("OnLost calls %+v, want %+v (the second: 2000 B in flight once it left)", rec.lost, want)
	}
	send(1)
	if s := c.ccx.rate.segs[len(c.ccx.rate.segs)-1]; s.txInFlight != 9000 || s.lost != 1000 {
		t.Fatalf("the eleventh: tx_in_flight %d, P.lost %d; want 9000, 1000", s.txInFlight, s.lost)
	}
	c.rackSent(second, second.Add(ccMSS), false)
	c.rateSent(second, second.Add(ccMSS))
	if c.ccx.rate.lost != 1000 {
		t.Fatalf("C.lost %d after resending the lost second, want 1000 (counted once)", c.ccx.rate.lost)
	}
	rs = ack(200*time.Millisecond, 10*ccMSS)
	if rs.NewlyLost != 0 || rs.Lost != 0 || rs.TxInFlight != 9000 || rs.RTT != 100*time.Millisecond {
		t.Fatalf("ACK of all: %+v; want the eleventh's sample: NewlyLost 0, Lost 0, TxInFlight 9000, RTT 100 ms", rs)
	}

	// Without SACK: a timeout's resend.
	c.sackOK, c.h.cfg.RACK = false, false
	send(3)
	first := c.sndUna
	c.rateSent(first, first.Add(ccMSS))
	if c.ccx.rate.lost != 2000 {
		t.Fatalf("C.lost %d after a resend not found lost, want 2000", c.ccx.rate.lost)
	}
	rs = ack(300*time.Millisecond, ccMSS)
	if len(rec.lost) != 1 {
		t.Fatalf("OnLost calls %+v: a resend not found lost is no OnLost", rec.lost)
	}
	if rs.NewlyLost != 1000 || rs.NewlyFoundLost != 0 {
		t.Fatalf("sample after the resend: NewlyLost %d, NewlyFoundLost %d; want 1000, 0 (no ACK found it lost)", rs.NewlyLost, rs.NewlyFoundLost)
	}

	// CE, per-segment echo: the ACK with ECE delivered 1000 B.
	c.ecn.ok, c.ccx.ceEcho, c.ccx.ackECE = true, true, true
	rs = ack(400*time.Millisecond, ccMSS)
	if rs.NewlyDeliveredCE != 1000 || rs.DeliveredCE != 1000 {
		t.Fatalf("ACK with ECE, per-segment echo: %+v; want 1000 B CE", rs)
	}
	c.ccx.ceEcho = false // RFC 3168: ECE latched, says nothing of how much
	rs = ack(500*time.Millisecond, ccMSS)
	if rs.NewlyDeliveredCE != 0 {
		t.Fatalf("ACK with RFC 3168 ECE: NewlyDeliveredCE %d, want 0", rs.NewlyDeliveredCE)
	}
}
