package report

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"time"
)

// Step is one step of a story told beside the ladder (get's seven steps).
type Step struct {
	At   time.Duration
	Text string
}

// Table is a table of text cells (the CLI's flow table).
type Table struct {
	Header []string
	Rows   [][]string
}

// Call is one socket call an application made, drawn beside its host's
// lane of the ladder at the virtual time it was made, with a bar down to
// when it returned if it blocked.
type Call struct {
	Host    string        // the node whose lane it is drawn beside
	Op      string        // connect, accept, write, read, close
	At, End time.Duration // made, returned
	N       int           // bytes written or read; ignored for the others
	Err     string        // what it returned instead of success ("EOF" for a read at the end)
}

// Meta is what the page says about the run besides the pictures.
type Meta struct {
	Title string   // the page's title, e.g. the command line
	Lines []string // lines printed under the title (seed, link, ...)
	Steps []Step   // drawn beside the ladder
	Calls []Call   // drawn beside the lanes of the ladder
	// TimeWait is how long TIME_WAIT lasts (2·MSL), for the label of the
	// TIME_WAIT span on the ladder; zero leaves it unsaid.
	TimeWait time.Duration
	Table    *Table // the flow table, shown when there are several flows
}

var style = `body{font-family:sans-serif;margin:1em 2em;color:#222}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:2em}
p.meta{margin:.2em 0;font-family:monospace}
svg{display:block;margin:.5em 0;background:#fff}
svg text{font-family:sans-serif;font-size:11px;fill:#222}
svg .title{font-size:13px;font-weight:bold}
svg .tick,svg .time{font-size:10px;fill:#555}
svg .plabel{font-size:10px;font-family:monospace}
svg .lanename{font-size:13px;font-weight:bold}
svg .step{font-size:11px;fill:#036}
svg .lost{font-size:10px;fill:#c00}
svg .gap{font-size:11px;fill:#888}
svg .note{font-size:12px;fill:#a40}
.grid{stroke:#eee}.axis{stroke:#444}.lane{stroke:#444;stroke-width:2}
.steplink{stroke:#9bd;stroke-dasharray:2 2}
svg .call{font-size:10px;font-family:monospace;fill:#604}.callspan{stroke:#b8a;stroke-width:1.5;fill:none}
.tw{fill:#fbe3a0}svg .twlabel{font-size:10px;fill:#a60}
.head{fill:#333}
.pkt{stroke-width:1.4}.pkt.data{stroke:#222}.pkt.ack{stroke:#4a78c0}.pkt.ctl{stroke:#2a8a2a;stroke-width:2}
.pkt.rtx{stroke:#d00;stroke-width:2}.pkt.dup{stroke:#e08000}.pkt.wup{stroke:#0aa}.pkt.zwin{stroke:#909;stroke-width:2}
.cross{stroke:#d00;stroke-width:2;fill:none}
.seg{stroke:#222;stroke-width:1.2}.seg.rtx{stroke:#d00;stroke-width:1.6}.lostx{stroke:#d00;fill:none}
.ack{stroke:#1a9a1a;fill:none}.dupmark{stroke:#e08000;stroke-width:2;fill:none}.synfin{stroke:#2a8a2a;fill:#9d9;stroke-width:1.2}.win{stroke:#c9a000;fill:none}.sack{stroke:#a020c0;stroke-width:2;fill:none}
.cwnd{stroke:#1f5fbf;fill:none;stroke-width:1.5}.ssthresh{stroke:#d00;fill:none;stroke-dasharray:5 3}
.flight{stroke:#2a9a2a;fill:none}.srtt{stroke:#1f5fbf;fill:none;stroke-width:1.5}.rto{stroke:#d08000;fill:none}.rttpt{stroke:#555;stroke-width:1.2;fill:none}.sdot{stroke:#222;stroke-width:.5;fill:#222}.sdot.rtx{stroke:#d00;fill:#d00}.sdrop{stroke:#d00;stroke-width:1.4;fill:none}
.cdf{stroke:#1f5fbf;fill:none;stroke-width:1.5}.bar{fill:#6a9ad8}
.fl{fill:none;stroke-width:1.3}` + flowColourRules() + `
.thr{stroke:#d62728;fill:none;stroke-width:1.3}.good{stroke:#2a9a2a;fill:none;stroke-width:1.5}
.jain{stroke:#1f5fbf;fill:none;stroke-width:1.5}.nact{stroke:#999;fill:none;stroke-dasharray:4 3}
table{border-collapse:collapse;font-family:monospace;font-size:12px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f3f3f3}
`

