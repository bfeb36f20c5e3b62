package main

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	rpt "github.com/tcpsim/tcpsim/report"
	"github.com/tcpsim/tcpsim/scenario"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// Addresses of the two simulated hosts.
var (
	clientPrefix = netip.MustParsePrefix("10.0.0.1/24")
	serverPrefix = netip.MustParsePrefix("10.0.0.2/24")
)

const (
	clientName = "client"
	serverName = "server"
	linkName   = "wire"
	routerName = "router"
)

// With transfer --clients N > 1 the clients are hosts client1 … clientN,
// each on a link of its own (access1 …, no delay, no rate limit) to a
// router, which takes the client's place at end 0 of the wire: a star
// whose bottleneck is the wire the link flags describe. Client k has
// address 10.x.y.1/24 with x.y = 1 + (k−1), the router .254 on that subnet.
func clientHostPrefix(k int) netip.Prefix {
	i := 256 + k - 1
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1}), 24)
}

// maxClients bounds --clients: the star's addresses (10.1.0.0 to
// 10.255.255.0) and a router whose interfaces are a list.
const maxClients = 10000

// network is the simulated world of one run: two hosts joined by one link.
type network struct {
	w              *sim.World
	client, server *stack.Host
	cnet, snet     *sim.Net
	link           *sim.Link
	an             *analyzer
	// flowCC is transfer --cc with a list: each flow's algorithm by the
	// client end of its connection, recorded as the client connects, so
	// that the server's end, when it accepts, and the flow's row take it.
	flowCC map[netip.AddrPort]string

	// clients are the client hosts (transfer --clients; otherwise just
	// client), cnets their socket APIs, router the star's router or nil.
	clients []*stack.Host
	cnets   []*sim.Net
	router  *sim.Router
	// servers are the server hosts (a dumbbell's server1 …; otherwise
	// just server), dial the address flow i dials (dial[i mod N]), links
	// every link of the topology, ends the link of the client's and of the
	// server's end (--pcap HOST=FILE), clientAddr and serverAddr the
	// first client's and server's addresses.
	servers                []*stack.Host
	dial                   []string
	links                  []*sim.Link
	ends                   [2]*sim.Link
	clientAddr, serverAddr netip.Addr
	capture                *sim.Capture
	pcapFile               *os.File

	// loop drives the world when set (get's single URL, getloop.go): the
	// application runs in goroutines, and mu guards what they share with
	// the scheduler (conns, the report's socket calls). endAt, once the
	// run is over (settled or --timeout), is the virtual time it ended.
	loop  *sim.Loop
	mu    sync.Mutex
	ended bool
	endAt time.Duration

	conns   []*stack.Conn // the connections opened and maybe not finished, to wait for their close
	pruneAt int           // len(conns) at which addConn drops finished ones
	tasks   int           // application tasks still running
	bidir   bool          // transfer --bidir: clients read while they write

	rep *rpt.Recorder // --report (report.go), or nil

	series   *rpt.Series // --series (series.go), or nil
	ivSeries *rpt.Series // -i's interval lines, or nil

	captures []openCapture  // --pcap HOST=FILE and --pcapng (capture.go)
	ng       *sim.NgCapture // --pcapng, fed the events, or nil
}

// track remembers c so that the run ends only after it has closed.
func (n *network) track(c net.Conn) {
	if sc, ok := c.(*sim.Conn); ok {
		if n.loop != nil {
			// From a goroutine: no stack state may be read here, so
			// the list is not pruned (a single GET has one connection).
			n.mu.Lock()
			n.conns = append(n.conns, sc.Stack())
			n.mu.Unlock()
			return
		}
		n.addConn(sc.Stack())
	}
}

