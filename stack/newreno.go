package stack

import "github.com/tcpsim/tcpsim/segment"

// newReno is RFC 5681 fast retransmit and fast recovery with RFC 6582
// NewReno's partial ACKs, around the connection's CongestionAlgorithm
// (c.ccx.alg) that decides how cwnd grows and what ssthresh becomes on
// loss: renoWindow (RFC 5681), cubic (RFC 9438), or any registered one.
// Byte counts are in bytes; SMSS is the connection's sndMSS.
type newReno struct {
	c          *Conn
	recovering bool // in fast recovery (RFC 6582 §3.2 steps 2-5)
}

// newNewReno is the recovery around c's algorithm, RFC 5681's own if none
// is set.
func newNewReno(c *Conn) *newReno {
	if c.ccx.alg == nil {
		c.ccx.alg, c.ccx.name = &renoWindow{}, CCNewReno
	}
	return &newReno{c: c}
}

func (r *newReno) name() string               { return r.c.ccx.name }
func (r *newReno) inRecovery() bool           { return r.recovering }
func (r *newReno) sent(seq, next segment.Seq) { r.c.ccSent(seq, next) }

func (r *newReno) init() {
	c := r.c
	c.cwnd = c.ccHandle().InitialWindow()
	// RFC 5681 §3.1: the initial ssthresh SHOULD be arbitrarily high.
	c.ssthresh = 1 << 30
	c.recover = c.iss // RFC 6582 §3.2 step 1: recover starts at the initial send sequence number
	c.ccx.alg.Init(c.ccHandle())
}

func (r *newReno) onAck(acked uint32) bool {
	c := r.c
	inRecovery := r.recovering
	credit := c.growthCredit(acked) // cwndlimit.go; before recoveryAck resets dupAcks
	retransmit := r.recoveryAck(acked)
	c.ccAck(credit, inRecovery) // ccapi.go: slow start or congestion avoidance outside recovery
	return retransmit
}

// recoveryAck is the recovery's part of a cumulative ACK.
func (r *newReno) recoveryAck(acked uint32) bool {
	c := r.c
	smss := uint32(c.sndMSS)
	if !r.recovering {
		c.dupAcks = 0
		return false
	}
	// RFC 6582 §3.2 step 3: "full acknowledgment" covers recover.
	if c.sndUna.GreaterThan(c.recover) {
		r.recovering = false
		c.dupAcks = 0
		if c.ccRecoveryEnd() {
			return false // a RecoveryCwndOwner sets cwnd itself
		}
		if c.h.cfg.RecoveryExitSsthresh {
			// Step 3 option (2), as Linux's tcp_end_cwnd_reduction:
			// cwnd = ssthresh.
			c.cwnd = c.ssthresh
			return false
		}
		// Step 3 option (1): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
		c.cwnd = min(c.ssthresh, max(c.flightSize(), smss)+smss)
		return false
	}
	// Step 4: partial acknowledgment. Retransmit the first
	// unacknowledged segment, deflate cwnd by the data acknowledged,
	// add back SMSS if at least SMSS was acknowledged.
	if c.ccx.recOwner != nil {
		return true // the algorithm sets cwnd (RecoveryCwndOwner)
	}
	if acked >= c.cwnd {
		c.cwnd = smss
	} else {
		c.cwnd -= acked
	}
	if acked >= smss {
		c.cwnd += smss
	}
	return true
}

