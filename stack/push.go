package stack

// Where PSH goes.
//
// RFC 9293 §3.9.1 leaves PSH to the sender ("a sending TCP is allowed to
// collapse data from the user ... and may set PSH"); tcpsim's own rule is
// the plainest reading: the segment that empties the send buffer, the end
// of what the application has written, carries it. Retransmissions follow
// the same rule in both modes.
//
// Linux (TCPConfig.TSOBurst > 0, the linux profile) ends bursts with it as
// well. Its sender hands the device TSO packets, not segments: each new
// transmission takes at most tcp_tso_segs segments (the pacing rate's worth
// of a millisecond, but at least tcp_min_tso_segs, 2; at the rates of a
// short test this floor is what counts) and at most half of cwnd
// (tcp_cwnd_test keeps two packets in flight), and the segmentation offload
// writes the packet's PSH on its last segment. Seen on the wire: with
// cwnd 10 and MSS 1000, a write of 15000 bytes leaves as five 2-segment
// packets whose last one carries PSH (packetdrill's "P. 1:10001(10000)");
// an ACK that lets two segments out sends them as one packet ending in PSH;
// one that lets a single segment out (limited transmit, or the odd segment
// of a seven-segment burst) sends it without PSH unless it ends the data.
// The corpus of Linux packetdrill tests pins this down line by line: of its
// outbound data lines, every one whose last segment closes a burst of two or
// more new segments carries PSH, and every lone new segment short of the
// end of the data does not.
//
// DefaultTSOBurst is Linux's tcp_min_tso_segs default.
const DefaultTSOBurst = 2

// burstState tracks the current burst of new data (TCPConfig.TSOBurst).
type burstState struct {
	sent int  // segments of the current burst already sent
	size int  // segments the current burst may hold
	push bool // the segment sendData is about to build closes a burst: set PSH
}

// burstStart forgets any burst: each output pass starts a new one, as each
// of Linux's transmit rounds starts from its send head, and a retransmission
// ends the burst it interrupts.
func (c *Conn) burstStart() {
	c.burst.sent = 0
}

// burstNext accounts for one new segment about to be sent by sendOne; more
// says whether the windows and the data let another full or final segment
// follow at once. It reports whether the segment closes a burst of at least
// two segments (and so carries PSH).
func (c *Conn) burstNext(more bool) bool {
	tso := c.h.cfg.TSOBurst
	if tso <= 0 {
		return false
	}
	if c.burst.sent == 0 {
		half := max(int(c.cwnd)/c.sndMSS/2, 1)
		c.burst.size = min(tso, half)
	}
	c.burst.sent++
	if c.burst.sent < c.burst.size && more {
		return false
	}
	closes := c.burst.sent >= 2
	c.burst.sent = 0
	return closes
}
