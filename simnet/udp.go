package simnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/tcpsim/tcpsim/sim"
)

// PacketConn is a UDP socket of the kit: a net.PacketConn over the
// simulated network, and, when it came from Dial with "udp", a connected
// net.Conn as well (Go's resolver needs both). A datagram to a closed port
// makes the next Read of a connected socket fail with ECONNREFUSED, as on
// Linux. The kit closes it when the test ends or its host crashes.
type PacketConn struct {
	inner udpSocket
	inc   *incarnation
}

// udpSocket is what both drivers give: *sim.UDPConn, or taskUDP bridging
// to one.
type udpSocket interface {
	net.PacketConn
	net.Conn
}

var (
	_ net.PacketConn = (*PacketConn)(nil)
	_ net.Conn       = (*PacketConn)(nil)
)

// ListenPacket opens a UDP socket on address (":53", or "name:53" with the
// host's own name; ":0" for an ephemeral port).
func (h *Host) ListenPacket(address string) (*PacketConn, error) {
	inc, err := h.current("ListenPacket")
	if err != nil {
		return nil, err
	}
	host, port, serr := net.SplitHostPort(address)
	if serr != nil {
		return nil, fmt.Errorf("simnet: ListenPacket(%q) on host %q: %v; give \":port\", such as \":53\"", address, h.name, serr)
	}
	if host == h.name {
		address = net.JoinHostPort(h.addr.String(), port)
	}
	s, err := h.n.netUDP(inc, func(sn *sim.Net) (udpSocket, error) {
		pc, err := sn.ListenPacket("udp", address)
		if err != nil {
			return nil, err
		}
		return pc.(*sim.UDPConn), nil
	})
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("simnet: ListenPacket(%q) on host %q: UDP port %s is already bound on this host; close that socket first, or use another port: %w", address, h.name, port, err)
		}
		return nil, fmt.Errorf("simnet: ListenPacket(%q) on host %q: %w", address, h.name, err)
	}
	return h.n.trackUDP(inc, s), nil
}

// dialUDP opens a UDP socket connected to address.
func (h *Host) dialUDP(ctx context.Context, inc *incarnation, address string) (*PacketConn, error) {
	s, err := h.n.netUDP(inc, func(sn *sim.Net) (udpSocket, error) {
		c, err := sn.DialContext(ctx, "udp", address)
		if err != nil {
			return nil, err
		}
		return c.(*sim.UDPConn), nil
	})
	if err != nil {
		return nil, err
	}
	return h.n.trackUDP(inc, s), nil
}

// netUDP opens a socket with open under either driver.
func (n *Net) netUDP(inc *incarnation, open func(*sim.Net) (udpSocket, error)) (s udpSocket, err error) {
	if n.opts.Driver != Tasks {
		return open(inc.sn)
	}
	if !inTask(n.loop, func() { s, err = open(inc.sn) }) {
		return nil, &net.OpError{Op: "listen", Net: "udp", Err: net.ErrClosed}
	}
	if err != nil {
		return nil, err
	}
	return &taskUDP{c: s.(*sim.UDPConn), l: n.loop}, nil
}

func (n *Net) trackUDP(inc *incarnation, s udpSocket) *PacketConn {
	pc := &PacketConn{inner: s, inc: inc}
	n.mu.Lock()
	inc.packets[pc] = struct{}{}
	n.mu.Unlock()
	return pc
}

func (c *PacketConn) net() *Net { return c.inc.h.n }

// err maps an error of a call that a crash interrupted.
func (c *PacketConn) err(opName string, err error) error {
	if err == nil {
		return nil
	}
	n := c.net()
	n.mu.Lock()
	down := c.inc.down
	n.mu.Unlock()
	if down && !errors.Is(err, ErrCrashed) {
		return &net.OpError{Op: opName, Net: "udp", Source: c.LocalAddr(), Err: fmt.Errorf("%w: host %q is down: %w", ErrCrashed, c.inc.h.name, err)}
	}
	return err
}

func (c *PacketConn) call(what string) *op {
	return c.net().begin(&op{host: c.inc.h.name, what: what + " " + c.LocalAddr().String() + " (udp)"})
}

