package stack

import (
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// BBR, the "bbr" of the registry: the IETF CCWG BBR draft
// (draft-ietf-ccwg-bbr, BBRv3). BBR builds a model of the path, the
// bottleneck bandwidth (the largest delivery rate of recent ProbeBW
// cycles) and the round-trip propagation delay (the least RTT of recent
// seconds), bounded by what loss and ECN say the path takes, and paces at
// a gain times that bandwidth, with cwnd a gain times the bandwidth-delay
// product. It is driven by the delivery-rate samples of rate.go (it is a
// RateObserver, and reads their loss and CE counts) and paces by
// CCConn.SetPacingRate; like NewReno, CUBIC and DCTCP it uses only the
// public API, with its optional interfaces: it sets cwnd itself in loss
// recovery (RecoveryCwndOwner), hears of each lost segment (LossObserver)
// and of each send (SendObserver, for the restart from idle).
//
// What is here, by the draft's state machine:
//
//   - Startup: pacing gain 2.77 (4·ln 2), cwnd gain 2; it ends when three
//     rounds in a row that were not app-limited failed to raise the maximum
//     bandwidth by 25 % (the pipe is full), or at the end of a loss round
//     spent in recovery with at least 6 loss events (ACKs that found
//     losses) and more than BBRLossThresh (2 %) of the sample's flight lost
//     (BBRCheckStartupHighLoss), or after two rounds with more than half
//     the delivered bytes CE-marked; the last two set inflight_hi =
//     max(BDP, inflight_latest).
//   - Drain: pacing gain 0.35 until the data in flight is at most one BDP.
//   - ProbeBW, the cycle of DOWN (pacing gain 0.9, until in flight ≤ BDP
//     and below inflight_hi's headroom), CRUISE (1.0), REFILL (1.0 for one
//     round; resets the lower bounds) and UP (1.25, cwnd gain 2.25, until
//     in flight ≥ 1.25·BDP after at least one round, or loss too high),
//     then DOWN again. The wait before the next probe is 2 to 3 s, or
//     min(target in flight in packets, 63) rounds if sooner (coexistence
//     with Reno); its random part comes from the connection's initial
//     sequence number, so runs stay reproducible.
//   - ProbeRTT: when the least RTT of the last 5 s is older than that, cwnd
//     drops to half the BDP (at least 4 SMSS) for max(200 ms, one round),
//     then ProbeBW (or Startup if the pipe was never full) resumes.
//   - The bandwidth filter: the largest sample of this ProbeBW cycle and
//     the last (a cycle begins a round after DOWN does, when the probe's
//     samples are in; they stop counting for inflight_hi then).
//   - The loss response: a sample is "too high" when the bytes lost since
//     its segment was sent exceed 2 % of what was in flight then
//     (IsInflightTooHigh, from RateSample.Lost and TxInFlight). Once the
//     probe's own samples arrive (after REFILL's round), the first such
//     sample sets inflight_hi = max(tx_in_flight, 0.7 × min(BDP, cwnd))
//     and ends UP (BBRHandleInflightTooHigh); the first lost segment whose
//     own loss count is too high does so first, with the flight at which
//     the loss rate crossed 2 % within it (BBRHandleLostPacket,
//     BBRInflightLongtermFromLostPacket); otherwise inflight_hi follows
//     the flight upward, and in UP grows by 1, 2, 4, … SMSS per round
//     while cwnd is at it (BBRProbeInflightHiUpward). Outside the probe
//     (DOWN, CRUISE, Drain, ProbeRTT), at the end of each round with any
//     loss, bw_lo = max(bw_latest, 0.7·bw_lo) and inflight_lo =
//     max(inflight_latest, 0.7·inflight_lo), from max_bw and cwnd.
//   - The ECN response, only with ECN negotiated; BBR asks for DCTCP's
//     per-segment CE echo (EchoCEPerSegment), since RFC 3168's latched
//     ECE cannot say how much was marked: per round, α ← 15/16·α + the
//     CE-marked share/16 (from 1); a sample with more than half its
//     delivered bytes CE-marked is too high as for loss; a round with CE
//     outside the probe cuts inflight_lo to inflight_lo·(1 − α/3).
//   - The ACK-aggregation estimate (extra_acked): bytes delivered beyond
//     bw × the time since the aggregation interval began, at most cwnd, the
//     largest of the last 10 rounds, added to cwnd's target once the pipe
//     is full.
//   - Pacing at gain × bw × 99 %, bw = min(max_bw, bw_lo), never lowered
//     during Startup; the first rate is 2.77 × IW / SRTT (1 ms without a
//     sample).
//   - cwnd = min(cwnd + delivered, gain·BDP + 3 send quanta + extra_acked)
//     once the pipe is full, growing by what is delivered before; then
//     bounded (BBRBoundCwndForModel) by inflight_hi in DOWN, REFILL and UP,
//     by inflight_hi less 15 % headroom in CRUISE and ProbeRTT, and by
//     inflight_lo; at least 4 SMSS.
//   - Loss recovery: entering one saves cwnd (BBRSaveCwnd) and sets it to
//     what is in flight + 1 SMSS; on each ACK in it cwnd loses what the ACK
//     found lost, and for the first round (until a segment sent after the
//     recovery began is delivered) is at least what is in flight plus what
//     the ACK delivered (packet conservation, BBRModulateCwndForRecovery);
//     leaving it (full ACK, undo, timeout) restores at least the saved cwnd
//     (BBRRestoreCwnd), which the same ACK's bounds then apply to.
//   - Restart from idle: new data leaving an empty pipe while the
//     application limited the sender sets idle_restart, restarts the
//     ACK-aggregation interval, paces ProbeBW at 1 × bw until the next ACK,
//     and ends a ProbeRTT whose 200 ms are over; ProbeRTT is not entered
//     until an ACK has delivered data since (BBRHandleRestartFromIdle).
//
// Not done, or done otherwise: bw_hi (the draft's upper bound on
// bandwidth; the two-cycle filter plays its part); the filter does not
// advance after a cycle without a valid sample; loss events are ACKs that
// found losses, not discontiguous lost ranges; the ECN response has no RTT
// limit (Linux's v3 answers ECN only on paths of at most 5 ms); a timeout
// is the engine's (cwnd 1 SMSS, then BBR's growth by what is delivered:
// no BBROnEnterRTO save and restore); segments counted lost only when
// resent (a timeout's go-back-N, a tail loss probe, a rescue) neither cut
// cwnd in recovery nor reach OnLost; the per-ACK too-high test stays
// beside the per-segment one (Linux's v3 has both; it is what answers
// ECN); without SACK a duplicate ACK delivers nothing BBR is told of, so
// in a recovery's conserving round new data leaves only as cumulative
// ACKs arrive; the engine's RFC 5681 restart window still applies after
// an idle longer than the RTO (as Linux's tcp_slow_start_after_idle).

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

	bbrLossThresh         = 0.02 // the loss rate above which in flight is too high
	bbrBeta               = 0.7  // the multiplicative cut of the bounds on loss
	bbrHeadroom           = 0.15 // the share of inflight_hi CRUISE and ProbeRTT leave free
	bbrStartupFullLossCnt = 6    // loss events in a round that, with too much loss, end Startup
	bbrECNThresh          = 0.5  // the CE-marked share of a round that is too high
	bbrECNAlphaGain       = 1.0 / 16
	bbrECNFactor          = 1.0 / 3 // inflight_lo × (1 − factor·alpha) on a round with CE
	bbrStartupFullECNCnt  = 2       // rounds with too much CE that end Startup
	bbrExtraAckedRounds   = 10      // the window of the ACK-aggregation filter
	bbrMaxBwCycles        = 2       // the window of the bandwidth filter, in ProbeBW cycles
)

