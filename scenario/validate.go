package scenario

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// DefaultTimeout is the virtual-time limit of a scenario whose Timeout is
// zero.
const DefaultTimeout = 10 * time.Minute

// MaxSamples bounds the samples a time series may take in a run's time
// limit (Scenario.Sample), so that a tiny period cannot exhaust memory.
const MaxSamples = 10_000_000

// Apps of listeners and flows.
const (
	AppSink    = "sink"
	AppHTTP    = "http"
	AppBulk    = "bulk"
	AppHTTPGet = "http_get"
	// AppRequestResponse makes Flow.Requests GETs on one connection,
	// Flow.Think apart.
	AppRequestResponse = "request_response"
	// AppOnOff sends to a sink for Flow.On, then is silent for Flow.Off,
	// over and over.
	AppOnOff = "on_off"
)

// plan is a validated scenario, resolved into what Run builds.
type plan struct {
	s      *Scenario
	seed   uint64
	nodes  []*pnode
	byName map[string]*pnode
	links  []*plink
	flows  []*pflow
	events []pevent
}

type pnode struct {
	name   string
	router bool
	host   *Host // nil for a router
	tcp    stack.TCPConfig
	ccFrom string // the field that set tcp.CongestionControl
	// The profile and the ECN switch, from the host or its flows, and the
	// fields that set them; ecnAccept: a flow to the host asks for ECN;
	// needsECN: the host or one of its flows runs an algorithm that
	// needs it.
	profile, profileFrom string
	ecn                  Switch
	ecnFrom              string
	ecnAccept, needsECN  bool
	ifaces               []piface
	routes               []proute
	listen               map[int]string // port → app
	path                 string         // "hosts[0]", "routers[1]"
	// restarts is set when an event restarts the host: Run puts it
	// behind a slot that can swap its stack (restart.go).
	restarts bool
}

type piface struct {
	link *plink
	end  int // 0 = A, 1 = B
	addr netip.Prefix
}

type proute struct {
	dst   netip.Prefix
	iface int
}

type plink struct {
	name   string
	idx    int
	path   string
	ends   [2]*pnode
	ifIdx  [2]int // the interface number of each end on its node
	addr   [2]netip.Prefix
	dir    [2]sim.DirConfig // [0] = AB, [1] = BA
	cuts   []window         // link down or partitioned: both directions
	crash  []crashCut       // a crashed end
	faults [2][]sim.Fault
}

type window struct{ from, to time.Duration }

type crashCut struct {
	at, until time.Duration // until: the restart, or forever
	addr      netip.Addr
}

type pflow struct {
	index int // from 1
	name  string
	spec  *Flow
	path  string
	src   *pnode
	dst   *pnode
	daddr netip.Addr
	start time.Duration
	cc    string
}

type pevent struct {
	at     time.Duration
	path   string
	set    *LinkChange
	link   *plink
	crash  *pnode // crash and restart
	action string
}

// Validate checks the whole scenario and reports every problem found (as
// Errors, in file order), without running anything.
func (s *Scenario) Validate() error {
	_, err := s.plan(0)
	return err
}

type checker struct {
	src  *source
	errs Errors
}

func (c *checker) errorf(path, format string, args ...any) {
	e := c.src.at(path, fmt.Sprintf(format, args...))
	for _, old := range c.errs {
		if *old == *e {
			return // both directions of a link share settings
		}
	}
	c.errs = append(c.errs, e)
}

// plan validates s with the given seed and resolves it.
func (s *Scenario) plan(seed uint64) (*plan, error) {
	if s == nil {
		return nil, Errors{{Msg: "no scenario (nil *Scenario)"}}
	}
	c := &checker{src: s.src}
	p := &plan{s: s, seed: seed, byName: map[string]*pnode{}}
	switch s.Routing {
	case "", "shortest", "static":
	default:
		c.errorf("routing", "%q: want shortest or static", s.Routing)
	}
	if s.Sample < 0 {
		c.errorf("sample", "%v: must not be negative (0: no time series)", s.Sample)
	} else if tl := cmp.Or(time.Duration(s.Timeout), DefaultTimeout); s.Sample > 0 && tl/time.Duration(s.Sample) > MaxSamples {
		c.errorf("sample", "%v: more than %d samples in the run's time limit of %v; sample less often", s.Sample, MaxSamples, tl)
	}
	p.nodesFrom(c)
	p.linksFrom(c)
	if len(c.errs) == 0 {
		p.routesFrom(c)
	}
	p.flowsFrom(c)
	p.eventsFrom(c)
	if len(c.errs) == 0 {
		p.checkPaths(c)
	}
	if len(c.errs) > 0 {
		slices.SortStableFunc(c.errs, func(a, b *Error) int {
			if a.Line != b.Line {
				return cmp.Compare(a.Line, b.Line)
			}
			return cmp.Compare(a.Column, b.Column)
		})
		return nil, c.errs
	}
	return p, nil
}

