package stack

import (
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Conn is one TCP connection: its transmission control block (RFC 9293
// §3.3.1) and the application's end of it. Create one with Host.Connect or
// Listener.Accept. Its methods are not safe for concurrent use; call them
// from the driver's context.
type Conn struct {
	h     *Host
	id    uint64 // creation order; deterministic tie-breaker
	key   connKey
	ifIdx int // interface the route to the peer uses
	state State

	tcb
	tfo    tfoConn // TCP Fast Open (fastopen.go)
	synCnt int     // ConnectOptions.SYNRetries (TCP_SYNCNT); 0: TCPConfig's

	sndBuf ring  // bytes [sndBufStart, sndBufStart+sndBuf.n): unacknowledged and unsent data
	tos    uint8 // DSCP bits of our packets (SetTOS, ipopts.go)
	noDF   bool  // our packets go without DF (SetDontFragment)
	rcvBuf ring  // bytes [rcvNxt-rcvBuf.n, rcvNxt): in order, unread; out-of-order data beyond
	reasm  reassembly

	cc *newReno

	ccx  ccState   // the algorithm and what the API keeps (ccapi.go)
	pace paceState // pacing.go

	tm connTimers

	listener *Listener // set while a passive connection waits to be accepted
	accepted bool      // handed to the application (passive) or created by Connect (active)

	// Application side.
	notify    func(Event)
	events    Event // queued for notify
	queued    bool  // in host.pendC
	err       error // terminal error (refused, reset, timed out); nil otherwise
	rdClosed  bool  // Close called: the application reads no more
	wrClosed  bool  // CloseWrite or Close called: FIN queued after the data
	aborted   bool  // Abort or Close-with-unread-data called
	noDelay   bool  // Nagle off
	lowat     int   // TCP_NOTSENT_LOWAT (SetNotSentLowat); 0: the host's
	cork      bool  // TCP_CORK (SetCork): hold a partial segment at the tail
	corkPass  bool  // inside WriteMore (MSG_MORE): this write's own sending holds the tail
	tailMore  bool  // the last write was WriteMore: the data's end is no push point (no PSH)
	pushOnce  bool  // SetNoDelay(true) or uncorking: the next sends are not corked, until new data is written (Linux TCP_NAGLE_PUSH)
	noSpace   bool  // a Write was refused space since space was last handed back (Linux SOCK_NOSPACE; chrono.go)
	eofSignal bool  // EventReadable sent for the peer's FIN

	stats connStats
}

// tcb holds the connection's sequence-space and timing variables, named as
// in RFC 9293 §3.3.1, RFC 6298 and RFC 5681. Each carries its invariant.
type tcb struct {
	// Send sequence space.
	iss         segment.Seq // initial send sequence number (RFC 6528)
	sndUna      segment.Seq // oldest unacknowledged sequence number; iss ≤ sndUna ≤ sndNxt ≤ sndMax
	sndNxt      segment.Seq // next sequence number to transmit; pulled back to sndUna by an RTO (go-back-N)
	sndMax      segment.Seq // one past the highest sequence number ever sent: RFC 9293's SND.NXT for ACK acceptability
	sndWnd      uint32      // send window the peer advertised, already scaled
	sndWl1      segment.Seq // SEG.SEQ of the segment that last updated sndWnd
	sndWl2      segment.Seq // SEG.ACK of the segment that last updated sndWnd
	maxSndWnd   uint32      // largest sndWnd seen (sender SWS avoidance, RFC 9293 §3.8.6.2.1)
	sndWndShift uint8       // peer's window scale (RFC 7323); 0 without the option
	sndBufStart segment.Seq // sequence number of sndBuf's first byte; = sndUna once the SYN is acknowledged
	sndSmall    segment.Seq // end of the last less-than-MSS segment sent (Nagle, Minshall's variant)
	sndMSS      int         // effective send MSS: min(peer's MSS option or 536, path MTU − 40) (RFC 9293 §3.7.1)

	// Receive sequence space.
	irs         segment.Seq // initial receive sequence number (the peer's ISN)
	rcvNxt      segment.Seq // next sequence number expected; rcvNxt − irs − 1 bytes (and a FIN) received in order
	rcvAdv      segment.Seq // right edge of the window last advertised; never moves left (RFC 9293 §3.8.6: no shrinking)
	rcvWndShift uint8       // our window scale; 0 unless both SYNs carried the option
	rcvMSS      int         // MSS we advertised: interface MTU − 40, or less by TCP_MAXSEG
	userMSS     int         // TCP_MAXSEG (ConnectOptions.MaxSegment, Listener.SetMaxSegment); 0: none
	rcvSegMax   int         // largest payload received, for "full-sized segment" (RFC 5681 §4.2)
	rcvUnacked  int         // bytes received in order since we last sent an ACK
	ackNow      bool        // an ACK must be sent without delay
	dupAckNow   bool        // a bare duplicate ACK must be sent (out-of-order arrival), even if data could carry the ACK
	rcvFin      bool        // the peer's FIN has been received in order (rcvNxt counts it)
	finSeqValid bool        // an out-of-order FIN is held at finSeq
	finSeq      segment.Seq

	// Our FIN: queued once wrClosed, at sequence number dataEnd().
	finAcked bool // our FIN has been acknowledged

	// Handshake options.
	wsOK       bool // both SYNs carried window scale (RFC 7323 §2.2)
	sackOK     bool // both SYNs carried SACK-permitted and SACK is configured (RFC 2018 §2)
	synRetries int  // SYN or SYN-ACK retransmissions so far

	// SACK (RFC 2018, sack.go).
	lastOOO segment.Seq // start of the most recent out-of-order segment: its block is reported first (§4)
	sacked  reassembly  // scoreboard: ranges in (sndUna, sndMax] the peer has SACKed
	rtxNext segment.Seq // RFC 6675 HighRxt + 1: in SACK recovery, holes below it have been retransmitted

	// Round-trip time estimation (RFC 6298 §2).
	srtt      time.Duration // smoothed RTT; 0 before the first sample
	rttvar    time.Duration // RTT variation
	rto       time.Duration // current RTO before backoff; RTOMin ≤ rto ≤ RTOMax
	backoff   uint          // RTO doublings in force: the timer runs rto << backoff (RFC 6298 §5.5); cleared only by a valid RTT sample (Karn)
	rtxCount  uint          // RTO expiries since SND.UNA last advanced: the DataRetries (R2) count
	rttTiming bool          // a sample is being taken on rttSeq (one per RTT, Karn's rule)
	rttSeq    segment.Seq   // sample completes when SEG.ACK > rttSeq
	rttStart  time.Duration // when the timed segment was sent

	// Congestion control (RFC 5681 §3.1). Updated by cc.
	cwnd        uint32      // congestion window in bytes; ≥ sndMSS
	ssthresh    uint32      // slow-start threshold in bytes
	dupAcks     int         // consecutive duplicate ACKs (RFC 5681 §2)
	recover     segment.Seq // RFC 6582 "recover": sndMax when loss recovery last started
	prevHighAck segment.Seq // sndUna before the last cumulative ACK advanced it (RFC 6582 §4.1 "prev_highest_ack")

	persistBackoff uint          // zero-window probes sent without the window opening
	probesOut      uint          // zero-window probes sent since an acceptable ACK last arrived
	txDropped      bool          // the host's own queue refused the last segment tried (localdrop.go)
	txDropEntry    uint64        // the host entry (Host.entries) in which it did
	probeStart     time.Duration // the first probe of a local-drop episode, 0 if none (localdrop.go)
	lastAckAt      time.Duration // when an acceptable ACK last arrived
	lastDataAt     time.Duration // when a segment carrying data was last sent (RFC 5681 §4.1 idle restart)
	forceSend      bool          // the SWS override timer fired: send a small segment now
	pushForced     bool          // the segment sendOne is sending was forced out by the persist timer: PSH
	burst          burstState    // the burst of new data being sent, for PSH (push.go)
	finAlone       bool          // our FIN went out in a segment of its own, all data sent before (tlp.go)

	// Issue 10 item 1: when this connection last sent an ACK in answer to
	// an unacceptable segment (ratelimit.go).
	invalidAckAt  time.Duration
	invalidAckSet bool

	// Quick-ACK mode (quickack.go).
	qa quickAckState

	// ECN (ecn.go).
	ecn ecnState

	// Whether the sender uses cwnd (cwndlimit.go).
	cwu cwndUse

	// RACK loss detection (rack.go) and the tail loss probe (tlp.go).
	rack rackState
	tlp  tlpState

	// Keep-alives and the user timeout (keepalive.go).
	ka            keepAliveState
	establishedAt time.Duration // when the handshake completed

	// RFC 7323 timestamps (issue 10, item 2; timestamps.go).
	tsOK        bool          // both SYNs carried TSopt (the RFC's Snd.TS.OK): every segment we send carries it
	tsOffset    uint32        // added to the millisecond clock to make our TSval (per address pair, keyed hash)
	tsFirst     uint32        // TSval when the connection was created: an echo below it is not ours
	tsEchoMin   uint32        // lowest TSecr that may give an RTT sample: our TSval at the last retransmission
	tsRecent    uint32        // TS.Recent: the TSval we echo in TSecr (§4.3)
	tsRecentAt  time.Duration // when TS.Recent was last set; older than 24 days it is invalid (§5.5)
	tsRecentOK  bool          // TS.Recent holds a value
	lastAckSent segment.Seq   // Last.ACK.sent: the ACK field of the last segment we sent (§4.3)
	tsRTTSeq    segment.Seq   // a TSecr RTT sample needs SEG.ACK beyond it: at most one per round trip

	// Orphans (issue 10 item 4, orphan.go).
	orphan bool // closed by the application, not yet fully closed: counted in Host.orphans

	// Host memory (issue 10 item 6, memory.go).
	memBlocked bool // in Host.mem.blocked: a write was cut short for memory

	// Issue 11, loss recovery (sack.go, rfc6675.go).
	sackSent  [segment.MaxSACKBlocks]seqRange // blocks on the last segment sent, first block first (RFC 2018 §4); valid while out-of-order data is held
	nSackSent int
	rescueRxt segment.Seq // RFC 6675 RescueRxt: a rescue retransmission is allowed once SND.UNA passes it

	// PRR (RFC 6937, prr.go), valid during a SACK recovery.
	prrRecoverFS uint32 // SND.NXT − SND.UNA when the recovery started
	prrDelivered uint64 // bytes delivered to the peer during the recovery
	prrOut       uint64 // bytes sent during the recovery

	// D-SACK (RFC 2883, dsack.go): a duplicate to report in the next SACK option.
	dsack      seqRange
	dsackValid bool

	// Record ends (MSG_EOR, record.go): ascending, above SND.UNA once pruned.
	eorMarks []segment.Seq

	// Where the last chunk of written data starts (Linux's skb of sizeGoal
	// bytes; the not-sent low-water mark is checked per chunk, socket.go).
	chunkStart segment.Seq

	// Busy, receive-window-limited and send-buffer-limited time (chrono.go).
	chrono chronoState

	// When in-order data last arrived (tcpi_last_data_recv).
	dataRecvAt time.Duration

	// The reordering degree (reorder.go).
	reorder reorderState
	// Spurious retransmissions: undo (undo.go) and F-RTO (frto.go).
	undo undoState
	frto frtoState
}

// connStats are the per-connection counts reported by Info.
type connStats struct {
	segsOut, segsIn      uint64
	bytesOut, bytesIn    uint64 // payload bytes sent (retransmissions included) and received in order
	bytesAcked           uint64
	retrans, fastRetrans uint64
	timeouts             uint64
	dupAcksIn            uint64
	oooSegsIn            uint64
}

// dataEnd is one past the last byte the application has written.
func (c *Conn) dataEnd() segment.Seq { return c.sndBufStart.Add(uint32(c.sndBuf.n)) }

// finSent reports whether our FIN has been transmitted.
func (c *Conn) finSent() bool { return c.wrClosed && c.sndMax.GreaterThan(c.dataEnd()) }

// flightSize is RFC 5681's FlightSize: data sent but not yet acknowledged.
func (c *Conn) flightSize() uint32 { return c.sndMax.Sub(c.sndUna) }

// rcvWnd is the free receive buffer: what we could advertise now.
func (c *Conn) rcvWnd() uint32 { return uint32(c.rcvBuf.limit - c.rcvBuf.n) }

// advertisedRemaining is what is left of the last advertised window.
func (c *Conn) advertisedRemaining() uint32 {
	if c.rcvAdv.LessThanEq(c.rcvNxt) {
		return 0
	}
	return c.rcvAdv.Sub(c.rcvNxt)
}

func (c *Conn) ackPending() bool { return c.ackNow || c.rcvUnacked > 0 }