const bbrInf = ^uint64(0) // an unset bound (the draft's Infinity)

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
	// bbrMaxBwCycles ProbeBW cycles (the current one included).
	bwCycle    [bbrMaxBwCycles]uint64
	cycleCount uint64
	maxBw      uint64

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
	priorCwnd         uint32 // the draft's prior_cwnd: cwnd saved on entering recovery or ProbeRTT

	// Loss recovery (RecoveryCwndOwner): BBR sets cwnd itself, by packet
	// conservation in the recovery's first round.
	inRecovery         bool
	packetConservation bool
	idleRestart        bool   // sending resumed after an app-limited idle; cleared by the next ACK that delivers
	conservationEnd    uint64 // C.delivered when the recovery began: a round later conservation ends

	jitter time.Duration // the random part of the probe wait, from the ISS

	// The loss and ECN responses. Loss rounds are counted on their own
	// (the draft's loss_round_delivered), as ProbeRTT moves the other.
	lossRoundDelivered uint64
	lossRoundStart     bool
	lossInRound        bool
	lossEvents         int    // ACKs that found losses in this loss round (Startup's loss_events_in_round)
	bwLatest           uint64 // the largest delivery rate of this loss round
	inflightLatest     uint64 // the largest volume delivered in one sample of this loss round
	bwLo, inflightLo   uint64 // the lower bounds, bbrInf when unset
	inflightHi         uint64 // the upper bound, bbrInf when unset
	bwProbeSamples     bool   // the samples come from a bandwidth probe (REFILL's round is over)
	probeStopping      bool   // DOWN began: the probe's samples end with this round (ACKS_PROBE_STOPPING)
	probeUpRounds      uint
	probeUpAcks        uint64
	probeUpCnt         uint64 // bytes delivered per SMSS of inflight_hi growth in UP
	cwndLimited        bool   // the last ACK's AckSample.CwndLimited

	// ECN (only with a per-segment CE echo, ecnEligible).
	ecnAlpha       float64
	ceInRound      uint64 // bytes delivered with CE echoed in this loss round
	deliveredRound uint64 // bytes delivered in this loss round
	startupECN     int    // consecutive rounds of Startup with CE above bbrECNThresh

	// ACK aggregation (extra_acked): bytes delivered beyond what the
	// bandwidth model explains since the interval began, the largest of
	// each of the last bbrExtraAckedRounds rounds.
	extraStart     time.Duration
	extraDelivered uint64
	extraRound     [bbrExtraAckedRounds]uint64
	extraAcked     uint64
}

