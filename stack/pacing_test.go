package stack

import (
	"testing"
	"time"
)

// The engine's rule (Linux's tcp_update_pacing_rate) by hand: cwnd 20000
// bytes, SRTT 100 ms: 200 % of 200 kB/s while cwnd < ssthresh/2, 120 %
// after; a cap wins over both; before an RTT sample only the cap paces;
// an algorithm's own rate replaces the rule.
func TestPacingRateRule(t *testing.T) {
	c, _ := newCCConn(t, CCNewReno, ECNOff, 0)
	if c.pacingRate() != 0 {
		t.Fatal("paces with pacing off")
	}
	c.pace.asked = true
	c.pace.update()
	c.cwnd = 20 * ccMSS
	if r := c.pacingRate(); r != 0 {
		t.Fatalf("rate %d before an RTT sample, want 0 (not paced)", r)
	}
	c.srtt = 100 * time.Millisecond
	if r := c.pacingRate(); r != 400_000 {
		t.Fatalf("slow start: rate %d, want 2 × 20000 B / 0.1 s = 400000", r)
	}
	c.ssthresh = 40 * ccMSS // cwnd = ssthresh/2: no longer "far below"
	if r := c.pacingRate(); r != 240_000 {
		t.Fatalf("congestion avoidance: rate %d, want 1.2 × 200000 = 240000", r)
	}
	c.sndMax = c.sndUna.Add(30 * ccMSS) // FlightSize above cwnd counts
	if r := c.pacingRate(); r != 360_000 {
		t.Fatalf("with 30000 B in flight: rate %d, want 1.2 × 300000 = 360000", r)
	}
	c.sndMax = c.sndUna
	c.SetMaxPacingRate(100_000)
	if r := c.PacingRate(); r != 100_000 || c.MaxPacingRate() != 100_000 {
		t.Fatalf("capped: rate %d, want 100000", r)
	}
	c.ccHandle().SetPacingRate(50_000)
	if r := c.PacingRate(); r != 50_000 {
		t.Fatalf("algorithm's rate under the cap: %d, want 50000", r)
	}
	c.ccHandle().SetPacingRate(500_000)
	if r := c.PacingRate(); r != 100_000 {
		t.Fatalf("algorithm's rate over the cap: %d, want 100000", r)
	}
	// A huge window on a tiny RTT: the 128-bit product keeps it exact.
	c.ccHandle().SetPacingRate(0)
	c.SetMaxPacingRate(0)
	c.cwnd, c.srtt = 1<<30, time.Nanosecond
	if r := c.pacingRate(); r != 1<<30*120*10_000_000 {
		t.Fatalf("rate %d for cwnd 2^30 over 1 ns, want 1.2 × 2^30 × 10^9 exactly", r)
	}
	// Departures: the first 10 data segments are not paced; after them each
	// segment (a packet of its own without TSOBurst) moves the next by its
	// length over the rate, less the sender's lateness, by at most half.
	c.cwnd, c.srtt, c.ssthresh = 20*ccMSS, 100*time.Millisecond, 1<<30
	env := c.h.env.(*script)
	env.now = time.Second
	for i := 0; i < 9; i++ {
		c.paceSent(c.sndMax, c.sndMax.Add(ccMSS))
	}
	if c.pace.next != 0 {
		t.Fatalf("after 9 segments: next departure %v, want 0 (the first 10 are not paced)", c.pace.next)
	}
	for _, tc := range []struct {
		late, want time.Duration // how late the sender is; the next departure after now
	}{
		{0, 2500 * time.Microsecond},                 // 1000 B at 400 kB/s
		{time.Millisecond, 1500 * time.Microsecond},  // 1 ms late: 1 ms less
		{time.Second, 1250 * time.Microsecond},       // very late: half
		{-time.Millisecond, 3500 * time.Microsecond}, // not yet due (a retransmission): from the departure
	} {
		c.pace.next = env.now - tc.late
		c.paceSent(c.sndMax, c.sndMax.Add(ccMSS))
		if got := c.pace.next - env.now; got != tc.want {
			t.Fatalf("sender %v late: next departure %v after now, want %v", tc.late, got, tc.want)
		}
	}
}

// dataDepartures runs a transfer of size bytes each way over a 5 ms link
// with no rate limit and returns the departure times of the a→b data
// segments, and the pair (doneAt set).
func dataDepartures(t *testing.T, cfg TCPConfig, size int) ([]time.Duration, *pair) {
	t.Helper()
	p := newPair(t, 1, 5*time.Millisecond, faults{}, cfg)
	var at []time.Duration
	p.ab.tap = func(pkt []byte) {
		ihl := int(pkt[0]&15) * 4
		doff := int(pkt[ihl+12]>>4) * 4
		if len(pkt) > ihl+doff {
			at = append(at, p.n.now)
		}
	}
	l, err := p.b.Listen(80, 4)
	if err != nil {
		t.Fatal(err)
	}
	var srv *app
	l.SetNotify(func(Event) {
		if c, err := l.Accept(); err == nil {
			srv = newApp(c, randomBytes(2, size))
		}
	})
	c, err := p.a.Connect(addrA.Unmap(), netipAP(addrB, 80))
	if err != nil {
		t.Fatal(err)
	}
	cli := newApp(c, randomBytes(1, size))
	done := func() bool { return cli.closed && srv != nil && srv.closed || cli.err != nil }
	if !p.n.run(time.Minute, done) || cli.err != nil || srv.err != nil || cli.got != size || srv.got != size {
		t.Fatalf("transfer did not complete: client %+v", c.Info())
	}
	p.doneAt = p.n.now
	return at, p
}

// With pacing on, data segments leave spaced out: no two at the same
// instant after the first ten, which Linux does not pace either (the
// initial window's ten back-to-back segments make nine pairs); without it
// the initial window and each ACK's growth leave as bursts.
func TestPacingSpreadsSegments(t *testing.T) {
	bursts := func(at []time.Duration) int {
		n := 0
		for i := 1; i < len(at); i++ {
			if at[i] == at[i-1] {
				n++
			}
		}
		return n
	}
	plain, _ := dataDepartures(t, TCPConfig{}, 200_000)
	paced, _ := dataDepartures(t, TCPConfig{Pacing: true}, 200_000)
	t.Logf("back-to-back data segments: %d of %d unpaced, %d of %d paced", bursts(plain), len(plain), bursts(paced), len(paced))
	if bursts(plain) < 10 {
		t.Fatalf("unpaced: only %d back-to-back segments; the test sees no bursts", bursts(plain))
	}
	if bursts(paced) != 9 {
		t.Fatalf("paced: %d back-to-back segments, want the initial window's 9", bursts(paced))
	}
}

// A maximum pacing rate (SO_MAX_PACING_RATE) bounds the transfer's rate on
// a link with no rate of its own: 300 kB each way at 150 kB/s takes 2 s.
func TestMaxPacingRateCapsTransfer(t *testing.T) {
	_, p := dataDepartures(t, TCPConfig{MaxPacingRate: 150_000}, 300_000)
	if p.doneAt < 1900*time.Millisecond || p.doneAt > 2300*time.Millisecond {
		t.Fatalf("transfer at 150 kB/s took %v, want about 2 s", p.doneAt)
	}
	_, q := dataDepartures(t, TCPConfig{}, 300_000)
	if q.doneAt > 500*time.Millisecond {
		t.Fatalf("uncapped transfer took %v; the cap test proves nothing", q.doneAt)
	}
}
