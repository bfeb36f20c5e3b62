package sim

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// The wall-clock driver's side of the socket layer. Application goroutines
// touch only a socket's own buffers and flags, under the Conn's mutex, and
// kick the loop; the loop moves bytes between those buffers and the stack
// in scheduler context (service), in socket-id order, one nanosecond after
// the kick. No mutex is held across a blocking wait other than the
// sync.Cond's own, and no stack call is made while holding a Conn's mutex.

// loopBufSize is the size of each direction's ring between a goroutine and
// the stack. The stack's own buffers (and windows) sit behind it.
const loopBufSize = 64 << 10

// byteRing is a fixed-size circular byte buffer between one producer and one
// consumer, guarded by the owning Conn's mutex. Either side may take a view
// of its region under the mutex (the held bytes for the consumer, the free
// space for the producer), copy into or out of it without the mutex, and
// then consume or commit under the mutex again: the two regions never
// overlap, and the other side only ever shrinks its own region. Only the
// producer moves head back to the start of an empty ring (reset), so a view
// the producer does not hold is never invalidated.
type byteRing struct {
	buf  []byte // allocated on first use, loopBufSize bytes
	head int    // index of the first held byte
	n    int    // bytes held
}

// free returns how many bytes the ring can take.
func (r *byteRing) free() int { return loopBufSize - r.n }

// held returns the held bytes, oldest first, as at most two slices.
func (r *byteRing) held() (a, b []byte) {
	end := r.head + r.n
	if end <= len(r.buf) {
		return r.buf[r.head:end], nil
	}
	return r.buf[r.head:], r.buf[:end-len(r.buf)]
}

// space returns the free space, in the order it fills, as at most two
// slices. It allocates the buffer on first use and, when the ring is empty,
// moves head to the start so that the space is one slice. Producer only.
func (r *byteRing) space() (a, b []byte) {
	if r.buf == nil {
		r.buf = make([]byte, loopBufSize)
	}
	if r.n == 0 {
		r.head = 0
	}
	tail := r.head + r.n
	if tail >= len(r.buf) {
		return r.buf[tail-len(r.buf) : r.head], nil
	}
	return r.buf[tail:], r.buf[:r.head]
}

// commit adds k bytes written into the space to the held bytes.
func (r *byteRing) commit(k int) { r.n += k }

// consume drops the k oldest held bytes.
func (r *byteRing) consume(k int) {
	r.head += k
	if r.head >= len(r.buf) {
		r.head -= len(r.buf)
	}
	r.n -= k
}

// write copies as much of p as fits and returns how many bytes it took.
// Producer only.
func (r *byteRing) write(p []byte) int {
	a, b := r.space()
	k := copy(a, p)
	k += copy(b, p[k:])
	r.commit(k)
	return k
}

// read copies the oldest held bytes into p and returns how many it took.
// Consumer only.
func (r *byteRing) read(p []byte) int {
	a, b := r.held()
	k := copy(p, a)
	k += copy(p[k:], b)
	r.consume(k)
	return k
}

// loopIDs numbers loop sockets in the order they are created in scheduler
// context, which is deterministic within a world; kicks run in this order.
var loopIDs atomic.Uint64

// NewLoopNet returns the blocking socket API of h for ordinary goroutines,
// driven by l. h must belong to l's world.
func NewLoopNet(l *Loop, h *stack.Host) *Net {
	if l == nil || h == nil {
		panic("sim: NewLoopNet needs the *Loop from World.StartLoop and a *stack.Host from World.AddHost")
	}
	return &Net{w: l.World(), h: h, loop: l, name: h.Name()}
}

// loopConn is a Conn's state under the wall-clock driver. Fields marked
// "loop" are used only in scheduler context; the rest are guarded by the
// Conn's mu.
type loopConn struct {
	id uint64
	// rcond wakes goroutines blocked in Read or Dial, wcond those blocked
	// in Write; rwait and wwait count them, so that the loop signals only
	// when someone waits for what changed.
	rcond, wcond *sync.Cond
	rwait, wwait int

	// rbuf holds received bytes not yet read by the application (the
	// loop produces, the application consumes); wbuf holds bytes written
	// by the application and not yet taken by the stack (the application
	// produces, the loop consumes). See byteRing for how each side copies
	// without the mutex.
	rbuf, wbuf byteRing
	rfull      bool  // the loop stopped draining the stack because rbuf was full
	rerr       error // io.EOF or the terminal error, after rbuf is consumed
	werr       error // terminal write error
	dialed     bool  // the dial finished (established or failed)
	// kicked is set while a kick of this socket is waiting for the loop's
	// service step; further kicks until then are redundant, because the
	// service reads the state as it is when it runs.
	kicked bool

	wantCloseWrite, wantClose, wantAbort bool
	// stopped is set when the loop stopped (Loop.Close) before the
	// application closed the socket: blocked and later calls fail with
	// net.ErrClosed instead of waiting for a service that never comes.
	stopped bool

	rtimer, wtimer stopper // wake blocked calls at a deadline

	// serviceFn is c.service, made once (a method value allocates).
	serviceFn func()

	// loop
	inService, again     bool
	sentCloseWrite, gone bool
}