func newBBR() *bbr { return &bbr{} }

// EchoCEPerSegment: BBR's ECN response needs to know how much data was
// marked, so its receiver echoes CE per segment as DCTCP's does (the
// engine's ecn.go); with RFC 3168's latched echo the marked share of a
// round cannot be measured.
func (b *bbr) EchoCEPerSegment() bool { return true }

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
	b.lossRoundDelivered = cc.Delivered()
	b.bwLo, b.inflightLo, b.inflightHi = bbrInf, bbrInf, bbrInf
	b.probeUpCnt = bbrInf
	b.ecnAlpha = 1
	b.extraStart = cc.Now()
	b.cwndLimited = true
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

func (b *bbr) startPhase(phase int, cc *CCConn, rs RateSample) {
	b.state, b.phase, b.phaseRoundBase = bbrProbeBW, phase, b.roundCount
	b.cwndGain = bbrCwndGain
	if phase != bbrCruise {
		b.nextRoundDelivered = cc.Delivered() // BBRStartRound: the phase's first round begins now
	}
	switch phase {
	case bbrDown:
		b.pacingGain = 0.9
		b.cycleStamp = cc.Now()
		b.probeWait = 2*time.Second + b.jitter
		b.roundsSinceBw = 0
		b.probeUpCnt = bbrInf
		b.lossInRound, b.bwLatest, b.inflightLatest = false, 0, 0 // BBRResetCongestionSignals
		b.probeStopping = true                                    // the probe's last samples arrive within a round
	case bbrCruise:
		b.pacingGain = 1
	case bbrRefill:
		b.pacingGain = 1
		b.resetLowerBounds()
		b.probeUpRounds, b.probeUpAcks = 0, 0
	case bbrUp:
		b.pacingGain, b.cwndGain = 1.25, bbrUpCwndGain
		b.bwProbeSamples = true
		b.raiseInflightHiSlope(cc)
	}
}

func (b *bbr) resetLowerBounds() { b.bwLo, b.inflightLo = bbrInf, bbrInf }

// inflightFor is gain × bw × min_rtt in bytes, the initial window before
// the model has both.
func (b *bbr) inflightFor(cc *CCConn, bw uint64, gain float64) uint32 {
	if bw == 0 || b.minRTT == 0 {
		return cc.InitialWindow()
	}
	return uint32(min(gain*float64(bw)*b.minRTT.Seconds(), 1<<30))
}

// bdp is gain × max_bw × min_rtt (the draft's BBRInflight(max_bw, gain)),
// what the state machine compares the data in flight with.
func (b *bbr) bdp(cc *CCConn, gain float64) uint32 { return b.inflightFor(cc, b.maxBw, gain) }

// bw is the bandwidth BBR paces at and sizes cwnd from: max_bw, bounded
// by bw_lo (BBRBoundBWForModel).
func (b *bbr) bw() uint64 { return min(b.maxBw, b.bwLo) }

// targetInflight is BBRTargetInflight: the BDP at bw, at most cwnd.
func (b *bbr) targetInflight(cc *CCConn) uint32 {
	return min(b.inflightFor(cc, b.bw(), 1), cc.Cwnd())
}

