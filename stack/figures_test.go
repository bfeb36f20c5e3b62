package stack

import (
	"os"
	"testing"
	"time"
)

// TestLossRecoveryFigures produces docs/tcp.md's "Loss recovery in figures"
// table: 1 MiB each way between two hosts, seeds 1–20, random loss only,
// with SACK off and on, and the RTO expiries, fast retransmits,
// retransmitted segments and duplicate segments received summed
// over both hosts. It is a sweep (TCPSIM_LONG=1); run with -v to see the
// table. SACK must never need more RTO expiries than NewReno alone.
func TestLossRecoveryFigures(t *testing.T) {
	if os.Getenv("TCPSIM_LONG") != "1" {
		t.Skip("a sweep: set TCPSIM_LONG=1")
	}
	for _, loss := range []float64{0.05, 0.10} {
		var rto [2]uint64
		for i, off := range []bool{true, false} {
			var fr, rx, dup uint64
			for seed := uint64(1); seed <= 20; seed++ {
				p := transfer(t, seed, 1<<20, faults{loss: loss}, TCPConfig{MSL: time.Second, DisableSACK: off})
				ca, cb := p.a.Counters(), p.b.Counters()
				rto[i] += ca.TCPTimeouts + cb.TCPTimeouts
				fr += ca.TCPFastRetrans + cb.TCPFastRetrans
				rx += ca.TCPRetransSegs + cb.TCPRetransSegs
				// Loss only, no duplication on the link: every segment that
				// arrives wholly below RCV.NXT was retransmitted spuriously.
				dup += ca.TCPDuplicateSegments + cb.TCPDuplicateSegments
			}
			sack := map[bool]string{true: "off", false: "on"}[off]
			t.Logf("| %.0f %% | %s | %d | %d | %d | %d |", loss*100, sack, rto[i], fr, rx, dup)
		}
		if rto[1] > rto[0] {
			t.Errorf("loss %.0f%%: %d RTO expiries with SACK, %d without", loss*100, rto[1], rto[0])
		}
	}
}
