package stack

import (
	"github.com/tcpsim/tcpsim/segment"
)

// Sending, in the order output() works through it:
//
//  1. In a state that may send data (ESTABLISHED, CLOSE_WAIT and the
//     closing states whose FIN may still follow queued data), cut the unsent
//     part of the send buffer into segments of at most sndMSS while the
//     usable window min(sndWnd, cwnd) allows (RFC 5681 §3.1), holding back
//     small segments by Nagle's algorithm (RFC 9293 §3.7.4) and the sender's
//     silly-window avoidance (RFC 9293 §3.8.6.2.1). PSH marks the segment
//     that empties the buffer (and, as Linux, the end of each burst:
//     push.go); the FIN rides on the last segment or goes
//     alone once all data is out.
//  2. If an ACK is still owed (ackNow), send a bare ACK; if only a delayed
//     ACK is owed, arm the delayed-ACK timer (RFC 9293 §3.8.6.3).
//  3. Arm the retransmission timer while anything is in flight (RFC 6298
//     §5.1), or the persist timer when data waits on a closed or tiny window
//     with nothing in flight (RFC 9293 §3.8.6.1).
//
// Every segment is encoded straight into the host's scratch buffer (emit in
// ipv4.go) with the payload copied once from the send ring; nothing is
// allocated per segment.

func (c *Conn) output() {
	if c.sendIdle() {
		c.sendIdlePass()
	} else {
		c.send()
	}
	c.writeSpace() // chrono.go: a writer refused space may write again
	if c.ka.userTimeout > 0 {
		c.noteDelivery(false) // the user timeout sees what output left to deliver
	}
}

// sendIdle reports whether a send pass has no data to send: an ESTABLISHED
// connection with every written byte sent and acknowledged, no FIN to
// send, no duplicate ACK owed, no send timer running, no chronograph
// state, no recovery and no RACK resending. Such a pass (on the receiver
// of a bulk transfer, the common one) only starts a new burst, runs
// ccAfterSend and sends or times the ACK it owes; sendIdlePass does that
// much and no more. sndMax is checked first: a sender with data in flight
// leaves at once.
func (c *Conn) sendIdle() bool {
	return c.sndMax == c.sndUna && c.state == StateEstablished && c.sndNxt == c.dataEnd() &&
		!c.wrClosed && !c.dupAckNow && c.tm.rtxAt|c.tm.persistAt == 0 && c.chrono.kind == chronoNone &&
		!c.rack.lossSend && !c.cc.recovering
}

// sendIdlePass is what send does when sendIdle holds
// (TestFastPathSendIdle): the burst and ccAfterSend of its data part, and
// its ACK part as it stands in send; the send timers need nothing, as the
// end of send finds.
func (c *Conn) sendIdlePass() {
	c.burst.sent, c.burst.rtxSet = 0, false // burstStart, and no retransmission packet spans passes
	c.ccAfterSend()
	if c.ackNow {
		c.sendAck()
	} else if c.rcvUnacked > 0 && c.tm.delackAt == 0 {
		c.setTimer(&c.tm.delackAt, c.h.env.Now()+c.h.cfg.DelayedAck)
	}
}

