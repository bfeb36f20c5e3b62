package sim

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// qpkt is a packet for a Queue unit test: n bytes of a TCP packet from
// port sport, ECN field ecn, enqueued at 'at'.
func qpkt(t *testing.T, sport uint16, n int, ecn uint8, at time.Duration) *QPacket {
	t.Helper()
	p := segment.Packet{Payload: make([]byte, n-40)}
	p.IP.TTL, p.IP.ECN = 64, ecn
	p.IP.Src, p.IP.Dst = addrA, addrB
	p.TCP.SrcPort, p.TCP.DstPort = sport, 80
	p.TCP.Flags = segment.FlagACK
	b, err := p.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &QPacket{Data: b, Enqueued: at}
}

func testEnv() QueueEnv {
	return QueueEnv{Rate: 10_000_000, MTU: 1500, Rand: rand.New(rand.NewPCG(1, 2)), Seed: 7}
}

// dropLog records a Queue's drops.
type dropLog struct {
	at      []time.Duration
	reasons []string
	aqm     int
	now     time.Duration
}

func (d *dropLog) fn(p *QPacket, reason string, aqm bool) {
	d.at = append(d.at, d.now)
	d.reasons = append(d.reasons, reason)
	if aqm {
		d.aqm++
	}
}

// CoDel's drop schedule (RFC 8289 §5.5): with every packet's sojourn above
// target, the first drop comes one interval after the sojourn first
// exceeded target, then at interval/sqrt(count) after the previous one:
// 110, 210, 210+70.71=280.71, +57.74=338.45, +50=388.45, +44.72=433.17,
// +40.82=473.99, +37.80=511.79, +35.36=547.14, +33.33=580.48 ms. Dequeuing
// every millisecond, drops happen at the first millisecond at or after each.
// With ECN the same schedule marks the ECN-capable packets instead.
func TestCoDelDropSchedule(t *testing.T) {
	want := []time.Duration{110, 210, 281, 339, 389, 434, 474, 512, 548, 581}
	for _, ecn := range []bool{false, true} {
		q := CoDel{ECN: ecn}.NewQueue(testEnv()).(*codelQueue)
		var dl dropLog
		for i := 0; i < 1000; i++ {
			q.Enqueue(qpkt(t, 1000, 1000, 2, 0), 0, dl.fn)
		}
		var marks []time.Duration
		for ms := time.Duration(10); ms <= 600; ms++ {
			dl.now = ms * time.Millisecond
			p := q.Dequeue(dl.now, dl.fn)
			if p == nil {
				t.Fatal("queue ran empty")
			}
			if p.marked {
				marks = append(marks, ms)
				if p.Data[1]&3 != 3 {
					t.Fatal("marked packet is not CE")
				}
			}
		}
		got := marks
		if !ecn {
			got = nil
			for _, at := range dl.at {
				got = append(got, at/time.Millisecond)
			}
			if dl.aqm != len(dl.at) || dl.reasons[0] != "codel" {
				t.Fatalf("drops %v aqm %d", dl.reasons, dl.aqm)
			}
		} else if len(dl.at) != 0 {
			t.Fatalf("ECN: %d drops of ECN-capable packets", len(dl.at))
		}
		if !equalDurations(got, want) {
			t.Fatalf("ecn=%v: drop/mark times %v ms, want %v", ecn, got, want)
		}
		if q.v.count != 10 {
			t.Fatalf("count = %d, want 10", q.v.count)
		}
	}
}

