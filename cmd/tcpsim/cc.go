package main

import (
	"fmt"
	"io"
	"slices"
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

// ccListFlag is --cc as transfer reads it: one name for every connection
// (ccFlag), or a comma list with one name per flow, in flow order, whose
// algorithm both ends of that flow's connection run. A list of one name
// repeated is that name for all. Its length is checked against --flows
// once every flag is parsed (validateCC).
type ccListFlag struct{ o *options }

func (f ccListFlag) String() string {
	if len(f.o.ccFlows) > 0 {
		return strings.Join(f.o.ccFlows, ",")
	}
	return f.o.cc.String()
}

func (f ccListFlag) Set(s string) error {
	names := strings.Split(s, ",")
	for _, name := range names {
		var one ccFlag
		if err := one.Set(name); err != nil {
			if len(names) > 1 {
				return fmt.Errorf("%q in the list: %v", name, err)
			}
			return err
		}
	}
	f.o.cc, f.o.ccFlows = "", nil
	if len(slices.Compact(slices.Clone(names))) == 1 {
		f.o.cc = ccFlag(names[0])
		return nil
	}
	f.o.ccFlows = names
	return nil
}

func (f ccListFlag) Type() string { return "name[,name...]" }

// ccNames is every algorithm --cc names, each once, in the order given.
func (o *options) ccNames() []string {
	if len(o.ccFlows) > 0 {
		var out []string
		for _, n := range o.ccFlows {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		return out
	}
	if o.cc != "" {
		return []string{string(o.cc)}
	}
	return nil
}

// flowCC is the algorithm --cc gives flow i (from 0), or "" for the
// hosts' own.
func (o *options) flowCC(i int) string {
	if i < len(o.ccFlows) {
		return o.ccFlows[i]
	}
	return string(o.cc)
}

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
	fs.Var(ccListFlag{o}, "cc", "congestion control of each connection: "+strings.Join(stack.CongestionControls(), ", ")+
		" (cubic is RFC 9438 CUBIC with HyStart++ slow start; dctcp is RFC 8257 and needs ECN; bbr is the IETF BBRv3 draft's algorithm); default: the profile's, cubic under linux, newreno under rfc."+
		" transfer also takes a comma list, one name per flow of --flows in order (both ends of that flow's connection run it), e.g. --flows 2 --cc newreno,cubic")
}

// validateCC rejects an algorithm that needs ECN (dctcp) when ECN is off,
// by --ecn off or by the profile.
// With a list (ccFlows) it also checks the list against --flows: one name
// per flow, and only transfer (the command with --flows) takes a list.
func (o *options) validateCC(fs *pflag.FlagSet) error {
	known := strings.Join(stack.CongestionControls(), ", ")
	if k := len(o.ccFlows); k > 0 {
		list := strings.Join(o.ccFlows, ",")
		if fs.Lookup("flows") == nil {
			return fmt.Errorf("--cc %s: a list, one algorithm per flow, is transfer's (with --flows); this command takes one name (known: %s)", list, known)
		}
		if k != o.flows.V {
			return fmt.Errorf("--cc %s: %d algorithms for --flows %d; give one name for every flow, or one for all (known: %s)", list, k, o.flows.V, known)
		}
	}
	for _, cc := range o.ccNames() {
		if !stack.CongestionControlRequiresECN(cc) {
			continue
		}
		if len(o.ccFlows) > 0 && !(o.ecnGiven && bool(o.ecn)) {
			// One host's SYNs ask for ECN or not, whatever each
			// connection's algorithm: ECN must be on for all of them.
			return fmt.Errorf("--cc %s: %s requires ECN, which a list leaves to the hosts: add --ecn on", strings.Join(o.ccFlows, ","), cc)
		}
		if o.ecnGiven && !bool(o.ecn) {
			return fmt.Errorf("--cc %s requires ECN: drop --ecn off (or give --ecn on)", cc)
		}
		if tcp, err := stack.Profile(o.profile.String()); err == nil && !o.ecnGiven && tcp.ECN == stack.ECNOff {
			return fmt.Errorf("--cc %s requires ECN, which the %s profile leaves off: add --ecn on", cc, o.profile.String())
		}
	}
	return nil
}

// printCC prints the congestion-control line of the header when --cc chose
// one, so that the default output stays as it was.
func (o *options) printCC(w io.Writer) {
	if o.cc != "" {
		fmt.Fprintf(w, "tcp: %s congestion control on every connection\n", o.cc.String())
	}
	if len(o.ccFlows) > 0 {
		parts := make([]string, len(o.ccFlows))
		for i, cc := range o.ccFlows {
			parts[i] = fmt.Sprintf("flow %d %s", i+1, cc)
		}
		fmt.Fprintf(w, "tcp: congestion control per flow, at both ends of its connection: %s\n", strings.Join(parts, ", "))
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
