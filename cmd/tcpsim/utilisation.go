package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tcpsim/tcpsim/sim"
)

// linkUse is one link direction's utilisation over a run: the bytes it
// carried over what its rate could carry in the run's time, and the
// fraction of that time its transmitter was sending (sim.DirStats.Busy).
// The two agree while the rate stays the same; after a rate change (a
// scenario's set event) Utilisation is against the last rate and Busy is
// the figure to read. Both are nil for a direction without a rate.
type linkUse struct {
	Link        string   `json:"link"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	Rate        int64    `json:"rate_bps"` // 0: unlimited
	Bytes       uint64   `json:"bytes"`    // IP packets' bytes carried (drops excluded)
	Over        float64  `json:"over_s"`   // the run's virtual time
	Utilisation *float64 `json:"utilisation"`
	Busy        *float64 `json:"busy"`
}

// linkUses returns both directions of each link, A→B first, over the
// virtual time over.
func linkUses(links []*sim.Link, over time.Duration) []linkUse {
	var out []linkUse
	for _, l := range links {
		for from := range 2 {
			out = append(out, newLinkUse(l, from, over))
		}
	}
	return out
}

func newLinkUse(l *sim.Link, from int, over time.Duration) linkUse {
	st := l.Stats(from)
	u := linkUse{Link: l.Name(), From: l.End(from).NodeName(), To: l.End(from ^ 1).NodeName(),
		Rate: l.Rate(from), Bytes: st.TxBytes, Over: over.Seconds()}
	if u.Rate > 0 && over > 0 {
		util := float64(st.TxBytes) * 8 / (float64(u.Rate) * over.Seconds())
		busy := float64(st.Busy) / float64(over)
		u.Utilisation, u.Busy = &util, &busy
	}
	return u
}

// busiest returns the direction of us with the highest busy fraction
// (the first of equals), or nil when none has a rate.
func busiest(us []linkUse) *linkUse {
	var b *linkUse
	for i := range us {
		if u := &us[i]; u.Busy != nil && (b == nil || *u.Busy > *b.Busy) {
			b = u
		}
	}
	return b
}

func pct(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f %%", *v*100)
}

func rateText(bps int64) string {
	if bps <= 0 {
		return "unlimited"
	}
	return formatBitRate(float64(bps))
}

// printLinkUses writes the utilisation of every link direction.
func printLinkUses(w io.Writer, us []linkUse) {
	if len(us) == 0 {
		return
	}
	lw, dw := len("link"), len("direction")
	for _, u := range us {
		lw = max(lw, len(u.Link))
		dw = max(dw, len([]rune(u.From+" → "+u.To)))
	}
	fmt.Fprintf(w, "link utilisation over %.3f s (bytes carried / (rate × time); busy: the transmitter's share of the time):\n", us[0].Over)
	fmt.Fprintf(w, "  %-*s  %-*s  %14s  %12s  %8s  %8s\n", lw, "link", dw, "direction", "rate", "bytes", "util", "busy")
	for _, u := range us {
		dir := u.From + " → " + u.To
		pad := dw - len([]rune(dir))
		fmt.Fprintf(w, "  %-*s  %s%*s  %14s  %12d  %8s  %8s\n", lw, u.Link, dir, pad, "", rateText(u.Rate), u.Bytes, pct(u.Utilisation), pct(u.Busy))
	}
}

// printBusiest writes the aggregates' utilisation line.
func printBusiest(w io.Writer, u *linkUse) {
	if u == nil {
		return
	}
	fmt.Fprintf(w, "busiest link direction: %s %s → %s, utilisation %s (busy %s) of %s\n",
		u.Link, u.From, u.To, pct(u.Utilisation), pct(u.Busy), rateText(u.Rate))
}

// busiestUtil is the sweep table's cell: the busiest direction's busy
// fraction, or "-" when no link has a rate.
func busiestUtil(u *linkUse) string {
	if u == nil || u.Busy == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *u.Busy)
}
