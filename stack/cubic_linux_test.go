package stack

import (
	"testing"
	"time"
)

// Linux's CUBIC and HyStart (TCPConfig.LinuxCubic, cubic_linux.go), on a
// bare control block with a scripted clock as cubic_test.go's tests. The
// expected values are worked out by hand from tcp_cubic's arithmetic.

type lxRig struct {
	t   *testing.T
	c   *Conn
	r   *newReno
	w   *cubic
	env *script
}

func newLinuxCubicConn(t *testing.T, detect int) *lxRig {
	t.Helper()
	env := &script{t: t}
	h, err := NewHost(HostConfig{Env: env, TCP: TCPConfig{CongestionControl: CCCubic, LinuxCubic: true, LinuxHyStartDetect: detect}})
	if err != nil {
		t.Fatal(err)
	}
	c := &Conn{h: h, tcb: tcb{sndMSS: ccMSS}}
	c.cc = newCongestionControl(c)
	r := c.cc
	w := c.ccx.alg.(*cubic)
	r.init()
	if w.lx == nil {
		t.Fatal("LinuxCubic did not select Linux's CUBIC")
	}
	return &lxRig{t: t, c: c, r: r, w: w, env: env}
}

// send sends n segments of new data now.
func (g *lxRig) send(n int) {
	for range n {
		seq := g.c.sndMax
		g.w.OnSend(g.c.ccHandle(), seq, seq.Add(ccMSS))
		g.c.sndMax = seq.Add(ccMSS)
	}
}

// ack acknowledges n more segments at time at.
func (g *lxRig) ack(at time.Duration, n int) {
	g.env.now = at
	g.c.sndUna = g.c.sndUna.Add(uint32(n) * ccMSS)
	g.r.onAck(uint32(n) * ccMSS)
}

func (g *lxRig) segs() (cwnd, ssthresh uint32) { return g.c.cwnd / ccMSS, g.c.ssthresh / ccMSS }

// rampTo20 is the start both packetdrill hystart-delay scripts share: ten
// segments sent at 0, acknowledged together after minRTT (the first
// sample, cwnd 10 → 20: below hystart_low_window, HyStart does not look),
// then twenty more sent at minRTT.
func (g *lxRig) rampTo20(minRTT time.Duration) {
	g.send(10)
	g.ack(minRTT, 10)
	if cw, _ := g.segs(); cw != 20 {
		g.t.Fatalf("after the first window: cwnd %d, want 20", cw)
	}
	g.send(20)
}

// The delay test looks at the 9th RTT sample of a round and leaves slow
// start when the round's least RTT exceeds the minimum RTT by
// clamp(minRTT/8, 4 ms, 16 ms). Each case acknowledges the second
// window two segments per ACK, 1 ms apart (too slow a train to matter),
// each ACK's RTT being rtt plus 1 ms per ACK before it.
func TestLinuxHyStartDelay(t *testing.T) {
	for _, tc := range []struct {
		name        string
		minRTT, rtt time.Duration
		exit        bool
	}{
		{"200ms-clamped-16ms-at", 200 * time.Millisecond, 216 * time.Millisecond, false},
		{"200ms-clamped-16ms-above", 200 * time.Millisecond, 216*time.Millisecond + time.Microsecond, true},
		{"upward-script", 200 * time.Millisecond, 240 * time.Millisecond, true},
		{"80ms-eighth-10ms-at", 80 * time.Millisecond, 90 * time.Millisecond, false},
		{"80ms-eighth-10ms-above", 80 * time.Millisecond, 90*time.Millisecond + time.Microsecond, true},
		{"20ms-clamped-4ms-at", 20 * time.Millisecond, 24 * time.Millisecond, false},
		{"20ms-clamped-4ms-above", 20 * time.Millisecond, 24*time.Millisecond + time.Microsecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newLinuxCubicConn(t, 0)
			g.rampTo20(tc.minRTT)
			base := tc.minRTT + tc.rtt
			for i := range 8 {
				g.ack(base+time.Duration(i)*time.Millisecond, 2)
				if cw, ss := g.segs(); cw != uint32(22+2*i) || ss != 1<<30/ccMSS {
					t.Fatalf("sample %d: cwnd %d ssthresh %d, want %d and still infinite", i+1, cw, ss, 22+2*i)
				}
			}
			// The 9th sample: the check. Leaving sets ssthresh = cwnd (36)
			// before the ACK's growth, which is then congestion
			// avoidance's (cnt 20: nothing yet).
			g.ack(base+8*time.Millisecond, 2)
			cw, ss := g.segs()
			if tc.exit {
				if cw != 36 || ss != 36 || g.w.lx.delayExits != 1 {
					t.Fatalf("cwnd %d ssthresh %d delay exits %d, want 36, 36, 1", cw, ss, g.w.lx.delayExits)
				}
				g.ack(base+9*time.Millisecond, 2)
				if cw, ss := g.segs(); cw != 36 || ss != 36 {
					t.Fatalf("after the exit: cwnd %d ssthresh %d, want 36, 36", cw, ss)
				}
				return
			}
			if cw != 38 || g.w.lx.delayExits != 0 || g.w.lx.found {
				t.Fatalf("cwnd %d, delay exits %d: want 38 and no exit", cw, g.w.lx.delayExits)
			}
		})
	}
}

