package stack

import "github.com/tcpsim/tcpsim/segment"

// newReno is RFC 5681 fast retransmit and fast recovery with RFC 6582
// NewReno's partial ACKs, around a window algorithm (alg) that decides how
// cwnd grows and what ssthresh becomes on loss: renoWindow (RFC 5681) or
// cubic (RFC 9438). Byte counts are in bytes; SMSS is the connection's
// sndMSS.
type newReno struct {
	c          *Conn
	alg        windowAlgorithm
	recovering bool // in fast recovery (RFC 6582 §3.2 steps 2-5)
}

// newNewReno is the recovery around RFC 5681's own window algorithm.
func newNewReno(c *Conn) *newReno { return &newReno{c: c, alg: &renoWindow{c: c}} }

func (r *newReno) name() string               { return r.alg.name() }
func (r *newReno) inRecovery() bool           { return r.recovering }
func (r *newReno) sent(seq, next segment.Seq) { r.alg.sent(seq, next) }

// initialWindow is IW: TCPConfig.InitialWindow segments, or by default
// RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)).
func (r *newReno) initialWindow() uint32 {
	smss := uint32(r.c.sndMSS)
	if iw := r.c.h.cfg.InitialWindow; iw > 0 {
		return uint32(iw) * smss
	}
	return min(10*smss, max(2*smss, 14600))
}

func (r *newReno) init() {
	c := r.c
	c.cwnd = r.initialWindow()
	// RFC 5681 §3.1: the initial ssthresh SHOULD be arbitrarily high.
	c.ssthresh = 1 << 30
	c.recover = c.iss // RFC 6582 §3.2 step 1: recover starts at the initial send sequence number
	r.alg.init()
}

func (r *newReno) onAck(acked uint32) bool {
	c := r.c
	smss := uint32(c.sndMSS)
	if r.recovering {
		// RFC 6582 §3.2 step 3: "full acknowledgment" covers recover.
		if c.sndUna.GreaterThan(c.recover) {
			r.recovering = false
			c.dupAcks = 0
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
	credit := c.growthCredit(acked) // cwndlimit.go; before dupAcks is reset
	c.dupAcks = 0
	if c.cwndMayGrow() { // cwndlimit.go
		r.alg.increase(credit) // slow start or congestion avoidance
	}
	return false
}

func (r *newReno) onDupAck() bool {
	c := r.c
	smss := uint32(c.sndMSS)
	c.dupAcks++
	if r.recovering {
		// RFC 6582 §3.2 step 4 / RFC 5681 §3.2 step 4: inflate cwnd by SMSS
		// for each further duplicate ACK.
		c.cwnd += smss
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
	c.ssthresh = r.alg.congestion()      // RFC 5681 §3.2 step 2: eq. (4) for Reno, β·FlightSize for CUBIC
	c.cwnd = c.ssthresh + 3*smss         // step 3: inflate by the three segments that left
	c.recover = c.sndMax.Add(^uint32(0)) // RFC 6582 §3.2 step 2: the highest sequence number sent
	r.recovering = true
	return true
}

// afterIdle is RFC 5681 §4.1: cwnd = min(RW, cwnd), with the restart
// window RW = min(IW, cwnd).
func (r *newReno) afterIdle() {
	r.c.cwnd = min(r.c.cwnd, r.initialWindow())
	r.alg.afterIdle()
}

func (r *newReno) onRTO() {
	c := r.c
	// RFC 5681 §3.1: after an RTO, ssthresh = max(FlightSize/2, 2*SMSS)
	// (CUBIC: RFC 9438 §4.8, β·FlightSize), but held constant when the
	// same segment times out again.
	if ssthresh := r.alg.timeout(); c.rtxCount == 0 {
		c.ssthresh = ssthresh
	}
	c.cwnd = uint32(c.sndMSS) // loss window LW = 1 SMSS
	c.dupAcks = 0
	r.recovering = false
	c.recover = c.sndMax.Add(^uint32(0)) // RFC 6582 §3.2 step 6 (timeout): recover = highest sequence sent
}

// renoWindow is RFC 5681's window algorithm: slow start by equation (2)
// with appropriate byte counting limited to one SMSS per ACK, congestion
// avoidance by one SMSS per cwnd of data acknowledged, and
// ssthresh = max(FlightSize/2, 2·SMSS) on loss (equation (4)).
type renoWindow struct {
	c       *Conn
	caBytes uint32 // bytes acked since cwnd last grew in congestion avoidance
}

func (w *renoWindow) name() string               { return CCNewReno }
func (w *renoWindow) init()                      { w.caBytes = 0 }
func (w *renoWindow) afterIdle()                 {}
func (w *renoWindow) sent(seq, next segment.Seq) {}

func (w *renoWindow) increase(acked uint32) {
	c := w.c
	smss := uint32(c.sndMSS)
	if c.cwnd < c.ssthresh {
		// RFC 5681 §3.1 equation (2): slow start, cwnd += min(N, SMSS).
		c.cwnd += min(acked, smss)
		return
	}
	// Congestion avoidance: cwnd grows by one SMSS per cwnd of data
	// acknowledged (RFC 5681 §3.1, the byte-counting variant of eq. (3)).
	w.caBytes += acked
	if w.caBytes >= c.cwnd {
		w.caBytes -= c.cwnd
		c.cwnd += smss
	}
}

// halve returns RFC 5681 equation (4): max(FlightSize/2, 2*SMSS).
func (w *renoWindow) halve() uint32 {
	return max(w.c.flightSize()/2, 2*uint32(w.c.sndMSS))
}

func (w *renoWindow) congestion() uint32 { w.caBytes = 0; return w.halve() }
func (w *renoWindow) timeout() uint32    { w.caBytes = 0; return w.halve() }
