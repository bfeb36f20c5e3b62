package report

import (
	"fmt"
	"math"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Throughput and goodput over time, and fairness. Every flow (not only
// the detailed ones) counts, in bins of rateRes of virtual time, the
// payload its two ends sent, retransmissions included (throughput, by when
// each packet was sent), and the new payload delivered in order at each
// receiver (goodput, by when the packet that completed it arrived: a
// retransmission that fills a hole delivers at once what waited above
// it). A router's copy of a packet is not counted again. A flow keeps at
// most rateMaxBins bins; when one would need more, every flow's bins are
// merged in pairs and rateRes doubles, so that memory stays bounded on
// long runs.

const rateMaxBins = 2048

// rateState is what the Recorder counts of one flow's progress.
type rateState struct {
	start   time.Duration // the first SYN
	last    time.Duration // the last ACK that acknowledged new data
	first   int64         // bin number of bins[0]: the first SYN's
	sent    []int64       // payload sent per bin, retransmissions included, both directions
	good    []int64       // new payload delivered in order per bin, both directions
	lastAck [2]segment.Seq
	ackSet  [2]bool
	total   int64         // payload and FINs acknowledged
	end     time.Duration // the last byte counted in sent or good
	node    [2]string     // the node that sent each direction's first packet
	rcv     [2]reasm      // each direction's receiver, as the arrivals fill it
}

// reasm is what a receiver holds: everything below nxt in order, and the
// blocks that arrived above it.
type reasm struct {
	nxt   segment.Seq
	set   bool
	above [][2]segment.Seq // sorted, disjoint, each above nxt
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
	rs.total += int64(ack.Sub(rs.lastAck[d]))
	rs.lastAck[d] = ack
	rs.last = t
}

// delivered takes the arrival at its receiver of n bytes from seq sent by
// direction d, and counts what it delivered in order.
func (r *Recorder) delivered(rs *rateState, d int, seq segment.Seq, n uint32, t time.Duration) {
	rv := &rs.rcv[d]
	if !rv.set || n == 0 {
		return
	}
	end := seq.Add(n)
	if !rv.nxt.LessThan(end) {
		return // all of it was there already
	}
	if rv.nxt.LessThan(seq) {
		// Above a hole: keep it, merged with the blocks it touches.
		blk := [2]segment.Seq{seq, end}
		out := rv.above[:0:0]
		placed := false
		for _, b := range rv.above {
			switch {
			case b[1].LessThan(blk[0]):
				out = append(out, b)
			case blk[1].LessThan(b[0]):
				if !placed {
					out, placed = append(out, blk), true
				}
				out = append(out, b)
			default:
				blk = [2]segment.Seq{b[0].Min(blk[0]), b[1].Max(blk[1])}
			}
		}
		if !placed {
			out = append(out, blk)
		}
		rv.above = out
		return
	}
	from := rv.nxt
	rv.nxt = end
	k := 0
	for ; k < len(rv.above) && !rv.nxt.LessThan(rv.above[k][0]); k++ {
		rv.nxt = rv.nxt.Max(rv.above[k][1])
	}
	rv.above = rv.above[k:]
	r.count(rs, &rs.good, t, int64(rv.nxt.Sub(from)))
}

// count adds n bytes at time t to one of a flow's bin arrays.
func (r *Recorder) count(rs *rateState, bins *[]int64, t time.Duration, n int64) {
	b := int64(t / r.rateRes)
	for b-rs.first >= rateMaxBins {
		r.coarsen()
		b = int64(t / r.rateRes)
	}
	for b-rs.first >= int64(len(*bins)) {
		*bins = append(*bins, 0)
	}
	(*bins)[b-rs.first] += n
	rs.end = max(rs.end, t)
}

// active reports whether the flow has anything to draw, and until when:
// its last new acknowledgment or the last payload it sent or delivered.
func (rs *rateState) active() (until time.Duration, ok bool) {
	return max(rs.last, rs.end), rs.total > 0 || len(rs.sent) > 0
}

// coarsen doubles the bin width of every flow.
func (r *Recorder) coarsen() {
	r.rateRes *= 2
	for _, rs := range r.rates {
		nf := rs.first / 2
		for _, bins := range []*[]int64{&rs.sent, &rs.good} {
			if len(*bins) == 0 {
				continue
			}
			nb := make([]int64, (rs.first+int64(len(*bins))-1)/2-nf+1)
			for i, v := range *bins {
				nb[(rs.first+int64(i))/2-nf] += v
			}
			*bins = nb
		}
		rs.first = nf
	}
}

// rateTable is the flows' bytes per interval over the run.
type rateTable struct {
	every time.Duration
	t0    int64     // interval number of column 0
	sent  [][]int64 // [flow][interval]: payload sent, retransmissions included
	good  [][]int64 // [flow][interval]: new payload delivered in order
	on    [][]bool  // [flow][interval]: the flow had started and not yet finished
}

// rateIntervals re-bins the counts into about 50 intervals at most,
// each a 1, 2 or 5 × 10^n multiple of the bin width.
func (r *Recorder) rateIntervals() *rateTable {
	var lo, hi time.Duration
	any := false
	for _, rs := range r.rates {
		until, ok := rs.active()
		if !ok {
			continue
		}
		if !any || rs.start < lo {
			lo = rs.start
		}
		hi = max(hi, until)
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
	rebin := func(rs *rateState, bins []int64) []int64 {
		row := make([]int64, n)
		for i, v := range bins {
			at := time.Duration(rs.first+int64(i)) * r.rateRes
			row[min(max(int64(at/every)-t0, 0), int64(n-1))] += v
		}
		return row
	}
	for _, rs := range r.rates {
		on := make([]bool, n)
		if until, ok := rs.active(); ok {
			for j := int64(rs.start/every) - t0; j <= int64(until/every)-t0; j++ {
				on[j] = true
			}
		}
		tab.sent = append(tab.sent, rebin(rs, rs.sent))
		tab.good = append(tab.good, rebin(rs, rs.good))
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

// mbps is bytes per interval of sec seconds in Mbit/s.
func mbps(v int64, sec float64) float64 { return float64(v) * 8 / sec / 1e6 }

// rateLine is the points of row over the intervals where on is set, at
// their middles.
func rateLine(c *chart, tab *rateTable, row []int64, on []bool) (xs, ys []float64) {
	sec := tab.every.Seconds()
	x0 := (time.Duration(tab.t0) * tab.every).Seconds()
	for j, v := range row {
		if on[j] {
			xs = append(xs, c.x.at(x0+(float64(j)+0.5)*sec))
			ys = append(ys, c.y.at(mbps(v, sec)))
		}
	}
	return xs, ys
}

// rateChart is a chart over the table's intervals up to top Mbit/s.
func rateChart(tab *rateTable, h, top float64) *chart {
	sec := tab.every.Seconds()
	x0 := (time.Duration(tab.t0) * tab.every).Seconds()
	return newChart(960, h, x0, x0+float64(len(tab.on[0]))*sec, 0, top*1.05)
}

// writeRates draws every flow's throughput (payload sent, retransmissions
// included, per interval, in Mbit/s) over time.
func (r *Recorder) writeRates(w *buf, tab *rateTable) {
	sec := tab.every.Seconds()
	var top float64
	for _, row := range tab.sent {
		for _, v := range row {
			top = max(top, mbps(v, sec))
		}
	}
	c := rateChart(tab, 340, top)
	c.open(w, "throughput", fmt.Sprintf("throughput of each flow over time (payload sent, retransmissions included, per %v)", tab.every), "time (s)", "Mbit/s")
	var legend [][2]string
	for i, row := range tab.sent {
		xs, ys := rateLine(c, tab, row, tab.on[i])
		cls := fmt.Sprintf("fl f%d", i%len(flowColours))
		polyline(w, cls, xs, ys)
		if len(tab.sent) <= 8 {
			legend = append(legend, [2]string{cls, fmt.Sprintf("flow %d", i+1)})
		}
	}
	c.legend(w, legend)
	w.s("</svg>\n")
}

// Legend texts of a flow's rate graph.
const (
	throughputText = "throughput: payload sent, retransmissions included"
	goodputText    = "goodput: new payload delivered in order"
)

// writeFlowRates draws detailed flow fi's throughput and goodput per
// interval over time.
func (r *Recorder) writeFlowRates(w *buf, tab *rateTable, fi int) {
	a := r.flows[fi].rate
	sec := tab.every.Seconds()
	var top float64
	for j := range tab.on[a] {
		top = max(top, mbps(tab.sent[a][j], sec), mbps(tab.good[a][j], sec))
	}
	c := rateChart(tab, 300, top).withLegendRow()
	c.open(w, fmt.Sprintf("throughput-%d", fi+1), fmt.Sprintf("flow %d: throughput and goodput per %v (both directions)", fi+1, tab.every), "time (s)", "Mbit/s")
	c.legend(w, [][2]string{{"thr", throughputText}, {"good", goodputText}})
	xs, ys := rateLine(c, tab, tab.sent[a], tab.on[a])
	polyline(w, "thr", xs, ys)
	xs, ys = rateLine(c, tab, tab.good[a], tab.on[a])
	polyline(w, "good", xs, ys)
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

// writeFairness draws Jain's index of the goodput of the flows active in
// each interval.
func (r *Recorder) writeFairness(w *buf, tab *rateTable) {
	n := len(tab.good[0])
	sec := tab.every.Seconds()
	x0 := (time.Duration(tab.t0) * tab.every).Seconds()
	c := newChart(960, 300, x0, x0+float64(n)*sec, 0, 1.05)
	c.open(w, "fairness", fmt.Sprintf("fairness over time: Jain's index of the active flows' goodput per %v", tab.every), "time (s)", "Jain's index")
	c.legend(w, [][2]string{{"jain", "Jain's index"}, {"nact", "active flows ÷ all"}})
	var xs, ys, nx, ny []float64
	for j := range n {
		var vals []float64
		for i := range tab.good {
			if tab.on[i][j] {
				vals = append(vals, float64(tab.good[i][j]))
			}
		}
		x := c.x.at(x0 + (float64(j)+0.5)*sec)
		nx, ny = append(nx, x), append(ny, c.y.at(float64(len(vals))/float64(len(tab.good))))
		if v, ok := jain(vals); ok && !math.IsNaN(v) {
			xs, ys = append(xs, x), append(ys, c.y.at(v))
		}
	}
	polyline(w, "nact", nx, ny)
	polyline(w, "jain", xs, ys)
	w.s("</svg>\n")
}
