package sim

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// QdiscNames lists the disciplines ParseQdisc knows.
var QdiscNames = []string{"pfifo", "bfifo", "red", "codel", "fq_codel", "pie"}

// ParseQdisc parses a queue discipline written as tc writes it: a name and
// then parameters, e.g. "fq_codel", "codel target 5ms interval 100ms ecn",
// "red limit 1000 min 5 max 15 probability 0.02 gentle ecn",
// "pie target 15ms tupdate 15ms alpha 0.125 beta 1.25", "pfifo limit 100",
// "bfifo limit 150000", "pfifo limit 1000 ecn_threshold 20" (step ECN
// marking at 20 packets, for DCTCP; tcpsim's own word). Durations are Go durations ("5ms", "1.5s"); RED's
// min and max are in packets (tc's are in bytes). Parameters left out take
// the discipline's defaults. An unknown name or parameter, a missing or bad
// value, and a zero or negative limit or time are errors wrapping ErrInvalid
// that name the parameter and the value.
func ParseQdisc(s string) (Qdisc, error) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: qdisc = %q (want one of %s)", ErrInvalid, s, strings.Join(QdiscNames, ", "))
	}
	p := qdiscParser{kind: words[0], words: words[1:]}
	var q Qdisc
	switch p.kind {
	case "pfifo":
		var c DropTail
		p.run(map[string]func(){"limit": func() { c.Packets = p.count() }, "ecn_threshold": func() { c.ECNThreshold = p.count() }})
		q = c
	case "bfifo":
		var c DropTail
		p.run(map[string]func(){"limit": func() { c.Bytes = p.count() }, "ecn_threshold": func() { c.ECNThreshold = p.count() }})
		q = c
	case "codel":
		var c CoDel
		p.run(map[string]func(){
			"limit":    func() { c.Limit = p.count() },
			"target":   func() { c.Target = p.duration() },
			"interval": func() { c.Interval = p.duration() },
			"ecn":      func() { c.ECN = true },
			"noecn":    func() { c.ECN = false },
		})
		q = c
	case "fq_codel":
		var c FQCoDel
		p.run(map[string]func(){
			"limit":    func() { c.Limit = p.count() },
			"flows":    func() { c.Flows = p.count() },
			"quantum":  func() { c.Quantum = p.count() },
			"target":   func() { c.Target = p.duration() },
			"interval": func() { c.Interval = p.duration() },
			"ecn":      func() { c.NoECN = false },
			"noecn":    func() { c.NoECN = true },
		})
		q = c
	case "red":
		var c RED
		p.run(map[string]func(){
			"limit":       func() { c.Limit = p.count() },
			"min":         func() { c.Min = p.number(false) },
			"max":         func() { c.Max = p.number(false) },
			"probability": func() { c.MaxP = p.number(true) },
			"wq":          func() { c.Wq = p.number(true) },
			"gentle":      func() { c.Gentle = true },
			"ecn":         func() { c.ECN = true },
			"noecn":       func() { c.ECN = false },
		})
		q = c
	case "pie":
		var c PIE
		p.run(map[string]func(){
			"limit":     func() { c.Limit = p.count() },
			"target":    func() { c.Target = p.duration() },
			"tupdate":   func() { c.TUpdate = p.duration() },
			"max_burst": func() { c.MaxBurst = p.duration() },
			"alpha":     func() { c.Alpha = p.number(false) },
			"beta":      func() { c.Beta = p.number(false) },
			"ecn":       func() { c.ECN = true },
			"noecn":     func() { c.ECN = false },
		})
		q = c
	default:
		return nil, fmt.Errorf("%w: qdisc = %q (unknown; known: %s)", ErrInvalid, p.kind, strings.Join(QdiscNames, ", "))
	}
	if p.err != nil {
		return nil, p.err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return q, nil
}

type qdiscParser struct {
	kind  string
	words []string
	key   string // the parameter being read
	val   string
	err   error
}

