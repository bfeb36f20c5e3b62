package sim

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// The virtual driver's side of the socket layer. Every function here runs
// in a task, which is scheduler context: it calls the stack directly and
// blocks by parking the task on a WaitQueue that the stack's readiness
// callback wakes.

// task returns the running task, or nil.
func (n *Net) task() *Task { return n.w.CurrentTask() }

// newConn wraps a stack connection and installs its readiness callback.
func (n *Net) newConn(sc *stack.Conn, established bool) *Conn {
	c := &Conn{
		n:           n,
		sc:          sc,
		laddr:       net.TCPAddrFromAddrPort(sc.LocalAddr()),
		raddr:       net.TCPAddrFromAddrPort(sc.RemoteAddr()),
		established: established,
		wlowat:      max(1, sc.Writable()/3),
		lowat:       sc.Host().Config().NotSentLowat > 0,
	}
	name := sc.LocalAddr().String() + "->" + sc.RemoteAddr().String()
	c.rq = NewWaitQueue("read " + name)
	c.wq = NewWaitQueue("write " + name)
	sc.SetNotify(c.taskNotify)
	return c
}

func (c *Conn) taskNotify(ev stack.Event) {
	if ev&stack.EventEstablished != 0 {
		c.established = true
	}
	if c.readClosed && !c.closed && ev&stack.EventReadable != 0 {
		c.discard()
	}
	if ev&(stack.EventReadable|stack.EventEstablished|stack.EventError|stack.EventClosed) != 0 {
		c.rq.WakeAll()
	}
	// Writers wake when a third of the send buffer is free (as Linux's
	// sk_stream_wspace test), not on every ACK: fewer task switches, and
	// each Write moves a useful amount.
	if ev&(stack.EventEstablished|stack.EventError|stack.EventClosed) != 0 ||
		ev&stack.EventWritable != 0 && (c.sc.Writable() >= c.wlowat || c.lowat && c.sc.WriteReady()) {
		c.wq.WakeAll()
	}
}

// discard drops received bytes after CloseRead.
func (c *Conn) discard() {
	var buf [4096]byte
	for {
		if n, err := c.sc.Read(buf[:]); n == 0 || err != nil {
			return
		}
	}
}

// ctxDeadline returns ctx's deadline in virtual time (0: none).
func (n *Net) ctxDeadline(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return n.virtual(d)
	}
	return 0
}

// ctxPoll is how often a task dialing with a cancellable context checks it.
const ctxPoll = time.Millisecond

func (n *Net) taskDial(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
	raddr := net.TCPAddrFromAddrPort(ap)
	fail := func(err error) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: err}
	}
	t := n.task()
	if t == nil {
		return fail(ErrNotInTask)
	}
	// A context's deadline is read on the simulator's clock (see Net); the
	// context package judges it against the wall clock, so only an
	// explicit cancellation counts from ctx.Err.
	canceled := func() error {
		if err := ctx.Err(); errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
	if err := canceled(); err != nil {
		return fail(err)
	}
	dl := n.ctxDeadline(ctx)
	if dl != 0 && dl <= t.Now() {
		return fail(context.DeadlineExceeded)
	}
	sc, err := n.connect(ctx, ap) // net_fastopen.go: Fast Open when ctx asks
	if err != nil {
		return fail(mapErr("dial", err))
	}
	c := n.newConn(sc, false)
	for !dialDone(c) {
		if err := sc.Err(); err != nil {
			return nil, c.opErr("dial", err)
		}
		if err := canceled(); err != nil {
			sc.Abort()
			return nil, c.opErr("dial", err)
		}
		// A cancellable context is checked every millisecond of virtual
		// time: its cancellation happens outside the simulator's wait
		// queues, so nothing else would wake the task for it.
		wake := dl
		if ctx.Done() != nil && ctx.Err() == nil {
			if poll := t.Now() + ctxPoll; wake == 0 || poll < wake {
				wake = poll
			}
		}
		if !t.Wait(c.wq, wake) && wake == dl {
			sc.Abort()
			return nil, c.opErr("dial", context.DeadlineExceeded)
		}
	}
	return c, nil
}

func (c *Conn) taskRead(p []byte) (int, error) {
	t := c.n.task()
	if t == nil {
		return 0, c.opErr("read", ErrNotInTask)
	}
	for {
		// The order of the checks is the net package's: a closed socket,
		// then an empty read (never blocks, never fails), then the
		// deadline (even with data buffered), then the socket itself.
		if c.closed {
			return 0, c.opErr("read", net.ErrClosed)
		}
		if len(p) == 0 {
			return 0, nil
		}
		dl := c.n.virtual(c.rdl)
		if dl != 0 && dl <= t.Now() {
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		}
		if c.readClosed {
			return 0, io.EOF
		}
		n, err := c.sc.Read(p)
		if !errors.Is(err, stack.ErrWouldBlock) {
			return n, c.opErr("read", err)
		}
		t.Wait(c.rq, dl)
	}
}

