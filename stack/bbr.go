package stack

import "time"

// BBR, the "bbr" of the registry: a slice of the IETF CCWG BBR draft
// (draft-ietf-ccwg-bbr, BBRv3). BBR builds a model of the path, the
// bottleneck bandwidth (the largest delivery rate of recent rounds) and the
// round-trip propagation delay (the least RTT of recent seconds), and
// paces at a gain times that bandwidth, with cwnd a gain times the
// bandwidth-delay product. It is driven by the delivery-rate samples of
// rate.go (it is a RateObserver) and paces by CCConn.SetPacingRate; like
// NewReno, CUBIC and DCTCP it uses only the public API.
//
// What is here, by the draft's state machine:
//
//   - Startup: pacing gain 2.77 (4·ln 2), cwnd gain 2; it ends when three
//     rounds in a row that were not app-limited failed to raise the maximum
//     bandwidth by 25 % (the pipe is full).
//   - Drain: pacing gain 0.35 until the data in flight is at most one BDP.
//   - ProbeBW, the cycle of DOWN (pacing gain 0.9, until in flight ≤ BDP),
//     CRUISE (1.0), REFILL (1.0 for one round) and UP (1.25, cwnd gain 2.25,
//     until in flight ≥ 1.25·BDP after at least one round), then DOWN again.
//     The wait before the next probe is 2 to 3 s, or min(BDP in packets, 63)
//     rounds if sooner (coexistence with Reno); its random part comes from
//     the connection's initial sequence number, so runs stay reproducible.
//   - ProbeRTT: when the least RTT of the last 5 s is older than that, cwnd
//     drops to half the BDP (at least 4 SMSS) for max(200 ms, one round),
//     then ProbeBW (or Startup if the pipe was never full) resumes.
//   - Pacing at gain × bandwidth × 99 %, never lowered during Startup; the
//     first rate is 2.77 × IW / SRTT (1 ms without a sample).
//   - cwnd = min(cwnd + delivered, gain·BDP + 3 send quanta) once the pipe
//     is full, growing by what is delivered before; at least 4 SMSS.
//
// Not done (what the draft adds beyond this slice): the loss and ECN
// responses (inflight_hi, inflight_lo, bw_lo, BBRLossThresh 2 %, Startup's
// exit on loss), the ACK-aggregation estimate (extra_acked), packet
// conservation of its own in recovery (the engine's recovery keeps cwnd,
// from ssthresh = in flight), and the idle-restart rules. The bandwidth filter is BBRv1's: the largest sample of
// the last 10 rounds.

const (
	bbrStartupPacingGain = 2.77
	bbrDrainPacingGain   = 0.35
	bbrCwndGain          = 2.0
	bbrUpCwndGain        = 2.25
	bbrFullBwThresh      = 1.25
	bbrFullBwCount       = 3
	bbrPacingMargin      = 0.99
	bbrMinRTTWindow      = 10 * time.Second
	bbrProbeRTTInterval  = 5 * time.Second
	bbrProbeRTTDuration  = 200 * time.Millisecond
	bbrBwRounds          = 10
)

// BBR states.
const (
	bbrStartup = iota
	bbrDrain
	bbrProbeBW
	bbrProbeRTT
)

// ProbeBW phases.
const (
	bbrDown = iota
	bbrCruise
	bbrRefill
	bbrUp
)

type bbr struct {
	state, phase int
	pacingGain   float64
	cwndGain     float64

	// Rounds.
	nextRoundDelivered uint64
	roundCount         uint64
	roundStart         bool

	// Bandwidth model, bytes/s: the largest sample of each of the last
	// bbrBwRounds rounds.
	bwRound [bbrBwRounds]uint64
	maxBw   uint64

	// Min RTT: over bbrMinRTTWindow, and the ProbeRTT clock over
	// bbrProbeRTTInterval.
	minRTT, probeRTTMin           time.Duration
	minRTTStamp, probeRTTMinStamp time.Duration

	// Startup's full-pipe detection.
	filledPipe bool
	fullBw     uint64
	fullBwCnt  int

	// ProbeBW.
	cycleStamp     time.Duration
	probeWait      time.Duration
	roundsSinceBw  uint64
	phaseRoundBase uint64 // roundCount when the phase began

	// ProbeRTT.
	probeRTTDone      time.Duration // 0 until in flight fell to the ProbeRTT cwnd
	probeRTTRoundDone bool
	priorCwnd         uint32

	jitter time.Duration // the random part of the probe wait, from the ISS
}

func newBBR() *bbr { return &bbr{} }

