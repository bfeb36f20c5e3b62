package stack

import (
	"testing"
	"time"
)

// bbrDriver feeds a BBR instance on a bare control block with rate
// samples of a path of bw bytes/s and a given RTT, one sample per round.
type bbrDriver struct {
	t         *testing.T
	c         *Conn
	b         *bbr
	env       *script
	delivered uint64
}

func newBBRDriver(t *testing.T) *bbrDriver {
	c, _ := newCCConn(t, CCBBR, ECNOff, 0)
	d := &bbrDriver{t: t, c: c, b: c.ccx.alg.(*bbr), env: c.h.env.(*script)}
	// As at ESTABLISHED with ISS 0 (SND.UNA = 1): the probe-wait jitter is 0.
	c.sndUna, c.sndMax = 1, 1
	d.b.Init(c.ccHandle())
	return d
}

// round delivers one round's sample: bw bytes/s over rtt, with inflight
// bytes in flight afterwards, d time later.
func (d *bbrDriver) round(bw uint64, rtt time.Duration, inflight uint32) {
	d.roundWith(bw, rtt, inflight, nil)
}

// roundWith is round with the sample changed by mod (loss, CE) first.
func (d *bbrDriver) roundWith(bw uint64, rtt time.Duration, inflight uint32, mod func(*RateSample)) {
	d.env.now += rtt
	n := uint64(float64(bw) * rtt.Seconds())
	prior := max(d.b.nextRoundDelivered, d.b.lossRoundDelivered) // a round (and a loss round) ends
	d.delivered = max(d.delivered, prior) + n
	d.c.sndMax = d.c.sndUna.Add(inflight)
	rs := RateSample{Delivered: n, Interval: rtt, PriorDelivered: prior,
		RTT: rtt, NewlyDelivered: uint32(n), TotalDelivered: d.delivered, InFlight: inflight, TxInFlight: inflight}
	if mod != nil {
		mod(&rs)
	}
	d.feed(rs)
}

// inRound delivers a sample within the current round (neither a round
// nor a loss round ends), 1 ms later: bw bytes/s over rtt, changed by mod.
func (d *bbrDriver) inRound(bw uint64, rtt time.Duration, inflight uint32, mod func(*RateSample)) {
	d.env.now += time.Millisecond
	n := uint64(float64(bw) * rtt.Seconds())
	d.delivered += ccMSS
	d.c.sndMax = d.c.sndUna.Add(inflight)
	rs := RateSample{Delivered: n, Interval: rtt, PriorDelivered: min(d.b.nextRoundDelivered, d.b.lossRoundDelivered) - 1,
		RTT: rtt, NewlyDelivered: ccMSS, TotalDelivered: d.delivered, InFlight: inflight, TxInFlight: inflight}
	if mod != nil {
		mod(&rs)
	}
	d.feed(rs)
}

func (d *bbrDriver) feed(rs RateSample) {
	d.c.ccx.rate.delivered = d.delivered // cc.Delivered(), as the engine keeps it
	d.b.OnRateSample(d.c.ccHandle(), rs)
}

func (d *bbrDriver) want(state string, gain float64) {
	d.t.Helper()
	if d.b.State() != state || d.b.pacingGain != gain {
		d.t.Fatalf("at %v: state %s, pacing gain %v; want %s, %v", d.env.now, d.b.State(), d.b.pacingGain, state, gain)
	}
}