func (p *plan) addNode(c *checker, n *pnode) {
	switch {
	case n.name == "":
		c.errorf(n.path+".name", "missing: every host and router needs a name")
		return
	case strings.ContainsAny(n.name, " \t/:"):
		c.errorf(n.path+".name", "%q: a name has no spaces, slashes or colons", n.name)
		return
	}
	if old, ok := p.byName[n.name]; ok {
		c.errorf(n.path+".name", "%q is already the name of %s", n.name, old.path)
		return
	}
	p.byName[n.name] = n
	p.nodes = append(p.nodes, n)
}

func (p *plan) nodesFrom(c *checker) {
	for i := range p.s.Hosts {
		h := &p.s.Hosts[i]
		path := fmt.Sprintf("hosts[%d]", i)
		n := &pnode{name: h.Name, host: h, path: path, listen: map[int]string{}}
		t := h.TCP
		n.tcp = stack.TCPConfig{
			SendBuffer:        int(t.SendBuffer),
			RecvBuffer:        int(t.RecvBuffer),
			NoDelay:           t.NoDelay,
			CongestionControl: t.CongestionControl,
			DisableTimestamps: !t.Timestamps.Or(true),
		}
		if !t.DelayedAck.Or(true) {
			n.tcp.DelayedAck = -1
		}
		if t.CongestionControl != "" {
			n.ccFrom = path + ".tcp.congestion_control"
			if !knownCC(t.CongestionControl) {
				c.errorf(n.ccFrom, "%q: want %s", t.CongestionControl, strings.Join(stack.CongestionControls(), " or "))
			}
			n.needsECN = stack.CongestionControlRequiresECN(t.CongestionControl)
		}
		if t.Profile != "" {
			n.profile, n.profileFrom = t.Profile, path+".tcp.profile"
			if !slices.Contains(stack.Profiles(), t.Profile) {
				c.errorf(n.profileFrom, "%q: want %s", t.Profile, strings.Join(stack.Profiles(), " or "))
			}
		}
		if t.ECN != Default {
			n.ecn, n.ecnFrom = t.ECN, path+".tcp.ecn"
		}
		for _, b := range []struct {
			field string
			v     Size
		}{{"sndbuf", t.SendBuffer}, {"rcvbuf", t.RecvBuffer}} {
			if b.v != 0 && (b.v < 1024 || b.v > 64<<20) {
				c.errorf(path+".tcp."+b.field, "%v: want between 1KiB and 64MiB", b.v)
			}
		}
		for j, l := range h.Listen {
			lp := fmt.Sprintf("%s.listen[%d]", path, j)
			app := l.App
			if app == "" {
				app = AppSink
			}
			switch {
			case l.Port < 1 || l.Port > 65535:
				c.errorf(lp+".port", "%d: want a port from 1 to 65535", l.Port)
			case app != AppSink && app != AppHTTP:
				c.errorf(lp+".app", "%q: want sink or http", l.App)
			case n.listen[l.Port] != "":
				c.errorf(lp+".port", "%d: the host already listens on this port", l.Port)
			default:
				n.listen[l.Port] = app
			}
		}
		p.addNode(c, n)
	}
	for i := range p.s.Routers {
		r := &p.s.Routers[i]
		p.addNode(c, &pnode{name: r.Name, router: true, path: fmt.Sprintf("routers[%d]", i)})
	}
}

func knownCC(s string) bool { return slices.Contains(stack.CongestionControls(), s) }