// The 2020 fix of tcp_cubic ("fix spurious HYSTART_DELAY exit upon drop in
// min RTT"): a 9th sample below the minimum RTT lowers both the minimum
// and the round's least RTT, so slow start goes on.
func TestLinuxHyStartDelayMinRTTDrops(t *testing.T) {
	g := newLinuxCubicConn(t, 0)
	g.rampTo20(200 * time.Millisecond)
	for i := range 8 {
		g.ack(400*time.Millisecond+240*time.Millisecond+time.Duration(i)*time.Millisecond, 2)
	}
	// The 9th ACK covers a segment sent 29 ms before it.
	g.send(1)
	g.env.now += 29 * time.Millisecond
	g.c.sndUna = g.c.sndMax
	g.r.onAck(3 * ccMSS)
	if cw, ss := g.segs(); cw != 39 || ss != 1<<30/ccMSS || g.w.lx.delayMin != 29000 {
		t.Fatalf("cwnd %d ssthresh %d min RTT %d µs, want 36 + 3 = 39, infinite, 29000", cw, ss, g.w.lx.delayMin)
	}
}

// The ACK train: with ACKs at most 2 ms apart, slow start ends once the
// train has run longer than (minRTT + the TSO allowance, 1 ms here)/2 for
// a sender that does not pace: (20 + 1)/2 = 10.5 ms after the round's
// first ACK, so on the ACK 11 ms after it.
func TestLinuxHyStartAckTrain(t *testing.T) {
	g := newLinuxCubicConn(t, lxAckTrain)
	g.c.srtt = 20 * time.Millisecond
	g.rampTo20(20 * time.Millisecond)
	start := 40 * time.Millisecond
	for i := range 11 {
		g.ack(start+time.Duration(i)*time.Millisecond, 1)
		if cw, _ := g.segs(); cw != uint32(21+i) || g.w.lx.found {
			t.Fatalf("ACK %d ms into the train: cwnd %d (found %v), want %d and slow start", i, cw, g.w.lx.found, 21+i)
		}
	}
	g.ack(start+11*time.Millisecond, 1)
	if cw, ss := g.segs(); cw != 31 || ss != 31 || g.w.lx.trainExits != 1 {
		t.Fatalf("11 ms into the train: cwnd %d ssthresh %d train exits %d, want 31, 31, 1", cw, ss, g.w.lx.trainExits)
	}
	// The same train with the ACK-train test off: no exit.
	g = newLinuxCubicConn(t, lxDelay)
	g.c.srtt = 20 * time.Millisecond
	g.rampTo20(20 * time.Millisecond)
	for i := range 12 {
		g.ack(start+time.Duration(i)*time.Millisecond, 1)
	}
	if cw, _ := g.segs(); cw != 32 || g.w.lx.found {
		t.Fatalf("delay test only: cwnd %d found %v, want 32 and slow start", cw, g.w.lx.found)
	}
}