// send is output's body.
func (c *Conn) send() {
	switch c.state {
	case StateClosed, StateSynSent:
		return
	case StateSynReceived:
		if !c.fastOpenCanSend() {
			if c.ackNow {
				c.sendAck()
			}
			return
		}
	}
	if c.dupAckNow {
		// RFC 5681 §4.2: an out-of-order segment draws an immediate
		// duplicate ACK. It must be a bare ACK: the sender does not count
		// a segment carrying data as a duplicate (RFC 5681 §2), so one
		// piggybacked on our own data would not help its fast retransmit.
		c.sendAck()
	}
	if c.state.canSendData() || c.fastOpenCanSend() {
		if c.sndMax == c.sndUna && c.dataEnd().GreaterThan(c.sndNxt) {
			c.restartAfterIdle()
		}
		c.burstStart()         // push.go
		c.burst.rtxSet = false // nor does a packet of retransmissions span passes
		if c.sackOK && c.cc.inRecovery() {
			c.recoverySend() // RFC 6675 §5 step (C) (rfc6675.go)
		} else if c.rack.lossSend {
			c.rackLossSend() // rack.go: after an RTO, what RACK marked lost
		}
		// sendOne has nothing to do, and returns false at once, when every
		// byte written is sent, no FIN is due and no resending is under way.
		if c.wrClosed || c.dataEnd() != c.sndNxt || c.sndNxt.LessThan(c.sndMax) {
			for c.sendOne() {
			}
		}
		if c.chrono.kind != chronoNone || c.dataEnd().GreaterThan(c.sndNxt) {
			// chrono.go (a pass with nothing to send and no state running
			// changes nothing there)
			c.chronoAfterSendPass()
		}
		c.ccAfterSend() // ccapi.go: the delivery-rate estimator's app-limited check
	}
	if c.ackNow { // (sendIdlePass does the same)
		c.sendAck()
	} else if c.rcvUnacked > 0 && c.tm.delackAt == 0 {
		c.setTimer(&c.tm.delackAt, c.h.env.Now()+c.h.cfg.DelayedAck)
	}
	if c.sndMax == c.sndUna && c.tm.rtxAt|c.tm.persistAt == 0 && !c.dataEnd().GreaterThan(c.sndNxt) {
		return // nothing in flight or waiting, no timer running: armSendTimers would change nothing
	}
	c.armSendTimers()
}

// sendOne transmits at most one segment from sndNxt and reports whether it
// did.
func (c *Conn) sendOne() bool {
	if c.sackOK && c.sndNxt.LessThan(c.sndMax) {
		c.skipSACKed() // go-back-N after an RTO: not what the peer SACKed (rfc6675.go)
	}
	end := c.dataEnd()
	var avail uint32
	if end.GreaterThan(c.sndNxt) {
		avail = end.Sub(c.sndNxt)
	}
	recordEnd := false // the segment stops at a record end with data behind it (record.go)
	if avail > 0 {
		// (Both caps leave 0 as it is.)
		if c.sackOK {
			avail = c.capAtSACKed(c.sndNxt, avail)
		}
		if k := c.eorCap(c.sndNxt, avail); k < avail {
			avail, recordEnd = k, true
		}
	}
	finNext := c.wrClosed && !c.finAcked && c.sndNxt == end
	if avail == 0 {
		if !finNext {
			return false
		}
		// A FIN alone. Like Linux (tcp_cwnd_test exempts a lone FIN), it is
		// not held back by cwnd or the peer's window: it carries no data.
		return c.sendData(c.sndNxt, 0, true)
	}
	if c.pace.on && c.paceHold() {
		return false // pacing.go: new data waits for the pacing timer
	}
	cwnd := c.cwnd
	if !c.sackOK && c.dupAcks > 0 && c.dupAcks < 3 && !c.cc.inRecovery() && c.sndNxt == c.sndMax {
		// RFC 3042 limited transmit: on the first and second duplicate
		// ACK, one new segment each may go beyond cwnd (FlightSize ≤
		// cwnd + 2·SMSS), so that a small window still produces the three
		// duplicates that fast retransmit needs.
		cwnd += uint32(c.dupAcks * c.sndMSS)
	}
	limit := min(c.sndWnd, cwnd)
	inflight := c.sndNxt.Sub(c.sndUna)
	var usable uint32
	if limit > inflight {
		usable = limit - inflight
	}
	if c.sackOK && (len(c.sacked.blocks) > 0 || c.h.cfg.RACK || c.cc.inRecovery()) {
		// RFC 6675: cwnd against pipe, not SND.NXT − SND.UNA. With nothing
		// SACKed, no RACK and no recovery the two are equal, and
		// sackUsable gives the usable above (TestFastPathInvariants).
		usable = c.sackUsable(cwnd)
	}
	n := min(avail, usable, uint32(c.sndMSS))
	if n == 0 {
		return false
	}
	if n < uint32(c.sndMSS) && !c.forceSend {
		if n < avail {
			// The window, not the data, limits us. RFC 9293 §3.8.6.2.1:
			// send only if at least Fs = 1/2 of the largest window the
			// peer has offered can go; otherwise wait for the window to
			// open (or for the override timer, armed as the persist timer).
			if n < c.maxSndWnd/2 {
				return false
			}
		} else if (c.cork || c.corkPass) && !recordEnd && !c.wrClosed && !c.pushOnce {
			// TCP_CORK or MSG_MORE (cork.go): more data is coming; a
			// partial segment waits for it, or for the persist timer
			// (at most an RTO, the "200 ms ceiling" of Linux's tcp(7)).
			return false
		} else if !c.noDelay && !recordEnd && c.sndSmall.GreaterThan(c.sndUna) && !c.wrClosed && c.sndNxt == c.sndMax {
			// Nagle (RFC 9293 §3.7.4, RFC 896): hold a less-than-full
			// segment while earlier data is unacknowledged. Like Linux
			// (tcp_minshall_check) we use Minshall's refinement: only an
			// unacknowledged *small* segment holds the next one back, so
			// the tail of a large write goes out at once. Retransmissions after
			// an RTO (sndNxt < sndMax) are never held. Closing flushes
			// (Linux pushes the last segment with the FIN).
			return false
		}
	}
	forced := c.forceSend
	c.forceSend = false
	if forced && n == avail {
		// Data held back by a cork or by MSG_MORE, forced out by the
		// persist timer: Linux's tcp_write_wakeup sends it with PSH. (It
		// does so for the window-limited SWS override too; tcpsim keeps
		// that one without.)
		c.pushForced = true
	}
	if !c.sndNxt.LessThan(c.sndMax) {
		// Would another segment follow in the same burst (push.go)?
		left, room := avail-n, usable-n
		c.burst.push = c.burstNext(left > 0 && room >= min(left, uint32(c.sndMSS)))
	}
	fin := c.wrClosed && c.sndNxt.Add(n) == end
	newData := !c.sndNxt.LessThan(c.sndMax)
	if !c.sendData(c.sndNxt, n, fin) {
		return false // the host's own queue refused it (localdrop.go)
	}
	if n < uint32(c.sndMSS) && newData {
		// End of the last small segment sent. Only new data counts, as in
		// Linux (tcp_minshall_update runs in tcp_write_xmit, not for
		// retransmissions).
		c.sndSmall = c.sndNxt
	}
	return true
}

