package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// UDPConn is a UDP socket on a simulated host (stack.UDPConn underneath),
// for both drivers. It implements net.PacketConn, and net.Conn too: once
// connected (Net.Dial with "udp"), Read and Write exchange datagrams with
// the peer, and an ICMP port unreachable for one of its datagrams fails the
// next Read or Write with ECONNREFUSED. Go's resolver (net.Resolver with
// PreferGo and a Dial onto Net.DialContext) speaks DNS over it, because it
// is a net.PacketConn.
//
// With tasks, ReadFrom blocks the calling task; WriteTo never blocks (a
// datagram is sent at once or fails). With a Loop, any goroutine may call
// it; each call is one round trip to the loop.
type UDPConn struct {
	n     *Net
	su    *stack.UDPConn // touched only in scheduler context
	laddr *net.UDPAddr
	raddr *net.UDPAddr // nil unless connected
	rq    *WaitQueue   // tasks blocked in ReadFrom

	mu       sync.Mutex
	rdl, wdl time.Time
	closed   bool
	stopped  bool          // the Loop stopped
	wake     chan struct{} // Loop: closed and replaced on every readiness change
	id       uint64        // Loop: stop-hook key
}

var (
	_ net.PacketConn = (*UDPConn)(nil)
	_ net.Conn       = (*UDPConn)(nil)
)

// ListenPacket opens a UDP socket on address (":53", "10.0.0.2:53",
// ":0" for an ephemeral port) over network "udp" or "udp4".
func (n *Net) ListenPacket(network, address string) (net.PacketConn, error) {
	ap, err := n.resolveUDP("listen", network, address)
	if err != nil {
		return nil, err
	}
	c, err := n.openUDP(ap, netip.AddrPort{})
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(ap), Err: mapErr("listen", err)}
	}
	return c, nil
}

// dialUDP opens a UDP socket connected to ap.
func (n *Net) dialUDP(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
	if err := ctx.Err(); errors.Is(err, context.Canceled) {
		return nil, &net.OpError{Op: "dial", Net: "udp", Addr: net.UDPAddrFromAddrPort(ap), Err: err}
	}
	c, err := n.openUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 0), ap)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "udp", Addr: net.UDPAddrFromAddrPort(ap), Err: mapErr("dial", err)}
	}
	return c, nil
}

// resolveUDP is resolve for the "udp" networks.
func (n *Net) resolveUDP(op, network, address string) (netip.AddrPort, error) {
	if err := n.usable(); err != nil {
		return netip.AddrPort{}, &net.OpError{Op: op, Net: network, Err: err}
	}
	if network != "udp" && network != "udp4" {
		return netip.AddrPort{}, &net.OpError{Op: op, Net: network, Err: fmt.Errorf("%w: network %q (UDP sockets take \"udp\" or \"udp4\")", ErrNetwork, network)}
	}
	ap, err := n.resolve(op, "tcp", address)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) {
			oe.Net = network
		}
		return netip.AddrPort{}, err
	}
	return ap, nil
}

