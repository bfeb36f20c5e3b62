package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// Errors returned by the simulator. Errors about settings wrap ErrInvalid and
// name the field and the offending value.
var (
	ErrInvalid     = errors.New("sim: invalid setting")
	ErrUnknownHost = errors.New("sim: unknown host")
	ErrDuplicate   = errors.New("sim: name already in use")
	ErrTimeLimit   = errors.New("sim: virtual time limit reached")
	ErrClosed      = errors.New("sim: closed")
)

// DefaultEpoch is the wall-clock instant virtual time zero maps to in pcap
// files and printed traces when Config.Epoch is zero. It is fixed, so that
// the same seed gives byte-identical captures.
var DefaultEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// DefaultWatchdog is how long (wall time) a task may run without parking in
// a simulator call before the virtual driver reports it as stuck.
const DefaultWatchdog = 10 * time.Second

// Config holds the settings of a World. The zero value is usable: seed 0,
// no event log, no time limit.
type Config struct {
	// Seed is the root of every random stream in the world: links, faults,
	// jitter and hosts each derive their own stream from it and their name.
	Seed uint64
	// Epoch is the wall-clock time of virtual time zero, used for pcap
	// timestamps. Zero means DefaultEpoch.
	Epoch time.Time
	// TimeLimit, when positive, makes Run and RunUntil return ErrTimeLimit
	// instead of running an event scheduled after it.
	TimeLimit time.Duration
	// Log enables the in-memory event log (World.Log).
	Log bool
	// LogData keeps a copy of every logged packet's bytes in the log
	// (Event.Data). Without it events carry only metadata and length.
	LogData bool
	// OnEvent, when set, is called for every event logged, in scheduler
	// context, as it happens (the CLI's live trace). Setting it enables the
	// log. The *Event is valid only during the call; copy what you keep.
	OnEvent func(*Event)
	// StreamOnly, with OnEvent set, hands every event to OnEvent with the
	// packet's bytes in Event.Data (valid only during the call) and keeps
	// nothing in the log, so memory stays flat on long runs (the CLI's
	// transfer uses it). Log.Len then stays 0; Event.Index still counts.
	StreamOnly bool
	// Watchdog is how long in wall time a task may run between two simulator
	// calls before Run reports it as blocked outside the simulator. Zero
	// means DefaultWatchdog; negative disables the watchdog.
	Watchdog time.Duration
}

// Node is anything that receives packets from a link end: a *stack.Host, a
// *Router, a TUN bridge, a test double. Deliver is called in scheduler
// context; pkt is valid only during the call (it is the link's pooled
// buffer) and the node may modify it in place.
type Node interface {
	Deliver(ifIndex int, pkt []byte)
}

// Interfacer is a Node that can own interfaces on links: World.Connect calls
// AddInterface with the link end that carries the node's outbound packets.
// *stack.Host and *Router implement it.
type Interfacer interface {
	Node
	AddInterface(addr netip.Prefix, link stack.Link, mtu int) (ifIndex int, err error)
}

// World is one simulated network: scheduler, seed, nodes, links, hosts table
// and event log. Its methods run in scheduler context (or while no driver is
// running); see Loop for use from other goroutines.
type World struct {
	Scheduler

	cfg      Config
	epoch    time.Time
	log      *Log
	hosts    map[string]netip.Addr
	nodes    map[string]Node
	order    []string // node names in the order they were added
	links    []*Link
	linkName map[string]*Link
	frames   []*frame

	tasks taskState
	loop  *Loop // the wall-clock driver while it runs

	echoes map[*stack.Host]*echoTable // Net.Ping's requests waiting, per host (net_ping.go)
}

// New creates a World.
func New(cfg Config) *World {
	w := &World{
		cfg:      cfg,
		epoch:    cfg.Epoch,
		hosts:    make(map[string]netip.Addr),
		nodes:    make(map[string]Node),
		linkName: make(map[string]*Link),
	}
	if w.epoch.IsZero() {
		w.epoch = DefaultEpoch
	}
	if cfg.Log || cfg.LogData || cfg.OnEvent != nil {
		w.log = &Log{keepData: cfg.LogData, onEvent: cfg.OnEvent, streamOnly: cfg.StreamOnly && cfg.OnEvent != nil}
	}
	w.tasks.init(w)
	return w
}

// usable reports a World that New did not make: a nil pointer, or a zero
// World, which has no maps, task state or epoch. Methods that return an
// error return this one; the others panic with it (mustBeUsable).
func (w *World) usable() error {
	if w == nil {
		return fmt.Errorf("%w: nil *sim.World; create one with sim.New(sim.Config{})", ErrInvalid)
	}
	if w.hosts == nil {
		return fmt.Errorf("%w: this sim.World was not created by sim.New (a zero World is not usable); create it with sim.New(sim.Config{})", ErrInvalid)
	}
	return nil
}

func (w *World) mustBeUsable() {
	if err := w.usable(); err != nil {
		panic(err.Error())
	}
}

// Seed returns the world's seed.
func (w *World) Seed() uint64 { return w.cfg.Seed }

// Epoch returns the wall-clock time of virtual time zero.
func (w *World) Epoch() time.Time { return w.epoch }

// Log returns the event log, or nil when logging is disabled.
func (w *World) Log() *Log { return w.log }

// SeedFor derives a seed from the world seed and a list of names, e.g.
// SeedFor("host", "client"). Different name lists give unrelated seeds; the
// same list always gives the same seed.
func (w *World) SeedFor(names ...string) uint64 {
	return deriveSeed(w.cfg.Seed, names...)
}

