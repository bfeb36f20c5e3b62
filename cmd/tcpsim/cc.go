package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/stack"
)

// ccFlag is --cc: the congestion control of every connection both
// simulated hosts make, one of stack.CongestionControls: the built-ins and
// any algorithm registered (stack.RegisterCongestionControl) before the
// command line is parsed. Empty means the profile's: cubic under linux,
// newreno under rfc.
type ccFlag string

func (f *ccFlag) String() string { return string(*f) }

func (f *ccFlag) Set(s string) error {
	known := stack.CongestionControls()
	for _, k := range known {
		if s == k {
			*f = ccFlag(s)
			return nil
		}
	}
	return fmt.Errorf("unknown congestion control (known: %s)", strings.Join(known, ", "))
}

func (f *ccFlag) Type() string { return "name" }

// paceOptions are --pacing and --max-pacing-rate: the stack's pacing
// (TCPConfig.Pacing, MaxPacingRate) on both hosts.
type paceOptions struct {
	on      flagval.OnOff
	maxRate flagval.Rate // bits/s
}

func (p paceOptions) apply(tcp *stack.TCPConfig) {
	if p.on {
		tcp.Pacing = true
	}
	if p.maxRate > 0 {
		tcp.MaxPacingRate = uint64(p.maxRate) / 8
	}
}

func addCCFlag(fs *pflag.FlagSet, o *options) {
	fs.Var(&o.pace.on, "pacing", "TCP pacing on both hosts by Linux's rule (cwnd/SRTT × 200 % in slow start, × 120 % after), as Linux with the fq qdisc; off by default (an algorithm may still pace)")
	fs.Var(&o.pace.maxRate, "max-pacing-rate", "cap on each connection's pacing rate, e.g. 5mbit, as SO_MAX_PACING_RATE (turns pacing on)")
	fs.Var(&o.cc, "cc", "congestion control of each connection: "+strings.Join(stack.CongestionControls(), ", ")+
		" (cubic is RFC 9438 CUBIC with HyStart++ slow start; dctcp is RFC 8257 and needs ECN; bbr is the IETF BBRv3 draft's algorithm); default: the profile's, cubic under linux, newreno under rfc")
}

// validateCC rejects an algorithm that needs ECN (dctcp) when ECN is off,
// by --ecn off or by the profile.
func (o *options) validateCC() error {
	if o.cc == "" || !stack.CongestionControlRequiresECN(string(o.cc)) {
		return nil
	}
	if o.ecnGiven && !bool(o.ecn) {
		return fmt.Errorf("--cc %s requires ECN: drop --ecn off (or give --ecn on)", o.cc)
	}
	if tcp, err := stack.Profile(o.profile.String()); err == nil && !o.ecnGiven && tcp.ECN == stack.ECNOff {
		return fmt.Errorf("--cc %s requires ECN, which the %s profile leaves off: add --ecn on", o.cc, o.profile.String())
	}
	return nil
}

// printCC prints the congestion-control line of the header when --cc chose
// one, so that the default output stays as it was.
func (o *options) printCC(w io.Writer) {
	if o.cc != "" {
		fmt.Fprintf(w, "tcp: %s congestion control on every connection\n", o.cc.String())
	}
	if o.pace.on || o.pace.maxRate > 0 {
		s := "tcp: pacing"
		if o.pace.maxRate > 0 {
			s += ", at most " + o.pace.maxRate.String()
		}
		fmt.Fprintln(w, s)
	}
}

// profileFlag is --profile: a stack.Profile name; empty means linux, the
// CLI's default, because tcpsim shows what TCP really does and the TCP most
// people meet is Linux's.
type profileFlag string

func (f *profileFlag) String() string {
	if *f == "" {
		return stack.ProfileLinux
	}
	return string(*f)
}

func (f *profileFlag) Set(s string) error {
	for _, k := range stack.Profiles() {
		if s == k {
			*f = profileFlag(s)
			return nil
		}
	}
	return fmt.Errorf("unknown profile (known: %s)", strings.Join(stack.Profiles(), ", "))
}

func (f *profileFlag) Type() string { return "name" }
