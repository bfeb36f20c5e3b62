package flagval

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestRate(t *testing.T) {
	good := []struct {
		in   string
		want int64
	}{
		{"10mbit", 10e6}, {"10Mbit", 10e6}, {"512kbit", 512e3}, {"1gbit", 1e9},
		{"1.5mbit", 1.5e6}, {"100bit", 100}, {"1kibit", 1024}, {"1mbps", 8e6},
		{"0", 0}, {"unlimited", 0},
	}
	for _, c := range good {
		var r Rate
		if err := r.Set(c.in); err != nil || int64(r) != c.want {
			t.Errorf("Rate.Set(%q) = %d, %v; want %d", c.in, r, err, c.want)
		}
	}
	for _, in := range []string{"", "10", "fast", "-1mbit", "0mbit", "10mbitx", "NaNmbit", "infmbit"} {
		var r Rate
		if err := r.Set(in); err == nil {
			t.Errorf("Rate.Set(%q) accepted %d, want an error", in, r)
		}
	}
	if got := FormatRate(10e6); got != "10mbit" {
		t.Errorf("FormatRate(10e6) = %q", got)
	}
}

func TestPercent(t *testing.T) {
	good := map[string]float64{"1%": 0.01, "0.1%": 0.001, "100%": 1, "0": 0, "0.25": 0.0025, "25%": 0.25,
		// A bare number is a percentage, as in tc netem ("loss 1" is 1 %).
		"1": 0.01, "5": 0.05, "100": 1}
	for in, want := range good {
		var p Percent
		if err := p.Set(in); err != nil || float64(p) != want {
			t.Errorf("Percent.Set(%q) = %v, %v; want %v", in, p, err, want)
		}
	}
	for _, in := range []string{"", "%", "101%", "101", "-1%", "-1", "lots", "1%%"} {
		var p Percent
		if err := p.Set(in); err == nil {
			t.Errorf("Percent.Set(%q) accepted %v", in, p)
		}
	}
}

func TestGE(t *testing.T) {
	var g GE
	if err := g.Set("1%"); err != nil {
		t.Fatal(err)
	}
	if g.P != 0.01 || g.R != 0.99 || g.LossBad != 1 || g.LossGood != 0 || !g.Given {
		t.Errorf("defaults after p only: %+v", g)
	}
	if err := g.Set("1%,10%,70%,0.1%"); err != nil {
		t.Fatal(err)
	}
	if g.P != 0.01 || g.R != 0.1 || g.LossBad != 0.7 || g.LossGood != 0.001 {
		t.Errorf("four values: %+v", g)
	}
	for _, in := range []string{"", "1%,2%,3%,4%,5%", "1%,x", "200%"} {
		var g GE
		if err := g.Set(in); err == nil {
			t.Errorf("GE.Set(%q) accepted %+v", in, g)
		}
	}
}

func TestSize(t *testing.T) {
	good := map[string]int64{
		"1500": 1500, "100MB": 100e6, "64KiB": 65536, "1.5MB": 1.5e6, "2GiB": 2 << 30,
		"10kb": 10e3, "7B": 7, "1k": 1000, "0": 0, "3 MiB": 3 << 20,
	}
	for in, want := range good {
		var z Size
		if err := z.Set(in); err != nil || int64(z) != want {
			t.Errorf("Size.Set(%q) = %d, %v; want %d", in, z, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1", "1.5B", "ten", "10XB", "2PiB"} {
		var z Size
		if err := z.Set(in); err == nil {
			t.Errorf("Size.Set(%q) accepted %d", in, z)
		}
	}
	for n, want := range map[int64]string{100e6: "100MB", 65536: "64KiB", 1500: "1500B", 10240: "10KiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDurationOnOffIntRange(t *testing.T) {
	var d Duration
	if err := d.Set("25ms"); err != nil || time.Duration(d) != 25*time.Millisecond {
		t.Errorf("Duration.Set(25ms) = %v, %v", d, err)
	}
	for _, in := range []string{"-1ms", "25", "soon"} {
		if err := d.Set(in); err == nil {
			t.Errorf("Duration.Set(%q) accepted", in)
		}
	}
	var o OnOff
	if err := o.Set("on"); err != nil || !bool(o) {
		t.Errorf("OnOff.Set(on) = %v, %v", o, err)
	}
	if err := o.Set("maybe"); err == nil {
		t.Error("OnOff.Set(maybe) accepted")
	}
	r := IntRange{V: 1500, Min: 68, Max: 65535}
	if err := r.Set("9000"); err != nil || r.V != 9000 {
		t.Errorf("IntRange.Set(9000) = %v, %v", r.V, err)
	}
	for _, in := range []string{"67", "65536", "x", "1.5"} {
		if err := r.Set(in); err == nil {
			t.Errorf("IntRange.Set(%q) accepted", in)
		}
	}
}

// The error a bad value produces must name the flag and the value: pflag
// builds it from the Value's error.
func TestFlagErrorNamesFlagAndValue(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var r Rate
	fs.Var(&r, "rate", "")
	err := fs.Parse([]string{"--rate", "fast"})
	if err == nil {
		t.Fatal("accepted --rate fast")
	}
	const want = `invalid argument "fast" for "--rate" flag: want a rate with a unit, such as 10mbit, 512kbit or 1gbit`
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
}
