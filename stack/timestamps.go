package stack

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// RFC 7323 timestamps (TSopt): negotiation (§3.2), the TSval clock, the
// TSecr echo and TS.Recent (§4.3), PAWS (§5.3, §5.5) and RTT measurement
// from the echo (§4.1) feeding the RFC 6298 estimator in rto.go.
//
// Negotiation: our SYN offers TSopt unless TCPConfig.DisableTimestamps is
// set; a SYN-ACK carries it only in answer to a SYN that did. When both
// SYNs carried it (tsOK, the RFC's Snd.TS.OK) every segment we send carries
// TSval and TSecr, RSTs included (§3.2: SHOULD); a RST we send for a
// segment that matches no connection carries none, as in Linux.
//
// The clock: TSval is the virtual time in milliseconds plus an offset
// taken from a keyed hash of the address pair (the host's seeded secret),
// as Linux does (secure_tcp_ts_off): unpredictable across seeds, the same
// for every connection between two addresses, so successive incarnations
// see increasing values. One tick per millisecond is within §5.4's 1 ms to
// 1 s; the clock wraps its sign bit after 2^31 ms, about 24.8 days, hence
// §5.5's 24-day limit on the age of TS.Recent.

const (
	// tsOptLen is what TSopt costs each segment: 10 bytes and two NOPs
	// (Linux's TCPOLEN_TSTAMP_ALIGNED). With timestamps on, the send MSS
	// is that much smaller, so that a full segment still fits the MTU.
	tsOptLen = 12
	// tsTick is the period of the TSval clock.
	tsTick = time.Millisecond
	// pawsIdle is the age at which TS.Recent is no longer valid for PAWS
	// (RFC 7323 §5.5; Linux TCP_PAWS_24DAYS).
	pawsIdle = 24 * 24 * time.Hour
)

// tsOffsetFor is the offset added to the millisecond clock for TSvals sent
// from k's local address to its remote address: a SHA-256 of the host's
// RFC 6528 secret, a label that keeps it apart from the ISN hash, and the
// two addresses.
func (h *Host) tsOffsetFor(k connKey) uint32 {
	var buf [32 + 8 + 8]byte
	copy(buf[:], h.isnSecret[:])
	copy(buf[32:], "tsoffset")
	la, ra := k.local.Addr().As4(), k.remote.Addr().As4()
	copy(buf[40:], la[:])
	copy(buf[44:], ra[:])
	sum := sha256.Sum256(buf[:])
	return binary.BigEndian.Uint32(sum[:4])
}

// tsInit sets up the TSval clock of a new connection.
func (c *Conn) tsInit() {
	c.tsOffset = c.h.tsOffsetFor(c.key)
	c.tsFirst = c.tsNow()
	c.tsEchoMin = c.tsFirst
	c.tsRTTSeq = c.iss
}

// tsNow is the TSval we send now.
func (c *Conn) tsNow() uint32 {
	return uint32(c.h.env.Now()/tsTick) + c.tsOffset
}

// tsNegotiate applies the peer's SYN (or SYN-ACK): timestamps are in use
// when it carries TSopt and we have them on (for a SYN-ACK, our SYN offered
// them: a SYN-ACK carrying TSopt in answer to a SYN without it is ignored,
// §3.2). The SYN's TSval is the first TS.Recent (§4.3), and from now on the
// send MSS leaves room for the option on every segment.
func (c *Conn) tsNegotiate(o *segment.Options) {
	c.tsOK = o.HasTimestamps && !c.h.cfg.DisableTimestamps
	if !c.tsOK {
		return
	}
	c.tsRecent, c.tsRecentAt, c.tsRecentOK = o.TSVal, c.h.env.Now(), true
	c.sndMSS -= tsOptLen
}

// synTimestamps adds TSopt to our SYN (when offer) or SYN-ACK (when offer,
// which is tsOK there): TSecr is zero on a SYN, whose ACK bit is off
// (§3.2), and echoes the peer's SYN on a SYN-ACK.
func (c *Conn) synTimestamps(th *segment.Header, offer bool) {
	if th.Flags&segment.FlagACK != 0 {
		c.lastAckSent = th.Ack
	}
	if !offer {
		return
	}
	th.Options.HasTimestamps, th.Options.TSVal = true, c.tsNow()
	if th.Flags&segment.FlagACK != 0 {
		th.Options.TSEcr = c.tsRecent
	}
}

// stampTimestamps records Last.ACK.sent and, on a connection using
// timestamps, adds TSopt to a segment after the handshake. Every such
// segment has the ACK bit, so TSecr always echoes TS.Recent (§3.2, §4.3).
func (c *Conn) stampTimestamps(th *segment.Header) {
	if th.Flags&segment.FlagACK != 0 {
		c.lastAckSent = th.Ack
	}
	if c.tsOK {
		c.addTSopt(th)
	}
}

// addTSopt is stampTimestamps' option step, out of line so that
// stampTimestamps inlines.
func (c *Conn) addTSopt(th *segment.Header) {
	th.Options.HasTimestamps = true
	th.Options.TSVal, th.Options.TSEcr = c.tsNow(), c.tsRecent
}

