package stack

import (
	"fmt"
	"strings"

	"github.com/tcpsim/tcpsim/segment"
)

// Congestion control is two layers.
//
// congestionControl is the sender's loss recovery: RFC 5681 fast
// retransmit and fast recovery with the NewReno modification of RFC 6582
// (newreno.go). The sender (input.go, rto.go) classifies each ACK and calls
// one method; the recovery updates the control block's cwnd and ssthresh
// and says whether the sender must retransmit the first unacknowledged
// segment now. It is shared by every window algorithm.
//
// windowAlgorithm is the part that differs between Reno and CUBIC: how cwnd
// grows outside recovery (slow start, congestion avoidance), what ssthresh
// becomes on a congestion event or a timeout, and what happens after idle.
// The recovery calls it; it never retransmits anything itself.
type congestionControl interface {
	// init sets the initial window once the send MSS is known (at
	// ESTABLISHED).
	init()
	// onAck handles a cumulative ACK that advanced sndUna by acked bytes of
	// data (sndUna already updated). It returns true if the first
	// unacknowledged segment must be retransmitted (a NewReno partial ACK).
	onAck(acked uint32) (retransmit bool)
	// onDupAck handles one duplicate ACK (RFC 5681 §2). It returns true if
	// the first unacknowledged segment must be retransmitted (fast
	// retransmit).
	onDupAck() (retransmit bool)
	// afterIdle handles a restart after an idle period (RFC 5681 §4.1):
	// nothing in flight and no data sent for longer than the RTO.
	afterIdle()
	// onRTO handles an expiry of the retransmission timer (RFC 5681 §3.1,
	// RFC 6582 §3.2 step 6 of the timeout rule).
	onRTO()
	// inRecovery reports whether fast recovery is in progress.
	inRecovery() bool
	// name identifies the window algorithm in Info.
	name() string
	// sent is told of every segment sendData transmits, [seq, next), before
	// sndNxt and sndMax move (HyStart++ takes its RTT samples from it).
	sent(seq, next segment.Seq)
}

// windowAlgorithm is the window half of congestion control (see above).
// cwnd and ssthresh live in the control block; the methods read and write
// them. Implementations: renoWindow (newreno.go), cubic (cubic.go).
type windowAlgorithm interface {
	// name is the algorithm's name as TCPConfig.CongestionControl spells it.
	name() string
	// init runs at ESTABLISHED after cwnd = IW and ssthresh = "arbitrarily
	// high" (RFC 5681 §3.1).
	init()
	// increase grows cwnd for an ACK of acked new bytes outside loss
	// recovery: slow start while cwnd < ssthresh, else congestion avoidance.
	increase(acked uint32)
	// congestion is a loss detected by duplicate ACKs or SACK at the start
	// of fast recovery: it returns the new ssthresh (the recovery then sets
	// cwnd from it) and records what the algorithm remembers of the event.
	congestion() (ssthresh uint32)
	// timeout is an RTO expiry: it returns the ssthresh the RTO rule uses on
	// the first expiry for a segment (RFC 5681 §3.1 keeps it on repeated
	// ones); cwnd becomes the loss window, set by the caller.
	timeout() (ssthresh uint32)
	// afterIdle runs when RFC 5681 §4.1's restart window has been applied.
	afterIdle()
	// sent is congestionControl.sent, passed on.
	sent(seq, next segment.Seq)
}

// Names of the window algorithms TCPConfig.CongestionControl accepts.
const (
	CCNewReno = "newreno"
	CCCubic   = "cubic"
)

// CongestionControls lists the accepted TCPConfig.CongestionControl names,
// the default first.
func CongestionControls() []string { return []string{CCNewReno, CCCubic} }

// checkCongestionControl fills in the default algorithm and rejects an
// unknown name (called by TCPConfig.applyDefaults).
func (c *TCPConfig) checkCongestionControl() error {
	switch c.CongestionControl {
	case "":
		c.CongestionControl = CCNewReno
	case CCNewReno, CCCubic:
	default:
		return fmt.Errorf("stack: TCPConfig.CongestionControl is %q; known algorithms: %s",
			c.CongestionControl, strings.Join(CongestionControls(), ", "))
	}
	return nil
}

// newCongestionControl builds the connection's congestion control: the
// shared RFC 6582 recovery around the configured window algorithm.
func newCongestionControl(c *Conn) congestionControl {
	r := newNewReno(c)
	if c.h.cfg.CongestionControl == CCCubic {
		r.alg = newCubic(c)
	}
	return r
}

// restartAfterIdle applies RFC 5681 §4.1 before new data leaves an idle
// connection: "if the TCP has not sent data in an interval exceeding the
// retransmission timeout", cwnd falls back to the restart window, so that
// a burst after a pause does not rely on a path state that may have gone
// stale. Linux does the same by default (tcp_slow_start_after_idle, which
// also halves cwnd per idle RTO; we apply the RFC's single reduction).
func (c *Conn) restartAfterIdle() {
	if c.h.env.Now()-c.lastDataAt > c.currentRTO() {
		c.cc.afterIdle()
	}
}
