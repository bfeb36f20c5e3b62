package sim

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// statN is the number of packets in statistical fault tests: 100 000, or
// 1 000 000 with TCPSIM_LONG=1.
var statN = func() int {
	if os.Getenv("TCPSIM_LONG") == "1" {
		return 1_000_000
	}
	return 100_000
}()

// blast sends n small TCP packets (seq = index) from a to b, one every gap.
func blast(t testing.TB, w *World, a *testNode, n int, gap time.Duration) {
	t.Helper()
	p := tcpPacket(t, addrA, addrB, segment.FlagACK, 0, 0)
	i := 0
	var next func()
	next = func() {
		q := tcpPacket(t, addrA, addrB, segment.FlagACK, uint32(i), 0)
		copy(p, q)
		a.ifaces[0].Send(p)
		i++
		if i < n {
			w.After(gap, next)
		}
	}
	w.At(0, next)
}

func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Fatalf("%s = %.5f, want %.5f ± %.5f", what, got, want, tol)
	} else {
		t.Logf("%s = %.5f (want %.5f ± %.5f)", what, got, want, tol)
	}
}

func TestFaultLossRate(t *testing.T) {
	w, l, a, b := pair(t, Config{Seed: 11}, LinkConfig{AB: DirConfig{Faults: []Fault{Loss{P: 0.1}}}})
	b.keep = false
	blast(t, w, a, statN, time.Microsecond)
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	// Binomial sd = sqrt(0.1*0.9/1e5) ≈ 0.00095; allow 5 sd.
	within(t, "loss rate", float64(l.Stats(0).DropFault)/float64(statN), 0.1, 0.005)
	if b.count+int(l.Stats(0).DropFault) != statN {
		t.Fatalf("delivered %d + dropped %d != %d", b.count, l.Stats(0).DropFault, statN)
	}
}

func TestFaultGilbertElliott(t *testing.T) {
	const p, r = 0.01, 0.25
	w, _, a, b := pair(t, Config{Seed: 12}, LinkConfig{AB: DirConfig{Faults: []Fault{GEModel(p, r)}}})
	blast(t, w, a, statN, time.Microsecond)
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	// Reconstruct loss bursts from the sequence numbers that arrived.
	var bursts, lost int
	next := uint32(0)
	for _, g := range b.got {
		pk, err := segment.ParsePacket(g.data)
		if err != nil {
			t.Fatal(err)
		}
		s := uint32(pk.TCP.Seq)
		if s != next {
			bursts++
			lost += int(s - next)
		}
		next = s + 1
	}
	if int(next) != statN {
		bursts++
		lost += statN - int(next)
	}
	// Loss rate p/(p+r); bursts are geometric with mean 1/r = 4 (sd of the
	// mean over ~950 bursts ≈ 0.11).
	within(t, "GE loss rate", float64(lost)/float64(statN), p/(p+r), 0.006)
	within(t, "GE mean burst length", float64(lost)/float64(bursts), 1/r, 0.4)
}

func TestFaultDuplicate(t *testing.T) {
	w, l, a, b := pair(t, Config{Seed: 13}, LinkConfig{AB: DirConfig{Faults: []Fault{Duplicate{P: 0.05}}}})
	b.keep = false
	blast(t, w, a, statN, time.Microsecond)
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	d := l.Stats(0).Duplicated
	within(t, "duplicate rate", float64(d)/float64(statN), 0.05, 0.004)
	if b.count != statN+int(d) {
		t.Fatalf("delivered %d, want %d + %d duplicates", b.count, statN, d)
	}
}

// Corruption flips exactly one bit, and the checksums catch every corrupted
// packet that arrives.
func TestFaultCorrupt(t *testing.T) {
	const n = 20_000
	w, l, a, b := pair(t, Config{Seed: 14, Log: true}, LinkConfig{AB: DirConfig{Faults: []Fault{Corrupt{P: 0.1}}}})
	blast(t, w, a, n, time.Microsecond)
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	c := int(l.Stats(0).Corrupted)
	within(t, "corrupt rate", float64(c)/n, 0.1, 0.012)
	bad := 0
	for i, g := range b.got {
		if _, err := segment.ParsePacket(g.data); err != nil {
			bad++
			// Exactly one bit differs from the packet that was sent.
			q := tcpPacket(t, addrA, addrB, segment.FlagACK, uint32(i), 0)
			diff := 0
			for j := range q {
				diff += popcount(q[j] ^ g.data[j])
			}
			if diff != 1 {
				t.Fatalf("packet %d differs in %d bits", i, diff)
			}
		}
	}
	if bad != c {
		t.Fatalf("%d packets fail checksum verification, %d were corrupted", bad, c)
	}
	if w.Log().Count(Corrupted, "corrupt") != c {
		t.Fatal("log and stats disagree on corruption")
	}
}

