package stack

import (
	"github.com/tcpsim/tcpsim/segment"
)

// Spurious-retransmission detection and undo (TCPConfig.Undo), as Linux
// does it (tcp_input.c's undo_marker, undo_retrans, retrans_stamp,
// prior_cwnd and prior_ssthresh): a fast recovery or an RTO reduces cwnd
// and ssthresh on the guess that data was lost. When later ACKs show that
// nothing was, the reduction is given back.
//
// An episode begins with the reduction: a fast recovery (RFC 5681 §3.2,
// RFC 6675 §5, RACK) or the first RTO expiry for the data (an RTO during a
// fast recovery, or repeated for the same data, continues the episode). It
// records SND.UNA (the undo marker), cwnd, and as prior ssthresh the larger
// of ssthresh and ¾·cwnd (Linux's tcp_current_ssthresh: a window that was
// growing in slow start goes back to slow start). Each retransmission of
// the episode is counted, every retransmitted range remembered, and the
// TSval of the oldest retransmission still unacknowledged is kept (Linux's
// retrans_stamp).
//
// Two detectors say that retransmissions were unnecessary:
//
//   - Eifel (RFC 3522), with timestamps: an ACK that advances SND.UNA and
//     echoes a TSval older than the oldest retransmission outstanding (the
//     episode's first, or one from before it not yet acknowledged) was
//     sent for an original transmission, which therefore arrived.
//   - D-SACK (RFC 3708 §3): each D-SACK block that reports a retransmitted
//     range above the marker as received twice takes one retransmission off
//     the count; at zero every retransmission of the episode was a
//     duplicate.
//
// The responses, with Linux's counters:
//
//   - at the ACK that ends a fast recovery, if a detector fired: full undo
//     (TCPFullUndo);
//   - during a fast recovery, an advancing ACK that Eifel says was for an
//     original while no retransmission is still unacknowledged: partial
//     undo (TCPPartialUndo), recovery ends;
//   - in or after a fast recovery, every retransmission D-SACKed: D-SACK
//     undo (TCPDSACKUndo), recovery ends if it was still on;
//   - after an RTO, an advancing ACK with a detector fired, or F-RTO's
//     verdict (frto.go): loss undo (TCPLossUndo; TCPSpuriousRTOs too for
//     F-RTO). The go-back-N resending stops: SND.NXT returns to SND.MAX.
//
// Undo sets cwnd to the larger of cwnd and its value before the reduction
// and ssthresh to the larger of ssthresh and the prior ssthresh (Linux's
// tcp_undo_cwnd_reduction with the algorithm's undo_cwnd). A window
// algorithm with state of its own restores it (CwndUndoer, ccapi.go): CUBIC goes
// back to its W_max, K and epoch from before the reduction (RFC 9438 §4.9;
// Linux's CUBIC only takes cwnd back), Reno has nothing more to restore.
// Segments RACK marked lost are unmarked, and a new fast recovery may start
// at once (RFC 6582's recover no longer covers the window that was not
// reduced). An ECN reduction is never undone and ends the episode, as
// Linux's CWR state clears the undo marker.
//
// Where this differs from the RFCs' own responses: RFC 3522 and RFC 3708
// are detection algorithms only; the response (RFC 4015 for Eifel) would
// also adapt the RTO. Like Linux we only restore the window.

type undoState struct {
	on       bool        // an episode may still be undone (Linux: undo_marker set)
	marker   segment.Seq // SND.UNA when the episode began (undo_marker)
	rec      bool        // the episode's fast recovery is under way
	loss     bool        // after an RTO, until SND.UNA passes high (Linux's Loss state)
	high     segment.Seq // the highest sequence number sent at the RTO (recover)
	retrans  int         // retransmissions not yet reported as duplicates (undo_retrans); -1 before the first
	cwnd     uint32      // cwnd before the reduction (prior_cwnd)
	ssthresh uint32      // max(ssthresh, ¾·cwnd) before the reduction (prior_ssthresh)
	rtxTS    uint32      // TSval of the oldest retransmission outstanding (retrans_stamp)
	rtxTSSet bool
	// The ranges retransmitted, in this episode or before (Linux's
	// TCPCB_EVER_RETRANS), above SND.UNA and, while the episode's recovery
	// or RTO is under way, above the marker (rtxTrim).
	rtx reassembly
}

// undoOn reports whether episodes are recorded: Undo's detectors and
// F-RTO's response both restore what was recorded.
func (c *Conn) undoOn() bool { return c.h.cfg.Undo || c.h.cfg.FRTO }

// undoBegin starts an episode whose reduction left cwnd and ssthresh in
// place of cw and ss.
func (c *Conn) undoBegin(cw, ss uint32, loss bool) {
	u := &c.undo
	u.on, u.marker, u.rec, u.loss = true, c.sndUna, !loss, loss
	u.retrans = -1
	u.cwnd, u.ssthresh = cw, max(ss, cw/2+cw/4)
	c.rtxTrim()
}

