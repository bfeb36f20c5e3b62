package sim

import (
	"fmt"
	"time"
)

// FQ-CoDel defaults (RFC 8290 §4, §5.1, as Linux).
const (
	DefaultFQCoDelFlows   = 1024
	DefaultFQCoDelQuantum = 1514
	DefaultFQCoDelLimit   = 10240
)

// FQCoDel is the FlowQueue-CoDel scheduler (RFC 8290): packets are hashed on
// their 5-tuple (with a hash seeded from the world's seed) into Flows
// queues, each with its own CoDel; deficit round robin with Quantum bytes
// serves newly active flows before old ones. When Limit packets are queued
// an arriving packet makes the queue drop from the head of the flow with
// the most bytes. Zero fields take the defaults: 1024 flows, quantum 1514,
// limit 10240, target 5 ms, interval 100 ms. ECN marking is on unless NoECN,
// as in Linux's fq_codel.
type FQCoDel struct {
	Flows    int
	Quantum  int
	Limit    int
	Target   time.Duration
	Interval time.Duration
	NoECN    bool
}

// QdiscName returns "fq_codel".
func (FQCoDel) QdiscName() string { return "fq_codel" }

// Validate checks the parameters.
func (c FQCoDel) Validate() error {
	if err := validateCoDel("fq_codel", c.Target, c.Interval, c.Limit); err != nil {
		return err
	}
	switch {
	case c.Flows < 0 || c.Flows > 65536:
		return fmt.Errorf("%w: fq_codel: Flows = %d (must be 1 to 65536)", ErrInvalid, c.Flows)
	case c.Quantum < 0:
		return fmt.Errorf("%w: fq_codel: Quantum = %d (must not be negative)", ErrInvalid, c.Quantum)
	}
	return nil
}

func (c FQCoDel) withDefaults() FQCoDel {
	if c.Flows == 0 {
		c.Flows = DefaultFQCoDelFlows
	}
	if c.Quantum == 0 {
		c.Quantum = DefaultFQCoDelQuantum
	}
	if c.Limit == 0 {
		c.Limit = DefaultFQCoDelLimit
	}
	if c.Target == 0 {
		c.Target = DefaultCoDelTarget
	}
	if c.Interval == 0 {
		c.Interval = DefaultCoDelInterval
	}
	return c
}

// NewQueue builds the scheduler.
func (c FQCoDel) NewQueue(env QueueEnv) Queue {
	c = c.withDefaults()
	q := &fqCoDelQueue{cfg: c, seed: env.Seed, flows: make([]fqFlow, c.Flows)}
	params := codelParams{target: c.Target, interval: c.Interval, maxPacket: env.MTU, ecn: !c.NoECN, reason: "fq_codel"}
	for i := range q.flows {
		q.flows[i].v.params = params
		q.flows[i].q.agg = &q.total
	}
	return q
}

type fqFlow struct {
	q       pktFIFO
	v       codelVars
	deficit int
	list    int8 // 0 none, 1 new, 2 old
	next    *fqFlow
}

// flowList is a FIFO of flows.
type flowList struct{ head, tail *fqFlow }

func (l *flowList) push(f *fqFlow) {
	f.next = nil
	if l.tail == nil {
		l.head = f
	} else {
		l.tail.next = f
	}
	l.tail = f
}

func (l *flowList) pop() *fqFlow {
	f := l.head
	if f != nil {
		l.head = f.next
		if l.head == nil {
			l.tail = nil
		}
		f.next = nil
	}
	return f
}

type fqCoDelQueue struct {
	cfg      FQCoDel
	seed     uint64
	flows    []fqFlow
	newFlows flowList
	oldFlows flowList
	total    pktCount
}

// flowIndex hashes the packet's 5-tuple (addresses, protocol and, for TCP
// and UDP first fragments, ports) into [0, Flows).
func (q *fqCoDelQueue) flowIndex(b []byte) int {
	h := q.seed
	if len(b) >= 20 {
		ihl := int(b[0]&15) * 4
		h = splitmix(h ^ uint64(b[12])<<56 ^ uint64(b[13])<<48 ^ uint64(b[14])<<40 ^ uint64(b[15])<<32 ^
			uint64(b[16])<<24 ^ uint64(b[17])<<16 ^ uint64(b[18])<<8 ^ uint64(b[19]))
		var ports uint64
		if proto := b[9]; (proto == 6 || proto == 17) && b[6]&0x1f == 0 && b[7] == 0 && ihl >= 20 && len(b) >= ihl+4 {
			ports = uint64(b[ihl])<<24 | uint64(b[ihl+1])<<16 | uint64(b[ihl+2])<<8 | uint64(b[ihl+3])
		}
		h = splitmix(h ^ uint64(b[9])<<32 ^ ports)
	}
	return int(h % uint64(len(q.flows)))
}

func (q *fqCoDelQueue) Enqueue(p *QPacket, _ time.Duration, drop DropFunc) {
	f := &q.flows[q.flowIndex(p.Data)]
	f.q.push(p)
	if f.list == 0 {
		f.list = 1
		f.deficit = q.cfg.Quantum
		q.newFlows.push(f)
	}
	if q.total.n > q.cfg.Limit {
		// Drop from the head of the fattest flow (RFC 8290 §4.1).
		fat := &q.flows[0]
		for i := range q.flows {
			if q.flows[i].q.bytes > fat.q.bytes {
				fat = &q.flows[i]
			}
		}
		d := fat.q.pop()
		drop(d, "fq_codel overflow", false)
	}
}

func (q *fqCoDelQueue) Dequeue(now time.Duration, drop DropFunc) *QPacket {
	for {
		list := &q.newFlows
		f := list.head
		if f == nil {
			list = &q.oldFlows
			if f = list.head; f == nil {
				return nil
			}
		}
		if f.deficit <= 0 {
			f.deficit += q.cfg.Quantum
			list.pop()
			f.list = 2
			q.oldFlows.push(f)
			continue
		}
		// CoDel's "less than a packet queued" test uses the whole
		// scheduler's backlog, as Linux does.
		p := f.v.dequeue(now, &f.q, &q.total.bytes, drop)
		if p == nil {
			list.pop()
			if list == &q.newFlows && q.oldFlows.head != nil {
				// An emptied new flow goes to the old list, so that a flow
				// cannot stay new by sending one packet at a time.
				f.list = 2
				q.oldFlows.push(f)
			} else {
				f.list = 0
			}
			continue
		}
		f.deficit -= len(p.Data)
		return p
	}
}

func (q *fqCoDelQueue) Len() int   { return q.total.n }
func (q *fqCoDelQueue) Bytes() int { return q.total.bytes }
