package stack

import "github.com/tcpsim/tcpsim/segment"

// Record ends (Linux's MSG_EOR, issue 11). Data written by WriteEOR ends a
// record: no segment ever carries bytes from both sides of its end, not the
// first transmission and not a retransmission, so the peer's reads can see
// where each record stops. Linux keeps the mark on the tail skb (its "eor"
// bit) and refuses to append later data or to collapse the skb with the next
// one on retransmission; here the marks are sequence numbers the segment
// cutters stop at (sendOne, retransmitFirst, the recovery and probe paths).
//
// A record end behaves as the end of a write: the segment that reaches it
// carries PSH, and a short segment that ends a record with more data queued
// behind it is not held back by Nagle's algorithm (Linux applies Nagle's test
// to the last skb of the queue only, and a marked skb is never the last one
// once data follows it).

// WriteEOR is Write that ends a record after p, as send(2) with MSG_EOR
// does: if all of p is taken, the last byte of p ends a record and later
// data goes in later segments. If only part of p fits (a partial write, or
// ErrWouldBlock), no record end is set, as in Linux, where the mark goes on
// only once the whole buffer has been queued.
func (c *Conn) WriteEOR(p []byte) (int, error) {
	if len(p) == 0 {
		return c.Write(p)
	}
	// The mark must be in place before output cuts segments, so set it
	// first and withdraw it if the write falls short.
	c.h.enter()
	defer c.h.exit()
	end := c.dataEnd().Add(uint32(len(p)))
	c.eorMarks = append(c.eorMarks, end)
	n, err := c.Write(p)
	if n < len(p) {
		if k := len(c.eorMarks); k > 0 && c.eorMarks[k-1] == end {
			c.eorMarks = c.eorMarks[:k-1]
		}
	}
	return n, err
}

// RecordEnds returns how many record ends (WriteEOR) lie in data not yet
// acknowledged.
func (c *Conn) RecordEnds() int {
	c.pruneEOR()
	return len(c.eorMarks)
}

// pruneEOR forgets the marks the peer has acknowledged.
func (c *Conn) pruneEOR() {
	i := 0
	for i < len(c.eorMarks) && c.eorMarks[i].LessThanEq(c.sndUna) {
		i++
	}
	if i > 0 {
		c.eorMarks = append(c.eorMarks[:0], c.eorMarks[i:]...)
	}
}

// eorCap limits a segment of n bytes at s so that it does not cross a
// record end.
func (c *Conn) eorCap(s segment.Seq, n uint32) uint32 {
	if len(c.eorMarks) == 0 {
		return n
	}
	return c.eorCapMarks(s, n)
}

// eorCapMarks is eorCap with record ends pending.
func (c *Conn) eorCapMarks(s segment.Seq, n uint32) uint32 {
	c.pruneEOR()
	for _, m := range c.eorMarks {
		if m.GreaterThan(s) {
			return min(n, m.Sub(s))
		}
	}
	return n
}

// eorFloor moves the start s of a segment that ends at end up to the last
// record end inside (s, end), for the paths that cut a segment backwards
// from its end (the tail loss probe, the rescue retransmission).
func (c *Conn) eorFloor(s, end segment.Seq) segment.Seq {
	for _, m := range c.eorMarks {
		if m.GreaterThan(s) && m.LessThan(end) {
			s = m
		}
	}
	return s
}

// eorAt reports whether a record ends at seq (with data queued after it).
func (c *Conn) eorAt(seq segment.Seq) bool {
	for _, m := range c.eorMarks {
		if m == seq {
			return true
		}
		if m.GreaterThan(seq) {
			return false
		}
	}
	return false
}
