package stack

import "github.com/tcpsim/tcpsim/segment"

// F-RTO (RFC 5682; TCPConfig.FRTO), the SACK-enhanced variant of §3 as
// Linux runs it (tcp_process_loss with tcp_frto=2, for connections with and
// without SACK): after an RTO expiry, send new data before resending the
// rest of the window, and let the ACKs that follow say whether the timeout
// was spurious (the segments were delayed, not lost).
//
//  1. The timer expires: the first unacknowledged segment is retransmitted
//     as usual and cwnd reduced (rto.go), but the go-back-N resending is
//     held back: SND.NXT stays at SND.MAX. Data between the end of that
//     retransmission and SND.MAX (high) has been sent once only: the
//     originals. Not at an RTO in the middle of a fast recovery, unless the
//     timer expired again for the same data (Linux's condition; RFC 5682
//     §3 would not re-enter on a repeated timeout).
//  2. The first ACK that advances SND.UNA: if it acknowledges all up to
//     high, F-RTO ends and what is left is resent as usual (§3 step 2.a).
//     Otherwise up to two new segments are sent (2.b), beyond cwnd as the
//     RFC allows; without new data, or with no room in the peer's window,
//     F-RTO ends and the usual resending goes on.
//  3. The next ACK: a duplicate ACK, or one that SACKs new data without
//     delivering an original, shows the loss was real: the usual go-back-N
//     resending starts (3.a).
//
// At any step, an ACK that newly acknowledges or SACKs an original
// (Linux's FLAG_ORIG_SACK_ACKED) shows that data sent before the timeout
// was still arriving: the timeout was spurious. The reduction is undone
// (undo.go, counted in TCPSpuriousRTOs and TCPLossUndo) and nothing more is
// resent. In step 2, an ACK that acknowledges everything up to high gives
// no verdict (step 2.a; Linux would call it spurious when it newly
// acknowledges originals, although a lost first segment whose followers'
// ACKs were lost produces the same ACK).

type frtoState struct {
	eligible bool        // the expiring timer may start F-RTO (undoBeforeRTO)
	phase    uint8       // 0: off; 1: step 2, waiting for SND.UNA to advance; 2: step 3, new data sent
	rtxEnd   segment.Seq // end of the timeout's retransmission
	high     segment.Seq // SND.MAX when F-RTO started (Linux's high_seq)
	covered  uint32      // bytes of [rtxEnd, high) acknowledged or SACKed at the last ACK
	sacked   int         // c.sacked.bytes at the last ACK
}

// frtoAfterRTO is step 1, after the timeout's retransmission.
func (c *Conn) frtoAfterRTO() {
	c.undo.high = c.recover
	f := &c.frto
	f.phase = 0
	if !f.eligible || !c.undo.on {
		return
	}
	c.rtxTrim()
	f.phase, f.rtxEnd, f.high = 1, c.sndNxt, c.sndMax
	f.covered, f.sacked = c.frtoCovered(), c.sacked.bytes
	c.sndNxt = c.sndMax // hold the go-back-N resending
}

// frtoCovered counts the original bytes of [rtxEnd, high), sent once and
// never retransmitted, that are below SND.UNA or SACKed.
func (c *Conn) frtoCovered() uint32 {
	f := &c.frto
	lo, hi := f.rtxEnd, f.high
	if !lo.LessThan(hi) {
		return 0
	}
	rtx := &c.undo.rtx
	var n uint32
	if c.sndUna.GreaterThan(lo) {
		top := c.sndUna.Min(hi)
		n, lo = top.Sub(lo)-rtx.overlap(lo, top), top
	}
	for _, b := range c.sacked.blocks {
		if s, e := b.start.Max(lo), b.end.Min(hi); s.LessThan(e) {
			n += e.Sub(s) - rtx.overlap(s, e)
		}
	}
	return n
}

// frtoAck is steps 2 and 3 for one acceptable ACK while F-RTO runs. It
// reports whether the ACK undid the timeout.
func (c *Conn) frtoAck(th *segment.Header, advanced bool, payloadLen int) bool {
	f := &c.frto
	cov := c.frtoCovered()
	orig := cov > f.covered
	newlySacked := !advanced && c.sacked.bytes > f.sacked
	f.covered, f.sacked = cov, c.sacked.bytes
	all := !c.sndUna.LessThan(f.high)
	if orig && (f.phase == 2 || !all) {
		c.undoLoss(true)
		return true
	}
	switch f.phase {
	case 1:
		if !advanced {
			return false // step 2: wait for the cumulative ACK
		}
		if all {
			f.phase = 0 // 2.a: nothing left to decide
			return false
		}
		if c.frtoSendNew() {
			f.phase = 2 // 2.b
			return false
		}
		c.frtoEnd()
	case 2:
		dup := !advanced && payloadLen == 0 && uint32(th.Window)<<c.sndWndShift == c.sndWnd
		switch {
		case dup || newlySacked:
			c.frtoEnd() // 3.a: the loss was real
		case all:
			f.phase = 0
		}
	}
	return false
}

// frtoEnd gives up F-RTO for the conventional recovery: go-back-N from
// SND.UNA (the resending skips what the peer SACKed), or with RACK the
// resending of what RACK marked lost.
func (c *Conn) frtoEnd() {
	c.frto.phase = 0
	if c.rackOn() {
		// RACK marked at the timeout what was lost (rackMarkOnRTO) and
		// marks the rest as ACKs show it: those go again (rackLossSend),
		// not everything outstanding.
		c.rack.lossSend = true
		return
	}
	c.sndNxt = c.sndUna
}

// frtoSendNew is step 2.b: up to two new segments, as the peer's window
// allows. It reports whether any went.
func (c *Conn) frtoSendNew() bool {
	data := c.dataEnd()
	sent := false
	for i := 0; i < 2 && c.sndMax.LessThan(data); i++ {
		var room uint32
		if out := c.sndMax.Sub(c.sndUna); c.sndWnd > out {
			room = c.sndWnd - out
		}
		n := min(data.Sub(c.sndMax), uint32(c.sndMSS), room)
		if n == 0 {
			break
		}
		if !c.sendData(c.sndMax, n, c.wrClosed && c.sndMax.Add(n) == data) {
			break
		}
		sent = true
	}
	return sent
}
