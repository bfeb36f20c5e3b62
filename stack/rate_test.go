package stack

import (
	"testing"
	"time"
)

type rateRecorder struct {
	got  []RateSample
	lost []LostSegment
}

func (r *rateRecorder) OnRateSample(cc *CCConn, rs RateSample) { r.got = append(r.got, rs) }
func (r *rateRecorder) OnLost(cc *CCConn, ls LostSegment)      { r.lost = append(r.lost, ls) }

// The delivery-rate estimator (draft-cheng-iccrg-delivery-rate-estimation)
// with hand-computed samples. Ten 1000-byte segments leave at 0; ACKs at
// 100 ms (2 segments) and 110 ms (2 more) give 2000 B over 100 ms and
// 4000 B over 110 ms (ACK intervals from the flight's start); an eleventh
// segment sent at 110 ms is delivered at 210 ms with the rest: 7000 B since
// it left, over max(send 110 ms, ACK 100 ms). Then, with no data left and
// room in cwnd, the flow is app-limited: the next segment's sample says so
// until everything in flight then has been delivered.
func TestRateSamples(t *testing.T) {
	c, _ := newCCConn(t, CCNewReno, ECNOff, 0)
	rec := &rateRecorder{}
	c.ccx.rateObs = rec
	env := c.h.env.(*script)
	send := func(n int) {
		for range n {
			next := c.sndMax.Add(ccMSS)
			c.rateSent(c.sndMax, next)
			c.sndMax, c.sndNxt = next, next
		}
	}
	ack := func(at time.Duration, bytes uint32) RateSample {
		t.Helper()
		env.now = at
		c.sndUna = c.sndUna.Add(bytes)
		n := len(rec.got)
		c.rateOnAck()
		if len(rec.got) != n+1 {
			t.Fatalf("ACK at %v: %d samples, want one", at, len(rec.got)-n)
		}
		return rec.got[n]
	}
	c.cwnd = 100 * ccMSS
	c.sndBufStart = c.sndUna.Add(1 << 20) // data to send: not app-limited
	send(10)
	rs := ack(100*time.Millisecond, 2*ccMSS)
	if rs.Delivered != 2000 || rs.Interval != 100*time.Millisecond || rs.Rate() != 20_000 || rs.RTT != 100*time.Millisecond || rs.IsAppLimited {
		t.Fatalf("first sample %+v, want 2000 B over 100 ms = 20000 B/s, RTT 100 ms", rs)
	}
	c.ccx.minRTT = 100 * time.Millisecond
	rs = ack(110*time.Millisecond, 2*ccMSS)
	if rs.Delivered != 4000 || rs.Interval != 110*time.Millisecond || rs.TotalDelivered != 4000 || rs.NewlyDelivered != 2000 {
		t.Fatalf("second sample %+v, want 4000 B over 110 ms", rs)
	}
	send(1)
	rs = ack(210*time.Millisecond, 7*ccMSS)
	if rs.Delivered != 7000 || rs.Interval != 110*time.Millisecond || rs.PriorDelivered != 4000 || rs.Rate() != 63_636 {
		t.Fatalf("third sample %+v, want 7000 B over max(110, 100) ms = 63636 B/s", rs)
	}
	// App-limited: nothing left to send, cwnd not full.
	c.sndBufStart = c.sndMax
	send(2)
	c.rateCheckAppLimited() // marks the delivered count 11000 + 2000 in flight
	send(1)
	rs = ack(300*time.Millisecond, 2*ccMSS)
	if rs.IsAppLimited {
		t.Fatalf("sample of segments sent before the app-limited mark: %+v", rs)
	}
	rs = ack(310*time.Millisecond, ccMSS)
	if !rs.IsAppLimited || c.ccx.rate.appLimited != 0 {
		t.Fatalf("sample of a segment sent app-limited %+v (mark %d); want app-limited, and the mark cleared at 14000 > 13000", rs, c.ccx.rate.appLimited)
	}
	// A new flight after the connection went idle: its first sample's
	// interval starts at its send, not at the last delivery; its RTT
	// lowers the connection's min RTT.
	send(1)
	rs = ack(320*time.Millisecond, ccMSS)
	if rs.Interval != 10*time.Millisecond || rs.Rate() != 100_000 || c.ccx.minRTT != 10*time.Millisecond {
		t.Fatalf("sample of a segment sent at 310 ms to an idle path: %+v (min RTT %v), want 1000 B over 10 ms", rs, c.ccx.minRTT)
	}
}