func (n *Net) newLoopConn(sc *stack.Conn) *Conn {
	c := &Conn{
		n:     n,
		sc:    sc,
		laddr: net.TCPAddrFromAddrPort(sc.LocalAddr()),
		raddr: net.TCPAddrFromAddrPort(sc.RemoteAddr()),
		lc:    &loopConn{id: loopIDs.Add(1)},
	}
	c.lc.rcond = sync.NewCond(&c.mu)
	c.lc.wcond = sync.NewCond(&c.mu)
	c.lc.serviceFn = c.service
	sc.SetNotify(func(stack.Event) { c.service() })
	n.loop.onStop(c.lc.id, c.loopStopped)
	return c
}

// loopStopped fails the calls blocked on c once the loop has stopped.
func (c *Conn) loopStopped() {
	c.mu.Lock()
	c.lc.stopped = true
	c.lc.wakeAll()
	c.mu.Unlock()
}

// kick asks the loop to service c.
func (c *Conn) kick() {
	c.mu.Lock()
	c.kickLocked()
	c.mu.Unlock()
}

// kickLocked is kick with c.mu held. It does nothing while an earlier kick
// still waits for the service step.
func (c *Conn) kickLocked() {
	if c.lc.kicked {
		return
	}
	c.lc.kicked = true
	c.n.loop.Kick(c.lc.id, c.lc.serviceFn)
}

// service moves bytes and requests between the application's side and the
// stack. It runs in scheduler context, from a kick or a readiness event.
func (c *Conn) service() {
	lc := c.lc
	if lc.inService {
		lc.again = true
		return
	}
	lc.inService = true
	defer func() { lc.inService = false }()
	for {
		lc.again = false
		c.serviceOnce()
		if !lc.again {
			return
		}
	}
}

func (c *Conn) serviceOnce() {
	lc, sc := c.lc, c.sc
	if lc.gone {
		return
	}
	// Take views of the application's bytes and of the free receive space
	// under the mutex, then copy between them and the stack without it:
	// the application touches neither region until they are handed back.
	// The receive ring is allocated only once there are bytes to put in
	// it, so that an idle connection costs no ring.
	readable := sc.Readable() > 0
	c.mu.Lock()
	lc.kicked = false
	wa, wb := lc.wbuf.held()
	wantCW, wantClose, wantAbort := lc.wantCloseWrite, lc.wantClose, lc.wantAbort
	readClosed := c.readClosed
	ringless := lc.rbuf.buf == nil && !readable
	var ra, rb []byte
	if !ringless {
		ra, rb = lc.rbuf.space()
	}
	c.mu.Unlock()

	if wantAbort {
		sc.Abort()
		lc.gone = true
		c.n.loop.offStop(lc.id)
		c.mu.Lock()
		lc.wbuf.consume(lc.wbuf.n)
		lc.wakeAll()
		c.mu.Unlock()
		return
	}

	// Application bytes into the stack.
	taken, werr := loopToStack(sc, wa)
	if taken == len(wa) && werr == nil {
		var k int
		k, werr = loopToStack(sc, wb)
		taken += k
	}
	if (wantCW || wantClose) && taken == len(wa)+len(wb) && werr == nil && !lc.sentCloseWrite {
		lc.sentCloseWrite = true
		if err := sc.CloseWrite(); err != nil && !errors.Is(err, stack.ErrClosed) {
			werr = err
		}
	}

	// Stack bytes into the application's ring, or into the ring's free
	// space as a scratch area to discard them after CloseRead.
	var got int
	var rfull bool
	var rerr error
	if ringless {
		rerr = loopStackErr(sc)
	} else {
		got, rfull, rerr = loopFromStack(sc, ra, rb)
		for readClosed && rfull && rerr == nil {
			_, rfull, rerr = loopFromStack(sc, ra, rb)
		}
	}

	if wantClose && lc.sentCloseWrite {
		// Everything written has reached the stack and the FIN is
		// queued; the stack finishes the close on its own.
		if err := sc.Close(); err != nil && !errors.Is(err, stack.ErrClosed) && werr == nil {
			werr = err
		}
		lc.gone = true
		c.n.loop.offStop(lc.id)
	}

	c.mu.Lock()
	lc.wbuf.consume(taken)
	if werr != nil && lc.werr == nil {
		lc.werr = werr
	}
	if !c.readClosed && !readClosed {
		lc.rbuf.commit(got)
		lc.rfull = rfull
	}
	if rerr != nil && lc.rerr == nil {
		lc.rerr = rerr
	}
	wakeR := lc.rbuf.n > 0 || lc.rerr != nil
	if !lc.dialed {
		switch {
		case sc.Err() != nil:
			lc.dialed, wakeR = true, true
			if lc.rerr == nil {
				lc.rerr = sc.Err()
			}
		case sc.State() >= stack.StateEstablished:
			lc.dialed, wakeR = true, true
			c.established = true
		}
	}
	if err := sc.Err(); err != nil {
		if lc.werr == nil {
			lc.werr = err
		}
		if lc.rerr == nil {
			lc.rerr, wakeR = err, true
		}
	}
	// Wake readers (and dialers) when there is something to return, and
	// writers only once half the ring is free or on an error, so that a
	// writer refills the ring in large pieces rather than one segment's
	// worth per acknowledgment.
	if lc.rwait > 0 && wakeR {
		noteWake()
		lc.rcond.Broadcast()
	}
	if lc.wwait > 0 && (lc.wbuf.free() >= loopBufSize/2 || lc.werr != nil) {
		noteWake()
		lc.wcond.Broadcast()
	}
	c.mu.Unlock()
}

