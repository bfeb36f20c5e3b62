package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/scenario"
	"github.com/tcpsim/tcpsim/sim"
)

// The quick forms' networks are scenario.Scenario values built by
// scenario.Build, the package's one topology builder (the one `tcpsim run`
// uses): two hosts on the wire, a star (--clients N or --topology star:N),
// a dumbbell or a chain. transfer and get keep their own applications,
// analyzer and output on it.

// Topology shapes.
const (
	shapeStar     = "star"
	shapeDumbbell = "dumbbell"
	shapeChain    = "chain"
)

// maxChain bounds chain:N: a path of N routers and N+1 hops, well inside
// the hosts' initial TTL of 64.
const maxChain = 32

// topologyFlag is --topology SHAPE:N.
type topologyFlag struct {
	shape string
	n     int
}

func (t *topologyFlag) String() string {
	if t.shape == "" {
		return ""
	}
	return t.shape + ":" + strconv.Itoa(t.n)
}

func (t *topologyFlag) Set(s string) error {
	shape, count, ok := strings.Cut(s, ":")
	limit := maxClients
	switch shape {
	case shapeStar, shapeDumbbell:
	case shapeChain:
		limit = maxChain
	default:
		return fmt.Errorf("want star:N, dumbbell:N or chain:N")
	}
	what := map[string]string{shapeStar: "client hosts", shapeDumbbell: "client-server pairs", shapeChain: "routers"}[shape]
	if !ok {
		return fmt.Errorf("give the number of %s after a colon, e.g. %s:3", what, shape)
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || n > limit {
		return fmt.Errorf("%q: want 1 to %d %s", count, limit, what)
	}
	t.shape, t.n = shape, n
	return nil
}

func (t *topologyFlag) Type() string { return "shape:N" }

// serverHostPrefix is server k's address on a dumbbell: 10.x.y.1/24 with
// x.y = 128·256 + k−1, so that every server is inside 10.128.0.0/9 and
// every client (clientHostPrefix) inside 10.0.0.0/9.
func serverHostPrefix(k int) netip.Prefix {
	i := 128<<8 + k - 1
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}), 24)
}

func gatewayOf(p netip.Prefix) netip.Prefix {
	a := p.Addr().As4()
	a[3] = 254
	return netip.PrefixFrom(netip.AddrFrom4(a), 24)
}

// chainPrefix is end e (0: toward the client) of hop k (from 0) of a chain:
// 10.0.k.1/24 and 10.0.k.2/24.
func chainPrefix(k, e int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(k), byte(e + 1)}), 24)
}

// quick is the scenario of a run's network and the names the run needs.
type quick struct {
	s                *scenario.Scenario
	clients, servers []string // host names; flow i is dealt to clients[i mod N] and servers[i mod M]
	routers          map[string]bool
	bottleneck       string // the link the flags describe (a chain: the first hop; every hop is one)
	endLinks         [2]string
}

// linkDirs is the link the flags describe as a scenario's directions: AB
// (from the clients' side) up, BA down.
func (o *options) linkDirs() (ab, ba scenario.Dir) {
	v := o.dirValues()
	var d [2]scenario.Dir
	for i := range d {
		x := scenario.Dir{
			Rate:      scenario.Rate(v[i].rate),
			Delay:     scenario.Duration(v[i].delay),
			Jitter:    scenario.Duration(o.jitter),
			Queue:     o.queue.V,
			MTU:       o.mtu.V,
			Loss:      scenario.Percent(v[i].loss),
			Duplicate: scenario.Percent(o.duplicate),
			Corrupt:   scenario.Percent(o.corrupt),
			Reorder:   scenario.Percent(o.reorder),
			Gap:       o.gap.V,
		}
		if o.qdisc.Q != nil {
			x.Queue, x.Qdisc = 0, sim.FormatQdisc(o.qdisc.Q)
		}
		if g := o.lossGE; g.Given {
			bad := scenario.Percent(g.LossBad)
			x.LossGE = &scenario.GE{P: scenario.Percent(g.P), R: scenario.Percent(g.R), BadLoss: &bad, GoodLoss: scenario.Percent(g.LossGood)}
		}
		d[i] = x
	}
	return d[0], d[1]
}

