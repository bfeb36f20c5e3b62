package simnet

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// Link is what one host's access link does to the packets the host sends.
// The zero Link is an ideal wire: no delay, unlimited rate, no loss. A
// packet from host A to host B crosses A's link, so A's Link sets the A→B
// direction and B's Link the B→A direction.
type Link struct {
	// Delay is the one-way propagation delay; Jitter a uniform random
	// spread added to it (packets stay in order).
	Delay, Jitter time.Duration
	// Rate is the bit rate in bits per second; zero is unlimited.
	Rate int64
	// Queue is how many packets may wait for the transmitter before
	// further ones are dropped; zero is no limit.
	Queue int
	// Loss, Reorder and Duplicate are per-packet probabilities in [0, 1].
	// A reordered packet skips the delay and overtakes those in flight, so
	// Reorder needs a non-zero Delay.
	Loss, Reorder, Duplicate float64
	// MTU is the largest packet carried; zero means 1500.
	MTU int
}

func (l Link) dirConfig(ctl sim.Fault) sim.DirConfig {
	d := sim.DirConfig{Delay: l.Delay, Jitter: l.Jitter, Rate: l.Rate, QueuePackets: l.Queue, MTU: l.MTU}
	if ctl != nil {
		d.Faults = append(d.Faults, ctl)
	}
	if l.Loss > 0 {
		d.Faults = append(d.Faults, sim.Loss{P: l.Loss})
	}
	if l.Reorder > 0 {
		d.Faults = append(d.Faults, sim.Reorder{P: l.Reorder})
	}
	if l.Duplicate > 0 {
		d.Faults = append(d.Faults, sim.Duplicate{P: l.Duplicate})
	}
	return d
}

// Validate reports a setting out of range, naming the field and saying what
// it accepts.
func (l Link) Validate() error {
	prob := func(name string, p float64) error {
		if math.IsNaN(p) || p < 0 || p > 1 {
			return fmt.Errorf("simnet: Link.%s = %v: a probability must be in [0, 1] (0.05 is 5 %%)", name, p)
		}
		return nil
	}
	switch {
	case l.Delay < 0:
		return fmt.Errorf("simnet: Link.Delay = %v: must not be negative", l.Delay)
	case l.Jitter < 0:
		return fmt.Errorf("simnet: Link.Jitter = %v: must not be negative", l.Jitter)
	case l.Rate < 0:
		return fmt.Errorf("simnet: Link.Rate = %d: bits per second, must not be negative (0 is unlimited)", l.Rate)
	case l.Queue < 0:
		return fmt.Errorf("simnet: Link.Queue = %d: must not be negative (0 is no limit)", l.Queue)
	case l.MTU != 0 && (l.MTU < 576 || l.MTU > 65535):
		return fmt.Errorf("simnet: Link.MTU = %d: use 0 (1500) or a value in [576, 65535]", l.MTU)
	}
	for _, e := range []error{prob("Loss", l.Loss), prob("Reorder", l.Reorder), prob("Duplicate", l.Duplicate)} {
		if e != nil {
			return e
		}
	}
	if l.Reorder > 0 && l.Delay == 0 {
		return fmt.Errorf("simnet: Link.Reorder = %v needs a non-zero Link.Delay: a reordered packet overtakes the packets in flight, and with no delay none are", l.Reorder)
	}
	return nil
}

// Driver selects how the simulated sockets are driven.
type Driver uint8

const (
	// Goroutines (the default) runs the network on sim's wall-clock Loop:
	// socket calls come from any goroutine and time is the time package's
	// (the fake clock inside testing/synctest).
	Goroutines Driver = iota
	// Tasks runs every socket call in a simulator task (sim.NewTaskNet),
	// the virtual driver's own sockets, bridged to goroutines; the Loop
	// still paces the world.
	Tasks
)

// Options configure a network. The zero value is usable: seed 0, ideal
// links, the goroutine driver, the engine's default TCP (Linux-like).
type Options struct {
	// Seed is the root of every random decision (loss, jitter, ports,
	// initial sequence numbers): the same seed gives the same packets.
	Seed uint64
	// Link is the access link of every host that Host creates.
	Link Link
	// TCP configures every host's TCP engine; the zero value is the
	// engine's default profile.
	TCP stack.TCPConfig
	// Driver is Goroutines (default) or Tasks.
	Driver Driver
	// StallAfter is how long every call on the network may wait with
	// nothing moving before the kit fails the test and names the waiting
	// calls. Zero means 10 minutes; negative turns the check off.
	StallAfter time.Duration
}