// now is the virtual time for application code: the world's clock on the
// task driver; with a loop, the loop's (safe from any goroutine) until the
// run is over, then the time it ended.
func (n *network) now() time.Duration {
	if n.loop == nil {
		return n.w.Now()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ended {
		return n.endAt
	}
	return n.loop.Now()
}

// end records, in scheduler context, that the run is over at t.
func (n *network) end(t time.Duration) {
	n.mu.Lock()
	n.ended, n.endAt = true, t
	n.mu.Unlock()
}

// addConn remembers c for settled. Connections already CLOSED or in
// TIME_WAIT never count again, so that whenever the list has doubled since
// it was last pruned they are dropped from it: a finished flow's connection
// is not kept to the end of the run, and the pruning costs constant time
// per connection.
func (n *network) addConn(c *stack.Conn) {
	n.conns = append(n.conns, c)
	if len(n.conns) < n.pruneAt {
		return
	}
	live := n.conns[:0]
	for _, c := range n.conns {
		if st := c.State(); st != stack.StateClosed && st != stack.StateTimeWait {
			live = append(live, c)
		}
	}
	clear(n.conns[len(live):])
	n.conns = live
	n.pruneAt = max(64, 2*len(live))
}

// spawn runs fn as an application task. When the last one returns, a
// final task waits until every connection is CLOSED or in TIME_WAIT (the
// last FIN acknowledged), checking every millisecond of virtual time, and
// stops the world without waiting for TIME_WAIT to expire.
func (n *network) spawn(name string, fn func(*sim.Task)) {
	n.tasks++
	n.w.Spawn(name, func(t *sim.Task) {
		defer func() {
			if n.tasks--; n.tasks == 0 {
				n.w.Spawn("settle", func(t *sim.Task) {
					for !n.settled() {
						t.Sleep(time.Millisecond)
					}
					n.w.Stop()
				})
			}
		}()
		fn(t)
	})
}

func (n *network) settled() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns {
		if st := c.State(); st != stack.StateClosed && st != stack.StateTimeWait {
			return false
		}
	}
	return true
}

// dirConfig is each direction of the link the flags describe.
func (o *options) dirConfig() sim.DirConfig {
	d := sim.DirConfig{
		Delay:        time.Duration(o.delay),
		Jitter:       time.Duration(o.jitter),
		Rate:         int64(o.rate),
		QueuePackets: o.queue.V,
		MTU:          o.mtu.V,
		Faults:       o.faults(),
	}
	if o.qdisc.Q != nil {
		// The discipline has its own limit (--queue is refused with it).
		d.QueuePackets, d.Qdisc = 0, o.qdisc.Q
	}
	return d
}

// faults turns the fault flags into the link's fault list, in netem's
// order: loss, duplicate, corrupt, reorder.
func (o *options) faults() []sim.Fault { return o.faultsWith(float64(o.loss)) }

// faultsWith is faults with loss in place of --loss (--up-loss, --down-loss).
func (o *options) faultsWith(loss float64) []sim.Fault {
	var fs []sim.Fault
	if loss > 0 {
		fs = append(fs, sim.Loss{P: loss})
	}
	if o.lossGE.Given {
		fs = append(fs, sim.GilbertElliott{P: o.lossGE.P, R: o.lossGE.R, BadLoss: o.lossGE.LossBad, GoodLoss: o.lossGE.LossGood})
	}
	if o.duplicate > 0 {
		fs = append(fs, sim.Duplicate{P: float64(o.duplicate)})
	}
	if o.corrupt > 0 {
		fs = append(fs, sim.Corrupt{P: float64(o.corrupt)})
	}
	if o.reorder > 0 {
		fs = append(fs, sim.Reorder{P: float64(o.reorder), Gap: o.gap.V})
	}
	return fs
}

// linkConfig is the link (or a topology's bottleneck) the flags describe:
// AB is up, client to server.
func (o *options) linkConfig() sim.LinkConfig {
	d := o.dirConfigs()
	return sim.LinkConfig{Name: linkName, AB: d[0], BA: d[1]}
}

