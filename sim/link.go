package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// DefaultMTU is the MTU of a link direction whose DirConfig.MTU is zero.
const DefaultMTU = 1500

// MinMTU is the smallest MTU accepted: every IPv4 module must be able to
// forward a 68-byte datagram without fragmenting it (RFC 791, "Fragmentation
// and Reassembly").
const MinMTU = 68

// Distribution is the shape of a link direction's jitter.
type Distribution uint8

// Jitter distributions (netem's "distribution" argument).
const (
	// Uniform jitter is drawn from [-Jitter, +Jitter] (netem's default).
	Uniform Distribution = iota
	// Normal jitter has mean 0 and standard deviation Jitter.
	Normal
	// Pareto jitter is heavy-tailed: a Pareto variable with shape 3,
	// shifted to mean 0 and scaled to standard deviation Jitter, so most
	// packets arrive a little early and a few very late.
	Pareto
)

// String returns the distribution's netem name.
func (d Distribution) String() string {
	switch d {
	case Uniform:
		return "uniform"
	case Normal:
		return "normal"
	case Pareto:
		return "pareto"
	}
	return fmt.Sprintf("distribution(%d)", uint8(d))
}

// DirConfig configures one direction of a link. The zero value is an ideal
// wire: no delay, unlimited rate, no queue limit, MTU 1500, no faults.
type DirConfig struct {
	// Delay is the propagation delay added to every packet.
	Delay time.Duration
	// Jitter is the spread of a random delay variation drawn from
	// Distribution and added to Delay. The total delay never goes below
	// zero.
	Jitter       time.Duration
	Distribution Distribution
	// JitterReorders lets jitter reorder packets, as netem does. When false
	// (the default), a packet never arrives before the packet sent before
	// it in this direction (faults can still reorder on purpose).
	JitterReorders bool
	// Rate is the transmitter's bit rate in bits per second. A packet of n
	// bytes occupies the transmitter for n*8/Rate seconds (serialisation);
	// packets wait in FIFO order. Zero means infinitely fast.
	Rate int64
	// QueuePackets and QueueBytes limit the packets waiting for the
	// transmitter (not counting the one being sent). A packet that would
	// exceed either limit is dropped (drop-tail). Zero means no limit.
	QueuePackets int
	QueueBytes   int
	// MTU is the largest packet carried; larger packets are dropped and
	// counted (ReasonMTU). Zero means DefaultMTU; otherwise at least MinMTU.
	MTU int
	// Faults are applied in order to every packet entering this direction
	// (after the MTU check, before the queue). See Fault.
	Faults []Fault

	// Queue discipline (issue 13).

	// Qdisc, when set, replaces drop-tail with a queue discipline (RED,
	// CoDel, FQCoDel, PIE, DropTail, or the caller's own): packets wait in
	// it and the transmitter takes them from it when free. QueuePackets and
	// QueueBytes must then be zero (the discipline has its own limit). Nil
	// keeps the drop-tail queue above.
	Qdisc Qdisc
}

// LinkConfig configures a full-duplex point-to-point link. AB applies to
// packets sent from end A (0) to end B (1), BA to the other direction.
type LinkConfig struct {
	Name   string
	AB, BA DirConfig
}

// Symmetric returns a LinkConfig with the same settings in both directions.
// Faults are configuration values: each direction instantiates its own.
func Symmetric(name string, d DirConfig) LinkConfig {
	return LinkConfig{Name: name, AB: d, BA: d}
}

