package stack

import (
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

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
// Retransmissions, in the linux profile (TSOBurst with RACK, whose transmit
// record remembers the marks): a resent packet of two or more segments
// (back-to-back retransmissions of contiguous data in one output pass) ends in
// PSH where the first transmission of its last segment did, as a resent TSO
// packet that ended a burst ends in PSH again; a single resent segment, and
// a packet ending where the first transmission had none (in front of a SACKed
// range that split a burst), carries none. The corpus shows both:
// sack-route-refresh-ip-tos resends 13141:16061 without PSH and 17521:20441
// with it (a burst ended at 20441, none at 16061); prr-ss-30pkt-lost1_4 and
// the sack-shift-sacked scripts resend single segments that ended bursts,
// without PSH.
//
// DefaultTSOBurst is Linux's tcp_min_tso_segs default.
const DefaultTSOBurst = 2

// burstState tracks the current burst of new data (TCPConfig.TSOBurst).
type burstState struct {
	sent int  // segments of the current burst already sent
	size int  // segments the current burst may hold
	push bool // the segment sendData is about to build closes a burst: set PSH

	rtxNext segment.Seq   // where the last retransmission ended, if it was the last segment sent
	rtxAt   time.Duration // when it was sent
	rtxSet  bool
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
	if c.h.cfg.TSOBurst <= 0 {
		return false
	}
	return c.burstNextOn(more)
}

// burstNextOn is burstNext with TSOBurst set.
func (c *Conn) burstNextOn(more bool) bool {
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

// rtxPush reports whether a retransmission of [seq, end) carries PSH: it
// continues a packet of resent segments begun at this instant, and the
// segment that first ended at end carried PSH. It records the
// retransmission for the next one.
func (c *Conn) rtxPush(seq, end segment.Seq) bool {
	if c.h.cfg.TSOBurst <= 0 || !c.rackOn() {
		return false
	}
	b := &c.burst
	now := c.h.env.Now()
	cont := b.rtxSet && b.rtxNext == seq && b.rtxAt == now
	b.rtxNext, b.rtxAt, b.rtxSet = end, now, true
	return cont && c.rackPushedAt(end)
}

// rackPushedAt reports whether the segment that first ended at end carried
// PSH (RACK's transmit record).
func (c *Conn) rackPushedAt(end segment.Seq) bool {
	segs := c.rack.segs // in sequence order
	lo, hi := 0, len(segs)
	for lo < hi {
		if m := int(uint(lo+hi) >> 1); segs[m].end.LessThan(end) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(segs) && segs[lo].end == end && segs[lo].psh
}
