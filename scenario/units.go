package scenario

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// The value types of a scenario file, in the words tcpsim's command line
// uses (netem's for links): a Rate is "10mbit", a Percent "1%", a Size
// "100MB", a Duration "25ms". Each decodes from a YAML scalar and reports a
// bad value with its position and what was expected. cmd/tcpsim's tests check
// that these parsers agree with the command line's.

// valueError is a bad scalar: the decoder turns it into an *Error with the
// file, line, column and field.
type valueError struct {
	node ast.Node
	msg  string
}

func (e *valueError) Error() string { return e.msg }

// scalarText returns the text of a scalar node, or a valueError saying what
// was wanted.
func scalarText(n ast.Node, want string) (string, error) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, nil
	case *ast.NullNode:
		return "", &valueError{n, "no value: " + want}
	case *ast.TagNode:
		return scalarText(v.Value, want)
	}
	return "", &valueError{n, fmt.Sprintf("a %s: %s", strings.ToLower(n.Type().String()), want)}
}

// Duration is a non-negative time in Go's notation ("25ms", "1.5s", "2m");
// a bare 0 is zero.
type Duration time.Duration

// ParseDuration reads a Duration.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	v, err := time.ParseDuration(t)
	if err != nil {
		return 0, errors.New("want a duration such as 25ms, 1.5s or 2m")
	}
	if v < 0 {
		return 0, errors.New("must not be negative")
	}
	return Duration(v), nil
}

// UnmarshalYAML decodes a YAML scalar.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	return decodeScalar(n, "want a duration such as 25ms, 1.5s or 2m", func(s string) error {
		v, err := ParseDuration(s)
		*d = v
		return err
	})
}

// String writes the duration as Go does ("25ms").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Rate is a bit rate in bits per second; zero means unlimited. Units as
// netem's: bit, kbit, mbit, gbit, tbit (×1000), kibit, mibit, gibit, tibit
// (×1024), and bps, kbps, mbps, gbps, tbps, which count bytes per second as
// tc does. "0", "unlimited" and "none" are zero.
type Rate int64

var rateUnits = []struct {
	suffix string
	mult   float64
}{
	// Longest suffixes first, so that "kbit" is not read as "bit".
	{"kibit", 1024}, {"mibit", 1 << 20}, {"gibit", 1 << 30}, {"tibit", 1 << 40},
	{"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"tbit", 1e12},
	{"kbps", 8e3}, {"mbps", 8e6}, {"gbps", 8e9}, {"tbps", 8e12},
	{"bit", 1}, {"bps", 8},
}

// ParseRate reads a Rate.
func ParseRate(s string) (Rate, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "0" || t == "unlimited" || t == "none" {
		return 0, nil
	}
	for _, u := range rateUnits {
		num, ok := strings.CutSuffix(t, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, errors.New("want a rate such as 10mbit, 512kbit or 1gbit")
		}
		if f <= 0 {
			return 0, errors.New("must be positive (0 means unlimited)")
		}
		v := f * u.mult
		if v < 1 {
			return 0, errors.New("below 1 bit per second")
		}
		if v > 1e15 {
			return 0, errors.New("above 1 petabit per second")
		}
		return Rate(math.Round(v)), nil
	}
	return 0, errors.New("want a rate with a unit, such as 10mbit, 512kbit or 1gbit")
}

// UnmarshalYAML decodes a YAML scalar.
func (r *Rate) UnmarshalYAML(n ast.Node) error {
	return decodeScalar(n, "want a rate such as 10mbit, 512kbit or 1gbit", func(s string) error {
		v, err := ParseRate(s)
		*r = v
		return err
	})
}

// String writes the rate in netem's units ("10mbit"), or "unlimited".
func (r Rate) String() string {
	bps := int64(r)
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

// MarshalText writes the rate as String does.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Percent is a probability written as a percentage, with or without the
// sign ("1%", "0.5%", or 1 meaning 1 %, as tc netem reads a bare number).
// It holds the probability, 0 to 1.
type Percent float64

// ParsePercent reads a Percent.
func ParsePercent(s string) (Percent, error) {
	t, _ := strings.CutSuffix(strings.TrimSpace(s), "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("want a percentage such as 1%, 0.5% or 5")
	}
	f /= 100
	if f < 0 || f > 1 {
		return 0, errors.New("must be between 0% and 100%")
	}
	return Percent(f), nil
}

// UnmarshalYAML decodes a YAML scalar.
func (p *Percent) UnmarshalYAML(n ast.Node) error {
	return decodeScalar(n, "want a percentage such as 1%, 0.5% or 5", func(s string) error {
		v, err := ParsePercent(s)
		*p = v
		return err
	})
}

// String writes the probability as a percentage ("1%").
func (p Percent) String() string { return strconv.FormatFloat(float64(p)*100, 'g', 6, 64) + "%" }

// MarshalText writes the percentage as String does.
func (p Percent) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Size is a byte count: a bare number, or a number with a unit: B, KB, MB,
// GB, TB (×1000) or KiB, MiB, GiB, TiB (×1024); k, m, g and t alone mean
// KB, MB, GB and TB.
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

// ParseSize reads a Size.
func ParseSize(s string) (Size, error) {
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
		return 0, errors.New("want a size such as 1500, 64KiB or 100MB")
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
	return Size(v), nil
}

// UnmarshalYAML decodes a YAML scalar.
func (z *Size) UnmarshalYAML(n ast.Node) error {
	return decodeScalar(n, "want a size such as 1500, 64KiB or 100MB", func(s string) error {
		v, err := ParseSize(s)
		*z = v
		return err
	})
}

// String writes the size with the largest unit that divides it exactly.
func (z Size) String() string {
	n := int64(z)
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

// MarshalText writes the size as String does.
func (z Size) MarshalText() ([]byte, error) { return []byte(z.String()), nil }

// Switch is an on/off setting whose zero value means "the default": Default,
// On or Off. YAML accepts true/false, on/off and yes/no.
type Switch int8

// Switch values.
const (
	Default Switch = iota
	On
	Off
)

// ParseSwitch reads a Switch.
func ParseSwitch(s string) (Switch, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "true", "yes":
		return On, nil
	case "off", "false", "no":
		return Off, nil
	}
	return Default, errors.New("want on or off")
}

// UnmarshalYAML decodes a YAML scalar.
func (w *Switch) UnmarshalYAML(n ast.Node) error {
	return decodeScalar(n, "want on or off", func(s string) error {
		v, err := ParseSwitch(s)
		*w = v
		return err
	})
}

// Or returns whether the switch is on, def when it is Default.
func (w Switch) Or(def bool) bool {
	switch w {
	case On:
		return true
	case Off:
		return false
	}
	return def
}

// String returns "on", "off" or "default".
func (w Switch) String() string {
	switch w {
	case On:
		return "on"
	case Off:
		return "off"
	}
	return "default"
}

// MarshalText writes the switch as String does.
func (w Switch) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

func decodeScalar(n ast.Node, want string, set func(string) error) error {
	s, err := scalarText(n, want)
	if err != nil {
		return err
	}
	if err := set(s); err != nil {
		return &valueError{n, fmt.Sprintf("%q: %v", s, err)}
	}
	return nil
}
