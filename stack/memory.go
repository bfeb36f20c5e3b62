package stack

import (
	"fmt"
	"syscall"

	"github.com/tcpsim/tcpsim/segment"
)

// Host-wide buffer memory (issue 10 item 6), in the spirit of Linux's
// tcp_mem. Each connection's send and receive rings (buffer.go) have a
// fixed logical capacity, but their backing arrays grow on demand; the
// host charges every backing array to one account and keeps the total at
// or below TCPConfig.MemHigh.
//
// What is counted: the bytes of the backing arrays, not the bytes of data
// in them. The arrays are what the process really holds (a ring that grew
// to 256 KiB keeps it until it is released, however little data is left),
// they include out-of-order data (stored in the receive ring at its final
// place) and a ring never allocates outside grow, so the account is exact
// and a bound on it is a bound on the simulator's memory. Linux counts
// pages of socket buffers (skb truesize) for the same reason: the cost,
// not the payload.
//
// Three thresholds, as in Linux (low, pressure, high):
//
//   - Above MemPressure the host enters memory pressure (counted in
//     TCPMemoryPressures) and stays there until the total falls below
//     MemLow. Under pressure: new connections are refused (a SYN to a
//     listener is dropped, TCPMemSYNDrops; Connect returns an error wrapping
//     syscall.ENOBUFS, TCPMemConnectFails); the window a connection offers
//     is not opened beyond what its receive array already holds, or 4 MSS
//     (Linux clamps rcv_ssthresh to 4 advmss, tcp_adjust_rcv_ssthresh);
//     and a ring that drains is given back: freed when empty, shrunk when
//     it is three-quarters empty.
//   - MemHigh is a hard bound: a backing array never grows past it. A
//     Write takes what fits in the memory it can have (perhaps nothing:
//     ErrWouldBlock, and EventWritable follows when memory is freed);
//     arriving data that would need more is dropped (TCPRcvQDrop in order,
//     TCPOFODrop out of order), after the connection's out-of-order data has
//     been thrown away to make room for in-order data (TCPPruneCalled,
//     TCPOFOPruned; RFC 2018 §8 allows the reneging, and the peer resends
//     after its RTO). The windows already advertised are kept (RFC 9293
//     §3.8.6: the right edge never moves left); bytes sent into them that
//     find no memory are dropped, as Linux does (tcp_try_rmem_schedule).
//   - Once a growth has been refused the host is "out of memory" until the
//     total falls to MemPressure: orphans (orphan.go) are then reset at
//     Close and at their next timer (TCPAbortOnMemory), as Linux's
//     tcp_out_of_memory does.
//
// A connection's memory is given back when it no longer needs it: the
// send ring at TIME_WAIT or CLOSED, the receive ring at CLOSED once it
// holds nothing unread, or when the application closes it or reads it
// empty.

// ErrNoBufferSpace is returned (wrapped) by Connect while the host is under
// memory pressure. errors.Is(err, syscall.ENOBUFS) holds.
var ErrNoBufferSpace error = &ConnError{Op: "connect", Errno: syscall.ENOBUFS}

// hostMem is a host's memory account.
type hostMem struct {
	h          *Host
	used, peak int64 // bytes of ring backing arrays held now, and at most
	low        int64 // pressure ends below it
	pressureAt int64 // pressure starts above it
	high       int64 // hard bound; negative: none
	pressure   bool
	exhausted  bool        // a growth was refused and used has not fallen to pressureAt since
	blocked    []*Conn     // writers cut short by memory, woken by the next release
	pool       arrayPool   // arrays of released rings for reuse (buffer.go); not charged
	rackSpare  [][]rackSeg // RACK segment lists of finished connections, for reuse (rack.go)
}

// HostMemory is a snapshot of a host's buffer memory account.
type HostMemory struct {
	Used, Peak             int64 // bytes of send and receive ring arrays held now, and the most ever
	Low, Pressure, High    int64 // the thresholds in force (High < 0: no bound)
	UnderPressure, Refused bool  // in memory pressure; a growth was refused lately (out of memory)
}

