package stack

import "github.com/tcpsim/tcpsim/segment"

// reassembly tracks out-of-order data held in the receive ring beyond the
// in-order bytes (RFC 9293 §3.10.7.4, seventh step: segments beyond
// RCV.NXT are held for later processing). The bytes themselves live in the
// ring at their final positions, so memory is bounded by the receive buffer
// and filling a gap costs no copy. Here we keep only the sorted, disjoint,
// non-adjacent ranges [start, end) of sequence space that have arrived,
// all beyond rcvNxt.
type reassembly struct {
	blocks []seqRange
	bytes  int // total bytes held
}

type seqRange struct{ start, end segment.Seq }

// maxReasmBlocks bounds the number of gaps tracked. A flood of tiny
// segments with holes between them is dropped beyond it (and counted)
// rather than growing the list: memory stays bounded by the receive buffer
// and this constant.
const maxReasmBlocks = 256

func (q *reassembly) empty() bool { return len(q.blocks) == 0 }

// insert records [s, e), merging with overlapping and adjacent blocks. It
// reports false, changing nothing, if the block would exceed maxReasmBlocks.
func (q *reassembly) insert(s, e segment.Seq) bool {
	b := q.blocks
	// first block whose end ≥ s (could merge)
	i := 0
	for i < len(b) && b[i].end.LessThan(s) {
		i++
	}
	// blocks i..j-1 overlap or touch [s, e)
	j := i
	for j < len(b) && b[j].start.LessThanEq(e) {
		j++
	}
	if i == j {
		if len(b) >= maxReasmBlocks {
			return false
		}
		b = append(b, seqRange{})
		copy(b[i+1:], b[i:])
		b[i] = seqRange{s, e}
		q.blocks = b
		q.bytes += int(e.Sub(s))
		return true
	}
	ns, ne := s.Min(b[i].start), e.Max(b[j-1].end)
	for k := i; k < j; k++ {
		q.bytes -= int(b[k].end.Sub(b[k].start))
	}
	q.bytes += int(ne.Sub(ns))
	b[i] = seqRange{ns, ne}
	b = append(b[:i+1], b[j:]...)
	q.blocks = b
	return true
}

// advance removes the blocks that rcvNxt has reached and returns the new
// rcvNxt: the end of the block that starts at or before it, if any.
func (q *reassembly) advance(rcvNxt segment.Seq) segment.Seq {
	k := 0
	for k < len(q.blocks) && q.blocks[k].start.LessThanEq(rcvNxt) {
		blk := q.blocks[k]
		q.bytes -= int(blk.end.Sub(blk.start))
		rcvNxt = rcvNxt.Max(blk.end)
		k++
	}
	if k > 0 {
		n := copy(q.blocks, q.blocks[k:])
		q.blocks = q.blocks[:n]
	}
	return rcvNxt
}

func (q *reassembly) reset() { q.blocks, q.bytes = q.blocks[:0], 0 }
