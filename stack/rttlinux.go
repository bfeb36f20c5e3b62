package stack

import (
	"sort"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Linux's RTT samples (TCPConfig.LinuxRTTSamples): where RFC 6298 times
// one segment per round trip, Linux takes a sample from every ACK that
// acknowledges new data (tcp_clean_rtx_queue, tcp_ack_update_rtt): the
// time since the oldest segment the ACK newly covers was sent, unless the
// ACK covers a segment that was sent more than once (Karn). A timestamp
// echo gives the sample only when the send times cannot, because
// retransmitted data was acknowledged. SRTT then moves by 1/8 of every
// such sample, so it follows a growing queue much faster than one sample
// per round trip does: a sender that queued its whole window behind a slow
// link sees an SRTT near the time its last segment waited, and its pacing
// rate (pacing.go) is lower by as much.
//
// Not modelled: the samples Linux takes from newly SACKed segments when
// the cumulative ACK gives none, and its mdev/mdev_max variance estimate;
// the samples feed the RFC 6298 estimator (rto.go) unchanged.

type rttRec struct {
	start, end segment.Seq
	at         time.Duration
	retrans    bool
}

type rttRecs struct {
	recs   []rttRec // one per segment sent, SND.UNA to SND.MAX, in order
	head   int
	tsNext bool // the ACK being processed gave no sample: a timestamp echo may
}

// rttRecSent records a segment [seq, next) sent now (ccSent).
func (c *Conn) rttRecSent(seq, next segment.Seq) {
	r := &c.ccx.lrtt
	if !next.GreaterThan(seq) {
		return
	}
	if seq.LessThan(c.sndMax) { // sent before: Karn's rule
		// The records are in sequence order: start at the first that ends
		// beyond seq.
		recs := r.recs[r.head:]
		i := sort.Search(len(recs), func(i int) bool { return recs[i].end.GreaterThan(seq) })
		for ; i < len(recs) && recs[i].start.LessThan(next); i++ {
			recs[i].retrans = true
		}
		if !next.GreaterThan(c.sndMax) {
			return
		}
		seq = c.sndMax
	}
	if r.head > 0 && r.head >= len(r.recs)/2 {
		r.recs = append(r.recs[:0], r.recs[r.head:]...)
		r.head = 0
	}
	r.recs = append(r.recs, rttRec{start: seq, end: next, at: c.h.env.Now()})
}

// rttRecAck takes the sample of an ACK of ack (ccAckStart, before SND.UNA
// moves). The RFC 6298 timing of one segment per round trip is dropped:
// this sample replaces it.
func (c *Conn) rttRecAck(ack segment.Seq) {
	r := &c.ccx.lrtt
	r.tsNext = false
	if !ack.GreaterThan(c.sndUna) || ack.GreaterThan(c.sndMax) {
		return
	}
	c.rttTiming = false
	var first time.Duration
	have, retrans := false, false
	for r.head < len(r.recs) && r.recs[r.head].end.LessThanEq(ack) {
		m := r.recs[r.head]
		if m.retrans {
			retrans = true
		} else if !have {
			first, have = m.at, true
		}
		r.head++
	}
	if r.head == len(r.recs) {
		r.recs, r.head = r.recs[:0], 0
	}
	if !have || retrans {
		r.tsNext = true
		return
	}
	c.rttSample(c.h.env.Now() - first)
}
