package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/tcpsim/tcpsim/cmd/tcpsim/internal/flagval"
	"github.com/tcpsim/tcpsim/scenario"
	"github.com/tcpsim/tcpsim/sim"
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

// warnScenarioSeqWrap is warnSeqWrap for `tcpsim run`: for each host of s
// whose TCP has timestamps off (tcp.timestamps: off, and its profile's
// MSL), it looks for a flow to or from the host whose connection can run
// fast enough to wrap the sequence space within an MSL, and writes one
// warning per such host naming the link that bounds that path. The rate a
// connection can reach is bounded by the slowest link of its path; the
// path taken here is the widest one between the two hosts through routers
// (in a tree, the only one), a link's rate the faster of its two
// directions as the file sets them (events that change a rate later are
// not followed). s must be valid; a scenario that cannot be built draws
// no warning (the run reports it).
func warnScenarioSeqWrap(w io.Writer, s *scenario.Scenario) {
	off := false
	for _, h := range s.Hosts {
		off = off || !h.TCP.Timestamps.Or(true)
	}
	if !off {
		return // no host to warn about: the network is not built twice
	}
	world := sim.New(sim.Config{Seed: s.Seed, StreamOnly: true})
	defer world.Close()
	nw, err := scenario.Build(world, s, scenario.BuildOptions{})
	if err != nil {
		return
	}
	// The graph: each node's links, in file order.
	type edge struct {
		link *sim.Link
		to   string
		rate float64 // bit/s; +Inf when unlimited
	}
	adj := map[string][]edge{}
	for _, l := range nw.Links {
		a, b := l.End(0).NodeName(), l.End(1).NodeName()
		rate := math.Inf(1)
		if r0, r1 := l.Rate(0), l.Rate(1); r0 > 0 && r1 > 0 {
			rate = float64(max(r0, r1))
		}
		adj[a] = append(adj[a], edge{l, b, rate})
		adj[b] = append(adj[b], edge{l, a, rate})
	}
	for _, h := range s.Hosts {
		host := nw.Hosts[h.Name]
		if host == nil || !host.Config().DisableTimestamps {
			continue
		}
		msl := host.Config().MSL
		if msl <= 0 {
			msl = stack.DefaultMSL
		}
		limit := float64(seqWrapLimit(msl))
		// The widest path from the host to every node, through routers
		// only (a host does not forward), as Dijkstra's algorithm with
		// the bottleneck for the distance: width[n] is the fastest
		// bottleneck of a path to n, by[n] the link that sets it.
		width := map[string]float64{h.Name: math.Inf(1)}
		by := map[string]*sim.Link{}
		done := map[string]bool{}
		for {
			cur, best := "", -1.0
			for _, n := range sortedKeys(width) {
				if !done[n] && width[n] > best {
					cur, best = n, width[n]
				}
			}
			if cur == "" {
				break
			}
			done[cur] = true
			if cur != h.Name && nw.Routers[cur] == nil {
				continue // a host: a path ends there
			}
			for _, e := range adj[cur] {
				wd := min(best, e.rate)
				if old, ok := width[e.to]; !ok || wd > old {
					width[e.to] = wd
					if e.rate <= best {
						by[e.to] = e.link
					} else {
						by[e.to] = by[cur]
					}
				}
			}
		}
		// The fastest of the host's flows (to or from it).
		peer, fastest := "", -1.0
		for _, f := range s.Flows {
			other := ""
			switch h.Name {
			case f.From:
				other = f.To
			case f.To:
				other = f.From
			}
			if wd, ok := width[other]; ok && other != h.Name && wd > fastest {
				peer, fastest = other, wd
			}
		}
		if peer == "" || fastest < limit {
			continue
		}
		what := "every link of its path to " + peer + " has an unlimited rate"
		if l := by[peer]; l != nil && !math.IsInf(fastest, 1) {
			what = fmt.Sprintf("its connections to %s can run at %s, the rate of link %s, the slowest of their path", peer, flagval.FormatRate(int64(fastest)), l.Name())
		}
		fmt.Fprintf(w, "tcpsim: warning: host %s has timestamps off and %s: the sequence space can wrap within the MSL (%v) and an old duplicate segment corrupt the stream; without timestamps (PAWS, RFC 7323 §5) rate × MSL must stay below 2^31 bytes, a rate below %.1f Mbit/s\n",
			h.Name, what, msl, limit/1e6)
	}
}
