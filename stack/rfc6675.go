package stack

import (
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// SACK-based loss recovery (RFC 6675) for connections that negotiated SACK.
// Connections without SACK keep RFC 5681 duplicate ACKs and NewReno
// (input.go, newreno.go).
//
// The scoreboard (sack.go, c.sacked) holds the SACKed ranges above
// SND.UNA. In the RFC's names:
//
//   - HighACK is sndUna; HighData is sndNxt (equal to sndMax except during
//     the go-back-N resending after an RTO, when data above sndNxt counts
//     as lost); HighRxt is rtxNext − 1 (rtxNext is one past the highest
//     byte retransmitted in this recovery); RescueRxt is rescueRxt;
//     RecoveryPoint is recover (newreno.go: the highest byte sent when
//     recovery started).
//   - DupAck (§2): an ACK whose SACK blocks cover bytes between HighACK and
//     HighData that were neither acknowledged nor SACKed before. It counts
//     whether or not it also moves SND.UNA, changes the window or carries
//     data, which RFC 5681's definition does not allow; an ACK bringing no
//     new SACK information does not count.
//   - IsLost(seq) (§4): more than (DupThresh − 1)·SMSS bytes SACKed above
//     seq, or DupThresh SACKed segments above it. We do not keep segment
//     boundaries, so a SACKed range counts as ⌈length/SMSS⌉ segments (exact
//     for full-sized segments). Every byte of a hole sees the same SACKed
//     data above it, so a hole is lost or not as a whole, and the lost holes
//     are exactly those below one boundary (lossBoundary).
//   - pipe (§4, SetPipe): the bytes in [HighACK, HighData) not SACKed that
//     are not lost, plus those retransmitted in this recovery (below
//     HighRxt), which count once more. Outside recovery HighRxt = HighACK
//     and nothing is lost yet (§5 step 2.c), so pipe is just the bytes not
//     SACKed; the sender uses it in place of SND.NXT − SND.UNA whenever
//     SACK is in use (sendOne), which is also how limited transmit
//     (RFC 3042) follows from §5 step 2.c.
//
// §5: DupThresh (3) DupAcks, or IsLost(HighACK+1) on any DupAck, start
// recovery unless the cumulative ACK is still at or below RecoveryPoint
// (after an RTO, everything sent before it must be acknowledged first,
// §5.1); the congestion controller sets ssthresh (cc.onDupAck). The first
// segment goes at once (4.3), HighRxt and RescueRxt are set to its end; then
// and on every later ACK of the recovery, while cwnd − pipe ≥ SMSS, NextSeg
// picks what to send (step C): (1) the first lost hole byte above HighRxt,
// (2) new data, (3) any hole byte above HighRxt below the highest SACKed
// byte, (4) once per recovery, after the first retransmission is
// acknowledged, a rescue retransmission of the segment that holds the
// highest unSACKed byte (it does not move HighRxt). An ACK below SND.UNA
// still updates the scoreboard and may send.
//
// An RTO ends recovery (§5.1) and keeps the scoreboard: the go-back-N
// resending skips data SACKed before or after the timeout (sendOne,
// retransmitFirst). Only evidence of reneging (RFC 2018 §8) clears it: a
// cumulative ACK that stops exactly at the left edge of a SACKed range, which
// a receiver still holding that range would have acknowledged; the
// retransmission timer then fires early (checkReneging).

// onSACKAck is the fifth step's ACK processing for a SACK connection, once
// the ACK is acceptable (input.go processAck).
func (c *Conn) onSACKAck(th *segment.Header) {
	ack := th.Ack
	una, sackedBefore := c.sndUna, c.sacked.bytes
	lostBefore, rackLostBefore := c.lossBoundary(), c.h.counters.TCPRACKLost
	var newly uint32
	if th.Options.NumSACK > 0 {
		newly = c.updateScoreboard(&th.Options, ack)
	}
	advanced := ack.GreaterThan(una)
	if advanced {
		c.tsRTT(th, ack) // RFC 7323 §4.1 (timestamps.go): before newAck restarts the timer
		c.newAck(ack)    // §5 (1): a cumulative ACK resets DupAcks (cc.onAck)
		c.checkReneging()
	}
	rackLost := false
	if c.rackOn() {
		dsack := th.Options.NumSACK > 0 && c.isDSACK(&th.Options, ack)
		rackLost = c.rackOnAck(dsack) // rack.go
		c.tlpOnAck(ack, dsack)        // tlp.go
		if advanced {
			// RFC 8985 §7.2: the PTO restarts on an ACK of new data, not
			// on one that only SACKs (Linux: FLAG_SET_XMIT_TIMER).
			defer c.tlpArm()
		}
	}
	// RFC 6937 DeliveredData: newly acknowledged plus the change in SACKed.
	delivered := int(c.sndUna.Sub(una)) + c.sacked.bytes - sackedBefore
	if c.cc.inRecovery() {
		// (B): the scoreboard is updated; PRR sets cwnd (prr.go), unless
		// the algorithm does (RecoveryCwndOwner), and output() runs step
		// (C).
		if c.ccx.recOwner == nil {
			c.prrAck(delivered, advanced && !c.newlyLost(lostBefore, rackLostBefore))
		}
		return
	}
	if !advanced && delivered > 0 {
		c.sackOnlyGrowth(uint32(delivered)) // cwndlimit.go
	}
	if newly == 0 || c.sndMax == c.sndUna {
		return
	}
	// §5 (2): a DupAck outside recovery.
	c.dupAcks++
	c.stats.dupAcksIn++
	if c.rackOn() {
		if !rackLost {
			return // RACK decides by time (rack.go), not by DupThresh
		}
	} else if c.dupAcks < 3 && !c.isLost(c.sndUna) {
		return // (2.c): limited transmit, by pipe (sendOne)
	}
	if !c.sndUna.GreaterThan(c.recover) {
		// §5 (4) and §5.1: no new recovery until the cumulative ACK passes
		// RecoveryPoint (after an RTO: everything sent before it). RFC
		// 6582 §4.1's heuristic, which the controller would apply, is for
		// duplicate ACKs without SACK.
		return
	}
	c.dupAcks = 2 // the controller counts the DupThresh-th duplicate
	if c.onDupAckUndo() {
		c.enterSACKRecovery(delivered)
	}
}

// enterSACKRecovery is §5 step (4) after the controller has set ssthresh
// and RecoveryPoint.
func (c *Conn) enterSACKRecovery(delivered int) {
	c.h.counters.TCPSackRecovery++
	// Nothing is retransmitted in this recovery yet: HighRxt = HighACK.
	// (A value left from an earlier recovery, or the zero value more than
	// 2^31 above SND.UNA, made the first pipe count far too much.)
	c.rtxNext = c.sndUna
	// (4.2) would set cwnd = ssthresh; PRR (prr.go) sets it on each ACK,
	// starting with this one, or the algorithm if it is a
	// RecoveryCwndOwner.
	c.prrStart()
	if !c.ccRecoveryStart() {
		c.prrAck(delivered, false)
	}
	// (4.3): retransmit the first segment, and set HighRxt and RescueRxt
	// to its end.
	n := c.firstSegLen()
	c.h.counters.TCPFastRetrans++
	c.stats.fastRetrans++
	if c.retransmitFirst() {
		c.rtoRearmHead(c.sndUna) // rto.go
	}
	c.rtxNext = c.sndUna.Add(n)
	c.rescueRxt = c.rtxNext.Add(^uint32(0))
}

// firstSegLen is the length of the segment at SND.UNA that retransmitFirst
// sends: at most SMSS, only data sent before, and not into SACKed data.
func (c *Conn) firstSegLen() uint32 {
	var n uint32
	if sent := c.dataEnd().Min(c.sndMax); sent.GreaterThan(c.sndUna) {
		n = min(sent.Sub(c.sndUna), uint32(c.sndMSS))
	}
	return c.eorCap(c.sndUna, c.capAtSACKed(c.sndUna, n))
}

// checkReneging clears the scoreboard when SND.UNA has stopped at the left
// edge of a SACKed range: the receiver no longer holds it (RFC 2018 §8).
func (c *Conn) checkReneging() {
	if len(c.sacked.blocks) > 0 && c.sacked.blocks[0].start == c.sndUna {
		c.reneged()
	}
}

// reneged is checkReneging's response.
func (c *Conn) reneged() {
	c.h.counters.TCPSACKReneging++
	c.sacked.reset()
	// What the peer dropped may have been skipped by a resending or
	// never be reported lost: as Linux (tcp_check_sack_reneging), let
	// the retransmission timer fire soon, after max(SRTT/2, 10 ms),
	// and resend everything from SND.UNA.
	c.setTimer(&c.tm.rtxAt, c.h.env.Now()+max(c.srtt/2, 10*time.Millisecond))
}

// isLost is RFC 6675 §4 IsLost(seq).
func (c *Conn) isLost(seq segment.Seq) bool {
	smss := uint32(c.sndMSS)
	var bytes, segs uint32
	for i := len(c.sacked.blocks) - 1; i >= 0; i-- {
		b := c.sacked.blocks[i]
		if b.end.LessThanEq(seq) {
			break
		}
		l := b.end.Sub(b.start.Max(seq.Add(1)))
		bytes += l
		segs += (l + smss - 1) / smss
		if bytes > 2*smss || segs >= 3 {
			return true
		}
	}
	return false
}

// lossBoundary returns the sequence number below which every unSACKed
// byte is lost (IsLost), sndUna if none is.
func (c *Conn) lossBoundary() segment.Seq {
	if len(c.sacked.blocks) == 0 && !c.h.cfg.RACK {
		return c.sndUna // nothing SACKed, no RACK: nothing lost
	}
	return c.lossBoundaryScan()
}

// lossBoundaryScan is lossBoundary's general case.
func (c *Conn) lossBoundaryScan() segment.Seq {
	if c.rackOn() {
		return c.rackLossBoundary()
	}
	smss := uint32(c.sndMSS)
	var bytes, segs uint32
	for i := len(c.sacked.blocks) - 1; i >= 0; i-- {
		b := c.sacked.blocks[i]
		l := b.end.Sub(b.start)
		bytes += l
		segs += (l + smss - 1) / smss
		if bytes > 2*smss || segs >= 3 {
			return b.start // the holes below this block are lost
		}
	}
	return c.sndUna
}

// pipe is RFC 6675 §4 SetPipe(): the bytes estimated to be in the network.
func (c *Conn) pipe() uint32 {
	una, hi := c.sndUna, c.sndNxt
	if !hi.GreaterThan(una) {
		return 0
	}
	if c.rackOn() {
		return c.rackPipe()
	}
	if len(c.sacked.blocks) == 0 && !c.cc.inRecovery() {
		return hi.Sub(una)
	}
	lost, rx := una, una
	if c.cc.inRecovery() {
		lost, rx = c.lossBoundary(), c.rtxNext.Max(una)
	}
	var p uint32
	count := func(s, e segment.Seq) { // an unSACKed range [s, e) below HighData
		if !e.LessThanEq(lost) {
			p += e.Sub(s) // not lost: the original is still in the network
		}
		if s.LessThan(rx) {
			p += rx.Min(e).Sub(s) // retransmitted in this recovery
		}
	}
	s := una
	for _, b := range c.sacked.blocks {
		if !s.LessThan(hi) {
			return p
		}
		if e := b.start.Min(hi); s.LessThan(e) {
			count(s, e)
		}
		s = s.Max(b.end)
	}
	if s.LessThan(hi) {
		count(s, hi)
	}
	return p
}

// sackUsable is how many bytes of new data sendOne may send: what the
// peer's window leaves beyond SND.NXT, and what cwnd leaves beyond pipe.
func (c *Conn) sackUsable(cwnd uint32) uint32 {
	var wnd, cw uint32
	if out := c.sndNxt.Sub(c.sndUna); c.sndWnd > out {
		wnd = c.sndWnd - out
	}
	var p uint32
	if len(c.sacked.blocks) == 0 && !c.h.cfg.RACK && c.sndNxt.GreaterThan(c.sndUna) && !c.cc.inRecovery() {
		p = c.sndNxt.Sub(c.sndUna) // pipe's common case, without the call
	} else {
		p = c.pipe()
	}
	if cwnd > p {
		cw = cwnd - p
	}
	return min(wnd, cw)
}

// nextHole is NextSeg rule (1) with lostOnly, rule (3) without: the first
// unSACKed range at or above rtxNext (above HighRxt), below the highest
// SACKed byte and below HighData, up to SMSS long.
func (c *Conn) nextHole(lostOnly bool) (segment.Seq, uint32, bool) {
	if lostOnly && c.rackOn() {
		return c.rackLostHole()
	}
	lost := c.lossBoundary()
	s := c.sndUna
	for _, b := range c.sacked.blocks {
		e := b.start.Min(c.sndNxt)
		if lostOnly && lost.LessThan(e) {
			break
		}
		if start := s.Max(c.rtxNext); start.LessThan(e) {
			return start, c.eorCap(start, min(e.Sub(start), uint32(c.sndMSS))), true
		}
		s = s.Max(b.end)
		if !s.LessThan(c.sndNxt) {
			break
		}
	}
	return 0, 0, false
}

// recoverySend is RFC 6675 §5 step (C): while cwnd − pipe ≥ SMSS, send
// what NextSeg returns.
func (c *Conn) recoverySend() {
	smss := uint32(c.sndMSS)
	for c.cwnd >= c.pipe()+smss {
		if s, n, ok := c.nextHole(true); ok { // rule (1)
			if !c.recoveryRetransmit(s, n, false) {
				return // refused by the host's own queue (localdrop.go)
			}
			c.rtxNext = s.Add(n) // (C.2)
			continue
		}
		if c.sendOne() { // rule (2): new data, as the windows allow
			continue
		}
		if c.rackOn() {
			// RACK decides what is lost; rules (3) and (4) would resend holes
			// whose segments are still in flight (a queue that delays them is
			// not a loss). Linux resends only what it marked lost.
			return
		}
		if s, n, ok := c.nextHole(false); ok { // rule (3)
			if !c.recoveryRetransmit(s, n, false) {
				return
			}
			c.rtxNext = s.Add(n)
			continue
		}
		if c.rescue() { // rule (4)
			continue
		}
		return
	}
}

// rescue is NextSeg rule (4): once per recovery, when the ACK clock would
// otherwise stall, retransmit the segment that holds the highest unSACKed
// byte outstanding. HighRxt is not moved.
func (c *Conn) rescue() bool {
	if !c.sndUna.GreaterThan(c.rescueRxt) {
		return false
	}
	// The highest unSACKed byte below HighData: the end of the range above
	// the last SACKed block, or of the last hole.
	top := c.sndNxt
	for i := len(c.sacked.blocks) - 1; i >= 0; i-- {
		b := c.sacked.blocks[i]
		if b.start.LessThan(top) && b.end.GreaterThanEq(top) {
			top = b.start // top lies inside or at the end of this block
		}
	}
	if !top.GreaterThan(c.sndUna) {
		return false
	}
	end := c.dataEnd()
	fin := false
	if top.GreaterThan(end) {
		top, fin = end, true // the FIN is outstanding: it rides on the rescue
	}
	start := c.sndUna
	if top.Sub(start) > uint32(c.sndMSS) {
		start = top.Add(-uint32(c.sndMSS))
	}
	for _, b := range c.sacked.blocks { // stay within the unSACKed range
		if b.end.LessThanEq(top) && b.end.GreaterThan(start) {
			start = b.end
		}
	}
	start = c.eorFloor(start, top)
	c.rescueRxt = c.recover
	c.h.counters.TCPRescueRetrans++
	return c.recoveryRetransmit(start, top.Sub(start), fin)
}

// recoveryRetransmit resends n bytes at s during SACK recovery. Like Linux
// we count every retransmission of a fast recovery as a fast retransmit.
func (c *Conn) recoveryRetransmit(s segment.Seq, n uint32, fin bool) bool {
	c.h.counters.TCPFastRetrans++
	c.stats.fastRetrans++
	if !c.sendData(s, n, fin) {
		return false
	}
	c.rtoRearmHead(s) // rto.go
	return true
}

// skipSACKed moves sndNxt past SACKed data during the go-back-N resending
// after an RTO: the receiver holds it (RFC 6675 §5.1).
func (c *Conn) skipSACKed() {
	for _, b := range c.sacked.blocks {
		if c.sndNxt.InRange(b.start, b.end) {
			c.sndNxt = b.end.Min(c.sndMax)
		}
	}
}

// capAtSACKed limits a segment of n bytes at s to end where SACKed data
// begins. Under RACK only whole segments count as SACKed, as Linux's
// scoreboard marks whole skbs: a block that covers part of a segment (the
// peer SACKed its last byte, say) does not cut the resend of that segment
// short.
func (c *Conn) capAtSACKed(s segment.Seq, n uint32) uint32 {
	if len(c.sacked.blocks) == 0 && len(c.rack.segs) == 0 {
		return n // nothing is SACKed
	}
	return c.capAtSACKedScan(s, n)
}

// capAtSACKedScan is capAtSACKed's general case.
func (c *Conn) capAtSACKedScan(s segment.Seq, n uint32) uint32 {
	if c.rackOn() && len(c.rack.segs) > 0 {
		for _, r := range c.rack.segs {
			if r.sacked && r.start.GreaterThan(s) {
				return min(n, r.start.Sub(s))
			}
		}
		return n
	}
	for _, b := range c.sacked.blocks {
		if b.start.GreaterThan(s) {
			return min(n, b.start.Sub(s))
		}
	}
	return n
}
