package flows

import (
	"strings"

	"github.com/tcpsim/tcpsim/segment"
)

// Marks is what Wireshark's expert info would say of a sent packet, judged
// from what the same direction of its flow sent before and what the other
// direction acknowledged.
type Marks uint8

const (
	// Retransmission: the packet carries data (or a SYN or FIN) below the
	// highest sequence number its direction has sent.
	Retransmission Marks = 1 << iota
	// FastRetransmission: a retransmission sent after three or more
	// duplicate ACKs from the other side.
	FastRetransmission
	// DupAck: a bare ACK with the same acknowledgment number and window as
	// the previous ACK of its direction, while the other side has data
	// outstanding.
	DupAck
	// WindowUpdate: a bare ACK with the same acknowledgment number as the
	// previous one and a larger window.
	WindowUpdate
	// ZeroWindow: the packet advertises a window of 0.
	ZeroWindow
)

var markNames = []string{"retransmission", "fast retransmission", "dup ack", "window update", "zero window"}

// String names the marks, comma-separated ("" for none).
func (m Marks) String() string {
	var out []string
	for i, n := range markNames {
		if m&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// Marks returns the marks of the packet of the last event passed to Event
// (zero unless that event was a Sent packet of a known flow).
func (a *Analyzer) Marks() Marks { return a.marks }

// expert judges a packet sent in direction d of f, before it is accounted.
func (a *Analyzer) expert(f *Flow, d int, p *hdr) Marks {
	ds, other := &f.Dir[d], &f.Dir[d^1]
	var m Marks
	fl := p.flags
	occupies := p.payload > 0 || fl&(segment.FlagSYN|segment.FlagFIN) != 0
	if occupies && ds.SYNSeen && fl&segment.FlagSYN == 0 && p.seq.LessThan(ds.MaxEnd) {
		m |= Retransmission
		if other.dupAcks >= 3 {
			m |= FastRetransmission
		}
	}
	if fl&segment.FlagACK == 0 || fl&segment.FlagRST != 0 {
		return m
	}
	if p.window == 0 {
		m |= ZeroWindow
	}
	bare := !occupies
	same := ds.lastAckSet && p.ack == ds.lastAck
	switch {
	case bare && same && p.window == ds.lastWin && p.window != 0 && other.SYNSeen && other.MaxEnd.GreaterThan(p.ack):
		m |= DupAck
		ds.dupAcks++
	case bare && same && p.window > ds.lastWin:
		m |= WindowUpdate
		ds.dupAcks = 0
	default:
		if !same {
			ds.dupAcks = 0
		}
	}
	ds.lastAck, ds.lastWin, ds.lastAckSet = p.ack, p.window, true
	return m
}
