package scenario

import (
	"fmt"
	"net/netip"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// A host that restarts is registered in the world as a hostSlot: the node
// the links deliver to and the owner of the interfaces, passing packets to
// the stack of the moment. Each stack sends through ports of its own
// generation; a restart starts a new generation, so whatever the crashed
// stack still does (the resets of its aborted connections, a timer, an
// application still writing) never reaches a link.

type hostSlot struct {
	h      *stack.Host
	gen    int
	ifaces []slotIface
}

type slotIface struct {
	addr netip.Prefix
	link stack.Link
	mtu  int
}

func (s *hostSlot) Deliver(ifIndex int, pkt []byte) { s.h.Deliver(ifIndex, pkt) }

func (s *hostSlot) DeliverVerified(ifIndex int, pkt []byte) { s.h.DeliverVerified(ifIndex, pkt) }

// AddInterface gives the current stack an interface on link (World.Connect
// calls it) and remembers it for the stacks after a restart.
func (s *hostSlot) AddInterface(addr netip.Prefix, link stack.Link, mtu int) (int, error) {
	s.ifaces = append(s.ifaces, slotIface{addr, link, mtu})
	return s.h.AddInterface(addr, s.port(link), mtu)
}

func (s *hostSlot) port(l stack.Link) stack.Link {
	p := &hostPort{s: s, gen: s.gen, l: l}
	p.off, _ = l.(stack.OffloadLink)
	return p
}

// hostPort is one generation's view of a link end.
type hostPort struct {
	s   *hostSlot
	gen int
	l   stack.Link
	off stack.OffloadLink
}

func (p *hostPort) Send(pkt []byte) {
	if p.gen == p.s.gen {
		p.l.Send(pkt)
	}
}

func (p *hostPort) SendVerified(pkt []byte) {
	if p.gen != p.s.gen {
		return
	}
	if p.off != nil {
		p.off.SendVerified(pkt)
	} else {
		p.l.Send(pkt)
	}
}

// newHost makes node n's stack (its k-th, from 0) and its environment.
func (r *runner) newHost(n *pnode, k int) (*stack.Host, *sim.HostEnv, error) {
	env := r.w.NewHostEnv()
	seed := r.w.SeedFor("host", n.name)
	if k > 0 {
		// A fresh stack draws fresh initial sequence numbers and ports.
		seed = r.w.SeedFor("host", fmt.Sprintf("%s/restart%d", n.name, k))
	}
	tcp := n.tcp // with the ECN an algorithm that needs it asks for (validate.go)
	h, err := stack.NewHost(stack.HostConfig{Name: n.name, Env: env, Seed: seed, TCP: tcp})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", n.path, err)
	}
	env.Bind(h)
	return h, env, nil
}

// restart replaces node n's crashed stack with a fresh one: the old one's
// connections are aborted (their resets go nowhere) and its timers stop;
// the new one gets the same interfaces, routes and servers.
func (r *runner) restart(n *pnode) error {
	s := r.slots[n]
	old := s.h
	s.gen++ // the old stack's ports are dead from here on
	for _, c := range old.Conns() {
		c.Abort()
	}
	for _, stop := range r.servers[n] {
		stop()
	}
	r.servers[n] = nil
	r.envs[n].Bind(nil)
	r.restarts[n]++
	h, env, err := r.newHost(n, r.restarts[n])
	if err != nil {
		return err
	}
	s.h = h
	r.envs[n], r.hosts[n] = env, h
	for i, f := range s.ifaces {
		if _, err := h.AddInterface(f.addr, s.port(f.link), f.mtu); err != nil {
			return fmt.Errorf("%s: restart: interface %d: %v", n.path, i, err)
		}
	}
	for _, rr := range n.routes {
		if err := h.AddRoute(rr.dst, netip.Addr{}, rr.iface); err != nil {
			return fmt.Errorf("%s: restart: %v", n.path, err)
		}
	}
	r.nets[n] = sim.NewTaskNet(r.w, h)
	r.crashed[n] = false
	return r.startServers(n)
}
