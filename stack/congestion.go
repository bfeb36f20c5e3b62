package stack

// congestionControl is the sender's congestion control and loss recovery:
// RFC 5681 (slow start, congestion avoidance, fast retransmit and fast
// recovery) with the NewReno modification of RFC 6582 (newreno.go). The
// sender (input.go, rto.go) classifies each ACK and calls one method; the
// algorithm updates the control block's cwnd and ssthresh and says whether
// the sender must retransmit the first unacknowledged segment now. A
// SACK-based recovery (RFC 6675) or CUBIC (RFC 9438) would implement the
// same interface.
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
	// onRTO handles an expiry of the retransmission timer (RFC 5681 §3.1,
	// RFC 6582 §3.2 step 6 of the timeout rule).
	onRTO()
	// inRecovery reports whether fast recovery is in progress.
	inRecovery() bool
	// name identifies the algorithm in Info.
	name() string
}
