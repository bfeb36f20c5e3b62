package stack

import "github.com/tcpsim/tcpsim/segment"

// Selective acknowledgment (RFC 2018), on unless TCPConfig.DisableSACK is
// set, and used when both SYNs carried SACK-permitted.
//
// Receiver: every ACK sent while out-of-order data is held carries up to
// four SACK blocks (no timestamps, so four fit), the block holding the most
// recently received segment first (RFC 2018 §4), the rest from the highest
// down. Data segments carry as many as fit beside their payload.
//
// Sender: the blocks the peer reports form a scoreboard of ranges above
// SND.UNA. In fast recovery, each further duplicate ACK retransmits the
// next hole below the highest SACKed byte (one segment per ACK, in place of
// the new segment NewReno's inflation would allow), and partial ACKs
// retransmit the first hole as NewReno does unless it was already
// retransmitted in this recovery (rtxNext plays RFC 6675's HighRxt). Data
// is freed only when cumulatively acknowledged; an RTO clears the
// scoreboard (RFC 2018 §8). This is a conservative subset of RFC 6675: no
// pipe estimate, no rescue retransmission.

// addSACKBlocks fills o with SACK blocks, using at most room bytes of
// option space.
func (c *Conn) addSACKBlocks(o *segment.Options, room int) {
	if !c.sackOK || c.reasm.empty() {
		return
	}
	if c.tsOK {
		room = min(room, segment.MaxOptionsLen-tsOptLen) // TSopt shares the 40 bytes: three blocks at most
	}
	maxBlocks := min((room-4)/8, segment.MaxSACKBlocks)
	if maxBlocks <= 0 {
		return
	}
	b := c.reasm.blocks
	first := -1
	for i, blk := range b {
		if c.lastOOO.InRange(blk.start, blk.end) {
			first = i
			o.AddSACK(segment.SACKBlock{Left: blk.start, Right: blk.end})
			break
		}
	}
	for i := len(b) - 1; i >= 0 && o.NumSACK < maxBlocks; i-- {
		if i != first {
			o.AddSACK(segment.SACKBlock{Left: b[i].start, Right: b[i].end})
		}
	}
}

// updateScoreboard records the peer's SACK blocks. Blocks outside
// (max(ack, SND.UNA), SND.MAX] are ignored (RFC 2018 §3 leaves invalid
// blocks to the sender; RFC 6675 §5.1 ignores them).
func (c *Conn) updateScoreboard(o *segment.Options, ack segment.Seq) {
	low := ack.Max(c.sndUna)
	for _, blk := range o.SACKBlocks() {
		if !blk.Left.LessThan(blk.Right) || !blk.Left.GreaterThan(low) || blk.Right.GreaterThan(c.sndMax) {
			continue
		}
		c.sacked.insert(blk.Left, blk.Right) // a full scoreboard just ignores more blocks
	}
}

// retransmitHole retransmits one segment from the first hole at or above
// rtxNext that lies below a SACKed range, and reports whether it did.
func (c *Conn) retransmitHole() bool {
	s := c.rtxNext.Max(c.sndUna)
	for _, blk := range c.sacked.blocks {
		if s.LessThan(blk.start) {
			n := min(blk.start.Sub(s), uint32(c.sndMSS))
			c.sendData(s, n, false)
			c.rtxNext = s.Add(n)
			return true
		}
		s = s.Max(blk.end)
	}
	return false
}

// trimBelow forgets scoreboard ranges below seq (cumulatively acknowledged).
func (q *reassembly) trimBelow(seq segment.Seq) {
	k := 0
	for k < len(q.blocks) && q.blocks[k].end.LessThanEq(seq) {
		q.bytes -= int(q.blocks[k].end.Sub(q.blocks[k].start))
		k++
	}
	if k > 0 {
		n := copy(q.blocks, q.blocks[k:])
		q.blocks = q.blocks[:n]
	}
	if len(q.blocks) > 0 && q.blocks[0].start.LessThan(seq) {
		q.bytes -= int(seq.Sub(q.blocks[0].start))
		q.blocks[0].start = seq
	}
}
