package stack

import "github.com/tcpsim/tcpsim/segment"

// Selective acknowledgment (RFC 2018), on unless TCPConfig.DisableSACK is
// set, and used when both SYNs carried SACK-permitted.
//
// Receiver: every ACK sent while out-of-order data is held carries up to
// four SACK blocks (no timestamps, so four fit), the block holding the most
// recently received segment first, then the blocks most recently reported
// (RFC 2018 §4), then any others from the highest down. Data segments carry
// as many as fit beside their payload.
//
// Sender: the blocks the peer reports form a scoreboard of ranges above
// SND.UNA, which drives RFC 6675 loss recovery (rfc6675.go). Data is freed
// only when cumulatively acknowledged; the scoreboard outlives an RTO and is
// cleared only when the peer is seen to renege (RFC 2018 §8).

// addSACKBlocks fills o with SACK blocks, using at most room bytes of
// option space. RFC 2018 §4: the first block holds the segment that arrived
// most recently (lastOOO), the others repeat the most recently reported
// blocks (sackSent, the blocks of the last segments we sent, first blocks
// first), so that each block is reported in at least three successive ACKs
// while it lasts and the loss of a few ACKs loses no information. Blocks
// never reported fill what room is left, the highest first. A reported block
// that has grown by merging is reported at its current extent; one that
// RCV.NXT has reached is dropped.
func (c *Conn) addSACKBlocks(o *segment.Options, room int) {
	// Inlined: with no block to report it is two tests. (Without SACK
	// nSackSent is always 0: only addSACKBlocksAll sets it.)
	if len(c.reasm.blocks) > 0 || c.dsackValid {
		c.addSACKBlocksAll(o, room)
	} else {
		c.nSackSent = 0 // the history only means something while data is held
	}
}

// addSACKBlocksAll is addSACKBlocks with data held or a D-SACK due.
func (c *Conn) addSACKBlocksAll(o *segment.Options, room int) {
	if !c.sackOK {
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
	var idx [segment.MaxSACKBlocks]int // indices in b of the blocks chosen
	n := 0
	add := func(i int) {
		if i < 0 || n >= maxBlocks {
			return
		}
		for _, j := range idx[:n] {
			if j == i {
				return
			}
		}
		idx[n] = i
		n++
	}
	if c.dsackValid {
		// A D-SACK block goes first, once (dsack.go); the block holding
		// the duplicate, if any, follows (RFC 2883 §4).
		c.dsackValid = false
		o.AddSACK(segment.SACKBlock{Left: c.dsack.start, Right: c.dsack.end})
		maxBlocks--
		add(c.reasm.find(c.dsack.start))
	}
	if c.reasm.empty() {
		c.nSackSent = 0 // the history only means something while data is held
		return
	}
	add(c.reasm.find(c.lastOOO))
	for _, r := range c.sackSent[:c.nSackSent] {
		add(c.reasm.find(r.start))
	}
	for i := len(b) - 1; i >= 0 && n < maxBlocks; i-- {
		add(i)
	}
	// The new history: the blocks just sent, then the older history they
	// did not repeat (a data segment may have had room for fewer).
	var hist [segment.MaxSACKBlocks]seqRange
	h := 0
	for _, i := range idx[:n] {
		o.AddSACK(segment.SACKBlock{Left: b[i].start, Right: b[i].end})
		hist[h] = b[i]
		h++
	}
	for _, r := range c.sackSent[:c.nSackSent] {
		if h == len(hist) {
			break
		}
		i := c.reasm.find(r.start)
		if i < 0 {
			continue
		}
		dup := false
		for _, r := range hist[:h] {
			dup = dup || r.start == b[i].start
		}
		if !dup {
			hist[h] = b[i]
			h++
		}
	}
	c.sackSent, c.nSackSent = hist, h
}

// find returns the index of the block holding seq, or -1.
func (q *reassembly) find(seq segment.Seq) int {
	for i, blk := range q.blocks {
		if seq.InRange(blk.start, blk.end) {
			return i
		}
	}
	return -1
}

// updateScoreboard records the peer's SACK blocks and returns how many
// bytes they SACK that were neither acknowledged nor SACKed before (RFC 6675
// §2 DupAck: new SACK information). Blocks outside (max(ack, SND.UNA),
// SND.MAX] are ignored (RFC 2018 §3 leaves invalid blocks to the sender;
// RFC 6675 §5.1 ignores them).
func (c *Conn) updateScoreboard(o *segment.Options, ack segment.Seq) uint32 {
	low := ack.Max(c.sndUna)
	before := c.sacked.bytes
	blocks := o.SACKBlocks()
	if c.isDSACK(o, ack) {
		blocks = blocks[1:] // a D-SACK reports a duplicate, not new data (dsack.go)
	}
	for _, blk := range blocks {
		if !blk.Left.LessThan(blk.Right) || !blk.Left.GreaterThan(low) || blk.Right.GreaterThan(c.sndMax) {
			continue
		}
		c.sacked.insert(blk.Left, blk.Right) // a full scoreboard just ignores more blocks
	}
	return uint32(c.sacked.bytes - before)
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
