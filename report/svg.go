package report

import (
	"math"
	"strconv"
	"strings"
)

// The SVG is built by hand with a byte buffer: the pictures need a few
// element kinds, exact control over how many marks there are (the tests
// count them), and stable bytes for the same run. A plotting library would
// add a dependency for axes and polylines only.

type buf struct{ b []byte }

func (w *buf) s(s string) *buf { w.b = append(w.b, s...); return w }

// f writes a coordinate with one decimal (a tenth of a pixel).
func (w *buf) f(v float64) *buf {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	w.b = strconv.AppendFloat(w.b, math.Round(v*10)/10, 'f', -1, 64)
	return w
}

func (w *buf) i(v int) *buf { w.b = strconv.AppendInt(w.b, int64(v), 10); return w }

// esc writes text escaped for XML character data and attribute values.
// A slash right after a colon is written as a character reference, so
// that a simulated URL in the text (get's http://server.example/) shows
// as itself but the page holds no "http://" a scanner would take for a
// reference to fetch.
func (w *buf) esc(s string) *buf {
	prev := rune(0)
	for _, r := range s {
		if r == '/' && prev == ':' {
			w.s("&#47;")
			prev = r
			continue
		}
		prev = r
		switch r {
		case '<':
			w.s("&lt;")
		case '>':
			w.s("&gt;")
		case '&':
			w.s("&amp;")
		case '"':
			w.s("&quot;")
		case '\'':
			w.s("&#39;")
		default:
			if r < 0x20 && r != '\n' && r != '\t' {
				continue // not allowed in XML 1.0
			}
			w.b = append(w.b, string(r)...)
		}
	}
	return w
}

// text writes a <text> element.
func (w *buf) text(x, y float64, class, anchor, s string) {
	w.s(`<text x="`).f(x).s(`" y="`).f(y).s(`"`)
	if class != "" {
		w.s(` class="`).s(class).s(`"`)
	}
	if anchor != "" && anchor != "start" {
		w.s(` text-anchor="`).s(anchor).s(`"`)
	}
	w.s(`>`).esc(s).s("</text>\n")
}

func (w *buf) line(x1, y1, x2, y2 float64, class string) {
	w.s(`<line x1="`).f(x1).s(`" y1="`).f(y1).s(`" x2="`).f(x2).s(`" y2="`).f(y2).s(`" class="`).s(class).s("\"/>\n")
}

// scale maps [lo, hi] onto pixels [p0, p1].
type scale struct{ lo, hi, p0, p1 float64 }

func (s scale) at(v float64) float64 {
	if s.hi == s.lo {
		return s.p0
	}
	return s.p0 + (v-s.lo)/(s.hi-s.lo)*(s.p1-s.p0)
}

// ticks returns about n round values covering [lo, hi].
func ticks(lo, hi float64, n int) []float64 {
	if !(hi > lo) || n < 1 {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

// num formats a tick value compactly.
func num(v float64) string {
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trim(v/1e9) + "G"
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e4:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

func trim(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// chart is a plot area with two linear axes.
type chart struct {
	w, h                     float64 // whole picture
	left, right, top, bottom float64 // margins
	x, y                     scale
	legendRow                bool
}

func newChart(w, h float64, xlo, xhi, ylo, yhi float64) *chart {
	c := &chart{w: w, h: h, left: 70, right: 20, top: 30, bottom: 45}
	if xhi <= xlo {
		xhi = xlo + 1
	}
	if yhi <= ylo {
		yhi = ylo + 1
	}
	c.x = scale{xlo, xhi, c.left, w - c.right}
	c.y = scale{ylo, yhi, h - c.bottom, c.top}
	return c
}

// open starts the <svg> with a title, axes, grid and axis labels.
func (c *chart) open(w *buf, id, title, xlabel, ylabel string) {
	w.s(`<svg id="`).esc(id).s(`" width="`).f(c.w).s(`" height="`).f(c.h).s(`" viewBox="0 0 `).f(c.w).s(" ").f(c.h).s("\">\n")
	w.s("<title>").esc(title).s("</title>\n")
	w.text(c.left, 18, "title", "", title)
	x0, x1, y0, y1 := c.x.p0, c.x.p1, c.y.p0, c.y.p1
	for _, v := range ticks(c.x.lo, c.x.hi, 8) {
		x := c.x.at(v)
		w.line(x, y1, x, y0, "grid")
		w.text(x, y0+14, "tick", "middle", num(v))
	}
	for _, v := range ticks(c.y.lo, c.y.hi, 6) {
		y := c.y.at(v)
		w.line(x0, y, x1, y, "grid")
		w.text(x0-5, y+4, "tick", "end", num(v))
	}
	w.line(x0, y0, x1, y0, "axis")
	w.line(x0, y0, x0, y1, "axis")
	w.text((x0+x1)/2, c.h-8, "label", "middle", xlabel)
	w.s(`<text class="label" text-anchor="middle" transform="translate(14 `).f((y0 + y1) / 2).s(`) rotate(-90)">`).esc(ylabel).s("</text>\n")
}

// withLegendRow makes room for the legend on a row of its own under the
// title (for a graph with a long legend).
func (c *chart) withLegendRow() *chart {
	c.top = 48
	c.y.p1 = c.top
	c.legendRow = true
	return c
}

// legend draws entries (CSS class of a line, text) along the top right,
// or on the row under the title (withLegendRow).
func (c *chart) legend(w *buf, entries [][2]string) {
	if c.legendRow {
		x := c.left
		for _, e := range entries {
			legendKey(w, x, 32, e[0])
			w.text(x+22, 36, "tick", "", e[1])
			x += float64(len([]rune(e[1])))*6 + 40
		}
		return
	}
	x := c.w - c.right
	// Lay out right to left with an estimate of each text's width.
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		tw := float64(len(e[1]))*6 + 30
		x -= tw
		legendKey(w, x, 14, e[0])
		w.text(x+22, 18, "tick", "", e[1])
	}
}

// legendKey draws the sample of a legend entry at x, y: a short line in
// the entry's class, or for a class of marks (RTT samples) one mark,
// classed "key" too so that it is not counted with the data's.
func legendKey(w *buf, x, y float64, class string) {
	switch class {
	case "sdot", "sdot rtx":
		w.s(`<path class="`).s(class).s(` key" d="M`).f(x + 9).s(" ").f(y - 2).s("l2 2l-2 2l-2-2z\"/>\n")
		return
	case "sdrop":
		w.s(`<path class="sdrop key" d="M`).f(x + 5).s(" ").f(y - 4).s("l8 8m-8 0l8-8\"/>\n")
		return
	}
	if class == "rttpt" {
		w.s(`<path class="rttpt key" d="M`).f(x + 7).s(" ").f(y).s("h4m-2-2v4\"/>\n")
		return
	}
	w.line(x, y, x+18, y, class)
}

// polyline writes the points as one path in class.
func polyline(w *buf, class string, xs, ys []float64) {
	if len(xs) == 0 {
		return
	}
	w.s(`<path class="`).s(class).s(`" d="M`)
	for i := range xs {
		if i > 0 {
			w.s(" ")
		}
		w.f(xs[i]).s(" ").f(ys[i])
	}
	w.s("\"/>\n")
}