// inflightWithHeadroom is inflight_hi less 15 % of it (at least 1 SMSS),
// at least 4 SMSS; unbounded while inflight_hi is unset.
func (b *bbr) inflightWithHeadroom(cc *CCConn) uint64 {
	if b.inflightHi == bbrInf {
		return bbrInf
	}
	headroom := max(uint64(cc.MSS()), uint64(bbrHeadroom*float64(b.inflightHi)))
	if b.inflightHi < headroom {
		return uint64(4 * cc.MSS())
	}
	return max(b.inflightHi-headroom, uint64(4*cc.MSS()))
}

// ecnEligible: ECN was negotiated, and BBR's receiver echoes CE per
// segment (EchoCEPerSegment), so the marked share can be measured.
func (b *bbr) ecnEligible(cc *CCConn) bool { return cc.ECN() }

// inflightTooHigh is the draft's IsInflightTooHigh: the data lost since the
// sample's segment was sent is more than 2 % of what was in flight then,
// or (with ECN) more than half of the sample's delivered bytes were
// echoed CE.
func (b *bbr) inflightTooHigh(cc *CCConn, rs RateSample) bool {
	if rs.Lost > 0 && float64(rs.Lost) > float64(rs.TxInFlight)*bbrLossThresh {
		return true
	}
	return b.ecnEligible(cc) && rs.DeliveredCE > 0 && rs.Delivered > 0 &&
		float64(rs.DeliveredCE) > float64(rs.Delivered)*bbrECNThresh
}

func (b *bbr) OnRateSample(cc *CCConn, rs RateSample) {
	now := cc.Now()
	bwSample := rs.Rate()
	// The latest delivery signals and the loss round (BBRUpdateLatestDeliverySignals).
	b.lossRoundStart = false
	if rs.PriorDelivered >= b.lossRoundDelivered {
		b.lossRoundDelivered = rs.TotalDelivered
		b.lossRoundStart = true
	}
	b.bwLatest = max(b.bwLatest, bwSample)
	b.inflightLatest = max(b.inflightLatest, rs.Delivered)
	if rs.NewlyLost > 0 {
		b.lossInRound = true
		b.lossEvents++
	}
	b.ceInRound += uint64(rs.NewlyDeliveredCE)
	b.deliveredRound += uint64(rs.NewlyDelivered)

	// Rounds: one ends when a segment sent after the previous round's end
	// is delivered.
	b.roundStart = false
	if rs.PriorDelivered >= b.nextRoundDelivered {
		b.nextRoundDelivered = rs.TotalDelivered
		b.roundCount++
		b.roundsSinceBw++
		b.roundStart = true
		b.extraRound[b.roundCount%bbrExtraAckedRounds] = 0
	}
	// The bandwidth filter: app-limited samples count only if they raise it.
	if bwSample > 0 && (!rs.IsAppLimited || bwSample >= b.maxBw) {
		slot := &b.bwCycle[b.cycleCount%bbrMaxBwCycles]
		*slot = max(*slot, bwSample)
	}
	b.maxBw = 0
	for _, v := range b.bwCycle {
		b.maxBw = max(b.maxBw, v)
	}
	b.updateAckAggregation(cc, rs)
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
		b.checkStartup(cc, rs)
	default:
		b.adaptUpperBounds(cc, rs)
	}
	if b.lossRoundStart {
		b.updateCongestionSignals(cc)
	}
	if b.state == bbrProbeBW {
		b.updatePhase(cc, rs, inflight)
	}
	if b.state == bbrDrain && inflight <= b.bdp(cc, 1) {
		b.startPhase(bbrDown, cc, rs)
		b.updatePhase(cc, rs, inflight)
	}
	b.checkProbeRTT(cc, rs, now, inflight, probeRTTExpired && !b.idleRestart)
	if rs.Delivered > 0 {
		b.idleRestart = false
	}
	if b.lossRoundStart { // BBRAdvanceLatestDeliverySignals
		b.bwLatest, b.inflightLatest = bwSample, rs.Delivered
	}
	b.setPacing(cc)
	b.setCwnd(cc, rs)
}

