package stack

import (
	"net/netip"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// ConnInfo is a snapshot of one connection, in the spirit of Linux's
// TCP_INFO (struct tcp_info). Byte counts are payload bytes.
type ConnInfo struct {
	State         State
	Local, Remote netip.AddrPort

	ISS, IRS               segment.Seq
	SndUna, SndNxt, SndMax segment.Seq
	RcvNxt                 segment.Seq

	SndMSS, RcvMSS           int     // effective send MSS; MSS we advertised
	SndWndScale, RcvWndScale uint8   // window scale shifts in use (0 without the option)
	SndWnd                   uint32  // peer's advertised window (scaled)
	RcvWnd                   uint32  // window we last advertised, remaining
	Cwnd, Ssthresh           uint32  // congestion window and slow-start threshold, bytes
	BytesInFlight            uint32  // sent, not yet acknowledged (RFC 5681 FlightSize)
	CongestionControl        string  // algorithm, as TCPConfig.CongestionControl names it
	InRecovery               bool    // fast recovery in progress
	CAState                  CAState // Linux's tcp_ca_state: Open, Disorder, CWR, Recovery, Loss (castate.go)
	SACK                     bool    // selective acknowledgments in use (RFC 2018)

	SRTT, RTTVar, RTO time.Duration // RFC 6298 estimator; RTO before backoff
	Backoff           uint          // RTO doublings in force (RFC 6298 §5.5); a valid RTT sample clears them

	SegsSent, SegsReceived     uint64
	BytesSent                  uint64 // payload bytes sent, retransmissions included
	BytesAcked                 uint64 // payload bytes acknowledged by the peer
	BytesReceived              uint64 // payload bytes received in order
	Retransmits                uint64 // segments retransmitted (SYNs included)
	FastRetransmits            uint64 // of which by fast retransmit / partial ACK
	Timeouts                   uint64 // retransmission timer expiries
	DupAcksReceived            uint64
	OutOfOrderSegsReceived     uint64 // segments that arrived out of order
	OutOfOrderBlocks           int    // gaps' worth of data held now
	OutOfOrderBytes            int    // bytes held out of order now
	SendBuffered, RecvBuffered int    // bytes in the send buffer (unacked+unsent) and readable

	// RFC 7323 timestamps (issue 10, item 2).
	Timestamps bool   // both SYNs carried the timestamps option: PAWS and TSecr RTT samples in use
	TSRecent   uint32 // TS.Recent, the peer's timestamp we echo (0 without timestamps)

	// Issue 11: more of Linux's tcp_info, with its meanings.
	Probes        int           // tcpi_probes: zero-window and keep-alive probes sent and not answered yet
	LastDataSent  time.Duration // tcpi_last_data_sent: since a segment carrying data was last sent (0: none yet)
	LastDataRecv  time.Duration // tcpi_last_data_recv: since in-order data last arrived, or since the handshake completed
	LastAckRecv   time.Duration // tcpi_last_ack_recv: since an acceptable ACK last arrived, or since the handshake completed
	BusyTime      time.Duration // tcpi_busy_time: time with data queued (including the two limited times below; chrono.go)
	RwndLimited   time.Duration // tcpi_rwnd_limited: of it, time the peer's receive window held data back
	SndbufLimited time.Duration // tcpi_sndbuf_limited: of it, time the sender waited on its own send buffer
	NotSent       int           // bytes written but never sent (Linux's tcpi_notsent_bytes)
	Sacked        int           // tcpi_sacked: segments above SND.UNA the peer has SACKed
	Lost          int           // tcpi_lost: segments deemed lost (RACK, or RFC 6675's IsLost) and not delivered since, resent or not
	Retrans       int           // tcpi_retrans: segments retransmitted and neither delivered nor deemed lost again since
	Reordering    int           // tcpi_reordering: the reordering degree measured, in segments (3 until more is seen; RACK only, reorder.go)
	ReorderSeen   int           // tcpi_reord_seen: reordering events seen
}

// Info returns a snapshot of the connection's state and counters.
func (c *Conn) Info() ConnInfo {
	now := c.h.env.Now()
	since := func(t time.Duration) time.Duration {
		if !c.state.synchronized() && c.state != StateClosed {
			return 0 // no handshake completed yet
		}
		return now - max(t, c.establishedAt)
	}
	busy, rwnd, sndbuf := c.chronoTimes()
	sacked, lost, retrans := c.scoreboardCounts()
	var lastSent time.Duration
	if c.lastDataAt > 0 {
		lastSent = now - c.lastDataAt
	}
	return ConnInfo{
		Probes:                 int(c.probesOut) + c.ka.sent,
		LastDataSent:           lastSent,
		LastDataRecv:           since(c.dataRecvAt),
		LastAckRecv:            since(c.lastAckAt),
		BusyTime:               busy,
		RwndLimited:            rwnd,
		SndbufLimited:          sndbuf,
		NotSent:                c.notSent(),
		Sacked:                 sacked,
		Lost:                   lost,
		Retrans:                retrans,
		Reordering:             c.reorderDegree(),
		ReorderSeen:            c.reorder.seen,
		State:                  c.state,
		Local:                  c.key.local,
		Remote:                 c.key.remote,
		ISS:                    c.iss,
		IRS:                    c.irs,
		SndUna:                 c.sndUna,
		SndNxt:                 c.sndNxt,
		SndMax:                 c.sndMax,
		RcvNxt:                 c.rcvNxt,
		SndMSS:                 c.sndMSS,
		RcvMSS:                 c.rcvMSS,
		SndWndScale:            c.sndWndShift,
		RcvWndScale:            c.rcvWndShift,
		SndWnd:                 c.sndWnd,
		RcvWnd:                 c.advertisedRemaining(),
		Cwnd:                   c.cwnd,
		Ssthresh:               c.ssthresh,
		BytesInFlight:          c.flightSize(),
		CongestionControl:      c.cc.name(),
		InRecovery:             c.cc.inRecovery(),
		CAState:                c.caState(),
		SACK:                   c.sackOK,
		SRTT:                   c.srtt,
		RTTVar:                 c.rttvar,
		RTO:                    c.rto,
		Backoff:                c.backoff,
		SegsSent:               c.stats.segsOut,
		SegsReceived:           c.stats.segsIn,
		BytesSent:              c.stats.bytesOut,
		BytesAcked:             c.stats.bytesAcked,
		BytesReceived:          c.stats.bytesIn,
		Retransmits:            c.stats.retrans,
		FastRetransmits:        c.stats.fastRetrans,
		Timeouts:               c.stats.timeouts,
		DupAcksReceived:        c.stats.dupAcksIn,
		OutOfOrderSegsReceived: c.stats.oooSegsIn,
		OutOfOrderBlocks:       len(c.reasm.blocks),
		OutOfOrderBytes:        c.reasm.bytes,
		SendBuffered:           c.sndBuf.n,
		RecvBuffered:           c.rcvBuf.n,
		Timestamps:             c.tsOK,
		TSRecent:               c.tsRecent,
	}
}

// scoreboardCounts counts SACKed, lost and retransmitted segments as
// Linux's sacked_out, lost_out and retrans_out do. Under RACK the transmit
// record has the segments as sent; without it, byte ranges are counted in
// segments of SMSS.
func (c *Conn) scoreboardCounts() (sacked, lost, retrans int) {
	if !c.sackOK {
		return 0, 0, 0
	}
	if c.rackOn() {
		for _, s := range c.rack.segs {
			switch {
			case s.sacked:
				sacked++
			case s.marked:
				lost++
				if s.retrans && !s.lost {
					retrans++
				}
			case s.retrans:
				retrans++
			}
		}
		return sacked, lost, retrans
	}
	mss := uint32(max(c.sndMSS, 1))
	segs := func(n uint32) int { return int((n + mss - 1) / mss) }
	for _, b := range c.sacked.blocks {
		sacked += segs(b.end.Sub(b.start))
	}
	if c.cc.inRecovery() {
		// RFC 6675 IsLost: the holes below the loss boundary.
		// Retransmitted: the hole bytes below HighRxt + 1 (rtxNext).
		bound, s := c.lossBoundary(), c.sndUna
		for _, b := range c.sacked.blocks {
			if !b.start.LessThanEq(bound) {
				break
			}
			if b.start.GreaterThan(s) {
				lost += segs(b.start.Sub(s))
				if rx := c.rtxNext.Min(b.start); rx.GreaterThan(s) {
					retrans += segs(rx.Sub(s))
				}
			}
			s = s.Max(b.end)
		}
	}
	return sacked, lost, retrans
}
