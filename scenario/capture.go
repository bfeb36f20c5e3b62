package scenario

import (
	"fmt"
	"io"
	"strings"

	"github.com/tcpsim/tcpsim/sim"
)

// Capture asks Run for a packet capture (Options.Captures).
type Capture struct {
	// Node is the host or router to capture at; empty captures every
	// link end of the network (NG only).
	Node string
	// Link, when set, is one of Node's links: the capture is taken at
	// Node's end of it only.
	Link string
	// NG writes a pcapng with one interface per link end ("NODE:LINK")
	// and the drops of their outgoing directions on interfaces of their
	// own (sim.NgCapture); otherwise a pcap of one link end (sim.Capture),
	// so Node must then have one link or Link must be given.
	NG bool
	// Out receives the file; Run does not close it.
	Out io.Writer
}

// CheckCaptures reports the first capture of cs that names no node or
// link of s, or asks a pcap of several link ends.
func (s *Scenario) CheckCaptures(cs []Capture) error {
	p, err := s.plan(0)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if _, err := p.captureEnds(c); err != nil {
			return err
		}
	}
	return nil
}

// captureEnds resolves a capture to (link index, end) pairs.
func (p *plan) captureEnds(c Capture) ([][2]int, error) {
	if c.Out == nil {
		return nil, fmt.Errorf("capture at %q: no writer (Capture.Out)", c.Node)
	}
	var out [][2]int
	if c.Node == "" {
		if !c.NG {
			return nil, fmt.Errorf("a capture of every link end needs pcapng (Capture.NG)")
		}
		for i := range p.links {
			out = append(out, [2]int{i, 0}, [2]int{i, 1})
		}
		return out, nil
	}
	n := p.byName[c.Node]
	if n == nil {
		return nil, fmt.Errorf("capture at %q: no host or router has this name%s", c.Node, p.knownNodes())
	}
	var names []string
	for _, f := range n.ifaces {
		names = append(names, f.link.name)
		if c.Link == "" || f.link.name == c.Link {
			out = append(out, [2]int{f.link.idxIn(p), f.end})
		}
	}
	switch {
	case len(out) == 0 && c.Link != "":
		return nil, fmt.Errorf("capture at %s@%s: %s has no link %q (its links: %s)", c.Node, c.Link, c.Node, c.Link, strings.Join(names, ", "))
	case len(out) == 0:
		return nil, fmt.Errorf("capture at %q: it has no link", c.Node)
	case len(out) > 1 && !c.NG:
		return nil, fmt.Errorf("capture at %q: a pcap holds one link end and %s has %d links (%s); name one (%s@%s) or write a pcapng", c.Node, c.Node, len(out), strings.Join(names, ", "), c.Node, names[0])
	}
	return out, nil
}

// startCaptures starts o's captures on the built world.
func (r *runner) startCaptures(cs []Capture) error {
	for _, c := range cs {
		ends, err := r.p.captureEnds(c)
		if err != nil {
			return err
		}
		var les []*sim.LinkEnd
		for _, e := range ends {
			les = append(les, r.links[e[0]].End(e[1]))
		}
		if !c.NG {
			pc, err := r.w.Capture(les[0], c.Out)
			if err != nil {
				return err
			}
			r.stopCaps = append(r.stopCaps, pc.Close)
			continue
		}
		ng, err := r.w.CaptureAll(c.Out, sim.NgOptions{Ends: les, Drops: true})
		if err != nil {
			return err
		}
		r.ngs = append(r.ngs, ng)
		r.stopCaps = append(r.stopCaps, ng.Close)
	}
	return nil
}