func (d *DirConfig) validate(where string) error {
	switch {
	case d.Delay < 0:
		return fmt.Errorf("%w: %s: Delay = %v (must not be negative)", ErrInvalid, where, d.Delay)
	case d.Jitter < 0:
		return fmt.Errorf("%w: %s: Jitter = %v (must not be negative)", ErrInvalid, where, d.Jitter)
	case d.Distribution > Pareto:
		return fmt.Errorf("%w: %s: Distribution = %d (unknown)", ErrInvalid, where, d.Distribution)
	case d.Rate < 0:
		return fmt.Errorf("%w: %s: Rate = %d (must not be negative)", ErrInvalid, where, d.Rate)
	case d.QueuePackets < 0:
		return fmt.Errorf("%w: %s: QueuePackets = %d (must not be negative)", ErrInvalid, where, d.QueuePackets)
	case d.QueueBytes < 0:
		return fmt.Errorf("%w: %s: QueueBytes = %d (must not be negative)", ErrInvalid, where, d.QueueBytes)
	case d.MTU != 0 && d.MTU < MinMTU:
		return fmt.Errorf("%w: %s: MTU = %d (must be at least %d)", ErrInvalid, where, d.MTU, MinMTU)
	case d.MTU > 65535:
		return fmt.Errorf("%w: %s: MTU = %d (must be at most 65535)", ErrInvalid, where, d.MTU)
	}
	for i, f := range d.Faults {
		if f == nil {
			return fmt.Errorf("%w: %s: Faults[%d] is nil", ErrInvalid, where, i)
		}
		if err := f.Validate(); err != nil {
			msg := strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
			return &faultError{msg: fmt.Sprintf("%v: %s: Faults[%d] (%s): %s", ErrInvalid, where, i, f.FaultName(), msg), err: err}
		}
		if reorders(f) && d.Delay == 0 {
			return &faultError{msg: fmt.Sprintf("%v: %s: Faults[%d] (reorder) needs a non-zero Delay: a reordered packet skips the delay to overtake those in flight, and with no delay there is nothing to overtake (netem refuses it too)", ErrInvalid, where, i), err: ErrReorderNeedsDelay}
		}
	}
	return d.validateQdisc(where)
}

// Validate checks d as NewLink does, naming the offending field. Front ends
// (the CLI, scenario files) call it to reject a configuration before they
// build anything, so that one rule set serves them all.
func (d DirConfig) Validate() error { return d.validate("DirConfig") }

// ErrReorderNeedsDelay is wrapped by the error for a Reorder fault with a
// non-zero probability on a direction whose Delay is zero.
var ErrReorderNeedsDelay = fmt.Errorf("%w: reorder needs a non-zero delay", ErrInvalid)

// reorders reports whether f is a Reorder fault that can act.
func reorders(f Fault) bool {
	switch r := f.(type) {
	case Reorder:
		return r.P > 0
	case *Reorder:
		return r != nil && r.P > 0
	}
	return false
}

// DirStats counts what happened in one link direction.
type DirStats struct {
	Sent        uint64 // packets handed to the link end (including duplicates made here)
	SentBytes   uint64
	Delivered   uint64
	DropMTU     uint64
	DropQueue   uint64
	DropFault   uint64 // dropped by a fault
	DropOther   uint64 // empty packets, no node attached
	Duplicated  uint64
	Corrupted   uint64
	Delayed     uint64 // extra delay or reordering by a fault
	MaxQueue    int    // most packets ever waiting for the transmitter
	MaxQueueLen int    // most bytes ever waiting

	// Queue counters (issue 13). DropQueue counts every drop at the queue;
	// DropOverflow and DropAQM split it into drops because the queue was
	// full and drops the discipline's control law decided.
	Enqueued     uint64 // packets that reached the queue (kept or not)
	DropOverflow uint64
	DropAQM      uint64
	ECNMarked    uint64 // packets marked CE instead of being dropped
	// Sojourn times of the packets that left the queue for the
	// transmitter (zero for one that found it idle). P99 is read from a
	// log-spaced histogram: within 12.5 % above the exact value.
	SojournMin, SojournMean, SojournP99, SojournMax time.Duration
	// QueueLen and QueueBytes are the packets and bytes waiting now.
	QueueLen, QueueBytes int

	// TxBytes counts the bytes of the packets that reached the transmitter
	// (or, with a drop-tail queue, were accepted to wait for it: such a
	// packet is never dropped later): what the direction carried, drops
	// excluded. Busy is how long the transmitter has been sending up to
	// now (each packet's serialisation time at the rate of the moment it
	// started), so that Busy divided by the time elapsed is the fraction of
	// time the direction was busy; zero on a direction without a rate.
	TxBytes uint64
	Busy    time.Duration
}

// Link is a full-duplex point-to-point link with two ends, A (0) and B (1).
// Each end is a stack.Link for the node attached to it: the node sends into
// its end, and the link delivers at the other end after faults, queueing,
// serialisation, propagation delay and jitter.
type Link struct {
	w    *World
	name string
	ends [2]LinkEnd
	ab   direction // A → B
	ba   direction // B → A
}

