package stack

import "strconv"

// CAState is the sender's congestion-avoidance state with the meaning and
// the numbering of Linux's tcp_ca_state (tcpi_ca_state in struct tcp_info),
// so that tools written for Linux read it unchanged.
type CAState uint8

// The states, from the most to the least ordinary. When several apply, the
// later one in this list wins, as in Linux (a timeout overrides a fast
// recovery, which overrides an ECN reduction).
const (
	// CAOpen: nothing unusual; cwnd grows as the algorithm says.
	CAOpen CAState = iota
	// CADisorder: the peer reported out-of-order data (SACK blocks or
	// duplicate ACKs) but no loss has been decided yet.
	CADisorder
	// CAWindowReduced (Linux TCP_CA_CWR): cwnd was reduced for an ECN echo
	// (RFC 3168 §6.1.2) and the window of data sent before it is not yet
	// acknowledged.
	CAWindowReduced
	// CARecovery: fast recovery (RFC 6582, RFC 6675).
	CARecovery
	// CALoss: after a retransmission timeout, until everything that was
	// outstanding when it fired is acknowledged.
	CALoss
)

var caStateNames = [...]string{"Open", "Disorder", "CWR", "Recovery", "Loss"}

func (s CAState) String() string {
	if int(s) < len(caStateNames) {
		return caStateNames[s]
	}
	return "CAState(" + strconv.Itoa(int(s)) + ")"
}

// caState derives the state from the control block.
func (c *Conn) caState() CAState {
	if !c.state.synchronized() {
		return CAOpen
	}
	switch {
	case c.cc.inRecovery():
		return CARecovery
	case c.stats.timeouts > 0 && !c.sndUna.GreaterThan(c.recover):
		// onRTO set recover to SND.MAX − 1; a fast recovery since would
		// have moved it and ends only once SND.UNA passes it.
		return CALoss
	case c.ecn.reduced && c.sndUna.LessThan(c.ecn.recover): // Linux: until SND.UNA reaches high_seq
		return CAWindowReduced
	case c.sacked.bytes > 0 || c.dupAcks > 0:
		return CADisorder
	}
	return CAOpen
}
