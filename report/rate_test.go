package report

import (
	"math"
	"regexp"
	"testing"
	"time"
)

func TestJain(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 3, 3}, 1}, {[]float64{4, 0, 0, 0}, 0.25}, {[]float64{1, 2}, 0.9}, {[]float64{5}, 1},
	} {
		if got, ok := jain(c.xs); !ok || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("jain(%v) = %v, %v; want %v", c.xs, got, ok, c.want)
		}
	}
	if _, ok := jain([]float64{0, 0}); ok {
		t.Error("jain of all zeros is defined")
	}
}

// Every flow's bytes are counted, those beyond MaxFlows too: its
// throughput bins hold all the payload it sent, retransmissions included
// (what package flows counts), its goodput bins the size it delivered,
// once. Bins as fine as 1 µs are merged until a flow has at most
// rateMaxBins, and no byte is lost doing it.
func TestRates(t *testing.T) {
	const size = 100 << 10
	for _, every := range []time.Duration{0, time.Microsecond} {
		rec, _ := simulate(t, 2, size, 4, 0.01, true, Options{MaxFlows: 2, SampleEvery: every})
		if len(rec.rates) != 4 {
			t.Fatalf("%d flows counted, want 4", len(rec.rates))
		}
		fs := rec.Flows()
		sum := func(v []int64) (s int64) {
			for _, x := range v {
				s += x
			}
			return s
		}
		retrans := false
		for i, rs := range rec.rates {
			payload := fs[i].Dir[0].Payload + fs[i].Dir[1].Payload
			retrans = retrans || payload > size
			if rs.total != size+2 || sum(rs.sent) != payload || sum(rs.good) != size {
				t.Errorf("SampleEvery %v, flow %d: %d bytes acknowledged, %d sent, %d delivered; want %d, %d, %d",
					every, i+1, rs.total, sum(rs.sent), sum(rs.good), size+2, payload, size)
			}
			if len(rs.sent) > rateMaxBins || len(rs.good) > rateMaxBins {
				t.Errorf("flow %d: %d and %d bins", i+1, len(rs.sent), len(rs.good))
			}
		}
		if !retrans {
			t.Error("no flow retransmitted: the test cannot tell throughput from goodput")
		}
		if every == time.Microsecond && rec.rateRes == every {
			t.Error("1 µs bins over a whole transfer were never merged")
		}
		tab := rec.rateIntervals()
		if n := len(tab.sent[0]); n > 60 || n < 10 {
			t.Errorf("%d intervals", n)
		}
		for i := range tab.sent {
			if s, g := sum(tab.sent[i]), sum(tab.good[i]); s != fs[i].Dir[0].Payload+fs[i].Dir[1].Payload || g != size {
				t.Errorf("flow %d: the intervals hold %d bytes sent, %d delivered", i+1, s, g)
			}
		}
		root := decode(t, page(t, rec))
		if n := root.find("throughput").count("path", regexp.MustCompile(`^fl f\d$`)); n != 4 {
			t.Errorf("%d throughput lines for 4 flows", n)
		}
		for _, id := range []string{"throughput-1", "throughput-2"} {
			g := root.find(id)
			if g == nil || g.count("path", regexp.MustCompile(`^thr$`)) != 1 || g.count("path", regexp.MustCompile(`^good$`)) != 1 {
				t.Errorf("%s: not one throughput and one goodput line", id)
			}
		}
		if root.find("throughput-3") != nil {
			t.Error("flow 3 has a rate graph with MaxFlows 2")
		}
		if root.find("fairness").count("path", regexp.MustCompile(`^jain$`)) != 1 {
			t.Error("no fairness line")
		}
	}
}
