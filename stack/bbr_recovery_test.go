package stack

import (
	"testing"
	"time"
)

// BBR's own cwnd in loss recovery (BBROnEnterFastRecovery,
// BBRModulateCwndForRecovery, BBRRestoreCwnd), on the path of
// TestBBRStateMachine in Startup, SMSS 1000. Three Startup rounds at 250,
// 500 and 1000 kB/s (100 ms) grow cwnd from IW 10000 by 25000, 50000 and
// 100000 bytes delivered to 185000 (each below the target 2 × bw × 100 ms
// + 3 quanta). A recovery with 150000 bytes in flight saves 185000 and cuts
// cwnd to 150000 + 1 SMSS; in its first round cwnd is max(cwnd − newly
// lost, in flight + newly delivered): 3000 lost with 140000 in flight and
// 1000 delivered gives max(148000, 141000) = 148000, then 149500 in flight
// and 1000 delivered max(148000, 150500) = 150500. The end restores
// max(150500, 185000) = 185000, after which cwnd grows again (+1000). A
// second recovery saves 186000 (cwnd, not the first recovery's 185000)
// and holds cwnd at max(151000, 150000 + 1000) = 151000; once a segment
// sent after it began is delivered (a round), conservation ends and
// Startup's growth resumes: 151000 is below the target 2 × 1 MB/s × 100 ms
// + 3 × 2742 = 208226, so cwnd grows by the round's 100000 to 251000.
func TestBBRRecoveryCwnd(t *testing.T) {
	d := newBBRDriver(t)
	cc := d.c.ccHandle()
	d.round(250_000, 100*time.Millisecond, 20_000)
	d.round(500_000, 100*time.Millisecond, 40_000)
	d.round(1_000_000, 100*time.Millisecond, 80_000)
	d.want("startup", 2.77)
	wantCwnd := func(what string, want uint32) {
		t.Helper()
		if got := d.c.cwnd; got != want {
			t.Fatalf("%s: cwnd %d, want %d", what, got, want)
		}
	}
	wantCwnd("after three Startup rounds", 185_000)
	lost := func(n uint32) func(*RateSample) {
		return func(rs *RateSample) { rs.NewlyLost, rs.NewlyFoundLost = n, n }
	}

	d.c.sndMax = d.c.sndUna.Add(150_000)
	var owner RecoveryCwndOwner = d.b // BBR owns cwnd in recovery
	owner.OnRecoveryStart(cc)
	wantCwnd("entering recovery with 150000 in flight", 151_000)
	if d.b.priorCwnd != 185_000 || !d.b.packetConservation {
		t.Fatalf("prior_cwnd %d, conservation %v; want 185000, true", d.b.priorCwnd, d.b.packetConservation)
	}
	d.inRound(1_000_000, 100*time.Millisecond, 140_000, lost(3000))
	wantCwnd("3000 lost, 140000 in flight, 1000 delivered", 148_000)
	d.inRound(1_000_000, 100*time.Millisecond, 149_500, nil)
	wantCwnd("149500 in flight, 1000 delivered", 150_500)
	owner.OnRecoveryEnd(cc)
	wantCwnd("the recovery's end", 185_000)
	d.inRound(1_000_000, 100*time.Millisecond, 100_000, nil)
	wantCwnd("after the recovery, 1000 delivered", 186_000)

	d.c.sndMax = d.c.sndUna.Add(150_000)
	owner.OnRecoveryStart(cc)
	if d.b.priorCwnd != 186_000 {
		t.Fatalf("second recovery: prior_cwnd %d, want 186000 (cwnd, not the first recovery's)", d.b.priorCwnd)
	}
	d.inRound(1_000_000, 100*time.Millisecond, 150_000, nil) // sent before the recovery: still conserving
	wantCwnd("second recovery, 150000 in flight, 1000 delivered", 151_000)
	sentAfter := d.c.ccx.rate.delivered + 1 // a segment sent after the recovery began
	d.roundWith(1_000_000, 100*time.Millisecond, 150_000, func(rs *RateSample) { rs.PriorDelivered = sentAfter })
	if d.b.packetConservation {
		t.Fatal("packet conservation outlived the recovery's first round")
	}
	wantCwnd("a round into the second recovery", 251_000)
	d.want("startup", 2.77)
}
