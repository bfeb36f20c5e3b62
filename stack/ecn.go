package stack

import "github.com/tcpsim/tcpsim/segment"

// Explicit Congestion Notification (RFC 3168 §6.1), when TCPConfig.ECN
// allows it:
//
//   - Negotiation: an active open with ECN = ECNOn sends an ECN-setup SYN
//     (ECE and CWR); a listener with ECN ≥ ECNOn or ECNPassive answers an
//     ECN-setup SYN with an ECN-setup SYN-ACK (ECE alone), and then both
//     ends use ECN. Linux's default is ECNPassive (tcp_ecn=2): it accepts,
//     it does not ask; the linux profile does the same.
//   - The sender marks new data segments ECT(0) in the IP header; never
//     SYNs, pure ACKs, window probes or retransmissions (§6.1.5).
//   - A router or queue discipline that would drop an ECT packet marks it
//     CE instead (sim's queue disciplines do). The receiver then sets ECE on
//     every ACK until a data segment with CWR arrives (§6.1.3).
//   - The sender reacts to ECE as to a loss, at most once per window of
//     data (§6.1.2): ssthresh from the congestion controller, cwnd =
//     ssthresh, and CWR on its next new data segment. Nothing is resent.
//     With CWRReduction (the linux profile) cwnd comes down gradually
//     instead, as in Linux's CWR state (enterCWR).

// ECN settings of TCPConfig.ECN.
const (
	ECNOff     = 0 // no ECN (the zero config)
	ECNOn      = 1 // ask for ECN on active opens, accept it on passive ones
	ECNPassive = 2 // accept ECN when the peer asks (Linux's default)
)

type ecnState struct {
	ok         bool        // both SYNs negotiated ECN
	echo       bool        // receiver: CE seen, ECE on our ACKs until CWR arrives
	cwrPending bool        // sender: the next new data segment carries CWR
	recover    segment.Seq // sender: no new reduction until SND.UNA passes it
	reduced    bool        // recover is set
	prr        bool        // CWRReduction: PRR brings cwnd down until SND.UNA reaches recover
}

// ecnSYN adds ECE and CWR to an active open's SYN when ECN is asked for.
func (c *Conn) ecnSYN(th *segment.Header) {
	if c.ecnAsk() {
		th.Flags |= segment.FlagECE | segment.FlagCWR
	}
}

// ecnPassive records a SYN's ECN request on a passive open; the SYN-ACK
// (ecnSYNACK) answers it.
func (c *Conn) ecnPassive(syn *segment.Header) {
	ask := syn.Flags&(segment.FlagECE|segment.FlagCWR) == segment.FlagECE|segment.FlagCWR
	c.ecn.ok = ask && c.h.cfg.ECN != ECNOff
}

// ecnSYNACK adds ECE to a passive open's SYN-ACK when ECN was agreed.
func (c *Conn) ecnSYNACK(th *segment.Header) {
	if c.ecn.ok {
		th.Flags |= segment.FlagECE
	}
}

// ecnActive reads the SYN-ACK of an active open: ECN is in use when we
// asked and the SYN-ACK carries ECE without CWR.
func (c *Conn) ecnActive(synack *segment.Header) {
	c.ecn.ok = c.ecnAsk() && synack.Flags&(segment.FlagECE|segment.FlagCWR) == segment.FlagECE
	if c.ecn.ok {
		c.h.counters.TCPECNNegotiated++
	}
}

// ecnReceived is the receiver's part, for each data segment accepted: CE
// starts echoing, CWR (the sender reacted) stops it. The ECN field of the
// packet is h.rxECN.
func (c *Conn) ecnReceived(th *segment.Header) {
	if c.ecn.ok {
		c.ecnReceivedOK(th)
	}
}

// ecnReceivedOK is ecnReceived for a connection that negotiated ECN.
func (c *Conn) ecnReceivedOK(th *segment.Header) {
	if c.ccx.ceEcho {
		c.ecnReceivedPerSegment()
		return
	}
	if th.Flags&segment.FlagCWR != 0 {
		c.ecn.echo = false
	}
	if c.h.rxECN == 3 { // CE
		c.h.counters.TCPECNCEReceived++
		c.ecn.echo = true
		c.ackNow = true // let the sender know at once
	}
}

// ecnAck is the sender's part, for each acceptable ACK: ECE reduces cwnd
// once per window.
func (c *Conn) ecnAck(th *segment.Header) {
	if c.ecn.ok && th.Flags&(segment.FlagECE|segment.FlagSYN) == segment.FlagECE {
		c.ecnAckECE()
	}
}