// openUDP binds a socket to local and, when remote is valid, connects it,
// in scheduler context.
func (n *Net) openUDP(local, remote netip.AddrPort) (*UDPConn, error) {
	c := &UDPConn{n: n, wake: make(chan struct{})}
	open := func() error {
		su, err := n.h.ListenUDP(local)
		if err != nil {
			return err
		}
		if remote.IsValid() {
			if err := su.Connect(remote); err != nil {
				su.Close()
				return err
			}
			c.raddr = net.UDPAddrFromAddrPort(remote)
		}
		c.su = su
		c.laddr = net.UDPAddrFromAddrPort(su.LocalAddr())
		c.rq = NewWaitQueue("read " + su.String())
		su.SetNotify(c.notify)
		if n.loop != nil {
			c.id = loopIDs.Add(1)
			n.loop.onStop(c.id, c.loopStopped)
		}
		return nil
	}
	var err error
	if n.loop != nil {
		if cerr := n.loop.Call(func() { err = open() }); cerr != nil {
			return nil, cerr
		}
	} else {
		if n.task() == nil {
			return nil, ErrNotInTask
		}
		err = open()
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// notify runs in scheduler context when the stack socket becomes readable
// or has an error.
func (c *UDPConn) notify(stack.Event) {
	c.rq.WakeAll()
	c.broadcast()
}

// broadcast wakes every goroutine waiting on c (Loop driver).
func (c *UDPConn) broadcast() {
	c.mu.Lock()
	noteWake()
	close(c.wake)
	c.wake = make(chan struct{})
	c.mu.Unlock()
}

func (c *UDPConn) loopStopped() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.broadcast()
}

// LocalAddr returns the bound address as a *net.UDPAddr.
func (c *UDPConn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the connected peer as a *net.UDPAddr, or nil.
func (c *UDPConn) RemoteAddr() net.Addr {
	if c.raddr == nil {
		return nil
	}
	return c.raddr
}

func (c *UDPConn) opErr(op string, addr net.Addr, err error) error {
	if err == nil {
		return nil
	}
	if addr == nil && c.raddr != nil {
		addr = c.raddr
	}
	return &net.OpError{Op: op, Net: "udp", Source: c.laddr, Addr: addr, Err: mapErr(op, err)}
}

// do runs f in scheduler context: directly for tasks, through the Loop
// otherwise.
func (c *UDPConn) do(f func()) error {
	if c.n.loop == nil {
		if c.n.task() == nil {
			return ErrNotInTask
		}
		f()
		return nil
	}
	return c.n.loop.Call(f)
}

// Read reads one datagram from the connected peer; see ReadFrom.
func (c *UDPConn) Read(p []byte) (int, error) {
	n, _, err := c.ReadFrom(p)
	return n, err
}

// ReadFrom waits for a datagram and copies it into p; a datagram longer
// than p is cut to len(p), the rest lost. It fails with
// os.ErrDeadlineExceeded at the read deadline, net.ErrClosed after Close,
// and ECONNREFUSED (once) on a connected socket whose peer's port was
// unreachable.
func (c *UDPConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		c.mu.Lock()
		closed, stopped, dl, wake := c.closed, c.stopped, c.rdl, c.wake
		c.mu.Unlock()
		if closed || stopped {
			return 0, nil, c.opErr("read", nil, net.ErrClosed)
		}
		if c.n.loop == nil {
			t := c.n.task()
			if t == nil {
				return 0, nil, c.opErr("read", nil, ErrNotInTask)
			}
			vdl := c.n.virtual(dl)
			if vdl != 0 && vdl <= t.Now() {
				return 0, nil, c.opErr("read", nil, os.ErrDeadlineExceeded)
			}
			n, src, err := c.su.ReadFrom(p)
			if !errors.Is(err, stack.ErrWouldBlock) {
				return c.readResult(n, src, err)
			}
			t.Wait(c.rq, vdl)
			continue
		}
		if c.n.loop.passed(dl) {
			return 0, nil, c.opErr("read", nil, os.ErrDeadlineExceeded)
		}
		var n int
		var src netip.AddrPort
		var err error
		if cerr := c.n.loop.Call(func() { n, src, err = c.su.ReadFrom(p) }); cerr != nil {
			return 0, nil, c.opErr("read", nil, cerr)
		}
		if !errors.Is(err, stack.ErrWouldBlock) {
			return c.readResult(n, src, err)
		}
		if dl.IsZero() {
			<-wake
			continue
		}
		fired := make(chan struct{})
		tm := c.n.loop.afterFunc(dl, func() { close(fired) })
		select {
		case <-wake:
		case <-fired:
		}
		tm.Stop()
	}
}

func (c *UDPConn) readResult(n int, src netip.AddrPort, err error) (int, net.Addr, error) {
	if err != nil {
		return 0, nil, c.opErr("read", nil, err)
	}
	return n, net.UDPAddrFromAddrPort(src), nil
}

// Write sends p to the connected peer.
func (c *UDPConn) Write(p []byte) (int, error) {
	if c.raddr == nil {
		return 0, c.opErr("write", nil, errors.New("destination address required: the socket is not connected; use WriteTo"))
	}
	return c.write(p, netip.AddrPort{}, c.raddr)
}

// WriteTo sends p as one datagram to addr (a *net.UDPAddr or any address
// whose String is ip:port). It fails with EMSGSIZE when p does not fit the
// interface's MTU less 28 bytes (tcpsim does not fragment).
func (c *UDPConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	var ap netip.AddrPort
	switch a := addr.(type) {
	case *net.UDPAddr:
		if a == nil {
			return 0, c.opErr("write", addr, errors.New("nil address"))
		}
		ap = a.AddrPort()
	case nil:
		return 0, c.opErr("write", nil, errors.New("nil address"))
	default:
		var err error
		if ap, err = netip.ParseAddrPort(addr.String()); err != nil {
			return 0, c.opErr("write", addr, fmt.Errorf("address %q: %w", addr.String(), err))
		}
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	return c.write(p, ap, addr)
}

func (c *UDPConn) write(p []byte, ap netip.AddrPort, addr net.Addr) (int, error) {
	c.mu.Lock()
	closed, stopped, dl := c.closed, c.stopped, c.wdl
	c.mu.Unlock()
	if closed || stopped {
		return 0, c.opErr("write", addr, net.ErrClosed)
	}
	var past bool
	if c.n.loop == nil {
		if t := c.n.task(); t != nil {
			vdl := c.n.virtual(dl)
			past = vdl != 0 && vdl <= t.Now()
		}
	} else {
		past = c.n.loop.passed(dl)
	}
	if past {
		return 0, c.opErr("write", addr, os.ErrDeadlineExceeded)
	}
	var n int
	var err error
	if cerr := c.do(func() { n, err = c.su.WriteTo(p, ap) }); cerr != nil {
		return 0, c.opErr("write", addr, cerr)
	}
	if err != nil {
		return 0, c.opErr("write", addr, err)
	}
	return n, nil
}

// Close releases the port; blocked and later calls fail with net.ErrClosed.
func (c *UDPConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opErr("close", nil, net.ErrClosed)
	}
	c.closed = true
	c.mu.Unlock()
	err := c.do(func() {
		c.su.Close()
		if c.n.loop != nil {
			c.n.loop.offStop(c.id)
		}
		c.rq.WakeAll()
	})
	c.broadcast()
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrNotInTask) {
		return nil // the loop is gone (nothing left to release) or outside a task
	}
	return c.opErr("close", nil, err)
}

// SetDeadline sets both deadlines.
func (c *UDPConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline and wakes a blocked ReadFrom to
// judge it.
func (c *UDPConn) SetReadDeadline(t time.Time) error {
	if c.n.loop != nil {
		t = c.n.loop.frame(t)
	}
	c.mu.Lock()
	c.rdl = t
	c.mu.Unlock()
	if c.n.loop == nil {
		if c.n.task() != nil {
			c.rq.WakeAll()
		}
	}
	c.broadcast()
	return nil
}

// SetWriteDeadline sets the write deadline.
func (c *UDPConn) SetWriteDeadline(t time.Time) error {
	if c.n.loop != nil {
		t = c.n.loop.frame(t)
	}
	c.mu.Lock()
	c.wdl = t
	c.mu.Unlock()
	return nil
}
