package stack

import "github.com/tcpsim/tcpsim/segment"

// Proportional Rate Reduction (RFC 6937) sets cwnd on every ACK of a SACK
// recovery (rfc6675.go), so that the data sent during recovery follows the
// data delivered: while pipe is above ssthresh, ssthresh/RecoverFS of it
// (the window shrinks smoothly from FlightSize to ssthresh instead of
// stopping for half an RTT as RFC 6675 alone does); once pipe has fallen to
// ssthresh or below (heavy losses), a slow-start bound brings it back up to
// ssthresh, never beyond. All counts are in bytes:
//
//	RecoverFS     = SND.NXT − SND.UNA when recovery starts
//	DeliveredData = bytes newly acknowledged + change in bytes SACKed
//	prr_delivered = sum of DeliveredData in this recovery
//	prr_out       = bytes sent (new data and retransmissions) in this recovery
//	pipe > ssthresh:  sndcnt = ⌈prr_delivered·ssthresh/RecoverFS⌉ − prr_out
//	pipe ≤ ssthresh:  sndcnt = min(ssthresh − pipe, limit), where
//	  PRR-SSRB (default): limit = max(prr_delivered − prr_out, DeliveredData) + SMSS
//	  PRR-CRB (TCPConfig.PRRConservative): limit = prr_delivered − prr_out
//	cwnd = pipe + max(sndcnt, 0)
//
// Like Linux (tcp_cwnd_reduction) and RFC 9937, which replaces RFC 6937:
// SSRB's extra SMSS is granted only on an ACK that advances SND.UNA and
// marks no further data lost (RFC 9937's SafeACK), so duplicate ACKs alone
// cannot grow the flight; an ACK that delivers nothing leaves cwnd as it is;
// and the ACK that starts recovery always lets the fast retransmit go.
// Leaving recovery, cwnd is what the congestion controller sets (newreno.go:
// min(ssthresh, FlightSize + SMSS)).

// prrStart initialises PRR when a recovery starts (RFC 6937 §3).
func (c *Conn) prrStart() {
	c.prrRecoverFS = c.sndNxt.Sub(c.sndUna)
	c.prrDelivered, c.prrOut = 0, 0
}

// prrAck sets cwnd for one ACK of the recovery that delivered delivered
// bytes; safe is RFC 9937's SafeACK.
func (c *Conn) prrAck(delivered int, safe bool) {
	if delivered <= 0 {
		return
	}
	c.prrDelivered += uint64(delivered)
	pipe := c.pipe()
	sndcnt := prrSndcnt(c.prrDelivered, c.prrOut, uint64(delivered), uint64(pipe), uint64(c.ssthresh),
		uint64(c.prrRecoverFS), uint64(c.sndMSS), safe, c.h.cfg.PRRConservative)
	if c.prrOut == 0 {
		sndcnt = max(sndcnt, uint64(c.sndMSS)) // the fast retransmit goes in any case
	}
	c.cwnd = pipe + uint32(min(sndcnt, 1<<30))
}

// newlyLost reports whether the ACK just processed marked data lost that
// was not before (RFC 9937's SafeACK needs it not to): under RACK, whether
// it counted a segment lost; otherwise, whether the IsLost boundary moved
// beyond both where it was and the new SND.UNA (with nothing lost the
// boundary is SND.UNA, which every cumulative ACK moves).
func (c *Conn) newlyLost(boundaryBefore segment.Seq, rackLostBefore uint64) bool {
	if c.rackOn() {
		return c.h.counters.TCPRACKLost != rackLostBefore
	}
	return c.lossBoundary().GreaterThan(boundaryBefore.Max(c.sndUna))
}

// prrSndcnt is RFC 6937's sndcnt, at least 0.
func prrSndcnt(prrDelivered, prrOut, delivered, pipe, ssthresh, recoverFS, smss uint64, safe, crb bool) uint64 {
	if pipe > ssthresh {
		// Proportional rate reduction.
		want := (prrDelivered*ssthresh + max(recoverFS, 1) - 1) / max(recoverFS, 1)
		if want <= prrOut {
			return 0
		}
		return want - prrOut
	}
	var limit uint64
	if prrDelivered > prrOut {
		limit = prrDelivered - prrOut
	}
	if !crb {
		// Slow-start reduction bound.
		limit = max(limit, delivered)
		if safe {
			limit += smss
		}
	}
	return min(ssthresh-pipe, limit)
}

// prrSent counts n bytes sent towards prr_out.
func (c *Conn) prrSent(n uint32) {
	if c.cc.inRecovery() || c.ecn.prr {
		c.prrOut += uint64(n)
	}
}