// ecnAckECE is ecnAck for an ACK with ECE (and without SYN).
func (c *Conn) ecnAckECE() {
	c.h.counters.TCPECNEceReceived++
	if c.ecn.reduced && !c.sndUna.GreaterThan(c.ecn.recover) {
		return // already reduced for this window
	}
	if c.cc.inRecovery() {
		c.ecn.reduced, c.ecn.recover = true, c.sndMax
		c.ecn.cwrPending = true
		c.undo.on = false // a congestion signal: the episode's reduction stands (undo.go)
		return
	}
	c.enterCWR()
	c.h.counters.TCPECNReductions++
}

// enterCWR reduces the window for a congestion signal that is not a loss
// (an ECN echo, a local drop): ssthresh from the congestion controller,
// once per window of data (until SND.UNA passes recover), with CWR on the
// next new data segment when ECN is in use. By default cwnd drops to
// ssthresh at once (RFC 3168 §6.1.2); with CWRReduction, as Linux's
// tcp_enter_cwr and tcp_cwnd_reduction, PRR (prr.go) brings it down ACK by
// ACK, and cwnd becomes ssthresh when the window is acknowledged
// (tcp_end_cwnd_reduction). PRR measures against the flight when the
// signal came (RFC 6937's RecoverFS, as in a recovery), where Linux takes
// the cwnd before it: Linux's ssthresh is β·cwnd, tcpsim's β·FlightSize,
// and each keeps ssthresh/basis = β, so a sender that did not fill its
// window is not cut below β of what it had in flight.
func (c *Conn) enterCWR() {
	c.ecn.reduced, c.ecn.recover = true, c.sndMax
	c.ecn.cwrPending = c.ecn.ok
	c.undo.on = false // a congestion signal: the episode's reduction stands (undo.go)
	c.ssthresh = c.ccCongestion(CongestionECN)
	if !c.h.cfg.CWRReduction {
		c.cwnd = max(c.ssthresh, uint32(c.sndMSS))
		return
	}
	c.ecn.prr = true
	c.prrStart() // RecoverFS is the flight, on which ssthresh is based too
}

// cwrReducing reports whether CWRReduction's PRR owns cwnd now; an ACK that
// has brought SND.UNA to recover ends it first (cwnd = ssthresh), so that
// the window may grow again on that ACK, as Linux ends the reduction before
// its tcp_cong_control.
func (c *Conn) cwrReducing() bool {
	if !c.ecn.prr {
		return false
	}
	if c.cc.inRecovery() {
		c.ecn.prr = false // the recovery's own PRR takes over
		return false
	}
	if !c.sndUna.LessThan(c.ecn.recover) {
		c.ecn.prr = false
		c.cwnd = max(c.ssthresh, uint32(c.sndMSS))
		return false
	}
	return true
}

// cwrAck is CWRReduction's part of an acceptable ACK that delivered
// delivered bytes; safe is RFC 9937's SafeACK (prr.go).
func (c *Conn) cwrAck(delivered int, safe bool) {
	if c.cwrReducing() {
		c.prrAck(delivered, safe)
	}
}

// ecnStamp marks an outgoing segment: ECE on the receiver's ACKs while
// echoing, CWR and ECT(0) on new data.
func (c *Conn) ecnStamp(th *segment.Header, newData bool) {
	if !c.ecn.ok {
		return
	}
	if c.ecn.echo && th.Flags&segment.FlagACK != 0 {
		th.Flags |= segment.FlagECE
	}
	if newData {
		c.h.txECN = 2 // ECT(0)
		if c.ecn.cwrPending {
			th.Flags |= segment.FlagCWR
			c.ecn.cwrPending = false
		}
	}
}

// ecnAsk reports whether an active open asks for ECN: TCPConfig.ECN is
// ECNOn, or the algorithm needs ECN (DCTCP) and ECN is not off, as Linux
// asks for an algorithm flagged TCP_CONG_NEEDS_ECN.
func (c *Conn) ecnAsk() bool {
	return c.h.cfg.ECN == ECNOn || c.ccx.needsECN && c.h.cfg.ECN != ECNOff
}

// ecnReceivedPerSegment is RFC 8257 §3.2's receiver, for an algorithm that
// asks for it (CEEchoer, DCTCP): ECE on our ACKs follows the CE state of
// the last data segment. When the state changes while a delayed ACK is
// owed, the data before this segment is acknowledged at once with the old
// state's ECE, so that each ACK's ECE covers exactly the bytes it
// acknowledges (the segment itself is not yet in RCV.NXT here).
func (c *Conn) ecnReceivedPerSegment() {
	ce := c.h.rxECN == 3
	if ce {
		c.h.counters.TCPECNCEReceived++
	}
	if ce == c.ecn.echo {
		return
	}
	if c.rcvUnacked > 0 {
		c.sendAck()
	}
	c.ecn.echo = ce
}