func (p *plan) linksFrom(c *checker) {
	names := map[string]string{}
	addrs := map[netip.Addr]string{}
	for i := range p.s.Links {
		l := &p.s.Links[i]
		path := fmt.Sprintf("links[%d]", i)
		pl := &plink{name: l.Name, idx: i, path: path}
		if pl.name == "" {
			pl.name = l.A + "-" + l.B
		}
		if old, ok := names[pl.name]; ok {
			c.errorf(path+".name", "%q is already the name of %s (links without a name are called A-B)", pl.name, old)
		}
		names[pl.name] = path
		ok := true
		for e, ref := range []struct{ field, name string }{{"a", l.A}, {"b", l.B}} {
			n := p.byName[ref.name]
			switch {
			case ref.name == "":
				c.errorf(path+"."+ref.field, "missing: the name of a host or router")
				ok = false
			case n == nil:
				c.errorf(path+"."+ref.field, "%q: no host or router has this name%s", ref.name, p.knownNodes())
				ok = false
			}
			pl.ends[e] = n
		}
		if ok && pl.ends[0] == pl.ends[1] {
			c.errorf(path+".b", "%q: both ends of a link are the same node", l.B)
			ok = false
		}
		for e, a := range []struct{ field, s string }{{"a_address", l.AAddress}, {"b_address", l.BAddress}} {
			if a.s == "" {
				pl.addr[e] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(e + 1)}), 24)
				if i > 0xffff {
					c.errorf(path, "more than 65536 links: give addresses explicitly")
				}
			} else {
				pr, err := netip.ParsePrefix(a.s)
				if err != nil || !pr.Addr().Is4() {
					c.errorf(path+"."+a.field, "%q: want an IPv4 address with its prefix length, such as 10.1.0.1/24", a.s)
					continue
				}
				pr = netip.PrefixFrom(pr.Addr(), pr.Bits())
				if pr.Addr() == pr.Masked().Addr() && pr.Bits() < 31 {
					c.errorf(path+"."+a.field, "%v is the subnet's own address, not a host's", pr)
					continue
				}
				pl.addr[e] = pr
			}
			field := path + "." + a.field
			if old, dup := addrs[pl.addr[e].Addr()]; dup {
				c.errorf(field, "address %v is already used by %s", pl.addr[e].Addr(), old)
			}
			addrs[pl.addr[e].Addr()] = field
		}
		var dirs [2]Dir
		dirs[0], dirs[1] = l.Dir, l.Dir
		if l.AB != nil && l.BA != nil && !dirIsZero(l.Dir) {
			c.errorf(path, "both ab and ba are given, so the settings for both directions at the link's level are unused: move them into ab and ba")
		}
		if l.AB != nil {
			dirs[0] = *l.AB
		}
		if l.BA != nil {
			dirs[1] = *l.BA
		}
		for d := range 2 {
			dp := path
			if d == 0 && l.AB != nil {
				dp = path + ".ab"
			}
			if d == 1 && l.BA != nil {
				dp = path + ".ba"
			}
			pl.dir[d] = c.dirConfig(dp, dirs[d])
		}
		if !ok {
			continue
		}
		p.links = append(p.links, pl)
		for e := range 2 {
			n := pl.ends[e]
			pl.ifIdx[e] = len(n.ifaces)
			n.ifaces = append(n.ifaces, piface{link: pl, end: e, addr: pl.addr[e]})
		}
	}
	for _, n := range p.nodes {
		if len(n.ifaces) == 0 && !n.router {
			c.errorf(n.path+".name", "host %q has no link", n.name)
		}
	}
}

