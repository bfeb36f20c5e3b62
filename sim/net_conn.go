package sim

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/tcpsim/tcpsim/stack"
)

// Conn is a blocking TCP connection on a simulated host. It implements
// net.Conn, plus CloseWrite and CloseRead as *net.TCPConn does. Multiple
// goroutines (or tasks) may call its methods at once.
//
// Read returns io.EOF once the peer's FIN has been read; other failures are
// *net.OpError values: errors.Is(err, syscall.ECONNRESET) after a reset,
// syscall.ETIMEDOUT when retransmissions ran out, os.ErrDeadlineExceeded
// (a net.Error whose Timeout is true) when a deadline passed, and
// net.ErrClosed after Close (or, for a Loop's Net, once the Loop closed).
// As in the net package, a deadline that has passed fails Read and Write
// before any byte moves, even when received data is waiting.
type Conn struct {
	n            *Net
	sc           *stack.Conn // touched only in scheduler context
	laddr, raddr *net.TCPAddr

	// Virtual driver: tasks blocked in Read, Write and Dial.
	rq, wq *WaitQueue
	// wlowat is the free send-buffer space that wakes a blocked writer.
	wlowat int
	// lowat: a not-sent low-water mark is set (SetNotSentLowat); writers
	// then wake when the stack says WriteReady.
	lowat bool

	mu sync.Mutex // guards the fields below (and lc's, for a Loop)
	// rdl and wdl are the read and write deadlines (zero: none).
	rdl, wdl time.Time
	// established is set when the handshake completed.
	established bool
	// readClosed is set by CloseRead or Close; closed by Close.
	readClosed, closed bool

	lc *loopConn // wall-clock driver state; nil for tasks
}

var _ net.Conn = (*Conn)(nil)

// LocalAddr returns the local address as a *net.TCPAddr.
func (c *Conn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the peer's address as a *net.TCPAddr.
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// Read reads received bytes into p, blocking until at least one byte, the
// peer's FIN (io.EOF), an error or the read deadline.
func (c *Conn) Read(p []byte) (int, error) {
	if c.lc != nil {
		return c.loopRead(p)
	}
	return c.taskRead(p)
}

// Write sends p, blocking until all of it is in the send buffer, an error
// or the write deadline; it returns how many bytes were taken.
func (c *Conn) Write(p []byte) (int, error) {
	if c.lc != nil {
		return c.loopWrite(p)
	}
	return c.taskWrite(p)
}

// Close closes the connection: queued data is still sent, then a FIN
// (a reset if received data was left unread, as on Linux). Blocked Read
// and Write calls return net.ErrClosed.
func (c *Conn) Close() error {
	if c.lc != nil {
		return c.loopClose()
	}
	return c.taskClose()
}

// CloseWrite sends a FIN after the queued data (half-close): the peer reads
// io.EOF and this side can keep reading. A Write blocked now, and every
// later one, fails with syscall.EPIPE, as on a *net.TCPConn.
func (c *Conn) CloseWrite() error {
	if c.lc != nil {
		return c.loopCloseWrite()
	}
	return c.taskCloseWrite()
}

// CloseRead stops reading: later Reads return io.EOF and data that arrives
// is discarded.
func (c *Conn) CloseRead() error {
	if c.lc != nil {
		return c.loopCloseRead()
	}
	return c.taskCloseRead()
}

// Abort resets the connection at once (a RST goes to a synchronized peer),
// like closing a socket with SO_LINGER set to zero.
func (c *Conn) Abort() error {
	if c.lc != nil {
		return c.loopAbort()
	}
	return c.taskAbort()
}

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.setDeadline(t, true, true)
	return nil
}

// SetReadDeadline sets the read deadline: an absolute time on the
// simulator's clock (see Net), zero for none. A Read blocked now is
// affected too.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.setDeadline(t, true, false)
	return nil
}

// SetWriteDeadline sets the write deadline (see SetReadDeadline).
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.setDeadline(t, false, true)
	return nil
}

func (c *Conn) setDeadline(t time.Time, rd, wr bool) {
	if c.lc != nil {
		c.loopSetDeadline(t, rd, wr)
		return
	}
	if rd {
		c.rdl = t
		c.rq.WakeAll()
	}
	if wr {
		c.wdl = t
		c.wq.WakeAll()
	}
}

