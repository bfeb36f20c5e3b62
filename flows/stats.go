package flows

import (
	"math"
	"slices"
	"time"
)

// Count is the number of RTT samples.
func (r *RTTStats) Count() int { return r.n }

// Min, Max and Mean summarise the samples (zero without any).
func (r *RTTStats) Min() time.Duration { return r.min }

// Max is the largest sample.
func (r *RTTStats) Max() time.Duration { return r.max }

// Mean is the average sample.
func (r *RTTStats) Mean() time.Duration {
	if r.n == 0 {
		return 0
	}
	return r.sum / time.Duration(r.n)
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of the samples by
// the nearest-rank method; beyond 4,096 samples it is taken from a uniform
// sample of them.
func (r *RTTStats) Percentile(p float64) time.Duration {
	return percentile(r.samples, p)
}

func percentile(v []time.Duration, p float64) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// RetransBytes is the payload sent more than once: payload sent minus the
// span of sequence numbers it covered.
func (d *Direction) RetransBytes() int64 {
	unique := int64(d.MaxEnd.Sub(d.ISS)) - 1 // the SYN's sequence number
	if !d.SYNSeen || unique < 0 || unique > d.Payload {
		return 0
	}
	return d.Payload - unique
}

// UniqueBytes is the payload without retransmissions.
func (d *Direction) UniqueBytes() int64 { return d.Payload - d.RetransBytes() }

// Main is the direction that carried more payload (the client's on a tie).
func (f *Flow) Main() *Direction {
	if f.Dir[1].Payload > f.Dir[0].Payload {
		return &f.Dir[1]
	}
	return &f.Dir[0]
}

// Complete reports whether every direction that carried payload also sent
// its FIN and saw all of it, FIN included, acknowledged: the transfer
// finished. (The log cannot see an application's intent; a flow that keeps
// its connection open is never complete by this rule.)
func (f *Flow) Complete() bool {
	if f.Failure != "" {
		return false
	}
	data := false
	for i := range f.Dir {
		d := &f.Dir[i]
		if d.Payload == 0 {
			continue
		}
		data = true
		if d.FINs == 0 || !d.AckSeen || d.AckedEnd.LessThan(d.MaxEnd.Add(1)) {
			return false
		}
	}
	return data
}

// CompletionTime is the flow completion time of a complete flow: from the
// first SYN to the delivery of the last new payload byte, in whichever
// direction came last (ns-3 FlowMonitor measures first transmission to last
// reception). ok is false for a flow that is not complete.
func (f *Flow) CompletionTime() (d time.Duration, ok bool) {
	if !f.Complete() {
		return 0, false
	}
	var last time.Duration
	for i := range f.Dir {
		if f.Dir[i].HasLastData {
			last, ok = max(last, f.Dir[i].LastData), true
		}
	}
	return last - f.SYNAt, ok
}

// Goodput is the main direction's payload without retransmissions over the
// time from its first data segment to the delivery of its last, in bits per
// second; ok is false when that span is empty.
func (f *Flow) Goodput() (bps float64, ok bool) {
	d := f.Main()
	if !d.HasData || !d.HasLastData || d.LastData <= d.FirstData {
		return 0, false
	}
	return float64(d.UniqueBytes()) * 8 / (d.LastData - d.FirstData).Seconds(), true
}

// Drops is the number of the flow's packets the links dropped, both ways.
func (f *Flow) Drops() int { return f.Dir[0].Dropped + f.Dir[1].Dropped }

// Summary aggregates flows.
type Summary struct {
	Flows, Completed, Failed int
	// Completion-time percentiles over the completed flows (nearest rank).
	FCTp50, FCTp90, FCTp99, FCTMax time.Duration
	// Jain's fairness index of the completed flows' goodput:
	// (Σx)² / (n·Σx²), 1 when all are equal, 1/n when one takes all.
	Jain float64
	// Unique payload bytes over all flows, retransmissions counted apart.
	Bytes, RetransBytes int64
	Retrans, Drops      int
	// First data sent and last data delivered over all flows, and the
	// aggregate goodput between them in bits per second.
	FirstData, LastData time.Duration
	Goodput             float64
}

// Summarize aggregates fs.
func Summarize(fs []*Flow) Summary {
	s := Summary{Flows: len(fs)}
	var fct []time.Duration
	var sum, sumSq float64
	var withGoodput int
	first := true
	for _, f := range fs {
		if f.Failure != "" {
			s.Failed++
		}
		if d, ok := f.CompletionTime(); ok {
			s.Completed++
			fct = append(fct, d)
			if g, ok := f.Goodput(); ok {
				sum += g
				sumSq += g * g
				withGoodput++
			}
		}
		for i := range f.Dir {
			d := &f.Dir[i]
			s.Bytes += d.UniqueBytes()
			s.RetransBytes += d.RetransBytes()
			s.Retrans += d.Retrans
			s.Drops += d.Dropped
			if d.HasData && (first || d.FirstData < s.FirstData) {
				s.FirstData, first = d.FirstData, false
			}
			if d.HasLastData {
				s.LastData = max(s.LastData, d.LastData)
			}
		}
	}
	if len(fct) > 0 {
		s.FCTp50, s.FCTp90, s.FCTp99 = percentile(fct, 50), percentile(fct, 90), percentile(fct, 99)
		s.FCTMax = slices.Max(fct)
	}
	if sumSq > 0 {
		s.Jain = sum * sum / (float64(withGoodput) * sumSq)
	}
	if s.LastData > s.FirstData {
		s.Goodput = float64(s.Bytes) * 8 / (s.LastData - s.FirstData).Seconds()
	}
	return s
}
