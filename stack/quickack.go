package stack

import "time"

// Quick-ACK mode, as Linux does it (tcp_incr_quickack, tcp_in_quickack_mode,
// tcp_dec_quickack_mode in net/ipv4/tcp_input.c): at the start of a
// connection, and when data arrives after an idle time longer than the RTO,
// the receiver acknowledges every data segment at once instead of every
// second one, so that the sender's slow start is not slowed by delayed ACKs.
// The mode lasts for a number of ACKs: the receive window in segment pairs
// (rcvWnd / (2·MSS)), at least 2, at most TCPConfig.QuickAcks (Linux 16).
// An out-of-order or duplicate segment re-enters it.
//
// It is suspended while the connection is interactive ("ping-pong"): when we
// send data less than the delayed-ACK time after data arrived, the ACK can
// ride on our data, and Linux delays it. A delayed-ACK timer that fires in
// ping-pong mode ends it (the exchange was not as quick as it looked).
//
// TCPConfig.QuickAcks = 0 (the zero value) leaves it off: every second
// full-sized segment is acknowledged at once, the rest after DelayedAck
// (RFC 9293 §3.8.6.3, RFC 5681 §4.2). The linux profile turns it on.

// DefaultQuickAcks is Linux's TCP_MAX_QUICKACKS.
const DefaultQuickAcks = 16

type quickAckState struct {
	quick    int           // ACKs left in quick-ACK mode
	pingpong bool          // interactive: the ACK may wait for our data
	rcvAt    time.Duration // when data last arrived
	rcvSeen  bool          // data has arrived before
}

// quickAckOnData runs for every segment with data that the connection
// accepts (in order or not); outOfOrder marks one that did not arrive at
// RCV.NXT (or held nothing new).
func (c *Conn) quickAckOnData(outOfOrder bool) {
	if c.h.cfg.QuickAcks > 0 {
		c.quickAckOnDataOn(outOfOrder)
	}
}

// quickAckOnDataOn is quickAckOnData with quick-ACK mode on.
func (c *Conn) quickAckOnDataOn(outOfOrder bool) {
	max := c.h.cfg.QuickAcks
	if max <= 0 {
		return
	}
	q := &c.qa
	now := c.h.env.Now()
	switch {
	case outOfOrder:
		c.incrQuickAck(max)
		q.pingpong = false
	case !q.rcvSeen:
		c.incrQuickAck(max) // the first data of the connection
	case now-q.rcvAt > c.currentRTO():
		c.incrQuickAck(max) // after idle
	}
	q.rcvAt, q.rcvSeen = now, true
	if q.quick > 0 && !q.pingpong {
		c.ackNow = true
	}
}

// incrQuickAck raises the number of quick ACKs to the receive window in
// segment pairs, at least 2, at most max.
func (c *Conn) incrQuickAck(max int) {
	n := int(c.rcvWnd()) / (2 * max1(c.rcvMSS))
	if n == 0 {
		n = 2
	}
	n = min(n, max)
	if n > c.qa.quick {
		c.qa.quick = n
	}
}

func max1(n int) int { return max(n, 1) }

// quickAckSent counts an ACK of new data sent while in quick-ACK mode.
func (c *Conn) quickAckSent(newData bool) {
	if c.qa.quick > 0 && newData {
		c.qa.quick--
	}
}

// quickAckDataSent notes that we sent data: if data arrived less than the
// delayed-ACK time ago, the connection is interactive.
func (c *Conn) quickAckDataSent() {
	if c.h.cfg.QuickAcks > 0 && c.qa.rcvSeen {
		c.quickAckDataSentOn()
	}
}

// quickAckDataSentOn is quickAckDataSent with quick-ACK mode on, once data has arrived.
func (c *Conn) quickAckDataSentOn() {
	if c.h.cfg.QuickAcks <= 0 || !c.qa.rcvSeen {
		return
	}
	if c.h.env.Now()-c.qa.rcvAt < c.h.cfg.DelayedAck {
		c.qa.pingpong = true
	}
}

// quickAckDelayedTimer notes that the delayed-ACK timer fired: it ends
// ping-pong mode, as Linux's tcp_delack_timer_handler does.
func (c *Conn) quickAckDelayedTimer() { c.qa.pingpong = false }

// SetQuickAck asks for the next ACKs to be sent at once (TCP_QUICKACK = 1):
// it leaves ping-pong mode and, if an ACK is owed, sends it now. With
// false it enters ping-pong mode, so that ACKs wait for data or the timer.
func (c *Conn) SetQuickAck(on bool) {
	c.h.enter()
	defer c.h.exit()
	if !on {
		c.qa.pingpong = true
		return
	}
	c.qa.pingpong = false
	if c.h.cfg.QuickAcks > 0 {
		c.incrQuickAck(c.h.cfg.QuickAcks)
	}
	if c.rcvUnacked > 0 && c.state.synchronized() {
		c.ackNow = true
		c.output()
	}
}
