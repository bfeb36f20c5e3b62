package sim

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// AddHost creates a TCP/IP host (package stack) driven by this world:
// its Env is a HostEnv on the scheduler, its seed is SeedFor("host", name),
// it is registered as a node called name, and name → addr.Addr() is added to
// the hosts table. Give it interfaces with Connect, using addr on the link
// that should carry that address; its first interface also becomes its
// default route.
func (w *World) AddHost(name string, addr netip.Prefix, tcp stack.TCPConfig) (*stack.Host, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	if !addr.IsValid() || !addr.Addr().Is4() {
		return nil, fmt.Errorf("%w: host %q: address %v is not an IPv4 prefix", ErrInvalid, name, addr)
	}
	if _, ok := w.nodes[name]; ok {
		return nil, fmt.Errorf("%w: node %q", ErrDuplicate, name)
	}
	if _, err := w.Lookup(name); err == nil {
		return nil, fmt.Errorf("%w: host name %q is already in the hosts table", ErrDuplicate, name)
	}
	env := w.NewHostEnv()
	h, err := stack.NewHost(stack.HostConfig{Name: name, Env: env, Seed: w.SeedFor("host", name), TCP: tcp})
	if err != nil {
		return nil, err
	}
	env.Bind(h)
	if err := w.AddHostEntry(name, addr.Addr()); err != nil {
		return nil, err
	}
	if err := w.AddNode(name, h); err != nil {
		return nil, err
	}
	return h, nil
}

// Advancer is what a HostEnv wakes: *stack.Host (Advance fires the timers due
// at Env.Now()).
type Advancer interface {
	Advance()
}

// HostEnv implements stack.Env on the world's scheduler: Now is the
// scheduler's clock and WakeAt schedules one deduplicated event that calls
// the bound Advancer. Create it before the host (the host needs its Env) and
// Bind the host afterwards:
//
//	env := w.NewHostEnv()
//	h, err := stack.NewHost(stack.HostConfig{Name: "client", Env: env, Seed: w.SeedFor("host", "client")})
//	env.Bind(h)
type HostEnv struct {
	w       *World
	target  Advancer
	pending Timer
}

// NewHostEnv returns an unbound HostEnv.
func (w *World) NewHostEnv() *HostEnv {
	w.mustBeUsable()
	return &HostEnv{w: w}
}

// Bind sets the Advancer that WakeAt's events call.
func (e *HostEnv) Bind(a Advancer) { e.target = a }

// Now returns the current virtual time (stack.Env).
func (e *HostEnv) Now() time.Duration { return e.w.now }

// WakeAt asks for a call to Advance at virtual time t (stack.Env). Only the
// earliest pending request is kept: an earlier request replaces a later
// one, a later one is ignored while an earlier is pending.
func (e *HostEnv) WakeAt(t time.Duration) {
	if t < e.w.now {
		t = e.w.now
	}
	if at, ok := e.pending.When(); ok {
		if at <= t {
			return
		}
		e.w.Cancel(e.pending)
	}
	e.pending = e.w.Schedule(t, PrioDefault, e, nil)
}

// HandleEvent calls Advance (Handler).
func (e *HostEnv) HandleEvent(any) {
	e.pending = Timer{}
	if e.target != nil {
		e.target.Advance()
	}
}
