package stack

import (
	"errors"
	"syscall"
	"testing"
)

// ============================================================
// RST in every synchronized state (RFC 9293 §3.10.7.4 second step with
// RFC 5961 §3.2): out of window → dropped; in window but not RCV.NXT →
// challenge ACK; exactly RCV.NXT → the state's action.
// ============================================================

type stateSetup struct {
	state  State
	rcvNxt uint32 // relative RCV.NXT once in the state
	setup  func(s *script)
	err    error // the error a reset leaves (nil: closes without error)
}

func synchronizedStates() []stateSetup {
	peerFIN := func(s *script, ack uint32) { s.inject(seg{flags: FA, seq: 1, ack: ack, win: 65535}) }
	return []stateSetup{
		{StateEstablished, 1, func(s *script) {}, syscall.ECONNRESET},
		{StateFinWait1, 1, func(s *script) { s.c.Close() }, syscall.ECONNRESET},
		{StateFinWait2, 1, func(s *script) { s.c.Close(); s.inject(seg{flags: A, seq: 1, ack: 2, win: 65535}) }, syscall.ECONNRESET},
		{StateCloseWait, 2, func(s *script) { peerFIN(s, 1) }, syscall.ECONNRESET},
		{StateClosing, 2, func(s *script) { s.c.Close(); peerFIN(s, 1) }, nil},
		{StateLastAck, 2, func(s *script) { peerFIN(s, 1); s.c.Close() }, nil},
		{StateTimeWait, 2, func(s *script) { s.c.Close(); s.inject(seg{flags: A, seq: 1, ack: 2, win: 65535}); peerFIN(s, 2) }, nil},
	}
}

func TestRSTInEveryState(t *testing.T) {
	for _, st := range synchronizedStates() {
		t.Run(st.state.String(), func(t *testing.T) {
			s := newScript(t, scriptCfg())
			s.passiveOpen()
			st.setup(s)
			if s.c.State() != st.state {
				t.Fatalf("setup reached %v", s.c.State())
			}
			s.out = nil
			s.inject(seg{flags: R, seq: st.rcvNxt + 100000})
			s.none()
			s.inject(seg{flags: R, seq: st.rcvNxt + 10})
			if len(s.out) != 1 || s.out[0].pkt.TCP.Flags != A {
				t.Fatalf("no challenge ACK: %v", s.out)
			}
			s.out = nil
			if s.c.State() != st.state {
				t.Fatalf("in-window RST changed the state to %v", s.c.State())
			}
			s.inject(seg{flags: R, seq: st.rcvNxt})
			s.none()
			if s.c.State() != StateClosed || s.h.NumConns() != 0 {
				t.Fatalf("after RST: %v", s.c.State())
			}
			if st.err == nil && s.c.Err() != nil || st.err != nil && !errors.Is(s.c.Err(), st.err) {
				t.Fatalf("error %v, want %v", s.c.Err(), st.err)
			}
		})
	}
}

// A SYN in every synchronized state draws a challenge ACK and changes
// nothing (RFC 5961 §4.2).
func TestSYNInEveryState(t *testing.T) {
	for _, st := range synchronizedStates() {
		t.Run(st.state.String(), func(t *testing.T) {
			s := newScript(t, scriptCfg())
			s.passiveOpen()
			st.setup(s)
			s.out = nil
			seq := st.rcvNxt + 5
			if st.state == StateTimeWait {
				// A SYN beyond RCV.NXT would reopen the 4-tuple
				// (TestTimeWait_SYNReuse); an old one is acknowledged.
				seq = st.rcvNxt - 1
			}
			s.inject(seg{flags: S, seq: seq, win: 100})
			if len(s.out) != 1 || s.out[0].pkt.TCP.Flags != A || s.c.State() != st.state {
				t.Fatalf("state %v, sent %v", s.c.State(), s.out)
			}
		})
	}
}
