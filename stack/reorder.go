package stack

import "github.com/tcpsim/tcpsim/segment"

// The reordering degree (issue 11, tcp_info's tcpi_reordering and
// tcpi_reord_seen), measured as Linux measures it (tcp_check_sack_reordering):
// when data that was sent once and never retransmitted is delivered below
// the highest SACKed data, it was reordered, not lost, and the distance from
// it to the end of the highest SACKed segment, in segments, is how far the
// network reordered. The degree starts at 3 (Linux's tcp_reordering
// default, RFC 5681's DupThresh) and only grows, to at most 300
// (tcp_max_reordering). Two deliveries count, in Linux's order for one ACK:
// segments its SACK blocks newly cover that start below the highest SACKed
// data before the ACK, then segments its cumulative ACK covers that had not
// been SACKed, compared with the highest SACKed data as it stands then (or
// SND.UNA when nothing above it is SACKed).
//
// It is measured from the RACK transmit record, which knows each segment's
// boundaries and whether it was resent, so only with RACK on. tcpsim's loss
// detection does not use it: RACK's reordering window is its own (rack.go).

const (
	reorderInit = 3
	reorderMax  = 300
)

type reorderState struct {
	degree  int  // in segments; 0 until first needed: reorderInit
	seen    int  // reordering events counted
	hadSACK bool // the scoreboard held blocks after the last ACK: segments may be marked SACKed
}

// reorderOnAck runs at the start of rackOnAck, before the transmit record
// is updated for the ACK that moved SND.UNA to una and updated the
// scoreboard.
func (c *Conn) reorderOnAck(una segment.Seq) {
	segs := c.rack.segs
	had := c.reorder.hadSACK
	c.reorder.hadSACK = len(c.sacked.blocks) > 0
	if len(segs) == 0 || !had && len(c.sacked.blocks) == 0 {
		return // no SACK before or now: nothing can have been reordered (the common, cheap case)
	}
	// Linux's prior_fack: the end of the highest SACKed segment, or SND.UNA
	// before the ACK when nothing is SACKed.
	priorFack, any := segs[0].start, false
	for _, s := range segs {
		if s.sacked {
			priorFack, any = s.end, true
		}
	}
	// SACK blocks: newly covered segments, sent once, below priorFack.
	var low segment.Seq
	lowSet := false
	fack, fackSet := priorFack, any
	newlySACKed := func(s *rackSeg) bool {
		return !s.sacked && s.end.GreaterThan(una) && c.sackedRange(s.start, s.end)
	}
	for i := range segs {
		s := &segs[i]
		if !newlySACKed(s) {
			continue
		}
		if !s.retrans && any && s.start.LessThan(priorFack) && (!lowSet || s.start.LessThan(low)) {
			low, lowSet = s.start, true
		}
		if !fackSet || s.end.GreaterThan(fack) {
			fack, fackSet = s.end, true
		}
	}
	if lowSet {
		c.reorderCheck(low, fack)
	}
	// The cumulative ACK: segments below una not SACKed, sent once (the
	// scoreboard holds nothing below una, so none of them is newly SACKed).
	lowSet = false
	for _, s := range segs {
		if !s.end.LessThanEq(una) {
			break
		}
		if !s.sacked && !s.retrans && (!lowSet || s.start.LessThan(low)) {
			low, lowSet = s.start, true
		}
	}
	if !lowSet || !any || !low.LessThan(priorFack) {
		return
	}
	now := una // nothing SACKed above SND.UNA: Linux's highest-SACK sequence is SND.UNA
	for i := range segs {
		s := &segs[i]
		if s.end.GreaterThan(una) && (s.sacked || newlySACKed(s)) && s.end.GreaterThan(now) {
			now = s.end
		}
	}
	c.reorderCheck(low, now)
}

// reorderCheck records that data from low was delivered with data up to
// fack already SACKed (Linux's tcp_check_sack_reordering).
func (c *Conn) reorderCheck(low, fack segment.Seq) {
	if !low.LessThan(fack) {
		return
	}
	r := &c.reorder
	if r.degree == 0 {
		r.degree = reorderInit
	}
	mss := uint32(max(c.sndMSS, 1))
	if metric := fack.Sub(low); metric > uint32(r.degree)*mss {
		r.degree = min(int((metric+mss-1)/mss), reorderMax)
	}
	r.seen++
}

// reorderDegree is tcpi_reordering.
func (c *Conn) reorderDegree() int {
	if c.reorder.degree == 0 {
		return reorderInit
	}
	return c.reorder.degree
}