// CoDel leaves the dropping state once the sojourn falls below target, and
// on re-entering soon after, resumes from the count it had reached (RFC 8289
// §5.6: count - lastcount when that exceeds 1).
func TestCoDelExitAndReentry(t *testing.T) {
	q := CoDel{}.NewQueue(testEnv()).(*codelQueue)
	var dl dropLog
	for i := 0; i < 1000; i++ {
		q.Enqueue(qpkt(t, 1000, 1000, 0, 0), 0, dl.fn)
	}
	for ms := time.Duration(10); ms <= 400; ms++ { // drops at 110, 210, 281, 339, 389
		dl.now = ms * time.Millisecond
		q.Dequeue(dl.now, dl.fn)
	}
	if len(dl.at) != 5 || !q.v.dropping {
		t.Fatalf("%d drops, dropping %v", len(dl.at), q.v.dropping)
	}
	// Drain, then a fresh packet with a short sojourn: dropping stops.
	for q.Len() > 0 {
		q.Dequeue(dl.now, dl.fn)
	}
	dl.now = 401 * time.Millisecond
	q.Enqueue(qpkt(t, 1000, 1000, 0, dl.now), dl.now, dl.fn)
	q.Dequeue(dl.now, dl.fn)
	if q.v.dropping {
		t.Fatal("still dropping after the queue emptied")
	}
	// A new standing queue at 500 ms: above target from 510 ms, so the first
	// drop is at 610 ms, and the count restarts at 5-1 = 4 (lastcount was 1,
	// count had reached 5), spacing the next drop 100/sqrt(4) = 50 ms later.
	start := 500 * time.Millisecond
	for i := 0; i < 200; i++ {
		q.Enqueue(qpkt(t, 1000, 1000, 0, start), start, dl.fn)
	}
	n := len(dl.at)
	for ms := time.Duration(510); ms <= 700; ms++ {
		dl.now = ms * time.Millisecond
		q.Dequeue(dl.now, dl.fn)
	}
	got := []time.Duration{}
	for _, at := range dl.at[n:] {
		got = append(got, at/time.Millisecond)
	}
	if want := []time.Duration{610, 660}; !equalDurations(got, want) {
		t.Fatalf("drops after re-entry at %v ms, want %v (count %d)", got, want, q.v.count)
	}
}