// Name returns the link's name.
func (l *Link) Name() string { return l.name }

// End returns end i (0 = A, 1 = B).
func (l *Link) End(i int) *LinkEnd { return &l.ends[i&1] }

// Stats returns the counters of the direction leaving end i.
func (l *Link) Stats(from int) DirStats { return l.ends[from&1].out.snapshot() }

// LinkEnd is one end of a Link. It implements stack.Link: Send puts a packet
// into the direction leaving this end. Packets arriving at this end go to
// the attached Node.
type LinkEnd struct {
	link     *Link
	idx      int
	out      *direction // packets sent from this end
	node     Node
	vnode    verifiedNode // node, when it accepts packets known to be intact
	nodeName string
	ifIndex  int
	taps     []*Capture
}

// Link returns the link this end belongs to.
func (e *LinkEnd) Link() *Link { return e.link }

// Index returns 0 for end A and 1 for end B.
func (e *LinkEnd) Index() int { return e.idx }

// Peer returns the other end of the link.
func (e *LinkEnd) Peer() *LinkEnd { return &e.link.ends[e.idx^1] }

// NodeName returns the name given to Attach ("" if none).
func (e *LinkEnd) NodeName() string { return e.nodeName }

// MTU returns the MTU of the direction leaving this end.
func (e *LinkEnd) MTU() int { return e.out.mtu }

// Attach makes n receive the packets that arrive at this end, as
// n.Deliver(ifIndex, pkt). name is used in the event log and pcap comments.
// Attaching again replaces the previous node.
func (e *LinkEnd) Attach(name string, n Node, ifIndex int) {
	e.node, e.nodeName, e.ifIndex = n, name, ifIndex
	e.vnode, _ = n.(verifiedNode)
}

// verifiedNode is a Node that can skip verifying checksums of packets known
// to be intact (*stack.Host: see stack.OffloadLink).
type verifiedNode interface {
	DeliverVerified(ifIndex int, pkt []byte)
}

// Send transmits one IPv4 packet from this end (stack.Link). It must be
// called in scheduler context. pkt is copied into a pooled buffer before
// Send returns.
func (e *LinkEnd) Send(pkt []byte) { e.out.send(pkt, false) }

// SendVerified is Send for a packet whose checksums the sending host has
// just computed (stack.OffloadLink). If no fault corrupts it, the far end's
// node receives it through DeliverVerified when it has that method, and
// does not sum the same bytes again; what it does with the packet is the
// same as with Deliver.
func (e *LinkEnd) SendVerified(pkt []byte) { e.out.send(pkt, true) }

// SendHandoff is SendVerified that keeps pkt's backing array as the frame
// in flight instead of copying it (stack.HandoffLink): the caller must not
// touch pkt again. It returns a buffer the caller may reuse for its next
// packet, empty and with room for at least len(pkt) bytes.
func (e *LinkEnd) SendHandoff(pkt []byte) (spare []byte) {
	if spare = e.out.sendOwned(pkt); spare == nil {
		// The link did not keep pkt (dropped before queueing).
		return pkt[:0]
	}
	return spare[:0]
}

// NewLink creates an unattached link. Use LinkEnd.Attach to connect nodes,
// or World.Connect to create and attach in one step. Settings are validated;
// an invalid one returns an error naming the field and the value.
func (w *World) NewLink(cfg LinkConfig) (*Link, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("link%d", len(w.links))
	}
	if _, ok := w.linkName[cfg.Name]; ok {
		return nil, fmt.Errorf("%w: link %q", ErrDuplicate, cfg.Name)
	}
	if err := cfg.AB.validate(fmt.Sprintf("link %q A→B", cfg.Name)); err != nil {
		return nil, err
	}
	if err := cfg.BA.validate(fmt.Sprintf("link %q B→A", cfg.Name)); err != nil {
		return nil, err
	}
	l := &Link{w: w, name: cfg.Name}
	for i := range l.ends {
		l.ends[i] = LinkEnd{link: l, idx: i}
	}
	l.ends[0].out, l.ends[1].out = &l.ab, &l.ba
	if err := l.ab.init(w, l, 0, cfg.AB); err != nil {
		return nil, err
	}
	if err := l.ba.init(w, l, 1, cfg.BA); err != nil {
		return nil, err
	}
	w.links = append(w.links, l)
	w.linkName[cfg.Name] = l
	return l, nil
}

