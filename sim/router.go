package sim

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/stack"
)

// Router is a node that forwards IPv4 packets between its interfaces by
// longest-prefix match (RFC 1812 §5.2.4.3), decrementing the TTL and
// patching the header checksum incrementally (RFC 1624). It sends no ICMP:
// packets it cannot forward are dropped, counted and logged. Forwarding
// takes no time; put delay and rate on the links. A star topology (many
// hosts sharing one bottleneck link to a server) is a Router with one link
// per host and one to the server.
type Router struct {
	w      *World
	name   string
	ifaces []routerIf
	routes []route // longest prefix first, then in the order added
	stats  RouterStats

	// With many interfaces (a star of hundreds of client hosts) a search
	// of the routes and interfaces per packet would make each packet cost
	// more the more hosts there are: local holds the interface addresses,
	// and cache the interface of each destination looked up since the
	// routes last changed.
	local map[netip.Addr]bool
	cache map[netip.Addr]int
}

type routerIf struct {
	addr netip.Prefix
	link stack.Link
	mtu  int
}

type route struct {
	dst     netip.Prefix
	ifIndex int
	seq     int
}

// RouterStats counts what a router did.
type RouterStats struct {
	Forwarded     uint64
	DropTTL       uint64 // TTL was 0 or 1 on arrival
	DropNoRoute   uint64
	DropMalformed uint64 // failed the IPv4 header check (length, version, checksum)
	DropLocal     uint64 // addressed to one of the router's own addresses
}

// AddRouter creates a router and registers it as a node called name. Give
// it interfaces with Connect (each interface adds a route to its subnet) and
// further routes with AddRoute.
func (w *World) AddRouter(name string) (*Router, error) {
	r := &Router{w: w, name: name}
	if err := w.AddNode(name, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Name returns the router's name.
func (r *Router) Name() string { return r.name }

// Stats returns the router's counters.
func (r *Router) Stats() RouterStats { return r.stats }

// AddInterface adds an interface with address addr on link (Interfacer).
// Packets for addr's subnet are routed out of it.
func (r *Router) AddInterface(addr netip.Prefix, link stack.Link, mtu int) (int, error) {
	if !addr.IsValid() || !addr.Addr().Is4() {
		return 0, fmt.Errorf("%w: router %q: interface address %v is not an IPv4 prefix", ErrInvalid, r.name, addr)
	}
	if link == nil {
		return 0, fmt.Errorf("%w: router %q: interface %v has a nil link", ErrInvalid, r.name, addr)
	}
	r.ifaces = append(r.ifaces, routerIf{addr: addr, link: link, mtu: mtu})
	if r.local == nil {
		r.local = make(map[netip.Addr]bool)
	}
	r.local[addr.Addr()] = true
	idx := len(r.ifaces) - 1
	if err := r.AddRoute(addr.Masked(), idx); err != nil {
		return 0, err
	}
	return idx, nil
}

// AddRoute routes packets for dst out of interface ifIndex.
func (r *Router) AddRoute(dst netip.Prefix, ifIndex int) error {
	if !dst.IsValid() || !dst.Addr().Is4() {
		return fmt.Errorf("%w: router %q: route destination %v is not an IPv4 prefix", ErrInvalid, r.name, dst)
	}
	if ifIndex < 0 || ifIndex >= len(r.ifaces) {
		return fmt.Errorf("%w: router %q: route %v: ifIndex = %d (router has %d interfaces)", ErrInvalid, r.name, dst, ifIndex, len(r.ifaces))
	}
	r.routes = append(r.routes, route{dst: dst.Masked(), ifIndex: ifIndex, seq: len(r.routes)})
	clear(r.cache)
	slices.SortStableFunc(r.routes, func(a, b route) int {
		if a.dst.Bits() != b.dst.Bits() {
			return b.dst.Bits() - a.dst.Bits()
		}
		return a.seq - b.seq
	})
	return nil
}

// Lookup returns the interface a packet for dst leaves by.
func (r *Router) Lookup(dst netip.Addr) (ifIndex int, ok bool) {
	small := len(r.routes) <= smallRouter
	if !small {
		if i, ok := r.cache[dst]; ok {
			return i, true
		}
	}
	for _, rt := range r.routes {
		if rt.dst.Contains(dst) {
			if small {
				return rt.ifIndex, true
			}
			if r.cache == nil {
				r.cache = make(map[netip.Addr]int)
			}
			if len(r.cache) < maxRouteCache {
				r.cache[dst] = rt.ifIndex
			}
			return rt.ifIndex, true
		}
	}
	return 0, false
}

// maxRouteCache bounds the destinations a router remembers.
const maxRouteCache = 1 << 16

// smallRouter is the size up to which a router walks its routes and
// interfaces per packet: a few comparisons cost less than a map lookup
// (BenchmarkRouterForward, two interfaces: 87 ns/op walking, 110 with the
// maps), and past it the maps keep a packet's cost flat.
const smallRouter = 8

// isLocal reports whether dst is one of the router's own addresses.
func (r *Router) isLocal(dst netip.Addr) bool {
	if len(r.ifaces) > smallRouter {
		return r.local[dst]
	}
	for i := range r.ifaces {
		if r.ifaces[i].addr.Addr() == dst {
			return true
		}
	}
	return false
}

// Deliver receives a packet on interface ifIndex and forwards it (Node).
func (r *Router) Deliver(ifIndex int, pkt []byte) {
	v := ippacket.View(pkt)
	if err := v.Check(true); err != nil {
		r.stats.DropMalformed++
		r.drop(ifIndex, pkt, ReasonMalformed)
		return
	}
	dst := v.Dst()
	if r.isLocal(dst) {
		r.stats.DropLocal++
		r.drop(ifIndex, pkt, ReasonLocal)
		return
	}
	// RFC 1812 §5.3.1: decrement the TTL; a packet whose TTL reaches zero
	// is not forwarded.
	if v.TTL() <= 1 {
		r.stats.DropTTL++
		r.drop(ifIndex, pkt, ReasonTTL)
		return
	}
	out, ok := r.Lookup(dst)
	if !ok {
		r.stats.DropNoRoute++
		r.drop(ifIndex, pkt, ReasonNoRoute)
		return
	}
	v.DecTTL()
	r.stats.Forwarded++
	r.ifaces[out].link.Send(pkt)
}

func (r *Router) drop(ifIndex int, pkt []byte, reason string) {
	if r.w.log == nil {
		return
	}
	e := Event{Time: r.w.now, Node: r.name, Dir: In, Verdict: Dropped, Reason: reason, Len: len(pkt)}
	if ifIndex >= 0 && ifIndex < len(r.ifaces) {
		if le, ok := r.ifaces[ifIndex].link.(*LinkEnd); ok {
			// The packet arrived at this end: it was sent from the peer.
			e.Link, e.End = le.link.name, le.idx
		}
	}
	r.w.log.add(e, pkt)
}
