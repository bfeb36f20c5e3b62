package stack

import (
	mbits "math/bits"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Pacing spreads a connection's data segments over time at a rate instead
// of sending each window as one burst. It is off unless something asks for
// it, as in Linux without the fq qdisc:
//
//   - TCPConfig.Pacing (Linux with fq, or an algorithm that calls
//     CCConn.EnablePacing): the engine's rule, Linux's
//     tcp_update_pacing_rate: rate = max(cwnd, FlightSize)/SRTT × 200 %
//     while cwnd < ssthresh/2 (slow start, far from the threshold), × 120 %
//     after. Before the first RTT sample nothing is paced.
//   - An algorithm's own rate (CCConn.SetPacingRate, BBR), which replaces
//     the rule.
//   - A maximum pacing rate (TCPConfig.MaxPacingRate, Conn.SetMaxPacingRate,
//     as SO_MAX_PACING_RATE), which caps either and, like Linux's socket
//     option, turns the rule on by itself.
//
// As Linux's tcp_update_skb_after_send, each packet sent moves the earliest
// departure of the next one by its length over the rate: with TSOBurst a
// burst of new data is one packet (Linux paces TSO packets, not segments),
// otherwise each segment, retransmissions too. The departure is counted
// from the later of now and the previous one, so an idle period does not
// save up a burst, but a sender that was late (now past the previous
// departure) has the next interval shortened by that lateness, by at most
// half. The first 10 data segments of a connection are not paced at all
// (Linux: "original sch_fq does not pace first 10 MSS"). New data waits
// for the departure time on the pacing timer, at the start of a burst;
// retransmissions and ACKs never wait (Linux paces retransmissions too).

type paceState struct {
	on      bool          // pacing at all: asked || algRate > 0 || maxRate > 0
	asked   bool          // TCPConfig.Pacing or CCConn.EnablePacing
	algRate uint64        // the algorithm's rate, bytes/s; 0 = none
	maxRate uint64        // cap, bytes/s; 0 = none
	next    time.Duration // earliest departure of the next paced segment
	segs    uint32        // data segments sent (Linux's data_segs_out): the first 10 are not paced
	pend    uint64        // bytes of the burst being sent, not yet counted into next
}

func (p *paceState) update() { p.on = p.asked || p.algRate > 0 || p.maxRate > 0 }

// initPacing applies TCPConfig's pacing settings to a new connection.
func (c *Conn) initPacing() {
	c.pace.asked = c.h.cfg.Pacing
	c.pace.maxRate = c.h.cfg.MaxPacingRate
	c.pace.update()
}

// SetMaxPacingRate caps the connection's pacing rate at bytesPerSec, as
// Linux's SO_MAX_PACING_RATE; like it, a cap turns pacing on (at the
// engine's rule, unless the algorithm sets a rate). 0 removes the cap (and
// the pacing it turned on).
func (c *Conn) SetMaxPacingRate(bytesPerSec uint64) {
	c.pace.maxRate = bytesPerSec
	c.pace.update()
}

// MaxPacingRate is the cap SetMaxPacingRate or TCPConfig.MaxPacingRate set,
// 0 for none.
func (c *Conn) MaxPacingRate() uint64 { return c.pace.maxRate }

// PacingRate is the pacing rate in force, bytes per second, 0 when the
// connection does not pace (or has no RTT sample yet for the rule).
func (c *Conn) PacingRate() uint64 { return c.pacingRate() }

func (c *Conn) setAlgPacingRate(r uint64) {
	c.pace.algRate = r
	c.pace.update()
}

func (c *Conn) pacingRate() uint64 {
	p := &c.pace
	if !p.on {
		return 0
	}
	rate := p.algRate
	if rate == 0 && c.srtt > 0 {
		ratio := uint64(120)
		if c.cwnd < c.ssthresh/2 {
			ratio = 200
		}
		// max(cwnd, FlightSize)·ratio/100 bytes per SRTT, in bytes per
		// second: the product needs 128 bits.
		w := uint64(max(c.cwnd, c.flightSize())) * ratio
		hi, lo := mbits.Mul64(w, uint64(time.Second))
		d := uint64(c.srtt) * 100
		if hi >= d {
			rate = 1<<64 - 1
		} else {
			rate, _ = mbits.Div64(hi, lo, d)
		}
	}
	if p.maxRate > 0 && (rate == 0 || rate > p.maxRate) {
		rate = p.maxRate
	}
	return rate
}

// paceHold reports whether new data must wait for the pacing timer, and
// arms it if so (sendOne, output.go).
func (c *Conn) paceHold() bool {
	if c.h.cfg.TSOBurst > 0 && c.burst.sent > 0 {
		return false // within a burst: one TSO packet, which leaves at once
	}
	c.paceFlush()
	now := c.h.env.Now()
	if c.pace.next <= now {
		return false
	}
	if c.tm.paceAt == 0 || c.tm.paceAt > c.pace.next {
		c.setTimer(&c.tm.paceAt, c.pace.next)
	}
	return true
}

// paceSent accounts for a segment [seq, next) sent now: the next departure
// moves once the packet it belongs to is complete (the burst closed, or
// the segment is a packet of its own).
func (c *Conn) paceSent(seq, next segment.Seq) {
	p := &c.pace
	p.segs = min(p.segs+1, 1<<31)
	p.pend += uint64(next.Sub(seq))
	if c.h.cfg.TSOBurst <= 0 || c.burst.sent == 0 {
		c.paceFlush()
	}
}

// paceFlush moves the next departure by the packet just sent: its length
// over the rate, shortened by the sender's lateness (at most by half).
func (c *Conn) paceFlush() {
	p := &c.pace
	n := p.pend
	if n == 0 {
		return
	}
	p.pend = 0
	rate := c.pacingRate()
	if rate == 0 || p.segs < 10 {
		return
	}
	now := c.h.env.Now()
	d := time.Duration(min(n*uint64(time.Second)/rate, 1<<62))
	if now > p.next {
		d -= min(d/2, now-p.next)
		p.next = now
	}
	p.next += d
}

// onPaceTimer is the pacing timer: the next segment may go.
func (c *Conn) onPaceTimer() { c.output() }