// frame is a pooled packet buffer travelling through a link direction.
type frame struct {
	buf       []byte
	seq       uint64
	extra     time.Duration
	immediate bool
	logData   []byte // the log's copy of buf, shared by this frame's events
	quick     int8   // 0: qh not computed yet
	qh        quickHdr
	decoded   int8 // 0 unknown, 1 ok
	pkt       segment.Packet
	decErr    error
	intact    bool          // sent with SendVerified and not corrupted since
	arr       time.Duration // arrival time, while waiting in direction.fifo
	eseq      uint64        // the arrival event's reserved sequence number
}

func (w *World) getFrame(pkt []byte) *frame {
	var f *frame
	if n := len(w.frames); n > 0 {
		f = w.frames[n-1]
		w.frames = w.frames[:n-1]
	} else {
		f = &frame{}
	}
	if cap(f.buf) < len(pkt) {
		c := 2048
		if len(pkt) > c {
			c = len(pkt)
		}
		f.buf = make([]byte, len(pkt), c)
	}
	f.buf = f.buf[:len(pkt)]
	copy(f.buf, pkt)
	f.seq, f.extra, f.immediate, f.decoded, f.decErr, f.logData, f.quick, f.intact = 0, 0, false, 0, nil, nil, 0, false
	return f
}

// takeFrame is getFrame for a pkt whose backing array the link may keep:
// pkt becomes the frame's buffer, and the buffer the pooled frame had is
// returned (with at least getFrame's capacity) for the sender to reuse.
func (w *World) takeFrame(pkt []byte) (f *frame, spare []byte) {
	if n := len(w.frames); n > 0 {
		f = w.frames[n-1]
		w.frames = w.frames[:n-1]
	} else {
		f = &frame{}
	}
	spare = f.buf
	if cap(spare) < len(pkt) {
		spare = make([]byte, 0, max(2048, len(pkt)))
	}
	f.buf = pkt
	f.seq, f.extra, f.immediate, f.decoded, f.decErr, f.logData, f.quick, f.intact = 0, 0, false, 0, nil, nil, 0, false
	return f, spare
}

func (w *World) putFrame(f *frame) { w.frames = append(w.frames, f) }

type faultStage struct {
	name string
	inj  Injector
}

// qent is one packet waiting for the transmitter.
type qent struct {
	start time.Duration
	size  int
}

// direction is one half of a link: the queue, transmitter and wire from one
// end to the other.
type direction struct {
	w        *World
	link     *Link
	from, to int
	cfg      DirConfig
	mtu      int
	faults   []faultStage
	jrng     *rand.Rand
	seq      uint64
	busy     time.Duration // transmitter busy until
	lastArr  time.Duration // arrival of the last packet that kept order
	q        []qent        // ring of waiting packets
	qHead    int
	qLen     int
	qBytes   int
	fifo     []*frame // ring of in-order arrivals; only the head is in the heap
	fHead    int
	fLen     int
	fp       FaultPacket
	stats    DirStats
	paretoXm float64

	// Queue discipline (issue 13).
	qd  *qdState // nil: drop-tail through q above
	soj sojournHist
}

func (d *direction) init(w *World, l *Link, from int, cfg DirConfig) error {
	d.w, d.link, d.from, d.to, d.cfg = w, l, from, from^1, cfg
	d.mtu = cfg.MTU
	if d.mtu == 0 {
		d.mtu = DefaultMTU
	}
	dirName := "AB"
	if from == 1 {
		dirName = "BA"
	}
	if cfg.Jitter > 0 {
		d.jrng = w.Rand("link", l.name, dirName, "jitter")
		// Pareto with shape 3 has standard deviation xm*sqrt(3)/2.
		d.paretoXm = float64(cfg.Jitter) * 2 / math.Sqrt(3)
	}
	used := make(map[string]int)
	for _, f := range cfg.Faults {
		name := f.FaultName()
		used[name]++
		seedName := name
		if n := used[name]; n > 1 {
			seedName = fmt.Sprintf("%s#%d", name, n)
		}
		inj, err := f.NewInjector(w.Rand("link", l.name, dirName, "fault", seedName))
		if err != nil {
			return fmt.Errorf("link %q %s: fault %s: %w", l.name, dirName, name, err)
		}
		d.faults = append(d.faults, faultStage{name: name, inj: inj})
	}
	d.fp.Link = l
	d.fp.From = from
	return d.initQdisc(w, l, dirName)
}