// The draft's state machine on a path of 1 MB/s and 100 ms (BDP 100 kB):
// Startup (gain 2.77, the rate never lowered) until three rounds fail to
// raise the bandwidth by 25 %; Drain (0.35) until in flight ≤ BDP;
// ProbeBW DOWN (0.9) and at once CRUISE (1.0) with in flight ≤ BDP; after
// the probe wait (2 s + the ISS's jitter, 0 here), REFILL (1.0) for a
// round, UP (1.25, cwnd gain 2.25) until in flight ≥ 1.25·BDP after a
// round, DOWN again (the BDP from the best bandwidth of this cycle and the
// last, v3's filter);
// ProbeRTT 5 s after the last min-RTT refresh, cwnd capped at BDP/2 for
// 200 ms and a round, then CRUISE with cwnd restored.
func TestBBRStateMachine(t *testing.T) {
	d := newBBRDriver(t)
	cc := d.c.ccHandle()
	d.want("startup", 2.77)
	if r := cc.PacingRate(); r != 27_700_000 {
		t.Fatalf("initial pacing rate %d, want 2.77 × IW 10000 B / 1 ms = 27700000", r)
	}
	d.round(250_000, 100*time.Millisecond, 20_000)
	d.round(500_000, 100*time.Millisecond, 40_000)
	d.round(1_000_000, 100*time.Millisecond, 80_000)
	if d.b.maxBw != 1_000_000 || d.b.minRTT != 100*time.Millisecond {
		t.Fatalf("model: max bw %d, min RTT %v", d.b.maxBw, d.b.minRTT)
	}
	if r := cc.PacingRate(); r != 27_700_000 {
		t.Fatalf("Startup lowered the pacing rate to %d", r)
	}
	d.round(1_100_000, 100*time.Millisecond, 150_000) // +10 %: not growth
	d.round(1_000_000, 100*time.Millisecond, 150_000)
	d.want("startup", 2.77)
	d.round(1_000_000, 100*time.Millisecond, 150_000) // the third round without 25 %
	d.want("drain", 0.35)
	if r := cc.PacingRate(); r != 381_150 {
		t.Fatalf("Drain pacing rate %d, want 0.35 × 1.1 MB/s × 0.99 = 381150", r)
	}
	d.round(1_000_000, 100*time.Millisecond, 120_000) // above BDP = 110 kB: still draining
	d.want("drain", 0.35)
	d.round(1_000_000, 100*time.Millisecond, 100_000)
	d.want("probe_bw_cruise", 1)
	// One ACK a round delivers a whole round's data at once, which the
	// ACK-aggregation estimate (extra_acked) adds to the target.
	if got, want := d.c.cwnd, uint32(2*110_000+3*2*ccMSS+d.b.extraAcked); got > want {
		t.Fatalf("cwnd %d above 2·BDP + 3 quanta + extra_acked %d = %d", got, d.b.extraAcked, want)
	}
	for range 20 { // DOWN began at 0.8 s: until 2.8 s, 2 s after, no probe
		d.round(1_000_000, 100*time.Millisecond, 100_000)
	}
	d.want("probe_bw_cruise", 1)
	d.round(1_000_000, 100*time.Millisecond, 100_000) // 2.1 s after
	d.want("probe_bw_refill", 1)
	d.round(1_000_000, 100*time.Millisecond, 100_000)
	d.want("probe_bw_up", 1.25)
	if d.b.cwndGain != 2.25 {
		t.Fatalf("UP cwnd gain %v, want 2.25", d.b.cwndGain)
	}
	// The filter keeps the best of this ProbeBW cycle and the last; the
	// last ran from Startup to a round after the first DOWN and holds its
	// 1.1 MB/s: BDP = 110 kB.
	if d.b.maxBw != 1_100_000 {
		t.Fatalf("max bw %d in UP, want Startup's 1100000 kept by the two-cycle filter", d.b.maxBw)
	}
	d.round(1_000_000, 100*time.Millisecond, 137_000) // below 1.25 × 110 kB
	d.want("probe_bw_up", 1.25)
	d.round(1_000_000, 100*time.Millisecond, 137_500)
	d.want("probe_bw_down", 0.9)
	// ProbeRTT: the min RTT was last refreshed in Startup's first round.
	for d.b.State() != "probe_rtt" && d.env.now < 20*time.Second {
		d.round(1_000_000, 110*time.Millisecond, 100_000)
	}
	if d.b.State() != "probe_rtt" || d.env.now < 5*time.Second {
		t.Fatalf("at %v: state %s, want ProbeRTT after 5 s", d.env.now, d.b.State())
	}
	entered := d.env.now
	if d.c.cwnd != 50_000 {
		t.Fatalf("ProbeRTT cwnd %d, want BDP/2 = 50000 (Startup's 1.1 MB/s two cycles gone)", d.c.cwnd)
	}
	d.round(1_000_000, 100*time.Millisecond, 50_000) // in flight down to the cap: 200 ms start
	for d.b.State() == "probe_rtt" && d.env.now < entered+time.Second {
		d.round(1_000_000, 100*time.Millisecond, 50_000)
	}
	if d.b.State() != "probe_bw_cruise" || d.env.now-entered < 300*time.Millisecond {
		t.Fatalf("left ProbeRTT for %s after %v, want CRUISE after 200 ms and a round", d.b.State(), d.env.now-entered)
	}
	if d.c.cwnd <= 50_000 {
		t.Fatalf("cwnd %d not restored after ProbeRTT", d.c.cwnd)
	}
}
