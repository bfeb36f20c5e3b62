package report

import (
	"fmt"
	"slices"
	"strings"
)

// PlotNames are the graphs Plots draws, in the order it draws them. A
// name picks every picture of that kind: "tsg" the time-sequence graph of
// each detailed flow (tsg-1, tsg-2, ...) in tcptrace's style, "stevens" the
// same flow's in Stevens's plainer style (stevens-1, ...), "queue" the queue chart of each
// busy link direction (queue-1, queue-2, ...).
var PlotNames = []string{"ladder", "tsg", "stevens", "cwnd", "rtt", "fct", "goodput", "throughput", "fairness", "queue"}

// PlotFormats are the file formats of a plot.
var PlotFormats = []string{"svg", "png"}

// ParsePlots reads a comma-separated list of plot names ("all" for every
// one) into names in PlotNames' order, without repeats. An unknown name is
// an error that lists the known ones.
func ParsePlots(list string) ([]string, error) {
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "all":
			for _, k := range PlotNames {
				want[k] = true
			}
		case slices.Contains(PlotNames, n):
			want[n] = true
		default:
			return nil, fmt.Errorf("unknown plot %q: want a comma-separated list of %s, or all", n, strings.Join(PlotNames, ", "))
		}
	}
	var out []string
	for _, k := range PlotNames {
		if want[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

// plotKind is the PlotNames entry a picture id belongs to.
func plotKind(id string) string {
	if id == "fct-cdf" {
		return "fct"
	}
	k, _, _ := strings.Cut(id, "-")
	return k
}

// Plots draws the named graphs (PlotNames entries) each as a standalone
// SVG document, as Pictures would cut them from the page; the
// completion-time CDF and the goodput bars are drawn even for a single
// flow. missing lists the names that have nothing to draw in this run,
// each with the reason.
func (r *Recorder) Plots(names []string, m Meta) (pics []Picture, missing []string) {
	want := func(k string) bool { return slices.Contains(names, k) }
	var w buf
	if lo, hi := r.ladderRange(); want("ladder") && lo < hi {
		r.writeLadder(&w, &m)
	}
	tab := r.rateIntervals()
	for i := range r.flows {
		if want("tsg") {
			r.writeTSG(&w, i)
		}
		if want("stevens") {
			r.writeStevens(&w, i)
		}
		if want("cwnd") || want("rtt") {
			r.writeSeries(&w, i)
		}
		if want("throughput") && tab != nil {
			r.writeFlowRates(&w, tab, i)
		}
	}
	if len(r.an.Flows()) > 0 {
		if want("fct") {
			r.writeCDF(&w)
		}
		if want("goodput") {
			r.writeGoodput(&w)
		}
		if tab != nil {
			if want("throughput") {
				r.writeRates(&w, tab)
			}
			if want("fairness") {
				r.writeFairness(&w, tab)
			}
		}
	}
	if want("queue") {
		r.writeLinks(&w) // links.go
	}
	got := map[string]bool{}
	for _, p := range Pictures(w.b) {
		if k := plotKind(p.Name); want(k) {
			pics = append(pics, p)
			got[k] = true
		}
	}
	for _, k := range names {
		if got[k] {
			continue
		}
		why := "no TCP packets"
		switch {
		case len(r.pkts) == 0:
		case k == "cwnd" || k == "rtt":
			why = "no samples of a data sender: the run gave the report no connections to sample"
		case k == "ladder":
			why = "no packets were sent in the chosen window"
		case k == "fct":
			why = "no flow completed"
		case k == "throughput" || k == "fairness":
			why = "no data was sent or acknowledged"
		case k == "queue" && r.opt.Links == nil:
			why = "no links were sampled (Options.Links is unset)"
		case k == "queue":
			why = "no link direction queued, dropped or marked a packet"
		}
		missing = append(missing, k+": nothing to draw, "+why)
	}
	return pics, missing
}
