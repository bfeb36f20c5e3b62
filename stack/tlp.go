package stack

import (
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// The tail loss probe (RFC 8985 §7), with RACK (TCPConfig.RACK): when the
// last segments of a flight are lost, no ACK comes back to start RACK or
// fast recovery, and only the RTO would repair them. Instead, after a probe
// timeout (PTO) of two SRTTs (plus the worst-case delayed-ACK time, 200 ms,
// when a single segment is outstanding, and never later than the RTO) with
// no ACK, the sender sends one segment: new data if the windows allow, else
// the highest segment sent again. Its ACK, SACKing what arrived, lets RACK
// find the loss. When the probe was a retransmission and its ACK carries no
// D-SACK for it, the probe repaired a loss: cwnd is reduced as for one
// (Linux tcp_process_tlp_ack); a duplicate ACK at TLP.end_seq says it
// repaired nothing (tlpOnDupAck). One probe per flight; none in recovery or
// after an RTO.

// DefaultWCDelAckT is RFC 8985's worst-case delayed-ACK time.
const DefaultWCDelAckT = 200 * time.Millisecond

type tlpState struct {
	out     bool        // a probe is outstanding
	endSeq  segment.Seq // SND.MAX after the probe (TLP.end_seq)
	retrans bool        // the probe was a retransmission
}

// tlpArm (re)arms the probe timer after data was sent or an ACK processed.
func (c *Conn) tlpArm() {
	if !c.rackOn() {
		c.tm.ptoAt = 0 // no RACK, no TLP
		return
	}
	c.tlpArmOn()
}

// tlpArmOn is tlpArm with RACK on.
func (c *Conn) tlpArmOn() {
	// Any state that may still send: as Linux (tcp_schedule_loss_probe),
	// a connection that has queued its FIN behind data (FIN_WAIT_1,
	// CLOSING, LAST_ACK) probes its tail too.
	if !c.rackOn() || c.tlp.out || c.cc.inRecovery() || c.backoff > 0 || c.sndUna == c.sndMax ||
		!c.state.canSendData() {
		c.tm.ptoAt = 0
		return
	}
	now := c.h.env.Now()
	pto := time.Second
	if c.srtt > 0 {
		pto = 2 * c.srtt
		if c.flightSize() <= uint32(c.sndMSS) {
			pto += DefaultWCDelAckT
		}
	}
	rto := c.tm.rtxAt
	if rto == 0 {
		rto = now + c.currentRTO() // about to be armed (armSendTimers)
	}
	if now+pto > rto {
		pto = rto - now // never past the RTO
	}
	if pto <= 0 {
		c.tm.ptoAt = 0
		return
	}
	c.setTimer(&c.tm.ptoAt, now+pto)
}

// onPTO is the probe timer (TLP_send_probe).
func (c *Conn) onPTO(now time.Duration) {
	if !c.rackOn() || c.tlp.out || c.cc.inRecovery() || c.backoff > 0 || c.sndUna == c.sndMax ||
		!c.state.canSendData() {
		return // a timeout since it was armed ends the tail's probing
	}
	data := c.dataEnd()
	sent := false
	// New data, one segment, if the peer's window has room for it.
	if c.sndNxt == c.sndMax && c.sndNxt.LessThan(data) {
		if room := c.sndWnd - min(c.sndWnd, c.sndMax.Sub(c.sndUna)); room > 0 {
			n := c.eorCap(c.sndNxt, min(data.Sub(c.sndNxt), uint32(c.sndMSS), room))
			if !c.sendData(c.sndNxt, n, c.wrClosed && c.sndNxt.Add(n) == data) { // the FIN rides on the last data
				return // refused by the host's own queue: the RTO stays armed
			}
			c.tlp.retrans, sent = false, true
		}
	}
	if !sent {
		// The highest segment sent, again: its data (and the FIN if it was
		// sent with or after it). A FIN that went out alone, after all the
		// data, is that segment by itself, as Linux's last skb is then the
		// FIN's own.
		end := data.Min(c.sndMax)
		fin := c.finSent()
		start := end
		if end.GreaterThan(c.sndUna) && !(fin && c.finAlone) {
			start = c.eorFloor(c.sndUna.Max(end.Add(-uint32(c.sndMSS))), end)
		}
		if start == end && !fin {
			return
		}
		if !c.sendData(start, end.Sub(start), fin) {
			return // as Linux (tcp_send_loss_probe), no probe is outstanding
		}
		c.tlp.retrans = true
	}
	c.h.counters.TCPLossProbes++
	c.tlp.out, c.tlp.endSeq = true, c.sndMax
	c.setTimer(&c.tm.rtxAt, now+c.currentRTO())
}

// tlpOnAck ends a probe episode once an ACK covers the probe
// (TLP_process_ack, RFC 8985 §7.4.2), and reduces cwnd when a retransmitted
// probe repaired a loss: only when the ACK goes beyond TLP.end_seq, as the
// RFC's pseudocode and Linux's tcp_process_tlp_ack (after(ack,
// tlp_high_seq)) have it; an ACK that stops at TLP.end_seq leaves the
// episode open. A recovery begun since the probe (its SACK let RACK find the
// losses, §7.4.1) ends the episode without a response of its own: the
// recovery's reduction is the response, as Linux's tcp_init_cwnd_reduction
// clears tlp_high_seq, and the ACK that ends the recovery must not reduce a
// second time.
func (c *Conn) tlpOnAck(ack segment.Seq, dsack bool) {
	if !c.tlp.out {
		return
	}
	if c.cc.inRecovery() {
		c.tlp.out = false
		return
	}
	if ack.LessThan(c.tlp.endSeq) {
		return
	}
	if !c.tlp.retrans || dsack {
		c.tlp.out = false
		return // new data, or the original arrived too (spurious)
	}
	if !ack.GreaterThan(c.tlp.endSeq) {
		return // the probe's own segment acknowledged: not yet told apart
	}
	c.tlp.out = false
	c.h.counters.TCPLossProbeRecovery++
	c.ssthresh = c.ccCongestion(CongestionLoss)
	c.cwnd = max(c.ssthresh, uint32(c.sndMSS))
}

// tlpOnDupAck is TLP_process_ack's last branch (RFC 8985 §7.4.2, case 2 of
// §7.4.1): with a retransmitted probe outstanding, a duplicate ACK (it
// moves nothing, carries no data and leaves the window as it was) at
// exactly TLP.end_seq says the receiver had the whole flight before the
// probe came: the probe was a duplicate, repaired nothing, and the episode
// ends without a reduction. Without this, the episode would stay open, the
// next ACK beyond TLP.end_seq would be taken for the probe's repair (a
// spurious reduction, tlpOnAck), and no probe could go for the flights
// sent in between. The RFC asks for a DupAck without any SACK option, which a
// receiver without D-SACK sends for the duplicate; Linux's
// tcp_process_tlp_ack (LinuxRACK) takes any duplicate ACK that SACKs no new
// data (newlySACKed false), such as one with a D-SACK block for some other
// retransmission.
func (c *Conn) tlpOnDupAck(th *segment.Header, newlySACKed bool) {
	if !c.tlp.out || !c.tlp.retrans || th.Ack != c.tlp.endSeq || newlySACKed {
		return
	}
	if th.Options.NumSACK > 0 && !c.h.cfg.LinuxRACK {
		return
	}
	c.tlp.out = false // the PTO is armed again with the next new data (§7.2)
}
