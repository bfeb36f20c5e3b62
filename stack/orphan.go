package stack

// Orphans (issue 10 item 4). An orphan is a connection its application has
// closed with Close (not Abort) that is not yet fully closed: FIN_WAIT_1,
// FIN_WAIT_2, CLOSING and LAST_ACK, or SYN_RECEIVED with its FIN waiting
// for ESTABLISHED. Nobody will read from it or write to it again, yet it
// holds its send buffer until the peer takes the data. RFC 1122
// §4.2.2.17 lets a connection probe a zero window for as long as the peer
// answers, so a peer that never opens its window, but acknowledges every
// probe, would keep an orphan (and its buffer) for ever. Like Linux, the
// host bounds orphans in two ways:
//
//   - OrphanRetries (Linux tcp_orphan_retries): an orphan gets that many
//     retransmission timeouts in a row, or that many zero-window probes
//     since the window last opened, whether the probes are answered or not;
//     at the next expiry it is reset and counted in TCPAbortOnTimeout. A
//     user timeout, when set, bounds it instead (as in Linux).
//   - MaxOrphans (Linux tcp_max_orphans): a Close that would make more
//     orphans than that resets the connection at once instead; and at each
//     timer expiry an orphan is reset when the orphans exceed the cap, or
//     half of it if the orphan has sent no data for 2×RTOMax (Linux's
//     penalty shift in tcp_out_of_resources), or when the host's buffer
//     memory is exhausted (memory.go). Both count TCPAbortOnMemory.
//
// Linux's tcp_write_err just drops an orphan that timed out; we send a RST
// in every case, so that a peer still answering probes (the case this
// exists for) learns at once and frees its side too.

// NumOrphans returns how many connections are orphans now.
func (h *Host) NumOrphans() int { return h.orphans }

// orphanOnClose is called at the end of Close: it counts c as an orphan if
// it is one, and resets it if the host has too many orphans already or is
// out of buffer memory while c still holds data to send (Linux does both
// in __tcp_close, through tcp_check_oom).
func (c *Conn) orphanOnClose() {
	switch c.state {
	case StateSynReceived, StateFinWait1, StateFinWait2, StateClosing, StateLastAck:
	default:
		return
	}
	if c.aborted || c.orphan {
		return
	}
	h := c.h
	c.orphan = true
	h.orphans++
	if (h.cfg.MaxOrphans >= 0 && h.orphans > h.cfg.MaxOrphans) || (h.mem.exhausted && c.sndBuf.n > 0) {
		h.counters.TCPAbortOnMemory++
		c.abort()
	}
}

// orphanDone stops counting c as an orphan: it is gone or in TIME_WAIT.
func (c *Conn) orphanDone() {
	if c.orphan {
		c.orphan = false
		c.h.orphans--
	}
}

// orphanGiveUp is called on each retransmission timeout and zero-window
// probe timeout of an orphan, before it retransmits or probes; tries is
// how many it has had so far. It resets the orphan and reports true when
// the orphan must go (Linux tcp_out_of_resources and tcp_orphan_retries).
func (c *Conn) orphanGiveUp(tries uint) bool {
	if !c.orphan {
		return false
	}
	h := c.h
	shift := 0
	if h.env.Now()-c.lastDataAt > 2*h.cfg.RTOMax {
		shift = 1 // nothing sent for long: penalise it (tcp_out_of_resources)
	}
	if (h.cfg.MaxOrphans >= 0 && h.orphans<<shift > h.cfg.MaxOrphans) || (h.mem.exhausted && c.sndBuf.n > 0) {
		h.counters.TCPAbortOnMemory++
		c.abort()
		return true
	}
	// A user timeout replaces the retry count, as in Linux (keepalive.go
	// enforces it).
	if h.cfg.OrphanRetries >= 0 && c.ka.userTimeout <= 0 && tries >= uint(h.cfg.OrphanRetries) {
		h.counters.TCPAbortOnTimeout++
		c.err = errTimedOut
		c.abort()
		return true
	}
	return false
}
