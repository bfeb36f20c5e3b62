package simnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// Host is one named host of a Net: a TCP/IP stack on its own access link.
type Host struct {
	n    *Net
	name string
	idx  int
	addr netip.Addr
	link *sim.Link // end 0 is the host's side
	err  error     // a Host that Net.Host could not create

	inc   *incarnation // guarded by n.mu
	boots int          // scheduler context (boot)
}

// incarnation is one boot of a host: its stack and everything opened on it.
type incarnation struct {
	h    *Host
	st   *stack.Host
	env  *sim.HostEnv
	gate *gate
	sn   *sim.Net
	boot int
	// guarded by n.mu
	down      bool
	conns     map[*Conn]struct{}
	listeners map[*Listener]struct{}
	packets   map[*PacketConn]struct{}
}

// gate is the stack's view of its link: it passes packets while the host is
// up and swallows them once the host has crashed (scheduler context).
type gate struct {
	end *sim.LinkEnd
	off bool
}

func (g *gate) Send(pkt []byte) {
	if !g.off {
		g.end.Send(pkt)
	}
}

func (g *gate) SendVerified(pkt []byte) {
	if !g.off {
		g.end.SendVerified(pkt)
	}
}

func (g *gate) SendHandoff(pkt []byte) []byte {
	if g.off {
		return pkt[:0]
	}
	return g.end.SendHandoff(pkt)
}

// blackhole receives the packets for a crashed host.
type blackhole struct{}

func (blackhole) Deliver(int, []byte) {}

// boot gives h a fresh stack on its address (scheduler context); the
// caller installs it as h.inc under n.mu.
func (n *Net) boot(h *Host) (*incarnation, error) {
	h.boots++
	env := n.w.NewHostEnv()
	seed := n.w.SeedFor("host", h.name)
	if h.boots > 1 {
		seed = n.w.SeedFor("host", h.name, "boot", strconv.Itoa(h.boots))
	}
	st, err := stack.NewHost(stack.HostConfig{Name: h.name, Env: env, Seed: seed, TCP: n.opts.TCP})
	if err != nil {
		return nil, err
	}
	env.Bind(st)
	g := &gate{end: h.link.End(0)}
	ifi, err := st.AddInterface(netip.PrefixFrom(h.addr, 24), g, h.link.End(0).MTU())
	if err != nil {
		return nil, err
	}
	h.link.End(0).Attach(h.name, st, ifi)
	inc := &incarnation{h: h, st: st, env: env, gate: g, boot: h.boots,
		conns: make(map[*Conn]struct{}), listeners: make(map[*Listener]struct{}),
		packets: make(map[*PacketConn]struct{})}
	if n.opts.Driver == Tasks {
		inc.sn = sim.NewTaskNet(n.w, st)
	} else {
		inc.sn = sim.NewLoopNet(n.loop, st)
	}
	return inc, nil
}

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// Addr returns the host's IPv4 address.
func (h *Host) Addr() netip.Addr { return h.addr }

// Net returns the network the host belongs to.
func (h *Host) Net() *Net { return h.n }

// current returns the host's running incarnation, or an error saying why
// there is none.
func (h *Host) current(op string) (*incarnation, error) {
	if h == nil {
		return nil, errors.New("simnet: nil *Host; get one with n.Host(\"name\")")
	}
	if h.err != nil {
		return nil, h.err
	}
	if err := h.n.usable(); err != nil {
		return nil, err
	}
	n := h.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("simnet: %s on host %q: the network is closed (the test is over): %w", op, h.name, net.ErrClosed)
	}
	if h.inc == nil || h.inc.down {
		return nil, fmt.Errorf("simnet: %s on host %q: the host is down (it crashed); call Restart first: %w", op, h.name, ErrCrashed)
	}
	return h.inc, nil
}

// ErrCrashed is matched (errors.Is) by the errors of calls on a host that
// has crashed, and of calls that were blocked on it when it crashed.
var ErrCrashed = errors.New("simnet: host crashed")

// Listen opens a TCP listener on address (":80", or "server:80" with the
// host's own name). The kit closes it when the test ends.
func (h *Host) Listen(address string) (net.Listener, error) {
	inc, err := h.current("Listen")
	if err != nil {
		return nil, err
	}
	host, port, serr := net.SplitHostPort(address)
	if serr != nil {
		return nil, fmt.Errorf("simnet: Listen(%q) on host %q: %v; give \":port\", such as \":80\"", address, h.name, serr)
	}
	if host == h.name {
		address = net.JoinHostPort(h.addr.String(), port)
	}
	ln, err := h.n.netListen(inc, address)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("simnet: Listen(%q) on host %q: port %s is already in use by a listener or connection of this host; close that listener first, or listen on another port: %w", address, h.name, port, err)
		}
		return nil, fmt.Errorf("simnet: Listen(%q) on host %q: %w", address, h.name, err)
	}
	l := &Listener{inner: ln, inc: inc}
	h.n.mu.Lock()
	inc.listeners[l] = struct{}{}
	h.n.mu.Unlock()
	return l, nil
}

// Dial connects to address ("server:80" or "10.0.0.2:80") over TCP.
func (h *Host) Dial(address string) (net.Conn, error) {
	return h.DialContext(context.Background(), "tcp", address)
}

// DialContext connects to address over network "tcp" or "tcp4", or returns
// a connected UDP socket (a *PacketConn) for "udp" or "udp4". Its signature
// fits http.Transport.DialContext, gRPC's context dialer and
// net.Resolver.Dial.
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return h.dial(ctx, network, address, "")
}

