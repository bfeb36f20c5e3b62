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
	CongestionControl        string  // window algorithm, "newreno" or "cubic" (TCPConfig.CongestionControl)
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
}

// Info returns a snapshot of the connection's state and counters.
func (c *Conn) Info() ConnInfo {
	return ConnInfo{
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