// tsRecentValid reports whether TS.Recent may reject a segment: it holds a
// value set less than 24 days ago (§5.5: after a longer idle time the
// peer's clock may have wrapped its sign bit, and TS.Recent is invalidated).
func (c *Conn) tsRecentValid() bool {
	return c.tsRecentOK && c.h.env.Now()-c.tsRecentAt < pawsIdle
}

// pawsAccept is RFC 7323 §5.3 R1, applied before the window check (R2):
// a segment carrying TSopt with SEG.TSval < TS.Recent, while TS.Recent is
// valid, is an old duplicate. It is dropped, counted and answered with an
// ACK, which keeps half-open connection detection working (R1). A RST is
// exempt: PAWS never stops a RST (R1 "and the RST bit is not set"; Linux
// tcp_validate_incoming accepts it too), the window check still applies.
// A segment without TSopt is not checked: RFC 7323 §3.2 says such a
// segment SHOULD be dropped; Linux processes it, and so do we (an old
// duplicate of this connection always carries one).
func (c *Conn) pawsAccept(th *segment.Header, payloadLen int) bool {
	// A TSVal at or after TS.Recent passes whether or not TS.Recent is still
	// valid, so the clock is read only for one that is older (pawsOlder).
	if c.tsOK && th.Options.HasTimestamps && int32(th.Options.TSVal-c.tsRecent) < 0 {
		return c.pawsOlder(th, payloadLen)
	}
	return true
}

// pawsOlder is pawsAccept for a segment whose TSVal is older than
// TS.Recent.
func (c *Conn) pawsOlder(th *segment.Header, payloadLen int) bool {
	if th.Flags&segment.FlagRST != 0 || !c.tsRecentValid() {
		return true
	}
	c.h.counters.PAWSEstabRejected++
	c.pawsAck(th, payloadLen)
	return false
}

// pawsAck sends the ACK R1 asks for. It is an answer to an unacceptable
// segment like the first check's ACK, and takes the same path: through the
// invalid-ACK limiter (ratelimit.go), except for a segment with text or a
// FIN and no SYN, which cannot be part of an ACK loop (Linux sends it
// through tcp_oow_rate_limited, LINUX_MIB_TCPACKSKIPPEDPAWS).
func (c *Conn) pawsAck(th *segment.Header, payloadLen int) {
	if (payloadLen > 0 || th.Flags&segment.FlagFIN != 0) && th.Flags&segment.FlagSYN == 0 {
		c.sendAck()
		return
	}
	c.sendInvalidAck(ackPAWS)
}

// tsUpdateRecent is R3 and §4.3 rule (2): TS.Recent takes SEG.TSval when
// SEG.TSval >= TS.Recent (or TS.Recent is invalid) and SEG.SEQ <=
// Last.ACK.sent. It runs only for a segment that passed the window check
// (R2), so for a segment with text SEG.SEQ <= Last.ACK.sent <= RCV.NXT <
// SEG.SEQ+SEG.LEN: the segment holds the byte our last ACK asked for, the
// condition RFC 1323 wrote out in full. For a segment without text it
// means SEG.SEQ = Last.ACK.sent = RCV.NXT, so that pure ACKs also keep
// TS.Recent current (RFC 1323's strict "Last.ACK.sent < SEG.SEQ+SEG.LEN"
// would never let them). The effect: while we delay an ACK, TS.Recent stays
// the timestamp of the earliest segment it covers; a segment after a hole
// does not set it, and the one filling the hole does (§4.3 cases A–C).
func (c *Conn) tsUpdateRecent(th *segment.Header) {
	// (SEG.SEQ <= Last.ACK.sent, written out to keep within the inlining
	// budget)
	if c.tsOK && th.Options.HasTimestamps && int32(th.Seq-c.lastAckSent) <= 0 {
		c.tsTakeRecent(th.Options.TSVal)
	}
}

// tsTakeRecent is tsUpdateRecent for a segment that may set TS.Recent, out
// of line so that tsUpdateRecent inlines.
func (c *Conn) tsTakeRecent(tsVal uint32) {
	// Only an older TSVal needs the clock for tsRecentValid.
	if int32(tsVal-c.tsRecent) < 0 && c.tsRecentValid() {
		return
	}
	c.tsRecent, c.tsRecentAt, c.tsRecentOK = tsVal, c.h.env.Now(), true
}

