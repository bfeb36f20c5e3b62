package stack

import (
	"github.com/tcpsim/tcpsim/segment"
)

// Segment arrival for a connection, in the order of RFC 9293 §3.10.7.4
// ("SEGMENT ARRIVES", states other than CLOSED, LISTEN and SYN-SENT):
//
//  1. sequence number: is any of the segment inside the receive window?
//     If not, ACK it and drop it (a RST is dropped silently).
//  2. RST: exact match resets the connection, any other in-window RST
//     draws a challenge ACK (RFC 5961 §3.2).
//  3. (security/compartment: not modelled)
//  4. SYN in a synchronized state: challenge ACK (RFC 5961 §4.2).
//  5. ACK: SYN_RECEIVED → ESTABLISHED; advance SND.UNA, RTT sample,
//     congestion control, duplicate-ACK detection, window update; the ACK
//     of our FIN moves FIN_WAIT_1, CLOSING and LAST_ACK on.
//  6. (URG: ignored; the urgent pointer is not implemented)
//  7. text: in-order bytes to the receive buffer, out-of-order bytes to
//     the reassembly ranges; ACK now or arm the delayed-ACK timer.
//  8. FIN: in order → CLOSE_WAIT / CLOSING / TIME_WAIT; out of order → held.
//
// Finally output() sends whatever the segment made possible: new data into
// an opened window, retransmissions, and the ACK (now or delayed).

