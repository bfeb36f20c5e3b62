package main

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// The analyzer reads the world's event log as it is written (sim.Config
// OnEvent) and keeps, per TCP connection, what the story and the summaries
// print. Everything tcpsim prints about packets comes from here, so the
// output is exactly as deterministic as the log.

// dirStats counts one direction of a connection (0: from the side that
// sent the first SYN; 1: from the other side).
type dirStats struct {
	packets    int   // packets sent, duplicates made by the link not included
	payload    int64 // payload bytes sent, retransmissions included
	dataSegs   int   // segments with payload sent
	retrans    int   // segments (data, SYN or FIN) sent again
	dropped    int   // packets dropped on the link
	dropReason map[string]int
	duplicated int
	corrupted  int
	delayed    int // packets a fault delayed or sent ahead (reorder)
	delivered  int // packets delivered to the far host
	rtt        rttSampler

	iss, maxEnd segment.Seq // first sequence number; highest end of data sent
	ackedEnd    segment.Seq // highest acknowledgement of this direction delivered
	ackSeen     bool        // ackedEnd is set
	synSeen     bool
	syns        int           // SYN transmissions
	finSent     int           // FIN transmissions
	finAt       time.Duration // first FIN sent
	firstData   time.Duration // first payload byte sent
	lastData    time.Duration // last new payload delivered to the far side
	dataAt      bool          // firstData is set
	lastDataSet bool
}

// flow is one TCP connection seen in the log.
type flow struct {
	client, server netip.AddrPort // client sent the first SYN
	clientNode     string
	serverNode     string
	dir            [2]dirStats
	keys           [2][12]byte // raw addresses and ports of each direction (hdr.key)

	synAt, synAckAt, synAckDeliveredAt, ackAt time.Duration
	established                               bool // the client's handshake ACK was sent
	firstAt, lastAt                           time.Duration
	resets                                    int
}

// analyzer builds flows from events.
type analyzer struct {
	flows   []*flow
	verbose io.Writer
	pkt     segment.Packet
	line    []byte
	orig    []byte // scratch for unflip
	stopped bool   // the run is over: ignore further events
	last    *flow  // flow of the previous packet
}

func newAnalyzer(verbose io.Writer) *analyzer { return &analyzer{verbose: verbose} }

// find returns the flow of a packet and the direction (0 client→server),
// creating the flow on a SYN without ACK.
func (a *analyzer) find(p *hdr, node string) (*flow, int) {
	src, dst := p.src, p.dst
	for i := len(a.flows) - 1; i >= 0; i-- {
		f := a.flows[i]
		switch {
		case f.client == src && f.server == dst:
			return f, 0
		case f.server == src && f.client == dst:
			return f, 1
		}
	}
	if p.flags&(segment.FlagSYN|segment.FlagACK) != segment.FlagSYN {
		return nil, 0
	}
	f := &flow{client: src, server: dst, clientNode: node}
	a.flows = append(a.flows, f)
	return f, 0
}

// event is the sim.Config.OnEvent hook.
func (a *analyzer) event(e *sim.Event) {
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
		a.printRaw(e)
		return
	}
	// Most events belong to the same flow as the one before.
	var f *flow
	var d int
	switch {
	case a.last != nil && h.key == a.last.keys[0]:
		f, d = a.last, 0
	case a.last != nil && h.key == a.last.keys[1]:
		f, d = a.last, 1
	default:
		h.addrs()
		f, d = a.find(&h, e.Node)
		if f != nil {
			f.keys[d] = h.key
			a.last = f
		}
	}
	if f != nil {
		a.account(f, d, e, &h)
	}
	if a.verbose != nil && e.Verdict != sim.Delivered {
		if a.pkt.Decode(e.Data, false) != nil {
			a.printRaw(e)
			return
		}
		a.print(e, &a.pkt)
	}
}

// unflip returns a copy of a corrupted event's bytes with the flipped bit
// (counted from the first byte's most significant bit) set back.
func (a *analyzer) unflip(e *sim.Event) []byte {
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
	h.payload = len(t) - doff
	return true
}

// addrs fills src and dst from the key.
func (h *hdr) addrs() {
	k := &h.key
	h.src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(k[0:4])), uint16(k[8])<<8|uint16(k[9]))
	h.dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(k[4:8])), uint16(k[10])<<8|uint16(k[11]))
}