// tsRTT takes an RTT sample from the echoed timestamp of an ACK that
// advances SND.UNA to ack (RFC 7323 §4.1, which §4.2 confines to ACKs of
// new data). The exact sample of the timed segment (rto.go) is preferred
// when this ACK completes it; the echo fills in where Karn's algorithm
// leaves none, chiefly after a retransmission: RFC 6298 §3 allows samples
// from retransmitted segments only with timestamps, because the echo says
// which copy the peer acknowledged.
//
// After a retransmission only an echo of it (or of a later segment) counts:
// an older echo is the TS.Recent of a peer that saw only duplicates, whose
// ACK was lost and came back in answer to our retransmission. Its age is
// the whole backed-off timeout, not a round trip, and taking it would feed
// the timeout back into the RTO. (RFC 7323 §4.3 calls such inflated
// samples conservative; taken on every timeout they grow without bound.)
//
// At most one sample is taken per round trip (a sample makes the next wait
// for SEG.ACK beyond the SND.MAX of its time), so RFC 6298's gains keep
// their meaning (RFC 7323 Appendix G). An echo that is not a TSval of ours
// (before the connection began or after now) is ignored. Like Linux, a
// TSecr of zero is taken as no echo.
func (c *Conn) tsRTT(th *segment.Header, ack segment.Seq) {
	o := &th.Options
	if !c.tsOK || !o.HasTimestamps || o.TSEcr == 0 {
		return
	}
	if c.h.cfg.LinuxRTTSamples {
		// rttlinux.go: the echo only where the send times gave no sample.
		if c.ccx.lrtt.tsNext && ack.GreaterThan(c.sndUna) {
			c.ccx.lrtt.tsNext = false
			c.tsEchoSample(o.TSEcr)
		}
		return
	}
	if c.rttTiming && ack.GreaterThan(c.rttSeq) {
		c.tsRTTSeq = c.sndMax // the exact sample counts for this round trip
		return
	}
	if c.rttTiming {
		return // the timed segment will give this round trip's sample
	}
	if c.tsRTTSeq.GreaterThanEq(c.sndUna) && c.tsRTTSeq.LessThanEq(c.sndMax) && !ack.GreaterThan(c.tsRTTSeq) {
		return // this round trip already has its sample
	}
	if c.tsEchoSample(o.TSEcr) {
		c.tsRTTSeq = c.sndMax
	}
}

// tsEchoSample takes the RTT sample of an echo of ecr and reports true,
// unless ecr is not a TSval of ours.
func (c *Conn) tsEchoSample(ecr uint32) bool {
	now := c.tsNow()
	if now-c.tsEchoMin > tsMaxAge {
		c.tsEchoMin = now - tsMaxAge // keep the bound within half the clock's range
	}
	if int32(ecr-c.tsEchoMin) < 0 || int32(now-ecr) < 0 {
		return false
	}
	// A zero difference is a round trip under one tick: count it as one
	// tick, as Linux does (tcp_rtt_tsopt_us).
	c.rttSample(time.Duration(max(now-ecr, 1)) * tsTick)
	return true
}

// tsMaxAge bounds how old an echo may be and still give an RTT sample:
// 2^30 ticks (12 days), half the range in which TSvals compare.
const tsMaxAge = 1 << 30

// tsRetransmit records a retransmission: from now on only an echo of this
// copy or a later segment gives an RTT sample (see tsRTT). A retransmitted
// SYN counts too, before timestamps are known to be in use: a SYN-ACK
// echoing the first SYN gives no sample.
func (c *Conn) tsRetransmit() {
	c.tsEchoMin = c.tsNow()
}

// synAckEchoBad is Linux's check of a SYN-ACK in SYN_SENT
// (tcp_rcv_synsent_state_process, PAWSActiveRejected): when our SYN
// offered timestamps and the SYN-ACK echoes one (TSecr non-zero), the echo
// must be a TSval we sent since the connection began. Another one means the
// SYN-ACK answers some other SYN: it is counted and answered with a RST.
func (c *Conn) synAckEchoBad(th *segment.Header) bool {
	o := &th.Options
	if c.h.cfg.DisableTimestamps || !o.HasTimestamps || o.TSEcr == 0 {
		return false
	}
	if int32(o.TSEcr-c.tsFirst) >= 0 && int32(c.tsNow()-o.TSEcr) >= 0 {
		return false
	}
	c.h.counters.PAWSActiveRejected++
	return true
}

// cookieTimestamps is the host's cookieTSHook when timestamps are on: SYN
// cookies then carry window scale and SACK-permitted in the SYN-ACK's TSval
// (syncookie.go), and the connection a cookie ACK creates uses timestamps.
type cookieTimestamps struct{ h *Host }

// tsNow is the TSval a connection on k would send now.
func (t cookieTimestamps) tsNow(k connKey) uint32 {
	return uint32(t.h.env.Now()/tsTick) + t.h.tsOffsetFor(k)
}

// adopt gives c the state tsNegotiate and the SYN-ACK would have left:
// timestamps in use, TS.Recent from the ACK's TSval (the SYN's is gone),
// the send MSS less the option, and our cookie SYN-ACK's TSval, which the
// ACK echoes, as the first TSval of the connection.
func (t cookieTimestamps) adopt(c *Conn, th *segment.Header) {
	o := &th.Options
	c.tsOK = true
	c.tsRecent, c.tsRecentAt, c.tsRecentOK = o.TSVal, c.h.env.Now(), true
	c.sndMSS -= tsOptLen
	c.tsFirst, c.tsEchoMin = o.TSEcr, o.TSEcr
}
