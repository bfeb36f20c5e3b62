// Package flows turns a simulated world's event log into flows: one per
// TCP connection, with what each direction sent, what the links did to it
// and what the far end acknowledged, plus round-trip times measured from the
// data. The CLI's tables and summaries, its progress line and its JSON and
// CSV come from here, so what tcpsim prints is exactly as deterministic as
// the log.
//
// Feed an Analyzer every event (sim.Config.OnEvent = a.Event): it parses the
// IPv4 and TCP headers from fixed offsets (several times cheaper than a full
// decode, and tolerant of corrupted packets, which it counts by their
// original header) and finds the flow through a map of 4-tuples, so the cost
// per event does not grow with the number of flows. A SYN with a new
// initial sequence number on a 4-tuple seen before starts a new flow: ports
// get reused, and the connections on them are different flows.
package flows

import (
	"net/netip"
	"slices"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
)

// Direction counts one direction of a connection (0: from the side that
// sent the first SYN; 1: from the other side).
type Direction struct {
	Packets     int   // packets sent, duplicates made by the link not included
	Payload     int64 // payload bytes sent, retransmissions included
	DataSegs    int   // segments with payload sent, retransmissions included
	DataRetrans int   // segments with payload sent again (some of their bytes had been sent before)
	Retrans     int   // segments (data, SYN or FIN) sent again
	Dropped     int   // packets dropped on the link
	DropReasons map[string]int
	Duplicated  int
	Corrupted   int
	Delayed     int // packets a fault delayed or sent ahead (reorder)
	Delivered   int // packets delivered to the far host
	RTT         RTTStats

	ISS, MaxEnd segment.Seq // first sequence number; highest end of data sent
	AckedEnd    segment.Seq // highest acknowledgement of this direction delivered
	AckSeen     bool        // ackedEnd is set
	SYNSeen     bool
	SYNs        int           // SYN transmissions
	FINs        int           // FIN transmissions
	FINAt       time.Duration // first FIN sent
	FirstData   time.Duration // first payload byte sent
	LastData    time.Duration // last new payload delivered to the far side
	HasData     bool          // firstData is set
	HasLastData bool

	// For expert marks (expert.go): the last ACK this direction sent, and
	// how many duplicate ACKs in a row it has sent.
	lastAck    segment.Seq
	lastWin    uint16
	lastAckSet bool
	dupAcks    int
}

// Flow is one TCP connection seen in the log.
type Flow struct {
	Client, Server netip.AddrPort // client sent the first SYN
	ClientNode     string
	ServerNode     string
	Dir            [2]Direction
	keys           [2][12]byte // raw addresses and ports of each direction (hdr.key)

	// Index numbers the flows from 1 in the order their first SYN was sent.
	Index int
	// Failure, when not empty, says why the flow failed; the program that
	// ran the flow sets it (the log cannot tell a refused connect from an
	// application that gave up).
	Failure string

	SYNAt, SYNACKAt, SYNACKDeliveredAt, ACKAt time.Duration
	Established                               bool // the client's handshake ACK was sent
	FirstAt, LastAt                           time.Duration
	Resets                                    int
}

// Analyzer builds flows from events. Its methods run where the events are
// delivered (scheduler context); it is not safe for concurrent use.
type Analyzer struct {
	flows   []*Flow
	byKey   map[[12]byte]flowDir // both directions' raw 4-tuples → current flow
	orig    []byte               // scratch for unflip
	stopped bool                 // Stop was called: ignore further events
	marks   Marks                // expert marks of the last sent packet
	last    *Flow                // flow of the previous packet
	cur     *Flow                // flow of the last event accounted, or nil
	curDir  int                  // its direction
	spare   spares               // arrays finished flows gave back
}

type flowDir struct {
	f *Flow
	d int
}

// New returns an empty Analyzer.
func New() *Analyzer { return &Analyzer{byKey: make(map[[12]byte]flowDir)} }

// Flows returns the flows in the order their first SYN was seen.
func (a *Analyzer) Flows() []*Flow { return a.flows }

// Stop makes the Analyzer ignore further events (the run is over; what
// happens while the world is torn down is not part of it).
func (a *Analyzer) Stop() { a.stopped = true }

// Stopped reports whether Stop was called.
func (a *Analyzer) Stopped() bool { return a.stopped }

