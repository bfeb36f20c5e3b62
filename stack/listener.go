package stack

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Listener is a passive open (RFC 9293 §3.10.1) on a local address and
// port. SYNs create connections in SYN_RECEIVED; once their handshake
// completes they wait in the accept queue. At most backlog connections may
// be half-open or waiting; further SYNs get a SYN cookie (syncookie.go)
// while the accept queue has room, and are otherwise dropped and counted
// (Counters.TCPListenOverflows), so the client retransmits its SYN.
type Listener struct {
	h       *Host
	key     listenKey
	backlog int
	embryo  []*Conn // in SYN_RECEIVED, creation order
	queue   []*Conn // ESTABLISHED (or later), not yet accepted, arrival order
	closed  bool
	tfo     tfoListener // Fast Open (fastopen.go)

	notify func(Event)
	events Event
	queued bool

	// SYN cookies (issue 10 item 5, syncookie.go).
	cookieAt   time.Duration // when the last cookie was sent
	cookieSent bool          // a cookie was ever sent

	maxSeg int // SetMaxSegment (TCP_MAXSEG); 0: none
}

// MaxBacklog caps the backlog argument of Listen.
const MaxBacklog = 65535

// Listen opens a listener on port of every local address. Port 0 picks a
// free ephemeral port. backlog bounds the connections that are half-open or
// waiting for Accept; it must lie in [1, MaxBacklog].
func (h *Host) Listen(port uint16, backlog int) (*Listener, error) {
	return h.ListenAddr(netip.AddrPortFrom(netip.Addr{}, port), backlog)
}

// ListenAddr is Listen on one local address; the zero or unspecified
// address means every address.
func (h *Host) ListenAddr(addr netip.AddrPort, backlog int) (*Listener, error) {
	if backlog < 1 || backlog > MaxBacklog {
		return nil, fmt.Errorf("stack: host %q: listen backlog %d outside [1, %d]", h.name, backlog, MaxBacklog)
	}
	a := addr.Addr()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	if !a.Is4() {
		return nil, fmt.Errorf("stack: host %q: listen address %v is not IPv4", h.name, a)
	}
	if !a.IsUnspecified() && !h.isLocal(a) {
		return nil, fmt.Errorf("stack: host %q: listen address %v is not on any interface", h.name, a)
	}
	port := addr.Port()
	if port == 0 {
		var ok bool
		if port, ok = h.freeListenPort(a); !ok {
			return nil, fmt.Errorf("stack: host %q: listen: %w", h.name, ErrNoPorts)
		}
	}
	if h.listenConflict(a, port) {
		return nil, fmt.Errorf("stack: host %q: listen on %v: %w", h.name, netip.AddrPortFrom(a, port), ErrAddrInUse)
	}
	l := &Listener{h: h, key: listenKey{a, port}, backlog: backlog}
	l.fastOpenListen() // fastopen.go
	h.listeners[l.key] = l
	return l, nil
}

func (h *Host) listenConflict(a netip.Addr, port uint16) bool {
	if _, ok := h.listeners[listenKey{a, port}]; ok {
		return true
	}
	if a.IsUnspecified() {
		for i := range h.ifaces {
			if _, ok := h.listeners[listenKey{h.ifaces[i].prefix.Addr(), port}]; ok {
				return true
			}
		}
		return false
	}
	_, ok := h.listeners[listenKey{netip.IPv4Unspecified(), port}]
	return ok
}

func (h *Host) freeListenPort(a netip.Addr) (uint16, bool) {
	for range h.cfg.EphemeralPorts.Count() {
		p := h.ephemeralPort(uint32(h.rng.IntN(h.cfg.EphemeralPorts.Count())))
		if !h.listenConflict(a, p) {
			return p, true
		}
	}
	return 0, false
}

// findListener returns the listener for a segment to dst:port: one bound to
// dst itself first, then a wildcard one.
func (h *Host) findListener(dst netip.Addr, port uint16) *Listener {
	if l, ok := h.listeners[listenKey{dst, port}]; ok {
		return l
	}
	return h.listeners[listenKey{netip.IPv4Unspecified(), port}]
}

// Addr returns the listening address (unspecified for every address) and port.
func (l *Listener) Addr() netip.AddrPort { return netip.AddrPortFrom(l.key.addr, l.key.port) }

// SetNotify installs the callback; it receives EventReadable when a
// connection is ready for Accept.
func (l *Listener) SetNotify(f func(Event)) { l.notify = f }

// Pending returns how many connections wait for Accept.
func (l *Listener) Pending() int { return len(l.queue) }

// Accept returns the oldest established connection not yet accepted, or
// ErrWouldBlock when there is none, or ErrClosed after Close.
func (l *Listener) Accept() (*Conn, error) {
	if l.closed {
		return nil, ErrClosed
	}
	if len(l.queue) == 0 {
		return nil, ErrWouldBlock
	}
	c := l.queue[0]
	copy(l.queue, l.queue[1:])
	l.queue[len(l.queue)-1] = nil
	l.queue = l.queue[:len(l.queue)-1]
	c.listener = nil
	c.accepted = true
	return c, nil
}

