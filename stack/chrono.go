package stack

import "time"

// Where the sender's time goes (issue 11), as Linux's TCP "chronographs"
// account it for tcp_info (tcpi_busy_time, tcpi_rwnd_limited,
// tcpi_sndbuf_limited). At any moment the connection is in at most one of
// three states, the most telling one winning:
//
//   - busy: data is queued (unsent or unacknowledged). It starts when the
//     application writes and ends when the peer has acknowledged everything.
//   - receive-window limited: data waits, cwnd would let the next segment
//     go, but the peer's advertised window does not. It starts when a send
//     pass stops for that reason and falls back to busy after a pass that
//     did not.
//   - send-buffer limited: everything written has been sent, the flight
//     does not fill cwnd, and the application was refused buffer space (a
//     Write cut short): the sender waits on its own buffer. It ends when
//     space is handed back to the writer (writeSpace).
//
// Busy time reported is the sum of the three, as Linux's tcpi_busy_time.

type chronoKind uint8

const (
	chronoNone chronoKind = iota
	chronoBusy
	chronoRwnd
	chronoSndbuf
)

type chronoState struct {
	kind  chronoKind
	start time.Duration
	total [3]time.Duration // busy, rwnd, sndbuf: closed periods
}

// chronoSet ends the current period and starts one of kind k.
func (c *Conn) chronoSet(k chronoKind) {
	now := c.h.env.Now()
	ch := &c.chrono
	if ch.kind != chronoNone {
		ch.total[ch.kind-1] += now - ch.start
	}
	ch.kind, ch.start = k, now
}

// chronoStart enters k unless a more telling state is running.
func (c *Conn) chronoStart(k chronoKind) {
	if k > c.chrono.kind {
		c.chronoSet(k)
	}
}

// chronoStop leaves k: back to busy while data is queued, to none if
// nothing is.
func (c *Conn) chronoStop(k chronoKind) {
	// Inlined: with no state running, stopping one changes nothing.
	if c.chrono.kind != chronoNone || k == chronoNone {
		c.chronoStopNow(k)
	}
}

// chronoStopNow is chronoStop while some state runs.
func (c *Conn) chronoStopNow(k chronoKind) {
	switch {
	case c.sndBuf.n == 0 && c.sndUna == c.sndMax:
		if c.chrono.kind != chronoNone {
			c.chronoSet(chronoNone)
		}
	case k == c.chrono.kind:
		c.chronoSet(chronoBusy)
	}
}

// chronoTimes returns busy (all three), receive-window limited and
// send-buffer limited time so far.
func (c *Conn) chronoTimes() (busy, rwnd, sndbuf time.Duration) {
	t := c.chrono.total
	if k := c.chrono.kind; k != chronoNone {
		t[k-1] += c.h.env.Now() - c.chrono.start
	}
	return t[0] + t[1] + t[2], t[1], t[2]
}

// chronoAfterSendPass runs after output has sent what it could: the pass
// was limited by the receive window if data is left, cwnd has room for the
// next segment, and the peer's window has not.
func (c *Conn) chronoAfterSendPass() {
	end := c.dataEnd()
	if !end.GreaterThan(c.sndNxt) || c.sndNxt != c.sndMax {
		c.chronoStop(chronoRwnd)
		return
	}
	next := min(end.Sub(c.sndNxt), uint32(c.sndMSS))
	inflight := c.sndNxt.Sub(c.sndUna)
	if inflight < c.cwnd && inflight+next > c.sndWnd {
		c.chronoStart(chronoRwnd)
		return
	}
	c.chronoStop(chronoRwnd)
}

// chronoAfterNewData runs after new data was sent: with all written data
// out, a flight below cwnd and a writer that was refused space, the
// sender is limited by its send buffer (Linux tcp_cwnd_validate).
func (c *Conn) chronoAfterNewData() {
	if c.noSpace {
		c.chronoAfterNewDataNow()
	}
}

// chronoAfterNewDataNow is chronoAfterNewData for a writer that was refused space.
func (c *Conn) chronoAfterNewDataNow() {
	if c.noSpace && c.sndNxt == c.dataEnd() && c.flightSize()+uint32(c.sndMSS) <= c.cwnd &&
		(c.state == StateEstablished || c.state == StateCloseWait) {
		c.chronoStart(chronoSndbuf)
	}
}

// writeSpace hands space back to a writer that was refused it, once the
// connection is writable in poll's sense (WriteReady), and ends a
// send-buffer-limited period; the EventWritable it raises is what wakes an
// edge-triggered poller.
func (c *Conn) writeSpace() {
	if c.noSpace {
		c.writeSpaceNow()
	}
}

// writeSpaceNow is writeSpace for a writer that was refused space.
func (c *Conn) writeSpaceNow() {
	if !c.noSpace || !c.writeReady() {
		return
	}
	c.noSpace = false
	c.chronoStop(chronoSndbuf)
	c.h.notifyConn(c, EventWritable)
}