// Memory returns the host's buffer memory account.
func (h *Host) Memory() HostMemory {
	m := &h.mem
	return HostMemory{Used: m.used, Peak: m.peak, Low: m.low, Pressure: m.pressureAt, High: m.high,
		UnderPressure: m.pressure, Refused: m.exhausted}
}

func (m *hostMem) init(h *Host, cfg *TCPConfig) {
	m.h, m.low, m.pressureAt, m.high = h, cfg.MemLow, cfg.MemPressure, cfg.MemHigh
}

// charge adds d bytes (negative: frees) to the account.
func (m *hostMem) charge(d int) {
	if d == 0 {
		return
	}
	m.used += int64(d)
	if d > 0 {
		m.peak = max(m.peak, m.used)
		if !m.pressure && m.high >= 0 && m.used > m.pressureAt {
			m.pressure = true
			m.h.counters.TCPMemoryPressures++
		}
		return
	}
	if m.pressure && m.used < m.low {
		m.pressure = false
	}
	if m.exhausted && m.used <= m.pressureAt {
		m.exhausted = false
	}
	if len(m.blocked) > 0 {
		for i, c := range m.blocked {
			c.memBlocked = false
			m.h.notifyConn(c, EventWritable)
			m.blocked[i] = nil
		}
		m.blocked = m.blocked[:0]
	}
}

// maxCap is the largest backing array r may have: one of the sizes grow
// allocates, at least the current one, such that the host stays within
// MemHigh.
func (r *ring) maxCap() int {
	m := r.mem
	if m == nil || m.high < 0 {
		return r.hardLimit()
	}
	avail := m.high - m.used + int64(len(r.buf))
	if int64(r.hardLimit()) <= avail {
		return r.hardLimit()
	}
	c := len(r.buf)
	for p := 1024; p < r.hardLimit() && int64(p) <= avail; p *= 2 {
		c = max(c, p)
	}
	return c
}

// reclaim gives memory back under pressure: an empty ring frees its
// array, one at most a quarter full moves to a smaller one.
func (r *ring) reclaim() {
	switch {
	case r.n == 0 && r.hi <= 0:
		if len(r.buf) > 0 {
			r.mem.charge(-len(r.buf))
			r.buf, r.head, r.hi = nil, 0, 0
		}
	case len(r.buf) > 1024 && max(r.hi, r.n) <= len(r.buf)/4:
		r.fit()
	}
}

// fit moves the contents (and anything stored beyond, up to hi) to the
// smallest array grow would allocate for them.
func (r *ring) fit() {
	keep := max(r.hi, r.n)
	if keep == 0 {
		if r.mem != nil {
			r.mem.charge(-len(r.buf))
		}
		r.buf, r.head, r.hi = nil, 0, 0
		return
	}
	if c := r.capFor(keep); c < len(r.buf) {
		r.realloc(c, keep)
	}
}

// memRefused records that a growth was refused.
func (m *hostMem) memRefused() { m.exhausted = true }

// memClip cuts a write to what the send ring can hold within the host's
// memory. A writer cut short is woken (EventWritable) by the next release
// of memory anywhere on the host.
func (c *Conn) memClip(p []byte) []byte {
	r := &c.sndBuf
	if r.noGrowth(len(p)) {
		return p
	}
	k := min(len(p), r.hardLimit()-r.n)
	mc := r.maxCap()
	if r.n+k <= mc {
		return p
	}
	m := r.mem
	m.memRefused()
	c.h.counters.TCPMemWriteLimited++
	if !c.memBlocked {
		c.memBlocked = true
		m.blocked = append(m.blocked, c)
	}
	return p[:max(mc-r.n, 0)]
}

