package stack

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// HostConfig describes a host to NewHost.
type HostConfig struct {
	// Name identifies the host in errors and traces. Optional.
	Name string
	// Env is the host's clock and wake-up service. Required.
	Env Env
	// Seed drives every random choice of the host: initial sequence numbers
	// (RFC 6528), ephemeral ports (RFC 6056) and the IP ID start. The same
	// seed gives the same packets.
	Seed uint64
	// TCP holds the TCP tunables; the zero value takes every default.
	TCP TCPConfig
}

// Host is the IPv4 and TCP engine of one simulated host. All of its methods,
// and those of its Conns and Listeners, must be called from the driver's
// context (one goroutine at a time); the host never calls back except from
// inside such a call.
type Host struct {
	name string
	env  Env
	cfg  TCPConfig
	rng  *rand.Rand

	ifaces []iface
	queues bool // some interface's link is a QueueLink (txRefused)
	routes []route

	conns     map[connKey]*Conn       // every connection not yet CLOSED, TIME_WAIT included
	lastConn  *Conn                   // the conn demux found last (in conns), or nil: a bulk flow skips the map
	listeners map[listenKey]*Listener // open listeners
	nextID    uint64                  // creation counter: gives Conns a deterministic order

	timers timerHeap

	counters Counters

	ipID      uint16   // next IPv4 identification (see nextIPID)
	isnSecret [32]byte // RFC 6528 secret key
	portKey   [32]byte // RFC 6056 secret key
	portNext  uint32   // RFC 6056 Algorithm 3 "next_ephemeral"

	// twISN is the ISS for the connection a SYN is about to open on a
	// 4-tuple it took over from TIME_WAIT (set in demux, used once by
	// newConn): RFC 1122 §4.2.2.13 requires it above every sequence number
	// the old incarnation used.
	twISN    segment.Seq
	twISNSet bool

	// testISN, set only by the package's tests, replaces the RFC 6528 ISN
	// so that a test can start a connection at a chosen sequence number
	// (near 2^32, to cross the wrap early).
	testISN func(connKey) uint32

	out      []byte        // scratch buffer for encoding one outbound packet
	sending  bool          // inside Link.Send
	deferred []deferredPkt // packets delivered from inside Link.Send, processed in exit
	rx       rxScratch
	rxECN    uint8 // the ECN field of the packet being processed (ecn.go)
	txECN    uint8 // the ECN field of the next packet emitted; reset after it
	txTOS    uint8 // the DSCP bits of the next packet emitted (Conn.SetTOS); reset after it
	txNoDF   bool  // the next packet emitted goes without DF (Conn.SetDontFragment); reset after it

	depth    int     // nesting of public entry points (enter/exit)
	entries  uint64  // outermost entries so far (enter), for localdrop.go
	flushing bool    // notifications are being delivered
	pendC    []*Conn // conns with undelivered events
	pendL    []*Listener
	wakeAt   time.Duration // the last WakeAt request that is still pending
	wakeSet  bool

	// SYN cookies (issue 10 item 5, syncookie.go).
	tfo tfoHost // TCP Fast Open: the cookie cache and the server key (fastopen.go)

	cookieKey    [32]byte     // hash key, derived from isnSecret on first use
	cookieKeySet bool         // cookieKey is derived
	cookieTS     cookieTSHook // timestamps for cookies; nil while the host does not use them

	// Issue 10 item 1: the host stage of the invalid-ACK limiter
	// (ratelimit.go): ACKs still allowed in the second invalidAckSec.
	invalidAckSec    int64
	invalidAckSecSet bool
	invalidAckBudget int

	// Orphans (issue 10 item 4, orphan.go).
	orphans int // connections with orphan set

	// Host memory (issue 10 item 6, memory.go).
	mem hostMem

	// UDP and ICMP (udp.go, icmp.go).
	udp       map[uint16][]*UDPConn // bound sockets by local port
	pendU     []*UDPConn            // UDP sockets with undelivered events
	icmp      icmpLimiter
	echoReply func(EchoReply)
}