func (a *analyzer) account(f *flow, d int, e *sim.Event, p *hdr) {
	ds := &f.dir[d]
	t := e.Time
	fl := p.flags
	n := p.payload
	switch e.Verdict {
	case sim.Sent:
		if f.packets() == 0 {
			f.firstAt = t
		}
		f.lastAt = t
		if d == 1 && f.serverNode == "" {
			f.serverNode = e.Node
		}
		ds.packets++
		seq := p.seq
		if fl&segment.FlagSYN != 0 {
			ds.syns++
			if ds.synSeen {
				ds.retrans++
			} else {
				ds.synSeen = true
				ds.iss = seq
				ds.maxEnd = seq.Add(1)
				if d == 0 {
					f.synAt = t
				} else {
					f.synAckAt = t
				}
			}
			seq = seq.Add(1)
		}
		if d == 0 && !f.established && fl&segment.FlagACK != 0 && fl&segment.FlagSYN == 0 && f.synAckDeliveredAt > 0 {
			f.established = true
			f.ackAt = t
		}
		if fl&segment.FlagRST != 0 {
			f.resets++
		}
		if n > 0 {
			ds.payload += int64(n)
			ds.dataSegs++
			if !ds.dataAt {
				ds.dataAt, ds.firstData = true, t
			}
			end := seq.Add(uint32(n))
			if ds.synSeen && seq.LessThan(ds.maxEnd) {
				ds.retrans++
				ds.rtt.taint(seq, end)
			} else {
				ds.rtt.sent(seq, end, t)
			}
			if ds.synSeen {
				ds.maxEnd = ds.maxEnd.Max(end)
			}
		}
		if fl&segment.FlagFIN != 0 {
			if ds.finSent == 0 {
				ds.finAt = t
			} else if n == 0 {
				ds.retrans++
			}
			ds.finSent++
		}
	case sim.Delivered:
		f.lastAt = t
		ds.delivered++
		if fl&segment.FlagACK != 0 {
			o := &f.dir[d^1]
			o.rtt.acked(p.ack, t)
			if o.synSeen && (!o.ackSeen || o.ackedEnd.LessThan(p.ack)) {
				o.ackedEnd, o.ackSeen = p.ack, true
			}
		}
		if d == 1 && fl&segment.FlagSYN != 0 && f.synAckDeliveredAt == 0 {
			f.synAckDeliveredAt = t
		}
		if n > 0 {
			ds.lastData, ds.lastDataSet = t, true
		}
	case sim.Dropped:
		ds.dropped++
		if ds.dropReason == nil {
			ds.dropReason = make(map[string]int)
		}
		ds.dropReason[e.Reason]++
	case sim.Duplicated:
		ds.duplicated++
	case sim.Corrupted:
		ds.corrupted++
	case sim.Delayed:
		ds.delayed++
	}
}

// acked is the payload, both ways and over every flow, that the receivers
// have acknowledged: what the progress line shows.
func (a *analyzer) acked() int64 {
	var n int64
	for _, f := range a.flows {
		for i := range f.dir {
			d := &f.dir[i]
			if d.ackSeen && d.synSeen {
				// The SYN takes one sequence number and the FIN one more.
				n += max(0, min(int64(d.ackedEnd.Sub(d.iss))-1, int64(d.maxEnd.Sub(d.iss))-1))
			}
		}
	}
	return n
}

func (f *flow) packets() int { return f.dir[0].packets + f.dir[1].packets }

// print writes one event as a tcpdump-style line: virtual time, where, and
// the packet as tcpdump -nS shows it (p nil: its length only), with the
// link's verdict when it did something other than carry the packet.
func (a *analyzer) print(e *sim.Event, p *segment.Packet) {
	b := a.line[:0]
	b = appendTime(b, e.Time)
	b = append(b, ' ')
	who := "link"
	if e.Verdict == sim.Sent {
		who = e.Node
	}
	b = append(b, who...)
	for i := len(who); i < 7; i++ {
		b = append(b, ' ')
	}
	switch e.Verdict {
	case sim.Sent:
	case sim.Dropped:
		b = append(b, "DROPPED ("...)
		b = append(b, e.Reason...)
		b = append(b, "): "...)
	case sim.Duplicated:
		b = append(b, "DUPLICATED ("...)
		b = append(b, e.Reason...)
		b = append(b, "): "...)
	case sim.Corrupted:
		b = append(b, "CORRUPTED ("...)
		b = append(b, e.Reason...)
		b = append(b, ", bit "...)
		b = strconv.AppendInt(b, int64(e.Bit), 10)
		b = append(b, "): "...)
	case sim.Delayed:
		b = append(b, "DELAYED ("...)
		b = append(b, e.Reason...)
		if e.Wait > 0 {
			b = append(b, " +"...)
			b = append(b, e.Wait.String()...)
		}
		b = append(b, "): "...)
	default:
		b = append(b, e.Verdict.String()...)
		b = append(b, ": "...)
	}
	if p != nil {
		b = p.AppendString(b)
	} else {
		b = strconv.AppendInt(b, int64(e.Len), 10)
		b = append(b, " bytes, not decodable as IPv4+TCP"...)
	}
	b = append(b, '\n')
	a.line = b
	a.verbose.Write(b)
}