// checkStartup ends Startup when the pipe is full: three rounds without
// 25 % more bandwidth, or a round in recovery with at least 6 loss events
// and too much loss (BBRCheckStartupHighLoss), or two rounds with more
// than half the data CE-marked.
func (b *bbr) checkStartup(cc *CCConn, rs RateSample) {
	if b.roundStart && !rs.IsAppLimited {
		if float64(b.maxBw) >= float64(b.fullBw)*bbrFullBwThresh {
			b.fullBw, b.fullBwCnt = b.maxBw, 0
		} else if b.fullBwCnt++; b.fullBwCnt >= bbrFullBwCount {
			b.filledPipe = true
			b.enter(bbrDrain, cc)
			return
		}
	}
	if !b.lossRoundStart {
		return
	}
	if cc.InRecovery() && b.lossEvents >= bbrStartupFullLossCnt && b.inflightTooHigh(cc, rs) {
		b.queueTooHighInStartup(cc)
		return
	}
	if b.ecnEligible(cc) {
		if b.deliveredRound > 0 && float64(b.ceInRound) > float64(b.deliveredRound)*bbrECNThresh {
			b.startupECN++
		} else {
			b.startupECN = 0
		}
		if b.startupECN >= bbrStartupFullECNCnt {
			b.queueTooHighInStartup(cc)
		}
	}
}

// queueTooHighInStartup: the pipe is full, and inflight_hi starts at the
// larger of the BDP and the most delivered in a sample of the round.
func (b *bbr) queueTooHighInStartup(cc *CCConn) {
	b.filledPipe = true
	b.inflightHi = max(uint64(b.bdp(cc, 1)), b.inflightLatest)
	b.enter(bbrDrain, cc)
}

// adaptUpperBounds is BBRAdaptUpperBounds, once the pipe has been full:
// too much loss (or CE) in a bandwidth probe cuts inflight_hi
// (BBRHandleInflightTooHigh); otherwise inflight_hi follows what was in
// flight, and in UP grows by BBRProbeInflightHiUpward.
func (b *bbr) adaptUpperBounds(cc *CCConn, rs RateSample) {
	if b.probeStopping && b.roundStart {
		// A round after DOWN began the probe's samples are in: they no
		// longer set inflight_hi, and the bandwidth filter starts a new
		// cycle (BBRAdvanceMaxBwFilter). A cycle without a valid sample
		// does not push out the last.
		b.probeStopping, b.bwProbeSamples = false, false
		if b.state == bbrProbeBW && !rs.IsAppLimited && b.bwCycle[b.cycleCount%bbrMaxBwCycles] > 0 {
			b.cycleCount++
			b.bwCycle[b.cycleCount%bbrMaxBwCycles] = 0
		}
	}
	if b.inflightTooHigh(cc, rs) {
		if b.bwProbeSamples {
			b.handleInflightTooHigh(cc, rs)
		}
		return
	}
	if b.inflightHi == bbrInf {
		return
	}
	if uint64(rs.TxInFlight) > b.inflightHi {
		b.inflightHi = uint64(rs.TxInFlight)
	}
	if b.state == bbrProbeBW && b.phase == bbrUp {
		b.probeInflightHiUpward(cc, rs)
	}
}

// handleInflightTooHigh: inflight_hi = max(the sample's in flight at
// send, β × the target in flight), once per probe; UP ends at once.
func (b *bbr) handleInflightTooHigh(cc *CCConn, rs RateSample) {
	b.bwProbeSamples = false
	if !rs.IsAppLimited {
		b.inflightHi = max(uint64(rs.TxInFlight), uint64(float64(b.targetInflight(cc))*bbrBeta))
	}
	if b.state == bbrProbeBW && b.phase == bbrUp {
		b.startPhase(bbrDown, cc, rs)
	}
}

// OnLost is BBRHandleLostPacket (BBR is a LossObserver): a segment of a
// bandwidth probe found lost with more than 2 % of what was in flight when
// it left lost since then cuts inflight_hi at once, at the flight at which
// the loss rate crossed 2 % within that segment
// (inflightHiFromLostSegment), not the flight of the ACK's sample; UP
// ends. The ACK's own sample (adaptUpperBounds) then finds the probe's
// samples over.
func (b *bbr) OnLost(cc *CCConn, ls LostSegment) {
	if !b.bwProbeSamples {
		return // not sent while probing for bandwidth
	}
	if float64(ls.Lost) <= float64(ls.TxInFlight)*bbrLossThresh {
		return
	}
	b.handleInflightTooHigh(cc, RateSample{TxInFlight: inflightHiFromLostSegment(ls), Lost: ls.Lost, IsAppLimited: ls.IsAppLimited})
}