// newNetwork builds the world. verbose, when non-nil, receives a line for
// every packet event as it happens.
func newNetwork(o *options, verbose io.Writer, prog *progress) (*network, error) {
	n := &network{an: newAnalyzer(verbose)}
	n.an.anatomy = o.hex
	n.an.absolute = o.absSeq
	if o.ladder != "" {
		n.an.ladder = newLadder(o.ladderMax.V)
	}
	q := o.quickScenario()
	onEvent := n.an.event
	if len(q.routers) > 0 {
		// A packet a router forwards is sent again (by a client and
		// by the router) and delivered again: the flows count the ends'
		// copies, as the scenario runner does; the routers' drops stay.
		onEvent = func(e *sim.Event) {
			if !q.routers[e.Node] || e.Verdict != sim.Sent && e.Verdict != sim.Delivered {
				n.an.event(e)
			}
		}
	}
	if progress := prog.hook(n.an); progress != nil {
		first := onEvent
		onEvent = func(e *sim.Event) { first(e); progress(e) }
	}
	if rep := n.reportHook(o); rep != nil {
		first := onEvent
		onEvent = func(e *sim.Event) { first(e); rep(e) }
	}
	if ser := n.seriesHooks(o); ser != nil {
		first := onEvent
		onEvent = func(e *sim.Event) { first(e); ser(e) }
	}
	if o.pcapng != "" {
		first := onEvent
		onEvent = func(e *sim.Event) {
			first(e)
			if n.ng != nil && !n.an.Stopped() {
				n.ng.Event(e)
			}
		}
	}
	n.w = sim.New(sim.Config{
		Seed:      uint64(o.seed),
		TimeLimit: time.Duration(o.timeout),
		// The analyzer reads every event as it happens; nothing is kept.
		StreamOnly: true,
		OnEvent:    onEvent,
	})
	// The profile first (--profile, linux by default), then the flags.
	tcp, err := stack.Profile(o.profile.String())
	if err != nil {
		return nil, err
	}
	tcp.SendBuffer, tcp.RecvBuffer, tcp.NoDelay = int(o.sndbuf), int(o.rcvbuf), o.nodelay
	if o.cc != "" {
		tcp.CongestionControl = string(o.cc)
	}
	o.pace.apply(&tcp)
	tcp.DisableTimestamps = !bool(o.timestamps) // --timestamps off (issue 10, item 2)
	if o.ecnGiven {
		tcp.ECN = stack.ECNOff
		if o.ecn {
			tcp.ECN = stack.ECNOn
		}
	}
	if !o.delayedAck {
		tcp.DelayedAck = -1
	}
	ctcp := tcp
	ctcp.EphemeralPorts = o.demo.ports.r // --ports (repeat.go, get only); zero: the stack's default
	// The interfaces' MTU sets the MSS each host announces (MTU − 40);
	// --mss lowers it below the link's MTU.
	ifMTU := o.mtu.V
	if o.mss.V > 0 {
		ifMTU = o.mss.V + 40
	}
	clientHost := map[string]bool{}
	for _, c := range q.clients {
		clientHost[c] = true
	}
	built, err := scenario.Build(n.w, q.s, scenario.BuildOptions{
		HostMTU: ifMTU,
		TCP: func(host string, _ stack.TCPConfig) stack.TCPConfig {
			if clientHost[host] && len(q.clients) == 1 {
				return ctcp
			}
			return tcp
		},
	})
	if err != nil {
		return nil, fmt.Errorf("building the network: %v", err)
	}
	n.links = built.Links
	for i, l := range q.s.Links {
		switch l.Name {
		case q.bottleneck:
			n.link = built.Links[i]
		}
		for e, name := range q.endLinks {
			if l.Name == name {
				n.ends[e] = built.Links[i]
			}
		}
	}
	n.router = built.Routers[routerName]
	for _, c := range q.clients {
		h := built.Hosts[c]
		n.clients = append(n.clients, h)
		n.cnets = append(n.cnets, sim.NewTaskNet(n.w, h))
	}
	for _, name := range q.servers {
		n.servers = append(n.servers, built.Hosts[name])
		n.dial = append(n.dial, fmt.Sprintf("%s:%d", name, transferPort))
	}
	if len(n.servers) == 1 {
		n.dial = []string{fmt.Sprintf("server.example:%d", transferPort)}
	}
	n.client, n.server = n.clients[0], n.servers[0]
	n.clientAddr = n.client.Addrs()[0].Addr()
	n.serverAddr = n.server.Addrs()[0].Addr()
	n.cnet = n.cnets[0]
	n.snet = sim.NewTaskNet(n.w, n.server)
	if o.pcap != "" {
		f, err := os.Create(o.pcap)
		if err != nil {
			return nil, fmt.Errorf("--pcap: %v", err)
		}
		n.pcapFile = f
		if n.capture, err = n.w.Capture(n.link.End(0), f); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := n.openCaptures(o); err != nil {
		return nil, err
	}
	return n, nil
}

// close ends the application tasks still parked in the simulator (a run
// that hit --timeout leaves them waiting) so that their goroutines exit.
// What their deferred clean-up sends is not part of the run: the analyzer
// stops listening first.
func (n *network) close() {
	n.an.Stop()
	n.w.Close()
}

// finish closes the capture files.
func (n *network) finish() error {
	if err := n.closeCaptures(); err != nil {
		return err
	}
	if n.capture == nil {
		return nil
	}
	err := n.capture.Close()
	if cerr := n.capture.Err(); err == nil {
		err = cerr
	}
	if cerr := n.pcapFile.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--pcap %s: %v", n.pcapFile.Name(), err)
	}
	return nil
}