// wakeAll wakes every goroutine blocked on the connection; c.mu is held.
func (lc *loopConn) wakeAll() {
	noteWake()
	lc.rcond.Broadcast()
	noteWake()
	lc.wcond.Broadcast()
}

// waitRead and waitWrite block a reader or a writer until the loop or
// another goroutine signals it; c.mu is held (and released while waiting).
func (lc *loopConn) waitRead() {
	lc.rwait++
	lc.rcond.Wait()
	lc.rwait--
}

func (lc *loopConn) waitWrite() {
	lc.wwait++
	lc.wcond.Wait()
	lc.wwait--
}

// loopToStack writes p into the stack's send buffer and returns how much it
// took, and the error that stopped it other than a full buffer.
func loopToStack(sc *stack.Conn, p []byte) (int, error) {
	taken := 0
	for taken < len(p) {
		n, err := sc.Write(p[taken:])
		taken += n
		if err != nil {
			if errors.Is(err, stack.ErrWouldBlock) {
				err = nil
			}
			return taken, err
		}
	}
	return taken, nil
}

// loopFromStack reads from the stack into a and then b. It returns how many
// bytes it read, whether it stopped only because a and b were full, and the
// error that stopped it other than an empty buffer (io.EOF included).
func loopFromStack(sc *stack.Conn, a, b []byte) (int, bool, error) {
	got := 0
	for _, p := range [2][]byte{a, b} {
		for len(p) > 0 {
			n, err := sc.Read(p)
			got += n
			p = p[n:]
			if n == 0 || err != nil {
				if errors.Is(err, stack.ErrWouldBlock) {
					err = nil
				}
				return got, false, err
			}
		}
	}
	return got, true, nil
}

// loopStackErr returns what a read would end with on a connection with no
// received bytes: io.EOF, the terminal error, or nil while it may still
// receive.
func loopStackErr(sc *stack.Conn) error {
	_, err := sc.Read(nil)
	if errors.Is(err, stack.ErrWouldBlock) {
		return nil
	}
	return err
}

func (n *Net) loopDial(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
	raddr := net.TCPAddrFromAddrPort(ap)
	if err := ctx.Err(); err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: err}
	}
	var c *Conn
	var err error
	if cerr := n.loop.Call(func() {
		var sc *stack.Conn
		sc, err = n.h.Connect(netip.Addr{}, ap)
		if err == nil {
			c = n.newLoopConn(sc)
			c.service()
		}
	}); cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: mapErr("dial", err)}
	}
	lc := c.lc
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		noteWake()
		lc.rcond.Broadcast()
		c.mu.Unlock()
	})
	defer stop()
	c.mu.Lock()
	for !lc.dialed && ctx.Err() == nil && !lc.stopped {
		lc.waitRead()
	}
	established, rerr, stopped := c.established, lc.rerr, lc.stopped
	if !established && rerr == nil {
		lc.wantAbort = true
	}
	c.mu.Unlock()
	switch {
	case established:
		return c, nil
	case rerr != nil:
		return nil, c.opErr("dial", rerr)
	case stopped:
		return nil, c.opErr("dial", errLoopClosed)
	}
	c.kick()
	return nil, c.opErr("dial", ctx.Err())
}

