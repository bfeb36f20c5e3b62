package stack

import (
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// RACK: time-based loss detection (RFC 8985 §6), for connections that
// negotiated SACK, when TCPConfig.RACK is on (the linux profile sets it, as
// Linux's tcp_recovery=1). A segment is lost when a segment sent after it
// has been delivered (acknowledged or SACKed) and more than RACK.rtt +
// RACK.reo_wnd has passed since it was sent: reordering shorter than the
// window is told apart from loss by time, not by counting duplicate ACKs.
//
// The window starts at 0 while no reordering has been seen (so that, as
// with three duplicate ACKs, the first SACKed data behind a hole marks it
// lost at once in recovery or once DupThresh segments are SACKed), and is
// min_RTT/4 otherwise (reordering is seen when a segment sent once is
// delivered below the highest delivered, or a D-SACK comes), times a multiplier that each round of D-SACKs raises
// (a spurious retransmission shows the window was too small) and 16
// recoveries without one bring back to 1; it never exceeds SRTT. A segment
// that is not lost yet, but would be within the window, arms the reorder
// timer for the moment it would be.
//
// With RACK on, recovery starts only when RACK marks a segment lost (not on
// DupThresh duplicate ACKs, as Linux's tcp_time_to_recover), lost segments
// are what NextSeg rule (1) retransmits, and a retransmission that is lost
// again is found the same way. The tail loss probe (RFC 8985 §7) is in
// tlp.go.
//
// The transmit record is one entry per segment sent, in sequence order,
// covering SND.UNA to SND.MAX.

type rackSeg struct {
	start, end segment.Seq // the segment's sequence space, its FIN included
	xmit       time.Duration
	retrans    bool // sent more than once
	sacked     bool
	lost       bool // RACK marked it lost and it has not been sent again since
	marked     bool // RACK marked it lost at some time and it has not been delivered (Linux's TCPCB_LOST, for tcpi_lost)
	psh        bool // its first transmission carried PSH (push.go: a retransmission ending here carries it again)
}

// releaseRackSegs gives the segment list's array back to the host once the
// connection has nothing left in flight (TIME_WAIT, CLOSED): a connection
// waiting out TIME_WAIT keeps no memory for its peak window, and the next
// connection's list starts in it instead of growing its own by doubling.
func (c *Conn) releaseRackSegs() {
	r := &c.rack
	if len(r.segs) != 0 || r.segs == nil {
		return
	}
	if m := &c.h.mem; !m.pressure && len(m.rackSpare) < maxRackSpare {
		m.rackSpare = append(m.rackSpare, r.segs)
	}
	r.segs = nil
}

// maxRackSpare bounds the segment lists a host keeps for reuse.
const maxRackSpare = 256

type rackState struct {
	segs []rackSeg

	// RACK.xmit_ts, RACK.end_seq and RACK.rtt: of the most recently sent
	// segment among those delivered.
	xmit   time.Duration
	endSeq segment.Seq
	rtt    time.Duration
	set    bool

	minRTT     time.Duration // the least RTT measured on a segment sent once (see rackMinRTT)
	fack       segment.Seq   // the highest sequence delivered (RACK.fack)
	fackSet    bool
	reordering bool // RACK.reordering_seen
	reoMult    int  // RACK.reo_wnd_mult
	reoPersist int  // RACK.reo_wnd_persist
	dsackRound segment.Seq
	dsackSet   bool
	recovering bool // in recovery at the last ACK (to see one end)
	lossSend   bool // outside recovery, after an RTO: segments marked lost may wait to be resent (rackLossSend)
}

func (c *Conn) rackOn() bool { return c.h.cfg.RACK && c.sackOK }

// rackSent records a segment [seq, next) sent now; psh says whether it
// carried PSH.
func (c *Conn) rackSent(seq, next segment.Seq, psh bool) {
	if c.rackOn() {
		c.rackRecord(seq, next, psh)
	}
}

// rackRecord is rackSent with RACK on.
func (c *Conn) rackRecord(seq, next segment.Seq, psh bool) {
	if !c.rackOn() || !next.GreaterThan(seq) {
		return
	}
	r := &c.rack
	now := c.h.env.Now()
	if seq.LessThan(c.sndMax) { // a retransmission, perhaps with new data behind
		for i := range r.segs {
			s := &r.segs[i]
			if s.end.LessThanEq(seq) {
				continue
			}
			if !s.start.LessThan(next) {
				break
			}
			s.xmit, s.retrans, s.lost = now, true, false
		}
		seq = c.sndMax
	}
	if next.GreaterThan(seq) {
		if r.segs == nil {
			if sp := c.h.mem.rackSpare; len(sp) > 0 {
				r.segs = sp[len(sp)-1]
				sp[len(sp)-1] = nil
				c.h.mem.rackSpare = sp[:len(sp)-1]
			}
		}
		r.segs = append(r.segs, rackSeg{start: seq, end: next, xmit: now, psh: psh})
	}
}

// rackDelivered updates RACK for a segment just acknowledged or SACKed
// (RFC 8985 §6.2 steps 1–3).
func (c *Conn) rackDelivered(s *rackSeg, now time.Duration) {
	r := &c.rack
	rtt := now - s.xmit
	if !s.retrans {
		if r.minRTT == 0 || rtt < r.minRTT {
			r.minRTT = rtt
		}
	} else if rtt < c.rackMinRTT() {
		return // too quick for this transmission: the original arrived
	}
	if c.h.cfg.LinuxRACK {
		// Linux's tcp_rack_advance: RACK.rtt is the RTT of the last
		// segment processed, sent last or not.
		r.rtt = rtt
	}
	if !r.set || s.xmit > r.xmit || s.xmit == r.xmit && s.end.GreaterThan(r.endSeq) {
		r.xmit, r.endSeq, r.set = s.xmit, s.end, true
		r.rtt = rtt
	}
	if !s.retrans && s.end.LessThan(r.fack) {
		// Sent once and delivered below the highest delivered before this
		// ACK: out of order. A retransmission filling a hole below SACKed
		// data is no evidence of reordering (RFC 8985 §6.2 step 3 counts
		// never-retransmitted segments only; Linux's tcp_clean_rtx_queue
		// and tcp_sacktag_one skip TCPCB_RETRANS ones).
		r.reordering = true
	}
}

// rackOnAck runs after an ACK has updated SND.UNA and the scoreboard: it
// takes the delivered segments out of the record, updates RACK, and marks
// lost segments. It reports whether any segment is lost and not yet resent.
func (c *Conn) rackOnAck(dsack bool) bool {
	r := &c.rack
	now := c.h.env.Now()
	una := c.sndUna
	if !r.fackSet {
		r.fack, r.fackSet = c.iss, true // below every byte sent
	}
	fack := r.fack
	c.reorderOnAck(una) // reorder.go: tcpi_reordering, before the record changes
	if c.h.cfg.LinuxRACK {
		// Linux takes the newly SACKed segments (tcp_sacktag_write_queue)
		// before the cumulatively acknowledged ones (tcp_clean_rtx_queue),
		// each in sequence order; the order decides RACK.rtt.
		fack = c.rackNewlySACKed(una, fack, now)
	}
	// Delivered: everything below SND.UNA, and what the scoreboard holds.
	k := 0
	for k < len(r.segs) && r.segs[k].end.LessThanEq(una) {
		if !r.segs[k].sacked {
			c.rackDelivered(&r.segs[k], now)
		}
		fack = fack.Max(r.segs[k].end)
		k++
	}
	r.segs = r.segs[:copy(r.segs, r.segs[k:])]
	if len(r.segs) > 0 && r.segs[0].start.LessThan(una) {
		r.segs[0].start = una
	}
	r.fack = c.rackNewlySACKed(una, fack, now)
	c.rackUpdateWindow(dsack)
	return c.rackDetectLoss(now)
}

// rackNewlySACKed marks delivered the segments above una that the
// scoreboard holds and the record does not yet, and returns fack raised to
// the highest of them.
func (c *Conn) rackNewlySACKed(una, fack segment.Seq, now time.Duration) segment.Seq {
	for i := range c.rack.segs {
		s := &c.rack.segs[i]
		if !s.sacked && una.LessThan(s.end) && c.sackedRange(s.start, s.end) {
			s.sacked, s.lost, s.marked = true, false, false
			c.rackDelivered(s, now)
			fack = fack.Max(s.end)
		}
	}
	return fack
}

// sackedRange reports whether the scoreboard holds all of [s, e).
func (c *Conn) sackedRange(s, e segment.Seq) bool {
	for _, b := range c.sacked.blocks {
		if b.start.LessThanEq(s) && e.LessThanEq(b.end) {
			return true
		}
		if b.start.GreaterThan(s) {
			break
		}
	}
	return false
}

// rackMinRTT is RACK.min_RTT: the least RTT measured, on the segments RACK
// sees delivered (sent once) and on every RTT sample RFC 6298 takes, the
// handshake's included (RFC 8985 §6.2 step 1 takes min_RTT from the RFC
// 6298 and RFC 7323 measurements; Linux's tcp_min_rtt counts the SYN's
// sample too). Without the handshake's, the first ACK of a flight would
// set min_RTT to whatever that ACK's RTT is, queueing or a lost ACK
// included, and the reordering window would follow.
func (c *Conn) rackMinRTT() time.Duration {
	m := c.rack.minRTT
	if h := c.ccx.minRTT; h > 0 && (m == 0 || h < m) {
		m = h
	}
	return m
}

// rackUpdateWindow is RFC 8985 §6.2 step 4's bookkeeping of reo_wnd_mult.
func (c *Conn) rackUpdateWindow(dsack bool) {
	r := &c.rack
	if r.reoMult == 0 {
		r.reoMult = 1
	}
	if r.dsackSet && !c.sndUna.LessThan(r.dsackRound) {
		r.dsackSet = false
	}
	if dsack {
		// A D-SACK shows a retransmission was spurious: the original was
		// only late, delivered out of order, which step 3 cannot see once
		// the segment has been resent. Linux's tcp_sacktag_one likewise
		// takes a D-SACKed retransmission as a reordering point.
		r.reordering = true
	}
	inRec := c.cc.inRecovery()
	switch {
	case dsack && !r.dsackSet:
		r.dsackRound, r.dsackSet = c.sndNxt, true
		r.reoMult++
		r.reoPersist = 16
	case r.recovering && !inRec:
		if r.reoPersist--; r.reoPersist <= 0 {
			r.reoMult = 1
		}
	}
	r.recovering = inRec
}

// rackReoWnd is RACK.reo_wnd.
func (c *Conn) rackReoWnd() time.Duration {
	r := &c.rack
	if !r.reordering {
		if c.cc.inRecovery() {
			return 0
		}
		sacked := 0
		for _, s := range r.segs {
			if s.sacked {
				sacked++
			}
		}
		if sacked >= 3 {
			return 0
		}
	}
	w := c.rackMinRTT() / 4 * time.Duration(max(r.reoMult, 1))
	if c.srtt > 0 {
		w = min(w, c.srtt)
	}
	return w
}

// rackDetectLoss is RFC 8985 §6.2 step 5: it marks lost every segment sent
// before the most recently sent delivered one whose time is up, arms the
// reorder timer for the first that is not yet, and reports whether any
// segment is lost and not yet resent.
func (c *Conn) rackDetectLoss(now time.Duration) bool {
	r := &c.rack
	c.tm.rackAt = 0
	if !r.set {
		return false
	}
	reo := c.rackReoWnd()
	var wait time.Duration
	anyLost := false
	for i := range r.segs {
		s := &r.segs[i]
		if s.sacked {
			continue
		}
		if s.lost {
			anyLost = true
			continue
		}
		if s.xmit > r.xmit || s.xmit == r.xmit && !s.end.LessThan(r.endSeq) {
			continue // sent after (or is) the latest delivered: nothing to judge by
		}
		if remaining := s.xmit + r.rtt + reo - now; remaining <= 0 {
			s.lost, s.marked, anyLost = true, true, true
			c.h.counters.TCPRACKLost++
			r.lossSend = true // after an RTO, rackLossSend resends it; in recovery, NextSeg
		} else {
			wait = max(wait, remaining)
		}
	}
	if wait > 0 {
		c.setTimer(&c.tm.rackAt, now+wait)
	}
	return anyLost
}

// onRACKTimer is the reorder timer: time may have made segments lost.
func (c *Conn) onRACKTimer(now time.Duration) {
	if !c.rackOn() || !c.state.synchronized() || c.sndUna == c.sndMax {
		return
	}
	if !c.rackDetectLoss(now) {
		return
	}
	if !c.cc.inRecovery() && c.sndUna.GreaterThan(c.recover) {
		c.dupAcks = 2 // the controller counts the DupThresh-th duplicate
		if c.onDupAckUndo() {
			// No ACK delivered anything, but PRR counts one segment
			// delivered, as Linux's reorder timeout does
			// (tcp_rack_reo_timeout): with pipe at or below ssthresh the
			// recovery starts with one retransmission, not with a burst
			// up to ssthresh, and goes on one per segment the ACKs deliver.
			c.enterSACKRecovery(c.sndMSS)
		}
	}
	c.output()
}

// rackLostHole is NextSeg rule (1) under RACK: the first segment marked
// lost and not resent since, up to SMSS of it.
func (c *Conn) rackLostHole() (segment.Seq, uint32, bool) {
	data := c.dataEnd()
	for _, s := range c.rack.segs {
		if !s.lost || s.sacked {
			continue
		}
		// Data only: a FIN's sequence number is no byte of the buffer (a
		// lost FIN alone goes again by the rescue or the timer).
		if n := s.end.Min(data).Sub(s.start); s.start.LessThan(data) && n > 0 {
			return s.start, c.eorCap(s.start, min(n, uint32(c.sndMSS))), true
		}
	}
	return 0, 0, false
}

// rackPipe is the data in flight under RACK: every segment neither SACKed
// nor lost (a lost one that was resent counts again once resent).
func (c *Conn) rackPipe() uint32 {
	var p uint32
	for _, s := range c.rack.segs {
		if !s.start.LessThan(c.sndNxt) {
			break // after an RTO, data above SND.NXT is being resent: not in flight
		}
		if !s.sacked && !s.lost {
			p += s.end.Min(c.sndNxt).Sub(s.start)
		}
	}
	return p
}

// rackLossBoundary is the end of the highest lost segment (SND.UNA if
// none), for the checks that compare loss before and after an ACK.
func (c *Conn) rackLossBoundary() segment.Seq {
	b := c.sndUna
	for _, s := range c.rack.segs {
		if s.lost {
			b = b.Max(s.end)
		}
	}
	return b
}

// rackMarkOnRTO is RFC 8985 §6.3 (RACK_mark_losses_on_RTO), at an expiry
// of the retransmission timer: the first unacknowledged segment is lost
// (it was sent an RTO ago), and so is every other segment not SACKed that
// was sent at least RACK.rtt + RACK.reo_wnd ago. Those sent more recently
// may only be late: they stay in flight, and are resent only if RACK marks
// them lost later. The RFC's test is the one of RACK_detect_loss without
// its condition that a later-sent segment was delivered. Linux
// (tcp_timeout_mark_lost, LinuxRACK) uses no reordering window here.
//
// A SACKed segment the scoreboard no longer holds (the peer reneged,
// RFC 2018 §8, and checkReneging cleared it) is not SACKed any more: it is
// judged like the rest.
func (c *Conn) rackMarkOnRTO(now time.Duration) {
	r := &c.rack
	reo := time.Duration(0)
	if !c.h.cfg.LinuxRACK {
		reo = c.rackReoWnd()
	}
	for i := range r.segs {
		s := &r.segs[i]
		if s.sacked {
			if c.sackedRange(s.start, s.end) {
				continue
			}
			s.sacked = false
		}
		if s.lost {
			continue
		}
		if s.start.LessThanEq(c.sndUna) || s.xmit+r.rtt+reo-now <= 0 {
			s.lost, s.marked = true, true
		}
	}
	r.lossSend = true
}

// rackLossSend resends, after an RTO and outside a fast recovery, the
// segments RACK marked lost, in sequence order, while cwnd − pipe leaves a
// segment's room (Linux's tcp_xmit_retransmit_queue in its Loss state);
// new data follows as cwnd allows (sendOne). F-RTO (frto.go) holds it
// back while it waits for its verdict. Once nothing marked lost is left
// unsent, or the timeout's recovery is over (every byte outstanding at the
// RTO acknowledged), it stops: a loss found later starts a fast recovery.
func (c *Conn) rackLossSend() {
	r := &c.rack
	if !c.rackOn() || c.stats.timeouts == 0 || c.sndUna.GreaterThan(c.recover) {
		r.lossSend = false
		return
	}
	if c.frto.phase != 0 {
		return
	}
	smss := uint32(c.sndMSS)
	for c.cwnd >= c.pipe()+smss {
		s, n, ok := c.rackLostHole()
		if !ok {
			r.lossSend = false
			return
		}
		if !c.sendData(s, n, false) {
			return // refused by the host's own queue (localdrop.go)
		}
		c.rtoRearmHead(s) // rto.go
	}
}
