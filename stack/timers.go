package stack

import "time"

// Timers. Each connection keeps one deadline per concern (zero means
// stopped). The host keeps a min-heap with at most one live entry per
// connection, for the connection's earliest deadline; re-arming a timer
// later leaves the entry in place (it fires early, finds nothing due and
// re-queues), re-arming earlier pushes a new entry and the old one goes
// stale. This keeps the hot path (restart the RTO on every ACK) O(1).
type connTimers struct {
	rtxAt      time.Duration // retransmission: SYN, SYN-ACK, data or FIN (RFC 6298)
	persistAt  time.Duration // zero-window probe or SWS override (RFC 9293 §3.8.6.1)
	delackAt   time.Duration // delayed ACK (RFC 9293 §3.8.6.3)
	closeAt    time.Duration // end of TIME_WAIT (2×MSL) or orphaned FIN_WAIT_2
	connectEnd time.Duration // ConnectTimeout deadline of an active open
	keepAt     time.Duration // keep-alive check (keepalive.go)
	userAt     time.Duration // user timeout (keepalive.go)
	rackAt     time.Duration // RACK reorder timer (rack.go)
	ptoAt      time.Duration // tail loss probe (tlp.go)
	paceAt     time.Duration // pacing: the next data segment may leave (pacing.go)
	heapAt     time.Duration // at of this conn's live heap entry; 0 = none
}

func (t *connTimers) earliest() time.Duration {
	e := time.Duration(0)
	for _, v := range [...]time.Duration{t.rtxAt, t.persistAt, t.delackAt, t.closeAt, t.connectEnd, t.keepAt, t.userAt, t.rackAt, t.ptoAt, t.paceAt} {
		if v != 0 && (e == 0 || v < e) {
			e = v
		}
	}
	return e
}

// rescheduleTimers makes sure the host's heap holds an entry no later than
// c's earliest deadline.
func (c *Conn) rescheduleTimers() {
	if c.state == StateClosed {
		return
	}
	e := c.tm.earliest()
	if e == 0 {
		return
	}
	if c.tm.heapAt != 0 && c.tm.heapAt <= e {
		return
	}
	c.tm.heapAt = e
	c.h.timers.push(timerEntry{at: e, id: c.id, c: c})
}

func (c *Conn) setTimer(p *time.Duration, at time.Duration) {
	*p = at
	if at != 0 && (c.tm.heapAt == 0 || at < c.tm.heapAt) {
		c.rescheduleTimers()
	}
}

// runTimers fires every deadline of c that is due at now, in a fixed order.
func (c *Conn) runTimers(now time.Duration) {
	if t := c.tm.connectEnd; t != 0 && t <= now {
		c.tm.connectEnd = 0
		if c.state == StateSynSent || c.state == StateSynReceived {
			c.fail(errTimedOut)
			return
		}
	}
	if t := c.tm.closeAt; t != 0 && t <= now {
		c.tm.closeAt = 0
		c.onCloseTimer()
		if c.state == StateClosed {
			return
		}
	}
	// The probe timer before the retransmission timer: a PTO capped at
	// the RTO fires in its place (the probe re-arms the RTO), as Linux's
	// loss probe takes over its one retransmission timer (tlp.go).
	if t := c.tm.ptoAt; t != 0 && t <= now {
		c.tm.ptoAt = 0
		c.onPTO(now)
		if c.state == StateClosed {
			return
		}
	}
	if t := c.tm.rtxAt; t != 0 && t <= now {
		c.tm.rtxAt = 0
		c.onRetransmitTimer()
		if c.state == StateClosed {
			return
		}
	}
	if t := c.tm.persistAt; t != 0 && t <= now {
		c.tm.persistAt = 0
		c.onPersistTimer()
		if c.state == StateClosed {
			return
		}
	}
	if t := c.tm.delackAt; t != 0 && t <= now {
		c.tm.delackAt = 0
		c.quickAckDelayedTimer()
		if c.ackPending() {
			c.h.counters.TCPDelayedAcks++
			c.sendAck()
		}
	}
	if t := c.tm.rackAt; t != 0 && t <= now {
		c.tm.rackAt = 0
		c.onRACKTimer(now)
		if c.state == StateClosed {
			return
		}
	}
	if t := c.tm.paceAt; t != 0 && t <= now {
		c.tm.paceAt = 0
		c.onPaceTimer() // pacing.go
		if c.state == StateClosed {
			return
		}
	}
	if t := c.tm.userAt; t != 0 && t <= now {
		c.tm.userAt = 0
		c.onUserTimer(now)
		if c.state == StateClosed {
			return
		}
	}
	if t := c.tm.keepAt; t != 0 && t <= now {
		c.tm.keepAt = 0
		c.onKeepAliveTimer(now)
	}
}

// timerEntry is one heap entry; id breaks ties so that equal deadlines fire
// in connection-creation order, independent of heap shape.
type timerEntry struct {
	at time.Duration
	id uint64
	c  *Conn
}

type timerHeap []timerEntry

func (e timerEntry) less(f timerEntry) bool {
	if e.at != f.at {
		return e.at < f.at
	}
	return e.id < f.id
}

func (hp *timerHeap) push(e timerEntry) {
	h := append(*hp, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*hp = h
}

func (hp *timerHeap) pop() timerEntry {
	h := *hp
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = timerEntry{}
	h = h[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].less(h[m]) {
			m = l
		}
		if r < n && h[r].less(h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*hp = h
	return top
}