func (d *direction) logEvent(end int, dir Dir, v Verdict, reason string, f *frame, data []byte, wait time.Duration, bit int) {
	e := &d.link.ends[end]
	if lg := d.w.log; lg.streamOnly {
		// Nothing is kept: fill the log's scratch event in place.
		if f != nil {
			data = f.buf
		}
		lg.scratch = Event{
			Time: d.w.now, Node: e.nodeName, Link: d.link.name, End: end, Dir: dir,
			Verdict: v, Reason: reason, Len: len(data), Wait: wait, Bit: bit,
		}
		if f != nil {
			lg.scratch.PktSeq = f.seq
		}
		lg.stream(data)
		return
	}
	ev := Event{
		Time: d.w.now, Node: e.nodeName, Link: d.link.name, End: end, Dir: dir,
		Verdict: v, Reason: reason, Len: len(data), Wait: wait, Bit: bit,
	}
	if f == nil {
		d.w.log.add(ev, data)
		return
	}
	ev.PktSeq, ev.Len = f.seq, len(f.buf)
	if f.logData != nil {
		// The log already holds these bytes: share them.
		ev.Data = f.logData
		d.w.log.add(ev, nil)
		return
	}
	f.logData = d.w.log.add(ev, f.buf)
}

func (d *direction) send(pkt []byte, intact bool) { d.transmit(pkt, intact, false) }

// sendOwned is send of a verified packet whose backing array the link may
// keep; it returns the buffer given back to the sender, or nil when pkt was
// not kept.
func (d *direction) sendOwned(pkt []byte) []byte { return d.transmit(pkt, true, true) }

// transmit is send; with own, pkt itself becomes the frame's buffer and the
// pooled buffer it replaces is returned (nil when pkt was not kept).
func (d *direction) transmit(pkt []byte, intact, own bool) []byte {
	d.seq++
	d.stats.Sent++
	d.stats.SentBytes += uint64(len(pkt))
	src := &d.link.ends[d.from]
	for _, c := range src.taps {
		c.write(d.w.now, pkt)
	}
	var logged []byte
	if lg := d.w.log; lg != nil && lg.streamOnly {
		lg.scratch = Event{Time: d.w.now, Node: src.nodeName, Link: d.link.name, End: d.from, Dir: Out,
			Verdict: Sent, PktSeq: d.seq, Len: len(pkt)}
		lg.stream(pkt)
	} else if lg != nil {
		logged = lg.add(Event{Time: d.w.now, Node: src.nodeName, Link: d.link.name, End: d.from, Dir: Out,
			Verdict: Sent, PktSeq: d.seq, Len: len(pkt)}, pkt)
	}
	if len(pkt) == 0 || len(pkt) > d.mtu {
		reason := ReasonMTU
		if len(pkt) == 0 {
			reason = ReasonEmpty
			d.stats.DropOther++
		} else {
			d.stats.DropMTU++
		}
		if d.w.log != nil {
			ev := Event{Time: d.w.now, Node: src.nodeName, Link: d.link.name, End: d.from, Dir: Out,
				Verdict: Dropped, Reason: reason, PktSeq: d.seq, Len: len(pkt)}
			if logged != nil {
				ev.Data = logged
				d.w.log.add(ev, nil)
			} else {
				d.w.log.add(ev, pkt)
			}
		}
		return nil
	}
	var f *frame
	var spare []byte
	if own {
		f, spare = d.w.takeFrame(pkt)
	} else {
		f = d.w.getFrame(pkt)
	}
	f.seq = d.seq
	f.logData = logged
	f.intact = intact
	d.inject(f, 0)
	return spare
}