// SetNoDelay turns Nagle's algorithm off (true) or on, as
// (*net.TCPConn).SetNoDelay. Note that the stack's default, unlike Go's, is
// Nagle on.
func (c *Conn) SetNoDelay(noDelay bool) error {
	if c.lc != nil {
		return c.opErr("set", c.n.loop.Call(func() { c.sc.SetNoDelay(noDelay) }))
	}
	if c.n.w.CurrentTask() == nil {
		return c.opErr("set", ErrNotInTask)
	}
	c.sc.SetNoDelay(noDelay)
	return nil
}

// inStack runs f in scheduler context for either driver.
func (c *Conn) inStack(f func() error) error {
	var err error
	if c.lc != nil {
		if cerr := c.n.loop.Call(func() { err = f() }); cerr != nil {
			return c.opErr("set", cerr)
		}
		return c.opErr("set", err)
	}
	if c.n.w.CurrentTask() == nil {
		return c.opErr("set", ErrNotInTask)
	}
	return c.opErr("set", f())
}

// SetKeepAlive turns keep-alive probes on or off, as
// (*net.TCPConn).SetKeepAlive. The stack's default is off (RFC 1122).
func (c *Conn) SetKeepAlive(keepalive bool) error {
	return c.inStack(func() error { c.sc.SetKeepAlive(keepalive); return nil })
}

// SetKeepAlivePeriod sets the idle time before the first probe and the
// time between probes, as (*net.TCPConn).SetKeepAlivePeriod does on Linux.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) error {
	if d <= 0 {
		return c.opErr("set", fmt.Errorf("keep-alive period %v: must be positive", d))
	}
	return c.inStack(func() error { return c.sc.SetKeepAliveParams(d, d, 0) })
}

// SetKeepAliveConfig applies a net.KeepAliveConfig, as
// (*net.TCPConn).SetKeepAliveConfig: Enable, and Idle, Interval and Count
// where positive (zero and negative leave the current value, as the stack's
// defaults stand for the system's).
func (c *Conn) SetKeepAliveConfig(cfg net.KeepAliveConfig) error {
	return c.inStack(func() error {
		if err := c.sc.SetKeepAliveParams(max(cfg.Idle, 0), max(cfg.Interval, 0), max(cfg.Count, 0)); err != nil {
			return err
		}
		c.sc.SetKeepAlive(cfg.Enable)
		return nil
	})
}

// SetUserTimeout sets the user timeout (TCP_USER_TIMEOUT, RFC 5482): the
// connection fails with ETIMEDOUT when data goes unacknowledged that long.
// Zero removes it.
func (c *Conn) SetUserTimeout(d time.Duration) error {
	return c.inStack(func() error { return c.sc.SetUserTimeout(d) })
}

// SetCork turns TCP_CORK on or off: while on, a partial segment at the
// tail of the send queue waits for more data (or for one RTO) instead of
// leaving half empty; turning it off sends it (stack.Conn.SetCork).
func (c *Conn) SetCork(on bool) error {
	return c.inStack(func() error { c.sc.SetCork(on); return nil })
}

// SetNotSentLowat sets TCP_NOTSENT_LOWAT (stack.Conn.SetNotSentLowat): a
// blocked Write waits until fewer than half of n bytes are unsent, so
// that little written data waits behind the congestion window; 0 uses the
// host's TCPConfig.NotSentLowat. With a Loop, whose own write buffer sits
// in front of the stack, the mark would bound only the stack's part, so
// it is refused there.
func (c *Conn) SetNotSentLowat(n int) error {
	if c.lc != nil {
		return c.opErr("set", fmt.Errorf("TCP_NOTSENT_LOWAT needs the virtual (task) driver: a Loop buffers writes in front of the stack"))
	}
	if err := c.inStack(func() error { return c.sc.SetNotSentLowat(n) }); err != nil {
		return err
	}
	c.lowat = n > 0
	return nil
}

// Stack returns the engine's connection, for inspection (State, Info) in
// scheduler context: from a task, or inside Loop.Call.
func (c *Conn) Stack() *stack.Conn { return c.sc }

func (c *Conn) opErr(op string, err error) error {
	return opError(op, c.laddr, c.raddr, err)
}

func (c *Conn) String() string {
	return "sim.Conn " + c.laddr.String() + "->" + c.raddr.String()
}
