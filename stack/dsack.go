package stack

import "github.com/tcpsim/tcpsim/segment"

// D-SACK (RFC 2883), on with SACK unless TCPConfig.DisableDSACK is set, as
// Linux's tcp_dsack.
//
// Receiver: a segment that repeats data already received is reported in
// the first SACK block of the next segment we send, once: the repeated part
// below RCV.NXT (counted in TCPDSACKOldSent), or the first part that repeats
// out-of-order data we hold (TCPDSACKOfoSent), which the block holding it
// follows as the second block (RFC 2883 §4). The SACK history (sack.go) is
// not changed by it. A duplicate is acknowledged at once.
//
// Sender: the first block of an ACK is a D-SACK if it lies below the
// cumulative ACK or inside the second block (RFC 2883 §4). It is counted
// (TCPDSACKRecv, and TCPDSACKOfoRecv for one above the cumulative ACK) and
// never taken for new SACK information: it is no DupAck (RFC 6675 §2) and
// does not enter the scoreboard.

// noteDuplicate records that the bytes [s, e) arrived again.
func (c *Conn) noteDuplicate(s, e segment.Seq) {
	if !c.sackOK || c.h.cfg.DisableDSACK || !s.LessThan(e) {
		return
	}
	if e.LessThanEq(c.rcvNxt) || s.LessThan(c.rcvNxt) {
		c.h.counters.TCPDSACKOldSent++
	} else {
		c.h.counters.TCPDSACKOfoSent++
	}
	c.dsack, c.dsackValid = seqRange{s, e}, true
	c.ackNow = true // report it now
}

// noteOOODuplicate records the first part of [s, e) that repeats
// out-of-order data already held, before the segment is merged in.
func (c *Conn) noteOOODuplicate(s, e segment.Seq) {
	for _, b := range c.reasm.blocks {
		if lo, hi := s.Max(b.start), e.Min(b.end); lo.LessThan(hi) {
			c.noteDuplicate(lo, hi)
			return
		}
	}
}

// isDSACK reports whether the first SACK block of o is a D-SACK for an ACK
// of ack, counting it.
func (c *Conn) isDSACK(o *segment.Options, ack segment.Seq) bool {
	b := o.SACKBlocks()
	if len(b) == 0 || !b[0].Left.LessThan(b[0].Right) {
		return false
	}
	switch {
	case b[0].Left.LessThan(ack):
		c.h.counters.TCPDSACKRecv++
		return true
	case len(b) > 1 && b[0].Left.GreaterThanEq(b[1].Left) && b[0].Right.LessThanEq(b[1].Right):
		c.h.counters.TCPDSACKRecv++
		c.h.counters.TCPDSACKOfoRecv++
		return true
	}
	return false
}
