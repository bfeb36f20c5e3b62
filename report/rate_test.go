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

// Every flow's acknowledged bytes are counted, those beyond MaxFlows too:
// the size it sent plus the two FINs. Bins as fine as 1 µs are merged
// until a flow has at most rateMaxBins, and no byte is lost doing it.
func TestRates(t *testing.T) {
	const size = 100 << 10
	for _, every := range []time.Duration{0, time.Microsecond} {
		rec, _ := simulate(t, 2, size, 4, 0.01, true, Options{MaxFlows: 2, SampleEvery: every})
		if len(rec.rates) != 4 {
			t.Fatalf("%d flows counted, want 4", len(rec.rates))
		}
		for i, rs := range rec.rates {
			var sum int64
			for _, v := range rs.bins {
				sum += v
			}
			if rs.total != size+2 || sum != rs.total {
				t.Errorf("SampleEvery %v, flow %d: %d bytes acknowledged, %d in bins; want %d", every, i+1, rs.total, sum, size+2)
			}
			if len(rs.bins) > rateMaxBins {
				t.Errorf("flow %d: %d bins", i+1, len(rs.bins))
			}
		}
		if every == time.Microsecond && rec.rateRes == every {
			t.Error("1 µs bins over a whole transfer were never merged")
		}
		tab := rec.rateIntervals()
		if n := len(tab.bytes[0]); n > 60 || n < 10 {
			t.Errorf("%d intervals", n)
		}
		for i, row := range tab.bytes {
			var sum int64
			for _, v := range row {
				sum += v
			}
			if sum != size+2 {
				t.Errorf("flow %d: the intervals hold %d bytes", i+1, sum)
			}
		}
		root := decode(t, page(t, rec))
		if n := root.find("throughput").count("path", regexp.MustCompile(`^fl f\d$`)); n != 4 {
			t.Errorf("%d throughput lines for 4 flows", n)
		}
		if root.find("fairness").count("path", regexp.MustCompile(`^jain$`)) != 1 {
			t.Error("no fairness line")
		}
	}
}