func (c *Conn) loopRead(p []byte) (int, error) {
	lc := c.lc
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		// The order of the checks is the net package's: a closed socket,
		// an empty read (never blocks, never fails), the deadline (even
		// with data buffered), then what the socket holds.
		switch {
		case c.closed:
			return 0, c.opErr("read", net.ErrClosed)
		case len(p) == 0:
			return 0, nil
		case c.n.loop.passed(c.rdl):
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		case c.readClosed:
			return 0, io.EOF
		case lc.rbuf.n > 0:
			n := lc.rbuf.read(p)
			if lc.rfull && lc.rbuf.n <= loopBufSize/2 {
				lc.rfull = false
				c.kickLocked()
			}
			return n, nil
		case lc.rerr != nil:
			return 0, c.opErr("read", lc.rerr)
		case lc.stopped:
			return 0, c.opErr("read", errLoopClosed)
		}
		lc.waitRead()
	}
}

func (c *Conn) loopWrite(p []byte) (int, error) {
	lc := c.lc
	c.mu.Lock()
	defer c.mu.Unlock()
	done := 0
	for {
		// As the net package: a closed socket first, then the deadline
		// (before any byte is taken, even when the ring has room).
		switch {
		case c.closed:
			return done, c.opErr("write", net.ErrClosed)
		case done == len(p) && done > 0 && c.n.loop.virtual && lc.wbuf.n > 0 && lc.werr == nil && !lc.stopped:
			// On a virtual loop a Write returns once its bytes are in the
			// stack's send buffer, as a kernel's write(2) does, not when
			// they are in the ring: otherwise two writes at one instant
			// would reach TCP as one, and Nagle's algorithm, PSH and
			// segment boundaries would not be what the application asked.
			lc.waitWrite()
			continue
		case done == len(p) && done > 0:
			return done, nil
		case c.n.loop.passed(c.wdl):
			return done, c.opErr("write", os.ErrDeadlineExceeded)
		case lc.werr != nil:
			return done, c.opErr("write", lc.werr)
		case lc.wantCloseWrite:
			return done, c.opErr("write", os.NewSyscallError("write", syscall.EPIPE))
		case lc.stopped:
			return done, c.opErr("write", errLoopClosed)
		case done == len(p):
			return done, nil
		}
		if lc.wbuf.free() > 0 {
			done += lc.wbuf.write(p[done:])
			c.kickLocked()
			continue
		}
		lc.waitWrite()
	}
}

func (c *Conn) loopClose() error {
	lc := c.lc
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opErr("close", net.ErrClosed)
	}
	c.closed, c.readClosed = true, true
	if lc.rbuf.n > 0 {
		// Unread data: reset, as Linux does (RFC 2525 §2.17).
		lc.wantAbort = true
	}
	lc.wantClose = true
	lc.rbuf.consume(lc.rbuf.n)
	c.stopTimers()
	lc.wakeAll()
	c.mu.Unlock()
	c.kick()
	return nil
}

func (c *Conn) loopCloseWrite() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opErr("close", net.ErrClosed)
	}
	c.lc.wantCloseWrite = true
	// A Write blocked for ring space fails now with EPIPE, as on a
	// *net.TCPConn, instead of waiting for the peer to drain the ring.
	noteWake()
	c.lc.wcond.Broadcast()
	c.mu.Unlock()
	c.kick()
	return nil
}

func (c *Conn) loopCloseRead() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opErr("close", net.ErrClosed)
	}
	c.readClosed = true
	c.lc.rbuf.consume(c.lc.rbuf.n)
	c.lc.wakeAll()
	c.kickLocked()
	return nil
}

func (c *Conn) loopAbort() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opErr("close", net.ErrClosed)
	}
	c.closed, c.readClosed = true, true
	c.lc.wantAbort = true
	c.stopTimers()
	c.lc.wakeAll()
	c.mu.Unlock()
	c.kick()
	return nil
}

