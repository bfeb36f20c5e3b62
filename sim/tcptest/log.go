package tcptest

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpsim/tcpsim/segment"
	"github.com/tcpsim/tcpsim/sim"
)

// LoggedPacket is one packet of a connection as a simulation's event log
// recorded it on one link: the packet as sent, and what became of it.
type LoggedPacket struct {
	// Sent is the "sent" event at the sending end of the link.
	Sent sim.Event
	// Packet is the decoded packet (as sent, before any corruption).
	Packet segment.Packet
	// Events holds every event of this packet on the link, in order:
	// sent, queued, delayed, corrupted, dropped, delivered.
	Events []sim.Event
	// Delivered is set when the packet reached the far end of the link, at
	// DeliveredAt.
	Delivered   bool
	DeliveredAt time.Duration
	// Dropped is set when the link or a fault discarded the packet;
	// DropReason is the log's reason ("loss", "queue", "mtu", a rule name).
	Dropped    bool
	DropReason string
	// Corrupted is set when a fault flipped a bit on the way.
	Corrupted bool
}

// Time is when the packet was sent.
func (lp *LoggedPacket) Time() time.Duration { return lp.Sent.Time }

// String is the packet's tcpdump line with its time and fate.
func (lp *LoggedPacket) String() string {
	s := fmtTime(lp.Sent.Time) + " " + lp.Packet.String()
	switch {
	case lp.Dropped:
		s += " [dropped: " + lp.DropReason + "]"
	case lp.Delivered:
		s += " [delivered " + fmtTime(lp.DeliveredAt) + "]"
	}
	return s
}

// Flow is one direction of one connection: the packets from Src to Dst.
type Flow struct {
	Src, Dst netip.AddrPort
}

// Reverse returns the opposite direction.
func (f Flow) Reverse() Flow { return Flow{Src: f.Dst, Dst: f.Src} }

// String prints "src > dst".
func (f Flow) String() string { return f.Src.String() + " > " + f.Dst.String() }

// ErrNoData is returned when the log holds no packet bytes: the world must
// be created with sim.Config{LogData: true}.
var ErrNoData = errors.New("tcptest: the event log keeps no packet bytes (create the world with sim.Config{LogData: true})")

// FlowPackets returns the packets of flow f, in the order they were sent,
// on one link: link when it is not empty, otherwise the link on which the
// flow's first packet was sent (normally the sender's own link, so that a
// packet crossing routers counts once).
func FlowPackets(log *sim.Log, f Flow, link string) ([]LoggedPacket, error) {
	if log == nil {
		return nil, errors.New("tcptest: nil event log (create the world with sim.Config{LogData: true})")
	}
	type key struct {
		link string
		from int
		seq  uint64
	}
	var out []LoggedPacket
	index := map[key]int{}
	evs := log.Events()
	sawData := false
	for i := range evs {
		e := &evs[i]
		if e.Data != nil {
			sawData = true
		}
		if link != "" && e.Link != link {
			continue
		}
		from := e.End
		if e.Dir == sim.In {
			from = 1 - e.End
		}
		k := key{e.Link, from, e.PktSeq}
		if e.Verdict == sim.Sent || e.Verdict == sim.Duplicated {
			if e.Data == nil {
				continue
			}
			var p segment.Packet
			if err := p.Decode(e.Data, false); err != nil {
				continue
			}
			if p.IP.Src != f.Src.Addr() || p.IP.Dst != f.Dst.Addr() ||
				p.TCP.SrcPort != f.Src.Port() || p.TCP.DstPort != f.Dst.Port() {
				continue
			}
			if link == "" {
				link = e.Link
			}
			if e.Link != link {
				continue
			}
			index[k] = len(out)
			out = append(out, LoggedPacket{Sent: *e, Packet: p, Events: []sim.Event{*e}})
			continue
		}
		j, ok := index[k]
		if !ok {
			continue
		}
		lp := &out[j]
		lp.Events = append(lp.Events, *e)
		switch e.Verdict {
		case sim.Dropped:
			lp.Dropped, lp.DropReason = true, e.Reason
		case sim.Delivered:
			lp.Delivered, lp.DeliveredAt = true, e.Time
		case sim.Corrupted:
			lp.Corrupted = true
		}
	}
	if !sawData && len(evs) > 0 {
		return nil, ErrNoData
	}
	return out, nil
}

// ConnLog is one connection in an event log: Out holds the packets from
// Client to Server, In those from Server to Client.
type ConnLog struct {
	Client, Server netip.AddrPort
	Out, In        []LoggedPacket
}

// Connection collects both directions of the connection between client
// and server, each on the link its sender used first.
func Connection(log *sim.Log, client, server netip.AddrPort) (*ConnLog, error) {
	out, err := FlowPackets(log, Flow{client, server}, "")
	if err != nil {
		return nil, err
	}
	in, err := FlowPackets(log, Flow{server, client}, "")
	if err != nil {
		return nil, err
	}
	if len(out) == 0 && len(in) == 0 {
		return nil, fmt.Errorf("tcptest: no packet between %v and %v in the log", client, server)
	}
	return &ConnLog{Client: client, Server: server, Out: out, In: in}, nil
}

