package sim

import (
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

// Stack returns the engine's connection, for inspection (State, Info) in
// scheduler context: from a task, or inside Loop.Call.
func (c *Conn) Stack() *stack.Conn { return c.sc }

func (c *Conn) opErr(op string, err error) error {
	return opError(op, c.laddr, c.raddr, err)
}

func (c *Conn) String() string {
	return "sim.Conn " + c.laddr.String() + "->" + c.raddr.String()
}
