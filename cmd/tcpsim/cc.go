package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/stack"
)

// ccFlag is --cc: the congestion control (window algorithm) of every
// connection both simulated hosts make, one of stack.CongestionControls.
// Empty means the stack's default, newreno.
type ccFlag string

func (f *ccFlag) String() string {
	if *f == "" {
		return stack.CCNewReno
	}
	return string(*f)
}

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

func addCCFlag(fs *pflag.FlagSet, o *options) {
	fs.Var(&o.cc, "cc", "congestion control of each connection: "+strings.Join(stack.CongestionControls(), " or ")+
		" (cubic is RFC 9438 CUBIC with HyStart++ slow start)")
}

// printCC prints the congestion-control line of the header when --cc chose
// one, so that the default output stays as it was.
func (o *options) printCC(w io.Writer) {
	if o.cc != "" {
		fmt.Fprintf(w, "tcp: %s congestion control on every connection\n", o.cc.String())
	}
}
