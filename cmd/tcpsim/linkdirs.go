package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/sim"
)

// dirFlags are one direction's --up-* or --down-* flags: each, when
// given, replaces --rate, --delay or --loss for that direction of the
// link the flags describe (the bottleneck of a --topology). Up is what
// the client sends toward the server, down what comes back.
type dirFlags struct {
	rate  flagval.Rate
	delay flagval.Duration
	loss  flagval.Percent
	// Which of them were given.
	rateSet, delaySet, lossSet bool
}

// addDirFlags adds the per-direction flags (get and transfer).
func addDirFlags(fs *pflag.FlagSet, o *options) {
	fs.Var(&o.up.rate, "up-rate", "rate of the client-to-server direction, in place of --rate (e.g. 1mbit)")
	fs.Var(&o.down.rate, "down-rate", "rate of the server-to-client direction, in place of --rate")
	fs.Var(&o.up.delay, "up-delay", "one-way delay of the client-to-server direction, in place of --delay")
	fs.Var(&o.down.delay, "down-delay", "one-way delay of the server-to-client direction, in place of --delay")
	fs.Var(&o.up.loss, "up-loss", "random loss of the client-to-server direction, in place of --loss")
	fs.Var(&o.down.loss, "down-loss", "random loss of the server-to-client direction, in place of --loss")
}

// validateDirs records which per-direction flags were given and rejects
// the combinations that leave a flag unused.
func (o *options) validateDirs(fs *pflag.FlagSet) error {
	changed := func(name string) bool { return fs.Lookup(name) != nil && fs.Changed(name) }
	for _, d := range []*struct {
		both string
		set  [2]*bool
	}{{"rate", [2]*bool{&o.up.rateSet, &o.down.rateSet}}, {"delay", [2]*bool{&o.up.delaySet, &o.down.delaySet}}, {"loss", [2]*bool{&o.up.lossSet, &o.down.lossSet}}} {
		*d.set[0], *d.set[1] = changed("up-"+d.both), changed("down-"+d.both)
		if changed(d.both) && *d.set[0] && *d.set[1] {
			return fmt.Errorf("--%s %s is unused: --up-%s and --down-%s set both directions (give --%s alone for both, or one of --up-%s and --down-%s to change one direction)",
				d.both, fs.Lookup(d.both).Value.String(), d.both, d.both, d.both, d.both, d.both)
		}
	}
	if o.lossGE.Given && (o.up.lossSet || o.down.lossSet) {
		name, v := "up-loss", o.up.loss
		if !o.up.lossSet {
			name, v = "down-loss", o.down.loss
		}
		return fmt.Errorf("--%s %s and --loss-ge %s are exclusive", name, flagval.FormatPercent(float64(v)), o.lossGE.String())
	}
	return nil
}

// dirConfigs is the link's two directions, [0] up (client to server) and
// [1] down: --rate, --delay and --loss with the per-direction flags in
// their place where given.
func (o *options) dirConfigs() [2]sim.DirConfig {
	var ds [2]sim.DirConfig
	for i, f := range [2]*dirFlags{&o.up, &o.down} {
		d := o.dirConfig()
		if f.rateSet {
			d.Rate = int64(f.rate)
		}
		if f.delaySet {
			d.Delay = time.Duration(f.delay)
		}
		if f.lossSet {
			d.Faults = o.faultsWith(float64(f.loss))
		}
		ds[i] = d
	}
	return ds
}

// linkValues is what describeLink prints that may differ by direction.
type linkValues struct {
	rate  int64
	delay time.Duration
	loss  float64
}

func (o *options) dirValues() [2]linkValues {
	var vs [2]linkValues
	for i, f := range [2]*dirFlags{&o.up, &o.down} {
		vs[i] = linkValues{int64(o.rate), time.Duration(o.delay), float64(o.loss)}
		if f.rateSet {
			vs[i].rate = int64(f.rate)
		}
		if f.delaySet {
			vs[i].delay = time.Duration(f.delay)
		}
		if f.lossSet {
			vs[i].loss = float64(f.loss)
		}
	}
	return vs
}

// dirsDiffer reports whether the two directions differ in rate, delay or
// loss.
func (o *options) dirsDiffer() bool {
	v := o.dirValues()
	return v[0] != v[1]
}

// maxRate is the faster direction's rate (0: unlimited).
func (o *options) maxRate() int64 {
	v := o.dirValues()
	if v[0].rate == 0 || v[1].rate == 0 {
		return 0
	}
	return max(v[0].rate, v[1].rate)
}

// perDir writes one value, or both when the directions differ:
// "10mbit" or "1mbit up / 10mbit down".
func perDir[T comparable](v [2]T, format func(T) string) string {
	if v[0] == v[1] {
		return format(v[0])
	}
	return format(v[0]) + " up / " + format(v[1]) + " down"
}

// describeLink is the one-line description of the link printed first.
func (o *options) describeLink() string {
	v := o.dirValues()
	var b strings.Builder
	fmt.Fprintf(&b, "delay %s", perDir([2]time.Duration{v[0].delay, v[1].delay}, time.Duration.String))
	if o.jitter > 0 {
		fmt.Fprintf(&b, " jitter %v", time.Duration(o.jitter))
	}
	rate := perDir([2]int64{v[0].rate, v[1].rate}, flagval.FormatRate)
	if o.qdisc.Q != nil {
		fmt.Fprintf(&b, ", rate %s, mtu %d, qdisc %s", rate, o.mtu.V, sim.FormatQdisc(o.qdisc.Q))
	} else {
		fmt.Fprintf(&b, ", rate %s, mtu %d, queue %d", rate, o.mtu.V, o.queue.V)
	}
	if v[0].loss > 0 || v[1].loss > 0 {
		fmt.Fprintf(&b, ", loss %s", perDir([2]float64{v[0].loss, v[1].loss}, flagval.FormatPercent))
	}
	if o.lossGE.Given {
		fmt.Fprintf(&b, ", loss-ge %s", o.lossGE.String())
	}
	if o.duplicate > 0 {
		fmt.Fprintf(&b, ", duplicate %s", flagval.FormatPercent(float64(o.duplicate)))
	}
	if o.corrupt > 0 {
		fmt.Fprintf(&b, ", corrupt %s", flagval.FormatPercent(float64(o.corrupt)))
	}
	if o.reorder > 0 {
		fmt.Fprintf(&b, ", reorder %s", flagval.FormatPercent(float64(o.reorder)))
		if o.gap.V > 0 {
			fmt.Fprintf(&b, " gap %d", o.gap.V)
		}
	}
	return b.String()
}