func (c *Conn) input(th *segment.Header, payload []byte) {
	c.stats.segsIn++
	if c.state == StateSynSent {
		c.inputSynSent(th, payload)
		return
	}
	h := c.h
	f := th.Flags
	seq := th.Seq
	syn := f&segment.FlagSYN != 0
	fin := f&segment.FlagFIN != 0
	rst := f&segment.FlagRST != 0
	segLen := uint32(len(payload))
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}

	if c.state == StateSynReceived && syn && !rst && f&segment.FlagACK != 0 && c.listener == nil &&
		seq == c.irs && th.Ack.GreaterThan(c.sndUna) && th.Ack.LessThanEq(c.sndMax) {
		c.inputSimultaneousSynAck(th, payload, fin)
		return
	}

	// RFC 7323 §5.3 R1 (PAWS) comes before the window check. pawsAccept
	// passes every segment whose TSVal is not older than TS.Recent (or that
	// has none): only the others need the call.
	if c.tsOK && th.Options.HasTimestamps && int32(th.Options.TSVal-c.tsRecent) < 0 && !c.pawsAccept(th, len(payload)) {
		return
	}

	// First: check the sequence number.
	wnd := c.advertisedRemaining()
	if !acceptable(seq, segLen, c.rcvNxt, wnd) {
		switch {
		case rst:
			h.counters.TCPRstIgnored++
			return
		case wnd == 0 && seq == c.rcvNxt && !syn:
			// "If the RCV.WND is zero, no segments will be acceptable, but
			// special allowance should be made to accept valid ACKs, URGs,
			// and RSTs": keep the ACK, drop the text, answer with an ACK.
			// A FIN needs no buffer space, so it is kept too (as Linux does).
			if len(payload) > 0 {
				fin = false // the FIN follows bytes we cannot take
			}
			payload = nil
			c.ackNow = true
		case syn && f&segment.FlagACK == 0 && seq == c.irs && c.state == StateSynReceived:
			// A retransmitted SYN: our SYN-ACK was lost. Linux answers with
			// the SYN-ACK again rather than a bare ACK (a retransmission:
			// counted, and Karn's rule stops its RTT sample).
			c.sendSyn()
			return
		default:
			h.counters.TCPOutOfWindow++
			if len(payload) > 0 && seq.Add(uint32(len(payload))).LessThanEq(c.rcvNxt) {
				h.counters.TCPDuplicateSegments++
				c.noteDuplicate(seq, seq.Add(uint32(len(payload)))) // D-SACK (dsack.go)
			}
			if c.state == StateTimeWait && fin {
				// RFC 9293 §3.10.7.4 eighth step, TIME-WAIT: a retransmitted
				// FIN is acknowledged and restarts the 2 MSL timeout.
				c.setTimer(&c.tm.closeAt, h.env.Now()+2*h.cfg.MSL)
			}
			if segLen > 0 && !syn {
				// Data or a FIN the peer sent on its own: not part of an
				// ACK loop, and its ACK resynchronises the sender, so it
				// is not rate-limited (Linux tcp_oow_rate_limited).
				c.sendAck()
			} else {
				c.sendInvalidAck(ackOutOfWindow)
			}
			return
		}
	}

	// Second: check the RST bit (RFC 5961 §3.2, adopted by RFC 9293
	// §3.10.7.4): only a RST at exactly RCV.NXT is acted on.
	if rst {
		if seq != c.rcvNxt {
			h.counters.TCPChallengeACKs++
			c.sendInvalidAck(ackChallenge)
			return
		}
		h.counters.TCPRstReceived++
		switch c.state {
		case StateSynReceived:
			if c.tfo.passive {
				// fastopen.go: the application may hold it already (or
				// will accept it and read the SYN's data): a reset, as Linux.
				c.fail(errReset)
				return
			}
			if c.listener != nil {
				// Passive open: "return this connection to LISTEN"; the
				// listener never saw it, so it simply disappears.
				h.counters.TCPAttemptFails++
				c.remove()
				return
			}
			c.fail(errRefused) // active open (simultaneous): connection refused
		case StateEstablished, StateFinWait1, StateFinWait2, StateCloseWait:
			h.counters.TCPEstabResets++
			c.fail(errReset)
		default: // CLOSING, LAST-ACK, TIME-WAIT: enter CLOSED, delete the TCB
			c.remove()
		}
		return
	}

	// Fourth: a SYN in a synchronized state (or a new SYN in
	// SYN_RECEIVED) gets a challenge ACK (RFC 5961 §4.2, RFC 9293
	// §3.10.7.4 fourth step).
	if syn {
		h.counters.TCPChallengeACKs++
		c.sendInvalidAck(ackChallenge)
		return
	}

	// Fifth: check the ACK field. Without ACK, drop.
	if f&segment.FlagACK == 0 {
		h.counters.TCPDropInState++
		return
	}
	if c.state == StateSynReceived {
		// "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state
		// ... If the segment acknowledgment is not acceptable, form a reset
		// segment <SEQ=SEG.ACK><CTL=RST> and send it."
		if !(th.Ack.GreaterThan(c.sndUna) && th.Ack.LessThanEq(c.sndMax)) {
			h.sendResetFor(c.key, th, len(payload))
			return
		}
		c.tsRTT(th, th.Ack)
		if c.tfo.passive {
			c.ackSyn(c.iss.Add(1)) // data we sent from SYN_RECEIVED: processAck below (fastopen.go)
		} else {
			c.ackSyn(th.Ack)
		}
		c.sndWnd = uint32(th.Window) << c.sndWndShift
		c.maxSndWnd = c.sndWnd
		c.sndWl1, c.sndWl2 = seq, th.Ack
		c.establish()
	}
	if !th.Ack.GreaterThan(c.sndMax) {
		c.tsUpdateRecent(th) // RFC 7323 §5.3 R3, for a segment not dropped below
	}
	if !c.processAck(th, len(payload)) {
		c.output()
		return
	}
	switch c.state {
	case StateFinWait1:
		if c.finAcked {
			// "if the FIN segment is now acknowledged, then enter FIN-WAIT-2"
			c.state = StateFinWait2
			if c.rdClosed {
				// Orphaned: bound FIN_WAIT_2 as Linux's tcp_fin_timeout does.
				c.setTimer(&c.tm.closeAt, h.env.Now()+h.cfg.FinWait2Timeout)
			}
		}
	case StateClosing:
		if c.finAcked {
			c.enterTimeWait()
		}
	case StateLastAck:
		if c.finAcked {
			// "If our FIN is now acknowledged, delete the TCB, enter the
			// CLOSED state, and return."
			c.remove()
			return
		}
	}

	// Seventh and eighth: text and FIN.
	if len(payload) > 0 {
		c.ecnReceived(th) // ecn.go: CE and CWR
	}
	if len(payload) > 0 || fin {
		c.processText(th, seq, payload, fin)
		if c.state == StateClosed {
			return
		}
	}
	c.output()
}

