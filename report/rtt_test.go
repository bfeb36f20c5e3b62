package report

import (
	"regexp"
	"strings"
	"testing"
)

// The rtt graph draws one mark per RTT sample, and the samples are those
// package flows measures for the flow table (its own bookkeeping of the
// same events): as many, with the same minimum and maximum.
func TestRTTSampleMarks(t *testing.T) {
	for _, c := range []struct {
		seed   uint64
		size   int64
		nflows int
		loss   float64
	}{{10, 40 << 10, 1, 0.05}, {3, 200 << 10, 3, 0.02}, {1, 100 << 10, 2, 0}} {
		rec, _ := simulate(t, c.seed, c.size, c.nflows, c.loss, true, Options{})
		fs := rec.Flows()
		if len(fs) != c.nflows || len(rec.flows) != c.nflows {
			t.Fatalf("seed %d: %d flows analysed, %d detailed", c.seed, len(fs), len(rec.flows))
		}
		b := page(t, rec)
		svgs := map[string]string{}
		for _, p := range Pictures(b) {
			svgs[p.Name] = string(p.SVG)
		}
		for i, f := range rec.flows {
			rs := rec.rttSamples(f, mainDir(f))
			st := &fs[i].Main().RTT
			if len(rs) != st.Count() || len(rs) == 0 {
				t.Fatalf("seed %d flow %d: %d samples from the packets, package flows has %d", c.seed, i+1, len(rs), st.Count())
			}
			lo, hi := rs[0].rtt, rs[0].rtt
			for _, s := range rs {
				lo, hi = min(lo, s.rtt), max(hi, s.rtt)
			}
			if lo != st.Min() || hi != st.Max() {
				t.Errorf("seed %d flow %d: samples from %v to %v, package flows %v to %v", c.seed, i+1, lo, hi, st.Min(), st.Max())
			}
			svg := svgs["rtt-"+string(rune('1'+i))]
			m := regexp.MustCompile(`<path class="rttpt" d="([^"]*)"`).FindStringSubmatch(svg)
			if m == nil {
				t.Fatalf("seed %d flow %d: no RTT sample marks", c.seed, i+1)
			}
			if n := strings.Count(m[1], "M"); n != len(rs) {
				t.Errorf("seed %d flow %d: %d marks for %d samples", c.seed, i+1, n, len(rs))
			}
			if !strings.Contains(svg, ">RTT sample<") || !strings.Contains(svg, `class="rttpt key"`) {
				t.Errorf("seed %d flow %d: the legend does not name the RTT samples", c.seed, i+1)
			}
		}
	}
}