// Errors returned by the host API. Conn errors that come from the peer or
// the network wrap syscall errnos so that errors.Is works with
// syscall.ECONNREFUSED, ECONNRESET and ETIMEDOUT.
var (
	// ErrWouldBlock is returned by non-blocking calls that cannot make
	// progress now; wait for the matching readiness Event and retry.
	ErrWouldBlock = errors.New("stack: operation would block")
	// ErrNoRoute means no route leads to the destination.
	ErrNoRoute = errors.New("stack: no route to host")
	// ErrAddrInUse means the local address and port are taken.
	ErrAddrInUse = errors.New("stack: address already in use")
	// ErrNoPorts means every ephemeral port to that destination is in use.
	ErrNoPorts = errors.New("stack: no free ephemeral port")
	// ErrClosed is returned by operations on a Conn or Listener the
	// application has closed or aborted. It wraps net.ErrClosed.
	ErrClosed = errClosed{}
	// ErrShutdown is returned by Write after CloseWrite or Close.
	ErrShutdown = errors.New("stack: write after close")
)

// NewHost returns a host with no interfaces. Add interfaces and routes
// before opening connections.
func NewHost(cfg HostConfig) (*Host, error) {
	if cfg.Env == nil {
		return nil, fmt.Errorf("stack: HostConfig.Env is nil for host %q", cfg.Name)
	}
	tcp := cfg.TCP
	if err := tcp.applyDefaults(); err != nil {
		return nil, fmt.Errorf("host %q: %w", cfg.Name, err)
	}
	h := &Host{
		name:      cfg.Name,
		env:       cfg.Env,
		cfg:       tcp,
		rng:       rand.New(rand.NewPCG(cfg.Seed, 0x7463_7073_696d)),
		conns:     make(map[connKey]*Conn),
		listeners: make(map[listenKey]*Listener),
		out:       make([]byte, 0, 65536+128),
	}
	// Keys for the keyed hashes of RFC 6528 and RFC 6056 come from the
	// seeded generator: deterministic per seed, unrelated across seeds.
	for i := 0; i < 32; i += 8 {
		binary.LittleEndian.PutUint64(h.isnSecret[i:], h.rng.Uint64())
		binary.LittleEndian.PutUint64(h.portKey[i:], h.rng.Uint64())
	}
	h.ipID = uint16(h.rng.Uint32())
	if !tcp.DisableTimestamps {
		h.cookieTS = cookieTimestamps{h} // cookies carry window scale and SACK in TSval
	}
	h.mem.init(h, &h.cfg)
	return h, nil
}

// Name returns the host's name from HostConfig.
func (h *Host) Name() string { return h.name }

// Config returns the TCP configuration in force, defaults filled in.
func (h *Host) Config() TCPConfig { return h.cfg }

// Counters returns a copy of the host's counters.
func (h *Host) Counters() Counters { return h.counters }

// NumConns returns how many connections the host tracks, TIME_WAIT and
// not-yet-accepted ones included. Zero after every connection has closed
// and its TIME_WAIT has expired: tests use it to find state leaks.
func (h *Host) NumConns() int { return len(h.conns) }

// Conns returns the connections the host tracks (as NumConns counts them),
// in creation order.
func (h *Host) Conns() []*Conn {
	out := make([]*Conn, 0, len(h.conns))
	for _, c := range h.conns {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *Conn) int { return cmp.Compare(a.id, b.id) })
	return out
}

// NumListeners returns how many listeners are open.
func (h *Host) NumListeners() int { return len(h.listeners) }

// NextTimer returns the earliest time at which the host has a timer
// pending, and false when none is.
func (h *Host) NextTimer() (time.Duration, bool) {
	if len(h.timers) == 0 {
		return 0, false
	}
	return h.timers[0].at, true
}

// Advance fires every timer due at or before Env.Now(). Calling it early or
// more than once is harmless.
func (h *Host) Advance() {
	h.enter()
	h.wakeSet = false
	now := h.env.Now()
	for len(h.timers) > 0 && h.timers[0].at <= now {
		e := h.timers.pop()
		c := e.c
		if c.tm.heapAt != e.at || c.state == StateClosed {
			continue // stale entry: the conn re-armed or is gone
		}
		c.tm.heapAt = 0
		c.runTimers(now)
		c.rescheduleTimers()
	}
	h.exit()
}

// enter and exit bracket every public entry point. When the outermost call
// returns, readiness notifications are delivered (so callbacks never run in
// the middle of segment processing) and the driver is asked to wake the
// host for its next timer.
func (h *Host) enter() {
	if h.depth == 0 {
		h.entries++
	}
	h.depth++
}

func (h *Host) exit() {
	h.depth--
	if h.depth > 0 || h.flushing {
		return // an inner call, or one from a callback exitOuter runs
	}
	h.exitOuter()
}

