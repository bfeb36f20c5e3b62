package stack

import (
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Linux's CUBIC (net/ipv4/tcp_cubic.c), selected by TCPConfig.LinuxCubic,
// for runs that compare windows with a Linux host segment by segment (the
// packetdrill corpus). It differs from RFC 9438 (cubic.go) in its
// arithmetic and from RFC 9406 HyStart++ (hystart.go) in its slow-start
// exit:
//
//   - Windows are whole segments, grown as Linux's tcp_cong_avoid_ai: a
//     credit counter gains one per segment acknowledged and cwnd grows by
//     one segment each time it reaches cnt.
//   - cnt comes from the window function in Linux's fixed point: time in
//     1/1024 s from the millisecond clock (HZ = 1000), looked up one
//     minimum RTT ahead, W = origin ± 410·|t−K|³ / 2^40 (C = 0.4 with the
//     cube scaled by 2^30), K = ∛(2^40/410 · (W_max − cwnd)) in 1/1024 s.
//     Linux approximates the cube root with a table and a Newton step
//     (error about 0.2 %); here it is the exact integer cube root. cnt is
//     cwnd/(target − cwnd), 100·cwnd when the target is not above cwnd, at
//     most 20 before the first loss, capped by the Reno-friendly estimate
//     (which gains a segment per cwnd·15/8 acknowledged) and at least 2; it
//     is recomputed at most once per clock tick and kept for 1/32 s while
//     cwnd does not change.
//   - A loss or ECN echo: ssthresh = max(cwnd·717/1024, 2) segments,
//     W_max = cwnd, or cwnd·(1024+717)/2048 below the previous W_max (fast
//     convergence). A timeout also forgets everything (Linux resets the
//     algorithm on entering the Loss state), so HyStart runs again in the
//     slow start that follows. An undo only restores cwnd.
//   - HyStart, in slow start from cwnd ≥ 16 segments, with one RTT sample
//     per ACK (from the newest segment it acknowledges that was not
//     retransmitted). A round starts at the first ACK beyond the SND.NXT
//     recorded at the previous start. The delay test keeps the least RTT of
//     the round and, from the 9th sample on, leaves slow start when that
//     exceeds the connection's minimum RTT by clamp(minRTT/8, 4 ms, 16 ms).
//     The ACK train test: while ACKs come at most 2 ms apart, it leaves
//     slow start once the train has lasted longer than the minimum RTT
//     (plus a TSO allowance of at most 1 ms), halved when the connection
//     does not pace. Leaving sets ssthresh = cwnd; HyStart then stays off
//     until a timeout.
//   - When sending starts with nothing in flight, the epoch moves forward
//     by the time since the last send, so idle time does not count as
//     growth time (Linux's CA_EVENT_TX_START).
//
// Not modelled: SACKed segments as RTT sources (Linux also samples the
// newest newly SACKed one), and RTT samples beyond lxMaxMarks segments in
// flight (later segments are then not timed).

// Linux's tcp_cubic constants (module parameter defaults).
const (
	lxBeta          = 717  // β·1024
	lxBetaScale     = 1024 // BICTCP_BETA_SCALE
	lxCubeRTTScale  = 410  // bic_scale (41) · 10
	lxFriendlyScale = 15   // 8·(1024+717)/3/(1024−717), integer division
	lxLowWindow     = 16   // hystart_low_window, segments
	lxMinSamples    = 8    // HYSTART_MIN_SAMPLES
	lxDelayMin      = 4000 // HYSTART_DELAY_MIN, µs
	lxDelayMax      = 16000
	lxAckDelta      = 2000 // hystart_ack_delta_us
	lxHZ            = 1000 // the clock ticks per second the arithmetic assumes
	lxAckTrain      = 1    // hystart_detect bits
	lxDelay         = 2
	lxMaxMarks      = 1 << 14
	// lxCubeFactor is 2^40/410: (W_max − cwnd) times it is K³ in (1/1024 s)³.
	lxCubeFactor = (uint64(1) << 40) / lxCubeRTTScale
)

type lxMark struct {
	seq, end segment.Seq
	at       time.Duration
	retrans  bool
}

// linuxCubic is the state of Linux's struct bictcp, plus the send marks
// its RTT samples come from and tcp_sock's snd_cwnd_cnt and lsndtime.
type linuxCubic struct {
	cnt         uint32 // grow cwnd by one after cnt segments acknowledged
	lastMaxCwnd uint32
	lastCwnd    uint32
	lastTime    uint32 // ms
	origin      uint32 // bic_origin_point
	k           uint32 // bic_K, 1/1024 s
	delayMin    uint32 // µs, 0 = none yet
	epochStart  uint32 // ms
	epochSet    bool
	ackCnt      uint32
	tcpCwnd     uint32 // the Reno-friendly estimate
	sampleCnt   int
	found       bool
	roundStart  uint32 // µs
	lastAck     uint32 // µs
	endSeq      segment.Seq
	currRTT     uint32 // µs

	cwndCnt  uint32 // snd_cwnd_cnt
	lsnd     uint32 // ms of the last data sent
	sentAny  bool
	marks    []lxMark
	head     int
	hsDetect int // hystart_detect bits in force

	// Exits counts HyStart's exits by test (tests read them).
	trainExits, delayExits int
}

func lxMs(d time.Duration) uint32 { return uint32(d / time.Millisecond) }
func lxUs(d time.Duration) uint32 { return uint32(d / time.Microsecond) }

// lxCbrt is the integer cube root of a, rounded down.
func lxCbrt(a uint64) uint32 {
	lo, hi := uint64(0), uint64(2642245) // ⌊∛(2^64 − 1)⌋: no cube below overflows
	for lo < hi {
		m := (lo + hi + 1) / 2
		if m*m*m <= a {
			lo = m
		} else {
			hi = m - 1
		}
	}
	return uint32(lo)
}

// reset is bictcp_reset: the algorithm's state starts over; the send
// marks and the time of the last send are the connection's and stay.
func (lx *linuxCubic) reset() {
	*lx = linuxCubic{hsDetect: lx.hsDetect, marks: lx.marks, head: lx.head, lsnd: lx.lsnd, sentAny: lx.sentAny,
		trainExits: lx.trainExits, delayExits: lx.delayExits}
}

func (lx *linuxCubic) hystartReset(cc *CCConn) {
	now := lxUs(cc.Now())
	lx.roundStart, lx.lastAck = now, now
	lx.endSeq = cc.SndMax()
	lx.currRTT = ^uint32(0)
	lx.sampleCnt = 0
}

func (lx *linuxCubic) init(cc *CCConn) {
	d := cc.conn().h.cfg.LinuxHyStartDetect
	switch {
	case d == 0:
		d = lxAckTrain | lxDelay
	case d < 0:
		d = 0
	}
	lx.hsDetect = d & (lxAckTrain | lxDelay)
	lx.reset()
	lx.hystartReset(cc)
}

// sent is tcp_event_data_sent's part: the idle shift of the epoch, and the
// send marks.
func (lx *linuxCubic) sent(cc *CCConn, seq, next segment.Seq) {
	if next == seq {
		return
	}
	now := lxMs(cc.Now())
	if cc.SndUna() == cc.SndMax() && lx.sentAny && lx.epochSet {
		// CA_EVENT_TX_START: nothing was in flight.
		if delta := int32(now - lx.lsnd); delta > 0 {
			lx.epochStart += uint32(delta)
			if int32(lx.epochStart-now) > 0 {
				lx.epochStart = now
			}
		}
	}
	lx.lsnd, lx.sentAny = now, true
	if seq.LessThan(cc.SndMax()) {
		for i := lx.head; i < len(lx.marks); i++ {
			if m := &lx.marks[i]; m.end.GreaterThan(seq) && m.seq.LessThan(next) {
				m.retrans = true
			}
		}
		return
	}
	if len(lx.marks)-lx.head >= lxMaxMarks {
		return
	}
	if lx.head > 0 && lx.head >= len(lx.marks)/2 {
		lx.marks = append(lx.marks[:0], lx.marks[lx.head:]...)
		lx.head = 0
	}
	lx.marks = append(lx.marks, lxMark{seq: seq, end: next, at: cc.Now()})
}

// sample pops the marks SND.UNA covers and returns the RTT of the newest
// one not retransmitted, in µs (at least 1).
func (lx *linuxCubic) sample(cc *CCConn) (uint32, bool) {
	var at time.Duration
	ok := false
	for lx.head < len(lx.marks) && lx.marks[lx.head].end.LessThanEq(cc.SndUna()) {
		if m := lx.marks[lx.head]; !m.retrans {
			at, ok = m.at, true
		}
		lx.head++
	}
	if lx.head == len(lx.marks) {
		lx.marks, lx.head = lx.marks[:0], 0
	}
	if !ok {
		return 0, false
	}
	return max(lxUs(cc.Now()-at), 1), true
}

// ackDelay is hystart_ack_delay: a TSO/GRO allowance from the pacing rate
// (Linux computes one even when it does not pace), at most 1 ms.
func (lx *linuxCubic) ackDelay(cc *CCConn) uint32 {
	rate := cc.PacingRate()
	if rate == 0 {
		srtt := cc.SRTT()
		if srtt <= 0 {
			return 0
		}
		ratio := uint64(120)
		if cc.Cwnd() < cc.Ssthresh()/2 {
			ratio = 200
		}
		flight := max(uint64(cc.Cwnd()), uint64(cc.FlightSize()))
		rate = uint64(float64(flight*ratio/100) * float64(time.Second) / float64(srtt))
	}
	if rate == 0 {
		return 0
	}
	return uint32(min(1000, 65536*4*1000000/rate))
}

// acked is cubictcp_acked: the minimum RTT and HyStart, for an ACK whose
// RTT sample is delay µs.
func (lx *linuxCubic) acked(cc *CCConn, delay uint32) {
	if lx.epochSet && int32(lxMs(cc.Now())-lx.epochStart) < lxHZ {
		return // samples right after a reduction are discarded
	}
	if lx.delayMin == 0 || lx.delayMin > delay {
		lx.delayMin = delay
	}
	cwnd := cc.Cwnd() / cc.MSS()
	if !lx.found && cc.InSlowStart() && lx.hsDetect != 0 && cwnd >= lxLowWindow {
		lx.hystartUpdate(cc, delay, cwnd)
	}
}

func (lx *linuxCubic) hystartUpdate(cc *CCConn, delay, cwnd uint32) {
	if cc.SndUna().GreaterThan(lx.endSeq) {
		lx.hystartReset(cc)
	}
	exit := func() {
		lx.found = true
		cc.SetSsthresh(cwnd * cc.MSS())
	}
	if lx.hsDetect&lxAckTrain != 0 {
		now := lxUs(cc.Now())
		if int32(now-lx.lastAck) <= lxAckDelta {
			lx.lastAck = now
			threshold := lx.delayMin + lx.ackDelay(cc)
			if cc.PacingRate() == 0 {
				threshold >>= 1
			}
			if int32(now-lx.roundStart) > int32(threshold) {
				lx.trainExits++
				exit()
			}
		}
	}
	if lx.hsDetect&lxDelay != 0 {
		lx.currRTT = min(lx.currRTT, delay)
		if lx.sampleCnt < lxMinSamples {
			lx.sampleCnt++
		} else if lx.currRTT > lx.delayMin+min(max(lx.delayMin>>3, lxDelayMin), lxDelayMax) {
			lx.delayExits++
			exit()
		}
	}
}

// update is bictcp_update: cnt for a cwnd of cwnd segments and acked
// segments acknowledged.
func (lx *linuxCubic) update(cwnd, acked, now uint32) {
	lx.ackCnt += acked
	if lx.lastCwnd == cwnd && int32(now-lx.lastTime) <= lxHZ/32 {
		return
	}
	if !lx.epochSet || now != lx.lastTime {
		lx.lastCwnd, lx.lastTime = cwnd, now
		if !lx.epochSet {
			lx.epochSet, lx.epochStart = true, now
			lx.ackCnt = acked
			lx.tcpCwnd = cwnd
			if lx.lastMaxCwnd <= cwnd {
				lx.k, lx.origin = 0, cwnd
			} else {
				lx.k = lxCbrt(lxCubeFactor * uint64(lx.lastMaxCwnd-cwnd))
				lx.origin = lx.lastMaxCwnd
			}
		}
		// t in 1/1024 s, one minimum RTT (in whole ticks, rounded up) ahead.
		t := uint64(int32(now-lx.epochStart)) + uint64((lx.delayMin+1000000/lxHZ-1)/(1000000/lxHZ))
		t = (t << 10) / lxHZ
		var offs uint64
		if t < uint64(lx.k) {
			offs = uint64(lx.k) - t
		} else {
			offs = t - uint64(lx.k)
		}
		delta := uint32((lxCubeRTTScale * offs * offs * offs) >> 40)
		target := lx.origin + delta
		if t < uint64(lx.k) {
			target = lx.origin - delta
		}
		if target > cwnd {
			lx.cnt = cwnd / (target - cwnd)
		} else {
			lx.cnt = 100 * cwnd
		}
		if lx.lastMaxCwnd == 0 && lx.cnt > 20 {
			lx.cnt = 20 // at most 5 % a round before the first loss
		}
	}
	// Reno friendliness: the estimate gains a segment per cwnd·15/8 acked.
	d := max(cwnd*lxFriendlyScale>>3, 1)
	for lx.ackCnt > d {
		lx.ackCnt -= d
		lx.tcpCwnd++
	}
	if lx.tcpCwnd > cwnd {
		if maxCnt := cwnd / (lx.tcpCwnd - cwnd); lx.cnt > maxCnt {
			lx.cnt = maxCnt
		}
	}
	lx.cnt = max(lx.cnt, 2)
}

// onAck is an ACK of acked bytes: cubictcp_acked, then, when cwnd may
// grow, cubictcp_cong_avoid (tcp_slow_start, bictcp_update,
// tcp_cong_avoid_ai).
func (lx *linuxCubic) onAck(cc *CCConn, a AckSample) {
	if d, ok := lx.sample(cc); ok {
		lx.acked(cc, d)
	}
	if a.InRecovery || !a.CwndLimited || a.Acked == 0 {
		return
	}
	mss := cc.MSS()
	acked := (a.Acked + mss - 1) / mss
	cwnd0 := cc.Cwnd() / mss
	cwnd := cwnd0
	limit := uint32(cubicMaxCwnd) / mss
	if ss := cc.Ssthresh() / mss; cwnd < ss {
		n := min(cwnd+acked, ss)
		acked -= n - cwnd
		cwnd = min(n, limit)
	}
	if acked > 0 {
		lx.update(cwnd, acked, lxMs(cc.Now()))
		w := lx.cnt
		if lx.cwndCnt >= w {
			lx.cwndCnt = 0
			cwnd++
		}
		lx.cwndCnt += acked
		if lx.cwndCnt >= w {
			d := lx.cwndCnt / w
			lx.cwndCnt -= d * w
			cwnd += d
		}
		cwnd = min(cwnd, limit)
	}
	if cwnd != cwnd0 {
		cc.SetCwnd(cwnd * mss)
	}
}

// onCongestion is cubictcp_recalc_ssthresh, and for a timeout the reset
// of cubictcp_state's entry into Loss; it returns ssthresh in bytes.
func (lx *linuxCubic) onCongestion(cc *CCConn, ev CongestionEvent) uint32 {
	mss := cc.MSS()
	cwnd := cc.Cwnd() / mss
	lx.epochSet = false
	lx.cwndCnt = 0
	ss := max(cwnd*lxBeta/lxBetaScale, 2)
	if ev != CongestionTimeoutAgain {
		if cwnd < lx.lastMaxCwnd {
			lx.lastMaxCwnd = cwnd * (lxBetaScale + lxBeta) / (2 * lxBetaScale) // fast convergence
		} else {
			lx.lastMaxCwnd = cwnd
		}
	}
	if ev == CongestionTimeout || ev == CongestionTimeoutAgain {
		lx.reset()
		lx.hystartReset(cc)
	}
	return ss * mss
}