func (c *Conn) taskWrite(p []byte) (int, error) {
	t := c.n.task()
	if t == nil {
		return 0, c.opErr("write", ErrNotInTask)
	}
	done := 0
	for {
		// As the net package: a closed socket first, then the deadline
		// (before any byte is taken, even when the buffer has room).
		if c.closed {
			return done, c.opErr("write", net.ErrClosed)
		}
		if done == len(p) && done > 0 {
			return done, nil
		}
		dl := c.n.virtual(c.wdl)
		if dl != 0 && dl <= t.Now() {
			return done, c.opErr("write", os.ErrDeadlineExceeded)
		}
		if done == len(p) {
			return 0, nil
		}
		n, err := c.sc.Write(p[done:])
		done += n
		if err == nil {
			continue
		}
		if !errors.Is(err, stack.ErrWouldBlock) {
			return done, c.opErr("write", err)
		}
		t.Wait(c.wq, dl)
	}
}

func (c *Conn) taskClose() error {
	if c.closed {
		return c.opErr("close", net.ErrClosed)
	}
	c.closed, c.readClosed = true, true
	err := c.sc.Close()
	c.rq.WakeAll()
	c.wq.WakeAll()
	if errors.Is(err, stack.ErrClosed) {
		err = nil // the stack already forgot the connection (reset, abort)
	}
	return c.opErr("close", err)
}

func (c *Conn) taskCloseWrite() error {
	if c.closed {
		return c.opErr("close", net.ErrClosed)
	}
	err := c.sc.CloseWrite()
	// A Write blocked for buffer space fails now with EPIPE, as on a
	// *net.TCPConn: the stack refuses bytes after the FIN is queued, but
	// it raises no event that would wake the writer.
	c.wq.WakeAll()
	return c.opErr("close", err)
}

func (c *Conn) taskCloseRead() error {
	if c.closed {
		return c.opErr("close", net.ErrClosed)
	}
	c.readClosed = true
	c.discard()
	c.rq.WakeAll()
	return nil
}

func (c *Conn) taskAbort() error {
	if c.closed {
		return c.opErr("close", net.ErrClosed)
	}
	c.closed, c.readClosed = true, true
	err := c.sc.Abort()
	c.rq.WakeAll()
	c.wq.WakeAll()
	if errors.Is(err, stack.ErrClosed) {
		err = nil
	}
	return c.opErr("close", err)
}

// Listener is a blocking TCP listener on a simulated host; it implements
// net.Listener. Accept returns *Conn values.
type Listener struct {
	n      *Net
	sl     *stack.Listener
	addr   *net.TCPAddr
	q      *WaitQueue
	lcl    *loopListener // wall-clock driver state; nil for tasks
	closed bool
}

var _ net.Listener = (*Listener)(nil)

func (n *Net) taskListen(ap netip.AddrPort) (net.Listener, error) {
	sl, err := n.h.ListenAddr(ap, listenBacklog)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: mapErr("listen", err)}
	}
	l := &Listener{n: n, sl: sl, addr: net.TCPAddrFromAddrPort(sl.Addr()), q: NewWaitQueue("accept " + ap.String())}
	sl.SetNotify(func(stack.Event) { l.q.WakeAll() })
	return l, nil
}

// Accept waits for and returns the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	if l.lcl != nil {
		return l.loopAccept()
	}
	t := l.n.task()
	if t == nil {
		return nil, l.opErr(ErrNotInTask)
	}
	for {
		if l.closed {
			return nil, l.opErr(net.ErrClosed)
		}
		sc, err := l.sl.Accept()
		if err == nil {
			return l.n.newConn(sc, true), nil
		}
		if !errors.Is(err, stack.ErrWouldBlock) {
			return nil, l.opErr(mapErr("accept", err))
		}
		t.Wait(l.q, 0)
	}
}

// Close stops listening; a blocked Accept returns net.ErrClosed.
// Connections not yet accepted are reset.
func (l *Listener) Close() error {
	if l.lcl != nil {
		return l.loopClose()
	}
	if l.closed {
		return l.opErr(net.ErrClosed)
	}
	l.closed = true
	l.sl.Close()
	l.q.WakeAll()
	return nil
}

// Addr returns the listening address as a *net.TCPAddr.
func (l *Listener) Addr() net.Addr { return l.addr }

func (l *Listener) opErr(err error) error {
	return &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: err}
}

// listenBacklog is the backlog of listeners opened through Net, as
// Linux's default somaxconn.
const listenBacklog = 4096