func equalDurations(a, b []time.Duration) bool {
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

// RED's drop probability curve with the paper's parameters (minth 5,
// maxth 15, maxp 0.02): linear from 0 to 0.02 between 5 and 15; above 15
// forced drops, or with gentle a second line from 0.02 to 1 between 15
// and 30.
func TestREDProbabilityCurve(t *testing.T) {
	c := RED{}.withDefaults()
	g := RED{Gentle: true}.withDefaults()
	for _, tc := range []struct {
		avg          float64
		pb, gentle   float64
		forcedPlain  bool
		forcedGentle bool
	}{
		{0, 0, 0, false, false},
		{4.99, 0, 0, false, false},
		{5, 0, 0, false, false},
		{7.5, 0.005, 0.005, false, false},
		{10, 0.01, 0.01, false, false},
		{14, 0.018, 0.018, false, false},
		{15, 1, 0.02, true, false},
		{22.5, 1, 0.02 + 0.98*0.5, true, false},
		{27, 1, 0.02 + 0.98*0.8, true, false},
		{30, 1, 1, true, true},
		{100, 1, 1, true, true},
	} {
		pb, f := c.prob(tc.avg)
		if math.Abs(pb-tc.pb) > 1e-12 || f != tc.forcedPlain {
			t.Errorf("avg %v: pb %v forced %v, want %v %v", tc.avg, pb, f, tc.pb, tc.forcedPlain)
		}
		pb, f = g.prob(tc.avg)
		if math.Abs(pb-tc.gentle) > 1e-12 || f != tc.forcedGentle {
			t.Errorf("gentle avg %v: pb %v forced %v, want %v %v", tc.avg, pb, f, tc.gentle, tc.forcedGentle)
		}
	}
}

// RED's average: avg += wq*(q - avg) at each arrival, and over an idle
// period it decays as (1-wq)^m, m the number of MTU-sized packets the link
// could have sent.
func TestREDAverage(t *testing.T) {
	q := RED{}.NewQueue(testEnv()).(*redQueue)
	var dl dropLog
	for i := 0; i < 3; i++ {
		q.Enqueue(qpkt(t, 1000, 1000, 0, 0), 0, dl.fn)
	}
	// Arrivals saw queues of 0, 1, 2: avg = 0, 0.002, 0.002+0.002*(2-0.002).
	if want := 0.002 + 0.002*(2-0.002); math.Abs(q.avg-want) > 1e-15 {
		t.Fatalf("avg = %v, want %v", q.avg, want)
	}
	before := q.avg
	for q.Len() > 0 {
		q.Dequeue(0, dl.fn)
	}
	// The last packet (1000 bytes at 10 Mbit/s) is sent by 0.8 ms; 12 ms
	// later the link could have sent 12ms/1.2ms = 10 MTU-sized packets.
	at := 800*time.Microsecond + 12*time.Millisecond
	q.Enqueue(qpkt(t, 1000, 1000, 0, at), at, dl.fn)
	if want := before * math.Pow(0.998, 10); math.Abs(q.avg-want) > 1e-12 {
		t.Fatalf("avg after idle = %v, want %v", q.avg, want)
	}
}

// RED marks ECN-capable packets instead of dropping them early, and drops
// the others.
func TestREDECN(t *testing.T) {
	for _, ecn := range []uint8{0, 1} {
		q := RED{ECN: true, Wq: 1, Min: 1, Max: 100, MaxP: 0.5}.NewQueue(testEnv())
		var dl dropLog
		marks := 0
		for i := 0; i < 60; i++ {
			p := qpkt(t, 1000, 100, ecn, 0)
			q.Enqueue(p, 0, dl.fn)
			if p.marked {
				marks++
			}
		}
		if ecn != 0 && (marks == 0 || len(dl.at) != 0) {
			t.Fatalf("ECT: %d marks, %d drops", marks, len(dl.at))
		}
		if ecn == 0 && (marks != 0 || dl.aqm == 0 || dl.reasons[0] != "red") {
			t.Fatalf("not ECT: %d marks, drops %v", marks, dl.reasons)
		}
	}
}

// Step marking at K (RFC 8257 §3.1): with K = 3 packets, the packets that
// find 3 or more ahead of them are marked CE, the first three are not;
// packets that are not ECN-capable are never marked, only dropped when the
// queue is full. In bytes (bfifo) K counts bytes.
func TestDropTailECNThreshold(t *testing.T) {
	for _, ecn := range []uint8{2, 0} {
		q := DropTail{Packets: 6, ECNThreshold: 3}.NewQueue(testEnv())
		var dl dropLog
		var marked []bool
		for i := 0; i < 8; i++ {
			p := qpkt(t, 1000, 100, ecn, 0)
			q.Enqueue(p, 0, dl.fn)
			marked = append(marked, p.marked)
		}
		want := []bool{false, false, false, true, true, true, false, false} // the last two overflow the limit of 6
		if ecn == 0 {
			want = make([]bool, 8)
		}
		if !slices.Equal(marked, want) || len(dl.at) != 2 || dl.aqm != 0 {
			t.Fatalf("ECN %d: marked %v, want %v; drops %v (aqm %d), want 2 overflows", ecn, marked, want, dl.reasons, dl.aqm)
		}
		// Four dequeued: 2 packets remain, below K, so the next arrival
		// is not marked.
		q.Dequeue(0, dl.fn)
		q.Dequeue(0, dl.fn)
		q.Dequeue(0, dl.fn)
		q.Dequeue(0, dl.fn)
		p := qpkt(t, 1000, 100, ecn, 0)
		q.Enqueue(p, 0, dl.fn)
		if p.marked {
			t.Fatalf("ECN %d: marked with 2 packets queued (K = 3)", ecn)
		}
	}
	q := DropTail{Bytes: 10000, ECNThreshold: 250}.NewQueue(testEnv())
	var dl dropLog
	var marked []bool
	for i := 0; i < 4; i++ {
		p := qpkt(t, 1000, 100, 1, 0)
		q.Enqueue(p, 0, dl.fn)
		marked = append(marked, p.marked)
	}
	if want := []bool{false, false, false, true}; !slices.Equal(marked, want) {
		t.Fatalf("bfifo K = 250 bytes: marked %v, want %v (marked from 300 bytes queued)", marked, want)
	}
}

// PIE's drop probability update (RFC 8033 §4.2) with the RFC's alpha
// 0.125, beta 1.25 and target 15 ms, computed by hand.
func TestPIEUpdate(t *testing.T) {
	q := PIE{}.NewQueue(testEnv()).(*pieQueue)
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-15 {
			t.Fatalf("%s: drop_prob = %.17g, want %.17g", what, got, want)
		}
	}
	ms := time.Millisecond
	// 0.125*(0.030-0.015) + 1.25*(0.030-0) = 0.039375, scaled by 1/2048
	// because drop_prob < 0.000001.
	q.update(30 * ms)
	near("first", q.dropProb, 0.039375/2048)
	if q.burst != 135*ms {
		t.Fatalf("burst allowance %v, want 135ms", q.burst)
	}
	// 0.125*0.015 + 1.25*0 = 0.001875, scaled by 1/128 (drop_prob in
	// [0.00001, 0.0001)).
	q.update(30 * ms)
	near("second", q.dropProb, 0.039375/2048+0.001875/128)
	// At 0.15: 0.125*0.085 + 1.25*0.07 = 0.098125, not scaled, capped to 0.02.
	q.dropProb, q.qdelayOld = 0.15, 30*ms
	q.update(100 * ms)
	near("capped", q.dropProb, 0.17)
	// At 0.05: 0.125*(0.020-0.015) + 1.25*(0.020-0.100) = -0.099375, halved.
	q.dropProb = 0.05
	q.update(20 * ms)
	near("falling", q.dropProb, 0.05-0.099375/2)
	// Empty queue twice: -0.001875 (unscaled at 0.5), then decay by 0.98.
	q.dropProb, q.qdelayOld = 0.5, 0
	q.update(0)
	near("decay", q.dropProb, (0.5-0.001875)*0.98)
	// Never below 0, and the burst allowance comes back when calm.
	q.dropProb, q.qdelayOld, q.burst = 0.0000001, 0, 0
	q.update(0)
	if q.dropProb != 0 || q.burst != DefaultPIEMaxBurst {
		t.Fatalf("drop_prob %v burst %v", q.dropProb, q.burst)
	}
}

