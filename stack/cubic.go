package stack

import (
	"math"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// CUBIC (RFC 9438) as a window algorithm under the shared RFC 6582 fast
// recovery (newreno.go). Windows inside the algorithm are in segments of
// SMSS, as the RFC writes them, held as float64; the control block's cwnd
// stays in bytes. Time is the host's virtual clock, so a run is exactly
// reproducible; products are converted with float64() before any addition,
// which forbids the compiler's fused multiply-add, so that the same seed
// gives the same packets on every architecture.
//
// What it does, by section of RFC 9438:
//
//   - §4.2 window increase: in congestion avoidance cwnd follows
//     W_cubic(t) = C·(t−K)³ + W_max, t the time since the current
//     congestion-avoidance stage (the "epoch") began and
//     K = ∛((W_max − cwnd_epoch)/C). Each ACK moves cwnd towards
//     target = W_cubic(t + SRTT), bounded to [cwnd, 1.5·cwnd], by
//     (target − cwnd)/cwnd per segment acknowledged.
//   - §4.3 Reno-friendly region: W_est starts at cwnd_epoch and grows by
//     α·(segments acked)/cwnd with α = 3(1−β)/(1+β), and by α = 1 once
//     W_est reaches cwnd_prior; while W_cubic(t) < W_est, cwnd = W_est.
//   - §4.4, §4.5 concave and convex regions: the same formula below and
//     above W_max.
//   - §4.6 multiplicative decrease: on a loss, ssthresh = β·FlightSize
//     (at least 2·SMSS) with β = 0.7; the fast recovery sets cwnd from it.
//   - §4.7 fast convergence: a loss below the previous W_max sets
//     W_max = cwnd·(1+β)/2, otherwise W_max = cwnd.
//   - §4.8 timeout: ssthresh as in §4.6, cwnd = 1 SMSS (the RTO rule), and
//     the next congestion-avoidance stage starts with K = 0 and W_max = its
//     own cwnd_epoch.
//   - §4.10 slow start: RFC 5681 slow start, with HyStart++ (RFC 9406,
//     hystart.go) in the initial slow start, as Linux pairs HyStart with
//     CUBIC.
//
// With TCPConfig.LinuxCubic every method hands over to Linux's own
// algorithm instead (cubic_linux.go): tcp_cubic's integer arithmetic and
// its HyStart, for runs compared with Linux segment by segment.
//
// §4.9's undo of a spurious reduction is UndoCwnd, for the engine's undo
// (F-RTO, D-SACK, timestamps) to call. Not done: the RFC 7661 /
// Linux app-limited rule (cwnd still grows while the sender is limited by
// the application or the peer's window, as renoWindow's does).

// RFC 9438 §5: β_cubic and C; §4.3: α_cubic for AIMD-friendliness with Reno.
const (
	cubicBeta  = 0.7
	cubicC     = 0.4
	cubicAlpha = 3 * (1 - cubicBeta) / (1 + cubicBeta)
	// cubicMaxCwnd bounds cwnd so that float-to-uint32 conversions and
	// growth while not cwnd-limited cannot overflow.
	cubicMaxCwnd = 1 << 30
)

// cubicK is RFC 9438 equation (2): the time, in seconds, W_cubic takes to
// climb from cwndEpoch back to wMax (0 if cwndEpoch is not below wMax).
func cubicK(wMax, cwndEpoch float64) float64 {
	if cwndEpoch >= wMax {
		return 0
	}
	return math.Cbrt((wMax - cwndEpoch) / cubicC)
}

// cubicW is RFC 9438 equation (1): W_cubic(t) = C·(t−K)³ + W_max, in
// segments, t and k in seconds.
func cubicW(t, k, wMax float64) float64 {
	d := t - k
	return float64(cubicC*d*d*d) + wMax // float64(): no fused multiply-add, same result on every GOARCH
}

// cubic is the "cubic" of the registry. It uses only the public API.
type cubic struct {
	hs hystart

	wMax      float64 // W_max: the window before the last reduction, after fast convergence; 0 = none (K = 0 at the next epoch)
	cwndPrior float64 // cwnd_prior: cwnd when ssthresh was last set by a loss
	k         float64 // K of the current epoch, seconds
	wEst      float64 // W_est, the Reno-friendly estimate (§4.3)
	alpha     float64 // α_cubic in force
	acc       float64 // growth in bytes not yet added to cwnd (cwnd is whole bytes)

	epochStart time.Duration // when the current congestion-avoidance stage began
	inEpoch    bool          // a congestion-avoidance stage is under way

	saved cubicSaved // the state before the last reduction, for UndoCwnd (§4.9)

	lx *linuxCubic // with TCPConfig.LinuxCubic, Linux's algorithm in place of all the above (cubic_linux.go)
}

func newCubic() *cubic { return &cubic{alpha: cubicAlpha} }

func (w *cubic) Init(cc *CCConn) {
	if cc.conn().h.cfg.LinuxCubic {
		w.lx = &linuxCubic{}
		w.lx.init(cc)
		return
	}
	w.lx = nil
	w.wMax, w.cwndPrior, w.inEpoch, w.alpha, w.acc = 0, 0, false, cubicAlpha, 0
	w.hs.start(cc)
}

func (w *cubic) OnSend(cc *CCConn, seq, next segment.Seq) {
	if w.lx != nil {
		w.lx.sent(cc, seq, next)
		return
	}
	if w.hs.active {
		w.hs.sent(cc, seq, next)
	}
}

func (w *cubic) OnAck(cc *CCConn, a AckSample) {
	if w.lx != nil {
		w.lx.onAck(cc, a)
		return
	}
	if a.InRecovery || !a.CwndLimited {
		return
	}
	if cc.InSlowStart() {
		if w.hs.active {
			w.hs.onAck(cc, a.Acked) // RFC 9406: slow start or CSS, and the exits
			return
		}
		cc.SetCwnd(cc.Cwnd() + min(a.Acked, cc.MSS())) // RFC 5681 §3.1 eq. (2)
		return
	}
	w.hs.active = false // ssthresh reached: HyStart++ has nothing left to do
	w.avoid(cc, a.Acked, cc.Now())
}

// avoid is one ACK of acked bytes in congestion avoidance at time now.
func (w *cubic) avoid(cc *CCConn, acked uint32, now time.Duration) {
	if cc.Cwnd() >= cubicMaxCwnd {
		return
	}
	smss := float64(cc.MSS())
	cwnd := float64(cc.Cwnd()) / smss
	if !w.inEpoch {
		// §4.2: a new congestion-avoidance stage. §4.8 (and the first stage
		// after slow start ends without a loss): with no W_max above the
		// window, K = 0 and W_max = cwnd_epoch.
		w.inEpoch, w.epochStart, w.acc = true, now, 0
		if w.wMax <= cwnd {
			w.wMax = cwnd
		}
		w.k = cubicK(w.wMax, cwnd)
		w.wEst = cwnd
	}
	t := (now - w.epochStart).Seconds()
	// §4.3: W_est grows like Reno with AIMD(α, β) per segment acknowledged.
	w.wEst += float64(w.alpha * (float64(acked) / smss) / cwnd)
	if w.wEst >= w.cwndPrior {
		w.alpha = 1
	}
	if cubicW(t, w.k, w.wMax) < w.wEst {
		// Reno-friendly region: cwnd = W_est.
		if est := w.wEst * smss; est > float64(cc.Cwnd()) {
			cc.SetCwnd(uint32(min(est, cubicMaxCwnd)))
		}
		return
	}
	// Concave or convex region: grow towards W_cubic one SRTT ahead.
	target := cubicW(t+cc.SRTT().Seconds(), w.k, w.wMax)
	target = min(max(target, cwnd), 1.5*cwnd)
	w.acc += float64((target - cwnd) / cwnd * float64(acked))
	if w.acc >= 1 {
		inc := math.Floor(w.acc)
		w.acc -= inc
		cc.SetCwnd(uint32(min(float64(cc.Cwnd())+inc, cubicMaxCwnd)))
	}
}

// reduce is §4.6 and §4.7 at a congestion event: it updates W_max and
// cwnd_prior and returns the new ssthresh.
func (w *cubic) reduce(cc *CCConn, updateMax bool) uint32 {
	smss := cc.MSS()
	cwnd := float64(cc.Cwnd()) / float64(smss)
	if updateMax {
		if cwnd < w.wMax {
			w.wMax = cwnd * (1 + cubicBeta) / 2 // §4.7 fast convergence
		} else {
			w.wMax = cwnd
		}
		w.cwndPrior = cwnd
	}
	w.inEpoch, w.alpha, w.acc = false, cubicAlpha, 0
	w.hs.active, w.hs.css = false, false // RFC 9406 §4.2: a loss ends HyStart++; the algorithm's own reduction applies
	return max(uint32(float64(cc.FlightSize())*cubicBeta), 2*smss)
}

// OnCongestion is §4.6 for a loss or an ECN echo, and §4.8 for a timeout:
// the §4.6 ssthresh, and W_max forgotten so that the next epoch starts with
// K = 0 at its own cwnd. A repeated expiry of the same segment changes
// nothing the engine keeps (it holds ssthresh).
func (w *cubic) OnCongestion(cc *CCConn, ev CongestionEvent) uint32 {
	if w.lx != nil {
		return w.lx.onCongestion(cc, ev)
	}
	if ev == CongestionLoss || ev == CongestionECN {
		w.saveForUndo()
		return w.reduce(cc, true)
	}
	if ev == CongestionTimeout && !cc.InRecovery() {
		w.saveForUndo() // a reduction the engine's undo may take back (undo.go)
	}
	if ev == CongestionTimeout {
		w.cwndPrior = float64(cc.Cwnd()) / float64(cc.MSS())
	}
	ss := w.reduce(cc, false)
	w.wMax = 0
	return ss
}

// cubicSaved is what CUBIC restores when a reduction is undone.
type cubicSaved struct {
	wMax, cwndPrior, k, wEst, alpha float64
	epochStart                      time.Duration
	inEpoch, hystart, valid         bool
}

// saveForUndo records the state a reduction is about to change.
func (w *cubic) saveForUndo() {
	w.saved = cubicSaved{w.wMax, w.cwndPrior, w.k, w.wEst, w.alpha, w.epochStart, w.inEpoch, w.hs.active, true}
}

// UndoCwnd is §4.9: a spurious congestion event is forgotten, and the
// window function continues as if it had not happened (W_max, K and the
// epoch as before the reduction; Linux's CUBIC only takes cwnd back). If
// HyStart++ ran the slow start the reduction ended, it starts again with
// fresh rounds (its RTT samples went with the retransmissions), as Linux
// resets HyStart at a loss and runs it in the next slow start.
func (w *cubic) UndoCwnd(cc *CCConn, priorCwnd uint32) uint32 {
	if w.lx != nil {
		return max(cc.Cwnd(), priorCwnd) // Linux's tcp_reno_undo_cwnd: nothing of the algorithm's comes back
	}
	if s := w.saved; s.valid {
		w.wMax, w.cwndPrior, w.k, w.wEst, w.alpha = s.wMax, s.cwndPrior, s.k, s.wEst, s.alpha
		w.epochStart, w.inEpoch = s.epochStart, s.inEpoch
		if s.hystart {
			w.hs.start(cc)
		}
		w.saved.valid = false
	}
	return max(cc.Cwnd(), priorCwnd)
}

// AfterIdle: the restart window has replaced cwnd, so the epoch it was
// measured in no longer describes the path; the next congestion-avoidance
// stage starts a new one (K from W_max and the cwnd then). Linux instead
// shifts epoch_start by the idle time; both avoid a jump of W_cubic(t) over
// the idle period.
// With LinuxCubic the epoch has moved forward in OnSend instead.
func (w *cubic) AfterIdle(cc *CCConn) { w.inEpoch = false }