// Event accounts one event; it has the signature of sim.Config.OnEvent.
func (a *Analyzer) Event(e *sim.Event) {
	a.marks = 0
	a.cur = nil
	if e.Verdict == sim.Queued || a.stopped {
		return
	}
	var h hdr
	data := e.Data
	if e.Verdict == sim.Corrupted {
		// The event holds the bytes after the flip, which may have hit an
		// address or a port: count the packet by its original header.
		data = a.unflip(e)
	}
	if !h.parse(data) {
		return
	}
	// Most events belong to the same flow as the one before.
	var f *Flow
	var d int
	switch {
	case a.last != nil && h.key == a.last.keys[0] && !a.newSYN(a.last, 0, &h, e):
		f, d = a.last, 0
	case a.last != nil && h.key == a.last.keys[1] && !a.newSYN(a.last, 1, &h, e):
		f, d = a.last, 1
	default:
		f, d = a.find(&h, e)
		if f != nil {
			a.last = f
		}
	}
	if f != nil {
		a.account(f, d, e, &h)
		a.cur, a.curDir = f, d
	}
}

// Current returns the flow and direction (0: from its client) of the last
// event Event accounted, or nil when it belonged to no flow.
func (a *Analyzer) Current() (*Flow, int) { return a.cur, a.curDir }

// newSYN reports whether a packet sent in direction d of f is a SYN (no
// ACK) that opens another connection on the same 4-tuple: its direction
// already sent a SYN with another initial sequence number. (A second SYN
// with the same one is a retransmission; the first SYN from the other end
// is a simultaneous open.)
func (a *Analyzer) newSYN(f *Flow, d int, p *hdr, e *sim.Event) bool {
	if p.flags&(segment.FlagSYN|segment.FlagACK) != segment.FlagSYN || e.Verdict != sim.Sent {
		return false
	}
	ds := &f.Dir[d]
	return ds.SYNSeen && ds.ISS != p.seq
}

// find returns the flow of a packet and its direction (0: from the end
// that sent the first SYN), creating a flow on a SYN without ACK that is
// not a retransmission of the current flow's SYN.
func (a *Analyzer) find(p *hdr, e *sim.Event) (*Flow, int) {
	if fd, ok := a.byKey[p.key]; ok && !a.newSYN(fd.f, fd.d, p, e) {
		return fd.f, fd.d
	}
	if p.flags&(segment.FlagSYN|segment.FlagACK) != segment.FlagSYN || e.Verdict != sim.Sent {
		return nil, 0
	}
	p.addrs()
	f := &Flow{Index: len(a.flows) + 1, Client: p.src, Server: p.dst, ClientNode: e.Node}
	f.keys[0] = p.key
	f.keys[1] = reverseKey(p.key)
	a.flows = append(a.flows, f)
	a.byKey[f.keys[0]] = flowDir{f, 0}
	a.byKey[f.keys[1]] = flowDir{f, 1}
	return f, 0
}

// reverseKey is the key of the other direction: addresses and ports swapped.
func reverseKey(k [12]byte) [12]byte {
	var r [12]byte
	copy(r[0:4], k[4:8])
	copy(r[4:8], k[0:4])
	copy(r[8:10], k[10:12])
	copy(r[10:12], k[8:10])
	return r
}

// unflip returns a copy of a corrupted event's bytes with the flipped bit
// (counted from the first byte's most significant bit) set back.
func (a *Analyzer) unflip(e *sim.Event) []byte {
	a.orig = append(a.orig[:0], e.Data...)
	if i := e.Bit / 8; e.Bit >= 0 && i < len(a.orig) {
		a.orig[i] ^= 0x80 >> (e.Bit % 8)
	}
	return a.orig
}

// hdr holds the few fields the analyzer counts. Parsing them by hand from
// fixed offsets (RFC 791 §3.1, RFC 9293 §3.1) is several times cheaper than
// a full decode, which only -v needs.
type hdr struct {
	key      [12]byte // source and destination address, then ports
	src, dst netip.AddrPort
	seq      segment.Seq
	flags    segment.Flags
	ack      segment.Seq
	window   uint16
	payload  int
}

