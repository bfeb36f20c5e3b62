package stack

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
)

// Event is a set of readiness notifications delivered to the callback
// given to Conn.SetNotify or Listener.SetNotify. Callbacks run in the
// driver's context, after the host has finished processing the packet,
// timer or call that caused them, and may call any method of the host.
// Events are edge-like hints: on any event, retry the calls that returned
// ErrWouldBlock. Events that happened before SetNotify are not replayed.
//
// Notifications are delivered when the host's outermost call returns, and
// that may be an application's own Read, Write, Close or Connect made outside
// any callback: a callback can run before such a call returns. Code that is
// not re-entrant should guard itself (a "running" flag and a loop).
type Event uint8

// Events.
const (
	// EventReadable: Read may return data, io.EOF or an error; for a
	// Listener, Accept may return a connection.
	EventReadable Event = 1 << iota
	// EventWritable: Write may accept bytes (send buffer space was freed),
	// or will return an error.
	EventWritable
	// EventEstablished: the handshake completed.
	EventEstablished
	// EventError: Err() became non-nil (refused, reset, timed out).
	EventError
	// EventClosed: the connection left the host's tables (CLOSED): after a
	// normal close, TIME_WAIT has expired; after an error, at once.
	EventClosed
)

// String lists the events, e.g. "readable|writable".
func (e Event) String() string {
	names := [...]string{"readable", "writable", "established", "error", "closed"}
	s := ""
	for i, n := range names {
		if e&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// Terminal connection errors. Each wraps the syscall errno Linux reports,
// so errors.Is(err, syscall.ECONNRESET) and friends work, and net.Error's
// Timeout is true for errTimedOut.
var (
	errRefused         error = &ConnError{Op: "connect", Errno: syscall.ECONNREFUSED}
	errReset           error = &ConnError{Op: "read", Errno: syscall.ECONNRESET}
	errTimedOut        error = &ConnError{Op: "io", Errno: syscall.ETIMEDOUT}
	errConnectTimedOut error = &ConnError{Op: "connect", Errno: syscall.ETIMEDOUT}
)

// ConnError is a terminal error of a connection. Errno is
// syscall.ECONNREFUSED (RST in answer to our SYN), ECONNRESET (RST on a
// synchronized connection, or a passive open reset before accept), or
// ETIMEDOUT (retransmissions or connect timeout exhausted).
type ConnError struct {
	Op    string
	Errno syscall.Errno
}

func (e *ConnError) Error() string { return "stack: " + e.Op + ": " + e.Errno.Error() }

// Unwrap returns the errno.
func (e *ConnError) Unwrap() error { return e.Errno }

// Timeout reports whether the error is ETIMEDOUT (net.Error).
func (e *ConnError) Timeout() bool { return e.Errno == syscall.ETIMEDOUT }

// Temporary is false (net.Error, deprecated there).
func (e *ConnError) Temporary() bool { return false }

type errClosed struct{}

func (errClosed) Error() string { return "stack: use of closed connection" }
func (errClosed) Unwrap() error { return net.ErrClosed }

// Connect opens a connection from local (the zero Addr picks the address of
// the outgoing interface) to remote, choosing an ephemeral port. It returns
// at once with the Conn in SYN_SENT; EventEstablished or EventError follows.
// Data written before the handshake completes is queued.
func (h *Host) Connect(local netip.Addr, remote netip.AddrPort) (*Conn, error) {
	return h.ConnectFrom(netip.AddrPortFrom(local, 0), remote)
}

// ConnectFrom is Connect from a given local address and port; a zero port
// picks an ephemeral port (RFC 6056), a zero address the outgoing
// interface's address.
func (h *Host) ConnectFrom(local, remote netip.AddrPort) (*Conn, error) {
	return h.ConnectWith(local, remote, ConnectOptions{})
}

// ConnectOptions are the settings a connection must have before its SYN
// goes out (the socket options Linux takes before connect).
type ConnectOptions struct {
	// MaxSegment caps the MSS this end advertises in its SYN and the
	// segments it sends (Linux's TCP_MAXSEG, its user_mss): the send MSS
	// is min(the peer's MSS option, MaxSegment, path MTU − 40). 0 leaves
	// the MSS to the interface; otherwise it must lie in [MinMaxSegment,
	// MaxMaxSegment].
	MaxSegment int
	// FastOpen asks for TCP Fast Open (RFC 7413) as Linux's
	// TCP_FASTOPEN_CONNECT: when the host holds a cookie for the server,
	// the SYN waits for the first Write and carries its data; otherwise the
	// SYN goes now and asks for a cookie. It needs FastOpenClient in
	// TCPConfig.FastOpen (fastopen.go).
	FastOpen bool

	// SYNRetries, when positive, replaces TCPConfig.SYNRetries for this
	// connection (Linux's TCP_SYNCNT, 1 to 127).
	SYNRetries int

	fastOpenData []byte // ConnectFastOpen's data
	fastOpenNow  bool   // ConnectFastOpen: the SYN goes now

	// TOS and NoDontFragment are SetTOS and SetDontFragment(false) from
	// the SYN on (a socket's IP_TOS and IP_MTU_DISCOVER set before
	// connect).
	TOS            uint8
	NoDontFragment bool
}

// The range Linux accepts for TCP_MAXSEG (TCP_MIN_MSS and MAX_TCP_WINDOW);
// outside it setsockopt fails with EINVAL.
const (
	MinMaxSegment = 88
	MaxMaxSegment = 32767
)

func checkMaxSegment(n int) error {
	if n != 0 && (n < MinMaxSegment || n > MaxMaxSegment) {
		return fmt.Errorf("stack: maximum segment size %d: want 0 or %d to %d: %w", n, MinMaxSegment, MaxMaxSegment, syscall.EINVAL)
	}
	return nil
}

// ConnectWith is ConnectFrom with options.
func (h *Host) ConnectWith(local, remote netip.AddrPort, o ConnectOptions) (*Conn, error) {
	if err := checkMaxSegment(o.MaxSegment); err != nil {
		return nil, err
	}
	if o.SYNRetries < 0 || o.SYNRetries > 127 {
		return nil, fmt.Errorf("stack: SYN retries %d: want 0 to 127: %w", o.SYNRetries, syscall.EINVAL)
	}
	h.enter()
	defer h.exit()
	if err := h.memRefuseConnect(remote); err != nil {
		return nil, err
	}
	return h.activeOpen(local, remote, o)
}

// SetMaxSegment sets TCP_MAXSEG on the listener: the connections it
// creates from now on advertise and send at most n bytes per segment, as
// ConnectOptions.MaxSegment. 0 removes the cap.
func (l *Listener) SetMaxSegment(n int) error {
	if err := checkMaxSegment(n); err != nil {
		return err
	}
	l.maxSeg = n
	return nil
}

// MaxSegment is the listener's TCP_MAXSEG setting (0: none).
func (l *Listener) MaxSegment() int { return l.maxSeg }

// clampMSS applies a TCP_MAXSEG cap to a connection that has not sent its
// SYN or SYN-ACK yet. processSynOptions keeps sndMSS at or below rcvMSS.
func (c *Conn) clampMSS(n int) {
	if n <= 0 {
		return
	}
	c.userMSS = n
	c.rcvMSS = min(c.rcvMSS, n)
	c.sndMSS = min(c.sndMSS, c.rcvMSS)
}

// MaxSegment is the connection's TCP_MAXSEG setting (0: none).
func (c *Conn) MaxSegment() int { return c.userMSS }

// LocalAddr returns the connection's local address and port.
func (c *Conn) LocalAddr() netip.AddrPort { return c.key.local }

// RemoteAddr returns the peer's address and port.
func (c *Conn) RemoteAddr() netip.AddrPort { return c.key.remote }

// Host returns the host the connection belongs to.
func (c *Conn) Host() *Host { return c.h }

// State returns the connection's current state.
func (c *Conn) State() State { return c.state }

// Err returns the terminal error of the connection (see ConnError), or nil.
func (c *Conn) Err() error { return c.err }

// SetNotify installs the readiness callback; nil removes it.
func (c *Conn) SetNotify(f func(Event)) { c.notify = f }

// SetNoDelay turns Nagle's algorithm off (true) or on (false).
func (c *Conn) SetNoDelay(noDelay bool) {
	c.h.enter()
	defer c.h.exit()
	c.noDelay = noDelay
	if noDelay {
		c.pushOnce = true // as Linux: pending partial data goes now, even corked
		if c.state.canSendData() {
			c.output()
		}
	}
}

// Readable returns how many bytes Read can return now.
func (c *Conn) Readable() int { return c.rcvBuf.n }

// InQueue is the readable byte count as Linux's TCP_INQ hint gives it with
// each read: the bytes Read can return now, or 1 when none are left and the
// peer's FIN has arrived, so that a reader that loops while the hint is
// non-zero goes on to read io.EOF.
func (c *Conn) InQueue() int {
	if c.rcvBuf.n == 0 && c.rcvFin {
		return 1
	}
	return c.rcvBuf.n
}

// Writable returns how many bytes Write can accept now.
func (c *Conn) Writable() int {
	if c.wrClosed || c.err != nil || c.aborted {
		return 0
	}
	if c.chunked() {
		return c.chunkWritable()
	}
	return max(c.memWritable(), 0)
}

// WriteReady reports whether poll would call the connection writable
// (POLLOUT), by Linux's rule (sk_stream_is_writeable): the handshake is
// done and writing not shut down, the free send buffer is at least half of
// what it holds, and, under a not-sent low-water mark, fewer than half the
// mark's bytes are unsent. It is stricter than Writable() > 0, so that a
// poller is not woken for every few bytes an ACK frees.
func (c *Conn) WriteReady() bool {
	if c.tfo.deferred && !c.wrClosed && !c.aborted {
		return true // fastopen.go: the first write sends the SYN, as Linux reports it writable
	}
	if c.wrClosed || c.err != nil || c.aborted || !c.state.synchronized() || c.state == StateSynReceived {
		return false
	}
	return c.writeReady()
}

func (c *Conn) writeReady() bool {
	r := &c.sndBuf
	free := r.limit - r.n // memWritable when the array holds the limit
	if r.limit > len(r.buf) {
		free = c.memWritable() // the ring must grow: within the host's memory
	}
	if free <= 0 || free < c.sndBuf.n/2 {
		return false
	}
	if l := c.notSentLowat(); l > 0 && 2*c.notSent() >= l {
		return false
	}
	return true
}

// SetNotSentLowat sets the connection's not-sent low-water mark
// (TCP_NOTSENT_LOWAT) in bytes; 0 falls back to TCPConfig.NotSentLowat.
// Under a mark, Write adds a new chunk of data only while fewer than the
// mark's bytes are unsent (sent but unacknowledged data does not count), and
// WriteReady (poll's POLLOUT) holds only while fewer than half of them are:
// an application that writes whenever the socket is writable keeps little
// more than the mark queued unsent, so that what it writes next goes out
// soon. Chunks are Linux's: a write fills the unsent tail chunk, then starts
// new chunks of the size Linux gives one skb (sizeGoal), checking the mark
// before each, so a write may end up to a chunk beyond the mark, as in
// Linux.
func (c *Conn) SetNotSentLowat(n int) error {
	if n < 0 {
		return fmt.Errorf("stack: SetNotSentLowat(%d): want n >= 0", n)
	}
	c.h.enter()
	defer c.h.exit()
	c.lowat = n
	c.writeSpace() // a higher mark may make a blocked writer writable
	return nil
}

// NotSentLowat is the connection's own mark (0: the host's is used).
func (c *Conn) NotSentLowat() int { return c.lowat }

// notSentLowat is the mark in force, 0 for none.
func (c *Conn) notSentLowat() int {
	if c.lowat > 0 {
		return c.lowat
	}
	return c.h.cfg.NotSentLowat
}

// notSent is the data written but never sent (Linux write_seq − snd_nxt;
// a go-back-N rollback of sndNxt after an RTO does not make sent data
// unsent again).
func (c *Conn) notSent() int {
	end, from := c.dataEnd(), c.sndMax.Max(c.sndBufStart)
	if !end.GreaterThan(from) {
		return 0
	}
	return int(end.Sub(from))
}

// maxSizeGoal is the largest sizeGoal: GSO_MAX_SIZE less MAX_TCP_HEADER.
const maxSizeGoal = 64<<10 - 1 - 320

// sizeGoal is the size Linux gives the skbs a write creates
// (tcp_xmit_size_goal without TSO autosizing, which depends on the pacing
// rate): a GSO packet's payload (64 KiB less headers) bounded by half the
// largest window the peer has offered, in whole MSS, at least one MSS.
func (c *Conn) sizeGoal() int {
	goal := maxSizeGoal
	if w := int(c.maxSndWnd); w > 0 {
		cut := w
		if w > defaultMSS {
			cut = w / 2
		}
		goal = min(goal, cut)
	}
	mss := max(c.sndMSS, 1)
	return max(goal/mss, 1) * mss
}

// tailRoom is what the unsent tail chunk can still take: nothing if no data
// is unsent or a record ends at the tail (record.go).
func (c *Conn) tailRoom(goal int) int {
	end := c.dataEnd()
	if c.notSent() == 0 || c.eorAt(end) {
		return 0
	}
	// The tail chunk begins where the last one started, or where sending
	// stopped if that is later (Linux splits a partly sent skb). A
	// chunkStart outside the unsent data (never set) does not count.
	start := c.sndMax.Max(c.sndBufStart)
	if c.chunkStart.GreaterThan(start) && c.chunkStart.LessThan(end) {
		start = c.chunkStart
	}
	return max(goal-int(end.Sub(start)), 0)
}

// chunked reports whether Write goes chunk by chunk (writeChunks): under a
// not-sent low-water mark, or with TCPConfig.SendBufferPerChunk.
func (c *Conn) chunked() bool {
	if c.tfo.deferred {
		return false // the deferred Fast Open SYN takes the write (fastopen.go)
	}
	return c.notSentLowat() > 0 || c.sndBuf.over > 0
}

// newChunkOK reports whether Write may start a new chunk now: fewer than
// the mark's bytes are unsent, if a mark is set, and, with
// TCPConfig.SendBufferPerChunk, less than SendBuffer is queued (Linux's
// sk_stream_memory_free before each new skb, without its per-skb
// overhead). Without SendBufferPerChunk the ring's limit cuts each chunk
// instead, so the buffer stays byte-exact.
func (c *Conn) newChunkOK() bool {
	if l := c.notSentLowat(); l > 0 && c.notSent() >= l {
		return false
	}
	return c.sndBuf.over == 0 || c.sndBuf.n < c.sndBuf.limit
}

// chunkWritable is how much Write would take now, chunk by chunk, before
// any sending: the tail chunk's room, or a new chunk if newChunkOK, within
// what the ring and the host's memory can hold.
func (c *Conn) chunkWritable() int {
	r := &c.sndBuf
	room := r.hardLimit() - r.n
	if r.n+room > len(r.buf) {
		room = min(room, r.maxCap()-r.n)
	}
	if r.over == 0 {
		room = min(room, r.limit-r.n)
	}
	goal := c.sizeGoal()
	if t := c.tailRoom(goal); t > 0 {
		return max(min(t, room), 0)
	}
	if c.newChunkOK() {
		return max(min(goal, room), 0)
	}
	return 0
}

// writeChunks is Write's body under a not-sent low-water mark or with
// TCPConfig.SendBufferPerChunk: chunk by chunk, sending after each as Linux
// pushes a full skb, so that the mark is checked against what is still
// unsent and the send buffer against what is still queued.
func (c *Conn) writeChunks(p []byte) int {
	goal := c.sizeGoal()
	total := 0
	for total < len(p) {
		room := c.tailRoom(goal)
		start := c.dataEnd()
		fresh := room == 0
		if fresh {
			if !c.newChunkOK() {
				break
			}
			room = goal
		}
		want := min(room, len(p)-total)
		k := c.sndBuf.write(c.memClip(p[total : total+want]))
		if k > 0 && fresh {
			c.chunkStart = start
		}
		total += k
		if k > 0 && (c.state.canSendData() || c.fastOpenCanSend()) {
			c.output() // fastopen.go: a Fast Open server sends from SYN_RECEIVED
		}
		if k < want {
			break
		}
	}
	return total
}

// Read copies received in-order bytes into p. It returns n > 0 and nil when
// data was available; otherwise 0 and io.EOF once the peer's FIN has been
// read, the terminal error after a reset or timeout, ErrClosed after Close
// or Abort, or ErrWouldBlock.
func (c *Conn) Read(p []byte) (int, error) {
	if c.rdClosed || c.aborted {
		return 0, ErrClosed
	}
	if c.rcvBuf.n > 0 {
		if len(p) == 0 {
			return 0, nil
		}
		c.h.enter()
		n := c.rcvBuf.read(p)
		c.afterRead()
		c.memAfterRead()
		c.h.exit()
		return n, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.rcvFin {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	return 0, ErrWouldBlock
}

// Discard drops up to n received in-order bytes without copying them out,
// for a reader that does not need them (a sink). Apart from the copy it is
// Read with a buffer of n bytes: the same bytes are consumed, the same
// window updates follow, and it returns the same errors.
func (c *Conn) Discard(n int) (int, error) {
	if c.rdClosed || c.aborted {
		return 0, ErrClosed
	}
	if n < 0 {
		return 0, fmt.Errorf("stack: Discard of %d bytes, want n >= 0", n)
	}
	if c.rcvBuf.n > 0 {
		if n == 0 {
			return 0, nil
		}
		c.h.enter()
		k := min(n, c.rcvBuf.n)
		c.rcvBuf.discard(k)
		c.afterRead()
		c.memAfterRead()
		c.h.exit()
		return k, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.rcvFin {
		return 0, io.EOF
	}
	if n == 0 {
		return 0, nil
	}
	return 0, ErrWouldBlock
}

// Write queues bytes from p for sending and returns how many it took; it
// may take fewer than len(p) (a partial write) and returns ErrWouldBlock
// when the send buffer is full. After CloseWrite or Close it returns
// ErrShutdown; after a reset or timeout, the terminal error.
func (c *Conn) Write(p []byte) (int, error) {
	switch {
	case c.aborted:
		return 0, ErrClosed
	case c.err != nil:
		return 0, c.err
	case c.wrClosed:
		return 0, ErrShutdown
	case c.state == StateClosed:
		return 0, ErrClosed
	}
	if len(p) == 0 {
		if c.tfo.deferred {
			c.h.enter()
			c.fastOpenWrite(nil) // fastopen.go: an empty write sends the deferred SYN, as Linux
			c.h.exit()
		}
		return 0, nil
	}
	c.h.enter()
	defer c.h.exit()
	c.pushOnce = false // new data: a cork holds again (cork.go)
	c.tailMore = false // a plain write ends at a push point; WriteMore sets it again
	var n int
	if c.chunked() {
		n = c.writeChunks(p)
	} else {
		if c.tfo.deferred {
			n = c.fastOpenWrite(c.memClip(p)) // fastopen.go: the deferred SYN takes the data
		} else if c.sndBuf.noGrowth(len(p)) {
			n = c.sndBuf.write(p) // memClip would leave p whole (memory.go)
		} else {
			n = c.sndBuf.write(c.memClip(p))
		}
		if n > 0 && (c.state.canSendData() || c.fastOpenCanSend()) {
			c.output()
		}
	}
	if n > 0 {
		c.chronoStart(chronoBusy) // chrono.go
	}
	if n < len(p) {
		c.noSpace = true // the writer was refused space: writeSpace wakes it (chrono.go)
		c.chronoAfterNewData()
	}
	if n == 0 {
		return 0, ErrWouldBlock
	}
	return n, nil
}

// CloseWrite sends a FIN after the queued data: the peer reads io.EOF, and
// this side may keep reading (half-close, RFC 9293 §3.6).
func (c *Conn) CloseWrite() error {
	if c.aborted {
		return ErrClosed
	}
	if c.err != nil {
		return c.err
	}
	if c.wrClosed {
		return nil
	}
	c.h.enter()
	defer c.h.exit()
	c.shutdownWrite()
	return nil
}

// Close closes both directions. Queued data is still delivered, followed by
// a FIN. If received data is left unread, the connection is reset instead
// (RFC 2525 §2.17, as Linux does). Close on a connection still in SYN_SENT
// deletes it (RFC 9293 §3.10.4). After Close, Read returns ErrClosed.
func (c *Conn) Close() error {
	if c.aborted || c.rdClosed {
		return ErrClosed
	}
	c.h.enter()
	defer c.h.exit()
	c.rdClosed = true
	if c.err != nil || c.state == StateClosed {
		c.rcvBuf.release() // nobody reads it now
		return nil
	}
	if c.rcvBuf.n > 0 {
		c.abort()
		return nil
	}
	if c.state == StateSynSent {
		c.remove()
		return nil
	}
	c.shutdownWrite()
	if c.state == StateFinWait2 {
		c.setTimer(&c.tm.closeAt, c.h.env.Now()+c.h.cfg.FinWait2Timeout)
	}
	c.orphanOnClose()
	return nil
}

// Abort resets the connection: a RST goes to the peer if the connection is
// synchronized (RFC 9293 §3.10.5), queued data is discarded and the
// connection is deleted at once.
func (c *Conn) Abort() error {
	if c.aborted {
		return ErrClosed
	}
	c.h.enter()
	defer c.h.exit()
	c.abort()
	return nil
}

func (c *Conn) abort() {
	c.aborted, c.rdClosed, c.wrClosed = true, true, true
	switch c.state {
	case StateClosed, StateSynSent, StateTimeWait:
	default:
		c.sendReset()
	}
	c.remove()
}

// shutdownWrite queues our FIN and moves to the closing state RFC 9293
// §3.10.4 gives for CLOSE.
func (c *Conn) shutdownWrite() {
	c.wrClosed = true
	switch c.state {
	case StateEstablished:
		c.state = StateFinWait1
	case StateCloseWait:
		c.state = StateLastAck
	default:
		// SYN_SENT, SYN_RECEIVED: the FIN waits for ESTABLISHED (see
		// establish); closing states: already queued.
		return
	}
	c.output()
}

// String describes the connection: "10.0.0.1:49152->10.0.0.2:80 ESTABLISHED".
func (c *Conn) String() string {
	return fmt.Sprintf("%v->%v %v", c.key.local, c.key.remote, c.state)
}

// SetSendBuffer changes the connection's send buffer size (SO_SNDBUF on a
// connection). Data already queued stays; a buffer smaller than what is
// queued only stops further writes until it drains below the new size. The
// size must lie in [536, 64 MiB], as TCPConfig.SendBuffer; the backing
// array already allocated is never shrunk below its length here.
func (c *Conn) SetSendBuffer(n int) error {
	if n < minBuffer || n > maxBuffer {
		return fmt.Errorf("stack: SetSendBuffer(%d): want %d to %d bytes", n, minBuffer, maxBuffer)
	}
	c.h.enter()
	defer c.h.exit()
	c.sndBuf.limit = max(n, len(c.sndBuf.buf)-c.sndBuf.over)
	if c.sndBuf.n < c.sndBuf.limit {
		c.h.notifyConn(c, EventWritable)
	}
	return nil
}

// SendBuffer is the send buffer's size (what SO_SNDBUF reads).
func (c *Conn) SendBuffer() int { return c.sndBuf.limit }