// HyStart off (hystart_detect 0, LinuxHyStartDetect < 0): RTTs far above
// the minimum do not end slow start.
func TestLinuxHyStartOff(t *testing.T) {
	g := newLinuxCubicConn(t, -1)
	g.rampTo20(20 * time.Millisecond)
	for i := range 10 {
		g.ack(time.Second+time.Duration(i)*time.Millisecond, 2)
	}
	if cw, ss := g.segs(); cw != 40 || ss != 1<<30/ccMSS {
		t.Fatalf("cwnd %d ssthresh %d, want 40 and infinite", cw, ss)
	}
}

// A loss at 100 segments: ssthresh 100·717/1024 = 70, W_max 100; a second
// one at 80 < W_max: W_max 80·1741/2048 = 68, ssthresh 80·717/1024 = 56.
// Then the window function in fixed point: K = ∛(2^40/410 · 30) =
// ∛80452070310 = 4316 (1/1024 s), and with a minimum RTT of 100 ms an ACK
// at the epoch's start looks at t = 100·1024/1000 = 102: W = 100 −
// 410·(4316−102)³/2^40 = 100 − 27 = 73, cnt = 70/(73−70) = 23.
func TestLinuxCubicWindow(t *testing.T) {
	g := newLinuxCubicConn(t, 0)
	cc := g.c.ccHandle()
	g.c.cwnd = 100 * ccMSS
	if ss := g.w.OnCongestion(cc, CongestionLoss); ss != 70*ccMSS || g.w.lx.lastMaxCwnd != 100 {
		t.Fatalf("loss at 100: ssthresh %d W_max %d, want 70000, 100", ss, g.w.lx.lastMaxCwnd)
	}
	g.c.cwnd = 80 * ccMSS
	if ss := g.w.OnCongestion(cc, CongestionLoss); ss != 56*ccMSS || g.w.lx.lastMaxCwnd != 68 {
		t.Fatalf("loss at 80: ssthresh %d W_max %d, want 56000, 68", ss, g.w.lx.lastMaxCwnd)
	}
	g.c.cwnd = 2 * ccMSS
	if ss := g.w.OnCongestion(cc, CongestionLoss); ss != 2*ccMSS {
		t.Fatalf("loss at 2: ssthresh %d, want 2 segments", ss)
	}

	g = newLinuxCubicConn(t, 0)
	cc = g.c.ccHandle()
	g.c.cwnd = 100 * ccMSS
	g.c.ssthresh = g.w.OnCongestion(cc, CongestionLoss)
	g.c.cwnd = g.c.ssthresh
	g.w.lx.delayMin = 100000
	t0 := 5 * time.Second
	g.send(200)
	g.ack(t0, 1)
	lx := g.w.lx
	if lx.k != 4316 || lx.origin != 100 || lx.cnt != 23 {
		t.Fatalf("K %d origin %d cnt %d, want 4316, 100, 23", lx.k, lx.origin, lx.cnt)
	}
	// One segment more per 23 acknowledged.
	for i := 1; i < 22; i++ {
		g.ack(t0+time.Duration(i)*time.Millisecond, 1)
	}
	if cw, _ := g.segs(); cw != 70 {
		t.Fatalf("after 22 segments: cwnd %d, want 70", cw)
	}
	g.ack(t0+22*time.Millisecond, 1)
	if cw, _ := g.segs(); cw != 71 {
		t.Fatalf("after 23 segments: cwnd %d, want 71", cw)
	}
	// A second later: t = 1100·1024/1000 = 1126, W = 100 −
	// 410·3190³/2^40 = 88, cnt = 71/(88−71) = 4.
	g.ack(t0+time.Second, 1)
	if lx.cnt != 4 {
		t.Fatalf("1 s into the epoch: cnt %d, want 4", lx.cnt)
	}
	// Far beyond K the target runs away and cnt is held at 2: one segment
	// per two acknowledged.
	g.ack(t0+20*time.Second, 1)
	before, _ := g.segs()
	g.ack(t0+20*time.Second+time.Millisecond, 2)
	if cw, _ := g.segs(); lx.cnt != 2 || cw != before+1 {
		t.Fatalf("20 s into the epoch: cnt %d, cwnd %d → %d, want cnt 2 and one more segment", lx.cnt, before, cw)
	}
}