// inflightHiFromLostSegment is BBRInflightLongtermFromLostPacket: with
// inflight_prev and lost_prev what was in flight and lost before the
// segment, the loss rate reaches BBRLossThresh after a further
// (thresh·inflight_prev − lost_prev)/(1 − thresh) bytes of it (none if it
// had already: the draft's formula would go below inflight_prev).
func inflightHiFromLostSegment(ls LostSegment) uint32 {
	prev := float64(ls.TxInFlight - min(ls.Bytes, ls.TxInFlight))
	lostPrev := float64(ls.Lost - min(uint64(ls.Bytes), ls.Lost))
	prefix := max((bbrLossThresh*prev-lostPrev)/(1-bbrLossThresh), 0)
	return uint32(min(prev+prefix, 1<<30))
}

// probeInflightHiUpward grows inflight_hi while UP uses all of it: by 1
// SMSS per probeUpCnt SMSS delivered, the growth doubling each round.
func (b *bbr) probeInflightHiUpward(cc *CCConn, rs RateSample) {
	if !b.cwndLimited || uint64(cc.Cwnd()) < b.inflightHi {
		return
	}
	mss := uint64(cc.MSS())
	b.probeUpAcks += uint64(rs.NewlyDelivered)
	if b.probeUpCnt != bbrInf {
		if per := b.probeUpCnt * mss; b.probeUpAcks >= per {
			delta := b.probeUpAcks / per
			b.probeUpAcks -= delta * per
			b.inflightHi += delta * mss
		}
	}
	if b.roundStart {
		b.raiseInflightHiSlope(cc)
	}
}

// raiseInflightHiSlope: inflight_hi grows by 2^k SMSS in UP's k-th round.
func (b *bbr) raiseInflightHiSlope(cc *CCConn) {
	growth := uint64(1) << b.probeUpRounds // SMSS this round
	b.probeUpRounds = min(b.probeUpRounds+1, 30)
	b.probeUpCnt = max(uint64(cc.Cwnd()/cc.MSS())/growth, 1)
}

// updateCongestionSignals runs as a loss round ends: the ECN alpha, and
// outside a bandwidth probe the lower bounds (BBRAdaptLowerBoundsFromCongestion):
// on CE, inflight_lo × (1 − alpha/3); on loss, bw_lo = max(bw_latest,
// β·bw_lo) and inflight_lo = max(inflight_latest, β·inflight_lo), each
// starting from max_bw and cwnd when unset.
func (b *bbr) updateCongestionSignals(cc *CCConn) {
	ecn := b.ecnEligible(cc) && b.ceInRound > 0
	if b.ecnEligible(cc) && b.deliveredRound > 0 {
		ratio := float64(b.ceInRound) / float64(b.deliveredRound)
		b.ecnAlpha = float64((1-bbrECNAlphaGain)*b.ecnAlpha) + float64(bbrECNAlphaGain*ratio)
	}
	probing := b.state == bbrStartup || b.state == bbrProbeBW && (b.phase == bbrRefill || b.phase == bbrUp)
	if !probing && (ecn || b.lossInRound) {
		if b.bwLo == bbrInf {
			b.bwLo = b.maxBw
		}
		if b.inflightLo == bbrInf {
			b.inflightLo = uint64(cc.Cwnd())
		}
		ecnLo := bbrInf
		if ecn {
			ecnLo = uint64(float64(b.inflightLo) * (1 - bbrECNFactor*b.ecnAlpha))
		}
		if b.lossInRound {
			b.bwLo = max(b.bwLatest, uint64(bbrBeta*float64(b.bwLo)))
			b.inflightLo = max(b.inflightLatest, uint64(bbrBeta*float64(b.inflightLo)))
		}
		b.inflightLo = min(b.inflightLo, ecnLo)
		b.bwLo = max(b.bwLo, 1)
	}
	b.lossInRound, b.lossEvents = false, 0
	b.ceInRound, b.deliveredRound = 0, 0
}

// updateAckAggregation is the draft's extra_acked: what was delivered in
// the current aggregation interval beyond bw × its length, at most cwnd,
// the largest of the last 10 rounds. cwnd's target adds it.
func (b *bbr) updateAckAggregation(cc *CCConn, rs RateSample) {
	now := cc.Now()
	expected := uint64(float64(b.bw()) * (now - b.extraStart).Seconds())
	if b.maxBw == 0 || b.extraDelivered <= expected {
		b.extraDelivered, b.extraStart, expected = 0, now, 0
	}
	b.extraDelivered += uint64(rs.NewlyDelivered)
	extra := min(b.extraDelivered-min(expected, b.extraDelivered), uint64(cc.Cwnd()))
	if !b.filledPipe {
		return // Startup grows cwnd by what is delivered anyway
	}
	slot := &b.extraRound[b.roundCount%bbrExtraAckedRounds]
	*slot = max(*slot, extra)
	b.extraAcked = 0
	for _, v := range b.extraRound {
		b.extraAcked = max(b.extraAcked, v)
	}
}

