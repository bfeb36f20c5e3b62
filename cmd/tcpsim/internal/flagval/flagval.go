// Package flagval parses the command-line values of tcpsim: netem's words
// for link impairments (rates such as "10mbit", percentages such as "1%",
// the Gilbert-Elliott tuple "p,r,1-h,1-k"), byte sizes ("100MB", "64KiB")
// and on/off switches. Each type implements pflag.Value, so a bad value is
// reported by the flag package with the flag's name and the value given.
//
// It is not a general unit library: it accepts exactly the forms documented
// in docs/cli.md and rejects everything else with a message that says what
// was expected.
package flagval

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/sim"
)

// Duration is a non-negative time.Duration written as Go writes it
// ("25ms", "1.5s", "0").
type Duration time.Duration

// Set parses s.
func (d *Duration) Set(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want a duration such as 25ms or 1.5s")
	}
	if v < 0 {
		return errors.New("must not be negative")
	}
	*d = Duration(v)
	return nil
}

func (d *Duration) String() string {
	if *d == 0 {
		return "0" // pflag hides zero defaults
	}
	return time.Duration(*d).String()
}

// Type names the value in usage text.
func (d *Duration) Type() string { return "duration" }

// Rate is a link rate in bits per second; zero means unlimited. It accepts
// netem's units: bit, kbit, mbit, gbit, tbit (powers of 1000), kibit, mibit,
// gibit, tibit (powers of 1024), and bps, kbps, mbps, gbps, tbps, which as
// in tc count bytes per second. Units are case-insensitive.
type Rate int64

var rateUnits = []struct {
	suffix string
	mult   float64
}{
	// Longest suffixes first so that "kbit" is not read as "bit".
	{"kibit", 1024}, {"mibit", 1 << 20}, {"gibit", 1 << 30}, {"tibit", 1 << 40},
	{"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"tbit", 1e12},
	{"kbps", 8e3}, {"mbps", 8e6}, {"gbps", 8e9}, {"tbps", 8e12},
	{"bit", 1}, {"bps", 8},
}

// Set parses s.
func (r *Rate) Set(s string) error {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "0" || t == "unlimited" || t == "none" {
		*r = 0
		return nil
	}
	for _, u := range rateUnits {
		num, ok := strings.CutSuffix(t, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("want a rate such as 10mbit, 512kbit or 1gbit")
		}
		if f <= 0 {
			return errors.New("must be positive (0 means unlimited)")
		}
		v := f * u.mult
		if v < 1 {
			return errors.New("below 1 bit per second")
		}
		if v > 1e15 {
			return errors.New("above 1 petabit per second")
		}
		*r = Rate(math.Round(v))
		return nil
	}
	return fmt.Errorf("want a rate with a unit, such as 10mbit, 512kbit or 1gbit")
}

func (r *Rate) String() string { return FormatRate(int64(*r)) }

// Type names the value in usage text.
func (r *Rate) Type() string { return "rate" }

// FormatRate writes bits per second in netem's units ("10mbit"), or
// "unlimited" for zero.
func FormatRate(bps int64) string {
	switch {
	case bps == 0:
		return "unlimited"
	case bps%1e9 == 0:
		return strconv.FormatInt(bps/1e9, 10) + "gbit"
	case bps%1e6 == 0:
		return strconv.FormatInt(bps/1e6, 10) + "mbit"
	case bps%1e3 == 0:
		return strconv.FormatInt(bps/1e3, 10) + "kbit"
	}
	return strconv.FormatInt(bps, 10) + "bit"
}

// Percent is a probability written as a percentage, with or without the
// sign: "1%", "1" and "0.1%" mean 1 %, 1 % and 0.1 %, as in tc netem, whose
// parser divides a bare number by 100 too ("loss 1" is 1 %). It holds the
// probability (0..1).
type Percent float64

// ParsePercent reads one probability.
func ParsePercent(s string) (float64, error) {
	t := strings.TrimSpace(s)
	pct, _ := strings.CutSuffix(t, "%")
	f, err := strconv.ParseFloat(pct, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("want a percentage such as 1%%, 0.5%% or 5")
	}
	f /= 100
	if f < 0 || f > 1 {
		return 0, fmt.Errorf("must be between 0%% and 100%%")
	}
	return f, nil
}

// Set parses s.
func (p *Percent) Set(s string) error {
	f, err := ParsePercent(s)
	if err != nil {
		return err
	}
	*p = Percent(f)
	return nil
}

func (p *Percent) String() string {
	if *p == 0 {
		return "0" // pflag hides zero defaults
	}
	return FormatPercent(float64(*p))
}

// Type names the value in usage text.
func (p *Percent) Type() string { return "percent" }

// FormatPercent writes a probability as a percentage ("1%", "0.1%").
func FormatPercent(f float64) string {
	return strconv.FormatFloat(f*100, 'g', 6, 64) + "%"
}

// GilbertElliott holds the four probabilities of netem's "loss gemodel":
// P moves from the good to the bad state, R from bad to good, LossBad (1-h)
// is the loss probability in the bad state and LossGood (1-k) in the good
// state. Given records that the flag was set.
type GilbertElliott struct {
	P, R, LossBad, LossGood float64
	Given                   bool
}

// GE is the pflag.Value for --loss-ge: one to four comma-separated
// percentages "p[,r[,1-h[,1-k]]]". As in netem, r defaults to 1-p, 1-h to
// 100% and 1-k to 0%.
type GE GilbertElliott

// Set parses s.
func (g *GE) Set(s string) error {
	parts := strings.Split(s, ",")
	if len(parts) > 4 {
		return fmt.Errorf("want at most four comma-separated percentages p,r,1-h,1-k")
	}
	var v [4]float64
	for i, part := range parts {
		f, err := ParsePercent(part)
		if err != nil {
			return fmt.Errorf("item %d (%q): %v", i+1, part, err)
		}
		v[i] = f
	}
	out := GilbertElliott{P: v[0], R: 1 - v[0], LossBad: 1, LossGood: 0, Given: true}
	if len(parts) > 1 {
		out.R = v[1]
	}
	if len(parts) > 2 {
		out.LossBad = v[2]
	}
	if len(parts) > 3 {
		out.LossGood = v[3]
	}
	*g = GE(out)
	return nil
}

func (g *GE) String() string {
	if !g.Given {
		return ""
	}
	return FormatPercent(g.P) + "," + FormatPercent(g.R) + "," + FormatPercent(g.LossBad) + "," + FormatPercent(g.LossGood)
}

// Type names the value in usage text.
func (g *GE) Type() string { return "p,r,1-h,1-k" }

// Size is a byte count: a bare number of bytes, or a number with a unit:
// B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024).
// Units are case-insensitive except that the "i" forms are binary; "k", "m"
// and "g" alone are read as KB, MB, GB.
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"t", 1e12},
	{"b", 1},
}

