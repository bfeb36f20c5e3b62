package sim

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

func arrivals(n *testNode) []time.Duration {
	var out []time.Duration
	for _, a := range n.got {
		out = append(out, a.at)
	}
	return out
}

func sameTimes(t *testing.T, what string, got, want []time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d arrivals %v, want %v", what, len(got), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: arrival %d at %v, want %v (all: %v)", what, i, got[i], want[i], got)
		}
	}
}

// Delay + serialisation + FIFO queueing give exact arrival times. At
// 8 Mbit/s a 1000-byte packet takes exactly 1 ms to serialise.
func TestLinkTiming(t *testing.T) {
	w, l, a, b := pair(t, Config{Log: true}, LinkConfig{
		AB: DirConfig{Delay: 10 * time.Millisecond, Rate: 8_000_000},
		BA: DirConfig{Delay: 3 * time.Millisecond},
	})
	p := tcpPacket(t, addrA, addrB, segment.FlagACK, 1, 960) // 20+20+960 = 1000 bytes
	if len(p) != 1000 {
		t.Fatalf("packet is %d bytes", len(p))
	}
	// Three back-to-back at t=0: serialised one after another.
	w.At(0, func() {
		for i := 0; i < 3; i++ {
			a.ifaces[0].Send(p)
		}
	})
	// One at 2.5 ms: waits for the transmitter until 3 ms.
	w.At(2500*time.Microsecond, func() { a.ifaces[0].Send(p) })
	// One at 20 ms, idle link: 1 ms + 10 ms.
	w.At(20*time.Millisecond, func() { a.ifaces[0].Send(p) })
	// The other direction has its own settings: no rate, 3 ms delay.
	w.At(time.Millisecond, func() { b.ifaces[0].Send(p) })
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	sameTimes(t, "A→B", arrivals(b), []time.Duration{11 * ms, 12 * ms, 13 * ms, 14 * ms, 31 * ms})
	sameTimes(t, "B→A", arrivals(a), []time.Duration{4 * ms})
	// Queued packets are logged with how long they waited.
	var waits []time.Duration
	for _, e := range w.Log().Events() {
		if e.Verdict == Queued {
			waits = append(waits, e.Wait)
		}
	}
	sameTimes(t, "queue waits", waits, []time.Duration{1 * ms, 2 * ms, 500 * time.Microsecond})
	st := l.Stats(0)
	if st.Sent != 5 || st.Delivered != 5 || st.MaxQueue != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// Drop-tail: the packet limit counts packets waiting, not the one being
// sent; the byte limit counts their bytes.
func TestLinkQueueLimits(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       DirConfig
		delivered int
	}{
		{"packets", DirConfig{Rate: 8_000_000, QueuePackets: 2}, 3},
		{"bytes", DirConfig{Rate: 8_000_000, QueueBytes: 2500}, 3},
		{"both", DirConfig{Rate: 8_000_000, QueuePackets: 5, QueueBytes: 1000}, 2},
		{"unlimited", DirConfig{Rate: 8_000_000}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, l, a, b := pair(t, Config{Log: true}, LinkConfig{AB: tc.cfg})
			p := tcpPacket(t, addrA, addrB, segment.FlagACK, 1, 960)
			w.At(0, func() {
				for i := 0; i < 6; i++ {
					a.ifaces[0].Send(p)
				}
			})
			if err := w.Run(); err != nil {
				t.Fatal(err)
			}
			if len(b.got) != tc.delivered {
				t.Fatalf("delivered %d, want %d", len(b.got), tc.delivered)
			}
			drops := 6 - tc.delivered
			if got := l.Stats(0).DropQueue; got != uint64(drops) {
				t.Fatalf("DropQueue = %d, want %d", got, drops)
			}
			if got := w.Log().Count(Dropped, ReasonQueue); got != drops {
				t.Fatalf("log has %d queue drops, want %d", got, drops)
			}
			// Once the queue drains, packets are accepted again.
			w.At(w.Now()+time.Second, func() { a.ifaces[0].Send(p) })
			if err := w.Run(); err != nil {
				t.Fatal(err)
			}
			if len(b.got) != tc.delivered+1 {
				t.Fatal("packet after the queue drained was not delivered")
			}
		})
	}
}

