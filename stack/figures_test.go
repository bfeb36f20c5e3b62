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

// TestProfileFigures produces docs/tcp.md's comparison of loss recovery
// across configurations: 1 MiB each way, seeds 1–20, random loss of 1, 5
// and 10 % plus 2 % reordering (by 5 ms), with NewReno+SACK (the zero
// config), CUBIC (with HyStart++, RFC 6675 and PRR, as the zero config
// gives them), the same with RACK-TLP, and the rfc and linux profiles. RTO expiries, segments
// retransmitted, duplicates received (spurious retransmissions), undone
// reductions (TCPFullUndo + TCPPartialUndo + TCPDSACKUndo + TCPLossUndo),
// spurious RTOs found by F-RTO, and the mean completion time. A sweep (TCPSIM_LONG=1); run with -v.
func TestProfileFigures(t *testing.T) {
	if os.Getenv("TCPSIM_LONG") != "1" {
		t.Skip("a sweep: set TCPSIM_LONG=1")
	}
	lin, _ := Profile(ProfileLinux)
	rfc, _ := Profile(ProfileRFC)
	configs := []struct {
		name string
		cfg  TCPConfig
	}{
		{"NewReno + SACK (zero config)", TCPConfig{}},
		{"CUBIC + RFC 6675 + PRR", TCPConfig{CongestionControl: CCCubic}},
		{"CUBIC + RACK-TLP + PRR", TCPConfig{CongestionControl: CCCubic, RACK: true}},
		{"rfc profile", rfc},
		{"linux profile", lin},
	}
	for _, loss := range []float64{0.01, 0.05, 0.10} {
		for _, c := range configs {
			var rto, rx, dup, undo, spurious uint64
			var total time.Duration
			for seed := uint64(1); seed <= 20; seed++ {
				p := transfer(t, seed, 1<<20, faults{loss: loss, reorder: 0.02, reorderDelay: 5 * time.Millisecond}, c.cfg)
				ca, cb := p.a.Counters(), p.b.Counters()
				rto += ca.TCPTimeouts + cb.TCPTimeouts
				rx += ca.TCPRetransSegs + cb.TCPRetransSegs
				dup += ca.TCPDuplicateSegments + cb.TCPDuplicateSegments
				for _, k := range []Counters{ca, cb} {
					undo += k.TCPFullUndo + k.TCPPartialUndo + k.TCPDSACKUndo + k.TCPLossUndo
					spurious += k.TCPSpuriousRTOs
				}
				total += p.doneAt
			}
			t.Logf("| %.0f %% | %s | %d | %d | %d | %d | %d | %.3f s |", loss*100, c.name, rto, rx, dup, undo, spurious, (total / 20).Seconds())
		}
	}
}

// TestUndoFigures isolates what spurious-retransmission undo and F-RTO do
// (docs/tcp.md, "Undo in figures"): the linux profile with Undo and FRTO
// off, each alone, and both (the profile), over TestProfileFigures' paths
// but 100 seeds, since a handful of long timeouts moves a 20-seed mean;
// then, for the linux profile, the undos by counter with the 2 %
// reordering and without it. A sweep (TCPSIM_LONG=1); run with -v.
func TestUndoFigures(t *testing.T) {
	if os.Getenv("TCPSIM_LONG") != "1" {
		t.Skip("a sweep: set TCPSIM_LONG=1")
	}
	lin, _ := Profile(ProfileLinux)
	with := func(undo, frto bool) TCPConfig { c := lin; c.Undo, c.FRTO = undo, frto; return c }
	configs := []struct {
		name string
		cfg  TCPConfig
	}{
		{"neither", with(false, false)},
		{"Undo", with(true, false)},
		{"FRTO", with(false, true)},
		{"both (linux profile)", with(true, true)},
	}
	const seeds = 100
	for _, loss := range []float64{0.01, 0.05, 0.10} {
		for _, c := range configs {
			var rto, rx, dup, undo, spurious uint64
			var total time.Duration
			for seed := uint64(1); seed <= seeds; seed++ {
				p := transfer(t, seed, 1<<20, faults{loss: loss, reorder: 0.02, reorderDelay: 5 * time.Millisecond}, c.cfg)
				for _, k := range []Counters{p.a.Counters(), p.b.Counters()} {
					rto += k.TCPTimeouts
					rx += k.TCPRetransSegs
					dup += k.TCPDuplicateSegments
					undo += k.TCPFullUndo + k.TCPPartialUndo + k.TCPDSACKUndo + k.TCPLossUndo
					spurious += k.TCPSpuriousRTOs
				}
				total += p.doneAt
			}
			t.Logf("| %.0f %% | %s | %d | %d | %d | %d | %d | %.3f s |", loss*100, c.name, rto, rx, dup, undo, spurious, (total / seeds).Seconds())
		}
	}
	// Which undo, for the linux profile, with the reordering and without.
	for _, loss := range []float64{0.01, 0.05, 0.10} {
		for _, reorder := range []float64{0.02, 0} {
			var full, partial, dsack, lossUndo, spurious uint64
			for seed := uint64(1); seed <= seeds; seed++ {
				p := transfer(t, seed, 1<<20, faults{loss: loss, reorder: reorder, reorderDelay: 5 * time.Millisecond}, lin)
				for _, k := range []Counters{p.a.Counters(), p.b.Counters()} {
					full += k.TCPFullUndo
					partial += k.TCPPartialUndo
					dsack += k.TCPDSACKUndo
					lossUndo += k.TCPLossUndo
					spurious += k.TCPSpuriousRTOs
				}
			}
			t.Logf("| %.0f %% | %.0f %% | %d | %d | %d | %d | %d |", loss*100, reorder*100, full, partial, dsack, lossUndo, spurious)
		}
	}
}