// inputSimultaneousSynAck completes a simultaneous open (RFC 9293 §3.5,
// Figure 8, line 6): in SYN_RECEIVED reached from SYN_SENT, the peer's
// SYN,ACK repeats the SYN we already answered (SEG.SEQ = IRS) and
// acknowledges ours. The figure has the host enter ESTABLISHED on it. Taken
// literally, §3.10.7.4's first step would reject the segment (its one
// sequence number, the SYN, is below RCV.NXT) and its fourth step would
// answer the SYN with a challenge ACK, leaving the open to wait for a later
// bare ACK that a peer in the same state never has to send. Linux
// (tcp_validate_incoming) exempts exactly this case and then processes the
// ACK; so do we. The repeated SYN is acknowledged, as Linux does for an old
// sequence number, and any text after it is taken as at RCV.NXT.
func (c *Conn) inputSimultaneousSynAck(th *segment.Header, payload []byte, fin bool) {
	c.ackSyn(th.Ack)
	c.sndWnd = uint32(th.Window) // the window of a SYN is never scaled (RFC 7323 §2.2)
	c.maxSndWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = th.Seq, th.Ack
	c.establish()
	c.ackNow = true
	if len(payload) > 0 || fin {
		c.processText(th, c.rcvNxt, payload, fin)
		if c.state == StateClosed {
			return
		}
	}
	c.output()
}

// acceptable is RFC 9293 §3.10.7.4's table of four cases for the
// sequence-number check.
func acceptable(seq segment.Seq, segLen uint32, rcvNxt segment.Seq, rcvWnd uint32) bool {
	switch {
	case segLen == 0 && rcvWnd == 0:
		return seq == rcvNxt
	case segLen == 0:
		return seq.InWindow(rcvNxt, rcvWnd)
	case rcvWnd == 0:
		return false
	default:
		return seq.InWindow(rcvNxt, rcvWnd) || seq.Add(segLen-1).InWindow(rcvNxt, rcvWnd)
	}
}

// processAck is the fifth step for synchronized states. It returns false if
// the segment must be dropped (an ACK of data never sent).
func (c *Conn) processAck(th *segment.Header, payloadLen int) bool {
	ack := th.Ack
	// "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then
	// send an ACK, drop the segment, and return." (sndMax is RFC's SND.NXT.)
	if ack.GreaterThan(c.sndMax) {
		c.h.counters.TCPAckTooNew++
		c.sendInvalidAck(ackUnsentData)
		return false
	}
	// RFC 5961 §5.2: an ACK older than SND.UNA − MAX.SND.WND cannot come
	// from the peer's current view: send an ACK and drop the segment.
	if c.maxSndWnd > 0 && ack.LessThan(c.sndUna.Add(-c.maxSndWnd)) {
		c.h.counters.TCPAckTooOld++
		c.sendInvalidAck(ackChallenge) // Linux sends it as a challenge ACK
		return false
	}
	c.lastAckAt = c.h.env.Now()
	una, sackedBefore := c.sndUna, c.sacked.bytes
	var lostBefore segment.Seq
	var rackLostBefore uint64
	if c.ecn.ok || c.ecn.prr { // what cwrAck needs, only when it may run
		lostBefore, rackLostBefore = c.lossBoundary(), c.h.counters.TCPRACKLost
	}
	c.ccAckStart(th)
	c.ecnAck(th)    // ecn.go: ECE
	c.probesOut = 0 // the peer answers: keep probing (RFC 1122 §4.2.2.17)
	win := uint32(th.Window) << c.sndWndShift
	switch {
	case c.sackOK:
		// RFC 6675 (rfc6675.go). Without SACK blocks, RACK or a recovery,
		// an ACK that does not move SND.UNA changes nothing there.
		if th.Options.NumSACK > 0 || ack.GreaterThan(c.sndUna) || c.rackOn() || c.cc.inRecovery() {
			c.onSACKAck(th)
		}
	case ack.GreaterThan(c.sndUna):
		c.tsRTT(th, ack) // RFC 7323 §4.1: before newAck restarts the timer
		c.newAck(ack)
	case ack == c.sndUna && payloadLen == 0 && th.Flags&(segment.FlagSYN|segment.FlagFIN) == 0 &&
		win == c.sndWnd && c.sndMax != c.sndUna:
		// RFC 5681 §2: a duplicate ACK acknowledges nothing new, carries no
		// data, SYN or FIN, leaves the window unchanged, and arrives while
		// data is outstanding.
		c.stats.dupAcksIn++
		if c.onDupAckUndo() { // cc.onDupAck (undo.go)
			c.h.counters.TCPFastRetrans++
			c.stats.fastRetrans++
			c.retransmitFirst()
		}
	}
	if c.tlp.out && c.sndUna == una && payloadLen == 0 && win == c.sndWnd &&
		th.Flags&(segment.FlagSYN|segment.FlagFIN) == 0 {
		c.tlpOnDupAck(th, c.sacked.bytes != sackedBefore) // tlp.go: the probe was a duplicate
	}
	if c.ecn.prr { // ecn.go: the window's reduction for an ECN echo or a local drop
		c.cwrAck(int(c.sndUna.Sub(una))+c.sacked.bytes-sackedBefore,
			c.sndUna.GreaterThan(una) && !c.newlyLost(lostBefore, rackLostBefore))
	}
	if c.undoAck(th, una, payloadLen) { // undo.go, frto.go: spurious retransmissions
		c.rackAfterUndo()
	}
	c.ccAckEnd() // ccapi.go: a delivery-rate sample
	// Window update: "If SND.UNA =< SEG.ACK =< SND.NXT ... If (SND.WL1 <
	// SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND <-
	// SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK."
	if c.sndUna.LessThanEq(ack) &&
		(c.sndWl1.LessThan(th.Seq) || (c.sndWl1 == th.Seq && c.sndWl2.LessThanEq(ack))) {
		if win > c.sndWnd {
			c.persistBackoff = 0
			c.h.notifyConn(c, EventWritable)
		}
		c.sndWnd = win
		c.sndWl1, c.sndWl2 = th.Seq, ack
		c.maxSndWnd = max(c.maxSndWnd, win)
	}
	return true
}

