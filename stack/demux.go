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
	if c != nil {
		if c.state == StateTimeWait && c.timeWaitReusable(th) {
			// RFC 1122 §4.2.2.13 and RFC 6191 §2 (without timestamps): a
			// new SYN whose sequence number lies beyond the old
			// connection's may end TIME_WAIT and open a new incarnation.
			h.counters.TCPTimeWaitReuse++
			// RFC 1122 §4.2.2.13 (1): the new incarnation's ISS must exceed
			// the old one's highest sequence number, so that none of our old
			// segments can fall in its window. Like Linux
			// (tcp_timewait_state_process) we take the old SND.NXT plus a
			// maximum unscaled window, 65535, plus 2.
			h.twISN, h.twISNSet = c.sndMax.Add(65535+2), true
			c.remove()
		} else {
			c.input(th, payload)
			return
		}
	}
	if l := h.findListener(dst, th.DstPort); l != nil {
		l.input(src, dst, th, payload)
		h.twISNSet = false // unused if the listener dropped the SYN
		return
	}
	h.twISNSet = false
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
	h.emit(-1, key.local, key.remote, &th, nil, nil)
}
