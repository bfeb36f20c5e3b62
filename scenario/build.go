package scenario

import (
	"fmt"
	"net/netip"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// BuildOptions adjust Build.
type BuildOptions struct {
	// TCP, when set, gives each host's stack configuration: it receives
	// the host's name and the configuration its Host.TCP makes, and
	// returns the one to use (the CLI's quick forms pass their flags'
	// profile this way).
	TCP func(host string, tcp stack.TCPConfig) stack.TCPConfig
	// HostMTU, when positive, is the MTU of every host interface in place
	// of its link's (routers keep the link's): a smaller one lowers the
	// MSS the hosts announce.
	HostMTU int
}

// Network is a scenario's topology as Build made it in a world.
type Network struct {
	// Hosts and Routers by name.
	Hosts   map[string]*stack.Host
	Routers map[string]*sim.Router
	// Links in the scenario's order.
	Links []*sim.Link
}

// Build validates s and builds its hosts, routers, links and routes in w,
// as Run does, with every host's name in w's hosts table; it starts no
// listener, flow or event (those are Run's), so that a caller can run its
// own applications on a topology described as a Scenario. An invalid
// scenario returns Errors and builds nothing.
func Build(w *sim.World, s *Scenario, o BuildOptions) (*Network, error) {
	if s == nil {
		return nil, Errors{{Msg: "no scenario (nil *Scenario)"}}
	}
	p, err := s.plan(s.Seed)
	if err != nil {
		return nil, err
	}
	nw := &Network{Hosts: map[string]*stack.Host{}, Routers: map[string]*sim.Router{}}
	nw.Links, err = p.build(w, buildHooks{
		host: func(n *pnode) (sim.Node, *stack.Host, error) {
			tcp := n.tcp
			if o.TCP != nil {
				tcp = o.TCP(n.name, tcp)
			}
			env := w.NewHostEnv()
			h, err := stack.NewHost(stack.HostConfig{Name: n.name, Env: env, Seed: w.SeedFor("host", n.name), TCP: tcp})
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %v", n.path, err)
			}
			env.Bind(h)
			nw.Hosts[n.name] = h
			if o.HostMTU > 0 {
				return mtuHost{h, o.HostMTU}, h, nil
			}
			return h, h, nil
		},
	})
	if err != nil {
		return nil, err
	}
	for _, n := range p.nodes {
		if n.router {
			nw.Routers[n.name] = w.Node(n.name).(*sim.Router)
		}
	}
	return nw, nil
}

// mtuHost is a host whose interfaces take the MTU given instead of their
// link's (BuildOptions.HostMTU).
type mtuHost struct {
	*stack.Host
	mtu int
}

func (m mtuHost) AddInterface(addr netip.Prefix, link stack.Link, _ int) (int, error) {
	return m.Host.AddInterface(addr, link, m.mtu)
}

// buildHooks are what Run and Build do differently when building a plan.
type buildHooks struct {
	// host makes node n's stack: the node to register in the world and
	// the host behind it.
	host func(n *pnode) (sim.Node, *stack.Host, error)
	// link, when set, adjusts a link's configuration before it is made.
	link func(l *plink, cfg *sim.LinkConfig)
}

// build makes p's nodes, links and routes in w, and puts every host's
// name in the hosts table. It is the one topology builder of the package
// (Run and Build) and so of the CLI's quick forms.
func (p *plan) build(w *sim.World, hk buildHooks) ([]*sim.Link, error) {
	hosts := map[*pnode]*stack.Host{}
	for _, n := range p.nodes {
		if n.router {
			if _, err := w.AddRouter(n.name); err != nil {
				return nil, err
			}
			continue
		}
		node, h, err := hk.host(n)
		if err != nil {
			return nil, err
		}
		if err := w.AddNode(n.name, node); err != nil {
			return nil, err
		}
		hosts[n] = h
	}
	var links []*sim.Link
	for _, l := range p.links {
		cfg := sim.LinkConfig{Name: l.name, AB: l.dir[0], BA: l.dir[1]}
		if hk.link != nil {
			hk.link(l, &cfg)
		}
		sl, err := w.Connect(l.ends[0].name, l.addr[0], l.ends[1].name, l.addr[1], cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", l.path, err)
		}
		links = append(links, sl)
	}
	for _, n := range p.nodes {
		if n.router {
			rt := w.Node(n.name).(*sim.Router)
			for _, rr := range n.routes[len(n.ifaces):] {
				if err := rt.AddRoute(rr.dst, rr.iface); err != nil {
					return nil, err
				}
			}
			continue
		}
		h := hosts[n]
		for _, rr := range n.routes {
			if err := h.AddRoute(rr.dst, netip.Addr{}, rr.iface); err != nil {
				return nil, err
			}
		}
		if err := w.AddHostEntry(n.name, n.ifaces[0].addr.Addr()); err != nil {
			return nil, err
		}
	}
	return links, nil
}