// Rand returns a new random stream derived from the world seed and names
// (see SeedFor). Streams never share state, so adding one consumer does not
// change what another one draws.
func (w *World) Rand(names ...string) *rand.Rand {
	s := w.SeedFor(names...)
	return rand.New(rand.NewPCG(s, splitmix(s^0x9e3779b97f4a7c15)))
}

// deriveSeed hashes names with FNV-1a (with a separator between them) and
// mixes the result with seed through splitmix64.
func deriveSeed(seed uint64, names ...string) uint64 {
	h := uint64(14695981039346656037)
	for _, n := range names {
		for i := 0; i < len(n); i++ {
			h ^= uint64(n[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return splitmix(seed ^ splitmix(h))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func canonicalName(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// AddHostEntry adds name → addr to the hosts table (what Lookup answers).
// Names are case-insensitive and a trailing dot is ignored.
func (w *World) AddHostEntry(name string, addr netip.Addr) error {
	if err := w.usable(); err != nil {
		return err
	}
	n := canonicalName(name)
	if n == "" {
		return fmt.Errorf("%w: host name %q is empty", ErrInvalid, name)
	}
	if !addr.Is4() {
		return fmt.Errorf("%w: host %q: address %v is not IPv4", ErrInvalid, name, addr)
	}
	if old, ok := w.hosts[n]; ok && old != addr {
		return fmt.Errorf("%w: host %q already maps to %v", ErrDuplicate, name, old)
	}
	w.hosts[n] = addr
	return nil
}

// Lookup answers "what is the IPv4 address of name" from the hosts table,
// the simulated equivalent of a DNS A query. Unknown names return an error
// wrapping ErrUnknownHost.
func (w *World) Lookup(name string) (netip.Addr, error) {
	if a, ok := w.hosts[canonicalName(name)]; ok {
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("%w: %q", ErrUnknownHost, name)
}

// HostNames returns the names in the hosts table, sorted.
func (w *World) HostNames() []string {
	names := make([]string, 0, len(w.hosts))
	for n := range w.hosts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AddNode registers a node under name so that Connect can refer to it.
func (w *World) AddNode(name string, n Node) error {
	if err := w.usable(); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("%w: node name is empty", ErrInvalid)
	}
	if n == nil {
		return fmt.Errorf("%w: node %q is nil", ErrInvalid, name)
	}
	if _, ok := w.nodes[name]; ok {
		return fmt.Errorf("%w: node %q", ErrDuplicate, name)
	}
	w.nodes[name] = n
	w.order = append(w.order, name)
	return nil
}

// Node returns the node registered under name, or nil.
func (w *World) Node(name string) Node { return w.nodes[name] }

// NodeNames returns the names of registered nodes in the order added.
func (w *World) NodeNames() []string { return append([]string(nil), w.order...) }

// Links returns the links in the order they were created.
func (w *World) Links() []*Link { return append([]*Link(nil), w.links...) }

// Link returns the link with the given name, or nil.
func (w *World) Link(name string) *Link { return w.linkName[name] }

// Connect creates a link between two registered nodes and gives each an
// interface on it: a.AddInterface(aAddr, end A, mtu) and the same for b. The
// link is named cfg.Name, or "a-b" when that is empty. Both nodes must
// implement Interfacer. Packets that a sends travel in direction cfg.AB.
func (w *World) Connect(a string, aAddr netip.Prefix, b string, bAddr netip.Prefix, cfg LinkConfig) (*Link, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	na, ok := w.nodes[a]
	if !ok {
		return nil, fmt.Errorf("%w: node %q", ErrUnknownHost, a)
	}
	nb, ok := w.nodes[b]
	if !ok {
		return nil, fmt.Errorf("%w: node %q", ErrUnknownHost, b)
	}
	ia, ok := na.(Interfacer)
	if !ok {
		return nil, fmt.Errorf("%w: node %q (%T) cannot own interfaces", ErrInvalid, a, na)
	}
	ib, ok := nb.(Interfacer)
	if !ok {
		return nil, fmt.Errorf("%w: node %q (%T) cannot own interfaces", ErrInvalid, b, nb)
	}
	if a == b {
		return nil, fmt.Errorf("%w: Connect: both ends are node %q", ErrInvalid, a)
	}
	if cfg.Name == "" {
		cfg.Name = a + "-" + b
	}
	l, err := w.NewLink(cfg)
	if err != nil {
		return nil, err
	}
	// A failed AddInterface leaves no link behind (though a node whose
	// first AddInterface succeeded keeps that interface).
	ifa, err := ia.AddInterface(aAddr, l.End(0), l.ab.mtu)
	if err != nil {
		w.dropLink(l)
		return nil, fmt.Errorf("sim: link %q: interface %v on %q: %w", cfg.Name, aAddr, a, err)
	}
	ifb, err := ib.AddInterface(bAddr, l.End(1), l.ba.mtu)
	if err != nil {
		w.dropLink(l)
		return nil, fmt.Errorf("sim: link %q: interface %v on %q: %w", cfg.Name, bAddr, b, err)
	}
	l.End(0).Attach(a, na, ifa)
	l.End(1).Attach(b, nb, ifb)
	return l, nil
}

func (w *World) dropLink(l *Link) {
	delete(w.linkName, l.name)
	for i, x := range w.links {
		if x == l {
			w.links = append(w.links[:i], w.links[i+1:]...)
			break
		}
	}
}