func (p *plan) knownNodes() string {
	if len(p.nodes) == 0 {
		return " (the scenario has no hosts or routers)"
	}
	names := make([]string, len(p.nodes))
	for i, n := range p.nodes {
		names[i] = n.name
	}
	if len(names) > 12 {
		names = append(names[:12], "…")
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}

func dirIsZero(d Dir) bool {
	return d.Rate == 0 && d.Delay == 0 && d.Jitter == 0 && d.Distribution == "" && d.Queue == 0 && d.QueueBytes == 0 && d.Qdisc == "" &&
		d.MTU == 0 && d.Loss == 0 && d.LossGE == nil && d.Duplicate == 0 && d.Corrupt == 0 && d.Reorder == 0 && d.Gap == 0 && d.ReorderDelay == nil
}

// dirConfig converts d, reporting bad settings under path.
func (c *checker) dirConfig(path string, d Dir) sim.DirConfig {
	dc := sim.DirConfig{
		Delay:        time.Duration(d.Delay),
		Jitter:       time.Duration(d.Jitter),
		Rate:         int64(d.Rate),
		QueuePackets: d.Queue,
		QueueBytes:   int(d.QueueBytes),
		MTU:          d.MTU,
	}
	switch d.Distribution {
	case "", "uniform":
	case "normal":
		dc.Distribution = sim.Normal
	case "pareto":
		dc.Distribution = sim.Pareto
	default:
		c.errorf(path+".distribution", "%q: want uniform, normal or pareto", d.Distribution)
	}
	if d.Queue < 0 {
		c.errorf(path+".queue", "%d: want a number of packets, 0 for no limit", d.Queue)
		dc.QueuePackets = 0
	}
	if d.Qdisc != "" {
		q, err := sim.ParseQdisc(d.Qdisc)
		switch {
		case err != nil:
			c.errorf(path+".qdisc", "%s", strings.TrimPrefix(err.Error(), sim.ErrInvalid.Error()+": "))
		case d.Queue != 0 || d.QueueBytes != 0:
			c.errorf(path+".qdisc", "%q with queue or queue_bytes: the discipline has its own limit (e.g. \"pfifo limit 100\", \"fq_codel limit 10240\")", d.Qdisc)
		default:
			dc.Qdisc = q
		}
	}
	if d.MTU != 0 && (d.MTU < sim.MinMTU || d.MTU > 65535) {
		c.errorf(path+".mtu", "%d: want %d to 65535 (0 means %d)", d.MTU, sim.MinMTU, sim.DefaultMTU)
		dc.MTU = 0
	}
	if d.Gap < 0 || (d.Gap > 0 && d.Reorder == 0) {
		c.errorf(path+".gap", "%d: gap needs reorder and is at least 1", d.Gap)
	}
	if d.Loss > 0 {
		dc.Faults = append(dc.Faults, sim.Loss{P: float64(d.Loss)})
	}
	if g := d.LossGE; g != nil {
		bad := Percent(1)
		if g.BadLoss != nil {
			bad = *g.BadLoss
		}
		dc.Faults = append(dc.Faults, sim.GilbertElliott{P: float64(g.P), R: float64(g.R), BadLoss: float64(bad), GoodLoss: float64(g.GoodLoss)})
	}
	if d.Duplicate > 0 {
		dc.Faults = append(dc.Faults, sim.Duplicate{P: float64(d.Duplicate)})
	}
	if d.Corrupt > 0 {
		dc.Faults = append(dc.Faults, sim.Corrupt{P: float64(d.Corrupt)})
	}
	if d.Reorder > 0 {
		dc.Faults = append(dc.Faults, sim.Reorder{P: float64(d.Reorder), Gap: max(d.Gap, 0)})
		if d.Delay == 0 {
			c.errorf(path+".reorder", "%v needs a non-zero delay: reordered packets skip the delay to overtake those in flight", d.Reorder)
		}
	}
	if r := d.ReorderDelay; r != nil {
		dc.Faults = append(dc.Faults, sim.ReorderDelay{P: float64(r.P), Delay: time.Duration(r.Delay)})
	}
	if err := dc.Validate(); err != nil && !errors.Is(err, sim.ErrReorderNeedsDelay) && len(c.errs) == 0 {
		c.errorf(path, "%v", strings.TrimPrefix(err.Error(), sim.ErrInvalid.Error()+": "))
	}
	return dc
}

// routesFrom fills every node's route table: static routes, then (unless
// routing is static) shortest paths.
func (p *plan) routesFrom(c *checker) {
	// Connected subnets, as AddInterface installs them.
	for _, n := range p.nodes {
		for i, f := range n.ifaces {
			n.addRoute(f.addr.Masked(), i)
			if i == 0 && !n.router {
				n.addRoute(netip.PrefixFrom(netip.IPv4Unspecified(), 0), 0)
			}
		}
	}
	for i, r := range p.s.Routes {
		path := fmt.Sprintf("routes[%d]", i)
		n := p.byName[r.Node]
		if n == nil {
			c.errorf(path+".node", "%q: no host or router has this name%s", r.Node, p.knownNodes())
			continue
		}
		iface := -1
		for j, f := range n.ifaces {
			if f.link.name == r.Via || f.link.ends[f.end^1].name == r.Via {
				iface = j
				break
			}
		}
		if iface < 0 {
			c.errorf(path+".via", "%q: neither a neighbour of %s nor one of its links", r.Via, r.Node)
			continue
		}
		var dsts []netip.Prefix
		if pr, err := netip.ParsePrefix(r.To); err == nil && pr.Addr().Is4() {
			dsts = append(dsts, pr.Masked())
		} else if a, err := netip.ParseAddr(r.To); err == nil && a.Is4() {
			dsts = append(dsts, netip.PrefixFrom(a, 32))
		} else if h := p.byName[r.To]; h != nil && !h.router {
			for _, f := range h.ifaces {
				dsts = append(dsts, netip.PrefixFrom(f.addr.Addr(), 32))
			}
		} else {
			c.errorf(path+".to", "%q: want a prefix such as 10.0.3.0/24, an address or a host's name", r.To)
			continue
		}
		for _, d := range dsts {
			n.addRoute(d, iface)
		}
	}
	if p.s.Routing == "static" {
		return
	}
	// Shortest paths: a breadth-first search from each host, through
	// routers only (hosts do not forward), in link order.
	for _, d := range p.nodes {
		if d.router {
			continue
		}
		next := map[*pnode]int{d: -1} // node → interface toward d
		queue := []*pnode{d}
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			if n != d && !n.router {
				continue
			}
			for _, f := range n.ifaces {
				m := f.link.ends[f.end^1]
				if _, seen := next[m]; seen {
					continue
				}
				next[m] = f.link.ifIdx[f.end^1]
				queue = append(queue, m)
			}
		}
		for _, n := range p.nodes {
			iface, ok := next[n]
			if !ok || n == d {
				continue
			}
			for _, f := range d.ifaces {
				if cur, ok := n.lookup(f.addr.Addr()); !ok || cur != iface {
					n.addRoute(netip.PrefixFrom(f.addr.Addr(), 32), iface)
				}
			}
		}
	}
}

// addRoute adds a route as the node will: a host replaces a route to the
// same prefix, a router keeps the first.
func (n *pnode) addRoute(dst netip.Prefix, iface int) {
	if !n.router {
		for i := range n.routes {
			if n.routes[i].dst == dst {
				n.routes[i].iface = iface
				return
			}
		}
	}
	n.routes = append(n.routes, proute{dst, iface})
}

