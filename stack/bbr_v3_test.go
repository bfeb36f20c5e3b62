package stack

import (
	"math"
	"testing"
	"time"
)

// The loss and ECN responses of BBRv3 (stack/bbr.go) against hand-computed
// values, on the 1 MB/s, 100 ms path of TestBBRStateMachine.

// toCruise runs Startup and Drain as TestBBRStateMachine does: max_bw
// 1.1 MB/s, min_rtt 100 ms (BDP 110 kB), ProbeBW CRUISE at 0.8 s.
func (d *bbrDriver) toCruise() {
	d.t.Helper()
	for _, r := range []struct {
		bw       uint64
		inflight uint32
	}{{250_000, 20_000}, {500_000, 40_000}, {1_000_000, 80_000}, {1_100_000, 150_000},
		{1_000_000, 150_000}, {1_000_000, 150_000}, {1_000_000, 120_000}, {1_000_000, 100_000}} {
		d.round(r.bw, 100*time.Millisecond, r.inflight)
	}
	d.want("probe_bw_cruise", 1)
}

func lossOf(lost uint64, tx uint32) func(*RateSample) {
	return func(rs *RateSample) { rs.Lost, rs.NewlyLost, rs.TxInFlight = lost, uint32(lost), tx }
}

// BBRCheckStartupHighLoss: Startup ends on loss only at the end of a loss
// round spent in recovery with at least 6 loss events and more than 2 %
// of what was in flight lost; inflight_hi then starts at max(BDP,
// inflight_latest) = max(1 MB/s × 100 ms, the 130 kB delivered in one
// sample of the round) = 130 kB. Five events are not enough.
func TestBBRStartupExitOnLoss(t *testing.T) {
	d := newBBRDriver(t)
	d.round(250_000, 100*time.Millisecond, 20_000)
	d.round(500_000, 100*time.Millisecond, 40_000)
	d.round(1_000_000, 100*time.Millisecond, 80_000)
	d.c.cc.recovering = true
	lossyRound := func(events int) { // the round's last ACK is its last loss event
		for range events - 1 {
			d.inRound(1_000_000, 130*time.Millisecond, 120_000, lossOf(1000, 100_000))
		}
		d.roundWith(1_000_000, 100*time.Millisecond, 120_000, lossOf(3000, 100_000)) // 3 % lost
	}
	lossyRound(5)
	d.want("startup", 2.77)
	if d.b.inflightHi != bbrInf {
		t.Fatalf("inflight_hi %d after 5 loss events in Startup, want unset", d.b.inflightHi)
	}
	lossyRound(6)
	d.want("drain", 0.35)
	if !d.b.filledPipe || d.b.fullBwCnt >= bbrFullBwCount {
		t.Fatalf("filled pipe %v, full-bw rounds %d: want the exit on loss, not on bandwidth", d.b.filledPipe, d.b.fullBwCnt)
	}
	if d.b.inflightHi != 130_000 {
		t.Fatalf("inflight_hi %d, want max(BDP 100000, inflight_latest 130000) = 130000", d.b.inflightHi)
	}
}

// ProbeBW UP: 1 % of what was in flight lost is below BBRLossThresh and
// changes nothing; 2000 B of 50000 (4 %) is too high: inflight_hi =
// max(tx_in_flight 50000, β × target 0.7 × min(BDP 110000, cwnd)) = 77000
// and UP ends (DOWN), once per probe: a second lossy sample leaves it.
// cwnd is bounded by inflight_hi. In the next UP, inflight_hi grows
// (BBRProbeInflightHiUpward) by 1 SMSS once cwnd/SMSS = 77 SMSS more
// have been delivered in its first round.
func TestBBRInflightHiOnLoss(t *testing.T) {
	d := newBBRDriver(t)
	d.toCruise()
	for range 40 {
		if d.b.State() == "probe_bw_up" {
			break
		}
		d.round(1_000_000, 100*time.Millisecond, 100_000)
	}
	d.want("probe_bw_up", 1.25)
	d.inRound(1_000_000, 100*time.Millisecond, 100_000, lossOf(1000, 100_000))
	d.want("probe_bw_up", 1.25)
	if d.b.inflightHi != bbrInf {
		t.Fatalf("inflight_hi %d after 1 %% loss, want unset", d.b.inflightHi)
	}
	if d.c.cwnd < 110_000 {
		t.Fatalf("cwnd %d in UP, want at least the BDP for the hand-computed target", d.c.cwnd)
	}
	d.inRound(1_000_000, 100*time.Millisecond, 100_000, lossOf(2000, 50_000)) // 100 kB in flight now: DOWN, not CRUISE
	d.want("probe_bw_down", 0.9)
	if d.b.inflightHi != 77_000 {
		t.Fatalf("inflight_hi %d, want max(50000, 0.7 × 110000) = 77000", d.b.inflightHi)
	}
	if d.c.cwnd > 77_000 {
		t.Fatalf("cwnd %d above inflight_hi 77000 in DOWN", d.c.cwnd)
	}
	d.inRound(1_000_000, 100*time.Millisecond, 100_000, lossOf(5000, 40_000))
	if d.b.inflightHi != 77_000 {
		t.Fatalf("inflight_hi %d after a second lossy sample, want 77000 (once per probe)", d.b.inflightHi)
	}
	// The next probe (after 5 s: as if a min-RTT sample had just put off
	// ProbeRTT).
	d.b.probeRTTMinStamp = d.env.now
	for range 40 {
		if d.b.State() == "probe_bw_up" {
			break
		}
		d.round(1_000_000, 100*time.Millisecond, 70_000)
	}
	d.want("probe_bw_up", 1.25)
	if d.c.cwnd != 77_000 || d.b.probeUpCnt != 77 {
		t.Fatalf("UP began with cwnd %d, probe_up_cnt %d; want 77000 (at inflight_hi) and 77", d.c.cwnd, d.b.probeUpCnt)
	}
	for i := range 77 {
		if d.b.inflightHi != 77_000 {
			t.Fatalf("inflight_hi %d after %d SMSS delivered in UP, want 77000", d.b.inflightHi, i)
		}
		d.inRound(1_000_000, 100*time.Millisecond, 70_000, nil)
	}
	if d.b.inflightHi != 78_000 || d.c.cwnd != 78_000 {
		t.Fatalf("inflight_hi %d, cwnd %d after 77 SMSS delivered in UP; want 78000 both", d.b.inflightHi, d.c.cwnd)
	}
}

