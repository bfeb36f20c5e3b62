package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// rttSample is one round-trip time measured from the packets, at the time
// the ACK that gave it reached the data sender.
type rttSample struct {
	at, rtt time.Duration
}

// rttSamples measures direction d of flow f's round-trip times from the
// recorded packets by package flows' rule (flows.RTTStats), so that the
// graph's marks are the samples behind the flow table's RTT columns: the
// time from a data segment's first transmission to the arrival, back at
// its sender, of the first ACK that covers it; none from a segment sent
// more than once, nor from an ACK that covers one (Karn's rule), and at
// most one per ACK. Sends and arrivals are taken in the order the events
// were recorded.
func (r *Recorder) rttSamples(f *flowState, d int) []rttSample {
	type entry struct {
		start, end segment.Seq
		at         time.Duration
		tainted    bool
	}
	var q []entry
	head := 0
	// The ACKs that reached the sender, in arrival order.
	var acks []int32
	for _, i := range f.pkts {
		p := &r.pkts[i]
		if int(p.dir) != d && p.marks&markHop == 0 && p.flags&segment.FlagACK != 0 && r.reachedAt(i, r.rates[f.rate].node[d]) {
			acks = append(acks, i)
		}
	}
	slices.SortFunc(acks, func(a, b int32) int { return cmp.Compare(r.final(a).endN, r.final(b).endN) })
	var out []rttSample
	ack := func(i int32) {
		p, at := &r.pkts[i], r.final(i).endAt
		var last *entry
		tainted := false
		a := segment.Seq(p.ack)
		for head < len(q) && q[head].end.LessThanEq(a) {
			last = &q[head]
			tainted = tainted || last.tainted
			head++
		}
		if last != nil && !tainted {
			out = append(out, rttSample{at: at, rtt: at - last.at})
		}
	}
	k := 0
	for _, i := range f.pkts {
		p := &r.pkts[i]
		if int(p.dir) != d || p.n <= 0 || p.marks&markHop != 0 {
			continue
		}
		for k < len(acks) && r.final(acks[k]).endN < p.sentN {
			ack(acks[k])
			k++
		}
		start := segment.Seq(p.seq)
		end := start.Add(uint32(p.n))
		if p.marks&markRetrans != 0 {
			for j := head; j < len(q); j++ {
				if e := &q[j]; e.start.LessThan(end) && start.LessThan(e.end) {
					e.tainted = true
				}
			}
			continue
		}
		q = append(q, entry{start: start, end: end, at: p.sentAt})
	}
	for ; k < len(acks); k++ {
		ack(acks[k])
	}
	return out
}

// reachedAt reports whether packet i arrived at node (through any
// routers).
func (r *Recorder) reachedAt(i int32, node string) bool {
	fp := r.final(i)
	return fp.arrived && fp.to == node
}
