package stack

// Counters counts what a host did and, above all, what it dropped and why.
// Every dropped inbound packet increments exactly one IPDrop* or TCPDrop*
// counter (or a TCP rule counter named after the rule that discarded it).
// Names follow Linux's SNMP MIB counters (netstat -s) where one exists.
type Counters struct {
	// IPv4 input.
	IPReceived        uint64 // packets passed to Deliver
	IPDelivered       uint64 // packets handed to TCP, UDP or ICMP
	IPDropNoInterface uint64 // Deliver called with an unknown ifIndex
	IPDropTruncated   uint64 // shorter than an IPv4 header
	IPDropVersion     uint64 // version field not 4
	IPDropHeaderLen   uint64 // IHL below 5 or beyond the packet
	IPDropTotalLen    uint64 // total length inconsistent with the packet
	IPDropChecksum    uint64 // bad IPv4 header checksum
	IPDropOther       uint64 // any other structural error
	IPDropNotForUs    uint64 // destination is not one of our addresses
	IPDropBadSource   uint64 // source broadcast, multicast, unspecified or ours
	IPDropFragment    uint64 // a fragment (we do not reassemble)
	IPDropProtocol    uint64 // not TCP, UDP or ICMP: answered with a protocol unreachable

	// UDP (udp.go), with Linux's names where it has one.
	UDPReceived      uint64 // datagrams reaching UDP
	UDPDropTruncated uint64 // shorter than a UDP header
	UDPDropLength    uint64 // length field below 8 or beyond the IP payload
	UDPInCsumErrors  uint64 // bad UDP checksum
	UDPDropBadPort   uint64 // destination port 0
	UDPNoPorts       uint64 // no socket for the port: ICMP port unreachable sent
	UDPRcvbufErrors  uint64 // dropped for a full receive queue
	UDPInDatagrams   uint64 // queued on a socket
	UDPOutDatagrams  uint64 // sent
	UDPInICMPErrors  uint64 // ICMP errors reported to a connected socket

	// ICMP (icmp.go).
	ICMPInMsgs          uint64 // messages reaching ICMP
	ICMPDropTruncated   uint64 // shorter than an ICMP header
	ICMPInCsumErrors    uint64 // bad ICMP checksum
	ICMPDropQuote       uint64 // an error quoting no packet of ours
	ICMPInEchos         uint64 // echo requests (each answered)
	ICMPInEchoReps      uint64 // echo replies
	ICMPInDestUnreachs  uint64 // destination unreachables
	ICMPInOther         uint64 // other types, ignored
	ICMPOutMsgs         uint64 // messages sent
	ICMPOutEchos        uint64 // echo requests sent
	ICMPOutEchoReps     uint64 // echo replies sent
	ICMPOutDestUnreachs uint64 // destination unreachables sent
	ICMPOutRateLimited  uint64 // errors not sent because of the rate limits

	// IPv4 output.
	IPSent       uint64 // packets handed to a Link
	IPNoRoute    uint64 // packets not sent for lack of a route
	IPSendErrors uint64 // packets that could not be encoded
	IPLocalDrops uint64 // packets the host's own queue refused (QueueLink)

	// TCP input validation.
	TCPReceived      uint64 // segments reaching TCP
	TCPDropTruncated uint64 // shorter than a TCP header
	TCPDropChecksum  uint64 // bad TCP checksum
	TCPDropHeader    uint64 // bad data offset or malformed options
	TCPDropBadPort   uint64 // source or destination port 0
	TCPNoSocket      uint64 // no connection or listener: RST sent unless it was a RST

	// TCP rules.
	TCPSent              uint64 // segments sent, retransmissions included
	TCPRetransSegs       uint64 // segments retransmitted
	TCPFastRetrans       uint64 // fast retransmits (RFC 5681 §3.2, RFC 6582)
	TCPTimeouts          uint64 // retransmission timer expiries (RFC 6298 §5)
	TCPActiveOpens       uint64 // connections that sent a SYN (Connect)
	TCPPassiveOpens      uint64 // SYNs accepted by a listener
	TCPAttemptFails      uint64 // opens that failed (refused, timed out, reset in SYN_RECEIVED)
	TCPEstabResets       uint64 // resets of synchronized connections
	TCPListenOverflows   uint64 // SYNs dropped because the backlog was full
	TCPListenDrops       uint64 // other segments a listener dropped
	TCPOutOfWindow       uint64 // unacceptable segments (RFC 9293 §3.10.7.4 first step): ACK sent (rate-limited)
	TCPChallengeACKs     uint64 // RSTs and SYNs answered by a challenge ACK (RFC 5961), rate-limited
	TCPAckTooNew         uint64 // ACKs of data never sent: dropped, ACK sent (rate-limited)
	TCPAckTooOld         uint64 // ACKs below SND.UNA − MAX.SND.WND (RFC 5961 §5.2): dropped, ACK sent (rate-limited)
	TCPRstReceived       uint64 // RSTs that were accepted
	TCPRstIgnored        uint64 // RSTs dropped as unacceptable
	TCPRstSent           uint64 // RSTs sent
	TCPOutOfOrder        uint64 // data segments queued out of order
	TCPReassemblyDrops   uint64 // out-of-order segments dropped (too many gaps)
	TCPDuplicateSegments uint64 // data segments entirely already received
	TCPZeroWindowProbes  uint64 // zero-window probes sent
	TCPDelayedAcks       uint64 // ACKs sent by the delayed-ACK timer
	TCPTimeWaitReuse     uint64 // TIME_WAIT connections ended by a new SYN (RFC 6191)
	TCPDropInState       uint64 // segments dropped because the state accepts none (e.g. no ACK bit)

	// SYN cookies (issue 10 item 5, syncookie.go; Linux SyncookiesSent,
	// SyncookiesRecv, SyncookiesFailed). A valid cookie ACK that finds the
	// accept queue full is dropped and counted in TCPListenOverflows, as in
	// Linux.
	TCPSyncookiesSent   uint64 // SYN-ACKs sent with a cookie instead of a half-open connection
	TCPSyncookiesRecv   uint64 // ACKs that carried a valid cookie
	TCPSyncookiesFailed uint64 // ACKs checked as cookies (cookies sent lately) that were not valid: RST sent

	// Issue 10 item 1: ACKs in answer to unacceptable segments suppressed
	// by the rate limiter (ratelimit.go). The segment itself is counted as
	// before (TCPOutOfWindow, TCPAckTooNew, TCPAckTooOld, TCPChallengeACKs).
	TCPACKSkippedSeq       uint64 // per-connection limit: out-of-window segment or ACK of unsent data
	TCPACKSkippedSynRecv   uint64 // per-connection limit: out-of-window segment in SYN_RECEIVED
	TCPACKSkippedTimeWait  uint64 // per-connection limit: out-of-window segment in TIME_WAIT
	TCPACKSkippedChallenge uint64 // per-connection limit: challenge ACK (RST, SYN, ACK too old)
	TCPACKSkippedHostLimit uint64 // per-host limit (ChallengeAckLimit per second); Linux counts none
	TCPACKSkippedPAWS      uint64 // per-connection limit: ACK for a segment PAWS rejected (timestamps.go)

	// Issue 10 item 9.
	TCPDropSynFin uint64 // SYN with FIN to a listener: dropped (Linux SKB_DROP_REASON_TCP_FLAGS)

	// Keep-alives and the user timeout (keepalive.go).
	TCPRACKLost          uint64 // segments RACK marked lost (rack.go)
	TCPECNNegotiated     uint64 // active opens that agreed on ECN (ecn.go)
	TCPECNCEReceived     uint64 // data segments that arrived marked CE
	TCPECNEceReceived    uint64 // ACKs with ECE
	TCPECNReductions     uint64 // cwnd reductions for ECE (once per window)
	TCPLossProbes        uint64 // tail loss probes sent (tlp.go)
	TCPLossProbeRecovery uint64 // losses a retransmitted probe repaired
	TCPKeepAlive         uint64 // keep-alive probes sent
	TCPAbortOnTimeout    uint64 // connections ended by unanswered keep-alives, the user timeout, or an orphan past OrphanRetries (orphan.go)

	// RFC 7323 timestamps (issue 10, item 2).
	PAWSEstabRejected  uint64 // segments of a synchronized connection dropped by PAWS (RFC 7323 §5.3 R1): ACK sent
	PAWSActiveRejected uint64 // SYN-ACKs whose TSecr echoes no timestamp of our SYN: RST sent (as Linux)

	// Orphans (issue 10 item 4, orphan.go; Linux TCPAbortOnMemory).
	TCPAbortOnMemory uint64 // orphans reset for MaxOrphans or for lack of buffer memory

	// Host memory (issue 10 item 6, memory.go; Linux TCPMemoryPressures,
	// PruneCalled, OfoPruned, TCPRcvQDrop, TCPOFODrop).
	TCPMemoryPressures uint64 // times the host entered memory pressure (above MemPressure)
	TCPMemSYNDrops     uint64 // SYNs a listener dropped under memory pressure
	TCPMemConnectFails uint64 // Connect calls refused under memory pressure (ENOBUFS)
	TCPMemWriteLimited uint64 // writes cut short because the send ring could not grow within MemHigh
	TCPPruneCalled     uint64 // in-order data found no memory: the out-of-order queue is pruned if any
	TCPOFOPruned       uint64 // out-of-order queues thrown away to make room for in-order data
	TCPRcvQDrop        uint64 // in-order segments (or their tails) dropped for lack of memory
	TCPOFODrop         uint64 // out-of-order segments (or their tails) dropped for lack of memory

	// Issue 11, loss recovery (rfc6675.go).
	TCPSackRecovery  uint64 // SACK-based recoveries started (RFC 6675 §5 step 4; Linux TCPSackRecovery)
	TCPSACKReneging  uint64 // scoreboards cleared because the peer reneged on SACKed data (RFC 2018 §8; Linux TCPSACKReneging)
	TCPRescueRetrans uint64 // rescue retransmissions (RFC 6675 NextSeg rule 4); Linux has none

	// Issue 11, D-SACK (RFC 2883, dsack.go), Linux's names.
	TCPDSACKOldSent uint64 // D-SACKs sent for a duplicate below RCV.NXT
	TCPDSACKOfoSent uint64 // D-SACKs sent for a duplicate of out-of-order data held
	TCPDSACKRecv    uint64 // D-SACK blocks received
	TCPDSACKOfoRecv uint64 // of which above the ACK's cumulative acknowledgment

	// Issue 11, spurious retransmissions (undo.go, frto.go), Linux's names.
	TCPFullUndo     uint64 // fast recoveries undone when they ended (Eifel or D-SACK)
	TCPPartialUndo  uint64 // fast recoveries undone by Eifel before they ended
	TCPDSACKUndo    uint64 // recoveries undone because every retransmission was D-SACKed
	TCPLossUndo     uint64 // RTO reductions undone (Eifel, D-SACK or F-RTO)
	TCPSpuriousRTOs uint64 // of which found spurious by F-RTO

	// TCP Fast Open (RFC 7413, issue 15, fastopen.go), Linux's names.
	TCPFastOpenActive         uint64 // SYNs with data whose data the SYN-ACK acknowledged
	TCPFastOpenActiveFail     uint64 // SYNs with data whose data was not acknowledged, or that timed out
	TCPFastOpenPassive        uint64 // SYNs accepted with a valid cookie (or without one, FastOpenServerNoCookie)
	TCPFastOpenPassiveFail    uint64 // SYNs whose cookie was not valid: only the SYN acknowledged
	TCPFastOpenListenOverflow uint64 // Fast Open SYNs over the listener's queue limit: handled as plain SYNs
	TCPFastOpenCookieReqd     uint64 // SYNs asking for a cookie
	TCPFastOpenBadOption      uint64 // Fast Open options with a malformed cookie length, ignored (Linux has no counter)
}
