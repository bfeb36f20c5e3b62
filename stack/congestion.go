package stack

import "github.com/tcpsim/tcpsim/segment"

// Congestion control is two layers.
//
// congestionControl is the sender's loss recovery: RFC 5681 fast
// retransmit and fast recovery with the NewReno modification of RFC 6582
// (newreno.go). The sender (input.go, rto.go) classifies each ACK and calls
// one method; the recovery updates the control block's cwnd and ssthresh
// and says whether the sender must retransmit the first unacknowledged
// segment now. It is shared by every algorithm.
//
// The algorithm (CongestionAlgorithm, the public API of ccapi.go) is the
// part that differs between Reno, CUBIC, DCTCP and what users write: how
// cwnd grows outside recovery (slow start, congestion avoidance), what
// ssthresh becomes on a congestion event or a timeout, what happens after
// idle, and optionally the pacing rate. The recovery calls it; it never
// retransmits anything itself.
//
// newReno is the only implementation, and the control block holds it as
// *newReno so that the calls on every segment and ACK are direct (and the
// small ones inlined); the interface stays as the contract it keeps.
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
	// name identifies the algorithm in Info.
	name() string
	// sent is told of every segment sendData transmits, [seq, next), before
	// sndNxt and sndMax move (HyStart++ takes its RTT samples from it).
	sent(seq, next segment.Seq)
}

var _ congestionControl = (*newReno)(nil)

// newCongestionControl builds the connection's congestion control: the
// shared RFC 6582 recovery around a new instance of the configured
// algorithm (the registry's constructor for TCPConfig.CongestionControl).
func newCongestionControl(c *Conn) *newReno {
	name := c.h.cfg.CongestionControl
	f := lookupCongestionControl(name)
	if f == nil { // a config that skipped validation (tests)
		name, f = CCNewReno, lookupCongestionControl(CCNewReno)
	}
	c.setAlgorithm(name, f())
	return newNewReno(c)
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
