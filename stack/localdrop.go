package stack

import (
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Local drops: the host's own queue in front of a link (QueueLink, like a
// full qdisc on a Linux device) refuses a segment. Unlike a loss on the
// path, the sender knows at once, and Linux's TCP (tcp_transmit_skb
// getting NET_XMIT_DROP) reacts as follows, which tcpsim follows:
//
//   - The segment counts as not sent: new data stays unsent (SND.NXT does
//     not move), and a retransmission is not marked as one, so the data
//     stays lost and in no one's flight; only the retransmission counter
//     (tcpi_total_retrans) counts the attempt. The sending pass stops.
//   - The local congestion is a congestion signal: outside recovery and
//     loss, the connection reduces its window once, as for an ECN echo
//     (Linux's tcp_enter_cwr, CAWindowReduced).
//   - A retransmission timeout whose retransmission is refused does not
//     back the timer off; it tries again after ResourceProbeInterval.
//   - With nothing in flight and data waiting, the probe timer tries to
//     send after an RTO, then every ResourceProbeInterval while the queue
//     still refuses (tcp_send_probe0 with a local error), each attempt
//     counting as a probe (tcpi_probes). A user timeout then counts from
//     the first probe (Linux's icsk_probes_tstamp), otherwise DataRetries
//     probes in a row end the connection (an orphan's, OrphanRetries).

// ResourceProbeInterval is how soon a sender whose own queue refused a
// segment tries again: Linux's TCP_RESOURCE_PROBE_INTERVAL.
const ResourceProbeInterval = 500 * time.Millisecond

// txRefused reports whether the host's own queue would refuse the
// connection's next packet.
func (c *Conn) txRefused() bool {
	if !c.h.queues {
		return false // no interface has a queue: nothing refuses (inlined)
	}
	return c.txRefusedAll()
}

// txRefusedAll is txRefused on a host with a QueueLink.
func (c *Conn) txRefusedAll() bool {
	return c.h.refuses(c.ifIdx, c.key.remote.Addr())
}

// localDrop is sendData's part when the segment at seq was refused.
func (c *Conn) localDrop(seq segment.Seq) {
	c.h.counters.IPLocalDrops++
	c.txDropped, c.txDropEntry = true, c.h.entries
	if seq.LessThan(c.sndMax) {
		c.h.counters.TCPRetransSegs++
		c.stats.retrans++ // an attempted retransmission still counts (Linux's total_retrans)
	}
	c.localCWR()
}

// localCWR is Linux's tcp_enter_cwr for local congestion: a window
// reduction once per window of data, as an ECN echo makes, unless the
// connection is already reducing (CWR, recovery or after a timeout).
func (c *Conn) localCWR() {
	if c.cc.inRecovery() || c.caState() >= CAWindowReduced ||
		c.ecn.reduced && !c.sndUna.GreaterThan(c.ecn.recover) {
		return // reducing already, or reduced for this window
	}
	c.enterCWR() // ecn.go
}

// localProbe is the probe timer while nothing is in flight and the host's
// own queue refused the data waiting (tcp_probe_timer, tcp_send_probe0).
// It reports whether it handled the expiry.
func (c *Conn) localProbe(now time.Duration) bool {
	if !c.txDropped {
		return false
	}
	if c.orphanGiveUp(c.probesOut) {
		return true // orphan.go: an orphan's probes are limited as Linux's tcp_probe_timer limits them
	}
	if c.probeStart == 0 {
		c.probeStart = now
	} else if ut := c.ka.userTimeout; ut > 0 && now-c.probeStart >= ut {
		c.h.counters.TCPAbortOnTimeout++
		c.fail(errTimedOut)
		return true
	}
	if c.ka.userTimeout == 0 && int(c.probesOut) >= c.h.cfg.DataRetries {
		c.fail(errTimedOut)
		return true
	}
	c.txDropped = false
	c.forceSend = true
	c.output() // the attempt; armSendTimers rearms below if it was refused
	c.forceSend = false
	if c.sndMax != c.sndUna || !c.txDropped {
		c.probesOut, c.probeStart = 0, 0 // it went: the RTO takes over
		return true
	}
	c.probesOut++
	wait := ResourceProbeInterval
	if ut := c.ka.userTimeout; ut > 0 {
		wait = max(min(wait, c.probeStart+ut-now), time.Millisecond)
	}
	c.tm.persistAt = 0
	c.setTimer(&c.tm.persistAt, now+wait)
	return true
}