// rtxTrim forgets the retransmitted ranges no longer needed: those below
// SND.UNA, but while an episode's recovery or RTO is under way only those
// below its marker, for which no D-SACK counts. Never while F-RTO counts
// the originals delivered against the list.
func (c *Conn) rtxTrim() {
	if c.frto.phase != 0 {
		return
	}
	at := c.sndUna
	if u := &c.undo; u.on && (u.rec || u.loss) {
		at = u.marker
	}
	c.undo.rtx.trimBelow(at)
}

// onDupAckUndo is cc.onDupAck, starting an episode when it starts a fast
// recovery.
func (c *Conn) onDupAckUndo() bool {
	wasRec := c.cc.inRecovery()
	cw, ss := c.cwnd, c.ssthresh
	rtx := c.cc.onDupAck()
	if c.undoOn() && !wasRec && c.cc.inRecovery() {
		c.undoBegin(cw, ss, false)
	}
	return rtx
}

// undoBeforeRTO runs when the retransmission timer expires, before the
// congestion controller reduces the window.
func (c *Conn) undoBeforeRTO() {
	if !c.undoOn() {
		return
	}
	inRec := c.cc.inRecovery()
	// F-RTO (frto.go): not for a timeout in the middle of a fast recovery,
	// unless it is a repeated one (Linux's tcp_enter_loss).
	c.frto.eligible = c.h.cfg.FRTO && (!inRec || c.rtxCount > 0)
	if c.rtxCount == 0 && !inRec {
		c.undoBegin(c.cwnd, c.ssthresh, true)
		return
	}
	// An RTO during the recovery or again for the same data: the episode
	// goes on, with what it recorded when it began.
	c.undo.rec, c.undo.loss = false, c.undo.on
}

// undoRetransmitted records a retransmission of [seq, next) (output.go).
func (c *Conn) undoRetransmitted(seq, next segment.Seq) {
	u := &c.undo
	if !c.undoOn() {
		return
	}
	// The stamp is the TSval of the oldest retransmission still
	// outstanding (Linux's retrans_stamp), episode or not: a retransmission
	// from before the episode (a tail loss probe, an earlier recovery) that
	// fills a hole echoes an older TSval than the episode's own first one.
	if c.tsOK && (!u.rtxTSSet || !c.rtxOutstanding()) {
		u.rtxTS, u.rtxTSSet = c.tsNow(), true
	}
	if next.GreaterThan(seq) {
		c.rtxTrim()
		u.rtx.insert(seq, next) // a full list ignores more ranges; D-SACKs for them are not counted
	}
	if !u.on || !(u.loss || c.cc.inRecovery()) {
		return
	}
	u.retrans = max(u.retrans, 0) + 1
}

// undoAck runs for each acceptable ACK (input.go processAck) once the
// scoreboard, SND.UNA and the congestion controller have taken it, before
// the window update; una is SND.UNA before the ACK. It reports whether the
// ACK undid a reduction.
func (c *Conn) undoAck(th *segment.Header, una segment.Seq, payloadLen int) bool {
	if !c.undo.on && c.frto.phase == 0 {
		return false // no episode and no F-RTO: nothing to undo (the common case)
	}
	return c.undoAckEpisode(th, una, payloadLen)
}

// undoAckEpisode is undoAck while an episode or F-RTO is running.
func (c *Conn) undoAckEpisode(th *segment.Header, una segment.Seq, payloadLen int) (undone bool) {
	before := c.undoCount()
	defer func() { undone = c.undoCount() != before }()
	u := &c.undo
	cfg := c.h.cfg
	advanced := c.sndUna.GreaterThan(una)
	if cfg.Undo && u.on && c.sackOK && th.Options.NumSACK > 0 {
		c.undoDSACK(&th.Options, th.Ack)
	}
	switch {
	case u.loss:
		if advanced && cfg.Undo && c.mayUndo(th) {
			c.undoLoss(false)
			return
		}
		if c.frto.phase != 0 && c.frtoAck(th, advanced, payloadLen) {
			return
		}
		if c.sndUna.GreaterThan(u.high) {
			u.loss = false // everything sent before the RTO is acknowledged
			c.frto.phase = 0
		}
	case u.rec && !c.cc.inRecovery():
		// This ACK ended the recovery (RFC 6582 full acknowledgment).
		u.rec = false
		if cfg.Undo && c.mayUndo(th) {
			c.h.counters.TCPFullUndo++
			c.undoWindow()
		}
	case u.rec:
		if !cfg.Undo {
			return
		}
		if advanced && c.packetDelayed(th) && !c.rtxOutstanding() {
			c.h.counters.TCPPartialUndo++
			c.undoWindow()
		} else if u.retrans == 0 {
			c.h.counters.TCPDSACKUndo++
			c.undoWindow()
		}
	case u.on && cfg.Undo && u.retrans == 0:
		// After the recovery: D-SACKs that came late (Linux undoes in the
		// Open and Disorder states too).
		c.h.counters.TCPDSACKUndo++
		c.undoWindow()
	}
	return
}

