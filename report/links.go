package report

import (
	"fmt"

	"github.com/tcpsim/tcpsim/sim"
)

// The report's per-link pictures: for each link direction that queued,
// dropped or marked packets, its queue length over time with the drops and
// CE marks of each interval, from a Series of the links (Options.Links)
// sampled every Options.SampleEvery.

// linkStyle colours the link charts; it is written once, in the first of
// them (the page's own style sheet belongs to html.go).
const linkStyle = `<style>.qlen{stroke:#1f5fbf;fill:none;stroke-width:1.5}.qdrop{stroke:#d00;fill:#d00}.qmark{stroke:#e08000;fill:#e08000}</style>
`

// linkSeries returns the Recorder's link Series, made on first use when
// Options.Links is set.
func (r *Recorder) linkSeries() *Series {
	if r.links == nil && r.opt.Links != nil {
		r.links = NewSeries(SeriesOptions{Every: r.opt.SampleEvery, Links: r.opt.Links})
	}
	return r.links
}

// linkEvent feeds the link Series (from Event).
func (r *Recorder) linkEvent(e *sim.Event) {
	if s := r.linkSeries(); s != nil {
		s.Event(e)
	}
}

// writeLinks draws the link directions that had a queue, drops or marks;
// it writes nothing without Options.Links.
func (r *Recorder) writeLinks(w *buf) {
	s := r.linkSeries()
	if s == nil {
		return
	}
	s.Finish(r.lastTime)
	var busy []*LinkSeries
	for _, l := range s.Links() {
		for _, p := range l.Points {
			if p.QueuePackets > 0 || p.Drops > 0 || p.Marks > 0 {
				busy = append(busy, l)
				break
			}
		}
	}
	w.s("<h2 id=\"links\">Links</h2>\n")
	if len(busy) == 0 {
		w.s("<p>No link direction queued, dropped or marked a packet.</p>\n")
		return
	}
	w.s("<p>Per link direction, the packets waiting for the transmitter at each sample (every ").s(r.opt.SampleEvery.String()).
		s("), and as bars the packets dropped (red) and marked CE (orange) in each interval.</p>\n")
	for i, l := range busy {
		pts := l.Points
		t0, t1 := 0.0, pts[len(pts)-1].At.Seconds()
		var ymax float64
		var drops, marks uint64
		for _, p := range pts {
			ymax = max(ymax, float64(p.QueuePackets), float64(p.Drops), float64(p.Marks))
			drops, marks = drops+p.Drops, marks+p.Marks
		}
		c := newChart(960, 260, t0, t1, 0, ymax*1.05)
		c.open(w, fmt.Sprintf("queue-%d", i+1), fmt.Sprintf("link %s, %s → %s: queue length (%d drops, %d CE marks)", l.Link, l.From, l.To, drops, marks), "time (s)", "packets")
		if i == 0 {
			w.s(linkStyle)
		}
		c.legend(w, [][2]string{{"qlen", "queue"}, {"qdrop", "drops"}, {"qmark", "CE marks"}})
		// Bars: each interval's drops, then its marks stacked above.
		for _, p := range pts {
			x0, x1 := c.x.at((p.At - p.Interval).Seconds()), c.x.at(p.At.Seconds())
			y := c.y.at(0)
			for _, b := range []struct {
				n     uint64
				class string
			}{{p.Drops, "qdrop"}, {p.Marks, "qmark"}} {
				if b.n == 0 {
					continue
				}
				top := c.y.at(float64(b.n)) - (c.y.at(0) - y)
				w.s(`<rect class="`).s(b.class).s(`" x="`).f(x0).s(`" y="`).f(top).s(`" width="`).f(max(x1-x0, 0.5)).s(`" height="`).f(y - top).s("\"/>\n")
				y = top
			}
		}
		xs, ys := make([]float64, 0, len(pts)+1), make([]float64, 0, len(pts)+1)
		xs, ys = append(xs, c.x.at(0)), append(ys, c.y.at(0))
		for _, p := range pts {
			xs, ys = append(xs, c.x.at(p.At.Seconds())), append(ys, c.y.at(float64(p.QueuePackets)))
		}
		polyline(w, "qlen", xs, ys)
		w.s("</svg>\n")
	}
}

// UseSeries makes the report draw each flow's cwnd, ssthresh, flight, SRTT
// and RTO from s, a Series of the same run's connections (the one the
// CLI's --series writes), instead of sampling the connections itself: the
// page and the file then show the same samples, at s's boundaries. Call it
// before the run; s must be finished (Series.Finish) before Write.
func (r *Recorder) UseSeries(s *Series) {
	r.shared = s
	r.opt.SampleEvery = s.Every()
}

// adoptShared replaces the detailed flows' samples with the shared
// Series' (from Write).
func (r *Recorder) adoptShared() {
	if r.shared == nil {
		return
	}
	for _, f := range r.flows {
		f.samples = nil
	}
	for _, cs := range r.shared.Conns() {
		for i := len(r.flows) - 1; i >= 0; i-- {
			f := r.flows[i]
			if (cs.Local == f.client && cs.Remote == f.server) || (cs.Local == f.server && cs.Remote == f.client) {
				s := &series{local: cs.Local, remote: cs.Remote, samples: make([]Sample, len(cs.Points))}
				for k := range cs.Points {
					s.samples[k] = cs.Points[k].Sample
				}
				f.samples = append(f.samples, s)
				break
			}
		}
	}
}