// parse reads an IPv4+TCP packet without verifying checksums, so that
// corrupted packets are still counted; it reports false for anything it
// cannot read.
func (h *hdr) parse(b []byte) bool {
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != 6 {
		return false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(b[2])<<8 | int(b[3])
	if ihl < 20 || total > len(b) || total < ihl+20 {
		return false
	}
	t := b[ihl:total]
	doff := int(t[12]>>4) * 4
	if doff < 20 || doff > len(t) {
		return false
	}
	copy(h.key[:8], b[12:20])
	copy(h.key[8:], t[:4])
	h.seq = segment.Seq(uint32(t[4])<<24 | uint32(t[5])<<16 | uint32(t[6])<<8 | uint32(t[7]))
	h.flags = segment.Flags(t[13])
	h.ack = segment.Seq(uint32(t[8])<<24 | uint32(t[9])<<16 | uint32(t[10])<<8 | uint32(t[11]))
	h.window = uint16(t[14])<<8 | uint16(t[15])
	h.payload = len(t) - doff
	return true
}

// addrs fills src and dst from the key.
func (h *hdr) addrs() {
	k := &h.key
	h.src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(k[0:4])), uint16(k[8])<<8|uint16(k[9]))
	h.dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(k[4:8])), uint16(k[10])<<8|uint16(k[11]))
}

func (a *Analyzer) account(f *Flow, d int, e *sim.Event, p *hdr) {
	ds := &f.Dir[d]
	t := e.Time
	fl := p.flags
	n := p.payload
	switch e.Verdict {
	case sim.Sent:
		a.marks = a.expert(f, d, p)
		if f.Packets() == 0 {
			f.FirstAt = t
		}
		f.LastAt = t
		if d == 1 && f.ServerNode == "" {
			f.ServerNode = e.Node
		}
		ds.Packets++
		seq := p.seq
		if fl&segment.FlagSYN != 0 {
			ds.SYNs++
			if ds.SYNSeen {
				ds.Retrans++
			} else {
				ds.SYNSeen = true
				ds.ISS = seq
				ds.MaxEnd = seq.Add(1)
				if d == 0 {
					f.SYNAt = t
				} else {
					f.SYNACKAt = t
				}
			}
			seq = seq.Add(1)
		}
		if d == 0 && !f.Established && fl&segment.FlagACK != 0 && fl&segment.FlagSYN == 0 && f.SYNACKDeliveredAt > 0 {
			f.Established = true
			f.ACKAt = t
		}
		if fl&segment.FlagRST != 0 {
			f.Resets++
		}
		if n > 0 {
			ds.Payload += int64(n)
			ds.DataSegs++
			if !ds.HasData {
				ds.HasData, ds.FirstData = true, t
			}
			end := seq.Add(uint32(n))
			if ds.SYNSeen && seq.LessThan(ds.MaxEnd) {
				ds.Retrans++
				ds.DataRetrans++
				ds.RTT.taint(seq, end)
			} else {
				if ds.RTT.q == nil {
					ds.RTT.q = a.spare.takeQ()
				}
				ds.RTT.sent(seq, end, t)
			}
			if ds.SYNSeen {
				ds.MaxEnd = ds.MaxEnd.Max(end)
			}
		}
		if fl&segment.FlagFIN != 0 {
			if ds.FINs == 0 {
				ds.FINAt = t
			} else if n == 0 {
				ds.Retrans++
			}
			ds.FINs++
		}
	case sim.Delivered:
		f.LastAt = t
		ds.Delivered++
		if fl&segment.FlagACK != 0 {
			o := &f.Dir[d^1]
			if o.RTT.samples == nil && o.RTT.head < len(o.RTT.q) {
				o.RTT.samples = a.spare.takeSamples()
			}
			o.RTT.acked(p.ack, t)
			if o.SYNSeen && (!o.AckSeen || o.AckedEnd.LessThan(p.ack)) {
				o.AckedEnd, o.AckSeen = p.ack, true
				if o.FINs > 0 && !o.AckedEnd.LessThan(o.MaxEnd.Add(1)) {
					o.RTT.finished(&a.spare)
				}
			}
		}
		if d == 1 && fl&segment.FlagSYN != 0 && f.SYNACKDeliveredAt == 0 {
			f.SYNACKDeliveredAt = t
		}
		if n > 0 {
			ds.LastData, ds.HasLastData = t, true
		}
	case sim.Dropped:
		ds.Dropped++
		if ds.DropReasons == nil {
			ds.DropReasons = make(map[string]int)
		}
		ds.DropReasons[e.Reason]++
	case sim.Duplicated:
		ds.Duplicated++
	case sim.Corrupted:
		ds.Corrupted++
	case sim.Delayed:
		ds.Delayed++
	}
}

// Acked is the payload, both ways and over every flow, that the receivers
// have acknowledged: what the progress line shows.
func (a *Analyzer) Acked() int64 {
	var n int64
	for _, f := range a.flows {
		for i := range f.Dir {
			d := &f.Dir[i]
			if d.AckSeen && d.SYNSeen {
				// The SYN takes one sequence number and the FIN one more.
				n += max(0, min(int64(d.AckedEnd.Sub(d.ISS))-1, int64(d.MaxEnd.Sub(d.ISS))-1))
			}
		}
	}
	return n
}

