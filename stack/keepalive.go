package stack

import (
	"fmt"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Keep-alives (RFC 1122 §4.2.3.6) and the user timeout (RFC 5482, RFC 9293
// §3.10.8's USER TIMEOUT).
//
// Keep-alives are off unless the application asks (TCPConfig.KeepAlive or
// Conn.SetKeepAlive), as RFC 1122 requires. When on, a connection that has
// received nothing for KeepAliveIdle while it has nothing to send or
// retransmit sends a probe: a bare ACK with the already-acknowledged
// sequence number SND.UNA − 1, which a live peer must answer with an ACK
// (RFC 9293 §3.10.7.4, first step). Unanswered probes are repeated every
// KeepAliveInterval; after KeepAliveProbes of them the connection is reset
// and fails with ETIMEDOUT. This is Linux's tcp_keepalive_timer, with its
// defaults (7200 s, 75 s, 9) and its choice of probe and of a RST at the end.
//
// The user timeout bounds how long the connection may have data to deliver
// (sent and unacknowledged, or queued and not yet sent) without SND.UNA
// advancing; when it passes, the connection fails with ETIMEDOUT and, as in
// Linux (TCP_USER_TIMEOUT), no RST is sent. While a user timeout is set it
// replaces DataRetries as the limit on retransmissions, and it also ends
// keep-alive probing that has gone unanswered for that long.

// Keep-alive defaults (Linux net.ipv4.tcp_keepalive_*).
const (
	DefaultKeepAliveIdle     = 2 * time.Hour // RFC 1122: no less than two hours
	DefaultKeepAliveInterval = 75 * time.Second
	DefaultKeepAliveProbes   = 9
)

// keepAliveState is the per-connection part.
type keepAliveState struct {
	on       bool
	idle     time.Duration
	interval time.Duration
	probes   int
	sent     int // probes sent since the peer was last heard from

	userTimeout time.Duration
	progressAt  time.Duration // SND.UNA last advanced, or data to deliver appeared
	pending     bool          // the connection had data to deliver at the last check
}

func (c *TCPConfig) applyKeepAliveDefaults() error {
	for _, d := range []struct {
		name string
		p    *time.Duration
		def  time.Duration
	}{{"KeepAliveIdle", &c.KeepAliveIdle, DefaultKeepAliveIdle}, {"KeepAliveInterval", &c.KeepAliveInterval, DefaultKeepAliveInterval}} {
		if *d.p < 0 {
			return fmt.Errorf("stack: TCPConfig.%s is %v; it must not be negative", d.name, *d.p)
		}
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	if c.KeepAliveProbes < 0 {
		return fmt.Errorf("stack: TCPConfig.KeepAliveProbes is %d; it must not be negative", c.KeepAliveProbes)
	}
	if c.KeepAliveProbes == 0 {
		c.KeepAliveProbes = DefaultKeepAliveProbes
	}
	if c.UserTimeout < 0 {
		return fmt.Errorf("stack: TCPConfig.UserTimeout is %v; it must not be negative (0 means none)", c.UserTimeout)
	}
	return nil
}

// initKeepAlive copies the host's settings into a new connection.
func (c *Conn) initKeepAlive() {
	cfg := &c.h.cfg
	c.ka = keepAliveState{on: cfg.KeepAlive, idle: cfg.KeepAliveIdle, interval: cfg.KeepAliveInterval,
		probes: cfg.KeepAliveProbes, userTimeout: cfg.UserTimeout}
}

// SetKeepAlive turns keep-alive probing on or off (SO_KEEPALIVE).
func (c *Conn) SetKeepAlive(on bool) {
	c.h.enter()
	defer c.h.exit()
	c.ka.on = on
	c.ka.sent = 0
	c.armKeepAlive()
}

// SetKeepAliveParams sets the idle time before the first probe
// (TCP_KEEPIDLE), the time between unanswered probes (TCP_KEEPINTVL) and
// how many go unanswered before the connection is reset (TCP_KEEPCNT). A
// zero argument leaves that setting as it is.
func (c *Conn) SetKeepAliveParams(idle, interval time.Duration, probes int) error {
	if idle < 0 || interval < 0 || probes < 0 {
		return fmt.Errorf("stack: SetKeepAliveParams(%v, %v, %d): values must not be negative", idle, interval, probes)
	}
	c.h.enter()
	defer c.h.exit()
	if idle > 0 {
		c.ka.idle = idle
	}
	if interval > 0 {
		c.ka.interval = interval
	}
	if probes > 0 {
		c.ka.probes = probes
	}
	c.armKeepAlive()
	return nil
}

// SetUserTimeout sets the user timeout (TCP_USER_TIMEOUT); 0 removes it.
func (c *Conn) SetUserTimeout(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("stack: SetUserTimeout(%v): must not be negative", d)
	}
	c.h.enter()
	defer c.h.exit()
	c.ka.userTimeout = d
	c.ka.pending = false // restart the clock from now if data is waiting
	c.noteDelivery(false)
	return nil
}

// keepAliveInState reports whether the keep-alive timer runs in a state:
// every synchronized state but TIME_WAIT. (Where our FIN is unacknowledged
// the timer only waits, as for any data in flight.)
func keepAliveInState(s State) bool { return s.synchronized() && s != StateTimeWait }

// armKeepAlive schedules the next keep-alive check from the last time the
// peer was heard from.
func (c *Conn) armKeepAlive() {
	if !c.ka.on || !keepAliveInState(c.state) {
		c.tm.keepAt = 0
		return
	}
	c.setTimer(&c.tm.keepAt, c.heardAt()+c.ka.idle)
}

// heardAt is when the peer last sent an acceptable ACK (or when the
// connection was established, if later).
func (c *Conn) heardAt() time.Duration { return max(c.lastAckAt, c.establishedAt) }

// onKeepAliveTimer is the keep-alive timer.
func (c *Conn) onKeepAliveTimer(now time.Duration) {
	if !c.ka.on || !keepAliveInState(c.state) {
		return
	}
	if c.sndUna != c.sndMax || c.dataEnd().GreaterThan(c.sndNxt) || c.wrClosed && !c.finSent() {
		// Data to send or in flight: the retransmission and persist timers
		// watch the peer. Look again after another idle period.
		c.setTimer(&c.tm.keepAt, now+c.ka.idle)
		return
	}
	elapsed := now - c.heardAt()
	if elapsed < c.ka.idle {
		c.ka.sent = 0 // heard from since the last probe
		c.setTimer(&c.tm.keepAt, c.heardAt()+c.ka.idle)
		return
	}
	if c.ka.sent >= c.ka.probes || c.ka.userTimeout > 0 && c.ka.sent > 0 && elapsed >= c.ka.userTimeout {
		c.h.counters.TCPAbortOnTimeout++
		c.sendReset()
		c.fail(errTimedOut)
		return
	}
	c.ka.sent++
	c.h.counters.TCPKeepAlive++
	th := segment.Header{Seq: c.sndUna.Add(^uint32(0)), Ack: c.rcvNxt, Flags: segment.FlagACK}
	th.Window = c.windowToAdvertise()
	c.stats.segsOut++
	c.emit(&th, nil, nil)
	c.afterAckSent()
	c.setTimer(&c.tm.keepAt, now+c.ka.interval)
}

// noteDelivery keeps the user-timeout clock: progress (SND.UNA advanced)
// or newly appearing data to deliver restart it. Called from output and
// when SND.UNA advances.
func (c *Conn) noteDelivery(progress bool) {
	if c.ka.userTimeout > 0 {
		c.noteDeliveryOn(progress)
	}
}

// noteDeliveryOn is noteDelivery with a user timeout set.
func (c *Conn) noteDeliveryOn(progress bool) {
	if c.ka.userTimeout <= 0 {
		return
	}
	pending := c.sndUna != c.sndMax || c.dataEnd().GreaterThan(c.sndNxt) || c.wrClosed && !c.finAcked
	if !c.state.synchronized() || c.txDropped && c.sndUna == c.sndMax {
		// Nothing in flight and the host's own queue refused what waits:
		// the probe timer keeps the user timeout (localdrop.go).
		pending = false
	}
	if progress || pending && !c.ka.pending {
		c.ka.progressAt = c.h.env.Now()
	}
	c.ka.pending = pending
	if pending {
		c.setTimer(&c.tm.userAt, c.ka.progressAt+c.ka.userTimeout)
	} else {
		c.tm.userAt = 0
	}
}

// onUserTimer is the user-timeout timer.
func (c *Conn) onUserTimer(now time.Duration) {
	c.noteDelivery(false)
	if !c.ka.pending || now < c.ka.progressAt+c.ka.userTimeout {
		return
	}
	c.h.counters.TCPAbortOnTimeout++
	c.fail(errTimedOut)
}