// Net is a simulated network of named hosts. Create it with New; its
// methods may be called from any goroutine.
type Net struct {
	t    testing.TB
	opts Options
	w    *sim.World
	loop *sim.Loop
	rtr  *sim.Router

	mu      sync.Mutex
	hosts   map[string]*Host
	order   []*Host
	closed  bool
	ops     map[*op]struct{}
	moves   uint64 // completed calls: the stall check's progress counter
	busy    chan struct{}
	build   chan struct{}
	quit    chan struct{}
	watchWG sync.WaitGroup
	servers []*server
	clients []*http.Client
	rts     int   // round trips in progress on the kit's HTTP clients
	stalled error // the stall report, when the check fired

	// scheduler context only (read by the control faults, written
	// through loop.Call)
	paths map[pathKey]*pathState

	closeOnce sync.Once
}

// errNotNew is the error of a Net that New did not make.
var errNotNew = errors.New("simnet: this Net was not created by simnet.New; use n := simnet.New(t, simnet.Options{})")

// New creates a network whose clean-up t.Cleanup runs. Inside a
// testing/synctest bubble, call it inside the bubble (with the bubble's t).
// A bad option fails the test at once with a message naming it.
func New(t testing.TB, opts Options) *Net {
	if t == nil {
		panic("simnet.New needs the test's *testing.T (or B, F): it registers the clean-up with t.Cleanup")
	}
	t.Helper()
	n, err := start(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return n
}

// Start creates a network outside a test (examples, tools): the same as
// New without t. Call Close when done; it returns the stall report, if the
// stall check fired.
func Start(opts Options) (*Net, error) { return start(nil, opts) }

func start(t testing.TB, opts Options) (*Net, error) {
	if err := opts.Link.Validate(); err != nil {
		return nil, fmt.Errorf("%w (in Options.Link)", err)
	}
	if opts.Driver > Tasks {
		return nil, fmt.Errorf("simnet: Options.Driver = %d: use simnet.Goroutines or simnet.Tasks", opts.Driver)
	}
	if opts.StallAfter == 0 {
		opts.StallAfter = 10 * time.Minute
	}
	// Epoch = now, so that a time.Time deadline means the same instant to
	// the Loop (time package) and to tasks (virtual time since Epoch).
	w := sim.New(sim.Config{Seed: opts.Seed, Epoch: time.Now(), Watchdog: -1})
	rtr, err := w.AddRouter("simnet-router")
	if err != nil {
		return nil, err
	}
	n := &Net{t: t, opts: opts, w: w, rtr: rtr,
		hosts: make(map[string]*Host), ops: make(map[*op]struct{}),
		busy: make(chan struct{}, 1), build: make(chan struct{}, 1), quit: make(chan struct{}),
		paths: make(map[pathKey]*pathState)}
	if n.loop, err = w.StartLoop(); err != nil {
		return nil, err
	}
	if opts.StallAfter > 0 {
		n.watchWG.Add(1)
		go n.watch()
	}
	return n, nil
}

func (n *Net) usable() error {
	if n == nil || n.w == nil {
		return errNotNew
	}
	return nil
}

// World returns the simulated world, for inspection after Close (the
// event log, link counters). While the network runs it belongs to the loop
// goroutine: use Do.
func (n *Net) World() *sim.World { return n.w }

// Do runs fn in the simulator's context and waits for it: fn may read and
// change the world (links, stacks, counters). It returns sim.ErrClosed
// once the network is closed.
func (n *Net) Do(fn func(w *sim.World)) error {
	if err := n.usable(); err != nil {
		return err
	}
	return n.loop.Call(func() { fn(n.w) })
}

// Host returns the host called name, creating it (with Options.Link) on
// first use. Host addresses are 10.0.0.1, 10.0.0.2, … in the order hosts
// are created, and every host resolves the others' names.
func (n *Net) Host(name string) *Host {
	h, err := n.AddHost(name, n.opts.Link)
	if err != nil && h == nil {
		return &Host{n: n, name: name, err: err}
	}
	return h
}

// AddHost creates the host called name with its own access link l. It
// returns an error naming the problem if the name is taken, empty, or l is
// invalid.
func (n *Net) AddHost(name string, l Link) (*Host, error) {
	if err := n.usable(); err != nil {
		return nil, err
	}
	if name == "" || strings.ContainsAny(name, ": /") {
		return nil, fmt.Errorf("simnet: host name %q: use a non-empty name without ':', '/' or spaces, such as \"server\"", name)
	}
	// build serialises host creation and restarts. It is a channel, not a
	// mutex: a goroutine waiting on it is durably blocked in a synctest
	// bubble, so the fake clock can move the loop that does the work. n.mu
	// is never held across loop.Call for the same reason.
	n.build <- struct{}{}
	defer func() { <-n.build }()
	n.mu.Lock()
	if h, ok := n.hosts[name]; ok {
		n.mu.Unlock()
		if l != n.opts.Link {
			return h, fmt.Errorf("simnet: AddHost(%q): a host of that name exists already (with its own link); change its paths with n.Path", name)
		}
		return h, nil
	}
	closed, idx := n.closed, len(n.order)+1
	n.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("simnet: Host(%q): the network is closed (the test is over)", name)
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("%w (for host %q)", err, name)
	}
	if idx > 250 {
		return nil, fmt.Errorf("simnet: Host(%q): a network holds at most 250 hosts", name)
	}
	h := &Host{n: n, name: name, idx: idx,
		addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(idx)})}
	var err error
	if cerr := n.loop.Call(func() { err = n.buildHost(h, l) }); cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("simnet: Host(%q): %w", name, err)
	}
	n.mu.Lock()
	n.hosts[name] = h
	n.order = append(n.order, h)
	n.mu.Unlock()
	return h, nil
}