// newAck handles an ACK that advances SND.UNA.
func (c *Conn) newAck(ack segment.Seq) {
	h := c.h
	now := h.env.Now()
	acked := ack.Sub(c.sndUna)
	// RFC 6298 §3 with Karn's algorithm: the timed segment was not
	// retransmitted (retransmission clears rttTiming).
	if c.rttTiming && ack.GreaterThan(c.rttSeq) {
		c.rttTiming = false
		c.rttSample(now - c.rttStart)
	}
	if c.sndUna == c.iss {
		acked-- // the SYN's sequence number is not data
	}
	if acked > 0 {
		c.noteDelivered(acked) // tcpi_delivered (fastopen.go)
	}
	if ack.GreaterThan(c.sndBufStart) {
		end := c.dataEnd()
		n := ack.Min(end).Sub(c.sndBufStart)
		c.sndBuf.drop(int(n)) // discard, with its memory-pressure step written out
		if c.sndBuf.mem != nil && c.sndBuf.mem.pressure {
			c.sndBuf.reclaim()
		}
		c.sndBufStart = c.sndBufStart.Add(n)
		c.stats.bytesAcked += uint64(n)
		h.notifyConn(c, EventWritable)
		if c.wrClosed && ack.GreaterThan(end) {
			c.finAcked = true // the FIN's sequence number is dataEnd
			acked--
		}
	}
	c.prevHighAck = c.sndUna
	c.sndUna = ack
	c.pullMarksToUna()
	if c.sndBuf.n == 0 {
		c.chronoStop(chronoBusy) // chrono.go: everything written is acknowledged
	}
	c.noteDelivery(true)
	if c.sndNxt.LessThan(ack) {
		c.sndNxt = ack // after a go-back-N rollback, the peer had more than we resent
	}
	// Forward progress restarts the count of retransmissions for the
	// DataRetries limit (RFC 9293 §3.8.3 R2 counts them per segment), but
	// not the timer's backoff: an ACK of retransmitted data gives no RTT
	// sample (Karn), so the backed-off RTO stays in force until a fresh
	// sample collapses it (RFC 6298 §3 and the note after §5.7; rttSample
	// clears backoff). Linux does the same (tcp_ack_update_rtt).
	c.rtxCount = 0
	retransmit := c.cc.onAck(acked)
	// RFC 6298 §5.2 and §5.3: stop the timer when all is acknowledged,
	// otherwise restart it.
	if c.sndUna == c.sndMax {
		c.tm.rtxAt = 0
	} else {
		c.setTimer(&c.tm.rtxAt, now+c.currentRTO())
	}
	if c.sackOK {
		c.sacked.trimBelow(ack)
	}
	if retransmit && !c.sackOK {
		c.retransmitFirst() // RFC 6582 §3.2 step 4: partial ACK (with SACK, NextSeg decides: rfc6675.go)
	}
}

