package stack

// Corking (issue 11): TCP_CORK and MSG_MORE tell the stack that more data
// follows, so that a segment shorter than the MSS at the tail of the queue
// waits instead of leaving half empty. Full segments still go as the
// windows allow; only the last, partial one is held. What releases it, as
// in Linux:
//
//   - SetCork(false): the held segment goes at once (Nagle permitting,
//     unless TCP_NODELAY is on).
//   - SetNoDelay(true): pending data goes at once even while corked; the
//     override lasts until the application writes new data (Linux's
//     TCP_NAGLE_PUSH bit, cleared when a new skb is queued).
//   - A write without MSG_MORE (for WriteMore's own cork), or, for both,
//     closing the sending side: the FIN is never held.
//   - The persist timer: with nothing in flight and a held segment, it
//     forces the segment out after an RTO (Linux's probe timer does the
//     same; this is the ceiling tcp(7) gives as 200 ms, the minimum RTO).
//
// A segment that ends a record (WriteEOR) with more data behind it is not
// held. The end of data written with MSG_MORE is no push point: the
// segment that reaches it carries no PSH (Linux's tcp_push marks PSH only
// for a write without MSG_MORE).

// SetCork turns TCP_CORK on or off.
func (c *Conn) SetCork(on bool) {
	c.h.enter()
	defer c.h.exit()
	c.cork = on
	if !on {
		if c.noDelay {
			c.pushOnce = true
		}
		if c.state.canSendData() {
			c.output()
		}
	}
}

// Cork reports whether TCP_CORK is on.
func (c *Conn) Cork() bool { return c.cork }

// WriteMore is Write with MSG_MORE: the application has more to write, so
// the sending this call starts holds back a partial segment at the tail as
// TCP_CORK would. Sending that ACKs or timers start later is not corked by
// it.
func (c *Conn) WriteMore(p []byte) (int, error) {
	c.h.enter()
	defer c.h.exit()
	c.corkPass = true
	defer func() { c.corkPass = false }()
	n, err := c.Write(p)
	if n > 0 {
		c.tailMore = true // set after Write, which clears it
	}
	return n, err
}