func (r *newReno) onDupAck() bool {
	c := r.c
	smss := uint32(c.sndMSS)
	c.dupAcks++
	if r.recovering {
		// RFC 6582 §3.2 step 4 / RFC 5681 §3.2 step 4: inflate cwnd by SMSS
		// for each further duplicate ACK (not for a RecoveryCwndOwner).
		if c.ccx.recOwner == nil {
			c.cwnd += smss
		}
		return false
	}
	if c.dupAcks != 3 {
		return false // RFC 5681 §3.2: DupThresh is 3; the first two send new data by RFC 3042 limited transmit (output.go)
	}
	// RFC 6582 §3.2 step 2: enter fast recovery only if the ACK covers
	// more than recover; otherwise these duplicates belong to a loss
	// already being recovered.
	// After a timeout, recover covers everything then outstanding, and
	// duplicate ACKs might come from our own go-back-N retransmissions.
	// RFC 6582 §4.1's ACK heuristic tells the two apart: if the last
	// cumulative ACK advanced by at most 4·SMSS and cwnd > SMSS, the
	// duplicates signal a new loss.
	if !c.sndUna.GreaterThan(c.recover) &&
		!(c.cwnd > smss && c.sndUna.Sub(c.prevHighAck) <= 4*smss) {
		return false
	}
	c.ssthresh = c.ccCongestion(CongestionLoss) // RFC 5681 §3.2 step 2: eq. (4) for Reno, β·FlightSize for CUBIC
	if c.ccx.recOwner == nil {
		c.cwnd = c.ssthresh + 3*smss // step 3: inflate by the three segments that left
	}
	c.recover = c.sndMax.Add(^uint32(0)) // RFC 6582 §3.2 step 2: the highest sequence number sent
	r.recovering = true
	if !c.sackOK {
		c.ccRecoveryStart() // with SACK, enterSACKRecovery tells it
	}
	return true
}

// afterIdle is RFC 5681 §4.1: cwnd = min(RW, cwnd), with the restart
// window RW = min(IW, cwnd), unless NoSlowStartAfterIdle keeps cwnd.
func (r *newReno) afterIdle() {
	c := r.c
	if !c.h.cfg.NoSlowStartAfterIdle {
		c.cwnd = min(c.cwnd, c.ccHandle().InitialWindow())
	}
	c.ccx.alg.AfterIdle(c.ccHandle())
}

func (r *newReno) onRTO() {
	c := r.c
	if r.recovering {
		c.ccRecoveryEnd() // a RecoveryCwndOwner's recovery ends here
	}
	// RFC 5681 §3.1: after an RTO, ssthresh = max(FlightSize/2, 2*SMSS)
	// (CUBIC: RFC 9438 §4.8, β·FlightSize), but held constant when the
	// same segment times out again.
	if c.rtxCount == 0 {
		c.ssthresh = c.ccCongestion(CongestionTimeout)
	} else {
		c.ccCongestion(CongestionTimeoutAgain)
	}
	c.cwnd = uint32(c.sndMSS) // loss window LW = 1 SMSS
	c.dupAcks = 0
	r.recovering = false
	c.recover = c.sndMax.Add(^uint32(0)) // RFC 6582 §3.2 step 6 (timeout): recover = highest sequence sent
}

// renoWindow is RFC 5681's window algorithm, the "newreno" of the registry:
// slow start by equation (2) with appropriate byte counting limited to one
// SMSS per ACK, congestion avoidance by one SMSS per cwnd of data
// acknowledged, and ssthresh = max(FlightSize/2, 2·SMSS) on every
// congestion event (equation (4)). It uses only the public API.
type renoWindow struct {
	caBytes uint32 // bytes acked since cwnd last grew in congestion avoidance
}

func (w *renoWindow) Init(cc *CCConn)      { w.caBytes = 0 }
func (w *renoWindow) AfterIdle(cc *CCConn) {}

func (w *renoWindow) OnAck(cc *CCConn, a AckSample) {
	if a.InRecovery || !a.CwndLimited {
		return
	}
	smss := cc.MSS()
	if cc.InSlowStart() {
		// RFC 5681 §3.1 equation (2): slow start, cwnd += min(N, SMSS).
		cc.SetCwnd(cc.Cwnd() + min(a.Acked, smss))
		return
	}
	// Congestion avoidance: cwnd grows by one SMSS per cwnd of data
	// acknowledged (RFC 5681 §3.1, the byte-counting variant of eq. (3)).
	w.caBytes += a.Acked
	if w.caBytes >= cc.Cwnd() {
		w.caBytes -= cc.Cwnd()
		cc.SetCwnd(cc.Cwnd() + smss)
	}
}

// OnCongestion is RFC 5681 equation (4): max(FlightSize/2, 2*SMSS), for
// every kind of event.
func (w *renoWindow) OnCongestion(cc *CCConn, ev CongestionEvent) uint32 {
	w.caBytes = 0
	return max(cc.FlightSize()/2, 2*cc.MSS())
}
