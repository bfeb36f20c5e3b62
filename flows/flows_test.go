package flows

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
)

// RTT samples follow Karn's rule: none from retransmitted segments or from
// ACKs that cover one.
func TestRTTSampler(t *testing.T) {
	var r RTTStats
	ms := time.Millisecond
	r.sent(0, 100, 0)
	r.sent(100, 200, 1*ms)
	r.sent(200, 300, 2*ms)
	r.sent(300, 400, 3*ms)
	r.acked(100, 50*ms) // sample 50 ms
	r.taint(200, 300)   // 200:300 was retransmitted
	r.acked(200, 60*ms) // sample 59 ms
	r.acked(400, 90*ms) // covers the retransmitted segment: none
	r.acked(400, 95*ms) // duplicate ACK: none
	if r.Count() != 2 || r.Min() != 50*ms || r.Max() != 59*ms || r.Mean() != 54500*time.Microsecond {
		t.Errorf("samples n=%d min=%v max=%v mean=%v, want 2, 50ms, 59ms, 54.5ms", r.Count(), r.Min(), r.Max(), r.Mean())
	}
	if p := r.Percentile(99); p != 59*ms {
		t.Errorf("p99 %v, want 59ms", p)
	}
}

// Percentiles use the nearest rank; past the reservoir's size they come
// from a uniform sample and stay close.
func TestRTTPercentiles(t *testing.T) {
	var r RTTStats
	for i := range 100 {
		s := segment.Seq(i * 10)
		r.sent(s, s+10, 0)
		r.acked(s+10, time.Duration(i+1)*time.Millisecond)
	}
	if p50, p99 := r.Percentile(50), r.Percentile(99); p50 != 50*time.Millisecond || p99 != 99*time.Millisecond {
		t.Errorf("p50 %v p99 %v, want 50ms 99ms", p50, p99)
	}
	var big RTTStats
	for i := range 100000 {
		s := segment.Seq(i * 10)
		big.sent(s, s+10, 0)
		big.acked(s+10, time.Duration(i%1000+1)*time.Millisecond) // uniform 1..1000 ms
	}
	if len(big.samples) != maxSamples || big.Count() != 100000 {
		t.Fatalf("%d samples kept of %d", len(big.samples), big.Count())
	}
	if p := big.Percentile(99); p < 970*time.Millisecond || p > 1000*time.Millisecond {
		t.Errorf("p99 of uniform 1..1000 ms from the reservoir: %v", p)
	}
}

type pktSpec struct {
	v        sim.Verdict
	fromCli  bool
	flags    segment.Flags
	seq, ack uint32
	n        int
	at       time.Duration
}

