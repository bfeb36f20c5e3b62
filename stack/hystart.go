package stack

import (
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// HyStart++ (RFC 9406): slow start that watches the round-trip time and
// leaves early when the RTT of a round exceeds the previous round's by a
// threshold, i.e. when a queue starts to build, instead of doubling the
// window until the bottleneck's buffer overflows and a whole window's
// worth of segments is lost.
//
// A round starts when an ACK covers windowEnd, the SND.NXT (our sndMax) of
// the previous round start. In each round the minimum RTT of the ACKs is
// kept. In slow start, once a round has N_RTT_SAMPLE samples and its
// minimum is at least the last round's plus
// RttThresh = clamp(lastRoundMinRTT/8, 4 ms, 16 ms), HyStart++ enters
// Conservative Slow Start (CSS): cwnd grows by a quarter of slow start's
// rate. If, in CSS, a round's minimum falls below the one that triggered
// it (cssBaselineMinRtt), the exit was spurious and slow start resumes;
// after CSS_ROUNDS rounds in CSS, ssthresh = cwnd and congestion avoidance
// begins. A loss at any point ends HyStart++ and the window algorithm's
// own reduction applies.
//
// It is part of the cubic window algorithm (cubic.go) unless
// TCPConfig.LinuxCubic selects Linux's HyStart (cubic_linux.go), in the
// initial slow start only (RFC 9406 §4.3 recommends that; after an RTO, slow start is
// RFC 5681's). renoWindow keeps RFC 5681 slow start unchanged.
//
// RTT samples. The engine times one segment per RTT (RFC 6298, rto.go),
// too few for N_RTT_SAMPLE = 8 per round, and timestamps are not
// negotiated here; so, like Linux, which samples every ACK from each
// segment's send time, HyStart++ keeps its own marks: the end sequence
// number and send time of up to hsMarks new-data segments in flight,
// spaced cwnd/16 apart, so a round yields about 16 samples whatever the
// window. An ACK that covers marks gives one sample, from the newest mark
// it covers. Karn's rule: any retransmission drops every mark, since an
// ACK after it is ambiguous.

// RFC 9406 §4.3 constants.
const (
	hsMinRTTThresh     = 4 * time.Millisecond
	hsMaxRTTThresh     = 16 * time.Millisecond
	hsMinRTTDivisor    = 8
	hsNRTTSample       = 8
	hsCSSGrowthDivisor = 4
	hsCSSRounds        = 5
	// hsL is L, the largest slow-start increase per ACK in SMSS: 8 for a
	// sender that does not pace, as tcpsim's does not.
	hsL = 8
	// hsMarks bounds the send-time marks kept; hsMarkSpacing divides cwnd
	// into the distance between two marks.
	hsMarks       = 32
	hsMarkSpacing = 16
	hsInf         = time.Duration(1<<63 - 1)
)

type hsMark struct {
	end segment.Seq   // one past the segment's last sequence number
	at  time.Duration // when it was sent
}

type hystart struct {
	active    bool // in charge of the initial slow start
	css       bool // in Conservative Slow Start
	cssRounds int  // rounds begun since CSS was entered, the entry round counted
	windowEnd segment.Seq

	lastRoundMinRTT, currentRoundMinRTT, cssBaselineMinRTT time.Duration
	rttSampleCount                                         int

	marks    [hsMarks]hsMark // ring: head is the oldest
	head, n  int
	nextMark segment.Seq // the next mark goes on a segment starting at or after it

	// cssEntries counts the entries into CSS (tests read it).
	cssEntries int
}

// start arms HyStart++ for the initial slow start of c.
func (hs *hystart) start(cc *CCConn) {
	*hs = hystart{
		active:             true,
		windowEnd:          cc.SndMax(),
		lastRoundMinRTT:    hsInf,
		currentRoundMinRTT: hsInf,
		cssBaselineMinRTT:  hsInf,
		nextMark:           cc.SndMax(),
	}
}

// sent records a send-time mark for new data [seq, next), or drops every
// mark on a retransmission.
func (hs *hystart) sent(cc *CCConn, seq, next segment.Seq) {
	if seq.LessThan(cc.SndMax()) {
		hs.head, hs.n = 0, 0
		return
	}
	if hs.n == hsMarks || seq.LessThan(hs.nextMark) || next == seq {
		return
	}
	hs.marks[(hs.head+hs.n)%hsMarks] = hsMark{end: next, at: cc.Now()}
	hs.n++
	hs.nextMark = seq.Add(max(cc.MSS(), cc.Cwnd()/hsMarkSpacing))
}

// sample returns the RTT of the newest mark that sndUna now covers, and
// forgets every covered mark.
func (hs *hystart) sample(cc *CCConn) (time.Duration, bool) {
	var at time.Duration
	ok := false
	for hs.n > 0 && hs.marks[hs.head].end.LessThanEq(cc.SndUna()) {
		at, ok = hs.marks[hs.head].at, true
		hs.head = (hs.head + 1) % hsMarks
		hs.n--
	}
	if !ok {
		return 0, false
	}
	return max(cc.Now()-at, 1), true
}

// onAck is RFC 9406 §4.2 for one ACK of acked new bytes while cwnd is below
// ssthresh.
func (hs *hystart) onAck(cc *CCConn, acked uint32) {
	if !cc.SndUna().LessThan(hs.windowEnd) {
		// A round ends: the next one runs until what is sent now is acked.
		hs.lastRoundMinRTT = hs.currentRoundMinRTT
		hs.currentRoundMinRTT = hsInf
		hs.rttSampleCount = 0
		hs.windowEnd = cc.SndMax()
		if hs.css {
			if hs.cssRounds++; hs.cssRounds >= hsCSSRounds {
				// CSS_ROUNDS rounds in CSS: enter congestion avoidance.
				hs.active, hs.css = false, false
				cc.SetSsthresh(cc.Cwnd())
				return
			}
		}
	}
	if r, ok := hs.sample(cc); ok {
		hs.currentRoundMinRTT = min(hs.currentRoundMinRTT, r)
		hs.rttSampleCount++
	}
	inc := acked
	if !cc.conn().h.cfg.SlowStartUncapped {
		inc = min(acked, hsL*cc.MSS()) // RFC 9406 §4.2's L
	}
	if hs.css {
		inc /= hsCSSGrowthDivisor
	}
	cc.SetCwnd(min(cc.Cwnd()+inc, cubicMaxCwnd))
	if hs.rttSampleCount < hsNRTTSample || hs.currentRoundMinRTT == hsInf {
		return
	}
	if !hs.css {
		if hs.lastRoundMinRTT == hsInf {
			return
		}
		thresh := max(hsMinRTTThresh, min(hs.lastRoundMinRTT/hsMinRTTDivisor, hsMaxRTTThresh))
		if hs.currentRoundMinRTT >= hs.lastRoundMinRTT+thresh {
			hs.cssBaselineMinRTT = hs.currentRoundMinRTT
			hs.css, hs.cssRounds = true, 1
			hs.cssEntries++
		}
		return
	}
	if hs.currentRoundMinRTT < hs.cssBaselineMinRTT {
		// The RTT went back down: the CSS entry was spurious.
		hs.cssBaselineMinRTT = hsInf
		hs.css = false
	}
}
