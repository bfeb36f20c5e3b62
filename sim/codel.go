package sim

import (
	"fmt"
	"math"
	"time"
)

// CoDel defaults (RFC 8289 §4.2, §4.3; the limit is Linux's).
const (
	DefaultCoDelTarget   = 5 * time.Millisecond
	DefaultCoDelInterval = 100 * time.Millisecond
	DefaultCoDelLimit    = 1000
)

// CoDel is Controlled Delay (RFC 8289): a FIFO that, once every packet has
// waited at least Target for a whole Interval, drops at the head on the
// schedule interval/sqrt(count) until the sojourn time falls below Target.
// Zero fields take the defaults (Target 5 ms, Interval 100 ms, Limit 1000
// packets). With ECN an ECN-capable packet is marked CE instead of dropped.
type CoDel struct {
	Target   time.Duration
	Interval time.Duration
	Limit    int // packets
	ECN      bool
}

// QdiscName returns "codel".
func (CoDel) QdiscName() string { return "codel" }

// Validate checks the parameters.
func (c CoDel) Validate() error { return validateCoDel("codel", c.Target, c.Interval, c.Limit) }

func validateCoDel(name string, target, interval time.Duration, limit int) error {
	switch {
	case target < 0:
		return fmt.Errorf("%w: %s: Target = %v (must not be negative)", ErrInvalid, name, target)
	case interval < 0:
		return fmt.Errorf("%w: %s: Interval = %v (must not be negative)", ErrInvalid, name, interval)
	case limit < 0:
		return fmt.Errorf("%w: %s: Limit = %d (must not be negative)", ErrInvalid, name, limit)
	}
	return nil
}

func (c CoDel) withDefaults() CoDel {
	if c.Target == 0 {
		c.Target = DefaultCoDelTarget
	}
	if c.Interval == 0 {
		c.Interval = DefaultCoDelInterval
	}
	if c.Limit == 0 {
		c.Limit = DefaultCoDelLimit
	}
	return c
}

// NewQueue builds the queue.
func (c CoDel) NewQueue(env QueueEnv) Queue {
	c = c.withDefaults()
	q := &codelQueue{cfg: c}
	q.v.params = codelParams{target: c.Target, interval: c.Interval, maxPacket: env.MTU, ecn: c.ECN, reason: "codel"}
	return q
}

type codelQueue struct {
	cfg CoDel
	q   pktFIFO
	v   codelVars
}

func (c *codelQueue) Enqueue(p *QPacket, _ time.Duration, drop DropFunc) {
	if c.q.n >= c.cfg.Limit {
		drop(p, "codel overflow", false)
		return
	}
	c.q.push(p)
}

func (c *codelQueue) Dequeue(now time.Duration, drop DropFunc) *QPacket {
	return c.v.dequeue(now, &c.q, &c.q.bytes, drop)
}

func (c *codelQueue) Len() int   { return c.q.n }
func (c *codelQueue) Bytes() int { return c.q.bytes }

type codelParams struct {
	target, interval time.Duration
	maxPacket        int
	ecn              bool
	reason           string
}

// codelVars is the state of RFC 8289's pseudocode for one queue.
type codelVars struct {
	params         codelParams
	firstAboveTime time.Duration // 0: sojourn below target
	dropNext       time.Duration
	count          uint32
	lastCount      uint32
	dropping       bool
}

// controlLaw returns t + interval/sqrt(count) (RFC 8289 §5.5).
func (v *codelVars) controlLaw(t time.Duration, count uint32) time.Duration {
	return t + time.Duration(float64(v.params.interval)/math.Sqrt(float64(count)))
}

// doDequeue takes the head packet and says whether the sojourn time has been
// above target for at least an interval (RFC 8289's dodequeue). backlog is
// the byte count that decides whether less than a packet is queued.
func (v *codelVars) doDequeue(now time.Duration, q *pktFIFO, backlog *int) (*QPacket, bool) {
	p := q.pop()
	if p == nil {
		v.firstAboveTime = 0
		return nil, false
	}
	sojourn := now - p.Enqueued
	if sojourn < v.params.target || *backlog <= v.params.maxPacket {
		v.firstAboveTime = 0
		return p, false
	}
	if v.firstAboveTime == 0 {
		v.firstAboveTime = now + v.params.interval
		return p, false
	}
	return p, now >= v.firstAboveTime
}

// dequeue is RFC 8289's dequeue: it returns the packet to send, dropping
// (or, with ECN, marking) as the control law says.
func (v *codelVars) dequeue(now time.Duration, q *pktFIFO, backlog *int, drop DropFunc) *QPacket {
	p, okToDrop := v.doDequeue(now, q, backlog)
	if p == nil {
		v.dropping = false
		return nil
	}
	if v.dropping {
		if !okToDrop {
			v.dropping = false
		}
		for v.dropping && now >= v.dropNext {
			v.count++
			if v.params.ecn && p.MarkCE() {
				v.dropNext = v.controlLaw(v.dropNext, v.count)
				return p
			}
			drop(p, v.params.reason, true)
			p, okToDrop = v.doDequeue(now, q, backlog)
			if p == nil || !okToDrop {
				v.dropping = false
			} else {
				v.dropNext = v.controlLaw(v.dropNext, v.count)
			}
		}
		return p
	}
	if okToDrop {
		marked := v.params.ecn && p.MarkCE()
		if !marked {
			drop(p, v.params.reason, true)
			p, _ = v.doDequeue(now, q, backlog)
		}
		v.dropping = true
		// Start from the count that last controlled the queue when the
		// previous dropping state ended recently (RFC 8289 §5.6).
		delta := v.count - v.lastCount
		v.count = 1
		if delta > 1 && now-v.dropNext < 16*v.params.interval {
			v.count = delta
		}
		v.dropNext = v.controlLaw(now, v.count)
		v.lastCount = v.count
	}
	return p
}
