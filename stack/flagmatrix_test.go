package stack

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tcpsim/tcpsim/segment"
)

// The flag matrix (issue 10 item 10): every state × every one of the 256
// values of the TCP flag octet → the expected reaction: what the host sends,
// the state it is in afterwards, and which counters move. The expectations
// are written from RFC 9293 §3.10.7 (with RFC 5961 in the synchronized
// states) and the Linux choices docs/tcp.md lists, one function per group of
// states, from the four bits that matter: SYN, RST, ACK and FIN. PSH, URG,
// ECE and CWR must never change the reaction (URG is not implemented, ECN is
// not negotiated), which the loop over all 256 values checks.
//
// Each state is probed with up to three sets of numbers:
//
//	good    SEG.SEQ = RCV.NXT and SEG.ACK = SND.NXT: a segment the peer
//	        could have sent, which reaches every step of §3.10.7.4;
//	badseq  SEG.SEQ = RCV.NXT + 2^20, outside any window (first step);
//	badack  SEG.SEQ = RCV.NXT and SEG.ACK = SND.NXT + 100000: data never sent;
//	data    as good, with 10 bytes of text.
//
// Only the data probe carries text. The host's limiter of invalid ACKs is
// fresh for each cell (a new host), so its first ACK always goes out.

// reaction is what one segment does to a host.
type reaction struct {
	send   []segment.Flags // flags of the segments sent, in order
	state  State           // state of the probed connection afterwards (StateClosed: gone)
	opens  bool            // a new connection appears in SYN_RECEIVED (LISTEN, TIME_WAIT reuse)
	counts []string        // Counters fields that move, each by exactly one
	reads  int             // bytes the probed connection has for Read afterwards
}

func (r reaction) String() string {
	var s []string
	for _, f := range r.send {
		s = append(s, f.String())
	}
	return fmt.Sprintf("send %v, state %v, opens %v, counts %v, reads %d", s, r.state, r.opens, r.counts, r.reads)
}

// bookkeeping counters move on every segment in or out; the matrix checks
// all the others.
var bookkeeping = map[string]bool{"IPReceived": true, "IPDelivered": true, "TCPReceived": true, "IPSent": true, "TCPSent": true}

// counterDiff lists the counters (bookkeeping aside) that differ between a
// and b, with the amount.
func counterDiff(a, b Counters) map[string]uint64 {
	d := map[string]uint64{}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		name := va.Type().Field(i).Name
		if bookkeeping[name] {
			continue
		}
		if x, y := va.Field(i).Uint(), vb.Field(i).Uint(); x != y {
			d[name] = y - x
		}
	}
	return d
}

type bits struct{ syn, rst, ack, fin bool }

func bitsOf(f segment.Flags) bits {
	return bits{f&S != 0, f&R != 0, f&A != 0, f&F != 0}
}

// expectClosed: no connection and no listener (RFC 9293 §3.10.7.1). A RST
// is discarded; anything else draws a RST.
func expectClosed(b bits) reaction {
	r := reaction{counts: []string{"TCPNoSocket"}}
	switch {
	case b.rst:
	case b.ack:
		r.send = []segment.Flags{R} // <SEQ=SEG.ACK><CTL=RST>
		r.counts = append(r.counts, "TCPRstSent")
	default:
		r.send = []segment.Flags{RA} // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
		r.counts = append(r.counts, "TCPRstSent")
	}
	return r
}

// expectListen: RFC 9293 §3.10.7.2, with SYN+FIN dropped as Linux does.
func expectListen(b bits) reaction {
	r := reaction{state: StateListen}
	switch {
	case b.rst: // first: an incoming RST is ignored
		r.counts = []string{"TCPListenDrops"}
	case b.ack: // second: any ACK is bad: <SEQ=SEG.ACK><CTL=RST>
		r.send = []segment.Flags{R}
		r.counts = []string{"TCPListenDrops", "TCPRstSent"}
	case b.syn && b.fin: // Linux: SKB_DROP_REASON_TCP_FLAGS
		r.counts = []string{"TCPDropSynFin"}
	case b.syn: // third: SYN → SYN_RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
		r.send = []segment.Flags{SA}
		r.opens = true
		r.counts = []string{"TCPPassiveOpens"}
	default: // fourth: other text or control: drop
		r.counts = []string{"TCPListenDrops"}
	}
	return r
}