// sendData transmits n bytes at seq (from the send buffer) with an optional
// FIN, advances sndNxt/sndMax, starts RTT timing on new data and counts
// retransmissions. It reports false, having sent and changed nothing but
// what localDrop does, when the host's own queue refuses the segment.
func (c *Conn) sendData(seq segment.Seq, n uint32, fin bool) bool {
	h := c.h
	if c.txDropped && c.txDropEntry == h.entries {
		return false // refused already in this event: the pass stops (localdrop.go)
	}
	if c.txRefused() {
		c.localDrop(seq)
		return false
	}
	th := segment.Header{Seq: seq, Ack: c.rcvNxt, Flags: segment.FlagACK}
	rtxPush := false
	if seq.LessThan(c.sndMax) {
		rtxPush = n > 0 && c.rtxPush(seq, seq.Add(n)) // push.go
	} else {
		c.burst.rtxSet = false
	}
	if n > 0 && (seq.Add(n) == c.dataEnd() && !c.tailMore || c.eorAt(seq.Add(n)) || c.pushForced || c.burst.push || rtxPush) {
		// The segment that empties the buffer ends a write (unless that
		// write said MSG_MORE: Linux marks PSH only at the end of a write
		// without it, cork.go), as does a record end, a segment the
		// persist timer forces out, and the end of a burst (push.go), also
		// when it is sent again.
		th.Flags |= segment.FlagPSH
	}
	c.burst.push = false
	if seq.LessThan(c.sndMax) {
		c.burstStart() // a retransmission ends the burst of new data
	}
	c.pushForced = false
	if fin {
		th.Flags |= segment.FlagFIN
		if !seq.LessThan(c.sndMax) || n > 0 && seq.Add(n) == c.sndMax {
			c.finAlone = n == 0 // its first transmission: alone, or on data (tlp.go)
		}
	}
	th.Window = c.windowToAdvertise()
	c.addSACKBlocks(&th.Options, min(segment.MaxOptionsLen, c.sndMSS-int(n))) // the packet must still fit the MTU
	c.ecnStamp(&th, n > 0 && !seq.LessThan(c.sndMax))                         // ecn.go: ECE, CWR, ECT(0) on new data
	p1, p2 := c.sndBuf.slices(int(seq.Sub(c.sndBufStart)), int(n))
	next := seq.Add(n)
	if fin {
		next = next.Add(1)
	}
	if c.sackOK || c.ecn.prr {
		c.prrSent(n) // prr_out (prr.go): a SACK recovery's, or a CWR reduction's (ecn.go)
	}
	if seq.LessThan(c.sndMax) {
		h.counters.TCPRetransSegs++
		c.stats.retrans++
		c.tsRetransmit()
		c.undoRetransmitted(seq, next) // undo.go
		if c.rttTiming && c.rttSeq.GreaterThanEq(seq) && c.rttSeq.LessThan(next) {
			c.rttTiming = false // Karn: the timed segment is ambiguous now
		}
	} else if !c.rttTiming && n > 0 {
		c.rttTiming, c.rttSeq, c.rttStart = true, seq, h.env.Now()
	}
	if n > 0 {
		c.lastDataAt = h.env.Now()
		c.quickAckDataSent()
	}
	c.cc.sent(seq, next) // before sndMax moves: HyStart++ samples new data only
	c.stats.segsOut++
	c.stats.bytesOut += uint64(n)
	c.stampTimestamps(&th)
	c.emit(&th, p1, p2)
	c.afterAckSent()
	c.rackSent(seq, next, th.Flags&segment.FlagPSH != 0) // rack.go: before sndMax moves
	c.txDropped = false
	newData := next.GreaterThan(c.sndMax)
	if next.GreaterThan(c.sndNxt) {
		c.sndNxt = next
	}
	if next.GreaterThan(c.sndMax) {
		c.sndMax = next
	}
	if newData {
		c.tlpArm()             // tlp.go
		c.cwndValidate()       // cwndlimit.go
		c.chronoAfterNewData() // chrono.go
	}
	return true
}

