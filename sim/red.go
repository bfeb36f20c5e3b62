package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// RED defaults: Floyd and Jacobson 1993 (§11: wq 0.002, minth 5, maxth 15
// packets, maxp 1/50). The limit is Linux's default txqueuelen.
const (
	DefaultREDMin   = 5
	DefaultREDMax   = 15
	DefaultREDMaxP  = 0.02
	DefaultREDWq    = 0.002
	DefaultREDLimit = 1000
)

// RED is Random Early Detection (Floyd & Jacobson, "Random Early Detection
// Gateways for Congestion Avoidance", 1993), in packets: an exponentially
// weighted average of the queue length (weight Wq, decayed over idle time)
// sets a drop probability rising linearly from 0 at Min to MaxP at Max; with
// Gentle it rises on from MaxP to 1 between Max and 2*Max (Floyd 2000),
// otherwise every packet is dropped above Max. The probability is spread by
// the count since the last drop (pa = pb/(1-count*pb)). With ECN an
// ECN-capable packet is marked CE instead of being dropped early; forced
// drops (above Max, or 2*Max when gentle) and overflow of Limit stay drops.
// Zero fields take the defaults.
type RED struct {
	Limit  int // packets
	Min    float64
	Max    float64
	MaxP   float64
	Wq     float64
	Gentle bool
	ECN    bool
}

// QdiscName returns "red".
func (RED) QdiscName() string { return "red" }

// Validate checks the parameters.
func (c RED) Validate() error {
	switch {
	case c.Limit < 0:
		return fmt.Errorf("%w: red: Limit = %d (must not be negative)", ErrInvalid, c.Limit)
	case c.Min < 0 || math.IsNaN(c.Min):
		return fmt.Errorf("%w: red: Min = %v (must not be negative)", ErrInvalid, c.Min)
	case c.Max < 0 || math.IsNaN(c.Max):
		return fmt.Errorf("%w: red: Max = %v (must not be negative)", ErrInvalid, c.Max)
	case c.MaxP < 0 || c.MaxP > 1 || math.IsNaN(c.MaxP):
		return fmt.Errorf("%w: red: MaxP = %v (must be in [0, 1])", ErrInvalid, c.MaxP)
	case c.Wq < 0 || c.Wq > 1 || math.IsNaN(c.Wq):
		return fmt.Errorf("%w: red: Wq = %v (must be in [0, 1])", ErrInvalid, c.Wq)
	}
	d := c.withDefaults()
	if d.Max <= d.Min {
		return fmt.Errorf("%w: red: Max = %v (must be above Min = %v)", ErrInvalid, d.Max, d.Min)
	}
	return nil
}

func (c RED) withDefaults() RED {
	if c.Limit == 0 {
		c.Limit = DefaultREDLimit
	}
	if c.Min == 0 {
		c.Min = DefaultREDMin
	}
	if c.Max == 0 {
		c.Max = DefaultREDMax
	}
	if c.MaxP == 0 {
		c.MaxP = DefaultREDMaxP
	}
	if c.Wq == 0 {
		c.Wq = DefaultREDWq
	}
	return c
}

// NewQueue builds the queue.
func (c RED) NewQueue(env QueueEnv) Queue {
	c = c.withDefaults()
	q := &redQueue{cfg: c, rng: env.Rand, count: -1, rate: env.Rate}
	// The "typical" transmission time of a packet, for decaying the
	// average over idle periods: an MTU-sized packet at the link's rate.
	if env.Rate > 0 {
		q.s = TxTime(env.MTU, env.Rate)
	}
	return q
}

type redQueue struct {
	cfg       RED
	rng       *rand.Rand
	q         pktFIFO
	avg       float64
	count     int
	idleSince time.Duration
	idle      bool
	s         time.Duration
	rate      int64
}

// prob returns RED's base drop probability pb for average queue avg, and
// whether avg is in the forced-drop region.
func (c RED) prob(avg float64) (pb float64, forced bool) {
	switch {
	case avg < c.Min:
		return 0, false
	case avg < c.Max:
		return c.MaxP * (avg - c.Min) / (c.Max - c.Min), false
	case c.Gentle && avg < 2*c.Max:
		return c.MaxP + (1-c.MaxP)*(avg-c.Max)/c.Max, false
	}
	return 1, true
}

func (r *redQueue) Enqueue(p *QPacket, now time.Duration, drop DropFunc) {
	// Update the average (Floyd & Jacobson §4): over an idle period the
	// average decays as if m packets of length s had left an empty queue.
	if r.idle && r.q.n == 0 && now > r.idleSince && r.s > 0 {
		m := float64(now-r.idleSince) / float64(r.s)
		r.avg *= math.Pow(1-r.cfg.Wq, m)
	} else {
		r.avg += r.cfg.Wq * (float64(r.q.n) - r.avg)
	}
	r.idle = false
	pb, forced := r.cfg.prob(r.avg)
	switch {
	case forced:
		r.count = 0
		drop(p, "red", true)
		return
	case pb > 0:
		r.count++
		pa := 1.0
		if c := float64(r.count) * pb; c < 1 {
			pa = pb / (1 - c)
		}
		if r.rng.Float64() < pa {
			r.count = 0
			if !(r.cfg.ECN && p.MarkCE()) {
				drop(p, "red", true)
				return
			}
		}
	default:
		r.count = -1
	}
	if r.q.n >= r.cfg.Limit {
		drop(p, "red overflow", false)
		return
	}
	r.q.push(p)
}

func (r *redQueue) Dequeue(now time.Duration, _ DropFunc) *QPacket {
	p := r.q.pop()
	if r.q.n == 0 && !r.idle {
		// The queue empties as this packet starts transmission; the
		// idle period begins when it has been sent.
		r.idle = true
		r.idleSince = now
		if p != nil && r.rate > 0 {
			r.idleSince += TxTime(len(p.Data), r.rate)
		}
	}
	return p
}

func (r *redQueue) Len() int   { return r.q.n }
func (r *redQueue) Bytes() int { return r.q.bytes }