// lookup is the longest-prefix match both stack.Host and sim.Router do
// (equal prefixes: the first added).
func (n *pnode) lookup(a netip.Addr) (int, bool) {
	best, bits := -1, -1
	for _, r := range n.routes {
		if r.dst.Bits() > bits && r.dst.Contains(a) {
			best, bits = r.iface, r.dst.Bits()
		}
	}
	return best, best >= 0
}

func (p *plan) flowsFrom(c *checker) {
	for i := range p.s.Flows {
		f := &p.s.Flows[i]
		path := fmt.Sprintf("flows[%d]", i)
		src, dst := p.byName[f.From], p.byName[f.To]
		bad := false
		for _, ref := range []struct {
			field, name string
			n           *pnode
		}{{"from", f.From, src}, {"to", f.To, dst}} {
			switch {
			case ref.name == "":
				c.errorf(path+"."+ref.field, "missing: the name of a host")
				bad = true
			case ref.n == nil:
				c.errorf(path+"."+ref.field, "%q: no host has this name%s", ref.name, p.knownNodes())
				bad = true
			case ref.n.router:
				c.errorf(path+"."+ref.field, "%q is a router: flows run between hosts", ref.name)
				bad = true
			}
		}
		if !bad && src == dst {
			c.errorf(path+".to", "%q: a flow needs two different hosts", f.To)
			bad = true
		}
		app := f.App
		if app == "" {
			app = AppBulk
		}
		switch app {
		case AppBulk, AppHTTPGet, AppRequestResponse, AppOnOff:
		default:
			c.errorf(path+".app", "%q: want bulk, http_get, request_response or on_off", f.App)
			bad = true
		}
		switch {
		case f.Port < 1 || f.Port > 65535:
			c.errorf(path+".port", "%d: want a port from 1 to 65535", f.Port)
			bad = true
		case !bad:
			want := map[string]string{AppBulk: AppSink, AppHTTPGet: AppHTTP, AppRequestResponse: AppHTTP, AppOnOff: AppSink}[app]
			switch got := dst.listen[f.Port]; {
			case got == "":
				c.errorf(path+".port", "%d: host %s does not listen on it (add {port: %d, app: %s} to its listen list)", f.Port, f.To, f.Port, want)
				bad = true
			case got != want:
				field := path + ".app"
				if f.App == "" {
					field = path + ".port"
				}
				c.errorf(field, "%s: host %s's port %d serves %s; a flow of app %s needs %s", app, f.To, f.Port, got, app, want)
				bad = true
			}
		}
		c.appFields(path, app, f)
		if f.Start < 0 {
			c.errorf(path+".start", "%v: must not be negative", f.Start)
		}
		if f.Count < 0 {
			c.errorf(path+".count", "%d: want at least 1", f.Count)
		}
		if f.CC != "" && !knownCC(f.CC) {
			c.errorf(path+".cc", "%q: want %s", f.CC, strings.Join(stack.CongestionControls(), " or "))
			bad = true
		}
		if !bad && f.CC != "" && stack.CongestionControlRequiresECN(f.CC) {
			src.needsECN = true
		}
		if f.Profile != "" && !slices.Contains(stack.Profiles(), f.Profile) {
			c.errorf(path+".profile", "%q: want %s", f.Profile, strings.Join(stack.Profiles(), " or "))
			bad = true
		}
		if !bad && f.Profile != "" {
			switch {
			case src.profile == "":
				src.profile, src.profileFrom = f.Profile, path+".profile"
			case src.profile != f.Profile:
				c.errorf(path+".profile", "%s, but host %s has profile %s (%s): a profile is a host's, so give each profile its own client host",
					f.Profile, f.From, src.profile, src.profileFrom)
			}
		}
		if !bad && f.ECN != Default {
			switch {
			case src.ecn == Default:
				src.ecn, src.ecnFrom = f.ECN, path+".ecn"
			case src.ecn != f.ECN:
				c.errorf(path+".ecn", "%v, but host %s's ECN is %v (%s): ECN is a host's setting, so flows from one host agree",
					f.ECN, f.From, src.ecn, src.ecnFrom)
			}
			if f.ECN == On {
				dst.ecnAccept = true
			}
		}
		starts := c.arrivals(path, f, p.seed, fmt.Sprintf("flow%d", i+1))
		if bad {
			continue
		}
		name := f.Name
		if name == "" {
			name = fmt.Sprintf("flow%d", i+1)
		}
		if len(dst.ifaces) == 0 || len(src.ifaces) == 0 {
			continue // reported: a host with no link
		}
		for j, st := range starts {
			pf := &pflow{index: len(p.flows) + 1, name: name, spec: f, path: path, src: src, dst: dst, daddr: dst.ifaces[0].addr.Addr(), start: st}
			if len(starts) > 1 {
				pf.name = fmt.Sprintf("%s#%d", name, j+1)
			}
			p.flows = append(p.flows, pf)
		}
	}
	for _, n := range p.nodes {
		if !n.router {
			p.hostTCP(c, n)
		}
	}
	for _, f := range p.flows {
		f.cc = f.spec.CC
		if f.cc == "" {
			f.cc = f.src.tcp.CongestionControl
		}
		if f.cc == "" {
			f.cc = stack.CCNewReno
		}
	}
}

