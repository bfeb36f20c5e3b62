package sim

import (
	"iter"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// pingPong sets up inFlight packets bouncing between two nodes over one
// link: every delivery sends the packet back, so each event is one packet
// crossing the link (copy into a pooled buffer, faults, queue, serialisation,
// delay, heap, delivery). The returned function sends inFlight packets again
// from the world's current time.
func pingPong(tb testing.TB, cfg Config, d DirConfig, inFlight int) (*World, func()) {
	w, _, a, b := pair(tb, cfg, Symmetric("bench", d))
	a.keep, b.keep = false, false
	a.onRecv = func(_ int, pkt []byte) { a.ifaces[0].Send(pkt) }
	b.onRecv = func(_ int, pkt []byte) { b.ifaces[0].Send(pkt) }
	p := tcpPacket(tb, addrA, addrB, segment.FlagACK, 1, 1400)
	seed := func() {
		for i := 0; i < inFlight; i++ {
			w.At(w.Now()+time.Duration(i)*time.Microsecond, func() { a.ifaces[0].Send(p) })
		}
	}
	seed()
	// Warm up: fill the pools and the heap.
	for i := 0; i < 10*inFlight; i++ {
		w.step(maxTime)
	}
	return w, seed
}

var benchDir = DirConfig{Delay: time.Millisecond, Rate: 1_000_000_000}

// benchForward steps the world b.N times. With loss and duplication the
// number of packets in flight is a random walk that can reach zero on a
// long run (BenchmarkLinkForwardFaults did, about one run in four at
// b.N ≈ 8 M); then the packets are sent again with the timer stopped.
func benchForward(b *testing.B, cfg Config, d DirConfig) {
	w, seed := pingPong(b, cfg, d, 64)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var paused time.Duration
	for i := 0; i < b.N; i++ {
		if !w.step(maxTime) {
			b.StopTimer()
			t0 := time.Now()
			seed()
			if !w.step(maxTime) {
				b.Fatal("ran out of events right after sending the packets again")
			}
			paused += time.Since(t0)
			b.StartTimer()
		}
	}
	el := time.Since(start) - paused
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
}

// BenchmarkLinkForward: one packet across a link per op, virtual driver,
// 64 packets in flight, 1 ms delay, 1 Gbit/s; no log.
func BenchmarkLinkForward(b *testing.B) { benchForward(b, Config{}, benchDir) }

// BenchmarkLinkForwardFaults adds loss, duplication, corruption and a
// scripted rule that decodes every packet.
func BenchmarkLinkForwardFaults(b *testing.B) {
	d := benchDir
	d.Faults = []Fault{Loss{P: 0.001}, Duplicate{P: 0.001}, Corrupt{P: 0.0001},
		Rule{Name: "syn", Match: FlagsSet(segment.FlagSYN), Action: RuleDrop}}
	benchForward(b, Config{}, d)
}

// BenchmarkLinkForwardJitter adds normal jitter without reordering.
func BenchmarkLinkForwardJitter(b *testing.B) {
	d := benchDir
	d.Jitter, d.Distribution = 100*time.Microsecond, Normal
	benchForward(b, Config{}, d)
}

// BenchmarkLinkForwardLog keeps the event log with packet bytes (3 log
// entries per packet: sent, delivered and the copy of the bytes).
func BenchmarkLinkForwardLog(b *testing.B) {
	benchForward(b, Config{Log: true, LogData: true}, benchDir)
}

// BenchmarkRouterForward: packets bounce between two hosts through a
// router (two link crossings and a TTL/checksum update per round trip);
// one op is one event.
func BenchmarkRouterForward(b *testing.B) {
	w := New(Config{})
	r, _ := w.AddRouter("r")
	_ = r
	h1, h2 := &testNode{w: w}, &testNode{w: w}
	w.AddNode("h1", h1)
	w.AddNode("h2", h2)
	mp := netip.MustParsePrefix
	w.Connect("h1", mp("10.0.1.2/24"), "r", mp("10.0.1.1/24"), Symmetric("", benchDir))
	w.Connect("h2", mp("10.0.2.2/24"), "r", mp("10.0.2.1/24"), Symmetric("", benchDir))
	a1, a2 := netip.MustParseAddr("10.0.1.2"), netip.MustParseAddr("10.0.2.2")
	p12 := tcpPacket(b, a1, a2, segment.FlagACK, 1, 1400)
	p21 := tcpPacket(b, a2, a1, segment.FlagACK, 1, 1400)
	h1.onRecv = func(int, []byte) { h1.ifaces[0].Send(p12) }
	h2.onRecv = func(int, []byte) { h2.ifaces[0].Send(p21) }
	for i := 0; i < 64; i++ {
		w.At(time.Duration(i)*time.Microsecond, func() { h1.ifaces[0].Send(p12) })
	}
	for i := 0; i < 1000; i++ {
		w.step(maxTime)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if !w.step(maxTime) {
			b.Fatal("ran out of events")
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// Steady-state forwarding allocates nothing, with or without faults and
// jitter (the log, when enabled, grows its own storage).
func TestLinkForwardZeroAlloc(t *testing.T) {
	d := benchDir
	d.Jitter, d.Distribution = 100*time.Microsecond, Pareto
	d.Faults = []Fault{Loss{P: 0.01}, GEModel(0.01, 0.5), Duplicate{P: 0.01}, Corrupt{P: 0.01},
		Reorder{P: 0.01, Gap: 2}, Rule{Name: "syn", Match: FlagsSet(segment.FlagSYN), Action: RuleDrop}}
	d.QueuePackets = 1000
	w, _ := pingPong(t, Config{Seed: 1}, d, 64)
	for i := 0; i < 20000; i++ { // let losses and duplicates settle the pools
		w.step(maxTime)
	}
	allocs := testing.AllocsPerRun(10000, func() { w.step(maxTime) })
	if allocs != 0 {
		t.Fatalf("%.3f allocations per forwarded packet, want 0", allocs)
	}
}

// BenchmarkLinkForwardLogMeta keeps the event log without packet bytes.
func BenchmarkLinkForwardLogMeta(b *testing.B) { benchForward(b, Config{Log: true}, benchDir) }

// BenchmarkTaskSleep: one op is one task park/resume round trip through the
// scheduler (Sleep(1ns): schedule, pop, resume the goroutine, wait for it
// to park).
func BenchmarkTaskSleep(b *testing.B) {
	w := New(Config{})
	w.Spawn("sleeper", func(t *Task) {
		for i := 0; i < b.N; i++ {
			t.Sleep(1)
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	if err := w.Run(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTaskReferenceIterPull is the reference for BenchmarkTaskSleep:
// the bare cost of switching to an iter.Pull coroutine and back, with no
// scheduler at all.
func BenchmarkTaskReferenceIterPull(b *testing.B) {
	next, stop := iter.Pull(func(yield func(int) bool) {
		for i := 0; ; i++ {
			if !yield(i) {
				return
			}
		}
	})
	defer stop()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next()
	}
}

// BenchmarkTaskReferenceChannels is the bare cost of a resume/park round
// trip over a pair of unbuffered channels, the mechanism tasks use.
func BenchmarkTaskReferenceChannels(b *testing.B) {
	wake, parked := make(chan struct{}), make(chan struct{})
	go func() {
		for range wake {
			parked <- struct{}{}
		}
	}()
	defer close(wake)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wake <- struct{}{}
		<-parked
	}
}