// ReadFrom reads one datagram, as net.PacketConn does.
func (c *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	o := c.call("ReadFrom")
	k, a, err := c.inner.ReadFrom(p)
	c.net().end(o)
	return k, a, c.err("read", err)
}

// WriteTo sends one datagram to addr.
func (c *PacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	k, err := c.inner.WriteTo(p, addr)
	return k, c.err("write", err)
}

// Read reads one datagram from the connected peer.
func (c *PacketConn) Read(p []byte) (int, error) {
	o := c.call("Read")
	k, err := c.inner.Read(p)
	c.net().end(o)
	return k, c.err("read", err)
}

// Write sends one datagram to the connected peer.
func (c *PacketConn) Write(p []byte) (int, error) {
	k, err := c.inner.Write(p)
	return k, c.err("write", err)
}

// Close releases the socket.
func (c *PacketConn) Close() error {
	n := c.net()
	n.mu.Lock()
	delete(c.inc.packets, c)
	n.mu.Unlock()
	return c.inner.Close()
}

// LocalAddr returns the bound address (*net.UDPAddr).
func (c *PacketConn) LocalAddr() net.Addr { return c.inner.LocalAddr() }

// RemoteAddr returns the connected peer (*net.UDPAddr), or nil.
func (c *PacketConn) RemoteAddr() net.Addr { return c.inner.RemoteAddr() }

// SetDeadline sets both deadlines.
func (c *PacketConn) SetDeadline(t time.Time) error { return c.inner.SetDeadline(t) }

// SetReadDeadline sets the read deadline.
func (c *PacketConn) SetReadDeadline(t time.Time) error { return c.inner.SetReadDeadline(t) }

// SetWriteDeadline sets the write deadline.
func (c *PacketConn) SetWriteDeadline(t time.Time) error { return c.inner.SetWriteDeadline(t) }

// taskUDP runs each call of a sim.UDPConn in a task (the Tasks driver).
type taskUDP struct {
	c *sim.UDPConn
	l *sim.Loop
}

func (b *taskUDP) closed(op string) error {
	return &net.OpError{Op: op, Net: "udp", Source: b.c.LocalAddr(), Err: net.ErrClosed}
}

func (b *taskUDP) ReadFrom(p []byte) (k int, a net.Addr, err error) {
	if !inTask(b.l, func() { k, a, err = b.c.ReadFrom(p) }) {
		return 0, nil, b.closed("read")
	}
	return k, a, err
}

func (b *taskUDP) WriteTo(p []byte, addr net.Addr) (k int, err error) {
	if !inTask(b.l, func() { k, err = b.c.WriteTo(p, addr) }) {
		return 0, b.closed("write")
	}
	return k, err
}

func (b *taskUDP) Read(p []byte) (k int, err error) {
	k, _, err = b.ReadFrom(p)
	return k, err
}

func (b *taskUDP) Write(p []byte) (k int, err error) {
	if !inTask(b.l, func() { k, err = b.c.Write(p) }) {
		return 0, b.closed("write")
	}
	return k, err
}

func (b *taskUDP) do(op string, f func() error) (err error) {
	if !inTask(b.l, func() { err = f() }) {
		return b.closed(op)
	}
	return err
}

func (b *taskUDP) Close() error { return b.do("close", b.c.Close) }
func (b *taskUDP) SetDeadline(t time.Time) error {
	return b.do("set", func() error { return b.c.SetDeadline(t) })
}
func (b *taskUDP) SetReadDeadline(t time.Time) error {
	return b.do("set", func() error { return b.c.SetReadDeadline(t) })
}
func (b *taskUDP) SetWriteDeadline(t time.Time) error {
	return b.do("set", func() error { return b.c.SetWriteDeadline(t) })
}
func (b *taskUDP) LocalAddr() net.Addr  { return b.c.LocalAddr() }
func (b *taskUDP) RemoteAddr() net.Addr { return b.c.RemoteAddr() }

func isUDP(network string) bool {
	network = strings.ToLower(network)
	return network == "udp" || network == "udp4"
}