// hostTCP makes host n's TCPConfig: its profile (none: the zero config),
// then the fields the file sets, then the ECN its flows need.
func (p *plan) hostTCP(c *checker, n *pnode) {
	var base stack.TCPConfig
	if n.profile != "" {
		var err error
		if base, err = stack.Profile(n.profile); err != nil {
			return // reported
		}
	}
	set := n.tcp
	if set.SendBuffer != 0 {
		base.SendBuffer = set.SendBuffer
	}
	if set.RecvBuffer != 0 {
		base.RecvBuffer = set.RecvBuffer
	}
	base.NoDelay = base.NoDelay || set.NoDelay
	if set.CongestionControl != "" {
		base.CongestionControl = set.CongestionControl
	}
	base.DisableTimestamps = base.DisableTimestamps || set.DisableTimestamps
	if set.DelayedAck != 0 {
		base.DelayedAck = set.DelayedAck
	}
	switch n.ecn {
	case On:
		base.ECN = stack.ECNOn
	case Off:
		base.ECN = stack.ECNOff
		switch {
		case n.needsECN:
			c.errorf(n.ecnFrom, "off, but host %s runs an algorithm that needs ECN (dctcp): drop ecn: off", n.name)
		case n.ecnAccept:
			c.errorf(n.ecnFrom, "off, but a flow to host %s asks for ECN (ecn: on)", n.name)
		}
	default:
		if (n.needsECN || n.ecnAccept) && base.ECN == stack.ECNOff {
			base.ECN = stack.ECNPassive
		}
	}
	n.tcp = base
}

// appFields checks the fields that belong to the flow's application.
func (c *checker) appFields(path, app string, f *Flow) {
	timed := app == AppBulk || app == AppOnOff
	switch {
	case f.Duration < 0:
		c.errorf(path+".duration", "%v: must not be negative", f.Duration)
	case f.Duration > 0 && !timed:
		c.errorf(path+".duration", "applies to bulk and on_off; %s asks for size bytes", app)
	case f.Duration > 0 && f.Size > 0:
		c.errorf(path+".duration", "and size are exclusive: send for a time or a number of bytes")
	case f.Size <= 0 && f.Duration == 0 && timed:
		c.errorf(path+".size", "missing or zero: the bytes to send, such as 10MB (or a duration, such as 10s)")
	case f.Size <= 0 && f.Duration == 0:
		c.errorf(path+".size", "missing or zero: the bytes to fetch (%s), such as 10MB", app)
	}
	if app != AppRequestResponse {
		if f.Requests != 0 {
			c.errorf(path+".requests", "applies to request_response")
		}
		if f.Think != 0 {
			c.errorf(path+".think", "applies to request_response")
		}
	} else {
		if f.Requests < 0 || f.Requests > 1<<20 {
			c.errorf(path+".requests", "%d: want 1 to %d (0 means 1)", f.Requests, 1<<20)
		}
		if f.Think < 0 {
			c.errorf(path+".think", "%v: must not be negative", f.Think)
		}
	}
	if app != AppOnOff {
		if f.On != 0 {
			c.errorf(path+".on", "applies to on_off")
		}
		if f.Off != 0 {
			c.errorf(path+".off", "applies to on_off")
		}
	} else {
		if f.On <= 0 {
			c.errorf(path+".on", "missing or zero: how long each sending period lasts, such as 200ms")
		}
		if f.Off <= 0 {
			c.errorf(path+".off", "missing or zero: how long each silence lasts, such as 800ms")
		}
	}
}

// arrivals returns the start times of a flow's Count connections.
func (c *checker) arrivals(path string, f *Flow, seed uint64, name string) []time.Duration {
	n := max(f.Count, 1)
	if n > 1<<20 {
		c.errorf(path+".count", "%d: at most %d", f.Count, 1<<20)
		return nil
	}
	out := make([]time.Duration, n)
	start := time.Duration(f.Start)
	a := f.Arrival
	if a == nil {
		for i := range out {
			out[i] = start
		}
		return out
	}
	if a.Over < 0 || a.MeanGap < 0 {
		c.errorf(path+".arrival", "over and mean_gap must not be negative")
		return nil
	}
	switch a.Process {
	case "fixed":
		if a.MeanGap != 0 {
			c.errorf(path+".arrival.mean_gap", "belongs to process poisson; fixed spreads the flows evenly over `over`")
		}
		for i := range out {
			out[i] = start + time.Duration(int64(a.Over)*int64(i)/int64(n))
		}
	case "poisson":
		if a.MeanGap <= 0 {
			c.errorf(path+".arrival.mean_gap", "missing: the mean time between two starts, such as 100ms")
			return nil
		}
		if a.Over != 0 {
			c.errorf(path+".arrival.over", "belongs to process fixed; poisson draws gaps of mean mean_gap")
		}
		s := a.Seed
		if s == 0 {
			s = mixSeed(seed, name)
		}
		r := rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))
		t := float64(start)
		for i := range out {
			t += float64(r.ExpFloat64() * float64(a.MeanGap))
			if t > float64(math.MaxInt64/2) {
				c.errorf(path+".arrival.mean_gap", "%v: the starts overflow", a.MeanGap)
				return nil
			}
			out[i] = time.Duration(t)
		}
	default:
		c.errorf(path+".arrival.process", "%q: want fixed or poisson", a.Process)
		return nil
	}
	return out
}