// expectSynSent: RFC 9293 §3.10.7.3. ackOK says whether SEG.ACK is
// acceptable (ISS < SEG.ACK ≤ SND.NXT).
func expectSynSent(b bits, ackOK bool) reaction {
	r := reaction{state: StateSynSent}
	switch {
	case b.ack && !ackOK: // first: unacceptable ACK → RST unless RST
		if b.rst {
			r.counts = []string{"TCPRstIgnored"}
		} else {
			r.send = []segment.Flags{R}
			r.counts = []string{"TCPRstSent"}
		}
	case b.rst: // second: RST acceptable only with an acceptable ACK
		if b.ack {
			r.state = StateClosed // ECONNREFUSED
			r.counts = []string{"TCPRstReceived", "TCPAttemptFails"}
		} else {
			r.counts = []string{"TCPRstIgnored"}
		}
	case b.syn && b.ack: // fourth: our SYN acknowledged → ESTABLISHED, ACK
		r.state = StateEstablished
		if b.fin { // "continue processing at the sixth step": the FIN → CLOSE_WAIT
			r.state = StateCloseWait
		}
		r.send = []segment.Flags{A}
	case b.syn: // simultaneous open: SYN_RECEIVED, SYN,ACK (a FIN is not queued)
		r.state = StateSynReceived
		r.send = []segment.Flags{SA}
	default: // fifth: neither SYN nor RST: drop
		r.counts = []string{"TCPDropInState"}
	}
	return r
}

// afterAck is the state a synchronized connection (or a passive
// SYN_RECEIVED one) reaches when an ACK of everything sent, with or without
// a FIN at RCV.NXT, is processed (RFC 9293 §3.10.7.4 fifth and eighth steps),
// and whether it answers with an ACK.
func afterAck(st State, fin bool) (State, bool) {
	switch st {
	case StateSynReceived:
		if fin {
			return StateCloseWait, true
		}
		return StateEstablished, false
	case StateEstablished:
		if fin {
			return StateCloseWait, true
		}
	case StateFinWait1: // our FIN is acknowledged → FIN_WAIT_2; a FIN then → TIME_WAIT
		if fin {
			return StateTimeWait, true
		}
		return StateFinWait2, false
	case StateFinWait2:
		if fin {
			return StateTimeWait, true
		}
	case StateCloseWait: // a FIN again: acknowledged, nothing changes
		return st, fin
	case StateClosing: // our FIN acknowledged → TIME_WAIT; a FIN again is acknowledged
		return StateTimeWait, fin
	case StateLastAck: // our FIN acknowledged → CLOSED at once
		return StateClosed, false
	case StateTimeWait:
		return st, fin
	}
	return st, false
}

// expectSync: RFC 9293 §3.10.7.4 for SYN_RECEIVED (passive) and the
// synchronized states, for one of the probes.
func expectSync(st State, b bits, probe string, twReuse bool) reaction {
	r := reaction{state: st}
	if probe == "data" && b.ack && !b.rst && !b.syn && (st == StateFinWait1 || st == StateFinWait2) {
		// The application has closed (Close, not CloseWrite): new text
		// resets the connection, as Linux does (tcp_rcv_state_process,
		// TCPAbortOnData), with the reset of the segment, <SEQ=SEG.ACK>
		// <CTL=RST>; the FIN after it is not processed.
		return reaction{state: StateClosed, send: []segment.Flags{R}, counts: []string{"TCPEstabResets", "TCPRstSent"}}
	}
	// Otherwise text changes nothing visible here: ESTABLISHED (and
	// SYN_RECEIVED once the ACK established it) takes it and delays the ACK
	// (one small segment, RFC 9293 §3.8.6.3); CLOSE_WAIT, CLOSING, LAST_ACK
	// and TIME_WAIT ignore it ("This should not occur").
	if probe == "badseq" {
		// First: unacceptable. A RST is dropped; anything else draws an ACK
		// (a SYN too: RFC 9293 does not reach the fourth step), except
		// that a new SYN beyond TIME_WAIT's RCV.NXT reopens the 4-tuple
		// (RFC 6191) when a listener takes it, and a SYN+FIN, which the
		// listener drops, leaves TIME_WAIT alone.
		switch {
		case b.rst:
			r.counts = []string{"TCPRstIgnored"}
		case twReuse && b.syn && !b.ack && b.fin:
			r.counts = []string{"TCPDropSynFin"}
		case twReuse && b.syn && !b.ack:
			r.state, r.opens = StateClosed, true
			r.send = []segment.Flags{SA}
			r.counts = []string{"TCPTimeWaitReuse", "TCPPassiveOpens"}
		default:
			r.send = []segment.Flags{A}
			r.counts = []string{"TCPOutOfWindow"}
		}
		return r
	}
	switch {
	case b.rst: // second: a RST at exactly RCV.NXT resets
		r.state = StateClosed
		r.counts = []string{"TCPRstReceived"}
		switch st {
		case StateSynReceived:
			r.counts = append(r.counts, "TCPAttemptFails")
		case StateEstablished, StateFinWait1, StateFinWait2, StateCloseWait:
			r.counts = append(r.counts, "TCPEstabResets")
		}
	case b.syn: // fourth: challenge ACK (RFC 5961 §4.2)
		r.send = []segment.Flags{A}
		r.counts = []string{"TCPChallengeACKs"}
	case !b.ack: // fifth: no ACK, drop
		r.counts = []string{"TCPDropInState"}
	case probe == "badack" && st == StateSynReceived: // <SEQ=SEG.ACK><CTL=RST>
		r.send = []segment.Flags{R}
		r.counts = []string{"TCPRstSent"}
	case probe == "badack": // ACK of data never sent: ACK, drop (the FIN too)
		r.send = []segment.Flags{A}
		r.counts = []string{"TCPAckTooNew"}
	default:
		var ack bool
		r.state, ack = afterAck(st, b.fin)
		if ack {
			r.send = []segment.Flags{A}
		}
		if probe == "data" && (st == StateSynReceived || st == StateEstablished) {
			r.reads = 10
		}
	}
	return r
}