// inject runs f through faults[i:] and then into the queue. A duplicate
// runs through the faults after the one that made it.
func (d *direction) inject(f *frame, i int) {
	for ; i < len(d.faults); i++ {
		st := &d.faults[i]
		d.fp.Time, d.fp.Seq, d.fp.Data, d.fp.f = d.w.now, f.seq, f.buf, f
		act := st.inj.Inject(&d.fp)
		if act.Drop {
			d.stats.DropFault++
			if d.w.log != nil {
				d.logEvent(d.from, Out, Dropped, st.name, f, nil, 0, 0)
			}
			d.w.putFrame(f)
			return
		}
		if act.Corrupt {
			bit := act.CorruptBit % (len(f.buf) * 8)
			if bit < 0 {
				bit += len(f.buf) * 8
			}
			f.buf[bit/8] ^= 1 << (7 - uint(bit%8))
			f.decoded, f.quick = 0, 0
			f.logData = nil  // the bytes changed: the log needs a new copy
			f.intact = false // and the far end must verify the checksums
			d.stats.Corrupted++
			if d.w.log != nil {
				d.logEvent(d.from, Out, Corrupted, st.name, f, nil, 0, bit)
			}
		}
		if act.Delay > 0 || act.Immediate {
			f.extra += act.Delay
			f.immediate = f.immediate || act.Immediate
			d.stats.Delayed++
			if d.w.log != nil {
				d.logEvent(d.from, Out, Delayed, st.name, f, nil, act.Delay, 0)
			}
		}
		if act.Duplicate {
			c := d.w.getFrame(f.buf)
			c.seq = f.seq
			c.extra, c.immediate, c.logData, c.intact = f.extra, f.immediate, f.logData, f.intact
			d.stats.Duplicated++
			d.stats.Sent++
			d.stats.SentBytes += uint64(len(c.buf))
			if d.w.log != nil {
				d.logEvent(d.from, Out, Duplicated, st.name, c, nil, 0, 0)
			}
			d.inject(f, i+1)
			d.inject(c, i+1)
			return
		}
	}
	d.enqueue(f)
}

func (d *direction) enqueue(f *frame) {
	if d.qd != nil {
		d.qdEnqueue(f)
		return
	}
	now := d.w.now
	d.stats.Enqueued++
	// Packets whose transmission has started leave the queue.
	for d.qLen > 0 && d.q[d.qHead].start <= now {
		d.qBytes -= d.q[d.qHead].size
		d.qHead = (d.qHead + 1) % len(d.q)
		d.qLen--
	}
	size := len(f.buf)
	start := now
	if d.busy > now {
		start = d.busy
		if (d.cfg.QueuePackets > 0 && d.qLen+1 > d.cfg.QueuePackets) ||
			(d.cfg.QueueBytes > 0 && d.qBytes+size > d.cfg.QueueBytes) {
			d.stats.DropQueue++
			d.stats.DropOverflow++
			if d.w.log != nil {
				d.logEvent(d.from, Out, Dropped, ReasonQueue, f, nil, 0, 0)
			}
			d.w.putFrame(f)
			return
		}
		if d.qLen == len(d.q) {
			d.growQueue()
		}
		d.q[(d.qHead+d.qLen)%len(d.q)] = qent{start: start, size: size}
		d.qLen++
		d.qBytes += size
		if d.qLen > d.stats.MaxQueue {
			d.stats.MaxQueue = d.qLen
		}
		if d.qBytes > d.stats.MaxQueueLen {
			d.stats.MaxQueueLen = d.qBytes
		}
		if d.w.log != nil {
			d.logEvent(d.from, Out, Queued, "", f, nil, start-now, 0)
		}
	}
	d.soj.add(start - now)
	done := start
	if d.cfg.Rate > 0 {
		done += TxTime(size, d.cfg.Rate)
	}
	d.stats.TxBytes += uint64(size)
	d.stats.Busy += done - start
	d.busy = done
	arr := done
	if !f.immediate {
		arr += d.cfg.Delay
		if d.jrng != nil {
			arr += d.jitter()
			if arr < done {
				arr = done
			}
			if !d.cfg.JitterReorders && arr < d.lastArr {
				arr = d.lastArr
			}
		}
		d.lastArr = arr
	}
	arr += f.extra
	d.deliverAt(f, arr)
}