// mixSeed derives a seed from the scenario's and a name (FNV-1a, then
// splitmix64).
func mixSeed(seed uint64, name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	x := seed ^ h + 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (p *plan) link(name string) *plink {
	for _, l := range p.links {
		if l.name == name {
			return l
		}
	}
	return nil
}

func (p *plan) linkNames() string {
	names := make([]string, 0, len(p.links))
	for _, l := range p.links {
		names = append(names, l.name)
	}
	if len(names) > 12 {
		names = append(names[:12], "…")
	}
	return " (links: " + strings.Join(names, ", ") + ")"
}

func (p *plan) eventsFrom(c *checker) {
	order := make([]int, len(p.s.Events))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p.s.Events[a].At, p.s.Events[b].At) })
	down := map[*plink]time.Duration{}
	var parts [][]*plink // cuts of the partitions in force
	var partAt []time.Duration
	crashed := map[*pnode]bool{}
	crashAt := map[*pnode]time.Duration{}
	for _, i := range order {
		e := &p.s.Events[i]
		path := fmt.Sprintf("events[%d]", i)
		at := time.Duration(e.At)
		if at < 0 {
			c.errorf(path+".at", "%v: must not be negative", at)
			continue
		}
		n := 0
		for _, set := range []bool{e.LinkDown != "", e.LinkUp != "", e.Partition != nil, e.Heal, e.Set != nil, e.Crash != "", e.Restart != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			c.errorf(path, "want exactly one of link_down, link_up, partition, heal, set, crash, restart (got %d)", n)
			continue
		}
		switch {
		case e.LinkDown != "" || e.LinkUp != "":
			name, field := e.LinkDown, "link_down"
			if e.LinkUp != "" {
				name, field = e.LinkUp, "link_up"
			}
			l := p.link(name)
			if l == nil {
				c.errorf(path+"."+field, "%q: no link has this name%s", name, p.linkNames())
				continue
			}
			t0, isDown := down[l]
			switch {
			case field == "link_down" && isDown:
				c.errorf(path+".link_down", "%q is already down (since %v)", name, t0)
			case field == "link_down":
				down[l] = at
			case !isDown:
				c.errorf(path+".link_up", "%q is not down at %v", name, at)
			default:
				l.cuts = append(l.cuts, window{t0, at})
				delete(down, l)
			}
		case e.Partition != nil:
			in := map[*pnode]bool{}
			for j, name := range e.Partition {
				nd := p.byName[name]
				if nd == nil {
					c.errorf(fmt.Sprintf("%s.partition[%d]", path, j), "%q: no host or router has this name%s", name, p.knownNodes())
					continue
				}
				in[nd] = true
			}
			var cut []*plink
			for _, l := range p.links {
				if in[l.ends[0]] != in[l.ends[1]] {
					cut = append(cut, l)
				}
			}
			if len(cut) == 0 && len(c.errs) == 0 {
				c.errorf(path+".partition", "cuts no link: list the nodes on one side (not all of them)")
			}
			parts = append(parts, cut)
			partAt = append(partAt, at)
		case e.Heal:
			if len(parts) == 0 {
				c.errorf(path+".heal", "no partition is in force at %v", at)
				continue
			}
			for k, cut := range parts {
				for _, l := range cut {
					l.cuts = append(l.cuts, window{partAt[k], at})
				}
			}
			parts, partAt = nil, nil
		case e.Set != nil:
			s := e.Set
			l := p.link(s.Link)
			if l == nil {
				c.errorf(path+".set.link", "%q: no link has this name%s", s.Link, p.linkNames())
				continue
			}
			switch s.Dir {
			case "", "both", "ab", "ba":
			default:
				c.errorf(path+".set.dir", "%q: want ab, ba or both", s.Dir)
				continue
			}
			if s.Rate == nil && s.Delay == nil {
				c.errorf(path+".set", "want rate or delay (or both)")
				continue
			}
			if s.Rate != nil && *s.Rate < 0 {
				c.errorf(path+".set.rate", "%d: must not be negative", int64(*s.Rate))
				continue
			}
			if s.Delay != nil && *s.Delay < 0 {
				c.errorf(path+".set.delay", "%v: must not be negative", *s.Delay)
				continue
			}
			if s.Delay != nil && *s.Delay == 0 {
				for d := range 2 {
					for _, f := range l.dir[d].Faults {
						if r, ok := f.(sim.Reorder); ok && r.P > 0 && (s.Dir == "" || s.Dir == "both" || s.Dir == [2]string{"ab", "ba"}[d]) {
							c.errorf(path+".set.delay", "0 on a direction with reorder, which needs a delay")
						}
					}
				}
			}
			p.events = append(p.events, pevent{at: at, path: path, set: s, link: l, action: "set"})
		case e.Crash != "":
			h := p.byName[e.Crash]
			switch {
			case h == nil:
				c.errorf(path+".crash", "%q: no host has this name%s", e.Crash, p.knownNodes())
				continue
			case h.router:
				c.errorf(path+".crash", "%q is a router; crash stops a host (cut a router's links with partition)", e.Crash)
				continue
			case crashed[h]:
				c.errorf(path+".crash", "%q has already crashed", e.Crash)
				continue
			}
			crashed[h], crashAt[h] = true, at
			p.events = append(p.events, pevent{at: at, path: path, crash: h, action: "crash"})
		case e.Restart != "":
			h := p.byName[e.Restart]
			switch {
			case h == nil:
				c.errorf(path+".restart", "%q: no host has this name%s", e.Restart, p.knownNodes())
				continue
			case h.router:
				c.errorf(path+".restart", "%q is a router; only hosts crash and restart", e.Restart)
				continue
			case !crashed[h]:
				c.errorf(path+".restart", "%q is not crashed at %v: a restart follows a crash of the host", e.Restart, at)
				continue
			}
			for _, f := range h.ifaces {
				f.link.crash = append(f.link.crash, crashCut{at: crashAt[h], until: at, addr: f.addr.Addr()})
			}
			delete(crashed, h)
			h.restarts = true
			p.events = append(p.events, pevent{at: at, path: path, crash: h, action: "restart"})
		}
	}
	forever := time.Duration(math.MaxInt64)
	for _, h := range p.nodes {
		if crashed[h] {
			for _, f := range h.ifaces {
				f.link.crash = append(f.link.crash, crashCut{at: crashAt[h], until: forever, addr: f.addr.Addr()})
			}
		}
	}
	for l, t0 := range down {
		l.cuts = append(l.cuts, window{t0, forever})
	}
	for k, cut := range parts {
		for _, l := range cut {
			l.cuts = append(l.cuts, window{partAt[k], forever})
		}
	}
	for _, l := range p.links {
		slices.SortFunc(l.cuts, func(a, b window) int { return cmp.Compare(a.from, b.from) })
	}
}