// PIE updates on its T_UPDATE grid as packets arrive, and does not drop
// while the burst allowance lasts.
func TestPIEBurstAllowance(t *testing.T) {
	q := PIE{}.NewQueue(testEnv()).(*pieQueue)
	var dl dropLog
	// A standing queue of 100 packets whose sojourn grows: enqueue one and
	// dequeue one every millisecond.
	for i := 0; i < 100; i++ {
		q.Enqueue(qpkt(t, 1000, 1000, 0, 0), 0, dl.fn)
	}
	firstDrop := time.Duration(-1)
	for ms := time.Duration(1); ms <= 2000 && firstDrop < 0; ms++ {
		dl.now = ms * time.Millisecond
		q.Enqueue(qpkt(t, 1000, 1000, 0, dl.now), dl.now, dl.fn)
		q.Dequeue(dl.now, dl.fn)
		if len(dl.at) > 0 {
			firstDrop = dl.now
		}
	}
	// Ten updates (15 ms each) use up the 150 ms allowance.
	if firstDrop < 150*time.Millisecond {
		t.Fatalf("first drop at %v, within the burst allowance", firstDrop)
	}
	if firstDrop < 0 || dl.reasons[0] != "pie" {
		t.Fatalf("no PIE drop in 2 s of a 100 ms standing queue (drop_prob %v)", q.dropProb)
	}
}