// buildHost wires h's access link to the router and boots its first stack
// (scheduler context).
func (n *Net) buildHost(h *Host, l Link) error {
	w := n.w
	if err := w.AddHostEntry(h.name, h.addr); err != nil {
		return err
	}
	lk, err := w.NewLink(sim.LinkConfig{Name: "simnet-" + h.name,
		AB: l.dirConfig(&control{n: n, from: h.idx}), BA: sim.DirConfig{MTU: l.MTU}})
	if err != nil {
		return err
	}
	h.link = lk
	ri, err := n.rtr.AddInterface(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 255, 0, byte(h.idx)}), 32), lk.End(1), lk.End(1).MTU())
	if err != nil {
		return err
	}
	if err := n.rtr.AddRoute(netip.PrefixFrom(h.addr, 32), ri); err != nil {
		return err
	}
	lk.End(1).Attach("simnet-router", n.rtr, ri)
	inc, err := n.boot(h)
	h.inc = inc // h is not yet visible to other goroutines
	return err
}

// hostNames lists the hosts, for error messages. n.mu held.
func (n *Net) hostNames() string {
	names := make([]string, 0, len(n.order))
	for _, h := range n.order {
		names = append(names, h.name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none yet"
	}
	return strings.Join(names, ", ")
}

// hostByAddr returns the host with address a, or nil. n.mu held.
func (n *Net) hostByAddr(a netip.Addr) *Host {
	for _, h := range n.order {
		if h.addr == a {
			return h
		}
	}
	return nil
}

// lookup returns the named host or an error saying how to create it.
func (n *Net) lookup(what, name string) (*Host, error) {
	if err := n.usable(); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if h, ok := n.hosts[name]; ok {
		return h, nil
	}
	return nil, fmt.Errorf("simnet: %s: no host named %q (hosts: %s); create it with n.Host(%q) first", what, name, n.hostNames(), name)
}

// Close shuts the network down in the order that leaves no goroutine
// behind: the kit's HTTP clients drop their idle connections, its HTTP
// servers shut down (forcibly after 5 s) and their Serve calls return,
// every connection and listener still open is closed, and the loop stops
// (calls still blocked then return net.ErrClosed). New registers it with
// t.Cleanup; calling it earlier is allowed, and later calls do nothing.
func (n *Net) Close() error {
	if err := n.usable(); err != nil {
		return err
	}
	var err error
	n.closeOnce.Do(func() { err = n.shutdown() })
	return err
}
