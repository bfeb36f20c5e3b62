package stack

import (
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation),
// kept only for an algorithm that implements RateObserver (BBR needs it;
// NewReno and CUBIC do not pay for it).
//
// Each segment sent records the connection's delivered count and the time
// of the last delivery when it left (P.delivered, P.delivered_time), when
// the flight it belongs to began (P.first_sent_time), and whether the
// application limited the sender then. When an ACK delivers segments
// (cumulatively or by SACK), the most recently sent of them gives the
// sample: the bytes delivered since it was sent, over the longer of the
// send interval (its flight's first send to its own) and the ACK interval
// (the delivery before its send to now). Taking the longer guards against
// ACK compression on one side and send bursts on the other.
//
// App-limited: when the sender runs out of data with room left in cwnd, the
// estimator notes the delivered count at which everything now in flight is
// delivered (C.app_limited); segments sent until then mark their samples
// app-limited, so that an algorithm does not take a low rate caused by the
// application for the path's.

type rateSeg struct {
	start, end    segment.Seq
	delivered     uint64        // P.delivered
	deliveredTime time.Duration // P.delivered_time
	firstSentTime time.Duration // P.first_sent_time
	sentTime      time.Duration // P.sent_time
	appLimited    bool
	retrans       bool
	sacked        bool
	lostCounted   bool   // counted in C.lost (since it was last sent)
	lost          uint64 // P.lost: C.lost when it was sent
	deliveredCE   uint64 // C.delivered_ce when it was sent
	txInFlight    uint32 // P.tx_in_flight: the estimated data in flight once it had left
}

type rateState struct {
	segs          []rateSeg // in sequence order, SND.UNA to SND.MAX
	delivered     uint64    // C.delivered
	deliveredTime time.Duration
	firstSentTime time.Duration
	appLimited    uint64 // C.app_limited: 0 = not app-limited
	lastSample    RateSample
	lost          uint64 // C.lost: bytes the engine deemed lost
	deliveredCE   uint64 // bytes delivered by ACKs that echoed CE (per-segment echo only)
	inflight      uint32 // in flight after the last ACK, plus what was sent since
	lostResent    uint64 // counted lost when resent, not yet in a sample's NewlyLost
}

// rateSent records [seq, next) leaving now (before SND.MAX moves).
func (c *Conn) rateSent(seq, next segment.Seq) {
	if !next.GreaterThan(seq) {
		return
	}
	r := &c.ccx.rate
	now := c.h.env.Now()
	if c.sndUna == c.sndMax || len(r.segs) == 0 {
		// Nothing in flight: a new flight starts, and the interval of its
		// first sample must not include the idle time.
		r.firstSentTime, r.deliveredTime = now, now
	}
	r.inflight += next.Sub(seq)
	stamp := rateSeg{delivered: r.delivered, deliveredTime: r.deliveredTime, firstSentTime: r.firstSentTime,
		sentTime: now, appLimited: r.appLimited != 0, deliveredCE: r.deliveredCE, txInFlight: r.inflight}
	if seq.LessThan(c.sndMax) { // a retransmission, perhaps with new data behind
		for i := range r.segs {
			s := &r.segs[i]
			if s.end.LessThanEq(seq) {
				continue
			}
			if !s.start.LessThan(next) {
				break
			}
			if !s.sacked {
				if !s.lostCounted {
					// Resent without having been found lost (a timeout's
					// go-back-N, a rescue or probe): it counts as lost now.
					r.lost += uint64(s.end.Sub(s.start))
					r.lostResent += uint64(s.end.Sub(s.start))
				}
				st, e := s.start, s.end
				*s = stamp
				s.lost = r.lost
				s.start, s.end, s.retrans = st, e, true
			}
		}
		seq = c.sndMax
	}
	stamp.lost = r.lost
	if next.GreaterThan(seq) {
		stamp.start, stamp.end = seq, next
		r.segs = append(r.segs, stamp)
	}
}

// rateCheckAppLimited runs when output has sent what it could: with no
// data left to send and room in cwnd, the application limits the flow.
// (Not inlined, so that ccAfterSend's guard stays small enough to be.)
//
//go:noinline
func (c *Conn) rateCheckAppLimited() {
	if !c.dataEnd().GreaterThan(c.sndNxt) && c.flightSize() < c.cwnd {
		r := &c.ccx.rate
		r.appLimited = max(r.delivered+uint64(c.flightSize()), 1)
	}
}