// FQ-CoDel's DRR (RFC 8290 §4.2): a new flow is served before old ones, a
// flow whose deficit runs out goes to the end of the old list with one more
// quantum. Flow A (4×1000 B) arrives first; B (1 packet) arrives after A's
// first packet left. A: deficit 1514 → 514 → -486, then to the old list
// with 1028; B (new) goes next; B's emptied queue moves to the old list
// behind A; A sends two more (1028 → 28 → -972).
func TestFQCoDelDRROrder(t *testing.T) {
	q := FQCoDel{}.NewQueue(testEnv()).(*fqCoDelQueue)
	var dl dropLog
	if q.flowIndex(qpkt(t, 1, 100, 0, 0).Data) == q.flowIndex(qpkt(t, 2, 100, 0, 0).Data) {
		t.Fatal("test flows hash to the same queue")
	}
	for i := 0; i < 4; i++ {
		q.Enqueue(qpkt(t, 1, 1000, 0, 0), 0, dl.fn)
	}
	var order []uint16
	next := func() bool {
		p := q.Dequeue(0, dl.fn)
		if p == nil {
			return false
		}
		order = append(order, uint16(p.Data[20])<<8|uint16(p.Data[21]))
		return true
	}
	next()
	q.Enqueue(qpkt(t, 2, 1000, 0, 0), 0, dl.fn)
	for next() {
	}
	want := []uint16{1, 1, 2, 1, 1}
	if len(order) != len(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if q.Len() != 0 || q.Bytes() != 0 || q.newFlows.head != nil || q.oldFlows.head != nil {
		t.Fatalf("not empty: %d packets, %d bytes", q.Len(), q.Bytes())
	}
}

// A sparse flow's packet overtakes a bulk flow's standing queue, and a full
// FQ-CoDel drops from the head of the fattest flow, not the arriving packet.
func TestFQCoDelSparseAndOverflow(t *testing.T) {
	q := FQCoDel{Limit: 10}.NewQueue(testEnv()).(*fqCoDelQueue)
	var dl dropLog
	for i := 0; i < 10; i++ {
		q.Enqueue(qpkt(t, 1, 1000, 0, 0), 0, dl.fn)
	}
	q.Dequeue(0, dl.fn)
	q.Dequeue(0, dl.fn)
	q.Dequeue(0, dl.fn) // bulk flow now on the old list
	sparse := qpkt(t, 2, 100, 0, 0)
	q.Enqueue(sparse, 0, dl.fn)
	if p := q.Dequeue(0, dl.fn); p != sparse {
		t.Fatal("the sparse flow's packet did not go first")
	}
	for i := 0; i < 5; i++ {
		q.Enqueue(qpkt(t, 3, 100, 0, 0), 0, dl.fn)
	}
	// 7 bulk + 5 small > 10: two drops, both from the bulk flow's head.
	if len(dl.at) != 2 || dl.reasons[0] != "fq_codel overflow" || dl.aqm != 0 {
		t.Fatalf("drops %v (aqm %d)", dl.reasons, dl.aqm)
	}
	bulk := &q.flows[q.flowIndex(qpkt(t, 1, 1000, 0, 0).Data)]
	if bulk.q.n != 5 || q.Len() != 10 {
		t.Fatalf("bulk flow has %d packets, queue %d", bulk.q.n, q.Len())
	}
}

// Flow hashing uses the 5-tuple and the seed: the same tuple always maps to
// the same queue, a different seed gives a different mapping.
func TestFQCoDelHash(t *testing.T) {
	a := FQCoDel{}.NewQueue(testEnv()).(*fqCoDelQueue)
	env := testEnv()
	env.Seed = 8
	b := FQCoDel{}.NewQueue(env).(*fqCoDelQueue)
	same, differ := 0, 0
	used := map[int]bool{}
	for port := uint16(1); port <= 200; port++ {
		p := qpkt(t, port, 60, 0, 0).Data
		if a.flowIndex(p) != a.flowIndex(append([]byte(nil), p...)) {
			t.Fatal("hash not deterministic")
		}
		used[a.flowIndex(p)] = true
		if a.flowIndex(p) == b.flowIndex(p) {
			same++
		} else {
			differ++
		}
	}
	if len(used) < 150 || differ < 150 {
		t.Fatalf("200 flows used %d queues; %d kept their queue under another seed", len(used), same)
	}
}

// MarkCE sets CE on ECT(0)/ECT(1) packets and keeps the header checksum
// right; a Not-ECT packet is left alone.
func TestMarkCE(t *testing.T) {
	for ecn, want := range []bool{false, true, true, true} {
		p := qpkt(t, 1, 100, uint8(ecn), 0)
		orig := append([]byte(nil), p.Data...)
		if got := p.MarkCE(); got != want {
			t.Fatalf("ECN %d: MarkCE = %v", ecn, got)
		}
		if !want {
			if string(p.Data) != string(orig) {
				t.Fatal("Not-ECT packet changed")
			}
			continue
		}
		if p.Data[1]&3 != 3 {
			t.Fatalf("ECN %d: field %d after marking", ecn, p.Data[1]&3)
		}
		pkt, err := segment.ParsePacket(p.Data)
		if err != nil {
			t.Fatalf("ECN %d: marked packet does not parse: %v", ecn, err)
		}
		if pkt.IP.ECN != 3 {
			t.Fatalf("parsed ECN %d", pkt.IP.ECN)
		}
	}
}

// A pfifo discipline gives the same arrival times and drops as the built-in
// drop-tail queue with the same limit.
func TestQdiscPfifoMatchesDropTail(t *testing.T) {
	run := func(d DirConfig) ([]time.Duration, DirStats) {
		w, l, a, b := pair(t, Config{}, LinkConfig{AB: d})
		p := tcpPacket(t, addrA, addrB, segment.FlagACK, 1, 960)
		for burst := 0; burst < 3; burst++ {
			w.At(time.Duration(burst)*3*time.Millisecond, func() {
				for i := 0; i < 6; i++ {
					a.ifaces[0].Send(p)
				}
			})
		}
		if err := w.Run(); err != nil {
			t.Fatal(err)
		}
		return arrivals(b), l.Stats(0)
	}
	base := DirConfig{Rate: 8_000_000, Delay: time.Millisecond}
	dt := base
	dt.QueuePackets = 3
	qd := base
	qd.Qdisc = DropTail{Packets: 3}
	got, gs := run(qd)
	want, ws := run(dt)
	sameTimes(t, "pfifo vs drop-tail", got, want)
	if gs.DropQueue != ws.DropQueue || gs.DropOverflow != ws.DropQueue || gs.Enqueued != ws.Enqueued ||
		gs.SojournP99 != ws.SojournP99 || gs.SojournMean != ws.SojournMean || gs.MaxQueue != ws.MaxQueue {
		t.Fatalf("stats differ:\npfifo     %+v\ndrop-tail %+v", gs, ws)
	}
	if ws.DropQueue == 0 || ws.SojournMax == 0 {
		t.Fatalf("the test does not fill the queue: %+v", ws)
	}
}

// The link marks CE through CoDel on hand-made ECT packets, counts it, and
// logs a Marked event; Not-ECT packets are dropped with reason "codel".
func TestQdiscLinkECNMarking(t *testing.T) {
	for _, ecn := range []uint8{0, 2} {
		d := DirConfig{Rate: 1_000_000, Qdisc: CoDel{ECN: true}}
		w, l, a, b := pair(t, Config{Log: true}, LinkConfig{AB: d})
		pk := segment.Packet{Payload: make([]byte, 960)}
		pk.IP.TTL, pk.IP.ECN, pk.IP.Src, pk.IP.Dst = 64, ecn, addrA, addrB
		pk.TCP.SrcPort, pk.TCP.DstPort, pk.TCP.Flags = 1, 80, segment.FlagACK
		pkt, err := pk.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		// 1000-byte packets take 8 ms at 1 Mbit/s: 100 sent at once stand
		// in the queue for up to 800 ms.
		w.At(0, func() {
			for i := 0; i < 100; i++ {
				a.ifaces[0].Send(pkt)
			}
		})
		if err := w.Run(); err != nil {
			t.Fatal(err)
		}
		st := l.Stats(0)
		ce := 0
		for _, r := range b.got {
			q, err := segment.ParsePacket(r.data)
			if err != nil {
				t.Fatal(err)
			}
			if q.IP.ECN == 3 {
				ce++
			}
		}
		if ecn != 0 {
			if st.ECNMarked == 0 || uint64(ce) != st.ECNMarked || st.DropQueue != 0 || len(b.got) != 100 ||
				w.Log().Count(Marked, "codel") != ce {
				t.Fatalf("ECT: %d CE arrived, stats %+v, %d marked events", ce, st, w.Log().Count(Marked, "codel"))
			}
		} else if st.ECNMarked != 0 || st.DropAQM == 0 || w.Log().Count(Dropped, "codel") != int(st.DropAQM) ||
			len(b.got) != 100-int(st.DropAQM) {
			t.Fatalf("Not-ECT: stats %+v, %d codel drops logged", st, w.Log().Count(Dropped, "codel"))
		}
		if st.Enqueued != 100 || st.SojournMax < 500*time.Millisecond {
			t.Fatalf("stats %+v", st)
		}
	}
}

// Bad parameters are errors that wrap ErrInvalid and name the field and the
// value, from the parser and from NewLink.
func TestQdiscBadParameters(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"codel target -5ms", "target = -5ms"},
		{"codel limit 0", "limit = 0"},
		{"fq_codel flows x", "flows = x"},
		{"fq_codel interval", "interval needs a value"},
		{"pie alpha -1", "alpha = -1"},
		{"red probability 2", "probability = 2"},
		{"red min 20 max 10", "Max = 10"},
		{"pfifo ecn_threshold 0", "ecn_threshold = 0"},
		{"pfifo ecn_threshold", "ecn_threshold needs a value"},
		{"codel speed 3", `unknown parameter "speed"`},
		{"sfq", `qdisc = "sfq"`},
		{"", "qdisc"},
	} {
		_, err := ParseQdisc(tc.in)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseQdisc(%q) = %v, want ErrInvalid naming %q", tc.in, err, tc.want)
		}
	}
	w := New(Config{})
	for _, tc := range []struct {
		d    DirConfig
		want string
	}{
		{DirConfig{Qdisc: CoDel{Target: -time.Millisecond}}, `link "x" A→B: Qdisc: codel: Target = -1ms`},
		{DirConfig{Qdisc: FQCoDel{Limit: -1}}, "fq_codel: Limit = -1"},
		{DirConfig{Qdisc: PIE{TUpdate: -1}}, "pie: TUpdate = -1ns"},
		{DirConfig{Qdisc: RED{Wq: 2}}, "red: Wq = 2"},
		{DirConfig{Qdisc: DropTail{ECNThreshold: -3}}, "pfifo: ECNThreshold = -3"},
		{DirConfig{Qdisc: CoDel{}, QueuePackets: 10}, "QueuePackets = 10"},
	} {
		_, err := w.NewLink(LinkConfig{Name: "x", AB: tc.d})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewLink(%+v) = %v, want ErrInvalid naming %q", tc.d, err, tc.want)
		}
	}
}