// ParseSize reads a byte count.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("want a size such as 1500, 64KiB or 100MB")
	}
	if f < 0 {
		return 0, errors.New("must not be negative")
	}
	v := f * float64(mult)
	if v > 1<<50 {
		return 0, errors.New("larger than 1 PiB")
	}
	if v != math.Trunc(v) {
		return 0, errors.New("not a whole number of bytes")
	}
	return int64(v), nil
}

// Set parses s.
func (z *Size) Set(s string) error {
	v, err := ParseSize(s)
	if err != nil {
		return err
	}
	*z = Size(v)
	return nil
}

func (z *Size) String() string {
	if *z == 0 {
		return "0" // pflag hides zero defaults
	}
	return FormatSize(int64(*z))
}

// Type names the value in usage text.
func (z *Size) Type() string { return "size" }

// FormatSize writes a byte count exactly, with the largest unit that divides
// it ("100MB", "64KiB", "1500B").
func FormatSize(n int64) string {
	switch {
	case n == 0:
		return "0B"
	case n%1e9 == 0:
		return strconv.FormatInt(n/1e9, 10) + "GB"
	case n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n%1e6 == 0:
		return strconv.FormatInt(n/1e6, 10) + "MB"
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n%1e3 == 0:
		return strconv.FormatInt(n/1e3, 10) + "KB"
	case n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10) + "B"
}

// OnOff is a boolean switch written as on/off (also true/false, yes/no,
// 1/0).
type OnOff bool

// Set parses s.
func (o *OnOff) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "true", "yes", "1":
		*o = true
	case "off", "false", "no", "0":
		*o = false
	default:
		return errors.New("want on or off")
	}
	return nil
}

func (o *OnOff) String() string {
	if *o {
		return "on"
	}
	return "off"
}

// Type names the value in usage text.
func (o *OnOff) Type() string { return "on|off" }

// IntRange is an int that must lie in [Min, Max].
type IntRange struct {
	V        int
	Min, Max int
}

// Set parses s.
func (r *IntRange) Set(s string) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New("want a whole number")
	}
	if v < r.Min || v > r.Max {
		return fmt.Errorf("must be between %d and %d", r.Min, r.Max)
	}
	r.V = v
	return nil
}

func (r *IntRange) String() string { return strconv.Itoa(r.V) }

// Type names the value in usage text.
func (r *IntRange) Type() string { return "int" }

// Uint64 is a seed: any unsigned 64-bit number.
type Uint64 uint64

// Set parses s.
func (u *Uint64) Set(s string) error {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 0, 64)
	if err != nil {
		return errors.New("want a whole number from 0 to 18446744073709551615")
	}
	*u = Uint64(v)
	return nil
}

func (u *Uint64) String() string { return strconv.FormatUint(uint64(*u), 10) }

// Type names the value in usage text.
func (u *Uint64) Type() string { return "uint" }

// Qdisc is a link queue discipline written as tc writes it ("fq_codel",
// "codel target 5ms interval 100ms ecn"), parsed by sim.ParseQdisc. Its
// zero value (Q nil) is the link's drop-tail queue.
type Qdisc struct {
	Q sim.Qdisc
}

// Set parses s.
func (q *Qdisc) Set(s string) error {
	v, err := sim.ParseQdisc(s)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), sim.ErrInvalid.Error()+": "))
	}
	q.Q = v
	return nil
}

func (q *Qdisc) String() string {
	if q.Q == nil {
		return ""
	}
	return sim.FormatQdisc(q.Q)
}

// Type names the value in usage text.
func (q *Qdisc) Type() string { return "qdisc" }