// undoCount is the number of undos so far, of every kind.
func (c *Conn) undoCount() uint64 {
	k := &c.h.counters
	return k.TCPFullUndo + k.TCPPartialUndo + k.TCPDSACKUndo + k.TCPLossUndo
}

// rackAfterUndo runs RACK's loss detection again after an undo, which
// unmarked its losses: as Linux identifies losses after trying the undo
// (tcp_fastretrans_alert), a segment RACK's rules still find lost (sent
// before one delivered since, by more than the reordering window) starts
// a fast recovery now rather than at the next ACK.
func (c *Conn) rackAfterUndo() {
	if !c.rackOn() || !c.sackOK || c.cc.inRecovery() || c.sndUna == c.sndMax {
		return
	}
	if !c.rackDetectLoss(c.h.env.Now()) || !c.sndUna.GreaterThan(c.recover) {
		return
	}
	c.dupAcks = 2 // the controller counts the DupThresh-th duplicate
	if c.onDupAckUndo() {
		c.enterSACKRecovery(0)
	}
}

// mayUndo is Linux's tcp_may_undo: every retransmission was D-SACKed, or
// the ACK was sent for an original transmission (Eifel).
func (c *Conn) mayUndo(th *segment.Header) bool {
	return c.undo.on && (c.undo.retrans == 0 || c.packetDelayed(th))
}

// packetDelayed is RFC 3522's test: the ACK echoes a TSval older than the
// episode's first retransmission.
func (c *Conn) packetDelayed(th *segment.Header) bool {
	o := &th.Options
	return c.undo.rtxTSSet && c.tsOK && o.HasTimestamps && o.TSEcr != 0 &&
		int32(o.TSEcr-c.undo.rtxTS) < 0
}

// undoDSACK takes off the count the retransmissions a D-SACK block of o
// (for an ACK of ack) reports as duplicates (RFC 3708 §3).
func (c *Conn) undoDSACK(o *segment.Options, ack segment.Seq) {
	b := o.SACKBlocks()
	if len(b) == 0 || !b[0].Left.LessThan(b[0].Right) || c.undo.retrans <= 0 {
		return
	}
	d := seqRange{b[0].Left, b[0].Right}
	// RFC 2883 §4: the first block is a D-SACK when it lies below the
	// cumulative ACK or inside the second block (as isDSACK, uncounted).
	if !d.start.LessThan(ack) && !(len(b) > 1 && d.start.GreaterThanEq(b[1].Left) && d.end.LessThanEq(b[1].Right)) {
		return
	}
	if !d.end.GreaterThan(c.undo.marker) {
		return // a duplicate from before the episode
	}
	for _, r := range c.undo.rtx.blocks {
		if lo, hi := d.start.Max(r.start), d.end.Min(r.end); lo.LessThan(hi) {
			smss := uint32(c.sndMSS)
			c.undo.retrans = max(c.undo.retrans-int((hi.Sub(lo)+smss-1)/smss), 0)
			return
		}
	}
}

// overlap is how many bytes of [s, e) q holds.
func (q *reassembly) overlap(s, e segment.Seq) uint32 {
	var n uint32
	for _, b := range q.blocks {
		if lo, hi := s.Max(b.start), e.Min(b.end); lo.LessThan(hi) {
			n += hi.Sub(lo)
		}
	}
	return n
}

// rtxOutstanding reports whether some retransmitted range of the episode
// is neither acknowledged nor SACKed (Linux's retrans_out > 0).
func (c *Conn) rtxOutstanding() bool {
	for _, r := range c.undo.rtx.blocks {
		if !r.end.GreaterThan(c.sndUna) {
			continue
		}
		if !c.sackedRange(r.start.Max(c.sndUna), r.end) {
			return true
		}
	}
	return false
}

// undoLoss undoes an RTO's reduction (Linux's tcp_try_undo_loss); frto
// says F-RTO found the timeout spurious.
func (c *Conn) undoLoss(frto bool) {
	c.h.counters.TCPLossUndo++
	if frto {
		c.h.counters.TCPSpuriousRTOs++
	}
	c.undoWindow()
	c.undo.loss, c.frto.phase = false, 0
	c.rtxCount = 0
	// Stop the go-back-N resending: what is outstanding was not lost.
	c.sndNxt = c.sndMax
}

// undoWindow restores cwnd and ssthresh (Linux's tcp_undo_cwnd_reduction)
// and ends the episode and any fast recovery.
func (c *Conn) undoWindow() {
	u := &c.undo
	r := c.cc
	if r != nil && r.recovering {
		c.ccRecoveryEnd() // a RecoveryCwndOwner's recovery ends before the undo
	}
	cw := c.ccUndoCwnd(u.cwnd) // the algorithm's CwndUndoer, or max(cwnd, prior)
	if r != nil {
		r.recovering = false
	}
	c.cwnd = cw
	c.ssthresh = max(c.ssthresh, u.ssthresh)
	c.dupAcks = 0
	c.recover = c.sndUna.Add(^uint32(0)) // a new loss may start a recovery at once
	u.on, u.rec = false, false
	for i := range c.rack.segs {
		c.rack.segs[i].lost = false
	}
}
