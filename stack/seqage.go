package stack

// Sequence numbers compare modulo 2^32 (RFC 9293 §3.4): a < b means b lies
// less than 2^31 ahead of a. A number the control block stores for a later
// comparison therefore goes stale once the stream has moved 2^31 bytes past
// it: the comparison flips and an old mark looks like one in the future.
// Each stored number is kept valid in one of three ways:
//
//   - it moves with the stream on every segment (sndUna, sndNxt, sndMax,
//     sndBufStart, rcvNxt, rcvAdv, and sndWl1, which every acceptable
//     segment with a higher SEG.SEQ updates; prevHighAck is set each time
//     SND.UNA advances);
//   - it carries a validity flag (rttSeq with rttTiming, finSeq with
//     finSeqValid; lastOOO and the SACK history sackSent are read only
//     while out-of-order data is held, which the segment that set them
//     created; rescueRxt is set when each recovery starts and read only
//     during it);
//   - or it is pulled along with SND.UNA here, once SND.UNA passes it:
//     sndSmall (Nagle), recover (RFC 6582), rtxNext (SACK recovery),
//     sndWl2, chunkStart (the not-sent low-water mark's chunks) and the
//     record ends (MSG_EOR, dropped once acknowledged). Pulling keeps every comparison's outcome as it would be with
//     unbounded integers: each of them only ever asks whether the mark is
//     above SND.UNA (or above or at SND.UNA − 1 for recover), and a mark
//     already passed answers no.
//
// Without this, 2 GiB after the last loss a new loss cost an RTO instead of
// a fast retransmit (recover looked ahead of SND.UNA), and 2 GiB after the
// last small segment a small write waited as if one were still unacknowledged
// (TestSeqMarksPast2To32).

// pullMarksToUna is called each time SND.UNA advances.
func (c *Conn) pullMarksToUna() {
	una := c.sndUna
	if c.sndSmall.LessThan(una) {
		c.sndSmall = una // no small segment outstanding
	}
	// RFC 6582 asks whether an ACK "covers more than recover"; SND.UNA − 1
	// is the greatest mark for which every ACK at or above SND.UNA does.
	if before := una.Add(^uint32(0)); c.recover.LessThan(before) {
		c.recover = before
	}
	if c.rtxNext.LessThan(una) {
		c.rtxNext = una // no hole below SND.UNA is left
	}
	if c.sndWl2.LessThan(una) {
		c.sndWl2 = una // window updates need SND.WL2 ≤ SEG.ACK, and SEG.ACK ≥ SND.UNA
	}
	if c.chunkStart.LessThan(una) {
		c.chunkStart = una // tailRoom only asks where the unsent tail chunk begins
	}
	if len(c.eorMarks) > 0 {
		c.pruneEOR() // record.go: marks at or below SND.UNA are done
	}
}
