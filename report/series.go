package report

import (
	"net/netip"
	"time"

	"github.com/tcpsim/tcpsim/flows"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// A Series samples a run at a fixed period of virtual time: per connection
// its congestion window, slow-start threshold, bytes in flight, SRTT, RTO,
// retransmissions and the bytes the peer acknowledged in the interval (the
// delivery rate), and per link direction its queue (packets and bytes) and
// what it sent, dropped and marked CE in the interval. The CLI's --series
// and -i lines, tcpsim run and the HTML report read the same samples.
//
// Like the Recorder, a Series only reads: feed it every event
// (sim.Config.OnEvent, or from a hook that also feeds other readers) and it
// takes the samples of each period boundary at the first event at or after
// it, with the boundary's time. It schedules nothing, so a run with a
// Series sends exactly the packets of a run without. Call Finish with the
// world's time when the run ends. Its methods run in scheduler context; it
// is not safe for concurrent use.
type Series struct {
	opt      SeriesOptions
	next     time.Duration // the next boundary to sample
	scanned  int           // connections of Conns() already looked at
	conns    []*ConnSeries
	open     []*ConnSeries // not closed yet
	links    []*LinkSeries
	nlinks   int // links of Links() already looked at
	flowSeen int // flows of the analyzer indexed in byTuple
	byTuple  map[[2]netip.AddrPort]*flows.Flow
	done     bool
}

// SeriesOptions configure a Series.
type SeriesOptions struct {
	// Every is the sampling period; zero means DefaultSampleEvery.
	Every time.Duration
	// Conns returns the connections to sample; the Series expects the list
	// only to grow (new connections appended). Nil: no connection series.
	Conns func() []*stack.Conn
	// Links returns the links to sample, as they are added. Nil: no link
	// series.
	Links func() []*sim.Link
	// Flows, when set, names each connection's flow (by its 4-tuple, the
	// latest flow of that 4-tuple when ports are reused).
	Flows *flows.Analyzer
}

// ConnSeries is the sampled history of one connection, from the first
// sample after it appeared in Conns to the first sample that found it
// CLOSED or in TIME_WAIT (where nothing more is sent or received).
type ConnSeries struct {
	Local, Remote netip.AddrPort
	// Flow is the connection's flow as package flows saw it, or nil.
	Flow   *flows.Flow
	Points []ConnPoint
	c      *stack.Conn
	acked  uint64 // BytesAcked at the previous point
}

// FlowIndex is the connection's flow number (Flow.Index), 0 when unknown.
func (cs *ConnSeries) FlowIndex() int {
	if cs.Flow == nil {
		return 0
	}
	return cs.Flow.Index
}

// Node is the name of the host of the connection's local end, when its
// flow is known.
func (cs *ConnSeries) Node() string {
	switch {
	case cs.Flow == nil:
		return ""
	case cs.Local == cs.Flow.Client:
		return cs.Flow.ClientNode
	}
	return cs.Flow.ServerNode
}

// ConnPoint is one sample of a connection: its state at At, and what
// happened in the Interval that ends at At.
type ConnPoint struct {
	Sample
	Interval time.Duration
	// Retrans counts the segments retransmitted since the connection
	// began (SYNs included).
	Retrans uint64
	// Delivered is the payload the peer acknowledged in the interval.
	Delivered uint64
}

// Rate is the delivery rate over the interval, in bits per second.
func (p *ConnPoint) Rate() float64 {
	if p.Interval <= 0 {
		return 0
	}
	return float64(p.Delivered) * 8 / p.Interval.Seconds()
}

// SsthreshSet reports whether the slow-start threshold is finite (it
// starts "arbitrarily high", RFC 5681, until the first congestion event).
func (p *ConnPoint) SsthreshSet() bool { return p.Ssthresh < 1<<30 }

// LinkSeries is the sampled history of one direction of a link: the
// packets that From sends into it toward To.
type LinkSeries struct {
	Link     string
	From, To string // node names of the sending and receiving ends
	End      int    // the sending end: 0 (A) or 1 (B)
	Points   []LinkPoint
	l        *sim.Link
	last     sim.DirStats
}

// LinkPoint is one sample of a link direction: the queue at At, and the
// counts of the Interval that ends at At.
type LinkPoint struct {
	At, Interval time.Duration
	// QueuePackets and QueueBytes wait for the transmitter at At.
	QueuePackets, QueueBytes int
	// Sent counts the packets handed to the link end in the interval,
	// SentBytes their bytes, Delivered those that arrived.
	Sent, SentBytes, Delivered uint64
	// Drops counts every drop in the interval (queue, faults, MTU,
	// other); DropsQueue those at the queue (overflow or the discipline's
	// control law).
	Drops, DropsQueue uint64
	// Marks counts the packets the queue marked CE instead of dropping.
	Marks uint64
}

// NewSeries returns a Series.
func NewSeries(o SeriesOptions) *Series {
	if o.Every <= 0 {
		o.Every = DefaultSampleEvery
	}
	return &Series{opt: o, next: o.Every, byTuple: map[[2]netip.AddrPort]*flows.Flow{}}
}

// Every is the sampling period.
func (s *Series) Every() time.Duration { return s.opt.Every }

// Event takes the samples of every boundary up to e.Time; it has the
// signature of sim.Config.OnEvent.
func (s *Series) Event(e *sim.Event) {
	if s.done || e.Time < s.next {
		return
	}
	for s.next <= e.Time {
		s.take(s.next, s.opt.Every)
		s.next += s.opt.Every
	}
}

// Finish takes the samples of the boundaries up to end, then one last
// sample at end for the part of an interval left, and stops the Series:
// later events are ignored. Call it once the world has stopped, with its
// time.
func (s *Series) Finish(end time.Duration) {
	if s.done {
		return
	}
	for s.next <= end {
		s.take(s.next, s.opt.Every)
		s.next += s.opt.Every
	}
	if last := s.next - s.opt.Every; end > last {
		s.take(end, end-last)
	}
	s.done = true
}

// Conns returns the connection series, in the order the connections
// appeared.
func (s *Series) Conns() []*ConnSeries { return s.conns }

// Links returns the link series: each link's A→B direction, then its B→A.
func (s *Series) Links() []*LinkSeries { return s.links }

// take records one sample of everything at time at, for the interval of
// length iv that ends there.
func (s *Series) take(at, iv time.Duration) {
	s.indexFlows()
	if s.opt.Conns != nil {
		cs := s.opt.Conns()
		if s.scanned > len(cs) {
			s.scanned = 0 // the list was replaced
		}
		for _, c := range cs[s.scanned:] {
			in := c.Info()
			x := &ConnSeries{Local: in.Local, Remote: in.Remote, c: c}
			s.conns = append(s.conns, x)
			s.open = append(s.open, x)
		}
		s.scanned = len(cs)
	}
	keep := s.open[:0]
	for _, x := range s.open {
		in := x.c.Info()
		if x.Flow == nil {
			x.Flow = s.flowOf(in.Local, in.Remote)
		}
		p := ConnPoint{Sample: sampleOf(at, &in), Interval: iv, Retrans: in.Retransmits}
		if in.BytesAcked > x.acked {
			p.Delivered = in.BytesAcked - x.acked
		}
		x.acked = in.BytesAcked
		x.Points = append(x.Points, p)
		if in.State != stack.StateClosed && in.State != stack.StateTimeWait {
			keep = append(keep, x)
		}
	}
	clear(s.open[len(keep):])
	s.open = keep
	if s.opt.Links != nil {
		ls := s.opt.Links()
		for _, l := range ls[min(s.nlinks, len(ls)):] {
			for from := range 2 {
				s.links = append(s.links, &LinkSeries{Link: l.Name(), From: l.End(from).NodeName(), To: l.End(from ^ 1).NodeName(), End: from, l: l})
			}
		}
		s.nlinks = len(ls)
	}
	for _, x := range s.links {
		st := x.l.Stats(x.End)
		drops := func(d sim.DirStats) uint64 { return d.DropQueue + d.DropMTU + d.DropFault + d.DropOther }
		x.Points = append(x.Points, LinkPoint{At: at, Interval: iv, QueuePackets: st.QueueLen, QueueBytes: st.QueueBytes,
			Sent: st.Sent - x.last.Sent, SentBytes: st.SentBytes - x.last.SentBytes, Delivered: st.Delivered - x.last.Delivered,
			Drops: drops(st) - drops(x.last), DropsQueue: st.DropQueue - x.last.DropQueue, Marks: st.ECNMarked - x.last.ECNMarked})
		x.last = st
	}
}

// indexFlows adds the analyzer's new flows to the 4-tuple index.
func (s *Series) indexFlows() {
	if s.opt.Flows == nil {
		return
	}
	fs := s.opt.Flows.Flows()
	for _, f := range fs[min(s.flowSeen, len(fs)):] {
		s.byTuple[[2]netip.AddrPort{f.Client, f.Server}] = f
	}
	s.flowSeen = len(fs)
}

func (s *Series) flowOf(local, remote netip.AddrPort) *flows.Flow {
	if f := s.byTuple[[2]netip.AddrPort{local, remote}]; f != nil {
		return f
	}
	return s.byTuple[[2]netip.AddrPort{remote, local}]
}

// sampleOf is one snapshot of a connection, as the Recorder and the Series
// keep it.
func sampleOf(at time.Duration, in *stack.ConnInfo) Sample {
	return Sample{At: at, Cwnd: in.Cwnd, Ssthresh: in.Ssthresh, InFlight: in.BytesInFlight,
		SRTT: in.SRTT, RTO: in.RTO, SndWnd: in.SndWnd, State: in.State, BytesAcked: in.BytesAcked, BytesReceived: in.BytesReceived}
}