// matrixState sets a script up in one state and reports the connection
// probed (nil for LISTEN and CLOSED).
type matrixState struct {
	name   string
	state  State
	probes []string
	setup  func(s *script) *Conn
}

func matrixStates() []matrixState {
	sync := []string{"good", "badseq", "badack", "data"}
	var out []matrixState
	out = append(out,
		matrixState{"CLOSED", StateClosed, []string{"good", "data"}, func(s *script) *Conn { return nil }},
		matrixState{"LISTEN", StateListen, []string{"good", "data"}, func(s *script) *Conn {
			if _, err := s.h.Listen(80, 8); err != nil {
				s.t.Fatal(err)
			}
			return nil
		}},
		matrixState{"SYN_SENT", StateSynSent, []string{"good", "badack", "data"}, func(s *script) *Conn {
			c, err := s.h.Connect(netip.Addr{}, s.peer)
			if err != nil {
				s.t.Fatal(err)
			}
			s.local = c.LocalAddr()
			s.iss = uint32(s.out[0].pkt.TCP.Seq)
			return c
		}},
		matrixState{"SYN_RECEIVED", StateSynReceived, sync, func(s *script) *Conn {
			if _, err := s.h.Listen(80, 8); err != nil {
				s.t.Fatal(err)
			}
			s.inject(seg{flags: S, win: 65535, mss: 1460})
			s.iss = uint32(s.out[0].pkt.TCP.Seq)
			return s.h.Conns()[0]
		}},
	)
	for _, st := range synchronizedStates() {
		out = append(out, matrixState{st.state.String(), st.state, sync, func(s *script) *Conn {
			s.passiveOpen()
			st.setup(s)
			return s.c
		}})
	}
	return out
}

func TestFlagMatrix(t *testing.T) {
	var cells int
	for _, ms := range matrixStates() {
		for _, probe := range ms.probes {
			t.Run(ms.name+"/"+probe, func(t *testing.T) {
				for fl := range 256 {
					checkFlagCell(t, ms, probe, segment.Flags(fl))
					cells++
				}
			})
		}
	}
	if want := 256 * (2 + 2 + 3 + 4*8); cells != want {
		t.Fatalf("%d cells checked, want %d", cells, want)
	}
}