// deliverAt schedules f's arrival at the far end at time arr.
//
// Arrivals in sending order (the usual case: no reordering jitter, no extra
// delay from a fault) wait in a FIFO of which only the head is in the
// scheduler's heap, so the heap holds one entry per direction rather than
// one per packet in flight. Each arrival keeps the sequence number it would
// have had if scheduled now (reserveSeq), so events run in exactly the same
// order as if every arrival were in the heap. An arrival earlier than the
// FIFO's tail is scheduled on its own.
func (d *direction) deliverAt(f *frame, arr time.Duration) {
	s := &d.w.Scheduler
	if arr < s.now {
		arr = s.now
	}
	seq := s.reserveSeq()
	if d.fLen > 0 && arr < d.fifo[(d.fHead+d.fLen-1)&(len(d.fifo)-1)].arr {
		s.pushSeq(arr, PrioDefault, d, nil, f, seq)
		return
	}
	if d.fLen == len(d.fifo) {
		d.growFifo()
	}
	f.arr, f.eseq = arr, seq
	d.fifo[(d.fHead+d.fLen)&(len(d.fifo)-1)] = f
	d.fLen++
	if d.fLen == 1 {
		s.pushSeq(arr, PrioDefault, d, nil, nil, seq)
	} else {
		s.held++
	}
}

// growFifo doubles the arrival ring (its length stays a power of two).
func (d *direction) growFifo() {
	n := 2 * len(d.fifo)
	if n == 0 {
		n = 64
	}
	q := make([]*frame, n)
	for i := 0; i < d.fLen; i++ {
		q[i] = d.fifo[(d.fHead+i)&(len(d.fifo)-1)]
	}
	d.fifo, d.fHead = q, 0
}

func (d *direction) growQueue() {
	n := 2 * len(d.q)
	if n == 0 {
		n = 16
	}
	q := make([]qent, n)
	for i := 0; i < d.qLen; i++ {
		q[i] = d.q[(d.qHead+i)%len(d.q)]
	}
	d.q, d.qHead = q, 0
}

func (d *direction) jitter() time.Duration {
	// The explicit float64 conversions forbid fused multiply-add, so every
	// architecture rounds the same way and traces match across machines.
	j := float64(d.cfg.Jitter)
	var x float64
	switch d.cfg.Distribution {
	case Normal:
		x = d.jrng.NormFloat64() * j
	case Pareto:
		u := 1 - d.jrng.Float64() // (0, 1]
		x = float64(d.paretoXm/math.Cbrt(u)) - float64(1.5*d.paretoXm)
	default:
		x = (float64(2*d.jrng.Float64()) - 1) * j
	}
	return time.Duration(x)
}

// TxTime returns the serialisation time of size bytes at rate bits per
// second, rounded up to the nanosecond.
func TxTime(size int, rate int64) time.Duration {
	bits := uint64(size) * 8 * uint64(time.Second)
	return time.Duration((bits + uint64(rate) - 1) / uint64(rate))
}

// HandleEvent delivers a frame at the far end (Handler).
// arg is the frame, or nil for the head of the in-order FIFO.
func (d *direction) HandleEvent(arg any) {
	var f *frame
	if arg == nil {
		f = d.fifo[d.fHead]
		d.fifo[d.fHead] = nil
		d.fHead = (d.fHead + 1) & (len(d.fifo) - 1)
		d.fLen--
		if d.fLen > 0 {
			next := d.fifo[d.fHead]
			d.w.held--
			d.w.pushSeq(next.arr, PrioDefault, d, nil, nil, next.eseq)
		}
	} else {
		f = arg.(*frame)
	}
	dst := &d.link.ends[d.to]
	for _, c := range dst.taps {
		c.write(d.w.now, f.buf)
	}
	if dst.node == nil {
		d.stats.DropOther++
		if d.w.log != nil {
			d.logEvent(d.to, In, Dropped, ReasonDetached, f, nil, 0, 0)
		}
		d.w.putFrame(f)
		return
	}
	d.stats.Delivered++
	if d.w.log != nil {
		d.logEvent(d.to, In, Delivered, "", f, nil, 0, 0)
	}
	if f.intact && dst.vnode != nil {
		dst.vnode.DeliverVerified(dst.ifIndex, f.buf)
	} else {
		dst.node.Deliver(dst.ifIndex, f.buf)
	}
	d.w.putFrame(f)
}

// faultError reports an invalid fault setting with its place; it unwraps to
// the fault's own error and matches ErrInvalid.
type faultError struct {
	msg string
	err error
}

func (e *faultError) Error() string   { return e.msg }
func (e *faultError) Unwrap() []error { return []error{ErrInvalid, e.err} }