// ParseQdisc reads tc's words and FormatQdisc writes them back with the
// defaults filled in.
func TestParseQdisc(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Qdisc
		text string
	}{
		{"fq_codel", FQCoDel{}, "fq_codel limit 10240 flows 1024 quantum 1514 target 5ms interval 100ms ecn"},
		{"codel target 5ms interval 100ms", CoDel{Target: 5 * time.Millisecond, Interval: 100 * time.Millisecond},
			"codel limit 1000 target 5ms interval 100ms noecn"},
		{"codel limit 50 ecn", CoDel{Limit: 50, ECN: true}, "codel limit 50 target 5ms interval 100ms ecn"},
		{"fq_codel noecn quantum 300 flows 16", FQCoDel{NoECN: true, Quantum: 300, Flows: 16},
			"fq_codel limit 10240 flows 16 quantum 300 target 5ms interval 100ms noecn"},
		{"red gentle ecn min 10 max 30", RED{Gentle: true, ECN: true, Min: 10, Max: 30},
			"red limit 1000 min 10 max 30 probability 0.02 wq 0.002 gentle ecn"},
		{"pie", PIE{}, "pie limit 1000 target 15ms tupdate 15ms max_burst 150ms alpha 0.125 beta 1.25 noecn"},
		{"pfifo limit 100", DropTail{Packets: 100}, "pfifo limit 100"},
		{"bfifo limit 15000", DropTail{Bytes: 15000}, "bfifo limit 15000"},
		{"pfifo ecn_threshold 20", DropTail{ECNThreshold: 20}, "pfifo limit 1000 ecn_threshold 20"},
		{"bfifo limit 90000 ecn_threshold 30000", DropTail{Bytes: 90000, ECNThreshold: 30000}, "bfifo limit 90000 ecn_threshold 30000"},
	} {
		q, err := ParseQdisc(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if q != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.in, q, tc.want)
		}
		if s := FormatQdisc(q); s != tc.text {
			t.Errorf("%q: formats as %q, want %q", tc.in, s, tc.text)
		}
		if again, err := ParseQdisc(FormatQdisc(q)); err != nil || FormatQdisc(again) != tc.text {
			t.Errorf("%q: round trip gives %v, %v", tc.in, again, err)
		}
	}
}