// Close stops listening. Connections not yet accepted are reset.
func (l *Listener) Close() error {
	if l.closed {
		return ErrClosed
	}
	h := l.h
	h.enter()
	defer h.exit()
	l.closed = true
	delete(h.listeners, l.key)
	for len(l.embryo) > 0 {
		l.embryo[0].abort()
	}
	for len(l.queue) > 0 {
		c := l.queue[0]
		c.abort()
		l.unlink(c) // a closed Fast Open connection stays queued (fastopen.go)
	}
	return nil
}

// unlink removes c from the listener's lists (c failed or was reset before
// Accept).
func (l *Listener) unlink(c *Conn) {
	for _, lst := range []*[]*Conn{&l.embryo, &l.queue} {
		s := *lst
		for i, x := range s {
			if x == c {
				copy(s[i:], s[i+1:])
				s[len(s)-1] = nil
				*lst = s[:len(s)-1]
				return
			}
		}
	}
}

// input handles a segment for a listener: RFC 9293 §3.10.7.2 (LISTEN).
// tw, when not nil, is the TIME_WAIT connection on the segment's 4-tuple
// that this SYN may take over (demux checked timeWaitReusable).
func (l *Listener) input(src, dst netip.Addr, th *segment.Header, payload []byte, tw *Conn) {
	h := l.h
	key := connKey{local: netip.AddrPortFrom(dst, th.DstPort), remote: netip.AddrPortFrom(src, th.SrcPort)}
	// First: an incoming RST is ignored.
	if th.Flags&segment.FlagRST != 0 {
		h.counters.TCPListenDrops++
		return
	}
	// Second: any ACK is bad in LISTEN: answer <SEQ=SEG.ACK><CTL=RST>.
	if th.Flags&segment.FlagACK != 0 {
		if l.cookieACK(key, th, payload) {
			return // a SYN cookie: the connection exists now
		}
		h.counters.TCPListenDrops++
		h.sendResetFor(key, th, len(payload))
		return
	}
	// Third: SYN.
	if th.Flags&segment.FlagSYN == 0 {
		h.counters.TCPListenDrops++ // "any other control or text-bearing segment ... drop it"
		return
	}
	if th.Flags&segment.FlagFIN != 0 {
		// SYN and FIN together: no real TCP sends it (it opens and closes
		// in one segment; scanners do). RFC 9293 would open a connection
		// and queue the FIN; Linux drops it (tcp_rcv_state_process,
		// SKB_DROP_REASON_TCP_FLAGS), and so do we.
		h.counters.TCPDropSynFin++
		return
	}
	if h.memRefuseSYN() {
		return // memory.go: no new connections under memory pressure
	}
	full := len(l.embryo)+len(l.queue) >= l.backlog
	if tw != nil {
		// A SYN taking over TIME_WAIT continues the old incarnation's
		// sequence space (demux checked it). A cookie would lose the ISS
		// rule below and leave TIME_WAIT in place to catch the cookie's
		// ACK, so such a SYN gets a real embryo while the accept queue has
		// room, even beyond a full SYN queue: at most one extra per
		// TIME_WAIT connection.
		full = len(l.queue) >= l.backlog
	} else if l.wantCookie() {
		l.sendCookie(key, th)
		return
	}
	if full {
		h.counters.TCPListenOverflows++
		return
	}
	ifIdx, ok := h.lookupRoute(src)
	if !ok {
		h.counters.IPNoRoute++
		return
	}
	if tw != nil {
		// The new incarnation is certain now; only now does TIME_WAIT end.
		// A SYN dropped above leaves it in place, so that the old
		// connection's sequence space stays guarded and the retransmitted
		// SYN still gets the ISS below.
		h.counters.TCPTimeWaitReuse++
		// RFC 1122 §4.2.2.13 (1): the new incarnation's ISS must exceed
		// the old one's highest sequence number, so that none of our old
		// segments can fall in its window. Like Linux
		// (tcp_timewait_state_process) we take the old SND.NXT plus a
		// maximum unscaled window, 65535, plus 2.
		h.twISN, h.twISNSet = tw.sndMax.Add(65535+2), true
		tw.remove()
	}
	h.counters.TCPPassiveOpens++
	c := h.newConn(key, ifIdx)
	c.listener = l
	c.clampMSS(l.maxSeg)
	l.embryo = append(l.embryo, c)
	c.irs = th.Seq
	c.rcvNxt = th.Seq.Add(1)
	c.rcvAdv = c.rcvNxt // sendSyn moves it to the right edge it advertises
	c.processSynOptions(&th.Options)
	c.ecnPassive(th)             // ecn.go
	c.sndWnd = uint32(th.Window) // RFC 7323 §2.2: the window in a SYN is never scaled
	c.sndWl1, c.sndWl2 = th.Seq, c.iss
	c.state = StateSynReceived
	// Text and FIN on the SYN are not queued: we acknowledge only the SYN
	// and the peer retransmits the rest (RFC 9293 §3.10.7.2 allows either),
	// unless a valid Fast Open cookie comes with the text (fastopen.go).
	l.fastOpenSyn(c, src, dst, th, payload)
	c.sendSyn()
}