// The lower bounds in CRUISE (BBRAdaptLowerBoundsFromCongestion): at the
// end of a round with loss, bw_lo = max(bw_latest, β × bw_lo) and
// inflight_lo = max(inflight_latest, β × inflight_lo), starting from
// max_bw (1.1 MB/s) and cwnd. Round 1: bw_latest = max(1 MB/s from the
// round before's last sample, 900 kB/s, 800 kB/s) = 1 MB/s, bw_lo =
// max(1 MB/s, 770 kB/s); inflight_latest 100 kB. Round 2: bw_latest 850
// kB/s, bw_lo = max(850000, 700000) = 850000, and pacing at 1.0 × 850000
// × 0.99 = 841500 B/s. A round without loss keeps them; REFILL resets
// them.
func TestBBRLowerBoundsInCruise(t *testing.T) {
	d := newBBRDriver(t)
	d.toCruise()
	cwnd0 := d.c.cwnd
	d.inRound(900_000, 100*time.Millisecond, 100_000, lossOf(1000, 100_000))
	d.round(800_000, 100*time.Millisecond, 100_000)
	lo1 := max(uint64(100_000), uint64(0.7*float64(cwnd0)))
	if d.b.bwLo != 1_000_000 || d.b.inflightLo != lo1 {
		t.Fatalf("round 1: bw_lo %d, inflight_lo %d; want 1000000 and max(100000, 0.7 × cwnd %d) = %d", d.b.bwLo, d.b.inflightLo, cwnd0, lo1)
	}
	d.inRound(850_000, 100*time.Millisecond, 100_000, lossOf(1000, 100_000))
	d.round(800_000, 100*time.Millisecond, 100_000)
	lo2 := max(uint64(85_000), uint64(0.7*float64(lo1)))
	if d.b.bwLo != 850_000 || d.b.inflightLo != lo2 {
		t.Fatalf("round 2: bw_lo %d, inflight_lo %d; want 850000 and max(85000, 0.7 × %d) = %d", d.b.bwLo, d.b.inflightLo, lo1, lo2)
	}
	if r := d.c.ccHandle().PacingRate(); r != 841_500 {
		t.Fatalf("pacing rate %d, want 1.0 × bw_lo 850000 × 0.99 = 841500", r)
	}
	if uint64(d.c.cwnd) > lo2 {
		t.Fatalf("cwnd %d above inflight_lo %d", d.c.cwnd, lo2)
	}
	d.round(1_000_000, 100*time.Millisecond, 100_000)
	if d.b.bwLo != 850_000 || d.b.inflightLo != lo2 {
		t.Fatalf("a round without loss moved bw_lo to %d, inflight_lo to %d", d.b.bwLo, d.b.inflightLo)
	}
	for range 40 {
		if d.b.State() == "probe_bw_refill" {
			break
		}
		d.round(1_000_000, 100*time.Millisecond, 100_000)
	}
	d.want("probe_bw_refill", 1)
	if d.b.bwLo != bbrInf || d.b.inflightLo != bbrInf {
		t.Fatalf("REFILL kept bw_lo %d, inflight_lo %d; want both reset", d.b.bwLo, d.b.inflightLo)
	}
}