// exitOuter is exit for the outermost call: it delivers what was deferred
// and asks for the next wake-up. (Split off so that exit inlines.)
func (h *Host) exitOuter() {
	h.flushing = true
	for len(h.deferred) > 0 || len(h.pendC) > 0 || len(h.pendL) > 0 || len(h.pendU) > 0 {
		if len(h.deferred) > 0 {
			// Packets a Link delivered from inside Send (see Deliver).
			d := h.deferred[0]
			h.deferred[0] = deferredPkt{}
			h.deferred = h.deferred[1:]
			h.depth++
			h.deliver(d.ifIndex, d.pkt)
			h.depth--
			continue
		}
		for i := 0; i < len(h.pendL); i++ {
			l := h.pendL[i]
			ev := l.events
			l.events, l.queued = 0, false
			if ev != 0 && l.notify != nil {
				l.notify(ev)
			}
			h.pendL[i] = nil
		}
		h.pendL = h.pendL[:0]
		for i := 0; i < len(h.pendC); i++ {
			c := h.pendC[i]
			ev := c.events
			c.events, c.queued = 0, false
			if ev != 0 && c.notify != nil {
				c.notify(ev)
			}
			h.pendC[i] = nil
		}
		h.pendC = h.pendC[:0]
		for i := 0; i < len(h.pendU); i++ {
			u := h.pendU[i]
			ev := u.events
			u.events, u.queued = 0, false
			if ev != 0 && u.notify != nil {
				u.notify(ev)
			}
			h.pendU[i] = nil
		}
		h.pendU = h.pendU[:0]
	}
	h.flushing = false
	h.requestWake()
}

// requestWake asks the driver for a call to Advance at the earliest timer,
// unless an earlier request is still pending.
func (h *Host) requestWake() {
	if len(h.timers) == 0 {
		return
	}
	t := h.timers[0].at
	if h.wakeSet && h.wakeAt <= t {
		return
	}
	h.wakeAt, h.wakeSet = t, true
	h.env.WakeAt(t)
}

// isnFor returns an initial sequence number per RFC 6528 §3:
// ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M
// is a clock ticking every 4 µs of virtual time and F is SHA-256 keyed with
// the host's seeded secret.
func (h *Host) isnFor(k connKey) uint32 {
	if h.testISN != nil {
		return h.testISN(k)
	}
	var buf [32 + 12]byte
	copy(buf[:], h.isnSecret[:])
	putTuple(buf[32:], k)
	sum := sha256.Sum256(buf[:])
	m := uint32(h.env.Now() / (4 * time.Microsecond))
	return m + binary.BigEndian.Uint32(sum[:4])
}

func putTuple(b []byte, k connKey) {
	la, ra := k.local.Addr().As4(), k.remote.Addr().As4()
	copy(b[0:4], la[:])
	binary.BigEndian.PutUint16(b[4:], k.local.Port())
	copy(b[6:10], ra[:])
	binary.BigEndian.PutUint16(b[10:], k.remote.Port())
}

// nextIPID returns the IPv4 identification of the next packet. Policy: one
// counter per host, started at a seeded random value and incremented per
// packet. Every packet we send has DF set and is never fragmented, so
// RFC 6864 §4.1 lets the field take any value; a counter keeps captures
// easy to read and deterministic.
func (h *Host) nextIPID() uint16 {
	id := h.ipID
	h.ipID++
	return id
}

// notifyConn queues ev for c's callback; it is delivered in exit.
func (h *Host) notifyConn(c *Conn, ev Event) {
	if c.notify == nil {
		return
	}
	c.events |= ev
	if !c.queued {
		c.queued = true
		h.pendC = append(h.pendC, c)
	}
}

func (h *Host) notifyListener(l *Listener, ev Event) {
	if l.notify == nil {
		return
	}
	l.events |= ev
	if !l.queued {
		l.queued = true
		h.pendL = append(h.pendL, l)
	}
}

type deferredPkt struct {
	ifIndex int
	pkt     []byte
}

// connKey identifies a connection: the 4-tuple (RFC 9293 §3.2, "socket
// pair"). No two connections of a host share all four values.
type connKey struct {
	local, remote netip.AddrPort
}

// listenKey identifies a listener: a local address (the unspecified
// address for "any") and a port.
type listenKey struct {
	addr netip.Addr
	port uint16
}