// State names BBR's state (and ProbeBW's phase) for tests and traces.
func (b *bbr) State() string {
	switch b.state {
	case bbrStartup:
		return "startup"
	case bbrDrain:
		return "drain"
	case bbrProbeRTT:
		return "probe_rtt"
	}
	return [...]string{"probe_bw_down", "probe_bw_cruise", "probe_bw_refill", "probe_bw_up"}[b.phase]
}

func (b *bbr) Init(cc *CCConn) {
	*b = bbr{}
	// SND.UNA − 1 at ESTABLISHED is the ISS: random per seed, fixed per run.
	b.jitter = time.Duration(uint32(cc.SndUna().Add(^uint32(0)))%1000) * time.Millisecond
	b.enter(bbrStartup, cc)
	b.minRTT, b.minRTTStamp = cc.SRTT(), cc.Now()
	b.probeRTTMin, b.probeRTTMinStamp = b.minRTT, cc.Now()
	b.nextRoundDelivered = cc.Delivered()
	// The first rate: Startup's gain over the initial window per RTT.
	rtt := cc.SRTT()
	if rtt <= 0 {
		rtt = time.Millisecond
	}
	cc.SetPacingRate(uint64(bbrStartupPacingGain * float64(cc.Cwnd()) / rtt.Seconds()))
}

func (b *bbr) enter(state int, cc *CCConn) {
	b.state = state
	switch state {
	case bbrStartup:
		b.pacingGain, b.cwndGain = bbrStartupPacingGain, bbrCwndGain
	case bbrDrain:
		b.pacingGain, b.cwndGain = bbrDrainPacingGain, bbrCwndGain
	case bbrProbeRTT:
		b.pacingGain, b.cwndGain = 1, 0.5
	}
}

func (b *bbr) startPhase(phase int, cc *CCConn) {
	b.state, b.phase, b.phaseRoundBase = bbrProbeBW, phase, b.roundCount
	b.cwndGain = bbrCwndGain
	switch phase {
	case bbrDown:
		b.pacingGain = 0.9
		b.cycleStamp = cc.Now()
		b.probeWait = 2*time.Second + b.jitter
		b.roundsSinceBw = 0
	case bbrCruise, bbrRefill:
		b.pacingGain = 1
	case bbrUp:
		b.pacingGain, b.cwndGain = 1.25, bbrUpCwndGain
	}
}

// bdp is gain × max_bw × min_rtt in bytes, the initial window before the
// model has both.
func (b *bbr) bdp(cc *CCConn, gain float64) uint32 {
	if b.maxBw == 0 || b.minRTT == 0 {
		return cc.InitialWindow()
	}
	return uint32(min(gain*float64(b.maxBw)*b.minRTT.Seconds(), 1<<30))
}

func (b *bbr) OnRateSample(cc *CCConn, rs RateSample) {
	now := cc.Now()
	// Rounds: one ends when a segment sent after the previous round's end
	// is delivered.
	b.roundStart = false
	if rs.PriorDelivered >= b.nextRoundDelivered {
		b.nextRoundDelivered = rs.TotalDelivered
		b.roundCount++
		b.roundsSinceBw++
		b.roundStart = true
		b.bwRound[b.roundCount%bbrBwRounds] = 0
	}
	// The bandwidth filter: app-limited samples count only if they raise it.
	if bw := rs.Rate(); bw > 0 && (!rs.IsAppLimited || bw >= b.maxBw) {
		slot := &b.bwRound[b.roundCount%bbrBwRounds]
		*slot = max(*slot, bw)
	}
	b.maxBw = 0
	for _, v := range b.bwRound {
		b.maxBw = max(b.maxBw, v)
	}
	// The min-RTT filters (whether ProbeRTT is due is decided before the
	// sample refreshes its filter, as the draft's probe_rtt_expired).
	probeRTTExpired := now-b.probeRTTMinStamp > bbrProbeRTTInterval
	if r := rs.RTT; r > 0 {
		if b.minRTT == 0 || r < b.minRTT || now-b.minRTTStamp > bbrMinRTTWindow {
			b.minRTT, b.minRTTStamp = r, now
		}
		if b.probeRTTMin == 0 || r < b.probeRTTMin || now-b.probeRTTMinStamp > bbrProbeRTTInterval {
			b.probeRTTMin, b.probeRTTMinStamp = r, now
		}
	}
	inflight := cc.InFlight()
	switch b.state {
	case bbrStartup:
		if b.roundStart && !rs.IsAppLimited {
			if float64(b.maxBw) >= float64(b.fullBw)*bbrFullBwThresh {
				b.fullBw, b.fullBwCnt = b.maxBw, 0
			} else if b.fullBwCnt++; b.fullBwCnt >= bbrFullBwCount {
				b.filledPipe = true
				b.enter(bbrDrain, cc)
			}
		}
	case bbrProbeBW:
		b.updatePhase(cc, inflight)
	}
	if b.state == bbrDrain && inflight <= b.bdp(cc, 1) {
		b.startPhase(bbrDown, cc)
		b.updatePhase(cc, inflight)
	}
	b.checkProbeRTT(cc, now, inflight, probeRTTExpired)
	b.setPacing(cc)
	b.setCwnd(cc, rs)
}

