package stack

import (
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tcpsim/tcpsim/segment"
)

// newCCConn is a bare control block with MSS 1000 under the named
// algorithm, at ESTABLISHED's initial state, with flight bytes outstanding
// (so that the algorithm's first observation window covers them).
func newCCConn(t *testing.T, name string, ecn int, flight uint32) (*Conn, *newReno) {
	t.Helper()
	env := &script{t: t}
	h, err := NewHost(HostConfig{Env: env, TCP: TCPConfig{CongestionControl: name, ECN: ecn}})
	if err != nil {
		t.Fatal(err)
	}
	c := &Conn{h: h, tcb: tcb{sndMSS: ccMSS}}
	c.cc = newCongestionControl(c)
	c.sndMax = c.sndUna.Add(flight)
	r := c.cc
	r.init()
	return c, r
}

// RFC 8257 §3.3 with hand-computed numbers: α starts at 1; a window of 10
// segments of which 4 acknowledged with ECE gives M = 0.4 and
// α = 15/16 + 0.4/16 = 0.9625; a clean window gives α·15/16 = 0.90234375;
// an ECN reduction at cwnd 20000 sets ssthresh = cwnd·(1 − α/2) =
// 10976.5625, i.e. 10976 bytes, and cwnd with it; a loss halves as Reno.
func TestDCTCPAlphaAndReduction(t *testing.T) {
	c, r := newCCConn(t, CCDCTCP, ECNOn, 10*ccMSS)
	d := c.ccx.alg.(*dctcp)
	if d.Alpha() != 1 {
		t.Fatalf("initial α %v, want 1", d.Alpha())
	}
	ack := func(n int, ece func(i int) bool) {
		for i := range n {
			c.sndUna = c.sndUna.Add(ccMSS)
			c.ccx.ackECE = ece(i)
			r.onAck(ccMSS)
		}
	}
	ack(9, func(i int) bool { return i < 4 })
	if d.Alpha() != 1 {
		t.Fatalf("α changed to %v before the window was acknowledged", d.Alpha())
	}
	c.sndMax = c.sndMax.Add(10 * ccMSS) // the next window is in flight when the first ends
	ack(1, func(int) bool { return false })
	if d.Alpha() != 0.9625 {
		t.Fatalf("α after 4 of 10 marked: %v, want 0.9625", d.Alpha())
	}
	ack(10, func(int) bool { return false })
	if d.Alpha() != 0.90234375 {
		t.Fatalf("α after a clean window: %v, want 0.90234375", d.Alpha())
	}
	c.cwnd = 20 * ccMSS
	c.sndMax = c.sndUna.Add(20 * ccMSS)
	c.ecn.ok = true
	c.ecnAck(&segment.Header{Flags: segment.FlagACK | segment.FlagECE})
	if c.ssthresh != 10976 || c.cwnd != 10976 {
		t.Fatalf("ECN reduction: ssthresh %d cwnd %d, want 10976 and 10976", c.ssthresh, c.cwnd)
	}
	// Loss: Reno's max(FlightSize/2, 2·SMSS).
	if ss := d.OnCongestion(c.ccHandle(), CongestionLoss); ss != 10*ccMSS {
		t.Fatalf("loss ssthresh %d, want FlightSize/2 = 10000", ss)
	}
	// α converges to the marked fraction: 200 windows all marked.
	for range 200 {
		c.sndMax = c.sndUna.Add(10 * ccMSS)
		ack(10, func(int) bool { return true })
	}
	if math.Abs(d.Alpha()-1) > 1e-5 {
		t.Fatalf("α after 200 fully marked windows %v, want → 1", d.Alpha())
	}
}

// DCTCP needs ECN: a config with ECN off is refused, naming the field;
// with ECNPassive an active open still asks for ECN.
func TestDCTCPRequiresECN(t *testing.T) {
	_, err := NewHost(HostConfig{Env: &script{t: t}, TCP: TCPConfig{CongestionControl: CCDCTCP}})
	if err == nil || !strings.Contains(err.Error(), "requires ECN") || !strings.Contains(err.Error(), "TCPConfig.ECN") {
		t.Fatalf("dctcp with ECN off: %v", err)
	}
	if !CongestionControlRequiresECN(CCDCTCP) || CongestionControlRequiresECN(CCCubic) || CongestionControlRequiresECN("nope") {
		t.Fatal("CongestionControlRequiresECN is wrong")
	}
	cfg := scriptCfg()
	cfg.CongestionControl, cfg.ECN = CCDCTCP, ECNPassive
	s := newScript(t, cfg)
	if _, err := s.h.Connect(netip.Addr{}, s.peer); err != nil {
		t.Fatal(err)
	}
	if f := s.out[0].pkt.TCP.Flags; f&(E|W) != E|W {
		t.Fatalf("DCTCP SYN flags %v, want ECE and CWR (ECN-setup)", f)
	}
}

// RFC 8257 §3.2: the receiver's ECE follows the CE state of the last data
// segment, and a change of state while a delayed ACK is owed acknowledges
// the data before it at once with the old state's ECE. CWR does not stop
// the echo. Segments of 100 bytes; a delayed ACK goes every 2 segments.
func TestDCTCPReceiverEcho(t *testing.T) {
	cfg := scriptCfg()
	cfg.CongestionControl, cfg.ECN = CCDCTCP, ECNPassive
	s := newScript(t, cfg)
	s.l, _ = s.h.Listen(80, 1)
	s.inject(seg{flags: S | E | W, win: 65535, mss: 1460})
	s.iss = uint32(s.out[0].pkt.TCP.Seq)
	s.inject(seg{flags: A, seq: 1, ack: 1, win: 65535})
	s.c, _ = s.l.Accept()
	type ackSeen struct {
		ack uint32
		ece bool
	}
	acks := func() []ackSeen {
		var r []ackSeen
		for _, o := range s.out {
			r = append(r, ackSeen{uint32(o.pkt.TCP.Ack) - 1000, o.pkt.TCP.Flags&E != 0})
		}
		s.out = nil
		return r
	}
	s.out = nil
	step := func(seq uint32, ecn uint8, flags segment.Flags, want []ackSeen) {
		t.Helper()
		s.inject(seg{flags: A | flags, seq: seq, ack: 1, win: 65535, data: data(100), ecn: ecn})
		if got := acks(); !slices.Equal(got, want) {
			t.Fatalf("segment at %d (ECN %d): ACKs %v, want %v", seq, ecn, got, want)
		}
	}
	step(1, 2, 0, nil)                       // not CE: the ACK is delayed
	step(101, 3, 0, []ackSeen{{101, false}}) // CE: the data before is acknowledged at once, ECE 0
	step(201, 3, 0, []ackSeen{{301, true}})  // CE again: the delayed ACK of two segments, ECE 1
	step(301, 3, W, nil)                     // CWR changes nothing
	step(401, 2, 0, []ackSeen{{401, true}})  // back to not CE: the CE segment acknowledged with ECE 1
	step(501, 2, 0, []ackSeen{{601, false}}) // delayed ACK, ECE 0
	if n := s.h.Counters().TCPECNCEReceived; n != 3 {
		t.Fatalf("CE counter %d, want 3", n)
	}
}
