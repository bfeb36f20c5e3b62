package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/flows"
	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// The CLI's analyzer is package flows' Analyzer, which keeps the flows the
// story, the summaries and the tables print, plus the -v packet lines.

// Flow and Direction are package flows' types.
type (
	Flow      = flows.Flow
	Direction = flows.Direction
)

// analyzer accounts every event and, with -v, prints it.
type analyzer struct {
	*flows.Analyzer
	verbose io.Writer
	anatomy bool    // -X
	ladder  *ladder // get --ladder, or nil
	pkt     segment.Packet
	line    []byte
	// absolute prints sequence numbers as on the wire (-S); otherwise
	// relative to each side's initial sequence number, as tcpdump does.
	absolute bool
	rel      segment.Packet // scratch: the packet with relative numbers
	// also, when set, sees every event the analyzer counts (get's
	// https watch of when the request left).
	also func(*sim.Event)
}

func newAnalyzer(verbose io.Writer) *analyzer {
	return &analyzer{Analyzer: flows.New(), verbose: verbose}
}

// event is the sim.Config.OnEvent hook.
func (a *analyzer) event(e *sim.Event) {
	if e.Verdict == sim.Queued || a.Stopped() {
		return
	}
	a.Analyzer.Event(e)
	if a.also != nil {
		a.also(e)
	}
	if a.ladder != nil {
		a.ladder.event(e)
	}
	if a.verbose != nil && e.Verdict != sim.Delivered {
		if a.pkt.Decode(e.Data, false) != nil {
			a.printRaw(e) // not TCP (DNS over UDP, ICMP), or a corrupted header
		} else {
			a.print(e, &a.pkt)
		}
		if a.anatomy && e.Verdict == sim.Sent {
			a.line = appendAnatomy(a.line[:0], e.Data)
			a.verbose.Write(a.line)
		}
	}
}

// acked is the payload acknowledged over every flow (the progress line).
func (a *analyzer) acked() int64 { return a.Acked() }

// print writes one event as a tcpdump-style line: virtual time, where, and
// the packet as tcpdump -n shows it (-nS with --absolute-seq; p nil: its
// length only), with the
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
	if len(who) >= 7 {
		b = append(b, ' ') // client12 of a star: still a column apart
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
	case sim.Marked:
		b = append(b, "MARKED CE ("...)
		b = append(b, e.Reason...)
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
		if !a.absolute {
			p = a.relative(p)
		}
		b = p.AppendString(b)
		if m := a.Marks(); m != 0 && e.Verdict == sim.Sent {
			b = append(b, " ["...)
			b = append(b, m.String()...)
			b = append(b, ']')
		}
	} else if o, ok := appendOther(b, e.Data); ok {
		b = o // UDP (DNS) or ICMP, dns.go
	} else {
		b = strconv.AppendInt(b, int64(e.Len), 10)
		b = append(b, " bytes, not decodable as IPv4+TCP"...)
	}
	b = append(b, '\n')
	a.line = b
	a.verbose.Write(b)
}

// relative returns p with the sequence and acknowledgment numbers, and the
// SACK blocks, relative to the initial sequence numbers of its flow, by
// tcpdump's rule: a segment with SYN set keeps the numbers on the wire
// (they are the initial ones), and a number is made relative once the
// SYN that set its origin has been seen.
func (a *analyzer) relative(p *segment.Packet) *segment.Packet {
	f, d := a.Current()
	if f == nil || p.TCP.Flags&segment.FlagSYN != 0 {
		return p
	}
	a.rel = *p
	q := &a.rel
	if own := &f.Dir[d]; own.SYNSeen {
		q.TCP.Seq = segment.Seq(uint32(q.TCP.Seq) - uint32(own.ISS))
	}
	if peer := &f.Dir[1-d]; peer.SYNSeen {
		base := uint32(peer.ISS)
		q.TCP.Ack = segment.Seq(uint32(q.TCP.Ack) - base)
		for i := range q.TCP.Options.SACKBlocks() {
			blk := &q.TCP.Options.SACK[i]
			blk.Left = segment.Seq(uint32(blk.Left) - base)
			blk.Right = segment.Seq(uint32(blk.Right) - base)
		}
	}
	return q
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
	hosts := append(n.clients[:len(n.clients):len(n.clients)], n.servers...)
	for _, h := range hosts {
		if d := hostDrops(h); d != "" {
			parts = append(parts, h.Name()+" "+d)
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "%shost drops   %s\n", indent, strings.Join(parts, "; "))
	}
}