// retransmitFirst resends the first unacknowledged segment: on fast
// retransmit (RFC 5681 §3.2 step 2), a NewReno partial ACK (RFC 6582 §3.2
// step 4) and an RTO (RFC 6298 §5.4). It ignores the windows: the bytes
// were already allowed once; it never extends past what was sent. It
// reports false when there was nothing to send or the host's own queue
// refused the segment.
func (c *Conn) retransmitFirst() bool {
	end := c.dataEnd()
	var n uint32
	if sent := end.Min(c.sndMax); sent.GreaterThan(c.sndUna) {
		n = min(sent.Sub(c.sndUna), uint32(c.sndMSS)) // only data sent before
	}
	n = c.eorCap(c.sndUna, c.capAtSACKed(c.sndUna, n)) // not into data the peer holds, nor across a record end
	fin := c.wrClosed && !c.finAcked && c.sndUna.Add(n) == end && c.finSent()
	if n == 0 && !fin {
		return false
	}
	return c.sendData(c.sndUna, n, fin)
}

// sendAck sends a bare ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> with the
// current window.
func (c *Conn) sendAck() {
	if c.state == StateClosed || c.state == StateSynSent {
		return
	}
	th := segment.Header{Seq: c.sndMax, Ack: c.rcvNxt, Flags: segment.FlagACK}
	th.Window = c.windowToAdvertise()
	c.ecnStamp(&th, false)                       // ecn.go: ECE while echoing
	room := min(segment.MaxOptionsLen, c.rcvMSS) // the bare ACK must fit the interface MTU
	if c.tsOK {
		room -= tsOptLen // with TSopt beside the blocks
	}
	c.addSACKBlocks(&th.Options, room)
	c.stats.segsOut++
	c.stampTimestamps(&th)
	c.emit(&th, nil, nil)
	c.afterAckSent()
}