// processText is the seventh and eighth steps: segment text and FIN, of
// the segment th (whose text, trimmed, starts at seq).
func (c *Conn) processText(th *segment.Header, seq segment.Seq, payload []byte, fin bool) {
	if len(payload) > 0 {
		if !c.state.canReceiveData() {
			// CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not
			// occur since a FIN has been received from the remote side.
			// Ignore the segment text."
			payload = nil
		} else if c.rdClosed && seq.Add(uint32(len(payload))).GreaterThan(c.rcvNxt) {
			// New data for an application that has closed: nobody will read
			// it. Linux resets the connection (tcp_rcv_state_process);
			// RFC 9293 leaves it open. We follow Linux so that such a peer
			// learns at once, and answer as Linux does (tcp_v4_send_reset
			// of the segment): <SEQ=SEG.ACK><CTL=RST>, the reset RFC 9293
			// gives a segment that does not belong to a connection.
			c.h.counters.TCPEstabResets++
			c.h.sendResetFor(c.key, th, len(payload))
			c.fail(errReset)
			return
		} else {
			c.receiveData(seq, payload)
		}
	}
	if !fin {
		return
	}
	finSeq := seq.Add(uint32(len(payload)))
	switch {
	case c.rcvFin || finSeq.LessThan(c.rcvNxt):
		c.ackNow = true // a retransmitted FIN: acknowledge again
	case finSeq == c.rcvNxt:
		c.receiveFin()
	case finSeq.LessThanEq(c.rcvNxt.Add(c.rcvWnd())):
		c.finSeqValid, c.finSeq = true, finSeq // after a gap: hold it
		c.ackNow = true
	}
}

// receiveData places in-window text in the receive buffer.
func (c *Conn) receiveData(seq segment.Seq, p []byte) {
	h := c.h
	end := seq.Add(uint32(len(p)))
	if end.LessThanEq(c.rcvNxt) {
		h.counters.TCPDuplicateSegments++
		c.noteDuplicate(seq, end) // D-SACK (dsack.go)
		c.ackNow = true
		c.quickAckOnData(true)
		return
	}
	// Trim what we already have (RFC 9293 §3.10.7.4: "segments with
	// higher beginning sequence numbers ... the part before RCV.NXT is
	// trimmed").
	if seq.LessThan(c.rcvNxt) {
		c.noteDuplicate(seq, c.rcvNxt) // D-SACK (dsack.go)
		p = p[c.rcvNxt.Sub(seq):]
		seq = c.rcvNxt
	}
	// Trim what does not fit the buffer: the window we advertised never
	// exceeds the free space, so only a misbehaving peer loses bytes here.
	limit := c.rcvNxt.Add(c.rcvWnd())
	if seq.GreaterThanEq(limit) {
		c.ackNow = true
		return
	}
	if end.GreaterThan(limit) {
		p = p[:limit.Sub(seq)]
		end = limit
	}
	// memFit returns p as it is when the ring already has room for it (or
	// is charged to no host): only the other case needs the call.
	if r := &c.rcvBuf; r.mem != nil && r.n+int(seq.Sub(c.rcvNxt))+len(p) > len(r.buf) || len(p) == 0 {
		if p = c.memFit(seq, p); len(p) == 0 {
			c.ackNow = true // memory.go: no room in the host's memory
			return
		}
	}
	end = seq.Add(uint32(len(p)))
	if len(p) > c.rcvSegMax {
		c.rcvSegMax = min(len(p), c.rcvMSS)
	}
	if seq == c.rcvNxt {
		c.dataRecvAt = h.env.Now() // tcpi_last_data_recv: in-order data, as Linux's tcp_event_data_recv
	}
	if seq != c.rcvNxt {
		// Out of order: hold it at its place in the ring (RFC 9293
		// §3.10.7.4) and send an immediate duplicate ACK (RFC 5681 §4.2:
		// "A TCP receiver SHOULD send an immediate duplicate ACK when an
		// out-of-order segment arrives").
		c.noteOOODuplicate(seq, end) // D-SACK (dsack.go)
		if !c.reasm.insert(seq, end) {
			h.counters.TCPReassemblyDrops++
			c.ackNow = true
			return
		}
		c.rcvBuf.writeAt(c.rcvBuf.n+int(seq.Sub(c.rcvNxt)), p)
		c.lastOOO = seq
		h.counters.TCPOutOfOrder++
		c.stats.oooSegsIn++
		c.dupAckNow = true
		c.quickAckOnData(true)
		return
	}
	c.rcvBuf.writeAt(c.rcvBuf.n, p)
	n := len(p)
	newNxt := end
	if !c.reasm.empty() {
		newNxt = c.reasm.advance(end)
		// RFC 5681 §4.2: ACK at once when a segment fills (part of) a gap.
		c.ackNow = true
	}
	n += int(newNxt.Sub(end))
	c.rcvBuf.n += n
	c.rcvNxt = newNxt
	c.stats.bytesIn += uint64(n)
	c.rcvUnacked += len(p)
	// RFC 9293 §3.8.6.3 / RFC 5681 §4.2: acknowledge at least every second
	// full-sized segment; the delayed-ACK timer covers the rest.
	if c.rcvUnacked >= 2*max(c.rcvSegMax, 1) || h.cfg.DelayedAck < 0 {
		c.ackNow = true
	}
	c.quickAckOnData(false) // quickack.go: every segment at once at the start and after idle
	h.notifyConn(c, EventReadable)
	if c.finSeqValid && c.finSeq == c.rcvNxt {
		c.finSeqValid = false
		c.receiveFin()
	}
}

