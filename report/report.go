// Package report draws a simulated run as one self-contained HTML page:
// a ladder diagram of the first packets, per flow a time-sequence graph
// (Stevens and tcptrace style) and time series of the sender's congestion
// window, slow-start threshold, bytes in flight, SRTT and RTO, and for
// several flows the completion-time CDF, each flow's throughput and the
// flow table. Every picture is inline SVG written by hand; the page has no
// script and refers to nothing outside itself, so it opens offline.
//
// Feed a Recorder every event of a world (sim.Config.OnEvent = r.Event,
// with StreamOnly or LogData so that events carry the packet bytes), give
// it the connections to sample (Options.Conns), run the world, then call
// Write. The Recorder only reads: it schedules nothing and changes no
// state, so a run with a report sends exactly the packets of a run without.
package report

import (
	"net/netip"
	"time"

	"github.com/tcpsim/tcpsim/flows"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// Options configure a Recorder. The zero value is usable.
type Options struct {
	// LadderMax is how many packets the ladder draws (the first ones);
	// zero means DefaultLadderMax.
	LadderMax int
	// LadderFrom and LadderUntil, when set, are the window of virtual time
	// whose packets (by when they were sent) the ladder draws, the first
	// LadderMax of them; LadderUntil zero means to the end.
	LadderFrom, LadderUntil time.Duration
	// MaxFlows is how many flows (the first ones, by their first SYN) get
	// a time-sequence graph and time series; zero means DefaultMaxFlows.
	MaxFlows int
	// SampleEvery is the virtual time between two samples of each
	// connection's state; zero means DefaultSampleEvery. Samples are taken
	// at the first event at or after each multiple of it (the Recorder
	// schedules nothing of its own, so that it cannot change the run).
	SampleEvery time.Duration
	// Conns, when set, returns the connections to sample. The Recorder
	// calls it at each sample time and matches each new connection to a
	// flow by its 4-tuple; it expects the list only to grow, new
	// connections appended (as the CLI's list of the run's connections
	// does). Without it Sample does nothing and the report has no time
	// series.
	Conns func() []*stack.Conn
	// AbsoluteSeq labels the ladder's packets with the sequence and
	// acknowledgment numbers on the wire (tcpdump -S) instead of relative
	// to each side's initial sequence number.
	AbsoluteSeq bool
	// Flows, when set, is the analyzer whose flows the many-flows section
	// shows (the caller feeds it the events); otherwise the Recorder keeps
	// its own.
	Flows *flows.Analyzer
	// Links, when set, returns the links whose directions the report
	// draws (queue length, drops and CE marks over time, sampled every
	// SampleEvery by a Series: links.go).
	Links func() []*sim.Link
}

// Defaults of Options.
const (
	DefaultLadderMax   = 300
	DefaultMaxFlows    = 8
	DefaultSampleEvery = 10 * time.Millisecond
)

// Mark bits: what a packet is, as Wireshark's expert info would say.
const (
	markRetrans uint8 = 1 << iota
	markDupAck
	markWinUpdate
	markZeroWin
	// markHop: a router forwarding the packet on the next link of its
	// path (a lane of its own on the ladder; counted once elsewhere).
	markHop
)

// pkt is one packet sent by a flow the report details.
type pkt struct {
	flow     int32 // index into Recorder.flows; -1 for a packet that is not TCP (Recorder.other)
	dir      uint8 // 0: from the flow's client
	marks    uint8
	flags    segment.Flags
	nsack    uint8
	from, to string // node names (to: set on arrival)
	link     string // the link and the sender's end, to name the far node
	end      uint8
	sentAt   time.Duration // handed to the link
	sentN    uint32        // the ordinals of the Sent event and of the arrival or drop among the events recorded
	endN     uint32
	last     int32         // of a packet forwarded by routers: 1 + the index of its latest hop's record (0: none)
	wait     time.Duration // queued behind earlier packets for this long
	endAt    time.Duration // arrival, or the drop
	arrived  bool
	drop     string
	seq, ack uint32 // relative to each side's ISN
	n        int32  // payload length
	win      uint32 // advertised window, scaled
	mss      uint16
	synOpts  uint8                            // on a SYN: wscale+1 (0 none) in the low 5 bits, 1<<5 SACK permitted, 1<<6 timestamps
	sack     [segment.MaxSACKBlocks][2]uint32 // relative to the receiver's... the data sender's ISN
}

// flowState is what the Recorder tracks of one flow.
type flowState struct {
	client, server netip.AddrPort
	isn            [2]segment.Seq
	isnSet         [2]bool
	wscale         [2]int // shift announced in each SYN, -1 for none
	maxEnd         [2]segment.Seq
	lastAck        [2]segment.Seq
	lastWin        [2]uint16
	ackSeen        [2]bool
	pkts           []int32 // indexes into Recorder.pkts
	payload        [2]int64
	samples        []*series // sampled connections of the flow
	rate           int32     // index into Recorder.rates
}

// departs is when the packet left the sender's transmitter: sent, plus
// the time it waited in the link's queue.
func (p *pkt) departs() time.Duration { return p.sentAt + p.wait }

func (f *flowState) shift(d int) uint {
	if f.wscale[0] < 0 || f.wscale[1] < 0 {
		return 0
	}
	return uint(f.wscale[d])
}

type key12 [12]byte

type flowDir struct {
	f int32 // index into Recorder.flows, -1 for a flow beyond MaxFlows
	d uint8
	a int32 // index into Recorder.rates (every flow)
}

type pendingKey struct {
	link string
	end  int
	seq  uint64
}

// Sample is one snapshot of a connection.
type Sample struct {
	At                        time.Duration
	Cwnd, Ssthresh, InFlight  uint32
	SRTT, RTO                 time.Duration
	SndWnd                    uint32
	State                     stack.State
	BytesAcked, BytesReceived uint64
}

type trackedConn struct {
	c *stack.Conn
	s *series
}

type series struct {
	local, remote netip.AddrPort
	samples       []Sample
}

// Recorder collects a run's events and samples. Its methods run in
// scheduler context (where OnEvent is called); it is not safe for
// concurrent use.
type Recorder struct {
	opt      Options
	an       *flows.Analyzer
	ownAn    bool
	pkts     []pkt
	flows    []*flowState
	byKey    map[key12]flowDir
	pending  map[pendingKey]int32
	ends     map[pendingKey]string // link end → node name (seq unused)
	dec      segment.Packet
	others   int // packets of flows beyond MaxFlows
	extra    int // flows beyond MaxFlows
	next     time.Duration
	scanned  int           // connections of Conns() already looked at
	tracked  []trackedConn // connections of detailed flows
	retry    []*stack.Conn // connections not matched to a flow yet
	lastTime time.Duration
	evn      uint32 // events recorded (the ordinal of the last one)
	stopped  bool
	calls    []Call             // recorded by Call
	other    map[int32]datagram // packets that are not TCP, by index into pkts (datagram.go)
	dgrams   int                // how many of them are recorded
	// Datagrams not recorded (datagram.go): sent before or after the
	// ladder's window, or within it after LadderMax others.
	dgramsBefore, dgramsAfter, dgramsLeft int
	inData                                map[pendingKey]dataRef // data packets on a link, of every flow (for goodput)
	lastDel                               lastDelivery           // the previous event, when it was a delivery
	rates                                 []*rateState
	rateRes                               time.Duration // the width of a rate bin
	links                                 *Series       // Options.Links sampled (links.go), or nil
	shared                                *Series       // UseSeries (links.go), or nil
}

// dataRef is a data packet on its way, for the goodput of its flow.
type dataRef struct {
	a       int32 // index into Recorder.rates
	d       uint8
	corrupt bool // a fault flipped a bit of it, here or on an earlier hop
	seq     segment.Seq
	n       uint32
}

// lastDelivery is the delivery that the previous event was: a router
// forwards a packet as it is delivered, so the next event, a Sent by that
// node, is its next hop.
type lastDelivery struct {
	ok      bool
	node    string
	pkt     int32 // index into Recorder.pkts, -1 for a flow not detailed
	corrupt bool
}

// Call records a socket call for the ladder, as Meta.Calls does. Calls
// after the last drawn packet are not drawn.
func (r *Recorder) Call(c Call) { r.calls = append(r.calls, c) }

// New returns a Recorder.
func New(o Options) *Recorder {
	if o.LadderMax <= 0 {
		o.LadderMax = DefaultLadderMax
	}
	if o.MaxFlows <= 0 {
		o.MaxFlows = DefaultMaxFlows
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = DefaultSampleEvery
	}
	r := &Recorder{opt: o, an: o.Flows, byKey: map[key12]flowDir{}, pending: map[pendingKey]int32{},
		ends: map[pendingKey]string{}, inData: map[pendingKey]dataRef{}, other: map[int32]datagram{}}
	if r.an == nil {
		r.an, r.ownAn = flows.New(), true
	}
	r.rateRes = o.SampleEvery
	return r
}

// Stop makes the Recorder ignore further events (the world is being torn
// down).
func (r *Recorder) Stop() { r.stopped = true }

// Event records one event; it has the signature of sim.Config.OnEvent.
func (r *Recorder) Event(e *sim.Event) {
	if r.stopped {
		return
	}
	if e.Verdict == sim.Queued {
		if i, ok := r.pending[pendingKey{e.Link, e.End, e.PktSeq}]; ok {
			r.pkts[i].wait = e.Wait
		}
		return
	}
	if r.ownAn {
		r.an.Event(e)
	}
	r.lastTime = max(r.lastTime, e.Time)
	r.evn++
	prev := r.lastDel
	r.lastDel = lastDelivery{}
	r.linkEvent(e)
	if r.opt.Conns != nil && r.shared == nil && e.Time >= r.next {
		r.Sample(e.Time)
		r.next = (e.Time/r.opt.SampleEvery + 1) * r.opt.SampleEvery
	}
	switch e.Verdict {
	case sim.Sent:
		r.ends[pendingKey{e.Link, e.End, 0}] = e.Node
		r.sent(e, &prev)
	case sim.Corrupted:
		k := pendingKey{e.Link, e.End, e.PktSeq}
		if dr, ok := r.inData[k]; ok {
			dr.corrupt = true
			r.inData[k] = dr
		}
	case sim.Delivered, sim.Dropped:
		end := e.End
		if e.Verdict == sim.Delivered {
			r.ends[pendingKey{e.Link, e.End, 0}] = e.Node
			end ^= 1 // the event is at the receiving end
		}
		k := pendingKey{e.Link, end, e.PktSeq}
		r.lastDel = lastDelivery{ok: e.Verdict == sim.Delivered, node: e.Node, pkt: -1}
		if dr, ok := r.inData[k]; ok {
			delete(r.inData, k)
			r.lastDel.corrupt = dr.corrupt
			if rs := r.rates[dr.a]; e.Verdict == sim.Delivered && !dr.corrupt && (rs.node[dr.d^1] == e.Node || rs.node[dr.d^1] == "") {
				r.delivered(rs, int(dr.d), dr.seq, dr.n, e.Time)
			}
		}
		i, ok := r.pending[k]
		if !ok {
			return
		}
		r.lastDel.pkt = i
		delete(r.pending, k)
		p := &r.pkts[i]
		p.endAt, p.endN = e.Time, r.evn
		if e.Verdict == sim.Delivered {
			p.arrived, p.to = true, e.Node
		} else {
			p.drop = e.Reason
			if p.drop == "" {
				p.drop = "dropped"
			}
		}
	}
}

func (r *Recorder) sent(e *sim.Event, prev *lastDelivery) {
	if r.dec.Decode(e.Data, false) != nil {
		r.sentDatagram(e)
		return
	}
	p := &r.dec
	th := &p.TCP
	var k key12
	src, dst := p.IP.Src.As4(), p.IP.Dst.As4()
	copy(k[0:4], src[:])
	copy(k[4:8], dst[:])
	k[8], k[9], k[10], k[11] = byte(th.SrcPort>>8), byte(th.SrcPort), byte(th.DstPort>>8), byte(th.DstPort)
	isSYN := th.Flags&(segment.FlagSYN|segment.FlagACK) == segment.FlagSYN
	fd, ok := r.byKey[k]
	if ok && isSYN && fd.f >= 0 {
		// A SYN with another ISN on a known 4-tuple opens a new flow.
		f := r.flows[fd.f]
		if f.isnSet[fd.d] && f.isn[fd.d] != th.Seq {
			ok = false
		}
	}
	if !ok {
		if !isSYN {
			return
		}
		idx := int32(-1)
		if len(r.flows) < r.opt.MaxFlows {
			idx = int32(len(r.flows))
			r.flows = append(r.flows, &flowState{
				client: netip.AddrPortFrom(p.IP.Src, th.SrcPort),
				server: netip.AddrPortFrom(p.IP.Dst, th.DstPort),
				wscale: [2]int{-1, -1},
				rate:   int32(len(r.rates)),
			})
		} else {
			r.extra++
		}
		fd = flowDir{idx, 0, int32(len(r.rates))}
		r.rates = append(r.rates, &rateState{start: e.Time, first: int64(e.Time / r.rateRes)})
		r.byKey[k] = fd
		var rk key12
		copy(rk[0:4], k[4:8])
		copy(rk[4:8], k[0:4])
		copy(rk[8:10], k[10:12])
		copy(rk[10:12], k[8:10])
		r.byKey[rk] = flowDir{idx, 1, fd.a}
	}
	rs := r.rates[fd.a]
	d := int(fd.d)
	n := len(p.Payload)
	// A packet sent by another node than the one that sent its
	// direction's first packet is a router forwarding it.
	hop := false
	if rs.node[d] == "" {
		rs.node[d] = e.Node
	} else {
		hop = rs.node[d] != e.Node
	}
	fromPrev := hop && prev.ok && prev.node == e.Node
	if n > 0 {
		r.inData[pendingKey{e.Link, e.End, e.PktSeq}] = dataRef{a: fd.a, d: fd.d, seq: th.Seq, n: uint32(n), corrupt: fromPrev && prev.corrupt}
	}
	if !hop {
		if th.Flags&segment.FlagACK != 0 && th.Flags&segment.FlagRST == 0 {
			// A SYN-ACK's acknowledgment (of the SYN) is where counting starts.
			r.acked(rs, d, th.Ack, e.Time, th.Flags&segment.FlagSYN != 0)
		}
		if n > 0 {
			r.count(rs, &rs.sent, e.Time, int64(n))
		}
		if th.Flags&segment.FlagSYN != 0 && !rs.rcv[d].set {
			rs.rcv[d] = reasm{nxt: th.Seq.Add(1), set: true}
		}
	}
	if fd.f < 0 {
		r.others++
		return
	}
	f := r.flows[fd.f]
	q := pkt{flow: fd.f, dir: fd.d, flags: th.Flags, from: e.Node, link: e.Link, end: uint8(e.End), sentAt: e.Time, sentN: r.evn, n: int32(n)}
	if hop {
		r.forwarded(f, &q, th, e, prev, fromPrev)
		return
	}
	syn := th.Flags&segment.FlagSYN != 0
	if syn {
		if f.isnSet[d] {
			q.marks |= markRetrans
		} else {
			f.isn[d], f.isnSet[d], f.maxEnd[d] = th.Seq, true, th.Seq.Add(1)
			if th.Options.HasWindowScale {
				f.wscale[d] = int(th.Options.WindowScale)
			}
		}
	}
	rel := func(dir int, s segment.Seq) uint32 {
		if !f.isnSet[dir] {
			return uint32(s)
		}
		return s.Sub(f.isn[dir])
	}
	q.seq = rel(d, th.Seq)
	if th.Flags&segment.FlagACK != 0 {
		q.ack = rel(d^1, th.Ack)
	}
	q.win = uint32(th.Window)
	if !syn {
		q.win <<= f.shift(d)
	}
	if th.Options.HasMSS {
		q.mss = th.Options.MSS
	}
	if syn {
		if th.Options.HasWindowScale {
			q.synOpts = th.Options.WindowScale&0x1f + 1
		}
		if th.Options.SACKPermitted {
			q.synOpts |= 1 << 5
		}
		if th.Options.HasTimestamps {
			q.synOpts |= 1 << 6
		}
	}
	o := &th.Options
	q.nsack = uint8(o.NumSACK)
	for i, s := range o.SACK[:o.NumSACK] {
		q.sack[i] = [2]uint32{rel(d^1, s.Left), rel(d^1, s.Right)}
	}
	fin := th.Flags&segment.FlagFIN != 0
	occupies := n > 0 || fin
	end := th.Seq.Add(uint32(n))
	if occupies && !syn && f.isnSet[d] {
		segEnd := end
		if fin {
			segEnd = segEnd.Add(1)
		}
		if th.Seq.LessThan(f.maxEnd[d]) {
			q.marks |= markRetrans
		}
		f.maxEnd[d] = f.maxEnd[d].Max(segEnd)
	}
	if th.Flags&segment.FlagACK != 0 && th.Flags&segment.FlagRST == 0 {
		same := f.ackSeen[d] && th.Ack == f.lastAck[d]
		switch {
		case th.Window == 0:
			q.marks |= markZeroWin
		case !occupies && !syn && same && th.Window == f.lastWin[d]:
			q.marks |= markDupAck
		case !occupies && !syn && same && th.Window > f.lastWin[d]:
			q.marks |= markWinUpdate
		}
		f.lastAck[d], f.lastWin[d], f.ackSeen[d] = th.Ack, th.Window, true
	}
	f.payload[d] += int64(n)
	i := int32(len(r.pkts))
	r.pkts = append(r.pkts, q)
	f.pkts = append(f.pkts, i)
	r.pending[pendingKey{e.Link, e.End, e.PktSeq}] = i
}

// forwarded records q, a router's Sent of a packet of flow f on the next
// link of its path: its label and marks are those of the packet as its
// sender sent it (found as the delivery just before, when fromPrev), and
// nothing of the flow's state changes.
func (r *Recorder) forwarded(f *flowState, q *pkt, th *segment.Header, e *sim.Event, prev *lastDelivery, fromPrev bool) {
	origin := int32(-1)
	if fromPrev && prev.pkt >= 0 {
		o := &r.pkts[prev.pkt]
		if o.flow == q.flow && o.dir == q.dir && o.n == q.n && o.flags == q.flags {
			origin = prev.pkt
			if o.marks&markHop != 0 && o.last > 0 {
				origin = o.last - 1
			}
		}
	}
	if origin >= 0 {
		o := r.pkts[origin]
		o.from, o.to, o.link, o.end, o.sentAt, o.sentN = q.from, "", q.link, q.end, q.sentAt, q.sentN
		o.wait, o.endAt, o.endN, o.arrived, o.drop = 0, 0, 0, false, ""
		o.marks |= markHop
		o.last = origin + 1
		*q = o
	} else {
		// Not found (a router's own packet would not be TCP): label it
		// from its header alone.
		d := int(q.dir)
		q.marks |= markHop
		if f.isnSet[d] {
			q.seq = th.Seq.Sub(f.isn[d])
		}
		if th.Flags&segment.FlagACK != 0 && f.isnSet[d^1] {
			q.ack = th.Ack.Sub(f.isn[d^1])
		}
		q.win = uint32(th.Window) << f.shift(d)
	}
	i := int32(len(r.pkts))
	r.pkts = append(r.pkts, *q)
	f.pkts = append(f.pkts, i)
	r.pending[pendingKey{e.Link, e.End, e.PktSeq}] = i
	if origin >= 0 {
		r.pkts[origin].last = i + 1
	}
}

// final is the record of packet i's last hop so far (i itself for a
// packet no router forwarded): where and when it arrived, or was dropped.
func (r *Recorder) final(i int32) *pkt {
	p := &r.pkts[i]
	if p.marks&markHop == 0 && p.last > 0 {
		return &r.pkts[p.last-1]
	}
	return p
}

// Sample records a snapshot of every connection Options.Conns returns that
// belongs to a flow the report details. Event calls it on its own; call it
// yourself to sample at other times.
func (r *Recorder) Sample(now time.Duration) {
	if r.opt.Conns == nil {
		return
	}
	cs := r.opt.Conns()
	if r.scanned > len(cs) {
		r.scanned = 0 // the list was replaced: start again
	}
	// New connections, and those seen before their flow's first SYN,
	// while some detailed flow may still be missing.
	pending := append(r.retry, cs[r.scanned:]...)
	r.scanned = len(cs)
	r.retry = r.retry[:0:0]
	for _, c := range pending {
		if s := r.attach(c); s != nil {
			r.tracked = append(r.tracked, trackedConn{c, s})
		} else if len(r.flows) < r.opt.MaxFlows {
			r.retry = append(r.retry, c)
		}
	}
	for _, tc := range r.tracked {
		c, s := tc.c, tc.s
		in := c.Info()
		if in.State == stack.StateClosed && len(s.samples) > 0 && s.samples[len(s.samples)-1].State == stack.StateClosed {
			continue
		}
		s.samples = append(s.samples, sampleOf(now, &in))
	}
}

// attach finds the flow of c by its 4-tuple; nil when it is not one the
// report details.
func (r *Recorder) attach(c *stack.Conn) *series {
	in := c.Info()
	for i := len(r.flows) - 1; i >= 0; i-- {
		f := r.flows[i]
		if (in.Local == f.client && in.Remote == f.server) || (in.Local == f.server && in.Remote == f.client) {
			s := &series{local: in.Local, remote: in.Remote}
			f.samples = append(f.samples, s)
			return s
		}
	}
	return nil
}

// Flows returns the analyzer's flows.
func (r *Recorder) Flows() []*flows.Flow { return r.an.Flows() }