// Before the first loss (W_max 0) cnt is at most 20: 5 % a round. After a
// HyStart exit at 36 segments, 20 segments acknowledged add one.
func TestLinuxCubicFirstEpochCap(t *testing.T) {
	g := newLinuxCubicConn(t, 0)
	g.c.cwnd, g.c.ssthresh = 36*ccMSS, 36*ccMSS
	g.w.lx.delayMin = 200000
	g.send(100)
	for i := range 19 {
		g.ack(time.Second+time.Duration(i)*time.Millisecond, 1)
	}
	if cw, _ := g.segs(); cw != 36 || g.w.lx.cnt != 20 {
		t.Fatalf("after 19 segments: cwnd %d cnt %d, want 36, 20", cw, g.w.lx.cnt)
	}
	g.ack(time.Second+19*time.Millisecond, 1)
	if cw, _ := g.segs(); cw != 37 {
		t.Fatalf("after 20 segments: cwnd %d, want 37", cw)
	}
}

// A timeout forgets W_max and re-arms HyStart for the next slow start
// (Linux resets the algorithm on entering Loss); an idle period moves the
// epoch forward by the time since the last send.
func TestLinuxCubicTimeoutAndIdle(t *testing.T) {
	g := newLinuxCubicConn(t, 0)
	cc := g.c.ccHandle()
	g.c.cwnd = 50 * ccMSS
	g.w.lx.found = true
	if ss := g.w.OnCongestion(cc, CongestionTimeout); ss != 35*ccMSS {
		t.Fatalf("timeout at 50: ssthresh %d, want 35000", ss)
	}
	if lx := g.w.lx; lx.lastMaxCwnd != 0 || lx.found || lx.epochSet {
		t.Fatalf("after the timeout: W_max %d found %v epoch %v, want all reset", lx.lastMaxCwnd, lx.found, lx.epochSet)
	}

	g = newLinuxCubicConn(t, 0)
	g.c.cwnd, g.c.ssthresh = 20*ccMSS, 20*ccMSS
	g.env.now = time.Second
	g.send(20)
	g.ack(1100*time.Millisecond, 10) // the epoch starts at 1.1 s
	lx := g.w.lx
	if !lx.epochSet || lx.epochStart != 1100 {
		t.Fatalf("epoch %v at %d ms, want 1100", lx.epochSet, lx.epochStart)
	}
	g.env.now = 1150 * time.Millisecond
	g.send(1) // with data in flight: no shift
	g.ack(1200*time.Millisecond, 11)
	g.env.now = 3200 * time.Millisecond // idle since the send at 1.15 s
	g.send(1)
	if lx.epochStart != 1100+2050 {
		t.Fatalf("after idling from 1.15 s to 3.2 s: epoch start %d ms, want 1100 + 2050 = 3150", lx.epochStart)
	}
	// An epoch that began after the last send cannot move past now.
	g = newLinuxCubicConn(t, 0)
	g.c.cwnd, g.c.ssthresh = 20*ccMSS, 20*ccMSS
	g.env.now = time.Second
	g.send(20)
	g.ack(1100*time.Millisecond, 20) // the epoch starts at 1.1 s, nothing in flight
	g.env.now = 5 * time.Second
	g.send(1)
	if lx := g.w.lx; lx.epochStart != 5000 {
		t.Fatalf("after idling from 1 s to 5 s: epoch start %d ms, want 1100 + 4000 clamped to now, 5000", lx.epochStart)
	}
}

// Without LinuxCubic the algorithm is RFC 9438's with HyStart++.
func TestLinuxCubicOffByDefault(t *testing.T) {
	_, _, w, _ := newCubicConn(t)
	if w.lx != nil || !w.hs.active {
		t.Fatalf("default cubic: Linux state %v, HyStart++ active %v; want none and active", w.lx != nil, w.hs.active)
	}
}
