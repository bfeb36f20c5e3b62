package simnet

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/tcpsim/tcpsim/sim"
)

// op is one socket call in progress, for the stall report.
type op struct {
	host  string
	what  string // "Read", "Write", "Accept", "Dial server:80"
	c     *Conn
	l     *Listener
	since time.Time
}

func (n *Net) begin(o *op) *op {
	o.since = time.Now()
	n.mu.Lock()
	n.ops[o] = struct{}{}
	n.poke()
	n.mu.Unlock()
	return o
}

// poke wakes the stall check, which sleeps on n.busy while no waiting call
// could be a stall. It never blocks.
func (n *Net) poke() {
	select {
	case n.busy <- struct{}{}:
	default:
	}
}

func (n *Net) end(o *op) {
	n.mu.Lock()
	delete(n.ops, o)
	n.moves++
	n.mu.Unlock()
}

// report fails the test with err (misuse of the kit's control methods).
func (n *Net) report(err error) {
	if n != nil && n.t != nil {
		n.t.Helper()
		n.t.Error(err)
	}
}

// Conn is a TCP connection of the kit: a net.Conn over the simulated
// network. Besides net.Conn it has CloseWrite, CloseRead and Abort (a
// reset), like *net.TCPConn.
type Conn struct {
	inner net.Conn // *sim.Conn, or a taskConn bridging to one
	sc    *sim.Conn
	inc   *incarnation
	role  string // "", "HTTP client", "HTTP server"

	mu     sync.Mutex
	rdl    time.Time
	wdl    time.Time
	closed bool
}

func (n *Net) track(inc *incarnation, c net.Conn, role string) *Conn {
	kc := &Conn{inner: c, inc: inc, role: role}
	switch x := c.(type) {
	case *sim.Conn:
		kc.sc = x
	case *taskConn:
		kc.sc = x.c
	}
	n.mu.Lock()
	inc.conns[kc] = struct{}{}
	n.mu.Unlock()
	return kc
}

func (c *Conn) net() *Net { return c.inc.h.n }

// err maps an error of a call that a crash interrupted.
func (c *Conn) err(opName string, err error) error {
	if err == nil {
		return nil
	}
	n := c.net()
	n.mu.Lock()
	down := c.inc.down
	n.mu.Unlock()
	if down && !errors.Is(err, ErrCrashed) {
		return &net.OpError{Op: opName, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(),
			Err: fmt.Errorf("%w: host %q is down: %w", ErrCrashed, c.inc.h.name, err)}
	}
	return err
}

func (c *Conn) call(what string) *op {
	return c.net().begin(&op{host: c.inc.h.name, what: what, c: c})
}

// Read reads data as net.Conn does.
func (c *Conn) Read(p []byte) (int, error) {
	o := c.call("Read")
	k, err := c.inner.Read(p)
	c.net().end(o)
	return k, c.err("read", err)
}

// Write writes data as net.Conn does.
func (c *Conn) Write(p []byte) (int, error) {
	o := c.call("Write")
	k, err := c.inner.Write(p)
	c.net().end(o)
	return k, c.err("write", err)
}

// Close closes the connection (a FIN, or a reset if received data is
// unread, as on Linux).
func (c *Conn) Close() error {
	n := c.net()
	n.mu.Lock()
	delete(c.inc.conns, c)
	n.mu.Unlock()
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return c.inner.Close()
}

type halfCloser interface {
	CloseWrite() error
	CloseRead() error
	Abort() error
}

// CloseWrite sends a FIN: the peer reads EOF; this side can still read.
func (c *Conn) CloseWrite() error { return c.inner.(halfCloser).CloseWrite() }

// CloseRead discards what arrives from now on.
func (c *Conn) CloseRead() error { return c.inner.(halfCloser).CloseRead() }

// Abort resets the connection (RST) and closes it.
func (c *Conn) Abort() error {
	n := c.net()
	n.mu.Lock()
	delete(c.inc.conns, c)
	n.mu.Unlock()
	return c.inner.(halfCloser).Abort()
}

// LocalAddr returns the local address (a *net.TCPAddr).
func (c *Conn) LocalAddr() net.Addr { return c.inner.LocalAddr() }

// RemoteAddr returns the peer's address (a *net.TCPAddr).
func (c *Conn) RemoteAddr() net.Addr { return c.inner.RemoteAddr() }

// SetDeadline sets both deadlines (time package time: the fake clock in a
// synctest bubble).
func (c *Conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl, c.wdl = t, t
	c.mu.Unlock()
	return c.inner.SetDeadline(t)
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl = t
	c.mu.Unlock()
	return c.inner.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdl = t
	c.mu.Unlock()
	return c.inner.SetWriteDeadline(t)
}

// Sim returns the simulator's connection underneath (its Stack method
// reaches the TCP engine's; use it only through Net.Do).
func (c *Conn) Sim() *sim.Conn { return c.sc }

// Host returns the host the connection belongs to.
func (c *Conn) Host() *Host { return c.inc.h }

// hasDeadline reports whether the call o will end by a deadline.
func (c *Conn) hasDeadline(what string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if what == "Write" {
		return !c.wdl.IsZero()
	}
	return !c.rdl.IsZero()
}

// Listener is a TCP listener of the kit.
type Listener struct {
	inner net.Listener
	inc   *incarnation
	role  string
}

// Accept waits for a connection.
func (l *Listener) Accept() (net.Conn, error) {
	n := l.inc.h.n
	o := n.begin(&op{host: l.inc.h.name, what: "Accept", l: l})
	c, err := l.inner.Accept()
	n.end(o)
	if err != nil {
		n.mu.Lock()
		down := l.inc.down
		n.mu.Unlock()
		if down {
			err = &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: fmt.Errorf("%w: host %q is down: %w", ErrCrashed, l.inc.h.name, err)}
		}
		return nil, err
	}
	return n.track(l.inc, c, l.role), nil
}

// Close closes the listener; blocked Accept calls return net.ErrClosed.
func (l *Listener) Close() error {
	n := l.inc.h.n
	n.mu.Lock()
	delete(l.inc.listeners, l)
	n.mu.Unlock()
	return l.inner.Close()
}

// Addr returns the listening address (a *net.TCPAddr).
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }
