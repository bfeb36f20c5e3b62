package sim

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"time"
)

// Qdisc is the configuration of a queue discipline for one link direction
// (DirConfig.Qdisc): DropTail, RED, CoDel, FQCoDel or PIE, or a type of the
// caller's own. Like a Fault it is a value: each direction that uses it
// builds its own Queue with NewQueue.
//
// With no Qdisc a direction keeps its historical drop-tail transmitter
// (DirConfig.QueuePackets and QueueBytes), whose packets and event log do
// not depend on this interface at all.
type Qdisc interface {
	// QdiscName is the discipline's tc name ("codel"); drops it decides are
	// logged with this name as their reason.
	QdiscName() string
	// Validate reports a bad parameter as an error wrapping ErrInvalid that
	// names the field and the value.
	Validate() error
	// NewQueue builds the queue state for one direction.
	NewQueue(env QueueEnv) Queue
}

// QueueEnv is what a Queue may know of the direction it serves.
type QueueEnv struct {
	Rate int64      // the transmitter's bit rate (0: infinitely fast)
	MTU  int        // the direction's MTU
	Rand *rand.Rand // seeded from the world's seed, the link and direction
	Seed uint64     // a seed for flow hashing, from the same source
}

// Queue is the state of a queue discipline in one direction. The link calls
// Enqueue when a packet reaches the queue and Dequeue when the transmitter
// is free; Dequeue may drop packets (CoDel drops at the head). Every packet
// given to Enqueue comes back exactly once: from Dequeue, or through drop.
// A discipline marks instead of dropping with QPacket.MarkCE.
type Queue interface {
	Enqueue(p *QPacket, now time.Duration, drop DropFunc)
	// Dequeue returns the next packet to transmit, or nil when none is
	// waiting.
	Dequeue(now time.Duration, drop DropFunc) *QPacket
	Len() int   // packets waiting
	Bytes() int // bytes waiting
}

// DropFunc hands a dropped packet back to the link. reason is the event
// log's Reason ("codel", "fq_codel overflow"); aqm is true for a drop the
// control law decided, false for one because the queue was full.
type DropFunc func(p *QPacket, reason string, aqm bool)

// QPacket is a packet waiting in a Queue.
type QPacket struct {
	// Data is the IPv4 packet. A discipline reads it and must not change
	// it (MarkCE changes the ECN field).
	Data []byte
	// Enqueued is when the packet reached the queue.
	Enqueued time.Duration

	next   *QPacket // for pktFIFO
	f      *frame
	marked bool
}

// Len returns the packet's length in bytes.
func (p *QPacket) Len() int { return len(p.Data) }

// ECNCapable reports whether the packet is IPv4 with the ECN field of its
// TOS byte set to ECT(0), ECT(1) or already CE (RFC 3168 §5).
func (p *QPacket) ECNCapable() bool {
	return len(p.Data) >= 20 && p.Data[0]>>4 == 4 && p.Data[1]&3 != 0
}