// printRaw prints an event whose bytes do not decode (a corrupted header,
// say) in the same layout, with the length instead of the packet.
func (a *analyzer) printRaw(e *sim.Event) {
	if a.verbose == nil || e.Verdict == sim.Delivered || e.Verdict == sim.Queued {
		return
	}
	a.print(e, nil)
}

// appendTime writes virtual time in seconds with microseconds, as tcpdump
// prints relative timestamps.
func appendTime(b []byte, d time.Duration) []byte {
	us := int64(d / time.Microsecond)
	s := strconv.FormatInt(us/1e6, 10)
	for len(s) < 3 {
		s = " " + s
	}
	b = append(b, s...)
	b = append(b, '.')
	frac := strconv.FormatInt(us%1e6, 10)
	for i := len(frac); i < 6; i++ {
		b = append(b, '0')
	}
	return append(b, frac...)
}

func fmtTime(d time.Duration) string { return string(appendTime(nil, d)) }

// rttSampler measures round-trip times from the log: the time from a data
// segment's first transmission to the delivery, back at its sender, of the
// first ACK that covers it. Segments sent more than once give no sample
// (Karn's rule, RFC 6298 §3), nor does an ACK that covers one; an ACK
// yields at most one sample.
type rttSampler struct {
	q    []rttEntry
	head int

	n             int
	sum, min, max time.Duration
}

type rttEntry struct {
	start, end segment.Seq
	at         time.Duration
	tainted    bool
}

func (r *rttSampler) sent(start, end segment.Seq, at time.Duration) {
	if r.head > 0 && r.head >= len(r.q)/2 {
		// Keep the queue as short as what is in flight.
		r.q = r.q[:copy(r.q, r.q[r.head:])]
		r.head = 0
	}
	r.q = append(r.q, rttEntry{start: start, end: end, at: at})
}

func (r *rttSampler) taint(start, end segment.Seq) {
	for i := r.head; i < len(r.q); i++ {
		e := &r.q[i]
		if e.start.LessThan(end) && start.LessThan(e.end) {
			e.tainted = true
		}
	}
}

func (r *rttSampler) acked(ack segment.Seq, at time.Duration) {
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
}

// hostDropReasons names the counters of packets a host dropped on arrival
// because of what they held (damage from --corrupt above all), in the
// stack's order. Drops that are ordinary protocol behaviour (duplicates,
// segments out of window) are TCP's business and not listed.
var hostDropReasons = []struct {
	reason string
	get    func(*stack.Counters) uint64
}{
	{"IPv4 truncated", func(c *stack.Counters) uint64 { return c.IPDropTruncated }},
	{"IPv4 version", func(c *stack.Counters) uint64 { return c.IPDropVersion }},
	{"IPv4 header length", func(c *stack.Counters) uint64 { return c.IPDropHeaderLen }},
	{"IPv4 total length", func(c *stack.Counters) uint64 { return c.IPDropTotalLen }},
	{"IPv4 checksum", func(c *stack.Counters) uint64 { return c.IPDropChecksum }},
	{"IPv4 other", func(c *stack.Counters) uint64 { return c.IPDropOther }},
	{"not for us", func(c *stack.Counters) uint64 { return c.IPDropNotForUs }},
	{"bad source", func(c *stack.Counters) uint64 { return c.IPDropBadSource }},
	{"fragment", func(c *stack.Counters) uint64 { return c.IPDropFragment }},
	{"not TCP", func(c *stack.Counters) uint64 { return c.IPDropProtocol }},
	{"TCP truncated", func(c *stack.Counters) uint64 { return c.TCPDropTruncated }},
	{"TCP checksum", func(c *stack.Counters) uint64 { return c.TCPDropChecksum }},
	{"TCP header", func(c *stack.Counters) uint64 { return c.TCPDropHeader }},
	{"TCP port 0", func(c *stack.Counters) uint64 { return c.TCPDropBadPort }},
}

// hostDrops describes what h dropped on arrival, e.g. "2 (TCP checksum)",
// or "" when it dropped nothing.
func hostDrops(h *stack.Host) string {
	c := h.Counters()
	var parts []string
	for _, r := range hostDropReasons {
		if n := r.get(&c); n > 0 {
			parts = append(parts, strconv.FormatUint(n, 10)+" ("+r.reason+")")
		}
	}
	return strings.Join(parts, ", ")
}

// printHostDrops prints, when there were any, the packets each host
// dropped on arrival and why: the other half of the link's CORRUPTED lines.
func printHostDrops(w io.Writer, indent string, n *network) {
	var parts []string
	for _, h := range []struct {
		name string
		h    *stack.Host
	}{{clientName, n.client}, {serverName, n.server}} {
		if d := hostDrops(h.h); d != "" {
			parts = append(parts, h.name+" "+d)
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "%shost drops   %s\n", indent, strings.Join(parts, "; "))
	}
}
