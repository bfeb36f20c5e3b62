package stack

// State is a TCP connection state (RFC 9293 §3.3.2, Figure 6).
type State uint8

// The connection states. StateClosed is both the initial state of a Conn
// that never connected and the final state of one that is gone from the
// host's tables.
const (
	StateClosed      State = iota // no connection
	StateListen                   // waiting for a SYN (listeners only)
	StateSynSent                  // our SYN sent, waiting for the peer's
	StateSynReceived              // SYN received and answered, waiting for its ACK
	StateEstablished              // data flows both ways
	StateFinWait1                 // we closed; our FIN not yet acknowledged
	StateFinWait2                 // our FIN acknowledged; waiting for the peer's FIN
	StateCloseWait                // peer closed; we may still send
	StateClosing                  // both closed at once; waiting for the ACK of our FIN
	StateLastAck                  // peer closed first, then we did; waiting for the ACK of our FIN
	StateTimeWait                 // both FINs acknowledged; holding the 4-tuple for 2×MSL
)

var stateNames = [...]string{
	StateClosed:      "CLOSED",
	StateListen:      "LISTEN",
	StateSynSent:     "SYN_SENT",
	StateSynReceived: "SYN_RECEIVED",
	StateEstablished: "ESTABLISHED",
	StateFinWait1:    "FIN_WAIT_1",
	StateFinWait2:    "FIN_WAIT_2",
	StateCloseWait:   "CLOSE_WAIT",
	StateClosing:     "CLOSING",
	StateLastAck:     "LAST_ACK",
	StateTimeWait:    "TIME_WAIT",
}

// String returns the state's name as Linux's ss(8) and RFC 9293 spell it,
// e.g. "ESTABLISHED", "FIN_WAIT_1".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "STATE(" + itoa(int(s)) + ")"
}

// synchronized reports whether the state is one of RFC 9293's synchronized
// states (ESTABLISHED and later), where both sequence spaces are known.
func (s State) synchronized() bool { return s >= StateEstablished }

// canSendData reports whether queued data and a FIN may still be
// transmitted in this state. The FIN-WAIT-1, CLOSING and LAST-ACK states are
// entered when the application closes, which may happen before all queued
// data has left (RFC 9293 §3.10.4: the FIN follows the queued data).
func (s State) canSendData() bool {
	switch s {
	case StateEstablished, StateCloseWait, StateFinWait1, StateClosing, StateLastAck:
		return true
	}
	return false
}

// canReceiveData reports whether segment text is accepted in this state
// (RFC 9293 §3.10.7.4, seventh step).
func (s State) canReceiveData() bool {
	switch s {
	case StateEstablished, StateFinWait1, StateFinWait2:
		return true
	}
	return false
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
