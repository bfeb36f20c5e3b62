package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/stack"
)

// Sequence-number wrap without timestamps (issue 10, item 2). TCP's
// sequence space is 2^32 bytes and a receiver tells old from new data by
// comparing within half of it: without RFC 7323 timestamps (PAWS) an old
// duplicate that survives in the network is harmless only while the sender
// cannot send 2^31 bytes within one MSL. The hosts' MSL is their
// profile's (30 s under linux, 2 min under rfc).

// seqWrapLimit is the largest link rate in bit/s for which rate × MSL stays
// below 2^31 bytes.
func seqWrapLimit(msl time.Duration) int64 {
	return int64(float64(1<<31) * 8 / msl.Seconds())
}

// warnSeqWrap writes a warning to w when timestamps are off and the link's
// rate lets the sequence space wrap within an MSL (an unlimited rate
// always can).
func warnSeqWrap(w io.Writer, o *options) {
	if o.timestamps {
		return
	}
	msl := stack.DefaultMSL
	if tcp, err := stack.Profile(o.profile.String()); err == nil && tcp.MSL > 0 {
		msl = tcp.MSL
	}
	limit := seqWrapLimit(msl)
	rate := o.maxRate()
	if rate != 0 && rate < limit {
		return
	}
	what := "an unlimited --rate"
	if rate != 0 {
		what = "--rate " + flagval.FormatRate(rate)
	}
	fmt.Fprintf(w, "tcpsim: warning: %s with --timestamps off: the sequence space can wrap within the MSL (%v) and an old duplicate segment corrupt the stream; without timestamps (PAWS, RFC 7323 §5) rate × MSL must stay below 2^31 bytes, a rate below %.1f Mbit/s\n",
		what, msl, float64(limit)/1e6)
}