func feed(t *testing.T, a *Analyzer, cport uint16, ps ...pktSpec) {
	t.Helper()
	for _, s := range ps {
		p := segment.Packet{
			IP:      ippacket.Header{TTL: 64, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
			TCP:     segment.Header{SrcPort: cport, DstPort: 80, Seq: segment.Seq(s.seq), Ack: segment.Seq(s.ack), Flags: s.flags, Window: 1000},
			Payload: make([]byte, s.n),
		}
		node := "client"
		if !s.fromCli {
			p.IP.Src, p.IP.Dst = p.IP.Dst, p.IP.Src
			p.TCP.SrcPort, p.TCP.DstPort = 80, cport
			node = "server"
		}
		b, err := p.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		a.Event(&sim.Event{Verdict: s.v, Node: node, Data: b, Len: len(b), Time: s.at})
	}
}

// connection feeds one short connection: handshake, n bytes from the
// client, delivered and acknowledged, FINs.
func connection(t *testing.T, a *Analyzer, cport uint16, iss uint32, n int, at time.Duration) {
	const S, A, F = segment.FlagSYN, segment.FlagACK, segment.FlagFIN
	ms := time.Millisecond
	feed(t, a, cport,
		pktSpec{sim.Sent, true, S, iss, 0, 0, at},
		pktSpec{sim.Delivered, true, S, iss, 0, 0, at + ms},
		pktSpec{sim.Sent, false, S | A, 7000, iss + 1, 0, at + ms},
		pktSpec{sim.Delivered, false, S | A, 7000, iss + 1, 0, at + 2*ms},
		pktSpec{sim.Sent, true, A, iss + 1, 7001, n, at + 2*ms},
		pktSpec{sim.Delivered, true, A, iss + 1, 7001, n, at + 3*ms},
		pktSpec{sim.Sent, false, A, 7001, iss + 1 + uint32(n), 0, at + 3*ms},
		pktSpec{sim.Delivered, false, A, 7001, iss + 1 + uint32(n), 0, at + 4*ms},
		pktSpec{sim.Sent, true, F | A, iss + 1 + uint32(n), 7001, 0, at + 4*ms},
		pktSpec{sim.Delivered, true, F | A, iss + 1 + uint32(n), 7001, 0, at + 5*ms},
		pktSpec{sim.Sent, false, F | A, 7001, iss + 2 + uint32(n), 0, at + 5*ms},
		pktSpec{sim.Delivered, false, F | A, 7001, iss + 2 + uint32(n), 0, at + 6*ms},
	)
}

// A new SYN on a 4-tuple seen before, with another ISN, is a new flow; a
// retransmitted SYN is not.
func TestNewFlowOnReusedTuple(t *testing.T) {
	a := New()
	connection(t, a, 40000, 100, 1000, 0)
	feed(t, a, 40000, pktSpec{sim.Sent, true, segment.FlagSYN, 100, 0, 0, 10 * time.Millisecond}) // a retransmission
	if n := len(a.Flows()); n != 1 {
		t.Fatalf("%d flows after one connection and a retransmitted SYN, want 1", n)
	}
	connection(t, a, 40000, 900000, 2000, time.Second)
	fs := a.Flows()
	if len(fs) != 2 {
		t.Fatalf("%d flows after two connections on one 4-tuple, want 2", len(fs))
	}
	for i, want := range []int64{1000, 2000} {
		f := fs[i]
		if f.Index != i+1 || f.Dir[0].UniqueBytes() != want || f.Dir[0].SYNs != 1+(1-i) {
			t.Errorf("flow %d: index %d, %d bytes, %d SYNs", i+1, f.Index, f.Dir[0].UniqueBytes(), f.Dir[0].SYNs)
		}
		if d, ok := f.CompletionTime(); !ok || d != 3*time.Millisecond {
			t.Errorf("flow %d: completion %v %v, want 3ms", i+1, d, ok)
		}
	}
}

// A flow is complete only once its FIN is acknowledged: delivered data
// alone does not finish it.
func TestCompleteNeedsFINAcked(t *testing.T) {
	a := New()
	const S, A = segment.FlagSYN, segment.FlagACK
	feed(t, a, 40000,
		pktSpec{sim.Sent, true, S, 100, 0, 0, 0},
		pktSpec{sim.Sent, false, S | A, 7000, 101, 0, time.Millisecond},
		pktSpec{sim.Sent, true, A, 101, 7001, 500, 2 * time.Millisecond},
		pktSpec{sim.Delivered, true, A, 101, 7001, 500, 3 * time.Millisecond},
		pktSpec{sim.Delivered, false, A, 7001, 601, 0, 4 * time.Millisecond},
	)
	f := a.Flows()[0]
	if f.Complete() {
		t.Fatal("a flow whose data is acknowledged but which sent no FIN is complete")
	}
	feed(t, a, 40000,
		pktSpec{sim.Sent, true, segment.FlagFIN | A, 601, 7001, 0, 5 * time.Millisecond},
		pktSpec{sim.Delivered, false, A, 7001, 602, 0, 6 * time.Millisecond},
	)
	if d, ok := f.CompletionTime(); !ok || d != 3*time.Millisecond {
		t.Fatalf("after the FIN's ACK: complete %v, FCT %v; want 3ms", ok, d)
	}
}

// Summarize: completion percentiles, Jain's index, failures.
func TestSummarize(t *testing.T) {
	a := New()
	for i := range 4 {
		connection(t, a, uint16(40000+i), uint32(100+i*10000), 1000*(i+1), time.Duration(i)*time.Second)
	}
	fs := a.Flows()
	fs[3].Failure = "connection refused"
	s := Summarize(fs)
	if s.Flows != 4 || s.Completed != 3 || s.Failed != 1 {
		t.Fatalf("flows %d completed %d failed %d, want 4 3 1", s.Flows, s.Completed, s.Failed)
	}
	if s.FCTp50 != 3*time.Millisecond || s.FCTMax != 3*time.Millisecond {
		t.Errorf("FCT p50 %v max %v", s.FCTp50, s.FCTMax)
	}
	// Goodputs 1000, 2000, 3000 bytes in 1 ms each: Jain = 36/(3·14).
	if want := 36.0 / 42; math.Abs(s.Jain-want) > 1e-9 {
		t.Errorf("Jain %v, want %v", s.Jain, want)
	}
	if s.Bytes != 10000 {
		t.Errorf("bytes %d, want 10000", s.Bytes)
	}
}

// Expert marks: duplicate ACKs, a fast retransmission after three of
// them, a window update, a zero window.
func TestExpertMarks(t *testing.T) {
	a := New()
	const S, A = segment.FlagSYN, segment.FlagACK
	var got []Marks
	step := func(s pktSpec) {
		feed(t, a, 40000, s)
		got = append(got, a.Marks())
	}
	step(pktSpec{sim.Sent, true, S, 100, 0, 0, 0})
	step(pktSpec{sim.Sent, false, S | A, 7000, 101, 0, 0})
	for i := range 4 {
		step(pktSpec{sim.Sent, true, A, 101 + uint32(i)*1000, 7001, 1000, 0}) // 4 segments
	}
	step(pktSpec{sim.Sent, false, A, 7001, 1101, 0, 0}) // ACK of the first
	for range 3 {
		step(pktSpec{sim.Sent, false, A, 7001, 1101, 0, 0}) // the second was lost
	}
	step(pktSpec{sim.Sent, true, A, 1101, 7001, 1000, 0}) // resent
	step(pktSpec{sim.Sent, false, A, 7001, 4101, 0, 0})   // all acknowledged
	step(pktSpec{sim.Sent, false, A, 7001, 4101, 0, 0})   // nothing outstanding: not a dup ack
	want := []Marks{0, 0, 0, 0, 0, 0, 0, DupAck, DupAck, DupAck, Retransmission | FastRetransmission, 0, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("packet %d: marks %q, want %q", i+1, got[i], want[i])
		}
	}
	// Window: zero, then an update.
	feed(t, a, 40000, pktSpec{sim.Sent, false, A, 7001, 4101, 0, 0})
	p := segment.Packet{
		IP:  ippacket.Header{TTL: 64, Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1")},
		TCP: segment.Header{SrcPort: 80, DstPort: 40000, Seq: 7001, Ack: 4101, Flags: A, Window: 0},
	}
	for _, w := range []uint16{0, 500} {
		p.TCP.Window = w
		b, _ := p.Encode(nil)
		a.Event(&sim.Event{Verdict: sim.Sent, Node: "server", Data: b, Len: len(b)})
		want := map[uint16]Marks{0: ZeroWindow, 500: WindowUpdate}[w]
		if a.Marks() != want {
			t.Errorf("window %d: marks %q, want %q", w, a.Marks(), want)
		}
	}
	if s := (Retransmission | FastRetransmission).String(); s != "retransmission, fast retransmission" {
		t.Errorf("String %q", s)
	}
}

// Once a direction's FIN is acknowledged its in-flight queue goes (a
// finished flow keeps no memory for its peak window) and its RTT figures
// stay.
func TestFinishedDirectionReleasesQueue(t *testing.T) {
	a := New()
	const S, A = segment.FlagSYN, segment.FlagACK
	ms := time.Millisecond
	feed(t, a, 40000,
		pktSpec{sim.Sent, true, S, 100, 0, 0, 0},
		pktSpec{sim.Sent, false, S | A, 7000, 101, 0, ms},
		pktSpec{sim.Sent, true, A, 101, 7001, 500, 2 * ms},
		pktSpec{sim.Sent, true, A, 601, 7001, 500, 2 * ms},
		pktSpec{sim.Delivered, false, A, 7001, 1101, 0, 4 * ms},
	)
	r := &a.Flows()[0].Dir[0].RTT
	if cap(r.q) == 0 {
		t.Fatal("no in-flight queue while data was in flight")
	}
	feed(t, a, 40000,
		pktSpec{sim.Sent, true, segment.FlagFIN | A, 1101, 7001, 0, 5 * ms},
		pktSpec{sim.Delivered, false, A, 7001, 1102, 0, 6 * ms},
	)
	if r.q != nil || r.head != 0 {
		t.Errorf("after the FIN's ACK the queue holds %d entries (cap %d, head %d), want none", len(r.q), cap(r.q), r.head)
	}
	if r.Count() != 1 || r.Percentile(99) != 2*ms || cap(r.samples) != len(r.samples) {
		t.Errorf("RTT after finishing: %d samples, p99 %v, cap %d; want 1, 2ms, 1", r.Count(), r.Percentile(99), cap(r.samples))
	}
	// The next flow's queue starts in the array given back (the samples'
	// array was already of their length, so the flow kept it).
	if len(a.spare.q) != 1 || len(a.spare.samples) != 0 {
		t.Fatalf("%d queues and %d sample arrays kept for reuse, want 1 and 0", len(a.spare.q), len(a.spare.samples))
	}
	q := a.spare.q[0][:1]
	connection(t, a, 40001, 500, 700, 10*ms)
	if len(a.spare.q) != 1 || &a.spare.q[0][:1][0] != &q[0] {
		t.Errorf("after a second flow: %d queues kept, want the first flow's, taken and given back", len(a.spare.q))
	}
	if r2 := &a.Flows()[1].Dir[0].RTT; r2.Count() != 1 || r2.Percentile(99) != 2*ms {
		t.Errorf("second flow: %d samples, p99 %v; want 1, 2ms", r2.Count(), r2.Percentile(99))
	}
}