// checkPaths walks every flow's packets hop by hop through the route
// tables, both ways, before anything runs.
func (p *plan) checkPaths(c *checker) {
	type pair struct{ a, b *pnode }
	seen := map[pair]bool{}
	for _, f := range p.flows {
		k := pair{f.src, f.dst}
		if seen[k] {
			continue
		}
		seen[k] = true
		iface, ok := f.src.lookup(f.daddr)
		if !ok {
			c.errorf(f.path+".to", "no route from %s to %s (%v)", f.src.name, f.dst.name, f.daddr)
			continue
		}
		saddr := f.src.ifaces[iface].addr.Addr()
		if msg := p.walk(f.src, f.dst, f.daddr); msg != "" {
			c.errorf(f.path+".to", "no route from %s to %s (%v): %s", f.src.name, f.dst.name, f.daddr, msg)
			continue
		}
		if msg := p.walk(f.dst, f.src, saddr); msg != "" {
			c.errorf(f.path+".to", "no route back from %s to %s (%v): %s", f.dst.name, f.src.name, saddr, msg)
		}
	}
}

// walk follows the routes from n toward address a of host dst; it returns
// "" when the packet arrives, otherwise where it is lost.
func (p *plan) walk(n, dst *pnode, a netip.Addr) string {
	hops := []string{n.name}
	for ttl := 64; ttl > 0; ttl-- {
		iface, ok := n.lookup(a)
		if !ok {
			return fmt.Sprintf("%s has no route to %v (path %s)", n.name, a, strings.Join(hops, " → "))
		}
		f := n.ifaces[iface]
		m := f.link.ends[f.end^1]
		hops = append(hops, m.name)
		if m == dst {
			return ""
		}
		if !m.router {
			return fmt.Sprintf("packets reach host %s, which does not forward (path %s)", m.name, strings.Join(hops, " → "))
		}
		n = m
	}
	return fmt.Sprintf("a routing loop (path %s)", strings.Join(hops[:min(len(hops), 8)], " → "))
}