// receiveFin processes the peer's FIN once every byte before it has
// arrived (RFC 9293 §3.10.7.4, eighth step).
func (c *Conn) receiveFin() {
	c.rcvNxt = c.rcvNxt.Add(1)
	c.rcvAdv = c.rcvAdv.Add(1) // the FIN used a sequence number but no buffer space
	c.rcvFin = true
	c.finSeqValid = false
	c.ackNow = true // RFC 9293: "advance RCV.NXT over the FIN, and send an acknowledgment"
	switch c.state {
	case StateSynReceived, StateEstablished:
		c.state = StateCloseWait
	case StateFinWait1:
		// Our FIN not yet acknowledged (else we would be in FIN_WAIT_2).
		c.state = StateClosing
	case StateFinWait2:
		c.enterTimeWait()
	}
	c.h.notifyConn(c, EventReadable)
}

// enterTimeWait starts the 2×MSL TIME_WAIT (RFC 9293 §3.10.7.4).
func (c *Conn) enterTimeWait() {
	c.state = StateTimeWait
	c.orphanDone()
	c.tm.rtxAt, c.tm.persistAt = 0, 0
	// Everything we sent is acknowledged: the send ring's memory can go
	// now rather than after 2×MSL (a receive ring holding unread data
	// stays for the application).
	c.sndBuf.release()
	if c.rcvBuf.n == 0 {
		c.rcvBuf.release()
	}
	c.releaseRackSegs()
	c.setTimer(&c.tm.closeAt, c.h.env.Now()+2*c.h.cfg.MSL)
}

// onCloseTimer ends TIME_WAIT or an orphaned FIN_WAIT_2.
func (c *Conn) onCloseTimer() {
	switch c.state {
	case StateTimeWait, StateFinWait2:
		c.remove()
	}
}

// fail ends the connection with a terminal error.
func (c *Conn) fail(err error) {
	if c.state == StateClosed {
		return
	}
	switch c.state {
	case StateSynSent, StateSynReceived:
		c.h.counters.TCPAttemptFails++
	}
	if err == errTimedOut && (c.state == StateSynSent || c.state == StateSynReceived) {
		err = errConnectTimedOut
	}
	if c.err == nil {
		c.err = err
	}
	c.h.notifyConn(c, EventError|EventReadable|EventWritable)
	c.remove()
}

// remove deletes the connection from the host's tables: CLOSED.
func (c *Conn) remove() {
	if c.state == StateClosed {
		return
	}
	h := c.h
	if h.conns[c.key] == c {
		delete(h.conns, c.key)
	}
	if h.lastConn == c {
		h.lastConn = nil
	}
	c.fastOpenDone() // fastopen.go
	if l := c.listener; l != nil && !c.fastOpenKeepQueued() {
		l.unlink(c)
		c.listener = nil
	}
	c.state = StateClosed
	c.orphanDone()
	c.tm = connTimers{}
	c.sndBuf.release()
	c.releaseRackSegs()
	c.reasm.reset()
	if c.aborted || c.rcvBuf.n == 0 {
		c.rcvBuf.release() // nothing left for the application to read
	}
	h.notifyConn(c, EventClosed)
}