// updatePhase moves through ProbeBW's cycle.
func (b *bbr) updatePhase(cc *CCConn, inflight uint32) {
	timeToProbe := func() bool {
		limit := min(uint64(b.bdp(cc, 1)/cc.MSS()), 63)
		return cc.Now()-b.cycleStamp > b.probeWait || b.roundsSinceBw >= limit
	}
	switch b.phase {
	case bbrDown:
		if timeToProbe() {
			b.startPhase(bbrRefill, cc)
		} else if inflight <= b.bdp(cc, 1) {
			b.startPhase(bbrCruise, cc)
		}
	case bbrCruise:
		if timeToProbe() {
			b.startPhase(bbrRefill, cc)
		}
	case bbrRefill:
		if b.roundStart && b.roundCount > b.phaseRoundBase {
			b.startPhase(bbrUp, cc)
		}
	case bbrUp:
		if b.roundCount > b.phaseRoundBase && inflight >= b.bdp(cc, 1.25) {
			b.startPhase(bbrDown, cc)
		}
	}
}

// checkProbeRTT enters, runs and leaves ProbeRTT.
func (b *bbr) checkProbeRTT(cc *CCConn, now time.Duration, inflight uint32, expired bool) {
	if b.state != bbrProbeRTT && expired {
		b.priorCwnd = max(b.priorCwnd, cc.Cwnd())
		b.enter(bbrProbeRTT, cc)
		b.probeRTTDone, b.probeRTTRoundDone = 0, false
	}
	if b.state != bbrProbeRTT {
		return
	}
	if b.probeRTTDone == 0 {
		if inflight <= b.probeRTTCwnd(cc) {
			b.probeRTTDone = now + bbrProbeRTTDuration
			b.nextRoundDelivered = cc.Delivered() // a round from now
		}
		return
	}
	if b.roundStart {
		b.probeRTTRoundDone = true
	}
	if b.probeRTTRoundDone && now >= b.probeRTTDone {
		b.probeRTTMinStamp = now
		cc.SetCwnd(max(cc.Cwnd(), b.priorCwnd))
		b.priorCwnd = 0
		if b.filledPipe {
			b.startPhase(bbrDown, cc)
			b.startPhase(bbrCruise, cc)
		} else {
			b.enter(bbrStartup, cc)
		}
	}
}

func (b *bbr) probeRTTCwnd(cc *CCConn) uint32 { return max(b.bdp(cc, 0.5), 4*cc.MSS()) }

func (b *bbr) setPacing(cc *CCConn) {
	if b.maxBw == 0 {
		return
	}
	rate := uint64(b.pacingGain * float64(b.maxBw) * bbrPacingMargin)
	if b.filledPipe || rate > cc.PacingRate() {
		cc.SetPacingRate(max(rate, 1))
	}
}

func (b *bbr) setCwnd(cc *CCConn, rs RateSample) {
	if cc.InRecovery() {
		return // the engine's PRR sets cwnd in a recovery
	}
	quantum := min(max(cc.PacingRate()/1000, uint64(2*cc.MSS())), 64<<10)
	target := b.bdp(cc, b.cwndGain) + 3*uint32(quantum)
	cwnd := cc.Cwnd()
	switch {
	case b.filledPipe:
		cwnd = min(cwnd+rs.NewlyDelivered, target)
	case cwnd < target || rs.TotalDelivered < uint64(cc.InitialWindow()):
		cwnd += rs.NewlyDelivered
	}
	cwnd = max(cwnd, 4*cc.MSS())
	if b.state == bbrProbeRTT {
		cwnd = min(cwnd, b.probeRTTCwnd(cc))
	}
	cc.SetCwnd(cwnd)
}

// OnAck: BBR works from rate samples (OnRateSample).
func (b *bbr) OnAck(cc *CCConn, a AckSample) {}

// OnCongestion: BBR's own loss and ECN responses are not implemented. On
// a loss the engine's recovery starts from ssthresh = what is in flight
// (at least 4 SMSS), packet conservation as Linux's BBR does on entering
// recovery; an ECN echo leaves cwnd as it is; after a timeout (cwnd = 1
// SMSS) BBR grows cwnd back by what is delivered.
func (b *bbr) OnCongestion(cc *CCConn, ev CongestionEvent) uint32 {
	if ev == CongestionECN {
		return cc.Cwnd()
	}
	return max(cc.InFlight(), 4*cc.MSS())
}

func (b *bbr) AfterIdle(cc *CCConn) {}