// ECN (with the per-segment echo): the alpha of CE-marked bytes per
// round, α ← 15/16·α + ratio/16 from α = 1: rounds of 0.6, 0.4, 0.6, 0.6
// give 0.975, 0.9390625, 0.91787109375, 0.898004150390625; Startup ends
// after two rounds in a row above BBRECNThresh (50 %), the 0.4 round
// resetting the count, with inflight_hi = max(BDP, inflight_latest) =
// 2 MB/s × 100 ms = 200 kB. In CRUISE a round with CE cuts inflight_lo
// from cwnd to cwnd × (1 − α/3).
func TestBBRECNResponse(t *testing.T) {
	c, _ := newCCConn(t, CCBBR, ECNOn, 0)
	c.ecn.ok = true
	d := &bbrDriver{t: t, c: c, b: c.ccx.alg.(*bbr), env: c.h.env.(*script)}
	c.sndUna, c.sndMax = 1, 1
	d.b.Init(c.ccHandle())
	ce := func(ratio float64) func(*RateSample) {
		return func(rs *RateSample) {
			rs.NewlyDeliveredCE = uint32(ratio * float64(rs.NewlyDelivered))
			rs.DeliveredCE = uint64(rs.NewlyDeliveredCE)
		}
	}
	alphas := []float64{0.975, 0.9390625, 0.91787109375, 0.898004150390625}
	for i, r := range []struct {
		bw    uint64
		ratio float64
	}{{250_000, 0.6}, {500_000, 0.4}, {1_000_000, 0.6}, {2_000_000, 0.6}} {
		if d.b.State() != "startup" {
			t.Fatalf("round %d: %s, want Startup still", i+1, d.b.State())
		}
		d.roundWith(r.bw, 100*time.Millisecond, uint32(r.bw/10)+10_000, ce(r.ratio)) // above the BDP: Drain stays
		if math.Abs(d.b.ecnAlpha-alphas[i]) > 1e-12 {
			t.Fatalf("round %d: α %v, want %v", i+1, d.b.ecnAlpha, alphas[i])
		}
	}
	d.want("drain", 0.35)
	if d.b.inflightHi != 200_000 {
		t.Fatalf("inflight_hi %d, want max(BDP 200000, inflight_latest 200000)", d.b.inflightHi)
	}
	d.round(2_000_000, 100*time.Millisecond, 150_000)
	d.want("probe_bw_cruise", 1)
	a0, cwnd0 := d.b.ecnAlpha, d.c.cwnd
	d.inRound(2_000_000, 100*time.Millisecond, 150_000, ce(1))
	d.round(2_000_000, 100*time.Millisecond, 150_000)
	alpha := 15.0/16*a0 + float64(ccMSS)/float64(ccMSS+200_000)/16
	want := uint64(float64(cwnd0) * (1 - alpha/3))
	if math.Abs(d.b.ecnAlpha-alpha) > 1e-12 || d.b.inflightLo != want {
		t.Fatalf("CE in CRUISE: α %v, inflight_lo %d; want α %v, cwnd %d × (1 − α/3) = %d", d.b.ecnAlpha, d.b.inflightLo, alpha, cwnd0, want)
	}
}

// BBRHandleLostPacket with BBRInflightLongtermFromLostPacket. In ProbeBW
// UP (the probe's samples in), a 1000-byte segment that left with 100000
// B in flight, 2000 B lost since with it (2 %), is not too high; with
// 2500 B (2.5 %) it is: before it 99000 B were in flight and 1500 B lost,
// so the loss rate crossed 2 % after (0.02 × 99000 − 1500)/0.98 = 489.8 B
// more, and inflight_hi = max(99489, 0.7 × min(BDP 110000, cwnd)) = 99489;
// UP ends (DOWN). A second such loss changes nothing: the probe's samples
// are over (bw_probe_samples cleared). With 4000 B lost (the rate already
// above 2 % before the segment) the flight before it, 99000, is taken.
func TestBBRInflightHiFromLostSegment(t *testing.T) {
	d := newBBRDriver(t)
	cc := d.c.ccHandle()
	d.toCruise()
	for range 40 {
		if d.b.State() == "probe_bw_up" {
			break
		}
		d.round(1_000_000, 100*time.Millisecond, 100_000)
	}
	d.want("probe_bw_up", 1.25)
	if d.b.bwProbeSamples {
		d.b.OnLost(cc, LostSegment{Bytes: 1000, TxInFlight: 100_000, Lost: 2000})
	} else {
		t.Fatal("UP without the probe's samples")
	}
	d.want("probe_bw_up", 1.25)
	if d.b.inflightHi != bbrInf {
		t.Fatalf("2 %% lost set inflight_hi %d", d.b.inflightHi)
	}
	d.b.OnLost(cc, LostSegment{Bytes: 1000, TxInFlight: 100_000, Lost: 2500})
	d.want("probe_bw_down", 0.9)
	if d.b.inflightHi != 99_489 {
		t.Fatalf("inflight_hi %d, want 99000 + (0.02 × 99000 − 1500)/0.98 = 99489", d.b.inflightHi)
	}
	d.b.OnLost(cc, LostSegment{Bytes: 1000, TxInFlight: 50_000, Lost: 5000})
	if d.b.inflightHi != 99_489 {
		t.Fatalf("a second loss in the probe moved inflight_hi to %d", d.b.inflightHi)
	}
	if got := inflightHiFromLostSegment(LostSegment{Bytes: 1000, TxInFlight: 100_000, Lost: 4000}); got != 99_000 {
		t.Fatalf("loss above 2 %% before the segment: %d, want the flight before it, 99000", got)
	}
}