// Write writes the report as one HTML page.
func (r *Recorder) Write(out io.Writer, m Meta) error {
	var w buf
	w.s("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>").esc(m.Title).s("</title>\n<style>\n").s(style).s("</style>\n</head>\n<body>\n")
	w.s("<h1>").esc(m.Title).s("</h1>\n")
	for _, l := range m.Lines {
		w.s(`<p class="meta">`).esc(l).s("</p>\n")
	}
	w.s("<h2 id=\"ladder-h\">Ladder diagram</h2>\n<p>One lane per host, time going down; each arrow is one packet from when it was sent to when it arrived (").s(r.seqWords()).s("); UDP datagrams (DNS decoded) and ICMP messages are arrows too, labelled by what they carry. Hover an arrow for its label. Long idle gaps are shortened and marked ≈. Socket calls are written beside the lanes, with a bracket down to when a blocking call returned; TIME_WAIT is a band on the lane of the host that holds it.</p>\n")
	if lo, hi := r.ladderRange(); len(r.pkts) == 0 {
		w.s("<p>No TCP packets were sent.</p>\n")
	} else if lo == hi {
		w.s("<p>No TCP packets were sent in the chosen window (").s(secs(r.opt.LadderFrom)).s(" s to ").s(untilText(r.opt.LadderUntil)).s(").</p>\n")
	} else {
		r.writeLadder(&w, &m)
	}
	r.adoptShared() // links.go
	tab := r.rateIntervals()
	for i := range r.flows {
		f := r.flows[i]
		w.s("<h2 id=\"flow-").i(i + 1).s("\">Flow ").i(i + 1).s(": ").esc(f.client.String()).s(" → ").esc(f.server.String()).s("</h2>\n")
		r.writeTSG(&w, i)
		r.writeStevens(&w, i)
		if !r.writeSeries(&w, i) {
			w.s("<p>No samples of this flow's sender (the report was given no connections to sample).</p>\n")
		}
		if tab != nil {
			r.writeFlowRates(&w, tab, i)
		}
	}
	if r.extra > 0 {
		w.s("<p class=\"note\">").i(r.extra).s(" more flows have no time-sequence graph or time series (the report details the first ").i(r.opt.MaxFlows).s(").</p>\n")
	}
	r.writeLinks(&w) // links.go
	if fs := r.an.Flows(); len(fs) > 1 {
		w.s("<h2 id=\"flows\">All ").i(len(fs)).s(" flows</h2>\n")
		r.writeCDF(&w)
		r.writeGoodput(&w)
		if tab != nil {
			r.writeRates(&w, tab)
			r.writeFairness(&w, tab)
		}
		if m.Table != nil {
			writeTable(&w, m.Table)
		}
	}
	w.s("</body>\n</html>\n")
	_, err := out.Write(w.b)
	return err
}

// writeCDF draws the empirical CDF of the completed flows' completion
// times.
func (r *Recorder) writeCDF(w *buf) {
	var fct []float64
	for _, f := range r.an.Flows() {
		if d, ok := f.CompletionTime(); ok {
			fct = append(fct, d.Seconds())
		}
	}
	if len(fct) == 0 {
		w.s("<p>No flow completed: no completion-time CDF.</p>\n")
		return
	}
	slices.Sort(fct)
	c := newChart(720, 320, 0, fct[len(fct)-1]*1.05, 0, 1)
	c.open(w, "fct-cdf", fmt.Sprintf("flow completion time CDF (%d of %d flows completed)", len(fct), len(r.an.Flows())), "completion time (s)", "fraction of flows")
	xs := []float64{c.x.at(0)}
	ys := []float64{c.y.at(0)}
	for i, v := range fct {
		x := c.x.at(v)
		xs = append(xs, x, x)
		ys = append(ys, ys[len(ys)-1], c.y.at(float64(i+1)/float64(len(fct))))
	}
	polyline(w, "cdf", xs, ys)
	w.s("</svg>\n")
}

// writeGoodput draws one bar per flow: its goodput.
func (r *Recorder) writeGoodput(w *buf) {
	fs := r.an.Flows()
	var top float64
	g := make([]float64, len(fs))
	for i, f := range fs {
		if v, ok := f.Goodput(); ok {
			g[i] = v / 1e6
			top = max(top, g[i])
		}
	}
	c := newChart(720, 320, 0.5, float64(len(fs))+0.5, 0, top*1.1)
	c.open(w, "goodput", "goodput per flow", "flow", "Mbit/s")
	bw := (c.x.p1 - c.x.p0) / float64(len(fs))
	for i, v := range g {
		x := c.x.at(float64(i+1)) - bw*0.4
		y := c.y.at(v)
		w.s(`<rect class="bar" x="`).f(x).s(`" y="`).f(y).s(`" width="`).f(bw * 0.8).s(`" height="`).f(c.y.p0 - y).s("\"/>\n")
	}
	w.s("</svg>\n")
}

func writeTable(w *buf, t *Table) {
	w.s("<table>\n<tr>")
	for _, h := range t.Header {
		w.s("<th>").esc(h).s("</th>")
	}
	w.s("</tr>\n")
	for _, row := range t.Rows {
		w.s("<tr>")
		for _, c := range row {
			w.s("<td>").esc(c).s("</td>")
		}
		w.s("</tr>\n")
	}
	w.s("</table>\n")
}

// Picture is one of the page's graphs as a standalone SVG file.
type Picture struct {
	Name string // the graph's id: "ladder", "tsg-1", "cwnd-1", "rtt-1", "fct-cdf", "goodput", "throughput", "fairness"
	SVG  []byte
}

// Pictures cuts a page Write wrote into its graphs, each as its own SVG
// document with the page's styles inside it, for papers, slides and the
// documentation's figures.
func Pictures(page []byte) []Picture {
	var out []Picture
	rest := page
	for {
		i := bytes.Index(rest, []byte(`<svg id="`))
		if i < 0 {
			return out
		}
		rest = rest[i:]
		j := bytes.Index(rest, []byte("</svg>\n"))
		if j < 0 {
			return out
		}
		svg := rest[:j+len("</svg>\n")]
		rest = rest[len(svg):]
		out = append(out, standalone(svg))
	}
}

// standalone makes one inline <svg id=...> element a document of its own.
func standalone(svg []byte) Picture {
	id := svg[len(`<svg id="`):]
	id = id[:bytes.IndexByte(id, '"')]
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	// A standalone SVG names its namespace; this is an identifier, not
	// something fetched.
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg"`)
	head := bytes.IndexByte(svg, '\n') + 1
	b.Write(svg[len("<svg"):head])
	b.WriteString("<style>\nsvg{background:#fff}\n" + style + "</style>\n")
	b.WriteString(`<rect width="100%" height="100%" fill="#fff"/>` + "\n")
	b.Write(svg[head:])
	return Picture{Name: string(id), SVG: b.Bytes()}
}