// MarkCE sets the packet's ECN field to CE and fixes the header checksum.
// It returns false, changing nothing, when the packet is not ECN-capable;
// the discipline then drops it instead.
func (p *QPacket) MarkCE() bool {
	if !p.ECNCapable() {
		return false
	}
	ihl := int(p.Data[0]&15) * 4
	if ihl < 20 || ihl > len(p.Data) {
		return false
	}
	p.marked = true
	if p.Data[1]&3 == 3 {
		return true // already CE
	}
	p.Data[1] |= 3
	p.Data[10], p.Data[11] = 0, 0
	var sum uint32
	for i := 0; i+1 < ihl; i += 2 {
		sum += uint32(p.Data[i])<<8 | uint32(p.Data[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	p.Data[10], p.Data[11] = byte(c>>8), byte(c)
	if f := p.f; f != nil {
		// The bytes changed: decoded forms and the log's copy are stale.
		f.decoded, f.quick, f.logData = 0, 0, nil
	}
	return true
}

// pktFIFO is a FIFO of packets linked through QPacket.next.
type pktFIFO struct {
	head, tail *QPacket
	n, bytes   int
	agg        *pktCount // when set, also counts this FIFO's packets
}

// pktCount counts packets and bytes over several FIFOs.
type pktCount struct{ n, bytes int }

func (q *pktFIFO) push(p *QPacket) {
	p.next = nil
	if q.tail == nil {
		q.head = p
	} else {
		q.tail.next = p
	}
	q.tail = p
	q.n++
	q.bytes += len(p.Data)
	if q.agg != nil {
		q.agg.n++
		q.agg.bytes += len(p.Data)
	}
}

func (q *pktFIFO) pop() *QPacket {
	p := q.head
	if p == nil {
		return nil
	}
	q.head = p.next
	if q.head == nil {
		q.tail = nil
	}
	p.next = nil
	q.n--
	q.bytes -= len(p.Data)
	if q.agg != nil {
		q.agg.n--
		q.agg.bytes -= len(p.Data)
	}
	return p
}

// DropTail is a FIFO that drops arriving packets when it is full: tc's
// pfifo (Packets) or bfifo (Bytes). Zero Packets and Bytes mean 1000
// packets (Linux's default txqueuelen). It behaves as a direction without a
// Qdisc and with the same QueuePackets/QueueBytes, through the Queue
// interface.
//
// ECNThreshold > 0 adds step marking at a threshold K, as DCTCP's switches
// do (RFC 8257 §3.1): an ECN-capable packet that arrives while the queue
// already holds at least K packets (pfifo) or K bytes (bfifo) is marked CE.
// Other packets are only ever dropped when the queue is full.
type DropTail struct {
	Packets      int
	Bytes        int
	ECNThreshold int
}

// QdiscName returns "pfifo", or "bfifo" when Bytes is set.
func (c DropTail) QdiscName() string {
	if c.Bytes > 0 && c.Packets == 0 {
		return "bfifo"
	}
	return "pfifo"
}

// Validate checks the limits.
func (c DropTail) Validate() error {
	switch {
	case c.Packets < 0:
		return fmt.Errorf("%w: %s: Packets = %d (must not be negative)", ErrInvalid, c.QdiscName(), c.Packets)
	case c.Bytes < 0:
		return fmt.Errorf("%w: %s: Bytes = %d (must not be negative)", ErrInvalid, c.QdiscName(), c.Bytes)
	case c.ECNThreshold < 0:
		return fmt.Errorf("%w: %s: ECNThreshold = %d (must not be negative)", ErrInvalid, c.QdiscName(), c.ECNThreshold)
	}
	return nil
}

// NewQueue builds the FIFO.
func (c DropTail) NewQueue(QueueEnv) Queue {
	if c.Packets == 0 && c.Bytes == 0 {
		c.Packets = 1000
	}
	return &dropTailQueue{cfg: c}
}

type dropTailQueue struct {
	cfg DropTail
	q   pktFIFO
}

func (d *dropTailQueue) Enqueue(p *QPacket, _ time.Duration, drop DropFunc) {
	if (d.cfg.Packets > 0 && d.q.n+1 > d.cfg.Packets) || (d.cfg.Bytes > 0 && d.q.bytes+len(p.Data) > d.cfg.Bytes) {
		drop(p, ReasonQueue, false)
		return
	}
	if k := d.cfg.ECNThreshold; k > 0 {
		occ := d.q.n
		if d.cfg.Packets == 0 {
			occ = d.q.bytes // bfifo: K in bytes
		}
		if occ >= k {
			p.MarkCE() // step marking (RFC 8257 §3.1); a packet that is not ECN-capable passes unmarked
		}
	}
	d.q.push(p)
}

func (d *dropTailQueue) Dequeue(time.Duration, DropFunc) *QPacket { return d.q.pop() }
func (d *dropTailQueue) Len() int                                 { return d.q.n }
func (d *dropTailQueue) Bytes() int                               { return d.q.bytes }

// sojournHist records queueing delays in log-spaced buckets: eight per
// power of two of nanoseconds, so a quantile read from it is within 12.5 %
// of the exact one (below 8 ns it is exact).
type sojournHist struct {
	n, sum   uint64
	min, max time.Duration
	b        [496]uint64
}

func sojournBucket(v uint64) int {
	if v < 8 {
		return int(v)
	}
	e := bits.Len64(v) - 1
	return (e-2)*8 + int(v>>(e-3)&7)
}

// sojournUpper is the largest value in bucket i.
func sojournUpper(i int) uint64 {
	if i < 8 {
		return uint64(i)
	}
	e := i/8 + 2
	lo := uint64(8+i%8) << (e - 3)
	return lo + 1<<(e-3) - 1
}

func (h *sojournHist) add(d time.Duration) {
	// d is never negative: a packet cannot start before it arrived.
	h.n++
	h.sum += uint64(d)
	if d > h.max {
		h.max = d
	}
	if d < h.min || h.n == 1 {
		h.min = d
	}
	h.b[sojournBucket(uint64(d))]++
}

// quantile returns the upper end of the bucket holding the q-quantile,
// no more than the largest value recorded.
func (h *sojournHist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.b {
		seen += c
		if seen >= rank {
			return min(time.Duration(sojournUpper(i)), h.max)
		}
	}
	return h.max
}
