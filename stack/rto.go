package stack

import (
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// clockGranularity is G of RFC 6298 §2: the virtual clock is exact, and a
// 1 ms floor on the variance term keeps the RTO from collapsing onto SRTT
// on a perfectly steady path.
const clockGranularity = time.Millisecond

// rttSample folds one RTT measurement r into SRTT and RTTVAR and recomputes
// the RTO (RFC 6298 §2.2 and §2.3, alpha = 1/8, beta = 1/4, K = 4).
func (c *Conn) rttSample(r time.Duration) {
	if r <= 0 {
		r = 1 // a zero-delay path: count it as the smallest positive sample
	}
	c.ccRTT(r) // ccapi.go
	if c.srtt == 0 {
		// (2.2) first measurement
		c.srtt = r
		c.rttvar = r / 2
	} else {
		// (2.3) RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
		//       SRTT <- (1 - alpha) * SRTT + alpha * R'
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = c.rttvar - c.rttvar/4 + d/4
		c.srtt = c.srtt - c.srtt/8 + r/8
	}
	// RTO <- SRTT + max(G, K*RTTVAR), then (2.4)/(2.5) clamp. Linux
	// (TCPConfig.LinuxRTO) floors the variance term instead of the sum:
	// RTO = SRTT + max(K*RTTVAR, RTOMin) (tcp_rtt_estimator's rttvar_us is
	// at least tcp_rto_min), so a path's RTT always adds to the minimum.
	if c.h.cfg.LinuxRTO {
		c.rto = c.srtt + max(c.h.cfg.RTOMin, 4*c.rttvar)
	} else {
		c.rto = c.srtt + max(clockGranularity, 4*c.rttvar)
	}
	c.rto = min(max(c.rto, c.h.cfg.RTOMin), c.h.cfg.RTOMax)
	// A valid sample ends the exponential backoff: the new RTO replaces the
	// backed-off one (RFC 6298 §5, the note after rule 5.7: a new
	// measurement may "collapse" the RTO; Karn's algorithm keeps the
	// backed-off value until then).
	c.backoff = 0
}

// currentRTO is the RTO with exponential backoff applied (RFC 6298 §5.5),
// bounded by RTOMax.
func (c *Conn) currentRTO() time.Duration {
	r := c.rto
	for i := uint(0); i < c.backoff && r < c.h.cfg.RTOMax; i++ {
		r *= 2
	}
	return min(r, c.h.cfg.RTOMax)
}

// persistInterval is the zero-window probe interval: the RTO, doubled per
// unanswered probe, bounded by RTOMax (as Linux's tcp_probe_timer).
func (c *Conn) persistInterval() time.Duration {
	r := c.rto
	for i := uint(0); i < c.persistBackoff && r < c.h.cfg.RTOMax; i++ {
		r *= 2
	}
	return min(r, c.h.cfg.RTOMax)
}

// onRetransmitTimer handles an expiry of the retransmission timer.
func (c *Conn) onRetransmitTimer() {
	h := c.h
	now := h.env.Now()
	switch c.state {
	case StateSynSent, StateSynReceived:
		limit := h.cfg.SYNRetries
		if c.state == StateSynReceived {
			limit = h.cfg.SYNACKRetries
		} else if c.synCnt > 0 {
			limit = c.synCnt // ConnectOptions.SYNRetries (TCP_SYNCNT)
		}
		if c.synRetries >= limit {
			if c.listener != nil {
				h.counters.TCPAttemptFails++
				c.remove() // a half-open passive connection just disappears
				return
			}
			c.fail(errTimedOut)
			return
		}
		h.counters.TCPTimeouts++
		c.stats.timeouts++
		c.synRetries++
		c.backoff++
		c.fastOpenSynTimeout() // fastopen.go
		c.sendSyn()            // re-arms the timer with the backed-off RTO
		return
	case StateTimeWait, StateClosed, StateFinWait2:
		return
	}
	if c.sndUna == c.sndMax {
		return // nothing outstanding
	}
	if c.orphanGiveUp(c.rtxCount) {
		return // orphan.go: no zero-window exemption for an orphan
	}
	// A peer that keeps answering with a zero window is alive: do not count
	// those timeouts against DataRetries (Linux, tcp_retransmit_timer).
	zeroWindowAlive := c.sndWnd == 0 && now-c.lastAckAt < h.cfg.RTOMax
	// A user timeout, when set, is the only limit (keepalive.go), as in Linux.
	if int(c.rtxCount) >= h.cfg.DataRetries && !zeroWindowAlive && c.ka.userTimeout == 0 {
		c.fail(errTimedOut)
		return
	}
	h.counters.TCPTimeouts++
	c.stats.timeouts++
	// A timeout ends any loss-probe episode (Linux's tcp_retransmit_timer
	// clears tlp_high_seq): the ACK that covers the probe no longer counts
	// as the probe's repair of a loss (tlp.go), which would reduce again.
	c.tlp.out = false
	c.undoBeforeRTO() // undo.go: before the reduction
	c.cc.onRTO()      // RFC 5681 §3.1 eq. (4) and LW; uses rtxCount == 0 for "first timeout"
	// The scoreboard is kept (RFC 6675 §5.1): the resending below skips
	// what the peer holds. Reneging (RFC 2018 §8) clears it when an ACK
	// shows it (rfc6675.go checkReneging).
	c.backoff++ // RFC 6298 §5.5: back off the timer
	c.rtxCount++
	c.rttTiming = false
	// RFC 6298 §5.4: retransmit the earliest unacknowledged segment.
	// Without RACK everything outstanding is considered lost: sndNxt goes
	// back to sndUna and slow start resends the rest (go-back-N). With
	// RACK only what RFC 8985 §6.3 finds lost is (rack.go rackMarkOnRTO):
	// the rest may only be late, and is resent only if RACK marks it lost
	// later (rackLossSend); sndNxt returns to sndMax below.
	if c.rackOn() {
		c.rackMarkOnRTO(now)
	}
	c.sndNxt = c.sndUna
	if !c.retransmitFirst() && c.txDropped {
		// The host's own queue refused it (localdrop.go): as Linux
		// (tcp_retransmit_timer), try again soon, without backing off.
		c.backoff--
		if c.rackOn() {
			c.sndNxt = c.sndMax
		}
		c.setTimer(&c.tm.rtxAt, now+ResourceProbeInterval)
		return
	}
	c.frtoAfterRTO() // frto.go: F-RTO holds the resending back
	if c.rackOn() {
		c.sndNxt = c.sndMax // no go-back-N: the lost segments go by rackLossSend
	}
	c.setTimer(&c.tm.rtxAt, now+c.currentRTO()) // RFC 6298 §5.6
	c.output()
}

// rtoRearmHead restarts the retransmission timer, a full (backed-off) RTO
// from now, when a retransmission during a loss recovery, fast or after a
// timeout, resent the first unacknowledged segment (seq is where the
// retransmission began). RFC 6298 §5.1 starts the timer only when it is
// off and §5.3 restarts it only on an ACK of new data, so the head's
// retransmission would time out an RTO after the ACK or send that started
// the timer, perhaps well before the retransmission could be answered: a
// needless timeout, go-back-N and a second reduction. RFC 6675 §6 allows
// this more careful variant, and Linux (tcp_xmit_retransmit_queue) re-arms
// so whenever it resends the head; tcpsim does it with RACK (the Linux
// model) and keeps RFC 6298's timer otherwise.
func (c *Conn) rtoRearmHead(seq segment.Seq) {
	if c.rackOn() && seq == c.sndUna {
		c.setTimer(&c.tm.rtxAt, c.h.env.Now()+c.currentRTO())
	}
}

// onPersistTimer probes a zero window or overrides sender SWS avoidance.
func (c *Conn) onPersistTimer() {
	if !c.state.canSendData() || c.sndMax != c.sndUna || !c.dataEnd().GreaterThan(c.sndNxt) {
		return
	}
	if c.localProbe(c.h.env.Now()) {
		return // localdrop.go: the host's own queue refused the data
	}
	if c.sndWnd == 0 {
		// RFC 9293 §3.8.6.1: probe the zero window. The probe follows Linux
		// (tcp_xmit_probe_skb): a bare ACK with the already-acknowledged
		// sequence number SND.UNA−1, which the receiver must answer with an
		// ACK carrying its current window (§3.10.7.4, first step), rather
		// than a byte of new data.
		//
		// RFC 1122 §4.2.2.17: the window may stay closed for ever as long
		// as the receiver answers the probes. One that stops answering is
		// given up after DataRetries probes in a row without an ACK, as
		// Linux's tcp_probe_timer does with tcp_retries2.
		if c.orphanGiveUp(c.persistBackoff) {
			return // orphan.go: answered probes count too
		}
		if int(c.probesOut) >= c.h.cfg.DataRetries && c.ka.userTimeout == 0 {
			c.fail(errTimedOut)
			return
		}
		c.probesOut++
		th := segment.Header{Seq: c.sndUna.Add(^uint32(0)), Ack: c.rcvNxt, Flags: segment.FlagACK}
		th.Window = c.windowToAdvertise()
		c.h.counters.TCPZeroWindowProbes++
		c.stats.segsOut++
		c.stampTimestamps(&th)
		c.emit(&th, nil, nil)
		c.afterAckSent()
		c.persistBackoff++
		c.setTimer(&c.tm.persistAt, c.h.env.Now()+c.persistInterval())
		return
	}
	// The window is open but below the SWS threshold: after the override
	// timeout, send what fits (RFC 9293 §3.8.6.2.1).
	c.forceSend = true
	c.output()
	c.forceSend = false
}