// updatePhase moves through ProbeBW's cycle.
func (b *bbr) updatePhase(cc *CCConn, rs RateSample, inflight uint32) {
	timeToProbe := func() bool {
		limit := min(uint64(b.targetInflight(cc)/cc.MSS()), 63)
		return cc.Now()-b.cycleStamp > b.probeWait || b.roundsSinceBw >= limit
	}
	switch b.phase {
	case bbrDown:
		if timeToProbe() {
			b.startPhase(bbrRefill, cc, rs)
		} else if uint64(inflight) <= b.inflightWithHeadroom(cc) && inflight <= b.bdp(cc, 1) {
			b.startPhase(bbrCruise, cc, rs)
		}
	case bbrCruise:
		if timeToProbe() {
			b.startPhase(bbrRefill, cc, rs)
		}
	case bbrRefill:
		if b.roundStart && b.roundCount > b.phaseRoundBase {
			b.startPhase(bbrUp, cc, rs)
		}
	case bbrUp:
		if b.roundCount > b.phaseRoundBase && inflight >= b.bdp(cc, 1.25) {
			b.startPhase(bbrDown, cc, rs)
		}
	}
}

// checkProbeRTT enters, runs and leaves ProbeRTT.
func (b *bbr) checkProbeRTT(cc *CCConn, rs RateSample, now time.Duration, inflight uint32, expired bool) {
	if b.state != bbrProbeRTT && expired {
		b.priorCwnd = b.saveCwnd(cc)
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
		b.exitProbeRTT(cc)
	}
}

// exitProbeRTT: the min-RTT clock restarts, cwnd is restored
// (BBRRestoreCwnd), the lower bounds reset, and ProbeBW's CRUISE (or
// Startup if the pipe never filled) resumes.
func (b *bbr) exitProbeRTT(cc *CCConn) {
	b.probeRTTMinStamp = cc.Now()
	cc.SetCwnd(max(cc.Cwnd(), b.priorCwnd))
	b.resetLowerBounds()
	if b.filledPipe {
		b.startPhase(bbrDown, cc, RateSample{})
		b.startPhase(bbrCruise, cc, RateSample{})
	} else {
		b.enter(bbrStartup, cc)
	}
}

// OnSend is BBRHandleRestartFromIdle (BBR is a SendObserver): new data
// leaving with nothing in flight while the application limited the
// sender restarts from idle. The ACK-aggregation interval starts anew; in
// ProbeBW the rate is 1 × bw until the next ACK sets it (sending at once at
// DOWN's 0.9 or UP's 1.25 would misuse the idle path); in ProbeRTT, whose
// round of ACKs an idle sender cannot wait for, it ends once its 200 ms are
// over (BBRCheckProbeRTTDone). ProbeRTT is not entered until an ACK has
// delivered data since (checkProbeRTT).
func (b *bbr) OnSend(cc *CCConn, seq, next segment.Seq) {
	if seq.LessThan(cc.SndMax()) || cc.SndMax() != cc.SndUna() || !cc.AppLimited() {
		return
	}
	b.idleRestart = true
	b.extraStart = cc.Now()
	switch b.state {
	case bbrProbeBW:
		b.setPacingWithGain(cc, 1)
	case bbrProbeRTT:
		if b.probeRTTDone != 0 && cc.Now() > b.probeRTTDone {
			b.exitProbeRTT(cc)
		}
	}
}

// saveCwnd is BBRSaveCwnd: cwnd, or the larger of it and the saved one
// when already in recovery or ProbeRTT (whose own cwnd is not the one to
// restore).
func (b *bbr) saveCwnd(cc *CCConn) uint32 {
	if !b.inRecovery && b.state != bbrProbeRTT {
		return cc.Cwnd()
	}
	return max(b.priorCwnd, cc.Cwnd())
}

// OnRecoveryStart is BBROnEnterFastRecovery (BBR is a RecoveryCwndOwner):
// cwnd saved, then cut to what is in flight plus one segment for the fast
// retransmit; packet conservation for a round (modulateCwndForRecovery).
func (b *bbr) OnRecoveryStart(cc *CCConn) {
	b.priorCwnd = b.saveCwnd(cc)
	b.inRecovery = true
	b.packetConservation = true
	b.conservationEnd = cc.Delivered()
	cc.SetCwnd(cc.InFlight() + cc.MSS())
}

