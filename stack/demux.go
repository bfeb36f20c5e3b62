package stack

import (
	"net/netip"

	"github.com/tcpsim/tcpsim/segment"
)

// demux finds the owner of an arriving segment: the connection with
// exactly this 4-tuple, else a listener on the destination port, else
// nobody (RFC 9293 §3.10.7.1: CLOSED, answered with a RST).
func (h *Host) demux(ifIndex int, src, dst netip.Addr, th *segment.Header, payload []byte) {
	key := connKey{local: netip.AddrPortFrom(dst, th.DstPort), remote: netip.AddrPortFrom(src, th.SrcPort)}
	c := h.lastConn
	if c == nil || c.key != key {
		c = h.conns[key]
		if c != nil {
			h.lastConn = c
		}
	}
	var tw *Conn
	if c != nil {
		if c.state == StateTimeWait && c.timeWaitReusable(th) {
			// RFC 1122 §4.2.2.13 and RFC 6191 §2 (without timestamps): a
			// new SYN whose sequence number lies beyond the old
			// connection's may end TIME_WAIT and open a new incarnation.
			// The listener ends it only if it really creates the new
			// connection (Listener.input).
			tw = c
		} else {
			c.input(th, payload)
			return
		}
	}
	if l := h.findListener(dst, th.DstPort); l != nil {
		l.input(src, dst, th, payload, tw)
		return
	}
	h.counters.TCPNoSocket++
	// "If the state is CLOSED ... An incoming segment containing a RST is
	// discarded. An incoming segment not containing a RST causes a RST to
	// be sent in response."
	if th.Flags&segment.FlagRST != 0 {
		return
	}
	h.sendResetFor(key, th, len(payload))
}

// timeWaitReusable reports whether a segment arriving in TIME_WAIT is a
// new SYN that may reopen the 4-tuple.
func (c *Conn) timeWaitReusable(th *segment.Header) bool {
	return th.Flags&(segment.FlagSYN|segment.FlagACK|segment.FlagRST) == segment.FlagSYN &&
		th.Seq.GreaterThan(c.rcvNxt) &&
		c.h.findListener(c.key.local.Addr(), c.key.local.Port()) != nil
}

// sendResetFor answers seg (which arrived for key and carried payloadLen
// bytes) with a RST, following RFC 9293 §3.10.7.1:
//
//	if the ACK bit is off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
//	if the ACK bit is on:  <SEQ=SEG.ACK><CTL=RST>
func (h *Host) sendResetFor(key connKey, seg *segment.Header, payloadLen int) {
	var th segment.Header
	if seg.Flags&segment.FlagACK != 0 {
		th.Seq = seg.Ack
		th.Flags = segment.FlagRST
	} else {
		n := uint32(payloadLen)
		if seg.Flags&segment.FlagSYN != 0 {
			n++
		}
		if seg.Flags&segment.FlagFIN != 0 {
			n++
		}
		th.Ack = seg.Seq.Add(n)
		th.Flags = segment.FlagRST | segment.FlagACK
	}
	h.counters.TCPRstSent++
	h.emit(-1, &key, &th, nil, nil)
}