func (h *Host) dial(ctx context.Context, network, address, role string) (net.Conn, error) {
	inc, err := h.current("Dial")
	if err != nil {
		return nil, err
	}
	name, _, serr := net.SplitHostPort(address)
	if serr == nil && name != "" {
		if _, perr := netip.ParseAddr(name); perr != nil {
			n := h.n
			n.mu.Lock()
			_, ok := n.hosts[strings.ToLower(name)]
			if !ok {
				_, ok = n.hosts[name]
			}
			names := n.hostNames()
			n.mu.Unlock()
			if !ok {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{
					Err:        fmt.Sprintf("no such host: simnet has no host named %q (hosts: %s); create it with n.Host(%q) before dialing", name, names, name),
					Name:       name,
					IsNotFound: true}}
			}
		}
	}
	if isUDP(network) {
		pc, err := h.dialUDP(ctx, inc, address)
		if err != nil {
			return nil, fmt.Errorf("simnet: Dial(%q, %q) on host %q: %w", network, address, h.name, err)
		}
		return pc, nil
	}
	o := h.n.begin(&op{host: h.name, what: "Dial " + address})
	c, err := h.n.netDial(inc, ctx, network, address)
	h.n.end(o)
	if err != nil {
		return nil, h.n.explainDial(address, err)
	}
	return h.n.track(inc, c, role), nil
}

// String returns the host's name and address.
func (h *Host) String() string { return h.name + " (" + h.addr.String() + ")" }

// CrashMode says what a crashing host's connections do.
type CrashMode uint8

const (
	// Silently: the host stops; its peers hear nothing until they send to
	// it (and, after Restart, get a reset from the fresh stack).
	Silently CrashMode = iota
	// WithResets: the host resets every connection as it stops, as a
	// killed process's kernel does.
	WithResets
)

// Crash stops the host: every connection and listener on it dies (with
// resets or silently), calls blocked on them return errors matching
// ErrCrashed, its HTTP servers stop, and packets to it are lost until
// Restart. Paths to and from it keep their settings.
func (h *Host) Crash(mode CrashMode) {
	inc, err := h.current("Crash")
	if err != nil {
		h.n.report(err)
		return
	}
	n := h.n
	n.mu.Lock()
	inc.down = true
	conns := make([]*Conn, 0, len(inc.conns))
	for c := range inc.conns {
		conns = append(conns, c)
	}
	lns := make([]*Listener, 0, len(inc.listeners))
	for l := range inc.listeners {
		lns = append(lns, l)
	}
	pcs := make([]*PacketConn, 0, len(inc.packets))
	for pc := range inc.packets {
		pcs = append(pcs, pc)
	}
	var srvs []*server
	for _, s := range n.servers {
		if s.inc == inc {
			srvs = append(srvs, s)
		}
	}
	n.mu.Unlock()
	n.loop.Call(func() {
		inc.gate.off = mode == Silently
		for _, sc := range inc.st.Conns() {
			sc.Abort()
		}
		inc.gate.off = true
		inc.env.Bind(nil)
		h.link.End(0).Attach(h.name+" (down)", blackhole{}, 0)
	})
	for _, s := range srvs {
		s.srv.Close()
	}
	for _, l := range lns {
		l.Close()
	}
	for _, c := range conns {
		c.inner.Close()
	}
	for _, pc := range pcs {
		pc.inner.Close()
	}
}

// Restart boots the host again after Crash: a fresh TCP stack (new
// sequence numbers, no connections, no listeners) on the same address.
// Listen and Serve again to bring its services back.
func (h *Host) Restart() {
	if _, err := h.current("Restart"); err == nil {
		h.n.report(fmt.Errorf("simnet: Restart of host %q: it is running; Crash it first", h.name))
		return
	} else if !errors.Is(err, ErrCrashed) {
		h.n.report(err)
		return
	}
	n := h.n
	n.build <- struct{}{}
	defer func() { <-n.build }()
	var err error
	var inc *incarnation
	if cerr := n.loop.Call(func() { inc, err = n.boot(h) }); cerr != nil {
		err = cerr
	}
	if err != nil {
		n.report(fmt.Errorf("simnet: Restart of host %q: %w", h.name, err))
		return
	}
	n.mu.Lock()
	h.inc = inc
	n.mu.Unlock()
}

// explainDial adds what the kit knows to a dial error: which ports the
// target listens on when it refused, that it is down when it timed out.
// The error still matches what it wrapped (errors.Is, errors.As).
func (n *Net) explainDial(address string, err error) error {
	name, port, serr := net.SplitHostPort(address)
	if serr != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	target := n.hosts[name]
	if a, perr := netip.ParseAddr(name); perr == nil {
		target = n.hostByAddr(a)
	}
	if target == nil {
		return err
	}
	switch {
	case target.inc == nil || target.inc.down:
		return fmt.Errorf("%w (simnet: host %q is down: it crashed; call Restart)", err, target.name)
	case errors.Is(err, syscall.ECONNREFUSED):
		var ports []string
		for l := range target.inc.listeners {
			if a, ok := l.Addr().(*net.TCPAddr); ok {
				ports = append(ports, ":"+strconv.Itoa(a.Port))
			}
		}
		sort.Strings(ports)
		listens := "nothing"
		if len(ports) > 0 {
			listens = strings.Join(ports, ", ")
		}
		return fmt.Errorf("%w (simnet: nothing listens on %s:%s; host %q listens on %s: call n.Host(%q).Listen(\":%s\") or Serve first)", err, target.name, port, target.name, listens, target.name, port)
	}
	return err
}