func popcount(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// netem's reorder with gap: the fraction of packets sent early is
// 1/(gap-1 + 1/p), and each of them overtakes packets in flight.
func TestFaultReorder(t *testing.T) {
	const p, gap = 0.25, 5
	w, _, a, b := pair(t, Config{Seed: 15, Log: true}, LinkConfig{AB: DirConfig{
		Delay: 10 * time.Millisecond, Faults: []Fault{Reorder{P: p, Gap: gap}}}})
	blast(t, w, a, statN, time.Millisecond)
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	early := w.Log().Count(Delayed, "reorder")
	within(t, "reorder fraction", float64(early)/float64(statN), 1/(gap-1+1/p), 0.005)
	// Count arrivals that overtook a packet sent before them: some later
	// arrival has a lower sequence number.
	overtook := 0
	minAfter := uint32(math.MaxUint32)
	for i := len(b.got) - 1; i >= 0; i-- {
		pk, _ := segment.ParsePacket(b.got[i].data)
		s := uint32(pk.TCP.Seq)
		if minAfter < s {
			overtook++
		}
		minAfter = min(minAfter, s)
	}
	if overtook != early {
		t.Fatalf("%d packets overtook others, %d were sent early", overtook, early)
	}
}

func TestFaultReorderDelay(t *testing.T) {
	w, l, a, b := pair(t, Config{Seed: 16}, LinkConfig{AB: DirConfig{
		Delay: time.Millisecond, Faults: []Fault{ReorderDelay{P: 0.1, Delay: 5 * time.Millisecond}}}})
	blast(t, w, a, 10_000, time.Millisecond)
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	within(t, "held-back fraction", float64(l.Stats(0).Delayed)/10_000, 0.1, 0.012)
	for _, g := range b.got {
		pk, _ := segment.ParsePacket(g.data)
		d := g.at - time.Duration(pk.TCP.Seq)*time.Millisecond
		if d != time.Millisecond && d != 6*time.Millisecond {
			t.Fatalf("packet %d took %v, want 1ms or 6ms", pk.TCP.Seq, d)
		}
	}
}

// Each fault draws from its own stream: adding a fault before another does
// not change which packets the other one drops.
func TestFaultStreamsIndependent(t *testing.T) {
	drops := func(faults ...Fault) []uint64 {
		w, _, a, _ := pair(t, Config{Seed: 17, Log: true}, LinkConfig{AB: DirConfig{Faults: faults}})
		blast(t, w, a, 5000, time.Microsecond)
		if err := w.Run(); err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, e := range w.Log().Events() {
			if e.Verdict == Dropped && e.Reason == "loss" {
				out = append(out, e.PktSeq)
			}
		}
		return out
	}
	alone := drops(Loss{P: 0.2})
	with := drops(Corrupt{P: 0.3}, ReorderDelay{P: 0.5, Delay: time.Millisecond}, Loss{P: 0.2})
	if len(alone) == 0 || len(alone) != len(with) {
		t.Fatalf("loss dropped %d alone, %d with other faults", len(alone), len(with))
	}
	for i := range alone {
		if alone[i] != with[i] {
			t.Fatalf("drop %d: packet %d alone, %d with other faults", i, alone[i], with[i])
		}
	}
	if other := drops(Loss{P: 0.2}, Loss{P: 0.2}); len(other) <= len(alone) {
		t.Fatal("a second loss fault changed nothing")
	}
}

// ---- scripted rules: exact ----

// ruleWorld sends a SYN, then data segments 1..6 (seq 1000+i*100), then a
// pure ACK, from a to b, 10 ms apart, and returns what b received.
func ruleRun(t *testing.T, faults ...Fault) (*World, *testNode) {
	t.Helper()
	w, _, a, b := pair(t, Config{Log: true, LogData: true}, LinkConfig{AB: DirConfig{
		Delay: time.Millisecond, Faults: faults}})
	pkts := [][]byte{tcpPacket(t, addrA, addrB, segment.FlagSYN, 999, 0)}
	for i := 1; i <= 6; i++ {
		pkts = append(pkts, tcpPacket(t, addrA, addrB, segment.FlagACK|segment.FlagPSH, uint32(1000+i*100), 100))
	}
	pkts = append(pkts, tcpPacket(t, addrA, addrB, segment.FlagACK, 1700, 0))
	for i, p := range pkts {
		w.At(time.Duration(i)*10*time.Millisecond, func() { a.ifaces[0].Send(p) })
	}
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	return w, b
}

func seqs(t *testing.T, n *testNode) []uint32 {
	var out []uint32
	for _, g := range n.got {
		pk, err := segment.ParsePacket(g.data)
		if err != nil {
			out = append(out, 0) // corrupted
			continue
		}
		out = append(out, uint32(pk.TCP.Seq))
	}
	return out
}

func eqU32(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRuleDropNthDataFromClient(t *testing.T) {
	w, b := ruleRun(t, Rule{Name: "drop-3rd-data", Match: And(From(addrA), DataSegment), Nth: 3, Action: RuleDrop})
	want := []uint32{999, 1100, 1200, 1400, 1500, 1600, 1700}
	if got := seqs(t, b); !eqU32(got, want) {
		t.Fatalf("received seqs %v, want %v", got, want)
	}
	drops := w.Log().Filter(func(e *Event) bool { return e.Verdict == Dropped })
	if len(drops) != 1 || drops[0].Reason != "drop-3rd-data" || drops[0].Time != 30*time.Millisecond || drops[0].PktSeq != 4 {
		t.Fatalf("drop events: %+v", drops)
	}
	p, err := drops[0].Packet()
	if err != nil || p.TCP.Seq != 1300 {
		t.Fatalf("dropped packet decodes to %v, %v", p, err)
	}
}

func TestRuleDelaySYN(t *testing.T) {
	_, b := ruleRun(t, Rule{Name: "slow-syn", Match: FlagsExactly(segment.FlagSYN), Action: RuleDelay, Delay: time.Second})
	if len(b.got) != 8 {
		t.Fatalf("%d delivered", len(b.got))
	}
	last := b.got[len(b.got)-1]
	pk, _ := segment.ParsePacket(last.data)
	if pk.TCP.Flags != segment.FlagSYN || last.at != time.Second+time.Millisecond {
		t.Fatalf("last arrival %v at %v, want the SYN at 1.001s", pk.TCP.Flags, last.at)
	}
	if b.got[0].at != 11*time.Millisecond {
		t.Fatalf("first data arrived at %v, want 11ms", b.got[0].at)
	}
}

func TestRulePartition(t *testing.T) {
	_, b := ruleRun(t, Rule{Name: "partition", Match: Between(20*time.Millisecond, 50*time.Millisecond), Action: RuleDrop})
	want := []uint32{999, 1100, 1500, 1600, 1700}
	if got := seqs(t, b); !eqU32(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
}

func TestRuleDuplicateAndCorrupt(t *testing.T) {
	w, b := ruleRun(t,
		Rule{Name: "dup-2nd", Match: DataSegment, Nth: 2, Action: RuleDuplicate},
		Rule{Name: "corrupt-ack", Match: FlagsExactly(segment.FlagACK), Action: RuleCorrupt},
	)
	want := []uint32{999, 1100, 1200, 1200, 1300, 1400, 1500, 1600, 0}
	if got := seqs(t, b); !eqU32(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
	if w.Log().Count(Duplicated, "dup-2nd") != 1 || w.Log().Count(Corrupted, "corrupt-ack") != 1 {
		t.Fatal("log misses the duplicate or the corruption")
	}
	// The duplicate carries its original's packet number.
	var dupSeq []uint64
	for _, e := range w.Log().Events() {
		if e.Verdict == Delivered {
			dupSeq = append(dupSeq, e.PktSeq)
		}
	}
	if dupSeq[2] != 3 || dupSeq[3] != 3 || dupSeq[4] != 4 {
		t.Fatalf("delivered packet numbers %v", dupSeq)
	}
}