func TestLinkMTU(t *testing.T) {
	w, l, a, b := pair(t, Config{Log: true, LogData: true}, LinkConfig{AB: DirConfig{MTU: 576}})
	w.At(0, func() {
		a.ifaces[0].Send(tcpPacket(t, addrA, addrB, segment.FlagACK, 1, 536)) // 576: fits
		a.ifaces[0].Send(tcpPacket(t, addrA, addrB, segment.FlagACK, 1, 537)) // 577: dropped
		a.ifaces[0].Send(nil)                                                 // empty: dropped
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if len(b.got) != 1 || len(b.got[0].data) != 576 {
		t.Fatalf("delivered %d packets", len(b.got))
	}
	st := l.Stats(0)
	if st.DropMTU != 1 || st.DropOther != 1 {
		t.Fatalf("stats %+v, want one MTU drop and one other", st)
	}
	drops := w.Log().Filter(func(e *Event) bool { return e.Verdict == Dropped })
	if len(drops) != 2 || drops[0].Reason != ReasonMTU || drops[0].Len != 577 || len(drops[0].Data) != 577 || drops[0].Node != "a" || drops[0].Dir != Out {
		t.Fatalf("drop events %+v", drops)
	}
	if l.End(0).MTU() != 576 || l.End(1).MTU() != DefaultMTU {
		t.Fatalf("MTUs %d/%d", l.End(0).MTU(), l.End(1).MTU())
	}
}

// Jitter without JitterReorders never reorders; with it, it does. Both stay
// within the configured bounds.
func TestLinkJitter(t *testing.T) {
	for _, dist := range []Distribution{Uniform, Normal, Pareto} {
		for _, reorder := range []bool{false, true} {
			w, _, a, b := pair(t, Config{Seed: 3}, LinkConfig{AB: DirConfig{
				Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond,
				Distribution: dist, JitterReorders: reorder}})
			const n = 2000
			for i := 0; i < n; i++ {
				p := tcpPacket(t, addrA, addrB, segment.FlagACK, uint32(i), 0)
				w.At(time.Duration(i)*time.Millisecond, func() { a.ifaces[0].Send(p) })
			}
			if err := w.Run(); err != nil {
				t.Fatal(err)
			}
			inversions := 0
			var sum, sumSq float64
			for i, g := range b.got {
				pk, err := segment.ParsePacket(g.data)
				if err != nil {
					t.Fatal(err)
				}
				if i > 0 {
					prev, _ := segment.ParsePacket(b.got[i-1].data)
					if pk.TCP.Seq < prev.TCP.Seq {
						inversions++
					}
				}
				d := g.at - time.Duration(pk.TCP.Seq)*time.Millisecond
				if d < 0 {
					t.Fatalf("%v: packet arrived before it was sent", dist)
				}
				if dist == Uniform && !reorder && d > 60*time.Millisecond+10*time.Millisecond {
					t.Fatalf("uniform: delay %v too large", d)
				}
				sum += float64(d)
				x := float64(d - 50*time.Millisecond)
				sumSq += x * x
			}
			if len(b.got) != n {
				t.Fatalf("%v: %d delivered", dist, len(b.got))
			}
			if !reorder && inversions != 0 {
				t.Fatalf("%v without JitterReorders: %d inversions", dist, inversions)
			}
			if reorder && inversions == 0 {
				t.Fatalf("%v with JitterReorders: no reordering in %d packets", dist, n)
			}
			if reorder {
				// Mean delay stays near Delay (zero-mean jitter, a little
				// bias from clamping at zero total delay is impossible here).
				mean := time.Duration(sum / n)
				if mean < 49*time.Millisecond || mean > 51*time.Millisecond {
					t.Fatalf("%v: mean delay %v, want 50ms ± 1ms", dist, mean)
				}
				// Spread: uniform on ±J has sd J/√3; normal and pareto sd J.
				sd := time.Duration(math.Sqrt(sumSq / n))
				want, tol := 10*time.Millisecond, 0.07
				switch dist {
				case Uniform:
					want = time.Duration(float64(10*time.Millisecond) / math.Sqrt(3))
				case Pareto:
					tol = 0.25 // heavy tail: the sample sd converges slowly
				}
				t.Logf("%v: jitter sd %v (want %v)", dist, sd, want)
				if math.Abs(float64(sd-want)) > tol*float64(want) {
					t.Fatalf("%v: jitter sd %v, want %v ± %.0f%%", dist, sd, want, tol*100)
				}
			}
		}
	}
}

func TestLinkValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  LinkConfig
		want string
	}{
		{LinkConfig{AB: DirConfig{Delay: -time.Millisecond}}, "A→B: Delay = -1ms"},
		{LinkConfig{BA: DirConfig{Jitter: -1}}, "B→A: Jitter = -1ns"},
		{LinkConfig{AB: DirConfig{MTU: 67}}, "MTU = 67 (must be at least 68)"},
		{LinkConfig{AB: DirConfig{Rate: -5}}, "Rate = -5"},
		{LinkConfig{AB: DirConfig{QueuePackets: -1}}, "QueuePackets = -1"},
		{LinkConfig{AB: DirConfig{QueueBytes: -1}}, "QueueBytes = -1"},
		{LinkConfig{AB: DirConfig{Distribution: 9}}, "Distribution = 9"},
		{LinkConfig{AB: DirConfig{Faults: []Fault{Loss{P: 1.5}}}}, "Loss.P = 1.5 (must be in [0, 1])"},
		{LinkConfig{AB: DirConfig{Faults: []Fault{Loss{P: -0.1}}}}, "Loss.P = -0.1"},
		{LinkConfig{AB: DirConfig{Faults: []Fault{GEModel(0.1, 2)}}}, "GilbertElliott.R = 2"},
		{LinkConfig{AB: DirConfig{Faults: []Fault{Duplicate{P: 2}}}}, "Duplicate.P = 2"},
		{LinkConfig{AB: DirConfig{Faults: []Fault{Corrupt{P: 3}}}}, "Corrupt.P = 3"},
		{LinkConfig{AB: DirConfig{Faults: []Fault{Reorder{P: 0.5, Gap: -1}}}}, "Reorder.Gap = -1"},
		{LinkConfig{AB: DirConfig{Faults: []Fault{ReorderDelay{P: 0.5, Delay: -1}}}}, "ReorderDelay.Delay = -1ns"},
		{LinkConfig{AB: DirConfig{Faults: []Fault{Rule{Name: "r", Action: RuleDelay, Delay: -time.Second}}}}, `Rule "r": Delay = -1s`},
		{LinkConfig{AB: DirConfig{Faults: []Fault{Rule{}}}}, `Rule "rule": Action = 0`},
		{LinkConfig{AB: DirConfig{Faults: []Fault{nil}}}, "Faults[0] is nil"},
	} {
		w := New(Config{})
		_, err := w.NewLink(tc.cfg)
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %+v: err = %v, want ErrInvalid containing %q", tc.cfg, err, tc.want)
		}
	}
	w := New(Config{})
	if _, err := w.NewLink(LinkConfig{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.NewLink(LinkConfig{Name: "x"}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate link name: err = %v", err)
	}
}

// A link end with no node attached drops and counts.
func TestLinkUnattached(t *testing.T) {
	w := New(Config{Log: true})
	l, err := w.NewLink(LinkConfig{Name: "l"})
	if err != nil {
		t.Fatal(err)
	}
	w.At(0, func() { l.End(0).Send(tcpPacket(t, addrA, addrB, 0, 0, 0)) })
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if l.Stats(0).DropOther != 1 || w.Log().Count(Dropped, ReasonDetached) != 1 {
		t.Fatalf("stats %+v", l.Stats(0))
	}
}

// Sending copies the packet: the caller may reuse its buffer at once.
func TestLinkCopiesPacket(t *testing.T) {
	w, _, a, b := pair(t, Config{}, LinkConfig{AB: DirConfig{Delay: time.Millisecond}})
	p := tcpPacket(t, addrA, addrB, segment.FlagSYN, 5, 0)
	orig := append([]byte(nil), p...)
	w.At(0, func() {
		a.ifaces[0].Send(p)
		for i := range p {
			p[i] = 0xee
		}
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if string(b.got[0].data) != string(orig) {
		t.Fatal("delivered packet changed after the sender reused its buffer")
	}
}

// Arrivals waiting in a direction's in-order FIFO (only its head is in the
// heap) still run in (time, priority, scheduling order) among other events:
// an event scheduled for the same instant before a packet was sent runs
// before its arrival, one scheduled after runs after it. Len counts every
// pending arrival.
func TestLinkArrivalOrder(t *testing.T) {
	w, _, a, b := pair(t, Config{}, LinkConfig{
		AB: DirConfig{Delay: 10 * time.Millisecond, Rate: 8_000_000},
	})
	p := tcpPacket(t, addrA, addrB, segment.FlagACK, 1, 960) // 1 ms to serialise
	ms := time.Millisecond
	var order []string
	b.onRecv = func(int, []byte) { order = append(order, "pkt") }
	w.At(12*ms, func() { order = append(order, "before") })
	w.At(0, func() {
		for i := 0; i < 5; i++ {
			a.ifaces[0].Send(p) // arrivals at 11, 12, 13, 14, 15 ms
		}
		if got := w.Len(); got != 6 {
			t.Errorf("Len = %d with 5 arrivals and 1 event pending, want 6", got)
		}
		w.At(12*ms, func() { order = append(order, "after") })
		w.At(14*ms, func() { order = append(order, "at14") })
	})
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	want := []string{"pkt", "before", "pkt", "after", "pkt", "pkt", "at14", "pkt"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("order %v, want %v", order, want)
	}
	if w.Len() != 0 {
		t.Fatalf("Len = %d after the run, want 0", w.Len())
	}
}

// offloadNode counts which delivery path the link used.
type offloadNode struct{ plain, verified int }

func (n *offloadNode) Deliver(int, []byte)         { n.plain++ }
func (n *offloadNode) DeliverVerified(int, []byte) { n.verified++ }

// A packet sent with SendVerified reaches a node that has DeliverVerified
// through it, duplicates included, unless a fault corrupted it; packets
// sent with Send, and every packet to a node without the method, go
// through Deliver.
func TestLinkChecksumOffload(t *testing.T) {
	p := tcpPacket(t, addrA, addrB, segment.FlagACK, 1, 100)
	for _, tc := range []struct {
		name            string
		faults          []Fault
		verifiedSend    bool
		plain, verified int
	}{
		{"verified", nil, true, 0, 4},
		{"plain send", nil, false, 4, 0},
		{"duplicated", []Fault{Duplicate{P: 1}}, true, 0, 8},
		{"corrupted", []Fault{Corrupt{P: 1}}, true, 4, 0},
		{"corrupted duplicate", []Fault{Duplicate{P: 1}, Corrupt{P: 1}}, true, 8, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := New(Config{})
			l, err := w.NewLink(LinkConfig{AB: DirConfig{Delay: time.Millisecond, Faults: tc.faults}})
			if err != nil {
				t.Fatal(err)
			}
			n := &offloadNode{}
			l.End(1).Attach("b", n, 0)
			w.At(0, func() {
				for range 4 {
					if tc.verifiedSend {
						l.End(0).SendVerified(p)
					} else {
						l.End(0).Send(p)
					}
				}
			})
			if err := w.Run(); err != nil {
				t.Fatal(err)
			}
			if n.plain != tc.plain || n.verified != tc.verified {
				t.Fatalf("Deliver %d, DeliverVerified %d; want %d and %d", n.plain, n.verified, tc.plain, tc.verified)
			}
		})
	}
	// A node without DeliverVerified gets everything through Deliver.
	w, l, _, b := pair(t, Config{}, LinkConfig{})
	w.At(0, func() { l.End(0).SendVerified(p) })
	if err := w.Run(); err != nil {
		t.Fatal(err)
	}
	if b.count != 1 {
		t.Fatalf("plain node got %d packets, want 1", b.count)
	}
}

// TxBytes and Busy: at 8 Mbit/s a 1000-byte packet keeps the transmitter
// busy 1 ms. Six sent at once into a queue of two: three are carried
// (3 ms of sending), three dropped; an idle gap adds nothing.
func TestLinkBusy(t *testing.T) {
	pfifo, err := ParseQdisc("pfifo limit 2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  DirConfig
		// TxBytes at 1.5 ms: drop-tail has accepted the queued packets
		// for good; a discipline counts those that reached the
		// transmitter.
		txAt1500 uint64
	}{
		{"drop-tail", DirConfig{Rate: 8_000_000, QueuePackets: 2}, 3000},
		{"pfifo", DirConfig{Rate: 8_000_000, Qdisc: pfifo}, 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, l, a, _ := pair(t, Config{}, LinkConfig{AB: tc.cfg})
			p := tcpPacket(t, addrA, addrB, segment.FlagACK, 1, 960)
			var mid, end DirStats
			w.At(0, func() {
				for i := 0; i < 6; i++ {
					a.ifaces[0].Send(p)
				}
			})
			w.At(1500*time.Microsecond, func() { mid = l.Stats(0) })
			w.At(20*time.Millisecond, func() { a.ifaces[0].Send(p) })
			w.At(30*time.Millisecond, func() { end = l.Stats(0) })
			if err := w.Run(); err != nil {
				t.Fatal(err)
			}
			if mid.Busy != 1500*time.Microsecond || mid.TxBytes != tc.txAt1500 {
				t.Errorf("at 1.5 ms: Busy %v, TxBytes %d; want 1.5ms, %d", mid.Busy, mid.TxBytes, tc.txAt1500)
			}
			if end.Busy != 4*time.Millisecond || end.TxBytes != 4000 || end.DropQueue != 3 || end.SentBytes != 7000 {
				t.Errorf("at 30 ms: Busy %v, TxBytes %d, DropQueue %d, SentBytes %d; want 4ms, 4000, 3, 7000",
					end.Busy, end.TxBytes, end.DropQueue, end.SentBytes)
			}
			if st := l.Stats(1); st.Busy != 0 || st.TxBytes != 0 {
				t.Errorf("idle direction: Busy %v, TxBytes %d", st.Busy, st.TxBytes)
			}
		})
	}
}