// sendReset sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> (RFC 9293
// §3.10.5 ABORT; Linux sets ACK too).
func (c *Conn) sendReset() {
	th := segment.Header{Seq: c.sndMax, Ack: c.rcvNxt, Flags: segment.FlagRST | segment.FlagACK}
	c.h.counters.TCPRstSent++
	c.stats.segsOut++
	c.stampTimestamps(&th)
	c.emit(&th, nil, nil)
}

// afterAckSent records that every segment we send acknowledges rcvNxt.
func (c *Conn) afterAckSent() {
	c.quickAckSent(c.rcvUnacked > 0)
	c.ackNow, c.dupAckNow = false, false
	c.rcvUnacked = 0
	c.tm.delackAt = 0
}

// windowToAdvertise returns the window field for an outgoing segment and
// moves rcvAdv. Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): the right
// edge moves only when it can move by at least min(RCV.BUFF/2, MSS); the
// window never shrinks (RFC 9293 §3.8.6, SHLD-14).
func (c *Conn) windowToAdvertise() uint16 {
	free := c.rcvWnd()
	if c.rcvMemMayCut() {
		free = c.rcvWndMem() // memory.go
	}
	cur := c.advertisedRemaining()
	wnd := cur
	if free >= cur+min(uint32(c.rcvBuf.limit/2), uint32(c.rcvMSS)) {
		wnd = free
	}
	w := wnd >> c.rcvWndShift
	if w > 0xffff {
		w = 0xffff
	}
	if edge := c.rcvNxt.Add(w << c.rcvWndShift); edge.GreaterThan(c.rcvAdv) {
		c.rcvAdv = edge
	}
	return uint16(w)
}

// afterRead sends a window update when the application's read opened the
// window enough to matter: by the SWS threshold, and while the peer sees
// less than half of the largest window we can offer, the buffer or what
// the window field and scale can carry (as Linux's tcp_cleanup_rbuf does
// against its window_clamp, so that a fast reader does not double the ACK
// count).
func (c *Conn) afterRead() {
	if !c.state.canReceiveData() || c.fastOpenNoWindowUpdate() {
		return
	}
	cur := c.advertisedRemaining()
	clamp := min(uint64(c.rcvBuf.limit), uint64(0xffff)<<c.rcvWndShift)
	half := uint32(clamp / 2)
	if cur >= half {
		return // the peer sees half the window or more (no need to work out the free space)
	}
	if free := c.rcvWndMem(); free >= cur+min(half, uint32(c.rcvMSS)) {
		c.sendAck()
	}
}

// armSendTimers keeps exactly one of the retransmission and persist timers
// running when something waits to be sent or acknowledged.
func (c *Conn) armSendTimers() {
	if c.sndMax != c.sndUna && c.tm.rtxAt != 0 {
		c.tm.persistAt = 0 // data in flight, its timer running: all armSendTimersAll would do
		return
	}
	c.armSendTimersAll()
}

// armSendTimersAll is armSendTimers in full; the common case above stays
// small enough to inline.
func (c *Conn) armSendTimersAll() {
	// The clock is read only when a timer is armed.
	if c.sndMax != c.sndUna {
		// RFC 6298 §5.1: start the timer when data is sent and it is off.
		c.tm.persistAt = 0
		if c.tm.rtxAt == 0 {
			c.setTimer(&c.tm.rtxAt, c.h.env.Now()+c.currentRTO())
		}
		return
	}
	c.tm.rtxAt = 0
	if c.state.canSendData() && c.dataEnd().GreaterThan(c.sndNxt) {
		// Data waits but nothing is in flight: the window is closed or too
		// small. The persist timer probes it (RFC 9293 §3.8.6.1) or forces
		// a small segment out (the SWS override, §3.8.6.2.1).
		if c.tm.persistAt == 0 {
			c.setTimer(&c.tm.persistAt, c.h.env.Now()+c.persistInterval())
		}
		return
	}
	c.tm.persistAt = 0
}