// rateOnAck takes the segments an ACK delivered out of the record and
// gives the algorithm the sample (after the ACK has updated SND.UNA and the
// scoreboard).
func (c *Conn) rateOnAck() {
	r := &c.ccx.rate
	now := c.h.env.Now()
	una := c.sndUna
	var rs RateSample
	var newly uint64
	var sendElapsed, ackElapsed time.Duration
	have := false
	var newest time.Duration
	var priorLost, priorCE uint64
	take := func(s *rateSeg) {
		n := uint64(s.end.Sub(s.start))
		r.delivered += n
		newly += n
		r.deliveredTime = now
		if !have || s.delivered > rs.PriorDelivered || s.delivered == rs.PriorDelivered && s.sentTime >= newest {
			have = true
			rs.PriorDelivered = s.delivered
			priorLost, priorCE, rs.TxInFlight = s.lost, s.deliveredCE, s.txInFlight
			rs.IsAppLimited = s.appLimited
			sendElapsed = s.sentTime - s.firstSentTime
			ackElapsed = now - s.deliveredTime
			newest = s.sentTime
			r.firstSentTime = s.sentTime
			if !s.retrans {
				rs.RTT = max(now-s.sentTime, 1)
			} else {
				rs.RTT = 0
			}
		}
	}
	k := 0
	for k < len(r.segs) && r.segs[k].end.LessThanEq(una) {
		if !r.segs[k].sacked {
			take(&r.segs[k])
		}
		k++
	}
	r.segs = r.segs[:copy(r.segs, r.segs[k:])]
	if len(r.segs) > 0 && r.segs[0].start.LessThan(una) {
		// Partly acknowledged: count the acknowledged part now.
		s := &r.segs[0]
		part := *s
		part.end = una
		if !s.sacked {
			take(&part)
		}
		s.start = una
	}
	if c.sackOK {
		for i := range r.segs {
			s := &r.segs[i]
			if !s.sacked && c.sackedRange(s.start, s.end) {
				s.sacked = true
				take(s)
			}
		}
	}
	newlyLost := c.rateMarkLost()
	r.inflight = c.ccHandle().InFlight()
	if newly == 0 {
		return
	}
	rs.NewlyFoundLost = uint32(min(newlyLost, 1<<31))
	newlyLost += r.lostResent
	r.lostResent = 0
	var newlyCE uint64
	if c.ccx.ackECE && c.ccx.ceEcho {
		newlyCE = newly
		r.deliveredCE += newly
	}
	if r.appLimited != 0 && r.delivered > r.appLimited {
		r.appLimited = 0
	}
	rs.NewlyDelivered = uint32(min(newly, 1<<31))
	rs.TotalDelivered = r.delivered
	rs.InFlight = r.inflight
	rs.Lost = r.lost - priorLost
	rs.NewlyLost = uint32(min(newlyLost, 1<<31))
	rs.DeliveredCE = r.deliveredCE - priorCE
	rs.NewlyDeliveredCE = uint32(newlyCE)
	if rs.RTT > 0 && (c.ccx.minRTT == 0 || rs.RTT < c.ccx.minRTT) {
		c.ccx.minRTT = rs.RTT
	}
	rs.Delivered = r.delivered - rs.PriorDelivered
	rs.Interval = max(sendElapsed, ackElapsed)
	if rs.Interval < c.ccx.minRTT {
		rs.Interval = 0 // shorter than a round trip: not a real delivery rate
	}
	r.lastSample = rs
	c.ccx.rateObs.OnRateSample(c.ccHandle(), rs)
}

// rateLost tells a LossObserver of s found lost, C.lost being lost with
// it counted.
func (c *Conn) rateLost(s *rateSeg, lost uint64) {
	if c.ccx.lossObs == nil {
		return
	}
	c.ccx.lossObs.OnLost(c.ccHandle(), LostSegment{Bytes: s.end.Sub(s.start), TxInFlight: s.txInFlight,
		Lost: lost - s.lost, IsAppLimited: s.appLimited})
}

// rateMarkLost counts in C.lost the segments the engine now deems lost that
// it had not counted yet, and returns how many bytes that is: under RACK
// the segments RACK marked lost and has not resent; without it, in a
// recovery, RFC 6675's IsLost holes (below the loss boundary, neither SACKed
// nor retransmitted, as RFC 6675 cannot tell a lost retransmission). A
// segment resent without being found lost is counted when it is resent
// (rateSent).
func (c *Conn) rateMarkLost() uint64 {
	r := &c.ccx.rate
	var n uint64
	if c.rackOn() {
		rs := c.rack.segs
		j := 0
		for i := range r.segs {
			s := &r.segs[i]
			if s.sacked || s.lostCounted {
				continue
			}
			for j < len(rs) && rs[j].end.LessThanEq(s.start) {
				j++
			}
			if j < len(rs) && rs[j].lost && !rs[j].sacked && rs[j].start.LessThanEq(s.start) {
				s.lostCounted = true
				n += uint64(s.end.Sub(s.start))
				c.rateLost(s, r.lost+n)
			}
		}
	} else if c.sackOK && c.cc.inRecovery() {
		bound := c.lossBoundary()
		for i := range r.segs {
			s := &r.segs[i]
			if !s.end.LessThanEq(bound) {
				break
			}
			if s.sacked || s.lostCounted || s.retrans || c.sackedRange(s.start, s.end) {
				continue
			}
			s.lostCounted = true
			n += uint64(s.end.Sub(s.start))
			c.rateLost(s, r.lost+n)
		}
	}
	r.lost += n
	return n
}