func (p *qdiscParser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s: %s", ErrInvalid, p.kind, fmt.Sprintf(format, args...))
	}
}

// run reads the words: each is a parameter of keys, a flag or one followed
// by its value.
func (p *qdiscParser) run(keys map[string]func()) {
	for len(p.words) > 0 && p.err == nil {
		p.key, p.words = p.words[0], p.words[1:]
		set, ok := keys[p.key]
		if !ok {
			known := make([]string, 0, len(keys))
			for k := range keys {
				known = append(known, k)
			}
			sort.Strings(known)
			p.fail("unknown parameter %q (known: %s)", p.key, strings.Join(known, ", "))
			return
		}
		set()
	}
}

// next takes the current parameter's value.
func (p *qdiscParser) next() (string, bool) {
	if len(p.words) == 0 {
		p.fail("%s needs a value", p.key)
		return "", false
	}
	p.val, p.words = p.words[0], p.words[1:]
	return p.val, true
}

func (p *qdiscParser) count() int {
	v, ok := p.next()
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		p.fail("%s = %s (want a whole number, at least 1)", p.key, v)
		return 0
	}
	return n
}

func (p *qdiscParser) duration() time.Duration {
	v, ok := p.next()
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.fail("%s = %s (want a duration such as 5ms)", p.key, v)
		return 0
	}
	if d <= 0 {
		p.fail("%s = %s (must be positive)", p.key, v)
		return 0
	}
	return d
}

// number reads a positive number; with unit, at most 1.
func (p *qdiscParser) number(unit bool) float64 {
	v, ok := p.next()
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		p.fail("%s = %s (want a number)", p.key, v)
	case f <= 0:
		p.fail("%s = %s (must be positive)", p.key, v)
	case unit && f > 1:
		p.fail("%s = %s (must be at most 1)", p.key, v)
	default:
		return f
	}
	return 0
}

// FormatQdisc writes q as ParseQdisc reads it, with its defaults filled in
// ("codel limit 1000 target 5ms interval 100ms noecn"). A discipline of the
// caller's own is written as its name.
func FormatQdisc(q Qdisc) string {
	ecn := func(on bool) string {
		if on {
			return "ecn"
		}
		return "noecn"
	}
	switch c := q.(type) {
	case nil:
		return "pfifo (drop-tail)"
	case DropTail:
		k := ""
		if c.ECNThreshold > 0 {
			k = fmt.Sprintf(" ecn_threshold %d", c.ECNThreshold)
		}
		if c.Bytes > 0 && c.Packets == 0 {
			return fmt.Sprintf("bfifo limit %d", c.Bytes) + k
		}
		if c.Packets == 0 {
			c.Packets = 1000
		}
		return fmt.Sprintf("pfifo limit %d", c.Packets) + k
	case CoDel:
		c = c.withDefaults()
		return fmt.Sprintf("codel limit %d target %v interval %v %s", c.Limit, c.Target, c.Interval, ecn(c.ECN))
	case FQCoDel:
		d := c.withDefaults()
		return fmt.Sprintf("fq_codel limit %d flows %d quantum %d target %v interval %v %s", d.Limit, d.Flows, d.Quantum, d.Target, d.Interval, ecn(!c.NoECN))
	case RED:
		c = c.withDefaults()
		s := fmt.Sprintf("red limit %d min %g max %g probability %g wq %g", c.Limit, c.Min, c.Max, c.MaxP, c.Wq)
		if c.Gentle {
			s += " gentle"
		}
		return s + " " + ecn(c.ECN)
	case PIE:
		c = c.withDefaults()
		return fmt.Sprintf("pie limit %d target %v tupdate %v max_burst %v alpha %g beta %g %s", c.Limit, c.Target, c.TUpdate, c.MaxBurst, c.Alpha, c.Beta, ecn(c.ECN))
	}
	return q.QdiscName()
}