// The sojourn histogram's quantile is within 12.5 % above the exact one.
func TestSojournHistogram(t *testing.T) {
	var h sojournHist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	p99 := h.quantile(0.99)
	if exact := 990 * time.Microsecond; p99 < exact || p99 > exact*1125/1000 {
		t.Fatalf("p99 = %v, exact 990µs", p99)
	}
	if h.min != time.Microsecond || h.max != time.Millisecond || h.sum/h.n != 500500 {
		t.Fatalf("min %v max %v mean %v", h.min, h.max, time.Duration(h.sum/h.n))
	}
	for v := uint64(0); v < 1<<20; v = v*3/2 + 1 {
		if b := sojournBucket(v); sojournUpper(b) < v || (b > 0 && sojournUpper(b-1) >= v) {
			t.Fatalf("value %d in bucket %d [.., %d]", v, b, sojournUpper(b))
		}
	}
}

// nilQdisc is a broken discipline whose NewQueue returns nil.
type nilQdisc struct{}

func (nilQdisc) QdiscName() string       { return "nil" }
func (nilQdisc) Validate() error         { return nil }
func (nilQdisc) NewQueue(QueueEnv) Queue { return nil }

// headDrop is a discipline written only with the exported API: a FIFO of
// at most two packets that drops the oldest to make room.
type headDrop struct{}