// OnRecoveryEnd: conservation ends and cwnd is restored to at least what
// it was when the recovery began (BBRRestoreCwnd); the ACK's own sample
// then bounds it as any other (setCwnd).
func (b *bbr) OnRecoveryEnd(cc *CCConn) {
	b.inRecovery, b.packetConservation = false, false
	cc.SetCwnd(max(cc.Cwnd(), b.priorCwnd))
}

func (b *bbr) probeRTTCwnd(cc *CCConn) uint32 {
	return max(b.inflightFor(cc, b.bw(), 0.5), 4*cc.MSS())
}

func (b *bbr) setPacing(cc *CCConn) { b.setPacingWithGain(cc, b.pacingGain) }

// setPacingWithGain paces at gain × bw × 99 %, never lower before the
// pipe has filled.
func (b *bbr) setPacingWithGain(cc *CCConn, gain float64) {
	bw := b.bw()
	if bw == 0 {
		return
	}
	rate := uint64(gain * float64(bw) * bbrPacingMargin)
	if b.filledPipe || rate > cc.PacingRate() {
		cc.SetPacingRate(max(rate, 1))
	}
}

// setCwnd is BBRSetCwnd: in a recovery, cwnd less what was newly lost,
// and in its first round at least what is in flight plus what was
// delivered (BBRModulateCwndForRecovery); otherwise growing by what is delivered,
// towards gain·BDP + 3 send quanta + extra_acked once the pipe is full;
// then bounded by ProbeRTT's cap and the model (BBRBoundCwndForModel).
func (b *bbr) setCwnd(cc *CCConn, rs RateSample) {
	mss := uint64(cc.MSS())
	cwnd := uint64(cc.Cwnd())
	if b.packetConservation && rs.PriorDelivered >= b.conservationEnd {
		b.packetConservation = false // a round of the recovery is over
	}
	if rs.NewlyFoundLost > 0 {
		// The draft's rs.newly_lost: what this ACK found lost, not what
		// NewlyLost also counts when it is resent without being found
		// lost (a timeout's go-back-N, a tail loss probe, a rescue).
		cwnd = max(cwnd-min(cwnd, uint64(rs.NewlyFoundLost)), mss)
	}
	if b.packetConservation {
		cwnd = max(cwnd, uint64(rs.InFlight)+uint64(rs.NewlyDelivered))
	} else {
		quantum := min(max(cc.PacingRate()/1000, 2*mss), 64<<10)
		target := uint64(b.inflightFor(cc, b.bw(), b.cwndGain)) + 3*quantum + b.extraAcked
		switch {
		case b.filledPipe:
			cwnd = min(cwnd+uint64(rs.NewlyDelivered), target)
		case cwnd < target || rs.TotalDelivered < uint64(cc.InitialWindow()):
			cwnd += uint64(rs.NewlyDelivered)
		}
		cwnd = max(cwnd, 4*mss)
	}
	// BBRBoundCwndForModel: inflight_hi in DOWN, REFILL and UP; with
	// headroom in CRUISE and ProbeRTT; inflight_lo always.
	bound := bbrInf
	if b.state == bbrProbeBW && b.phase != bbrCruise {
		bound = b.inflightHi
	} else if b.state == bbrProbeRTT || b.state == bbrProbeBW {
		bound = b.inflightWithHeadroom(cc)
	}
	bound = max(min(bound, b.inflightLo), 4*mss)
	cwnd = min(cwnd, bound)
	if b.state == bbrProbeRTT {
		cwnd = min(cwnd, uint64(b.probeRTTCwnd(cc)))
	}
	cc.SetCwnd(uint32(min(cwnd, 1<<30)))
}

// OnAck takes note of whether the sender is using its window (for UP's
// growth of inflight_hi); BBR works from rate samples (OnRateSample).
func (b *bbr) OnAck(cc *CCConn, a AckSample) { b.cwndLimited = a.CwndLimited }

// OnCongestion: ssthresh becomes what is in flight (at least 4 SMSS); it
// bounds nothing, as BBR sets cwnd itself through a recovery
// (OnRecoveryStart) and its loss response is in its bounds (OnRateSample).
// An ECN echo leaves cwnd as it is (the ECN response is inflight_lo's);
// after a timeout (cwnd = 1 SMSS) BBR grows cwnd back by what is
// delivered.
func (b *bbr) OnCongestion(cc *CCConn, ev CongestionEvent) uint32 {
	if ev == CongestionECN {
		return cc.Cwnd()
	}
	return max(cc.InFlight(), 4*cc.MSS())
}

func (b *bbr) AfterIdle(cc *CCConn) {}