// quickScenario describes the network the flags ask for.
func (o *options) quickScenario() *quick {
	ab, ba := o.linkDirs()
	wire := scenario.Link{Name: linkName, AB: &ab, BA: &ba}
	fast := scenario.Dir{MTU: o.mtu.V} // access links: no delay, rate or queue limit
	q := &quick{s: &scenario.Scenario{Seed: uint64(o.seed), Routing: "static"}, routers: map[string]bool{}, bottleneck: linkName}
	s := q.s
	addHost := func(name string) { s.Hosts = append(s.Hosts, scenario.Host{Name: name}) }
	addRouter := func(name string) {
		s.Routers = append(s.Routers, scenario.Router{Name: name})
		q.routers[name] = true
	}
	access := func(name, host string, hp netip.Prefix, router string) {
		s.Links = append(s.Links, scenario.Link{Name: name, A: host, B: router, AAddress: hp.String(), BAddress: gatewayOf(hp).String(), Dir: fast})
	}
	shape, count := o.topology.shape, o.topology.n
	if shape == "" && o.clientHosts > 1 {
		shape, count = shapeStar, o.clientHosts
	}
	switch shape {
	case "":
		addHost(clientName)
		addHost(serverName)
		wire.A, wire.B, wire.AAddress, wire.BAddress = clientName, serverName, clientPrefix.String(), serverPrefix.String()
		s.Links = append(s.Links, wire)
		q.clients, q.servers = []string{clientName}, []string{serverName}
	case shapeStar:
		// The router takes the client's place at end 0 of the wire.
		addHost(serverName)
		addRouter(routerName)
		wire.A, wire.B, wire.AAddress, wire.BAddress = routerName, serverName, clientPrefix.String(), serverPrefix.String()
		s.Links = append(s.Links, wire)
		for k := 1; k <= count; k++ {
			name := fmt.Sprintf("%s%d", clientName, k)
			addHost(name)
			access(fmt.Sprintf("access%d", k), name, clientHostPrefix(k), routerName)
			q.clients = append(q.clients, name)
		}
		q.servers = []string{serverName}
	case shapeDumbbell:
		// Clients on router1, servers on router2, the wire between them.
		addRouter("router1")
		addRouter("router2")
		wire.A, wire.B, wire.AAddress, wire.BAddress = "router1", "router2", clientPrefix.String(), serverPrefix.String()
		s.Links = append(s.Links, wire)
		for k := 1; k <= count; k++ {
			c, v := fmt.Sprintf("%s%d", clientName, k), fmt.Sprintf("%s%d", serverName, k)
			addHost(c)
			addHost(v)
			access(fmt.Sprintf("access%d", k), c, clientHostPrefix(k), "router1")
			access(fmt.Sprintf("saccess%d", k), v, serverHostPrefix(k), "router2")
			q.clients, q.servers = append(q.clients, c), append(q.servers, v)
		}
		s.Routes = []scenario.Route{
			{Node: "router1", To: "10.128.0.0/9", Via: linkName},
			{Node: "router2", To: "10.0.0.0/9", Via: linkName},
		}
	case shapeChain:
		// client, router1 … routerN, server; every hop is the link the
		// flags describe.
		addHost(clientName)
		addHost(serverName)
		prev := clientName
		for k := 0; k <= count; k++ {
			next := serverName
			if k < count {
				next = fmt.Sprintf("router%d", k+1)
				addRouter(next)
			}
			hop := wire
			hop.Name, hop.A, hop.B = fmt.Sprintf("hop%d", k+1), prev, next
			hop.AAddress, hop.BAddress = chainPrefix(k, 0).String(), chainPrefix(k, 1).String()
			s.Links = append(s.Links, hop)
			prev = next
		}
		s.Routing = "shortest"
		q.clients, q.servers = []string{clientName}, []string{serverName}
		q.bottleneck = "hop1"
	}
	q.endLinks = [2]string{q.bottleneck, q.bottleneck}
	if shape == shapeChain {
		q.endLinks[1] = fmt.Sprintf("hop%d", count+1)
	}
	return q
}

// describeTopology is the header's words for a --topology, or "".
func (n *network) describeTopology(o *options) string {
	switch o.topology.shape {
	case shapeChain:
		return fmt.Sprintf("path: client %v, %d router(s), server %v: %d hops, each the link below", n.clientAddr, o.topology.n, n.serverAddr, o.topology.n+1)
	case shapeDumbbell:
		return fmt.Sprintf("topology: dumbbell, clients %v … %v on router1, servers %v … %v on router2, the link below between the routers",
			clientHostPrefix(1).Addr(), clientHostPrefix(o.topology.n).Addr(), serverHostPrefix(1).Addr(), serverHostPrefix(o.topology.n).Addr())
	case shapeStar:
		return fmt.Sprintf("topology: star, clients %v … %v on a router, the link below from it to server %v",
			clientHostPrefix(1).Addr(), clientHostPrefix(o.topology.n).Addr(), n.serverAddr)
	}
	return ""
}

// validateGetTopology accepts get's one shape, a chain, with a single
// fetch: one client has no star or dumbbell to fill, and the page, repeat
// and Fast Open demonstrations print the two-host addresses.
func (o *options) validateGetTopology(fs *pflag.FlagSet) error {
	t := o.topology
	if t.shape == "" {
		return nil
	}
	if t.shape != shapeChain {
		return fmt.Errorf("--topology %s: get fetches from one client, so its one shape is chain:N (routers between client and server); star and dumbbell are transfer's", t.String())
	}
	for _, name := range []string{"objects", "page", "compare", "strategy", "repeat", "split-request", "fastopen", "tun"} {
		if f := fs.Lookup(name); f != nil && f.Changed {
			return fmt.Errorf("--topology %s and --%s are exclusive: the chain is for a single fetch", t.String(), name)
		}
	}
	return nil
}
