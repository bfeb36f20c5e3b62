package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// Net is the blocking socket API of one simulated host: it dials and
// listens like the net package and returns net.Conn and net.Listener values
// that run over the host's TCP engine (package stack).
//
// A Net belongs to one of the two drivers:
//
//   - NewTaskNet: the virtual driver. Its blocking calls must be made from
//     tasks (World.Spawn); they park the task on the simulator until data,
//     buffer space, a connection or a deadline arrives. Everything runs in
//     scheduler context, one task at a time.
//   - NewLoopNet: the wall-clock driver. Its calls may be made from any
//     goroutine, concurrently, including inside testing/synctest; they
//     exchange bytes with the loop through per-socket buffers and never
//     touch the stack themselves.
//
// Host names are resolved through the World's hosts table (World.Lookup).
//
// Deadlines and contexts: with a Loop, deadlines are ordinary time.Time
// values on the time package's clock, which the loop follows (the fake clock
// inside a synctest bubble). With tasks, a time.Time deadline t means the
// virtual instant t.Sub(World.Epoch()): Net.Now returns the simulator's clock
// in that form, so n.Now().Add(5*time.Second) is five seconds of virtual
// time from now. A context's deadline is read the same way (the context
// package's own wall-clock expiry is ignored), and a dialing task checks
// for an explicit cancellation every millisecond of virtual time.
type Net struct {
	w    *World
	h    *stack.Host
	loop *Loop // nil for the virtual driver
	name string
}

// NewTaskNet returns the blocking socket API of h for tasks on w's virtual
// driver. h must be attached to w (its Env a HostEnv of w).
func NewTaskNet(w *World, h *stack.Host) *Net {
	w.mustBeUsable()
	if h == nil {
		panic("sim: NewTaskNet: nil *stack.Host; pass a host from World.AddHost")
	}
	return &Net{w: w, h: h, name: h.Name()}
}

// usable reports a Net that neither NewTaskNet nor NewLoopNet made.
func (n *Net) usable() error {
	if n == nil || n.w == nil || n.h == nil {
		return fmt.Errorf("%w: this sim.Net was not created by sim.NewTaskNet or sim.NewLoopNet (a zero Net has no host)", ErrInvalid)
	}
	return nil
}

// Host returns the stack host the Net opens sockets on.
func (n *Net) Host() *stack.Host { return n.h }

// World returns the Net's world.
func (n *Net) World() *World { return n.w }

// Now returns the simulator's clock as a time.Time: World.Epoch() plus the
// virtual time for the virtual driver and a virtual loop
// (StartVirtualLoop), time.Now() for a wall-clock Loop. Use it to
// compute deadlines.
func (n *Net) Now() time.Time {
	if err := n.usable(); err != nil {
		panic(err.Error())
	}
	if n.loop != nil && !n.loop.virtual {
		return time.Now()
	}
	if n.loop != nil {
		return n.w.Epoch().Add(n.loop.Now())
	}
	return n.w.Epoch().Add(n.w.Now())
}

// virtual converts an absolute deadline to virtual time for the virtual
// driver. The zero time is no deadline (0). A deadline at or before the
// epoch maps to the smallest positive time, so it has already passed.
func (n *Net) virtual(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	d := t.Sub(n.w.Epoch())
	if d <= 0 {
		return 1
	}
	return d
}

// resolve turns "host:port" into an IPv4 address and port, looking host up
// in the hosts table unless it is an address literal.
func (n *Net) resolve(op, network, address string) (netip.AddrPort, error) {
	if err := n.usable(); err != nil {
		return netip.AddrPort{}, &net.OpError{Op: op, Net: network, Err: err}
	}
	if network != "tcp" && network != "tcp4" {
		return netip.AddrPort{}, &net.OpError{Op: op, Net: network, Err: fmt.Errorf("%w: network %q", ErrNetwork, network)}
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, &net.OpError{Op: op, Net: network, Err: err}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, &net.OpError{Op: op, Net: network,
			Err: &net.AddrError{Err: "invalid port", Addr: address}}
	}
	if host == "" {
		if op == "dial" {
			return netip.AddrPort{}, &net.OpError{Op: op, Net: network, Err: &net.AddrError{Err: "missing host", Addr: address}}
		}
		return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(p)), nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Is4() {
			return netip.AddrPort{}, &net.OpError{Op: op, Net: network, Err: &net.AddrError{Err: "not an IPv4 address", Addr: host}}
		}
		return netip.AddrPortFrom(a, uint16(p)), nil
	}
	var a netip.Addr
	if n.loop != nil {
		if cerr := n.loop.Call(func() { a, err = n.w.Lookup(host) }); cerr != nil {
			err = cerr
		}
	} else {
		a, err = n.w.Lookup(host)
	}
	if errors.Is(err, ErrUnknownHost) {
		return netip.AddrPort{}, &net.OpError{Op: op, Net: network,
			Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}
	if err != nil { // the Loop closed before it could look the name up
		return netip.AddrPort{}, &net.OpError{Op: op, Net: network, Err: mapErr(op, err)}
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// Dial connects to address ("server.example:80" or "10.0.0.2:80") over
// network "tcp" or "tcp4". See DialContext.
func (n *Net) Dial(network, address string) (net.Conn, error) {
	return n.DialContext(context.Background(), network, address)
}

// DialContext connects to address, resolving a host name through the
// hosts table, and returns when the three-way handshake completes. With
// network "udp" or "udp4" it returns a connected *UDPConn at once. Errors
// are *net.OpError values: errors.Is(err, syscall.ECONNREFUSED) when the
// peer answers with a reset, syscall.ETIMEDOUT when the SYN retries run out,
// context.DeadlineExceeded or context.Canceled when ctx ends first. Its
// signature fits http.Transport.DialContext and net.Dialer.
func (n *Net) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if network == "udp" || network == "udp4" {
		ap, err := n.resolveUDP("dial", network, address)
		if err != nil {
			return nil, err
		}
		return n.dialUDP(ctx, ap)
	}
	ap, err := n.resolve("dial", network, address)
	if err != nil {
		return nil, err
	}
	if n.loop != nil {
		return n.loopDial(ctx, ap)
	}
	return n.taskDial(ctx, ap)
}

// Listen opens a listener on address (":80", "10.0.0.2:80"); an empty or
// unspecified host listens on every address of the host.
func (n *Net) Listen(network, address string) (net.Listener, error) {
	ap, err := n.resolve("listen", network, address)
	if err != nil {
		return nil, err
	}
	if n.loop != nil {
		return n.loopListen(ap)
	}
	return n.taskListen(ap)
}