func checkFlagCell(t *testing.T, ms matrixState, probe string, fl segment.Flags) {
	t.Helper()
	s := newScript(t, scriptCfg())
	c := ms.setup(s)
	if c != nil && c.State() != ms.state {
		t.Fatalf("setup reached %v, want %v", c.State(), ms.state)
	}
	if c == nil && ms.state == StateListen && s.h.NumListeners() != 1 {
		t.Fatal("no listener")
	}
	s.out = nil
	b := bitsOf(fl)
	var want reaction
	g := seg{flags: fl, win: 65535, absSeq: true, seq: s.peerISN + 77}
	switch ms.state {
	case StateClosed:
		g.ack = 5000
		want = expectClosed(b)
	case StateListen:
		g.ack = 5000
		want = expectListen(b)
	case StateSynSent:
		g.ack = 1 // ISS+1
		if probe == "badack" {
			g.ack = 100001
		}
		want = expectSynSent(b, probe != "badack")
		if probe == "data" && b.syn && b.ack && !b.rst {
			want.reads = 10 // text on the SYN,ACK is taken (sixth step on)
		}
	default:
		i := c.Info()
		g.seq = uint32(i.RcvNxt)
		g.ack = uint32(i.SndMax) - s.iss
		switch probe {
		case "badseq":
			g.seq += 1 << 20
		case "badack":
			g.ack += 100000
		}
		want = expectSync(ms.state, b, probe, ms.state == StateTimeWait)
	}
	if !b.ack {
		g.ack = 0
	}
	if probe == "data" {
		g.data = data(10)
	}
	before := s.h.Counters()
	convsBefore := s.h.Conns()
	s.inject(g)
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("%s %s, flags %v: %s\n want %v", ms.name, probe, fl, fmt.Sprintf(format, a...), want)
	}

	// What was sent.
	var sent []segment.Flags
	for _, o := range s.out {
		sent = append(sent, o.pkt.TCP.Flags)
	}
	if !slices.Equal(sent, want.send) {
		fail("sent %v", sent)
	}
	segLen := uint32(len(g.data))
	if b.syn {
		segLen++
	}
	if b.fin {
		segLen++
	}
	for _, o := range s.out {
		th := o.pkt.TCP
		switch th.Flags {
		case R: // <SEQ=SEG.ACK><CTL=RST>
			if uint32(th.Seq) != g.ack+s.iss {
				fail("RST seq %d, want SEG.ACK %d", th.Seq, g.ack+s.iss)
			}
		case RA:
			if c == nil { // CLOSED: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
				if th.Seq != 0 || uint32(th.Ack) != g.seq+segLen {
					fail("RST,ACK seq %d ack %d, want 0 and %d", th.Seq, th.Ack, g.seq+segLen)
				}
			} else if i := c.Info(); th.Seq != i.SndMax { // abort: <SEQ=SND.NXT><CTL=RST,ACK>
				fail("RST,ACK seq %d, want SND.NXT %d", th.Seq, i.SndMax)
			}
		case A: // <SEQ=SND.NXT><ACK=RCV.NXT>
			if c != nil && c.State() != StateClosed {
				if i := c.Info(); th.Ack != i.RcvNxt || th.Seq != i.SndMax {
					fail("ACK seq %d ack %d, want SND.NXT %d RCV.NXT %d", th.Seq, th.Ack, i.SndMax, i.RcvNxt)
				}
			}
		case SA: // <SEQ=ISS><ACK=SEG.SEQ+1>
			if uint32(th.Ack) != g.seq+1 {
				fail("SYN,ACK ack %d, want SEG.SEQ+1 = %d", th.Ack, g.seq+1)
			}
		}
		if th.Flags&(segment.FlagURG|segment.FlagECE|segment.FlagCWR) != 0 {
			fail("sent flags %v", th.Flags)
		}
	}

	// The state afterwards.
	if c != nil && c.State() != want.state {
		fail("state %v", c.State())
	}
	var opened []*Conn
	for _, x := range s.h.Conns() {
		if !slices.Contains(convsBefore, x) {
			opened = append(opened, x)
		}
	}
	if want.opens != (len(opened) == 1) || len(opened) > 1 {
		fail("%d connections opened", len(opened))
	}
	if want.opens && opened[0].State() != StateSynReceived {
		fail("new connection in %v", opened[0].State())
	}
	if c != nil && c.Readable() != want.reads {
		fail("%d bytes readable", c.Readable())
	}
	if c == nil && ms.state == StateClosed && s.h.NumConns() != 0 {
		fail("%d connections in CLOSED", s.h.NumConns())
	}

	// Counters.
	d := counterDiff(before, s.h.Counters())
	var got []string
	for k, v := range d {
		if v != 1 {
			fail("counter %s moved by %d", k, v)
		}
		got = append(got, k)
	}
	slices.Sort(got)
	w := slices.Clone(want.counts)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		fail("counters %s", strings.Join(got, ","))
	}
}
