package simnet

import (
	"context"
	"net"
	"time"

	"github.com/tcpsim/tcpsim/sim"
)

// The Tasks driver: every socket call runs in a simulator task of its own,
// spawned through the Loop, and the calling goroutine waits for it. A call
// that blocks parks its task on the simulator's wait queues, as a task's
// own call would, so the sockets are the virtual driver's.

// inTask runs fn in a new task and waits; false if the loop stopped first.
func inTask(l *sim.Loop, fn func()) bool {
	done := make(chan struct{})
	l.Do(func() {
		l.World().Spawn("simnet-call", func(*sim.Task) {
			fn()
			close(done)
		})
	})
	select {
	case <-done:
		return true
	case <-l.Done():
		return false
	}
}

type taskConn struct {
	c *sim.Conn
	l *sim.Loop
}

func (b *taskConn) closed(op string) error {
	return &net.OpError{Op: op, Net: "tcp", Source: b.c.LocalAddr(), Addr: b.c.RemoteAddr(), Err: net.ErrClosed}
}

func (b *taskConn) Read(p []byte) (k int, err error) {
	if !inTask(b.l, func() { k, err = b.c.Read(p) }) {
		return 0, b.closed("read")
	}
	return k, err
}

func (b *taskConn) Write(p []byte) (k int, err error) {
	if !inTask(b.l, func() { k, err = b.c.Write(p) }) {
		return 0, b.closed("write")
	}
	return k, err
}

func (b *taskConn) do(op string, f func() error) (err error) {
	if !inTask(b.l, func() { err = f() }) {
		return b.closed(op)
	}
	return err
}

func (b *taskConn) Close() error      { return b.do("close", b.c.Close) }
func (b *taskConn) CloseWrite() error { return b.do("close", b.c.CloseWrite) }
func (b *taskConn) CloseRead() error  { return b.do("close", b.c.CloseRead) }
func (b *taskConn) Abort() error      { return b.do("close", b.c.Abort) }
func (b *taskConn) SetDeadline(t time.Time) error {
	return b.do("set", func() error { return b.c.SetDeadline(t) })
}
func (b *taskConn) SetReadDeadline(t time.Time) error {
	return b.do("set", func() error { return b.c.SetReadDeadline(t) })
}
func (b *taskConn) SetWriteDeadline(t time.Time) error {
	return b.do("set", func() error { return b.c.SetWriteDeadline(t) })
}
func (b *taskConn) LocalAddr() net.Addr  { return b.c.LocalAddr() }
func (b *taskConn) RemoteAddr() net.Addr { return b.c.RemoteAddr() }

type taskListener struct {
	ln net.Listener
	l  *sim.Loop
}

func (t *taskListener) Accept() (c net.Conn, err error) {
	if !inTask(t.l, func() { c, err = t.ln.Accept() }) {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: t.ln.Addr(), Err: net.ErrClosed}
	}
	if err != nil {
		return nil, err
	}
	return &taskConn{c: c.(*sim.Conn), l: t.l}, nil
}

func (t *taskListener) Close() (err error) {
	if !inTask(t.l, func() { err = t.ln.Close() }) {
		return &net.OpError{Op: "close", Net: "tcp", Addr: t.ln.Addr(), Err: net.ErrClosed}
	}
	return err
}

func (t *taskListener) Addr() net.Addr { return t.ln.Addr() }

// netDial and netListen call the incarnation's sim.Net under either driver.
func (n *Net) netDial(inc *incarnation, ctx context.Context, network, address string) (c net.Conn, err error) {
	if n.opts.Driver != Tasks {
		return inc.sn.DialContext(ctx, network, address)
	}
	if !inTask(n.loop, func() { c, err = inc.sn.DialContext(ctx, network, address) }) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.ErrClosed}
	}
	if err != nil {
		return nil, err
	}
	return &taskConn{c: c.(*sim.Conn), l: n.loop}, nil
}

func (n *Net) netListen(inc *incarnation, address string) (ln net.Listener, err error) {
	if n.opts.Driver != Tasks {
		return inc.sn.Listen("tcp", address)
	}
	if !inTask(n.loop, func() { ln, err = inc.sn.Listen("tcp", address) }) {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Err: net.ErrClosed}
	}
	if err != nil {
		return nil, err
	}
	return &taskListener{ln: ln, l: n.loop}, nil
}
