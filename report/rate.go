package report

import (
	"fmt"
	"math"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Throughput over time and fairness. Every flow (not only the detailed
// ones) counts the bytes its receiver acknowledges, in bins of rateRes of
// virtual time by when the ACK was sent. A flow keeps at most rateMaxBins
// bins; when one would need more, every flow's bins are merged in pairs
// and rateRes doubles, so that memory stays bounded on long runs.

const rateMaxBins = 2048

// rateState is what the Recorder counts of one flow's progress.
type rateState struct {
	start   time.Duration // the first SYN
	last    time.Duration // the last ACK that acknowledged new data
	first   int64         // bin number of bins[0]
	bins    []int64       // bytes acknowledged per bin, both directions
	lastAck [2]segment.Seq
	ackSet  [2]bool
	total   int64
}

// acked counts an ACK sent by direction d of a flow; the first one (or a
// SYN-ACK's, base) only sets where counting starts.
func (r *Recorder) acked(rs *rateState, d int, ack segment.Seq, t time.Duration, base bool) {
	if !rs.ackSet[d] || base {
		rs.lastAck[d], rs.ackSet[d] = ack, true
		return
	}
	if !rs.lastAck[d].LessThan(ack) {
		return
	}
	n := int64(ack.Sub(rs.lastAck[d]))
	rs.lastAck[d] = ack
	rs.last = t
	rs.total += n
	b := int64(t / r.rateRes)
	if len(rs.bins) == 0 {
		rs.first = b
	}
	for b-rs.first >= rateMaxBins {
		r.coarsen()
		b = int64(t / r.rateRes)
	}
	for b-rs.first >= int64(len(rs.bins)) {
		rs.bins = append(rs.bins, 0)
	}
	rs.bins[b-rs.first] += n
}

// coarsen doubles the bin width of every flow.
func (r *Recorder) coarsen() {
	r.rateRes *= 2
	for _, rs := range r.rates {
		if len(rs.bins) == 0 {
			continue
		}
		nf := rs.first / 2
		nb := make([]int64, (rs.first+int64(len(rs.bins))-1)/2-nf+1)
		for i, v := range rs.bins {
			nb[(rs.first+int64(i))/2-nf] += v
		}
		rs.first, rs.bins = nf, nb
	}
}

// rateTable is the flows' bytes per interval over the run.
type rateTable struct {
	every time.Duration
	t0    int64     // interval number of column 0
	bytes [][]int64 // [flow][interval]
	on    [][]bool  // [flow][interval]: the flow had started and not yet finished
}

// rateIntervals re-bins the counts into about 50 intervals at most,
// each a 1, 2 or 5 × 10^n multiple of the bin width.
func (r *Recorder) rateIntervals() *rateTable {
	var lo, hi time.Duration
	any := false
	for _, rs := range r.rates {
		if rs.total == 0 {
			continue
		}
		if !any || rs.start < lo {
			lo = rs.start
		}
		hi = max(hi, rs.last)
		any = true
	}
	if !any {
		return nil
	}
	k := int64(1)
	for need := int64((hi-lo)/r.rateRes)/50 + 1; k < need; {
		switch s := fmt.Sprint(k); s[0] {
		case '1':
			k *= 2
		case '2':
			k = k / 2 * 5
		default:
			k *= 2
		}
	}
	every := r.rateRes * time.Duration(k)
	t0, t1 := int64(lo/every), int64(hi/every)
	n := int(t1 - t0 + 1)
	tab := &rateTable{every: every, t0: t0}
	for _, rs := range r.rates {
		row := make([]int64, n)
		on := make([]bool, n)
		for i, v := range rs.bins {
			at := time.Duration(rs.first+int64(i)) * r.rateRes
			row[int64(at/every)-t0] += v
		}
		if rs.total > 0 {
			for j := int64(rs.start/every) - t0; j <= int64(rs.last/every)-t0; j++ {
				on[j] = true
			}
		}
		tab.bytes = append(tab.bytes, row)
		tab.on = append(tab.on, on)
	}
	return tab
}

// flowColours is the cycle of line colours of the per-flow graph.
var flowColours = []string{"#1f5fbf", "#d62728", "#2a9a2a", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#555", "#bcbd22", "#17becf"}

func flowColourRules() string {
	s := ""
	for i, c := range flowColours {
		s += fmt.Sprintf(".f%d{stroke:%s}", i, c)
	}
	return s
}

// writeRates draws every flow's throughput (bytes acknowledged per
// interval, in Mbit/s) over time.
func (r *Recorder) writeRates(w *buf, tab *rateTable) {
	n := len(tab.bytes[0])
	sec := tab.every.Seconds()
	var top float64
	for _, row := range tab.bytes {
		for _, v := range row {
			top = max(top, float64(v)*8/sec/1e6)
		}
	}
	x0 := (time.Duration(tab.t0) * tab.every).Seconds()
	c := newChart(960, 340, x0, x0+float64(n)*sec, 0, top*1.05)
	c.open(w, "throughput", fmt.Sprintf("throughput of each flow over time (bytes acknowledged per %v)", tab.every), "time (s)", "Mbit/s")
	var legend [][2]string
	for i, row := range tab.bytes {
		var xs, ys []float64
		for j, v := range row {
			if !tab.on[i][j] {
				continue
			}
			xs = append(xs, c.x.at(x0+(float64(j)+0.5)*sec))
			ys = append(ys, c.y.at(float64(v)*8/sec/1e6))
		}
		cls := fmt.Sprintf("fl f%d", i%len(flowColours))
		polyline(w, cls, xs, ys)
		if len(tab.bytes) <= 8 {
			legend = append(legend, [2]string{cls, fmt.Sprintf("flow %d", i+1)})
		}
	}
	c.legend(w, legend)
	w.s("</svg>\n")
}

// jain is Jain's fairness index of xs: (Σx)² / (n·Σx²), 1 when all are
// equal, 1/n when one has everything; ok is false when all are zero.
func jain(xs []float64) (float64, bool) {
	var s, s2 float64
	for _, x := range xs {
		s += x
		s2 += x * x
	}
	if s2 == 0 {
		return 0, false
	}
	return s * s / (float64(len(xs)) * s2), true
}

// writeFairness draws Jain's index of the throughput of the flows active
// in each interval.
func (r *Recorder) writeFairness(w *buf, tab *rateTable) {
	n := len(tab.bytes[0])
	sec := tab.every.Seconds()
	x0 := (time.Duration(tab.t0) * tab.every).Seconds()
	c := newChart(960, 300, x0, x0+float64(n)*sec, 0, 1.05)
	c.open(w, "fairness", fmt.Sprintf("fairness over time: Jain's index of the active flows' throughput per %v", tab.every), "time (s)", "Jain's index")
	c.legend(w, [][2]string{{"jain", "Jain's index"}, {"nact", "active flows ÷ all"}})
	var xs, ys, nx, ny []float64
	for j := range n {
		var vals []float64
		for i := range tab.bytes {
			if tab.on[i][j] {
				vals = append(vals, float64(tab.bytes[i][j]))
			}
		}
		x := c.x.at(x0 + (float64(j)+0.5)*sec)
		nx, ny = append(nx, x), append(ny, c.y.at(float64(len(vals))/float64(len(tab.bytes))))
		if v, ok := jain(vals); ok && !math.IsNaN(v) {
			xs, ys = append(xs, x), append(ys, c.y.at(v))
		}
	}
	polyline(w, "nact", nx, ny)
	polyline(w, "jain", xs, ys)
	w.s("</svg>\n")
}
