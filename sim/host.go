package sim

import (
	"time"
)

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
func (w *World) NewHostEnv() *HostEnv { return &HostEnv{w: w} }

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