// noGrowth reports whether a write of n bytes, cut to the ring's hard
// limit, fits the present array (or the ring is not charged to a host),
// so that memClip leaves it whole. It makes no call: Write checks it
// before calling memClip.
func (r *ring) noGrowth(n int) bool {
	return r.n+min(n, r.hardLimit()-r.n) <= len(r.buf) || r.mem == nil
}

// memWritable is Writable within the host's memory.
func (c *Conn) memWritable() int {
	r := &c.sndBuf
	if r.limit-r.n <= len(r.buf)-r.n {
		return r.limit - r.n
	}
	return min(r.limit, r.maxCap()) - r.n
}

// memFit cuts text about to be stored at seq (already within the window)
// to what the receive ring can hold within the host's memory, pruning the
// out-of-order data first when in-order data does not fit. It returns
// what may be stored, perhaps nothing; what is cut is dropped and counted.
func (c *Conn) memFit(seq segment.Seq, p []byte) []byte {
	r := &c.rcvBuf
	off := r.n + int(seq.Sub(c.rcvNxt))
	if off+len(p) <= len(r.buf) || r.mem == nil {
		return p // no growth needed
	}
	mc := r.maxCap()
	if off+len(p) <= mc {
		return p
	}
	h := c.h
	r.mem.memRefused()
	inOrder := seq == c.rcvNxt
	if inOrder {
		// Linux tcp_prune_queue / tcp_prune_ofo_queue: in-order data is
		// worth more than data beyond a hole; drop the latter and retry.
		h.counters.TCPPruneCalled++
		if !c.reasm.empty() {
			c.reasm.reset()
			r.hi = r.n
			r.fit()
			h.counters.TCPOFOPruned++
			if mc = r.maxCap(); off+len(p) <= mc {
				return p
			}
		}
	}
	k := max(mc-off, 0)
	if inOrder {
		h.counters.TCPRcvQDrop++
	} else {
		h.counters.TCPOFODrop++
	}
	return p[:min(k, len(p))]
}

// rcvWndMem is the receive window the host's memory allows: rcvWnd, but
// under pressure no more than the receive array already holds (or 4 MSS),
// and never more than the array can grow to within MemHigh. The window
// already advertised is kept whatever this says (windowToAdvertise).
func (c *Conn) rcvWndMem() uint32 {
	free := c.rcvWnd()
	if !c.rcvMemMayCut() {
		return free
	}
	r := &c.rcvBuf
	m := r.mem
	room := r.maxCap() - r.n
	if m.pressure {
		room = min(room, max(len(r.buf)-r.n, 4*c.rcvMSS))
	}
	return min(free, uint32(max(room, 0)))
}

// rcvMemMayCut reports whether rcvWndMem may be less than rcvWnd: the
// host's memory is bounded and under pressure, or the receive array could
// not grow to its limit within MemHigh. It makes no call, so that a hot
// caller (windowToAdvertise) can skip rcvWndMem without one.
func (c *Conn) rcvMemMayCut() bool {
	r := &c.rcvBuf
	m := r.mem
	return m != nil && m.high >= 0 && (m.pressure || m.used-int64(len(r.buf))+int64(r.limit) > m.high)
}

// memAfterRead gives a closed connection's receive ring back once the
// application has read it empty.
func (c *Conn) memAfterRead() {
	if c.state == StateClosed && c.rcvBuf.n == 0 {
		c.rcvBuf.release()
	}
}

// memRefuseConnect refuses an active open under memory pressure.
func (h *Host) memRefuseConnect(remote fmt.Stringer) error {
	if !h.mem.pressure {
		return nil
	}
	h.counters.TCPMemConnectFails++
	return fmt.Errorf("stack: host %q: connect to %v: memory pressure: %w", h.name, remote, ErrNoBufferSpace)
}

// memRefuseSYN reports (and counts) that a listener must drop a SYN
// because the host is under memory pressure.
func (h *Host) memRefuseSYN() bool {
	if !h.mem.pressure {
		return false
	}
	h.counters.TCPMemSYNDrops++
	return true
}