func (headDrop) QdiscName() string       { return "headdrop" }
func (headDrop) Validate() error         { return nil }
func (headDrop) NewQueue(QueueEnv) Queue { return &headDropQueue{} }

type headDropQueue struct{ q []*QPacket }

func (h *headDropQueue) Enqueue(p *QPacket, _ time.Duration, drop DropFunc) {
	if len(h.q) == 2 {
		drop(h.q[0], "headdrop", false)
		h.q = h.q[1:]
	}
	h.q = append(h.q, p)
}

func (h *headDropQueue) Dequeue(time.Duration, DropFunc) *QPacket {
	if len(h.q) == 0 {
		return nil
	}
	p := h.q[0]
	h.q = h.q[1:]
	return p
}
func (h *headDropQueue) Len() int { return len(h.q) }
func (h *headDropQueue) Bytes() int {
	n := 0
	for _, p := range h.q {
		n += p.Len()
	}
	return n
}

// A discipline of the caller's own plugs into a link: six packets sent at
// once to a 1 ms/packet transmitter keep the first (sent at once) and the
// last two; the three in between are dropped from the head.
func TestQdiscCustom(t *testing.T) {
	w, l, a, b := pair(t, Config{Log: true}, LinkConfig{AB: DirConfig{Rate: 8_000_000, Qdisc: headDrop{}}})
	w.At(0, func() {
		for i := 0; i < 6; i++ {
			a.ifaces[0].Send(tcpPacket(t, addrA, addrB, segment.FlagACK, uint32(i), 960))
		}
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	var seqs []uint32
	for _, r := range b.got {
		p, err := segment.ParsePacket(r.data)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, uint32(p.TCP.Seq))
	}
	st := l.Stats(0)
	if len(seqs) != 3 || seqs[0] != 0 || seqs[1] != 4 || seqs[2] != 5 || st.DropOverflow != 3 || w.Log().Count(Dropped, "headdrop") != 3 {
		t.Fatalf("delivered seqs %v, stats %+v", seqs, st)
	}
	if _, err := New(Config{}).NewLink(LinkConfig{AB: DirConfig{Qdisc: nilQdisc{}}}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "NewQueue returned nil") {
		t.Fatalf("nil queue: %v", err)
	}
}
