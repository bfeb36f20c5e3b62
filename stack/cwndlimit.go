package stack

import "github.com/tcpsim/tcpsim/segment"

// cwnd grows only while the sender uses it, as Linux does
// (tcp_cwnd_validate and tcp_is_cwnd_limited), when
// TCPConfig.CwndLimitedGrowth is on (the linux profile sets it): an
// application that sends less than cwnd allows gets no larger window for it,
// so that a burst after an app-limited period is not bigger than the path
// has seen. Each window of data (until SND.UNA passes the SND.NXT recorded
// when the window began) remembers whether the flight reached cwnd and the
// largest flight. In slow start cwnd may still grow to twice that largest
// flight; in congestion avoidance only if the flight reached cwnd. RFC 7661
// describes a different scheme (new CWV) for the same problem.

type cwndUse struct {
	limited  bool        // the flight reached cwnd in the current window
	maxOut   uint32      // the largest flight in the current window
	usageSeq segment.Seq // the current window ends when SND.UNA passes it
	set      bool
}

// cwndValidate runs after new data was sent.
func (c *Conn) cwndValidate() {
	if c.h.cfg.CwndLimitedGrowth {
		c.cwndValidateOn()
	}
}

// cwndValidateOn is cwndValidate with CwndLimitedGrowth on.
func (c *Conn) cwndValidateOn() {
	if !c.h.cfg.CwndLimitedGrowth {
		return
	}
	u := &c.cwu
	out := c.flightSize()
	limited := out+uint32(c.sndMSS) > c.cwnd // no room for another full segment
	if !u.set || !c.sndUna.LessThan(u.usageSeq) || limited || !u.limited && out > u.maxOut {
		u.limited, u.maxOut, u.usageSeq, u.set = limited, out, c.sndNxt, true
	}
}

// cwndMayGrow reports whether an ACK may grow cwnd (tcp_is_cwnd_limited).
func (c *Conn) cwndMayGrow() bool {
	if !c.h.cfg.CwndLimitedGrowth || !c.cwu.set {
		return true
	}
	if c.cwu.limited {
		return true
	}
	if c.cwnd < c.ssthresh { // slow start: up to twice the largest flight
		return c.cwnd < 2*c.cwu.maxOut
	}
	return false
}

// growthCredit is how much of an ACK's acked bytes may grow cwnd. With
// TCPConfig.DeliveredGrowth (the linux profile) it is what the ACK newly
// delivers, as Linux counts tp->delivered: bytes the peer reported earlier
// by SACK, or by duplicate ACKs without SACK (one segment each, as Linux's
// tcp_remove_reno_sacks), were delivered then and do not count again when
// the cumulative ACK covers them; at least one segment counts, as the
// cumulative ACK itself delivers the hole it fills. Otherwise it is acked
// (RFC 5681 and RFC 3465 count the bytes the cumulative ACK covers). It
// runs in onAck, before the scoreboard below SND.UNA is trimmed and before
// dupAcks is reset.
func (c *Conn) growthCredit(acked uint32) uint32 {
	if !c.h.cfg.DeliveredGrowth {
		return acked
	}
	var before uint32
	if c.sackOK {
		lo, hi := c.prevHighAck, c.sndUna
		for _, b := range c.sacked.blocks {
			s, e := b.start.Max(lo), b.end.Min(hi)
			if s.LessThan(e) {
				before += e.Sub(s)
			}
		}
	} else {
		before = uint32(c.dupAcks) * uint32(c.sndMSS)
	}
	if before >= acked {
		return min(acked, uint32(c.sndMSS))
	}
	return max(acked-before, min(acked, uint32(c.sndMSS)))
}

// sackOnlyGrowth lets an ACK that only SACKs grow the window by what it
// delivered, in the linux profile (DeliveredGrowth) once the network has
// been seen to reorder by more than DupThresh segments (reorder.go): as
// Linux's tcp_may_raise_cwnd, which then takes any forward progress, not
// only a cumulative ACK, as reason to grow (below that, RFC 5681 grows on
// in-order delivery only). Not while the window is being reduced (CWR,
// recovery), nor for an algorithm that owns cwnd in recovery (BBR), which
// Linux's cong_control algorithms skip this for too.
func (c *Conn) sackOnlyGrowth(delivered uint32) {
	if !c.h.cfg.DeliveredGrowth || c.reorderDegree() <= reorderInit || c.ccx.recOwner != nil ||
		c.cc.inRecovery() || c.caState() == CAWindowReduced {
		return
	}
	c.ccAck(delivered, false)
}