func (c *Conn) loopSetDeadline(t time.Time, rd, wr bool) {
	t = c.n.loop.frame(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	lc := c.lc
	arm := func(tm *stopper) {
		if *tm != nil {
			(*tm).Stop()
			*tm = nil
		}
		if t.IsZero() {
			return
		}
		*tm = c.n.loop.afterFunc(t, func() {
			c.mu.Lock()
			lc.wakeAll()
			c.mu.Unlock()
		})
	}
	if rd {
		c.rdl = t
		arm(&lc.rtimer)
	}
	if wr {
		c.wdl = t
		arm(&lc.wtimer)
	}
	lc.wakeAll()
}

// stopTimers stops deadline timers; c.mu is held.
func (c *Conn) stopTimers() {
	for _, tm := range []*stopper{&c.lc.rtimer, &c.lc.wtimer} {
		if *tm != nil {
			(*tm).Stop()
			*tm = nil
		}
	}
}

// loopListener is a Listener's state under the wall-clock driver.
//
// Connections are taken from the engine's accept queue only for Accept
// calls that wait for them: the others stay in the engine, where the
// listen backlog bounds them (and SYNs beyond it are dropped and counted,
// stack.Counters.TCPListenOverflows), so a listener that nobody accepts on
// costs no more than its backlog of engine connections, and no rings.
type loopListener struct {
	id     uint64 // socket id: the key of the listener's kicks and stop hook
	pollFn func() // l.loopPoll, made once

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*Conn // taken from the engine for a waiting Accept, not yet returned
	waiting int     // Accept calls blocked now
	kicked  bool    // a kick of loopPoll waits for the loop's service
	closed  bool
	stopped bool // the loop stopped: Accept fails with net.ErrClosed
	pulled  int  // connections taken from the engine so far
}

func (n *Net) loopListen(ap netip.AddrPort) (net.Listener, error) {
	laddr := net.TCPAddrFromAddrPort(ap)
	l := &Listener{n: n, addr: laddr, lcl: &loopListener{}}
	ll := l.lcl
	ll.cond = sync.NewCond(&ll.mu)
	ll.pollFn = l.loopPoll
	var err error
	if cerr := n.loop.Call(func() {
		l.sl, err = n.h.ListenAddr(ap, listenBacklog)
		if err == nil {
			ll.id = loopIDs.Add(1)
			l.addr = net.TCPAddrFromAddrPort(l.sl.Addr())
			l.sl.SetNotify(func(stack.Event) { l.loopPoll() })
			n.loop.onStop(ll.id, l.loopStopped)
		}
	}); cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "tcp", Addr: laddr, Err: mapErr("listen", err)}
	}
	return l, nil
}

// loopPoll takes ready connections from the engine, as many as there are
// Accept calls waiting without a connection (scheduler context).
func (l *Listener) loopPoll() {
	ll := l.lcl
	for {
		ll.mu.Lock()
		ll.kicked = false
		want := !ll.closed && ll.waiting > len(ll.queue)
		ll.mu.Unlock()
		if !want {
			return
		}
		sc, err := l.sl.Accept()
		if err != nil {
			return
		}
		c := l.n.newLoopConn(sc)
		c.established, c.lc.dialed = true, true
		c.service()
		ll.mu.Lock()
		if ll.closed {
			ll.mu.Unlock()
			c.Abort()
			continue
		}
		ll.queue = append(ll.queue, c)
		ll.pulled++
		noteWake()
		ll.cond.Broadcast()
		ll.mu.Unlock()
	}
}

// loopStopped fails the Accept calls blocked on l once the loop stopped.
func (l *Listener) loopStopped() {
	ll := l.lcl
	ll.mu.Lock()
	ll.stopped = true
	noteWake()
	ll.cond.Broadcast()
	ll.mu.Unlock()
}

func (l *Listener) loopAccept() (net.Conn, error) {
	ll := l.lcl
	ll.mu.Lock()
	defer ll.mu.Unlock()
	for {
		switch {
		case ll.closed:
			return nil, l.opErr(net.ErrClosed)
		case len(ll.queue) > 0:
			c := ll.queue[0]
			ll.queue[0] = nil
			ll.queue = ll.queue[1:]
			return c, nil
		case ll.stopped:
			return nil, l.opErr(errLoopClosed)
		}
		// Ask the loop for a connection: one that is already waiting in
		// the engine raises no new event.
		ll.waiting++
		if !ll.kicked {
			ll.kicked = true
			l.n.loop.Kick(ll.id, ll.pollFn)
		}
		ll.cond.Wait()
		ll.waiting--
	}
}

func (l *Listener) loopClose() error {
	ll := l.lcl
	ll.mu.Lock()
	if ll.closed {
		ll.mu.Unlock()
		return l.opErr(net.ErrClosed)
	}
	ll.closed = true
	pending := ll.queue
	ll.queue = nil
	noteWake()
	ll.cond.Broadcast()
	ll.mu.Unlock()
	for _, c := range pending {
		c.Abort()
	}
	// The engine resets the connections still in its accept queue.
	l.n.loop.Do(func() {
		l.sl.Close()
		l.n.loop.offStop(ll.id)
	})
	return nil
}
