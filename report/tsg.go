package report

import (
	"fmt"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// mainDir is the direction of f that carried more payload (the client's
// on a tie), as package flows chooses.
func mainDir(f *flowState) int {
	if f.payload[1] > f.payload[0] {
		return 1
	}
	return 0
}

// writeTSG draws flow fi's time-sequence graph: the data direction's
// segments as vertical bars from their first to their last sequence
// number at the time they were sent, the ACK line and the receive-window
// line (ACK + advertised window) as the ACKs reached the data sender,
// SACK blocks as bars at those times, and a cross on every data segment
// the link dropped. Sequence numbers are relative to the sender's ISN.
func (r *Recorder) writeTSG(w *buf, fi int) {
	f := r.flows[fi]
	d := mainDir(f)
	var t0, t1 time.Duration
	var ymax uint32
	first := true
	for _, i := range f.pkts {
		p := &r.pkts[i]
		for _, t := range []time.Duration{p.departs(), p.endAt} {
			if first || t < t0 {
				t0 = t
			}
			t1 = max(t1, t)
			first = false
		}
		if int(p.dir) == d {
			ymax = max(ymax, p.seq+uint32(p.n))
		}
	}
	// The axis fits the data; the receive-window line, often far above
	// it, is clipped at the top of the plot.
	ymax += ymax / 20
	c := newChart(960, 420, t0.Seconds(), t1.Seconds(), 0, float64(ymax)).withLegendRow()
	c.open(w, fmt.Sprintf("tsg-%d", fi+1), fmt.Sprintf("flow %d: time-sequence graph, %v → %v", fi+1, r.endName(f, d), r.endName(f, d^1)), "time (s)", "sequence number (bytes, relative)")
	// The receive-window line is often far above the data: say so when
	// none of it is inside the plot.
	winAbove := true
	for _, i := range f.pkts {
		p := &r.pkts[i]
		if int(p.dir) != d && p.marks&markHop == 0 && r.reachedSender(f, i) && p.flags&segment.FlagACK != 0 && p.ack+p.win <= ymax {
			winAbove = false
			break
		}
	}
	winText := "receive window"
	if winAbove {
		winText = "receive window (above the plot)"
	}
	c.legend(w, [][2]string{{"seg", "data"}, {"seg rtx", "retransmitted"}, {"lostx", "dropped"}, {"ack", "ACK"}, {"dupmark", "duplicate ACK"}, {"win", winText}, {"sack", "SACK block"}, {"synfin", "SYN / FIN"}})
	var ax, ay, wx, wy []float64
	var sack, dups, ctl buf
	for _, i := range f.pkts {
		p := &r.pkts[i]
		if p.marks&markHop != 0 {
			continue // a router's copy: the sender's is drawn
		}
		x := c.x.at(p.departs().Seconds())
		if int(p.dir) == d {
			if p.flags&(segment.FlagSYN|segment.FlagFIN) != 0 {
				// tcptrace's SYN and FIN marks: a small diamond at the
				// sequence number the flag occupies.
				at := p.seq + uint32(p.n)
				if p.flags&segment.FlagSYN != 0 {
					at = p.seq
				}
				y := c.y.at(float64(at))
				ctl.s("M").f(x).s(" ").f(y - 4).s("l4 4l-4 4l-4-4z")
			}
			if p.n == 0 {
				continue
			}
			cls := "seg"
			if p.marks&markRetrans != 0 {
				cls = "seg rtx"
			}
			y0, y1 := c.y.at(float64(p.seq)), c.y.at(float64(p.seq+uint32(p.n)))
			w.s(`<path class="`).s(cls).s(`" d="M`).f(x).s(" ").f(y0).s("V").f(y1).s("\"/>\n")
			if r.final(i).drop != "" {
				w.s(`<path class="lostx" d="M`).f(x - 3).s(" ").f(y1 - 3).s("l6 6m-6 0l6-6\"/>\n")
			}
			continue
		}
		if !r.reachedSender(f, i) || p.flags&segment.FlagACK == 0 {
			continue
		}
		xa := c.x.at(r.final(i).endAt.Seconds())
		ya, yw := c.y.at(float64(p.ack)), c.y.at(float64(p.ack+p.win))
		if len(ax) > 0 { // a step: across at the old level, then up
			ax, ay = append(ax, xa), append(ay, ay[len(ay)-1])
			wx, wy = append(wx, xa), append(wy, wy[len(wy)-1])
		}
		ax, ay = append(ax, xa), append(ay, ya)
		wx, wy = append(wx, xa), append(wy, yw)
		if p.marks&markDupAck != 0 {
			dups.s("M").f(xa - 4).s(" ").f(ya).s("h8")
		}
		for k := range int(p.nsack) {
			sack.s("M").f(xa).s(" ").f(c.y.at(float64(p.sack[k][0]))).s("V").f(c.y.at(float64(p.sack[k][1])))
		}
	}
	polyline(w, "ack", ax, ay)
	clip := fmt.Sprintf("clip-tsg-%d", fi+1)
	w.s(`<clipPath id="`).s(clip).s(`"><rect x="`).f(c.x.p0).s(`" y="`).f(c.y.p1).s(`" width="`).f(c.x.p1 - c.x.p0).s(`" height="`).f(c.y.p0 - c.y.p1).s("\"/></clipPath>\n")
	w.s(`<g clip-path="url(#`).s(clip).s(`)">` + "\n")
	polyline(w, "win", wx, wy)
	w.s("</g>\n")
	if len(sack.b) > 0 {
		w.s(`<path class="sack" d="`).s(string(sack.b)).s("\"/>\n")
	}
	if len(dups.b) > 0 {
		w.s(`<path class="dupmark" d="`).s(string(dups.b)).s("\"/>\n")
	}
	if len(ctl.b) > 0 {
		w.s(`<path class="synfin" d="`).s(string(ctl.b)).s("\"/>\n")
	}
	w.s("</svg>\n")
}

// writeStevens draws flow fi's time-sequence graph in the style of
// Stevens's TCP/IP Illustrated: one dot per data segment the sender sent,
// at its send time and the relative sequence number of its first byte,
// and nothing else: no ACK, window or SACK lines. A retransmission is a
// red dot (it sits below the line the others make), a segment the network
// dropped a red cross. It is the plainer companion of writeTSG.
func (r *Recorder) writeStevens(w *buf, fi int) {
	f := r.flows[fi]
	d := mainDir(f)
	var t0, t1 time.Duration
	var ymax uint32
	first := true
	for _, i := range f.pkts {
		p := &r.pkts[i]
		if int(p.dir) != d || p.n == 0 || p.marks&markHop != 0 {
			continue
		}
		t := p.departs()
		if first || t < t0 {
			t0 = t
		}
		t1 = max(t1, t)
		first = false
		ymax = max(ymax, p.seq)
	}
	if first {
		return // no data in the main direction
	}
	if t1 == t0 {
		t1 = t0 + time.Millisecond
	}
	ymax += ymax/20 + 1
	c := newChart(960, 360, t0.Seconds(), t1.Seconds(), 0, float64(ymax))
	c.open(w, fmt.Sprintf("stevens-%d", fi+1), fmt.Sprintf("flow %d: sequence numbers sent over time (Stevens style), %v → %v", fi+1, r.endName(f, d), r.endName(f, d^1)), "time (s)", "starting sequence number (bytes, relative)")
	c.legend(w, [][2]string{{"sdot", "segment sent"}, {"sdot rtx", "retransmitted"}, {"sdrop", "dropped"}})
	var dots, rtx, drops buf
	for _, i := range f.pkts {
		p := &r.pkts[i]
		if int(p.dir) != d || p.n == 0 || p.marks&markHop != 0 {
			continue
		}
		x, y := c.x.at(p.departs().Seconds()), c.y.at(float64(p.seq))
		b := &dots
		if p.marks&markRetrans != 0 {
			b = &rtx
		}
		// A dot: a small filled diamond (the PNG painter draws lines
		// and fills, no arcs).
		b.s("M").f(x).s(" ").f(y - 2).s("l2 2l-2 2l-2-2z")
		if r.final(i).drop != "" {
			drops.s("M").f(x - 4).s(" ").f(y - 4).s("l8 8m-8 0l8-8")
		}
	}
	for _, e := range []struct {
		cls string
		b   *buf
	}{{"sdot", &dots}, {"sdot rtx", &rtx}, {"sdrop", &drops}} {
		if len(e.b.b) > 0 {
			w.s(`<path class="`).s(e.cls).s(`" d="`).s(string(e.b.b)).s("\"/>\n")
		}
	}
	w.s("</svg>\n")
}

// reachedSender reports whether packet i, sent toward flow f's data
// sender, arrived there (through any routers).
func (r *Recorder) reachedSender(f *flowState, i int32) bool {
	return r.reachedAt(i, r.rates[f.rate].node[mainDir(f)])
}

func (r *Recorder) endName(f *flowState, d int) string {
	if d == 0 {
		return f.client.String()
	}
	return f.server.String()
}

// sender returns the sampled series of the data sender of flow f.
func (r *Recorder) sender(f *flowState) *series {
	want := f.client
	if mainDir(f) == 1 {
		want = f.server
	}
	for _, s := range f.samples {
		if s.local == want {
			return s
		}
	}
	return nil
}

// writeSeries draws the data sender's cwnd, ssthresh and bytes in flight,
// then its SRTT and RTO, from the samples.
func (r *Recorder) writeSeries(w *buf, fi int) bool {
	f := r.flows[fi]
	s := r.sender(f)
	if s == nil || len(s.samples) == 0 {
		return false
	}
	ss := s.samples
	t0, t1 := ss[0].At.Seconds(), ss[len(ss)-1].At.Seconds()
	var bmax float64
	var rmax time.Duration
	for _, x := range ss {
		bmax = max(bmax, float64(x.Cwnd), float64(x.InFlight))
		if x.Ssthresh < 1<<30 {
			bmax = max(bmax, float64(x.Ssthresh))
		}
		rmax = max(rmax, x.SRTT, x.RTO)
	}
	c := newChart(960, 300, t0, t1, 0, bmax*1.05)
	c.open(w, fmt.Sprintf("cwnd-%d", fi+1), fmt.Sprintf("flow %d: congestion window of %v (sampled every %v)", fi+1, s.local, r.opt.SampleEvery), "time (s)", "bytes")
	c.legend(w, [][2]string{{"cwnd", "cwnd"}, {"ssthresh", "ssthresh"}, {"flight", "bytes in flight"}})
	xs := make([]float64, len(ss))
	for i, x := range ss {
		xs[i] = c.x.at(x.At.Seconds())
	}
	ys := make([]float64, len(ss))
	for i, x := range ss {
		ys[i] = c.y.at(float64(x.Cwnd))
	}
	polyline(w, "cwnd", xs, ys)
	// ssthresh only where it is finite (it starts "infinite").
	var sx, sy []float64
	for i, x := range ss {
		if x.Ssthresh < 1<<30 {
			sx, sy = append(sx, xs[i]), append(sy, c.y.at(float64(x.Ssthresh)))
		}
	}
	polyline(w, "ssthresh", sx, sy)
	for i, x := range ss {
		ys[i] = c.y.at(float64(x.InFlight))
	}
	polyline(w, "flight", xs, ys)
	w.s("</svg>\n")

	// The RTT samples behind the estimator, as marks; the axes take in
	// those after the last sample of the connection too.
	rs := r.rttSamples(f, mainDir(f))
	for _, x := range rs {
		rmax = max(rmax, x.rtt)
		t0, t1 = min(t0, x.at.Seconds()), max(t1, x.at.Seconds())
	}
	c = newChart(960, 260, t0, t1, 0, float64(rmax)/1e6*1.05)
	c.open(w, fmt.Sprintf("rtt-%d", fi+1), fmt.Sprintf("flow %d: RTT samples, smoothed RTT and retransmission timeout of %v", fi+1, s.local), "time (s)", "ms")
	c.legend(w, [][2]string{{"srtt", "SRTT"}, {"rto", "RTO"}, {"rttpt", "RTT sample"}})
	for i, x := range ss {
		xs[i] = c.x.at(x.At.Seconds())
		ys[i] = c.y.at(float64(x.SRTT) / 1e6)
	}
	polyline(w, "srtt", xs, ys)
	for i, x := range ss {
		ys[i] = c.y.at(float64(x.RTO) / 1e6)
	}
	polyline(w, "rto", xs, ys)
	if len(rs) > 0 {
		// One small cross per sample, all in one path.
		w.s(`<path class="rttpt" d="`)
		for _, x := range rs {
			w.s("M").f(c.x.at(x.at.Seconds()) - 2).s(" ").f(c.y.at(float64(x.rtt) / 1e6)).s("h4m-2-2v4")
		}
		w.s("\"/>\n")
	}
	w.s("</svg>\n")
	return true
}
