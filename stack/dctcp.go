package stack

import "github.com/tcpsim/tcpsim/segment"

// DCTCP (RFC 8257), the "dctcp" of the registry. It needs ECN and a
// bottleneck that marks CE as soon as its queue exceeds a small threshold K
// (sim's pfifo ecn_threshold); the sender then reduces its window in
// proportion to the fraction of marked data instead of halving it, so the
// queue stays near K with full throughput.
//
// Sender (§3.3): over each observation window of about one RTT (until
// SND.UNA reaches the SND.NXT of the window's start) it counts the bytes
// acknowledged and those acknowledged by ACKs with ECE; at the end,
//
//	M = bytes_marked / bytes_acked,  α ← (1 − g)·α + g·M,  g = 1/16,
//
// with α = 1 at the start (Linux's dctcp_alpha_on_init default). On ECE,
// at most once per window (the engine's RFC 3168 rule), cwnd = ssthresh =
// cwnd·(1 − α/2), at least 2 SMSS. Losses and timeouts are answered as by
// Reno (§3.4), and the window grows as Reno's (renoWindow).
//
// Receiver (§3.2): the connection echoes the CE state of the last data
// segment instead of latching ECE until CWR, and with delayed ACKs sends an
// immediate ACK, with the old state's ECE, for the data received so far
// each time the CE state changes (ecn.go), so the sender learns exactly how
// many bytes were marked.
//
// Without ECN negotiated (a peer that refuses it) no ACK carries ECE, so
// only losses reduce the window: DCTCP then behaves exactly as Reno, which
// is what Linux's fallback does. Not done: Linux's undo of a spurious
// reduction (loss_cwnd; the engine's undo hook, CwndUndoer, is there for
// it).

const (
	dctcpG         = 1.0 / 16 // the estimation gain g (§4.2)
	dctcpAlphaInit = 1.0
)

type dctcp struct {
	reno      renoWindow
	alpha     float64
	acked     uint64      // bytes acknowledged in the observation window
	marked    uint64      // of which by ACKs with ECE
	windowEnd segment.Seq // the window ends when SND.UNA passes it (updated each time it does)
}

func newDCTCP() *dctcp { return &dctcp{alpha: dctcpAlphaInit} }

// RequiresECN: DCTCP works only with ECN.
func (d *dctcp) RequiresECN() bool { return true }

// EchoCEPerSegment: the receiver side of §3.2.
func (d *dctcp) EchoCEPerSegment() bool { return true }

// Alpha is the current estimate α of the fraction of marked bytes.
func (d *dctcp) Alpha() float64 { return d.alpha }

func (d *dctcp) Init(cc *CCConn) {
	d.reno.Init(cc)
	d.alpha, d.acked, d.marked = dctcpAlphaInit, 0, 0
	d.windowEnd = cc.SndMax()
}

func (d *dctcp) OnAck(cc *CCConn, a AckSample) {
	d.acked += uint64(a.Acked)
	if a.ECE {
		d.marked += uint64(a.Acked)
	}
	if cc.SndUna().GreaterThanEq(d.windowEnd) { // the window is acknowledged (Linux: !before(snd_una, next_seq))
		d.update()
		d.windowEnd = cc.SndMax()
	}
	d.reno.OnAck(cc, a)
}

// update ends an observation window: α from the fraction marked.
func (d *dctcp) update() {
	m := 0.0
	if d.acked > 0 {
		m = float64(d.marked) / float64(d.acked)
	}
	d.alpha = float64((1-dctcpG)*d.alpha) + float64(dctcpG*m) // float64(): no fused multiply-add
	d.acked, d.marked = 0, 0
}

func (d *dctcp) OnCongestion(cc *CCConn, ev CongestionEvent) uint32 {
	if ev != CongestionECN {
		return d.reno.OnCongestion(cc, ev) // §3.4: losses as Reno
	}
	d.reno.caBytes = 0
	cwnd := float64(cc.Cwnd())
	return max(uint32(cwnd-float64(cwnd*d.alpha/2)), 2*cc.MSS())
}

func (d *dctcp) AfterIdle(cc *CCConn) { d.reno.AfterIdle(cc) }