// Handshake finds the three-way handshake (RFC 9293 §3.5): the client's
// first SYN, the server's SYN-ACK that acknowledges it, and the client's
// ACK of that SYN-ACK. Retransmitted copies are skipped; the packets
// returned are the first of each that was sent.
func (c *ConnLog) Handshake() (syn, synAck, ack *LoggedPacket, err error) {
	for i := range c.Out {
		if f := c.Out[i].Packet.TCP.Flags; f&segment.FlagSYN != 0 && f&segment.FlagACK == 0 {
			syn = &c.Out[i]
			break
		}
	}
	if syn == nil {
		return nil, nil, nil, fmt.Errorf("tcptest: %v sent no SYN to %v", c.Client, c.Server)
	}
	want := syn.Packet.TCP.Seq.Add(1)
	for i := range c.In {
		p := &c.In[i].Packet.TCP
		if p.Flags&(segment.FlagSYN|segment.FlagACK) == segment.FlagSYN|segment.FlagACK && p.Ack == want &&
			c.In[i].Sent.Time >= syn.Sent.Time {
			synAck = &c.In[i]
			break
		}
	}
	if synAck == nil {
		return syn, nil, nil, fmt.Errorf("tcptest: %v sent no SYN-ACK acknowledging %v's SYN", c.Server, c.Client)
	}
	want = synAck.Packet.TCP.Seq.Add(1)
	for i := range c.Out {
		p := &c.Out[i].Packet.TCP
		if p.Flags&segment.FlagSYN == 0 && p.Flags&segment.FlagACK != 0 && p.Ack == want &&
			c.Out[i].Sent.Time >= synAck.Sent.Time {
			ack = &c.Out[i]
			break
		}
	}
	if ack == nil {
		return syn, synAck, nil, fmt.Errorf("tcptest: %v never acknowledged %v's SYN-ACK", c.Client, c.Server)
	}
	return syn, synAck, ack, nil
}

// ISN returns the initial sequence numbers of both sides as known from
// their SYNs: client first. ok is false for a side that sent no SYN.
func (c *ConnLog) ISN() (client, server segment.Seq, clientOK, serverOK bool) {
	for i := range c.Out {
		if c.Out[i].Packet.TCP.Flags&segment.FlagSYN != 0 {
			client, clientOK = c.Out[i].Packet.TCP.Seq, true
			break
		}
	}
	for i := range c.In {
		if c.In[i].Packet.TCP.Flags&segment.FlagSYN != 0 {
			server, serverOK = c.In[i].Packet.TCP.Seq, true
			break
		}
	}
	return
}

// OutISN returns the ISN for matching the client's packets with relative
// fields (Matcher.CheckISN); InISN those of the server's.
func (c *ConnLog) OutISN() ISN {
	cl, sv, cok, sok := c.ISN()
	return ISN{Src: cl, SrcKnown: cok, Dst: sv, DstKnown: sok}
}

// InISN is OutISN for the server's packets.
func (c *ConnLog) InISN() ISN {
	cl, sv, cok, sok := c.ISN()
	return ISN{Src: sv, SrcKnown: sok, Dst: cl, DstKnown: cok}
}

// Retransmissions returns the packets that resent sequence space already
// sent earlier in the same list: a SYN, data or FIN that starts before the
// highest sequence number sent so far. Duplicates made by a fault are not
// retransmissions and are skipped.
func Retransmissions(pkts []LoggedPacket) []LoggedPacket {
	var out []LoggedPacket
	var maxEnd segment.Seq
	started := false
	for i := range pkts {
		lp := &pkts[i]
		if lp.Sent.Verdict == sim.Duplicated {
			continue
		}
		t := &lp.Packet.TCP
		n := uint32(len(lp.Packet.Payload))
		if t.Flags&segment.FlagSYN != 0 {
			n++
		}
		if t.Flags&segment.FlagFIN != 0 {
			n++
		}
		if n == 0 {
			continue
		}
		end := t.Seq.Add(n)
		if started && t.Seq.LessThan(maxEnd) {
			out = append(out, *lp)
		}
		if !started || end.GreaterThan(maxEnd) {
			maxEnd, started = end, true
		}
	}
	return out
}

// FirstPayload returns the first packet that carries data, and false when
// none does.
func FirstPayload(pkts []LoggedPacket) (*LoggedPacket, bool) {
	for i := range pkts {
		if len(pkts[i].Packet.Payload) > 0 {
			return &pkts[i], true
		}
	}
	return nil, false
}

// Drops returns the packets that were dropped, each with its DropReason.
func Drops(pkts []LoggedPacket) []LoggedPacket {
	var out []LoggedPacket
	for i := range pkts {
		if pkts[i].Dropped {
			out = append(out, pkts[i])
		}
	}
	return out
}

// Select returns the packets that m matches, counting relative fields from
// isn.
func Select(pkts []LoggedPacket, m *Matcher, isn ISN) []LoggedPacket {
	var out []LoggedPacket
	for i := range pkts {
		if m.CheckISN(&pkts[i].Packet, isn) == nil {
			out = append(out, pkts[i])
		}
	}
	return out
}
