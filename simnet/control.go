package simnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/sim"
)

// Runtime control. Every host's outgoing direction carries a control
// fault, first in its fault chain, that looks up the path (sending host,
// destination address) in Net.paths. That map is touched only in scheduler
// context: the faults read it as packets pass, and the methods below change
// it through Loop.Call, so a change takes effect at one virtual instant
// (the loop's service step) and the same test gives the same packets.

type pathKey struct {
	from int        // sending host's index
	to   netip.Addr // destination address
}

// pathState is what the test has set on one direction between two hosts.
type pathState struct {
	partitioned bool
	holding     bool
	held        [][]byte
	delay       time.Duration // extra one-way delay
	loss        float64       // extra loss probability
	rate        int64         // bits per second; 0 = the link's own
	busy        time.Duration // when the rate limiter's transmitter frees up
}

type control struct {
	n    *Net
	from int
}

func (c *control) FaultName() string { return "simnet-control" }
func (c *control) Validate() error   { return nil }
func (c *control) NewInjector(r *rand.Rand) (sim.Injector, error) {
	return &controlInj{c: c, r: r}, nil
}

type controlInj struct {
	c *control
	r *rand.Rand
}

func (ci *controlInj) Inject(p *sim.FaultPacket) sim.Action {
	if len(p.Data) < 20 {
		return sim.Action{}
	}
	ps := ci.c.n.paths[pathKey{ci.c.from, ippacket.View(p.Data).Dst()}]
	if ps == nil {
		return sim.Action{}
	}
	switch {
	case ps.partitioned:
		return sim.Action{Drop: true}
	case ps.holding:
		ps.held = append(ps.held, append([]byte(nil), p.Data...))
		return sim.Action{Drop: true}
	case ps.loss > 0 && ci.r.Float64() < ps.loss:
		return sim.Action{Drop: true}
	}
	extra := ps.delay
	if ps.rate > 0 {
		start := max(p.Time, ps.busy)
		ps.busy = start + sim.TxTime(len(p.Data), ps.rate)
		extra += ps.busy - p.Time
	}
	return sim.Action{Delay: extra}
}

// Path is one direction between two hosts, from one to the other, whose
// behaviour the test changes while it runs. Changes apply to packets sent
// from then on (Release also delivers those held before).
type Path struct {
	n        *Net
	from, to *Host
	err      error
}

// Path returns the direction from → to. Unknown names fail the test when
// the Path is used.
func (n *Net) Path(from, to string) *Path {
	p := &Path{n: n}
	var err error
	if p.from, err = n.lookup("Path", from); err != nil {
		p.err = err
	} else if p.to, err = n.lookup("Path", to); err != nil {
		p.err = err
	} else if from == to {
		p.err = fmt.Errorf("simnet: Path(%q, %q): both ends are the same host; a host's traffic to itself does not cross a link", from, to)
	}
	return p
}

func (p *Path) String() string {
	if p.err != nil {
		return "invalid path"
	}
	return p.from.name + " → " + p.to.name
}

// change runs f on the path's state in scheduler context.
func (p *Path) change(what string, f func(ps *pathState, end *sim.LinkEnd)) {
	if p.err != nil {
		p.n.report(fmt.Errorf("%s: %w", what, p.err))
		return
	}
	n := p.n
	k := pathKey{p.from.idx, p.to.addr}
	if err := n.loop.Call(func() {
		ps := n.paths[k]
		if ps == nil {
			ps = &pathState{}
			n.paths[k] = ps
		}
		f(ps, p.from.link.End(0))
	}); err != nil {
		// The network is closed: the test is over and the change is
		// moot (a time.AfterFunc firing late, say). Failing the test
		// from here could panic after it has completed.
		return
	}
}

// Partition drops every packet on the path until Repair.
func (p *Path) Partition() {
	p.change("Partition", func(ps *pathState, _ *sim.LinkEnd) { ps.partitioned = true })
}

// Repair ends a partition.
func (p *Path) Repair() {
	p.change("Repair", func(ps *pathState, _ *sim.LinkEnd) { ps.partitioned = false })
}

// Hold queues the path's packets instead of delivering them, until
// Release.
func (p *Path) Hold() { p.change("Hold", func(ps *pathState, _ *sim.LinkEnd) { ps.holding = true }) }

// Release ends Hold: the queued packets are sent on, in order, followed by
// whatever comes next.
func (p *Path) Release() {
	p.change("Release", func(ps *pathState, end *sim.LinkEnd) {
		ps.holding = false
		held := ps.held
		ps.held = nil
		for _, pkt := range held {
			end.Send(pkt)
		}
	})
}

// Held returns how many packets Hold has queued so far.
func (p *Path) Held() int {
	k := 0
	p.change("Held", func(ps *pathState, _ *sim.LinkEnd) { k = len(ps.held) })
	return k
}

// SetDelay adds d to the path's one-way delay (0 removes it).
func (p *Path) SetDelay(d time.Duration) {
	if d < 0 {
		p.n.report(fmt.Errorf("simnet: SetDelay(%v) on %v: the extra delay must not be negative", d, p))
		return
	}
	p.change("SetDelay", func(ps *pathState, _ *sim.LinkEnd) { ps.delay = d })
}

// SetLoss drops each packet with probability q, on top of the link's
// loss (0 removes it).
func (p *Path) SetLoss(q float64) {
	if math.IsNaN(q) || q < 0 || q > 1 {
		p.n.report(fmt.Errorf("simnet: SetLoss(%v) on %v: a probability must be in [0, 1] (0.05 is 5 %%)", q, p))
		return
	}
	p.change("SetLoss", func(ps *pathState, _ *sim.LinkEnd) { ps.loss = q })
}

// SetRate limits the path to bps bits per second (a bottleneck with an
// unlimited queue; 0 removes the limit).
func (p *Path) SetRate(bps int64) {
	if bps < 0 {
		p.n.report(fmt.Errorf("simnet: SetRate(%d) on %v: bits per second must not be negative (0 removes the limit)", bps, p))
		return
	}
	p.change("SetRate", func(ps *pathState, _ *sim.LinkEnd) { ps.rate, ps.busy = bps, 0 })
}

// Partition cuts a and b apart in both directions.
func (n *Net) Partition(a, b string) { n.Path(a, b).Partition(); n.Path(b, a).Partition() }

// Repair ends the partition between a and b in both directions.
func (n *Net) Repair(a, b string) { n.Path(a, b).Repair(); n.Path(b, a).Repair() }

// Hold queues the packets between a and b in both directions.
func (n *Net) Hold(a, b string) { n.Path(a, b).Hold(); n.Path(b, a).Hold() }

// Release delivers what Hold queued between a and b and ends it.
func (n *Net) Release(a, b string) { n.Path(a, b).Release(); n.Path(b, a).Release() }
