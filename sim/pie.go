package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// PIE defaults (RFC 8033 §4, §5; the limit is Linux's).
const (
	DefaultPIETarget   = 15 * time.Millisecond  // QDELAY_REF
	DefaultPIETUpdate  = 15 * time.Millisecond  // T_UPDATE
	DefaultPIEMaxBurst = 150 * time.Millisecond // MAX_BURST
	DefaultPIEAlpha    = 0.125                  // Hz
	DefaultPIEBeta     = 1.25                   // Hz
	DefaultPIELimit    = 1000
)

// PIE is Proportional Integral controller Enhanced (RFC 8033). Every TUpdate
// the drop probability moves by Alpha*(qdelay-Target) + Beta*(qdelay -
// qdelay_old), scaled down while it is small (the RFC's auto-tuning table),
// capped at 2 % per update once it is at least 10 %, and decayed by 2 % per
// update while the queue stays empty. Arriving packets are dropped at
// random with that probability, except during the initial burst allowance
// (MaxBurst), when the delay is low (qdelay_old below Target/2 and the
// probability below 20 %), or when at most two MTU-sized packets are
// queued. With ECN an ECN-capable packet is marked instead while the
// probability is at most 10 % (RFC 8033 §5.1).
//
// The queueing delay is measured with timestamps (the sojourn time of the
// packet last dequeued), which RFC 8033 §5.2 allows in place of the
// departure-rate estimate; updates run at the multiples of TUpdate as
// packets arrive and leave, so an idle queue costs no events.
type PIE struct {
	Target   time.Duration
	TUpdate  time.Duration
	MaxBurst time.Duration
	Alpha    float64
	Beta     float64
	Limit    int
	ECN      bool
}

// QdiscName returns "pie".
func (PIE) QdiscName() string { return "pie" }

// Validate checks the parameters.
func (c PIE) Validate() error {
	switch {
	case c.Target < 0:
		return fmt.Errorf("%w: pie: Target = %v (must not be negative)", ErrInvalid, c.Target)
	case c.TUpdate < 0:
		return fmt.Errorf("%w: pie: TUpdate = %v (must not be negative)", ErrInvalid, c.TUpdate)
	case c.MaxBurst < 0:
		return fmt.Errorf("%w: pie: MaxBurst = %v (must not be negative)", ErrInvalid, c.MaxBurst)
	case c.Alpha < 0 || math.IsNaN(c.Alpha) || math.IsInf(c.Alpha, 0):
		return fmt.Errorf("%w: pie: Alpha = %v (must not be negative)", ErrInvalid, c.Alpha)
	case c.Beta < 0 || math.IsNaN(c.Beta) || math.IsInf(c.Beta, 0):
		return fmt.Errorf("%w: pie: Beta = %v (must not be negative)", ErrInvalid, c.Beta)
	case c.Limit < 0:
		return fmt.Errorf("%w: pie: Limit = %d (must not be negative)", ErrInvalid, c.Limit)
	}
	return nil
}

func (c PIE) withDefaults() PIE {
	if c.Target == 0 {
		c.Target = DefaultPIETarget
	}
	if c.TUpdate == 0 {
		c.TUpdate = DefaultPIETUpdate
	}
	if c.MaxBurst == 0 {
		c.MaxBurst = DefaultPIEMaxBurst
	}
	if c.Alpha == 0 {
		c.Alpha = DefaultPIEAlpha
	}
	if c.Beta == 0 {
		c.Beta = DefaultPIEBeta
	}
	if c.Limit == 0 {
		c.Limit = DefaultPIELimit
	}
	return c
}

// NewQueue builds the queue.
func (c PIE) NewQueue(env QueueEnv) Queue {
	c = c.withDefaults()
	return &pieQueue{cfg: c, rng: env.Rand, mtu: env.MTU, burst: c.MaxBurst}
}

type pieQueue struct {
	cfg        PIE
	rng        *rand.Rand
	mtu        int
	q          pktFIFO
	dropProb   float64
	qdelay     time.Duration // the latest measured queueing delay
	qdelayOld  time.Duration
	burst      time.Duration // burst allowance left
	nextUpdate time.Duration
	started    bool
}

// update is RFC 8033's calculate_drop_prob with the burst allowance
// bookkeeping, run once per TUpdate.
func (q *pieQueue) update(qdelay time.Duration) {
	c := &q.cfg
	p := c.Alpha*(qdelay-c.Target).Seconds() + c.Beta*(qdelay-q.qdelayOld).Seconds()
	switch {
	case q.dropProb < 0.000001:
		p /= 2048
	case q.dropProb < 0.00001:
		p /= 512
	case q.dropProb < 0.0001:
		p /= 128
	case q.dropProb < 0.001:
		p /= 32
	case q.dropProb < 0.01:
		p /= 8
	case q.dropProb < 0.1:
		p /= 2
	}
	if q.dropProb >= 0.1 && p > 0.02 {
		p = 0.02
	}
	q.dropProb += p
	if qdelay == 0 && q.qdelayOld == 0 {
		q.dropProb *= 0.98
	}
	q.dropProb = min(max(q.dropProb, 0), 1)
	if q.burst > 0 {
		q.burst = max(q.burst-c.TUpdate, 0)
	}
	if q.dropProb == 0 && qdelay < c.Target/2 && q.qdelayOld < c.Target/2 {
		q.burst = c.MaxBurst
	}
	q.qdelayOld = qdelay
}

// catchUp runs the updates due by now.
func (q *pieQueue) catchUp(now time.Duration) {
	if !q.started {
		q.started = true
		q.nextUpdate = now + q.cfg.TUpdate
		return
	}
	for n := 0; now >= q.nextUpdate; n++ {
		if q.q.n == 0 {
			q.qdelay = 0
		}
		if n >= 1000 {
			// A long idle period: the probability has decayed to
			// nothing; skip the remaining updates.
			q.dropProb, q.qdelayOld, q.burst = 0, 0, q.cfg.MaxBurst
			q.nextUpdate = now + q.cfg.TUpdate
			break
		}
		q.update(q.qdelay)
		q.nextUpdate += q.cfg.TUpdate
	}
}

func (q *pieQueue) Enqueue(p *QPacket, now time.Duration, drop DropFunc) {
	q.catchUp(now)
	if q.q.n >= q.cfg.Limit {
		drop(p, "pie overflow", false)
		return
	}
	if q.dropEarly() {
		if !(q.cfg.ECN && q.dropProb <= 0.1 && p.MarkCE()) {
			drop(p, "pie", true)
			return
		}
	}
	q.q.push(p)
}

// dropEarly is RFC 8033's drop_early without derandomisation.
func (q *pieQueue) dropEarly() bool {
	if q.burst > 0 {
		return false
	}
	if q.qdelayOld < q.cfg.Target/2 && q.dropProb < 0.2 {
		return false
	}
	if q.q.bytes <= 2*q.mtu {
		return false
	}
	return q.rng.Float64() < q.dropProb
}

func (q *pieQueue) Dequeue(now time.Duration, _ DropFunc) *QPacket {
	q.catchUp(now)
	p := q.q.pop()
	if p != nil {
		q.qdelay = now - p.Enqueued
	} else {
		q.qdelay = 0
	}
	return p
}

func (q *pieQueue) Len() int   { return q.q.n }
func (q *pieQueue) Bytes() int { return q.q.bytes }