// Packets is the number of packets both ends sent.
func (f *Flow) Packets() int { return f.Dir[0].Packets + f.Dir[1].Packets }

// RTTStats measures round-trip times from the log: the time from a data
// segment's first transmission to the delivery, back at its sender, of the
// first ACK that covers it. Segments sent more than once give no sample
// (Karn's rule, RFC 6298 §3), nor does an ACK that covers one; an ACK
// yields at most one sample.
type RTTStats struct {
	q    []rttEntry
	head int

	n             int
	sum, min, max time.Duration
	samples       []time.Duration // at most maxSamples, a uniform sample of all (reservoir)
	rng           uint64          // the reservoir's deterministic generator
}

// maxSamples bounds the samples kept per direction for percentiles.
const maxSamples = 4096

type rttEntry struct {
	start, end segment.Seq
	at         time.Duration
	tainted    bool
}

func (r *RTTStats) sent(start, end segment.Seq, at time.Duration) {
	if r.head > 0 && r.head >= len(r.q)/2 {
		// Keep the queue as short as what is in flight.
		r.q = r.q[:copy(r.q, r.q[r.head:])]
		r.head = 0
	}
	r.q = append(r.q, rttEntry{start: start, end: end, at: at})
}

// finished is called once everything the direction sent, FIN included,
// is acknowledged: nothing is in flight, so the queue goes back to sp for
// the next flows (a finished flow keeps what its table row needs, not its
// peak window), and the samples are copied to an array of their length,
// the one they grew in going back to sp too.
func (r *RTTStats) finished(sp *spares) {
	if r.head == len(r.q) {
		sp.putQ(r.q)
		r.q, r.head = nil, 0
	}
	if cap(r.samples) > len(r.samples) {
		grown := r.samples
		r.samples = slices.Clone(r.samples)
		sp.putSamples(grown)
	}
}

// spares holds the arrays finished flows gave back, for the next flows'
// queues and samples to start in rather than each growing its own from
// nothing (those were most of what the analyzer allocated per flow).
type spares struct {
	q       [][]rttEntry
	samples [][]time.Duration
}

// maxSpares bounds the arrays kept of each kind.
const maxSpares = 256

func (sp *spares) takeQ() []rttEntry {
	if n := len(sp.q); n > 0 {
		q := sp.q[n-1]
		sp.q[n-1] = nil
		sp.q = sp.q[:n-1]
		return q
	}
	return nil
}

func (sp *spares) putQ(q []rttEntry) {
	if cap(q) > 0 && len(sp.q) < maxSpares {
		sp.q = append(sp.q, q[:0])
	}
}

func (sp *spares) takeSamples() []time.Duration {
	if n := len(sp.samples); n > 0 {
		s := sp.samples[n-1]
		sp.samples[n-1] = nil
		sp.samples = sp.samples[:n-1]
		return s
	}
	return nil
}

func (sp *spares) putSamples(s []time.Duration) {
	if cap(s) > 0 && len(sp.samples) < maxSpares {
		sp.samples = append(sp.samples, s[:0])
	}
}

func (r *RTTStats) taint(start, end segment.Seq) {
	for i := r.head; i < len(r.q); i++ {
		e := &r.q[i]
		if e.start.LessThan(end) && start.LessThan(e.end) {
			e.tainted = true
		}
	}
}

func (r *RTTStats) acked(ack segment.Seq, at time.Duration) {
	var last *rttEntry
	tainted := false
	for r.head < len(r.q) && r.q[r.head].end.LessThanEq(ack) {
		last = &r.q[r.head]
		tainted = tainted || last.tainted
		r.head++
	}
	// An ACK that also covers a retransmitted segment (it filled a hole)
	// waited for the repair, not for the path: no sample.
	if last == nil || tainted {
		return
	}
	d := at - last.at
	if r.n == 0 || d < r.min {
		r.min = d
	}
	r.max = max(r.max, d)
	r.sum += d
	r.n++
	if len(r.samples) < maxSamples {
		r.samples = append(r.samples, d)
		return
	}
	// Reservoir sampling (Vitter's algorithm R): sample n replaces a kept
	// one with probability maxSamples/n. The generator is a fixed
	// splitmix64 sequence, so the same log gives the same percentiles.
	r.rng += 0x9e3779b97f4a7c15
	z := r.rng
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	if i := z % uint64(r.n); i < maxSamples {
		r.samples[i] = d
	}
}
